"""Fragmentation into PDVs and sans-IO reassembly."""

from __future__ import annotations

import io
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomwire.dimse.fragments import (
    DatasetSink,
    MessageAssembler,
    MessageReceived,
    command_pdvs,
    dataset_pdvs,
    message_pdvs,
    stream_dataset_pdvs,
)
from dicomwire.dimse.messages import (
    CEchoRQ,
    CEchoRSP,
    CFindRSP,
    CStoreRQ,
    Message,
    encode_message,
)
from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.ul.pdv import PDV, max_pdv_data_length

CT = "1.2.840.10008.5.1.4.1.1.2"
STORE = CStoreRQ(message_id=3, affected_sop_class_uid=CT, affected_sop_instance_uid="1.2.3.4")
ECHO = CEchoRQ(message_id=1)
# A max PDU length that leaves room for 10 data bytes per PDV.
MAX_PDU_10 = next(n for n in range(7, 100) if max_pdv_data_length(n) == 10)


def _join(pdvs: Iterable[PDV]) -> bytes:
    return b"".join(bytes(p.data) for p in pdvs)


def _check_flags(pdvs: list[PDV], is_command: bool) -> None:
    assert all(p.is_command is is_command for p in pdvs)
    assert [p.is_last for p in pdvs] == [False] * (len(pdvs) - 1) + [True]


# -- sending ------------------------------------------------------------------------------
@pytest.mark.parametrize("room", [1, 4, 17, 34, 67, 68, 69, 1000])  # the command is 68 bytes
def test_command_pdvs(room: int) -> None:
    max_pdu = next(n for n in range(2000) if max_pdv_data_length(n) >= room)
    size = max_pdv_data_length(max_pdu)
    command = encode_message(ECHO)
    pdvs = command_pdvs(5, command, max_pdu)
    _check_flags(pdvs, is_command=True)
    assert _join(pdvs) == command
    assert all(p.context_id == 5 for p in pdvs)
    assert all(len(p.data) == size for p in pdvs[:-1])
    assert len(pdvs) == -(-len(command) // size)


def test_command_pdvs_unlimited() -> None:
    assert command_pdvs(5, b"x" * 100, 0) == [PDV(5, True, True, b"x" * 100)]


def test_command_fits_one_pdv_without_copy() -> None:
    command = encode_message(ECHO)
    [pdv] = command_pdvs(1, command, 16384)
    assert pdv.data is command


def test_message_pdvs() -> None:
    assert _join(message_pdvs(1, STORE, 0)) == encode_message(STORE)


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 30, 31, 1000])
@pytest.mark.parametrize("max_pdu", [MAX_PDU_10, 0])  # 10 data bytes per PDV; unlimited
def test_dataset_pdvs(size: int, max_pdu: int) -> None:
    data = bytes(range(256)) * 4
    data = data[:size]
    pdvs = list(dataset_pdvs(9, data, max_pdu))
    _check_flags(pdvs, is_command=False)
    assert _join(pdvs) == data
    if max_pdu:
        assert all(len(p.data) == 10 for p in pdvs[:-1])
        assert len(pdvs) == max(1, -(-size // 10))
    assert all(isinstance(p.data, memoryview) for p in pdvs)


def test_dataset_pdvs_slices_share_the_buffer() -> None:
    data = bytearray(b"x" * 25)
    pdvs = list(dataset_pdvs(1, data, MAX_PDU_10))
    data[0] = ord("y")
    assert bytes(pdvs[0].data)[0] == ord("y")  # a view, not a copy


def test_dataset_pdvs_non_byte_memoryview() -> None:
    view = memoryview(bytearray(12)).cast("I")  # 3 items of 4 bytes
    assert _join(dataset_pdvs(1, view, MAX_PDU_10)) == bytes(12)


def test_no_room_is_local_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dicomwire.dimse.fragments.max_pdv_data_length", lambda n: 0)
    with pytest.raises(LocalProtocolError, match="no room"):
        command_pdvs(1, b"abcd", 6)
    with pytest.raises(LocalProtocolError, match="no room"):
        dataset_pdvs(1, b"abcd", 3)
    with pytest.raises(LocalProtocolError, match="no room"):
        stream_dataset_pdvs(1, io.BytesIO(b"").read, 6)


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 20, 21, 100, 1000])
def test_stream_dataset_pdvs(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    pdvs = list(stream_dataset_pdvs(3, io.BytesIO(data).read, MAX_PDU_10))
    _check_flags(pdvs, is_command=False)
    assert _join(pdvs) == data
    assert len(pdvs) == max(1, -(-size // 10))
    assert all(p.context_id == 3 for p in pdvs)


def test_stream_short_reads() -> None:
    chunks = [b"abc", b"defghij", b"k", b""]
    pdvs = list(stream_dataset_pdvs(1, lambda n: chunks.pop(0), MAX_PDU_10))
    assert [bytes(p.data) for p in pdvs] == [b"abc", b"defghij", b"k"]
    assert [p.is_last for p in pdvs] == [False, False, True]


def test_stream_overlong_read_is_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="returned 11 bytes"):
        list(stream_dataset_pdvs(1, lambda n: b"x" * (n + 1), MAX_PDU_10))


def test_stream_is_lazy() -> None:
    reads: list[int] = []

    def read(n: int) -> bytes:
        reads.append(n)
        return b"x" * n

    stream = stream_dataset_pdvs(1, read, MAX_PDU_10)
    assert reads == []
    next(stream)
    assert reads == [10, 10]  # the chunk and its look-ahead


# -- receiving ---------------------------------------------------------------------------
def _feed_all(assembler: MessageAssembler, pdvs: Iterable[PDV]) -> list[MessageReceived]:
    events = []
    for pdv in pdvs:
        events += assembler.feed(pdv)
    return events


def _message_pdvs(ctx: int, message: Message, data: bytes | None, max_pdu: int) -> list[PDV]:
    pdvs = message_pdvs(ctx, message, max_pdu)
    if data is not None:
        pdvs += dataset_pdvs(ctx, data, max_pdu)
    return pdvs


def test_single_pdv_command() -> None:
    assembler = MessageAssembler()
    events = assembler.feed(PDV(1, True, True, encode_message(ECHO)))
    assert events == [MessageReceived(1, ECHO, None, None)]
    assert assembler.idle


@pytest.mark.parametrize("max_pdu", [0, 16, 40, 100, 16384])
def test_store_in_memory(max_pdu: int) -> None:
    data = bytes(range(256)) * 3
    assembler = MessageAssembler()
    events = _feed_all(assembler, _message_pdvs(7, STORE, data, max_pdu))
    assert events == [MessageReceived(7, STORE, data, None)]
    assert type(events[0].dataset) is bytes
    assert assembler.idle


def test_several_messages_in_a_row() -> None:
    rsp = CFindRSP(message_id_being_responded_to=2, status=0xFF00, has_dataset=True)
    pdvs = (
        _message_pdvs(1, ECHO, None, 20)
        + _message_pdvs(3, rsp, b"ident", 20)
        + _message_pdvs(1, CEchoRSP(message_id_being_responded_to=1), None, 0)
        + _message_pdvs(5, STORE, b"", 20)
    )
    events = _feed_all(MessageAssembler(), pdvs)
    assert [(e.context_id, type(e.message), e.dataset) for e in events] == [
        (1, CEchoRQ, None),
        (3, CFindRSP, b"ident"),
        (1, CEchoRSP, None),
        (5, CStoreRQ, b""),
    ]


def test_memoryview_fragments_are_copied() -> None:
    """The caller may reuse its receive buffer once feed() returns."""
    buffer = bytearray(b"AAAAAAAAAA")
    assembler = MessageAssembler()
    assembler.feed(PDV(1, True, True, encode_message(STORE)))
    assembler.feed(PDV(1, False, False, memoryview(buffer)))
    buffer[:] = b"BBBBBBBBBB"
    [event] = assembler.feed(PDV(1, False, True, memoryview(buffer)))
    assert event.dataset == b"A" * 10 + b"B" * 10


def test_memoryview_command_fragments_are_copied() -> None:
    command = encode_message(ECHO)
    buffer = bytearray(command[:10])
    assembler = MessageAssembler()
    assembler.feed(PDV(1, True, False, memoryview(buffer)))
    buffer[:] = b"\xff" * 10
    [event] = assembler.feed(PDV(1, True, True, memoryview(command)[10:]))
    assert event.message == ECHO


class ListSink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes | memoryview, /) -> None:
        self.chunks.append(bytes(data))


def test_sink_receives_the_fragments() -> None:
    sinks: list[tuple[int, Message, ListSink]] = []

    def factory(ctx: int, message: Message) -> DatasetSink:
        sinks.append((ctx, message, ListSink()))
        return sinks[-1][2]

    data = bytes(range(100))
    assembler = MessageAssembler(factory, max_memory_dataset=10)  # limit: memory only
    events = _feed_all(assembler, _message_pdvs(3, STORE, data, MAX_PDU_10))
    [(ctx, message, sink)] = sinks
    assert (ctx, message) == (3, STORE)
    assert [len(c) for c in sink.chunks] == [10] * 10
    assert events == [MessageReceived(3, STORE, None, sink)]


def test_sink_is_created_when_the_command_completes() -> None:
    created: list[Message] = []
    assembler = MessageAssembler(lambda ctx, msg: created.append(msg))
    assert assembler.feed(PDV(1, True, True, encode_message(STORE))) == []
    assert created == [STORE]
    assert assembler.pending_message == STORE and not assembler.idle
    events = assembler.feed(PDV(1, False, True, b"data"))  # factory gave None: memory
    assert events == [MessageReceived(1, STORE, b"data", None)]


def test_no_factory_call_without_data_set() -> None:
    assembler = MessageAssembler(lambda ctx, msg: pytest.fail("no data set announced"))
    assert len(assembler.feed(PDV(1, True, True, encode_message(ECHO)))) == 1


def test_binary_file_is_a_sink() -> None:
    target = io.BytesIO()
    assembler = MessageAssembler(lambda ctx, msg: target)
    events = _feed_all(assembler, _message_pdvs(1, STORE, b"x" * 50, MAX_PDU_10))
    assert events[0].sink is target and target.getvalue() == b"x" * 50


def test_sink_error_propagates_and_state_is_kept() -> None:
    class Failing:
        fail = True

        def write(self, data: bytes | memoryview, /) -> None:
            if self.fail:
                raise OSError("disk full")

    sink = Failing()
    assembler = MessageAssembler(lambda ctx, msg: sink)
    assembler.feed(PDV(1, True, True, encode_message(STORE)))
    with pytest.raises(OSError):
        assembler.feed(PDV(1, False, False, b"abc"))
    sink.fail = False  # e.g. the caller switched to discarding
    assert assembler.feed(PDV(1, False, True, b"def")) == [MessageReceived(1, STORE, None, sink)]


def test_unlimited_memory() -> None:
    assembler = MessageAssembler(max_memory_dataset=None)
    events = _feed_all(assembler, _message_pdvs(1, STORE, b"z" * 5000, 100))
    assert events[0].dataset == b"z" * 5000


def test_reset() -> None:
    assembler = MessageAssembler()
    assembler.feed(PDV(1, True, True, encode_message(STORE)))
    assembler.reset()
    assert assembler.idle and assembler.pending_message is None
    assert len(assembler.feed(PDV(2, True, True, encode_message(ECHO)))) == 1


# -- protocol violations ----------------------------------------------------------------
def _violation(pdvs: list[PDV], match: str, **kwargs: int) -> MessageAssembler:
    assembler = MessageAssembler(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(RemoteProtocolError, match=match):
        _feed_all(assembler, pdvs)
    return assembler


def test_dataset_without_command() -> None:
    _violation([PDV(1, False, True, b"x")], "data set fragment received with no command pending")


def test_dataset_during_command() -> None:
    command = encode_message(STORE)
    pdvs = [PDV(1, True, False, command[:10]), PDV(1, False, True, b"x")]
    _violation(pdvs, "with an incomplete command set pending")


def test_dataset_after_message_without_dataset() -> None:
    pdvs = [PDV(1, True, True, encode_message(ECHO)), PDV(1, False, True, b"x")]
    _violation(pdvs, "no command pending")


def test_command_while_dataset_expected() -> None:
    pdvs = [PDV(1, True, True, encode_message(STORE)), PDV(1, True, True, encode_message(ECHO))]
    _violation(pdvs, "command fragment while the data set of C-STORE-RQ is due")


def test_other_context_during_command() -> None:
    command = encode_message(STORE)
    pdvs = [PDV(1, True, False, command[:10]), PDV(3, True, True, command[10:])]
    assembler = _violation(pdvs, "context 3 while a message on context 1")
    assert assembler.idle


def test_other_context_during_dataset() -> None:
    pdvs = [PDV(1, True, True, encode_message(STORE)), PDV(3, False, True, b"x")]
    _violation(pdvs, "context 3 while a message on context 1")


def test_command_too_long() -> None:
    pdvs = [PDV(1, True, False, bytes(40_000)), PDV(1, True, False, bytes(40_000))]
    assembler = _violation(pdvs, "command set longer than 65536")
    assert assembler.idle


def test_single_pdv_command_too_long() -> None:
    _violation([PDV(1, True, True, bytes(200))], "longer than 100", max_command_length=100)


def test_memory_dataset_too_large() -> None:
    pdvs = _message_pdvs(1, STORE, bytes(100), MAX_PDU_10)
    assembler = _violation(pdvs, "in-memory limit of 50", max_memory_dataset=50)
    assert assembler.idle


def test_malformed_command() -> None:
    _violation([PDV(1, True, True, b"\x08\x00\x16\x00\x00\x00\x00\x00")], "outside group 0000")


_pdv = st.builds(
    PDV,
    st.sampled_from([1, 3]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(
        [
            encode_message(ECHO),
            encode_message(STORE),
            encode_message(STORE)[:20],
            encode_message(STORE)[20:],
            b"",
            b"garbage!",
        ]
    )
    | st.binary(max_size=40),
)


@settings(max_examples=300)
@given(st.lists(_pdv, max_size=12))
def test_assembler_fuzz_only_remote_errors(pdvs: list[PDV]) -> None:
    assembler = MessageAssembler(max_memory_dataset=64, max_command_length=200)
    for pdv in pdvs:
        try:
            assembler.feed(pdv)
        except RemoteProtocolError:
            assembler.reset()


@settings(max_examples=100)
@given(st.binary(max_size=3000), st.integers(7, 300))
def test_fragment_reassemble_round_trip(data: bytes, max_pdu: int) -> None:
    events = _feed_all(MessageAssembler(), _message_pdvs(1, STORE, data, max_pdu))
    assert events == [MessageReceived(1, STORE, data, None)]


@pytest.mark.parametrize("is_last", [True, False])
def test_a_message_on_a_context_not_accepted_is_refused(is_last: bool) -> None:
    assembler = MessageAssembler()
    assembler.accepted_contexts = {1, 3}
    assert assembler.feed(PDV(3, True, True, encode_message(ECHO)))
    with pytest.raises(RemoteProtocolError, match="context 5, which was not accepted"):
        assembler.feed(PDV(5, True, is_last, encode_message(STORE)))
    assembler.accepted_contexts = None  # not negotiated: no check
    assert assembler.feed(PDV(5, True, True, encode_message(ECHO)))


def test_a_sink_hears_that_its_data_set_ended_and_may_refuse_it() -> None:
    class Checking:
        def __init__(self) -> None:
            self.data = bytearray()
            self.ended = 0

        def write(self, data: bytes | memoryview) -> None:
            self.data += data

        def data_ended(self) -> None:
            self.ended += 1
            if self.data.endswith(b"cut"):
                raise RemoteProtocolError("the data set ends inside an element")

    sink = Checking()
    assembler = MessageAssembler(lambda ctx, msg: sink)
    assert _feed_all(assembler, _message_pdvs(1, STORE, b"whole", 8)) == [
        MessageReceived(1, STORE, None, sink)
    ]
    assert sink.ended == 1
    assembler.feed(PDV(1, True, True, encode_message(STORE)))
    assembler.feed(PDV(1, False, False, b"is "))
    with pytest.raises(RemoteProtocolError, match="ends inside"):
        assembler.feed(PDV(1, False, True, b"cut"))
    assert assembler.abandon() is sink  # the owner discards what was written
