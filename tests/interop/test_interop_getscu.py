"""getscu interop with DCMTK 3.6.7: ours and DCMTK's getscu against DCMTK's dcmqrscp.

The same command line runs with both tools in two empty directories: the exit codes,
the log lines (default and ``-v``), the names of the files received and their data
sets must agree; and both send the same A-ASSOCIATE-RQ (recorded by a listener here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomwire.ul.pdu import AAssociateRQ, decode_pdu
from ports import accepting, free_port

DCMQRSCP, DCMTK_GETSCU, STORESCU = "/usr/bin/dcmqrscp", "/usr/bin/getscu", "/usr/bin/storescu"
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not Path(DCMTK_GETSCU).exists(), reason="DCMTK is not installed"),
]
OURS = [sys.executable, "-m", "dicomwire.cli.getscu"]
ENV = {**os.environ, "TCP_NODELAY": "1"}
SOP_CLASSES = {
    "SC": "1.2.840.10008.5.1.4.1.1.7",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
}
STUDY_A, STUDY_B = "1.2.826.0.1.3680043.10.1009.7.1", "1.2.826.0.1.3680043.10.1009.7.2"


def write_instance(path: Path, modality: str, sop_instance: str, study: str) -> Path:
    ds = Dataset()
    ds.SOPClassUID = SOP_CLASSES[modality]
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = f"{sop_instance}.0"
    ds.PatientName, ds.PatientID, ds.StudyDate = "DOE^JOHN", "P1", "20260101"
    ds.Modality, ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = modality, "1", "1", "1"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel = 7, 0, 1
    ds.PhotometricInterpretation, ds.PixelData = "MONOCHROME2", b"\x01\x02\x03\x04"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


@dataclass(frozen=True)
class Archive:
    port: int
    root: Path


def wait_until_accepting(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while not accepting(port):
        assert proc.poll() is None, "dcmqrscp exited early"
        assert time.monotonic() < deadline, "dcmqrscp does not listen"
        time.sleep(0.02)  # a foreign process's port: there is no event to wait on


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("getscu-archive")
    (root / "store").mkdir()
    port = free_port()
    (root / "qr.cfg").write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nARCHIVE {root / 'store'} RW (200, 1024mb) ANY\nAETable END\n"
    )
    with (root / "qr.log").open("wb") as log:
        proc = subprocess.Popen(
            [DCMQRSCP, "-c", str(root / "qr.cfg")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_accepting(proc, port)
        files = [
            write_instance(root / "a.dcm", "SC", "1.2.826.0.1.3680043.10.1009.7.1.1", STUDY_A),
            write_instance(root / "b.dcm", "CT", "1.2.826.0.1.3680043.10.1009.7.1.2", STUDY_A),
            write_instance(root / "c.dcm", "MR", "1.2.826.0.1.3680043.10.1009.7.2.1", STUDY_B),
        ]
        sent = subprocess.run(
            [STORESCU, "-aec", "ARCHIVE", "127.0.0.1", str(port), *map(str, files)], timeout=30
        )
        assert sent.returncode == 0
        yield Archive(port, root)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


@dataclass(frozen=True)
class Run:
    code: int
    log: list[str]
    files: dict[str, Dataset]


def run_tool(tool: Sequence[str], args: Sequence[object], cwd: Path) -> Run:
    cwd.mkdir()
    done = subprocess.run([*tool, *map(str, args)], env=ENV, capture_output=True, timeout=60, cwd=cwd)
    # the header differs (banner, and "getscu: <description>" in our words): left out
    text = done.stderr.decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if "getscu v" not in line and not line.startswith("getscu: ")]
    files: dict[str, Dataset] = {p.name: dcmread(p) for p in sorted(cwd.rglob("*")) if p.is_file()}
    return Run(done.returncode, lines, files)


def both(tmp_path: Path, *args: object) -> tuple[Run, Run]:
    return run_tool([DCMTK_GETSCU], args, tmp_path / "dcmtk"), run_tool(OURS, args, tmp_path / "ours")


def query(archive: Archive, *extra: object) -> list[object]:
    return ["-aec", "ARCHIVE", "-S", "-k", "QueryRetrieveLevel=STUDY", *extra, "127.0.0.1", archive.port]


def assert_same(theirs: Run, ours: Run) -> None:
    assert ours.code == theirs.code
    assert ours.log == theirs.log
    assert sorted(ours.files) == sorted(theirs.files)
    for name, dataset in theirs.files.items():
        assert ours.files[name] == dataset  # the data sets (pydicom compares without the meta header)


@pytest.mark.parametrize(
    "extra",
    [
        ["-k", f"StudyInstanceUID={STUDY_A}"],
        ["-v", "-k", f"StudyInstanceUID={STUDY_A}"],
        ["-v", "+B", "-k", f"StudyInstanceUID={STUDY_A}"],
        ["-v", "--ignore", "-k", f"StudyInstanceUID={STUDY_A}"],
        ["-v", "--repeat", "2", "-k", f"StudyInstanceUID={STUDY_B}"],
        ["-v", "--abort", "-k", f"StudyInstanceUID={STUDY_B}"],
        ["-v", "-k", "StudyInstanceUID=9.9.9"],
        ["-v", "-k", "QueryRetrieveLevel=BAD"],
        ["-v", "-k", "Foo=1", "-k", "StudyInstanceUID"],
    ],
    ids=[
        "default",
        "verbose",
        "bit-preserving",
        "ignore",
        "repeat",
        "abort",
        "no-match",
        "bad-level",
        "bad-key",
    ],
)
def test_same_files_logs_and_exit_codes(archive: Archive, tmp_path: Path, extra: list[object]) -> None:
    theirs, ours = both(tmp_path, *query(archive, *extra))
    assert_same(theirs, ours)


def test_bit_preserving_file_is_named_by_uid(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(tmp_path, *query(archive, "+B", "-k", f"StudyInstanceUID={STUDY_B}"))
    assert list(ours.files) == list(theirs.files) == ["1.2.826.0.1.3680043.10.1009.7.2.1"]
    assert ours.files["1.2.826.0.1.3680043.10.1009.7.2.1"].file_meta.SourceApplicationEntityTitle == "GETSCU"


def test_failures_before_and_after_connecting(archive: Archive, tmp_path: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"junk\n")
    closed = free_port()
    cases: list[list[object]] = [
        ["-v", "-S", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", closed],
        ["-v", "-aec", "NOPE", "-S", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", archive.port],
        ["-v", "-aec", "ARCHIVE", "127.0.0.1", archive.port, junk],
        ["-v", "-aec", "ARCHIVE", "127.0.0.1", archive.port, tmp_path / "missing.dcm"],
        ["-k", "X", "-od", tmp_path / "missing", "127.0.0.1", archive.port],
        ["+B", "-B", "-k", "X", "127.0.0.1", closed],
        ["--ignore", "-od", ".", "-k", "X", "127.0.0.1", closed],
    ]
    for number, args in enumerate(cases):
        theirs = run_tool([DCMTK_GETSCU], args, tmp_path / f"dcmtk{number}")
        ours = run_tool(OURS, args, tmp_path / f"ours{number}")
        assert (ours.code, ours.log) == (theirs.code, theirs.log), args


# -- the A-ASSOCIATE-RQ ----------------------------------------------------------------------------


async def record_request(tool: Sequence[str], args: Sequence[str]) -> AAssociateRQ:
    """Start a listener, run the tool against it, return its A-ASSOCIATE-RQ (then reject)."""
    received: asyncio.Future[AAssociateRQ] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pdu_type, _, length = struct.unpack(">BBI", await reader.readexactly(6))
        pdu = decode_pdu(pdu_type, await reader.readexactly(length))
        assert isinstance(pdu, AAssociateRQ)
        writer.write(bytes([3, 0, 0, 0, 0, 4, 0, 1, 1, 1]))  # A-ASSOCIATE-RJ
        await writer.drain()
        writer.close()
        if not received.done():
            received.set_result(pdu)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        proc = await asyncio.create_subprocess_exec(
            *tool,
            *args,
            "127.0.0.1",
            str(port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=ENV,
        )
        assert await asyncio.wait_for(proc.wait(), 30) == 1
        return await asyncio.wait_for(received, 5)
    finally:
        server.close()
        await server.wait_closed()


def proposal(request: AAssociateRQ) -> tuple[object, ...]:
    info = request.user_information
    contexts = [(c.context_id, c.abstract_syntax, c.transfer_syntaxes) for c in request.presentation_contexts]
    roles = [(r.sop_class_uid, r.scu_role, r.scp_role) for r in info.role_selections]
    return request.calling_ae, request.called_ae, info.max_length, contexts, roles


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "QueryRetrieveLevel=STUDY"],
        ["-S", "-xd", "+xs", "-aet", "ME", "-aec", "YOU", "-pdu", "8192", "-k", "X"],
        ["-O", "-xi", "+xi", "-k", "X"],
        ["-xb", "+x4", "-k", "X"],
    ],
    ids=["default", "deflated-lossless", "implicit-quirk", "big-hevc"],
)
def test_same_association_request(args: list[str]) -> None:
    async def both_requests() -> tuple[AAssociateRQ, AAssociateRQ]:
        return await record_request([DCMTK_GETSCU], args), await record_request(OURS, args)

    theirs, ours = asyncio.run(both_requests())
    assert proposal(ours) == proposal(theirs)
