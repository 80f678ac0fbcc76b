"""The responses' character set under a configured policy (dcmqrscp's SpecificCharacterSet, +U8 ...)."""

from __future__ import annotations

import dataclasses
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import area, config, instance
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from dicomwire.archive.index import REQUEST, Index, ResponseCharset, sqlite_url
from dicomwire.archive.query import response_charset

LATIN1 = "ISO_IR 100"
UTF8 = "ISO_IR 192"
NAME = "Müller^Jörg"


def roundtrip(ds: Dataset) -> Dataset:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    return dcmread(buffer, force=True)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with Index.open(sqlite_url(tmp_path / "index.sqlite")) as idx:
        for number, (stored, name) in enumerate(
            ((LATIN1, NAME), (UTF8, "Wang^XiaoDong=王^小東"), ("", "DOE^JOHN"))
        ):
            ds = instance(f"1.2.9.{number}.1", study=f"1.2.9.{number}", patient=name, PatientID=f"P{number}")
            if stored:
                ds.SpecificCharacterSet = stored
            idx.add_instance(
                "A", roundtrip(ds), path=f"{number}.dcm", size=1, transfer_syntax=ExplicitVRLittleEndian
            )
        yield idx


def find(index: Index, policy: ResponseCharset | None, requested: str | None, patient: str) -> Dataset:
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if requested is not None:
            ds.SpecificCharacterSet = requested
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = ""
        ds.PatientID = patient
        ds.PatientName = ""
    (found,) = index.find("A", "study", ds, charset=policy)
    return roundtrip(found)


def charset(ds: Dataset) -> Any:
    value = ds.get("SpecificCharacterSet")
    return None if value is None else (value if isinstance(value, str) else list(value))


U8 = ResponseCharset(target=REQUEST, fallback=UTF8)  # +U8 (no file keyword): request first, else UTF-8
U8_OVERRIDE = ResponseCharset(target=UTF8, fallback=REQUEST)  # +U8 -Cr
A7_OVERRIDE = ResponseCharset(target="", fallback=REQUEST)  # +A7 -Cr
L1 = ResponseCharset(target=REQUEST, fallback=LATIN1)


@pytest.mark.parametrize(
    ("policy", "requested", "patient", "expected", "name"),
    [
        (U8, None, "P0", UTF8, NAME),  # ASCII request fails: fallback to UTF-8
        (U8, None, "P1", UTF8, "Wang^XiaoDong=王^小東"),  # already UTF-8: not converted
        (U8, LATIN1, "P0", LATIN1, NAME),  # the request's own
        (U8, LATIN1, "P1", UTF8, "Wang^XiaoDong=王^小東"),  # no Latin-1 for 王: fallback, already UTF-8
        (U8_OVERRIDE, LATIN1, "P0", UTF8, NAME),  # override: UTF-8 whatever the request
        (U8_OVERRIDE, None, "P2", None, "DOE^JOHN"),  # ASCII needs no conversion to UTF-8
        (L1, None, "P1", UTF8, "Wang^XiaoDong=王^小東"),  # neither fits: left as stored
        (ResponseCharset(target=REQUEST), None, "P0", LATIN1, NAME),  # no fallback: left as stored
        (ResponseCharset(target=REQUEST), UTF8, "P0", UTF8, NAME),
        (A7_OVERRIDE, UTF8, "P0", UTF8, NAME),  # ASCII fails: the request's
        (ResponseCharset(target=""), None, "P0", LATIN1, NAME),  # ASCII fails, no fallback: as stored
        (ResponseCharset(target="", transliterate=True), None, "P0", None, "Muller^Jorg"),
        (ResponseCharset(target="", discard=True), None, "P0", None, "Mller^Jrg"),
        (ResponseCharset(target="", transliterate=True), None, "P1", None, "Wang^XiaoDong=?^??"),
        (ResponseCharset(target="", transliterate=True, discard=True), None, "P1", None, "Wang^XiaoDong=^"),
        (ResponseCharset(target=LATIN1, transliterate=True), UTF8, "P1", LATIN1, "Wang^XiaoDong=?^??"),
        (ResponseCharset(target=LATIN1, discard=True), None, "P1", LATIN1, "Wang^XiaoDong=^"),
    ],
)
def test_policy(
    index: Index, policy: ResponseCharset, requested: str | None, patient: str, expected: Any, name: str
) -> None:
    found = find(index, policy, requested, patient)
    assert charset(found) == expected
    assert str(found.PatientName) == name


def test_without_policy_the_request_then_the_stored_one(index: Index) -> None:
    assert charset(find(index, None, None, "P0")) == LATIN1
    assert charset(find(index, None, UTF8, "P0")) == UTF8


@pytest.mark.parametrize(
    ("specific", "keywords", "expected"),
    [
        (None, (), None),
        ("", ("fallback",), ResponseCharset(REQUEST, "")),
        (UTF8, ("fallback", "override"), ResponseCharset(UTF8, REQUEST)),
        (LATIN1, ("override",), ResponseCharset(LATIN1)),
        (UTF8, ("discard", "transliterate", "abort"), ResponseCharset(REQUEST, None, True, True)),
    ],
)
def test_configuration_gives_the_policy(
    tmp_path: Path, specific: str | None, keywords: tuple[str, ...], expected: ResponseCharset | None
) -> None:
    cfg = dataclasses.replace(
        config(area(tmp_path)), specific_character_set=specific, charset_options=keywords
    )
    assert response_charset(cfg) == expected
