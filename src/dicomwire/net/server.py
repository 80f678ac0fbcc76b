"""Accepting associations: an asyncio server, one task per association.

Idle or slow peers never block the others: each association is its own task,
a silent peer is closed by ARTIM (ACSE timeout) before its request and by the
DIMSE/socket timeouts after it, and ``max_associations`` bounds the total.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Final, Protocol

from dicomwire.config import AcceptorSettings, RequestCheck
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import (
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
    is_request,
)
from dicomwire.dimse.status import UNRECOGNIZED_OPERATION
from dicomwire.errors import (
    AssociationAborted,
    DicomTimeout,
    DicomWireError,
    NetworkError,
    RemoteProtocolError,
    TLSHandshakeError,
)
from dicomwire.net.association import Association, MessageObserver, ReleaseRequested, SinkFactory
from dicomwire.net.tls import TLSSettings, as_context
from dicomwire.net.tlsconn import TLSConnection
from dicomwire.ul.identity import IdentityPolicy, IdentityRejection, answer_identity
from dicomwire.ul.items import PresentationContextAC, RoleSelection, UserInformation
from dicomwire.ul.negotiation import AcceptedContext, answer_contexts, answer_roles, effective_roles
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ, RejectResult, RejectSource

__all__ = [
    "NO_ACCEPTABLE_CONTEXTS",
    "NO_CONTEXTS",
    "REJECTED_BY_CHECK",
    "TOO_MANY_ASSOCIATIONS",
    "AcceptorSettings",
    "AssociationEvents",
    "AssociationLog",
    "Handler",
    "RequestCheck",
    "Server",
    "listen",
    "negotiate",
]

log = logging.getLogger("dicomwire.server")

Handler = Callable[[Association, MessageReceived], Awaitable[None]]

# PS3.8 9.3.4 reject reasons.
REASON_NO_REASON = 1
REASON_CALLING_AE_NOT_RECOGNIZED = 3
REASON_CALLED_AE_NOT_RECOGNIZED = 7
REASON_LOCAL_LIMIT_EXCEEDED = 2  # source: service provider (presentation)

# asyncio's default (100) overflows under a burst of connections (idle ones included):
# the peers beyond it wait for a SYN retransmission, a second or more.  The kernel caps
# it at net.core.somaxconn.
_LISTEN_BACKLOG: Final = 1024
# On shutdown, an association gets this long to flush its A-ABORT before its
# connection is dropped.
_SHUTDOWN_GRACE: Final = 1.0
# The answer to a request no handler serves: PS3.7 C.5 Failure 0211H, Unrecognized
# Operation, with the request's identification (PS3.7 9.3.x).
_RESPONSE_CLASS: Final[Mapping[type[Message], Callable[..., Message]]] = {
    CEchoRQ: CEchoRSP,
    CStoreRQ: CStoreRSP,
    CFindRQ: CFindRSP,
    CGetRQ: CGetRSP,
    CMoveRQ: CMoveRSP,
}


# The rejection for "no acceptable presentation contexts" (DCMTK's answer); one
# object, so the server can tell it from a RequestCheck's rejection when logging.
NO_ACCEPTABLE_CONTEXTS: Final = AAssociateRJ(
    RejectResult.PERMANENT, RejectSource.SERVICE_USER, REASON_NO_REASON
)


def negotiate(
    settings: AcceptorSettings, request: AAssociateRQ, peer: tuple[str, int]
) -> tuple[AAssociateAC, dict[int, AcceptedContext]] | AAssociateRJ:
    """The answer to an A-ASSOCIATE-RQ: an accept with its usable contexts, or a reject.

    In order: the settings' ``check``, the user identity (``settings.identity``, see
    :func:`~dicomwire.ul.identity.answer_identity`: an :class:`IdentityRejection` when it is
    refused or missing), then the presentation contexts.
    """
    if settings.check is not None and (rejection := settings.check(request, peer)) is not None:
        return rejection
    identity = answer_identity(settings.identity, request.user_information.user_identity_rq, peer)
    if isinstance(identity, IdentityRejection):
        return identity
    supported = (
        settings.supported if settings.supported_for is None else settings.supported_for(request, peer)
    )
    answers = answer_contexts(
        request.presentation_contexts,
        supported,
        prefer_requestor_order=settings.prefer_requestor_order,
    )
    roles = answer_roles(request.user_information.role_selections, settings.roles)
    contexts = _usable_contexts(request, answers, roles)
    if not contexts and settings.reject_without_contexts:
        return NO_ACCEPTABLE_CONTEXTS
    info = UserInformation(
        max_length=settings.max_pdu_length,
        implementation_class_uid=settings.implementation_class_uid,
        implementation_version_name=settings.implementation_version_name,
        role_selections=roles,
        user_identity_ac=identity,
    )
    accept = AAssociateAC(
        called_ae=request.called_ae,
        calling_ae=request.calling_ae,
        user_information=info,
        presentation_contexts=answers,
    )
    return accept, contexts


def _usable_contexts(
    request: AAssociateRQ, answers: Sequence[PresentationContextAC], roles: Sequence[RoleSelection]
) -> dict[int, AcceptedContext]:
    by_id = {context.context_id: context for context in request.presentation_contexts}
    requestor_roles = effective_roles(request.user_information.role_selections, roles)
    usable = {}
    for answer in answers:
        if not answer.accepted:
            continue
        abstract = by_id[answer.context_id].abstract_syntax
        scu, scp = requestor_roles.get(abstract, (True, False))
        usable[answer.context_id] = AcceptedContext(
            answer.context_id, abstract, answer.transfer_syntax, scu, scp
        )
    return usable


# Why a request was refused (AssociationEvents.refused).
TOO_MANY_ASSOCIATIONS: Final = "too many associations"
NO_CONTEXTS: Final = "no acceptable presentation contexts"
REJECTED_BY_CHECK: Final = "rejected"


class AssociationEvents(Protocol):
    """What happens to each association, for whoever logs it (a tool logs its own wording)."""

    def received(self, assoc: Association, request: AAssociateRQ) -> None: ...

    def refused(self, assoc: Association, rejection: AAssociateRJ, why: str) -> None: ...

    def acknowledged(self, assoc: Association) -> None: ...

    def release_requested(self, assoc: Association) -> None: ...

    def aborted(self, assoc: Association, error: AssociationAborted) -> None: ...

    def handshake_failed(self, address: str, error: TLSHandshakeError) -> None: ...


class AssociationLog:
    """The library's own lines for :class:`AssociationEvents` (also dcmrecv's wording)."""

    def received(self, assoc: Association, request: AAssociateRQ) -> None:
        log.info(
            "Association Received %s: %s -> %s", assoc.peer_hostname, request.calling_ae, request.called_ae
        )

    def refused(self, assoc: Association, rejection: AAssociateRJ, why: str) -> None:
        if why == REJECTED_BY_CHECK:
            log.info("Refusing Association (result %d, source %d, reason %d)", *_rj(rejection))
        else:
            log.log(
                logging.WARNING if why == TOO_MANY_ASSOCIATIONS else logging.INFO,
                "Refusing Association (%s)",
                why,
            )

    def acknowledged(self, assoc: Association) -> None:
        log.info("Association Acknowledged (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))

    def release_requested(self, assoc: Association) -> None:
        log.info("Received Association Release Request")

    def aborted(self, assoc: Association, error: AssociationAborted) -> None:
        log.info("Association Aborted: %s", error)

    def handshake_failed(self, address: str, error: TLSHandshakeError) -> None:
        log.error("TLS connection from %s failed: %s", address, error)

    def failed(self, assoc: Association, error: DicomWireError) -> None:
        """The association is aborted because of ``error``: a timeout, the peer's protocol
        error or a failure of ours (only an :class:`AssociationLog` hears of these; any
        other :class:`AssociationEvents` gets the library's lines)."""
        if isinstance(error, RemoteProtocolError):
            log.warning("Protocol error from peer, aborting association: %s", error)
        elif isinstance(error, DicomTimeout | NetworkError):
            log.warning("%s; aborting association", error)
        else:
            log.error("%s; aborting association", error)


_LIBRARY_LOG: Final = AssociationLog()


def listen(host: str | None, port: int) -> list[socket.socket]:
    """Listening sockets for ``host``:``port`` as :meth:`Server.start` would open them (one
    per address: ``None`` is every interface, IPv4 and IPv6), for a server whose processes
    share them (each passes them to ``Server.start(sockets=...)``).  Raises ``OSError``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(_LISTEN_BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Server:
    """An association acceptor.

    ``handlers`` maps a request message class (CEchoRQ, CStoreRQ, ...) to an
    async function that answers it on the association.  A request without a
    handler is answered Failure 0211H (Unrecognized Operation); a C-CANCEL-RQ
    or a response without a handler is ignored.
    """

    def __init__(
        self,
        settings: AcceptorSettings,
        handlers: Mapping[type[Message], Handler],
        *,
        tls: TLSSettings | _ssl.SSLContext | None = None,
        sink_factory: Callable[[Association], SinkFactory | None] | None = None,
        observer: MessageObserver | None = None,
        events: AssociationEvents | None = None,
    ) -> None:
        self.settings = settings
        self.handlers = dict(handlers)
        self._ssl = as_context(tls, server_side=True)
        self._sink_factory = sink_factory
        self._observer = observer
        self.events: AssociationEvents = events if events is not None else AssociationLog()
        self._server: asyncio.Server | None = None
        self._more_servers: list[asyncio.Server] = []  # more shared sockets (IPv4 and IPv6)
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0
        self._waiting: dict[Association, None] = {}  # insertion order = oldest first
        self._handshaking: dict[TLSConnection, None] = {}  # oldest first
        self.associations_served = 0

    async def start(self, host: str | None, port: int, *, sockets: Sequence[socket.socket] = ()) -> None:
        """Listen on ``host``:``port``, or serve on ``sockets`` (from :func:`listen`, perhaps
        shared with other processes: then ``host`` and ``port`` are not used)."""
        loop = asyncio.get_running_loop()
        if not sockets:
            self._server = await loop.create_server(
                self._new_connection, host, port, reuse_address=True, backlog=_LISTEN_BACKLOG
            )
            return
        servers = [
            await loop.create_server(self._new_connection, sock=sock, backlog=_LISTEN_BACKLOG)
            for sock in sockets
        ]
        self._server, self._more_servers = servers[0], servers[1:]

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self, *, abort_active: bool = True) -> None:
        """Stop listening; abort (or wait for) the associations still open."""
        for server in (self._server, *self._more_servers):
            if server is not None:
                server.close()
        tasks = list(self._tasks)
        if abort_active:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in (self._server, *self._more_servers):
            if server is not None:
                await server.wait_closed()

    def _new_connection(self) -> asyncio.BaseProtocol:
        if self._ssl is None:
            return self._track(self._make_association())
        return self._accept_tls()

    def _make_association(self) -> Association:
        assoc = Association(
            requestor=False, max_pdu_length=self.settings.max_pdu_length, timeouts=self.settings.timeouts
        )
        if self._sink_factory is not None:
            assoc.assembler.sink_factory = self._sink_factory(assoc)
        assoc.observer = self._observer
        return assoc

    def _accept_tls(self) -> TLSConnection:
        """A connection on a TLS port: its association begins once the handshake is done."""
        assert self._ssl is not None
        if len(self._handshaking) >= self.settings.max_waiting:
            oldest = next(iter(self._handshaking))
            log.warning("Too many connections in a TLS handshake; dropping the oldest")
            oldest.drop()
        connection: TLSConnection

        def opened() -> Association:
            self._handshaking.pop(connection, None)
            return self._track(self._make_association())

        def failed(address: str, error: TLSHandshakeError) -> None:
            self._handshaking.pop(connection, None)
            self.events.handshake_failed(address, error)

        connection = TLSConnection(self._ssl, opened, failed, self.settings.timeouts.handshake)
        self._handshaking[connection] = None
        return connection

    def _track(self, assoc: Association) -> Association:
        """Serve ``assoc`` in a task of its own (its connection is about to be made)."""
        if len(self._waiting) >= self.settings.max_waiting:
            oldest = next(iter(self._waiting))
            del self._waiting[oldest]
            log.warning(
                "Too many connections without an association request; dropping %s", oldest.peer_address[0]
            )
            oldest.abort()
        self._waiting[assoc] = None
        task = asyncio.get_running_loop().create_task(self._serve(assoc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return assoc

    async def _serve(self, assoc: Association) -> None:
        """The task of one connection: it lasts until the connection is closed, so that
        ``close()`` can wait for every socket, whatever state its association is in."""
        try:
            async with self.serving_slot():
                await self._handle(assoc)
            # After an A-ASSOCIATE-RJ or A-RELEASE-RP the peer closes (ARTIM otherwise);
            # after an abort the close is under way.  Bounded: then the connection is dropped.
            await assoc.wait_closed(self._artim)
        except asyncio.CancelledError:  # close(): abort, give the A-ABORT a moment, drop
            assoc.abort()
            await assoc.wait_closed(_SHUTDOWN_GRACE)
            raise
        finally:
            self._waiting.pop(assoc, None)
            self.associations_served += 1

    @property
    def _artim(self) -> float:
        acse = self.settings.timeouts.acse
        return acse if acse is not None else 30.0  # as the association's ARTIM

    async def _handle(self, assoc: Association) -> None:
        """Negotiate and serve; every failure ends with the association aborted.

        The peer's faults are logged at INFO/WARNING, ours (a handler raising) at
        ERROR with the traceback.
        """
        try:
            if await self._establish(assoc):
                self._active += 1
                self.association_started(assoc)
                try:
                    await self._dispatch_loop(assoc)
                finally:
                    self._active -= 1
                    self.association_ended(assoc)
            return
        except AssociationAborted as exc:
            self.events.aborted(assoc, exc)
        except DicomWireError as exc:
            events = self.events
            (events if isinstance(events, AssociationLog) else _LIBRARY_LOG).failed(assoc, exc)
        except Exception:
            log.exception("unexpected error while serving an association")
        finally:
            self.release(assoc)
        # Also when the association already ended: a request rejected by negotiate() as
        # invalid, for one, would otherwise stay open in Sta3 with no timer running.
        assoc.abort()

    def serving_slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Entered around the whole of each connection (subclasses may queue them)."""
        return contextlib.nullcontext()

    async def admit(self, assoc: Association) -> bool:
        """May ``assoc`` (its request just received) be negotiated, or is it one too many
        (rejected transiently)?  Subclasses may count against a limit shared with other
        processes; whatever they take for it they give back in :meth:`release`."""
        return self._active < self.settings.max_associations

    def release(self, assoc: Association) -> None:
        """Called once for every connection when its association is over (or never began)."""

    def association_started(self, assoc: Association) -> None:
        """Called once an association is accepted, before its first message (subclasses)."""

    def association_ended(self, assoc: Association) -> None:
        """Called when an accepted association is over, however it ended (subclasses)."""

    async def _peer_name(self, address: str) -> str:
        """The peer's host name as DCMTK logs it (reverse lookup, bounded), else its address."""
        if not self.settings.host_lookup:
            return address
        loop = asyncio.get_running_loop()
        try:
            host, _ = await asyncio.wait_for(loop.getnameinfo((address, 0), socket.NI_NAMEREQD), 2.0)
        except (OSError, TimeoutError):
            return address
        return host

    async def _establish(self, assoc: Association) -> bool:
        request = await assoc.wait_for_request()
        self._waiting.pop(assoc, None)
        assoc.peer_hostname = await self._peer_name(assoc.peer_address[0])
        self.events.received(assoc, request)
        if not await self.admit(assoc):
            busy = AAssociateRJ(
                RejectResult.TRANSIENT,
                RejectSource.SERVICE_PROVIDER_PRESENTATION,
                REASON_LOCAL_LIMIT_EXCEEDED,
            )
            self.events.refused(assoc, busy, TOO_MANY_ASSOCIATIONS)
            assoc.send_reject(busy)
            return False
        # Checks see the peer as DCMTK matches it: by looked-up host name (-dhl: address).
        peer = (assoc.peer_hostname or assoc.peer_address[0], assoc.peer_address[1])
        outcome = negotiate(await self._verified(request, peer), request, peer)
        if isinstance(outcome, AAssociateRJ):
            why = NO_CONTEXTS if outcome is NO_ACCEPTABLE_CONTEXTS else REJECTED_BY_CHECK
            if isinstance(outcome, IdentityRejection):
                why = outcome.why
            self.events.refused(assoc, outcome, why)
            assoc.send_reject(outcome)
            return False
        accept, contexts = outcome
        assoc.send_accept(accept, contexts)
        self.events.acknowledged(assoc)
        return True

    async def _verified(self, request: AAssociateRQ, peer: tuple[str, int]) -> AcceptorSettings:
        """The settings, with the identity's verdict reached in a worker thread: a password
        hash costs a tenth of a second or more, and the other associations must not wait."""
        policy = self.settings.identity
        identity = request.user_information.user_identity_rq
        if policy is None or identity is None:
            return self.settings
        verdict = await asyncio.to_thread(policy.verifier, identity, peer)
        decided = IdentityPolicy(lambda _identity, _peer: verdict, required=policy.required)
        return replace(self.settings, identity=decided)

    async def _dispatch_loop(self, assoc: Association) -> None:
        while True:
            item = await assoc.receive()
            if isinstance(item, ReleaseRequested):
                self.events.release_requested(assoc)
                await assoc.respond_release()
                return
            if item.context_id not in assoc.contexts:
                label = item.message.command_field.label
                raise RemoteProtocolError(
                    f"{label} on presentation context {item.context_id}, which was not accepted"
                )
            if assoc.observer is not None:
                assoc.observer(assoc, True, item.context_id, item.message)
            handler = self.handlers.get(type(item.message))
            if handler is None:
                await self._unhandled(assoc, item)
            else:
                await handler(assoc, item)
            if not assoc.established:
                return  # the handler ended the association (e.g. aborted it)

    async def _unhandled(self, assoc: Association, item: MessageReceived) -> None:
        """A message no handler takes.

        A request is answered Failure 0211H (Unrecognized Operation) and the
        association goes on: more useful to the peer than DCMTK's abort.  A
        C-CANCEL-RQ (it may cross the final response: PS3.7 9.3.2.3) and a stray
        response have nothing to answer: ignored.
        """
        message = item.message
        label = message.command_field.label
        response_class = _RESPONSE_CLASS.get(type(message))
        if response_class is None:
            log.log(logging.INFO if is_request(message) else logging.WARNING, "Ignoring %s", label)
            return
        assert isinstance(message, CEchoRQ | CStoreRQ | CFindRQ | CGetRQ | CMoveRQ)
        log.warning("No handler for %s; answering Failure 0211H (Unrecognized Operation)", label)
        fields: dict[str, object] = {
            "message_id_being_responded_to": message.message_id,
            "status": UNRECOGNIZED_OPERATION,
            "affected_sop_class_uid": message.affected_sop_class_uid,
        }
        if isinstance(message, CStoreRQ):
            fields["affected_sop_instance_uid"] = message.affected_sop_instance_uid
        await assoc.send(item.context_id, response_class(**fields))


def _rj(reject: AAssociateRJ) -> tuple[int, int, int]:
    return reject.result, reject.source, reject.reason
