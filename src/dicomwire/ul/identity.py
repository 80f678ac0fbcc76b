"""User identity negotiation on the acceptor's side (PS3.7 D.3.3.7), as pure functions.

A requestor may put one User Identity sub-item in its A-ASSOCIATE-RQ: a user name, a user
name and passcode, a Kerberos service ticket, a SAML assertion or a JSON Web Token (types 1
to 5), and ask for a positive response.  An acceptor configured with an
:class:`IdentityPolicy` hands the sub-item to the policy's verifier, which returns
:class:`IdentityAccepted` (with the server response for a token type) or
:class:`IdentityRefused`; :func:`answer_identity` turns that verdict into the A-ASSOCIATE-AC's
sub-item, or into an :class:`IdentityRejection`.

The rules, from PS3.7 D.3.3.7 and D.3.3.7.2:

- the answer carries a User Identity sub-item only when the request asked for a positive
  response and the identity was accepted; for types 1 and 2 its server response is empty,
  for the token types it is what the verifier returned (the Kerberos server ticket, the SAML
  response, the JWT response);
- a policy that ``required`` an identity rejects a request without one;
- a refused identity is rejected whether or not the policy requires one: an administrator
  who configured users expects a wrong password to keep the peer out, not to let it in
  anonymously (the standard leaves the acceptor free to do either);
- the rejection is result 1 (rejected-permanent), source 1 (DICOM UL service-user), reason 1
  (no-reason-given): the decision is the application's, retrying with the same credentials
  cannot succeed, and PS3.8 9.3.4 has no more specific reason.

Without a policy the acceptor does not verify anything: it accepts the request and, for
types 1 and 2 with a positive response requested, answers with an empty sub-item (PS3.15
B.4, Basic User Identity); for the token types it sends none, having no server response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Final

from dicomwire._records import record
from dicomwire.ul.items import UserIdentityAC, UserIdentityRQ, UserIdentityType
from dicomwire.ul.pdu import AAssociateRJ, RejectResult, RejectSource

__all__ = [
    "IDENTITY_MISSING",
    "IDENTITY_REFUSED",
    "IdentityAccepted",
    "IdentityPolicy",
    "IdentityRefused",
    "IdentityRejection",
    "IdentityVerdict",
    "IdentityVerifier",
    "answer_identity",
    "identity_kind",
    "shown",
]

#: The start of the ``why`` of a rejection, as the server's events report it.
IDENTITY_REFUSED: Final = "user identity refused"
IDENTITY_MISSING: Final = "user identity required, none sent"
# PS3.8 9.3.4: no-reason-given, for source 1 (DICOM UL service-user).
_NO_REASON: Final = 1
# The sub-item's body is a 2-byte length and the response (PS3.7 D.3.3.7.2), at most 65535 bytes.
_MAX_SERVER_RESPONSE: Final = 0xFFFF - 2
_NAME_TYPES: Final = frozenset({UserIdentityType.USERNAME, UserIdentityType.USERNAME_AND_PASSCODE})
_KINDS: Final[Mapping[int, str]] = {
    UserIdentityType.USERNAME: "user name",
    UserIdentityType.USERNAME_AND_PASSCODE: "user name and passcode",
    UserIdentityType.KERBEROS: "Kerberos service ticket",
    UserIdentityType.SAML: "SAML assertion",
    UserIdentityType.JWT: "JSON Web Token",
}


@record(frozen=True, slots=True)
class IdentityAccepted:
    """The verifier's yes; ``server_response`` goes to the requestor when it asked for a
    positive response (ignored for types 1 and 2, whose response is always empty)."""

    server_response: bytes = b""


@record(frozen=True, slots=True)
class IdentityRefused:
    """The verifier's no, and why, for the log (never the passcode or the token itself)."""

    reason: str


IdentityVerdict = IdentityAccepted | IdentityRefused
#: Decides on a request's User Identity sub-item; the peer is (host, port) as the
#: server's other checks see it.  It runs on the server's event loop: keep it quick.
IdentityVerifier = Callable[[UserIdentityRQ, tuple[str, int]], IdentityVerdict]


@record(frozen=True)
class IdentityPolicy:
    """Who may associate: ``verifier`` decides on each identity sent; with ``required`` a
    request that sends none is rejected too."""

    verifier: IdentityVerifier
    required: bool = True


@record(frozen=True, slots=True)
class IdentityRejection(AAssociateRJ):
    """The A-ASSOCIATE-RJ for a refused or missing identity, with ``why`` for the log."""

    why: str = field(default="", compare=False)


def answer_identity(
    policy: IdentityPolicy | None, identity: UserIdentityRQ | None, peer: tuple[str, int]
) -> UserIdentityAC | IdentityRejection | None:
    """The A-ASSOCIATE-AC's User Identity sub-item (None: no sub-item), or the rejection."""
    if policy is None:
        return _unverified(identity)
    if identity is None:
        return _rejection(IDENTITY_MISSING) if policy.required else None
    verdict = policy.verifier(identity, peer)
    if not isinstance(verdict, IdentityAccepted):
        reason = verdict.reason if isinstance(verdict, IdentityRefused) else "the verifier gave no verdict"
        return _rejection(f"{IDENTITY_REFUSED}: {reason}")
    if not identity.positive_response_requested:
        return None
    if identity.identity_type in _NAME_TYPES:
        return UserIdentityAC()
    response = bytes(verdict.server_response)
    if len(response) > _MAX_SERVER_RESPONSE:
        why = f"{IDENTITY_REFUSED}: the server response of {len(response)} bytes does not fit the sub-item"
        return _rejection(why)
    return UserIdentityAC(response)


def _unverified(identity: UserIdentityRQ | None) -> UserIdentityAC | None:
    """No policy: accept; a positive response for the name types only (PS3.15 B.4)."""
    if identity is None or not identity.positive_response_requested:
        return None
    return UserIdentityAC() if identity.identity_type in _NAME_TYPES else None


def _rejection(why: str) -> IdentityRejection:
    return IdentityRejection(RejectResult.PERMANENT, RejectSource.SERVICE_USER, _NO_REASON, why)


def identity_kind(identity_type: int) -> str:
    """What a User-Identity-Type value means, in words ("user name", "SAML assertion", ...)."""
    return _KINDS.get(identity_type, f"user identity type {identity_type}")


def shown(raw: bytes, limit: int = 64) -> str:
    """A user name from the wire as it may be logged: decoded, cut to ``limit`` characters,
    quoted, with control characters escaped (the peer chose those bytes)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    if len(text) > limit or len(raw) > limit * 4:
        text = text[:limit] + "..."
    return repr(text)
