"""The -d association dump: DCMTK's block shape, without secrets."""

from __future__ import annotations

from dicomwire import uids
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.ul.items import UserIdentityRQ


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
