"""The archive over loopback: storage, query, access rules, quotas, recovery."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pydicom
import pytest
from archive_helpers import (
    SC,
    area,
    config,
    connect,
    find_all,
    instance,
    run,
    running,
    study_query,
)

import dicomwire
from dicomwire import uids
from dicomwire.archive.config import Access, Peer, Quota
from dicomwire.archive.options import ArchiveOptions, StoredFormat
from dicomwire.archive.policy import PRIVATE_SHUTDOWN
from dicomwire.archive.service import INDEX_FILE
from dicomwire.archive.store import instance_file_name


def dcm_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".dcm"))


def indexed_uids(directory: Path) -> list[str]:
    with sqlite3.connect(directory / INDEX_FILE) as db:
        return sorted(row[0] for row in db.execute("select sop_instance_uid from instance"))


def test_stored_instances_are_found_and_on_disk(tmp_path: Path) -> None:
    cfg = config(area(tmp_path))

    async def main() -> tuple[list[pydicom.Dataset], int]:
        async with running(cfg) as archive, connect(archive) as assoc:
            for number in range(3):
                ds = instance(f"1.2.3.{number}", study=f"1.2.9.{number % 2}", patient=f"DOE^{number % 2}")
                assert (await dicomwire.store(assoc, ds)).status == 0
            return await find_all(assoc, study_query(PatientName="DOE*"))

    matches, final = run(main())
    assert final == dicomwire.status.SUCCESS
    assert sorted(str(m.StudyInstanceUID) for m in matches) == ["1.2.9.0", "1.2.9.1"]
    assert all(m.RetrieveAETitle == "ARCHIVE" for m in matches)
    stored = tmp_path / "archive"
    assert dcm_files(stored) == sorted(instance_file_name(SC, f"1.2.3.{n}") for n in range(3))
    assert indexed_uids(stored) == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
    assert pydicom.dcmread(stored / instance_file_name(SC, "1.2.3.1")).PatientName == "DOE^1"


def test_unknown_called_ae_title_is_rejected(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(config(area(tmp_path))) as archive:
            with pytest.raises(dicomwire.AssociationRejected) as caught:
                await connect(archive, called_ae="NOBODY")
            assert (caught.value.result, caught.value.source, caught.value.reason) == (1, 1, 7)

    run(main())


def test_peer_not_listed_is_rejected_and_listed_peer_admitted(tmp_path: Path) -> None:
    # host lookup is off in these tests: the peer is matched by its address
    cfg = config(area(tmp_path, peers=(Peer("FRIEND", "127.0.0.1", 104),)))

    async def main() -> None:
        async with running(cfg) as archive:
            with pytest.raises(dicomwire.AssociationRejected) as caught:
                await connect(archive, calling_ae="STRANGER")
            assert caught.value.reason == 7  # dcmqrscp: called AE title not recognized
            async with connect(archive, calling_ae="FRIEND") as assoc:
                assert (await dicomwire.store(assoc, instance("1.2.3.1"))).status == 0

    run(main())


def test_read_only_area_takes_no_storage_and_write_only_answers_no_query(tmp_path: Path) -> None:
    cfg = config(area(tmp_path, "READER", Access.READ), area(tmp_path, "WRITER", Access.WRITE))

    async def main() -> None:
        async with running(cfg) as archive:
            async with connect(archive, "READER") as assoc:
                with pytest.raises(dicomwire.NoAcceptedContext):
                    await dicomwire.store(assoc, instance("1.2.3.1"))
                _, final = await find_all(assoc, study_query())
                assert final == 0
            async with connect(archive, "WRITER") as assoc:
                assert (await dicomwire.store(assoc, instance("1.2.3.2"))).status == 0
                with pytest.raises(dicomwire.NoAcceptedContext):
                    await find_all(assoc, study_query())

    run(main())


def test_restoring_an_instance_replaces_file_and_row(tmp_path: Path) -> None:
    async def main() -> list[pydicom.Dataset]:
        async with running(config(area(tmp_path))) as archive, connect(archive) as assoc:
            for name in ("FIRST^NAME", "SECOND^NAME"):
                assert (await dicomwire.store(assoc, instance("1.2.3.7", patient=name))).status == 0
            matches, _ = await find_all(assoc, study_query(PatientName=""))
            return matches

    matches = run(main())
    assert [str(m.PatientName) for m in matches] == ["SECOND^NAME"]
    stored = tmp_path / "archive"
    assert dcm_files(stored) == [instance_file_name(SC, "1.2.3.7")]
    assert indexed_uids(stored) == ["1.2.3.7"]


def test_instance_without_study_uid_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    broken = instance("1.2.3.8")
    del broken.StudyInstanceUID

    async def main() -> int:
        async with running(config(area(tmp_path))) as archive, connect(archive) as assoc:
            return (await dicomwire.store(assoc, broken)).status

    assert run(main()) == dicomwire.status.CANNOT_UNDERSTAND
    stored = tmp_path / "archive"
    assert os.listdir(stored) == [INDEX_FILE]
    assert indexed_uids(stored) == []


def test_instance_cut_short_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """Its Pixel Data claims more bytes than were sent: aborted, as DCMTK does (issue 10)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    from dicomwire.dimse.messages import CStoreRQ

    def cut(syntax: str) -> bytes:
        fp = DicomBytesIO()
        fp.is_little_endian = syntax != uids.EXPLICIT_VR_BIG_ENDIAN
        fp.is_implicit_VR = syntax == uids.IMPLICIT_VR_LITTLE_ENDIAN
        write_dataset(fp, instance("1.2.3.9", BitsAllocated=8, PixelData=b"\x01" * 5000))
        return fp.getvalue()[:-1000]

    async def main() -> None:
        async with running(config(area(tmp_path))) as archive:
            async with connect(archive, contexts=[(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]) as assoc:
                context = assoc.context_for(SC).context_id
                request = CStoreRQ(
                    message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3.9"
                )
                await assoc.send(context, request, cut(uids.EXPLICIT_VR_LITTLE_ENDIAN))
                with pytest.raises(dicomwire.AssociationAborted):
                    await assoc.receive()
            async with connect(archive) as assoc:  # serving goes on
                assert (await dicomwire.store(assoc, instance("1.2.3.10"))).status == 0

    run(main())
    stored = tmp_path / "archive"
    assert dcm_files(stored) == [instance_file_name(SC, "1.2.3.10")]
    assert indexed_uids(stored) == ["1.2.3.10"]


def test_study_quota_deletes_the_oldest_studies(tmp_path: Path) -> None:
    cfg = config(area(tmp_path, quota=Quota(2, 1 << 30)))

    async def main() -> list[str]:
        async with running(cfg) as archive, connect(archive) as assoc:
            for number in range(4):
                ds = instance(f"1.2.3.{number}", study=f"1.2.9.{number}")
                assert (await dicomwire.store(assoc, ds)).status == 0
            matches, _ = await find_all(assoc, study_query())
            return sorted(str(m.StudyInstanceUID) for m in matches)

    assert run(main()) == ["1.2.9.2", "1.2.9.3"]
    stored = tmp_path / "archive"
    assert indexed_uids(stored) == ["1.2.3.2", "1.2.3.3"]
    assert dcm_files(stored) == sorted(instance_file_name(SC, f"1.2.3.{n}") for n in (2, 3))


def test_study_larger_than_its_byte_quota_is_refused(tmp_path: Path) -> None:
    cfg = config(area(tmp_path, quota=Quota(10, 3000)))
    big = instance("1.2.3.2", PatientComments="x" * 4000)

    async def main() -> tuple[int, int]:
        async with running(cfg) as archive, connect(archive) as assoc:
            small = (await dicomwire.store(assoc, instance("1.2.3.1"))).status
            return small, (await dicomwire.store(assoc, big)).status

    assert run(main()) == (0, dicomwire.status.OUT_OF_RESOURCES)
    assert indexed_uids(tmp_path / "archive") == ["1.2.3.1"]


def test_start_up_reconciles_the_storage_area(tmp_path: Path) -> None:
    cfg = config(area(tmp_path))
    stored = tmp_path / "archive"

    async def store_two() -> None:
        async with running(cfg) as archive, connect(archive) as assoc:
            for uid in ("1.2.3.1", "1.2.3.2"):
                assert (await dicomwire.store(assoc, instance(uid))).status == 0

    run(store_two())
    # what a crash leaves: a half-received file, a file renamed but never indexed,
    # and (removed by hand) a row whose file is gone
    (stored / ".dicomwire-0123456789abcdef.part").write_bytes(b"half")
    orphan = instance("1.2.3.3")
    orphan.file_meta = pydicom.dataset.FileMetaDataset()
    orphan.file_meta.TransferSyntaxUID = pydicom.uid.UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
    orphan.save_as(stored / instance_file_name(SC, "1.2.3.3"), enforce_file_format=True)
    (stored / instance_file_name(SC, "1.2.3.1")).unlink()

    async def query() -> list[str]:
        async with running(cfg) as archive, connect(archive) as assoc:
            q = study_query()
            q.QueryRetrieveLevel = "IMAGE"
            q.SeriesInstanceUID = "1.2.9.1"
            q.StudyInstanceUID = "1.2.9"
            q.SOPInstanceUID = ""
            matches, _ = await find_all(assoc, q)
            return sorted(str(m.SOPInstanceUID) for m in matches)

    assert run(query()) == ["1.2.3.2", "1.2.3.3"]
    assert not any(name.endswith(".part") for name in os.listdir(stored))
    assert indexed_uids(stored) == ["1.2.3.2", "1.2.3.3"]


def test_no_parallel_store_gives_one_association_the_storage_contexts(tmp_path: Path) -> None:
    options = ArchiveOptions(host_lookup=False, no_parallel_store=True)

    async def main() -> None:
        async with running(config(area(tmp_path)), options) as archive:
            async with connect(archive) as first:
                async with connect(archive) as second:
                    with pytest.raises(dicomwire.NoAcceptedContext):
                        await dicomwire.store(second, instance("1.2.3.2"))
                assert (await dicomwire.store(first, instance("1.2.3.1"))).status == 0
            async with connect(archive) as third:  # the first one is gone
                assert (await dicomwire.store(third, instance("1.2.3.3"))).status == 0

    run(main())


def test_refuse_rejects_every_association(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(config(area(tmp_path)), ArchiveOptions(host_lookup=False, refuse=True)) as archive:
            with pytest.raises(dicomwire.AssociationRejected) as caught:
                await connect(archive)
            assert caught.value.reason == 1

    run(main())


def test_models_switched_off_are_not_accepted(tmp_path: Path) -> None:
    options = ArchiveOptions(host_lookup=False, study_root=False)

    async def main() -> None:
        async with running(config(area(tmp_path)), options) as archive, connect(archive) as assoc:
            with pytest.raises(dicomwire.NoAcceptedContext):
                await find_all(assoc, study_query())
            query = study_query()
            query.QueryRetrieveLevel = "PATIENT"
            del query.StudyInstanceUID
            query.PatientID = ""
            _, final = await find_all(assoc, query, model="patient")
            assert final == 0

    run(main())


def test_shutdown_request_stops_serving_only_when_allowed(tmp_path: Path) -> None:
    shutdown = [(PRIVATE_SHUTDOWN, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]

    async def main(allowed: bool) -> bool:
        options = ArchiveOptions(host_lookup=False, allow_shutdown=allowed)
        async with running(config(area(tmp_path)), options) as archive:
            serving = asyncio.ensure_future(archive.serve_forever())
            if allowed:  # refused, and the archive stops (what termscu expects)
                with pytest.raises(dicomwire.AssociationRejected):
                    await connect(archive, contexts=shutdown)
            else:  # accepted without the private context, as dcmqrscp does
                assoc = await connect(archive, contexts=shutdown)
                assert assoc.contexts == {}
                await assoc.release()
            done, _ = await asyncio.wait([serving], timeout=2 if not allowed else 30)
            serving.cancel()
            return bool(done)

    assert run(main(True)) is True
    assert run(main(False)) is False


def test_single_process_serves_one_association_at_a_time(tmp_path: Path) -> None:
    options = ArchiveOptions(host_lookup=False, single_process=True)

    async def main() -> None:
        async with running(config(area(tmp_path)), options) as archive:
            first = await connect(archive)
            second = asyncio.ensure_future(connect(archive))
            done, _ = await asyncio.wait([second], timeout=0.5)
            assert not done  # waits for its turn
            await first.release()
            later = await asyncio.wait_for(second, 10)
            assert (await dicomwire.store(later, instance("1.2.3.1"))).status == 0
            await later.release()

    run(main())


def test_archive_without_areas_rejects_every_association() -> None:
    async def main() -> None:
        async with running(config()) as archive:
            assert archive.index_location == "sqlite://"
            with pytest.raises(dicomwire.AssociationRejected) as caught:
                await connect(archive)
            assert caught.value.reason == 7

    run(main())


def test_output_options_rewrite_the_stored_file(tmp_path: Path) -> None:
    fmt = StoredFormat(transfer_syntax=uids.IMPLICIT_VR_LITTLE_ENDIAN, group_length="create")
    options = ArchiveOptions(host_lookup=False, stored_format=fmt)

    async def main() -> None:
        async with running(config(area(tmp_path)), options) as archive, connect(archive) as assoc:
            assert (await dicomwire.store(assoc, instance("1.2.3.5"))).status == 0

    run(main())
    stored = tmp_path / "archive"
    written = pydicom.dcmread(stored / instance_file_name(SC, "1.2.3.5"))
    assert written.file_meta.TransferSyntaxUID == uids.IMPLICIT_VR_LITTLE_ENDIAN
    assert (0x0008, 0x0000) in written  # group lengths created
    assert written.PatientName == "DOE^JOHN"
    assert [name for name in os.listdir(stored) if name.endswith(".part")] == []
