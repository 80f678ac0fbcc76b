"""The archive's C-FIND at size: a 1,000,000-instance index against a 1,000-instance one.

Run: `make bench-index` or
`.venv/bin/python -m bench.index [--instances N] [--repeat R] [--pg-url URL | --no-pg] [--rebuild]`.

The index is generated, never stored through the network: patients (names from a list of
common surnames and given names, birth dates, sexes), studies (one primary modality each,
15 a day from 2015-01-01 on, 5 % of them priors with an earlier date, accession numbers,
descriptions, referring physicians), 1-3 series a study and 1-44 instances a series
depending on the modality (CR two images, CT dozens: 20 instances a study on average, so
1,000,000 instances are about 50,000 studies).  Study k is the same whatever N: the small
index is the first studies of the big one, and a day holds as many studies in both.  Rows
go in with bulk inserts through the archive's own schema (its migrations create the tables,
so every index the schema has is there); file paths are fake (C-FIND reads no file).

SQLite: built once per N (and schema revision) into a cache directory and reused
(``--rebuild`` builds again).  PostgreSQL: with ``--pg-url`` (a server and a database the
bench may create ``dicomwire_bench_<N>`` databases from: those are reused when complete),
else a temporary server like the test suite's (``tests/pg_server.py``) when PostgreSQL is
installed, loaded with COPY; ``--no-pg`` skips it.

Each index is served by an in-process :class:`~dicomwire.archive.service.Archive` on an
ephemeral port (its start-up reconciliation skipped: the files do not exist) and queried
with ``dicomwire.find`` (Study Root), one association, every query ``--repeat`` times after
one warm-up run: the time to the first Pending response and to the final response, medians.
The table shows both for N and for 1,000 instances, and their ratio.  Targets: the first
match under 100 ms, and no query more than 10x slower than on 1,000 instances (a query
whose matches grow with N, marked ``*``, is slower in full by nature; its first match is
the figure that must stay flat).  Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids
from dicomwire.archive import schema
from dicomwire.archive.config import Access, ArchiveConfig, StorageArea
from dicomwire.archive.index import create_engine, sqlite_url
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.service import Archive

REPO: Final = Path(__file__).resolve().parent.parent
AREA: Final = "ARCHIVE"
SMALL: Final = 1_000
GENERATOR: Final = 1  # bump when the generated data change: cached indexes are rebuilt
UID_ROOT: Final = "2.25.1090861138401"  # a made-up UUID-derived root (2.25: no registration)
EPOCH: Final = dt.date(2015, 1, 1)
STUDIES_A_DAY: Final = 15
BATCH: Final = 20_000  # rows a bulk insert
STORED_AT: Final = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)

_SURNAMES_TEXT: Final = """
SMITH JOHNSON WILLIAMS BROWN JONES GARCIA MILLER DAVIS RODRIGUEZ MARTINEZ HERNANDEZ LOPEZ GONZALEZ
WILSON ANDERSON THOMAS TAYLOR MOORE JACKSON MARTIN LEE PEREZ THOMPSON WHITE HARRIS SANCHEZ CLARK
RAMIREZ LEWIS ROBINSON WALKER YOUNG ALLEN KING WRIGHT SCOTT TORRES NGUYEN HILL FLORES GREEN ADAMS
NELSON BAKER HALL RIVERA CAMPBELL MITCHELL CARTER ROBERTS MUELLER SCHMIDT SCHNEIDER FISCHER WEBER
MEYER WAGNER BECKER SCHULZ HOFFMANN KOCH RICHTER KLEIN WOLF SCHROEDER NEUMANN SCHWARZ ZIMMERMANN
BRAUN KRUEGER HOFMANN HARTMANN LANGE SCHMITT WERNER KRAUSE MEIER LEHMANN ROSSI RUSSO FERRARI
ESPOSITO BIANCHI ROMANO COLOMBO RICCI MARINO GRECO BRUNO GALLO CONTI DELUCA MANCINI COSTA GIORDANO
RIZZO LOMBARDI MORETTI MARTIN BERNARD DUBOIS THOMAS ROBERT RICHARD PETIT DURAND LEROY MOREAU SIMON
LAURENT LEFEBVRE MICHEL GARNIER FAURE ROUSSEL DOE WANG LI ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU
SUN MA ZHU HU GUO HE LIN KIM PARK CHOI JUNG KANG CHO YOON JANG LIM HAN SATO SUZUKI TAKAHASHI TANAKA
WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI KATO NOVAK SVOBODA DVORAK NOWAK KOWALSKI WISNIEWSKI WOJCIK
KOWALCZYK KAMINSKI JANSEN DEJONG DEVRIES VANDENBERG BAKKER VISSER SMIT MEYERS MULDER BOS VOS PETERS
HENDRIKS OBRIEN MURPHY KELLY SULLIVAN WALSH BYRNE RYAN OCONNOR OREILLY DOYLE MCCARTHY GALLAGHER
SILVA SANTOS FERREIRA PEREIRA OLIVEIRA COSTA RODRIGUES ALMEIDA NASCIMENTO LIMA ARAUJO FERNANDES
CARVALHO GOMES MARTINS ROCHA RIBEIRO ALVES MONTEIRO MENDES BARROS FREITAS
"""
SURNAMES: Final = tuple(_SURNAMES_TEXT.split())
_MALE_TEXT: Final = """
JAMES JOHN ROBERT MICHAEL WILLIAM DAVID RICHARD JOSEPH THOMAS CHARLES CHRISTOPHER DANIEL MATTHEW
ANTHONY MARK DONALD STEVEN PAUL ANDREW JOSHUA KENNETH KEVIN BRIAN GEORGE TIMOTHY RONALD EDWARD JASON
JEFFREY RYAN JACOB GARY NICHOLAS ERIC JONATHAN STEPHEN LARRY JUSTIN SCOTT BRANDON BENJAMIN SAMUEL
GREGORY ALEXANDER FRANK PATRICK RAYMOND JACK DENNIS JERRY TYLER AARON JOSE ADAM NATHAN HENRY DOUGLAS
ZACHARY PETER KYLE NOAH ETHAN JEREMY WALTER HANS KLAUS JUERGEN STEFAN WOLFGANG MARCO LUCA GIUSEPPE
PIERRE JEAN LUC WEI JUN HIROSHI TAKESHI
"""
MALE: Final = tuple(_MALE_TEXT.split())
_FEMALE_TEXT: Final = """
MARY PATRICIA JENNIFER LINDA ELIZABETH BARBARA SUSAN JESSICA SARAH KAREN LISA NANCY BETTY MARGARET
SANDRA ASHLEY KIMBERLY EMILY DONNA MICHELLE CAROL AMANDA DOROTHY MELISSA DEBORAH STEPHANIE REBECCA
SHARON LAURA CYNTHIA KATHLEEN AMY ANGELA SHIRLEY ANNA BRENDA PAMELA EMMA NICOLE HELEN SAMANTHA
KATHERINE CHRISTINE DEBRA RACHEL CAROLYN JANET CATHERINE MARIA HEATHER DIANE RUTH JULIE OLIVIA JOYCE
VIRGINIA VICTORIA KELLY LAUREN CHRISTINA JOAN EVELYN JUDITH JANE URSULA MONIKA PETRA SABINE GIULIA
FRANCESCA MARIE SOPHIE CLAIRE MEI YUKI HANA SOFIA
"""
FEMALE: Final = tuple(_FEMALE_TEXT.split())
PHYSICIANS: Final = tuple(f"{s}^{g}" for s, g in zip(SURNAMES[::7], (MALE + FEMALE)[::5], strict=False))


@dataclass(frozen=True)
class Kind:
    """A study's primary modality: how often, its series and their sizes."""

    modality: str
    weight: float
    series: tuple[int, int]  # series a study, inclusive
    images: tuple[int, int]  # instances a series, inclusive
    sop_class: str
    descriptions: tuple[str, ...]
    companion: str | None = None  # PET/CT: the second series' modality


KINDS: Final = (
    Kind("CR", 0.22, (1, 2), (1, 2), uids.COMPUTED_RADIOGRAPHY_IMAGE_STORAGE, ("CHEST PA", "HAND", "KNEE")),
    Kind("DX", 0.14, (1, 2), (1, 3), uids.DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION, ("CHEST", "SPINE")),
    Kind("CT", 0.18, (1, 3), (8, 44), uids.CT_IMAGE_STORAGE, ("CT HEAD W/O", "CT CHEST", "CT ABDOMEN")),
    Kind("MR", 0.12, (2, 3), (5, 25), uids.MR_IMAGE_STORAGE, ("MR BRAIN", "MR KNEE", "MR LUMBAR SPINE")),
    Kind("US", 0.14, (1, 1), (4, 30), uids.ULTRASOUND_IMAGE_STORAGE, ("US ABDOMEN", "US OB")),
    Kind("MG", 0.10, (1, 1), (4, 4), "1.2.840.10008.5.1.4.1.1.1.2", ("MAMMO SCREENING",)),
    Kind("XA", 0.03, (1, 2), (5, 30), uids.X_RAY_ANGIOGRAPHIC_IMAGE_STORAGE, ("CORONARY ANGIO",)),
    Kind("NM", 0.04, (1, 2), (1, 4), uids.NUCLEAR_MEDICINE_IMAGE_STORAGE, ("BONE SCAN", "THYROID")),
    Kind("PT", 0.03, (2, 2), (10, 40), uids.PET_IMAGE_STORAGE, ("PET/CT WHOLE BODY",), companion="CT"),
)
_WEIGHTS: Final = tuple(k.weight for k in KINDS)
_CLASSES: Final = {k.modality: k.sop_class for k in KINDS}


# -- the generated archive ------------------------------------------------------------------------


@dataclass
class Rows:
    """The rows of every table, as dictionaries of column values."""

    patient: list[dict[str, Any]] = field(default_factory=list)
    study: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    instance: list[dict[str, Any]] = field(default_factory=list)


def study_uid(k: int) -> str:
    return f"{UID_ROOT}.{k + 1}"


def accession(k: int) -> str:
    return f"A{k + 1:08d}"


def study_day(k: int) -> dt.date:
    return EPOCH + dt.timedelta(days=k // STUDIES_A_DAY)


class Generator:
    """Studies one after the other (study k depends on k and the studies before it only)."""

    def __init__(self) -> None:
        self.patients: list[int] = []  # patient ids, in order of their first study
        self.next_series = 1
        self.next_instance = 1

    def study(self, k: int, rows: Rows, budget: int) -> int:
        """Study k's rows into ``rows``, at most ``budget`` instances; returns how many."""
        rng = random.Random(k * 7919 + GENERATOR)
        patient_pk = self._patient(k, rng, rows)
        kind = rng.choices(KINDS, _WEIGHTS)[0]
        day = study_day(k)
        if rng.random() < 0.05:  # a prior, imported late
            day -= dt.timedelta(days=rng.randrange(30, 3000))
        hour, minute, second = rng.randrange(7, 20), rng.randrange(60), rng.randrange(60)
        date, time_ = day.strftime("%Y%m%d"), f"{hour:02}{minute:02}{second:02}"
        study_pk = k + 1
        modalities: set[str] = set()
        stored = 0
        for number in range(1, rng.randint(*kind.series) + 1):
            modality = kind.companion if kind.companion and number == 2 else kind.modality
            images = min(rng.randint(*kind.images), budget - stored)
            if images <= 0:
                break
            modalities.add(modality)
            series_pk = self.next_series
            self.next_series += 1
            series_uid = f"{study_uid(k)}.{number}"
            rows.series.append(
                {
                    "id": series_pk,
                    "area": AREA,
                    "study_pk": study_pk,
                    "modality": modality,
                    "series_number": str(number),
                    "series_instance_uid": series_uid,
                    "series_date": date,
                    "series_date_key": date,
                    "series_time": time_,
                    "series_time_key": f"{time_}.000000",
                    "series_description": f"{modality} SERIES {number}",
                    "body_part_examined": "",
                    "stored_at": STORED_AT,
                }
            )
            for image in range(1, images + 1):
                self._instance(rows, series_pk, f"{series_uid}.{image}", image, modality, date)
            stored += images
        rows.study.append(
            {
                "id": study_pk,
                "area": AREA,
                "patient_pk": patient_pk,
                "study_date": date,
                "study_date_key": date,
                "study_time": time_,
                "study_time_key": f"{time_}.000000",
                "accession_number": accession(k),
                "study_id": str(k % 100_000),
                "study_instance_uid": study_uid(k),
                "referring_physician_name": rng.choice(PHYSICIANS),
                "study_description": rng.choice(kind.descriptions),
                "modalities_in_study": "\\".join(sorted(modalities)),
                "stored_at": STORED_AT,
            }
        )
        return stored

    def _patient(self, k: int, rng: random.Random, rows: Rows) -> int:
        if self.patients and rng.random() < 0.3:
            return self.patients[rng.randrange(len(self.patients))]
        pk = len(self.patients) + 1
        self.patients.append(pk)
        sex = rng.choice("MF")
        given = rng.choice(MALE if sex == "M" else FEMALE)
        middle = rng.choice("ABCDEFGHJKLMNPRSTW")
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(33_000))
        rows.patient.append(
            {
                "id": pk,
                "area": AREA,
                "patient_name": f"{rng.choice(SURNAMES)}^{given}^{middle}",
                "patient_id": f"{10_000_000 + pk * 37 + k % 37}",
                "issuer_of_patient_id": "HOSPITAL",
                "patient_birth_date": birth.strftime("%Y%m%d"),
                "patient_birth_date_key": birth.strftime("%Y%m%d"),
                "patient_sex": sex,
                "stored_at": STORED_AT,
            }
        )
        return pk

    def _instance(self, rows: Rows, series_pk: int, uid: str, number: int, modality: str, date: str) -> None:
        pk = self.next_instance
        self.next_instance += 1
        sop_class = _CLASSES.get(modality, uids.CT_IMAGE_STORAGE)
        path = f"{modality}_{pk:016X}.dcm"
        rows.instance.append(
            {
                "id": pk,
                "area": AREA,
                "series_pk": series_pk,
                "instance_number": str(number),
                "sop_instance_uid": uid,
                "sop_class_uid": sop_class,
                "stored_at": STORED_AT,
                "path": path,
                "size": 524_288 + number * 16,
                "transfer_syntax": uids.EXPLICIT_VR_LITTLE_ENDIAN,
                "attributes": _attributes(sop_class, uid, number, modality, date, path),
            }
        )


def _attributes(sop_class: str, uid: str, number: int, modality: str, date: str, path: str) -> str:
    """A small instance's DICOM JSON, as the index keeps it (pixel data by reference)."""
    return json.dumps(
        {
            "00080016": {"vr": "UI", "Value": [sop_class]},
            "00080018": {"vr": "UI", "Value": [uid]},
            "00080023": {"vr": "DA", "Value": [date]},
            "00080060": {"vr": "CS", "Value": [modality]},
            "00200013": {"vr": "IS", "Value": [number]},
            "00280010": {"vr": "US", "Value": [512]},
            "00280011": {"vr": "US", "Value": [512]},
            "7FE00010": {"vr": "OW", "BulkDataURI": f"{path}#7FE00010"},
        },
        separators=(",", ":"),
    )


def generate(instances: int, flush: Callable[[Rows], None]) -> tuple[int, int, int, int]:
    """Generate an index of ``instances`` instances, handing rows to ``flush`` in batches;
    returns the (patients, studies, series, instances) counts."""
    generator = Generator()
    rows = Rows()
    done = k = 0
    while done < instances:
        done += generator.study(k, rows, instances - done)
        k += 1
        if len(rows.instance) >= BATCH:
            flush(rows)
            rows = Rows()
    flush(rows)
    return len(generator.patients), k, generator.next_series - 1, done


# -- loading ---------------------------------------------------------------------------------------


def _tables() -> list[sa.Table]:
    return [schema.patient, schema.study, schema.series, schema.instance]


def _defaults(table: sa.Table) -> dict[str, Any]:
    """What a column holds when the generator leaves it out: "" for text keys, else NULL."""
    return {c.name: ("" if c.server_default is not None else None) for c in table.columns}


def _tuples(
    table: sa.Table, rows: Sequence[dict[str, Any]], convert: Callable[[Any], Any]
) -> list[tuple[Any, ...]]:
    defaults = _defaults(table)
    names = list(defaults)
    return [tuple(convert(row.get(name, defaults[name])) for name in names) for row in rows]


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime storage format (it reads these back)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, dt.datetime) else value


def build_sqlite(path: Path, instances: int) -> tuple[int, int, int, int]:
    """A new SQLite index at ``path``: the schema by its migrations, then bulk inserts."""
    engine = create_engine(sqlite_url(path))
    with engine.begin() as connection:
        schema.upgrade(connection)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=OFF",
        "synchronous=OFF",
        "cache_size=-1000000",
        "temp_store=MEMORY",
        "locking_mode=EXCLUSIVE",
    ):
        db.execute(f"PRAGMA {pragma}")
    db.execute("BEGIN")
    statements = {
        table.name: f"INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) "
        f"VALUES ({', '.join('?' for _ in table.columns)})"
        for table in _tables()
    }

    def flush(rows: Rows) -> None:
        for table in _tables():
            batch = getattr(rows, table.name)
            if batch:
                db.executemany(statements[table.name], _tuples(table, batch, _sqlite_value))

    counts = generate(instances, flush)
    db.execute("COMMIT")
    db.execute("ANALYZE")  # as the archive's first open would (Index.refresh_statistics)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return counts


def _copy_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def build_postgresql(url: str, instances: int) -> tuple[int, int, int, int]:
    """The schema by its migrations, then COPY (psycopg's binary-free text COPY)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        schema.upgrade(connection)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()

        def flush(rows: Rows) -> None:
            for table in _tables():
                batch = getattr(rows, table.name)
                if not batch:
                    continue
                columns = ", ".join(c.name for c in table.columns)
                with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                    for row in _tuples(table, batch, _copy_value):
                        copy.write_row(row)

        counts = generate(instances, flush)
        for table in _tables():  # the ids were given: move the sequences past them
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return counts


# -- where the indexes live ----------------------------------------------------------------------


def cache_dir(given: str | None) -> Path:
    path = Path(given) if given else Path(tempfile.gettempdir()) / "dicomwire-bench-index"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqlite_index(instances: int, cache: Path, rebuild: bool) -> tuple[str, float | None]:
    """The URL of the cached SQLite index of ``instances`` instances (built when missing) and
    how long the build took (None: reused)."""
    path = cache / f"index-{instances}-s{schema.HEAD}-g{GENERATOR}.sqlite"
    if path.exists() and not rebuild:
        return sqlite_url(path), None
    building = path.with_suffix(".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    counts = build_sqlite(building, instances)
    seconds = time.perf_counter() - started
    building.rename(path)
    print(f"  built {_counts(counts)} in {seconds:.1f} s: {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    return sqlite_url(path), seconds


def _counts(counts: tuple[int, int, int, int]) -> str:
    patients, studies, series, instances = counts
    return f"{instances:,} instances ({studies:,} studies, {series:,} series, {patients:,} patients)"


@contextlib.contextmanager
def postgresql_server(url: str | None) -> Iterator[str | None]:
    """The server URL to create the bench databases on: ``url``, else a temporary server
    (None when none can be started: the reason is printed)."""
    if url is not None:
        yield url
        return
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import pg_server
    except ImportError as exc:
        print(f"PostgreSQL: skipped (no tests/pg_server.py: {exc}); give --pg-url")
        yield None
        return
    reason = pg_server.skip_reason()
    if reason is not None:
        print(f"PostgreSQL: skipped ({reason})")
        yield None
        return
    with pg_server.PostgresServer() as server:
        yield server.url()


def postgresql_index(server_url: str, instances: int) -> tuple[str, float | None]:
    """The URL of database ``dicomwire_bench_<N>`` on the server, loaded unless it already is."""
    name = f"dicomwire_bench_{instances}"
    server = sa.make_url(server_url)
    url = server.set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists is not None and _complete(url, instances):
            admin.dispose()
            return url, None
        if exists is not None:
            connection.exec_driver_sql(f'DROP DATABASE "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    started = time.perf_counter()
    counts = build_postgresql(url, instances)
    seconds = time.perf_counter() - started
    print(f"  built {_counts(counts)} in {seconds:.1f} s: {name}")
    return url, seconds


def _complete(url: str, instances: int) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if schema.current_revision(connection) != schema.HEAD:
                return False
            count = connection.execute(sa.select(sa.func.count()).select_from(schema.instance)).scalar()
            return count == instances
    except sa.exc.DBAPIError:
        return False
    finally:
        engine.dispose()


# -- the queries --------------------------------------------------------------------------------------

STUDY_KEYS: Final = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)


@dataclass(frozen=True)
class Query:
    name: str
    level: str
    match: dict[str, str]
    returned: tuple[str, ...] = ()
    grows: bool = False  # its matches grow with the index

    def dataset(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level
        for keyword in self.returned:
            setattr(ds, keyword, "")
        for keyword, value in self.match.items():
            setattr(ds, keyword, value)
        return ds


def queries() -> list[Query]:
    """The queries, their values taken from studies both indexes hold."""
    rows = Rows()
    generator = Generator()
    for k in range(40):
        generator.study(k, rows, 10_000)
    patient_of = {p["id"]: p for p in rows.patient}
    named = patient_of[rows.study[7]["patient_pk"]]["patient_name"]
    surname, given, _middle = named.split("^")
    biggest = max(rows.series[:40], key=lambda s: sum(1 for i in rows.instance if i["series_pk"] == s["id"]))
    with_series = next(s for s in rows.study if sum(1 for x in rows.series if x["study_pk"] == s["id"]) >= 2)
    day = study_day(20).strftime("%Y%m%d")
    next_day = study_day(20 + STUDIES_A_DAY).strftime("%Y%m%d")
    study_of_biggest = next(s for s in rows.study if s["id"] == biggest["study_pk"])
    keys = (*STUDY_KEYS, "StudyInstanceUID")
    return [
        Query("STUDY PatientName=SURNAME^GIVEN*", "STUDY", {"PatientName": f"{surname}^{given}*"}, keys),
        Query("STUDY PatientName=SURNAME*", "STUDY", {"PatientName": f"{surname}*"}, keys, grows=True),
        Query("STUDY StudyDate=one day", "STUDY", {"StudyDate": f"{day}-{day}"}, keys),
        Query("STUDY StudyDate=two days", "STUDY", {"StudyDate": f"{day}-{next_day}"}, keys),
        Query("STUDY AccessionNumber", "STUDY", {"AccessionNumber": accession(11)}, keys),
        Query(
            "STUDY StudyDate+ModalitiesInStudy=CT",
            "STUDY",
            {"StudyDate": f"{day}-{next_day}", "ModalitiesInStudy": "CT"},
            keys,
        ),
        Query(
            "SERIES in a study",
            "SERIES",
            {"StudyInstanceUID": with_series["study_instance_uid"], "SeriesInstanceUID": ""},
            ("Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances"),
        ),
        Query(
            f"IMAGE in a series ({sum(1 for i in rows.instance if i['series_pk'] == biggest['id'])})",
            "IMAGE",
            {
                "StudyInstanceUID": study_of_biggest["study_instance_uid"],
                "SeriesInstanceUID": biggest["series_instance_uid"],
                "SOPInstanceUID": "",
            },
            ("InstanceNumber", "SOPClassUID"),
        ),
        Query(
            "IMAGE in a study",
            "IMAGE",
            {
                "StudyInstanceUID": study_of_biggest["study_instance_uid"],
                "SeriesInstanceUID": "",
                "SOPInstanceUID": "",
            },
            ("InstanceNumber", "SOPClassUID"),
        ),
    ]


@dataclass
class Timing:
    first: float | None  # seconds to the first Pending response (None: no match)
    full: float  # seconds to the final response
    matches: int


class _Served(Archive):
    """The archive, without its start-up reconciliation (the bench's files do not exist)."""

    def _reconcile_all(self) -> None:
        return


async def _measure(url: str, storage: Path, todo: list[Query], repeat: int) -> dict[str, Timing]:
    area = StorageArea(AREA, str(storage), Access.READ | Access.WRITE, None, None)
    config = ArchiveConfig(port=None, max_pdu_size=65536, max_associations=16, areas={AREA: area})
    archive = _Served(config, ArchiveOptions(index_url=url, host_lookup=False))
    await archive.start("127.0.0.1", 0)
    contexts = [(uids.STUDY_ROOT_FIND, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
    results: dict[str, Timing] = {}
    try:
        async with dicomwire.associate(
            "127.0.0.1", archive.port, calling_ae="BENCH", called_ae=AREA, contexts=contexts
        ) as assoc:
            for query in todo:
                firsts: list[float] = []
                fulls: list[float] = []
                matches = 0
                for run in range(repeat + 1):
                    matches, first = 0, None
                    started = time.perf_counter()
                    async for response in dicomwire.find(assoc, query.dataset(), model="study", timeout=600):
                        if response.pending:
                            matches += 1
                            first = first if first is not None else time.perf_counter() - started
                    if run == 0:
                        continue  # warm-up
                    fulls.append(time.perf_counter() - started)
                    if first is not None:
                        firsts.append(first)
                results[query.name] = Timing(
                    statistics.median(firsts) if firsts else None, statistics.median(fulls), matches
                )
    finally:
        await archive.close()
    return results


def measure(url: str, todo: list[Query], repeat: int) -> dict[str, Timing]:
    with tempfile.TemporaryDirectory(prefix="dicomwire-bench-index-") as storage:
        return asyncio.run(_measure(url, Path(storage), todo, repeat))


# -- the report ------------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _ratio(big: float | None, small: float | None) -> str:
    return "-" if big is None or small is None or small <= 0 else f"{big / small:.1f}x"


def _per_match(timing: Timing) -> float | None:
    """Seconds a match after the first (the streaming rate)."""
    if timing.first is None or timing.matches < 2:
        return None
    return (timing.full - timing.first) / (timing.matches - 1)


def report(
    backend: str, instances: int, todo: list[Query], big: dict[str, Timing], small: dict[str, Timing]
) -> list[str]:
    """Print the table; returns the targets missed."""
    print(f"\n{backend}: C-FIND over {instances:,} vs {SMALL:,} instances (ms, medians)")
    columns = ("first", "first 1k", "ratio", "full", "full 1k", "ratio", "a match")
    print(f"  {'query':<38} {'matches':>13} " + " ".join(f"{c:>8}" for c in columns))
    missed: list[str] = []
    for query in todo:
        b, s = big[query.name], small[query.name]
        name = query.name + (" *" if query.grows else "")
        cells = (
            _ms(b.first),
            _ms(s.first),
            _ratio(b.first, s.first),
            _ms(b.full),
            _ms(s.full),
            _ratio(b.full, s.full),
            _ms(_per_match(b)),
        )
        print(f"  {name:<38} {f'{b.matches}/{s.matches}':>13} " + " ".join(f"{c:>8}" for c in cells))
        if b.first is None or b.first >= 0.100:
            missed.append(f"{backend} {query.name}: first match {_ms(b.first)} ms (target < 100 ms)")
        for what, x, y in (("first", b.first, s.first), ("full", b.full, s.full)):
            if query.grows and what == "full":
                continue
            if x is not None and y is not None and y > 0 and x / y > 10:
                missed.append(
                    f"{backend} {query.name}: {what} {x / y:.1f}x the 1,000-instance time (target <= 10x)"
                )
    return missed


def run_backend(
    backend: str, index_url: Callable[[int], tuple[str, float | None]], instances: int, repeat: int
) -> list[str]:
    todo = queries()
    print(f"\n{backend}: building or reusing the indexes")
    big_url, _ = index_url(instances)
    small_url, _ = index_url(SMALL)
    big = measure(big_url, todo, repeat)
    small = measure(small_url, todo, repeat)
    return report(backend, instances, todo, big, small)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--instances", type=int, default=1_000_000, help="instances of the big index (1000000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query after a warm-up (5)")
    parser.add_argument("--cache-dir", default=None, help="where built SQLite indexes are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite indexes again")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to create the bench databases on")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cache = cache_dir(args.cache_dir)
    missed = run_backend(
        "SQLite", lambda n: sqlite_index(n, cache, bool(args.rebuild)), args.instances, args.repeat
    )
    if not args.no_pg:
        with postgresql_server(args.pg_url) as server:
            if server is not None:
                missed += run_backend(
                    "PostgreSQL", lambda n: postgresql_index(server, n), args.instances, args.repeat
                )
    print(
        "\ntargets: first match < 100 ms, at most 10x the 1,000-instance time"
        " (*: matches grow with N, full time not compared)"
    )
    print("  all met" if not missed else "\n".join(f"  MISSED {line}" for line in missed))
    print(
        "\nwhere the time goes: the first match is the index (the matching ids from an index,"
        " then one row)\nplus one association round trip; each further match ('a match') is"
        " mostly encoding its identifier\n(pydicom, on the event loop) and decoding it in the"
        " client (same process), not the database."
    )
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
