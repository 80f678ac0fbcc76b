"""A requestor and an acceptor UpperLayer wired together in memory: whole
association lifecycles, from the first Connect to both sides back in Sta1."""

from __future__ import annotations

from ul_helpers import ConnectionPair, Side, last_event, sample_ac, sample_rj, sample_rq, state_of

from dicomwire.ul.machine import (
    ARTIM_EXPIRED,
    AbortIndication,
    AssociateAccepted,
    AssociateIndication,
    AssociateRejected,
    DataIndication,
    Effect,
    ReleaseConfirmation,
    ReleaseIndication,
)
from dicomwire.ul.pdu import AAbort, AbortSource, PDUType, decode_pdu
from dicomwire.ul.pdv import PDV
from dicomwire.ul.states import State


def assert_finished(pair: ConnectionPair) -> None:
    for side in (pair.requestor, pair.acceptor):
        assert side.ul.state is State.STA1
        assert not side.transport_open
        assert not side.artim_running


def events_of(side: Side, kind: type) -> list[Effect]:
    return [e for e in side.events if isinstance(e, kind)]


def wire_types(pair: ConnectionPair) -> list[str]:
    return [PDUType(chunk[0]).name for chunk in pair.wire]


def test_full_association_data_both_ways_and_release() -> None:
    pair = ConnectionPair()
    indication = pair.associate()
    assert indication == AssociateIndication(sample_rq())
    assert pair.acceptor.ul.state is State.STA3
    assert not pair.acceptor.artim_running  # stopped by AE-6
    pair.do(pair.acceptor, "accept", sample_ac())
    assert pair.requestor.events == [AssociateAccepted(sample_ac())]

    command = PDV(1, True, True, b"\x00\x00\x00\x00")
    fragments = [PDV(3, False, False, b"first"), PDV(3, False, True, b"last")]
    pair.do(pair.requestor, "send_data", [command])
    pair.do(pair.requestor, "send_data", fragments)
    pair.do(pair.acceptor, "send_data", [PDV(1, True, True, b"response")])
    assert pair.acceptor.events[1:] == [DataIndication((command,)), DataIndication(tuple(fragments))]
    assert pair.requestor.events[1:] == [DataIndication((PDV(1, True, True, b"response"),))]

    pair.do(pair.requestor, "release")
    assert (pair.requestor.ul.state, pair.acceptor.ul.state) == (State.STA7, State.STA8)
    assert pair.acceptor.events[-1] == ReleaseIndication()
    # The acceptor may still send data before it answers (AR-7 / AR-6).
    pair.do(pair.acceptor, "send_data", [PDV(1, True, True, b"late")])
    assert pair.requestor.events[-1] == DataIndication((PDV(1, True, True, b"late"),))
    pair.do(pair.acceptor, "release_response")
    assert last_event(pair.requestor) == ReleaseConfirmation()
    assert_finished(pair)
    assert wire_types(pair) == [
        "A_ASSOCIATE_RQ",
        "A_ASSOCIATE_AC",
        "P_DATA_TF",
        "P_DATA_TF",
        "P_DATA_TF",
        "A_RELEASE_RQ",
        "P_DATA_TF",
        "A_RELEASE_RP",
    ]


def test_release_collision() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.holding = True  # both A-RELEASE-RQs cross on the wire
    pair.do(pair.requestor, "release")
    pair.do(pair.acceptor, "release")
    assert (pair.requestor.ul.state, pair.acceptor.ul.state) == (State.STA7, State.STA7)
    pair.flush()
    assert (pair.requestor.ul.state, pair.acceptor.ul.state) == (State.STA9, State.STA10)
    assert pair.requestor.events[-1] == ReleaseIndication()
    assert pair.acceptor.events[-1] == ReleaseIndication()

    # The requestor answers first (AR-9); the acceptor gets its confirmation (AR-10).
    pair.do(pair.requestor, "release_response")
    assert (pair.requestor.ul.state, pair.acceptor.ul.state) == (State.STA11, State.STA12)
    assert last_event(pair.acceptor) == ReleaseConfirmation()
    # Then the acceptor answers (AR-4); the requestor confirms and closes (AR-3).
    pair.do(pair.acceptor, "release_response")
    assert last_event(pair.requestor) == ReleaseConfirmation()
    assert_finished(pair)
    assert wire_types(pair)[-4:] == ["A_RELEASE_RQ", "A_RELEASE_RQ", "A_RELEASE_RP", "A_RELEASE_RP"]


def test_abort_from_the_requestor() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.requestor, "abort")
    assert events_of(pair.acceptor, AbortIndication) == [AbortIndication(0, 0)]
    assert not events_of(pair.requestor, AbortIndication)
    assert_finished(pair)
    assert decode_pdu(7, pair.wire[-1][6:]) == AAbort(0, 0)


def test_abort_from_the_acceptor() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.acceptor, "abort")
    assert events_of(pair.requestor, AbortIndication) == [AbortIndication(0, 0)]
    assert_finished(pair)


def test_abort_by_the_acceptor_before_answering() -> None:
    pair = ConnectionPair()
    pair.associate()
    pair.do(pair.acceptor, "abort")  # Sta3 + Evt15: AA-1
    assert events_of(pair.requestor, AbortIndication) == [AbortIndication(0, 0)]  # Sta5 + Evt16: AA-3
    assert_finished(pair)


def test_reject_by_the_acceptor() -> None:
    pair = ConnectionPair()
    pair.associate()
    pair.do(pair.acceptor, "reject", sample_rj())
    assert pair.requestor.events == [AssociateRejected(sample_rj())]
    assert_finished(pair)


def test_peer_closes_the_transport_mid_association() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.requestor, "send_data", [PDV(1, True, True, b"cmd")])
    pair.close(pair.requestor)  # the requestor's end vanishes: the acceptor sees Evt17
    [indication] = events_of(pair.acceptor, AbortIndication)
    assert isinstance(indication, AbortIndication) and indication.provider  # A-P-ABORT (AA-4)
    assert pair.acceptor.ul.state is State.STA1
    # The requestor's own machine learns of the broken connection the same way.
    pair.do(pair.requestor, "connection_lost")
    [indication] = events_of(pair.requestor, AbortIndication)
    assert isinstance(indication, AbortIndication) and indication.provider
    assert_finished(pair)


def test_connection_lost_while_awaiting_the_release_response() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.requestor, "release")
    pair.close(pair.acceptor)
    assert pair.requestor.ul.state is State.STA1
    assert isinstance(pair.requestor.events[-1], AbortIndication)


def test_artim_expires_in_sta2() -> None:
    pair = ConnectionPair()
    pair.holding = True  # the A-ASSOCIATE-RQ never arrives
    pair.do(pair.requestor, "associate", sample_rq())
    assert pair.acceptor.ul.state is State.STA2
    assert pair.acceptor.artim_running
    pair.do(pair.acceptor, "timer_expired")  # AA-2: the acceptor closes
    assert state_of(pair.acceptor.ul) is State.STA1
    [indication] = events_of(pair.requestor, AbortIndication)  # Sta5 + Evt17: AA-4
    assert isinstance(indication, AbortIndication) and indication.provider
    # The acceptor's user learns that it was a timeout, not the peer closing.
    [timeout] = events_of(pair.acceptor, AbortIndication)
    assert timeout == AbortIndication(AbortSource.SERVICE_PROVIDER, 0, ARTIM_EXPIRED)
    assert_finished(pair)


def test_artim_expires_in_sta13_after_abort() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.holding = True  # the peer never gets the A-ABORT, so it never closes
    pair.do(pair.requestor, "abort")
    assert pair.requestor.ul.state is State.STA13
    assert pair.requestor.artim_running
    pair.do(pair.requestor, "timer_expired")  # AA-2
    assert state_of(pair.requestor.ul) is State.STA1
    assert pair.acceptor.ul.state is State.STA1  # it saw the close: A-P-ABORT
    assert_finished(pair)


def test_artim_expires_in_sta13_after_release_response() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.requestor, "release")
    pair.holding = True  # the A-RELEASE-RP is lost and the requestor never closes
    pair.do(pair.acceptor, "release_response")
    assert pair.acceptor.ul.state is State.STA13
    assert pair.acceptor.artim_running
    pair.do(pair.acceptor, "timer_expired")
    assert state_of(pair.acceptor.ul) is State.STA1
    assert isinstance(pair.requestor.events[-1], AbortIndication)
    assert_finished(pair)


def test_artim_expires_after_a_reject_the_requestor_ignores() -> None:
    pair = ConnectionPair()
    pair.associate()
    pair.holding = True
    pair.do(pair.acceptor, "reject", sample_rj())
    assert pair.acceptor.ul.state is State.STA13
    pair.do(pair.acceptor, "timer_expired")
    assert_finished(pair)


def test_garbage_from_a_peer_aborts_both_sides() -> None:
    pair = ConnectionPair()
    pair.establish()
    pair.do(pair.acceptor, "receive", b"\x04\x00\x00\x00\x00\x02\xff\xff")  # a PDV that cannot fit
    [mine] = events_of(pair.acceptor, AbortIndication)
    assert isinstance(mine, AbortIndication) and mine.provider
    [theirs] = events_of(pair.requestor, AbortIndication)
    assert theirs == AbortIndication(2, 6)  # the peer reads our A-ABORT (AA-3)
    assert_finished(pair)


def test_p_data_beyond_the_receivers_maximum_aborts() -> None:
    pair = ConnectionPair(max_pdu_length=100)
    pair.establish()
    pair.do(pair.requestor, "send_data", [PDV(1, False, True, b"x" * 95)])  # PDU length 101
    assert pair.acceptor.events[-1] == DataIndication((PDV(1, False, True, b"x" * 95),))
    pair.do(pair.requestor, "send_data", [PDV(1, False, True, b"x" * 101)])  # PDU length 107
    assert isinstance(pair.acceptor.events[-1], AbortIndication)
    assert_finished(pair)
