"""Presentation-context and SCP/SCU role negotiation (PS3.8 9.3.2.2, 9.3.3.2;
PS3.7 D.3.3.4)."""

from __future__ import annotations

import pytest

from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.ul.items import ContextResult, PresentationContextAC, PresentationContextRQ, RoleSelection
from dicomwire.ul.negotiation import (
    AcceptedContext,
    accepted_contexts,
    answer_contexts,
    answer_roles,
    effective_roles,
    propose,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG = "1.2.840.10008.1.2.4.50"

# -- propose -----------------------------------------------------------------------------


def test_propose_numbers_contexts_1_3_5() -> None:
    proposal = propose([(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT]), (CT, (JPEG,))])
    assert proposal == (
        PresentationContextRQ(1, VERIFICATION, (IMPLICIT,)),
        PresentationContextRQ(3, CT, (EXPLICIT, IMPLICIT)),
        PresentationContextRQ(5, CT, (JPEG,)),
    )


def test_propose_128_contexts_up_to_id_255() -> None:
    proposal = propose([(CT, [IMPLICIT])] * 128)
    assert [c.context_id for c in proposal] == list(range(1, 256, 2))


def test_propose_more_than_128_contexts_is_an_error() -> None:
    with pytest.raises(LocalProtocolError):
        propose([(CT, [IMPLICIT])] * 129)


def test_propose_a_context_without_transfer_syntax_is_an_error() -> None:
    with pytest.raises(LocalProtocolError):
        propose([(CT, [])])


def test_propose_a_bare_string_is_one_transfer_syntax() -> None:
    assert propose([(CT, IMPLICIT)]) == (PresentationContextRQ(1, CT, (IMPLICIT,)),)


# -- answer_contexts (acceptor) --------------------------------------------------------------


def test_accepted_with_the_acceptors_preferred_syntax() -> None:
    proposed = [PresentationContextRQ(1, CT, (IMPLICIT, EXPLICIT, JPEG))]
    answers = answer_contexts(proposed, {CT: [JPEG, EXPLICIT]})
    assert answers == (PresentationContextAC(1, ContextResult.ACCEPTANCE, JPEG),)


def test_requestor_order_option() -> None:
    proposed = [PresentationContextRQ(1, CT, (IMPLICIT, EXPLICIT, JPEG))]
    answers = answer_contexts(proposed, {CT: [JPEG, EXPLICIT]}, prefer_requestor_order=True)
    assert answers == (PresentationContextAC(1, 0, EXPLICIT),)


def test_abstract_syntax_not_supported_is_result_3() -> None:
    answers = answer_contexts([PresentationContextRQ(1, MR, (IMPLICIT,))], {CT: [IMPLICIT]})
    assert answers == (PresentationContextAC(1, 3),)
    assert not answers[0].accepted


def test_no_common_transfer_syntax_is_result_4() -> None:
    answers = answer_contexts([PresentationContextRQ(1, CT, (JPEG, DEFLATED))], {CT: [IMPLICIT, EXPLICIT]})
    assert answers == (PresentationContextAC(1, 4),)


def test_answers_keep_the_proposal_order_and_mix_results() -> None:
    proposed = propose([(CT, [EXPLICIT]), (MR, [IMPLICIT]), (VERIFICATION, [IMPLICIT]), (CT, [JPEG])])
    answers = answer_contexts(proposed, {CT: [EXPLICIT, IMPLICIT], VERIFICATION: [IMPLICIT]})
    assert [(a.context_id, a.result, a.transfer_syntax) for a in answers] == [
        (1, 0, EXPLICIT),
        (3, 3, ""),
        (5, 0, IMPLICIT),
        (7, 4, ""),
    ]


@pytest.mark.parametrize("context_id", [0, 2, 254])
def test_even_context_id_is_rejected(context_id: int) -> None:
    with pytest.raises(RemoteProtocolError):
        answer_contexts([PresentationContextRQ(context_id, CT, (IMPLICIT,))], {CT: [IMPLICIT]})


def test_duplicate_context_id_is_rejected() -> None:
    proposed = [PresentationContextRQ(5, CT, (IMPLICIT,)), PresentationContextRQ(5, MR, (IMPLICIT,))]
    with pytest.raises(RemoteProtocolError):
        answer_contexts(proposed, {CT: [IMPLICIT], MR: [IMPLICIT]})


def test_proposed_context_without_transfer_syntax_gets_result_4() -> None:
    assert answer_contexts([PresentationContextRQ(1, CT, ())], {CT: [IMPLICIT]}) == (
        PresentationContextAC(1, 4),
    )


# -- roles: PS3.7 D.3.3.4 and Table D.3-10 ----------------------------------------------------
#
# The acceptor returns, for each role the requestor proposed (1), 1 to accept
# it or 0 to turn it down; it never returns 1 for a role that was not
# proposed, and the requestor ignores such a 1.  Without an answer for a SOP
# class the default roles hold: requestor SCU, acceptor SCP.

# (proposed SCU, SCP), (acceptor may SCU, may SCP) -> answered (SCU, SCP)
ANSWER_TABLE = [
    ((True, False), (True, True), (True, False)),
    ((True, False), (False, True), (False, False)),
    ((False, True), (True, True), (False, True)),
    ((False, True), (True, False), (False, False)),
    ((True, True), (True, True), (True, True)),
    ((True, True), (True, False), (True, False)),
    ((True, True), (False, True), (False, True)),
    ((True, True), (False, False), (False, False)),
    ((False, False), (True, True), (False, False)),
]


@pytest.mark.parametrize(("proposed", "allowed", "answered"), ANSWER_TABLE)
def test_answer_roles(
    proposed: tuple[bool, bool], allowed: tuple[bool, bool], answered: tuple[bool, bool]
) -> None:
    [answer] = answer_roles([RoleSelection(CT, *proposed)], {CT: allowed})
    assert (answer.sop_class_uid, answer.scu_role, answer.scp_role) == (CT, *answered)


def test_answer_roles_for_an_unlisted_sop_class_grants_only_the_default_scu_role() -> None:
    answers = answer_roles([RoleSelection(MR, True, True), RoleSelection(CT, False, True)], {})
    assert answers == (RoleSelection(MR, True, False), RoleSelection(CT, False, False))


def test_answer_roles_only_answers_what_was_proposed() -> None:
    assert answer_roles([], {CT: (True, True)}) == ()


# (proposed SCU, SCP), answered (SCU, SCP) or None (no answer) -> requestor (SCU, SCP)
EFFECTIVE_TABLE = [
    ((True, False), (True, False), (True, False)),
    ((True, False), (False, False), (False, False)),
    ((False, True), (False, True), (False, True)),
    ((False, True), (False, False), (False, False)),
    ((True, True), (True, True), (True, True)),
    ((True, True), (True, False), (True, False)),
    ((True, True), (False, True), (False, True)),
    ((True, True), (False, False), (False, False)),
    # The acceptor returned 1 for a role that was not proposed: ignored.
    ((True, False), (True, True), (True, False)),
    ((False, True), (True, True), (False, True)),
    ((False, True), (True, False), (False, False)),
    # No answer for the SOP class: default roles, whatever was proposed.
    ((True, True), None, (True, False)),
    ((False, True), None, (True, False)),
]


@pytest.mark.parametrize(("proposed", "answered", "roles"), EFFECTIVE_TABLE)
def test_effective_roles(
    proposed: tuple[bool, bool], answered: tuple[bool, bool] | None, roles: tuple[bool, bool]
) -> None:
    answers = [] if answered is None else [RoleSelection(CT, *answered)]
    assert effective_roles([RoleSelection(CT, *proposed)], answers) == {CT: roles}


def test_effective_roles_ignores_answers_for_sop_classes_not_proposed() -> None:
    assert effective_roles([], [RoleSelection(CT, True, True)]) == {}


def test_answer_then_effective_roles_agree_for_every_combination() -> None:
    for proposed in [(True, False), (False, True), (True, True)]:
        for allowed in [(a, b) for a in (True, False) for b in (True, False)]:
            request = [RoleSelection(CT, *proposed)]
            roles = effective_roles(request, answer_roles(request, {CT: allowed}))[CT]
            assert roles == (proposed[0] and allowed[0], proposed[1] and allowed[1])


# -- accepted_contexts (requestor) --------------------------------------------------------------


PROPOSED = propose([(CT, [EXPLICIT, IMPLICIT]), (MR, [IMPLICIT]), (VERIFICATION, [IMPLICIT])])


def test_accepted_contexts_default_roles() -> None:
    answered = [
        PresentationContextAC(1, 0, IMPLICIT),
        PresentationContextAC(3, 3),
        PresentationContextAC(5, 0, IMPLICIT),
    ]
    assert accepted_contexts(PROPOSED, answered) == {
        1: AcceptedContext(1, CT, IMPLICIT, requestor_scu=True, requestor_scp=False),
        5: AcceptedContext(5, VERIFICATION, IMPLICIT, requestor_scu=True, requestor_scp=False),
    }


def test_accepted_contexts_unknown_context_id() -> None:
    with pytest.raises(RemoteProtocolError):
        accepted_contexts(PROPOSED, [PresentationContextAC(7, 0, IMPLICIT)])


def test_accepted_contexts_unknown_id_even_when_rejected() -> None:
    with pytest.raises(RemoteProtocolError):
        accepted_contexts(PROPOSED, [PresentationContextAC(9, 3)])


def test_accepted_contexts_transfer_syntax_not_proposed() -> None:
    with pytest.raises(RemoteProtocolError):
        accepted_contexts(PROPOSED, [PresentationContextAC(3, 0, EXPLICIT)])


def test_rejected_context_transfer_syntax_is_not_significant() -> None:
    assert accepted_contexts(PROPOSED, [PresentationContextAC(3, 4, JPEG)]) == {}


def test_missing_answers_are_simply_not_usable() -> None:
    assert list(accepted_contexts(PROPOSED, [PresentationContextAC(3, 0, IMPLICIT)])) == [3]


@pytest.mark.parametrize(
    ("proposed", "answered", "usable"),
    [
        ((True, True), (True, True), (True, True)),
        ((False, True), (False, True), (False, True)),  # C-GET storage sub-operations: requestor SCP only
        ((True, True), (True, False), (True, False)),
        ((False, True), (False, False), None),  # neither role: not usable
        ((True, True), (False, False), None),
        ((False, True), None, (True, False)),  # no answer: default roles
    ],
)
def test_accepted_contexts_role_combinations(
    proposed: tuple[bool, bool], answered: tuple[bool, bool] | None, usable: tuple[bool, bool] | None
) -> None:
    answers = [] if answered is None else [RoleSelection(CT, *answered)]
    result = accepted_contexts(
        PROPOSED, [PresentationContextAC(1, 0, EXPLICIT)], [RoleSelection(CT, *proposed)], answers
    )
    if usable is None:
        assert result == {}
    else:
        assert result == {1: AcceptedContext(1, CT, EXPLICIT, *usable)}


def test_roles_apply_per_sop_class_to_every_context_of_it() -> None:
    proposed = propose([(CT, [EXPLICIT]), (CT, [IMPLICIT]), (MR, [IMPLICIT])])
    answered = [PresentationContextAC(1, 0, EXPLICIT), PresentationContextAC(3, 0, IMPLICIT)]
    answered.append(PresentationContextAC(5, 0, IMPLICIT))
    result = accepted_contexts(
        proposed, answered, [RoleSelection(CT, False, True)], [RoleSelection(CT, False, True)]
    )
    assert [(c.context_id, c.requestor_scu, c.requestor_scp) for c in result.values()] == [
        (1, False, True),
        (3, False, True),
        (5, True, False),
    ]
