"""The test PKI (tests/tls_certs.py) is what it claims: checked with Python's ``ssl`` over
in-memory handshakes (``ssl.MemoryBIO`` pairs, no sockets)."""

from __future__ import annotations

import base64
import datetime
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tls_certs import PKI_PASSWORD, Pki, make_pki, subject_hash

# OpenSSL's X509_V_ERR_* codes, as SSLCertVerificationError.verify_code reports them
CERT_HAS_EXPIRED = 10
DEPTH_ZERO_SELF_SIGNED_CERT = 18
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
CERT_REVOKED = 23
HOSTNAME_MISMATCH = 62


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _client_context(pki: Pki, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=pki.ca_cert)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def _handshake(
    client_context: ssl.SSLContext, server_context: ssl.SSLContext, hostname: str | None = "localhost"
) -> tuple[ssl.SSLError | None, ssl.SSLError | None]:
    """Run a handshake between the two contexts in memory; each side's error, or None."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(client_in, client_out, server_side=False, server_hostname=hostname)
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    errors: dict[str, ssl.SSLError | None] = {}
    for _ in range(20):
        for name, side in (("client", client), ("server", server)):
            if name in errors:
                continue
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                continue
            except ssl.SSLError as error:
                errors[name] = error
            else:
                errors[name] = None
        moved = client_out.pending + server_out.pending
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if not moved and len(errors) == 2:
            break
    assert len(errors) == 2, f"handshake did not finish: {errors}"
    return errors["client"], errors["server"]


def _verify_code(error: ssl.SSLError | None) -> int:
    assert isinstance(error, ssl.SSLCertVerificationError), error
    return error.verify_code


def test_server_and_ecdsa_contexts_load(pki: Pki) -> None:
    _server_context(pki.server_cert, pki.server_key)
    _server_context(pki.ecdsa_cert, pki.ecdsa_key)
    _server_context(pki.client_cert, pki.client_key)


def test_client_trusting_the_ca_verifies_the_server(pki: Pki) -> None:
    server = _server_context(pki.server_cert, pki.server_key)
    assert _handshake(_client_context(pki), server) == (None, None)
    assert _handshake(_client_context(pki), server, hostname="127.0.0.1") == (None, None)


def test_ecdsa_server_verifies(pki: Pki) -> None:
    assert _handshake(_client_context(pki), _server_context(pki.ecdsa_cert, pki.ecdsa_key)) == (None, None)


def test_ca_dir_is_a_capath(pki: Pki) -> None:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(capath=pki.ca_dir)
    assert _handshake(client, _server_context(pki.server_cert, pki.server_key)) == (None, None)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_subject_hash_is_openssls(pki: Pki) -> None:
    for cert in (pki.ca_cert, pki.server_cert, pki.client_cert):
        printed = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", str(cert)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert subject_hash(x509.load_pem_x509_certificate(cert.read_bytes())) == printed
        if cert == pki.ca_cert:
            assert [path.name for path in pki.ca_dir.iterdir()] == [f"{printed}.0"]


def test_client_trusting_nothing_fails(pki: Pki) -> None:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_error, _ = _handshake(client, _server_context(pki.server_cert, pki.server_key))
    assert _verify_code(client_error) == UNABLE_TO_GET_ISSUER_CERT_LOCALLY


@pytest.mark.parametrize(
    ("which", "code"), [("rogue", DEPTH_ZERO_SELF_SIGNED_CERT), ("expired", CERT_HAS_EXPIRED)]
)
def test_rogue_and_expired_servers_fail_verification(pki: Pki, which: str, code: int) -> None:
    cert, key = getattr(pki, f"{which}_cert"), getattr(pki, f"{which}_key")
    client_error, _ = _handshake(_client_context(pki), _server_context(cert, key))
    assert _verify_code(client_error) == code


def test_other_host_fails_only_the_host_name_check(pki: Pki) -> None:
    server = _server_context(pki.other_host_cert, pki.other_host_key)
    client_error, _ = _handshake(_client_context(pki), server)
    assert _verify_code(client_error) == HOSTNAME_MISMATCH
    lenient = _client_context(pki)
    lenient.check_hostname = False
    assert _handshake(lenient, server) == (None, None)
    assert _handshake(_client_context(pki), server, hostname="other.example") == (None, None)


def test_encrypted_keys_need_the_password(pki: Pki) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key_encrypted, password=PKI_PASSWORD)
    with pytest.raises(ssl.SSLError):
        context.load_cert_chain(pki.server_cert, pki.server_key_encrypted, password="wrong")
    assert pki.server_key_encrypted.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert pki.server_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(TypeError):  # cryptography: "Password was not given but private key is encrypted"
        serialization.load_pem_private_key(pki.server_key_encrypted.read_bytes(), password=None)


def test_der_forms_are_the_same_certificate_and_key(pki: Pki) -> None:
    pem_cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    assert x509.load_der_x509_certificate(pki.server_cert_der.read_bytes()) == pem_cert
    numbers = serialization.load_pem_private_key(pki.server_key.read_bytes(), None)
    plain = serialization.load_der_private_key(pki.server_key_der.read_bytes(), None)
    encrypted = serialization.load_der_private_key(
        pki.server_key_der_encrypted.read_bytes(), PKI_PASSWORD.encode()
    )
    assert isinstance(numbers, rsa.RSAPrivateKey)
    assert isinstance(plain, rsa.RSAPrivateKey) and isinstance(encrypted, rsa.RSAPrivateKey)
    assert plain.private_numbers() == encrypted.private_numbers() == numbers.private_numbers()
    with pytest.raises(TypeError):
        serialization.load_der_private_key(pki.server_key_der_encrypted.read_bytes(), None)


def test_certificate_contents(pki: Pki) -> None:
    now = datetime.datetime.now(datetime.UTC)
    server = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert server.not_valid_before_utc < now < server.not_valid_after_utc
    expired = x509.load_pem_x509_certificate(pki.expired_cert.read_bytes())
    assert expired.not_valid_after_utc < now
    ecdsa = x509.load_pem_x509_certificate(pki.ecdsa_cert.read_bytes())
    assert isinstance(ecdsa.public_key(), ec.EllipticCurvePublicKey)
    client = x509.load_pem_x509_certificate(pki.client_cert.read_bytes())
    assert client.subject.rfc4514_string().startswith("CN=dicomwire-client")


def _crl_server(pki: Pki, crl: Path) -> ssl.SSLContext:
    server = _server_context(pki.server_cert, pki.server_key)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=pki.ca_cert)
    server.load_verify_locations(cafile=crl)
    server.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return server


def test_crl_rejects_the_revoked_client(pki: Pki) -> None:
    server = _crl_server(pki, pki.crl)
    _, server_error = _handshake(_client_context(pki, pki.revoked_cert, pki.revoked_key), server)
    assert _verify_code(server_error) == CERT_REVOKED
    assert _handshake(_client_context(pki, pki.client_cert, pki.client_key), server) == (None, None)


def test_empty_crl_revokes_nothing(pki: Pki) -> None:
    server = _crl_server(pki, pki.empty_crl)
    assert _handshake(_client_context(pki, pki.revoked_cert, pki.revoked_key), server) == (None, None)


def _der_integers(der: bytes) -> list[int]:
    """The INTEGERs of a DER SEQUENCE of INTEGERs (as PKCS#3 DH parameters are)."""

    def header(at: int) -> tuple[int, int]:  # (content offset, content length) of the TLV at ``at``
        length = der[at + 1]
        if length < 0x80:
            return at + 2, length
        size = length & 0x7F
        return at + 2 + size, int.from_bytes(der[at + 2 : at + 2 + size], "big")

    assert der[0] == 0x30
    at, length = header(0)
    end, integers = at + length, []
    while at < end:
        assert der[at] == 0x02
        start, length = header(at)
        integers.append(int.from_bytes(der[start : start + length], "big"))
        at = start + length
    return integers


def test_dh_params_are_ffdhe2048(pki: Pki) -> None:
    _server_context(pki.server_cert, pki.server_key).load_dh_params(str(pki.dh_params))
    text = pki.dh_params.read_text()
    assert text.startswith("-----BEGIN DH PARAMETERS-----\n")
    p, g = _der_integers(base64.b64decode("".join(text.splitlines()[1:-1])))
    assert g == 2 and p.bit_length() == 2048
    assert p % 2**64 == 2**64 - 1 and p >> 1984 == 2**64 - 1  # RFC 7919's fixed bits
