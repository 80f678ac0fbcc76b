"""Shared pieces of the Upper Layer tests: sample PDUs, effect summaries, and
ConnectionPair (two UpperLayer machines wired together in memory, after h11's
tests/helpers.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dicomwire.ul.items import PresentationContextAC, PresentationContextRQ, UserInformation
from dicomwire.ul.machine import (
    AbortIndication,
    AssociateAccepted,
    AssociateIndication,
    AssociateRejected,
    CloseTransport,
    Connect,
    DataIndication,
    Effect,
    ReleaseConfirmation,
    ReleaseIndication,
    Send,
    StartTimer,
    StopTimer,
    UpperLayer,
)
from dicomwire.ul.pdu import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    PDUType,
    decode_pdu,
)
from dicomwire.ul.pdv import PDV
from dicomwire.ul.states import State

VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def sample_rq(max_length: int = 16384) -> AAssociateRQ:
    return AAssociateRQ(
        called_ae="ANY-SCP",
        calling_ae="ECHOSCU",
        user_information=UserInformation(max_length=max_length, implementation_class_uid="1.2.3.4"),
        presentation_contexts=(
            PresentationContextRQ(1, VERIFICATION, (IMPLICIT_LE,)),
            PresentationContextRQ(3, CT_STORAGE, (EXPLICIT_LE, IMPLICIT_LE)),
        ),
    )


def sample_ac(max_length: int = 16384) -> AAssociateAC:
    return AAssociateAC(
        called_ae="ANY-SCP",
        calling_ae="ECHOSCU",
        user_information=UserInformation(max_length=max_length, implementation_class_uid="1.2.3.5"),
        presentation_contexts=(
            PresentationContextAC(1, 0, IMPLICIT_LE),
            PresentationContextAC(3, 0, EXPLICIT_LE),
        ),
    )


def sample_rj() -> AAssociateRJ:
    return AAssociateRJ(1, 1, 7)


def sample_pdvs() -> list[PDV]:
    return [PDV(1, True, True, b"\x01\x02\x03\x04"), PDV(3, False, True, b"data")]


# Raw PDUs as the peer would send them.
RQ_BYTES = sample_rq().encode()
AC_BYTES = sample_ac().encode()
RJ_BYTES = sample_rj().encode()
PDATA_BYTES = PDataTF(tuple(sample_pdvs())).encode()
RELEASE_RQ_BYTES = AReleaseRQ().encode()
RELEASE_RP_BYTES = AReleaseRP().encode()
ABORT_BYTES = AAbort(0, 0).encode()
# An unrecognized PDU type: Evt19.
INVALID_BYTES = bytes.fromhex("09 00 00000004 00000000")


def sent_pdus(effects: Sequence[Effect]) -> list[PDU]:
    """The PDUs of the Send effects, decoded."""
    return [decode_pdu(e.data[0], e.data[6:]) for e in effects if isinstance(e, Send)]


_EFFECT_NAMES: dict[type, str] = {
    Connect: "connect",
    CloseTransport: "close",
    StartTimer: "start-artim",
    StopTimer: "stop-artim",
    AssociateIndication: "associate-indication",
    AssociateAccepted: "associate-accepted",
    AssociateRejected: "associate-rejected",
    DataIndication: "data-indication",
    ReleaseIndication: "release-indication",
    ReleaseConfirmation: "release-confirmation",
    AbortIndication: "abort-indication",
}


def summary(effects: Sequence[Effect]) -> list[str]:
    """Effects as short names; a Send is named after the PDU type of its bytes."""
    names = []
    for effect in effects:
        if isinstance(effect, Send):
            names.append("send " + PDUType(effect.data[0]).name)
        else:
            names.append(_EFFECT_NAMES[type(effect)])
    return names


# -- driving a machine into a state ----------------------------------------------------


def _requestor_sta4() -> UpperLayer:
    ul = UpperLayer(requestor=True)
    ul.associate(sample_rq())
    return ul


def _requestor_sta5() -> UpperLayer:
    ul = _requestor_sta4()
    ul.connection_made()
    return ul


def _acceptor_sta2() -> UpperLayer:
    ul = UpperLayer(requestor=False)
    ul.connection_made()
    return ul


def _acceptor_sta3() -> UpperLayer:
    ul = _acceptor_sta2()
    ul.receive(RQ_BYTES)
    return ul


def _sta6(requestor: bool) -> UpperLayer:
    if requestor:
        ul = _requestor_sta5()
        ul.receive(AC_BYTES)
    else:
        ul = _acceptor_sta3()
        ul.accept(sample_ac())
    return ul


def _sta7(requestor: bool) -> UpperLayer:
    ul = _sta6(requestor)
    ul.release()
    return ul


def _sta8(requestor: bool) -> UpperLayer:
    ul = _sta6(requestor)
    ul.receive(RELEASE_RQ_BYTES)
    return ul


def _sta9() -> UpperLayer:
    ul = _sta7(True)
    ul.receive(RELEASE_RQ_BYTES)
    return ul


def _sta10() -> UpperLayer:
    ul = _sta7(False)
    ul.receive(RELEASE_RQ_BYTES)
    return ul


def _sta11() -> UpperLayer:
    ul = _sta9()
    ul.release_response()
    return ul


def _sta12() -> UpperLayer:
    ul = _sta10()
    ul.receive(RELEASE_RP_BYTES)
    return ul


def _sta13(requestor: bool) -> UpperLayer:
    ul = _sta6(requestor)
    ul.abort()
    return ul


# (state, requestor?) -> a fresh machine in that state.
MAKERS: dict[tuple[State, bool], Callable[[], UpperLayer]] = {
    (State.STA1, True): lambda: UpperLayer(requestor=True),
    (State.STA1, False): lambda: UpperLayer(requestor=False),
    (State.STA2, False): _acceptor_sta2,
    (State.STA3, False): _acceptor_sta3,
    (State.STA4, True): _requestor_sta4,
    (State.STA5, True): _requestor_sta5,
    (State.STA6, True): lambda: _sta6(True),
    (State.STA6, False): lambda: _sta6(False),
    (State.STA7, True): lambda: _sta7(True),
    (State.STA7, False): lambda: _sta7(False),
    (State.STA8, True): lambda: _sta8(True),
    (State.STA8, False): lambda: _sta8(False),
    (State.STA9, True): _sta9,
    (State.STA10, False): _sta10,
    (State.STA11, True): _sta11,
    (State.STA12, False): _sta12,
    (State.STA13, True): lambda: _sta13(True),
    (State.STA13, False): lambda: _sta13(False),
}


def make(state: State, requestor: bool) -> UpperLayer:
    ul = MAKERS[(state, requestor)]()
    assert ul.state is state
    return ul


# mypy keeps the narrowing of an ``assert ul.state is State.STA2`` (or of an
# ``assert side.events[-1] == ReleaseIndication()``) in force across the calls that
# change the machine; a test that asserts again after driving it reads through these.


def state_of(ul: UpperLayer) -> State:
    """The machine's current state."""
    return ul.state


def last_event(side: Side) -> Effect:
    """The latest event delivered to this side's user."""
    return side.events[-1]


# -- two machines wired together ----------------------------------------------------------


@dataclass
class Side:
    ul: UpperLayer
    # Everything delivered to this side's user, in order (Send effects excluded).
    events: list[Effect] = field(default_factory=list)
    transport_open: bool = False
    artim_running: bool = False


class ConnectionPair:
    """A requestor and an acceptor UpperLayer joined by an in-memory transport.

    ``do(side, method, *args)`` calls a method on one machine and performs its
    effects, like an event loop would: all the effects of one call first, and
    what they cause on the other side afterwards, in order.  Send bytes go to
    the other machine's ``receive`` (or wait in flight while ``holding``, until
    ``flush()``); Connect opens the transport (the acceptor sees
    connection_made, then the requestor); CloseTransport closes it (the other
    side sees connection_lost).
    """

    def __init__(self, max_pdu_length: int = 16384) -> None:
        self.requestor = Side(UpperLayer(requestor=True, max_pdu_length=max_pdu_length))
        self.acceptor = Side(UpperLayer(requestor=False, max_pdu_length=max_pdu_length))
        self.wire: list[bytes] = []  # every chunk sent, both directions, in order
        self.holding = False
        self.in_flight: list[tuple[Side, bytes]] = []  # (destination, bytes) while holding
        self._pending: deque[tuple[Side, str, tuple[object, ...]]] = deque()
        self._running = False

    def other(self, side: Side) -> Side:
        return self.acceptor if side is self.requestor else self.requestor

    def do(self, side: Side, method: str, *args: object) -> list[Effect]:
        """Call ``method`` now, then run everything it caused; returns its own effects."""
        effects: list[Effect] = getattr(side.ul, method)(*args)
        self._perform(side, effects)
        if not self._running:
            self._running = True
            try:
                while self._pending:
                    target, name, arguments = self._pending.popleft()
                    self._perform(target, getattr(target.ul, name)(*arguments))
            finally:
                self._running = False
        return effects

    def flush(self) -> None:
        """Stop holding and deliver the bytes in flight, in the order they were sent."""
        self.holding = False
        in_flight, self.in_flight = self.in_flight, []
        for destination, data in in_flight:
            if destination.transport_open:
                self.do(destination, "receive", data)

    def close(self, side: Side) -> None:
        """``side`` closes the transport; the peer notices the closed connection."""
        if not side.transport_open:
            return
        side.transport_open = False
        peer = self.other(side)
        if peer.transport_open:
            peer.transport_open = False
            self.do(peer, "connection_lost")

    def _perform(self, side: Side, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                assert side.transport_open, "sent on a closed transport"
                self.wire.append(effect.data)
                peer = self.other(side)
                if self.holding:
                    self.in_flight.append((peer, effect.data))
                else:
                    self._pending.append((peer, "receive", (effect.data,)))
            elif isinstance(effect, Connect):
                self.acceptor.transport_open = side.transport_open = True
                self._pending.append((self.acceptor, "connection_made", ()))
                self._pending.append((side, "connection_made", ()))
            elif isinstance(effect, CloseTransport):
                side.transport_open = False
                peer = self.other(side)
                if peer.transport_open:
                    peer.transport_open = False
                    self._pending.append((peer, "connection_lost", ()))
            elif isinstance(effect, StartTimer):
                side.artim_running = True
            elif isinstance(effect, StopTimer):
                side.artim_running = False
            else:
                side.events.append(effect)

    def associate(self) -> AssociateIndication:
        """Run the association request up to the acceptor's A-ASSOCIATE indication."""
        self.do(self.requestor, "associate", sample_rq())
        indication = self.acceptor.events[-1]
        assert isinstance(indication, AssociateIndication)
        return indication

    def establish(self) -> None:
        self.associate()
        self.do(self.acceptor, "accept", sample_ac())
        assert self.requestor.ul.state is State.STA6
        assert self.acceptor.ul.state is State.STA6
