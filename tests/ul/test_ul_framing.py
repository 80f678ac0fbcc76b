"""PduReader: incremental framing of the byte stream into PDUs."""

from __future__ import annotations

import pytest
from test_ul_golden import ASSOCIATE_AC, ASSOCIATE_RQ, P_DATA_TF, RELEASE_RP, RELEASE_RQ

from dicomwire.errors import RemoteProtocolError
from dicomwire.ul.framing import MAX_ASSOCIATION_PDU, MAX_UNLIMITED_PDATA, PduReader
from dicomwire.ul.pdu import AAbort, AReleaseRQ, PDataTF, decode_pdu, pdu_header
from dicomwire.ul.pdv import PDV

h = bytes.fromhex
ABORT = AAbort(0, 0).encode()
STREAM_PDUS = [ASSOCIATE_RQ, ASSOCIATE_AC, P_DATA_TF, RELEASE_RQ, RELEASE_RP, ABORT]
STREAM = b"".join(STREAM_PDUS)
EXPECTED = [decode_pdu(p[0], p[6:]) for p in STREAM_PDUS]


def pdata_of_length(pdu_length: int) -> bytes:
    """A valid P-DATA-TF whose PDU-length field is ``pdu_length`` (one PDV)."""
    return PDataTF((PDV(1, False, True, b"\x00" * (pdu_length - 6)),)).encode()


def test_one_pdu_exactly_filling_the_buffer() -> None:
    reader = PduReader()
    assert reader.feed(RELEASE_RQ) == [AReleaseRQ()]
    assert reader.pending == 0


def test_several_pdus_in_one_feed() -> None:
    reader = PduReader()
    assert reader.feed(STREAM) == EXPECTED
    assert reader.pending == 0


def test_pdus_followed_by_a_partial_one() -> None:
    reader = PduReader()
    assert reader.feed(STREAM + ASSOCIATE_RQ[:10]) == EXPECTED
    assert reader.pending == 10
    assert reader.feed(ASSOCIATE_RQ[10:]) == [EXPECTED[0]]
    assert reader.pending == 0


@pytest.mark.parametrize("split", range(1, len(STREAM)))
def test_stream_split_at_every_byte_boundary(split: int) -> None:
    reader = PduReader()
    first = reader.feed(STREAM[:split])
    assert reader.pending == split - sum(len(p) for p in STREAM_PDUS[: len(first)])
    assert first + reader.feed(STREAM[split:]) == EXPECTED
    assert reader.pending == 0


def test_stream_fed_one_byte_at_a_time() -> None:
    reader = PduReader()
    pdus = []
    for index in range(len(STREAM)):
        pdus += reader.feed(STREAM[index : index + 1])
    assert pdus == EXPECTED


def test_feed_accepts_bytearray_and_memoryview() -> None:
    reader = PduReader()
    assert reader.feed(bytearray(RELEASE_RQ[:4])) == []
    assert reader.feed(memoryview(RELEASE_RQ)[4:]) == [AReleaseRQ()]


def test_pdv_data_does_not_change_when_the_buffer_is_reused() -> None:
    reader = PduReader()
    [first] = reader.feed(P_DATA_TF)
    reader.feed(pdata_of_length(40) + P_DATA_TF[:20])
    assert isinstance(first, PDataTF)
    assert bytes(first.pdvs[0].data) == h("01020304")


def test_push_then_next_pdu_one_at_a_time() -> None:
    reader = PduReader()
    reader.push(RELEASE_RQ + ABORT + RELEASE_RP[:3])
    assert reader.next_pdu() == AReleaseRQ()
    assert reader.next_pdu() == AAbort(0, 0)
    assert reader.next_pdu() is None
    assert reader.pending == 3


# -- maximum length ---------------------------------------------------------------------


@pytest.mark.parametrize("maximum", [16384, 1000, 7])
def test_p_data_at_the_limit_accepted_one_more_refused(maximum: int) -> None:
    # Our limit is the Maximum Length Received plus the 6 bytes of a PDV item
    # header that some peers forget to count.
    limit = maximum + 6
    assert PduReader(maximum).feed(pdata_of_length(limit)) == [decode_pdu(4, pdata_of_length(limit)[6:])]
    with pytest.raises(RemoteProtocolError, match="announces"):
        PduReader(maximum).feed(pdu_header(4, limit + 1))


def test_max_length_zero_means_no_negotiated_limit_but_a_sanity_bound() -> None:
    reader = PduReader(0)
    assert reader.feed(pdu_header(4, MAX_UNLIMITED_PDATA)) == []  # waits for the body
    with pytest.raises(RemoteProtocolError):
        PduReader(0).feed(pdu_header(4, MAX_UNLIMITED_PDATA + 1))


def test_set_max_pdu_length_changes_the_limit() -> None:
    reader = PduReader(100)
    reader.set_max_pdu_length(200)
    assert len(reader.feed(pdata_of_length(206))) == 1
    reader.set_max_pdu_length(100)
    with pytest.raises(RemoteProtocolError):
        reader.feed(pdata_of_length(107))


def test_association_pdus_are_not_bound_by_the_p_data_limit() -> None:
    reader = PduReader(16)
    assert reader.feed(ASSOCIATE_RQ) == [EXPECTED[0]]
    assert reader.feed(pdu_header(1, MAX_ASSOCIATION_PDU)) == []
    with pytest.raises(RemoteProtocolError):
        PduReader(16).feed(pdu_header(2, MAX_ASSOCIATION_PDU + 1))


@pytest.mark.parametrize("pdu_type", [1, 2, 3, 4, 5, 6, 7])
def test_two_gib_header_raises_at_once(pdu_type: int) -> None:
    reader = PduReader(16384)
    with pytest.raises(RemoteProtocolError):
        reader.feed(pdu_header(pdu_type, 0x80000000))
    assert reader.pending == 0  # nothing kept
    assert reader.failed


def test_two_gib_header_split_raises_as_soon_as_complete() -> None:
    reader = PduReader(0)
    assert reader.feed(h("04 00 FF")) == []
    with pytest.raises(RemoteProtocolError):
        reader.feed(h("FF FF FF"))


def test_after_a_bad_header_all_input_is_refused() -> None:
    reader = PduReader()
    with pytest.raises(RemoteProtocolError):
        reader.feed(h("FF 00 00000004 00000000"))
    with pytest.raises(RemoteProtocolError):
        reader.feed(RELEASE_RQ)
    assert reader.pending == 0


def test_a_bad_body_is_consumed_and_the_next_pdu_still_read() -> None:
    bad = h("04 00 00000006 00000009 01 00")  # PDV item claims 9 bytes, 2 remain
    reader = PduReader()
    reader.push(RELEASE_RP + bad + RELEASE_RQ)
    assert reader.next_pdu() == decode_pdu(6, RELEASE_RP[6:])
    with pytest.raises(RemoteProtocolError):
        reader.next_pdu()
    assert not reader.failed
    assert reader.next_pdu() == AReleaseRQ()
    assert reader.next_pdu() is None


def test_feed_raises_at_the_first_invalid_pdu() -> None:
    with pytest.raises(RemoteProtocolError):
        PduReader().feed(RELEASE_RQ + h("05 00 00000005 0000000000"))


@pytest.mark.parametrize("pdu_type", [3, 5, 6, 7])
@pytest.mark.parametrize("length", [0, 3, 5, 1000])
def test_fixed_length_pdus_with_another_length_raise_on_the_header(pdu_type: int, length: int) -> None:
    """A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT have length 4: no need to wait for the body."""
    with pytest.raises(RemoteProtocolError, match="expected 4"):
        PduReader().feed(pdu_header(pdu_type, length))
