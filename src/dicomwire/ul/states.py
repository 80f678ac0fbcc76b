"""The DICOM Upper Layer state machine of PS3.8 9.2 as data: states, events,
actions and Table 9-10, with the standard's names.  machine.py performs the
actions; this module only says which one applies.
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    STA1 = "Idle"
    STA2 = "Transport connection open (awaiting A-ASSOCIATE-RQ PDU)"
    STA3 = "Awaiting local A-ASSOCIATE response primitive"
    STA4 = "Awaiting transport connection opening to complete"
    STA5 = "Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU"
    STA6 = "Association established and ready for data transfer"
    STA7 = "Awaiting A-RELEASE-RP PDU"
    STA8 = "Awaiting local A-RELEASE response primitive"
    STA9 = "Release collision requestor side; awaiting A-RELEASE response"
    STA10 = "Release collision acceptor side; awaiting A-RELEASE-RP PDU"
    STA11 = "Release collision requestor side; awaiting A-RELEASE-RP PDU"
    STA12 = "Release collision acceptor side; awaiting A-RELEASE response primitive"
    STA13 = "Awaiting transport connection close indication"


class Event(Enum):
    EVT1 = "A-ASSOCIATE request (local user)"
    EVT2 = "Transport connect confirmation (local transport service)"
    EVT3 = "A-ASSOCIATE-AC PDU received"
    EVT4 = "A-ASSOCIATE-RJ PDU received"
    EVT5 = "Transport connection indication (local transport service)"
    EVT6 = "A-ASSOCIATE-RQ PDU received"
    EVT7 = "A-ASSOCIATE response primitive (accept)"
    EVT8 = "A-ASSOCIATE response primitive (reject)"
    EVT9 = "P-DATA request primitive"
    EVT10 = "P-DATA-TF PDU received"
    EVT11 = "A-RELEASE request primitive"
    EVT12 = "A-RELEASE-RQ PDU received"
    EVT13 = "A-RELEASE-RP PDU received"
    EVT14 = "A-RELEASE response primitive"
    EVT15 = "A-ABORT request primitive"
    EVT16 = "A-ABORT PDU received"
    EVT17 = "Transport connection closed indication"
    EVT18 = "ARTIM timer expired"
    EVT19 = "Unrecognized or invalid PDU received"


# Action name -> (description, next state).  None: the action decides
# (AE-6 on acceptability, AR-8 on our role).
ACTIONS: dict[str, tuple[str, State | None]] = {
    "AE-1": ("Issue TRANSPORT CONNECT request to local transport service", State.STA4),
    "AE-2": ("Send A-ASSOCIATE-RQ PDU", State.STA5),
    "AE-3": ("Issue A-ASSOCIATE confirmation (accept) primitive", State.STA6),
    "AE-4": ("Issue A-ASSOCIATE confirmation (reject) primitive and close transport", State.STA1),
    "AE-5": ("Issue transport connection response primitive; start ARTIM timer", State.STA2),
    "AE-6": ("Stop ARTIM; issue A-ASSOCIATE indication, or send A-ASSOCIATE-RJ and start ARTIM", None),
    "AE-7": ("Send A-ASSOCIATE-AC PDU", State.STA6),
    "AE-8": ("Send A-ASSOCIATE-RJ PDU and start ARTIM timer", State.STA13),
    "DT-1": ("Send P-DATA-TF PDU", State.STA6),
    "DT-2": ("Send P-DATA indication primitive", State.STA6),
    "AR-1": ("Send A-RELEASE-RQ PDU", State.STA7),
    "AR-2": ("Issue A-RELEASE indication primitive", State.STA8),
    "AR-3": ("Issue A-RELEASE confirmation primitive and close transport", State.STA1),
    "AR-4": ("Issue A-RELEASE-RP PDU and start ARTIM timer", State.STA13),
    "AR-5": ("Stop ARTIM timer", State.STA1),
    "AR-6": ("Issue P-DATA indication", State.STA7),
    "AR-7": ("Issue P-DATA-TF PDU", State.STA8),
    "AR-8": ("Issue A-RELEASE indication (release collision)", None),
    "AR-9": ("Send A-RELEASE-RP PDU", State.STA11),
    "AR-10": ("Issue A-RELEASE confirmation primitive", State.STA12),
    "AA-1": ("Send A-ABORT PDU (service-user source) and start ARTIM timer", State.STA13),
    "AA-2": ("Stop ARTIM timer if running; close transport", State.STA1),
    "AA-3": ("Issue A-ABORT or A-P-ABORT indication and close transport", State.STA1),
    "AA-4": ("Issue A-P-ABORT indication primitive", State.STA1),
    "AA-5": ("Stop ARTIM timer", State.STA1),
    "AA-6": ("Ignore PDU", State.STA13),
    "AA-7": ("Send A-ABORT PDU", State.STA13),
    "AA-8": (
        "Send A-ABORT PDU (service-provider source), issue A-P-ABORT indication, start ARTIM",
        State.STA13,
    ),
}

_S = State
_ALL_ASSOCIATED = (_S.STA6, _S.STA7, _S.STA8, _S.STA9, _S.STA10, _S.STA11, _S.STA12)


def _row(default: str, *, sta13: str | None, **cells: str) -> dict[State, str]:
    """A row of Table 9-10: the PDU-received events share one shape.

    Sta2 -> AA-1; Sta3, Sta5..Sta12 -> ``default``; Sta13 -> ``sta13``;
    ``cells`` (keyed 'STA6' etc.) override single states.
    """
    row = {_S.STA2: "AA-1", _S.STA3: default, _S.STA5: default}
    row.update({state: default for state in _ALL_ASSOCIATED})
    if sta13 is not None:
        row[_S.STA13] = sta13
    row.update({State[name]: action for name, action in cells.items()})
    return row


_ROWS: dict[Event, dict[State, str]] = {
    Event.EVT1: {_S.STA1: "AE-1"},
    Event.EVT2: {_S.STA4: "AE-2"},
    Event.EVT3: _row("AA-8", sta13="AA-6", STA5="AE-3"),
    Event.EVT4: _row("AA-8", sta13="AA-6", STA5="AE-4"),
    Event.EVT5: {_S.STA1: "AE-5"},
    Event.EVT6: _row("AA-8", sta13="AA-7", STA2="AE-6"),
    Event.EVT7: {_S.STA3: "AE-7"},
    Event.EVT8: {_S.STA3: "AE-8"},
    Event.EVT9: {_S.STA6: "DT-1", _S.STA8: "AR-7"},
    Event.EVT10: _row("AA-8", sta13="AA-6", STA6="DT-2", STA7="AR-6"),
    Event.EVT11: {_S.STA6: "AR-1"},
    Event.EVT12: _row("AA-8", sta13="AA-6", STA6="AR-2", STA7="AR-8"),
    Event.EVT13: _row("AA-8", sta13="AA-6", STA7="AR-3", STA10="AR-10", STA11="AR-3"),
    Event.EVT14: {_S.STA8: "AR-4", _S.STA9: "AR-9", _S.STA12: "AR-4"},
    Event.EVT15: {_S.STA3: "AA-1", _S.STA4: "AA-2", _S.STA5: "AA-1"}
    | {state: "AA-1" for state in _ALL_ASSOCIATED},
    Event.EVT16: {_S.STA2: "AA-2", _S.STA3: "AA-3", _S.STA5: "AA-3", _S.STA13: "AA-2"}
    | {state: "AA-3" for state in _ALL_ASSOCIATED},
    Event.EVT17: {_S.STA2: "AA-5", _S.STA3: "AA-4", _S.STA4: "AA-4", _S.STA5: "AA-4", _S.STA13: "AR-5"}
    | {state: "AA-4" for state in _ALL_ASSOCIATED},
    Event.EVT18: {_S.STA2: "AA-2", _S.STA13: "AA-2"},
    Event.EVT19: _row("AA-8", sta13="AA-7"),
}

# PS3.8 Table 9-10 flattened: (event, state) -> action name.  A pair that is
# absent is an event that cannot happen in that state (a local misuse).
TRANSITIONS: dict[tuple[Event, State], str] = {
    (event, state): action for event, row in _ROWS.items() for state, action in row.items()
}
