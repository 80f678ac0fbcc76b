"""Presentation-context and role negotiation as pure functions (PS3.8 9.3.2.2,
9.3.3.2; PS3.7 D.3.3.4).  No I/O, no state: the requestor builds its proposal,
the acceptor answers it, the requestor reads the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from dicomwire._records import record
from dicomwire.errors import LocalProtocolError, RemoteProtocolError
from dicomwire.ul.items import ContextResult, PresentationContextAC, PresentationContextRQ, RoleSelection

MAX_CONTEXTS = 128


@record(frozen=True, slots=True)
class AcceptedContext:
    """A presentation context both sides agreed on, with the roles of the requestor."""

    context_id: int
    abstract_syntax: str
    transfer_syntax: str
    requestor_scu: bool = True
    requestor_scp: bool = False


def propose(contexts: Iterable[tuple[str, Sequence[str]]]) -> tuple[PresentationContextRQ, ...]:
    """Number the proposed contexts 1, 3, 5, ... (at most 128)."""
    proposal = tuple(
        PresentationContextRQ(2 * index + 1, abstract, _syntax_tuple(syntaxes))
        for index, (abstract, syntaxes) in enumerate(contexts)
    )
    if len(proposal) > MAX_CONTEXTS:
        raise LocalProtocolError(f"{len(proposal)} presentation contexts proposed, at most 128 allowed")
    for context in proposal:
        if not context.transfer_syntaxes:
            raise LocalProtocolError(f"context for {context.abstract_syntax} proposes no transfer syntax")
    return proposal


def _syntax_tuple(syntaxes: Sequence[str]) -> tuple[str, ...]:
    """One transfer syntax given as a bare string is one syntax, not a tuple of characters."""
    return (syntaxes,) if isinstance(syntaxes, str) else tuple(syntaxes)


# -- acceptor -------------------------------------------------------------------------


def answer_contexts(
    proposed: Sequence[PresentationContextRQ],
    supported: Mapping[str, Sequence[str]],
    *,
    prefer_requestor_order: bool = False,
) -> tuple[PresentationContextAC, ...]:
    """The acceptor's result for each proposed context.

    ``supported`` maps each abstract syntax we accept to the transfer syntaxes
    we accept for it, in our order of preference (DCMTK's rule: the acceptor
    picks the first of its own list that the requestor proposed).  With
    ``prefer_requestor_order`` the requestor's order wins instead.
    """
    seen: set[int] = set()
    answers: list[PresentationContextAC] = []
    for context in proposed:
        context_id = context.context_id
        if context_id % 2 == 0 or context_id in seen:
            raise RemoteProtocolError(f"invalid or repeated presentation context ID {context_id}")
        seen.add(context_id)
        ours = supported.get(context.abstract_syntax)
        if ours is None:
            answers.append(PresentationContextAC(context_id, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED))
            continue
        chosen = _choose_syntax(context.transfer_syntaxes, _syntax_tuple(ours), prefer_requestor_order)
        if chosen is None:
            answers.append(PresentationContextAC(context_id, ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED))
        else:
            answers.append(PresentationContextAC(context_id, ContextResult.ACCEPTANCE, chosen))
    return tuple(answers)


def _choose_syntax(theirs: Sequence[str], ours: Sequence[str], requestor_order: bool) -> str | None:
    first, second = (theirs, ours) if requestor_order else (ours, theirs)
    allowed = set(second)
    return next((syntax for syntax in first if syntax in allowed), None)


def answer_roles(
    proposed: Sequence[RoleSelection], allowed: Mapping[str, tuple[bool, bool]]
) -> tuple[RoleSelection, ...]:
    """The acceptor's role-selection answers.

    ``allowed`` maps a SOP class to (may the requestor be SCU, may it be SCP).
    A SOP class not in ``allowed`` keeps the default roles: requestor SCU only.
    """
    answers = []
    for role in proposed:
        may_scu, may_scp = allowed.get(role.sop_class_uid, (True, False))
        # PS3.7 D.3.3.4: never return 1 for a role the requestor did not propose.
        answers.append(
            RoleSelection(role.sop_class_uid, role.scu_role and may_scu, role.scp_role and may_scp)
        )
    return tuple(answers)


# -- requestor -----------------------------------------------------------------------


def accepted_contexts(
    proposed: Sequence[PresentationContextRQ],
    answered: Sequence[PresentationContextAC],
    proposed_roles: Sequence[RoleSelection] = (),
    answered_roles: Sequence[RoleSelection] = (),
) -> dict[int, AcceptedContext]:
    """The usable contexts after an A-ASSOCIATE-AC, keyed by context ID."""
    by_id = {context.context_id: context for context in proposed}
    roles = effective_roles(proposed_roles, answered_roles)
    usable: dict[int, AcceptedContext] = {}
    for answer in answered:
        request = by_id.get(answer.context_id)
        if request is None:
            raise RemoteProtocolError(
                f"peer answered presentation context {answer.context_id}, which was never proposed"
            )
        if not answer.accepted:
            continue
        if answer.transfer_syntax not in request.transfer_syntaxes:
            raise RemoteProtocolError(
                f"peer accepted context {answer.context_id} with transfer syntax "
                f"{answer.transfer_syntax}, which was not proposed"
            )
        scu, scp = roles.get(request.abstract_syntax, (True, False))
        if scu or scp:
            usable[answer.context_id] = AcceptedContext(
                answer.context_id, request.abstract_syntax, answer.transfer_syntax, scu, scp
            )
    return usable


def effective_roles(
    proposed: Sequence[RoleSelection], answered: Sequence[RoleSelection]
) -> dict[str, tuple[bool, bool]]:
    """(requestor is SCU, requestor is SCP) per SOP class that had role selection.

    A role holds only when the requestor proposed it and the acceptor agreed.
    A proposal the acceptor did not answer falls back to the default roles.
    """
    answers = {role.sop_class_uid: role for role in answered}
    result: dict[str, tuple[bool, bool]] = {}
    for role in proposed:
        answer = answers.get(role.sop_class_uid)
        if answer is None:
            result[role.sop_class_uid] = (True, False)
        else:
            # The requestor ignores an answer of 1 for a role it did not propose.
            result[role.sop_class_uid] = (
                role.scu_role and answer.scu_role,
                role.scp_role and answer.scp_role,
            )
    return result
