"""PS3.8 9.2 state machine: Table 9-10 cell by cell, and UpperLayer driven
through every valid (event, state) pair."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ul_helpers import (
    ABORT_BYTES,
    AC_BYTES,
    INVALID_BYTES,
    MAKERS,
    PDATA_BYTES,
    RELEASE_RP_BYTES,
    RELEASE_RQ_BYTES,
    RJ_BYTES,
    RQ_BYTES,
    make,
    sample_ac,
    sample_pdvs,
    sample_rj,
    sample_rq,
    sent_pdus,
    summary,
)

from dicomwire.errors import LocalProtocolError
from dicomwire.ul.machine import (
    AbortIndication,
    AssociateAccepted,
    AssociateIndication,
    AssociateRejected,
    DataIndication,
    Effect,
    Send,
    UpperLayer,
)
from dicomwire.ul.pdu import AAbort, AAssociateRJ, AAssociateRQ, PDataTF, decode_pdu
from dicomwire.ul.states import ACTIONS, TRANSITIONS, Event, State

# PS3.8 Table 9-10, copied from the standard ("." is a blank cell).
TABLE_9_10 = """
       Sta1  Sta2  Sta3  Sta4  Sta5  Sta6  Sta7  Sta8  Sta9  Sta10 Sta11 Sta12 Sta13
Evt1   AE-1  .     .     .     .     .     .     .     .     .     .     .     .
Evt2   .     .     .     AE-2  .     .     .     .     .     .     .     .     .
Evt3   .     AA-1  AA-8  .     AE-3  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt4   .     AA-1  AA-8  .     AE-4  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt5   AE-5  .     .     .     .     .     .     .     .     .     .     .     .
Evt6   .     AE-6  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
Evt7   .     .     AE-7  .     .     .     .     .     .     .     .     .     .
Evt8   .     .     AE-8  .     .     .     .     .     .     .     .     .     .
Evt9   .     .     .     .     .     DT-1  .     AR-7  .     .     .     .     .
Evt10  .     AA-1  AA-8  .     AA-8  DT-2  AR-6  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt11  .     .     .     .     .     AR-1  .     .     .     .     .     .     .
Evt12  .     AA-1  AA-8  .     AA-8  AR-2  AR-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
Evt13  .     AA-1  AA-8  .     AA-8  AA-8  AR-3  AA-8  AA-8  AR-10 AR-3  AA-8  AA-6
Evt14  .     .     .     .     .     .     .     AR-4  AR-9  .     .     AR-4  .
Evt15  .     .     AA-1  AA-2  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  .
Evt16  .     AA-2  AA-3  .     AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-2
Evt17  .     AA-5  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AR-5
Evt18  .     AA-2  .     .     .     .     .     .     .     .     .     .     AA-2
Evt19  .     AA-1  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
"""


def parse_table(text: str) -> dict[tuple[Event, State], str]:
    header, *rows = text.strip().splitlines()
    states = [State["STA" + name[3:]] for name in header.split()]
    cells = {}
    for row in rows:
        event_name, *actions = row.split()
        assert len(actions) == len(states), row
        for state, action in zip(states, actions, strict=True):
            if action != ".":
                cells[(Event["EVT" + event_name[3:]], state)] = action
    return cells


STANDARD = parse_table(TABLE_9_10)

# PS3.8 Tables 9-6..9-9: the next state of each action (None: the action decides).
NEXT_STATE = {
    "AE-1": State.STA4,
    "AE-2": State.STA5,
    "AE-3": State.STA6,
    "AE-4": State.STA1,
    "AE-5": State.STA2,
    "AE-6": None,  # Sta3 if acceptable, else Sta13
    "AE-7": State.STA6,
    "AE-8": State.STA13,
    "DT-1": State.STA6,
    "DT-2": State.STA6,
    "AR-1": State.STA7,
    "AR-2": State.STA8,
    "AR-3": State.STA1,
    "AR-4": State.STA13,
    "AR-5": State.STA1,
    "AR-6": State.STA7,
    "AR-7": State.STA8,
    "AR-8": None,  # Sta9 for the requestor, Sta10 for the acceptor
    "AR-9": State.STA11,
    "AR-10": State.STA12,
    "AA-1": State.STA13,
    "AA-2": State.STA1,
    "AA-3": State.STA1,
    "AA-4": State.STA1,
    "AA-5": State.STA1,
    "AA-6": State.STA13,
    "AA-7": State.STA13,
    "AA-8": State.STA13,
}

# What each action does, as effect summaries (see ul_helpers.summary).
EFFECTS = {
    "AE-1": ["connect"],
    "AE-2": ["send A_ASSOCIATE_RQ"],
    "AE-3": ["associate-accepted"],
    "AE-4": ["associate-rejected", "close"],
    "AE-5": ["start-artim"],
    "AE-6": ["stop-artim", "associate-indication"],
    "AE-7": ["send A_ASSOCIATE_AC"],
    "AE-8": ["send A_ASSOCIATE_RJ", "start-artim"],
    "DT-1": ["send P_DATA_TF"],
    "DT-2": ["data-indication"],
    "AR-1": ["send A_RELEASE_RQ"],
    "AR-2": ["release-indication"],
    "AR-3": ["release-confirmation", "close"],
    "AR-4": ["send A_RELEASE_RP", "start-artim"],
    "AR-5": ["stop-artim"],
    "AR-6": ["data-indication"],
    "AR-7": ["send P_DATA_TF"],
    "AR-8": ["release-indication"],
    "AR-9": ["send A_RELEASE_RP"],
    "AR-10": ["release-confirmation"],
    "AA-1": ["send A_ABORT", "start-artim"],
    "AA-2": ["stop-artim", "close"],
    "AA-3": ["abort-indication", "close"],
    "AA-4": ["abort-indication"],
    "AA-5": ["stop-artim"],
    "AA-6": [],
    "AA-7": ["send A_ABORT"],
    "AA-8": ["send A_ABORT", "abort-indication", "start-artim"],
}

TRIGGERS: dict[Event, Callable[[UpperLayer], list[Effect]]] = {
    Event.EVT1: lambda ul: ul.associate(sample_rq()),
    Event.EVT2: lambda ul: ul.connection_made(),
    Event.EVT3: lambda ul: ul.receive(AC_BYTES),
    Event.EVT4: lambda ul: ul.receive(RJ_BYTES),
    Event.EVT5: lambda ul: ul.connection_made(),
    Event.EVT6: lambda ul: ul.receive(RQ_BYTES),
    Event.EVT7: lambda ul: ul.accept(sample_ac()),
    Event.EVT8: lambda ul: ul.reject(sample_rj()),
    Event.EVT9: lambda ul: ul.send_data(sample_pdvs()),
    Event.EVT10: lambda ul: ul.receive(PDATA_BYTES),
    Event.EVT11: lambda ul: ul.release(),
    Event.EVT12: lambda ul: ul.receive(RELEASE_RQ_BYTES),
    Event.EVT13: lambda ul: ul.receive(RELEASE_RP_BYTES),
    Event.EVT14: lambda ul: ul.release_response(),
    Event.EVT15: lambda ul: ul.abort(),
    Event.EVT16: lambda ul: ul.receive(ABORT_BYTES),
    Event.EVT17: lambda ul: ul.connection_lost(),
    Event.EVT18: lambda ul: ul.timer_expired(),
    Event.EVT19: lambda ul: ul.receive(INVALID_BYTES),
}
# connection_made() is Evt2 for a requestor and Evt5 for an acceptor.
ROLE_OF_EVENT = {Event.EVT1: True, Event.EVT2: True, Event.EVT5: False}
PDU_EVENTS = {Event[f"EVT{n}"] for n in (3, 4, 6, 10, 12, 13, 16, 19)}

# by event number (sorted here: inside parametrize mypy would type the events as objects)
PDU_EVENTS_IN_ORDER = sorted(PDU_EVENTS, key=lambda e: int(e.name[3:]))


def test_transitions_are_table_9_10_exactly() -> None:
    assert len(STANDARD) == 123
    assert {k: TRANSITIONS.get(k) for k in STANDARD} == STANDARD
    assert set(TRANSITIONS) == set(STANDARD)


def test_action_next_states_are_tables_9_6_to_9_9() -> None:
    assert {name: next_state for name, (_, next_state) in ACTIONS.items()} == NEXT_STATE


def cases() -> list[pytest.ParameterSet]:
    params = []
    for (event, state), action in sorted(STANDARD.items(), key=lambda kv: (kv[0][0].name, kv[0][1].name)):
        for state_key, requestor in MAKERS:
            if state_key is not state or ROLE_OF_EVENT.get(event, requestor) is not requestor:
                continue
            role = "requestor" if requestor else "acceptor"
            name = f"{event.name}-{state.name}-{role}"
            params.append(pytest.param(event, state, requestor, action, id=name))
    return params


CELL_CASES = cases()


def test_every_cell_is_exercised() -> None:
    assert {(c.values[0], c.values[1]) for c in CELL_CASES} == set(STANDARD)


@pytest.mark.parametrize(("event", "state", "requestor", "action"), CELL_CASES)
def test_cell(event: Event, state: State, requestor: bool, action: str) -> None:
    ul = make(state, requestor)
    effects = TRIGGERS[event](ul)
    expected = EFFECTS[action]
    if (event, state) == (Event.EVT18, State.STA2):  # ARTIM before any request: say so
        expected = ["stop-artim", "abort-indication", "close"]
    assert summary(effects) == expected
    expected_state = NEXT_STATE[action]
    if action == "AE-6":
        expected_state = State.STA3  # an acceptable request
    elif action == "AR-8":
        expected_state = State.STA9 if requestor else State.STA10
    assert ul.state is expected_state
    check_payload(event, state, action, effects)


def check_payload(event: Event, state: State, action: str, effects: list[Effect]) -> None:
    """What is sent or delivered carries the right values."""
    sent = sent_pdus(effects)
    delivered = [e for e in effects if not isinstance(e, Send)]
    if action == "AE-2":
        assert sent == [sample_rq()]
    elif action == "AE-3":
        assert delivered == [AssociateAccepted(sample_ac())]
    elif action == "AE-4":
        assert delivered[0] == AssociateRejected(sample_rj())
    elif action == "AE-6":
        assert delivered[1] == AssociateIndication(sample_rq())
    elif action == "AE-7":
        assert sent == [sample_ac()]
    elif action == "AE-8":
        assert sent == [sample_rj()]
    elif action in ("DT-1", "AR-7"):
        assert sent == [PDataTF(tuple(sample_pdvs()))]
    elif action in ("DT-2", "AR-6"):
        assert delivered == [DataIndication(tuple(sample_pdvs()))]
    elif action == "AA-1":
        # Deliberate deviation (see the report): an A-ABORT caused by a bad
        # PDU says the provider aborted; a local request says the user did.
        expected = AAbort(0, 0) if event is Event.EVT15 else AAbort(2, 6 if event is Event.EVT19 else 2)
        assert sent == [expected]
    elif action == "AA-3":
        assert delivered[0] == AbortIndication(0, 0)
    elif action == "AA-4":
        [indication] = delivered
        assert isinstance(indication, AbortIndication) and indication.provider
    elif action in ("AA-7", "AA-8"):
        assert sent == [AAbort(2, 6 if event is Event.EVT19 else 2)]
        if action == "AA-8":
            indication = delivered[0]
            assert isinstance(indication, AbortIndication)
            assert (indication.source, indication.reason) == (2, 6 if event is Event.EVT19 else 2)


def test_ae_6_rejects_an_unsupported_protocol_version() -> None:
    ul = make(State.STA2, False)
    contexts = sample_rq().presentation_contexts
    rq = AAssociateRQ("ANY-SCP", "ECHOSCU", protocol_version=2, presentation_contexts=contexts)
    effects = ul.receive(rq.encode())
    assert summary(effects) == ["stop-artim", "send A_ASSOCIATE_RJ", "start-artim"]
    # rejected-permanent, service-provider (ACSE), protocol-version-not-supported
    assert sent_pdus(effects) == [AAssociateRJ(1, 2, 2)]
    assert ul.state is State.STA13


def test_ae_6_accepts_any_version_with_bit_0() -> None:
    ul = make(State.STA2, False)
    rq = AAssociateRQ("ANY-SCP", "ECHOSCU", protocol_version=3)
    effects = ul.receive(rq.encode())
    assert summary(effects) == EFFECTS["AE-6"]
    assert ul.state is State.STA3


# -- local misuse ------------------------------------------------------------------------

# The local inputs; connection_made() is Evt2 for a requestor, Evt5 for an acceptor.
LOCAL_EVENTS = [Event[f"EVT{n}"] for n in (1, 2, 7, 8, 9, 11, 14, 15, 18)]


def local_event(event: Event, requestor: bool) -> Event:
    return Event.EVT5 if event is Event.EVT2 and not requestor else event


def misuse_cases() -> list[pytest.ParameterSet]:
    params = []
    for event in LOCAL_EVENTS:
        for state, requestor in MAKERS:
            actual = local_event(event, requestor)
            if (actual, state) not in STANDARD:
                role = "requestor" if requestor else "acceptor"
                params.append(pytest.param(actual, state, requestor, id=f"{actual.name}-{state.name}-{role}"))
    return params


@pytest.mark.parametrize(("event", "state", "requestor"), misuse_cases())
def test_local_event_without_a_cell_raises(event: Event, state: State, requestor: bool) -> None:
    ul = make(state, requestor)
    with pytest.raises(LocalProtocolError):
        TRIGGERS[event](ul)
    assert ul.state is state


def test_misuse_examples() -> None:
    with pytest.raises(LocalProtocolError):
        UpperLayer(requestor=True).send_data(sample_pdvs())
    with pytest.raises(LocalProtocolError):
        UpperLayer(requestor=True).release()
    with pytest.raises(LocalProtocolError):
        UpperLayer(requestor=True).connection_made()  # Evt2 before associate()
    with pytest.raises(LocalProtocolError):
        make(State.STA10, False).release_response()  # must wait for the A-RELEASE-RP first
    with pytest.raises(LocalProtocolError):
        make(State.STA6, True).timer_expired()  # ARTIM does not run in Sta6
    with pytest.raises(LocalProtocolError):
        make(State.STA6, True).send_data([])  # a P-DATA-TF needs at least one PDV


@pytest.mark.parametrize("event", PDU_EVENTS_IN_ORDER, ids=lambda e: e.name)
def test_pdus_in_sta4_are_a_local_misuse(event: Event) -> None:
    """No bytes can arrive before the transport connection is open."""
    ul = make(State.STA4, True)
    with pytest.raises(LocalProtocolError):
        TRIGGERS[event](ul)


@pytest.mark.parametrize("event", PDU_EVENTS_IN_ORDER, ids=lambda e: e.name)
@pytest.mark.parametrize("requestor", [True, False])
def test_input_in_sta1_is_ignored(event: Event, requestor: bool) -> None:
    """After the association ended, late bytes and a late close change nothing."""
    ul = make(State.STA1, requestor)
    assert TRIGGERS[event](ul) == []
    assert ul.connection_lost() == []
    assert ul.state is State.STA1


def test_pdus_after_the_association_ended_in_the_same_chunk_are_ignored() -> None:
    ul = make(State.STA7, True)
    effects = ul.receive(RELEASE_RP_BYTES + PDATA_BYTES + RELEASE_RQ_BYTES)
    assert summary(effects) == EFFECTS["AR-3"]
    assert ul.state is State.STA1


def test_several_pdus_in_one_chunk_each_make_an_event() -> None:
    ul = make(State.STA5, True)
    effects = ul.receive(AC_BYTES + PDATA_BYTES + PDATA_BYTES + RELEASE_RQ_BYTES)
    assert summary(effects) == [
        "associate-accepted",
        "data-indication",
        "data-indication",
        "release-indication",
    ]
    assert ul.state is State.STA8


def test_decoded_sent_bytes_match_primitives() -> None:
    ul = make(State.STA6, True)
    [send] = ul.send_data(sample_pdvs())
    assert isinstance(send, Send)
    assert decode_pdu(send.data[0], send.data[6:]) == PDataTF(tuple(sample_pdvs()))


def test_buffered_and_set_max_pdu_length() -> None:
    ul = make(State.STA6, False)
    assert ul.receive(PDATA_BYTES[:10]) == []
    assert ul.buffered == 10
    assert summary(ul.receive(PDATA_BYTES[10:])) == ["data-indication"]
    assert ul.buffered == 0
    ul.set_max_pdu_length(8)  # PDATA_BYTES has a PDU length of 20 > 8 + 6
    assert summary(ul.receive(PDATA_BYTES)) == EFFECTS["AA-8"]


def test_abort_indication_provider_flag() -> None:
    assert AbortIndication(2, 0).provider
    assert not AbortIndication(0, 0).provider


def test_an_invalid_pdu_refused_in_sta4_leaves_no_trace() -> None:
    ul = make(State.STA4, True)
    with pytest.raises(LocalProtocolError):
        ul.receive(INVALID_BYTES)
    ul.connection_made()
    # The refused bytes were not buffered: the peer's answer is read normally...
    assert summary(ul.receive(AC_BYTES)) == ["associate-accepted"]
    # ...and a later local abort is the user's, not a provider abort for that PDU.
    assert sent_pdus(ul.abort()) == [AAbort(0, 0)]
