"""C-MOVE and C-GET: our dcmqrscp vs DCMTK's dcmqrscp, with DCMTK's and our SCUs, in one run.

Run: `make bench-retrieve` or
`.venv/bin/python -m bench.retrieve [--count N] [--large-mb M] [--repeat R] [--quick]`.

Inputs, generated once: one study of N (100) CT images of 256 x 256 x 16 bits (~131 KB
files, explicit VR little endian) and one multi-frame grayscale byte secondary capture of
M MiB (1024; --quick: 200), its pixel data written in 1 MiB frames, never held in memory.
The large file stays within M MiB: dcmqrscp caps maxBytesPerStudy at 1 GiB (both archives
read the quota alike), so M is at most 1024.

Two archives on ephemeral ports, each with its own storage area and its own dcmqrscp.cfg
(the same text but for the path and port: AETable ARCHIVE RW (100, 1024mb) ANY, HostTable
DEST at the bench's storescp): ours (.venv/bin/dcmqrscp) and DCMTK's (/usr/bin/dcmqrscp, forking per
association, never -s; TCP_NODELAY=1).  DCMTK's storescu loads both with the same files;
both archives are then restarted, so that their idle RSS is that of a fresh server.

C-MOVE: movescu -S -aec ARCHIVE -aem DEST at STUDY level to DEST, a DCMTK storescp --ignore
(it reads every PDV and keeps nothing: no disk on the receiving side); received = the
"Received Store Request" lines in its log.  C-GET: getscu -S -aec ARCHIVE -od DIR, DIR on
/dev/shm (tmpfs, so the disk is not the bottleneck), emptied after every run; received =
the files it wrote.  Each figure is the wall time of one whole SCU process (start,
associate, retrieve, release, exit; its end seen through a pidfd), the median of --repeat
runs for the study, one run for the large instance; servers and SCUs alternate run by run.
The archives' storage areas are on the work directory's disk, but were just written: their
files are read from the page cache.

Memory, large instance only: a thread samples /proc/PID/status every 5 ms: VmRSS of the archive
and, for DCMTK, of the child it forks for the association (VmHWM too, the child's own peak,
read until it exits); ours also has its peak counter reset (/proc/PID/clear_refs 5) before the
run and read (VmHWM) after it.  The SCU process is sampled the same way.

Figures are printed, never asserted.  Our SCUs are skipped (with the reason) when their module
is missing; a failed run is shown with its exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

from bench._peers import DCMTK_ENV, PYTHON, ROOT, free_port, have_dcmtk, status_kb, wait_for, wait_listening
from bench.archive import stop, stored_files
from dicomwire import uids

BIN: Final = os.path.dirname(PYTHON)
AREA: Final = "ARCHIVE"
DEST: Final = "DEST"
SERVERS: Final = ("dcmtk", "ours")  # archives
SCUS: Final = ("dcmtk", "ours")
OPS: Final = ("C-MOVE", "C-GET")
MIB: Final = 1 << 20
LARGE_CLASS: Final = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte SC Image Storage
LARGE_SIDE: Final = 1024  # 1024 x 1024 x 8 bits: one MiB a frame
SAMPLE_EVERY: Final = 0.005
FLAT_MB: Final = 50  # "a few tens of MB above its idle RSS"
DCMTK_GETSCU_DEFECT: Final = "DUL P-Data PDU arrived"
SHM: Final = Path("/dev/shm")
WHOSE: Final = {"dcmtk": "DCMTK's", "ours": "our"}

# -- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    study_dir: Path
    study_uid: str
    count: int
    study_bytes: int
    large_file: Path
    large_uid: str
    large_bytes: int


def _patient(ds: Dataset, name: str, patient_id: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19580412"
    ds.PatientSex = "F"
    ds.PatientAge = "066Y"


def _with_meta(ds: Dataset) -> Dataset:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
    ds.file_meta.MediaStorageSOPClassUID = UID(ds.SOPClassUID)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    return ds


def write_study(directory: Path, count: int) -> tuple[str, int]:
    """``count`` CT slices of one series in one study, ``000000.dcm``...; (study UID, bytes)."""
    directory.mkdir(parents=True)
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    base = bytes(range(256)) * 512  # 256 x 256 x 16 bits
    total = 0
    for number in range(count):
        ds = Dataset()
        _patient(ds, "DOE^JANE", "R000001")
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = uids.CT_IMAGE_STORAGE
        ds.SOPInstanceUID = generate_uid()
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240315"
        ds.StudyTime, ds.SeriesTime, ds.ContentTime = "101500", "101800", f"1018{number % 60:02d}"
        ds.AccessionNumber = "A0000001"
        ds.Modality = "CT"
        ds.Manufacturer = "DICOMWIRE BENCH"
        ds.ReferringPhysicianName = "SMITH^REF"
        ds.StudyDescription = "CT CHEST"
        ds.SeriesDescription = "AXIAL 2.5"
        ds.BodyPartExamined = "CHEST"
        ds.SliceThickness = "2.5"
        ds.KVP = "120"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 2, number + 1
        ds.ImagePositionPatient = [-175.0, -175.0, -2.5 * number]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.FrameOfReferenceUID = frame_uid
        ds.SliceLocation = f"{-2.5 * number:.1f}"
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", 256, 256
        ds.PixelSpacing = [1.367188, 1.367188]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
        shift = (number * 2) % len(base)
        ds.PixelData = base[shift:] + base[:shift]
        path = directory / f"{number:06d}.dcm"
        _with_meta(ds).save_as(path, enforce_file_format=True)
        total += path.stat().st_size
    return str(study_uid), total


def write_large(path: Path, mebibytes: int) -> tuple[str, int]:
    """One multi-frame byte SC of at most ``mebibytes`` MiB, in a study of its own: the header
    through pydicom, then the pixel data element appended a frame at a time; (study UID, bytes)."""
    frames = mebibytes - 1  # one MiB left for the header: the file stays within the quota
    ds = Dataset()
    _patient(ds, "ROE^RICHARD", "R000002")
    ds.SOPClassUID = LARGE_CLASS
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = ds.ContentDate = "20240316"
    ds.StudyTime, ds.ContentTime = "093000", "093100"
    ds.AccessionNumber = "A0000002"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.StudyDescription = "LARGE MULTI-FRAME"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "2", 1, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = "33.3"
    ds.Rows = ds.Columns = LARGE_SIDE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    _with_meta(ds).save_as(path, enforce_file_format=True)
    frame = bytes(range(256)) * (LARGE_SIDE * LARGE_SIDE // 256)
    with path.open("ab") as fp:
        # (7FE0,0010) OB, explicit VR little endian: tag, VR, 2 reserved bytes, 32-bit length
        fp.write(b"\xe0\x7f\x10\x00OB\x00\x00" + (frames * len(frame)).to_bytes(4, "little"))
        for _ in range(frames):
            fp.write(frame)
    return str(ds.StudyInstanceUID), path.stat().st_size


def make_inputs(work: Path, count: int, large_mb: int) -> Inputs:
    study_dir = work / "study"
    study_uid, study_bytes = write_study(study_dir, count)
    large_file = work / "large" / "large.dcm"
    large_file.parent.mkdir()
    large_uid, large_bytes = write_large(large_file, large_mb)
    return Inputs(study_dir, study_uid, count, study_bytes, large_file, large_uid, large_bytes)


# -- processes ----------------------------------------------------------------------------------

_RUNNING: list[subprocess.Popen[bytes]] = []


def write_config(root: Path, storage: Path, port: int, dest_port: int) -> Path:
    config = root / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{DEST} = ({DEST}, 127.0.0.1, {dest_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{AREA} {storage} RW (100, 1024mb) ANY\nAETable END\n"
    )
    return config


@dataclass
class Archive:
    server: str
    root: Path
    storage: Path
    config: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None


def launch(argv: list[str], log: Path, env: dict[str, str] | None, cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _RUNNING.append(proc)
    return proc


def halt(proc: subprocess.Popen[bytes]) -> None:
    stop(proc)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def new_archive(server: str, work: Path, dest_port: int) -> Archive:
    root = work / f"archive-{server}"
    storage = root / "storage"
    storage.mkdir(parents=True)
    port = free_port()
    return Archive(server, root, storage, write_config(root, storage, port, dest_port), port)


def serve(archive: Archive) -> None:
    """(Re)start the archive's server and wait until it listens."""
    if archive.proc is not None:
        halt(archive.proc)
    program = "/usr/bin/dcmqrscp" if archive.server == "dcmtk" else f"{BIN}/dcmqrscp"
    env = DCMTK_ENV if archive.server == "dcmtk" else None
    argv = [program, "-c", str(archive.config), str(archive.port)]
    archive.proc = launch(argv, archive.root / "server.log", env, archive.root)
    wait_listening(archive.port, archive.proc, limit=120)


def load(archive: Archive, inputs: Inputs, timeout: float) -> None:
    """The study and the large instance in, by DCMTK's storescu (not timed)."""
    assert archive.proc is not None
    for target in (["+sd", str(inputs.study_dir)], [str(inputs.large_file)]):
        argv = ["storescu", "-aec", AREA, "127.0.0.1", str(archive.port), *target]
        subprocess.run(argv, env=DCMTK_ENV, check=True, capture_output=True, timeout=timeout)
    stored = stored_files(archive.storage)
    if stored != inputs.count + 1:
        raise RuntimeError(f"{archive.server}: {stored} files stored of {inputs.count + 1}")


# -- memory ---------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(word) for word in (task / "children").read_text().split())
    return found


def descendants(pid: int) -> Iterator[int]:
    for child in children(pid):
        yield child
        yield from descendants(child)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid``, all its threads (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset ``pid``'s VmHWM to its current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class Sampler(threading.Thread):
    """Peak RSS (kB) of the archive process, of its descendants, and of the SCU process tree."""

    def __init__(self, archive_pid: int) -> None:
        super().__init__(daemon=True)
        self.archive_pid = archive_pid
        self.scu_pid: int | None = None
        self.archive_peak = 0
        self.children_peak = 0
        self.children_seen: set[int] = set()
        self.scu_peak = 0
        self.samples = 0
        self._done = threading.Event()

    @staticmethod
    def _peak(pid: int) -> int:
        values = status_kb(pid)
        return max(values.get("VmRSS", 0), values.get("VmHWM", 0))

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(SAMPLE_EVERY)
        self.sample()

    def sample(self) -> None:
        self.samples += 1
        self.archive_peak = max(self.archive_peak, status_kb(self.archive_pid).get("VmRSS", 0))
        for child in descendants(self.archive_pid):
            self.children_seen.add(child)
            self.children_peak = max(self.children_peak, self._peak(child))
        if self.scu_pid is not None:
            for pid in (self.scu_pid, *descendants(self.scu_pid)):
                self.scu_peak = max(self.scu_peak, self._peak(pid))

    def finish(self) -> None:
        self._done.set()
        self.join(10)


@dataclass
class Memory:
    idle_kb: int  # the archive process, before the run
    peak_kb: int  # the archive, all its processes, during the run
    how: str
    scu_peak_kb: int


# -- runs -----------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    rc: int | None  # None: timed out (killed)
    received: int
    note: str = ""
    memory: Memory | None = None
    server_cpu: float | None = None  # ours: CPU seconds of the archive process, all threads


@dataclass
class Retrieval:
    op: str
    scu: str
    inputs: Inputs
    large: bool

    def keys(self) -> list[str]:
        uid = self.inputs.large_uid if self.large else self.inputs.study_uid
        return ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={uid}"]

    def argv(self, port: int, out_dir: Path) -> list[str]:
        name = {"C-MOVE": "movescu", "C-GET": "getscu"}[self.op]
        program = [name] if self.scu == "dcmtk" else [PYTHON, "-m", f"dicomwire.cli.{name}"]
        how = ["-aem", DEST] if self.op == "C-MOVE" else ["-od", str(out_dir)]
        return [*program, "-S", "-aec", AREA, *how, *self.keys(), "127.0.0.1", str(port)]


@dataclass
class Bench:
    work: Path
    out_root: Path
    dest_log: Path
    timeout: float
    runs: dict[tuple[bool, str, str, str], list[Run]] = field(default_factory=dict)  # large, op, scu, server
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)  # op, scu -> why

    def dest_count(self) -> int:
        return self.dest_log.read_bytes().count(b"Received Store Request")

    def retrieve(self, archive: Archive, what: Retrieval) -> Run:
        assert archive.proc is not None
        out_dir = self.out_root / "get"
        out_dir.mkdir()
        log = self.work / "scu.log"
        log.unlink(missing_ok=True)
        before = self.dest_count()
        sampler: Sampler | None = None
        memory_how = "sampled VmRSS, 5 ms"
        if what.large:
            sampler = Sampler(archive.proc.pid)
            if archive.server == "ours" and reset_peak(archive.proc.pid):
                memory_how = "VmHWM (reset by clear_refs) and sampled VmRSS"
            elif archive.server == "dcmtk":
                memory_how = "parent VmRSS, forked child VmRSS/VmHWM sampled every 5 ms"
        idle = status_kb(archive.proc.pid).get("VmRSS", 0)
        cpu_before = cpu_seconds(archive.proc.pid)
        if sampler is not None:
            sampler.start()
        env = DCMTK_ENV if what.scu == "dcmtk" else None
        started = time.perf_counter()
        proc = launch(what.argv(archive.port, out_dir), log, env, self.work)
        if sampler is not None:
            sampler.scu_pid = proc.pid
        rc = wait_for(proc, self.timeout)
        seconds = time.perf_counter() - started
        if rc is None:
            halt(proc)
        elif proc in _RUNNING:
            _RUNNING.remove(proc)
        memory = None
        if sampler is not None:
            sampler.finish()
            peak = max(sampler.archive_peak, sampler.children_peak)
            if archive.server == "ours":
                peak = max(peak, status_kb(archive.proc.pid).get("VmHWM", 0))
            elif not sampler.children_seen:
                memory_how += " (no child seen!)"
            memory = Memory(idle, peak, memory_how, sampler.scu_peak)
        if what.op == "C-MOVE":
            time.sleep(0.05)  # storescp's last log line (written before its C-STORE-RSP)
            received = self.dest_count() - before
        else:
            received = sum(1 for _ in out_dir.iterdir())
        shutil.rmtree(out_dir)
        note = ""
        if rc != 0:
            lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
            note = "timed out" if rc is None else (lines[-1][:160] if lines else "")
        cpu = cpu_seconds(archive.proc.pid) - cpu_before if archive.server == "ours" else None
        return Run(seconds, rc, received, note, memory, cpu)


def our_scu_missing(op: str) -> str | None:
    name = {"C-MOVE": "movescu", "C-GET": "getscu"}[op]
    if not (ROOT / "src" / "dicomwire" / "cli" / name).exists():
        return f"src/dicomwire/cli/{name} does not exist"
    probe = subprocess.run(
        [PYTHON, "-m", f"dicomwire.cli.{name}", "--version"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        tail = (probe.stderr or probe.stdout).decode(errors="replace").strip().splitlines()
        return f"{name} --version exits {probe.returncode}: {tail[-1] if tail else ''}"
    return None


def startup_seconds(argv: list[str], env: dict[str, str] | None) -> float:
    """Median of 3 runs of ``argv`` (a --version): what a process costs before any work."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_for(proc, 60) is None:
            proc.kill()
            proc.wait()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- report ---------------------------------------------------------------------------------------


def _median_run(runs: list[Run]) -> Run:
    ordered = sorted(runs, key=lambda run: run.seconds)
    middle = ordered[len(ordered) // 2]
    worst = next((run for run in runs if run.rc != 0), None)
    if worst is None:
        return middle
    received = min(run.received for run in runs)
    return Run(middle.seconds, worst.rc, received, worst.note, middle.memory, middle.server_cpu)


def _ratio(ours: float | None, theirs: float | None) -> str:
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}"


def _per_image_ms(run: Run) -> str:
    return "" if run.server_cpu is None else f"{run.server_cpu / max(run.received, 1) * 1e3:.2f}"


def _rc(run: Run) -> str:
    return "T/O" if run.rc is None else str(run.rc)


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def machine_line() -> str:
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"machine: nproc {len(os.sched_getaffinity(0))}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} {platform.machine()}, {mem_kb / 1024**2:.1f} GiB RAM"
    )


def _rows(bench: Bench, *, large: bool) -> Iterator[tuple[str, str, str, list[Run]]]:
    """(op, SCU, archive, runs) of each row with runs, in table order; says which were skipped."""
    for op in OPS:
        for scu in SCUS:
            if (op, scu) in bench.skipped:
                print(f"  {op:7} {scu:6} skipped: {bench.skipped[(op, scu)]}")
                continue
            for server in SERVERS:
                runs = bench.runs.get((large, op, scu, server))
                if runs:
                    yield op, scu, server, runs


def report(bench: Bench, inputs: Inputs, repeat: int, startups: dict[str, float]) -> None:
    study_mb = inputs.study_bytes / 1e6
    print(
        f"\nC-MOVE / C-GET of one study: {inputs.count} images, {study_mb:.1f} MB "
        f"({inputs.study_bytes / inputs.count / 1e3:.1f} KB each), median of {repeat} whole SCU runs"
    )
    print(
        "  ratio = ours/dcmtk archive, same SCU, images/s (> 1: ours faster); "
        "cpu = our archive process's CPU per image (clock ticks: coarse)"
    )
    print(
        f"  {'op':7} {'SCU':6} {'archive':8} {'s':>7} {'min s':>7} {'max s':>7} {'img/s':>7} {'MB/s':>7} "
        f"{'recv':>5} {'rc':>4} {'ratio':>6} {'cpu ms/img':>10}"
    )
    rates: dict[tuple[str, str, str], float] = {}
    for op, scu, server, runs in _rows(bench, large=False):
        run = _median_run(runs)
        rate = run.received / run.seconds
        rates[(op, scu, server)] = rate
        ratio = _ratio(rate, rates.get((op, scu, "dcmtk"))) if server == "ours" else ""
        line = (
            f"  {op:7} {scu:6} {server:8} {run.seconds:7.3f} {min(r.seconds for r in runs):7.3f} "
            f"{max(r.seconds for r in runs):7.3f} {rate:7.0f} "
            f"{rate * inputs.study_bytes / inputs.count / 1e6:7.1f} {run.received:>5} "
            f"{_rc(run):>4} {ratio:>6} {_per_image_ms(run):>10}"
        )
        if run.note:
            line += f"  ({run.note})"
        print(line)
    for op in OPS:
        all_ours, all_dcmtk = rates.get((op, "ours", "ours")), rates.get((op, "dcmtk", "dcmtk"))
        if all_ours and all_dcmtk:
            print(
                f"  {op}: our SCU + our archive vs DCMTK's SCU + DCMTK's archive: {all_ours / all_dcmtk:.2f}"
            )
    print(
        "  SCU process start-up (median of 3 --version runs): "
        + ", ".join(f"{name} {seconds * 1e3:.0f} ms" for name, seconds in startups.items())
    )

    large_mb = inputs.large_bytes / 1e6
    print(
        f"\nC-MOVE / C-GET of one instance of {large_mb:.0f} MB ({inputs.large_bytes / MIB:.0f} MiB), "
        "one run each"
    )
    print(
        "  ratio = ours/dcmtk archive, same SCU, MB/s; "
        "RSS in MiB: the archive's idle and peak, the SCU's peak"
    )
    print(
        f"  {'op':7} {'SCU':6} {'archive':8} {'s':>7} {'MB/s':>7} {'ratio':>6} {'recv':>5} {'rc':>4} "
        f"{'idle':>6} {'peak':>6} {'+':>6} {'SCU pk':>7}"
    )
    speeds: dict[tuple[str, str, str], float] = {}
    for op, scu, server, runs in _rows(bench, large=True):
        run = runs[0]
        speed = large_mb / run.seconds if run.received else 0.0
        speeds[(op, scu, server)] = speed
        ratio = _ratio(speed, speeds.get((op, scu, "dcmtk"))) if server == "ours" else ""
        mem = run.memory
        memory = (
            f"{_mb(mem.idle_kb):>6} {_mb(mem.peak_kb):>6} {_mb(mem.peak_kb - mem.idle_kb):>6} "
            f"{_mb(mem.scu_peak_kb):>7}"
            if mem
            else ""
        )
        line = (
            f"  {op:7} {scu:6} {server:8} {run.seconds:7.2f} {speed:7.0f} {ratio:>6} "
            f"{run.received:>5} {_rc(run):>4} {memory}"
        )
        if run.note:
            line += f"  ({run.note})"
        print(line)
    hows = {
        server: run.memory.how
        for (large, _, _, server), runs in bench.runs.items()
        for run in runs
        if large and run.memory
    }
    for server, how in sorted(hows.items()):
        print(f"  RSS of {server}: {how}")
    targets(bench, rates)


def targets(bench: Bench, rates: dict[tuple[str, str, str], float]) -> None:
    print("\ntargets")
    for op in OPS:
        for scu in SCUS:
            ours, theirs = rates.get((op, scu, "ours")), rates.get((op, scu, "dcmtk"))
            if ours and theirs:
                met = "met" if ours >= theirs else "NOT met"
                print(
                    f"  {op} with {WHOSE[scu]} SCU, many small images, at least DCMTK's speed: {met}: "
                    f"{ours:.0f} vs {theirs:.0f} images/s ({ours / theirs:.2f})"
                )
    for (large, op, scu, server), runs in bench.runs.items():
        mem = runs[0].memory
        if not large or server != "ours" or mem is None:
            continue
        grown = (mem.peak_kb - mem.idle_kb) / 1024
        met = "met" if grown <= FLAT_MB and runs[0].received == 1 else "NOT met"
        print(
            f"  {op} of the large instance with {WHOSE[scu]} SCU, "
            f"our archive's RSS flat (<= {FLAT_MB} MiB above idle): "
            f"{met}: idle {mem.idle_kb / 1024:.0f} MiB, peak {mem.peak_kb / 1024:.0f} MiB (+{grown:.0f})"
        )


# -- the run ----------------------------------------------------------------------------------------


def out_root(work: Path) -> tuple[Path, str]:
    """Where getscu writes: tmpfs when there is one (the disk is not the bottleneck)."""
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="bench-retrieve-", dir=SHM)), f"{SHM} (tmpfs)"
    return work, f"{work} (no /dev/shm: the disk counts in C-GET)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="images in the study (100)")
    parser.add_argument(
        "--large-mb", type=int, default=None, help="the large instance, MiB (1024; quick 200)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each study retrieve (5; quick 3)")
    parser.add_argument("--timeout", type=float, default=300, help="limit of every step, s (300)")
    parser.add_argument("--quick", action="store_true", help="short run: 100 images, 200 MiB")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    count = args.count or 100
    large_mb = args.large_mb or (200 if quick else 1024)
    repeat = args.repeat or (3 if quick else 5)
    timeout = min(args.timeout, 120) if quick else args.timeout
    if not 2 <= large_mb <= 1024:
        parser.error("--large-mb: 2..1024 (dcmqrscp caps a study at 1 GiB)")
    if not have_dcmtk() or shutil.which("movescu") is None or not Path("/usr/bin/dcmqrscp").exists():
        print("DCMTK is not installed (make dcmtk): its dcmqrscp, storescu, storescp, movescu, getscu")
        return 1
    print(machine_line())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        gets, gets_where = out_root(work)
        try:
            return run_all(work, gets, gets_where, count, large_mb, repeat, timeout, started)
        finally:
            for proc in list(_RUNNING):
                halt(proc)
            if gets != work:
                shutil.rmtree(gets, ignore_errors=True)


def run_all(
    work: Path,
    gets: Path,
    gets_where: str,
    count: int,
    large_mb: int,
    repeat: int,
    timeout: float,
    started: float,
) -> int:
    inputs = make_inputs(work, count, large_mb)
    print(
        f"inputs: {count} CT images ({inputs.study_bytes / 1e6:.1f} MB), "
        f"one {inputs.large_bytes / 1e6:.0f} MB instance, in {time.perf_counter() - started:.1f} s; "
        f"C-GET output to {gets_where}; "
        "C-MOVE to storescp --ignore",
        flush=True,
    )
    dest_port = free_port()
    dest_log = work / "storescp.log"
    launch(["storescp", "--ignore", "-v", "-aet", DEST, str(dest_port)], dest_log, DCMTK_ENV, work)
    wait_listening(dest_port, _RUNNING[-1])
    bench = Bench(work, gets, dest_log, timeout)
    archives = [new_archive(server, work, dest_port) for server in SERVERS]
    for archive in archives:
        serve(archive)
        began = time.perf_counter()
        load(archive, inputs, timeout)
        serve(archive)  # a fresh process: its idle RSS is a server's, not a loaded one's
        print(f"  {archive.server}: loaded in {time.perf_counter() - began:.1f} s (not counted)", flush=True)
    for op in OPS:
        why = our_scu_missing(op)
        if why is not None:
            bench.skipped[(op, "ours")] = why
            print(f"  our SCU for {op} skipped: {why}", flush=True)
    startups = {"DCMTK movescu": startup_seconds(["movescu", "--version"], DCMTK_ENV)}
    startups["DCMTK getscu"] = startup_seconds(["getscu", "--version"], DCMTK_ENV)
    for op, name in (("C-MOVE", "movescu"), ("C-GET", "getscu")):
        if (op, "ours") not in bench.skipped:
            startups[f"our {name}"] = startup_seconds(
                [PYTHON, "-m", f"dicomwire.cli.{name}", "--version"], None
            )
    todo = [(op, scu) for op in OPS for scu in SCUS if (op, scu) not in bench.skipped]
    for large, rounds in ((False, repeat), (True, 1)):
        for index in range(rounds):
            for op, scu in todo:
                order = archives if index % 2 == 0 else archives[::-1]
                for archive in order:
                    run = bench.retrieve(archive, Retrieval(op, scu, inputs, large))
                    bench.runs.setdefault((large, op, scu, archive.server), []).append(run)
                    if large or run.rc != 0:
                        print(
                            f"  {'large' if large else 'study'} {op} {scu} SCU from {archive.server}: "
                            f"{run.seconds:.2f} s, {run.received} received, rc {_rc(run)}"
                            + (f" ({run.note})" if run.note else ""),
                            flush=True,
                        )
        if not large:
            print(f"  study: {rounds} rounds done", flush=True)
    report(bench, inputs, repeat, startups)
    print(
        "\nnotes: every figure is one whole SCU process, so it includes the process start-up above"
        " (our SCUs are Python). Both archives send with the receiver's max PDU (storescp, getscu:"
        " 16384 by default). DCMTK's dcmqrscp forks a child per association (its RSS is the child's);"
        " both archives stream a large pixel data element from disk rather than load it (measured)."
        " DCMTK's getscu against DCMTK's dcmqrscp may end with"
        f" '{DCMTK_GETSCU_DEFECT}' (DCMTK's defect): the run is timed anyway, its exit code shown."
    )
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
