"""Crash safety of the archive: our dcmqrscp killed with SIGKILL while instances stream in.

Three associations send 300 instances at once (``dicomwire.store``, in this process), and
every SOP Instance UID answered Success is recorded.  Once a seeded number of them has been
acknowledged the server gets SIGKILL, with the other transfers in flight.  Right after the
kill every acknowledged instance has both its index row and its file.  Before the restart on
the same configuration the area also gets one of each kind of damage reconciliation repairs,
in case the kill did not leave it: an unfinished ``.dicomwire-*.part`` file, a row whose file
is gone (as a kill between the commit and the rename leaves), a complete file without its
row.  After the restart, which reports exactly the damage there was:

* every acknowledged instance is in the index and its file is there, readable, with the
  right SOP Instance UID (nothing acknowledged is lost);
* no ``.dicomwire-*.part`` file is left, every ``.dcm`` file in the area is indexed and
  every row has its file (nothing half-written is visible);
* the archive serves on: instances it did not store (those in flight among them) are sent
  again and stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

import dicomwire
from dicomwire import uids
from dicomwire.archive.service import INDEX_FILE
from dicomwire.archive.store import instance_file_name
from dicomwire.services.storage_sink import TEMP_PREFIX, TEMP_SUFFIX
from ports import accepting, free_port

OURS: Final = [sys.executable, "-m", "dicomwire.cli.dcmqrscp"]
LIMIT: Final = 30.0  # seconds: a start, a stop, a sending run
SC: Final = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
CONTEXTS: Final = [(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
INSTANCES: Final = 300
SENDERS: Final = 3  # concurrent associations
PIXELS: Final = 64 * 64 * 2  # bytes of pixel data an instance: transfers take a little while
_UID_ROOT: Final = "1.2.826.0.1.3680043.10.1011."
# after how many acknowledgements the server is killed: seeded, so every run kills at the same points
KILL_POINTS: Final = sorted(random.Random(20261204).sample(range(10, INSTANCES - 20), 3))
SPARE: Final = 1  # an instance never sent: the planted orphan
RESEND: Final = 20  # instances sent again after the restart


# -- the server ------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def kill(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(LIMIT)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(LIMIT)
        except subprocess.TimeoutExpired:
            return self.kill()


def start(config: Path, log_path: Path) -> Server:
    """Our dcmqrscp on ``config`` and a free port, once it accepts connections (which it does
    only after reconciling its storage areas with the index)."""
    for _ in range(5):
        port = free_port()
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                [*OURS, "-c", str(config), str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, port, log_path)
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline and process.poll() is None:
            if accepting(port):
                return server
            time.sleep(0.05)  # a process's port: there is no event to wait on
        code = server.stop()
        if "Address already in use" not in server.log:
            raise AssertionError(f"dcmqrscp did not start (exit {code}):\n{server.log}")
    raise AssertionError("no free port for dcmqrscp")


@contextlib.contextmanager
def running(config: Path, log_path: Path) -> Iterator[Server]:
    server = start(config, log_path)
    try:
        yield server
    finally:
        server.stop()


# -- instances -----------------------------------------------------------------------------------


@dataclass
class Corpus:
    files: dict[str, Path] = field(default_factory=dict)  # SOP Instance UID -> file, sent
    spare: dict[str, Path] = field(default_factory=dict)  # never sent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    directory = tmp_path_factory.mktemp("instances")
    result = Corpus()
    for n in range(INSTANCES + SPARE):
        study = f"{_UID_ROOT}{n % 7}"
        ds = Dataset()
        ds.PatientName, ds.PatientID = f"CRASH^{n % 3}", f"C{n % 3}"
        ds.StudyInstanceUID, ds.StudyDate = study, "20260101"
        ds.SeriesInstanceUID, ds.Modality = f"{study}.{n % 2}", "OT"
        ds.SOPClassUID, ds.SOPInstanceUID, ds.InstanceNumber = SC, f"{study}.{n % 2}.{n}", n
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 64, 64, 16, 16, 15
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
        ds.PixelData = bytes([n % 256]) * PIXELS
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = UID(SC)
        ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
        path = directory / f"i{n:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        (result.files if n < INSTANCES else result.spare)[str(ds.SOPInstanceUID)] = path
    return result


# -- sending and killing --------------------------------------------------------------------------------


@dataclass
class Sending:
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # what ended each sender early


async def _sender(
    port: int, todo: Sequence[tuple[str, Path]], sending: Sending, kill_after: int | None, server: Server
) -> None:
    try:
        async with dicomwire.associate(
            "127.0.0.1", port, calling_ae="CRASHSCU", called_ae="ARCHIVE", contexts=CONTEXTS
        ) as assoc:
            for uid, path in todo:
                response = await dicomwire.store(assoc, path)
                if response.status != dicomwire.status.SUCCESS:
                    sending.failures.append(f"{uid}: status {response.status:#06x}")
                    return
                sending.acknowledged.append(uid)
                if kill_after is not None and len(sending.acknowledged) == kill_after:
                    # the other associations are mid-transfer or mid-commit right now
                    server.process.send_signal(signal.SIGKILL)
    except (dicomwire.DicomWireError, OSError) as exc:
        sending.failures.append(f"{type(exc).__name__}: {exc}")


def send(server: Server, files: Sequence[tuple[str, Path]], kill_after: int | None = None) -> Sending:
    """Send ``files`` over SENDERS associations at once; SIGKILL the server after ``kill_after``
    acknowledgements.  Returns the acknowledged SOP Instance UIDs."""
    sending = Sending()
    shares = [files[n::SENDERS] for n in range(SENDERS)]

    async def main() -> None:
        senders = [_sender(server.port, share, sending, kill_after, server) for share in shares if share]
        await asyncio.wait_for(asyncio.gather(*senders), LIMIT)

    asyncio.run(main())
    return sending


# -- checking ---------------------------------------------------------------------------------------------


def write_config(root: Path) -> tuple[Path, Path]:
    area = root / "archive"
    area.mkdir(parents=True)
    config = root / "dcmqrscp.cfg"
    config.write_text(
        "NetworkTCPPort = 104\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nARCHIVE {area} RW (500, 1024mb) ANY\nAETable END\n"
    )
    return config, area


def indexed(area: Path) -> dict[str, str]:
    """SOP Instance UID -> file name, read from the index itself."""
    with contextlib.closing(sqlite3.connect(area / INDEX_FILE)) as db:
        rows = db.execute("select sop_instance_uid, path from instance where area = 'ARCHIVE'").fetchall()
    result = {str(uid): str(path) for uid, path in rows}
    assert len(result) == len(rows), "one row per SOP Instance UID"
    return result


def leftovers(area: Path) -> list[str]:
    return sorted(n for n in os.listdir(area) if n.startswith(TEMP_PREFIX) and n.endswith(TEMP_SUFFIX))


def check_consistent(area: Path) -> dict[str, str]:
    """No unfinished file, every file indexed, every row with its file, every file the instance
    its row says; returns the index."""
    index = indexed(area)
    assert leftovers(area) == []
    names = set(os.listdir(area))
    files = {n for n in names if n.endswith(".dcm")}
    database = {INDEX_FILE, f"{INDEX_FILE}-wal", f"{INDEX_FILE}-shm", f"{INDEX_FILE}-journal"}
    assert names - files <= database, "nothing else in the area"
    assert set(index.values()) == files, "every file indexed, every row with its file"
    for uid, name in index.items():
        assert str(pydicom.dcmread(area / name, stop_before_pixels=True).SOPInstanceUID) == uid
    return index


_RECONCILED = re.compile(
    r"removed (\d+) unfinished files, dropped (\d+) index rows without files, "
    r"indexed (\d+) files without rows"
)


def dcm_files(area: Path) -> set[str]:
    return {name for name in os.listdir(area) if name.endswith(".dcm")}


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_acknowledged_instances_survive_sigkill(corpus: Corpus, tmp_path: Path, kill_after: int) -> None:
    config, area = write_config(tmp_path)
    files = list(corpus.files.items())
    with running(config, tmp_path / "first.log") as server:
        sending = send(server, files, kill_after)
        assert server.process.wait(LIMIT) == -signal.SIGKILL
    acknowledged = sending.acknowledged
    assert kill_after <= len(acknowledged) < INSTANCES, "killed in the middle of the run"
    assert len(set(acknowledged)) == len(acknowledged)
    assert sending.failures, "the senders noticed the kill"

    # What the kill left: an acknowledged instance has its row and its file, both.  The store
    # indexes before it renames, so an instance caught in between has a row without a file.
    before, on_disk = indexed(area), dcm_files(area)
    assert set(acknowledged) <= set(before), "acknowledged means indexed"
    rows_without_files = {uid for uid, name in before.items() if name not in on_disk}
    assert not rows_without_files & set(acknowledged), "acknowledged means in place"
    files_without_rows = on_disk - set(before.values())
    real_leftovers = leftovers(area)  # the transfers in flight, usually

    # the damage a crash can leave, planted in case the kill did not leave it
    (area / f"{TEMP_PREFIX}0123456789abcdef{TEMP_SUFFIX}").write_bytes(b"half a data set")
    orphan_uid, orphan = next(iter(corpus.spare.items()))  # a complete file without its row
    shutil.copyfile(orphan, area / instance_file_name(SC, orphan_uid))
    lost_uid = acknowledged[0]  # a row whose file is gone
    (area / before[lost_uid]).unlink()

    with running(config, tmp_path / "second.log") as server:
        index = check_consistent(area)
        for uid in acknowledged:
            if uid != lost_uid:
                assert uid in index, f"acknowledged {uid} lost"
        assert lost_uid not in index
        assert orphan_uid in index
        assert not rows_without_files & set(index)
        found = _RECONCILED.search(server.log)
        assert found is not None, server.log
        assert tuple(map(int, found.groups())) == (
            len(real_leftovers) + 1,
            len(rows_without_files) + 1,
            len(files_without_rows) + 1,
        )

        # the archive serves on: the lost one and the first of those not stored (the transfers
        # the kill interrupted among them) go again
        again = [(lost_uid, corpus.files[lost_uid])]
        again += [(uid, path) for uid, path in files if uid not in index and uid != lost_uid][:RESEND]
        resent = send(server, again)
        assert resent.failures == []
        assert sorted(resent.acknowledged) == sorted(uid for uid, _ in again)
        assert set(check_consistent(area)) == set(index) | {uid for uid, _ in again}
    assert server.process.returncode == 0
