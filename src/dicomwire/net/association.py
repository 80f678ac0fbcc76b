"""An association over an asyncio transport: the thin loop around the sans-IO core.

``Association`` is an ``asyncio.Protocol``.  Bytes from the peer go straight
into the Upper Layer machine in ``data_received``; its effects are performed
here (write, close, ARTIM) and complete DIMSE messages wait in an inbox for
``receive()``.  No polling, no threads: a request/response round trip costs
one write and one wake-up.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import socket
import ssl
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from dicomwire._records import record
from dicomwire.config import Timeouts
from dicomwire.dimse.fragments import (
    DatasetSink,
    MessageAssembler,
    MessageReceived,
    command_pdvs,
    dataset_pdvs,
    stream_dataset_pdvs,
)
from dicomwire.dimse.messages import CCancelRQ, Message, encode_message
from dicomwire.errors import (
    AcseTimeout,
    AssociationAborted,
    DicomWireError,
    DimseTimeout,
    LocalProtocolError,
    NetworkTimeout,
    NoAcceptedContext,
    ProtocolError,
    WriteError,
)
from dicomwire.ul import machine as ul
from dicomwire.ul.negotiation import AcceptedContext
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ, AbortSource
from dicomwire.ul.pdv import PDV, max_pdv_data_length
from dicomwire.ul.states import State

log = logging.getLogger("dicomwire.net")

SinkFactory = Callable[[int, Message], DatasetSink | None]
# Sees every DIMSE message of an association: (association, incoming, context ID, message).
# The tools log DCMTK's lines from it; the library itself stays quiet.
MessageObserver = Callable[["Association", bool, int, Message], None]
Dataset = bytes | memoryview | BinaryIO | None
# Pause reading when this many complete messages wait unread.
_INBOX_HIGH_WATER = 64
# Small PDUs of one message are joined into one write (one syscall) up to this size.
_WRITE_BATCH = 256 * 1024
_DEFAULT_TIMEOUTS = Timeouts()
# A P-DATA-TF holding one PDV: PDU type 04, PDU length, PDV item length, context ID, control header.
_ONE_PDV_PDU = struct.Struct(">BxIIBB")
_LAST_COMMAND_FRAGMENT = 0x03


@record(frozen=True, slots=True)
class ReleaseRequested:
    """The peer asked to release the association (A-RELEASE indication)."""


Received = MessageReceived | ReleaseRequested


def _earliest(*limits: float | None) -> float | None:
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


class Association(asyncio.Protocol):
    """One association, requestor or acceptor, over one transport."""

    def __init__(
        self,
        *,
        requestor: bool,
        max_pdu_length: int = 16384,
        timeouts: Timeouts = _DEFAULT_TIMEOUTS,
        sink_factory: SinkFactory | None = None,
    ) -> None:
        self.requestor = requestor
        self.timeouts = timeouts
        self.max_pdu_length = max_pdu_length
        self.ul = ul.UpperLayer(requestor=requestor, max_pdu_length=max_pdu_length)
        self.assembler = MessageAssembler(sink_factory=sink_factory)
        self.request: AAssociateRQ | None = None
        self.accept: AAssociateAC | None = None
        self._contexts: dict[int, AcceptedContext] = {}
        self.peer_max_pdu_length = 0
        self.peer_address: tuple[str, int] = ("", 0)
        self.peer_hostname = ""  # set by the server: looked-up name or address
        self.error: DicomWireError | None = None
        self.observer: MessageObserver | None = None
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._inbox: collections.deque[Received] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._negotiation: asyncio.Future[object] = self._loop.create_future()
        self._released: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._read_paused = False
        self._artim: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._last_activity = self._loop.time()
        self._message_id = 0
        self._handlers: dict[type, Callable[[ul.Effect], None]] = {
            ul.Send: self._on_send,
            ul.Connect: lambda effect: None,  # the transport exists before the machine starts
            ul.CloseTransport: self._on_close,
            ul.StartTimer: self._on_start_timer,
            ul.StopTimer: self._on_stop_timer,
            ul.AssociateIndication: self._on_negotiation,
            ul.AssociateAccepted: self._on_negotiation,
            ul.AssociateRejected: self._on_negotiation,
            ul.DataIndication: self._on_data,
            ul.ReleaseIndication: self._on_release_indication,
            ul.ReleaseConfirmation: self._on_release_confirmation,
            ul.AbortIndication: self._on_abort,
        }

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; the interface is the same.
        self._transport = cast(asyncio.Transport, transport)
        transport = self._transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer_address = (str(peer[0]), int(peer[1]))
        if not self.requestor:
            self._apply(self.ul.connection_made())

    def data_received(self, data: bytes) -> None:
        self._last_activity = self._loop.time()
        before = self.ul.state
        self._apply(self.ul.receive(data))
        if before is State.STA2 and self.ul.state is State.STA13:
            # The peer's first PDU was invalid or unexpected (AA-1), or had a protocol version
            # we do not speak (AE-6): we answered A-ABORT / A-ASSOCIATE-RJ.  PS3.8 would wait
            # ARTIM for the peer to close, but such a peer will not: close (after the flush).
            self._close_transport()

    def eof_received(self) -> bool | None:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._discard_partial_dataset()
        if self.ul.state is not State.STA1:
            self._apply(self.ul.connection_lost())
        self._cancel_artim()
        for timer in (self._idle_timer, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._idle_timer = self._close_timer = None
        self._finish(self.error or AssociationAborted(AbortSource.SERVICE_PROVIDER, 0, "connection closed"))
        self._wake_drain(exc)

    def _discard_partial_dataset(self) -> None:
        """A data set cut off by the end of the association leaves nothing behind."""
        sink = self.assembler.abandon()
        discard = getattr(sink, "discard", None)
        if callable(discard):
            discard()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drain(None)

    # -- effects ---------------------------------------------------------------------------
    def _apply(self, effects: list[ul.Effect]) -> None:
        handlers = self._handlers
        for effect in effects:
            handlers[type(effect)](effect)

    def _on_send(self, effect: ul.Effect) -> None:
        assert isinstance(effect, ul.Send)
        if self._transport is not None:
            self._transport.write(effect.data)

    def _on_close(self, effect: ul.Effect) -> None:
        self._close_transport()

    def _close_transport(self) -> None:
        """Close once what is buffered is sent, but never wait forever for that.

        A graceful close waits until the write buffer drains, which never happens
        if the peer stopped reading: then (writing paused) the connection is
        dropped at once, and any other pending flush gets the socket timeout.
        """
        transport = self._transport
        if transport is None:
            return
        if self._write_paused:
            transport.abort()
            return
        transport.close()
        limit = self.timeouts.socket
        if self._close_timer is None and limit is not None and transport.get_write_buffer_size():
            self._close_timer = self._loop.call_later(limit, transport.abort)

    def _on_start_timer(self, effect: ul.Effect) -> None:
        self._cancel_artim()
        delay = self.timeouts.acse if self.timeouts.acse is not None else 30.0
        self._artim = self._loop.call_later(delay, self._artim_expired)

    def _on_stop_timer(self, effect: ul.Effect) -> None:
        self._cancel_artim()

    def _cancel_artim(self) -> None:
        if self._artim is not None:
            self._artim.cancel()
            self._artim = None

    def _artim_expired(self) -> None:
        self._artim = None
        if self.ul.state in (State.STA2, State.STA13):
            self._apply(self.ul.timer_expired())
        elif self._transport is not None:
            self._transport.abort()

    def _on_negotiation(self, effect: ul.Effect) -> None:
        if not self._negotiation.done():
            self._negotiation.set_result(effect)

    def _on_data(self, effect: ul.Effect) -> None:
        assert isinstance(effect, ul.DataIndication)
        if self.ul.state in (State.STA1, State.STA13):
            # Effects come in batches, one per chunk of bytes: a P-DATA followed in the same
            # chunk by an A-ABORT, or data after a message we already aborted for, is moot.
            return
        try:
            for pdv in effect.pdvs:
                for event in self.assembler.feed(pdv):
                    self._deliver(event)
        except ProtocolError as exc:
            # The peer's fault (a bad command set, a stray fragment): not an error of ours.
            log.info("DIMSE protocol error from peer, aborting the association: %s", exc)
            self._fail(exc)
        except Exception as exc:
            # Ours (a sink that failed, a decoder bug): nothing may escape data_received,
            # asyncio would drop the connection without an A-ABORT.
            log.exception("failure while receiving a DIMSE message, aborting the association")
            self._fail(AssociationAborted(AbortSource.SERVICE_USER, 0, f"local failure: {exc}"))

    def _fail(self, error: DicomWireError) -> None:
        self.error = self.error or error
        self.abort()

    def _deliver(self, item: Received) -> None:
        self._inbox.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(self._inbox) >= _INBOX_HIGH_WATER and self._transport is not None and not self._read_paused:
            self._read_paused = True
            self._transport.pause_reading()

    def _on_release_indication(self, effect: ul.Effect) -> None:
        if self.ul.state is State.STA9:  # release collision, we requested: answer at once (AR-9)
            self._apply(self.ul.release_response())
        elif self.ul.state is State.STA8:
            self._deliver(ReleaseRequested())

    def _on_release_confirmation(self, effect: ul.Effect) -> None:
        if self.ul.state is State.STA12:  # release collision, acceptor side (AR-10 then AR-4)
            self._apply(self.ul.release_response())
        if not self._released.done():
            self._released.set_result(None)

    def _on_abort(self, effect: ul.Effect) -> None:
        assert isinstance(effect, ul.AbortIndication)
        error = AssociationAborted(effect.source, effect.reason, effect.detail)
        self.error = self.error or error
        self._finish(error)
        if effect.source == AbortSource.SERVICE_PROVIDER:
            self._close_transport()

    def _finish(self, error: DicomWireError) -> None:
        """The association is over: wake everyone still waiting."""
        for future in (self._negotiation, self._released):
            if not future.done():
                future.set_exception(error)
                future.exception()  # mark retrieved: nobody may be waiting
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if not self._closed.done():
            self._closed.set_result(None)

    @property
    def tls(self) -> ssl.SSLObject | None:
        """The TLS session of the connection (cipher, version, peer certificate), None over plain TCP."""
        if self._transport is None:
            return None
        tls_object: ssl.SSLObject | None = self._transport.get_extra_info("ssl_object")
        return tls_object

    @property
    def contexts(self) -> dict[int, AcceptedContext]:
        """The accepted presentation contexts by ID (set once negotiated)."""
        return self._contexts

    @contexts.setter
    def contexts(self, contexts: dict[int, AcceptedContext]) -> None:
        # The peer may use no other: a PDV naming another aborts the association at once.
        self._contexts = contexts
        self.assembler.accepted_contexts = contexts.keys()

    # -- establishing ----------------------------------------------------------------------
    async def request_association(self, request: AAssociateRQ) -> AAssociateAC | AAssociateRJ:
        """Requestor: send the A-ASSOCIATE-RQ and wait (ACSE timeout) for the answer."""
        self.request = request
        self._apply(self.ul.associate(request))
        self._apply(self.ul.connection_made())
        answer = await self._wait(self._negotiation, self.timeouts.acse, AcseTimeout, "A-ASSOCIATE response")
        if isinstance(answer, ul.AssociateAccepted):
            self.accept = answer.accept
            self._adopt_peer_limit(answer.accept)
            return answer.accept
        assert isinstance(answer, ul.AssociateRejected)
        return answer.reject

    async def wait_for_request(self) -> AAssociateRQ:
        """Acceptor: the peer's A-ASSOCIATE-RQ (ARTIM closes a silent peer)."""
        # Shielded: a cancelled waiter (server shutdown) must not cancel the shared future.
        answer = await asyncio.shield(self._negotiation)
        assert isinstance(answer, ul.AssociateIndication)
        self.request = answer.request
        return answer.request

    def send_accept(self, accept: AAssociateAC, contexts: dict[int, AcceptedContext]) -> None:
        assert self.request is not None
        self._check_answerable()
        self.accept = accept
        self.contexts = contexts
        self._adopt_peer_limit(self.request)
        self._apply(self.ul.accept(accept))

    def send_reject(self, reject: AAssociateRJ) -> None:
        self._check_answerable()
        self._apply(self.ul.reject(reject))

    def _check_answerable(self) -> None:
        """Between the A-ASSOCIATE indication and our answer the peer may have aborted, closed,
        or sent garbage after its request (in the same chunk of bytes): that is its failure
        (AssociationAborted), not a misuse of ours."""
        if self.ul.state is not State.STA3:
            raise self._unusable()

    def _adopt_peer_limit(self, pdu: AAssociateRQ | AAssociateAC) -> None:
        max_length = pdu.user_information.max_length
        self.peer_max_pdu_length = max_length if max_length is not None else 0

    # -- DIMSE -------------------------------------------------------------------------------
    def next_message_id(self) -> int:
        self._message_id = self._message_id % 0xFFFF + 1
        return self._message_id

    async def send(self, context_id: int, message: Message, dataset: Dataset = None) -> None:
        """Send one DIMSE message, streaming its data set when it is a file."""
        self._check_usable()
        if self.observer is not None:
            self.observer(self, False, context_id, message)
        limit = self.peer_max_pdu_length
        command = encode_message(message)
        if (
            dataset is None
            and self.ul.state is State.STA6
            and self._transport is not None
            and 0 < context_id < 256
            and len(command) <= max_pdv_data_length(limit)
        ):
            # The hot path (every response, C-ECHO): one PDV in one P-DATA-TF, built in one
            # concatenation and written at once; Table 9-10 (Evt9, Sta6) is DT-1, no state change.
            size = len(command)
            header = _ONE_PDV_PDU.pack(0x04, size + 6, size + 2, context_id, _LAST_COMMAND_FRAGMENT)
            self._transport.write(header + command)
            if self._write_paused:
                await self.drain()
            return
        pdvs = command_pdvs(context_id, command, limit)
        if dataset is None:
            self._write_pdvs(pdvs)
        else:
            # Batch by batch (one write call each), draining in between: a peer that reads
            # slowly (or not at all) never makes the transport buffer a copy of the data set.
            fragments = (
                dataset_pdvs(context_id, dataset, limit)
                if isinstance(dataset, bytes | memoryview)
                else stream_dataset_pdvs(context_id, dataset.read, limit)
            )
            remaining = itertools.chain(pdvs, fragments)
            while self._write_pdvs(remaining, one_batch=True):
                if self._write_paused:
                    await self.drain()
        if self._write_paused:
            await self.drain()

    def _write_pdvs(
        self, pdvs: Iterator[PDV] | list[PDV] | tuple[PDV, ...], *, one_batch: bool = False
    ) -> bool:
        """Write each PDV as one P-DATA-TF, batching small PDUs into one write call.

        With ``one_batch``, stop after the first full batch: True means PDVs remain
        in the iterator ``pdvs``.
        """
        if self.ul.state not in (State.STA6, State.STA8) or self._transport is None:
            raise self._unusable()
        machine, transport = self.ul, self._transport
        batch: list[bytes] = []
        size = 0
        for pdv in pdvs:
            for effect in machine.send_data((pdv,)):
                data = effect.data  # type: ignore[union-attr]
                batch.append(data)
                size += len(data)
            if size >= _WRITE_BATCH:
                transport.write(b"".join(batch))
                batch, size = [], 0
                if one_batch:
                    return True
        if batch:
            transport.write(batch[0] if len(batch) == 1 else b"".join(batch))
        return False

    async def drain(self) -> None:
        """Wait until the transport's buffer drained (socket timeout applies)."""
        while self._write_paused:
            if self._transport is None:
                raise self._unusable()
            self._drain_waiter = self._loop.create_future()
            try:
                await self._wait(self._drain_waiter, self.timeouts.socket, NetworkTimeout, "network write")
            finally:
                self._drain_waiter = None

    def _wake_drain(self, exc: Exception | None) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(WriteError(str(exc)))

    async def receive(self, timeout: float | None = None) -> Received:
        """The next complete DIMSE message (or the peer's release request).

        ``timeout`` overrides the DIMSE timeout for this wait; the socket
        timeout also applies, counted from the last byte received.
        """
        while not self._inbox:
            self._check_usable()
            self._waiter = self._loop.create_future()
            try:
                await self._wait_idle(self._waiter, self.timeouts.dimse if timeout is None else timeout)
            finally:
                self._waiter = None
        item = self._inbox.popleft()
        if self._read_paused and len(self._inbox) < _INBOX_HIGH_WATER // 2 and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()
        return item

    def take_cancel(self, message_id: int) -> bool:
        """True (and consumed) if a C-CANCEL-RQ for ``message_id`` has arrived.

        SCP handlers call this between responses; it never waits.
        """
        for item in self._inbox:
            message = getattr(item, "message", None)
            if isinstance(message, CCancelRQ) and message.message_id_being_responded_to == message_id:
                self._inbox.remove(item)
                return True
        return False

    async def _wait_idle(self, future: asyncio.Future[None], dimse: float | None) -> None:
        """Wait for ``future``; time out after ``dimse`` seconds, or once the peer
        has sent nothing for the socket timeout.

        The socket timeout is one watchdog per association, re-armed only when
        it fires: no timer per message on the hot path.
        """
        timer = None
        if dimse is not None:
            timer = self._loop.call_later(dimse, self._dimse_expired, future, dimse)
        if self.timeouts.socket is not None and self._idle_timer is None:
            self._idle_timer = self._loop.call_at(
                self._last_activity + self.timeouts.socket, self._idle_check
            )
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()

    @staticmethod
    def _dimse_expired(future: asyncio.Future[None], limit: float) -> None:
        if not future.done():
            future.set_exception(DimseTimeout(f"no DIMSE message within {limit:g} s"))

    def _idle_check(self) -> None:
        self._idle_timer = None
        waiter, limit = self._waiter, self.timeouts.socket
        if waiter is None or waiter.done() or limit is None:
            return  # not waiting now: the next wait arms the watchdog again
        due = self._last_activity + limit
        if self._loop.time() >= due:
            waiter.set_exception(NetworkTimeout(f"network idle for {limit:g} s"))
        else:
            self._idle_timer = self._loop.call_at(due, self._idle_check)

    async def _wait(
        self,
        future: asyncio.Future[object] | asyncio.Future[None],
        limit: float | None,
        error: type[DicomWireError],
        what: str,
    ) -> object:
        if limit is None:
            # Shielded: these futures are shared; cancelling one waiter must not cancel them.
            return await asyncio.shield(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), limit)
        except TimeoutError:
            raise error(f"no {what} within {limit:g} s") from None

    def _check_usable(self) -> None:
        if self.ul.state not in (State.STA6, State.STA7, State.STA8) or self._transport is None:
            raise self._unusable()

    def _unusable(self) -> DicomWireError:
        if self.error is not None:
            return self.error
        if self._closed.done():
            return AssociationAborted(AbortSource.SERVICE_PROVIDER, 0, "connection closed")
        if self.ul.state is State.STA13:
            return AssociationAborted(AbortSource.SERVICE_USER, 0, "association already aborted")
        return LocalProtocolError(f"association not established (state {self.ul.state.name})")

    # -- ending ------------------------------------------------------------------------------
    async def release(self) -> None:
        """Requestor: A-RELEASE, wait (ACSE timeout) for the reply; the transport closes."""
        if self.ul.state is not State.STA6:
            raise self._unusable()
        self._apply(self.ul.release())
        try:
            await self._wait(self._released, self.timeouts.acse, AcseTimeout, "A-RELEASE response")
        except AcseTimeout:
            self.abort()
            raise

    async def respond_release(self) -> None:
        """Acceptor: answer a release request, then give the peer ARTIM to close."""
        if self.ul.state is State.STA8:
            self._apply(self.ul.release_response())
        await self.wait_closed(self.timeouts.acse)

    def abort(self) -> None:
        """A-ABORT (service user) and close; safe to call in any state."""
        if self.ul.state in (State.STA1, State.STA2, State.STA13) or self._transport is None:
            self._close_transport()
            return
        self._apply(self.ul.abort())
        self._close_transport()  # flushes the A-ABORT first, unless the peer does not read

    async def wait_closed(self, limit: float | None = None) -> None:
        """Wait until the transport is gone; abort it hard after ``limit`` seconds."""
        try:
            await self._wait(self._closed, limit, NetworkTimeout, "connection close")
        except NetworkTimeout:
            if self._transport is not None:
                self._transport.abort()
            await asyncio.shield(self._closed)

    @property
    def established(self) -> bool:
        return self.ul.state is State.STA6

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    def context_for(self, abstract_syntax: str, transfer_syntax: str | None = None) -> AcceptedContext:
        """The first accepted context for a SOP class (and transfer syntax)."""
        for context in self.contexts.values():
            if context.abstract_syntax == abstract_syntax and (
                transfer_syntax is None or context.transfer_syntax == transfer_syntax
            ):
                return context
        raise NoAcceptedContext(f"no accepted presentation context for {abstract_syntax}")
