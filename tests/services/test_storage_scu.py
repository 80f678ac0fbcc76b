"""Storage SCU: inspect_file() and store(), against our StorageSCP over loopback."""

from __future__ import annotations

import asyncio
import io
import struct
from array import array
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from storage_helpers import (
    SC,
    TEST_FILES,
    UNCOMPRESSED,
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
from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import DatasetSink, MessageReceived
from dicomwire.dimse.messages import CStoreRQ
from dicomwire.errors import DatasetCodecError, DimseTimeout, NoAcceptedContext
from dicomwire.net.association import Association
from dicomwire.services import transcode
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.server import Server
from dicomwire.services.storage import StorageSCP, StoreSource, TruncatedDataset, inspect_file, store

# -- inspect_file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small_bigendian.dcm",
        "rtdose.dcm",
        "image_dfl.dcm",
        "MR_small_RLE.dcm",
        "JPEG2000.dcm",
    ],
)
def test_inspect_file_with_meta(name: str) -> None:
    path = TEST_FILES / name
    source = inspect_file(path)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert source.has_meta
    assert source.transfer_syntax == ds.file_meta.TransferSyntaxUID
    assert source.sop_class_uid == ds.SOPClassUID
    assert source.sop_instance_uid == ds.SOPInstanceUID  # the data set's, not the meta header's
    assert source.dataset_offset + source.dataset_length == path.stat().st_size
    with open(path, "rb") as fp:
        fp.seek(source.dataset_offset - 4)
        assert fp.read(4) != b"DICM" or source.dataset_offset == 132


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
@pytest.mark.parametrize(
    "syntax", [uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN]
)
def test_inspect_bare_data_set(tmp_path: Path, syntax: str) -> None:
    """DCMTK's storescu recognises the encoding of a file without meta header."""
    path = write_file(tmp_path / "bare.dcm", sample_dataset("1.2.3.4 "), syntax, meta=False)
    source = inspect_file(path)
    assert not source.has_meta
    assert (source.transfer_syntax, source.dataset_offset) == (syntax, 0)
    assert source.dataset_length == path.stat().st_size
    assert source.sop_instance_uid == "1.2.3.4"


def test_inspect_bare_files_from_pydicom() -> None:
    little = inspect_file(TEST_FILES / "ExplVR_LitEndNoMeta.dcm")
    big = inspect_file(TEST_FILES / "ExplVR_BigEndNoMeta.dcm")
    assert little.transfer_syntax == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert big.transfer_syntax == uids.EXPLICIT_VR_BIG_ENDIAN
    assert little.sop_instance_uid == big.sop_instance_uid == "1.2.333.4444.5.6.7.8"


def test_inspect_file_errors(tmp_path: Path) -> None:
    cases = {
        "missing": None,
        "empty": b"",
        "text": b"this is not a DICOM file at all, just some text\n" * 3,
        "no_instance": encode(_without_instance(), uids.EXPLICIT_VR_LITTLE_ENDIAN),
        "truncated_meta": (TEST_FILES / "CT_small.dcm").read_bytes()[:150],
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(DatasetCodecError) as info:
            inspect_file(path)
        assert str(path) in str(info.value)
    with pytest.raises(DatasetCodecError, match="no SOP Instance UID"):
        inspect_file(tmp_path / "no_instance")
    # text read as an implicit VR data set: its first "element" claims more bytes than there are
    with pytest.raises(TruncatedDataset, match=r"\(6874,7369\) larger \(544434464\)"):
        inspect_file(tmp_path / "text")
    with pytest.raises(DatasetCodecError):
        inspect_file(tmp_path)  # a directory


def _without_instance() -> Dataset:
    ds = sample_dataset()
    del ds.SOPInstanceUID
    return ds


# -- store --------------------------------------------------------------------------------------


def _words_equal(a: bytes, b: bytes, swap: bool) -> bool:
    if not swap:
        return a == b
    words = array("H", b)
    words.byteswap()
    return a == words.tobytes()


def assert_same_content(sent: Dataset, got: Dataset, swapped: bool) -> None:
    """Element by element; OW values compared as words when the byte order changed."""
    assert sorted(sent.keys()) == sorted(got.keys())
    for element in sent:
        other = got[element.tag]
        if element.VR == "OW" or element.tag == 0x7FE00010:
            assert _words_equal(element.value, other.value, swapped), element.tag
        else:
            assert element.value == other.value, element.tag


CONVERSIONS = [(a, b) for a in UNCOMPRESSED for b in UNCOMPRESSED if a != b]


@pytest.mark.parametrize(("source_syntax", "target"), CONVERSIONS)
def test_store_converts_between_uncompressed_syntaxes(
    tmp_path: Path, source_syntax: str, target: str
) -> None:
    original = sample_dataset("1.2.3.50", ImageComments="Grüße", PixelSpacing=[0.5, 0.25])
    source = inspect_file(write_file(tmp_path / "in.dcm", original, source_syntax))
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, bit_preserving=True)

    async def main() -> None:
        async with storage_server(scp, {SC: [target]}) as server, connect(server, [(SC, [target])]) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    received = pydicom.dcmread(out / "SC.1.2.3.50")
    assert received.file_meta.TransferSyntaxUID == target
    swapped = (source_syntax == uids.EXPLICIT_VR_BIG_ENDIAN) != (target == uids.EXPLICIT_VR_BIG_ENDIAN)
    assert_same_content(pydicom.dcmread(source.path), received, swapped)


def test_store_big_endian_file_as_little_endian(tmp_path: Path) -> None:
    source = inspect_file(TEST_FILES / "MR_small_bigendian.dcm")
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        contexts = [(source.sop_class_uid, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
        async with storage_server(scp) as server, connect(server, contexts) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    got = pydicom.dcmread(tmp_path / f"MR.{source.sop_instance_uid}")
    reference = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
    assert got.PixelData == reference.PixelData
    assert got.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN


def test_store_decompresses_rle(tmp_path: Path) -> None:
    source = inspect_file(TEST_FILES / "MR_small_RLE.dcm")
    assert transcode.can_decompress(uids.RLE_LOSSLESS)
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        contexts = [(source.sop_class_uid, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
        async with storage_server(scp) as server, connect(server, contexts) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    got = pydicom.dcmread(tmp_path / f"MR.{source.sop_instance_uid}")
    assert got.file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert got.SOPInstanceUID == source.sop_instance_uid  # decompression keeps the instance
    assert got.PixelData == pydicom.dcmread(TEST_FILES / "MR_small.dcm").PixelData


def test_no_accepted_context(tmp_path: Path) -> None:
    jpeg = inspect_file(TEST_FILES / "SC_rgb_jpeg_dcmtk.dcm")
    plain = inspect_file(write_file(tmp_path / "plain.dcm", sample_dataset(), uids.EXPLICIT_VR_LITTLE_ENDIAN))
    ct = inspect_file(TEST_FILES / "CT_small.dcm")
    scp = StorageSCP(tmp_path)
    supported = {
        SC: [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.RLE_LOSSLESS],
        uids.VERIFICATION: [uids.IMPLICIT_VR_LITTLE_ENDIAN],
    }

    async def main() -> None:
        contexts = [(SC, [uids.RLE_LOSSLESS]), (uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
        if not transcode.can_decompress(jpeg.transfer_syntax):
            contexts.append((SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN]))
        async with storage_server(scp, supported) as server, connect(server, contexts) as assoc:
            if not transcode.can_decompress(jpeg.transfer_syntax):
                with pytest.raises(NoAcceptedContext, match=r"SecondaryCaptureImageStorage.*JPEGBaseline"):
                    await store(assoc, jpeg)
            with pytest.raises(NoAcceptedContext, match="CTImageStorage"):
                await store(assoc, ct)
            if not transcode.can_decompress(jpeg.transfer_syntax):
                assert (await store(assoc, plain)).status == status.SUCCESS  # the association still works

    run(main())


def test_nothing_is_ever_compressed(tmp_path: Path) -> None:
    plain = inspect_file(write_file(tmp_path / "plain.dcm", sample_dataset(), uids.EXPLICIT_VR_LITTLE_ENDIAN))
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        async with (
            storage_server(scp, {SC: [uids.RLE_LOSSLESS]}) as server,
            connect(server, [(SC, [uids.RLE_LOSSLESS])]) as assoc,
        ):
            with pytest.raises(NoAcceptedContext, match="RLELossless"):
                await store(assoc, plain)

    run(main())


def test_store_passes_message_fields(tmp_path: Path) -> None:
    seen: list[CStoreRQ] = []
    scp = StorageSCP(tmp_path)

    class Recording:
        def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink:
            return scp.open_sink(request, info)

        async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
            seen.append(instance.request)
            return await scp.store(instance, info)

    source = inspect_file(
        write_file(tmp_path / "a.dcm", sample_dataset("1.2.3.60"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    )

    async def main() -> None:
        server = Server(AcceptorSettings(supported={SC: UNCOMPRESSED}), store=Recording())
        await server.start("127.0.0.1", 0)
        try:
            async with connect(server, [(SC, UNCOMPRESSED)]) as assoc:
                response = await store(
                    assoc, source, priority=Priority.HIGH, move_originator=("MOVER", 77), message_id=4242
                )
                assert response.message_id_being_responded_to == 4242
                assert response.affected_sop_instance_uid == "1.2.3.60"
                assert (await store(assoc, source)).status == status.SUCCESS
        finally:
            await server.close()

    run(main())
    first, second = seen
    assert (first.message_id, first.priority) == (4242, Priority.HIGH)
    assert (first.move_originator_application_entity_title, first.move_originator_message_id) == ("MOVER", 77)
    assert second.move_originator_application_entity_title is None
    assert second.message_id != 4242 or second.message_id == 1


def test_store_streams_a_bare_data_set_untouched(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "bare.dcm", sample_dataset("1.2.3.61"), uids.IMPLICIT_VR_LITTLE_ENDIAN, meta=False
    )
    source = inspect_file(path)
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out, bit_preserving=True)

    async def main() -> None:
        contexts = [(SC, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
        async with storage_server(scp) as server, connect(server, contexts) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    assert dataset_bytes(out / "SC.1.2.3.61") == path.read_bytes()


def test_failure_status_is_returned_not_raised(tmp_path: Path) -> None:
    source = inspect_file(
        write_file(tmp_path / "a.dcm", sample_dataset("1.2.3.62"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    )

    def refuse(directory: str) -> Any:
        raise OSError(28, "No space left on device")

    scp = StorageSCP(tmp_path / "nowhere", opener=refuse)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            response = await store(assoc, source)
            assert response.status == status.OUT_OF_RESOURCES

    run(main())


def test_response_timeout(tmp_path: Path) -> None:
    source = inspect_file(
        write_file(tmp_path / "a.dcm", sample_dataset("1.2.3.63"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    )

    async def silent(assoc: Association, received: MessageReceived) -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        server = Server(AcceptorSettings(supported={SC: UNCOMPRESSED}), {CStoreRQ: silent})
        await server.start("127.0.0.1", 0)
        try:
            assoc = await connect(server, [(SC, UNCOMPRESSED)])
            with pytest.raises(DimseTimeout):
                await store(assoc, source, timeout=0.2)
            assoc.abort()
        finally:
            await server.close()

    run(main())
    assert files_below(tmp_path) == ["a.dcm"]


def test_store_source_is_frozen() -> None:
    source = StoreSource("p", "1.2", "1.3", uids.EXPLICIT_VR_LITTLE_ENDIAN, 0, 10, False)
    with pytest.raises(AttributeError):
        source.path = "q"  # type: ignore[misc]
    assert struct.calcsize("<I") == 4


@pytest.mark.parametrize("max_pdu", [16384, 4096])
def test_odd_length_data_set_is_padded_in_its_last_fragment(tmp_path: Path, max_pdu: int) -> None:
    """PS3.5 A.5: a deflated data set of odd length travels with a 00 pad byte,
    inside the last fragment (DCMTK refuses odd fragments)."""
    from dicomwire.dimse.fragments import stream_dataset_pdvs
    from dicomwire.services.storage import _EvenReader

    for length in (1, 4093, 4095, 4096 * 3 + 1, 16377, 16379):
        data = bytes(range(256)) * (length // 256 + 1)
        reader = _EvenReader(io.BytesIO(data[:length]), length)
        pdvs = list(stream_dataset_pdvs(1, reader.read, max_pdu))
        assert all(len(p.data) % 2 == 0 for p in pdvs), length
        assert b"".join(bytes(p.data) for p in pdvs) == data[:length] + b"\0"
        assert pdvs[-1].is_last and not any(p.is_last for p in pdvs[:-1])
    source = inspect_file(TEST_FILES / "image_dfl.dcm")
    assert source.dataset_length % 2 == 1
    scp = StorageSCP(tmp_path, bit_preserving=True)

    async def main() -> None:
        contexts = [(SC, [uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN])]
        async with storage_server(scp) as server, connect(server, contexts, max_pdu_length=max_pdu) as assoc:
            assert (await store(assoc, source)).status == status.SUCCESS

    run(main())
    assert pydicom.dcmread(tmp_path / f"SC.{source.sop_instance_uid}") == pydicom.dcmread(source.path)


def test_store_on_a_chosen_context(tmp_path: Path) -> None:
    """``context_id`` picks the context (DCMTK's storescu takes the first accepted
    one); it must be for the SOP class, and its syntax reachable."""
    source = inspect_file(
        write_file(tmp_path / "a.dcm", sample_dataset("1.2.3.70"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    )
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out)

    async def main() -> None:
        contexts = [
            (SC, [uids.EXPLICIT_VR_BIG_ENDIAN]),
            (SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN]),
            (SC, [uids.RLE_LOSSLESS]),
        ]
        supported = {SC: [uids.EXPLICIT_VR_BIG_ENDIAN, uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.RLE_LOSSLESS]}
        async with storage_server(scp, supported) as server, connect(server, contexts) as assoc:
            by_syntax = {c.transfer_syntax: c.context_id for c in assoc.contexts.values()}
            big = by_syntax[uids.EXPLICIT_VR_BIG_ENDIAN]
            assert (await store(assoc, source, context_id=big)).status == status.SUCCESS
            with pytest.raises(NoAcceptedContext, match="RLELossless"):
                await store(assoc, source, context_id=by_syntax[uids.RLE_LOSSLESS])
            with pytest.raises(NoAcceptedContext, match="not an accepted context"):
                await store(assoc, source, context_id=255)

    run(main())
    assert pydicom.dcmread(out / "SC.1.2.3.70").file_meta.TransferSyntaxUID == uids.EXPLICIT_VR_BIG_ENDIAN


def test_file_gone_before_store(tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.dcm", sample_dataset("1.2.3.71"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    source = inspect_file(path)
    path.unlink()
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            with pytest.raises(DatasetCodecError, match="cannot read"):
                await store(assoc, source)
            assert await echo_after(assoc)

    async def echo_after(assoc: Association) -> bool:
        return assoc.established  # nothing was sent: the association is intact

    run(main())


@pytest.mark.parametrize(
    "accepted",
    [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN],
)
def test_store_sends_a_dataset_from_memory(tmp_path: Path, accepted: str) -> None:
    """A pydicom Dataset (no file) goes out in the accepted syntax, converted if need be."""
    dataset = sample_dataset("1.2.3.61", PatientName="MEMORY^ONLY")
    scp = StorageSCP(tmp_path)

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, [accepted])]) as assoc:
            response = await store(assoc, dataset)
            assert response.status == status.SUCCESS
            assert response.affected_sop_instance_uid == "1.2.3.61"

    run(main())
    received = pydicom.dcmread(tmp_path / "SC.1.2.3.61")
    assert received.file_meta.TransferSyntaxUID == accepted
    assert received.PatientName == "MEMORY^ONLY"
    assert received.SOPInstanceUID == "1.2.3.61"


def test_store_takes_a_path_and_refuses_a_dataset_without_uids(tmp_path: Path) -> None:
    path = write_file(tmp_path / "p.dcm", sample_dataset("1.2.3.62"), uids.EXPLICIT_VR_LITTLE_ENDIAN)
    out = tmp_path / "out"
    out.mkdir()
    scp = StorageSCP(out)
    nameless = sample_dataset("1.2.3.63")
    del nameless.SOPInstanceUID

    async def main() -> None:
        async with storage_server(scp) as server, connect(server, [(SC, UNCOMPRESSED)]) as assoc:
            assert (await store(assoc, str(path))).status == status.SUCCESS
            with pytest.raises(DatasetCodecError, match="SOP Instance UID"):
                await store(assoc, nameless)

    run(main())
    assert files_below(out) == ["SC.1.2.3.62"]
