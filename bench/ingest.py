"""Archive ingest from many senders: our dcmqrscp with 1 and 2 workers vs DCMTK's dcmqrscp.

Run: `make bench-ingest` or
`.venv/bin/python -m bench.ingest [--count N] [--senders N] [--pg-url URL] [--profile]`.

N small instances (bench/store.py's ``make_small``: 256x256 16-bit, ~130 KB), split into
shares sent at once by that many DCMTK ``storescu`` processes (one association each, one
study each), into:

* DCMTK's dcmqrscp (it forks a child per association; index.dat in the storage area);
* ours on SQLite with 1 worker (one process), and with 2 workers;
* ours on PostgreSQL with 1 worker and with 2 workers (``--workers 2``: a supervisor and two
  processes sharing the listening socket), the index on a server of its own started here
  (tests/pg_server.py's, with fsync on: durable, as SQLite's WAL is) or at ``--pg-url``.

Each run gets an empty storage area (and a new database).  Figures: the aggregate rate (all
instances stored, first sender started to last sender done), the archive's CPU (every
process: DCMTK's forked children, our supervisor and workers, reaped or not), its peak RSS
(the processes' resident memory summed, sampled every 20 ms), the database server's CPU
(PostgreSQL's processes, when it runs here), the senders' CPU, and for 2 workers how the
workers split the CPU.  ``--profile`` adds one run of ours with 1 worker on PostgreSQL with
the store steps timed inside it (parse, fsyncs, quota, area lock, index).  Figures are
printed, never asserted.  The target: ours with 2 workers at least 1.5x DCMTK's aggregate
rate on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydicom import dcmread
from pydicom.uid import generate_uid

from bench._peers import DCMTK_ENV, PYTHON, ROOT, adopt_orphans, free_port, have_dcmtk, wait_listening
from bench.archive import PROFILED_DCMQRSCP, stored_files
from bench.store import make_small

BIN = os.path.dirname(PYTHON)
AREA: Final = "ARCHIVE"
TICK: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = os.sysconf("SC_PAGE_SIZE")
TIMEOUT: Final = 900.0  # seconds for one ingest
TARGET: Final = 1.5  # ours with 2 workers vs DCMTK, aggregate rate


# -- processes: CPU and memory of a whole tree ---------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid``, of its reaped descendants and of its children still there
    (running or zombies), recursively."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    own = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK  # utime stime cutime cstime
    return own + sum(tree_cpu(child) for child in _children(pid))


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants."""
    fields = _stat(pid)
    if fields is None:
        return 0
    return int(fields[21]) * PAGE + sum(tree_rss(child) for child in _children(pid))


class PeakRSS:
    """The highest ``tree_rss`` of some trees, sampled in a thread while the block runs."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, sum(tree_rss(pid) for pid in self.pids))
            if self._stop.wait(0.02):
                return

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- archives --------------------------------------------------------------------------------------


def write_config(root: Path, storage: Path, port: int) -> Path:
    """dcmqrscp.cfg as tests/interop/test_interop_dcmqrscp.py writes it: a quota that holds
    every study of the run (no deletions), more associations than senders."""
    config = root / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort  = {port}\nMaxPDUSize      = 16384\nMaxAssociations = 64\n\n"
        "HostTable BEGIN\nHostTable END\n\nVendorTable BEGIN\nVendorTable END\n\n"
        f"AETable BEGIN\n{AREA}         {storage}   RW  (10000, 1024mb)   ANY\nAETable END\n"
    )
    return config


@dataclass(frozen=True)
class Setup:
    label: str
    server: str  # "dcmtk" or "ours"
    index: str = "sqlite"  # ours: "sqlite" or "postgresql"
    workers: int = 1


SETUPS: Final = (
    Setup("DCMTK dcmqrscp (fork per association)", "dcmtk"),
    Setup("ours, SQLite, 1 worker", "ours", "sqlite", 1),
    Setup("ours, SQLite, 2 workers", "ours", "sqlite", 2),
    Setup("ours, PostgreSQL, 1 worker", "ours", "postgresql", 1),
    Setup("ours, PostgreSQL, 2 workers", "ours", "postgresql", 2),
)


@contextmanager
def archive(
    setup: Setup, root: Path, storage: Path, url: str | None, profile: Path | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The archive of ``setup`` listening on a free port: (port, its process)."""
    storage.mkdir(parents=True)
    port = free_port()
    config = write_config(root, storage, port)
    if setup.server == "dcmtk":
        argv, env = ["dcmqrscp", "-c", str(config), str(port)], DCMTK_ENV
    else:
        program = [PYTHON, "-c", PROFILED_DCMQRSCP, str(profile)] if profile else [f"{BIN}/dcmqrscp"]
        argv, env = [*program, "-c", str(config), "--workers", str(setup.workers), str(port)], None
        if url is not None:
            argv[-1:-1] = ["--index-url", url]
    with (root / f"{setup.server}.log").open("ab") as log:
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_listening(port, proc, limit=120)
        if setup.workers > 1:  # the port listens before the workers serve: wait for both
            deadline = time.monotonic() + 120
            while len(_children(proc.pid)) < setup.workers or not _answers(port):
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start")
                time.sleep(0.05)
        yield port, proc
    finally:
        _stop(proc)


def _answers(port: int) -> bool:
    done = subprocess.run(
        ["echoscu", "-aec", AREA, "127.0.0.1", str(port)], capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    while True:  # DCMTK's children, orphaned to us (adopt_orphans)
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


# -- measuring -------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    stored: int
    failed_senders: int
    cpu: float  # the archive's processes
    peak_rss: int
    senders_cpu: float
    db_cpu: float | None = None
    worker_cpu: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.stored / self.seconds


def one_study_per_sender(source: Path, senders: int) -> None:
    """Each share one study and series, as a modality sends them (``make_small`` gives each
    instance a study of its own: the 500 studies DCMTK's dcmqrscp holds at most would be
    full after a quarter of the run, and both archives would spend it deleting)."""
    studies = [(str(generate_uid()), str(generate_uid())) for _ in range(senders)]
    for number, path in enumerate(sorted(source.iterdir())):
        ds = dcmread(path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = studies[number % senders]
        ds.InstanceNumber = number // senders + 1
        ds.save_as(path, enforce_file_format=True)


def shares(source: Path, senders: int, work: Path) -> list[Path]:
    """The files of ``source`` dealt into ``senders`` directories (hard links)."""
    dirs = [work / f"share{n:02d}" for n in range(senders)]
    for directory in dirs:
        directory.mkdir()
    for number, path in enumerate(sorted(source.iterdir())):
        os.link(path, dirs[number % senders] / path.name)
    return dirs


def ingest(
    setup: Setup,
    port: int,
    proc: subprocess.Popen[bytes],
    dirs: list[Path],
    storage: Path,
    db_pid: int | None,
) -> Run:
    workers = _children(proc.pid) if setup.workers > 1 else []
    cpu_before = tree_cpu(proc.pid)
    worker_before = [tree_cpu(pid) for pid in workers]
    db_before = tree_cpu(db_pid) if db_pid else None
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with PeakRSS(proc.pid) as rss:
        started = time.perf_counter()
        senders = [
            subprocess.Popen(
                ["storescu", "-aec", AREA, "+sd", "127.0.0.1", str(port), str(share)],
                env=DCMTK_ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for share in dirs
        ]
        failed = 0
        for sender in senders:
            try:
                failed += sender.wait(max(0.0, started + TIMEOUT - time.perf_counter())) != 0
            except subprocess.TimeoutExpired:
                sender.kill()
                sender.wait()
                failed += 1
        seconds = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    senders_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    return Run(
        seconds=seconds,
        stored=stored_files(storage),
        failed_senders=failed,
        cpu=tree_cpu(proc.pid) - cpu_before,
        peak_rss=rss.peak,
        senders_cpu=senders_cpu,
        db_cpu=None if db_before is None or db_pid is None else tree_cpu(db_pid) - db_before,
        worker_cpu=[tree_cpu(pid) - before for pid, before in zip(workers, worker_before, strict=True)],
    )


# -- PostgreSQL ----------------------------------------------------------------------------------------------


class Database:
    """Where ours keeps its index on PostgreSQL: ``--pg-url``'s server, else one started here."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.server: Any = None

    def __enter__(self) -> Database:
        if self.url is None:
            sys.path.insert(0, str(ROOT / "tests"))
            import pg_server

            reason = pg_server.skip_reason()
            if reason is not None:
                raise RuntimeError(reason)
            self.server = _durable(pg_server.PostgresServer)()
            self.server.__enter__()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.server is not None:
            self.server.__exit__()

    def new(self) -> str:
        """The URL of a new empty database."""
        if self.server is not None:
            return str(self.server.create_database("bench"))
        assert self.url is not None
        return self.url

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (its backends are its children), when it runs here."""
        if self.server is None:
            return None
        return int((Path(self.server.data) / "postmaster.pid").read_text().split()[0])


def _durable(base: Any) -> Any:
    """tests/pg_server.py's server, started with fsync on (the tests run it with fsync off)."""

    class DurablePostgres(base):  # type: ignore[misc]
        def start(self) -> None:
            port = free_port()
            settings = (
                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                "-c max_connections=200 -c shared_buffers=128MB"
            )
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", settings, "start"
            )
            if done.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{self.server_log()}")
            self.port, self.running = port, True

    return DurablePostgres


# -- the runs --------------------------------------------------------------------------------------


def measure(setup: Setup, source: Path, senders: int, work: Path, database: Database | None) -> Run:
    root = work / setup.label.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    root.mkdir()
    storage = root / "storage"
    url = database.new() if database is not None and setup.index == "postgresql" else None
    dirs = shares(source, senders, root)
    db_pid = database.pid if url is not None and database is not None else None
    try:
        with archive(setup, root, storage, url) as (port, proc):
            return ingest(setup, port, proc, dirs, storage, db_pid)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def profile(source: Path, senders: int, work: Path, database: Database) -> tuple[dict[str, list[float]], Run]:
    """Ours, 1 worker, PostgreSQL, with the store steps timed in the server."""
    setup = Setup("profile", "ours", "postgresql", 1)
    root = work / "profile"
    root.mkdir()
    storage = root / "storage"
    out = root / "profile.json"
    dirs = shares(source, senders, root)
    try:
        with archive(setup, root, storage, database.new(), out) as (port, proc):
            run = ingest(setup, port, proc, dirs, storage, database.pid)
        totals: dict[str, list[float]] = json.loads(out.read_text()) if out.exists() else {}
        return totals, run
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- report ----------------------------------------------------------------------------------------

PROFILE_STEPS: Final = (
    ("thread", "store thread, all of it:"),
    ("fsync", "  file fsync + close"),
    ("parse", "  parse (dcmread, no pixels)"),
    ("quota", "  quota checks"),
    ("dirsync", "  directory fsync (after the rename)"),
    ("index", "  index add_instance (claimed):"),
    ("extract", "    values + DICOM JSON"),
    ("sql", "    SQL transaction + commit"),
)


def _per(value: float | None, count: int) -> str:
    return "-" if value is None else f"{value / max(count, 1) * 1e3:.2f}"


def report(runs: dict[Setup, Run | str], count: int, size: int, senders: int) -> None:
    print(f"\ningest: {count} instances of {size / 1e3:.0f} KB, {senders} concurrent DCMTK storescu, "
          f"{os.cpu_count()} cores")  # fmt: skip
    header = (
        f"{'archive':40} {'inst/s':>7} {'x DCMTK':>7} {'wall s':>7} {'CPU ms/inst':>11} "
        f"{'DB CPU ms/inst':>14} {'senders ms/inst':>15} {'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    base = runs.get(SETUPS[0])
    for setup, run in runs.items():
        if isinstance(run, str):
            print(f"{setup.label:40} {run}")
            continue
        ratio = f"{run.rate / base.rate:.2f}" if isinstance(base, Run) else "-"
        note = "" if run.stored == count and not run.failed_senders else (
            f"  ({run.stored} stored, {run.failed_senders} senders failed)"
        )  # fmt: skip
        print(
            f"{setup.label:40} {run.rate:7.0f} {ratio:>7} {run.seconds:7.2f} {_per(run.cpu, run.stored):>11} "
            f"{_per(run.db_cpu, run.stored):>14} {_per(run.senders_cpu, run.stored):>15} "
            f"{run.peak_rss / 2**20:11.0f}{note}"
        )
    for setup, run in runs.items():
        if isinstance(run, Run) and len(run.worker_cpu) > 1:
            total = sum(run.worker_cpu) or 1.0
            split = " / ".join(f"{cpu / total:.0%}" for cpu in run.worker_cpu)
            print(f"  {setup.label}: the workers' CPU split {split}")
    two = runs.get(SETUPS[4])
    if isinstance(two, Run) and isinstance(base, Run):
        factor = two.rate / base.rate
        verdict = "met" if factor >= TARGET else "NOT met"
        print(
            f"\ntarget: ours with 2 workers (PostgreSQL) >= {TARGET}x DCMTK's rate: {verdict} ({factor:.2f}x)"
        )


def report_where(runs: dict[Setup, Run | str]) -> None:
    print("\nwhere the time goes (CPU per instance stored, every process of each kind):")
    for setup, run in runs.items():
        if not isinstance(run, Run) or setup.server != "ours":
            continue
        stored = max(run.stored, 1)
        parts = [f"archive {run.cpu / stored * 1e3:.2f} ms"]
        if run.db_cpu is not None:
            parts.append(f"PostgreSQL {run.db_cpu / stored * 1e3:.2f} ms")
        parts.append(f"senders {run.senders_cpu / stored * 1e3:.2f} ms")
        busy = run.cpu + (run.db_cpu or 0.0) + run.senders_cpu
        cores = os.cpu_count() or 1
        parts.append(f"= {busy / run.seconds:.2f} of {cores} cores busy")
        print(f"  {setup.label:32} " + ", ".join(parts))


def report_profile(totals: dict[str, list[float]], run: Run) -> None:
    stored = max(run.stored, 1)
    print(
        "\nprofile: ours, 1 worker, PostgreSQL, the store steps per instance (wall time in the store threads)"
    )
    per = {label: seconds / stored for label, (seconds, _calls) in totals.items()}
    for label, text in PROFILE_STEPS:
        if label in per:
            print(f"  {text:40} {per[label] * 1e3:6.2f} ms")
    print(f"  {'archive CPU, all threads':40} {run.cpu / stored * 1e3:6.2f} ms")
    if run.db_cpu is not None:
        print(f"  {'PostgreSQL CPU':40} {run.db_cpu / stored * 1e3:6.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="instances in all (default 2000)")
    parser.add_argument("--senders", type=int, default=16, help="concurrent storescu (default 16)")
    parser.add_argument(
        "--pg-url", help="an empty PostgreSQL database to use (default: a server started here)"
    )
    parser.add_argument("--profile", action="store_true", help="time the store steps inside ours")
    parser.add_argument("--only", help="run only the setups whose label contains this text")
    args = parser.parse_args(argv)
    if not have_dcmtk():
        print("DCMTK is not installed (make dcmtk)")
        return 1
    adopt_orphans()
    work = Path(tempfile.mkdtemp(prefix="dicomwire-bench-ingest-"))
    try:
        source = work / "source"
        source.mkdir()
        size = make_small(source, args.count) // max(args.count, 1)
        one_study_per_sender(source, args.senders)
        runs: dict[Setup, Run | str] = {}
        with Database(args.pg_url) as database:
            for setup in SETUPS:
                if args.only and args.only not in setup.label:
                    continue
                print(f"  {setup.label} ...", flush=True)
                try:
                    runs[setup] = measure(setup, source, args.senders, work, database)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    runs[setup] = f"failed: {exc}"
            profiled = profile(source, args.senders, work, database) if args.profile else None
        report(runs, args.count, size, args.senders)
        report_where(runs)
        if profiled is not None:
            report_profile(*profiled)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
