"""PS3.4 C.2.2.2 matching: the pure rules, SQL and Python agreeing, and per VR through an index.

Expected results follow dcmqrscp 3.6.7 (checked with findscu against it): case-sensitive
PN, ``*`` matching empty values, DA/TM ranges over normalised values, literal backslashes.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian
from sqlalchemy.dialects import postgresql, sqlite

from dicomwire.archive import matching
from dicomwire.archive.index import Index, create_engine, sqlite_url
from dicomwire.archive.keys import QueryError
from dicomwire.archive.matching import Rule, condition, date_time_condition, matches

# -- pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vr", "value", "rule"),
    [
        ("PN", "", Rule.UNIVERSAL),
        ("PN", "*", Rule.UNIVERSAL),
        ("PN", "***", Rule.UNIVERSAL),
        ("PN", "Doe*", Rule.WILDCARD),
        ("LO", "A?", Rule.WILDCARD),
        ("LO", "ABC", Rule.SINGLE),
        ("UI", "1.2", Rule.UID_LIST),
        ("UI", "*", Rule.UID_LIST),  # no wild cards for UIDs
        ("DA", "20200101", Rule.RANGE),
        ("DA", "*", Rule.RANGE),  # not a date: matches nothing (as dcmqrscp)
        ("TM", "-1000", Rule.RANGE),
        ("DT", "2020-", Rule.RANGE),
        ("IS", "1*", Rule.SINGLE),
        ("SQ", "", Rule.SEQUENCE),
    ],
)
def test_rule_for(vr: str, value: str, rule: Rule) -> None:
    assert matching.rule_for(vr, value) is rule


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("20200101", "20200101"),
        ("2020.01.01", "20200101"),
        (" 20200101 ", "20200101"),
        ("20200230", None),
        ("2020010", None),
        ("", None),
        ("*", None),
    ],
)
def test_normalise_date(text: str, normal: str | None) -> None:
    assert matching.normalise_date(text) == normal


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("10", "100000.000000"),
        ("1010", "101000.000000"),
        ("101010", "101010.000000"),
        ("101010.5", "101010.500000"),
        ("101010.1234567", "101010.123456"),
        ("10:10", "101000.000000"),
        ("10:10:10.25", "101010.250000"),
        ("235960", "235960.000000"),  # a leap second
        ("2400", None),
        ("106", None),
        ("1060", None),
        ("", None),
    ],
)
def test_normalise_time(text: str, normal: str | None) -> None:
    assert matching.normalise_time(text) == normal


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("2020", "20200101000000.000000"),
        ("202006", "20200601000000.000000"),
        ("20200615103000.5", "20200615103000.500000"),
        ("20200615103000+0100", "20200615103000.000000"),
        ("20201315", None),
        ("x", None),
    ],
)
def test_normalise_datetime(text: str, normal: str | None) -> None:
    assert matching.normalise_datetime(text) == normal


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("Doe*", "Doe%"),
        ("D?e", "D_e"),
        ("100%*", "100!%%"),
        ("a_b", "a!_b"),
        ("a\\b*", "a\\b%"),
        ("wow!*", "wow!!%"),
        ("it's*", "it's%"),
        ("a***b", "a%b"),
    ],
)
def test_like_pattern_escapes(value: str, pattern: str) -> None:
    assert matching.like_pattern(value) == pattern


def test_json_text() -> None:
    assert matching.json_text(None) == ""
    assert matching.json_text({"vr": "LO"}) == ""
    assert matching.json_text({"vr": "LO", "Value": ["A", "B"]}) == "A\\B"
    assert matching.json_text({"vr": "IS", "Value": [7]}) == "7"
    pn = {"vr": "PN", "Value": [{"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎"}]}
    assert matching.json_text(pn) == "Yamada^Tarou=山田^太郎"
    assert matching.json_text({"vr": "OB", "BulkDataURI": "x#7FE00010"}) == ""


def test_wildcard_match_is_linear_for_hostile_patterns() -> None:
    pattern, text = "*a" * 5000, "a" * 10_000 + "b"
    started = time.perf_counter()
    assert not matching.wildcard_match(pattern, text)
    assert matching.wildcard_match("*a*", text)
    assert time.perf_counter() - started < 30  # a backtracking matcher would never finish


# -- SQL and Python agree (evaluated in SQLite) ------------------------------------------------------

CASES = [
    # PN: case sensitive, '*' matches empty, '?' is one character
    ("PN", "Doe*", "Doe^John", True),
    ("PN", "doe*", "Doe^John", False),
    ("PN", "Doe^John", "Doe^John", True),
    ("PN", "doe^john", "Doe^John", False),
    ("PN", "Doe", "Doe^John", False),
    ("PN", "*John", "Doe^John", True),
    ("PN", "D?e^John", "Doe^John", True),
    ("PN", "*", "", True),
    ("PN", "?*", "", False),
    ("PN", "A*", "", False),
    ("PN", "M?ller*", "Müller^Jörg", True),  # one character, not one UTF-8 byte
    ("PN", "Doe^John\\doe^jane", "doe^jane", False),  # no value lists outside UI
    ("PN", " Doe^John ", "Doe^John", True),
    # hostile characters are literal
    ("LO", "100%*", "100%_x'y", True),
    ("LO", "100%*", "100abc", False),
    ("LO", "1_0*", "1_0", True),
    ("LO", "1_0*", "1x0", False),
    ("LO", "a\\b*", "a\\bc", True),
    ("LO", "a\\b*", "ab", False),
    ("LO", "it's*", "it's x", True),
    ("LO", 'say "hi"', 'say "hi"', True),
    ("LO", "**a", "a", True),
    ("LO", "wow!*", "wow!!", True),
    ("LO", "wow!*", "wow", False),
    ("LO", "w!w*", "w!w", True),
    ("SH", "ACC1", "acc1", False),
    # UI lists
    ("UI", "1.2.3", "1.2.3", True),
    ("UI", "1.2.3\\1.2.4", "1.2.4", True),
    ("UI", "1.2.3\\1.2.4", "1.2.5", False),
    ("UI", "1.2.*", "1.2.3", False),
    ("UI", "1.2", "1.2.3", False),
    # DA
    ("DA", "20200101", "20200101", True),
    ("DA", "20200101-20210615", "20210615", True),
    ("DA", "20200101-20210615", "20210616", False),
    ("DA", "-20200101", "20200101", True),
    ("DA", "-20200101", "20200102", False),
    ("DA", "20210101-", "20220101", True),
    ("DA", "20210101-", "20201231", False),
    ("DA", "-", "20200101", True),
    ("DA", "-", "", False),
    ("DA", "*", "20200101", False),
    ("DA", "2020.01.01", "20200101", True),
    ("DA", "20200101", "2020.01.01", True),
    ("DA", "20200101\\20220301", "20200101", False),
    ("DA", "20200101", "", False),
    ("DA", "20200101", "garbage", False),
    # TM
    ("TM", "0930", "093000", True),
    ("TM", "-1000", "100000.5", False),
    ("TM", "-1000", "0959", True),
    ("TM", "1010-", "101010", True),
    ("TM", "12", "120000", True),
    ("TM", "-12", "120000.000001", False),
    ("TM", "10:10:10", "101010", True),
    ("TM", "101010.5", "101010.500000", True),
    ("TM", "-", "", False),
    # DT
    ("DT", "20200101", "20200101000000", True),
    ("DT", "2020-2021", "20210601", False),
    ("DT", "2020-2021", "20200601", True),
    # everything else: the text, exactly
    ("IS", "1", "1", True),
    ("IS", "01", "1", False),
    ("IS", " 1", "1", True),
    ("DS", "70.5", "70.5", True),
    ("AS", "045Y", "045Y", True),
    ("AS", "045*", "045Y", False),
    # universal
    ("LO", "", "anything", True),
    ("DA", "", "", True),
]


@pytest.fixture(scope="module")
def values_table() -> Iterator[tuple[sa.Engine, sa.Table]]:
    engine = create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("v", sa.String()), sa.Column("k", sa.String()))
    table.metadata.create_all(engine)
    yield engine, table
    engine.dispose()


@pytest.mark.parametrize(("vr", "value", "candidate", "expected"), CASES)
def test_sql_and_python_agree(
    values_table: tuple[sa.Engine, sa.Table], vr: str, value: str, candidate: str, expected: bool
) -> None:
    assert matches(vr, value, candidate) is expected
    engine, table = values_table
    ordered = matching.normalised(vr, candidate) if vr in matching.NORMALISERS and candidate else None
    where = condition(vr, value, table.c.v, table.c.k)
    with engine.begin() as connection:
        connection.execute(sa.delete(table))
        connection.execute(sa.insert(table).values(v=candidate, k=ordered))
        statement = sa.select(sa.func.count()).select_from(table)
        found = connection.execute(statement.where(where) if where is not None else statement).scalar_one()
    assert bool(found) is expected


def test_long_values_in_sql(values_table: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = values_table
    long = "x%_'" * 2500
    with engine.begin() as connection:
        connection.execute(sa.delete(table))
        connection.execute(sa.insert(table).values(v=long))
        for value, expected in (
            (long, 1),
            (long[:-1] + "*", 1),
            ("*" + long[1:] + "?", 0),
            ("*" * 10_000, 1),
        ):
            where = condition("LO", value, table.c.v)
            statement = sa.select(sa.func.count()).select_from(table)
            count = connection.execute(
                statement.where(where) if where is not None else statement
            ).scalar_one()
            assert count == expected, value[:20]


def test_universal_has_no_condition() -> None:
    column = sa.column("v", sa.String())
    assert condition("PN", "", column) is None
    assert condition("PN", "*", column) is None
    assert condition("UI", " ", column) is None


def test_range_needs_the_normalised_column() -> None:
    with pytest.raises(ValueError, match="normalised"):
        condition("DA", "20200101", sa.column("v", sa.String()))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])  # type: ignore[no-untyped-call]
def test_compiles_for_sqlite_and_postgresql(dialect: sa.Dialect) -> None:
    v, k = sa.column("v", sa.String()), sa.column("k", sa.String())
    like = condition("PN", "O'Neil*%", v)
    assert like is not None
    text = str(like.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    assert "LIKE" in text and "ESCAPE" in text and "O''Neil" in text
    uids = condition("UI", "1.2\\1.3", v)
    assert uids is not None and "IN" in str(uids.compile(dialect=dialect))
    dates = condition("DA", "20200101-20200131", v, k)
    assert dates is not None and ">=" in str(dates.compile(dialect=dialect))


# -- combined date/time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "time", "stored", "combined", "independent"),
    [
        ("20200101-20200102", "1000-1100", ("20200101", "1200"), True, False),
        ("20200101-20200102", "1000-1100", ("20200102", "1130"), False, False),
        ("20200101-20200102", "1000-1100", ("20200101", "0900"), False, False),
        ("20200101", "1000", ("20200101", "1000"), True, True),
        ("20200101", "", ("20200101", ""), True, True),
        ("-20200101", "-1000", ("20191231", "2300"), True, False),
        ("20200101-", "1000-", ("20200101", ""), False, False),  # an empty time is midnight
        ("20200101-20200101", "-1000", ("20200101", "0900"), True, True),  # shapes differ: one by one
    ],
)
def test_date_time_condition(
    values_table: tuple[sa.Engine, sa.Table],
    date: str,
    time: str,
    stored: tuple[str, str],
    combined: bool,
    independent: bool,
) -> None:
    engine = values_table[0]
    table = sa.Table(
        "dt",
        sa.MetaData(),
        *(sa.Column(name, sa.String()) for name in ("d", "dk", "t", "tk")),
    )
    table.metadata.create_all(engine)
    row = {
        "d": stored[0],
        "dk": matching.normalise_date(stored[0]),
        "t": stored[1],
        "tk": matching.normalise_time(stored[1]) if stored[1] else None,
    }
    pair = ((table.c.d, table.c.dk), (table.c.t, table.c.tk))
    with engine.begin() as connection:
        connection.execute(sa.delete(table))
        connection.execute(sa.insert(table).values(**row))

        def count(where: sa.ColumnElement[bool] | None) -> bool:
            statement = sa.select(sa.func.count()).select_from(table)
            return bool(
                connection.execute(statement.where(where) if where is not None else statement).scalar()
            )

        assert count(date_time_condition(date, time, *pair)) is combined
        separate = [
            c for c in (condition("DA", date, *pair[0]), condition("TM", time, *pair[1])) if c is not None
        ]
        assert count(sa.and_(*separate) if separate else None) is independent


# -- sequences --------------------------------------------------------------------------------------

ITEMS = [
    {"00080100": {"vr": "SH", "Value": ["T-04000"]}, "00080102": {"vr": "SH", "Value": ["SRT"]}},
    {"00080100": {"vr": "SH", "Value": ["R-102"]}, "00080102": {"vr": "SH", "Value": ["DCM"]}},
]


def test_sequence_universal_returns_all_items() -> None:
    assert matching.match_sequence([], ITEMS) == ITEMS
    assert matching.match_sequence([{}], ITEMS) == ITEMS


def test_sequence_matches_an_item_and_reduces_it_to_the_keys() -> None:
    query = [{"00080100": {"vr": "SH", "Value": ["R-*"]}, "00080104": {"vr": "LO"}}]
    assert matching.match_sequence(query, ITEMS) == [
        {"00080100": {"vr": "SH", "Value": ["R-102"]}, "00080104": {"vr": "LO"}}
    ]


def test_sequence_no_item_matches() -> None:
    assert matching.match_sequence([{"00080102": {"vr": "SH", "Value": ["LN"]}}], ITEMS) is None
    assert matching.match_sequence([{"00080102": {"vr": "SH", "Value": ["SRT"]}}], []) is None


def test_nested_sequences() -> None:
    stored = [{"0040A043": {"vr": "SQ", "Value": ITEMS}}]
    hit = [{"0040A043": {"vr": "SQ", "Value": [{"00080102": {"vr": "SH", "Value": ["DCM"]}}]}}]
    miss = [{"0040A043": {"vr": "SQ", "Value": [{"00080102": {"vr": "SH", "Value": ["X"]}}]}}]
    assert matching.match_sequence(hit, stored) is not None
    assert matching.match_sequence(miss, stored) is None


# -- per VR, through an index ----------------------------------------------------------------------

SC = "1.2.840.10008.5.1.4.1.1.7"
ROOT = "1.2.826.0.1.3680043.10.1009.77."


def _file(attributes: dict[str, object]) -> Dataset:
    """A data set as a storage SCP would parse it: encoded with its character set, read back."""
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return dcmread(buffer, stop_before_pixels=True)


STUDIES: dict[str, dict[str, object]] = {
    # study letter: attributes
    "A": {"PatientID": "P1", "PatientName": "Doe^John", "StudyDate": "20200101", "StudyTime": "101010",
          "AccessionNumber": "ACC1", "StudyDescription": "Chest", "Modality": "CT", "SeriesNumber": "1"},
    "B": {"PatientID": "P2", "PatientName": "doe^jane", "StudyDate": "20210615", "StudyTime": "",
          "AccessionNumber": "ACC2", "StudyDescription": "", "Modality": "CT", "SeriesNumber": "01"},
    "C": {"PatientID": "P3", "PatientName": "", "StudyDate": "", "StudyTime": "0930",
          "AccessionNumber": "", "StudyDescription": "Head", "Modality": "OT", "SeriesNumber": "2"},
    "D": {"PatientID": "P4", "PatientName": "Müller^Jörg", "SpecificCharacterSet": "ISO_IR 100",
          "StudyDate": "20220301", "StudyTime": "235959.5", "Modality": "MR", "StudyDescription": "Knie"},
    "E": {"PatientID": "P5", "PatientName": "Müller^Jörg", "SpecificCharacterSet": "ISO_IR 192",
          "StudyDate": "20220302", "StudyTime": "12", "Modality": "MR", "StudyDescription": "Genou été"},
    "F": {"PatientID": "P6", "PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう",
          "SpecificCharacterSet": ["", "ISO 2022 IR 87"], "StudyDate": "20230101", "Modality": "CR"},
    "G": {"PatientID": "P7", "PatientName": "Διονυσιος", "SpecificCharacterSet": "ISO_IR 126",
          "StudyDate": "20230102", "Modality": "CR"},
    "H": {"PatientID": "P8", "PatientName": "100%_x'y\"z", "AccessionNumber": "A_1%",
          "StudyDescription": "it's \\ back", "StudyDate": "20230103", "Modality": "US"},
}  # fmt: skip


def _uid(letter: str) -> str:
    return ROOT + str(ord(letter))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    path = Path(tmp_path_factory.mktemp("matching")) / "index.sqlite"
    with Index.open(sqlite_url(path)) as opened:
        for n, (letter, attributes) in enumerate(STUDIES.items()):
            uid = _uid(letter)
            ds = _file(
                {
                    **attributes,
                    "SOPClassUID": SC,
                    "SOPInstanceUID": f"{uid}.1.1",
                    "StudyInstanceUID": uid,
                    "SeriesInstanceUID": f"{uid}.1",
                    "InstanceNumber": str(n + 1),
                }
            )
            opened.add_instance(
                "QR", ds, path=f"{letter}.dcm", size=100, transfer_syntax=ExplicitVRLittleEndian
            )
        yield opened


def _query(level: str, keys: Mapping[str, object]) -> Dataset:
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about ranges and wild cards as values
        for keyword, value in keys.items():
            setattr(ds, keyword, value)
        ds.QueryRetrieveLevel = level
    return ds


def _encoded(query: Dataset) -> Dataset:
    """A query as it arrives: encoded in its character set and decoded again."""
    query.file_meta = FileMetaDataset()
    query.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    query.save_as(buffer, enforce_file_format=False, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    return dcmread(buffer, force=True)


def _studies(index: Index, keys: dict[str, object], model: str = "study") -> set[str]:
    found = index.find("QR", model, _query("STUDY", {"StudyInstanceUID": "", **keys}))
    return {chr(int(ds.StudyInstanceUID.rsplit(".", 1)[1])) for ds in found}


STUDY_QUERIES = [
    ({"PatientName": "Doe*"}, "A"),
    ({"PatientName": "doe*"}, "B"),
    ({"PatientName": "*"}, "ABCDEFGH"),
    ({"PatientName": "?*"}, "ABDEFGH"),
    ({"PatientName": "*^J*"}, "ADE"),
    ({"PatientName": "M?ller*"}, "DE"),
    ({"PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう"}, "F"),
    ({"PatientName": "*山田*"}, "F"),
    ({"PatientName": "Διον*"}, "G"),
    ({"PatientName": "100%_x'y\"z"}, "H"),
    ({"PatientName": "100%*"}, "H"),
    ({"PatientName": "1_0*"}, ""),
    ({"AccessionNumber": "A_1%"}, "H"),
    ({"AccessionNumber": "ACC?"}, "AB"),
    ({"AccessionNumber": "acc1"}, ""),
    ({"StudyDescription": "*"}, "ABCDEFGH"),
    ({"StudyDescription": "it's \\ back"}, "H"),
    ({"StudyDescription": "Genou été"}, "E"),
    ({"StudyDate": "-"}, "ABDEFGH"),
    ({"StudyDate": "20200101-20210615"}, "AB"),
    ({"StudyDate": "-20200101"}, "A"),
    ({"StudyDate": "20230101-"}, "FGH"),
    ({"StudyDate": "*"}, ""),
    ({"StudyTime": "-12"}, "ACE"),
    ({"StudyTime": "1010-"}, "ADE"),
    ({"StudyTime": "-"}, "ACDE"),
    ({"StudyDate": "20200101", "StudyTime": "1000-1100"}, "A"),
    ({"PatientID": "P1\\P2"}, ""),
    ({"ModalitiesInStudy": "MR"}, "DE"),
    ({"ModalitiesInStudy": "CT\\MR"}, "ABDE"),
    ({"ModalitiesInStudy": "C*"}, "ABFG"),
    ({"ModalitiesInStudy": "*"}, "ABCDEFGH"),
    ({"Modality": "MR"}, "ABCDEFGH"),  # a series key: ignored at the STUDY level
]


@pytest.mark.parametrize(("keys", "expected"), STUDY_QUERIES)
def test_study_level_matching(index: Index, keys: dict[str, object], expected: str) -> None:
    assert _studies(index, keys) == set(expected)


def test_study_uid_list(index: Index) -> None:
    assert _studies(index, {"StudyInstanceUID": f"{_uid('A')}\\{_uid('C')}"}) == {"A", "C"}


@pytest.mark.parametrize(
    ("charset", "name", "expected"),
    [
        ("ISO_IR 100", "Müller*", "DE"),
        ("ISO_IR 192", "Müller*", "DE"),
        ("ISO_IR 192", "*山田*", "F"),
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎*", "F"),
        ("ISO_IR 126", "Διονυσιος", "G"),
    ],
)
def test_encoded_queries_match_text(index: Index, charset: object, name: str, expected: str) -> None:
    query = _query("STUDY", {"SpecificCharacterSet": charset, "StudyInstanceUID": "", "PatientName": name})
    found = index.find("QR", "study", _encoded(query))
    assert {chr(int(ds.StudyInstanceUID.rsplit(".", 1)[1])) for ds in found} == set(expected)


SERIES_AND_IMAGE = [
    (
        "SERIES",
        {"StudyInstanceUID": f"{_uid('A')}\\{_uid('B')}", "SeriesInstanceUID": "", "Modality": "CT"},
        "AB",
    ),
    ("SERIES", {"StudyInstanceUID": "", "SeriesInstanceUID": "", "SeriesNumber": "1"}, "A"),
    ("SERIES", {"StudyInstanceUID": "", "SeriesInstanceUID": "", "Modality": "?R"}, "DEFG"),
    ("SERIES", {"StudyInstanceUID": _uid("A"), "SeriesInstanceUID": "", "PatientName": "XXX"}, "A"),
    (
        "IMAGE",
        {"StudyInstanceUID": "", "SeriesInstanceUID": "", "SOPInstanceUID": "", "InstanceNumber": "2"},
        "B",
    ),
    (
        "IMAGE",
        {"StudyInstanceUID": _uid("C"), "SeriesInstanceUID": f"{_uid('C')}.1", "SOPInstanceUID": ""},
        "C",
    ),
    ("IMAGE", {"StudyInstanceUID": "", "SeriesInstanceUID": "", "SOPClassUID": SC}, "ABCDEFGH"),
]


@pytest.mark.parametrize(("level", "keys", "expected"), SERIES_AND_IMAGE)
def test_series_and_image_level_matching(
    index: Index, level: str, keys: dict[str, object], expected: str
) -> None:
    found = index.find("QR", "study", _query(level, keys))
    assert {chr(int(ds.StudyInstanceUID.rsplit(".", 1)[1])) for ds in found} == set(expected)


def test_patient_level(index: Index) -> None:
    found = list(index.find("QR", "patient", _query("PATIENT", {"PatientID": "P*", "PatientName": "*^J*"})))
    assert sorted(ds.PatientID for ds in found) == ["P1", "P4", "P5"]


# -- interop: the same data in DCMTK's dcmqrscp ------------------------------------------------------

DCMQRSCP = "/usr/bin/dcmqrscp"
EXTRA: list[
    tuple[str, int, int, dict[str, object]]
] = [  # more series and images in study A, for the SERIES and IMAGE queries
    ("A", 1, 2, {"Modality": "CT"}),
    ("A", 2, 3, {"Modality": "MR", "SeriesNumber": "2"}),
]
INTEROP_QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("study", "STUDY", {"StudyInstanceUID": "", "PatientName": "Doe*"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "PatientName": "*"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "PatientName": "?*"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "StudyDate": "20200101-20210615"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "StudyDate": "-"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "StudyTime": "-12"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "StudyDescription": "*", "AccessionNumber": "ACC?"}),
    ("study", "STUDY", {"StudyInstanceUID": "", "SpecificCharacterSet": "ISO_IR 192",
                        "PatientName": "Müller*"}),
    ("study", "SERIES", {"StudyInstanceUID": f"{_uid('A')}\\{_uid('B')}", "SeriesInstanceUID": "",
                         "Modality": "CT"}),
    ("study", "SERIES", {"StudyInstanceUID": _uid("A"), "SeriesInstanceUID": "", "PatientName": "XXX"}),
    ("study", "IMAGE", {"StudyInstanceUID": _uid("A"), "SeriesInstanceUID": f"{_uid('A')}.1",
                        "SOPInstanceUID": ""}),
    ("study", "IMAGE", {"StudyInstanceUID": _uid("A"), "SeriesInstanceUID": "", "SOPInstanceUID": "",
                        "InstanceNumber": "3"}),
    ("patient", "PATIENT", {"PatientID": "P*", "PatientName": "*^J*"}),
    ("patient", "STUDY", {"PatientID": "P1", "StudyInstanceUID": ""}),
    ("patient", "STUDY", {"StudyInstanceUID": ""}),  # no Patient ID: 0xC000
    ("study", "PATIENT", {"PatientID": ""}),  # not in Study Root: 0xC000
    ("study", "", {"StudyInstanceUID": ""}),  # no level: 0xA900
]  # fmt: skip
UNIQUE = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
STATUS = {"Success": 0, "Error: DataSetDoesNotMatchSOPClass": 0xA900, "Failed: UnableToProcess": 0xC000}


def _interop_files(directory: Path) -> list[Path]:
    files = []
    rows: list[tuple[str, int, int, dict[str, object]]] = [(letter, 1, 1, {}) for letter in STUDIES]
    rows += EXTRA
    for letter, series, number, extra in rows:
        uid = _uid(letter)
        attributes = {**STUDIES[letter], **extra}
        ds = _file(
            {
                **attributes,
                "SOPClassUID": SC,
                "SOPInstanceUID": f"{uid}.{series}.{number}",
                "StudyInstanceUID": uid,
                "SeriesInstanceUID": f"{uid}.{series}",
                "InstanceNumber": str(number),
            }
        )
        path = directory / f"{letter}{series}{number}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "dcmqrscp exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.01)  # a pause between attempts: the connect is what synchronises
    raise AssertionError(f"dcmqrscp does not listen on {port}")


def _dcmtk_find(port: int, model: str, level: str, keys: dict[str, str], out: Path) -> tuple[int, set[str]]:
    for old in out.glob("rsp*.dcm"):
        old.unlink()
    argv = ["findscu", "-v", {"study": "-S", "patient": "-P"}[model], "-aec", "QR", "-X", "-od", str(out)]
    argv += ["-to", "10", "-ta", "10", "-td", "10"]
    argv += ["-k", f"QueryRetrieveLevel={level}"] if level else []
    for keyword, value in keys.items():
        argv += ["-k", f"{keyword}={value}" if value else keyword]
    done = subprocess.run([*argv, "127.0.0.1", str(port)], capture_output=True, timeout=60, check=False)
    log = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert "Received Final Find Response (" in log, log
    final = log.split("Received Final Find Response (", 1)[1].split(")", 1)[0]
    unique = UNIQUE.get(level, "StudyInstanceUID")
    found = {str(getattr(dcmread(path), unique)) for path in sorted(out.glob("rsp*.dcm"))}
    return STATUS[final], found


def _ours(index: Index, model: str, level: str, keys: dict[str, str]) -> tuple[int, set[str]]:
    query = _query(level, keys) if level else _query("STUDY", keys)
    if not level:
        del query.QueryRetrieveLevel
    try:
        found = list(index.find("QR", model, _encoded(query)))
    except QueryError as error:
        return error.status, set()
    return 0, {str(getattr(ds, UNIQUE[level])) for ds in found}


@pytest.mark.interop
@pytest.mark.skipif(not Path(DCMQRSCP).exists(), reason="DCMTK is not installed")
@pytest.mark.timeout(300)
def test_same_answers_as_dcmqrscp(tmp_path: Path) -> None:
    files = _interop_files(tmp_path)
    storage = tmp_path / "QR"
    storage.mkdir()
    (tmp_path / "out").mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        "NetworkTCPPort = 104\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQR {storage} RW (100, 1024mb) ANY\nAETable END\n"
    )
    port = _free_port()
    with (tmp_path / "dcmqrscp.log").open("wb") as log:
        server = subprocess.Popen(
            [DCMQRSCP, "-c", str(config), str(port)],  # forks per association (-s exits after one)
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        _wait_for_port(server, port)
        stored = subprocess.run(
            [
                "storescu",
                "-aec",
                "QR",
                "-to",
                "10",
                "-ta",
                "10",
                "-td",
                "10",
                "127.0.0.1",
                str(port),
                *map(str, files),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert stored.returncode == 0, stored.stderr.decode("utf-8", "replace")
        with Index.open(sqlite_url(tmp_path / "index.sqlite")) as index:
            for path in files:
                ds = dcmread(path, stop_before_pixels=True)
                index.add_instance(
                    "QR", ds, path=path.name, size=path.stat().st_size, transfer_syntax=ExplicitVRLittleEndian
                )
            for model, level, keys in INTEROP_QUERIES:
                theirs = _dcmtk_find(port, model, level, keys, tmp_path / "out")
                assert _ours(index, model, level, keys) == theirs, (model, level, keys)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the server and any child left
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
