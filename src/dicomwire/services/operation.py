"""One outstanding DIMSE-C request and its stream of responses (C-FIND, C-MOVE, C-GET).

The three services share a shape: a request with an identifier, any number of
Pending responses, one final response, and a C-CANCEL-RQ that may go out at any
moment.  :class:`RequestOperation` is that shape; the services say which request
they send and how a response becomes the object the caller iterates over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Generic, Self, TypedDict, TypeVar, Unpack

from pydicom.dataset import Dataset

from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CFindRSP, CGetRSP, CMoveRSP, Message
from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested
from dicomwire.services.codec import encode_dataset
from dicomwire.ul.negotiation import AcceptedContext

__all__ = ["OperationOptions", "RequestOperation", "ResponseMessage"]

ResponseMessage = CFindRSP | CMoveRSP | CGetRSP
R = TypeVar("R")


class OperationOptions(TypedDict, total=False):
    """The options every operation takes (keyword arguments of its constructor).

    ``cancel_after``: send a C-CANCEL-RQ after that many Pending responses;
    ``timeout``: the DIMSE timeout for each response; ``message_id``: default the
    association's next; ``context``: default the first accepted for the model.
    """

    priority: Priority
    cancel_after: int | None
    timeout: float | None
    compression_level: int
    message_id: int | None
    context: AcceptedContext | None


class RequestOperation(Generic[R]):
    """One request and its responses; iterate it, or call :meth:`cancel`.

    Subclasses set ``response_type``/``response_name`` and implement
    :meth:`_make_request`, :meth:`_response` and :meth:`_is_pending`.
    """

    response_type: type[ResponseMessage] = CFindRSP
    response_name = "C-FIND-RSP"

    def __init__(
        self,
        assoc: Association,
        query: Dataset,
        *,
        sop_class: str,
        **options: Unpack[OperationOptions],
    ) -> None:
        self.assoc = assoc
        self.query = query
        self.model = sop_class
        context = options.get("context")
        self.context = context if context is not None else assoc.context_for(sop_class)
        self.priority = options.get("priority", Priority.MEDIUM)
        self.cancel_after = options.get("cancel_after")
        self.timeout = options.get("timeout")
        self.compression_level = options.get("compression_level", 6)
        message_id = options.get("message_id")
        self.message_id = message_id if message_id is not None else assoc.next_message_id()
        self.request: Message = self._make_request()
        self.received = 0  # responses so far
        self.final: R | None = None
        self._sent = False
        self._cancel_wanted = False
        self._cancel_sent = False
        self._cancel_task: asyncio.Task[None] | None = None

    # -- what a service says --------------------------------------------------------------------
    def _make_request(self) -> Message:
        raise NotImplementedError

    def _response(self, message: ResponseMessage, raw: bytes | None) -> R:
        raise NotImplementedError

    def _is_pending(self, status: int) -> bool:
        raise NotImplementedError

    async def _other_message(self, item: MessageReceived) -> bool:
        """A message that is not our response: True if handled (C-GET takes C-STOREs)."""
        return False

    # -- the operation --------------------------------------------------------------------------
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
        """Send the request with its identifier (once)."""
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

    async def receive(self) -> R:
        """The next response (sending the request and any cancel first)."""
        if self.final is not None:
            raise LocalProtocolError(f"the {self.response_name[:-4]} operation is complete")
        await self.send()
        await self._flush_cancel()
        while True:
            item = await self.assoc.receive(self.timeout)
            foreign = isinstance(item, MessageReceived) and not isinstance(item.message, self.response_type)
            if foreign and await self._other_message(item):  # type: ignore[arg-type]
                continue
            message = self._check(item)
            break
        self.received += 1
        wanted = self.cancel_after is not None and self.received >= self.cancel_after
        if wanted and self._is_pending(message.status) and not self._cancel_wanted:
            self._cancel_wanted = True
            await self._send_cancel()  # at once, before decoding: the SCP may be about to send more
        raw = item.dataset if isinstance(item, MessageReceived) else None
        response = self._response(message, raw)
        if not self._is_pending(message.status):
            self.final = response
            task, self._cancel_task = self._cancel_task, None
            if task is not None:
                await task
        return response

    def _check(self, item: MessageReceived | ReleaseRequested) -> ResponseMessage:
        if isinstance(item, ReleaseRequested):
            raise RemoteProtocolError(
                f"peer requested release while a {self.response_name[:-4]} was outstanding"
            )
        message = item.message
        if not isinstance(message, self.response_type):
            field = message.command_field
            raise RemoteProtocolError(
                f"DIMSE: Unexpected Response Command Field: 0x{field:x} (expected {self.response_name})"
            )
        if message.message_id_being_responded_to != self.message_id:
            got = message.message_id_being_responded_to
            raise RemoteProtocolError(
                f"DIMSE: Unexpected Response MsgId: {got} (expected: {self.message_id})"
            )
        return message

    async def responses(self) -> AsyncIterator[R]:
        """Every response, the final one last."""
        while self.final is None:
            yield await self.receive()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> R:
        if self.final is not None:
            raise StopAsyncIteration
        return await self.receive()

    async def __aenter__(self) -> Self:
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
