"""Shared pieces of the storage tests: sample files, a loopback storage server."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings
from dicomwire.net.association import MessageObserver
from dicomwire.net.client import associate
from dicomwire.services.dataset_head import encoding_of
from dicomwire.services.file_meta import encode_file_meta
from dicomwire.services.server import Server
from dicomwire.services.storage import StorageSCP

UNCOMPRESSED = [
    uids.EXPLICIT_VR_LITTLE_ENDIAN,
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_BIG_ENDIAN,
    uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
]
SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
DATA = Path(os.path.dirname(pydicom.data.__file__))
TEST_FILES = DATA / "test_files"

# pydicom's bundled files: several transfer syntaxes, SOP classes, character
# sets; every SOP Instance UID once (paths relative to pydicom's data folder).
CORPUS = [
    "test_files/CT_small.dcm",  # explicit VR LE, ISO_IR 100
    "test_files/MR_small_bigendian.dcm",  # explicit VR BE
    "test_files/rtdose.dcm",  # implicit VR LE; meta and data set disagree on the instance UID
    "test_files/SC_rgb_jpeg_dcmd.dcm",  # implicit VR LE, colour
    "test_files/image_dfl.dcm",  # deflated
    "test_files/SC_rgb_rle.dcm",  # RLE (odd pixel data length)
    "test_files/JPEG2000.dcm",  # JPEG 2000
    "test_files/SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline, ISO_IR 192
    "test_files/JPEGLSNearLossless_08.dcm",  # JPEG-LS near-lossless
    "test_files/test-SR.dcm",  # comprehensive SR, nested sequences
    "test_files/waveform_ecg.dcm",  # waveform
    "test_files/liver_1frame.dcm",  # segmentation
    "charset_files/chrH32.dcm",  # ISO 2022 IR 13 / 87 (Japanese)
    "charset_files/chrKoreanMulti.dcm",  # CR image, ISO 2022 IR 149
    "charset_files/chrX2.dcm",  # GB18030
    "charset_files/chrArab.dcm",  # ISO_IR 127
]


def run(coro: Awaitable[Any], limit: float = 60.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(bounded())


def encode(ds: Dataset, syntax: str) -> bytes:
    encoding = encoding_of(syntax)
    fp = DicomBytesIO()
    fp.is_implicit_VR = not encoding.explicit_vr
    fp.is_little_endian = encoding.little_endian
    write_dataset(fp, ds)
    data = fp.getvalue()
    if encoding.deflated:
        import zlib

        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        data = packer.compress(data) + packer.flush()
    return data


def sample_dataset(instance: str = "1.2.3.4", sop_class: str = SC, **values: Any) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = instance
    ds.PatientName = "Müller^Test"
    ds.PatientID = "ID1"
    ds.Rows = 2
    ds.Columns = 2
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.add_new(0x7FE00010, "OW", b"\x01\x02\x03\x04\x05\x06\x07\x08")
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def write_file(path: Path, ds: Dataset, syntax: str, *, meta: bool = True) -> Path:
    body = encode(ds, syntax)
    head = encode_file_meta(ds.SOPClassUID, ds.SOPInstanceUID, syntax) if meta else b""
    path.write_bytes(head + body)
    return path


def big_file(path: Path, size: int, instance: str = "1.2.3.999") -> Path:
    """An explicit VR LE secondary capture whose pixel data is ``size`` bytes, written in chunks."""

    def element(tag: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value

    uid = instance.encode() + (b"\0" if len(instance) % 2 else b"")
    with open(path, "wb") as fp:
        fp.write(encode_file_meta(SC, instance, uids.EXPLICIT_VR_LITTLE_ENDIAN))
        fp.write(element(0x00080016, b"UI", SC.encode() + b"\0"))
        fp.write(element(0x00080018, b"UI", uid))
        fp.write(element(0x00280008, b"IS", b"100 "))
        fp.write(struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OW", size))
        chunk = bytes(range(256)) * 4096
        left = size
        while left:
            step = min(left, len(chunk))
            fp.write(chunk[:step])
            left -= step
    return path


@asynccontextmanager
async def storage_server(
    scp: StorageSCP,
    supported: Mapping[str, Sequence[str]] | None = None,
    observer: MessageObserver | None = None,
    **settings: Any,
) -> AsyncIterator[Server]:
    if supported is None:
        supported = {uid: UNCOMPRESSED for uid in (SC, uids.CT_IMAGE_STORAGE, uids.MR_IMAGE_STORAGE)}
    server = Server(
        AcceptorSettings(ae_title="STORE-SCP", supported=supported, **settings), store=scp, observer=observer
    )
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close(abort_active=False)


def requestor(contexts: Sequence[tuple[str, Sequence[str]]], **kwargs: Any) -> RequestorSettings:
    return RequestorSettings(calling_ae="STORE-SCU", called_ae="STORE-SCP", contexts=contexts, **kwargs)


def connect(server: Server, contexts: Sequence[tuple[str, Sequence[str]]], **kwargs: Any) -> associate:
    """``async with connect(server, contexts) as assoc``."""
    return associate("127.0.0.1", server.port, requestor(contexts, **kwargs))


def files_below(directory: Path) -> list[str]:
    """Every file below ``directory`` as a relative path, sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def dataset_bytes(path: Path) -> bytes:
    """The bytes of a file after its meta header."""
    from dicomwire.services.storage import inspect_file

    source = inspect_file(path)
    with open(path, "rb") as fp:
        fp.seek(source.dataset_offset)
        return fp.read()
