"""The SCP side of C-MOVE and C-GET (PS3.4 C.4.2.3, C.4.3.3): sub-operations and their counts.

A :class:`~dicomwire.services.handlers.MoveHandler` or
:class:`~dicomwire.services.handlers.GetHandler` says which instances match (and, for
C-MOVE, where the destination is); this module does the rest:

* C-MOVE: one association to the destination (calling AE title: ours, the called one
  of the request), proposing each matched SOP class with the configured transfer
  syntaxes, plus a context of its own for a file stored in another (compressed)
  syntax; C-GET: the same association, on the contexts where the requestor took the
  SCP role.  Files stream from disk one at a time; a file in a syntax the peer did
  not accept is converted when it can be.
* A Pending response after every sub-operation (remaining, completed, failed,
  warning), as DCMTK's dcmqrscp sends them; the final response without the remaining
  count, and with the Failed SOP Instance UID List when any sub-operation failed:
  0x0000 all completed, 0xB000 one or more failed or had warnings, 0xA702 when the
  association to the destination cannot be had (every sub-operation failed), 0xA801
  for an unknown destination, 0xA900 for an identifier that cannot be read, 0xC000 when
  the handler fails.
* A C-CANCEL-RQ is noticed between sub-operations: the final response is 0xFE00 with
  the counts so far (the remaining count included).
* A file that has gone, or that cannot be read or sent, fails its sub-operation; the
  others go on.  A destination that aborts fails the current and every remaining one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.config import RequestorSettings, Timeouts
from dicomwire.dimse import status as st
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CGetRQ, CGetRSP, CMoveRQ, CMoveRSP, CStoreRSP
from dicomwire.errors import DatasetCodecError, DicomWireError, NoAcceptedContext
from dicomwire.net.association import Association, MessageObserver, ReleaseRequested
from dicomwire.net.client import open_association
from dicomwire.net.server import Handler
from dicomwire.services.codec import decode_dataset, encode_dataset
from dicomwire.services.handlers import (
    AssociationInfo,
    GetHandler,
    MoveHandler,
    RetrieveFailed,
    RetrieveMatch,
)
from dicomwire.services.info import association_info
from dicomwire.services.storage import choose_context, known_file, send_store
from dicomwire.ul.negotiation import MAX_CONTEXTS, AcceptedContext

__all__ = ["SubAssociationSettings", "make_get_handler", "make_move_handler", "sub_association_contexts"]

log = logging.getLogger("dicomwire.services.retrieve")

FAILED_SOP_INSTANCE_UID_LIST: Final = 0x00080058
_MAX_ERROR_COMMENT: Final = 64  # LO


def _uncompressed() -> tuple[str, ...]:
    return (uids.local_endian_explicit(), uids.opposite_endian_explicit(), uids.IMPLICIT_VR_LITTLE_ENDIAN)


@dataclass(frozen=True)
class SubAssociationSettings:
    """How a C-MOVE SCP associates with a destination.

    ``calling_ae`` None: the AE title the C-MOVE was addressed to.  ``proposed_syntaxes``
    are proposed for every matched SOP class (dcmqrscp's ``-x`` options).  ``observer``
    sees the messages on those associations.
    """

    calling_ae: str | None = None
    proposed_syntaxes: tuple[str, ...] = field(default_factory=_uncompressed)
    max_pdu_length: int = 16384
    timeouts: Timeouts = field(default_factory=Timeouts)
    compression_level: int = 6
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION
    # sees every message on the associations to destinations (a tool logs them)
    observer: MessageObserver | None = None
    # the associations to destinations go over TLS with this (a requestor's context)
    tls: ssl.SSLContext | None = None


# -- counting ------------------------------------------------------------------------------------


class _Counts:
    """The sub-operation counts of one retrieve, and the instances that failed."""

    def __init__(self, total: int) -> None:
        self.remaining = total
        self.completed = 0
        self.failed = 0
        self.warning = 0
        self.failed_uids: list[str] = []

    def record(self, code: int, sop_instance_uid: str) -> None:
        self.remaining -= 1
        if code == st.SUCCESS:
            self.completed += 1
        elif st.category(code) is st.StatusCategory.WARNING:
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(sop_instance_uid)

    def fail_rest(self, matches: Sequence[RetrieveMatch]) -> None:
        """Every match not yet done fails (the destination is gone)."""
        for match in matches[len(matches) - self.remaining :]:
            self.record(st.UNABLE_TO_PROCESS, match.sop_instance_uid)

    def final_status(self) -> int:
        if self.failed or self.warning:
            return st.SUBOPERATIONS_COMPLETE_WITH_FAILURES
        return st.SUCCESS


# -- responding ----------------------------------------------------------------------------------


class _Responder:
    """Sends the responses of one C-MOVE or C-GET, and notices its C-CANCEL-RQ."""

    def __init__(self, assoc: Association, received: MessageReceived, request: CMoveRQ | CGetRQ) -> None:
        self.assoc = assoc
        self.context_id = received.context_id
        self.request = request
        context = assoc.contexts.get(received.context_id)
        self.syntax = context.transfer_syntax if context is not None else uids.IMPLICIT_VR_LITTLE_ENDIAN
        self.cancel_seen = False

    def cancelled(self) -> bool:
        if not self.cancel_seen:
            self.cancel_seen = self.assoc.take_cancel(self.request.message_id)
        return self.cancel_seen

    async def pending(self, counts: _Counts) -> None:
        await self._send(st.PENDING, counts, with_remaining=True)

    async def final(self, code: int, counts: _Counts | None = None, comment: str | None = None) -> None:
        await self._send(code, counts, with_remaining=code == st.CANCEL, comment=comment)
        log.debug("%s %d answered 0x%04X", self._name, self.request.message_id, code)

    @property
    def _name(self) -> str:
        return "C-MOVE" if isinstance(self.request, CMoveRQ) else "C-GET"

    async def _send(
        self, code: int, counts: _Counts | None, *, with_remaining: bool, comment: str | None = None
    ) -> None:
        data = None
        if counts is not None and counts.failed_uids and code != st.PENDING:
            data = encode_dataset(_failed_list(counts.failed_uids), self.syntax)
        response_class = CMoveRSP if isinstance(self.request, CMoveRQ) else CGetRSP
        response = response_class(
            message_id_being_responded_to=self.request.message_id,
            affected_sop_class_uid=self.request.affected_sop_class_uid,
            status=code,
            number_of_remaining_suboperations=counts.remaining if counts and with_remaining else None,
            number_of_completed_suboperations=counts.completed if counts else None,
            number_of_failed_suboperations=counts.failed if counts else None,
            number_of_warning_suboperations=counts.warning if counts else None,
            error_comment=comment[:_MAX_ERROR_COMMENT] if comment else None,
            has_dataset=data is not None,
        )
        await self.assoc.send(self.context_id, response, data)


def _failed_list(failed: Sequence[str]) -> Dataset:
    identifier = Dataset()
    identifier.FailedSOPInstanceUIDList = list(failed) if len(failed) > 1 else failed[0]
    return identifier


# -- sending the instances -----------------------------------------------------------------------


class _Lost(Exception):
    """The association the instances go over is gone: every remaining sub-operation fails."""


class _Sender(Protocol):
    async def send(self, match: RetrieveMatch) -> int: ...


async def _send_one(
    assoc: Association,
    match: RetrieveMatch,
    *,
    contexts: dict[int, AcceptedContext] | None,
    priority: Priority,
    move_originator: tuple[str, int] | None,
    compression_level: int,
) -> int | None:
    """Send one instance; its message ID, or None when the sub-operation failed before
    anything went out (the file is gone, unreadable, or has no usable context)."""
    try:
        source = known_file(match.path, match.sop_class_uid, match.sop_instance_uid, match.transfer_syntax)
        usable = assoc.contexts if contexts is None else contexts
        context = choose_context(usable, source)
        return await send_store(
            assoc,
            source,
            priority=priority,
            move_originator=move_originator,
            context_id=context.context_id,
            compression_level=compression_level,
        )
    except (DatasetCodecError, NoAcceptedContext) as exc:
        if not assoc.established:
            raise _Lost(str(exc)) from exc
        log.warning("cannot send %s: %s", match.sop_instance_uid, exc)
        return None
    except DicomWireError as exc:
        raise _Lost(str(exc)) from exc
    except Exception as exc:  # a conversion that failed: this instance only
        if not assoc.established:
            raise _Lost(str(exc)) from exc
        log.warning("cannot send %s: %s: %s", match.sop_instance_uid, type(exc).__name__, exc)
        return None


class _ToDestination:
    """C-MOVE: the instances go over an association of their own."""

    def __init__(self, sub: Association, request: CMoveRQ, calling_ae: str, settings: SubAssociationSettings):
        self.sub = sub
        self.request = request
        self.originator = (calling_ae, request.message_id)
        self.settings = settings

    async def send(self, match: RetrieveMatch) -> int:
        message_id = await _send_one(
            self.sub,
            match,
            contexts=None,
            priority=self.request.priority,
            move_originator=self.originator,
            compression_level=self.settings.compression_level,
        )
        if message_id is None:
            return st.UNABLE_TO_PROCESS
        try:
            reply = await self.sub.receive()
        except DicomWireError as exc:
            raise _Lost(str(exc)) from exc
        return _store_status(reply, message_id)


class _OnSameAssociation:
    """C-GET: the instances go back over the requestor's association, on the contexts
    where it took the SCP role; a C-CANCEL-RQ may arrive before a C-STORE-RSP."""

    def __init__(
        self, assoc: Association, request: CGetRQ, responder: _Responder, compression_level: int
    ) -> None:
        self.assoc = assoc
        self.compression_level = compression_level
        self.request = request
        self.responder = responder
        self.contexts = {cid: c for cid, c in assoc.contexts.items() if c.requestor_scp}

    async def send(self, match: RetrieveMatch) -> int:
        message_id = await _send_one(
            self.assoc,
            match,
            contexts=self.contexts,
            priority=self.request.priority,
            move_originator=None,
            compression_level=self.compression_level,
        )
        if message_id is None:
            return st.UNABLE_TO_PROCESS
        while True:
            try:
                reply = await self.assoc.receive()
            except DicomWireError as exc:
                raise _Lost(str(exc)) from exc
            if isinstance(reply, MessageReceived) and isinstance(reply.message, CCancelRQ):
                if reply.message.message_id_being_responded_to == self.request.message_id:
                    self.responder.cancel_seen = True
                continue
            return _store_status(reply, message_id)


def _store_status(reply: MessageReceived | ReleaseRequested, message_id: int) -> int:
    if isinstance(reply, ReleaseRequested):
        raise _Lost("the peer asked for release during a retrieve")
    response = reply.message
    if not isinstance(response, CStoreRSP) or response.message_id_being_responded_to != message_id:
        raise _Lost(f"expected C-STORE-RSP for message {message_id}, got {type(response).__name__}")
    return response.status


async def _send_all(
    responder: _Responder, matches: Sequence[RetrieveMatch], counts: _Counts, sender: _Sender
) -> int:
    """The sub-operations, a Pending response after each; the final status."""
    for match in matches:
        if responder.cancelled():
            return st.CANCEL
        try:
            code = await sender.send(match)
        except _Lost as exc:
            log.warning("retrieve: the association for the sub-operations is gone: %s", exc)
            counts.fail_rest(matches)
            return counts.final_status()
        counts.record(code, match.sop_instance_uid)
        await responder.pending(counts)
        await asyncio.sleep(0)  # let the reader take in a C-CANCEL-RQ
    if responder.cancelled() and counts.remaining:
        return st.CANCEL
    return counts.final_status()


# -- the two services ----------------------------------------------------------------------------


async def _identifier(responder: _Responder, received: MessageReceived) -> Dataset | None:
    """The request's identifier, or None once a failure has been answered."""
    context = responder.assoc.contexts.get(received.context_id)
    if context is None or context.abstract_syntax != responder.request.affected_sop_class_uid:
        await responder.final(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, comment="SOP class does not match")
        return None
    try:
        if received.dataset is None:
            raise DatasetCodecError("request without identifier")
        return decode_dataset(received.dataset, responder.syntax)
    except DatasetCodecError as exc:
        await responder.final(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, comment=str(exc))
        return None


async def _matches(responder: _Responder, found: AsyncIterator[RetrieveMatch]) -> list[RetrieveMatch] | None:
    """Every match (they are counted before the first sub-operation), or None once a
    failure has been answered."""
    try:
        return [match async for match in found]
    except RetrieveFailed as exc:
        await responder.final(exc.status, comment=exc.comment)
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:
        log.exception("retrieve: the handler failed")
        await responder.final(st.UNABLE_TO_PROCESS, comment=f"{type(exc).__name__}: {exc}")
    finally:
        aclose = getattr(found, "aclose", None)
        if aclose is not None:
            await aclose()
    return None


def _info(assoc: Association, received: MessageReceived, request: CMoveRQ | CGetRQ) -> AssociationInfo:
    return association_info(assoc, received.context_id, request.message_id, request.priority)


def sub_association_contexts(
    matches: Sequence[RetrieveMatch], syntaxes: Sequence[str]
) -> list[tuple[str, tuple[str, ...]]]:
    """The contexts to propose for ``matches``: each SOP class with ``syntaxes``, and each
    other transfer syntax a file is stored in as a context of its own (at most 128)."""
    proposed: dict[tuple[str, tuple[str, ...]], None] = {}
    for match in matches:
        proposed[(match.sop_class_uid, tuple(syntaxes))] = None
    for match in matches:
        if match.transfer_syntax and match.transfer_syntax not in syntaxes:
            proposed[(match.sop_class_uid, (match.transfer_syntax,))] = None
    return list(proposed)[:MAX_CONTEXTS]


def make_move_handler(handler: MoveHandler, settings: SubAssociationSettings | None = None) -> Handler:
    """The server handler (``{CMoveRQ: ...}``) serving ``handler``'s matches by C-MOVE."""
    sub_settings = settings if settings is not None else SubAssociationSettings()

    async def handle_move(assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CMoveRQ)
        responder = _Responder(assoc, received, request)
        query = await _identifier(responder, received)
        if query is None:
            return
        info = _info(assoc, received, request)
        where = handler.destination(request.move_destination, info)
        if where is None:
            log.warning("C-MOVE: unknown move destination %s", request.move_destination)
            await responder.final(st.MOVE_DESTINATION_UNKNOWN)
            return
        matches = await _matches(responder, handler.retrieve(query, request.affected_sop_class_uid, info))
        if matches is None:
            return
        counts = _Counts(len(matches))
        if not matches:
            await responder.final(st.SUCCESS, counts)
            return
        calling_ae = sub_settings.calling_ae or info.called_ae
        sub = await _connect(where, request.move_destination, calling_ae, matches, sub_settings)
        if sub is not None and not sub.contexts:  # accepted, but not one context: no sub-operation can be
            log.warning("C-MOVE: %s accepted none of the proposed contexts", request.move_destination)
            await _close(sub)
            sub = None
        if sub is None:
            counts.fail_rest(matches)
            await responder.final(st.OUT_OF_RESOURCES_SUBOPERATIONS, counts)
            return
        try:
            final = await _send_all(
                responder, matches, counts, _ToDestination(sub, request, info.calling_ae, sub_settings)
            )
        finally:
            await _close(sub)
        await responder.final(final, counts)

    return handle_move


async def _connect(
    where: tuple[str, int],
    destination: str,
    calling_ae: str,
    matches: Sequence[RetrieveMatch],
    settings: SubAssociationSettings,
) -> Association | None:
    contexts = sub_association_contexts(matches, settings.proposed_syntaxes)
    request = RequestorSettings(
        calling_ae=calling_ae,
        called_ae=destination,
        contexts=contexts,
        max_pdu_length=settings.max_pdu_length,
        timeouts=settings.timeouts,
        implementation_class_uid=settings.implementation_class_uid,
        implementation_version_name=settings.implementation_version_name,
    )
    host, port = where
    try:
        sub = await open_association(host, port, request, tls=settings.tls)
    except (DicomWireError, OSError) as exc:
        log.warning("C-MOVE: cannot associate with %s (%s:%d): %s", destination, host, port, exc)
        return None
    sub.observer = settings.observer
    return sub


async def _close(sub: Association) -> None:
    if not sub.established:
        sub.abort()
        return
    try:
        await sub.release()
    except DicomWireError as exc:
        log.info("C-MOVE: release of the sub-association failed: %s", exc)
        sub.abort()


def make_get_handler(handler: GetHandler, *, compression_level: int = 6) -> Handler:
    """The server handler (``{CGetRQ: ...}``) serving ``handler``'s matches by C-GET."""

    async def handle_get(assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CGetRQ)
        responder = _Responder(assoc, received, request)
        query = await _identifier(responder, received)
        if query is None:
            return
        info = _info(assoc, received, request)
        matches = await _matches(responder, handler.retrieve(query, request.affected_sop_class_uid, info))
        if matches is None:
            return
        counts = _Counts(len(matches))
        sender = _OnSameAssociation(assoc, request, responder, compression_level)
        final = await _send_all(responder, matches, counts, sender) if matches else st.SUCCESS
        if assoc.established:
            await responder.final(final, counts)

    return handle_get
