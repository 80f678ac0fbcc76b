"""The archive index: schema and migrations, storing and replacing, responses, quotas,
reconciliation, streaming, concurrency."""

from __future__ import annotations

import io
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomwire.archive import schema
from dicomwire.archive.index import Index, InstanceRecord, InvalidInstance, QueryError, sqlite_url
from dicomwire.archive.keys import IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, UNABLE_TO_PROCESS
from dicomwire.errors import DicomWireError

SC = "1.2.840.10008.5.1.4.1.1.7"
CT = "1.2.840.10008.5.1.4.1.1.2"
ROOT = "1.2.826.0.1.3680043.10.1009.78."
TS = ExplicitVRLittleEndian


def instance(study: int, series: int, number: int, **attributes: Any) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = f"{ROOT}{study}.{series}.{number}"
    ds.StudyInstanceUID = f"{ROOT}{study}"
    ds.SeriesInstanceUID = f"{ROOT}{study}.{series}"
    ds.PatientID = f"P{study}"
    ds.PatientName = f"Patient^{study}"
    ds.StudyDate = "20240101"
    ds.Modality = "OT"
    ds.InstanceNumber = number
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def query(level: str, **keys: Any) -> Dataset:
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in keys.items():
            setattr(ds, keyword, value)
    ds.QueryRetrieveLevel = level
    return ds


def roundtrip(ds: Dataset) -> Dataset:
    """Encode a data set (in its character set) and read it back, as the network would."""
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = TS
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    return dcmread(buffer, force=True)


def add(
    index: Index, ds: Dataset, area: str = "A", path: str | None = None, size: int = 10
) -> InstanceRecord | None:
    return index.add_instance(
        area, ds, path=path or f"{ds.SOPInstanceUID}.dcm", size=size, transfer_syntax=TS
    )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with Index.open(sqlite_url(tmp_path / "db" / "index.sqlite")) as opened:
        yield opened


def uids(found: Iterator[Dataset], keyword: str = "SOPInstanceUID") -> list[str]:
    return [str(getattr(ds, keyword)) for ds in found]


# -- schema --------------------------------------------------------------------------------------


def test_schema_is_created_by_alembic_and_matches_the_metadata(index: Index) -> None:
    with index.engine.connect() as connection:
        assert schema.current_revision(connection) == schema.HEAD
        assert compare_metadata(MigrationContext.configure(connection), schema.metadata) == []


def test_second_open_is_a_no_op(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "index.sqlite")
    with Index.open(url) as first:
        add(first, instance(1, 1, 1))
        with first.engine.connect() as connection:
            version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    with Index.open(url) as second:
        with second.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA schema_version").scalar() == version
            assert schema.current_revision(connection) == schema.HEAD
        assert second.paths("A") == {f"{ROOT}1.1.1.dcm"}


def test_sqlite_settings(index: Index) -> None:
    with index.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 30_000


def test_foreign_keys_are_enforced(index: Index) -> None:
    now = sa.func.current_timestamp()
    with pytest.raises(sa.exc.IntegrityError), index.engine.begin() as connection:
        connection.execute(sa.insert(schema.study).values(area="A", patient_pk=999, stored_at=now))


# -- storing -------------------------------------------------------------------------------------


def test_add_new_then_replace(index: Index) -> None:
    assert add(index, instance(1, 1, 1), path="first.dcm", size=100) is None
    old = add(index, instance(1, 1, 1, StudyDescription="again"), path="second.dcm", size=200)
    assert old is not None
    assert (old.path, old.size, old.sop_instance_uid, old.sop_class_uid) == (
        "first.dcm",
        100,
        f"{ROOT}1.1.1",
        SC,
    )
    assert (old.study_instance_uid, old.series_instance_uid, old.transfer_syntax) == (
        f"{ROOT}1",
        f"{ROOT}1.1",
        TS,
    )
    assert old.stored_at.tzinfo is not None
    assert index.paths("A") == {"second.dcm"}
    assert index.study_size("A", f"{ROOT}1") == 200
    found = list(index.find("A", "study", query("STUDY", StudyInstanceUID="", StudyDescription="")))
    assert [ds.StudyDescription for ds in found] == ["again"]


def test_replace_into_another_series_prunes_the_old_one(index: Index) -> None:
    add(index, instance(1, 1, 1, Modality="CT"))
    add(index, instance(1, 2, 2, Modality="MR"))
    moved = instance(1, 1, 1, Modality="MR")
    moved.SeriesInstanceUID = f"{ROOT}1.2"
    add(index, moved)
    series = uids(
        index.find("A", "study", query("SERIES", StudyInstanceUID="", SeriesInstanceUID="")),
        "SeriesInstanceUID",
    )
    assert series == [f"{ROOT}1.2"]
    study = next(index.find("A", "study", query("STUDY", StudyInstanceUID="", ModalitiesInStudy="")))
    assert study.ModalitiesInStudy == "MR"


def test_study_moved_to_another_patient_prunes_the_patient(index: Index) -> None:
    add(index, instance(1, 1, 1))
    add(index, instance(1, 1, 2, PatientID="Q", PatientName="Other^Name"))
    patients = list(index.find("A", "patient", query("PATIENT", PatientID="", PatientName="")))
    assert [(ds.PatientID, str(ds.PatientName)) for ds in patients] == [("Q", "Other^Name")]


def test_latest_values_win(index: Index) -> None:
    add(index, instance(1, 1, 1, StudyDescription="old"))
    add(index, instance(1, 1, 2, StudyDescription="new"))
    found = index.find("A", "study", query("STUDY", StudyInstanceUID="", StudyDescription="new"))
    assert uids(found, "StudyInstanceUID") == [f"{ROOT}1"]


@pytest.mark.parametrize(
    "missing", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"]
)
def test_invalid_instances(index: Index, missing: str) -> None:
    ds = instance(1, 1, 1)
    delattr(ds, missing)
    with pytest.raises(InvalidInstance, match=missing):
        add(index, ds, path="x.dcm")
    assert issubclass(InvalidInstance, ValueError) and issubclass(InvalidInstance, DicomWireError)
    assert index.paths("A") == set()


def test_sop_class_from_the_file_meta(index: Index) -> None:
    ds = instance(1, 1, 1)
    del ds.SOPClassUID
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(CT)
    add(index, ds)
    assert (
        next(index.instances_for("A", "study", query("STUDY", StudyInstanceUID=f"{ROOT}1"))).sop_class_uid
        == CT
    )


def test_attributes_are_json_with_bulk_data_referenced(index: Index) -> None:
    ds = instance(1, 1, 1)
    ds.add_new(0x00091010, "OB", b"\x01" * 5000)
    ds.add_new(0x00091011, "OB", b"\x02" * 8)
    add(index, ds, path="sub/one.dcm")
    with index.engine.connect() as connection:
        stored = connection.execute(sa.select(schema.instance.c.attributes)).scalar_one()
    assert stored["00091010"] == {"vr": "OB", "BulkDataURI": "sub/one.dcm#00091010"}
    assert "InlineBinary" in stored["00091011"]
    assert stored["00100010"]["Value"] == [{"Alphabetic": "Patient^1"}]


def test_areas_are_separate(index: Index) -> None:
    add(index, instance(1, 1, 1), area="A", path="a.dcm")
    add(index, instance(1, 1, 1), area="B", path="b.dcm")
    assert add(index, instance(1, 1, 1), area="B", path="b2.dcm") is not None
    assert (index.paths("A"), index.paths("B")) == ({"a.dcm"}, {"b2.dcm"})
    assert index.delete_study("A", f"{ROOT}1") == ["a.dcm"]
    assert index.study_count("A") == 0 and index.study_count("B") == 1


def test_concurrent_writers(index: Index) -> None:
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(20):
                add(index, instance(7, thread, n))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert index.study_count("A") == 1
    assert len(index.paths("A")) == 80


# -- responses -----------------------------------------------------------------------------------


def test_response_has_exactly_the_requested_keys(index: Index) -> None:
    add(index, instance(1, 1, 1, Modality="CT", SliceThickness="2.5"))
    add(index, instance(1, 2, 2, Modality="MR"))
    asked = query(
        "STUDY",
        StudyInstanceUID="",
        PatientName="",
        StudyDate="",
        AccessionNumber="",
        ModalitiesInStudy="",
        NumberOfStudyRelatedSeries=None,
        NumberOfStudyRelatedInstances=None,
        SliceThickness=None,  # no index column: answered from the stored JSON
        StudyComments="",  # in no data set: answered empty
    )
    (found,) = index.find("A", "study", asked)
    assert {int(e.tag) for e in found} == {int(e.tag) for e in asked} | {0x00080054}
    assert found.QueryRetrieveLevel == "STUDY" and found.RetrieveAETitle == "A"
    assert list(found.ModalitiesInStudy) == ["CT", "MR"]
    assert (found.NumberOfStudyRelatedSeries, found.NumberOfStudyRelatedInstances) == (2, 2)
    assert float(found.SliceThickness) == 2.5
    assert found.StudyComments in ("", None) and found.AccessionNumber in ("", None)
    assert "SpecificCharacterSet" not in found


def test_retrieve_ae_title_can_be_given(index: Index) -> None:
    add(index, instance(1, 1, 1))
    found = next(index.find("A", "study", query("STUDY", StudyInstanceUID=""), retrieve_ae_title="OTHER"))
    assert found.RetrieveAETitle == "OTHER"


def test_patient_and_series_counts(index: Index) -> None:
    for series, number in ((1, 1), (1, 2), (2, 3)):
        add(index, instance(1, series, number))
    add(index, instance(2, 1, 1, PatientID="P1"))
    patient = next(
        index.find(
            "A",
            "patient",
            query(
                "PATIENT",
                PatientID="P1",
                NumberOfPatientRelatedStudies=None,
                NumberOfPatientRelatedSeries=None,
                NumberOfPatientRelatedInstances=None,
            ),
        )
    )
    assert (patient.NumberOfPatientRelatedStudies, patient.NumberOfPatientRelatedSeries) == (2, 3)
    assert patient.NumberOfPatientRelatedInstances == 4
    found = index.find(
        "A",
        "study",
        query(
            "SERIES", StudyInstanceUID=f"{ROOT}1", SeriesInstanceUID="", NumberOfSeriesRelatedInstances=None
        ),
    )
    assert [ds.NumberOfSeriesRelatedInstances for ds in found] == [2, 1]


@pytest.mark.parametrize(
    ("stored", "requested", "expected"),
    [
        ("ISO_IR 100", None, "ISO_IR 100"),  # not ASCII: dcmqrscp keeps the stored one
        ("ISO_IR 100", "ISO_IR 192", "ISO_IR 192"),  # converted to the request's
        ("ISO_IR 100", "ISO_IR 126", "ISO_IR 100"),  # Greek has no ü: stays Latin-1
        ("ISO_IR 192", "ISO_IR 100", "ISO_IR 100"),
    ],
)
def test_response_character_set(index: Index, stored: str, requested: str | None, expected: str) -> None:
    add(index, roundtrip(instance(1, 1, 1, SpecificCharacterSet=stored, PatientName="Müller^Jörg")))
    keys: dict[str, Any] = {"StudyInstanceUID": "", "PatientName": ""}
    if requested:
        keys["SpecificCharacterSet"] = requested
    found = next(index.find("A", "study", query("STUDY", **keys)))
    assert found.SpecificCharacterSet == expected
    assert str(roundtrip(found).PatientName) == "Müller^Jörg"


def test_ascii_response_has_no_character_set(index: Index) -> None:
    add(index, roundtrip(instance(1, 1, 1, SpecificCharacterSet="ISO_IR 100", PatientName="Müller^Jörg")))
    found = next(index.find("A", "study", query("STUDY", StudyInstanceUID="")))
    assert "SpecificCharacterSet" not in found


def test_iso_2022_response(index: Index) -> None:
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    add(index, roundtrip(instance(1, 1, 1, SpecificCharacterSet=["", "ISO 2022 IR 87"], PatientName=name)))
    found = next(index.find("A", "study", query("STUDY", StudyInstanceUID="", PatientName="*山田*")))
    assert list(found.SpecificCharacterSet) == ["", "ISO 2022 IR 87"]
    assert str(roundtrip(found).PatientName) == name


def test_post_filter_on_json_keys(index: Index) -> None:
    add(index, instance(1, 1, 1, ContentDate="20240105"))
    add(index, instance(1, 1, 2, ContentDate="20240201"))
    add(index, instance(1, 1, 3))
    asked = query("IMAGE", StudyInstanceUID=f"{ROOT}1", SeriesInstanceUID=f"{ROOT}1.1", SOPInstanceUID="")
    asked.ContentDate = "20240101-20240131"
    assert uids(index.find("A", "study", asked)) == [f"{ROOT}1.1.1"]
    asked.ContentDate = ""
    assert len(uids(index.find("A", "study", asked))) == 3


def test_sequence_matching_at_the_study_level(index: Index) -> None:
    for study, code in ((1, "CT-HEAD"), (2, "MR-KNEE")):
        ds = instance(study, 1, 1)
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, "99X", code.lower()
        ds.ProcedureCodeSequence = [item]
        add(index, ds)
    wanted = Dataset()
    wanted.CodeValue, wanted.CodeMeaning = "MR*", ""
    asked = query("STUDY", StudyInstanceUID="")
    asked.ProcedureCodeSequence = [wanted]
    (found,) = index.find("A", "study", asked)
    assert found.StudyInstanceUID == f"{ROOT}2"
    (item,) = found.ProcedureCodeSequence
    assert (item.CodeValue, item.CodeMeaning) == (
        "MR-KNEE",
        "mr-knee",
    ) and "CodingSchemeDesignator" not in item
    asked.ProcedureCodeSequence = []
    assert len(list(index.find("A", "study", asked))) == 2


def test_query_errors_are_raised_before_iterating(index: Index) -> None:
    no_level = Dataset()
    no_level.StudyInstanceUID = ""
    with pytest.raises(QueryError) as caught:
        index.find("A", "study", no_level)
    assert caught.value.status == IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS
    with pytest.raises(QueryError) as caught:
        index.find("A", "patient", query("STUDY", StudyInstanceUID=""))
    assert caught.value.status == UNABLE_TO_PROCESS
    with pytest.raises(QueryError) as caught:
        index.find("A", "patient", query("STUDY", StudyInstanceUID=""), strict=True)
    assert caught.value.status == IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS


def test_combined_date_time(index: Index) -> None:
    add(index, instance(1, 1, 1, StudyDate="20240101", StudyTime="1200"))
    asked = query("STUDY", StudyInstanceUID="", StudyDate="20240101-20240102", StudyTime="1000-1100")
    assert list(index.find("A", "study", asked)) == []
    assert len(list(index.find("A", "study", asked, combined_datetime=True))) == 1


# -- retrieve --------------------------------------------------------------------------------------


def test_instances_for(index: Index) -> None:
    for study, series, number in ((1, 1, 1), (1, 1, 2), (1, 2, 3), (2, 1, 1)):
        add(index, instance(study, series, number))

    def selected(model: str, level: str, **keys: Any) -> list[str]:
        return [r.sop_instance_uid for r in index.instances_for("A", model, query(level, **keys))]

    assert selected("study", "STUDY", StudyInstanceUID=f"{ROOT}1") == [
        f"{ROOT}1.1.1",
        f"{ROOT}1.1.2",
        f"{ROOT}1.2.3",
    ]
    assert selected("study", "STUDY", StudyInstanceUID=f"{ROOT}1\\{ROOT}2") == [
        f"{ROOT}1.1.1",
        f"{ROOT}1.1.2",
        f"{ROOT}1.2.3",
        f"{ROOT}2.1.1",
    ]
    assert selected("study", "SERIES", StudyInstanceUID=f"{ROOT}1", SeriesInstanceUID=f"{ROOT}1.2") == [
        f"{ROOT}1.2.3"
    ]
    assert selected("patient", "PATIENT", PatientID="P2") == [f"{ROOT}2.1.1"]
    image = {"PatientID": "P1", "StudyInstanceUID": f"{ROOT}1", "SeriesInstanceUID": f"{ROOT}1.1"}
    assert selected("patient", "IMAGE", **image, SOPInstanceUID=f"{ROOT}1.1.2") == [f"{ROOT}1.1.2"]
    # dcmqrscp (without --check-move) selects nothing for an identifier it cannot compare
    assert selected("study", "SERIES", SeriesInstanceUID=f"{ROOT}1.2") == []
    assert selected("study", "PATIENT", PatientID="P1") == []
    with pytest.raises(QueryError) as caught:
        index.instances_for("A", "study", query("SERIES", SeriesInstanceUID=f"{ROOT}1.2"), strict=True)
    assert caught.value.status == IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS


# -- quotas and reconciliation --------------------------------------------------------------------


def test_quota_helpers(index: Index) -> None:
    add(index, instance(1, 1, 1), path="1a", size=100)
    add(index, instance(2, 1, 1), path="2a", size=10)
    add(index, instance(1, 1, 2), path="1b", size=50)  # study 1 is now the newest
    add(index, instance(3, 1, 1, PatientID="P1"), path="3a", size=1)
    assert index.study_count("A") == 3
    assert index.study_size("A", f"{ROOT}1") == 150
    assert index.study_size("A", "9.9.9") == 0
    assert index.oldest_studies("A") == [f"{ROOT}2", f"{ROOT}1", f"{ROOT}3"]
    assert index.oldest_studies("A", limit=1) == [f"{ROOT}2"]
    assert sorted(index.delete_study("A", f"{ROOT}1")) == ["1a", "1b"]
    assert index.delete_study("A", f"{ROOT}1") == []
    assert index.study_count("A") == 2
    patients = uids(index.find("A", "patient", query("PATIENT", PatientID="")), "PatientID")
    assert patients == ["P1", "P2"]  # P1 still has study 3
    index.delete_study("A", f"{ROOT}3")
    assert uids(index.find("A", "patient", query("PATIENT", PatientID="")), "PatientID") == ["P2"]


def test_paths_and_remove_paths(index: Index) -> None:
    add(index, instance(1, 1, 1, Modality="CT"), path="a")
    add(index, instance(1, 2, 2, Modality="MR"), path="b")
    add(index, instance(2, 1, 1), path="c")
    assert index.paths("A") == {"a", "b", "c"}
    assert index.remove_paths("A", ["b", "c", "not-indexed"]) == 2
    assert index.paths("A") == {"a"}
    assert index.study_count("A") == 1
    study = next(index.find("A", "study", query("STUDY", StudyInstanceUID="", ModalitiesInStudy="")))
    assert study.ModalitiesInStudy == "CT"
    assert index.remove_paths("A", []) == 0


# -- streaming ----------------------------------------------------------------------------------------


class CountingCursor(sqlite3.Cursor):
    fetched = 0

    def fetchone(self) -> Any:
        row = super().fetchone()
        CountingCursor.fetched += row is not None
        return row

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        rows = super().fetchmany(size)
        CountingCursor.fetched += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = super().fetchall()
        CountingCursor.fetched += len(rows)
        return rows


class CountingConnection(sqlite3.Connection):
    def cursor(self, factory: Any = CountingCursor) -> Any:
        return super().cursor(factory)


def _bulk(index: Index, count: int) -> None:
    """``count`` instances in one series, written directly (add_instance would take minutes)."""
    add(index, instance(1, 1, 0), path="p0")
    table = schema.instance
    with index.engine.begin() as connection:
        first = dict(connection.execute(sa.select(table)).mappings().one())
        del first["id"]
        rows = [{**first, "sop_instance_uid": f"{ROOT}1.1.{n}", "path": f"p{n}"} for n in range(1, count)]
        connection.execute(sa.insert(table), rows)


@pytest.mark.parametrize("keys", [{}, {"ContentDate": ""}], ids=["columns", "json"])
def test_find_streams(tmp_path: Path, keys: dict[str, str]) -> None:
    with Index.open(
        sqlite_url(tmp_path / "index.sqlite"), connect_args={"factory": CountingConnection}
    ) as index:
        _bulk(index, 5000)
        CountingCursor.fetched = 0
        found = index.find(
            "A",
            "study",
            query("IMAGE", StudyInstanceUID=f"{ROOT}1", SeriesInstanceUID="", SOPInstanceUID="", **keys),
        )
        first = next(found)
        assert first.SOPInstanceUID == f"{ROOT}1.1.0"
        assert 1 <= CountingCursor.fetched <= 256  # one batch, not 5,000 rows
        assert sum(1 for _ in found) == 4999
        assert CountingCursor.fetched >= 5000


def test_instances_for_streams(tmp_path: Path) -> None:
    with Index.open(
        sqlite_url(tmp_path / "index.sqlite"), connect_args={"factory": CountingConnection}
    ) as index:
        _bulk(index, 5000)
        CountingCursor.fetched = 0
        records = index.instances_for("A", "study", query("STUDY", StudyInstanceUID=f"{ROOT}1"))
        assert next(records).path == "p0"
        assert CountingCursor.fetched <= 256
        assert sum(1 for _ in records) == 4999


def test_remove_many_paths(index: Index) -> None:
    _bulk(index, 1200)  # more than one IN (...) chunk
    assert index.remove_paths("A", (f"p{n}" for n in range(1200))) == 1200
    assert index.study_count("A") == 0


def test_a_reader_does_not_block_a_writer(index: Index) -> None:
    for n in range(3):
        add(index, instance(1, 1, n))
    found = index.find(
        "A", "study", query("IMAGE", StudyInstanceUID=f"{ROOT}1", SeriesInstanceUID="", SOPInstanceUID="")
    )
    next(found)  # a read transaction is open
    add(index, instance(1, 1, 9))  # WAL: the writer goes ahead
    assert len(list(found)) == 2  # the reader's snapshot predates the write
    found.close()
    assert len(index.paths("A")) == 4


def test_abandoned_iterator_releases_its_connection(index: Index) -> None:
    add(index, instance(1, 1, 1))
    for _ in range(40):  # more than the pool holds
        found = index.find("A", "study", query("STUDY", StudyInstanceUID=""))
        next(found)
        found.close()
    assert index.study_count("A") == 1


def test_hostile_values(index: Index) -> None:
    nasty = "x'); DROP TABLE study; --%_\\"
    add(index, instance(1, 1, 1, StudyDescription=nasty, AccessionNumber="A%_1"))
    add(index, instance(2, 1, 1, StudyDescription="plain", AccessionNumber="AB_1"))

    def studies(**keys: Any) -> list[str]:
        asked = query("STUDY", **{"StudyInstanceUID": "", **keys})
        return uids(index.find("A", "study", asked), "StudyInstanceUID")

    assert studies(StudyDescription=nasty) == [f"{ROOT}1"]
    assert studies(AccessionNumber="A%*") == [f"{ROOT}1"]
    assert studies(AccessionNumber="A?_1") == [f"{ROOT}1", f"{ROOT}2"]
    assert studies(AccessionNumber="A_*") == []  # '_' is literal, not LIKE's any-character
    assert studies(StudyDescription="y" * 10_000) == []
    assert studies(StudyDescription="*" + "?" * 10_000) == []
    assert studies(StudyInstanceUID="\\".join(f"1.2.{n}" for n in range(2000))) == []
    assert studies(StudyInstanceUID="\\".join([*(f"1.2.{n}" for n in range(2000)), f"{ROOT}2"])) == [
        f"{ROOT}2"
    ]
    assert index.study_count("A") == 2
