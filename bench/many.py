"""Many associations at once: 8 concurrent DCMTK storescu senders into our dcmrecv and DCMTK's storescp.

Run: `make bench-many` or
`.venv/bin/python -m bench.many [--senders 8] [--files 100] [--idle 200] [--rounds 5] [--cases ...]
[--quick]`.

Inputs: --files (100) secondary-capture instances, 16-bit square images of 72 to 256
pixels a side (about 10 to 130 KB; explicit VR little endian), made once.  Every sender
is a DCMTK storescu (TCP_NODELAY=1) sending all of them in one association (+sd); the
--senders (8) start together, so each receiver gets senders x files instances.

Cases (--cases, all by default):
  ours        .venv/bin/dcmrecv -xf accept-all.cfg Default +fu (one process, one event loop)
  dcmtk       DCMTK's storescp --fork +uf (a child process forked per association)
  ours+idle   our dcmrecv while --idle (200) associations are held open beside the senders
  dcmtk+idle  DCMTK's storescp --fork, the same idle associations (a child each)
The idle associations complete an A-ASSOCIATE negotiation (Verification) from one
helper process (bench._idle, our library) and then send nothing; at the end each
answers a C-ECHO and is released, which shows the server kept all of them.  Our
dcmrecv accepts at most 64 associations (AcceptorSettings.max_associations, no
command-line option), so ours+idle runs the same dcmrecv main() with that one field
raised to idle + senders + 8; nothing else differs.  (max_waiting, 256, bounds only
connections that have not yet sent their request; these have.)  Receivers write into
the scratch directory (page cache, no fsync by either).

Each case starts its receiver once (and its idle associations), then runs --rounds (5;
--quick: 1 round of 30 files) rounds of all the senders at once; the median round by
instances/s is shown, every round's instances/s beside it.  Figures, over a round's
sender phase only (from the senders' start to the last one's exit):
aggregate instances/s (files on disk / wall time); the receiver's CPU seconds (utime +
stime from /proc; for storescp its own, its reaped children's and its live children's);
peak RSS: ours VmHWM (whole life, idle associations included); storescp's parent VmHWM and
the largest child's VmHWM; and, for both, the peak of the Pss summed over the receiver's
processes (sampled every 20 ms; Pss splits a page shared after fork among its sharers, so
200 forked children are not counted as 200 copies).  The senders' CPU is their rusage;
the machine's busy share (/proc/stat, anyone's) shows how much others took meanwhile.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import select
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from bench._peers import (
    DCMTK_ENV,
    PYTHON,
    ROOT,
    adopt_orphans,
    children,
    free_port,
    have_dcmtk,
    status_kb,
    stop_forking,
    wait_listening,
)
from bench.store import SECONDARY_CAPTURE, _instance

BIN: Final = os.path.dirname(PYTHON)
ACCEPT_ALL: Final = str(ROOT / "src" / "dicomwire" / "data" / "accept-all.cfg")
CASES: Final = ("ours", "dcmtk", "ours+idle", "dcmtk+idle")
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY: Final = 0.02
LIMIT_MARGIN: Final = 8

# Our dcmrecv with AcceptorSettings.max_associations raised (argv[1]); the rest is dcmrecv's main().
DCMRECV_WITH_LIMIT: Final = """
import dataclasses, sys
from dicomwire.cli import dcmrecv
limit = int(sys.argv[1])
original = dcmrecv.acceptor_settings
def acceptor_settings(*args, **kwargs):
    return dataclasses.replace(original(*args, **kwargs), max_associations=limit)
dcmrecv.acceptor_settings = acceptor_settings
raise SystemExit(dcmrecv.main(sys.argv[2:]))
"""

_RUNNING: list[subprocess.Popen[bytes]] = []


# -- inputs -------------------------------------------------------------------------------------


def make_corpus(directory: Path, count: int) -> int:
    """``count`` instances from 72 x 72 to 256 x 256 x 16 bits; their total size."""
    directory.mkdir()
    rng = np.random.default_rng(3)
    total = 0
    for index in range(count):
        side = 72 + (256 - 72) * index // max(count - 1, 1)
        ds = _instance(SECONDARY_CAPTURE, side, side, 1)
        ds.PixelData = rng.integers(0, 4096, (side, side), dtype=np.uint16).tobytes()
        path = directory / f"img{index:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        total += path.stat().st_size
    return total


# -- /proc ----------------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def own_cpu(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def live_children(pid: int) -> list[int]:
    """``pid``'s children that have not exited (zombies left out)."""
    live = []
    for child in children(pid):
        fields = _stat(child)
        if fields is not None and fields[0] != "Z":
            live.append(child)
    return live


def tree_cpu(pid: int) -> float:
    """CPU of ``pid``, its reaped children (cutime + cstime) and its live (or zombie) children."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    total = sum(int(fields[index]) for index in (11, 12, 13, 14)) / CLK_TCK
    return total + sum(own_cpu(child) for child in children(pid))


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat (idle and iowait: not busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def pss_kb(pid: int) -> int:
    """Proportional set size: its private pages plus its share of the pages it shares (kB)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Every 20 ms: the receiver's new children's Pss and VmHWM (kB); every 100 ms the
    receiver's own Pss (reading a Python process's smaps_rollup takes most of a ms).

    Children alive when it starts (the idle associations' processes) are read once,
    at the start: they do nothing, and reading 200 of them every 20 ms would cost the
    machine a good share of a core."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.idle = set(children(pid))
        self.idle_pss = sum(pss_kb(child) for child in self.idle)
        self.child_hwm = max((status_kb(child).get("VmHWM", 0) for child in self.idle), default=0)
        self.pss_peak = 0
        self.children_seen: set[int] = set()
        self._done = threading.Event()
        self._samples = 0
        self._own_pss = 0

    def sample(self) -> None:
        if self._samples % 5 == 0:
            self._own_pss = pss_kb(self.pid)
        self._samples += 1
        total = self._own_pss + self.idle_pss
        for child in children(self.pid):
            if child in self.idle:
                continue
            hwm = status_kb(child).get("VmHWM")
            if hwm is not None:
                self.children_seen.add(child)
                self.child_hwm = max(self.child_hwm, hwm)
                total += pss_kb(child)
        self.pss_peak = max(self.pss_peak, total)

    def run(self) -> None:
        while not self._done.wait(SAMPLE_EVERY):
            self.sample()

    def finish(self) -> None:
        self._done.set()
        self.join()
        self._samples = 0
        self.sample()


# -- processes ------------------------------------------------------------------------------------


def launch(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A process in its own session (so that it and its forks can be ended together)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
    _RUNNING.append(proc)
    return proc


def halt(proc: subprocess.Popen[bytes]) -> None:
    """End ``proc`` and whatever it forked (its process group), reaping the children."""
    stop_forking(proc)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def receiver_argv(
    case: str, port: int, out: Path, idle: int, senders: int
) -> tuple[list[str], dict[str, str] | None]:
    if case.startswith("dcmtk"):
        return ["storescp", "--fork", "+uf", "-od", str(out), str(port)], DCMTK_ENV
    options = ["-xf", ACCEPT_ALL, "Default", "+fu", "-od", str(out), str(port)]
    if case.endswith("+idle"):
        return [PYTHON, "-c", DCMRECV_WITH_LIMIT, str(idle + senders + LIMIT_MARGIN), *options], None
    return [f"{BIN}/dcmrecv", *options], None


class Holder:
    """bench._idle in a process: ``count`` idle associations on ``port``."""

    def __init__(self, port: int, count: int, log: Path, timeout: float) -> None:
        with log.open("ab") as errors:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "bench._idle", "127.0.0.1", str(port), str(count)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
            )
        _RUNNING.append(self.proc)
        words = self._line(timeout).split()
        if len(words) != 3 or words[0] != "ready":
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"the idle-association helper said {' '.join(words)!r}: {tail}")
        self.held, self.seconds = int(words[1]), float(words[2])

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode().strip() if ready else "(nothing: timed out)"

    def release(self, timeout: float) -> int:
        """Release them all; how many were still held (answered a C-ECHO, released cleanly)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        words = self._line(timeout).split()
        self.proc.wait(timeout)
        _RUNNING.remove(self.proc)
        return int(words[1]) if len(words) == 2 and words[0] == "released" else -1


# -- one case -------------------------------------------------------------------------------------


@dataclass
class Result:
    case: str
    seconds: float = 0.0
    stored: int = 0
    expected: int = 0
    failed_senders: int = 0
    cpu: float = 0.0
    sender_cpu: float = 0.0
    peak_mb: float = 0.0  # ours: VmHWM; storescp: the parent's
    child_mb: float | None = None  # storescp: the largest child's VmHWM
    pss_mb: float = 0.0  # peak of all the receiver's processes' Pss, summed (sampled)
    idle_held: int = 0
    idle_released: int | None = None
    idle_setup: float | None = None
    idle_cpu: float | None = None
    idle_pss_mb: float | None = None  # the receiver's processes' Pss with the idle ones up
    notes: list[str] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)  # instances/s of every round
    machine_busy: float = 0.0
    bench_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def stored_files(out: Path) -> int:
    return sum(1 for path in out.rglob("*") if path.is_file() and not path.name.startswith("."))


@dataclass
class Round:
    seconds: float
    stored: int
    failed_senders: int
    cpu: float
    sender_cpu: float
    pss_kb: int
    child_hwm_kb: int
    children_seen: int
    machine_busy: float  # share of all the machine's CPU time busy (anyone's), 0..1
    bench_cpu: float  # this process (the sampler, mostly)
    notes: list[str]

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def send_round(
    receiver: subprocess.Popen[bytes],
    forked: bool,
    port: int,
    corpus: Path,
    out: Path,
    senders: int,
    log: Path,
    timeout: float,
) -> Round:
    """All the senders at once, each with the whole corpus; the receiver's share of it."""

    def cpu() -> float:
        return tree_cpu(receiver.pid) if forked else own_cpu(receiver.pid)

    notes: list[str] = []
    before = stored_files(out)
    sampler = Sampler(receiver.pid)
    sampler.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        rusage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_before = cpu()
        ticks_before = machine_ticks()
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with log.open("ab") as sender_log:
            for _ in range(senders):
                argv = ["storescu", "+sd", "127.0.0.1", str(port), str(corpus)]
                procs.append(
                    subprocess.Popen(argv, env=DCMTK_ENV, stdout=sender_log, stderr=subprocess.STDOUT)
                )
        failed = 0
        for proc in procs:
            try:
                code = proc.wait(max(0.1, started + timeout - time.perf_counter()))
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
                notes.append("a sender timed out")
            failed += code != 0
        seconds = time.perf_counter() - started
        ticks_after = machine_ticks()
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        rusage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if forked:  # the children of the finished associations exit (storescp reaps them later)
            deadline = time.monotonic() + 5
            while len(live_children(receiver.pid)) > len(sampler.idle) and time.monotonic() < deadline:
                time.sleep(0.01)
        cpu_used = cpu() - cpu_before
    finally:
        sampler.finish()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sender_cpu = (rusage_after.ru_utime + rusage_after.ru_stime) - (
        rusage_before.ru_utime + rusage_before.ru_stime
    )
    if forked and not sampler.children_seen:
        notes.append("no forked child seen by the sampler")
    return Round(
        seconds,
        stored_files(out) - before,
        failed,
        cpu_used,
        sender_cpu,
        sampler.pss_peak,
        sampler.child_hwm,
        len(sampler.children_seen),
        (ticks_after[0] - ticks_before[0]) / max(ticks_after[1] - ticks_before[1], 1),
        (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime),
        notes,
    )


def run_case(
    case: str, corpus: Path, files: int, senders: int, idle: int, rounds: int, work: Path, timeout: float
) -> Result:
    result = Result(case, expected=files * senders)
    out = work / f"out-{case}"
    out.mkdir()
    port = free_port()
    argv, env = receiver_argv(case, port, out, idle, senders)
    receiver = launch(argv, work / f"{case}.log", env)
    forked = case.startswith("dcmtk")
    holder: Holder | None = None
    try:
        wait_listening(port, receiver)
        if case.endswith("+idle"):
            before = tree_cpu(receiver.pid)
            holder = Holder(port, idle, work / f"{case}-idle.log", timeout)
            result.idle_held, result.idle_setup = holder.held, holder.seconds
            time.sleep(0.2)  # the last forks settle
            result.idle_cpu = tree_cpu(receiver.pid) - before
            pss = pss_kb(receiver.pid) + sum(pss_kb(child) for child in children(receiver.pid))
            result.idle_pss_mb = pss / 1024
        done = [
            send_round(receiver, forked, port, corpus, out, senders, work / f"senders-{case}.log", timeout)
            for _ in range(rounds)
        ]
        result.peak_mb = status_kb(receiver.pid).get("VmHWM", 0) / 1024
        if holder is not None:
            result.idle_released = holder.release(timeout)
            holder = None
    finally:
        if holder is not None:
            halt(holder.proc)
        halt(receiver)
        shutil.rmtree(out, ignore_errors=True)
    median = sorted(done, key=lambda r: r.rate)[len(done) // 2]
    result.rounds = [r.rate for r in done]
    result.seconds, result.stored, result.cpu = median.seconds, median.stored, median.cpu
    result.sender_cpu, result.machine_busy = median.sender_cpu, median.machine_busy
    result.bench_cpu = median.bench_cpu
    result.failed_senders = sum(r.failed_senders for r in done)
    result.pss_mb = max(r.pss_kb for r in done) / 1024
    if forked:
        result.child_mb = max(r.child_hwm_kb for r in done) / 1024
    result.notes = sorted({note for r in done for note in r.notes})
    return result


# -- report ---------------------------------------------------------------------------------------


def report(results: dict[str, Result], senders: int, files: int, corpus_bytes: int, idle: int) -> None:
    print(
        f"\n{senders} DCMTK storescu senders at once, each {files} files "
        f"({corpus_bytes / files / 1e3:.0f} KB average, {corpus_bytes / 1e6:.1f} MB): "
        f"{senders * files} instances per round; the median round of each case (inst/s)"
    )
    print(
        f"{'case':12} {'inst/s':>8} {'stored':>9} {'wall s':>7} {'rcv cpu s':>9} {'cpu ms/inst':>11} "
        f"{'rcv MB':>7} {'child MB':>8} {'all PSS':>7} {'snd cpu s':>9}"
    )
    for case, r in results.items():
        child = f"{r.child_mb:8.0f}" if r.child_mb is not None else f"{'-':>8}"
        print(
            f"{case:12} {r.rate:8.0f} {f'{r.stored}/{r.expected}':>9} {r.seconds:7.2f} {r.cpu:9.2f} "
            f"{r.cpu / max(r.stored, 1) * 1e3:11.2f} {r.peak_mb:7.0f} {child} {r.pss_mb:7.0f} "
            f"{r.sender_cpu:9.2f}"
            + (f"  rounds: {' '.join(f'{rate:.0f}' for rate in r.rounds)}" if len(r.rounds) > 1 else "")
            + (f"  {r.failed_senders} sender(s) failed" if r.failed_senders else "")
            + "".join(f"  [{note}]" for note in r.notes)
        )
    for case, r in results.items():
        if r.idle_setup is not None:
            print(
                f"{case}: {r.idle_held} of {idle} idle associations up in {r.idle_setup:.2f} s "
                f"(receiver CPU {r.idle_cpu or 0:.2f} s, "
                f"its processes' Pss then {r.idle_pss_mb or 0:.0f} MB); "
                f"{r.idle_released} still held at the end (C-ECHO answered, released)"
            )
    print()
    for mine, theirs in (("ours", "dcmtk"), ("ours+idle", "dcmtk+idle"), ("ours+idle", "ours")):
        a, b = results.get(mine), results.get(theirs)
        if a and b and a.rate and b.rate:
            print(
                f"{mine} vs {theirs}: {a.rate / b.rate:.2f}x the instances/s, "
                f"{a.cpu / max(b.cpu, 1e-9):.2f}x the receiver CPU, "
                f"{a.pss_mb / max(b.pss_mb, 1e-9):.2f}x the memory (Pss, all processes)"
            )
    cores = os.cpu_count() or 1
    print(
        f"\nwhere the machine's time went, share of {cores} cores x wall time (others: anyone else on"
        " the machine); 'one core': the receiver's CPU / wall time"
    )
    print(
        f"{'case':12} {'receiver':>8} {'senders':>8} {'bench':>6} {'others':>7} {'idle':>5} "
        f"{'one core':>8}  bound by"
    )
    for case, r in results.items():
        if not r.seconds:
            continue
        span = r.seconds * cores
        shares = [r.cpu / span, r.sender_cpu / span, r.bench_cpu / span]
        others = max(0.0, r.machine_busy - sum(shares))
        busy = r.cpu / r.seconds
        if case.startswith("ours") and busy >= 0.8:
            bound = "mostly its one core (one Python process)"
        elif r.machine_busy >= 0.9:
            bound = f"the machine: {cores} cores shared by the receiver, the senders and the others"
        else:
            bound = "waiting: each storescu sends its next file only after the last one's C-STORE-RSP"
        print(
            f"{case:12} {shares[0]:8.0%} {shares[1]:8.0%} {shares[2]:6.0%} {others:7.0%} "
            f"{1 - r.machine_busy:5.0%} {busy:8.0%}  {bound}"
        )
    for case, r in results.items():
        if case.startswith("ours") and r.cpu:
            print(
                f"limit, {case}: one Python process is one core: at {r.cpu / r.stored * 1e3:.2f} ms"
                f" of CPU per instance it cannot pass {r.stored / r.cpu:.0f} inst/s on any number of cores"
                " (storescp's children can use them all)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=8, help="concurrent storescu senders (8)")
    parser.add_argument("--files", type=int, default=None, help="files each sender sends (100; quick 30)")
    parser.add_argument("--idle", type=int, default=200, help="idle associations held open (200)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--timeout", type=float, default=300, help="limit of every step, s (300)")
    parser.add_argument("--rounds", type=int, default=None, help="sender rounds per case, median kept (5)")
    parser.add_argument("--quick", action="store_true", help="30 files a sender, 1 round")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args(argv)
    if not have_dcmtk():
        print("DCMTK is not installed (make dcmtk): its storescu sends, its storescp receives")
        return 1
    files = args.files or (30 if args.quick else 100)
    args.rounds = args.rounds or (1 if args.quick else 5)
    cases = [case for case in args.cases.split(",") if case in CASES]
    adopt_orphans()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-many-", dir=args.work) as scratch:
        work = Path(scratch)
        corpus = work / "corpus"
        corpus_bytes = make_corpus(corpus, files)
        results: dict[str, Result] = {}
        try:
            for case in cases:
                print(f"{case} ...", flush=True)
                results[case] = run_case(
                    case, corpus, files, args.senders, args.idle, args.rounds, work, args.timeout
                )
        finally:
            for proc in list(_RUNNING):
                halt(proc)
        report(results, args.senders, files, corpus_bytes, args.idle)
    print(
        "\nnote: the senders (DCMTK, C) run on the same 2 cores as the receiver; 'snd cpu s' is theirs."
        " 'rcv MB' is VmHWM (ours; storescp's parent), 'child MB' the largest forked child's VmHWM;"
        " 'all PSS' is the sampled peak of the Pss summed over the receiver's processes (pages shared"
        " after fork split among their sharers), in MB."
    )
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
