"""The association parameter dump DCMTK's tools print at debug level.

Same block shape as DCMTK (``BEGIN A-ASSOCIATE-RQ`` ... ``END``) so people who
grep DCMTK logs find the same lines; UIDs with a DCMTK name print as ``=Name``.
"""

from __future__ import annotations

from collections.abc import Callable

from dicomwire import uids
from dicomwire.ul.items import (
    ContextResult,
    PresentationContextAC,
    RoleSelection,
    UserIdentityRQ,
    UserInformation,
)
from dicomwire.ul.pdu import AAssociateAC, AAssociateRQ

_RESULTS = {
    ContextResult.ACCEPTANCE: "Accepted",
    ContextResult.USER_REJECTION: "User Rejection",
    ContextResult.NO_REASON: "Provider Rejection",
    ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED: "Abstract Syntax Not Supported",
    ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED: "Transfer Syntaxes Not Supported",
}


# A role-selection item as DCMTK names it; (0, 0) is "None", an absent item "Default".
_ROLES = {(True, False): "SCU", (False, True): "SCP", (True, True): "SCP/SCU", (False, False): "None"}


def _named(uid: str, name_of: Callable[[str], str]) -> str:
    name = name_of(uid)
    return uid if name == uid else "=" + name


def _role(role: RoleSelection | None) -> str:
    if role is None:
        return "Default"
    return _ROLES[(role.scu_role, role.scp_role)]


def dump_association(
    request: AAssociateRQ, accept: AAssociateAC | None = None, name_of: Callable[[str], str] = uids.name_of
) -> list[str]:
    """The lines of DCMTK's association dump: the request alone, or with the answer."""
    ours = request.user_information
    theirs: UserInformation | None = accept.user_information if accept else None
    title = "A-ASSOCIATE-AC" if accept else "A-ASSOCIATE-RQ"
    lines = [
        f"====================== BEGIN {title} =====================",
        f"Our Implementation Class UID:      {ours.implementation_class_uid}",
        f"Our Implementation Version Name:   {ours.implementation_version_name}",
        f"Their Implementation Class UID:    {theirs.implementation_class_uid if theirs else ''}",
        f"Their Implementation Version Name: {theirs.implementation_version_name if theirs else ''}",
        f"Application Context Name:    {request.application_context}",
        f"Calling Application Name:    {request.calling_ae}",
        f"Called Application Name:     {request.called_ae}",
        f"Responding Application Name: {accept.called_ae if accept else request.called_ae}",
        f"Our Max PDU Receive Size:    {ours.max_length or 0}",
        f"Their Max PDU Receive Size:  {(theirs.max_length or 0) if theirs else 0}",
        "Presentation Contexts:",
    ]
    answers = {c.context_id: c for c in accept.presentation_contexts} if accept else {}
    proposed_roles = {r.sop_class_uid: r for r in ours.role_selections}
    accepted_roles = {r.sop_class_uid: r for r in theirs.role_selections} if theirs else {}
    for context in request.presentation_contexts:
        answer = answers.get(context.context_id)
        lines += _context_lines(
            context.context_id,
            context.abstract_syntax,
            context.transfer_syntaxes,
            answer,
            proposed_roles.get(context.abstract_syntax),
            accepted_roles.get(context.abstract_syntax),
            name_of,
        )
    lines += [
        f"Requested Extended Negotiation: {'present' if ours.extended_negotiation else 'none'}",
        f"Accepted Extended Negotiation:  {'present' if theirs and theirs.extended_negotiation else 'none'}",
        *_identity_lines(ours),
        *_identity_response_lines(theirs),
        f"======================= END {title} ======================",
    ]
    return lines


def _context_lines(
    context_id: int,
    abstract: str,
    syntaxes: tuple[str, ...],
    answer: PresentationContextAC | None,
    proposed_role: RoleSelection | None,
    accepted_role: RoleSelection | None,
    name_of: Callable[[str], str],
) -> list[str]:
    status = "Proposed" if answer is None else _RESULTS.get(ContextResult(answer.result), "Rejected")
    lines = [
        f"  Context ID:        {context_id} ({status})",
        f"    Abstract Syntax: {_named(abstract, name_of)}",
        f"    Proposed SCP/SCU Role: {_role(proposed_role)}",
    ]
    if answer is None:
        lines.append("    Proposed Transfer Syntax(es):")
        lines += [f"      {_named(ts, name_of)}" for ts in syntaxes]
    else:
        lines.append(f"    Accepted SCP/SCU Role: {_role(accepted_role)}")
        if answer.accepted:
            lines.append(f"    Accepted Transfer Syntax: {_named(answer.transfer_syntax, name_of)}")
    return lines


_PASSWORD_MASK = "*" * 8
# Per authentication mode (PS3.7 D.3.3.7): DCMTK's name, and how it labels a value it does not dump.
_OPAQUE_IDENTITIES = {
    3: ("Kerberos", "Kerberos Service Ticket"),
    4: ("SAML", "SAML Assertion"),
    5: ("JWT", "JSON Web Token"),
}


def _identity_lines(info: UserInformation) -> list[str]:
    """DCMTK's user identity block; unlike DCMTK we never print the password."""
    identity = info.user_identity_rq
    if identity is None:
        return ["Requested User Identity Negotiation: none"]
    return [
        "Requested User Identity Negotiation:",
        *_identity_value_lines(identity),
        f"  Positive Response requested: {'Yes' if identity.positive_response_requested else 'No'}",
    ]


def _identity_value_lines(identity: UserIdentityRQ) -> list[str]:
    mode = identity.identity_type
    if mode == 1:
        return ["  Authentication mode 1: Username", _username_line(identity)]
    if mode == 2:
        password = _PASSWORD_MASK if identity.secondary_field else ""
        return [
            "  Authentication mode 2: Username/Password",
            _username_line(identity),
            f"  Password: [{password}]",
        ]
    if mode in _OPAQUE_IDENTITIES:
        name, value = _OPAQUE_IDENTITIES[mode]
        return [
            f"  Authentication mode {mode}: {name}",
            f"  {value} (not dumped) length: {len(identity.primary_field)}",
        ]
    return [
        "  Authentication mode: Unknown ",
        f"  First value (not dumped), length: {len(identity.primary_field)}",
        f"  Second Value (not dumped), length: {len(identity.secondary_field)}",
    ]


def _username_line(identity: UserIdentityRQ) -> str:
    return f"  Username: [{identity.primary_field.decode('utf-8', 'replace')}]"


def _identity_response_lines(theirs: UserInformation | None) -> list[str]:
    response = theirs.user_identity_ac if theirs else None
    if response is None:
        return ["User Identity Negotiation Response:  none"]
    return [
        "User Identity Negotiation Response:",
        f"  Server Response (not dumped) length: {len(response.server_response)}",
    ]
