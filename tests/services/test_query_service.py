"""The C-FIND service: our SCU against our SCP with an in-memory handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager

import pytest
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.messages import CCancelRQ, CFindRQ, CFindRSP
from dicomwire.errors import DatasetCodecError
from dicomwire.net.association import Association
from dicomwire.net.client import associate
from dicomwire.net.server import Server
from dicomwire.services.query import (
    AssociationInfo,
    decode_dataset,
    encode_dataset,
    find,
    ignore_cancel,
    make_find_handler,
)

SYNTAXES = (
    uids.EXPLICIT_VR_LITTLE_ENDIAN,
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_BIG_ENDIAN,
    uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
MODELS = (uids.PATIENT_ROOT_FIND, uids.STUDY_ROOT_FIND, uids.MODALITY_WORKLIST_FIND)


def run(coro: Awaitable[None], limit: float = 20.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, limit)

    asyncio.run(bounded())


def patient(name: str, pid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "PATIENT"
    ds.PatientName = name
    ds.PatientID = pid
    return ds


PATIENTS = [patient(f"DOE^{n}", f"P{n:03d}") for n in range(20)]


class FakeArchive:
    """Matches PatientName by prefix (``DOE*``); records what it was asked."""

    def __init__(
        self,
        records: Sequence[Dataset] = PATIENTS,
        *,
        fail_after: int | None = None,
        status: int | None = None,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.records = records
        self.fail_after = fail_after
        self.status = status
        self.gate = gate
        self.seen: list[tuple[Dataset, str, AssociationInfo]] = []
        self.closed = False

    async def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        self.seen.append((query, model, assoc_info))
        if self.status is not None:
            yield self.status, None
            return
        pattern = str(query.get("PatientName", "") or "")
        try:
            for index, record in enumerate(self.records):
                if self.fail_after is not None and index >= self.fail_after:
                    raise RuntimeError("index exploded")
                if self.gate is not None and index == 1:
                    await self.gate.wait()
                if pattern and not str(record.PatientName).startswith(pattern.rstrip("*")):
                    continue
                match = Dataset()
                for keyword in query.dir():
                    if keyword in record:
                        match.add(record[keyword])
                yield st.PENDING, match
        finally:
            self.closed = True


@asynccontextmanager
async def find_server(handler: FakeArchive, syntaxes: Sequence[str] = SYNTAXES) -> AsyncIterator[Server]:
    settings = AcceptorSettings(ae_title="ARCHIVE", supported={model: syntaxes for model in MODELS})
    server = Server(settings, {CFindRQ: make_find_handler(handler), CCancelRQ: ignore_cancel})
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


def query(name: str = "DOE*") -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "PATIENT"
    ds.PatientName = name
    ds.PatientID = ""
    return ds


def contexts(syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN) -> list[tuple[str, list[str]]]:
    return [(model, [syntax]) for model in MODELS]


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_codec_round_trip(syntax: str) -> None:
    ds = query("Müller^Hans")
    ds.SpecificCharacterSet = "ISO_IR 100"
    data = encode_dataset(ds, syntax)
    back = decode_dataset(data, syntax)
    assert back.PatientName == "Müller^Hans"
    assert back.QueryRetrieveLevel == "PATIENT"


def test_codec_errors() -> None:
    with pytest.raises(DatasetCodecError):
        decode_dataset(b"\x01\x02", uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    with pytest.raises(DatasetCodecError):
        encode_dataset(query(), "1.2.840.10008.1.2.4.50")


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_find_all_matches_then_success(syntax: str) -> None:
    archive = FakeArchive()

    async def main() -> None:
        async with (
            find_server(archive) as server,
            associate(
                "127.0.0.1", server.port, calling_ae="ME", called_ae="ARCHIVE", contexts=contexts(syntax)
            ) as assoc,
        ):
            results = [(r.status, r.identifier) async for r in find(assoc, query(), model="patient")]
            assert [s for s, _ in results] == [st.PENDING] * 20 + [st.SUCCESS]
            assert results[-1][1] is None
            names = [str(ds.PatientName) for _, ds in results[:-1] if ds is not None]
            assert names == [f"DOE^{n}" for n in range(20)]
            assert results[0][1] is not None and results[0][1].PatientID == "P000"

    run(main())
    seen_query, model, info = archive.seen[0]
    assert model == uids.PATIENT_ROOT_FIND
    assert seen_query.PatientName == "DOE*"
    assert (info.calling_ae, info.called_ae, info.transfer_syntax) == ("ME", "ARCHIVE", syntax)


def test_no_match_is_just_success_and_operations_repeat() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive()) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            for _ in range(3):
                operation = find(assoc, query("NOBODY"), model=uids.PATIENT_ROOT_FIND)
                results = [(r.status, r.identifier) async for r in operation]
                assert results == [(st.SUCCESS, None)]
            results = [(r.status, r.identifier) async for r in find(assoc, query("DOE^1"), model="worklist")]
            assert [s for s, _ in results] == [st.PENDING] * 11 + [st.SUCCESS]

    run(main())


def test_cancel_after_n_ends_with_cancel_and_no_more_pending() -> None:
    archive = FakeArchive()

    async def main() -> None:
        async with (
            find_server(archive) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            statuses = [r.status async for r in find(assoc, query(), model="patient", cancel_after=2)]
            # The SCP looks for the cancel between matches: a few more may be on their way.
            assert statuses[-1] == st.CANCEL
            pending = statuses[:-1]
            assert set(pending) == {st.PENDING} and 2 <= len(pending) < 20
            # The association is still fine afterwards.
            again = [r.status async for r in find(assoc, query("DOE^19"), model="patient")]
            assert again == [st.PENDING, st.SUCCESS]

    run(main())
    assert archive.closed


def test_explicit_cancel_while_scp_is_waiting() -> None:
    gate = asyncio.Event()

    async def main() -> None:
        archive = FakeArchive(gate=gate)
        async with (
            find_server(archive) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            operation = find(assoc, query(), model="patient")
            first = await operation.__anext__()
            assert first.status == st.PENDING
            waiting = asyncio.ensure_future(operation.__anext__())
            await asyncio.sleep(0)
            operation.cancel()  # sent from outside while the iterator waits
            await asyncio.sleep(0)
            gate.set()
            rest = [await waiting] + [(r.status, r.identifier) async for r in operation]
            assert rest[-1] == (st.CANCEL, None)
            assert operation.cancelled and operation.done
            assert len(rest) <= 2

    run(main())


def test_context_manager_cancels_on_early_exit() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive()) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            async with find(assoc, query(), model="patient") as operation:
                async for response in operation:
                    assert response.status == st.PENDING
                    break
            assert operation.final is not None and operation.final.status == st.CANCEL
            assert [r.status async for r in find(assoc, query("DOE^7"), model="patient")] == [
                st.PENDING,
                st.SUCCESS,
            ]

    run(main())


def test_handler_failure_status_is_final() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive(status=st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS)) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            results = [(r.status, r.identifier) async for r in find(assoc, query(), model="patient")]
            assert results == [(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, None)]

    run(main())


def test_handler_exception_gives_unable_to_process_with_comment() -> None:
    archive = FakeArchive(fail_after=3)

    async def main() -> None:
        async with (
            find_server(archive) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            operation = find(assoc, query(), model="patient")
            responses = [response async for response in operation.responses()]
            assert [r.status for r in responses] == [st.PENDING] * 3 + [st.UNABLE_TO_PROCESS]
            final = responses[-1].message
            assert isinstance(final, CFindRSP)
            assert final.error_comment is not None and "index exploded" in final.error_comment
            assert final.affected_sop_class_uid == uids.PATIENT_ROOT_FIND
            # the association stays usable
            again = [r.status async for r in find(assoc, query("DOE^2"), model="patient")]
            assert again == [st.PENDING, st.UNABLE_TO_PROCESS]

    run(main())
    assert archive.closed


def test_undecodable_identifier_is_refused() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive()) as server,
            associate(
                "127.0.0.1",
                server.port,
                called_ae="ARCHIVE",
                contexts=contexts(uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
            ) as assoc,
        ):
            context = assoc.context_for(uids.PATIENT_ROOT_FIND)
            request = CFindRQ(
                message_id=assoc.next_message_id(), affected_sop_class_uid=uids.PATIENT_ROOT_FIND
            )
            await assoc.send(context.context_id, request, b"\xff\xfe garbage")
            reply = await assoc.receive(5)
            assert isinstance(reply.message, CFindRSP)  # type: ignore[union-attr]
            assert reply.message.status == st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS  # type: ignore[union-attr]

    run(main())


def test_sop_class_not_matching_context() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive()) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            context = assoc.context_for(uids.PATIENT_ROOT_FIND)
            operation = find(assoc, query(), model=uids.STUDY_ROOT_FIND)
            operation.context = context  # lie about the context
            results = [(r.status, r.identifier) async for r in operation]
            assert results == [(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, None)]

    run(main())


def test_stray_cancel_is_ignored() -> None:
    async def main() -> None:
        async with (
            find_server(FakeArchive()) as server,
            associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts()) as assoc,
        ):
            context = assoc.context_for(uids.PATIENT_ROOT_FIND)
            await assoc.send(context.context_id, CCancelRQ(message_id_being_responded_to=99))
            assert [r.status async for r in find(assoc, query("DOE^3"), model="patient")] == [
                st.PENDING,
                st.SUCCESS,
            ]

    run(main())


async def _open(server: Server) -> Association:
    return await associate("127.0.0.1", server.port, called_ae="ARCHIVE", contexts=contexts())


def test_many_concurrent_associations() -> None:
    async def one(server: Server) -> int:
        assoc = await _open(server)
        try:
            return len([r.status async for r in find(assoc, query(), model="patient")])
        finally:
            await assoc.release()

    async def main() -> None:
        async with find_server(FakeArchive()) as server:
            counts = await asyncio.gather(*(one(server) for _ in range(8)))
            assert counts == [21] * 8

    run(main())
