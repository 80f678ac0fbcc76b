"""C-STORE throughput: dicomwire vs DCMTK vs pynetdicom, same inputs in one run.

Run: `make bench-store` or `.venv/bin/python -m bench.store [--small N] [--big-mb MB]`.

(a) N small instances (~130 KB each, one association), (b) one big instance.
For each sender -> receiver pair: instances/s, MB/s, CPU seconds and peak RSS
of sender and receiver.  The disk's sequential write speed (with fsync) is
measured in the same run, as the yardstick for (b).  DCMTK runs with
TCP_NODELAY=1 (its best).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from bench._peers import DCMTK_ENV, PYTHON, ROOT, free_port, have_dcmtk, wait_listening

BIN = os.path.dirname(PYTHON)
ACCEPT_ALL = str(ROOT / "src" / "dicomwire" / "data" / "accept-all.cfg")
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_GRAYSCALE_WORD = "1.2.840.10008.5.1.4.1.1.7.3"


# -- inputs -------------------------------------------------------------------------


def _instance(sop_class: str, rows: int, columns: int, frames: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Mark", "BENCH", "OT"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def make_small(directory: Path, count: int) -> int:
    pixels = np.random.default_rng(1).integers(0, 4096, (256, 256), dtype=np.uint16).tobytes()
    total = 0
    for index in range(count):
        ds = _instance(SECONDARY_CAPTURE, 256, 256, 1)
        ds.PixelData = pixels
        path = directory / f"small{index:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        total += path.stat().st_size
    return total


def make_big(directory: Path, megabytes: int) -> int:
    """One multi-frame instance of about ``megabytes`` MB, written without holding it in memory."""
    frame = np.random.default_rng(2).integers(0, 4096, (1024, 1024), dtype=np.uint16).tobytes()
    frames = max(1, megabytes * 1024 * 1024 // len(frame))
    ds = _instance(MULTIFRAME_GRAYSCALE_WORD, 1024, 1024, frames)
    ds.PixelData = b""
    path = directory / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    # Rewrite the empty Pixel Data element with the real length and stream the frames.
    raw = path.read_bytes()
    header = raw[: raw.rindex(b"\xe0\x7f\x10\x00")]
    with path.open("wb") as out:
        out.write(header + b"\xe0\x7f\x10\x00OW\x00\x00" + (len(frame) * frames).to_bytes(4, "little"))
        for _ in range(frames):
            out.write(frame)
    return path.stat().st_size


def disk_write_speed(directory: Path, megabytes: int) -> float:
    """MB/s of a sequential write with fsync in ``directory``."""
    block = os.urandom(1 << 20)
    path = directory / "disk-speed.tmp"
    started = time.perf_counter()
    with path.open("wb") as out:
        for _ in range(megabytes):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return megabytes / elapsed


# -- peers ---------------------------------------------------------------------------

ReceiverCmd = Callable[[int, Path], list[str]]
SenderCmd = Callable[[int, Path], list[str]]

RECEIVERS: dict[str, tuple[ReceiverCmd, dict[str, str] | None]] = {
    "dicomwire": (
        lambda port, out: [f"{BIN}/dcmrecv", "-xf", ACCEPT_ALL, "Default", "-od", str(out), str(port)],
        None,
    ),
    "dcmtk": (
        lambda port, out: [
            "dcmrecv",
            "-xf",
            "/etc/dcmtk/storescp.cfg",
            "Default",
            "-od",
            str(out),
            str(port),
        ],
        DCMTK_ENV,
    ),
    "pynetdicom": (
        lambda port, out: [PYTHON, "-m", "pynetdicom", "storescp", str(port), "-od", str(out)],
        None,
    ),
}
SENDERS: dict[str, tuple[SenderCmd, dict[str, str] | None]] = {
    "dicomwire": (lambda port, src: [f"{BIN}/storescu", "-q", "+sd", "127.0.0.1", str(port), str(src)], None),
    "dcmtk": (lambda port, src: ["storescu", "-q", "+sd", "127.0.0.1", str(port), str(src)], DCMTK_ENV),
    "pynetdicom": (
        lambda port, src: [PYTHON, "-m", "pynetdicom", "storescu", "127.0.0.1", str(port), str(src)],
        None,
    ),
}


@dataclass
class Run:
    seconds: float
    sender_cpu: float
    sender_rss_mb: float
    receiver_cpu: float
    receiver_rss_mb: float


def _proc_cpu_and_peak(pid: int) -> tuple[float, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cpu, peak


def transfer(sender: str, receiver: str, source: Path, work: Path) -> Run:
    out = work / f"out-{sender}-{receiver}"
    out.mkdir()
    port = free_port()
    make_receiver, receiver_env = RECEIVERS[receiver]
    proc = subprocess.Popen(
        make_receiver(port, out), env=receiver_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_listening(port, proc)
        make_sender, sender_env = SENDERS[sender]
        timing = ["/usr/bin/time", "-f", "%U %S %M", "-o", str(work / "time.txt")]
        started = time.perf_counter()
        subprocess.run(
            timing + make_sender(port, source),
            env=sender_env,
            check=True,
            timeout=3600,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        receiver_cpu, receiver_rss = _proc_cpu_and_peak(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    user, system, rss_kb = (work / "time.txt").read_text().split()
    shutil.rmtree(out)
    return Run(seconds, float(user) + float(system), int(rss_kb) / 1024, receiver_cpu, receiver_rss)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500, help="number of small instances (default 500)")
    parser.add_argument(
        "--big-mb", type=int, default=1024, help="size of the big instance in MB (default 1024)"
    )
    parser.add_argument("--peers", default="dicomwire,dcmtk,pynetdicom", help="comma-separated peers")
    parser.add_argument("--work", default=None, help="scratch directory (default: a temporary one)")
    parser.add_argument("--no-tls", action="store_true", help="leave out the TLS rows")
    args = parser.parse_args(argv)
    names = [n for n in args.peers.split(",") if n in RECEIVERS and (n != "dcmtk" or have_dcmtk())]
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        small_dir, big_dir = work / "small", work / "big"
        small_dir.mkdir()
        big_dir.mkdir()
        small_bytes = make_small(small_dir, args.small)
        big_bytes = make_big(big_dir, args.big_mb) if args.big_mb > 0 else 0
        disk = disk_write_speed(work, min(args.big_mb, 1024) or 256)
        print(
            f"inputs: {args.small} small ({small_bytes / 1e6:.1f} MB), big {big_bytes / 1e6:.0f} MB; "
            f"disk sequential write {disk:.0f} MB/s"
        )
        results: dict[tuple[str, str, str], Run] = {}
        pairs = [(sender, receiver) for sender in names for receiver in names]
        if not args.no_tls:
            pairs += [(f"{s}+tls", f"{r}+tls") for s in names for r in names if "pynetdicom" not in (s, r)]
            _add_tls_peers(work / "pki", [n for n in names if n != "pynetdicom"])
        for sender, receiver in pairs:
            results[("small", sender, receiver)] = transfer(sender, receiver, small_dir, work)
            if big_bytes and "pynetdicom" not in (sender, receiver):
                results[("big", sender, receiver)] = transfer(sender, receiver, big_dir, work)
        _report(results, args.small, small_bytes, big_bytes, disk)
    return 0


def _add_tls_peers(directory: Path, names: list[str]) -> None:
    """``NAME+tls`` senders and receivers: the same commands with the same certificates."""
    from bench._tls import client_options, pki_in, server_options, with_tls

    pki = pki_in(directory)

    def receiver(base: ReceiverCmd) -> ReceiverCmd:
        return lambda port, out: with_tls(base(port, out), server_options(pki))

    def sender(base: SenderCmd) -> SenderCmd:
        return lambda port, src: with_tls(base(port, src), client_options(pki))

    for name in names:
        receive, receive_env = RECEIVERS[name]
        send, send_env = SENDERS[name]
        RECEIVERS[f"{name}+tls"] = (receiver(receive), receive_env)
        SENDERS[f"{name}+tls"] = (sender(send), send_env)


def _report(results: dict[tuple[str, str, str], Run], count: int, small: int, big: int, disk: float) -> None:
    print(
        f"\n{'case':6} {'sender -> receiver':32} {'inst/s':>8} {'MB/s':>8} "
        f"{'snd cpu':>8} {'snd MB':>7} {'rcv cpu':>8} {'rcv MB':>7}"
    )
    for (case, sender, receiver), run in results.items():
        size, instances = (small, count) if case == "small" else (big, 1)
        print(
            f"{case:6} {sender + ' -> ' + receiver:32} {instances / run.seconds:8.0f} "
            f"{size / 1e6 / run.seconds:8.1f} {run.sender_cpu:8.2f} {run.sender_rss_mb:7.0f} "
            f"{run.receiver_cpu:8.2f} {run.receiver_rss_mb:7.0f}"
        )
    print()
    ours = results.get(("small", "dicomwire", "dicomwire"))
    for other in ("dcmtk", "pynetdicom"):
        theirs = results.get(("small", other, other))
        if ours and theirs:
            print(f"small: dicomwire pair vs {other} pair: {theirs.seconds / ours.seconds:.2f}x instances/s")
    for case in ("small", "big"):
        ours_tls, theirs_tls = (results.get((case, f"{n}+tls", f"{n}+tls")) for n in ("dicomwire", "dcmtk"))
        ours_plain, theirs_plain = (results.get((case, n, n)) for n in ("dicomwire", "dcmtk"))
        if ours_tls and theirs_tls and ours_plain and theirs_plain:
            pair, plain = theirs_tls.seconds / ours_tls.seconds, theirs_plain.seconds / ours_plain.seconds
            cost_ours = ours_tls.seconds / ours_plain.seconds - 1
            cost_theirs = theirs_tls.seconds / theirs_plain.seconds - 1
            print(
                f"{case} over TLS: dicomwire pair vs dcmtk pair: {pair:.2f}x (plain: {plain:.2f}x); "
                f"TLS costs dicomwire {cost_ours:+.0%}, dcmtk {cost_theirs:+.0%}"
            )
    big_ours = results.get(("big", "dicomwire", "dicomwire"))
    if big_ours and big:
        print(
            f"big: dicomwire pair {big / 1e6 / big_ours.seconds:.0f} MB/s = "
            f"{big / 1e6 / big_ours.seconds / disk:.0%} of disk write speed; "
            f"receiver peak RSS {big_ours.receiver_rss_mb:.0f} MB"
        )


if __name__ == "__main__":
    raise SystemExit(main())
