"""Accepting associations: an asyncio server, one task per association.

Idle or slow peers never block the others: each association is its own task,
a silent peer is closed by ARTIM (ACSE timeout) before its request and by the
DIMSE/socket timeouts after it, and ``max_associations`` bounds the total.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dicomwire import uids
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import Message
from dicomwire.errors import AssociationAborted, DicomTimeout, DicomWireError, RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested, SinkFactory, Timeouts
from dicomwire.ul.items import PresentationContextAC, RoleSelection, UserIdentityAC, UserInformation
from dicomwire.ul.negotiation import AcceptedContext, answer_contexts, answer_roles, effective_roles
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ, RejectResult, RejectSource

log = logging.getLogger("dicomwire.server")

Handler = Callable[[Association, MessageReceived], Awaitable[None]]
# Decides on a request before negotiation: None to go on, or a rejection.
RequestCheck = Callable[[AAssociateRQ, tuple[str, int]], AAssociateRJ | None]

# PS3.8 9.3.4 reject reasons.
REASON_NO_REASON = 1
REASON_CALLING_AE_NOT_RECOGNIZED = 3
REASON_CALLED_AE_NOT_RECOGNIZED = 7
REASON_LOCAL_LIMIT_EXCEEDED = 2  # source: service provider (presentation)


@dataclass(frozen=True)
class AcceptorSettings:
    """What the acceptor accepts and how it answers."""

    ae_title: str = "ANY-SCP"
    supported: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {uids.VERIFICATION: (uids.IMPLICIT_VR_LITTLE_ENDIAN,)}
    )
    roles: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)
    max_pdu_length: int = 16384
    max_associations: int = 64
    timeouts: Timeouts = field(default_factory=Timeouts)
    prefer_requestor_order: bool = False
    check: RequestCheck | None = None
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION


def negotiate(
    settings: AcceptorSettings, request: AAssociateRQ, peer: tuple[str, int]
) -> tuple[AAssociateAC, dict[int, AcceptedContext]] | AAssociateRJ:
    """The answer to an A-ASSOCIATE-RQ: an accept with its usable contexts, or a reject."""
    if settings.check is not None and (rejection := settings.check(request, peer)) is not None:
        return rejection
    answers = answer_contexts(
        request.presentation_contexts,
        settings.supported,
        prefer_requestor_order=settings.prefer_requestor_order,
    )
    roles = answer_roles(request.user_information.role_selections, settings.roles)
    contexts = _usable_contexts(request, answers, roles)
    if not contexts:
        return AAssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_USER, REASON_NO_REASON)
    identity = request.user_information.user_identity_rq
    info = UserInformation(
        max_length=settings.max_pdu_length,
        implementation_class_uid=settings.implementation_class_uid,
        implementation_version_name=settings.implementation_version_name,
        role_selections=roles,
        user_identity_ac=UserIdentityAC() if identity and identity.positive_response_requested else None,
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


class Server:
    """An association acceptor.

    ``handlers`` maps a request message class (CEchoRQ, CStoreRQ, ...) to an
    async function that answers it on the association.
    """

    def __init__(
        self,
        settings: AcceptorSettings,
        handlers: Mapping[type[Message], Handler],
        *,
        ssl: _ssl.SSLContext | None = None,
        sink_factory: Callable[[Association], SinkFactory | None] | None = None,
    ) -> None:
        self.settings = settings
        self.handlers = dict(handlers)
        self._ssl = ssl
        self._sink_factory = sink_factory
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0
        self.associations_served = 0

    async def start(self, host: str | None, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_association, host, port, ssl=self._ssl, reuse_address=True
        )

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self, *, abort_active: bool = True) -> None:
        """Stop listening; abort (or wait for) the associations still open."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        if abort_active:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def _new_association(self) -> Association:
        assoc = Association(
            requestor=False, max_pdu_length=self.settings.max_pdu_length, timeouts=self.settings.timeouts
        )
        if self._sink_factory is not None:
            assoc.assembler.sink_factory = self._sink_factory(assoc)
        task = asyncio.get_running_loop().create_task(self._serve(assoc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return assoc

    async def _serve(self, assoc: Association) -> None:
        try:
            if await self._establish(assoc):
                self._active += 1
                try:
                    await self._dispatch_loop(assoc)
                finally:
                    self._active -= 1
        except (AssociationAborted, RemoteProtocolError) as exc:
            log.info("Association Aborted: %s", exc)
        except DicomTimeout as exc:
            log.warning("%s; aborting association", exc)
            assoc.abort()
        except asyncio.CancelledError:
            assoc.abort()
            raise
        except DicomWireError as exc:
            log.error("%s", exc)
            assoc.abort()
        except Exception:
            log.exception("unexpected error while serving an association")
            assoc.abort()
        finally:
            self.associations_served += 1

    async def _establish(self, assoc: Association) -> bool:
        request = await assoc.wait_for_request()
        log.info(
            "Association Received %s: %s -> %s", assoc.peer_address[0], request.calling_ae, request.called_ae
        )
        if self._active >= self.settings.max_associations:
            log.warning("Refusing Association (too many associations)")
            assoc.send_reject(
                AAssociateRJ(
                    RejectResult.TRANSIENT,
                    RejectSource.SERVICE_PROVIDER_PRESENTATION,
                    REASON_LOCAL_LIMIT_EXCEEDED,
                )
            )
            return False
        outcome = negotiate(self.settings, request, assoc.peer_address)
        if isinstance(outcome, AAssociateRJ):
            log.info("Refusing Association (result %d, source %d, reason %d)", *_rj(outcome))
            assoc.send_reject(outcome)
            return False
        accept, contexts = outcome
        assoc.send_accept(accept, contexts)
        log.info("Association Acknowledged (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
        return True

    async def _dispatch_loop(self, assoc: Association) -> None:
        while True:
            item = await assoc.receive()
            if isinstance(item, ReleaseRequested):
                log.info("Received Association Release Request")
                await assoc.respond_release()
                return
            handler = self.handlers.get(type(item.message))
            if handler is None:
                log.error("no handler for %s; aborting association", type(item.message).__name__)
                assoc.abort()
                return
            await handler(assoc, item)
            if not assoc.established:
                return  # the handler ended the association (e.g. aborted it)


def _rj(reject: AAssociateRJ) -> tuple[int, int, int]:
    return reject.result, reject.source, reject.reason
