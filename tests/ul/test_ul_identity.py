"""User identity negotiation on the acceptor's side, in memory: answer_identity() and
negotiate() with requests carrying each identity type (PS3.7 D.3.3.7)."""

from __future__ import annotations

import pytest

from dicomwire import uids
from dicomwire.config import AcceptorSettings, RequestorSettings
from dicomwire.net.server import NO_ACCEPTABLE_CONTEXTS, negotiate
from dicomwire.ul.identity import (
    IDENTITY_MISSING,
    IDENTITY_REFUSED,
    IdentityAccepted,
    IdentityPolicy,
    IdentityRefused,
    IdentityRejection,
    IdentityVerdict,
    answer_identity,
    identity_kind,
    shown,
)
from dicomwire.ul.items import UserIdentityAC, UserIdentityRQ, UserIdentityType
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ

PEER = ("modality.example", 50000)
ECHO = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
# One request per identity type, each asking for a positive response.
IDENTITIES = {
    "username": UserIdentityRQ(1, b"alice", positive_response_requested=True),
    "username+passcode": UserIdentityRQ(2, b"alice", b"secret", positive_response_requested=True),
    "kerberos": UserIdentityRQ(3, b"KRB-TICKET", positive_response_requested=True),
    "saml": UserIdentityRQ(4, b"<saml:Assertion/>", positive_response_requested=True),
    "jwt": UserIdentityRQ(5, b"eyJhbGciOi.x.y", positive_response_requested=True),
}
# What a verifier that accepts everything answers, per type (the tokens' "server response").
RESPONSES = {3: b"KRB-SERVER-TICKET", 4: b"<samlp:Response/>", 5: b"eyJ-response"}


def request(identity: UserIdentityRQ | None, contexts: list[tuple[str, list[str]]] = ECHO) -> AAssociateRQ:
    return RequestorSettings(contexts=contexts, user_identity=identity).build_request()


class Recorder:
    """A verifier that answers ``verdict`` (or the type's response) and remembers its calls."""

    def __init__(self, verdict: IdentityVerdict | None = None) -> None:
        self.verdict = verdict
        self.calls: list[tuple[UserIdentityRQ, tuple[str, int]]] = []

    def __call__(self, identity: UserIdentityRQ, peer: tuple[str, int]) -> IdentityVerdict:
        self.calls.append((identity, peer))
        if self.verdict is not None:
            return self.verdict
        return IdentityAccepted(RESPONSES.get(identity.identity_type, b"ignored for names"))


def accepted(outcome: object) -> AAssociateAC:
    assert isinstance(outcome, tuple), outcome
    accept, contexts = outcome
    assert isinstance(accept, AAssociateAC) and contexts
    return accept


def identity_ac(outcome: object) -> UserIdentityAC | None:
    return accepted(outcome).user_information.user_identity_ac


# -- answer_identity -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IDENTITIES)
def test_accepted_identity_gets_the_server_response_of_its_type(name: str) -> None:
    identity = IDENTITIES[name]
    verifier = Recorder()
    answer = answer_identity(IdentityPolicy(verifier), identity, PEER)
    # PS3.7 D.3.3.7.2: empty for types 1 and 2, the verifier's response for the token types
    assert answer == UserIdentityAC(RESPONSES.get(identity.identity_type, b""))
    assert verifier.calls == [(identity, PEER)]


@pytest.mark.parametrize("name", IDENTITIES)
def test_no_sub_item_when_no_positive_response_was_requested(name: str) -> None:
    identity = UserIdentityRQ(IDENTITIES[name].identity_type, b"x", b"y", positive_response_requested=False)
    assert answer_identity(IdentityPolicy(Recorder()), identity, PEER) is None


@pytest.mark.parametrize("required", [True, False])
def test_refused_identity_is_rejected_whether_required_or_not(required: bool) -> None:
    policy = IdentityPolicy(Recorder(IdentityRefused("unknown user 'bob'")), required=required)
    answer = answer_identity(policy, IDENTITIES["username+passcode"], PEER)
    assert isinstance(answer, IdentityRejection)
    assert (answer.result, answer.source, answer.reason) == (1, 1, 1)
    assert answer.why == f"{IDENTITY_REFUSED}: unknown user 'bob'"


def test_missing_identity_rejected_only_when_required() -> None:
    verifier = Recorder()
    answer = answer_identity(IdentityPolicy(verifier, required=True), None, PEER)
    assert isinstance(answer, IdentityRejection) and answer.why == IDENTITY_MISSING
    assert (answer.result, answer.source, answer.reason) == (1, 1, 1)
    assert answer_identity(IdentityPolicy(verifier, required=False), None, PEER) is None
    assert verifier.calls == []


def test_a_verifier_returning_no_verdict_is_a_refusal() -> None:
    policy = IdentityPolicy(lambda identity, peer: True)  # type: ignore[arg-type,return-value]
    answer = answer_identity(policy, IDENTITIES["username"], PEER)
    assert isinstance(answer, IdentityRejection)
    assert answer.why == f"{IDENTITY_REFUSED}: the verifier gave no verdict"


def test_a_server_response_too_long_for_the_sub_item_is_a_refusal() -> None:
    policy = IdentityPolicy(Recorder(IdentityAccepted(b"x" * 0xFFFE)))
    answer = answer_identity(policy, IDENTITIES["jwt"], PEER)
    assert isinstance(answer, IdentityRejection) and "does not fit" in answer.why
    fits = answer_identity(IdentityPolicy(Recorder(IdentityAccepted(b"x" * 0xFFFD))), IDENTITIES["jwt"], PEER)
    assert fits == UserIdentityAC(b"x" * 0xFFFD)


@pytest.mark.parametrize(
    ("identity", "expected"),
    [
        (None, None),
        (UserIdentityRQ(1, b"alice"), None),
        (UserIdentityRQ(1, b"alice", positive_response_requested=True), UserIdentityAC()),
        (UserIdentityRQ(2, b"alice", b"pw", positive_response_requested=True), UserIdentityAC()),
        # no verifier, so no Kerberos ticket / SAML / JWT response to send: no positive response
        (IDENTITIES["kerberos"], None),
        (IDENTITIES["saml"], None),
        (IDENTITIES["jwt"], None),
    ],
)
def test_without_a_policy_nothing_is_verified(
    identity: UserIdentityRQ | None, expected: UserIdentityAC | None
) -> None:
    assert answer_identity(None, identity, PEER) == expected


def test_rejection_compares_as_its_fields_and_encodes_as_a_plain_rj() -> None:
    answer = answer_identity(IdentityPolicy(Recorder(IdentityRefused("no"))), IDENTITIES["username"], PEER)
    assert isinstance(answer, IdentityRejection)
    assert answer == IdentityRejection(1, 1, 1, "another why")
    assert answer.encode() == AAssociateRJ(1, 1, 1).encode()


def test_names_are_shown_quoted_escaped_and_cut() -> None:
    assert shown(b"alice") == "'alice'"
    assert shown(b"evil\nI: Association Acknowledged") == "'evil\\nI: Association Acknowledged'"
    assert shown(b"\xff\xfe") == repr("\ufffd\ufffd")  # undecodable bytes replaced
    assert shown(b"a" * 100) == repr("a" * 64 + "...")
    assert identity_kind(UserIdentityType.SAML) == "SAML assertion"
    assert identity_kind(9) == "user identity type 9"


# -- negotiate() -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IDENTITIES)
def test_negotiate_answers_each_identity_type(name: str) -> None:
    identity = IDENTITIES[name]
    verifier = Recorder()
    settings = AcceptorSettings(identity=IdentityPolicy(verifier))
    ac = identity_ac(negotiate(settings, request(identity), PEER))
    assert ac == UserIdentityAC(RESPONSES.get(identity.identity_type, b""))
    assert verifier.calls == [(identity, PEER)]


@pytest.mark.parametrize("name", IDENTITIES)
def test_negotiate_rejects_each_refused_identity_type(name: str) -> None:
    settings = AcceptorSettings(identity=IdentityPolicy(Recorder(IdentityRefused("not this one"))))
    outcome = negotiate(settings, request(IDENTITIES[name]), PEER)
    assert isinstance(outcome, IdentityRejection)
    assert outcome.why == "user identity refused: not this one"


def test_negotiate_rejects_a_request_without_identity_when_required() -> None:
    settings = AcceptorSettings(identity=IdentityPolicy(Recorder()))
    outcome = negotiate(settings, request(None), PEER)
    assert isinstance(outcome, IdentityRejection) and outcome.why == IDENTITY_MISSING
    optional = AcceptorSettings(identity=IdentityPolicy(Recorder(), required=False))
    assert identity_ac(negotiate(optional, request(None), PEER)) is None


def test_negotiate_runs_the_check_first_then_the_identity_then_the_contexts() -> None:
    verifier = Recorder()
    by_check = AAssociateRJ(1, 1, 3)
    checked = AcceptorSettings(identity=IdentityPolicy(verifier), check=lambda rq, peer: by_check)
    assert negotiate(checked, request(IDENTITIES["username"]), PEER) is by_check
    assert verifier.calls == []  # a request the check rejects costs no verification
    refusing = AcceptorSettings(identity=IdentityPolicy(Recorder(IdentityRefused("no"))))
    unsupported = [(uids.CT_IMAGE_STORAGE, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
    assert isinstance(
        negotiate(refusing, request(IDENTITIES["username"], unsupported), PEER), IdentityRejection
    )
    welcoming = AcceptorSettings(identity=IdentityPolicy(Recorder()))
    assert negotiate(welcoming, request(IDENTITIES["username"], unsupported), PEER) is NO_ACCEPTABLE_CONTEXTS


def test_negotiate_without_policy_keeps_the_basic_user_identity_answer() -> None:
    ac = identity_ac(negotiate(AcceptorSettings(), request(IDENTITIES["username+passcode"]), PEER))
    assert ac == UserIdentityAC()
    assert identity_ac(negotiate(AcceptorSettings(), request(IDENTITIES["jwt"]), PEER)) is None
