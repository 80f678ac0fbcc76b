"""Archive ingest and C-FIND: our dcmqrscp vs DCMTK's dcmqrscp, same inputs in one run.

Run: `make bench-archive` or
`.venv/bin/python -m bench.archive [--count N] [--sizes 0,10000,100000] [--quick] [--profile]`.

(a) Ingest: N small instances (a few KB; patients, studies of 5 series of 10 images,
dates, modalities, accession numbers) sent by DCMTK's storescu, 1 sender and 8
concurrent senders (a process each with its share of the files), into each archive
when it is empty and when it already holds each of --sizes instances.  Our archive
is pre-loaded through its index (``Index.add_instance`` for the first instance of
every series, its row cloned in batches for the others; empty placeholder files);
DCMTK's through the network, the only way into its flat index.dat, which every
store scans: DCMTK runs only up to --dcmtk-max instances, every step under a timeout.
(b) C-FIND at STUDY, SERIES and IMAGE level on each archive after the 1-sender ingest,
from a dicomwire client in this process: time to the first Pending response and to
the final response, median of --repeat runs; and one whole DCMTK findscu run.
(c) --profile: one more 1-sender ingest into ours at the largest size, with the
server's store steps timed (parse, fsyncs, quota, index).

Both archives read the same dcmqrscp.cfg.  dcmqrscp's quota holds at most 500 studies
per storage area, so a bigger archive has bigger studies (at most 400 pre-loaded).
DCMTK runs with TCP_NODELAY=1 (its best), forking per association (never -s, which
crashes this build after a C-STORE).  Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

import dicomwire
from bench._peers import DCMTK_ENV, PYTHON, free_port, have_dcmtk, timed, wait_listening
from dicomwire import uids
from dicomwire.archive import schema
from dicomwire.archive.index import Index, create_engine, sqlite_url
from dicomwire.archive.service import INDEX_FILE
from dicomwire.archive.store import instance_file_name

BIN = os.path.dirname(PYTHON)
AREA: Final = "ARCHIVE"
SERVERS: Final = ("ours", "dcmtk")
SERIES_PER_STUDY: Final = 5
IMAGES_PER_SERIES: Final = 10  # the ingested instances; pre-loaded series grow past 400 studies
MAX_PRELOAD_STUDIES: Final = 400  # dcmqrscp's quota: 500 studies per area, at most
FAMILY: Final = ("DOE", "SMITH", "GARCIA", "MILLER", "NGUYEN", "JONES", "BROWN", "MUELLER", "ROSSI", "WU")
GIVEN: Final = ("JOHN", "JANE", "ALEX", "MARIA", "PAT", "SAM", "LEE", "KIM")
MODALITIES: Final = {
    "CT": (uids.CT_IMAGE_STORAGE, "CHEST"),
    "MR": (uids.MR_IMAGE_STORAGE, "HEAD"),
    "CR": (uids.COMPUTED_RADIOGRAPHY_IMAGE_STORAGE, "HAND"),
    "US": (uids.ULTRASOUND_IMAGE_STORAGE, "ABDOMEN"),
    "DX": (uids.DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION, "CHEST"),
}
CYCLE: Final = tuple(MODALITIES)
EPOCH: Final = dt.date(2015, 1, 1)
PIXELS: Final = bytes(range(256)) * 8  # 32 x 32, 16 bits
SENDERS: Final = (1, 8)
NOT_RUN: Final = "not run (DCMTK's flat index.dat: see note)"

# -- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """``count`` instances in studies of 5 series of ``per_series`` images; ``group`` prefixes
    patient IDs and accession numbers (the ingested and the pre-loaded sets do not mix)."""

    group: str
    count: int
    per_series: int

    @classmethod
    def preload(cls, size: int) -> Layout:
        per_series = max(IMAGES_PER_SERIES, math.ceil(size / (MAX_PRELOAD_STUDIES * SERIES_PER_STUDY)))
        return cls("P", size, per_series)

    @property
    def studies(self) -> int:
        return math.ceil(self.count / (SERIES_PER_STUDY * self.per_series))


def _study_date(group: str, study: int) -> dt.date:
    return EPOCH + dt.timedelta(days=(study * 97 + (0 if group == "I" else 13)) % 3650)


def series_of(layout: Layout) -> Iterator[tuple[Dataset, int]]:
    """Each series as a data set without SOP Instance UID, Instance Number and pixels,
    and how many instances it holds."""
    left = layout.count
    for study in range(layout.studies):
        patient = study // 2
        date = _study_date(layout.group, study).strftime("%Y%m%d")
        study_uid = generate_uid()
        for series in range(SERIES_PER_STUDY):
            if left <= 0:
                return
            modality = CYCLE[(study + series) % len(CYCLE)]
            sop_class, body_part = MODALITIES[modality]
            ds = Dataset()
            ds.SpecificCharacterSet = "ISO_IR 100"
            ds.SOPClassUID = sop_class
            ds.StudyDate, ds.SeriesDate, ds.ContentDate = date, date, date
            ds.StudyTime, ds.SeriesTime = (
                f"{8 + study % 10:02d}{study % 60:02d}00",
                f"{8 + study % 10:02d}3000",
            )
            ds.AccessionNumber = f"{layout.group}{study:07d}"
            ds.Modality = modality
            ds.ReferringPhysicianName = f"{FAMILY[(study + 3) % len(FAMILY)]}^REF"
            ds.StudyDescription = f"{modality} {body_part} {study % 7}"
            ds.SeriesDescription = f"{body_part} series {series + 1}"
            ds.PatientName = f"{FAMILY[patient % len(FAMILY)]}^{GIVEN[patient // len(FAMILY) % len(GIVEN)]}"
            ds.PatientID = f"{layout.group}{patient:06d}"
            ds.PatientBirthDate = f"{1940 + patient % 60}{1 + patient % 12:02d}{1 + patient % 28:02d}"
            ds.PatientSex = "MF"[patient % 2]
            ds.PatientAge = f"{20 + patient % 60:03d}Y"
            ds.BodyPartExamined = body_part
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
            ds.StudyID, ds.SeriesNumber = str(study + 1), series + 1
            ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", 32, 32
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            images = min(layout.per_series, left)
            left -= images
            yield ds, images


def with_instance(series: Dataset, number: int) -> Dataset:
    """The series' data set as its instance ``number`` (changed in place, returned)."""
    series.SOPInstanceUID = generate_uid()
    series.InstanceNumber = number
    return series


def write_files(layout: Layout, directory: Path) -> int:
    """The layout's instances as files ``000000.dcm``... in ``directory``; their total size."""
    directory.mkdir(parents=True)
    total = written = 0
    for series, images in series_of(layout):
        series.PixelData = PIXELS
        for number in range(1, images + 1):
            ds = with_instance(series, number)
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
            ds.file_meta.MediaStorageSOPClassUID = UID(ds.SOPClassUID)
            ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
            path = directory / f"{written:06d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            total += path.stat().st_size
            written += 1
    return total


def shares(source: Path, senders: int, work: Path) -> list[Path]:
    """``senders`` directories, each with its contiguous share of ``source``'s files (hard links)."""
    files = sorted(source.iterdir())
    dirs: list[Path] = []
    for index in range(senders):
        share = work / f"share-{senders}-{index}"
        share.mkdir()
        for path in files[index * len(files) // senders : (index + 1) * len(files) // senders]:
            os.link(path, share / path.name)
        dirs.append(share)
    return dirs


@dataclass(frozen=True)
class Query:
    name: str
    level: str
    keys: tuple[tuple[str, str], ...]  # keyword, value ("" = return key)

    def dataset(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level
        for keyword, value in self.keys:
            setattr(ds, keyword, value)
        return ds

    def findscu_keys(self) -> list[str]:
        keys = [("QueryRetrieveLevel", self.level), *self.keys]
        return [part for kw, value in keys for part in ("-k", f"{kw}={value}" if value else kw)]


_STUDY_KEYS: Final = (
    "PatientName",
    "PatientID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyID",
    "StudyDescription",
    "ReferringPhysicianName",
    "StudyInstanceUID",
)


def _study_query(name: str, **given: str) -> Query:
    return Query(name, "STUDY", tuple((kw, given.get(kw, "")) for kw in _STUDY_KEYS))


def queries(ingested: Path) -> list[Query]:
    """The queries, aimed at the first ingested study (present in every archive)."""
    ds = dcmread(ingested / "000000.dcm", stop_before_pixels=True)
    start = dt.datetime.strptime(str(ds.StudyDate), "%Y%m%d").date()
    dates = f"{start:%Y%m%d}-{start + dt.timedelta(days=89):%Y%m%d}"
    study, series = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)
    return [
        _study_query("STUDY PatientName=DOE*", PatientName="DOE*"),
        _study_query("STUDY StudyDate range", StudyDate=dates),
        _study_query("STUDY AccessionNumber", AccessionNumber=str(ds.AccessionNumber)),
        Query(
            "SERIES in a study",
            "SERIES",
            (
                ("StudyInstanceUID", study),
                ("SeriesInstanceUID", ""),
                ("Modality", ""),
                ("SeriesNumber", ""),
            ),
        ),
        Query(
            "IMAGE in a series",
            "IMAGE",
            (
                ("StudyInstanceUID", study),
                ("SeriesInstanceUID", series),
                ("SOPInstanceUID", ""),
                ("InstanceNumber", ""),
            ),
        ),
    ]


# -- archives -----------------------------------------------------------------------------------

_RUNNING: list[subprocess.Popen[bytes]] = []


def write_config(root: Path, storage: Path, port: int) -> Path:
    config = root / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{AREA} {storage} RW (500, 1024mb) ANY\nAETable END\n"
    )
    return config


@dataclass
class Archive:
    server: str
    storage: Path
    port: int
    proc: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """CPU of the server process, all threads (ours; DCMTK's children are not counted)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Command = Callable[[Path, int], list[str]]  # (configuration file, port) -> argv


def start(server: str, root: Path, storage: Path, command: Command | None = None) -> Archive:
    """dcmqrscp (``server``) on a free port serving ``storage``; ``command`` replaces ours."""
    port = free_port()
    config = write_config(root, storage, port)
    env = DCMTK_ENV if server == "dcmtk" else None
    if command is None:
        program = "dcmqrscp" if server == "dcmtk" else f"{BIN}/dcmqrscp"
        argv = [program, "-c", str(config), str(port)]
    else:
        argv = command(config, port)
    with (root / f"{server}.log").open("ab") as log:
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    _RUNNING.append(proc)
    wait_listening(port, proc, limit=300)  # ours reconciles the storage area first
    return Archive(server, storage, port, proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server and (DCMTK) its forked children: the process group it leads."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def stored_files(storage: Path) -> int:
    """Instance files in a storage area (neither index nor temporary file)."""
    with os.scandir(storage) as entries:
        return sum(
            1
            for entry in entries
            if entry.is_file()
            and entry.name != "index.dat"
            and not entry.name.startswith((INDEX_FILE, ".dicomwire-"))
        )


def clone(template: Path, target: Path) -> None:
    """A copy of a pre-loaded storage area: the index copied, instance files hard-linked."""

    def copy(source: str, destination: str) -> None:
        name = os.path.basename(source)
        if name == "index.dat" or name.startswith(INDEX_FILE):
            shutil.copy2(source, destination)
        else:
            os.link(source, destination)

    shutil.copytree(template, target, copy_function=copy)


def preload_ours(storage: Path, size: int, file_size: int) -> float:
    """``size`` instances into our index (and empty files), batched; returns the seconds."""
    started = time.perf_counter()
    storage.mkdir(parents=True)
    engine = create_engine(sqlite_url(storage / INDEX_FILE))

    @sa.event.listens_for(engine, "connect")
    def _unsynced(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=OFF")  # pre-loading only; the server reopens it

    index = Index(engine)
    table = schema.instance
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as connection:
            connection.execute(sa.insert(table), pending)
        pending.clear()

    try:
        for series, images in series_of(Layout.preload(size)):
            first = with_instance(series, 1)
            name = instance_file_name(str(first.SOPClassUID), str(first.SOPInstanceUID))
            index.add_instance(
                AREA, first, path=name, size=file_size, transfer_syntax=uids.EXPLICIT_VR_LITTLE_ENDIAN
            )
            (storage / name).touch()
            with engine.connect() as connection:
                where = (table.c.area == AREA) & (table.c.sop_instance_uid == str(first.SOPInstanceUID))
                row = dict(connection.execute(sa.select(table).where(where)).one()._mapping)
            del row["id"]
            for number in range(2, images + 1):
                uid = str(generate_uid())
                name = instance_file_name(str(first.SOPClassUID), uid)
                attributes = {
                    **row["attributes"],
                    "00080018": {"vr": "UI", "Value": [uid]},
                    "00200013": {"vr": "IS", "Value": [number]},
                }
                pending.append(
                    {
                        **row,
                        "sop_instance_uid": uid,
                        "instance_number": str(number),
                        "path": name,
                        "attributes": attributes,
                    }
                )
                (storage / name).touch()
            if len(pending) >= 5000:
                flush()
        if pending:
            flush()
    finally:
        index.close()
    return time.perf_counter() - started


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Ingest:
    seconds: float
    stored: int  # new instance files in the storage area
    acknowledged: int  # C-STORE-RSP Success, as the senders logged them
    complete: bool  # every sender finished within the timeout
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.stored / self.seconds


def ingest(archive: Archive, dirs: list[Path], timeout: float) -> Ingest:
    """Every share sent at once, a DCMTK storescu each (going on after a failed store);
    wall time until the last one ends."""
    before = stored_files(archive.storage)
    cpu_before = archive.cpu_seconds()
    logs = [Path(f"{share}.log") for share in dirs]
    started = time.perf_counter()
    senders = []
    for share, log in zip(dirs, logs, strict=True):
        argv = ["storescu", "-v", "-nh", "-aec", AREA, "+sd", "127.0.0.1", str(archive.port), str(share)]
        with log.open("wb") as out:
            senders.append(subprocess.Popen(argv, env=DCMTK_ENV, stdout=out, stderr=subprocess.STDOUT))
    complete = True
    for sender in senders:
        try:
            sender.wait(max(0.0, started + timeout - time.perf_counter()))
        except subprocess.TimeoutExpired:
            complete = False
            sender.kill()
            sender.wait()
    seconds = time.perf_counter() - started
    cpu = archive.cpu_seconds() - cpu_before if archive.server == "ours" else None
    success = b"Received Store Response (Success)"
    acknowledged = sum(log.read_bytes().count(success) for log in logs)
    for log in logs:
        log.unlink()
    return Ingest(seconds, stored_files(archive.storage) - before, acknowledged, complete, cpu)


@dataclass
class Timing:
    first: float | None  # seconds to the first Pending response (None: no match)
    full: float  # seconds to the final response
    matches: int


async def _find_times(port: int, todo: list[Query], repeat: int) -> dict[str, Timing]:
    contexts = [(uids.STUDY_ROOT_FIND, [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN])]
    results: dict[str, Timing] = {}
    async with dicomwire.associate(
        "127.0.0.1", port, calling_ae="BENCH", called_ae=AREA, contexts=contexts
    ) as assoc:
        for query in todo:
            firsts: list[float] = []
            fulls: list[float] = []
            matches = 0
            for _ in range(repeat):
                identifier = query.dataset()
                matches, first = 0, None
                started = time.perf_counter()
                async for response in dicomwire.find(assoc, identifier, model="study", timeout=300):
                    if response.pending:
                        matches += 1
                        first = first if first is not None else time.perf_counter() - started
                fulls.append(time.perf_counter() - started)
                if first is not None:
                    firsts.append(first)
            median_first = statistics.median(firsts) if firsts else None
            results[query.name] = Timing(median_first, statistics.median(fulls), matches)
    return results


def find_times(port: int, todo: list[Query], repeat: int, timeout: float) -> dict[str, Timing]:
    return asyncio.run(asyncio.wait_for(_find_times(port, todo, repeat), timeout))


def findscu_time(port: int, query: Query, repeat: int) -> float:
    """A whole DCMTK findscu process: start, associate, query, release, exit (median)."""
    argv = ["findscu", "-S", "-aec", AREA, *query.findscu_keys(), "127.0.0.1", str(port)]
    return statistics.median(timed(argv, DCMTK_ENV) for _ in range(repeat))


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Results:
    count: int
    file_bytes: int
    preload: dict[tuple[str, int], tuple[float, int] | str] = field(default_factory=dict)
    ingest: dict[tuple[str, int, int], Ingest | str] = field(default_factory=dict)
    finds: dict[tuple[str, int], dict[str, Timing]] = field(default_factory=dict)
    findscu: dict[tuple[str, int], float] = field(default_factory=dict)
    archive_sizes: dict[tuple[str, int], int] = field(default_factory=dict)  # instances when queried
    profile: tuple[dict[str, list[float]], Ingest] | None = None


@dataclass(frozen=True)
class Plan:
    count: int
    sizes: list[int]
    repeat: int
    dcmtk_max: int
    timeout: float
    servers: list[str]
    profile: bool


def prepare(server: str, size: int, plan: Plan, work: Path, results: Results) -> Path | None:
    """The pre-loaded storage area to clone (None: not reached in time)."""
    template = work / f"template-{server}-{size}"
    if size == 0:
        template.mkdir()
        return template
    if server == "ours":
        seconds = preload_ours(template, size, results.file_bytes // results.count)
        results.preload[(server, size)] = (seconds, size)
        print(f"  pre-loaded ours with {size} instances in {seconds:.1f} s", flush=True)
        return template
    files = work / f"preload-files-{size}"
    write_files(Layout.preload(size), files)
    template.mkdir()
    archive = start(server, work, template)
    try:
        run = ingest(archive, [files], plan.timeout)
    finally:
        stop(archive.proc)
    shutil.rmtree(files)
    results.preload[(server, size)] = (run.seconds, run.stored)
    print(f"  pre-loaded DCMTK with {run.stored} instances in {run.seconds:.1f} s", flush=True)
    if not run.complete:
        results.preload[(server, size)] = f"timed out after {run.seconds:.0f} s ({run.stored} stored)"
        return None
    return template


def measure(server: str, size: int, plan: Plan, work: Path, ingested: Path, results: Results) -> None:
    print(f"{server}: archive of {size} instances", flush=True)
    template = prepare(server, size, plan, work, results)
    if template is None:
        for senders in SENDERS:
            results.ingest[(server, size, senders)] = str(results.preload[(server, size)])
        return
    todo = queries(ingested)
    for senders in SENDERS:
        storage = work / f"run-{server}-{size}-{senders}"
        clone(template, storage)
        dirs = shares(ingested, senders, work)
        archive = start(server, work, storage)
        try:
            run = ingest(archive, dirs, plan.timeout)
            results.ingest[(server, size, senders)] = run
            print(f"  {senders} sender(s): {run.stored} in {run.seconds:.1f} s", flush=True)
            if senders == 1:
                results.archive_sizes[(server, size)] = stored_files(storage)
                results.finds[(server, size)] = find_times(archive.port, todo, plan.repeat, plan.timeout)
                results.findscu[(server, size)] = findscu_time(archive.port, todo[0], plan.repeat)
        finally:
            stop(archive.proc)
            for share in dirs:
                shutil.rmtree(share)
        shutil.rmtree(storage)
    if server == "ours" and plan.profile and size == max(plan.sizes):
        results.profile = profile_ours(template, work, ingested)
    shutil.rmtree(template)


# -- where our store time goes (--profile) ----------------------------------------------------------

PROFILED_DCMQRSCP = r"""
import json, os, sys, threading, time
from dicomwire.archive import index, store
from dicomwire.services import storage_sink

totals = {}
lock = threading.Lock()

def timed(owner, name, label):
    original = getattr(owner, name, None)
    if original is None:
        return
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            with lock:
                seconds, calls = totals.get(label, (0.0, 0))
                totals[label] = (seconds + elapsed, calls + 1)
    setattr(owner, name, wrapper)

for owner, name, label in (
    (store.ArchiveStore, "_complete", "thread"),
    (storage_sink.InstanceSink, "sync_and_release", "fsync"),
    (store, "_parse", "parse"),
    (store.ArchiveStore, "_check_quota", "quota"),
    (store, "_fsync_directory", "dirsync"),
    (index.Index, "add_instance", "index"),
    (index._Entry, "of", "extract"),
    (index.Index, "_writing", "sql"),
):
    timed(owner, name, label)

from dicomwire.cli.dcmqrscp import main
try:
    code = main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as out:
        json.dump(totals, out)
raise SystemExit(code)
"""


def profile_ours(template: Path, work: Path, ingested: Path) -> tuple[dict[str, list[float]], Ingest]:
    storage = work / "run-profile"
    clone(template, storage)
    dirs = shares(ingested, 1, work)
    out = work / "profile.json"

    def command(config: Path, port: int) -> list[str]:
        return [PYTHON, "-c", PROFILED_DCMQRSCP, str(out), "-c", str(config), str(port)]

    archive = start("ours", work, storage, command)
    try:
        run = ingest(archive, dirs, 600)
    finally:
        stop(archive.proc)
        for share in dirs:
            shutil.rmtree(share)
    shutil.rmtree(storage)
    totals: dict[str, list[float]] = json.loads(out.read_text()) if out.exists() else {}
    return totals, run


# -- report ---------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e3:.1f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}"


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(results: Results, plan: Plan) -> None:
    count = results.count
    print(f"\ninputs: {count} instances to ingest, {results.file_bytes / count / 1e3:.1f} KB each")
    print("\npre-loading")
    for (server, size), value in results.preload.items():
        if isinstance(value, str):
            print(f"  {server:6} {size:>7}: {value}")
        else:
            seconds, stored = value
            how = "index rows + empty files, batched" if server == "ours" else "storescu, one association"
            print(f"  {server:6} {size:>7}: {seconds:7.1f} s ({stored / seconds:.0f} inst/s, {how})")
    print(f"\ningest of {count} instances: inst/s (ours/dcmtk >1: ours faster); ours' CPU ms per instance")
    print(f"{'archive':>8} {'senders':>7} {'ours':>8} {'dcmtk':>8} {'ours/dcmtk':>10} {'cpu ms':>7}")
    for size in plan.sizes:
        for senders in SENDERS:
            ours = results.ingest.get(("ours", size, senders))
            theirs = results.ingest.get(("dcmtk", size, senders))
            ours_rate = ours.rate if isinstance(ours, Ingest) else None
            theirs_rate = theirs.rate if isinstance(theirs, Ingest) else None
            shown = f"{theirs_rate:8.0f}" if theirs_rate is not None else f"{'-':>8}"
            cpu = _ms(ours.server_cpu / ours.stored) if isinstance(ours, Ingest) and ours.server_cpu else "-"
            line = (
                f"{size:>8} {senders:>7} {ours_rate or 0:8.0f} {shown} {_ratio(ours_rate, theirs_rate):>10} "
                f"{cpu:>7}"
            )
            if isinstance(theirs, str):
                line += f"  dcmtk: {theirs}"
            for name, run in (("ours", ours), ("dcmtk", theirs)):
                if isinstance(run, Ingest) and (
                    not run.complete or count != run.stored or count != run.acknowledged
                ):
                    line += (
                        f"  {name}: {run.acknowledged} answered Success, {run.stored} files on disk"
                        f"{'' if run.complete else ', timed out'}"
                    )
            print(line)
    print("\nC-FIND, median ms: first = to the first Pending response, full = to the final one")
    print(
        f"{'archive':>8} {'query':26} {'n':>4} {'ours 1st':>9} {'ours full':>9} {'dcmtk 1st':>9} "
        f"{'dcmtk full':>10} {'1st o/d':>7} {'full o/d':>8}"
    )
    for size in plan.sizes:
        ours_finds = results.finds.get(("ours", size), {})
        theirs_finds = results.finds.get(("dcmtk", size), {})
        shown_size = results.archive_sizes.get(("ours", size), size)
        for name, mine in ours_finds.items():
            other = theirs_finds.get(name)
            print(
                f"{shown_size:>8} {name:26} {mine.matches:>4} {_ms(mine.first):>9} {_ms(mine.full):>9} "
                f"{_ms(other.first if other else None):>9} {_ms(other.full if other else None):>10} "
                f"{_ratio(mine.first, other.first if other else None):>7} "
                f"{_ratio(mine.full, other.full if other else None):>8}"
                + ("" if other is None or other.matches == mine.matches else f"  dcmtk n={other.matches}")
            )
        ours_run = results.findscu.get(("ours", size))
        theirs_run = results.findscu.get(("dcmtk", size))
        if ours_run is not None:
            print(
                f"{shown_size:>8} {'whole findscu run (DOE*)':26} {'':>4} {'':>9} {_ms(ours_run):>9} "
                f"{'':>9} {_ms(theirs_run):>10} {'':>7} {_ratio(ours_run, theirs_run):>8}"
            )
        if ("dcmtk", size) not in results.finds and "dcmtk" in plan.servers:
            print(f"{shown_size:>8} dcmtk: {NOT_RUN}")
    targets(results, plan)
    if results.profile is not None:
        totals, run = results.profile
        per = run.seconds / max(run.stored, 1)
        print(
            f"\nwhere our store time goes (--profile: 1 sender into {max(plan.sizes)} instances, "
            f"{run.stored} stored, {per * 1e3:.1f} ms wall per instance), per instance:"
        )
        report_profile(totals, run)
    print(
        "\nnote: DCMTK keeps one flat index.dat per storage area and reads all of it on every store"
        f" and query, so it is pre-loaded (over the network) only up to {plan.dcmtk_max} instances;"
        " bigger DCMTK archives are not run.  dcmqrscp's quota caps an area at 500 studies (both),"
        " so pre-loaded studies grow instead (5 series each).  Ours fsyncs each file, its directory"
        " and the index commit; DCMTK fsyncs nothing.  Senders are storescu -nh (going on after a failed"
        " store); 'answered Success' counts their logged responses, 'files on disk' what was kept."
    )


PROFILE_STEPS: Final = (
    ("thread", "store thread, all of it:"),
    ("fsync", "  file fsync + close"),
    ("parse", "  parse (dcmread, no pixels)"),
    ("quota", "  quota checks (study size x2, count)"),
    ("dirsync", "  directory fsync (after the rename)"),
    ("index", "  index add_instance:"),
    ("extract", "    values + DICOM JSON"),
    ("sql", "    SQL transaction + commit"),
)


def report_profile(totals: dict[str, list[float]], run: Ingest) -> None:
    stored = max(run.stored, 1)
    per = {label: seconds / stored for label, (seconds, _calls) in totals.items()}
    for label, text in PROFILE_STEPS:
        if label in per:
            print(f"  {text:40} {per[label] * 1e3:6.2f} ms")
    if "thread" in per:
        wall = run.seconds / stored
        print(f"  {'outside it (network, PDUs, writes, loop)':40} {(wall - per['thread']) * 1e3:6.2f} ms")
    if run.server_cpu is not None:
        print(f"  {'server CPU, all threads':40} {run.server_cpu / stored * 1e3:6.2f} ms")


def targets(results: Results, plan: Plan) -> None:
    print("\ntargets")
    largest = max(plan.sizes)
    for senders in SENDERS:
        base = results.ingest.get(("dcmtk", 0, senders))
        ours_runs = {s: results.ingest.get(("ours", s, senders)) for s in plan.sizes}
        rates = {s: r.rate for s, r in ours_runs.items() if isinstance(r, Ingest)}
        if isinstance(base, Ingest) and rates:
            slowest = min(rates, key=lambda s: rates[s])
            print(
                f"  ingest >= DCMTK's empty-archive rate ({senders} sender(s)): "
                f"{_verdict(rates[slowest] >= base.rate)}: ours {rates[slowest]:.0f} inst/s at {slowest} "
                f"(slowest size) vs DCMTK {base.rate:.0f} inst/s empty"
            )
        empty, full = ours_runs.get(0), ours_runs.get(largest)
        if isinstance(empty, Ingest) and isinstance(full, Ingest) and largest > 0:
            factor = full.seconds / empty.seconds
            print(
                f"  flat ingest ({senders} sender(s)), at {largest} within 1.5x of empty: "
                f"{_verdict(factor <= 1.5)}: {full.seconds:.2f} s vs {empty.seconds:.2f} s = {factor:.2f}x"
            )
    slower: list[str] = []
    compared = 0
    for (server, size), theirs_finds in results.finds.items():
        if server != "dcmtk":
            continue
        shown = results.archive_sizes.get(("ours", size), size)
        for name, other in theirs_finds.items():
            mine = results.finds.get(("ours", size), {}).get(name)
            if mine is None:
                continue
            compared += 1
            if mine.full > other.full or (mine.first or 0) > (other.first or math.inf):
                slower.append(
                    f"{name} at {shown}: ours {_ms(mine.first)}/{_ms(mine.full)} ms vs DCMTK "
                    f"{_ms(other.first)}/{_ms(other.full)} ms (first/full)"
                )
        ours_run, theirs_run = results.findscu.get(("ours", size)), results.findscu.get((server, size))
        if ours_run is not None and theirs_run is not None:
            compared += 1
            if ours_run > theirs_run:
                slower.append(
                    f"findscu run at {shown}: ours {_ms(ours_run)} ms vs DCMTK {_ms(theirs_run)} ms"
                )
    if compared:
        print(
            f"  every query at least as fast as DCMTK's: {_verdict(not slower)} "
            f"(ours as fast or faster in {compared - len(slower)} of {compared}, first and full response)"
        )
        for line in slower:
            print(f"    slower: {line}")
    biggest = results.finds.get(("ours", largest), {})
    study_firsts = {name: t.first for name, t in biggest.items() if name.startswith("STUDY")}
    if study_firsts:
        worst = max((v for v in study_firsts.values() if v is not None), default=None)
        instances = results.archive_sizes.get(("ours", largest), largest)
        met = worst is not None and worst < 0.050 and all(v is not None for v in study_firsts.values())
        print(
            f"  study-level first match < 50 ms over {instances} instances"
            f"{'' if instances >= 100_000 else ' (target: 100,000)'}: {_verdict(met)}: worst {_ms(worst)} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="instances to ingest (default 1000)")
    parser.add_argument(
        "--sizes", default=None, help="pre-loaded archive sizes (default 0,10000,100000; quick 0,1000)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each query (default 5)")
    parser.add_argument(
        "--dcmtk-max", type=int, default=10_000, help="largest archive DCMTK is pre-loaded to (10000)"
    )
    parser.add_argument("--timeout", type=float, default=900, help="limit of every DCMTK step, s (900)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 100 instances, sizes 0,1000")
    parser.add_argument("--profile", action="store_true", help="time our store's steps once more")
    parser.add_argument("--servers", default="ours,dcmtk", help="comma-separated: ours, dcmtk")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    sizes = args.sizes or ("0,1000" if quick else "0,10000,100000")
    plan = Plan(
        count=args.count or (100 if quick else 1000),
        sizes=sorted({int(s) for s in sizes.split(",")} | {0}),
        repeat=args.repeat or (1 if quick else 5),
        dcmtk_max=args.dcmtk_max,
        timeout=min(args.timeout, 60) if quick else args.timeout,
        servers=[s for s in args.servers.split(",") if s in SERVERS and (s != "dcmtk" or have_dcmtk())],
        profile=bool(args.profile),
    )
    if not have_dcmtk():
        print("DCMTK is not installed (make dcmtk): its storescu sends every instance")
        return 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        ingested = work / "ingest"
        results = Results(plan.count, write_files(Layout("I", plan.count, IMAGES_PER_SERIES), ingested))
        try:
            for server in plan.servers:
                for size in plan.sizes:
                    if server == "dcmtk" and size > plan.dcmtk_max:
                        for senders in SENDERS:
                            results.ingest[(server, size, senders)] = NOT_RUN
                        continue
                    measure(server, size, plan, work, ingested, results)
        finally:
            for proc in list(_RUNNING):
                stop(proc)
        report(results, plan)
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
