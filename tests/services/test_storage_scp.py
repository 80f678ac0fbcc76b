"""StorageSCP over loopback: our store() -> our StorageSCP.

Received data sets equal the sent ones (byte for byte in bit-preserving mode),
a large instance goes through with flat memory, hostile UIDs stay inside the
output directory, and failures (disk full, aborted association, unreadable
data set) answer with a failure status and leave no file behind.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any, BinaryIO

import pydicom
import pytest
from storage_helpers import (
    CORPUS,
    DATA,
    SC,
    UNCOMPRESSED,
    big_file,
    connect,
    dataset_bytes,
    encode,
    files_below,
    run,
    sample_dataset,
    storage_server,
    write_file,
)

from dicomwire import uids
from dicomwire.dcmtk.naming import DcmtkNaming, FileNaming
from dicomwire.dcmtk.scplog import DcmtkMessageLog
from dicomwire.dimse import status
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.net.association import Association
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.storage import (
    FsyncPolicy,
    InstanceInfo,
    StorageSCP,
    inspect_file,
    store,
)
from dicomwire.services.storage_sink import open_temp_file

# What a handler is told when it is called outside a server.
INFO = AssociationInfo("SCU", "STORE-SCP", ("127.0.0.1", 0), 1, uids.IMPLICIT_VR_LITTLE_ENDIAN, 1)
ALL_SYNTAXES = [*UNCOMPRESSED, uids.RLE_LOSSLESS, uids.JPEG_BASELINE, "1.2.840.10008.1.2.4.91"]


def corpus_contexts(sources: list[Any]) -> list[tuple[str, list[str]]]:
    return [(s.sop_class_uid, [s.transfer_syntax]) for s in sources]


def all_supported(sources: list[Any]) -> dict[str, list[str]]:
    syntaxes = list(dict.fromkeys([*ALL_SYNTAXES, *(s.transfer_syntax for s in sources)]))
    return {s.sop_class_uid: syntaxes for s in sources}


async def send_raw(assoc: Association, instance: str, data: bytes, sop_class: str = SC) -> CStoreRSP:
    """A C-STORE whose command and data set we choose freely."""
    context = assoc.context_for(sop_class)
    message_id = assoc.next_message_id()
    request = CStoreRQ(
        message_id=message_id, affected_sop_class_uid=sop_class, affected_sop_instance_uid=instance
    )
    await assoc.send(context.context_id, request, data)
    reply = await assoc.receive()
    assert isinstance(reply.message, CStoreRSP)  # type: ignore[union-attr]
    return reply.message  # type: ignore[union-attr]


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
@pytest.mark.parametrize("bit_preserving", [False, True])
def test_corpus_round_trip(tmp_path: Path, bit_preserving: bool) -> None:
    sources = [inspect_file(DATA / name) for name in CORPUS]
    scp = StorageSCP(tmp_path, bit_preserving=bit_preserving)

    async def main() -> None:
        async with (
            storage_server(scp, all_supported(sources)) as server,
            connect(server, corpus_contexts(sources)) as assoc,
        ):
            for source in sources:
                assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    for source in sources:
        prefix = uids.dcmtk_modality_prefix(source.sop_class_uid)
        received = tmp_path / f"{prefix}.{source.sop_instance_uid}"
        sent, got = pydicom.dcmread(source.path), pydicom.dcmread(received)
        assert got == sent, source.path  # element by element
        sent_bytes = dataset_bytes(Path(source.path))
        if len(sent_bytes) % 2:  # an odd-length deflated stream travels with its 00 pad byte
            sent_bytes += b"\0"
        assert dataset_bytes(received) == sent_bytes  # and byte for byte
        meta = got.file_meta
        assert meta.TransferSyntaxUID == source.transfer_syntax
        assert meta.MediaStorageSOPClassUID == source.sop_class_uid
        assert meta.MediaStorageSOPInstanceUID == source.sop_instance_uid
        assert meta.SourceApplicationEntityTitle == "STORE-SCU"
        assert meta.ImplementationClassUID == uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    assert len(files_below(tmp_path)) == len(sources)


def test_large_instance_flat_memory(tmp_path: Path) -> None:
    size = 200 * 1000 * 1000
    source_path = big_file(tmp_path / "big.dcm", size)
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, bit_preserving=True, fsync=FsyncPolicy.NONE)
    source = inspect_file(source_path)
    supported = {SC: [uids.EXPLICIT_VR_LITTLE_ENDIAN]}

    async def main() -> tuple[float, int]:
        async with (
            storage_server(scp, supported, max_pdu_length=131072) as server,
            connect(server, [(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])], max_pdu_length=131072) as assoc,
        ):
            tracemalloc.start()
            started = time.perf_counter()
            response = await store(assoc, source)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert response.status == status.SUCCESS
            return elapsed, peak

    elapsed, peak = run(main(), 120)
    print(
        f"\n200 MB C-STORE over loopback: {size / elapsed / 1e6:.0f} MB/s, "
        f"peak traced memory {peak / 1e6:.2f} MB"
    )
    assert peak < 16 * 1000 * 1000  # both ends, one process: flat whatever the size
    received = inspect_file(out / "SC.1.2.3.999")
    assert received.dataset_length == source.dataset_length
    assert _digest(Path(received.path), received.dataset_offset) == _digest(
        source_path, source.dataset_offset
    )


def _digest(path: Path, offset: int) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fp:
        fp.seek(offset)
        while chunk := fp.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


HOSTILE = {
    "../../../../tmp/x": "SC..._.._.._.._tmp_x",
    "..": "SC...",
    "/etc/passwd": "SC._etc_passwd",
    "a\\b": "SC.a_b",
    "a\x00c": "SC.a_c",
    "x" * 60: "SC." + "x" * 60,
    "1.2.3.\xff": "SC.1.2.3._",  # a non-ASCII byte: DCMTK stores it under this name too
}


@pytest.mark.parametrize("bit_preserving", [False, True])
def test_hostile_uids_stay_inside(tmp_path: Path, bit_preserving: bool) -> None:
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, bit_preserving=bit_preserving)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            for uid in HOSTILE:
                data = encode(sample_dataset("1.2.3"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
                assert (await send_raw(assoc, uid, data)).status == status.SUCCESS

    run(main())
    assert files_below(tmp_path) == sorted(f"out/{name}" for name in HOSTILE.values())


@pytest.mark.parametrize(("bit_preserving", "meta_instance"), [(False, "1.2.3.200"), (True, "1.2.3.100")])
def test_command_and_data_set_disagree(tmp_path: Path, bit_preserving: bool, meta_instance: str) -> None:
    """As DCMTK: the file is named after the command; in normal mode the meta
    header follows the data set, in bit-preserving mode the command."""
    scp = StorageSCP(tmp_path, bit_preserving=bit_preserving)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(
                sample_dataset("1.2.3.200", sop_class=uids.CT_IMAGE_STORAGE), uids.EXPLICIT_VR_LITTLE_ENDIAN
            )
            assert (await send_raw(assoc, "1.2.3.100", data)).status == status.SUCCESS

    run(main())
    meta = pydicom.dcmread(tmp_path / "SC.1.2.3.100").file_meta
    assert meta.MediaStorageSOPInstanceUID == meta_instance
    assert meta.MediaStorageSOPClassUID == (SC if bit_preserving else uids.CT_IMAGE_STORAGE)


@pytest.mark.parametrize(
    ("bit_preserving", "expected"), [(False, status.CANNOT_UNDERSTAND), (True, status.SUCCESS)]
)
def test_empty_data_set(tmp_path: Path, bit_preserving: bool, expected: int) -> None:
    """DCMTK: normal mode answers 0xC000 and stores nothing; bit-preserving stores the meta header alone."""
    scp = StorageSCP(tmp_path, bit_preserving=bit_preserving)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            assert (await send_raw(assoc, "1.2.3.109", b"")).status == expected
            good = encode(sample_dataset("1.2.3.110"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            assert (await send_raw(assoc, "1.2.3.110", good)).status == status.SUCCESS

    run(main())
    stored = ["SC.1.2.3.109", "SC.1.2.3.110"] if bit_preserving else ["SC.1.2.3.110"]
    assert files_below(tmp_path) == stored


def test_unreadable_data_set_in_normal_mode(tmp_path: Path) -> None:
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        async with (
            storage_server(scp) as server,
            connect(server, [(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]) as assoc,
        ):
            garbage = b"\x08\x00\x16\x00\x01\x02\x04\x00abcd"
            assert (await send_raw(assoc, "1.2.3", garbage)).status == status.CANNOT_UNDERSTAND

    run(main())
    assert files_below(tmp_path) == []


class FailingWriter:
    """A file that fails with ENOSPC once ``budget`` bytes were written."""

    def __init__(self, inner: BinaryIO, budget: int) -> None:
        self.inner = inner
        self.budget = budget

    def write(self, data: bytes | memoryview) -> int:
        if len(data) > self.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= len(data)
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("budget", [0, 100, 50_000])
def test_disk_full_answers_out_of_resources(tmp_path: Path, budget: int) -> None:
    calls = []

    def opener(directory: str) -> tuple[str, Any]:
        path, fp = open_temp_file(directory)
        calls.append(path)
        if len(calls) == 1:
            return path, FailingWriter(fp, budget)
        return path, fp

    scp = StorageSCP(tmp_path, opener=opener, bit_preserving=True)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(
                sample_dataset("1.2.3.1", EncapsulatedDocument=b"x" * 100_000), uids.EXPLICIT_VR_LITTLE_ENDIAN
            )
            assert (await send_raw(assoc, "1.2.3.1", data)).status == status.OUT_OF_RESOURCES
            # the association goes on, and the next instance is stored
            assert (await send_raw(assoc, "1.2.3.2", data)).status == status.SUCCESS

    run(main())
    assert len(calls) == 2
    assert files_below(tmp_path) == ["SC.1.2.3.2"]


def test_file_cannot_be_created(tmp_path: Path) -> None:
    def opener(directory: str) -> tuple[str, BinaryIO]:
        raise OSError(errno.EACCES, "Permission denied")

    scp = StorageSCP(tmp_path, opener=opener)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(sample_dataset("1.2.3.1"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            assert (await send_raw(assoc, "1.2.3.1", data)).status == status.OUT_OF_RESOURCES

    run(main())
    assert files_below(tmp_path) == []


class StopReading(Exception):
    pass


class HalfFile:
    """Reads like a file, then fails half way (so the sender stops mid data set)."""

    def __init__(self, data: bytes, stop_after: int) -> None:
        self.data = data
        self.pos = 0
        self.stop_after = stop_after

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.stop_after:
            raise StopReading
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("bit_preserving", [False, True])
def test_aborted_association_leaves_nothing(tmp_path: Path, bit_preserving: bool) -> None:
    created: list[str] = []

    def opener(directory: str) -> tuple[str, BinaryIO]:
        path, fp = open_temp_file(directory)
        created.append(path)
        return path, fp

    scp = StorageSCP(tmp_path, bit_preserving=bit_preserving, opener=opener)
    data = encode(
        sample_dataset("1.2.3.7", EncapsulatedDocument=b"y" * 3_000_000), uids.EXPLICIT_VR_LITTLE_ENDIAN
    )

    async def main() -> None:
        async with storage_server(scp) as server:
            assoc = await connect(server, [(SC, UNCOMPRESSED)])
            context = assoc.context_for(SC).context_id
            request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3.7")
            with pytest.raises(StopReading):
                await assoc.send(context, request, HalfFile(data, 2_000_000))  # type: ignore[arg-type]
            assoc.abort()
            await assoc.wait_closed(5)
        # the server has closed (it waits for its associations): the sink is gone too

    run(main())
    assert len(created) == 1  # the transfer had started writing its temporary file
    assert files_below(tmp_path) == []


def test_discard_pending_removes_unfinished_temp_files(tmp_path: Path) -> None:
    scp = StorageSCP(tmp_path, bit_preserving=True)

    sink = scp.open_sink(
        CStoreRQ(
            message_id=1,
            affected_sop_class_uid=SC,
            affected_sop_instance_uid="1.2",
        ),
        INFO,
    )
    sink.write(b"\x08\x00\x16\x00")
    assert [p.name.startswith(".dicomwire-") for p in tmp_path.iterdir()] == [True]
    scp.discard_pending()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", [FileNaming.UNIQUE, FileNaming.SHORT_UNIQUE, FileNaming.SYSTEM_TIME])
def test_unique_names_never_overwrite(tmp_path: Path, scheme: FileNaming) -> None:
    scp = StorageSCP(tmp_path, naming=DcmtkNaming(scheme, ".dcm"))

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(sample_dataset("1.2.3.5"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            for _ in range(5):
                assert (await send_raw(assoc, "1.2.3.5", data)).status == status.SUCCESS

    run(main())
    names = files_below(tmp_path)
    assert len(names) == 5 and all(name.endswith(".dcm") for name in names)


def test_a_taken_name_is_drawn_again(tmp_path: Path) -> None:
    drawn = iter(["SC_taken", "SC_taken", "SC_free"])

    class Naming:
        overwrite = False
        needs_series_date = False

        def __call__(self, info: InstanceInfo) -> str:
            return next(drawn)

    (tmp_path / "SC_taken").write_bytes(b"keep me")
    scp = StorageSCP(tmp_path, naming=Naming())

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(sample_dataset("1.2.3.5"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            assert (await send_raw(assoc, "1.2.3.5", data)).status == status.SUCCESS

    run(main())
    assert (tmp_path / "SC_taken").read_bytes() == b"keep me"
    assert files_below(tmp_path) == ["SC_free", "SC_taken"]


def test_same_instance_twice_overwrites_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    messages = DcmtkMessageLog(logging.getLogger("dicomwire.test"))
    scp = StorageSCP(tmp_path, on_stored=messages.stored)

    async def main() -> None:
        async with (
            storage_server(scp, observer=messages) as server,
            connect(server, [(SC, UNCOMPRESSED)]) as assoc,
        ):
            for name in ("First", "Second"):
                data = encode(sample_dataset("1.2.3.6", PatientName=name), uids.EXPLICIT_VR_LITTLE_ENDIAN)
                assert (await send_raw(assoc, "1.2.3.6", data)).status == status.SUCCESS

    with caplog.at_level(logging.INFO, logger="dicomwire"):
        run(main())
    assert files_below(tmp_path) == ["SC.1.2.3.6"]
    assert pydicom.dcmread(tmp_path / "SC.1.2.3.6").PatientName == "Second"
    assert f"file already exists, overwriting: {tmp_path / 'SC.1.2.3.6'}" in caplog.messages
    assert f"Stored received object to file: {tmp_path / 'SC.1.2.3.6'}" in caplog.messages
    assert "Received C-STORE Request (MsgID 2)" in caplog.messages
    assert "Sending C-STORE Response (Success)" in caplog.messages


@pytest.mark.parametrize("bit_preserving", [False, True])
def test_series_date_subdirectories(tmp_path: Path, bit_preserving: bool) -> None:
    scp = StorageSCP(tmp_path, naming=DcmtkNaming(series_date_subdir=True), bit_preserving=bit_preserving)
    today = time.strftime("%Y%m%d")

    async def main() -> None:
        async with storage_server(scp) as server:
            for index, syntax in enumerate(UNCOMPRESSED):
                async with connect(server, [(SC, [syntax])]) as assoc:
                    ds = sample_dataset(f"1.2.3.{index}", SeriesDate="20210304")
                    assert (await send_raw(assoc, ds.SOPInstanceUID, encode(ds, syntax))).status == 0
            async with connect(server, [(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]) as assoc:
                ds = sample_dataset("1.2.3.9")
                assert (
                    await send_raw(assoc, "1.2.3.9", encode(ds, uids.EXPLICIT_VR_LITTLE_ENDIAN))
                ).status == 0

    run(main())
    expected = [f"data/2021/03/04/SC.1.2.3.{i}" for i in range(len(UNCOMPRESSED))] + [
        f"undef/{today}/SC.1.2.3.9"
    ]
    assert files_below(tmp_path) == sorted(expected)


def test_unsafe_naming_function_is_refused(tmp_path: Path) -> None:
    class Escaping:
        overwrite = True
        needs_series_date = False

        def __call__(self, info: InstanceInfo) -> str:
            return "../escaped"

    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, naming=Escaping())

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(sample_dataset("1.2.3"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            assert (await send_raw(assoc, "1.2.3", data)).status == status.OUT_OF_RESOURCES

    run(main())
    assert files_below(tmp_path) == []


def test_ignore_receives_and_stores_nothing(tmp_path: Path) -> None:
    scp = StorageSCP(tmp_path, ignore=True)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            data = encode(sample_dataset("1.2.3"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
            assert (await send_raw(assoc, "1.2.3", data)).status == status.SUCCESS

    run(main())
    assert files_below(tmp_path) == []


@pytest.mark.parametrize("policy", list(FsyncPolicy))
def test_fsync_policies_and_concurrent_associations(tmp_path: Path, policy: FsyncPolicy) -> None:
    import asyncio

    scp = StorageSCP(tmp_path, fsync=policy)

    async def one(server: Any, base: int) -> None:
        async with connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            for n in range(5):
                data = encode(sample_dataset(f"1.2.{base}.{n}"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
                assert (await send_raw(assoc, f"1.2.{base}.{n}", data)).status == status.SUCCESS

    async def main() -> None:
        async with storage_server(scp) as server:
            await asyncio.gather(*(one(server, base) for base in range(4)))

    run(main())
    assert len(files_below(tmp_path)) == 20


def test_data_set_collected_in_memory_is_stored_too(tmp_path: Path) -> None:
    """Without the sink factory the assembler keeps the data set in memory; complete() copes."""
    import asyncio

    from dicomwire.config import AcceptorSettings
    from dicomwire.services.server import Server, store_handler

    scp = StorageSCP(tmp_path)

    async def main() -> None:
        server = Server(AcceptorSettings(supported={SC: UNCOMPRESSED}), {CStoreRQ: store_handler(scp)})
        await server.start("127.0.0.1", 0)
        try:
            async with connect(server, [(SC, UNCOMPRESSED)]) as assoc:
                data = encode(sample_dataset("1.2.3.8"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
                assert (await send_raw(assoc, "1.2.3.8", data)).status == status.SUCCESS
        finally:
            await server.close()
        await asyncio.sleep(0)

    run(main())
    assert files_below(tmp_path) == ["SC.1.2.3.8"]


def test_bit_preserving_keeps_odd_encodings(tmp_path: Path) -> None:
    """Undefined lengths, group lengths, trailing padding: untouched in the file."""
    source = write_file(tmp_path / "odd.dcm", sample_dataset("1.2.3.77"), uids.IMPLICIT_VR_LITTLE_ENDIAN)
    raw = dataset_bytes(source)
    odd = (
        b"\x08\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
        + raw
        + b"\xfc\xff\xfc\xff\x02\x00\x00\x00\x00\x00"
    )
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, bit_preserving=True)

    async def main() -> None:
        async with (
            storage_server(scp) as server,
            connect(server, [(SC, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]) as assoc,
        ):
            assert (await send_raw(assoc, "1.2.3.77", odd)).status == status.SUCCESS

    run(main())
    assert dataset_bytes(out / "SC.1.2.3.77") == odd


def test_name_too_long_answers_out_of_resources(tmp_path: Path) -> None:
    """A command UID far beyond 64 characters (our encoder refuses to send one,
    a hostile peer may): the file cannot be named, nothing is left behind."""
    scp = StorageSCP(tmp_path)
    request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid="1." * 5000)
    sink = scp.open_sink(request, INFO)
    sink.write(encode(sample_dataset("1.2.3"), uids.IMPLICIT_VR_LITTLE_ENDIAN))
    instance = ReceivedInstance(request, uids.IMPLICIT_VR_LITTLE_ENDIAN, None, sink)
    outcome = run(scp.complete(instance, INFO))
    assert outcome.status == status.OUT_OF_RESOURCES
    assert "File name too long" in (outcome.error or "")
    assert list(tmp_path.iterdir()) == []
