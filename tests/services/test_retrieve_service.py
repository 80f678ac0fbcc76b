"""C-MOVE and C-GET: our SCU against our SCP over loopback, with an in-memory handler."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from storage_helpers import SC, run, sample_dataset, write_file

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings
from dicomwire.dimse import status as st
from dicomwire.net.client import associate
from dicomwire.services.handlers import AssociationInfo, RetrieveFailed, RetrieveMatch, StoreHandler
from dicomwire.services.retrieve import RetrieveResponse, get, get_contexts, move
from dicomwire.services.retrieve_scp import SubAssociationSettings, sub_association_contexts
from dicomwire.services.server import Server
from dicomwire.services.storage_scp import StorageSCP

LEE = uids.EXPLICIT_VR_LITTLE_ENDIAN
ILE = uids.IMPLICIT_VR_LITTLE_ENDIAN
SYNTAXES = (LEE, ILE)
MOVE = uids.STUDY_ROOT_MOVE
GET = uids.STUDY_ROOT_GET


def study_query() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = "1.2.9"
    return query


def make_files(root: Path, count: int, syntax: str = LEE) -> list[RetrieveMatch]:
    root.mkdir(parents=True, exist_ok=True)
    matches = []
    for n in range(count):
        uid = f"1.2.9.1.{n}"
        path = write_file(root / f"f{n}.dcm", sample_dataset(uid), syntax)
        matches.append(RetrieveMatch(str(path), SC, uid, syntax))
    return matches


class Matches:
    """A retrieve handler over a fixed list; one destination, AE title DEST."""

    def __init__(self, matches: Sequence[RetrieveMatch], port: int = 0, *, error: int | None = None) -> None:
        self.matches = matches
        self.port = port
        self.error = error
        self.gate: asyncio.Event | None = None
        self.seen: list[tuple[str, str, AssociationInfo]] = []

    def destination(self, ae_title: str, info: AssociationInfo) -> tuple[str, int] | None:
        return ("127.0.0.1", self.port) if ae_title == "DEST" else None

    async def retrieve(
        self, query: Dataset, model: str, info: AssociationInfo
    ) -> AsyncIterator[RetrieveMatch]:
        self.seen.append((str(query.StudyInstanceUID), model, info))
        if self.error is not None:
            raise RetrieveFailed(self.error, "no")
        for match in self.matches:
            yield match


class GatedStore(StorageSCP):
    """A destination that waits for ``gate`` before answering each store (for cancel tests)."""

    def __init__(self, directory: Path, gate: asyncio.Event | None = None) -> None:
        super().__init__(directory)
        self.gate = gate
        self.arrived = asyncio.Event()

    async def store(self, instance, info):  # type: ignore[no-untyped-def]
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        return await super().store(instance, info)


@asynccontextmanager
async def destination(directory: Path, store: StorageSCP | None = None) -> AsyncIterator[Server]:
    directory.mkdir(exist_ok=True)
    settings = AcceptorSettings(ae_title="DEST", supported=dict.fromkeys((SC,), SYNTAXES))
    server = Server(settings, store=store or StorageSCP(directory))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def archive(handler: Matches) -> AsyncIterator[Server]:
    settings = AcceptorSettings(
        ae_title="ARCHIVE",
        supported={MOVE: SYNTAXES, GET: SYNTAXES, SC: SYNTAXES},
        roles={SC: (False, True)},
    )
    server = Server(
        settings, move=handler, get=handler, retrieve=SubAssociationSettings(proposed_syntaxes=SYNTAXES)
    )
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def do_move(handler: Matches, to: str = "DEST") -> list[RetrieveResponse]:
    async with archive(handler) as scp, associate("127.0.0.1", scp.port, move_settings()) as assoc:
        return [r async for r in move(assoc, study_query(), model="study", destination=to)]


async def do_get(
    handler: Matches, store: StoreHandler | Path, *, role: bool = True
) -> list[RetrieveResponse]:
    async with archive(handler) as scp, associate("127.0.0.1", scp.port, get_settings(role=role)) as assoc:
        return [r async for r in get(assoc, study_query(), model="study", store=store)]


def move_settings() -> RequestorSettings:
    return RequestorSettings(calling_ae="MOVER", called_ae="ARCHIVE", contexts=[(MOVE, SYNTAXES)])


def get_settings(*, role: bool = True) -> RequestorSettings:
    contexts, roles = get_contexts("study", storage_classes=[SC])
    return RequestorSettings(
        calling_ae="GETTER", called_ae="ARCHIVE", contexts=contexts, roles=roles if role else ()
    )


def test_move_sends_every_match_with_pending_counts(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 3)

    async def scenario() -> None:
        async with destination(tmp_path / "dest") as dest:
            handler = Matches(matches, dest.port)
            async with archive(handler) as scp, associate("127.0.0.1", scp.port, move_settings()) as assoc:
                responses = [r async for r in move(assoc, study_query(), model="study", destination="DEST")]
        assert [r.remaining for r in responses] == [2, 1, 0, None]
        assert [r.completed for r in responses] == [1, 2, 3, 3]
        final = responses[-1]
        assert final.status == st.SUCCESS and final.failed == 0 and final.warning == 0
        assert final.failed_instances == ()
        assert handler.seen[0][:2] == ("1.2.9", MOVE)
        assert handler.seen[0][2].calling_ae == "MOVER"

    run(scenario())
    received = sorted(os.listdir(tmp_path / "dest"))
    assert len(received) == 3
    stored = [dcmread(tmp_path / "dest" / name) for name in received]
    assert sorted(ds.SOPInstanceUID for ds in stored) == [m.sop_instance_uid for m in matches]
    assert {ds.file_meta.SourceApplicationEntityTitle for ds in stored} == {"ARCHIVE"}


def test_move_store_requests_carry_the_move_originator(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 1)
    seen = []

    class Recording(StorageSCP):
        async def store(self, instance, info):  # type: ignore[no-untyped-def]
            seen.append((instance.request, info.calling_ae))
            return await super().store(instance, info)

    async def scenario() -> None:
        async with (
            destination(tmp_path / "dest", Recording(tmp_path / "dest")) as dest,
            archive(Matches(matches, dest.port)) as scp,
            associate("127.0.0.1", scp.port, move_settings()) as assoc,
        ):
            operation = move(assoc, study_query(), model="study", destination="DEST")
            final = [r async for r in operation][-1]
            assert final.status == st.SUCCESS
            message_id = operation.message_id

        ((request, calling),) = seen
        assert calling == "ARCHIVE"
        assert request.move_originator_application_entity_title == "MOVER"
        assert request.move_originator_message_id == message_id

    (tmp_path / "dest").mkdir()
    run(scenario())


def test_move_a_missing_file_fails_only_its_sub_operation(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 3)
    os.unlink(matches[1].path)

    async def scenario() -> None:
        async with destination(tmp_path / "dest") as dest:
            responses = await do_move(Matches(matches, dest.port))
        final = responses[-1]
        assert final.status == st.SUBOPERATIONS_COMPLETE_WITH_FAILURES
        assert (final.completed, final.failed, final.warning) == (2, 1, 0)
        assert final.failed_instances == (matches[1].sop_instance_uid,)

    run(scenario())
    assert len(os.listdir(tmp_path / "dest")) == 2


def test_move_to_an_unknown_destination_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        responses = await do_move(Matches(make_files(tmp_path / "src", 1)), "NOBODY")
        assert [r.status for r in responses] == [st.MOVE_DESTINATION_UNKNOWN]

    run(scenario())


def test_move_to_a_destination_that_is_not_listening_is_a702(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 2)

    async def scenario() -> None:
        async with destination(tmp_path / "dest") as dest:
            port = dest.port
        responses = await do_move(Matches(matches, port))  # nobody listens on port now
        final = responses[-1]
        assert len(responses) == 1
        assert final.status == st.OUT_OF_RESOURCES_SUBOPERATIONS
        assert (final.completed, final.failed) == (0, 2)
        assert set(final.failed_instances) == {m.sop_instance_uid for m in matches}

    run(scenario())


def test_move_handler_failure_status_ends_the_operation(tmp_path: Path) -> None:
    async def scenario() -> None:
        handler = Matches([], error=st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS)
        async with archive(handler) as scp, associate("127.0.0.1", scp.port, move_settings()) as assoc:
            responses = [r async for r in move(assoc, study_query(), model="study", destination="DEST")]
            assert assoc.established  # the association goes on
        assert [r.status for r in responses] == [st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS]

    run(scenario())


def test_move_of_nothing_succeeds_with_zero_counts(tmp_path: Path) -> None:
    async def scenario() -> None:
        responses = await do_move(Matches([], 1))
        assert [(r.status, r.completed, r.failed) for r in responses] == [(st.SUCCESS, 0, 0)]

    run(scenario())


def test_cancel_during_a_move_stops_between_sub_operations(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 5)

    async def scenario() -> None:
        gate = asyncio.Event()
        store = GatedStore(tmp_path / "dest", gate)
        async with (
            destination(tmp_path / "dest", store) as dest,
            archive(Matches(matches, dest.port)) as scp,
            associate("127.0.0.1", scp.port, move_settings()) as assoc,
        ):
            operation = move(assoc, study_query(), model="study", destination="DEST")
            await operation.send()
            await store.arrived.wait()  # the first sub-operation is under way
            operation.cancel()
            await asyncio.sleep(0)
            gate.set()
            responses = [r async for r in operation]
        final = responses[-1]
        assert final.status == st.CANCEL
        assert final.remaining is not None and final.remaining > 0
        assert final.completed is not None and final.completed + final.remaining == 5

    (tmp_path / "dest").mkdir()
    run(scenario())


def test_get_brings_every_match_back_on_the_same_association(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 3)
    out = tmp_path / "out"
    out.mkdir()
    stored: list[tuple[str, int]] = []

    async def scenario() -> None:
        async with (
            archive(Matches(matches)) as scp,
            associate("127.0.0.1", scp.port, get_settings()) as assoc,
        ):
            operation = get(
                assoc,
                study_query(),
                model="study",
                store=out,
                on_stored=lambda rq, code: stored.append((rq.affected_sop_instance_uid, code)),
            )
            responses = [r async for r in operation]
            await assoc.release()
        assert [r.remaining for r in responses] == [2, 1, 0, None]
        assert responses[-1].status == st.SUCCESS and responses[-1].completed == 3

    run(scenario())
    assert stored == [(m.sop_instance_uid, st.SUCCESS) for m in matches]
    assert sorted(dcmread(out / name).SOPInstanceUID for name in os.listdir(out)) == [
        m.sop_instance_uid for m in matches
    ]


def test_get_without_the_scp_role_fails_each_sub_operation(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 2)

    async def scenario() -> None:
        responses = await do_get(Matches(matches), tmp_path, role=False)
        final = responses[-1]
        assert final.status == st.SUBOPERATIONS_COMPLETE_WITH_FAILURES
        assert (final.completed, final.failed) == (0, 2)

    run(scenario())


def test_get_a_store_handler_refusal_counts_as_failed(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 3)

    class Picky:
        async def store(self, instance, info):  # type: ignore[no-untyped-def]
            return st.OUT_OF_RESOURCES if instance.sop_instance_uid.endswith(".1") else st.SUCCESS

    async def scenario() -> None:
        async with (
            archive(Matches(matches)) as scp,
            associate("127.0.0.1", scp.port, get_settings()) as assoc,
        ):
            responses = [r async for r in get(assoc, study_query(), model="study", store=Picky())]
        final = responses[-1]
        assert (final.status, final.completed, final.failed) == (
            st.SUBOPERATIONS_COMPLETE_WITH_FAILURES,
            2,
            1,
        )
        assert final.failed_instances == ("1.2.9.1.1",)

    run(scenario())


def test_get_cancel_after_the_first_pending_response(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 6)

    async def scenario() -> None:
        async with (
            archive(Matches(matches)) as scp,
            associate("127.0.0.1", scp.port, get_settings()) as assoc,
        ):
            operation = get(assoc, study_query(), model="study", store=tmp_path / "out")
            operation.cancel_after = 1
            responses = [r async for r in operation]
            assert assoc.established
            await assoc.release()
        final = responses[-1]
        assert final.status == st.CANCEL
        assert final.completed is not None and final.remaining is not None
        assert final.completed + final.remaining + (final.failed or 0) == 6
        assert final.remaining > 0

    (tmp_path / "out").mkdir()
    run(scenario())


def test_sub_association_contexts_add_a_context_for_other_stored_syntaxes() -> None:
    jpeg = uids.JPEG_BASELINE_8BIT if hasattr(uids, "JPEG_BASELINE_8BIT") else "1.2.840.10008.1.2.4.50"
    matches = [
        RetrieveMatch("a", SC, "1", LEE),
        RetrieveMatch("b", SC, "2", jpeg),
        RetrieveMatch("c", uids.VERIFICATION, "3", ILE),
    ]
    assert sub_association_contexts(matches, SYNTAXES) == [
        (SC, SYNTAXES),
        (uids.VERIFICATION, SYNTAXES),
        (SC, (jpeg,)),
    ]


@pytest.mark.parametrize("count", [130])
def test_sub_association_contexts_stop_at_128(count: int) -> None:
    matches = [RetrieveMatch("p", f"1.2.3.{n}", str(n), LEE) for n in range(count)]
    assert len(sub_association_contexts(matches, SYNTAXES)) == 128


def test_move_converts_when_the_destination_accepts_only_another_syntax(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 2, LEE)

    async def scenario() -> list[RetrieveResponse]:
        (tmp_path / "dest").mkdir()
        settings = AcceptorSettings(ae_title="DEST", supported={SC: (ILE,)})  # implicit VR only
        dest = Server(settings, store=StorageSCP(tmp_path / "dest"))
        await dest.start("127.0.0.1", 0)
        try:
            return await do_move(Matches(matches, dest.port))
        finally:
            await dest.close()

    final = run(scenario())[-1]
    assert (final.status, final.completed) == (st.SUCCESS, 2)
    for name in os.listdir(tmp_path / "dest"):
        ds = dcmread(tmp_path / "dest" / name)
        assert ds.file_meta.TransferSyntaxUID == ILE
        assert ds.PatientName == sample_dataset("1.2.3").PatientName


class AbortingStore(StorageSCP):
    """A destination that aborts its association at the second instance."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.count = 0

    async def store(self, instance, info):  # type: ignore[no-untyped-def]
        self.count += 1
        if self.count == 2:
            raise asyncio.CancelledError  # the association task ends: the peer sees it go
        return await super().store(instance, info)


def test_a_destination_that_goes_away_fails_the_remaining_sub_operations(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 4)

    async def scenario() -> RetrieveResponse:
        (tmp_path / "dest").mkdir()
        async with destination(tmp_path / "dest", AbortingStore(tmp_path / "dest")) as dest:
            return (await do_move(Matches(matches, dest.port)))[-1]

    final = run(scenario())
    assert final.status == st.SUBOPERATIONS_COMPLETE_WITH_FAILURES
    assert (final.completed, final.failed) == (1, 3)
    assert set(final.failed_instances) == {m.sop_instance_uid for m in matches[1:]}


def test_a_requestor_that_aborts_mid_move_leaves_the_server_serving(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 5)

    async def scenario() -> None:
        gate = asyncio.Event()
        store = GatedStore(tmp_path / "dest", gate)
        (tmp_path / "dest").mkdir()
        async with destination(tmp_path / "dest", store) as dest, archive(Matches(matches, dest.port)) as scp:
            assoc = await associate("127.0.0.1", scp.port, move_settings())
            operation = move(assoc, study_query(), model="study", destination="DEST")
            await operation.send()
            await store.arrived.wait()
            assoc.abort()  # gone while a sub-operation is under way
            gate.set()
            # the archive goes on serving: a new move of the same study completes
            async with associate("127.0.0.1", scp.port, move_settings()) as again:
                responses = [r async for r in move(again, study_query(), model="study", destination="DEST")]
            assert responses[-1].status == st.SUCCESS
            assert responses[-1].completed == 5

    run(scenario())


def test_a_destination_accepting_no_context_is_a702(tmp_path: Path) -> None:
    matches = make_files(tmp_path / "src", 2)

    async def scenario() -> RetrieveResponse:
        settings = AcceptorSettings(ae_title="DEST", supported={}, reject_without_contexts=False)
        dest = Server(settings)
        await dest.start("127.0.0.1", 0)
        try:
            return (await do_move(Matches(matches, dest.port)))[-1]
        finally:
            await dest.close()

    final = run(scenario())
    assert (final.status, final.completed, final.failed) == (st.OUT_OF_RESOURCES_SUBOPERATIONS, 0, 2)
