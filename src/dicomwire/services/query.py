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
from types import TracebackType
from typing import Final

from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.dimse import status as st
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CFindRQ, CFindRSP
from dicomwire.errors import DatasetCodecError, LocalProtocolError, RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested
from dicomwire.net.server import Handler
from dicomwire.services.codec import decode_dataset, encode_dataset, inflate
from dicomwire.services.handlers import AssociationInfo, FindHandler
from dicomwire.services.info import association_info
from dicomwire.ul.negotiation import AcceptedContext

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


class FindOperation:
    """One C-FIND request and its responses; iterate it, or call :meth:`cancel`.

    Iterating yields a :class:`FindResponse` for every response: the Pending
    ones with their identifiers, then the final one (usually without).  The
    request goes out on the first iteration, or at :meth:`send`.
    """

    def __init__(
        self,
        assoc: Association,
        query: Dataset,
        *,
        model: str,
        priority: Priority = Priority.MEDIUM,
        cancel_after: int | None = None,
        timeout: float | None = None,
        compression_level: int = 6,
        message_id: int | None = None,
        context: AcceptedContext | None = None,
    ) -> None:
        self.assoc = assoc
        self.query = query
        self.model = resolve_model(model)
        self.context = context if context is not None else assoc.context_for(self.model)
        self.priority = priority
        self.cancel_after = cancel_after
        self.timeout = timeout
        self.compression_level = compression_level
        self.message_id = message_id if message_id is not None else assoc.next_message_id()
        self.request = CFindRQ(
            message_id=self.message_id, affected_sop_class_uid=self.model, priority=priority
        )
        self.received = 0  # responses so far
        self.final: FindResponse | None = None
        self._sent = False
        self._cancel_wanted = False
        self._cancel_sent = False
        self._cancel_task: asyncio.Task[None] | None = None

    @property
    def transfer_syntax(self) -> str:
        return self.context.transfer_syntax

    @property
    def cancelled(self) -> bool:
        """True once a C-CANCEL-RQ has been asked for."""
        return self._cancel_wanted

    @property
    def done(self) -> bool:
        return self.final is not None

    def encode_query(self) -> bytes:
        return encode_dataset(self.query, self.transfer_syntax, compression_level=self.compression_level)

    async def send(self) -> None:
        """Send the C-FIND-RQ with the query (once)."""
        if self._sent:
            return
        data = self.encode_query()
        self._sent = True
        await self.assoc.send(self.context.context_id, self.request, data)

    def cancel(self) -> None:
        """Ask the SCP to stop: a C-CANCEL-RQ goes out at once (or as soon as
        the request is out); the responses end with the SCP's final one."""
        if self._cancel_wanted or self.final is not None:
            return
        self._cancel_wanted = True
        if self._sent:
            self._cancel_task = asyncio.get_running_loop().create_task(self._send_cancel())

    async def _send_cancel(self) -> None:
        if self._cancel_sent or self.final is not None:
            return
        self._cancel_sent = True
        cancel = CCancelRQ(message_id_being_responded_to=self.message_id)
        await self.assoc.send(self.context.context_id, cancel)

    async def _flush_cancel(self) -> None:
        task, self._cancel_task = self._cancel_task, None
        if task is not None:
            await task
        if self._cancel_wanted and not self._cancel_sent:
            await self._send_cancel()

    async def receive(self) -> FindResponse:
        """The next response (sending the request and any cancel first)."""
        if self.final is not None:
            raise LocalProtocolError("the C-FIND operation is complete")
        await self.send()
        await self._flush_cancel()
        item = await self.assoc.receive(self.timeout)
        message = self._check(item)
        self.received += 1
        wanted = self.cancel_after is not None and self.received >= self.cancel_after
        if wanted and is_pending(message.status) and not self._cancel_wanted:
            self._cancel_wanted = True
            await self._send_cancel()  # at once, before decoding: the SCP may be about to send more
        raw = item.dataset if isinstance(item, MessageReceived) else None
        identifier = decode_dataset(raw, self.transfer_syntax) if raw is not None else None
        response = FindResponse(message.status, identifier, message, raw, self.transfer_syntax)
        if not response.pending:
            self.final = response
            task, self._cancel_task = self._cancel_task, None
            if task is not None:
                await task
        return response

    def _check(self, item: MessageReceived | ReleaseRequested) -> CFindRSP:
        if isinstance(item, ReleaseRequested):
            raise RemoteProtocolError("peer requested release while a C-FIND was outstanding")
        message = item.message
        if not isinstance(message, CFindRSP):
            field = message.command_field
            raise RemoteProtocolError(
                f"DIMSE: Unexpected Response Command Field: 0x{field:x} (expected C-FIND-RSP)"
            )
        if message.message_id_being_responded_to != self.message_id:
            got = message.message_id_being_responded_to
            raise RemoteProtocolError(
                f"DIMSE: Unexpected Response MsgId: {got} (expected: {self.message_id})"
            )
        return message

    async def responses(self) -> AsyncIterator[FindResponse]:
        """Every response, the final one last."""
        while self.final is None:
            yield await self.receive()

    def __aiter__(self) -> FindOperation:
        return self

    async def __anext__(self) -> FindResponse:
        if self.final is not None:
            raise StopAsyncIteration
        return await self.receive()

    async def __aenter__(self) -> FindOperation:
        await self.send()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leaving early cancels and drains the remaining responses."""
        if exc is None and self.final is None:
            self.cancel()
            async for _ in self:
                pass


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
