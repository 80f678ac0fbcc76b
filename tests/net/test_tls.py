"""TLS associations over loopback: our requestor against our acceptor, on asyncio's loop and uvloop.

Certificates come from ``tls_certs.make_pki`` (a CA, leaf, expired, rogue, other-host and revoked
certificates, an encrypted key, DER files, a CRL).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import uvloop
from pydicom import Dataset, dcmread

from dicomwire import uids
from dicomwire.config import AcceptorSettings, Timeouts
from dicomwire.dimse.messages import CEchoRQ
from dicomwire.errors import AssociationAborted, ConnectError, TLSHandshakeError, TLSSetupError
from dicomwire.net.client import associate
from dicomwire.net.tls import PeerVerification, RevocationCheck, TLSProfile, TLSSettings
from dicomwire.services.contexts import all_storage_contexts
from dicomwire.services.server import Server
from dicomwire.services.storage import store
from dicomwire.services.storage_scp import StorageSCP
from dicomwire.services.verification import echo, handle_echo
from tls_certs import PKI_PASSWORD, Pki, make_pki

ECHO = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
LOOPS = [pytest.param(False, id="asyncio"), pytest.param(True, id="uvloop")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def run(coro: Callable[[], Awaitable[None]], use_uvloop: bool = False, limit: float = 20.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro(), limit)

    if use_uvloop:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(bounded())
    else:
        asyncio.run(bounded())


def server_tls(pki: Pki, **changes: object) -> TLSSettings:
    base = TLSSettings(
        private_key=pki.server_key, certificate=pki.server_cert, trusted_certificates=(pki.ca_cert,)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def client_tls(pki: Pki, **changes: object) -> TLSSettings:
    base = TLSSettings(
        private_key=pki.client_key, certificate=pki.client_cert, trusted_certificates=(pki.ca_cert,)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@asynccontextmanager
async def tls_server(tls: TLSSettings | ssl.SSLContext, acse: float = 5.0) -> AsyncIterator[Server]:
    settings = AcceptorSettings(timeouts=Timeouts(acse=acse))
    server = Server(settings, {CEchoRQ: handle_echo}, echo=None, tls=tls)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def echo_over(port: int, tls: TLSSettings | ssl.SSLContext | None) -> tuple[int, object]:
    async with associate("127.0.0.1", port, contexts=ECHO, tls=tls, timeouts=Timeouts(acse=5)) as assoc:
        status = (await echo(assoc)).status
        transport = assoc._transport
        assert transport is not None
        tls_object = transport.get_extra_info("ssl_object")
        return status, (tls_object.cipher()[0], tls_object.version()) if tls_object else None


@pytest.mark.parametrize("use_uvloop", LOOPS)
def test_mutual_tls_echo(pki: Pki, use_uvloop: bool) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki)) as server:
            for _ in range(3):  # the same server, several connections
                status, cipher = await echo_over(server.port, client_tls(pki))
                assert status == 0
                assert isinstance(cipher, tuple) and cipher[1] == "TLSv1.3"

    run(body, use_uvloop)


@pytest.mark.parametrize(
    ("profile", "version", "suite"),
    [
        (TLSProfile.BCP195_EX, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
        (TLSProfile.AES, "TLSv1.2", "AES128-SHA"),
        (TLSProfile.BCP195_ND, "TLSv1.3", None),
    ],
)
def test_profiles_negotiate_what_they_say(pki: Pki, profile: TLSProfile, version: str, suite: str) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki, profile=profile)) as server:
            _, cipher = await echo_over(server.port, client_tls(pki, profile=profile))
            assert isinstance(cipher, tuple)
            assert cipher[1] == version
            if suite is not None:
                assert cipher[0] == suite

    run(body)


def test_a_null_profile_client_cannot_reach_a_bcp195_server(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki)) as server:
            with pytest.raises(TLSHandshakeError):
                await echo_over(server.port, client_tls(pki, profile=TLSProfile.NULL))

    run(body)


@pytest.mark.parametrize("use_uvloop", LOOPS)
def test_anonymous_client(pki: Pki, use_uvloop: bool, caplog: pytest.LogCaptureFixture) -> None:
    anonymous = TLSSettings(trusted_certificates=(pki.ca_cert,))

    async def body() -> None:
        async with tls_server(server_tls(pki, peer_verification=PeerVerification.VERIFY)) as server:
            assert (await echo_over(server.port, anonymous))[0] == 0
        async with tls_server(server_tls(pki)) as server:  # requires a client certificate
            with pytest.raises((AssociationAborted, ConnectError)):
                await echo_over(server.port, anonymous)
            assert (await echo_over(server.port, client_tls(pki)))[0] == 0  # still serving

    with caplog.at_level(logging.ERROR, "dicomwire.server"):
        run(body, use_uvloop)
    assert (
        "TLS connection from 127.0.0.1 failed: TLS handshake failed: peer did not return a certificate"
        in (caplog.text)
    )


@pytest.mark.parametrize(
    ("cert", "key", "reason"),
    [
        ("expired_cert", "expired_key", "certificate has expired"),
        ("rogue_cert", "rogue_key", "self-signed certificate"),
    ],
)
def test_the_requestor_refuses_a_bad_server_certificate(pki: Pki, cert: str, key: str, reason: str) -> None:
    async def body() -> None:
        tls = server_tls(pki, certificate=getattr(pki, cert), private_key=getattr(pki, key))
        async with tls_server(tls) as server:
            with pytest.raises(TLSHandshakeError) as caught:
                await echo_over(server.port, client_tls(pki))
            assert caught.value.verify_message == reason
            assert str(caught.value) == f"TLS handshake failed: {reason}"
            # -ic: not checked, so it works
            status, _ = await echo_over(
                server.port, client_tls(pki, peer_verification=PeerVerification.IGNORE)
            )
            assert status == 0

    run(body)


def test_host_names_are_checked_only_when_asked(pki: Pki) -> None:
    async def body() -> None:
        tls = server_tls(pki, certificate=pki.other_host_cert, private_key=pki.other_host_key)
        async with tls_server(tls) as server:
            assert (await echo_over(server.port, client_tls(pki)))[0] == 0  # as DCMTK: no host check
            with pytest.raises(TLSHandshakeError, match="mismatch, certificate is not valid"):
                await echo_over(server.port, client_tls(pki, check_hostname=True))

    run(body)


def test_a_revoked_client_is_refused(pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki, revocation_lists=(pki.crl,))) as server:
            revoked = client_tls(pki, certificate=pki.revoked_cert, private_key=pki.revoked_key)
            with pytest.raises((AssociationAborted, ConnectError)):
                await echo_over(server.port, revoked)
            assert (await echo_over(server.port, client_tls(pki)))[0] == 0

    with caplog.at_level(logging.ERROR, "dicomwire.server"):
        run(body)
    assert "certificate revoked" in caplog.text


def test_a_chain_check_needs_every_crl(pki: Pki) -> None:
    context = server_tls(pki, revocation_lists=(pki.empty_crl,), revocation_check=RevocationCheck.CHAIN)
    flags = context.context(server_side=True).verify_flags
    assert flags & ssl.VERIFY_CRL_CHECK_CHAIN


@pytest.mark.parametrize("use_uvloop", LOOPS)
def test_plain_and_tls_peers_on_the_wrong_port(
    pki: Pki, use_uvloop: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki)) as server:
            with pytest.raises(AssociationAborted):
                await echo_over(server.port, None)  # plain TCP to a TLS port
            assert (await echo_over(server.port, client_tls(pki)))[0] == 0
        plain = Server(AcceptorSettings(), {CEchoRQ: handle_echo}, echo=None)
        await plain.start("127.0.0.1", 0)
        try:
            with pytest.raises(ConnectError):  # TLS to a plain port
                await echo_over(plain.port, client_tls(pki))
            assert (await echo_over(plain.port, None))[0] == 0
        finally:
            await plain.close()

    with caplog.at_level(logging.ERROR, "dicomwire.server"):
        run(body, use_uvloop)
    assert "TLS handshake failed: wrong version number" in caplog.text


@pytest.mark.parametrize("use_uvloop", LOOPS)
def test_a_silent_connection_is_dropped_and_others_are_served(
    pki: Pki, use_uvloop: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with tls_server(server_tls(pki), acse=0.5) as server:
            loop = asyncio.get_running_loop()
            silent = socket.create_connection(("127.0.0.1", server.port))
            silent.setblocking(False)
            try:
                assert (await echo_over(server.port, client_tls(pki)))[0] == 0
                assert await asyncio.wait_for(loop.sock_recv(silent, 1), 5) == b""  # closed by the server
            finally:
                silent.close()

    with caplog.at_level(logging.ERROR, "dicomwire.server"):
        run(body, use_uvloop)
    assert "TLS handshake failed: no handshake within the timeout" in caplog.text


def test_a_handshake_that_never_ends_times_the_requestor_out(pki: Pki) -> None:
    async def body() -> None:
        async def accept_and_wait(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1)  # takes the ClientHello, answers nothing
            await asyncio.sleep(10)

        listener = await asyncio.start_server(accept_and_wait, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            with pytest.raises(TLSHandshakeError):
                async with associate(
                    "127.0.0.1", port, contexts=ECHO, tls=client_tls(pki), timeouts=Timeouts(acse=0.5)
                ):
                    pass
        finally:
            listener.close()

    run(body)


def test_encrypted_and_der_keys(pki: Pki) -> None:
    encrypted = server_tls(pki, private_key=pki.server_key_encrypted, key_password=PKI_PASSWORD)
    encrypted.context(server_side=True)
    asked: list[int] = []

    def ask() -> str:
        asked.append(1)
        return PKI_PASSWORD

    server_tls(pki, private_key=pki.server_key_encrypted, key_password=ask).context(server_side=True)
    assert asked == [1]
    with pytest.raises(TLSSetupError) as caught:
        server_tls(pki, private_key=pki.server_key_encrypted, key_password="wrong").context(server_side=True)
    assert caught.value.what == "private key"
    der = TLSSettings(private_key=pki.server_key_der, certificate=pki.server_cert_der, der=True)
    der.context(server_side=True)
    der_encrypted = replace(der, private_key=pki.server_key_der_encrypted, key_password=PKI_PASSWORD)
    der_encrypted.context(server_side=True)


def test_setup_errors_name_what_failed(pki: Pki, tmp_path: Path) -> None:
    cases: list[tuple[TLSSettings, str]] = [
        (server_tls(pki, private_key=tmp_path / "missing.pem"), "private key"),
        (server_tls(pki, certificate=tmp_path / "missing.pem"), "certificate"),
        (server_tls(pki, private_key=pki.client_key), "key mismatch"),
        (server_tls(pki, trusted_certificates=(tmp_path / "missing.pem",)), "trusted certificate"),
        (server_tls(pki, extra_ciphersuites=("TLS_NO_SUCH_SUITE",)), "ciphersuite"),
        (
            server_tls(
                pki, profile=TLSProfile.BCP195_EX, extra_ciphersuites=("TLS_RSA_WITH_AES_128_CBC_SHA",)
            ),
            "ciphersuite",
        ),
        (server_tls(pki, extra_ciphersuites=("TLS_RSA_WITH_NULL_SHA",)), "ciphersuite"),
        (TLSSettings(), "certificate"),  # an acceptor needs one
    ]
    for settings, what in cases:
        with pytest.raises(TLSSetupError) as caught:
            settings.context(server_side=True)
        assert caught.value.what == what, settings


def test_extra_suites_and_dh_parameters(pki: Pki) -> None:
    settings = server_tls(
        pki, extra_ciphersuites=("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",), dh_parameters=pki.dh_params
    )
    assert settings.cipher_string().endswith(":DHE-RSA-AES256-SHA256")
    settings.context(server_side=True)


@pytest.mark.parametrize("use_uvloop", LOOPS)
def test_a_large_instance_crosses_tls_intact(pki: Pki, tmp_path: Path, use_uvloop: bool) -> None:
    """Far more than a TLS record, with flow control on both sides; the stored file is the data set."""
    dataset = Dataset()
    dataset.SOPClassUID = uids.CT_IMAGE_STORAGE
    dataset.SOPInstanceUID = "1.2.3.4.5.6.7"
    dataset.PatientName = "TLS^Large"
    dataset.PixelData = bytes(range(256)) * 12288  # 3 MiB
    dataset["PixelData"].VR = "OB"
    contexts = [(uids.CT_IMAGE_STORAGE, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]

    async def body() -> None:
        settings = AcceptorSettings(supported=all_storage_contexts(), timeouts=Timeouts(acse=5))
        server = Server(settings, store=StorageSCP(tmp_path), tls=server_tls(pki))
        await server.start("127.0.0.1", 0)
        try:
            tls = client_tls(pki)
            async with associate(
                "127.0.0.1", server.port, contexts=contexts, tls=tls, max_pdu_length=65536
            ) as assoc:
                assert (await store(assoc, dataset)).status == 0
        finally:
            await server.close()

    run(body, use_uvloop)
    (stored,) = tmp_path.glob("*")
    assert dcmread(stored).PixelData == dataset.PixelData
