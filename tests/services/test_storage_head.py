"""Reading the head of a data set (HeadScanner) and the file meta header, on
well-formed, oddly chunked and hostile input."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from dicomwire import uids
from dicomwire.errors import DatasetCodecError
from dicomwire.services.dataset_head import (
    SERIES_DATE,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    HeadScanner,
    encoding_of,
    text_value,
)
from dicomwire.services.file_meta import encode_file_meta, read_file_meta

WANTED = (SOP_CLASS_UID, SOP_INSTANCE_UID, SERIES_DATE)
SYNTAXES = [
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_BIG_ENDIAN,
    uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
]


def sample() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    item = Dataset()
    item.CodeValue = "eng"
    nested = Dataset()
    nested.CodeMeaning = "x" * 3
    item.ConceptNameCodeSequence = Sequence([nested])
    ds.LanguageCodeSequence = Sequence([item])  # (0008,0006), before the UIDs
    ds.SOPClassUID = uids.CT_IMAGE_STORAGE
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.SeriesDate = "20210304"
    ds.PatientName = "Head^Test"
    ds.BitsAllocated = 16
    ds.add_new(0x7FE00010, "OW", b"\0\1" * 5000)
    return ds


def encode(ds: Dataset, syntax: str, *, undefined: bool = False) -> bytes:
    if undefined:
        ds["LanguageCodeSequence"].is_undefined_length = True
        for item in ds.LanguageCodeSequence:
            item.is_undefined_length_sequence_item = True
    encoding = encoding_of(syntax)
    fp = DicomBytesIO()
    fp.is_implicit_VR = not encoding.explicit_vr
    fp.is_little_endian = encoding.little_endian
    write_dataset(fp, ds)
    data = fp.getvalue()
    if encoding.deflated:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = packer.compress(data) + packer.flush()
    return data


def scan(data: bytes, syntax: str, sizes: list[int] | None = None, **kwargs: object) -> HeadScanner:
    scanner = HeadScanner(encoding_of(syntax), wanted=WANTED, **kwargs)  # type: ignore[arg-type]
    pos = 0
    for size in sizes or [len(data)]:
        if scanner.feed(data[pos : pos + size]):
            return scanner
        pos += size
    if pos < len(data):
        scanner.feed(data[pos:])
    if not scanner.done:
        scanner.finish()
    return scanner


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("undefined", [False, True])
def test_finds_the_uids_and_the_date(syntax: str, undefined: bool) -> None:
    scanner = scan(encode(sample(), syntax, undefined=undefined), syntax)
    assert scanner.error is None and not scanner.gave_up
    assert {tag: text_value(value) for tag, value in scanner.values.items()} == {
        SOP_CLASS_UID: uids.CT_IMAGE_STORAGE,
        SOP_INSTANCE_UID: "1.2.3.4.5",
        SERIES_DATE: "20210304",
    }


@settings(max_examples=60, deadline=None)
@given(
    syntax=st.sampled_from(SYNTAXES),
    undefined=st.booleans(),
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60),
)
def test_any_chunking_gives_the_same_answer(syntax: str, undefined: bool, sizes: list[int]) -> None:
    data = encode(sample(), syntax, undefined=undefined)
    whole = scan(data, syntax)
    assert scan(data, syntax, sizes).values == whole.values


def test_stops_early_and_skips_large_values_without_keeping_them() -> None:
    ds = Dataset()
    ds.add_new(0x00080001, "OB", b"\0" * 5_000_000)  # a huge element before the UIDs
    ds.SOPClassUID = uids.CT_IMAGE_STORAGE
    ds.SOPInstanceUID = "1.2.3"
    data = encode(ds, uids.EXPLICIT_VR_LITTLE_ENDIAN)
    scanner = HeadScanner(encoding_of(uids.EXPLICIT_VR_LITTLE_ENDIAN), limit=64 * 1024)
    for start in range(0, len(data), 16384):
        scanner.feed(data[start : start + 16384])
        assert len(scanner._buffer) <= 64 * 1024 + 16384
    scanner.finish()
    assert text_value(scanner.values[SOP_INSTANCE_UID]) == "1.2.3"


def test_gives_up_on_a_huge_undefined_length_sequence() -> None:
    ds = sample()
    ds.LanguageCodeSequence[0].TextValue = "y" * 200_000
    data = encode(ds, uids.IMPLICIT_VR_LITTLE_ENDIAN, undefined=True)
    scanner = scan(data, uids.IMPLICIT_VR_LITTLE_ENDIAN, [4096] * 200, limit=50_000)
    assert scanner.gave_up and scanner.done and scanner.values == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty data set"),
        (b"\x08\x00\x16\x00", "ends inside"),
        (b"\x08\x00\x16\x00UI\x20\x00short", "ends inside"),
        (b"\x08\x00\x16\x00\x01\x02\x04\x00abcd", "invalid VR"),
    ],
)
def test_malformed_explicit_input(data: bytes, message: str) -> None:
    scanner = scan(data, uids.EXPLICIT_VR_LITTLE_ENDIAN)
    assert scanner.error is not None and message in scanner.error


def test_deep_nesting_is_refused() -> None:
    item_start = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    element = struct.pack("<HHI", 0x0008, 0x0006, 0xFFFFFFFF)
    data = element + (item_start + element) * 100
    scanner = scan(data, uids.IMPLICIT_VR_LITTLE_ENDIAN)
    assert scanner.error is not None and "deeper" in scanner.error


def test_corrupt_deflate() -> None:
    scanner = scan(b"\xff" * 100, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    assert scanner.error is not None and "deflate" in scanner.error


def test_encoding_of_unknown_syntax_is_explicit_little() -> None:
    for syntax in ("1.2.3.4", uids.JPEG_BASELINE):
        encoding = encoding_of(syntax)
        assert encoding.explicit_vr and encoding.little_endian and not encoding.deflated


def test_file_meta_round_trip_with_pydicom() -> None:
    import pydicom

    meta = encode_file_meta(
        "1.2.840.10008.5.1.4.1.1.7", "1.2.3", uids.EXPLICIT_VR_LITTLE_ENDIAN, source_ae_title="STORESCU"
    )
    body = encode(sample(), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    ds = pydicom.dcmread(io.BytesIO(meta + body))
    assert ds.file_meta.MediaStorageSOPInstanceUID == "1.2.3"
    assert ds.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert ds.file_meta.ImplementationClassUID == uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    assert ds.file_meta.ImplementationVersionName == uids.DICOMWIRE_IMPLEMENTATION_VERSION
    assert ds.file_meta.SourceApplicationEntityTitle == "STORESCU"
    assert ds.file_meta.FileMetaInformationGroupLength == len(meta) - 132 - 12
    parsed = read_file_meta(io.BytesIO(meta + body))
    assert parsed.present and parsed.dataset_offset == len(meta)
    assert parsed.text(0x00020003) == "1.2.3"


def test_read_file_meta_rejects_broken_headers() -> None:
    meta = encode_file_meta("1.2", "1.3", uids.EXPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(DatasetCodecError):
        read_file_meta(io.BytesIO(meta[:-3]))
    assert not read_file_meta(io.BytesIO(b"\x08\x00\x16\x00UI\x02\x001\0")).present


def _meta_element(element: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"UN"):
        return struct.pack("<HH2s2xI", 2, element, vr, len(value)) + value
    return struct.pack("<HH2sH", 2, element, vr, len(value)) + value


def _meta(elements: bytes, group_length: int | None = None) -> bytes:
    length = len(elements) if group_length is None else group_length
    return bytes(128) + b"DICM" + _meta_element(0, b"UL", struct.pack("<I", length)) + elements


class _CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_read_file_meta_reads_the_meta_header_not_the_file() -> None:
    elements = _meta_element(0x10, b"UI", b"1.2.840.10008.1.2.1\0")
    fp = _CountingReader(_meta(elements) + b"\x08\x00\x16\x00UI\x02\x001\0" + bytes(1 << 20))
    parsed = read_file_meta(fp)
    assert parsed.text(0x00020010) == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert fp.bytes_read < 8192


@pytest.mark.parametrize("lie", [None, 4, 20000])
def test_read_file_meta_of_a_large_header_and_a_wrong_group_length(lie: int | None) -> None:
    private = _meta_element(0x0102, b"OB", bytes(6000))  # a meta header beyond the first read
    elements = _meta_element(0x10, b"UI", b"1.2.840.10008.1.2\0") + private
    data = _meta(elements, lie) + b"\x08\x00\x16\x00UI\x02\x001\0"
    parsed = read_file_meta(io.BytesIO(data))
    assert parsed.text(0x00020010) == uids.IMPLICIT_VR_LITTLE_ENDIAN
    assert parsed.dataset_offset == len(data) - 10
