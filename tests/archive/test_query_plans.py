"""Every C-FIND key of dcmqrscp's is answered through an index, never a scan of all instances.

An index of a few thousand instances (realistic spreads of names, dates, modalities, one
area) is loaded directly and analysed as the archive does it (``Index.refresh_statistics``).
Each query runs through ``Index.find``; every SELECT it executes (the matching ids, the
rows of each batch, their correlated counts) is captured and explained (SQLite's ``EXPLAIN
QUERY PLAN``; on PostgreSQL ``EXPLAIN`` with sequential scans disabled, so that a Seq Scan
means no index could serve).

* Every key dcmqrscp knows, at every level and model it is matched at: no full scan of the
  instance table (a SCAN, or a SEARCH of an index on ``area`` alone, which is the same).
* The keys the schema indexes (the list below): no full scan of any table at all, and the
  index expected is used; dropping that index (inside a transaction, rolled back) makes the
  check fail, so a migration that loses one cannot pass.

Also: the statistics the planner works from (taken whole, again when the index has grown),
and revision 0002 up and down over an index that holds rows, on both databases.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydicom.dataset import Dataset

from dicomwire.archive import schema
from dicomwire.archive.index import Index, create_engine, sqlite_url
from dicomwire.archive.keys import KEYS, PATIENT_ROOT, STUDY_ROOT, UNIQUE_KEYS, Key, Level, Model

AREA = "A"
ROOT = "1.2.826.0.1.3680043.10.1009.79."
STUDIES = 1500
NAMES = ("DOE", "SMITH", "GARCIA", "MILLER", "NGUYEN", "JONES", "BROWN", "MUELLER", "ROSSI", "WU", "KIM")
GIVEN = ("JOHN", "JANE", "ALEX", "MARIA", "PAT", "SAM", "LEE", "ANNA", "TOM", "EVA", "MAX", "IDA")
MODALITIES = {"CR": 30, "CT": 20, "MR": 12, "US": 14, "DX": 14, "MG": 6, "NM": 2, "XA": 2}
STORED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _rows() -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(13)
    rows: dict[str, list[dict[str, Any]]] = {"patient": [], "study": [], "series": [], "instance": []}
    common = {"area": AREA, "stored_at": STORED}
    for k in range(STUDIES):
        if k % 3 == 0 or not rows["patient"]:
            pk = len(rows["patient"]) + 1
            birth = (dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30_000))).strftime("%Y%m%d")
            rows["patient"].append(
                {
                    **common,
                    "id": pk,
                    "patient_name": f"{rng.choice(NAMES)}^{rng.choice(GIVEN)}^{pk}",
                    "patient_id": f"P{pk:06d}",
                    "patient_birth_date": birth,
                    "patient_birth_date_key": birth,
                    "patient_sex": rng.choice("MF"),
                }
            )
        date = (dt.date(2015, 1, 1) + dt.timedelta(days=k // 8)).strftime("%Y%m%d")
        time = f"{rng.randrange(7, 20):02}{rng.randrange(60):02}00"
        series_count = rng.randint(1, 3)
        modality = rng.choices(list(MODALITIES), list(MODALITIES.values()))[0]
        rows["study"].append(
            {
                **common,
                "id": k + 1,
                "patient_pk": rng.randint(1, len(rows["patient"])),
                "study_date": date,
                "study_date_key": date,
                "study_time": time,
                "study_time_key": f"{time}.000000",
                "accession_number": f"A{k:07d}",
                "study_id": str(k),
                "study_instance_uid": f"{ROOT}{k}",
                "referring_physician_name": f"{rng.choice(NAMES)}^{rng.choice(GIVEN)}",
                "modalities_in_study": modality,
            }
        )
        for s in range(1, series_count + 1):
            series_pk = len(rows["series"]) + 1
            rows["series"].append(
                {
                    **common,
                    "id": series_pk,
                    "study_pk": k + 1,
                    "modality": modality,
                    "series_number": str(s),
                    "series_instance_uid": f"{ROOT}{k}.{s}",
                }
            )
            for i in range(1, rng.randint(1, 12) + 1):
                rows["instance"].append(
                    {
                        **common,
                        "series_pk": series_pk,
                        "instance_number": str(i),
                        "sop_instance_uid": f"{ROOT}{k}.{s}.{i}",
                        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.7",
                        "path": f"{k}/{s}/{i}.dcm",
                        "size": 100,
                        "transfer_syntax": "1.2.840.10008.1.2.1",
                        "attributes": {},
                    }
                )
    return rows


DATA = _rows()
NAME = DATA["patient"][3]["patient_name"]
BIRTH = DATA["patient"][3]["patient_birth_date"]
PHYSICIAN = DATA["study"][42]["referring_physician_name"]
TIME = DATA["study"][42]["study_time"]


def load(index: Index) -> None:
    with index.engine.begin() as connection:
        for name, table_rows in DATA.items():
            connection.execute(sa.insert(schema.metadata.tables[name]), table_rows)
    index.refresh_statistics()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    path: Path = tmp_path_factory.mktemp("plans") / "index.sqlite"
    with Index.open(sqlite_url(path)) as opened:
        load(opened)
        yield opened


# -- the queries ---------------------------------------------------------------------------------


def query(level: Level, model: Model, **keys: str) -> Dataset:
    """An identifier: the unique keys above ``level`` present and empty, then ``keys``."""
    ds = Dataset()
    ds.QueryRetrieveLevel = level.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for above in Level:
            if model.top <= above < level and not (model is STUDY_ROOT and above is Level.PATIENT):
                setattr(ds, UNIQUE_KEYS[above].keyword, "")
        for keyword, value in keys.items():
            setattr(ds, keyword, value)
    return ds


_VALUES = {
    "DA": "20150110-20150112",
    "TM": "1000-1030",
    "UI": f"{ROOT}7",
    "IS": "7",
    "DS": "70",
    "AS": "045Y",
    "PN": "DOE^J*",
    "LT": "*x*",
}


def _value(key: Key) -> str:
    return _VALUES.get(key.vr, "X*")


def _levels(key: Key, model: Model) -> list[Level]:
    """The query levels at which ``model`` matches ``key`` (its own; Study Root STUDY too)."""
    found = [key.level] if model.allows(key.level) else []
    if model is STUDY_ROOT and key.level is Level.PATIENT:
        found.append(Level.STUDY)
    return found


DCMTK_CASES = [
    pytest.param(model, level, key, id=f"{model.name}-{level.name}-{key.keyword}")
    for model in (PATIENT_ROOT, STUDY_ROOT)
    for key in KEYS
    if key.dcmtk
    for level in _levels(key, model)
]


@dataclass(frozen=True)
class Indexed:
    """A query the schema has an index for, and the index (SQLite's name) it needs."""

    name: str
    model: Model
    level: Level
    keys: dict[str, str]
    index: str


INDEXED = [
    Indexed(
        "PatientName prefix",
        PATIENT_ROOT,
        Level.PATIENT,
        {"PatientName": NAME[:5] + "*"},
        "ix_patient_area_patient_name",
    ),
    Indexed(
        "PatientName", PATIENT_ROOT, Level.PATIENT, {"PatientName": NAME}, "ix_patient_area_patient_name"
    ),
    Indexed("PatientID", PATIENT_ROOT, Level.PATIENT, {"PatientID": "P000042"}, "sqlite_autoindex_patient_1"),
    Indexed(
        "PatientBirthDate",
        PATIENT_ROOT,
        Level.PATIENT,
        {"PatientBirthDate": f"{BIRTH}-{BIRTH}"},
        "ix_patient_area_patient_birth_date_key",
    ),
    Indexed(
        "study PatientName prefix",
        STUDY_ROOT,
        Level.STUDY,
        {"PatientName": NAME[:5] + "*"},
        "ix_study_patient_pk",
    ),
    Indexed("study PatientID", STUDY_ROOT, Level.STUDY, {"PatientID": "P000042"}, "ix_study_patient_pk"),
    Indexed(
        "studies of a patient", PATIENT_ROOT, Level.STUDY, {"PatientID": "P000042"}, "ix_study_patient_pk"
    ),
    Indexed("StudyDate", STUDY_ROOT, Level.STUDY, {"StudyDate": "20150110"}, "ix_study_area_study_date_key"),
    Indexed(
        "StudyDate range",
        STUDY_ROOT,
        Level.STUDY,
        {"StudyDate": "20150110-20150112"},
        "ix_study_area_study_date_key",
    ),
    Indexed(
        "StudyTime range",
        STUDY_ROOT,
        Level.STUDY,
        {"StudyTime": f"{TIME}-{TIME}"},
        "ix_study_area_study_time_key",
    ),
    Indexed(
        "AccessionNumber",
        STUDY_ROOT,
        Level.STUDY,
        {"AccessionNumber": "A0000042"},
        "ix_study_area_accession_number",
    ),
    Indexed(
        "AccessionNumber prefix",
        STUDY_ROOT,
        Level.STUDY,
        {"AccessionNumber": "A000004*"},
        "ix_study_area_accession_number",
    ),
    Indexed("StudyID", STUDY_ROOT, Level.STUDY, {"StudyID": "42"}, "ix_study_area_study_id"),
    Indexed(
        "StudyInstanceUID",
        STUDY_ROOT,
        Level.STUDY,
        {"StudyInstanceUID": f"{ROOT}42"},
        "sqlite_autoindex_study_1",
    ),
    Indexed(
        "ReferringPhysicianName",
        STUDY_ROOT,
        Level.STUDY,
        {"ReferringPhysicianName": PHYSICIAN},
        "ix_study_area_referring_physician_name",
    ),
    Indexed(
        "ModalitiesInStudy",
        STUDY_ROOT,
        Level.STUDY,
        {"ModalitiesInStudy": "NM"},
        "ix_series_area_modality_study_pk",
    ),
    Indexed(
        "ModalitiesInStudy with a date",
        STUDY_ROOT,
        Level.STUDY,
        {"ModalitiesInStudy": "CT\\MR", "StudyDate": "20150110"},
        "ix_study_area_study_date_key",
    ),
    Indexed(
        "series of a study", STUDY_ROOT, Level.SERIES, {"StudyInstanceUID": f"{ROOT}42"}, "ix_series_study_pk"
    ),
    Indexed(
        "SeriesInstanceUID",
        STUDY_ROOT,
        Level.SERIES,
        {"SeriesInstanceUID": f"{ROOT}42.1"},
        "sqlite_autoindex_series_1",
    ),
    Indexed(
        "images of a series",
        STUDY_ROOT,
        Level.IMAGE,
        {"StudyInstanceUID": f"{ROOT}42", "SeriesInstanceUID": f"{ROOT}42.1"},
        "ix_instance_series_pk",
    ),
    Indexed(
        "images of a patient's series",
        PATIENT_ROOT,
        Level.IMAGE,
        {"SeriesInstanceUID": f"{ROOT}42.1"},
        "ix_instance_series_pk",
    ),
    Indexed(
        "images of a study",
        STUDY_ROOT,
        Level.IMAGE,
        {"StudyInstanceUID": f"{ROOT}42"},
        "ix_instance_series_pk",
    ),
    Indexed(
        "SOPInstanceUID",
        STUDY_ROOT,
        Level.IMAGE,
        {"SOPInstanceUID": f"{ROOT}42.1.1"},
        "sqlite_autoindex_instance_1",
    ),
    Indexed(
        "InstanceNumber",
        STUDY_ROOT,
        Level.IMAGE,
        {"InstanceNumber": "11"},
        "ix_instance_area_instance_number",
    ),
]
# the indexes a migration could lose (a unique constraint's index cannot be dropped alone)
DROPPABLE = sorted({case.index for case in INDEXED if not case.index.startswith("sqlite_autoindex")})


# -- capturing and explaining -----------------------------------------------------------------------


@dataclass
class Statement:
    sql: str
    parameters: Any


def executed(index: Index, model: Model, identifier: Dataset) -> list[Statement]:
    """The SELECTs ``Index.find`` runs for ``identifier`` (each shape once), all matches read."""
    captured: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append(Statement(sql, parameters))

    sa.event.listen(index.engine, "before_cursor_execute", capture)
    try:
        for _ in index.find(AREA, model.find, identifier):
            pass
    finally:
        sa.event.remove(index.engine, "before_cursor_execute", capture)
    shapes: dict[str, Statement] = {}
    for statement in captured:
        shapes.setdefault(re.sub(r"IN \([^)]*\)", "IN (...)", statement.sql), statement)
    return list(shapes.values())


def sqlite_plan(connection: sa.Connection, statements: list[Statement], note: str = "") -> list[str]:
    """The plan lines; ``note`` makes the text new, for the driver's statement cache (a plan
    prepared before a DROP INDEX on the same connection is not prepared again)."""
    lines: list[str] = []
    for statement in statements:
        sql = f"EXPLAIN QUERY PLAN {statement.sql} /* {note} */"
        rows = connection.exec_driver_sql(sql, statement.parameters)
        lines += [str(row[3]) for row in rows]
    return lines


_TABLES = ("patient", "study", "series", "instance")
_ACCESS = re.compile(r"^(SCAN|SEARCH) (\w+?)(?:_\d+)?(?: USING (.*?))?(?: \((.*)\))?$")


def full_scans(lines: list[str], tables: tuple[str, ...] = _TABLES) -> list[str]:
    """The plan lines that read the whole of one of ``tables``: a SCAN, or a SEARCH whose only
    constraint is ``area`` (every row has the one area)."""
    found = []
    for line in lines:
        access = _ACCESS.match(line)
        if access is None or access.group(2) not in tables:
            continue
        kind, _table, _using, constraints = access.groups()
        only_area = constraints is not None and re.fullmatch(r"(ANY\()?area\)?=\?", constraints) is not None
        if kind == "SCAN" or only_area:
            found.append(line)
    return found


def uses(lines: list[str], index_name: str) -> bool:
    return any(f"INDEX {index_name} " in line for line in lines)


# -- SQLite --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "level", "key"), DCMTK_CASES)
def test_no_dcmtk_key_scans_the_instances(index: Index, model: Model, level: Level, key: Key) -> None:
    statements = executed(index, model, query(level, model, **{key.keyword: _value(key)}))
    with index.engine.connect() as connection:
        lines = sqlite_plan(connection, statements)
    assert not full_scans(lines, ("instance",)), "\n".join(lines)


@pytest.mark.parametrize("case", INDEXED, ids=lambda c: c.name)
def test_indexed_keys_use_their_index(index: Index, case: Indexed) -> None:
    statements = executed(index, case.model, query(case.level, case.model, **case.keys))
    with index.engine.connect() as connection:
        lines = sqlite_plan(connection, statements)
    assert not full_scans(lines), "\n".join(lines)
    assert uses(lines, case.index), "\n".join(lines)


@pytest.mark.parametrize("dropped", DROPPABLE)
def test_dropping_an_index_fails_the_check(index: Index, dropped: str) -> None:
    cases = [case for case in INDEXED if case.index == dropped]
    with index.engine.connect() as connection:
        transaction = connection.begin()  # SQLite's DDL is transactional: rolled back below
        try:
            connection.exec_driver_sql(f"DROP INDEX {dropped}")
            for case in cases:
                statements = executed(index, case.model, query(case.level, case.model, **case.keys))
                lines = sqlite_plan(connection, statements, note=f"without {dropped}")
                assert full_scans(lines) or not uses(lines, case.index), f"{case.name}: " + "\n".join(lines)
        finally:
            transaction.rollback()


def test_the_indexed_keys_match(index: Index) -> None:
    """The queries above are not vacuous: each one finds something."""
    for case in INDEXED:
        found = list(index.find(AREA, case.model.find, query(case.level, case.model, **case.keys)))
        assert found, case.name


# -- PostgreSQL ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_index() -> Iterator[Index]:
    import pg_server

    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with Index.open(pg_server.shared().create_database("plans")) as opened:
        load(opened)
        yield opened


def pg_plan(connection: sa.Connection, statements: list[Statement]) -> list[dict[str, Any]]:
    """The plans, as the index's cursors have them (``DECLARE``, in a transaction of the
    index's own: PostgreSQL plans a cursor as its settings say), with sequential scans, hash
    and merge joins disabled: PostgreSQL's costs prefer those for tables as small as these,
    so without them a Seq Scan left (or an index scan with no condition) means that no index
    can serve.  The choices PostgreSQL makes at size are the benchmark's (``bench/index.py``)."""
    for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")
    plans = []
    for n, statement in enumerate(statements):
        sql = f"EXPLAIN (FORMAT JSON) DECLARE plan_{n} CURSOR FOR {statement.sql}"
        plans.append(connection.exec_driver_sql(sql, statement.parameters).scalar_one()[0]["Plan"])
    return plans


def _columns(condition: str) -> set[str]:
    return set(re.findall(r"\((\w+)\)::\w+", condition)) | set(
        re.findall(r"\((\w+) (?:=|<|>|<=|>=) ", condition)
    )


def _index_columns() -> dict[str, list[str]]:
    """Every index of the schema (constraints' too), by name: its columns."""
    found: dict[str, list[str]] = {}
    for table in schema.metadata.tables.values():
        for index in table.indexes:
            found[str(index.name)] = [c.name for c in index.columns]
        for constraint in table.constraints:
            if isinstance(constraint, sa.PrimaryKeyConstraint | sa.UniqueConstraint):
                found[str(constraint.name)] = [c.name for c in constraint.columns]
    return found


INDEX_COLUMNS = _index_columns()


def pg_full_scans(plans: list[dict[str, Any]], tables: tuple[str, ...] = _TABLES) -> list[str]:
    """The plan nodes that read the whole of one of ``tables``: a Seq Scan, or an index scan
    whose condition does not bound the first of the index's columns after ``area`` (a
    condition on a later column is checked entry by entry, over the whole area)."""
    found: list[str] = []

    def whole(condition: str | None, index: str) -> bool:
        leading = [c for c in INDEX_COLUMNS[index] if c != "area"][:1]
        return condition is None or not set(leading) <= _columns(condition)

    def walk(node: dict[str, Any]) -> None:
        kind, relation = node["Node Type"], node.get("Relation Name")
        if relation in tables:
            if kind == "Seq Scan":
                found.append(f"Seq Scan on {relation}")
            elif kind in ("Index Scan", "Index Only Scan") and whole(
                node.get("Index Cond"), node["Index Name"]
            ):
                found.append(f"{kind} using {node['Index Name']} on {relation}: {node.get('Index Cond')}")
            elif kind == "Bitmap Heap Scan":
                scans = [
                    (child.get("Index Cond"), child.get("Index Name", "")) for child in node.get("Plans", [])
                ]
                if all(not name or whole(condition, name) for condition, name in scans):
                    found.append(f"Bitmap Heap Scan on {relation}: {scans}")
        for child in node.get("Plans", []):
            walk(child)

    for plan in plans:
        walk(plan)
    return found


@pytest.mark.parametrize(("model", "level", "key"), DCMTK_CASES)
def test_postgresql_no_dcmtk_key_scans_the_instances(
    pg_index: Index, model: Model, level: Level, key: Key
) -> None:
    statements = executed(pg_index, model, query(level, model, **{key.keyword: _value(key)}))
    with pg_index._reading() as connection:
        plans = pg_plan(connection, statements)
    assert not pg_full_scans(plans, ("instance",)), plans


@pytest.mark.parametrize("case", INDEXED, ids=lambda c: c.name)
def test_postgresql_indexed_keys_use_an_index(pg_index: Index, case: Indexed) -> None:
    statements = executed(pg_index, case.model, query(case.level, case.model, **case.keys))
    with pg_index._reading() as connection:
        plans = pg_plan(connection, statements)
    assert not pg_full_scans(plans), plans


@pytest.mark.parametrize("dropped", DROPPABLE)
def test_postgresql_dropping_an_index_fails_the_check(pg_index: Index, dropped: str) -> None:
    cases = [case for case in INDEXED if case.index == dropped]
    statements = {
        case.name: executed(pg_index, case.model, query(case.level, case.model, **case.keys))
        for case in cases
    }
    with pg_index._reading() as connection:  # rolled back at the end: PostgreSQL's DDL is transactional
        connection.exec_driver_sql(f"DROP INDEX {dropped}")
        for case in cases:
            assert pg_full_scans(pg_plan(connection, statements[case.name])), case.name
        connection.rollback()


# -- statistics ------------------------------------------------------------------------------------------


def _stat(index: Index, name: str) -> list[int]:
    with index.engine.connect() as connection:
        stat = connection.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE idx = ?", (name,)).scalar()
    return [int(n) for n in str(stat).split()]


def test_statistics_are_whole(index: Index) -> None:
    """A sampled ANALYZE takes the one ``area`` for selective (its first rows all agree) and
    sends queries down the (area, ...) index that matches least: these are taken whole."""
    rows, per_area, _per_path = _stat(index, "ix_instance_area_path")
    assert rows == per_area == len(DATA["instance"])


def test_statistics_are_taken_again_when_the_index_has_grown(tmp_path: Path) -> None:
    with Index.open(sqlite_url(tmp_path / "index.sqlite")) as index:
        rows = DATA["instance"][:400]
        with index.engine.begin() as connection:
            for name in ("patient", "study", "series"):
                connection.execute(sa.insert(schema.metadata.tables[name]), DATA[name])
            connection.execute(sa.insert(schema.instance), rows[:200])
        index.refresh_statistics()
        assert _stat(index, "ix_instance_series_pk")[0] == 200
        with index.engine.begin() as connection:
            connection.execute(sa.insert(schema.instance), rows[200:240])  # 20 % more: not yet
        index.refresh_statistics()
        assert _stat(index, "ix_instance_series_pk")[0] == 200
        with index.engine.begin() as connection:
            connection.execute(sa.insert(schema.instance), rows[240:])  # 100 % more
        index.refresh_statistics()
        assert _stat(index, "ix_instance_series_pk")[0] == 400


# -- the revision --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_revision_0002_upgrades_and_downgrades_an_index_with_rows(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        url = sqlite_url(tmp_path / "index.sqlite")
    else:
        import pg_server

        reason = pg_server.skip_reason()
        if reason is not None:
            pytest.skip(reason)
        url = pg_server.shared().create_database("revision")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            schema.upgrade(connection, "0001")
            connection.execute(sa.insert(schema.patient), DATA["patient"][:10])
        with engine.begin() as connection:
            schema.upgrade(connection)
        with engine.connect() as connection:
            assert schema.current_revision(connection) == schema.HEAD == "0002"
            assert compare_metadata(MigrationContext.configure(connection), schema.metadata) == []
            if backend == "postgresql":
                definition = connection.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_patient_area_patient_name'"
                ).scalar_one()
                assert "patient_name text_pattern_ops" in definition
        with engine.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "0001")
        with engine.begin() as connection:
            assert schema.current_revision(connection) == "0001"
            schema.upgrade(connection)
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar_one()
            assert count == 10
    finally:
        engine.dispose()
