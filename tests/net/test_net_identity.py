"""User identity over loopback: our requestor's ``user_identity`` against a Server with an
IdentityPolicy (accepted with the positive response, refused, missing when required)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse.messages import CEchoRQ
from dicomwire.errors import AssociationRejected
from dicomwire.net.association import Association
from dicomwire.net.client import associate
from dicomwire.net.server import AssociationLog, Server
from dicomwire.services.identity import PasswordHash, UsersFile
from dicomwire.services.verification import echo, handle_echo
from dicomwire.ul.identity import IdentityAccepted, IdentityPolicy, IdentityRefused, IdentityVerdict
from dicomwire.ul.items import UserIdentityRQ
from dicomwire.ul.pdu import AAssociateRJ

ECHO = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]


def run(coro: Awaitable[None], limit: float = 20.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, limit)

    asyncio.run(bounded())


class Refusals(AssociationLog):
    """The library's log lines, and each refusal's ``why``."""

    def __init__(self) -> None:
        self.whys: list[tuple[tuple[int, int, int], str]] = []

    def refused(self, assoc: Association, rejection: AAssociateRJ, why: str) -> None:
        self.whys.append(((rejection.result, rejection.source, rejection.reason), why))
        super().refused(assoc, rejection, why)


def jwt(identity: UserIdentityRQ, peer: tuple[str, int]) -> IdentityVerdict:
    """A stand-in token verifier: one good token, answered with a response."""
    if identity.primary_field == b"eyJ.good.sig" and peer[0] in ("127.0.0.1", "localhost"):
        return IdentityAccepted(b"eyJ.server.response")
    return IdentityRefused("token not trusted")


@pytest.fixture
def verifier(tmp_path: Path) -> UsersFile:
    path = tmp_path / "users.txt"
    path.write_text(f"modality\nalice:{PasswordHash.make('secret', 1000).encode()}\n")
    return UsersFile.load(path, tokens=jwt)


@asynccontextmanager
async def server(policy: IdentityPolicy, events: Refusals) -> AsyncIterator[Server]:
    settings = AcceptorSettings(identity=policy, host_lookup=False)
    srv = Server(settings, {CEchoRQ: handle_echo}, events=events)
    await srv.start("127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.close()


@pytest.mark.parametrize(
    ("identity", "response"),
    [
        (UserIdentityRQ(2, b"alice", b"secret", positive_response_requested=True), b""),
        (UserIdentityRQ(1, b"modality", positive_response_requested=True), b""),
        (UserIdentityRQ(5, b"eyJ.good.sig", positive_response_requested=True), b"eyJ.server.response"),
        (UserIdentityRQ(2, b"alice", b"secret"), None),
    ],
)
def test_accepted_with_the_positive_response(
    verifier: UsersFile, identity: UserIdentityRQ, response: bytes | None
) -> None:
    events = Refusals()

    async def main() -> None:
        async with (
            server(IdentityPolicy(verifier), events) as srv,
            associate("127.0.0.1", srv.port, contexts=ECHO, user_identity=identity) as assoc,
        ):
            assert assoc.accept is not None
            answer = assoc.accept.user_information.user_identity_ac
            assert (answer.server_response if answer is not None else None) == response
            assert (await echo(assoc)).status == 0

    run(main())
    assert events.whys == []


@pytest.mark.parametrize(
    ("identity", "why"),
    [
        (UserIdentityRQ(2, b"alice", b"wrong"), "user identity refused: wrong password for user 'alice'"),
        (UserIdentityRQ(1, b"alice"), "user identity refused: user 'alice' needs a password"),
        (
            UserIdentityRQ(1, b"mallory", positive_response_requested=True),
            "user identity refused: unknown user 'mallory'",
        ),
        (UserIdentityRQ(5, b"eyJ.forged"), "user identity refused: token not trusted"),
        (None, "user identity required, none sent"),
    ],
)
def test_refused_with_a_permanent_rejection(
    verifier: UsersFile, identity: UserIdentityRQ | None, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    events = Refusals()

    async def main() -> None:
        async with server(IdentityPolicy(verifier), events) as srv:
            with pytest.raises(AssociationRejected) as rejected:
                await associate("127.0.0.1", srv.port, contexts=ECHO, user_identity=identity)
            assert (rejected.value.result, rejected.value.source, rejected.value.reason) == (1, 1, 1)
            # the server goes on serving the next peer
            good = UserIdentityRQ(1, b"modality")
            async with associate("127.0.0.1", srv.port, contexts=ECHO, user_identity=good) as assoc:
                assert (await echo(assoc)).status == 0

    with caplog.at_level("INFO", logger="dicomwire.server"):
        run(main())
    assert events.whys == [((1, 1, 1), why)]
    assert f"Refusing Association ({why})" in caplog.text
    assert "wrong\n" not in caplog.text and "'wrong'" not in caplog.text


def test_optional_identity_admits_anonymous_peers_but_not_wrong_passwords(verifier: UsersFile) -> None:
    events = Refusals()

    async def main() -> None:
        async with server(IdentityPolicy(verifier, required=False), events) as srv:
            async with associate("127.0.0.1", srv.port, contexts=ECHO) as assoc:
                assert (await echo(assoc)).status == 0
            with pytest.raises(AssociationRejected):
                await associate(
                    "127.0.0.1", srv.port, contexts=ECHO, user_identity=UserIdentityRQ(2, b"alice", b"wrong")
                )

    run(main())
    assert [why for _, why in events.whys] == ["user identity refused: wrong password for user 'alice'"]
