"""The asyncio association layer over loopback: our requestor against our acceptor,
and against raw sockets that misbehave."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings, Timeouts
from dicomwire.dimse.messages import CEchoRQ
from dicomwire.errors import (
    AcseTimeout,
    AssociationAborted,
    AssociationRejected,
    ConnectError,
    DimseTimeout,
    NetworkTimeout,
)
from dicomwire.net.client import associate
from dicomwire.net.server import Server, negotiate
from dicomwire.services.verification import echo, handle_echo
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ

ECHO = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]


def run(coro: Awaitable[None], limit: float = 20.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, limit)

    asyncio.run(bounded())


@asynccontextmanager
async def echo_server(**settings: object) -> AsyncIterator[Server]:
    server = Server(AcceptorSettings(**settings), {CEchoRQ: handle_echo})  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def raw_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


def test_echo_release_and_repeat() -> None:
    async def main() -> None:
        async with echo_server() as server:
            async with associate("127.0.0.1", server.port, contexts=ECHO) as assoc:
                assert assoc.established
                statuses = [(await echo(assoc)).status for _ in range(25)]
                assert statuses == [0] * 25
                assert assoc.peer_max_pdu_length == 16384
            assert assoc.is_closed
            assert server.associations_served >= 0

    run(main())


def test_abort_ends_association_and_server_keeps_serving() -> None:
    async def main() -> None:
        async with echo_server() as server:
            assoc = await associate("127.0.0.1", server.port, contexts=ECHO)
            assert (await echo(assoc)).status == 0
            assoc.abort()
            await assoc.wait_closed(5)
            async with associate("127.0.0.1", server.port, contexts=ECHO) as again:
                assert (await echo(again)).status == 0

    run(main())


def test_no_acceptable_context_is_rejected_like_dcmtk() -> None:
    async def main() -> None:
        async with echo_server() as server:
            ct = [("1.2.840.10008.5.1.4.1.1.2", [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
            with pytest.raises(AssociationRejected) as info:
                await associate("127.0.0.1", server.port, contexts=ct)
            assert (info.value.result, info.value.source, info.value.reason) == (1, 1, 1)

    run(main())


def test_custom_check_rejects_called_ae() -> None:
    def only_store(request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ | None:
        return None if request.called_ae == "STORE" else AAssociateRJ(1, 1, 7)

    async def main() -> None:
        async with echo_server(check=only_store) as server:
            with pytest.raises(AssociationRejected) as info:
                await associate("127.0.0.1", server.port, contexts=ECHO, called_ae="OTHER")
            assert info.value.reason == 7
            async with associate("127.0.0.1", server.port, contexts=ECHO, called_ae="STORE") as assoc:
                assert (await echo(assoc)).status == 0

    run(main())


def test_connection_refused_is_connect_error() -> None:
    async def main() -> None:
        async with raw_server(lambda r, w: asyncio.sleep(0)) as port:
            pass  # the port is closed again: nothing listens there now
        with pytest.raises(ConnectError):
            await associate("127.0.0.1", port, contexts=ECHO)

    run(main())


def test_unknown_host_is_connect_error() -> None:
    async def main() -> None:
        with pytest.raises(ConnectError) as info:
            await associate("no-such-host.invalid", 104, contexts=ECHO)
        assert info.value.unknown_host

    run(main())


def test_silent_peer_hits_acse_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await reader.read(1 << 16)  # returns at EOF once the requestor gives up
        writer.close()

    async def main() -> None:
        async with raw_server(silent) as port:
            settings = RequestorSettings(contexts=ECHO, timeouts=Timeouts(acse=0.3))
            with pytest.raises(AcseTimeout):
                await associate("127.0.0.1", port, settings)

    run(main())


def test_garbage_from_peer_aborts() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.write(b"\x99\x00\x00\x00\x00\x04abcd")  # unknown PDU type
        await writer.drain()
        await reader.read(1 << 16)
        writer.close()

    async def main() -> None:
        async with raw_server(garbage) as port:
            with pytest.raises(AssociationAborted):
                await associate("127.0.0.1", port, contexts=ECHO)

    run(main())


def test_dimse_timeout_when_scp_never_answers() -> None:
    async def never_answer(assoc: object, received: object) -> None:
        await asyncio.sleep(30)

    async def main() -> None:
        server = Server(AcceptorSettings(), {CEchoRQ: never_answer})
        await server.start("127.0.0.1", 0)
        try:
            settings = RequestorSettings(contexts=ECHO, timeouts=Timeouts(dimse=0.3))
            assoc = await associate("127.0.0.1", server.port, settings)
            with pytest.raises(DimseTimeout):
                await echo(assoc)
            assoc.abort()
        finally:
            await server.close()

    run(main())


def test_idle_connections_do_not_lock_out_real_peers() -> None:
    async def main() -> None:
        async with echo_server() as server:
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
            async with associate("127.0.0.1", server.port, contexts=ECHO) as assoc:
                assert (await echo(assoc)).status == 0
            for _, writer in idle:
                writer.close()

    run(main())


def test_artim_closes_a_peer_that_never_requests() -> None:
    async def main() -> None:
        settings = {"timeouts": Timeouts(acse=0.2)}
        async with echo_server(**settings) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
            writer.close()

    run(main())


def test_max_associations_rejects_transiently() -> None:
    async def main() -> None:
        async with echo_server(max_associations=1) as server:
            first = await associate("127.0.0.1", server.port, contexts=ECHO)
            with pytest.raises(AssociationRejected) as info:
                await associate("127.0.0.1", server.port, contexts=ECHO)
            assert info.value.result == 2
            await first.release()

    run(main())


def test_socket_timeout_on_peer_stalling_mid_pdu() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.write(struct.pack(">BxI", 2, 500) + b"\x00" * 10)  # half an A-ASSOCIATE-AC
        await writer.drain()
        await reader.read(1 << 16)
        writer.close()

    async def main() -> None:
        async with raw_server(stall) as port:
            settings = RequestorSettings(contexts=ECHO, timeouts=Timeouts(acse=0.4, socket=0.2))
            with pytest.raises((AcseTimeout, NetworkTimeout)):
                await associate("127.0.0.1", port, settings)

    run(main())


def test_negotiate_prefers_acceptor_order() -> None:
    settings = AcceptorSettings(
        supported={uids.VERIFICATION: (uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN)}
    )
    request = RequestorSettings(
        contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_LITTLE_ENDIAN])]
    ).build_request()
    outcome = negotiate(settings, request, ("127.0.0.1", 1))
    assert not isinstance(outcome, AAssociateRJ)
    accept, contexts = outcome
    assert contexts[1].transfer_syntax == uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert accept.presentation_contexts[0].transfer_syntax == uids.EXPLICIT_VR_LITTLE_ENDIAN


def test_accept_without_usable_contexts_when_configured() -> None:
    async def main() -> None:
        async with echo_server(reject_without_contexts=False) as server:
            ct = [("1.2.840.10008.5.1.4.1.1.2", [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
            assoc = await associate("127.0.0.1", server.port, contexts=ct)
            assert assoc.established and assoc.contexts == {}
            await assoc.release()

    run(main())


def test_server_logs_looked_up_host_and_dcmtk_refusal_text(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with echo_server() as server:
            ct = [("1.2.840.10008.5.1.4.1.1.2", [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
            with pytest.raises(AssociationRejected):
                await associate("127.0.0.1", server.port, contexts=ct, calling_ae="LOOKUP")

    with caplog.at_level("INFO", logger="dicomwire.server"):
        run(main())
    messages = [record.getMessage() for record in caplog.records]
    try:
        expected_host = socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0]
    except OSError:
        expected_host = "127.0.0.1"
    assert f"Association Received {expected_host}: LOOKUP -> ANY-SCP" in messages
    assert "Refusing Association (no acceptable presentation contexts)" in messages


def test_flood_of_idle_connections_drops_the_oldest_and_keeps_serving() -> None:
    async def main() -> None:
        async with echo_server(max_waiting=5) as server:
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(8)]
            # the three oldest were dropped (EOF at once), the five newest are still open
            for reader, _ in idle[:3]:
                assert await asyncio.wait_for(reader.read(), 5) == b""
            async with associate("127.0.0.1", server.port, contexts=ECHO) as assoc:
                assert (await echo(assoc)).status == 0
            # the newest idle connection is still open: no EOF arrives (bounded wait for an absence)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(idle[-1][0].read(1), 0.3)
            for _, writer in idle:
                writer.close()

    run(main())
