"""A C-STORE whose data set ends inside an element is never kept (issue 10).

DCMTK's dcmrecv (normal mode) fails to parse such a data set, stores nothing and
aborts the association; every storage SCP of ours does the same, in both modes,
also for big instances; a data set collected in memory is answered Cannot
Understand.  And dcmrecv's normal mode writes DCMTK's normal form.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import BinaryIO

import pytest
from raw_elements import Encoder, uid
from storage_helpers import (
    SC,
    UNCOMPRESSED,
    connect,
    dataset_bytes,
    encode,
    files_below,
    run,
    sample_dataset,
    storage_server,
)

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.errors import AssociationAborted
from dicomwire.services.server import Server, store_handler
from dicomwire.services.storage import StorageSCP
from dicomwire.services.storage_sink import open_temp_file

CUT = 600  # bytes of Pixel Data left out


def cut_dataset(instance: str, pixels: int = 2000) -> bytes:
    data = encode(sample_dataset(instance, PixelData=b"\x01" * pixels), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    return data[:-CUT]


async def store_raw(server: Server, instance: str, data: bytes) -> int | AssociationAborted:
    async with connect(server, [(SC, UNCOMPRESSED)]) as assoc:
        context = assoc.context_for(SC).context_id
        request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid=instance)
        try:
            await assoc.send(context, request, data)
            reply = await assoc.receive()
        except AssociationAborted as exc:
            return exc
        assert isinstance(reply.message, CStoreRSP)  # type: ignore[union-attr]
        return int(reply.message.status)  # type: ignore[union-attr]


@pytest.mark.parametrize("bit_preserving", [False, True], ids=["normal", "bit-preserving"])
@pytest.mark.parametrize("pixels", [2000, 3_000_000], ids=["small", "many-fragments"])
def test_a_cut_data_set_aborts_and_leaves_nothing(tmp_path: Path, bit_preserving: bool, pixels: int) -> None:
    created: list[str] = []

    def opener(directory: str) -> tuple[str, BinaryIO]:
        path, fp = open_temp_file(directory)
        created.append(path)
        return path, fp

    scp = StorageSCP(tmp_path, bit_preserving=bit_preserving, opener=opener)

    async def main() -> None:
        async with storage_server(scp) as server:
            outcome = await store_raw(server, "1.2.3.50", cut_dataset("1.2.3.50", pixels))
            assert isinstance(outcome, AssociationAborted)  # as DCMTK: no response, an A-ABORT
            # the server goes on: a whole data set after it is stored
            whole = cut_dataset("1.2.3.51", pixels) + b"\x01" * CUT
            assert await store_raw(server, "1.2.3.51", whole) == status.SUCCESS

    run(main())
    assert len(created) == 2  # the cut one had started its temporary file
    assert files_below(tmp_path) == ["SC.1.2.3.51"]


def test_a_cut_data_set_collected_in_memory_is_answered_cannot_understand(tmp_path: Path) -> None:
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        server = Server(AcceptorSettings(supported={SC: UNCOMPRESSED}), {CStoreRQ: store_handler(scp)})
        await server.start("127.0.0.1", 0)
        try:
            assert await store_raw(server, "1.2.3.52", cut_dataset("1.2.3.52")) == status.CANNOT_UNDERSTAND
        finally:
            await server.close()
        await asyncio.sleep(0)

    run(main())
    assert files_below(tmp_path) == []


def test_normal_form_on_request(tmp_path: Path) -> None:
    """``normalize``: DCMTK's normal mode (dcmrecv -B); the default keeps the data set."""
    e = Encoder()
    body = e.element(0x00080016, b"UI", uid(SC)) + e.element(0x00080018, b"UI", uid("1.2.3.53"))
    body += e.sequence(0x00081110, e.item(e.element(0x00081155, b"UI", uid("1.2.3"))))
    body += e.element(0x00100010, b"PN", b"Odd")
    dcmtk = e.element(0x00080016, b"UI", uid(SC)) + e.element(0x00080018, b"UI", uid("1.2.3.53"))
    dcmtk += e.sequence(
        0x00081110, e.item(e.element(0x00081155, b"UI", uid("1.2.3")), undefined=True), undefined=True
    )
    dcmtk += e.element(0x00100010, b"PN", b"Odd ")
    for normalize, expected in ((True, dcmtk), (False, body)):
        out = tmp_path / str(normalize)
        out.mkdir()
        scp = StorageSCP(out, normalize=normalize, source_ae_title=not normalize)

        async def main(scp: StorageSCP) -> None:
            async with storage_server(scp) as server:
                assert await store_raw(server, "1.2.3.53", body) == status.SUCCESS

        run(main(scp))
        assert dataset_bytes(out / "SC.1.2.3.53") == expected
        meta = (out / "SC.1.2.3.53").read_bytes()[:400]
        assert (b"STORE-SCU" in meta) is not normalize  # (0002,0016)
