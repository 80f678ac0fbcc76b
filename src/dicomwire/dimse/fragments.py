"""DIMSE messages <-> presentation data values (PS3.7 section 8 and Annex F, PS3.8 9.3.5).

Sending: a command set, then (if announced) its data set, each cut into PDVs
that fit the peer's maximum PDU length.  Fragments are memoryview slices of
the caller's buffer, or chunks read from a file, never copies.

Receiving: ``MessageAssembler`` takes PDVs one at a time and reports each
complete message.  A data set goes either to memory (joined once at the end)
or, fragment by fragment, to a ``DatasetSink`` chosen by the caller when the
command set arrives - so a multi-gigabyte C-STORE never sits in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Final, Protocol, TypeAlias

from dicomwire._records import record
from dicomwire.dimse.messages import Message, decode_message, encode_message
from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.ul.pdv import PDV, max_pdv_data_length

__all__ = [
    "DEFAULT_MAX_COMMAND_LENGTH",
    "DEFAULT_MAX_MEMORY_DATASET",
    "DatasetSink",
    "Event",
    "MessageAssembler",
    "MessageReceived",
    "SinkFactory",
    "command_pdvs",
    "dataset_pdvs",
    "message_pdvs",
    "stream_dataset_pdvs",
]

DEFAULT_MAX_COMMAND_LENGTH: Final = 64 * 1024
DEFAULT_MAX_MEMORY_DATASET: Final = 1 << 30


# -- sending ------------------------------------------------------------------------------
def _fragment_size(max_pdu_length: int) -> int:
    size = max_pdv_data_length(max_pdu_length)
    if size <= 0:
        raise LocalProtocolError(f"maximum PDU length {max_pdu_length} leaves no room for data")
    return size


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _slices(context_id: int, is_command: bool, view: memoryview, size: int) -> Iterator[PDV]:
    end = len(view)
    if end == 0:
        yield PDV(context_id, is_command, True, view)
        return
    for start in range(0, end, size):
        stop = start + size
        yield PDV(context_id, is_command, stop >= end, view[start:stop])


def command_pdvs(context_id: int, command: bytes, max_pdu_length: int) -> list[PDV]:
    """The command set as PDVs (usually one) for a peer accepting ``max_pdu_length``."""
    size = _fragment_size(max_pdu_length)
    if len(command) <= size:
        return [PDV(context_id, True, True, command)]
    return list(_slices(context_id, True, _byte_view(command), size))


def message_pdvs(context_id: int, message: Message, max_pdu_length: int) -> list[PDV]:
    """Encode ``message`` and fragment its command set."""
    return command_pdvs(context_id, encode_message(message), max_pdu_length)


def dataset_pdvs(context_id: int, data: bytes | bytearray | memoryview, max_pdu_length: int) -> Iterator[PDV]:
    """An in-memory data set as PDVs: memoryview slices, the last one flagged.

    An empty data set still yields one (empty) last PDV.
    """
    return _slices(context_id, False, _byte_view(data), _fragment_size(max_pdu_length))


def stream_dataset_pdvs(context_id: int, read: Callable[[int], bytes], max_pdu_length: int) -> Iterator[PDV]:
    """A data set read from a file-like ``read(n)`` as PDVs.

    Reads one chunk ahead so that the last PDV is flagged even when the size
    is an exact multiple of the fragment size.  A short (non-empty) read just
    makes a smaller PDV; only an empty read means end of data.
    """
    return _stream(context_id, read, _fragment_size(max_pdu_length))


def _stream(context_id: int, read: Callable[[int], bytes], size: int) -> Iterator[PDV]:
    current = _read_chunk(read, size)
    if not current:
        yield PDV(context_id, False, True, b"")
        return
    while True:
        following = _read_chunk(read, size)
        yield PDV(context_id, False, not following, current)
        if not following:
            return
        current = following


def _read_chunk(read: Callable[[int], bytes], size: int) -> bytes:
    chunk = read(size)
    if len(chunk) > size:
        raise LocalProtocolError(f"read({size}) returned {len(chunk)} bytes")
    return chunk


# -- receiving ---------------------------------------------------------------------------
class DatasetSink(Protocol):
    """Where the fragments of one received data set are written, in order.

    ``write`` must consume or copy ``data`` before returning: the buffer may be
    reused afterwards.  Its return value is ignored (so a binary file object
    is a sink).  The caller owns opening, closing, renaming and cleanup.
    """

    def write(self, data: bytes | memoryview, /) -> object: ...


# A sink may also have ``data_ended()``, called once its last fragment was written: it may
# raise RemoteProtocolError when what arrived is not a whole data set (the peer's fault).
_DATA_ENDED: Final = "data_ended"


# Called when a command set announcing a data set is complete; returns the
# sink for that data set, or None to collect it in memory.
SinkFactory = Callable[[int, Message], DatasetSink | None]


@record(frozen=True, slots=True)
class MessageReceived:
    """A complete message: its command, and its data set if one was announced.

    ``dataset`` holds the data set when it was collected in memory; ``sink``
    is the sink it was written to otherwise.  Both are None when the message
    has no data set.
    """

    context_id: int
    message: Message
    dataset: bytes | None = None
    sink: DatasetSink | None = None


# Everything the assembler reports (one kind so far).
Event: TypeAlias = MessageReceived


class MessageAssembler:
    """Reassembles DIMSE messages from PDVs (sans-IO).

    ``feed`` returns ``[MessageReceived]`` when a PDV completes a message and
    ``[]`` otherwise; protocol violations raise ``RemoteProtocolError``, among
    them a message on a presentation context that is not in
    ``accepted_contexts`` (once the association set them).
    Exceptions raised by a sink (``write`` or ``data_ended``) propagate and leave
    the state as it was before that fragment, so a caller may swap to a
    discarding sink and go on, or abandon the message.
    """

    __slots__ = (
        "_accepted",
        "_command_length",
        "_command_parts",
        "_context_id",
        "_dataset_length",
        "_dataset_parts",
        "_max_command",
        "_max_dataset",
        "_message",
        "_sink",
        "_sink_factory",
    )

    def __init__(
        self,
        sink_factory: SinkFactory | None = None,
        *,
        max_memory_dataset: int | None = DEFAULT_MAX_MEMORY_DATASET,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
    ) -> None:
        self._sink_factory = sink_factory
        self._max_dataset = max_memory_dataset
        self._max_command = max_command_length
        self._context_id: int | None = None  # of the message in progress
        self._command_parts: list[bytes] = []
        self._command_length = 0
        self._message: Message | None = None  # set while its data set is due
        self._sink: DatasetSink | None = None
        self._dataset_parts: list[bytes] = []
        self._dataset_length = 0
        self._accepted: Collection[int] | None = None  # None: not negotiated yet, no check

    @property
    def accepted_contexts(self) -> Collection[int] | None:
        return self._accepted

    @accepted_contexts.setter
    def accepted_contexts(self, context_ids: Collection[int] | None) -> None:
        """The presentation context IDs the peer may use (None: no check)."""
        self._accepted = None if context_ids is None else frozenset(context_ids)

    @property
    def sink_factory(self) -> SinkFactory | None:
        return self._sink_factory

    @sink_factory.setter
    def sink_factory(self, factory: SinkFactory | None) -> None:
        """Who receives the data sets of the following messages (None: memory)."""
        self._sink_factory = factory

    @property
    def idle(self) -> bool:
        """True between messages (nothing half received)."""
        return self._context_id is None

    @property
    def pending_message(self) -> Message | None:
        """The message whose data set is being received, if any."""
        return self._message

    def abandon(self) -> DatasetSink | None:
        """Forget the half-received message and hand back its sink, if any,
        so that the owner can discard what was written."""
        sink = self._sink
        self.reset()
        return sink

    def reset(self) -> None:
        """Forget any half-received message (the sink, if any, is the caller's)."""
        self._context_id = None
        self._command_parts = []
        self._command_length = 0
        self._message = None
        self._sink = None
        self._dataset_parts = []
        self._dataset_length = 0

    def feed(self, pdv: PDV) -> list[MessageReceived]:
        """Take one PDV; return the message it completes, if any (at most one)."""
        event = self._feed_command(pdv) if pdv.is_command else self._feed_dataset(pdv)
        return [] if event is None else [event]

    # -- command set --
    def _feed_command(self, pdv: PDV) -> MessageReceived | None:
        if self._message is not None:
            label = self._message.command_field.label
            raise RemoteProtocolError(f"command fragment while the data set of {label} is due")
        if self._context_id is None:
            accepted = self._accepted
            if accepted is not None and pdv.context_id not in accepted:
                raise RemoteProtocolError(
                    f"command fragment on presentation context {pdv.context_id}, which was not accepted"
                )
            if pdv.is_last:  # the whole command set in one PDV: the fast path
                self._check_command_length(len(pdv.data))
                return self._command_complete(pdv.context_id, pdv.data)
            self._context_id = pdv.context_id
        elif pdv.context_id != self._context_id:
            raise self._context_error(pdv)
        self._check_command_length(self._command_length + len(pdv.data))
        self._command_length += len(pdv.data)
        self._command_parts.append(bytes(pdv.data))
        if not pdv.is_last:
            return None
        command = b"".join(self._command_parts)
        self._command_parts = []
        self._command_length = 0
        self._context_id = None
        return self._command_complete(pdv.context_id, command)

    def _check_command_length(self, length: int) -> None:
        if length > self._max_command:
            self.reset()
            raise RemoteProtocolError(f"command set longer than {self._max_command} bytes ({length} so far)")

    def _command_complete(self, context_id: int, command: bytes | memoryview) -> MessageReceived | None:
        message = decode_message(command)
        if not message.has_dataset:
            return MessageReceived(context_id, message)
        factory = self._sink_factory
        self._sink = factory(context_id, message) if factory is not None else None
        self._context_id = context_id
        self._message = message
        return None

    # -- data set --
    def _feed_dataset(self, pdv: PDV) -> MessageReceived | None:
        message = self._message
        if message is None:
            what = "no command" if self._context_id is None else "an incomplete command set"
            raise RemoteProtocolError(f"data set fragment received with {what} pending")
        if pdv.context_id != self._context_id:
            raise self._context_error(pdv)
        sink = self._sink
        if sink is not None:
            sink.write(pdv.data)
        else:
            self._collect(pdv.data)
        if not pdv.is_last:
            return None
        ended = getattr(sink, _DATA_ENDED, None)
        if ended is not None:
            ended()
        return self._dataset_complete(pdv.context_id, message, sink)

    def _collect(self, data: bytes | memoryview) -> None:
        length = self._dataset_length + len(data)
        if self._max_dataset is not None and length > self._max_dataset:
            self.reset()
            raise RemoteProtocolError(
                f"data set larger than the in-memory limit of {self._max_dataset} bytes"
            )
        self._dataset_length = length
        self._dataset_parts.append(bytes(data))  # no copy when already bytes

    def _dataset_complete(
        self, context_id: int, message: Message, sink: DatasetSink | None
    ) -> MessageReceived:
        parts = self._dataset_parts
        dataset = None
        if sink is None:
            dataset = parts[0] if len(parts) == 1 else b"".join(parts)
        self.reset()
        return MessageReceived(context_id, message, dataset, sink)

    def _context_error(self, pdv: PDV) -> RemoteProtocolError:
        expected = self._context_id
        self.reset()
        return RemoteProtocolError(
            f"fragment for presentation context {pdv.context_id} while a message"
            f" on context {expected} is in progress"
        )
