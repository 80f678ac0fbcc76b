"""Hostile input: every lying length, truncation and bad value is a
RemoteProtocolError from the decoders and the reader, and never an exception
out of UpperLayer.receive (which answers with A-ABORT instead)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ul_golden import (
    APP_CONTEXT_ITEM,
    ASSOCIATE_AC,
    ASSOCIATE_RQ,
    CALLED,
    CALLING,
    CT,
    IMPLICIT_LE,
    P_DATA_TF,
    PC1_RQ_ITEM,
    RELEASE_RQ,
    USER_INFO_RQ_ITEM,
    VERIFICATION,
)
from ul_helpers import MAKERS, make, sent_pdus, state_of, summary

from dicomwire.errors import RemoteProtocolError
from dicomwire.ul.framing import PduReader
from dicomwire.ul.machine import AbortIndication, UpperLayer
from dicomwire.ul.pdu import AAbort, AAssociateRJ, AAssociateRQ, AReleaseRP, decode_pdu, pdu_header
from dicomwire.ul.states import State

h = bytes.fromhex
FIXED = h("0001 0000") + CALLED + CALLING + bytes(32)  # fixed fields of an A-ASSOCIATE


def associate_body(*items: bytes) -> bytes:
    return FIXED + b"".join(items)


def user_info(*subitems: bytes) -> bytes:
    body = b"".join(subitems)
    return h("50 00") + len(body).to_bytes(2, "big") + body


MAX_LENGTH = h("51 00 0004 00004000")
ASSOCIATE_RQ_PDU = decode_pdu(1, ASSOCIATE_RQ[6:])

# (PDU type, PDU body): every one is invalid.
BAD_BODIES = {
    # -- A-ASSOCIATE-RQ/AC -----------------------------------------------------------
    "associate shorter than its fixed fields": (1, FIXED[:67]),
    "item header truncated": (1, associate_body(APP_CONTEXT_ITEM, USER_INFO_RQ_ITEM, h("10 00 00"))),
    "item longer than the PDU": (1, associate_body(APP_CONTEXT_ITEM, h("50 00 0100") + MAX_LENGTH)),
    "no application context": (1, associate_body(PC1_RQ_ITEM, USER_INFO_RQ_ITEM)),
    "no user information": (1, associate_body(APP_CONTEXT_ITEM, PC1_RQ_ITEM)),
    "AC context item in an RQ": (1, associate_body(APP_CONTEXT_ITEM, h("21 00 0008 01000000 40000000"))),
    "RQ context item in an AC": (2, associate_body(APP_CONTEXT_ITEM, PC1_RQ_ITEM, user_info(MAX_LENGTH))),
    "called AE not ASCII": (1, h("0001 0000") + b"\xff" * 16 + CALLING + bytes(32) + APP_CONTEXT_ITEM),
    "application context not ASCII": (1, associate_body(h("10 00 0002 C3A9"), user_info(MAX_LENGTH))),
    # -- presentation context items ---------------------------------------------------------
    "context shorter than 4 bytes": (1, associate_body(APP_CONTEXT_ITEM, h("20 00 0002 0100"))),
    "sub-item longer than its context": (
        1,
        associate_body(APP_CONTEXT_ITEM, h("20 00 0008 01000000 30 00 0040"), user_info(MAX_LENGTH)),
    ),
    "sub-item truncated inside its context": (
        1,
        associate_body(APP_CONTEXT_ITEM, h("20 00 0006 01000000 3000"), user_info(MAX_LENGTH)),
    ),
    "no abstract syntax": (
        1,
        associate_body(APP_CONTEXT_ITEM, h("20 00 0015 01000000 40 00 0011") + IMPLICIT_LE),
    ),
    "two abstract syntaxes": (
        1,
        associate_body(
            APP_CONTEXT_ITEM,
            h("20 00 002E 01000000 30 00 0011") + VERIFICATION + h("30 00 0011") + VERIFICATION,
            user_info(MAX_LENGTH),
        ),
    ),
    "abstract syntax not ASCII": (
        1,
        associate_body(APP_CONTEXT_ITEM, h("20 00 0008 01000000 30 00 0004 312E32FF"), user_info(MAX_LENGTH)),
    ),
    "transfer syntax not ASCII": (
        2,
        associate_body(APP_CONTEXT_ITEM, h("21 00 0008 01000000 40 00 0001 80"), user_info(MAX_LENGTH)),
    ),
    "AC context shorter than 4 bytes": (2, associate_body(APP_CONTEXT_ITEM, h("21 00 0003 010000"))),
    # -- user information sub-items -------------------------------------------------------
    "sub-item longer than user information": (
        1,
        associate_body(APP_CONTEXT_ITEM, h("50 00 0008 51 00 0008 00004000")),
    ),
    "maximum length of 3 bytes": (1, associate_body(APP_CONTEXT_ITEM, user_info(h("51 00 0003 004000")))),
    "maximum length of 5 bytes": (1, associate_body(APP_CONTEXT_ITEM, user_info(h("51 00 0005 0000400000")))),
    "implementation UID not ASCII": (1, associate_body(APP_CONTEXT_ITEM, user_info(h("52 00 0002 31FE")))),
    "async window of 2 bytes": (1, associate_body(APP_CONTEXT_ITEM, user_info(h("53 00 0002 0001")))),
    "role UID longer than the item": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("54 00 0006 0019 312E 0101"))),
    ),
    "role without its role bytes": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("54 00 001C 0019") + CT + h("01"))),
    ),
    "role with an extra byte": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("54 00 001E 0019") + CT + h("010100"))),
    ),
    "role UID length truncated": (1, associate_body(APP_CONTEXT_ITEM, user_info(h("54 00 0001 00")))),
    "extended negotiation UID longer than the item": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("56 00 0004 0009 3132"))),
    ),
    "common extended negotiation truncated": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("57 00 0004 0001 31 00"))),
    ),
    "related general SOP classes longer than the item": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("57 00 000A 0001 31 0001 32 0010 0001"))),
    ),
    "related general SOP class UID longer than its block": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("57 00 000B 0001 31 0001 32 0003 0005 33"))),
    ),
    "user identity shorter than 2 bytes": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("58 00 0001 01"))),
    ),
    "user identity primary field longer than the item": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("58 00 0006 0200 0009 6162"))),
    ),
    "user identity secondary field truncated": (
        1,
        associate_body(APP_CONTEXT_ITEM, user_info(h("58 00 0008 0201 0001 61 0005 62"))),
    ),
    "user identity AC response truncated": (
        2,
        associate_body(APP_CONTEXT_ITEM, user_info(h("59 00 0003 0004 61"))),
    ),
    # -- P-DATA-TF ------------------------------------------------------------------
    "P-DATA-TF without a PDV": (4, b""),
    "PDV header truncated": (4, h("00000003 01")),
    "PDV length beyond the PDU": (4, h("00000010 01 03 AABB")),
    "PDV length below 2": (4, h("00000001 01 03")),
    "second PDV beyond the PDU": (4, h("00000003 01 03 AA 00000004 01 02 BB")),
    # -- fixed-length PDUs --------------------------------------------------------------
    "A-ASSOCIATE-RJ of 3 bytes": (3, h("000101")),
    "A-ASSOCIATE-RJ of 5 bytes": (3, h("0001010100")),
    "A-RELEASE-RQ of 0 bytes": (5, b""),
    "A-RELEASE-RQ of 5 bytes": (5, bytes(5)),
    "A-RELEASE-RP of 3 bytes": (6, bytes(3)),
    "A-ABORT of 2 bytes": (7, bytes(2)),
    "A-ABORT of 6 bytes": (7, bytes(6)),
    # -- unknown types ---------------------------------------------------------------------
    "PDU type 0x00": (0x00, bytes(4)),
    "PDU type 0x08": (0x08, bytes(4)),
    "PDU type 0xFF": (0xFF, bytes(4)),
}


@pytest.mark.parametrize(("pdu_type", "body"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_decode_raises_remote_protocol_error(pdu_type: int, body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_pdu(pdu_type, body)


@pytest.mark.parametrize(("pdu_type", "body"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_reader_raises_remote_protocol_error(pdu_type: int, body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        PduReader(16384).feed(pdu_header(pdu_type, len(body)) + body)


@pytest.mark.parametrize(("pdu_type", "body"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_upper_layer_aborts_on_invalid_pdu(pdu_type: int, body: bytes) -> None:
    """Evt19 in Sta6 is AA-8: A-ABORT (provider source), A-P-ABORT indication, ARTIM."""
    for requestor in (True, False):
        ul = make(State.STA6, requestor)
        effects = ul.receive(pdu_header(pdu_type, len(body)) + body)
        assert summary(effects) == ["send A_ABORT", "abort-indication", "start-artim"]
        assert sent_pdus(effects) == [AAbort(2, 6)]
        indication = effects[1]
        assert isinstance(indication, AbortIndication)
        assert indication.provider and indication.detail
        assert ul.state is State.STA13


def test_p_data_larger_than_our_maximum_aborts() -> None:
    ul = UpperLayer(requestor=True, max_pdu_length=1000)
    assert isinstance(ASSOCIATE_RQ_PDU, AAssociateRQ)
    ul.associate(ASSOCIATE_RQ_PDU)
    ul.connection_made()
    ul.receive(ASSOCIATE_AC)
    assert ul.state is State.STA6
    effects = ul.receive(pdu_header(4, 1007))  # only the header has arrived
    assert summary(effects) == ["send A_ABORT", "abort-indication", "start-artim"]


def test_two_gib_header_aborts_at_once_without_waiting() -> None:
    for pdu_type in range(1, 8):
        ul = make(State.STA6, True)
        effects = ul.receive(pdu_header(pdu_type, 0x7FFFFFFF))
        assert "send A_ABORT" in summary(effects)
        assert ul.state is State.STA13
        assert ul.buffered == 0


def test_valid_pdus_before_an_invalid_one_are_processed_first() -> None:
    ul = make(State.STA6, False)
    effects = ul.receive(P_DATA_TF + h("FF 00 00000000"))
    assert summary(effects) == ["data-indication", "send A_ABORT", "abort-indication", "start-artim"]


def test_input_after_a_broken_header_is_ignored() -> None:
    ul = make(State.STA6, False)
    ul.receive(h("FF 00 00000000"))
    assert ul.state is State.STA13
    # The stream cannot be framed any more: no second A-ABORT for the rest.
    assert ul.receive(RELEASE_RQ + h("0102030405060708")) == []
    assert ul.state is State.STA13


def test_input_after_a_bad_body_is_still_read() -> None:
    ul = make(State.STA6, False)
    ul.receive(pdu_header(5, 4) + bytes(4) + pdu_header(4, 0))  # release RQ, then empty P-DATA
    assert ul.state is State.STA13
    # The framing survived: the peer's A-ABORT is recognised (AA-2).
    assert summary(ul.receive(AAbort(0, 0).encode())) == ["stop-artim", "close"]
    assert state_of(ul) is State.STA1


# -- property tests: random and mutated input ------------------------------------------------

VALID_PDUS = [
    ASSOCIATE_RQ,
    ASSOCIATE_AC,
    AAssociateRJ(1, 1, 3).encode(),
    P_DATA_TF,
    RELEASE_RQ,
    AReleaseRP().encode(),
    AAbort(2, 1).encode(),
]


@st.composite
def mutated_pdus(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_PDUS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "truncate", "insert", "delete", "length"]))
        index = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "set" and data:
            data[index] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[index:]
        elif kind == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[index : index + draw(st.integers(1, 8))]
        elif kind == "length" and len(data) >= 6:
            # Rewrite a 2- or 4-byte field somewhere with a small or huge value.
            size = draw(st.sampled_from([2, 4]))
            value = draw(st.one_of(st.integers(0, 300), st.integers(0, 2 ** (8 * size) - 1)))
            index = min(index, len(data) - size)
            data[index : index + size] = value.to_bytes(size, "big")
    return bytes(data)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


input_bytes = st.one_of(
    st.binary(max_size=600),
    mutated_pdus(),
    st.lists(mutated_pdus(), min_size=2, max_size=3).map(b"".join),
    st.tuples(st.sampled_from(VALID_PDUS), mutated_pdus()).map(b"".join),
)
cuts = st.lists(st.integers(0, 2000), max_size=3)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=input_bytes, cuts=cuts)
def test_reader_raises_only_remote_protocol_error(data: bytes, cuts: list[int]) -> None:
    reader = PduReader(16384)
    try:
        for chunk in chunked(data, cuts):
            reader.feed(chunk)
    except RemoteProtocolError:
        pass


RECEIVING_STATES = sorted(
    (key for key in MAKERS if key[0] is not State.STA4), key=lambda k: (int(k[0].name[3:]), k[1])
)


@SETTINGS
@given(key=st.sampled_from(RECEIVING_STATES), data=input_bytes, cuts=cuts)
def test_upper_layer_receive_never_raises(key: tuple[State, bool], data: bytes, cuts: list[int]) -> None:
    ul = make(*key)
    for chunk in chunked(data, cuts):
        effects = ul.receive(chunk)
        sent_pdus(effects)  # what we send is always well formed
        if any(isinstance(e, AbortIndication) and e.detail and e.provider for e in effects):
            assert ul.state in (State.STA13, State.STA1)
    assert isinstance(ul.state, State)


@given(data=st.binary(min_size=1, max_size=64))
@settings(max_examples=100, deadline=None)
def test_receive_in_sta1_ignores_everything(data: bytes) -> None:
    for requestor in (True, False):
        ul = UpperLayer(requestor=requestor)
        assert ul.receive(data) == []
        assert ul.state is State.STA1
