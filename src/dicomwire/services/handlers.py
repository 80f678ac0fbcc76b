"""One handler shape for every SCP service: a ``typing.Protocol`` each.

A server is given handler objects once (``Server(settings, store=..., find=...)``)
and adapts each to the messages of its service.  Every handler method gets an
:class:`AssociationInfo` (who asks, on which context, which message) and answers
with a DIMSE status, or yields ``(status, identifier)`` pairs for the services that
answer with several responses.  A handler that raises is answered with a failure
status; the association goes on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dicomwire._records import record
from dicomwire.dimse import status as st
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.fragments import DatasetSink
from dicomwire.dimse.messages import CStoreRQ

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "AcceptEcho",
    "AssociationInfo",
    "EchoHandler",
    "FindHandler",
    "GetHandler",
    "MoveHandler",
    "ReceivedInstance",
    "RetrieveFailed",
    "RetrieveMatch",
    "StoreHandler",
    "StreamingStoreHandler",
]


@record(frozen=True)
class AssociationInfo:
    """What a handler may want to know about the request and its requestor."""

    calling_ae: str
    called_ae: str
    peer_address: tuple[str, int]
    context_id: int
    transfer_syntax: str
    message_id: int
    priority: Priority = Priority.MEDIUM
    peer_hostname: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


@record(frozen=True)
class ReceivedInstance:
    """One instance received by C-STORE.

    ``data`` is the data set as it came (in ``transfer_syntax``), or None when a
    :class:`StreamingStoreHandler` took it into its own sink (then ``sink`` is it).
    """

    request: CStoreRQ
    transfer_syntax: str
    data: bytes | None = None
    sink: DatasetSink | None = None

    @property
    def sop_class_uid(self) -> str:
        return self.request.affected_sop_class_uid

    @property
    def sop_instance_uid(self) -> str:
        return self.request.affected_sop_instance_uid

    def dataset(self) -> Dataset:
        """The data set decoded with pydicom (only for instances received in memory)."""
        from dicomwire.services.codec import decode_dataset  # pydicom only when asked for

        if self.data is None:
            raise ValueError("the data set went to a sink; read it from there")
        return decode_dataset(self.data, self.transfer_syntax)


class EchoHandler(Protocol):
    """Verification (C-ECHO): the status to answer."""

    async def echo(self, info: AssociationInfo) -> int: ...


class AcceptEcho:
    """The default echo handler: every C-ECHO is answered Success."""

    async def echo(self, info: AssociationInfo) -> int:
        return st.SUCCESS


class StoreHandler(Protocol):
    """Storage (C-STORE): keep the instance, answer its status.

    Success 0x0000; Refused: Out of Resources 0xA7xx; Error: Cannot Understand
    0xCxxx; Warning 0xB000/0xB007/0xB006.
    """

    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int: ...


@runtime_checkable
class StreamingStoreHandler(StoreHandler, Protocol):
    """A store handler that takes the data set fragment by fragment as it arrives
    (memory stays flat for gigabyte instances): ``open_sink`` is asked for a sink
    when the C-STORE-RQ command is complete, ``store`` once the data set is."""

    def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink: ...


class FindHandler(Protocol):
    """Query (C-FIND): yields ``(status, identifier)`` per match.

    Yield Pending (0xFF00, or 0xFF01 when optional keys are not supported) with
    each matching identifier.  Yielding any other status ends the operation with
    that status (e.g. 0xA900, 0xA700).  Returning ends it with Success; raising
    ends it with 0xC000 (Unable to process).  A C-CANCEL-RQ is noticed between
    matches and ends it with 0xFE00.
    """

    def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]: ...


@record(frozen=True)
class RetrieveMatch:
    """One instance a C-MOVE or C-GET sends: where it is and what it is."""

    path: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str


class RetrieveFailed(Exception):
    """Raised by a retrieve handler to end the operation with ``status`` (e.g. 0xA900
    for an identifier it cannot use, 0xA701 when it cannot count the matches)."""

    def __init__(self, status: int, comment: str | None = None) -> None:
        super().__init__(comment or f"status 0x{status:04X}")
        self.status = status
        self.comment = comment


class MoveHandler(Protocol):
    """Retrieve by C-MOVE: the instances that match, and where the destination is.

    ``destination`` resolves the Move Destination AE title to ``(host, port)``
    (None: unknown or not allowed, answered 0xA801).  ``retrieve`` yields the
    matching instances (raise :class:`RetrieveFailed` for another final status).
    The C-STORE sub-operations on an association to the destination, the pending
    responses, the counts and C-CANCEL are the server's work
    (:mod:`dicomwire.services.retrieve_scp`).
    """

    def destination(self, ae_title: str, info: AssociationInfo) -> tuple[str, int] | None: ...

    def retrieve(self, query: Dataset, model: str, info: AssociationInfo) -> AsyncIterator[RetrieveMatch]: ...


class GetHandler(Protocol):
    """Retrieve by C-GET: the instances that match; they are sent back on the
    same association (SCP/SCU role selection negotiated)."""

    def retrieve(self, query: Dataset, model: str, info: AssociationInfo) -> AsyncIterator[RetrieveMatch]: ...
