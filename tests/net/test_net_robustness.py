"""Robustness of the acceptor: garbage, lying lengths, slow, idle, vanishing and
never-reading peers, limits, failing handlers and shutdown, over loopback.

Every test runs our ``Server`` (Verification handler unless said otherwise)
against raw asyncio sockets or our client, with small timeouts, and checks
the same four things: the bad connection is closed, the server logs no ERROR
for a fault of the peer, no task is left behind, and a normal echo
association is served right after.

The helpers here are shared with ``test_net_robustness_client.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import struct
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings, Timeouts
from dicomwire.dimse import status
from dicomwire.dimse.commands import encode_command
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import (
    CCancelRQ,
    CEchoRQ,
    CEchoRSP,
    CFindRQ,
    CFindRSP,
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CStoreRQ,
    CStoreRSP,
    Message,
    encode_message,
)
from dicomwire.errors import AssociationAborted, AssociationRejected, NetworkTimeout
from dicomwire.net.association import Association
from dicomwire.net.client import associate
from dicomwire.net.server import Handler, Server
from dicomwire.services.verification import echo, handle_echo
from dicomwire.ul.items import PresentationContextRQ
from dicomwire.ul.pdu import AAbort, AbortSource, AReleaseRQ, encode_pdata
from dicomwire.ul.pdv import PDV

ECHO = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
RQ = RequestorSettings(contexts=ECHO).build_request().encode()
# Small enough to keep every test short, large enough never to fire by accident.
QUICK = Timeouts(connect=2.0, socket=3.0, acse=2.0, dimse=3.0)
A_ABORT, A_ASSOCIATE_AC, A_ASSOCIATE_RJ, P_DATA_TF, A_RELEASE_RP = 7, 2, 3, 4, 6
TWO_GIB = 0x8000_0000


def run(coro: Awaitable[None], limit: float = 10.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, limit)

    asyncio.run(bounded())


# -- logs ----------------------------------------------------------------------------------
class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def errors(self) -> list[logging.LogRecord]:
        return [record for record in self.records if record.levelno >= logging.ERROR]

    def text(self) -> str:
        return "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records)

    def assert_no_error(self) -> None:
        """A peer's fault is logged at INFO/WARNING: never ERROR, never a traceback."""
        assert not self.errors, self.text()
        assert not [r for r in self.records if r.exc_info], self.text()


@contextlib.contextmanager
def captured_logs() -> Iterator[Records]:
    """Everything dicomwire and asyncio log (asyncio reports exceptions escaping a protocol
    callback and futures whose exception nobody retrieved)."""
    gc.collect()  # what earlier tests left behind is not ours to report
    handler = Records()
    loggers = [logging.getLogger(name) for name in ("dicomwire", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        gc.collect()  # "exception was never retrieved" is logged when the future is collected
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


# -- our server ------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def serving(
    handlers: Mapping[type[Message], Handler] | None = None, **settings: object
) -> AsyncIterator[Server]:
    """A started server; on a clean exit, checks that it left no task and no active count."""
    settings.setdefault("timeouts", QUICK)
    server = Server(AcceptorSettings(**settings), handlers or {CEchoRQ: handle_echo})  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()
    assert not server._tasks, "association tasks left behind"
    assert server._active == 0


async def settled(server: Server, limit: float = 5.0) -> None:
    """Wait until every association task of ``server`` has finished (its connection is closed)."""
    tasks = set(server._tasks)
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=limit)
        assert not pending, f"{len(pending)} association tasks still running after {limit} s"
    assert not server._tasks
    assert server._active == 0


async def assert_serves(port: int, echoes: int = 2) -> None:
    """A normal association: echo and release."""
    async with associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK)) as assoc:
        for _ in range(echoes):
            assert (await echo(assoc)).status == 0


# -- a raw peer --------------------------------------------------------------------------------
@dataclass
class Peer:
    """A TCP peer that speaks raw bytes."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def connect(cls, port: int) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        """Write; a server that already closed is not an error here."""
        with contextlib.suppress(ConnectionError):
            self.writer.write(data)
            await self.writer.drain()

    def half_close(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            self.writer.write_eof()

    async def read_pdu(self, limit: float = 2.0) -> tuple[int, bytes]:
        header = await asyncio.wait_for(self.reader.readexactly(6), limit)
        pdu_type, length = struct.unpack(">BxI", header)
        return pdu_type, await asyncio.wait_for(self.reader.readexactly(length), limit)

    async def associate(self, request: bytes = RQ) -> None:
        await self.send(request)
        pdu_type, _ = await self.read_pdu()
        assert pdu_type == A_ASSOCIATE_AC

    async def closed_by_server(self, limit: float = 2.0) -> bytes:
        """All the server sent until it closed the connection (a reset counts as closed)."""

        async def drain() -> bytes:
            chunks = []
            with contextlib.suppress(ConnectionError):
                while chunk := await self.reader.read(1 << 16):
                    chunks.append(chunk)
            return b"".join(chunks)

        try:
            return await asyncio.wait_for(drain(), limit)
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open for {limit} s") from None

    def close(self) -> None:
        self.writer.close()


def pdata(*pdvs: PDV) -> bytes:
    return encode_pdata(pdvs)


def command(message: Message, context_id: int = 1) -> bytes:
    return pdata(PDV(context_id, True, True, encode_message(message)))


ECHO_RQ = command(CEchoRQ(message_id=1))
ECHO_AND_CT = {
    uids.VERIFICATION: (uids.IMPLICIT_VR_LITTLE_ENDIAN,),
    uids.CT_IMAGE_STORAGE: (uids.IMPLICIT_VR_LITTLE_ENDIAN,),
}
# Proposes Verification (context 1) and CT Image Storage (context 3).
ECHO_AND_CT_RQ = RequestorSettings(contexts=list(ECHO_AND_CT.items())).build_request().encode()


def check_aborted(reply: bytes) -> None:
    """Before closing, the server said nothing, or A-ABORT (possibly after valid PDUs)."""
    if reply:
        assert reply_types(reply)[-1] == A_ABORT, reply[:64]


def check_replies(reply: bytes) -> None:
    """Before closing, the server sent only well-formed PDUs (an A-ASSOCIATE-AC, then maybe
    an A-ABORT: garbage that is only the start of a PDU is not an error until the EOF)."""
    assert set(reply_types(reply)) <= {A_ASSOCIATE_AC, A_ASSOCIATE_RJ, P_DATA_TF, A_RELEASE_RP, A_ABORT}


def reply_types(reply: bytes) -> list[int]:
    types, offset = [], 0
    while offset + 6 <= len(reply):
        pdu_type, length = struct.unpack_from(">BxI", reply, offset)
        types.append(pdu_type)
        offset += 6 + length
    return types


# == 1. garbage ===================================================================================
PDU_TYPES = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0xFF])
# Random bytes, or a PDU header of a known or unknown type with a random length and body.
GARBAGE = st.one_of(
    st.binary(min_size=1, max_size=80),
    st.builds(
        lambda t, n, body: struct.pack(">BxI", t, n) + body,
        PDU_TYPES,
        st.one_of(st.integers(0, 300), st.integers(0, 0xFFFF_FFFF)),
        st.binary(max_size=300),
    ),
)
# P-DATA-TF PDUs that frame correctly but carry random PDVs: random command and
# data fragments on random contexts, several PDUs in one write.
RANDOM_PDVS = st.lists(
    st.lists(
        st.builds(PDV, st.sampled_from([1, 3, 255]), st.booleans(), st.booleans(), st.binary(max_size=120)),
        min_size=1,
        max_size=3,
    ).map(lambda pdvs: encode_pdata(pdvs)),
    min_size=1,
    max_size=3,
).map(b"".join)
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


async def garbage_is_refused(prefix: bytes, garbage: bytes, *, read_ac: bool = False) -> None:
    """Send ``prefix`` (and read the A-ASSOCIATE-AC), then ``garbage`` and EOF: the server
    closes the connection, sends nothing but well-formed PDUs, logs no ERROR, leaves no task,
    and serves the next peer."""
    with captured_logs() as logs:
        async with serving() as server:
            peer = await Peer.connect(server.port)
            if read_ac:
                await peer.associate(prefix)
                prefix = b""
            await peer.send(prefix + garbage)
            peer.half_close()  # a header announcing more than was sent must not hang the test
            check_replies(await peer.closed_by_server())
            peer.close()
            await settled(server)
            await assert_serves(server.port, echoes=1)
    logs.assert_no_error()


@FUZZ
@given(GARBAGE)
def test_garbage_as_first_bytes(garbage: bytes) -> None:
    run(garbage_is_refused(b"", garbage))


@FUZZ
@given(GARBAGE)
def test_garbage_in_the_same_write_as_a_valid_request(garbage: bytes) -> None:
    # The request is decoded, then the garbage, before the server task even looks at the request.
    run(garbage_is_refused(RQ, garbage))


@FUZZ
@given(GARBAGE)
def test_garbage_after_the_association_is_accepted(garbage: bytes) -> None:
    run(garbage_is_refused(RQ, garbage, read_ac=True))


@FUZZ
@given(st.integers(1, len(encode_message(CEchoRQ(message_id=7))) - 1), GARBAGE | RANDOM_PDVS)
def test_garbage_in_the_middle_of_a_message(cut: int, garbage: bytes) -> None:
    first = pdata(PDV(1, True, False, encode_message(CEchoRQ(message_id=7))[:cut]))
    run(garbage_is_refused(RQ, first + garbage, read_ac=True))


@FUZZ
@given(RANDOM_PDVS)
def test_random_presentation_data_values(pdus: bytes) -> None:
    run(garbage_is_refused(RQ, pdus, read_ac=True))


def test_two_bad_command_sets_in_one_write() -> None:
    """The later bad messages of a batch arrive after we aborted: dropped, not aborted again."""
    bad = pdata(PDV(1, True, True, b"\x00" * 12))
    with captured_logs() as logs:
        run(garbage_is_refused(RQ, bad + bad + bad, read_ac=True))
    assert sum("DIMSE protocol error" in r.getMessage() for r in logs.records) == 1, logs.text()


def test_bad_command_set_then_peer_abort_in_one_write() -> None:
    bad = pdata(PDV(1, True, True, b"\x00" * 12))
    peer_abort = AAbort(AbortSource.SERVICE_USER, 0).encode()
    run(garbage_is_refused(RQ, bad + peer_abort, read_ac=True))


def test_bad_command_set_then_release_request_in_one_write() -> None:
    bad = pdata(PDV(1, True, True, b"\x00" * 12))
    run(garbage_is_refused(RQ, bad + AReleaseRQ().encode(), read_ac=True))


def test_unknown_pdu_type_is_closed_at_once_without_eof() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=30.0, socket=30.0)) as server:
                for prefix in (b"", RQ):
                    peer = await Peer.connect(server.port)
                    if prefix:
                        await peer.associate()
                    await peer.send(b"\x99\x00\x00\x00\x00\x04abcd")
                    assert reply_types(await peer.closed_by_server(2.0)) == [A_ABORT]
                    peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()

    run(main())


@pytest.mark.parametrize("ids", [(2,), (1, 1)], ids=["even-id", "repeated-id"])
def test_request_with_invalid_context_ids_is_aborted_not_left_open(ids: tuple[int, ...]) -> None:
    """negotiate() refuses it with a RemoteProtocolError: the association must be aborted,
    not left in Sta3 (no timer runs there) until the peer goes away."""
    contexts = [PresentationContextRQ(i, uids.VERIFICATION, (uids.IMPLICIT_VR_LITTLE_ENDIAN,)) for i in ids]
    request = RequestorSettings(contexts=contexts).build_request().encode()

    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=30.0, socket=30.0)) as server:
                peer = await Peer.connect(server.port)
                await peer.send(request)
                assert reply_types(await peer.closed_by_server(2.0)) == [A_ABORT]
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()

    run(main())


# == 2. a lying PDU length ========================================================================
@pytest.mark.parametrize("pdu_type", [1, 4, 5])
@pytest.mark.parametrize("established", [False, True], ids=["first-bytes", "established"])
def test_two_gib_pdu_is_closed_at_once_without_allocation(pdu_type: int, established: bool) -> None:
    async def main() -> None:
        with captured_logs() as logs:
            # Timeouts far longer than the test: the close must come from the header alone.
            async with serving(timeouts=Timeouts(acse=30.0, socket=30.0)) as server:
                peer = await Peer.connect(server.port)
                if established:
                    await peer.associate()
                tracemalloc.start()
                try:
                    baseline, _ = tracemalloc.get_traced_memory()
                    await peer.send(struct.pack(">BxI", pdu_type, TWO_GIB) + b"\x00" * 64)
                    reply = await peer.closed_by_server(2.0)
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                assert reply_types(reply) == [A_ABORT]
                assert peak - baseline < 1 << 20, f"{peak - baseline} bytes allocated"
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()

    run(main())


# == 3. slowloris ===================================================================================
async def trickle(peer: Peer, data: bytes, stop: asyncio.Event) -> int:
    """Write ``data`` one byte per event-loop turn until ``stop`` or the connection dies."""
    sent = 0
    for byte in data:
        if stop.is_set() or peer.writer.is_closing():
            break
        try:
            peer.writer.write(bytes((byte,)))
        except ConnectionError:
            break
        sent += 1
        await asyncio.sleep(0)
    return sent


def test_slowloris_request_is_closed_by_artim_and_blocks_nobody() -> None:
    """An A-ASSOCIATE-RQ announcing 1 MiB, trickled byte by byte, never completes: ARTIM
    closes it although bytes keep coming, and a real association is served meanwhile."""

    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=0.5, socket=30.0)) as server:
                peer = await Peer.connect(server.port)
                stop = asyncio.Event()
                endless = struct.pack(">BxI", 1, (1 << 20) - 1) + RQ[6:] + b"\x00" * (1 << 20)
                trickler = asyncio.create_task(trickle(peer, endless, stop))
                began = time.monotonic()
                await assert_serves(server.port, echoes=10)
                assert time.monotonic() - began < 0.5, "a trickling peer slowed a real one down"
                reply = await peer.closed_by_server(3.0)
                elapsed = time.monotonic() - began
                stop.set()
                sent = await trickler
                assert reply_types(reply) in ([], [A_ABORT])
                assert 0.4 < elapsed < 2.0, elapsed
                assert sent < len(endless)
                peer.close()
                await settled(server)
        logs.assert_no_error()

    run(main())


def test_slowloris_message_is_closed_by_the_dimse_timeout() -> None:
    """After the association, an endless command set trickled byte by byte: the socket timeout
    (idle time) never fires, the DIMSE timeout (time for the whole message) does."""

    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=30.0, socket=30.0, dimse=0.5)) as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                stop = asyncio.Event()
                fragment = pdata(PDV(1, True, False, b"\x00" * 200))
                trickler = asyncio.create_task(trickle(peer, fragment * 10_000, stop))
                began = time.monotonic()
                reply = await peer.closed_by_server(3.0)
                stop.set()
                await trickler
                assert 0.4 < time.monotonic() - began < 2.0
                assert reply_types(reply) in ([], [A_ABORT])
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()
        assert any("no DIMSE message within 0.5 s" in r.getMessage() for r in logs.records), logs.text()

    run(main())


def test_peer_stalling_mid_pdu_is_closed_by_the_socket_timeout() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=30.0, socket=0.4)) as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                await peer.send(ECHO_RQ[:20])
                began = time.monotonic()
                check_aborted(await peer.closed_by_server(3.0))
                assert 0.3 < time.monotonic() - began < 2.0
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()

    run(main())


# == 4. idle connections ============================================================================
def test_200_idle_connections_do_not_delay_a_real_association() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            async with serving(timeouts=Timeouts(acse=1.0, socket=30.0)) as server:
                opened = time.monotonic()
                # 200 connections at once, the real peer right behind them: a listen backlog
                # too small for the burst would cost it a SYN retransmission (1 s).
                connecting = [asyncio.create_task(Peer.connect(server.port)) for _ in range(200)]
                real = asyncio.create_task(assert_serves(server.port, echoes=5))
                idle = await asyncio.gather(*connecting)
                await real
                assert time.monotonic() - opened < 0.7, "idle connections delayed a real association"
                began = time.monotonic()
                await assert_serves(server.port, echoes=5)  # and once they are all idle
                assert time.monotonic() - began < 0.3
                replies = await asyncio.gather(*(peer.closed_by_server(4.0) for peer in idle))
                assert all(reply == b"" for reply in replies)  # ARTIM: closed without a word
                assert time.monotonic() - opened > 0.9  # by ARTIM, not before
                for peer in idle:
                    peer.close()
                await settled(server)
        logs.assert_no_error()

    run(main(), limit=15.0)


# == 5. max_associations ==============================================================================
async def failing_echo(assoc: Association, received: MessageReceived) -> None:
    """Answers C-ECHO, except message ID 666: the handler fails."""
    assert isinstance(received.message, CEchoRQ)
    if received.message.message_id == 666:
        raise RuntimeError("handler failure on purpose")
    await handle_echo(assoc, received)


async def end_by_release(peer: Peer) -> None:
    await peer.send(AReleaseRQ().encode())
    assert (await peer.read_pdu())[0] == A_RELEASE_RP
    peer.close()


async def end_by_abort(peer: Peer) -> None:
    await peer.send(AAbort(AbortSource.SERVICE_USER, 0).encode())
    await peer.closed_by_server()


async def end_by_tcp_close(peer: Peer) -> None:
    await peer.send(ECHO_RQ[:10])  # mid-PDU, then gone
    peer.writer.transport.abort()


async def end_by_server_timeout(peer: Peer) -> None:
    await peer.closed_by_server(3.0)  # silence: the server's socket timeout (0.5 s) fires


async def end_by_handler_failure(peer: Peer) -> None:
    await peer.send(command(CEchoRQ(message_id=666)))
    check_aborted(await peer.closed_by_server())


async def end_by_protocol_error(peer: Peer) -> None:
    await peer.send(pdata(PDV(1, False, True, b"data without a command")))
    check_aborted(await peer.closed_by_server())


ENDINGS = {
    "release": end_by_release,
    "peer-abort": end_by_abort,
    "tcp-close": end_by_tcp_close,
    "server-timeout": end_by_server_timeout,
    "handler-failure": end_by_handler_failure,
    "protocol-error": end_by_protocol_error,
}


async def assert_rejected_transiently(port: int) -> None:
    with pytest.raises(AssociationRejected) as info:
        await associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK))
    assert (info.value.result, info.value.source, info.value.reason) == (2, 3, 2)


@pytest.mark.parametrize("ending", ENDINGS)
def test_max_associations_slot_is_given_back(ending: str) -> None:
    async def main() -> None:
        timeouts = Timeouts(acse=2.0, socket=0.5 if ending == "server-timeout" else 3.0)
        handlers: dict[type[Message], Handler] = {CEchoRQ: failing_echo}
        async with serving(handlers, max_associations=1, timeouts=timeouts) as server:
            for _ in range(2):  # twice: a slot leaked (or given back twice) shows on the second round
                peer = await Peer.connect(server.port)
                await peer.associate()
                await assert_rejected_transiently(server.port)
                await assert_rejected_transiently(server.port)  # a rejection takes no slot either
                await ENDINGS[ending](peer)
                await settled(server)
                async with associate("127.0.0.1", server.port, contexts=ECHO) as assoc:
                    assert (await echo(assoc)).status == 0
                    await assert_rejected_transiently(server.port)  # the limit still holds
                await settled(server)

    run(main())


def test_negotiation_rejection_and_idle_peers_take_no_slot() -> None:
    async def main() -> None:
        async with serving(max_associations=1) as server:
            ct = [(uids.CT_IMAGE_STORAGE, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
            for _ in range(3):
                with pytest.raises(AssociationRejected) as info:
                    await associate("127.0.0.1", server.port, contexts=ct)
                assert info.value.result == 1
            idle = [await Peer.connect(server.port) for _ in range(3)]
            await assert_serves(server.port)
            for peer in idle:
                peer.close()

    run(main())


# == 6. a handler that raises ========================================================================
def test_failing_handler_aborts_its_association_only() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            async with serving({CEchoRQ: failing_echo}) as server:
                bystander = await associate("127.0.0.1", server.port, contexts=ECHO)
                assoc = await associate("127.0.0.1", server.port, contexts=ECHO)
                with pytest.raises(AssociationAborted):
                    await echo(assoc, message_id=666)
                await assoc.wait_closed(2.0)
                assert (await echo(bystander)).status == 0
                await bystander.release()
                await settled(server)
                await assert_serves(server.port)
        # Our own handler failing is our fault: ERROR with the traceback, once.
        failures = [r for r in logs.errors if r.exc_info]
        assert len(failures) == 1, logs.text()
        assert "handler failure on purpose" in str(failures[0].exc_info[1])  # type: ignore[index]

    run(main())


# == 7. the peer vanishes ============================================================================
@dataclass
class RecordingSink:
    written: int = 0
    discarded: bool = False

    def write(self, data: bytes | memoryview, /) -> object:
        self.written += len(data)
        return None

    def discard(self) -> None:
        self.discarded = True


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("where", ["mid-pdu", "mid-message", "mid-dataset"])
def test_peer_vanishing_mid_message(how: str, where: str) -> None:
    sinks: list[RecordingSink] = []

    def sink_factory(assoc: Association) -> object:
        def factory(context_id: int, message: Message) -> RecordingSink:
            sinks.append(RecordingSink())
            return sinks[-1]

        return factory

    store = CStoreRQ(
        message_id=3, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3"
    )
    partial = {
        "mid-pdu": ECHO_RQ[:-5],
        "mid-message": pdata(PDV(1, True, False, encode_message(CEchoRQ(message_id=1))[:10])),
        "mid-dataset": command(store, 3) + pdata(PDV(3, False, False, b"\x08\x00" * 100)),
    }[where]

    async def main() -> None:
        with captured_logs() as logs:
            server = Server(
                AcceptorSettings(supported=ECHO_AND_CT, timeouts=QUICK),
                {CEchoRQ: handle_echo},
                sink_factory=sink_factory,  # type: ignore[arg-type]
            )
            await server.start("127.0.0.1", 0)
            try:
                peer = await Peer.connect(server.port)
                await peer.associate(ECHO_AND_CT_RQ)
                await peer.send(partial)
                if how == "reset":
                    peer.writer.transport.abort()
                else:
                    peer.close()
                await settled(server)
                await assert_serves(server.port)
            finally:
                await server.close()
        logs.assert_no_error()
        if where == "mid-dataset":
            assert len(sinks) == 1 and sinks[0].written == 200 and sinks[0].discarded

    run(main())


def test_failing_dataset_sink_aborts_with_a_traceback_once() -> None:
    """Our sink failing (disk full) is our fault: ERROR with the traceback, an A-ABORT to the
    peer, and nothing escaping data_received (asyncio would drop the connection silently)."""

    class FullDisk:
        def write(self, data: bytes | memoryview, /) -> object:
            raise OSError(28, "No space left on device")

    def sink_factory(assoc: Association) -> object:
        return lambda context_id, message: FullDisk()

    store = CStoreRQ(
        message_id=3, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3"
    )

    async def main() -> None:
        with captured_logs() as logs:
            server = Server(
                AcceptorSettings(supported=ECHO_AND_CT, timeouts=QUICK),
                {CEchoRQ: handle_echo},
                sink_factory=sink_factory,  # type: ignore[arg-type]
            )
            await server.start("127.0.0.1", 0)
            try:
                peer = await Peer.connect(server.port)
                await peer.associate(ECHO_AND_CT_RQ)
                await peer.send(command(store, 3) + pdata(PDV(3, False, True, b"\x08\x00" * 10)))
                assert reply_types(await peer.closed_by_server()) == [A_ABORT]
                peer.close()
                await settled(server)
                await assert_serves(server.port)
            finally:
                await server.close()
        assert [r.name for r in logs.errors] == ["dicomwire.net"], logs.text()
        assert "No space left" in str(logs.errors[0].exc_info[1])  # type: ignore[index]

    run(main())


# == 9. a peer that never reads ====================================================================
def test_never_reading_peer_gets_back_pressure_and_the_socket_timeout() -> None:
    """The handler answers with 16 MiB responses forever; the peer reads nothing. Our write
    buffer stays bounded (drain between batches, not after the whole data set), the socket
    timeout fires during the drain, and the connection is closed although the A-ABORT can
    never be delivered."""
    outcome: list[BaseException] = []
    flooded: list[Association] = []
    payload = b"\x00" * (16 << 20)

    async def flood(assoc: Association, received: MessageReceived) -> None:
        if received.message != CEchoRQ(message_id=77):
            return await handle_echo(assoc, received)
        flooded.append(assoc)
        response = CFindRSP(message_id_being_responded_to=77, status=status.PENDING, has_dataset=True)
        try:
            while True:
                await assoc.send(received.context_id, response, payload)
        except BaseException as exc:
            outcome.append(exc)
            raise

    async def main() -> None:
        with captured_logs() as logs:
            timeouts = Timeouts(acse=30.0, socket=0.5)
            async with serving({CEchoRQ: flood}, timeouts=timeouts) as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                tracemalloc.start()
                try:
                    baseline, _ = tracemalloc.get_traced_memory()
                    await peer.send(command(CEchoRQ(message_id=77)))
                    began = time.monotonic()
                    await settled(server, 5.0)  # the connection is closed, the task has ended
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                assert time.monotonic() - began < 3.0
                assert len(outcome) == 1 and isinstance(outcome[0], NetworkTimeout), outcome
                # The payload is shared; what we hold is the write buffer: a few batches at most.
                assert peak - baseline < 4 << 20, f"{peak - baseline} bytes"
                assert flooded[0].is_closed  # although the peer never read our A-ABORT
                peer.writer.transport.abort()
                await assert_serves(server.port)
        assert not logs.errors, logs.text()

    run(main())


def test_peer_resetting_while_we_wait_to_write_is_not_our_error() -> None:
    """The peer resets the connection while a handler waits for the write buffer to drain:
    a network failure on the peer's side, logged below ERROR."""
    paused = asyncio.Event()

    async def flood(assoc: Association, received: MessageReceived) -> None:
        pause_writing = assoc.pause_writing

        def spy() -> None:
            pause_writing()
            paused.set()

        assoc.pause_writing = spy  # type: ignore[method-assign]
        response = CFindRSP(message_id_being_responded_to=1, status=status.PENDING, has_dataset=True)
        while True:
            await assoc.send(received.context_id, response, bytes(4 << 20))

    async def main() -> None:
        with captured_logs() as logs:
            async with serving({CEchoRQ: flood}, timeouts=Timeouts(acse=30.0, socket=30.0)) as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                await peer.send(ECHO_RQ)
                await asyncio.wait_for(paused.wait(), 3.0)  # the handler is now in drain()
                peer.writer.transport.abort()
                await settled(server)
        logs.assert_no_error()

    run(main())


# == 10. many at once ================================================================================
def test_50_concurrent_clients_20_echoes_each() -> None:
    async def client(port: int) -> list[int]:
        async with associate("127.0.0.1", port, RequestorSettings(contexts=ECHO, timeouts=QUICK)) as assoc:
            return [(await echo(assoc)).status for _ in range(20)]

    async def main() -> None:
        with captured_logs() as logs:
            async with serving() as server:
                results = await asyncio.gather(*(client(server.port) for _ in range(50)))
                assert results == [[0] * 20] * 50
                await settled(server)
                assert server.associations_served == 50
        logs.assert_no_error()

    run(main(), limit=20.0)


# == 11. shutdown ===================================================================================
def test_close_with_associations_open_returns_promptly_and_closes_everything() -> None:
    async def stuck(assoc: Association, received: MessageReceived) -> None:
        await asyncio.Event().wait()  # never answers

    async def main() -> None:
        slow = Timeouts(acse=30.0, socket=30.0)  # nothing may end by a timeout here
        server = Server(
            AcceptorSettings(timeouts=slow, supported={uids.VERIFICATION: (uids.IMPLICIT_VR_LITTLE_ENDIAN,)}),
            {CEchoRQ: stuck},
        )
        await server.start("127.0.0.1", 0)
        port = server.port
        clients = [await associate("127.0.0.1", port, contexts=ECHO) for _ in range(3)]
        busy = await associate("127.0.0.1", port, contexts=ECHO)
        busy_echo = asyncio.create_task(echo(busy))
        idle = [await Peer.connect(port) for _ in range(3)]  # never send a request
        rejected = await Peer.connect(port)  # rejected, then never closes (Sta13, ARTIM 30 s)
        ct = RequestorSettings(contexts=[(uids.CT_IMAGE_STORAGE, [uids.IMPLICIT_VR_LITTLE_ENDIAN])])
        await rejected.send(ct.build_request().encode())
        assert (await rejected.read_pdu())[0] == A_ASSOCIATE_RJ
        half = await Peer.connect(port)  # half a request
        await half.send(RQ[:30])

        began = time.monotonic()
        await server.close()
        assert time.monotonic() - began < 1.0
        assert not server._tasks
        for peer in [*idle, rejected, half]:
            check_aborted(await peer.closed_by_server(1.0))
            peer.close()
        for assoc in [*clients, busy]:
            await asyncio.wait_for(assoc.wait_closed(), 1.0)
            with pytest.raises(AssociationAborted):
                await echo(assoc)
        with pytest.raises(AssociationAborted):
            await busy_echo
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    run(main())


def test_close_without_abort_waits_for_release() -> None:
    async def main() -> None:
        async with serving() as server:
            assoc = await associate("127.0.0.1", server.port, contexts=ECHO)
            closing = asyncio.create_task(server.close(abort_active=False))
            assert (await echo(assoc)).status == 0  # still served while the server is closing
            assert not closing.done()
            await assoc.release()
            await asyncio.wait_for(closing, 2.0)

    run(main())


# == 12. DIMSE the server does not handle ===========================================================
async def exchange(port: int, sop_class: str, message: Message, dataset: bytes | None = None) -> Message:
    settings = RequestorSettings(contexts=list(ECHO_AND_CT.items()), timeouts=QUICK)
    async with associate("127.0.0.1", port, settings) as assoc:
        context = assoc.context_for(sop_class)
        await assoc.send(context.context_id, message, dataset)
        reply = await assoc.receive()
        assert isinstance(reply, MessageReceived)
        assert (await echo(assoc)).status == 0  # the association goes on
        return reply.message


IDENTIFIER = b"\x08\x00\x52\x00\x06\x00\x53\x54\x55\x44\x59\x20"  # (0008,0052) "STUDY "
UNHANDLED: dict[str, tuple[Message, type[Message]]] = {
    "C-STORE": (
        CStoreRQ(
            message_id=9, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3.4"
        ),
        CStoreRSP,
    ),
    "C-FIND": (CFindRQ(message_id=9, affected_sop_class_uid=uids.CT_IMAGE_STORAGE), CFindRSP),
    "C-GET": (CGetRQ(message_id=9, affected_sop_class_uid=uids.CT_IMAGE_STORAGE), CGetRSP),
    "C-MOVE": (
        CMoveRQ(message_id=9, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, move_destination="DEST"),
        CMoveRSP,
    ),
}


@pytest.mark.parametrize("service", UNHANDLED)
def test_request_without_handler_is_answered_unrecognized_operation(service: str) -> None:
    """PS3.7 C.5: a request the SCP does not perform gets Failure 0211H (Unrecognized
    Operation); the association goes on. (DCMTK's storescp aborts instead.)"""
    request, response_class = UNHANDLED[service]

    async def main() -> None:
        with captured_logs() as logs:
            async with serving(supported=ECHO_AND_CT) as server:
                reply = await exchange(server.port, uids.CT_IMAGE_STORAGE, request, IDENTIFIER)
                assert isinstance(reply, response_class)
                assert reply.status == status.UNRECOGNIZED_OPERATION  # type: ignore[union-attr]
                assert reply.message_id_being_responded_to == 9  # type: ignore[union-attr]
                assert reply.affected_sop_class_uid == uids.CT_IMAGE_STORAGE  # type: ignore[union-attr]
                if isinstance(reply, CStoreRSP):
                    assert reply.affected_sop_instance_uid == "1.2.3.4"
        logs.assert_no_error()

    run(main())


def test_echo_without_handler_is_answered_unrecognized_operation() -> None:
    async def main() -> None:
        async with (
            serving({CStoreRQ: failing_echo}) as server,
            associate("127.0.0.1", server.port, contexts=ECHO) as assoc,
        ):
            assert (await echo(assoc)).status == status.UNRECOGNIZED_OPERATION
            assert (await echo(assoc)).status == status.UNRECOGNIZED_OPERATION

    run(main())


def test_cancel_and_stray_responses_without_handler_are_ignored() -> None:
    async def main() -> None:
        with captured_logs() as logs:
            async with serving() as server, associate("127.0.0.1", server.port, contexts=ECHO) as assoc:
                await assoc.send(1, CCancelRQ(message_id_being_responded_to=42))
                await assoc.send(1, CEchoRSP(message_id_being_responded_to=42))
                assert (await echo(assoc)).status == 0
        logs.assert_no_error()

    run(main())


@pytest.mark.parametrize("field_value", [0x0130, 0x0FF0, 0x8130])
def test_unknown_command_field_aborts_and_server_keeps_serving(field_value: int) -> None:
    unknown = encode_command({0x0002: uids.VERIFICATION, 0x0100: field_value, 0x0110: 5, 0x0800: 0x0101})

    async def main() -> None:
        with captured_logs() as logs:
            async with serving() as server:
                peer = await Peer.connect(server.port)
                await peer.associate()
                await peer.send(pdata(PDV(1, True, True, unknown)))
                check_aborted(await peer.closed_by_server())
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()
        assert any("unsupported command field" in r.getMessage() for r in logs.records), logs.text()

    run(main())


@pytest.mark.parametrize("context_id", [3, 99])
def test_message_on_a_context_not_accepted_aborts(context_id: int) -> None:
    # Context 3 is proposed (CT) but rejected by an echo-only server; 99 was never proposed.

    async def main() -> None:
        with captured_logs() as logs:
            async with serving() as server:
                peer = await Peer.connect(server.port)
                await peer.associate(ECHO_AND_CT_RQ)
                await peer.send(command(CEchoRQ(message_id=1), context_id))
                reply = await peer.closed_by_server()
                assert reply_types(reply) == [A_ABORT]  # no C-ECHO-RSP on a context that does not exist
                peer.close()
                await settled(server)
                await assert_serves(server.port)
        logs.assert_no_error()

    run(main())


STORE_ON_CT = encode_message(
    CStoreRQ(message_id=1, affected_sop_class_uid=uids.CT_IMAGE_STORAGE, affected_sop_instance_uid="1.2.3")
)


@pytest.mark.parametrize(
    "pdv",
    [
        PDV(3, True, True, STORE_ON_CT),  # announces a data set that is never sent
        PDV(3, True, False, STORE_ON_CT[:20]),  # the first fragment of a command set
        PDV(99, True, True, STORE_ON_CT),
    ],
    ids=["store-command", "command-fragment", "never-proposed"],
)
def test_store_command_on_a_context_not_accepted_aborts_at_once(pdv: PDV) -> None:
    """DCMTK aborts at once; before, a C-STORE-RQ there waited for its data set (the
    peer waited for a timeout).  The abort comes before any timeout: QUICK's are 2 s."""

    async def main() -> None:
        with captured_logs() as logs:
            async with serving() as server:
                peer = await Peer.connect(server.port)
                await peer.associate(ECHO_AND_CT_RQ)
                await peer.send(pdata(pdv))
                reply = await peer.closed_by_server(limit=1.0)
                assert reply_types(reply) == [A_ABORT]
                peer.close()
                await settled(server)
        logs.assert_no_error()
        assert any("which was not accepted" in r.getMessage() for r in logs.records), logs.text()

    run(main())
