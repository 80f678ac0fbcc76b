"""Robustness of the requestor (and of both ends of a release collision): acceptors
that lie in their A-ASSOCIATE-AC, vanish, answer garbage, or never read."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from test_net_robustness import (
    A_ABORT,
    A_RELEASE_RP,
    ECHO,
    ECHO_AND_CT,
    QUICK,
    Peer,
    captured_logs,
    command,
    pdata,
    reply_types,
    run,
    serving,
    settled,
)

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings, Timeouts
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CEchoRQ, CEchoRSP, CStoreRQ, encode_message
from dicomwire.errors import AssociationAborted, NetworkTimeout, RemoteProtocolError
from dicomwire.net.association import Association
from dicomwire.net.client import associate
from dicomwire.net.server import negotiate
from dicomwire.services.verification import echo
from dicomwire.ul.items import PresentationContextAC
from dicomwire.ul.pdu import (
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    decode_pdu,
)
from dicomwire.ul.pdv import PDV
from dicomwire.ul.states import State

A_RELEASE_RQ = 5
CT = (uids.CT_IMAGE_STORAGE, [uids.IMPLICIT_VR_LITTLE_ENDIAN])

Script = Callable[[Peer], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_acceptor(script: Script) -> AsyncIterator[tuple[int, asyncio.Future[None]]]:
    """A listening raw peer running ``script`` on its first connection; the future holds the
    script's outcome (its assertions fail the test)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        try:
            await script(peer)
        except BaseException as exc:  # reported through ``done``
            if not done.done():
                done.set_exception(exc)
        else:
            if not done.done():
                done.set_result(None)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], done
        await asyncio.wait_for(done, 3.0)
    finally:
        server.close()


async def read_request(peer: Peer) -> AAssociateRQ:
    pdu_type, body = await peer.read_pdu()
    request = decode_pdu(pdu_type, body)
    assert isinstance(request, AAssociateRQ)
    return request


def accept_for(request: AAssociateRQ) -> AAssociateAC:
    outcome = negotiate(AcceptorSettings(supported=ECHO_AND_CT), request, ("127.0.0.1", 0))
    assert not isinstance(outcome, AAssociateRJ)
    return outcome[0]


async def accept(peer: Peer) -> None:
    await peer.send(accept_for(await read_request(peer)).encode())


# == 13. an A-ASSOCIATE-AC that answers what was not asked ===========================================
LYING_ANSWERS = {
    "context-never-proposed": (PresentationContextAC(3, 0, uids.IMPLICIT_VR_LITTLE_ENDIAN),),
    "even-context-id": (PresentationContextAC(2, 0, uids.IMPLICIT_VR_LITTLE_ENDIAN),),
    "syntax-never-proposed": (PresentationContextAC(1, 0, uids.EXPLICIT_VR_LITTLE_ENDIAN),),
    "second-answer-never-proposed": (
        PresentationContextAC(1, 0, uids.IMPLICIT_VR_LITTLE_ENDIAN),
        PresentationContextAC(5, 0, uids.IMPLICIT_VR_LITTLE_ENDIAN),
    ),
}


@pytest.mark.parametrize("lie", LYING_ANSWERS)
def test_accept_of_what_was_never_proposed_is_a_remote_error_and_aborts(lie: str) -> None:
    async def lying(peer: Peer) -> None:
        accept = accept_for(await read_request(peer))
        await peer.send(dataclasses.replace(accept, presentation_contexts=LYING_ANSWERS[lie]).encode())
        assert reply_types(await peer.closed_by_server(2.0)) == [A_ABORT]  # aborted, not left open

    async def main() -> None:
        async with raw_acceptor(lying) as (port, _):
            began = time.monotonic()
            with pytest.raises(RemoteProtocolError, match=r"not proposed|never proposed"):
                await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK))
            assert time.monotonic() - began < 1.0

    run(main())


@pytest.mark.parametrize(
    "after",
    [AAbort(AbortSource.SERVICE_USER, 0).encode(), b"\x99\x00\x00\x00\x00\x00", AReleaseRQ().encode()],
    ids=["abort", "garbage", "release"],
)
def test_accept_followed_at_once_by_something_else(after: bytes) -> None:
    """The A-ASSOCIATE-AC and an A-ABORT (garbage, an A-RELEASE-RQ) in one chunk of bytes: the
    association is over before open_association looks at it: AssociationAborted, no crash."""

    async def hasty(peer: Peer) -> None:
        await peer.send(accept_for(await read_request(peer)).encode() + after)
        await peer.closed_by_server(2.0)

    async def main() -> None:
        with captured_logs() as logs:
            async with raw_acceptor(hasty) as (port, _):
                with pytest.raises(AssociationAborted):
                    await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK))
        assert not logs.errors, logs.text()

    run(main())


# == 7. the acceptor vanishes while we wait =========================================================
SILENT = Timeouts(acse=5.0, socket=60.0, dimse=None)  # so that only the closed connection can end it


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("when", ["before-response", "mid-response-pdu", "mid-response-message"])
def test_acceptor_vanishing_while_we_wait_for_a_response(how: str, when: str) -> None:
    response = encode_message(CEchoRSP(message_id_being_responded_to=1))
    partial = {
        "before-response": b"",
        "mid-response-pdu": pdata(PDV(1, True, True, response))[:-4],
        "mid-response-message": pdata(PDV(1, True, False, response[:8])),
    }[when]

    async def vanishing(peer: Peer) -> None:
        await accept(peer)
        await peer.read_pdu()  # the C-ECHO-RQ
        await peer.send(partial)
        if how == "reset":
            peer.writer.transport.abort()

    async def main() -> None:
        with captured_logs() as logs:
            async with raw_acceptor(vanishing) as (port, _):
                assoc = await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=SILENT))
                began = time.monotonic()
                with pytest.raises(AssociationAborted):
                    await echo(assoc)
                assert time.monotonic() - began < 1.0, "noticed by a timeout, not by the close"
                assert assoc.is_closed
        assert not logs.errors, logs.text()

    run(main())


@pytest.mark.parametrize("garbage", [b"\x99" * 10, b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x02\x01\x03"])
def test_garbage_instead_of_a_response(garbage: bytes) -> None:
    async def babbling(peer: Peer) -> None:
        await accept(peer)
        await peer.read_pdu()
        await peer.send(garbage)
        assert reply_types(await peer.closed_by_server(2.0)) == [A_ABORT]

    async def main() -> None:
        with captured_logs() as logs:
            async with raw_acceptor(babbling) as (port, _):
                assoc = await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=SILENT))
                with pytest.raises((AssociationAborted, RemoteProtocolError)):
                    await echo(assoc)
                await asyncio.wait_for(assoc.wait_closed(), 1.0)
        assert not logs.errors, logs.text()

    run(main())


# == 9. an acceptor that never reads ===============================================================
def test_acceptor_that_never_reads_gets_back_pressure_then_the_socket_timeout() -> None:
    big = b"\x00" * (16 << 20)

    async def main() -> None:
        finished = asyncio.Event()

        async def deaf(peer: Peer) -> None:
            await accept(peer)
            await finished.wait()  # reads nothing, ever

        async with raw_acceptor(deaf) as (port, _):
            settings = RequestorSettings(contexts=[*ECHO, CT], timeouts=Timeouts(acse=5.0, socket=0.4))
            assoc = await associate("127.0.0.1", port, settings)
            store = CStoreRQ(
                message_id=1, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2"
            )
            context = assoc.context_for(uids.CT_IMAGE_STORAGE)
            began = time.monotonic()
            with pytest.raises(NetworkTimeout):
                await assoc.send(context.context_id, store, big)
            assert time.monotonic() - began < 2.0
            transport = assoc._transport
            assert transport is not None and transport.get_write_buffer_size() < 1 << 20
            assoc.abort()  # the A-ABORT cannot be delivered: the connection is dropped at once,
            await asyncio.wait_for(assoc.wait_closed(), 0.2)  # not after a timeout (0.4 s)
            finished.set()

    run(main())


# == 8. release collision ==========================================================================
async def associated_pair() -> tuple[Association, Association]:
    """Two of our Associations, requestor and acceptor, over a socket pair, established."""
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    _, requestor = await loop.connect_accepted_socket(
        lambda: Association(requestor=True, timeouts=QUICK), left
    )
    _, acceptor = await loop.connect_accepted_socket(
        lambda: Association(requestor=False, timeouts=QUICK), right
    )
    pending = asyncio.create_task(
        requestor.request_association(RequestorSettings(contexts=ECHO).build_request())
    )
    outcome = negotiate(AcceptorSettings(), await acceptor.wait_for_request(), ("", 0))
    assert not isinstance(outcome, AAssociateRJ)
    acceptor.send_accept(*outcome)
    assert isinstance(await pending, AAssociateAC)
    return requestor, acceptor


def test_release_collision_between_two_of_our_associations() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            requestor, acceptor = await associated_pair()
            assert requestor.established and acceptor.established
            # Both A-RELEASE-RQs are written before either side reads: a true collision.
            await asyncio.wait_for(asyncio.gather(requestor.release(), acceptor.release()), 2.0)
            for assoc in (requestor, acceptor):
                await asyncio.wait_for(assoc.wait_closed(), 2.0)
                assert assoc.ul.state is State.STA1
                assert assoc.error is None
        assert not logs.errors, logs.text()

    run(main())


def test_release_collision_with_a_raw_acceptor() -> None:
    """PS3.8 9.2.3: the requestor answers first (AR-9), the acceptor after (AR-10, AR-4)."""

    async def colliding(peer: Peer) -> None:
        await accept(peer)
        assert (await peer.read_pdu())[0] == A_RELEASE_RQ
        await peer.send(AReleaseRQ().encode())
        assert (await peer.read_pdu())[0] == A_RELEASE_RP
        await peer.send(AReleaseRP().encode())
        assert await peer.closed_by_server(2.0) == b""

    async def main() -> None:
        async with raw_acceptor(colliding) as (port, _):
            assoc = await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK))
            await asyncio.wait_for(assoc.release(), 2.0)
            await asyncio.wait_for(assoc.wait_closed(), 2.0)
            assert assoc.error is None

    run(main())


def test_release_collision_on_our_server() -> None:
    """Our acceptor releases (from a handler) while the raw requestor releases too."""

    async def release_instead(assoc: Association, received: MessageReceived) -> None:
        await assoc.release()

    async def main() -> None:
        with captured_logs() as logs:
            async with serving({CEchoRQ: release_instead}) as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                await peer.send(command(CEchoRQ(message_id=1)))
                assert (await peer.read_pdu())[0] == A_RELEASE_RQ  # the server releases
                await peer.send(AReleaseRQ().encode())  # so do we: collision, we are the requestor
                await peer.send(AReleaseRP().encode())  # AR-9: the requestor answers first
                assert (await peer.read_pdu())[0] == A_RELEASE_RP  # AR-10 then AR-4
                peer.close()
                await settled(server)
        assert not logs.errors, logs.text()

    run(main())


# == the association's futures survive a cancelled waiter =========================================
def test_cancelled_wait_closed_leaves_the_association_usable() -> None:
    async def main() -> None:
        async with serving() as server:
            assoc = await associate(
                "127.0.0.1", server.port, RequestorSettings(contexts=ECHO, timeouts=QUICK)
            )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(assoc.wait_closed(), 0.05)  # it is open: this must time out
            assert not assoc.is_closed
            assert (await echo(assoc)).status == 0
            await assoc.release()
            await asyncio.wait_for(assoc.wait_closed(), 1.0)
            assert assoc.is_closed

    run(main())
