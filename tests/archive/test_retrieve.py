"""The archive's C-MOVE and C-GET: contexts, destinations, restrictions, access, counts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pydicom
import pytest
from archive_helpers import LEE, SC, area, config, connect, instance, run, running

import dicomwire
from dicomwire import uids
from dicomwire.archive.config import Access, ArchiveConfig, Peer
from dicomwire.archive.options import ArchiveOptions, MoveRestriction
from dicomwire.archive.service import Archive
from dicomwire.dimse import status as st
from dicomwire.services.retrieve import RetrieveResponse
from dicomwire.ul.items import ContextResult, RoleSelection

MOVE, GET, FIND = uids.STUDY_ROOT_MOVE, uids.STUDY_ROOT_GET, uids.STUDY_ROOT_FIND
STORE_CONTEXTS = [(SC, [LEE])]


def with_hosts(
    cfg: ArchiveConfig, *peers: Peer, vendors: dict[str, tuple[Peer, ...]] | None = None
) -> ArchiveConfig:
    return ArchiveConfig(
        port=None,
        max_pdu_size=cfg.max_pdu_size,
        max_associations=cfg.max_associations,
        hosts={peer.ae_title.lower(): (peer,) for peer in peers},
        vendors=vendors or {},
        areas=cfg.areas,
    )


def query(study: str = "1.2.9") -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study
    return ds


@asynccontextmanager
async def loaded(
    cfg: ArchiveConfig, count: int, options: ArchiveOptions | None = None
) -> AsyncIterator[Archive]:
    """An archive holding ``count`` instances of study 1.2.9 (AE title ARCHIVE)."""
    async with running(cfg, options or ArchiveOptions(host_lookup=False)) as archive:
        async with connect(archive, contexts=STORE_CONTEXTS) as assoc:
            for number in range(count):
                assert (await dicomwire.store(assoc, instance(f"1.2.9.1.{number}"))).status == 0
        yield archive


@asynccontextmanager
async def destination(directory: Path) -> AsyncIterator[dicomwire.Server]:
    directory.mkdir(exist_ok=True)
    settings = dicomwire.AcceptorSettings(ae_title="DEST", supported={SC: (LEE,)})
    server = dicomwire.Server(settings, store=dicomwire.StorageSCP(directory))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def move_all(archive: Archive, to: str = "DEST", calling_ae: str = "MOVER") -> list[RetrieveResponse]:
    async with connect(archive, contexts=[(MOVE, [LEE])], calling_ae=calling_ae) as assoc:
        return [r async for r in dicomwire.move(assoc, query(), model="study", destination=to)]


def accepted(
    archive_cfg: ArchiveConfig, options: ArchiveOptions, contexts: Sequence[Any], **kw: Any
) -> list[bool]:
    async def main() -> list[bool]:
        async with (
            running(archive_cfg, options) as archive,
            connect(archive, contexts=contexts, **kw) as assoc,
        ):
            assert assoc.accept is not None
            return [pc.result == ContextResult.ACCEPTANCE for pc in assoc.accept.presentation_contexts]

    result: list[bool] = run(main())
    return result


def test_move_sends_the_study_to_the_host_table_destination(tmp_path: Path) -> None:
    async def main() -> None:
        async with destination(tmp_path / "dest") as dest:
            cfg = with_hosts(config(area(tmp_path)), Peer("DEST", "127.0.0.1", dest.port))
            async with loaded(cfg, 4) as archive:
                responses = await move_all(archive)
        final = responses[-1]
        assert (final.status, final.completed, final.failed) == (st.SUCCESS, 4, 0)
        assert [r.remaining for r in responses[:-1]] == [3, 2, 1, 0]

    run(main())
    received = sorted(
        str(pydicom.dcmread(tmp_path / "dest" / n).SOPInstanceUID) for n in os.listdir(tmp_path / "dest")
    )
    assert received == [f"1.2.9.1.{n}" for n in range(4)]


def test_move_to_a_title_not_in_the_configuration_is_a801(tmp_path: Path) -> None:
    async def main() -> None:
        async with loaded(config(area(tmp_path)), 1) as archive:
            responses = await move_all(archive, "NOWHERE")
        assert [r.status for r in responses] == [st.MOVE_DESTINATION_UNKNOWN]

    run(main())


@pytest.mark.parametrize(
    ("restriction", "calling_ae", "allowed"),
    [
        (MoveRestriction.AE_TITLE, "DEST", True),
        (MoveRestriction.AE_TITLE, "MOVER", False),
        (MoveRestriction.HOST, "MOVER", True),  # DEST's host is the requestor's: 127.0.0.1
        (MoveRestriction.VENDOR, "MOVER", True),
        (MoveRestriction.VENDOR, "STRANGER", False),
    ],
)
def test_move_restrictions(
    tmp_path: Path, restriction: MoveRestriction, calling_ae: str, allowed: bool
) -> None:
    async def main() -> int:
        async with destination(tmp_path / "dest") as dest:
            dest_peer, mover = Peer("DEST", "127.0.0.1", dest.port), Peer("MOVER", "127.0.0.1", 0)
            cfg = with_hosts(config(area(tmp_path)), dest_peer, vendors={"acme": (dest_peer, mover)})
            options = ArchiveOptions(host_lookup=False, move_restriction=restriction)
            async with loaded(cfg, 1, options) as archive:
                return (await move_all(archive, calling_ae=calling_ae))[-1].status

    assert run(main()) == (st.SUCCESS if allowed else st.MOVE_DESTINATION_UNKNOWN)


def test_move_host_restriction_refuses_a_destination_on_another_host(tmp_path: Path) -> None:
    cfg = with_hosts(config(area(tmp_path)), Peer("DEST", "192.0.2.1", 104))  # TEST-NET: never ours

    async def main() -> int:
        options = ArchiveOptions(host_lookup=False, move_restriction=MoveRestriction.HOST)
        async with loaded(cfg, 1, options) as archive:
            return (await move_all(archive))[-1].status

    assert run(main()) == st.MOVE_DESTINATION_UNKNOWN


def test_check_move_refuses_an_identifier_at_the_wrong_level(tmp_path: Path) -> None:
    async def main() -> list[int]:
        cfg = with_hosts(config(area(tmp_path)), Peer("DEST", "127.0.0.1", 1))
        async with loaded(cfg, 1, ArchiveOptions(host_lookup=False, check_move=True)) as archive:
            bad = query()
            bad.PatientName = "DOE^JOHN"  # a Patient key in a Study Root retrieve
            async with connect(archive, contexts=[(MOVE, [LEE])]) as assoc:
                return [r.status async for r in dicomwire.move(assoc, bad, model="study", destination="DEST")]

    assert run(main()) == [st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS]


def test_get_returns_the_study_on_the_same_association(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    contexts, roles = dicomwire.get_contexts("study", storage_classes=[SC], storage_syntaxes=[LEE])

    async def main() -> RetrieveResponse:
        async with (
            loaded(config(area(tmp_path)), 3) as archive,
            connect(archive, contexts=contexts, roles=roles) as assoc,
        ):
            return [r async for r in dicomwire.get(assoc, query(), model="study", store=out)][-1]

    final = run(main())
    assert (final.status, final.completed) == (st.SUCCESS, 3)
    assert len(os.listdir(out)) == 3


def test_several_retrieves_at_once(tmp_path: Path) -> None:
    contexts, roles = dicomwire.get_contexts("study", storage_classes=[SC], storage_syntaxes=[LEE])

    async def one(archive: Archive, n: int) -> int:
        out = tmp_path / f"out{n}"
        out.mkdir()
        async with connect(archive, contexts=contexts, roles=roles) as assoc:
            final = [r async for r in dicomwire.get(assoc, query(), model="study", store=out)][-1]
        assert len(os.listdir(out)) == 5
        return final.status

    async def main() -> list[int]:
        async with loaded(config(area(tmp_path)), 5) as archive:
            return list(await asyncio.gather(*(one(archive, n) for n in range(4))))

    assert run(main()) == [st.SUCCESS] * 4


def test_read_only_area_serves_get_but_takes_no_store(tmp_path: Path) -> None:
    contexts, _ = dicomwire.get_contexts("study", storage_classes=[SC], storage_syntaxes=[LEE])
    cfg = config(area(tmp_path, "READER", Access.READ))
    both_roles = [RoleSelection(SC, True, True)]

    async def main() -> tuple[int, int]:
        # the requestor asks for both roles: the context is accepted (for C-GET), a C-STORE refused
        async with (
            running(cfg, ArchiveOptions(host_lookup=False)) as archive,
            connect(archive, "READER", contexts, roles=both_roles) as assoc,
        ):
            stored = await dicomwire.store(assoc, instance("1.2.9.1.0"))
            final = [r async for r in dicomwire.get(assoc, query(), model="study", store=tmp_path)][-1]
        return stored.status, final.status

    stored, final = run(main())
    assert stored == st.OUT_OF_RESOURCES
    assert final == st.SUCCESS  # nothing to get: the store was refused
    assert not [name for name in os.listdir(tmp_path / "reader") if name.endswith(".dcm")]


def test_contexts_disable_get_require_find_and_write_only(tmp_path: Path) -> None:
    plain = ArchiveOptions(host_lookup=False)
    proposal = [(MOVE, [LEE]), (GET, [LEE])]
    assert accepted(config(area(tmp_path)), plain, proposal) == [True, True]
    no_get = ArchiveOptions(host_lookup=False, disable_get=True)
    assert accepted(config(area(tmp_path)), no_get, proposal) == [True, False]
    need_find = ArchiveOptions(host_lookup=False, require_find=True)
    assert accepted(config(area(tmp_path)), need_find, proposal) == [False, False]
    assert accepted(config(area(tmp_path)), need_find, [(FIND, [LEE]), *proposal]) == [True, True, True]
    patient_find = [(uids.PATIENT_ROOT_FIND, [LEE]), *proposal]  # another model's C-FIND does not count
    assert accepted(config(area(tmp_path)), need_find, patient_find) == [True, False, False]
    writer = config(area(tmp_path, "WRITER", Access.WRITE))
    assert accepted(writer, plain, proposal, called_ae="WRITER") == [False, False]


def test_a_file_gone_from_the_storage_area_fails_its_sub_operation_only(tmp_path: Path) -> None:
    async def main() -> RetrieveResponse:
        async with destination(tmp_path / "dest") as dest:
            cfg = with_hosts(config(area(tmp_path)), Peer("DEST", "127.0.0.1", dest.port))
            async with loaded(cfg, 3) as archive:
                victim = next(p for p in (tmp_path / "archive").glob("*.dcm")
                              if pydicom.dcmread(p).SOPInstanceUID == "1.2.9.1.1")  # fmt: skip
                victim.unlink()
                return (await move_all(archive))[-1]

    final = run(main())
    assert (final.status, final.completed, final.failed) == (st.SUBOPERATIONS_COMPLETE_WITH_FAILURES, 2, 1)
    assert final.failed_instances == ("1.2.9.1.1",)


def test_an_index_that_fails_is_a701(tmp_path: Path) -> None:
    async def main() -> list[int]:
        cfg = with_hosts(config(area(tmp_path)), Peer("DEST", "127.0.0.1", 1))
        async with loaded(cfg, 1) as archive:
            assert archive.index is not None
            archive.index.engine.dispose()
            os.unlink(tmp_path / "archive" / "dicomwire-index.sqlite")  # gone behind the archive's back
            (tmp_path / "archive" / "dicomwire-index.sqlite").mkdir()  # and cannot be opened again
            async with connect(archive, contexts=[(MOVE, [LEE])]) as assoc:
                return [
                    r.status async for r in dicomwire.move(assoc, query(), model="study", destination="DEST")
                ]

    assert run(main()) == [st.OUT_OF_RESOURCES_MATCHES]
