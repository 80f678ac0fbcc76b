"""Shared by the storescu tests: run our storescu in-process, a scriptable storage SCP,
a corpus of test files, and data set comparison."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.uid import UID

from dicomwire import uids
from dicomwire.cli import storescu
from dicomwire.config import AcceptorSettings
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline import options
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CEchoRQ, CStoreRQ, CStoreRSP
from dicomwire.net.association import Association
from dicomwire.net.server import Server
from dicomwire.services.verification import handle_echo

# In storescp's order of preference (it takes implicit before big endian).
UNCOMPRESSED = (uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN)
ALL_STORAGE = tuple(
    dict.fromkeys([*uids.DCMTK_ALL_STORAGE, *(u for u in uids.SOP_CLASSES if uids.is_storage(u))])
)
TEST_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent  # type: ignore[arg-type]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


async def run_ours(*argv: object) -> Result:
    """Our storescu in this event loop (so a test server can answer it)."""
    out, err = io.StringIO(), io.StringIO()
    parser = storescu.build_parser()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ns = parser.parse_args([str(a) for a in argv])
            refused = options.prepare_tls(parser, ns, cli_logging.app_logger("storescu"))
            code = refused if refused is not None else await storescu.run(ns)
        except options.CommandLineExit as exc:
            code = exc.exit_code
        finally:
            cli_logging.shutdown_logging()
    return Result(code, out.getvalue(), err.getvalue())


def run_ours_sync(*argv: object) -> Result:
    return asyncio.run(asyncio.wait_for(run_ours(*argv), 60))


@dataclass
class Stored:
    transfer_syntax: str
    request: CStoreRQ
    dataset: bytes


@dataclass
class StoreSCP:
    """Our own scriptable storage SCP: answers with ``statuses`` in turn
    ("abort" aborts the association instead of answering, "hang" never answers)."""

    statuses: Sequence[int | str] = (0x0000,)
    received: list[Stored] = field(default_factory=list)

    async def handle(self, assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CStoreRQ)
        context = assoc.contexts[received.context_id]
        self.received.append(Stored(context.transfer_syntax, request, received.dataset or b""))
        index = min(len(self.received), len(self.statuses)) - 1
        action = self.statuses[index]
        if action == "abort":
            assoc.abort()
            return
        if action == "hang":  # never answer (until the server closes)
            await asyncio.Event().wait()
        assert isinstance(action, int)
        response = CStoreRSP(
            message_id_being_responded_to=request.message_id,
            affected_sop_class_uid=request.affected_sop_class_uid,
            affected_sop_instance_uid=request.affected_sop_instance_uid,
            status=action,
        )
        await assoc.send(received.context_id, response)


@contextlib.asynccontextmanager
async def store_scp(
    statuses: Sequence[int | str] = (0x0000,),
    syntaxes: Sequence[str] = UNCOMPRESSED,
    classes: Sequence[str] = ALL_STORAGE,
    **settings: object,
) -> AsyncIterator[tuple[Server, StoreSCP]]:
    scp = StoreSCP(statuses)
    supported = {uids.VERIFICATION: UNCOMPRESSED, **{c: tuple(syntaxes) for c in classes}}
    server = Server(
        AcceptorSettings(supported=supported, **settings),  # type: ignore[arg-type]
        {CEchoRQ: handle_echo, CStoreRQ: scp.handle},
    )
    server_log = logging.getLogger("dicomwire.server")  # keep the SCP's lines out of the tool's output
    server_log.propagate = False
    await server.start("127.0.0.1", 0)
    try:
        yield server, scp
    finally:
        await server.close()
        server_log.propagate = True


def decode_dataset(data: bytes, transfer_syntax: str) -> Dataset:
    syntax = UID(transfer_syntax)
    if syntax == uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        import zlib

        data = zlib.decompress(data, -zlib.MAX_WBITS)
    # pydicom annotates fp as BinaryIO, but reads from its own DicomIO classes
    fp = cast(BinaryIO, DicomBytesIO(data))
    return read_dataset(fp, syntax.is_implicit_VR, syntax.is_little_endian)


_SWAP = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def _little_endian(raw: bytes, vr: str, little: bool) -> bytes:
    """Binary values in little endian order, whatever order the data set had."""
    width = _SWAP.get(vr)
    if little or width is None:
        return raw
    return b"".join(raw[i : i + width][::-1] for i in range(0, len(raw), width))


def comparable(ds: Dataset, little: bool | None = None) -> dict[str, object]:
    """Element values by tag, recursively, for comparing two data sets
    (binary values normalised to little endian)."""
    if little is None:
        encoding = getattr(ds, "original_encoding", (None, True))
        little = True if encoding[1] is None else bool(encoding[1])
    result: dict[str, object] = {}
    for elem in ds:
        if elem.tag.group == 0x0002 or elem.tag == 0xFFFCFFFC:  # meta; trailing padding (DCMTK drops it)
            continue
        if elem.VR == "SQ":
            result[str(elem.tag)] = [comparable(item, little) for item in elem.value]
        else:
            value = elem.value
            if isinstance(value, bytes):
                value = _little_endian(value, elem.VR, little).rstrip(b"\0 ")
            elif isinstance(value, str):
                value = value.rstrip("\0 ")
            elif isinstance(value, pydicom.multival.MultiValue):
                value = list(value)
            result[str(elem.tag)] = value if elem.VR not in ("UN",) else bytes(elem.value)
    return result


def file_dataset(path: str | os.PathLike[str]) -> Dataset:
    return pydicom.dcmread(path, force=True)


def corpus(directory: Path, *, deflated: bool = True) -> list[Path]:
    """Varied files from pydicom's test data plus a generated multi-frame instance."""
    names = [
        "CT_small.dcm",  # explicit LE, ISO_IR 100
        "MR_small.dcm",
        "MR_small_implicit.dcm",  # implicit LE
        "MR_small_bigendian.dcm",  # explicit BE
        "rtplan.dcm",  # implicit, sequences
        "waveform_ecg.dcm",  # 290 kB, waveform
        "examples_rgb_color.dcm",  # 230 kB, US RGB
        "JPEG2000.dcm",  # encapsulated
        "SC_rgb_rle.dcm",  # RLE, ISO_IR 192
        "SC_rgb_jpeg_gdcm.dcm",  # JPEG lossless
        "J2K_pixelrep_mismatch.dcm",  # ISO 2022 IR 13 / IR 87 (Japanese)
        "image_dfl.dcm",  # deflated
        "test-SR.dcm",  # comprehensive SR
    ]
    files: list[Path] = []
    seen: set[str] = set()
    for name in names:
        if name == "image_dfl.dcm" and not deflated:
            continue
        source = TEST_FILES / name
        if source.exists():
            target = directory / name
            raw = source.read_bytes()
            uid = str(pydicom.dcmread(source, stop_before_pixels=True).SOPInstanceUID)
            if uid in seen:  # several test files are one image in different encodings
                fresh = uid[:-3] + str(900 + len(files))
                raw = raw.replace(uid.encode(), fresh.encode())
                uid = fresh
            seen.add(uid)
            target.write_bytes(raw)
            files.append(target)
    files.append(multiframe(directory / "multiframe.dcm"))
    return files


def multiframe(path: Path, frames: int = 40, rows: int = 128, columns: int = 128) -> Path:
    """A generated multi-frame grayscale secondary capture (about 1.3 MB)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7.3")
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(prefix=None)
    meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Müller^Jörg"
    ds.PatientID = "MF-1"
    ds.Modality = "OT"
    ds.StudyInstanceUID = str(pydicom.uid.generate_uid(prefix=None))
    ds.SeriesInstanceUID = str(pydicom.uid.generate_uid(prefix=None))
    ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes((i * 7) % 256 for i in range(frames * rows * columns * 2))
    ds.save_as(path, enforce_file_format=True)
    return path


@contextlib.contextmanager
def chdir(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
OUR_STORESCU = os.path.join(os.path.dirname(sys.executable), "storescu")


def dcmtk(tool: str) -> str | None:
    """Path of a DCMTK tool, None when DCMTK is not installed."""
    return shutil.which(tool, path="/usr/bin:/usr/local/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dcmtk_server(argv: Sequence[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A DCMTK server (storescp, dcmrecv) listening on ``port`` until the block ends."""
    proc = subprocess.Popen(list(argv), env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, f"{argv[0]} exited early"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"{argv[0]} not listening on {port}"
                time.sleep(0.02)  # polling a foreign process's port: no event to wait on
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_tool(argv: Sequence[str], *, dcmtk_env: bool = False, cwd: Path | None = None) -> Result:
    done = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=60, env=DCMTK_ENV if dcmtk_env else None, cwd=cwd
    )
    return Result(done.returncode, done.stdout, done.stderr)
