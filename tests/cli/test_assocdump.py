"""The -d association dump: DCMTK's block shape, without secrets."""

from __future__ import annotations

from dicomwire import uids
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.ul.items import (
    ContextResult,
    PresentationContextAC,
    RoleSelection,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
)
from dicomwire.ul.pdu import AAssociateAC


def _request(identity: UserIdentityRQ | None) -> list[str]:
    settings = RequestorSettings(
        calling_ae="ME",
        called_ae="YOU",
        contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])],
        user_identity=identity,
    )
    return dump_association(settings.build_request())


def test_request_dump_shape() -> None:
    lines = _request(None)
    assert lines[0] == "====================== BEGIN A-ASSOCIATE-RQ ====================="
    assert "Calling Application Name:    ME" in lines
    assert "  Context ID:        1 (Proposed)" in lines
    assert "    Abstract Syntax: =VerificationSOPClass" in lines
    assert "      =LittleEndianImplicit" in lines
    assert "Requested User Identity Negotiation: none" in lines
    assert lines[-1] == "======================= END A-ASSOCIATE-RQ ======================"


def test_user_identity_block_like_dcmtk_but_password_masked() -> None:
    lines = _request(UserIdentityRQ(2, b"alice", b"secret", True))
    start = lines.index("Requested User Identity Negotiation:")
    assert lines[start + 1 : start + 5] == [
        "  Authentication mode 2: Username/Password",
        "  Username: [alice]",
        "  Password: [********]",
        "  Positive Response requested: Yes",
    ]
    assert not any("secret" in line for line in lines)


def _identity_block(identity: UserIdentityRQ) -> list[str]:
    lines = _request(identity)
    start = lines.index("Requested User Identity Negotiation:")
    return lines[start + 1 : lines.index("User Identity Negotiation Response:  none")]


def test_opaque_identities_labelled_as_dcmtk() -> None:
    assert _identity_block(UserIdentityRQ(3, b"TICKETDATA")) == [
        "  Authentication mode 3: Kerberos",
        "  Kerberos Service Ticket (not dumped) length: 10",
        "  Positive Response requested: No",
    ]
    assert _identity_block(UserIdentityRQ(4, b"<saml/>"))[:2] == [
        "  Authentication mode 4: SAML",
        "  SAML Assertion (not dumped) length: 7",
    ]
    assert _identity_block(UserIdentityRQ(5, b"eyJ.x.y", positive_response_requested=True)) == [
        "  Authentication mode 5: JWT",
        "  JSON Web Token (not dumped) length: 7",
        "  Positive Response requested: Yes",
    ]
    assert _identity_block(UserIdentityRQ(9, b"abc", b"de"))[:3] == [
        "  Authentication mode: Unknown ",
        "  First value (not dumped), length: 3",
        "  Second Value (not dumped), length: 2",
    ]


def test_empty_password_shown_empty() -> None:
    assert "  Password: []" in _identity_block(UserIdentityRQ(2, b"bob", b""))


def _answered(contexts: tuple[PresentationContextAC, ...], info: UserInformation) -> list[str]:
    settings = RequestorSettings(
        calling_ae="ME",
        called_ae="YOU",
        contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])] * 2,
        roles=[RoleSelection(uids.VERIFICATION, False, True)],
    )
    accept = AAssociateAC(
        called_ae="YOU", calling_ae="ME", presentation_contexts=contexts, user_information=info
    )
    return dump_association(settings.build_request(), accept)


def test_rejected_contexts_show_the_accepted_role_and_no_syntax() -> None:
    contexts = (
        PresentationContextAC(1, ContextResult.ACCEPTANCE, uids.IMPLICIT_VR_LITTLE_ENDIAN),
        PresentationContextAC(3, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED),
    )
    refused = UserInformation(role_selections=(RoleSelection(uids.VERIFICATION, False, False),))
    lines = _answered(contexts, refused)
    rejected = lines.index("  Context ID:        3 (Abstract Syntax Not Supported)")
    assert lines[rejected + 1 : rejected + 4] == [
        "    Abstract Syntax: =VerificationSOPClass",
        "    Proposed SCP/SCU Role: SCP",
        "    Accepted SCP/SCU Role: None",
    ]
    assert lines[rejected + 4].startswith("Requested Extended Negotiation")


def test_identity_response_block() -> None:
    contexts = (PresentationContextAC(1, ContextResult.ACCEPTANCE, uids.IMPLICIT_VR_LITTLE_ENDIAN),)
    lines = _answered(contexts, UserInformation(user_identity_ac=UserIdentityAC(b"ok")))
    start = lines.index("User Identity Negotiation Response:")
    assert lines[start + 1] == "  Server Response (not dumped) length: 2"
