"""Start-up: one whole process of each of our SCUs vs DCMTK's, against the same running peer.

Run: `make bench-startup` or `.venv/bin/python -m bench.startup [--runs N] [--quick]`.

Each figure is the wall time of one whole process, from spawn to exit (seen through a
pidfd), the best of N runs (10; --quick: 3), ours and DCMTK's alternating run by run:

  python -c pass                       the interpreter alone (for reference)
  python -c 'import asyncio, socket'   the CPython floor: what any asyncio tool pays
  echoscu                              one C-ECHO        -> DCMTK storescp
  storescu                             one file, 130 KB  -> the same storescp
  findscu                              one STUDY query   -> DCMTK dcmqrscp (forks per association)
  movescu                              one instance, C-MOVE to the SCU's own port (+P), --ignore
  getscu                               one instance, C-GET, --ignore

Ours are the venv's console scripts run by the venv's python (.venv/bin/echoscu ...);
DCMTK's are /usr/bin's, with TCP_NODELAY=1.  Both talk to one peer per row, so the peer's
share of the time is the same.  Then ``python -X importtime`` of our echoscu and storescu
(the same commands): the 10 imports with the most cumulative time, and whether the modules
a plain echo should not need are loaded.  Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydicom import dcmread

from bench._peers import (
    DCMTK_ENV,
    PYTHON,
    adopt_orphans,
    free_port,
    have_dcmtk,
    server,
    stop_forking,
    wait_for,
    wait_listening,
)
from bench.store import make_small

BIN: Final = os.path.dirname(PYTHON)
AREA: Final = "ARCHIVE"
MOVE_DEST: Final = "MOVESCU"  # both movescus call themselves this by default
FLOOR: Final = "python -c 'import asyncio, socket'"
TARGET_SLACK: Final = 0.015  # where the floor alone exceeds DCMTK: within 15 ms of the floor
# Modules a plain echo (or one store) should not need (issue 10).
WATCHED: Final = ("pydicom", "numpy", "importlib.metadata", "dataclasses", "sqlalchemy", "ssl", "logging")


def ours(tool: str, *args: str) -> list[str]:
    return [PYTHON, f"{BIN}/{tool}", *args]


@dataclass
class Row:
    name: str
    ours: list[str] | None  # None: a reference row, one command only
    dcmtk: list[str]


@dataclass
class Timing:
    best: float = float("inf")
    failures: int = 0
    last_code: int = 0
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("inf")


# Python runs with its compiled modules cached, as in an installed tool (pip compiles them at
# install time): without this, PYTHONDONTWRITEBYTECODE=1 (set in some environments, this one among
# them) makes every run compile the whole package again.
PYTHON_ENV: Final = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": os.path.join(tempfile.gettempdir(), "dicomwire-bench-pycache"),
}


def run_once(argv: list[str], env: dict[str, str] | None, timeout: float = 60) -> tuple[float, int]:
    if env is None and argv[0] == PYTHON:
        env = PYTHON_ENV
    """Seconds from spawn to exit, and the exit code; the process dies with any error here."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = wait_for(proc, timeout)
        elapsed = time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return elapsed, -1 if code is None else code


# -- peers ------------------------------------------------------------------------------------------


def write_dcmqrscp_config(root: Path, storage: Path, port: int, move_port: int) -> Path:
    config = root / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{MOVE_DEST} = ({MOVE_DEST}, 127.0.0.1, {move_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{AREA} {storage} RW (10, 64mb) ANY\nAETable END\n"
    )
    return config


@contextlib.contextmanager
def dcmqrscp(root: Path, instance: Path, move_port: int) -> Iterator[int]:
    """DCMTK's dcmqrscp holding ``instance``, on a free port (its process group ended after)."""
    storage = root / "storage"
    storage.mkdir(parents=True)
    port = free_port()
    config = write_dcmqrscp_config(root, storage, port, move_port)
    with (root / "dcmqrscp.log").open("ab") as log:
        proc = subprocess.Popen(
            ["dcmqrscp", "-c", str(config), str(port)],
            cwd=root,
            env=DCMTK_ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_listening(port, proc)
        argv = ["storescu", "-aec", AREA, "127.0.0.1", str(port), str(instance)]
        subprocess.run(argv, env=DCMTK_ENV, check=True, capture_output=True, timeout=60)
        yield port
    finally:
        stop_forking(proc)


# -- imports ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    module: str
    self_us: int
    cumulative_us: int


def import_times(argv: list[str], runs: int = 3) -> tuple[list[Import], int]:
    """``python -X importtime`` of ``argv`` (our script and its arguments): every import and the
    exit code, of the run (of ``runs``) with the least import time in all."""
    best: tuple[list[Import], int] | None = None
    for _ in range(runs):
        found, code = _import_time_run(argv)
        if best is None or sum(i.self_us for i in found) < sum(i.self_us for i in best[0]):
            best = (found, code)
    assert best is not None
    return best


def _import_time_run(argv: list[str]) -> tuple[list[Import], int]:
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *argv[1:]], capture_output=True, timeout=60, env=PYTHON_ENV
    )
    found: list[Import] = []
    for line in proc.stderr.decode(errors="replace").splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        found.append(Import(parts[2].strip(), int(parts[0]), int(parts[1])))
    return found, proc.returncode


def report_imports(name: str, imports: list[Import], code: int, best: float | None) -> None:
    total = sum(item.self_us for item in imports) / 1e3
    seen = f"; best whole run {best * 1e3:.0f} ms" if best is not None else ""
    print(
        f"\n{name}: {len(imports)} modules imported, {total:.0f} ms of import time (sum of self, "
        f"under -X importtime, least of 3 runs){seen}{'' if code == 0 else f'; exit {code}'}"
    )
    print(f"  {'cumul ms':>8} {'self ms':>7}  module")
    for item in sorted(imports, key=lambda i: i.cumulative_us, reverse=True)[:10]:
        print(f"  {item.cumulative_us / 1e3:8.1f} {item.self_us / 1e3:7.1f}  {item.module}")
    by_self = sorted(imports, key=lambda i: i.self_us, reverse=True)[:10]
    print("  most self time: " + ", ".join(f"{i.module} {i.self_us / 1e3:.1f}" for i in by_self))
    by_name = {item.module: item for item in imports}
    loaded = []
    for module in WATCHED:
        found = by_name.get(module)
        loaded.append(f"{module} {found.cumulative_us / 1e3:.1f} ms" if found else f"{module} no")
    print(f"  loaded? {', '.join(loaded)}")
    ours_only = [i for i in imports if i.module.split(".")[0] == "dicomwire"]
    print(
        f"  dicomwire's own modules: {len(ours_only)}, "
        f"{sum(i.self_us for i in ours_only) / 1e3:.1f} ms self time"
    )


# -- the run ----------------------------------------------------------------------------------------


def rows(store_port: int, qr_port: int, move_port: int, instance: Path, study_uid: str) -> list[Row]:
    peer = ["127.0.0.1", str(store_port)]
    qr = ["127.0.0.1", str(qr_port)]
    study = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}"]
    find = ["-S", "-aec", AREA, *study, "-k", "PatientName", "-k", "StudyDate"]
    move = ["-S", "-aec", AREA, "-aem", MOVE_DEST, "+P", str(move_port), "--ignore", *study]
    get = ["-S", "-aec", AREA, "--ignore", *study]
    return [
        Row("python -c pass", None, [PYTHON, "-c", "pass"]),
        Row(FLOOR, None, [PYTHON, "-c", "import asyncio, socket"]),
        Row("echoscu (1 C-ECHO)", ours("echoscu", *peer), ["echoscu", *peer]),
        Row("storescu (1 file)", ours("storescu", *peer, str(instance)), ["storescu", *peer, str(instance)]),
        Row("findscu (1 query)", ours("findscu", *find, *qr), ["findscu", *find, *qr]),
        Row("movescu (1 instance)", ours("movescu", *move, *qr), ["movescu", *move, *qr]),
        Row("getscu (1 instance)", ours("getscu", *get, *qr), ["getscu", *get, *qr]),
    ]


def measure(todo: list[Row], runs: int) -> dict[tuple[str, str], Timing]:
    timings: dict[tuple[str, str], Timing] = {}
    for _ in range(runs):
        for row in todo:
            sides = [("dcmtk", row.dcmtk, DCMTK_ENV if row.ours is not None else None)]
            if row.ours is not None:
                sides.append(("ours", row.ours, None))
            for side, argv, env in sides:
                seconds, code = run_once(argv, env)
                timing = timings.setdefault((row.name, side), Timing())
                if code == 0:
                    timing.best = min(timing.best, seconds)
                    timing.times.append(seconds)
                else:
                    timing.failures += 1
                    timing.last_code = code
    return timings


def _ms(timing: Timing | None) -> str:
    return "-" if timing is None or timing.best == float("inf") else f"{timing.best * 1e3:.1f}"


def report(todo: list[Row], timings: dict[tuple[str, str], Timing], runs: int) -> None:
    floor = timings[(FLOOR, "dcmtk")].best
    print(
        f"whole process, spawn to exit, best of {runs} (ms; median in brackets); "
        "speed = DCMTK ms / ours ms (1.00 = as fast), of the best runs"
    )
    print(
        f"{'command':36} {'ours':>8} {'DCMTK':>8} {'speed':>6} {'ours-floor':>10} {'DCMTK-floor':>11} "
        f"{'(ours)':>8} {'(DCMTK)':>8}  target"
    )
    for row in todo:
        theirs = timings.get((row.name, "dcmtk"))
        if row.ours is None:
            median = f"({theirs.median * 1e3:.1f})" if theirs else ""
            print(f"{row.name:36} {'':>8} {_ms(theirs):>8} {'':>6} {'':>10} {'':>11} {'':>8} {median:>8}")
            continue
        mine = timings.get((row.name, "ours"))
        line = f"{row.name:36} {_ms(mine):>8} {_ms(theirs):>8}"
        if mine and theirs and mine.best < float("inf") and theirs.best < float("inf"):
            goal = theirs.best if floor <= theirs.best else floor + TARGET_SLACK
            how = "<= DCMTK" if floor <= theirs.best else "<= floor + 15 ms"
            verdict = f"{'met' if mine.best <= goal else 'NOT met'} ({how})"
            medians = f"({mine.median * 1e3:.1f})", f"({theirs.median * 1e3:.1f})"
            line += (
                f" {theirs.best / mine.best:6.2f} {(mine.best - floor) * 1e3:10.1f} "
                f"{(theirs.best - floor) * 1e3:11.1f} {medians[0]:>8} {medians[1]:>8}  {verdict}"
            )
        for side, timing in (("ours", mine), ("DCMTK", theirs)):
            if timing and timing.failures:
                line += f"  [{side}: {timing.failures} of {runs} runs failed, exit {timing.last_code}]"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="runs of each command, best kept (10)")
    parser.add_argument("--quick", action="store_true", help="3 runs of each")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 10)
    if not have_dcmtk():
        print("DCMTK is not installed (make dcmtk)")
        return 1
    adopt_orphans()  # dcmqrscp's last forked child, a zombie at the end, is reaped here
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        work = Path(scratch)
        inputs, received = work / "inputs", work / "received"
        inputs.mkdir()
        received.mkdir()
        make_small(inputs, 1)
        instance = inputs / "small00000.dcm"
        study_uid = str(dcmread(instance, stop_before_pixels=True).StudyInstanceUID)
        store_port, move_port = free_port(), free_port()
        storescp = ["storescp", "-od", str(received), str(store_port)]
        with (
            server(storescp, store_port, DCMTK_ENV),
            dcmqrscp(work / "qr", instance, move_port) as qr_port,
        ):
            todo = rows(store_port, qr_port, move_port, instance, study_uid)
            timings = measure(todo, runs)
            report(todo, timings, runs)
            for row in todo[2:4]:
                assert row.ours is not None
                imports, code = import_times(row.ours)
                best = timings[(row.name, "ours")].best
                report_imports(f"our {row.name}", imports, code, best if best < float("inf") else None)
    print(
        "\nnote: the peer is one process for each row (DCMTK's storescp; DCMTK's dcmqrscp, which forks"
        " a child per association), shared by both SCUs.  -X importtime adds its own overhead, so its"
        " sum is above the import share of a plain run; 'cumul' includes what a module imports."
        "  DCMTK's movescu usually waits about 1 s between its C-MOVE-RQ and taking the"
        " sub-association (its -v log shows the gap), now and then not: its best and median differ."
    )
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
