"""The Query/Retrieve and Worklist C-FIND service (PS3.4 C.4.1, K): SCU and SCP.

SCU::

    async with associate(host, port, settings) as assoc:
        async for response in find(assoc, query, model="study"):
            print(response.status, response.identifier)

    operation = find(assoc, query, model=uids.PATIENT_ROOT_FIND)
    async for response in operation:
        if enough:
            operation.cancel()          # C-CANCEL-RQ; the loop ends with 0xFE00

``FindOperation.responses()`` gives the full responses (command message, raw
identifier bytes) for callers that log them, as findscu does.

SCP: implement :class:`FindHandler` and register
``{CFindRQ: make_find_handler(handler), CCancelRQ: ignore_cancel}`` with the
server.  The handler yields ``(status, identifier)`` for each match; the SCP
side sends them as Pending responses, notices a C-CANCEL-RQ between matches
and ends with Success, Cancel or a failure status.

Identifiers travel in the transfer syntax of their presentation context:
:func:`encode_dataset` / :func:`decode_dataset` do that (deflate included).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final, Unpack

from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.dimse import status as st
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CFindRQ, CFindRSP
from dicomwire.errors import DatasetCodecError
from dicomwire.net.association import Association
from dicomwire.net.server import Handler
from dicomwire.services.codec import decode_dataset, encode_dataset, inflate
from dicomwire.services.handlers import AssociationInfo, FindHandler
from dicomwire.services.info import association_info
from dicomwire.services.operation import OperationOptions, RequestOperation, ResponseMessage

__all__ = [
    "FIND_MODELS",
    "PENDING_STATUSES",
    "AssociationInfo",
    "FindHandler",
    "FindOperation",
    "FindResponse",
    "decode_dataset",
    "encode_dataset",
    "find",
    "ignore_cancel",
    "inflate",
    "is_pending",
    "make_find_handler",
    "resolve_model",
]

log = logging.getLogger("dicomwire.services.query")

#: Short names of the C-FIND information models (findscu's -W -P -S -O).
FIND_MODELS: Final[Mapping[str, str]] = {
    "worklist": uids.MODALITY_WORKLIST_FIND,
    "patient": uids.PATIENT_ROOT_FIND,
    "study": uids.STUDY_ROOT_FIND,
    "psonly": uids.PATIENT_STUDY_ONLY_FIND,
}
PENDING_STATUSES: Final = frozenset({st.PENDING, st.PENDING_WARNING})
_MAX_ERROR_COMMENT = 64  # LO


def is_pending(status: int) -> bool:
    """True for the two Pending statuses of C-FIND (0xFF00, 0xFF01)."""
    return status in PENDING_STATUSES


def resolve_model(model: str) -> str:
    """A model's SOP class UID from a short name (``"study"``) or the UID itself."""
    return FIND_MODELS.get(model, model)


# -- SCU ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindResponse:
    """One C-FIND-RSP: its status, its identifier and what came on the wire."""

    status: int
    identifier: Dataset | None
    message: CFindRSP
    raw_identifier: bytes | None
    transfer_syntax: str

    @property
    def pending(self) -> bool:
        return is_pending(self.status)


class FindOperation(RequestOperation[FindResponse]):
    """One C-FIND request and its responses; iterate it, or call :meth:`cancel`.

    Iterating yields a :class:`FindResponse` for every response: the Pending
    ones with their identifiers, then the final one (usually without).  The
    request goes out on the first iteration, or at :meth:`send`.
    """

    response_type = CFindRSP
    response_name = "C-FIND-RSP"

    def __init__(
        self,
        assoc: Association,
        query: Dataset,
        *,
        model: str,
        **options: Unpack[OperationOptions],
    ) -> None:
        super().__init__(assoc, query, sop_class=resolve_model(model), **options)

    def _make_request(self) -> CFindRQ:
        return CFindRQ(message_id=self.message_id, affected_sop_class_uid=self.model, priority=self.priority)

    def _is_pending(self, status: int) -> bool:
        return is_pending(status)

    def _response(self, message: ResponseMessage, raw: bytes | None) -> FindResponse:
        assert isinstance(message, CFindRSP)
        identifier = decode_dataset(raw, self.transfer_syntax) if raw is not None else None
        return FindResponse(message.status, identifier, message, raw, self.transfer_syntax)


def find(
    assoc: Association,
    query: Dataset,
    *,
    model: str,
    priority: Priority = Priority.MEDIUM,
    cancel_after: int | None = None,
    timeout: float | None = None,
    compression_level: int = 6,
) -> FindOperation:
    """Start a C-FIND: ``async for response in find(...)`` gives each :class:`FindResponse`.

    ``model`` is the information model's SOP class UID or one of
    ``worklist``, ``patient``, ``study``, ``psonly``.  With ``cancel_after``
    a C-CANCEL-RQ goes out after that many Pending responses and the
    iteration goes on to the final response (normally 0xFE00 Cancel).
    ``timeout`` overrides the DIMSE timeout for each response.
    """
    return FindOperation(
        assoc,
        query,
        model=model,
        priority=priority,
        cancel_after=cancel_after,
        timeout=timeout,
        compression_level=compression_level,
    )


# -- SCP ---------------------------------------------------------------------------------


class _Responder:
    """Sends the responses of one C-FIND operation."""

    def __init__(self, assoc: Association, received: MessageReceived, request: CFindRQ, syntax: str) -> None:
        self.assoc = assoc
        self.context_id = received.context_id
        self.request = request
        self.syntax = syntax

    async def send(self, status: int, identifier: Dataset | None = None, comment: str | None = None) -> None:
        data = encode_dataset(identifier, self.syntax) if identifier is not None else None
        response = CFindRSP(
            message_id_being_responded_to=self.request.message_id,
            affected_sop_class_uid=self.request.affected_sop_class_uid,
            status=status,
            error_comment=comment[:_MAX_ERROR_COMMENT] if comment else None,
            has_dataset=data is not None,
        )
        await self.assoc.send(self.context_id, response, data)

    def cancelled(self) -> bool:
        return self.assoc.take_cancel(self.request.message_id)


def make_find_handler(handler: FindHandler) -> Handler:
    """The server handler (for ``Server(handlers={CFindRQ: ...})``) around ``handler``."""

    async def handle_find(assoc: Association, received: MessageReceived) -> None:
        request = received.message
        assert isinstance(request, CFindRQ)
        context = assoc.contexts.get(received.context_id)
        syntax = context.transfer_syntax if context is not None else uids.IMPLICIT_VR_LITTLE_ENDIAN
        responder = _Responder(assoc, received, request, syntax)
        if context is None or context.abstract_syntax != request.affected_sop_class_uid:
            reason = "SOP class does not match the presentation context"
            await responder.send(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, comment=reason)
            return
        try:
            if received.dataset is None:
                raise DatasetCodecError("C-FIND-RQ without identifier")
            query = decode_dataset(received.dataset, syntax)
        except DatasetCodecError as exc:
            await responder.send(st.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, comment=str(exc))
            return
        matches = handler.find(
            query,
            request.affected_sop_class_uid,
            association_info(assoc, received.context_id, request.message_id, request.priority),
        )
        final, comment = await _answer(responder, matches)
        if final == st.SUCCESS and responder.cancelled():
            final = st.CANCEL
        await responder.send(final, comment=comment)
        log.debug("C-FIND %d answered 0x%04X", request.message_id, final)

    return handle_find


async def _answer(
    responder: _Responder, matches: AsyncIterator[tuple[int, Dataset | None]]
) -> tuple[int, str | None]:
    """Send the pending responses; the final status (and error comment)."""
    try:
        async for status, identifier in matches:
            if not is_pending(status):
                return status, None
            if responder.cancelled():
                return st.CANCEL, None
            await responder.send(status, identifier)
            await asyncio.sleep(0)  # let the reader take in a C-CANCEL-RQ
            if responder.cancelled():
                return st.CANCEL, None
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except DatasetCodecError as exc:
        log.error("Find SCP: cannot encode a match: %s", exc)
        return st.UNABLE_TO_PROCESS, str(exc)
    except Exception as exc:
        log.exception("Find SCP: the handler failed")
        return st.UNABLE_TO_PROCESS, f"{type(exc).__name__}: {exc}"
    finally:
        aclose = getattr(matches, "aclose", None)
        if aclose is not None:
            await aclose()
    return st.SUCCESS, None


async def ignore_cancel(assoc: Association, received: MessageReceived) -> None:
    """Server handler for a C-CANCEL-RQ that came after its operation ended."""
    message = received.message
    assert isinstance(message, CCancelRQ)
    log.debug("Ignoring C-CANCEL-RQ for message %d: no such operation", message.message_id_being_responded_to)
