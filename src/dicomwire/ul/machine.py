"""The Upper Layer protocol machine, sans-IO.

``UpperLayer(requestor=...)`` takes inputs (bytes received, local primitives,
transport events, ARTIM expiry) and returns effects (bytes to send, indications
to deliver, timer and transport commands).  It never performs them: the net
layer does, which keeps this module testable in memory with two machines wired
together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dicomwire._records import record
from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.ul.framing import PduReader
from dicomwire.ul.pdu import (
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AbortReason,
    AbortSource,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    RejectResult,
    RejectSource,
    encode_pdata,
)
from dicomwire.ul.pdv import PDV
from dicomwire.ul.states import ACTIONS, TRANSITIONS, Event, State

# The detail of the abort indication when ARTIM expires before any A-ASSOCIATE-RQ arrived.
ARTIM_EXPIRED = "no A-ASSOCIATE-RQ before the ARTIM timer expired"

# -- effects ------------------------------------------------------------------------


@record(frozen=True, slots=True)
class Send:
    data: bytes


@record(frozen=True, slots=True)
class Connect:
    """Open the transport connection (requestor)."""


@record(frozen=True, slots=True)
class CloseTransport:
    pass


@record(frozen=True, slots=True)
class StartTimer:
    """Start (or restart) ARTIM."""


@record(frozen=True, slots=True)
class StopTimer:
    pass


# Indications / confirmations delivered to the local user.
@record(frozen=True, slots=True)
class AssociateIndication:
    request: AAssociateRQ


@record(frozen=True, slots=True)
class AssociateAccepted:
    accept: AAssociateAC


@record(frozen=True, slots=True)
class AssociateRejected:
    reject: AAssociateRJ


@record(frozen=True, slots=True)
class DataIndication:
    pdvs: tuple[PDV, ...]


@record(frozen=True, slots=True)
class ReleaseIndication:
    pass


@record(frozen=True, slots=True)
class ReleaseConfirmation:
    pass


@record(frozen=True, slots=True)
class AbortIndication:
    """A-ABORT (peer user) or A-P-ABORT (provider: ours or the peer's)."""

    source: int
    reason: int
    detail: str = ""

    @property
    def provider(self) -> bool:
        return self.source == AbortSource.SERVICE_PROVIDER


Effect = (
    Send
    | Connect
    | CloseTransport
    | StartTimer
    | StopTimer
    | AssociateIndication
    | AssociateAccepted
    | AssociateRejected
    | DataIndication
    | ReleaseIndication
    | ReleaseConfirmation
    | AbortIndication
)

_PDU_EVENTS: dict[type, Event] = {
    AAssociateAC: Event.EVT3,
    AAssociateRJ: Event.EVT4,
    AAssociateRQ: Event.EVT6,
    PDataTF: Event.EVT10,
    AReleaseRQ: Event.EVT12,
    AReleaseRP: Event.EVT13,
    AAbort: Event.EVT16,
}


class UpperLayer:
    """One end of one association: the PS3.8 state machine plus PDU framing."""

    def __init__(self, *, requestor: bool, max_pdu_length: int = 16384) -> None:
        self.requestor = requestor
        self.state = State.STA1
        self._reader = PduReader(max_pdu_length)
        self._effects: list[Effect] = []
        self._pdu: PDU | None = None
        self._primitive: object = None
        self._invalid = ""
        self._event: Event | None = None
        self._pending_request: AAssociateRQ | None = None
        self._actions: dict[str, Callable[[], State | None]] = {
            name: getattr(self, "_" + name.replace("-", "_").lower()) for name in ACTIONS
        }

    # -- inputs from the local user -----------------------------------------------
    def associate(self, request: AAssociateRQ) -> list[Effect]:
        """A-ASSOCIATE request (requestor): asks for a transport connection first."""
        return self._run(Event.EVT1, request)

    def accept(self, response: AAssociateAC) -> list[Effect]:
        return self._run(Event.EVT7, response)

    def reject(self, response: AAssociateRJ) -> list[Effect]:
        return self._run(Event.EVT8, response)

    def send_data(self, pdvs: Sequence[PDV]) -> list[Effect]:
        """P-DATA request: one P-DATA-TF PDU carrying ``pdvs``."""
        if self.state is State.STA6 and pdvs:
            # Table 9-10 cell (Evt9, Sta6) = DT-1, next state Sta6: inlined, it is the hot path.
            return [Send(encode_pdata(pdvs))]
        return self._run(Event.EVT9, pdvs)

    def release(self) -> list[Effect]:
        return self._run(Event.EVT11)

    def release_response(self) -> list[Effect]:
        return self._run(Event.EVT14)

    def abort(self) -> list[Effect]:
        return self._run(Event.EVT15)

    # -- inputs from the transport -------------------------------------------------
    def connection_made(self) -> list[Effect]:
        return self._run(Event.EVT2 if self.requestor else Event.EVT5)

    def connection_lost(self) -> list[Effect]:
        if self.state is State.STA1:
            return []
        return self._run(Event.EVT17)

    def timer_expired(self) -> list[Effect]:
        return self._run(Event.EVT18)

    def receive(self, data: bytes | bytearray | memoryview) -> list[Effect]:
        """Bytes from the peer: every complete PDU becomes an event.

        Invalid input becomes Evt19 (after the valid PDUs that preceded it);
        it never raises, except in Sta4 where no bytes can have arrived yet.
        Bytes received in Sta1 (the association is over) are ignored, and so
        is everything after a PDU header that broke the framing.
        """
        if self._idle() or self._reader.failed:
            return []
        if self.state is State.STA4:
            raise LocalProtocolError("bytes received before the transport connection was open (Sta4)")
        effects: list[Effect] = []
        reader = self._reader
        try:
            reader.push(data)
            while not self._idle():
                pdu = reader.next_pdu()
                if pdu is None:
                    break
                if type(pdu) is PDataTF and self.state is State.STA6:
                    # Table 9-10 cell (Evt10, Sta6) = DT-2, next state Sta6: inlined, the hot path.
                    effects.append(DataIndication(pdu.pdvs))
                else:
                    effects += self._run(_PDU_EVENTS[type(pdu)], pdu=pdu)
                if not reader.pending:
                    break  # the chunk held whole PDUs: no second look
        except RemoteProtocolError as exc:
            effects += self._run(Event.EVT19, str(exc))
        return effects

    def set_max_pdu_length(self, max_pdu_length: int) -> None:
        self._reader.set_max_pdu_length(max_pdu_length)

    @property
    def buffered(self) -> int:
        return self._reader.pending

    # -- the engine ----------------------------------------------------------------
    def _idle(self) -> bool:
        """Sta1: no association and no transport connection (any more)."""
        return self.state is State.STA1

    def _run(self, event: Event, primitive: object = None, *, pdu: PDU | None = None) -> list[Effect]:
        action = TRANSITIONS.get((event, self.state))
        if action is None:
            raise LocalProtocolError(
                f"{event.value} is not allowed in state {self.state.name} ({self.state.value})"
            )
        self._pdu, self._primitive, self._event = pdu, primitive, event
        # Evt19 carries what was wrong with the input (its "primitive" is the detail).
        self._invalid = (str(primitive) or "invalid PDU") if event is Event.EVT19 else ""
        effects: list[Effect] = []
        self._effects = effects
        try:
            next_state = self._actions[action]()
        finally:
            self._pdu = self._primitive = None
            self._invalid = ""
        self.state = next_state if next_state is not None else ACTIONS[action][1]  # type: ignore[assignment]
        return effects

    def _send(
        self, pdu: AAssociateRQ | AAssociateAC | AAssociateRJ | AReleaseRQ | AReleaseRP | AAbort
    ) -> None:
        self._effects.append(Send(pdu.encode()))

    def _deliver(self, effect: Effect) -> None:
        self._effects.append(effect)

    # -- actions (PS3.8 Table 9-7..9-9) -----------------------------------------------
    def _ae_1(self) -> None:
        assert isinstance(self._primitive, AAssociateRQ)
        self._pending_request = self._primitive
        self._deliver(Connect())

    def _ae_2(self) -> None:
        assert self._pending_request is not None
        self._send(self._pending_request)
        self._pending_request = None

    def _ae_3(self) -> None:
        assert isinstance(self._pdu, AAssociateAC)
        self._deliver(AssociateAccepted(self._pdu))

    def _ae_4(self) -> None:
        assert isinstance(self._pdu, AAssociateRJ)
        self._deliver(AssociateRejected(self._pdu))
        self._deliver(CloseTransport())

    def _ae_5(self) -> None:
        self._deliver(StartTimer())

    def _ae_6(self) -> State:
        assert isinstance(self._pdu, AAssociateRQ)
        self._deliver(StopTimer())
        if self._pdu.protocol_version & 1:
            self._deliver(AssociateIndication(self._pdu))
            return State.STA3
        self._send(
            AAssociateRJ(RejectResult.PERMANENT, RejectSource.SERVICE_PROVIDER_ACSE, 2)
        )  # protocol version not supported
        self._deliver(StartTimer())
        return State.STA13

    def _ae_7(self) -> None:
        assert isinstance(self._primitive, AAssociateAC)
        self._send(self._primitive)

    def _ae_8(self) -> None:
        assert isinstance(self._primitive, AAssociateRJ)
        self._send(self._primitive)
        self._deliver(StartTimer())

    def _dt_1(self) -> None:
        pdvs = self._primitive
        assert isinstance(pdvs, Sequence)
        if not pdvs:
            raise LocalProtocolError("a P-DATA request needs at least one presentation data value")
        self._effects.append(Send(encode_pdata(pdvs)))

    def _dt_2(self) -> None:
        assert isinstance(self._pdu, PDataTF)
        self._deliver(DataIndication(self._pdu.pdvs))

    def _ar_1(self) -> None:
        self._send(AReleaseRQ())

    def _ar_2(self) -> None:
        self._deliver(ReleaseIndication())

    def _ar_3(self) -> None:
        self._deliver(ReleaseConfirmation())
        self._deliver(CloseTransport())

    def _ar_4(self) -> None:
        self._send(AReleaseRP())
        self._deliver(StartTimer())

    def _ar_5(self) -> None:
        self._deliver(StopTimer())

    _ar_6 = _dt_2
    _ar_7 = _dt_1

    def _ar_8(self) -> State:
        self._deliver(ReleaseIndication())
        return State.STA9 if self.requestor else State.STA10

    def _ar_9(self) -> None:
        self._send(AReleaseRP())

    def _ar_10(self) -> None:
        self._deliver(ReleaseConfirmation())

    def _aa_1(self) -> None:
        # A local A-ABORT request is the user's; a bad PDU before the request is the provider's.
        if self._pdu is None and not self._invalid:
            self._send(AAbort(AbortSource.SERVICE_USER, AbortReason.NOT_SPECIFIED))
        else:
            self._send(AAbort(AbortSource.SERVICE_PROVIDER, self._abort_reason()))
        self._deliver(StartTimer())

    def _aa_2(self) -> None:
        self._deliver(StopTimer())
        if self._event is Event.EVT18 and self.state is State.STA2:
            # Beyond PS3.8 (no association exists yet): the local user learns why the
            # connection ends, a timeout rather than the peer going away.
            self._deliver(
                AbortIndication(AbortSource.SERVICE_PROVIDER, AbortReason.NOT_SPECIFIED, ARTIM_EXPIRED)
            )
        self._deliver(CloseTransport())

    def _aa_3(self) -> None:
        assert isinstance(self._pdu, AAbort)
        self._deliver(AbortIndication(self._pdu.source, self._pdu.reason))
        self._deliver(CloseTransport())

    def _aa_4(self) -> None:
        self._deliver(
            AbortIndication(
                AbortSource.SERVICE_PROVIDER, AbortReason.NOT_SPECIFIED, "connection closed by peer"
            )
        )

    def _aa_5(self) -> None:
        self._deliver(StopTimer())

    def _aa_6(self) -> None:
        pass

    def _aa_7(self) -> None:
        self._send(AAbort(AbortSource.SERVICE_PROVIDER, self._abort_reason()))

    def _aa_8(self) -> None:
        reason = self._abort_reason()
        self._send(AAbort(AbortSource.SERVICE_PROVIDER, reason))
        detail = self._invalid or f"unexpected {type(self._pdu).__name__} in state {self.state.name}"
        self._deliver(AbortIndication(AbortSource.SERVICE_PROVIDER, reason, detail))
        self._deliver(StartTimer())

    def _abort_reason(self) -> int:
        if self._invalid:
            return AbortReason.INVALID_PDU_PARAMETER_VALUE
        return AbortReason.UNEXPECTED_PDU
