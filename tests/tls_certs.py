"""A throwaway public-key infrastructure for the TLS tests, built with ``cryptography``.

``make_pki(directory)`` writes a CA and the certificates, keys and revocation lists
that the TLS tests need into ``directory`` and returns their paths as a ``Pki``.
Nothing is cached: every call makes new keys (RSA 2048, one key reused for the
certificates whose keys nobody compares), so it takes a fraction of a second.

Formats: certificates are PEM (``*_der`` fields are DER); private keys are
unencrypted PKCS#8 (``-----BEGIN PRIVATE KEY-----``) unless the field says
``encrypted`` (PKCS#8 encrypted with ``PKI_PASSWORD``, ``-----BEGIN ENCRYPTED
PRIVATE KEY-----`` in PEM).  Every leaf certificate carries the extended key
usages serverAuth and clientAuth, so any of them can serve on either side.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PKI_PASSWORD = "secret"
"""The password of ``Pki.server_key_encrypted`` and ``Pki.server_key_der_encrypted``."""

SERIALS = {
    "ca": 1,
    "server": 2,
    "client": 3,
    "expired": 4,
    "rogue": 5,
    "other_host": 6,
    "revoked": 7,
    "ecdsa": 8,
}
"""The certificates' serial numbers: small and fixed, so that what a tool prints about a peer's
certificate is predictable (DCMTK prints -1 for serial numbers that do not fit a long)."""

SERVER_NAME = "localhost"
CLIENT_NAME = "dicomwire-client"
OTHER_HOST_NAME = "other.example"

# RFC 7919's ffdhe2048 group (a published constant, no generation needed), as OpenSSL writes it.
FFDHE2048_PEM = b"""-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Pki:
    """The files ``make_pki`` wrote (see the module's docstring for their formats)."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    ca_dir: Path
    """A directory with ``ca_cert`` under its OpenSSL subject-hash name (``<hash>.0``)."""
    server_cert: Path
    """CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by the CA, valid now-1d..now+365d."""
    server_key: Path
    server_key_encrypted: Path
    server_cert_der: Path
    server_key_der: Path
    server_key_der_encrypted: Path
    client_cert: Path
    """CN=dicomwire-client (SAN DNS:dicomwire-client), signed by the CA."""
    client_key: Path
    expired_cert: Path
    """As ``server_cert`` but valid from 30 days ago until yesterday."""
    expired_key: Path
    rogue_cert: Path
    """Self-signed, CN=localhost with the server's SANs: from no CA that anyone trusts."""
    rogue_key: Path
    other_host_cert: Path
    """Signed by the CA, CN and SAN DNS:other.example only."""
    other_host_key: Path
    revoked_cert: Path
    """A client certificate (CN=revoked-client) that ``crl`` revokes."""
    revoked_key: Path
    crl: Path
    """A CRL (PEM) signed by the CA revoking ``revoked_cert``."""
    empty_crl: Path
    """A CRL (PEM) signed by the CA revoking nothing."""
    ecdsa_cert: Path
    """P-256 key, CN=localhost with the server's SANs, signed by the (RSA) CA."""
    ecdsa_key: Path
    dh_params: Path
    """RFC 7919 ffdhe2048 as PEM ``DH PARAMETERS``."""


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dicomwire tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: _PrivateKey, *, der: bool = False, password: str | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password.encode())
    )
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    path.write_bytes(key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, encryption))
    return path


def _write_cert(path: Path, cert: x509.Certificate, *, der: bool = False) -> Path:
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    path.write_bytes(cert.public_bytes(encoding))
    return path


def _sans(dns: str, *, ip: bool) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName(dns)]
    if ip:
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    return x509.SubjectAlternativeName(names)


def _leaf(
    common_name: str,
    key: _PrivateKey,
    *,
    issuer: x509.Certificate | None,
    issuer_key: _PrivateKey,
    sans: x509.SubjectAlternativeName,
    validity: tuple[datetime.datetime, datetime.datetime],
    serial: int,
) -> x509.Certificate:
    """An end-entity certificate for ``key``, signed by ``issuer`` (None: self-signed)."""
    subject = _name(common_name)
    public_key = key.public_key()
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=isinstance(key, ec.EllipticCurvePrivateKey),
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(sans, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(key: rsa.RSAPrivateKey, now: datetime.datetime) -> x509.Certificate:
    subject = _name("dicomwire test CA")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(SERIALS["ca"])
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _crl(
    ca: x509.Certificate, ca_key: rsa.RSAPrivateKey, revoked: list[x509.Certificate], number: int
) -> x509.CertificateRevocationList:
    now = datetime.datetime.now(datetime.UTC)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - datetime.timedelta(days=1))
        .next_update(now + datetime.timedelta(days=30))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - datetime.timedelta(hours=1))
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256())


# --- OpenSSL's subject hash (X509_NAME_hash, as `openssl x509 -hash` prints it) ---------------------


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


def _der_oid(dotted: str) -> bytes:
    arcs = [int(arc) for arc in dotted.split(".")]
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _der(0x06, bytes(out))


def _canonical(value: str) -> str:
    """OpenSSL's canonical form of a string value: trimmed, runs of spaces made one, ASCII lowercased."""
    return " ".join(value.split()).translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    )


def subject_hash(cert: x509.Certificate) -> str:
    """The certificate's subject hash as OpenSSL computes it for ``capath`` lookups (8 hex digits).

    SHA-1 of the canonical encoding of the name (each RDN's SET with its string values as
    trimmed, space-collapsed, lowercased UTF8Strings, without the outer SEQUENCE); its first
    four bytes read little-endian.  Only for names of text attributes, as ``make_pki`` makes.
    """
    encoded = b""
    for rdn in cert.subject.rdns:
        members = sorted(
            _der(
                0x30,
                _der_oid(attribute.oid.dotted_string) + _der(0x0C, _canonical(str(attribute.value)).encode()),
            )
            for attribute in rdn
        )
        encoded += _der(0x31, b"".join(members))
    digest = hashlib.sha1(encoded).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def make_pki(directory: Path) -> Pki:
    """Write a fresh CA and everything that hangs off it into ``directory`` (created if need be)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)
    valid = (now - day, now + 365 * day)

    ca_key = _rsa_key()
    server_key = _rsa_key()
    client_key = _rsa_key()
    rogue_key = _rsa_key()
    spare_key = _rsa_key()  # shared by the certificates whose keys nothing compares
    ecdsa_key = ec.generate_private_key(ec.SECP256R1())

    ca = _ca(ca_key, now)
    localhost = _sans(SERVER_NAME, ip=True)
    server = _leaf(
        SERVER_NAME,
        server_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=localhost,
        validity=valid,
        serial=SERIALS["server"],
    )
    client = _leaf(
        CLIENT_NAME,
        client_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=_sans(CLIENT_NAME, ip=False),
        validity=valid,
        serial=SERIALS["client"],
    )
    expired = _leaf(
        SERVER_NAME,
        spare_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=localhost,
        validity=(now - 30 * day, now - day),
        serial=SERIALS["expired"],
    )
    rogue = _leaf(
        SERVER_NAME,
        rogue_key,
        issuer=None,
        issuer_key=rogue_key,
        sans=localhost,
        validity=valid,
        serial=SERIALS["rogue"],
    )
    other_host = _leaf(
        OTHER_HOST_NAME,
        spare_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=_sans(OTHER_HOST_NAME, ip=False),
        validity=valid,
        serial=SERIALS["other_host"],
    )
    revoked = _leaf(
        "revoked-client",
        spare_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=_sans("revoked-client", ip=False),
        validity=valid,
        serial=SERIALS["revoked"],
    )
    ecdsa = _leaf(
        SERVER_NAME,
        ecdsa_key,
        issuer=ca,
        issuer_key=ca_key,
        sans=localhost,
        validity=valid,
        serial=SERIALS["ecdsa"],
    )

    ca_dir = directory / "ca_dir"
    ca_dir.mkdir(exist_ok=True)
    _write_cert(ca_dir / f"{subject_hash(ca)}.0", ca)
    dh_params = directory / "dh_params.pem"
    dh_params.write_bytes(FFDHE2048_PEM)
    crl = directory / "crl.pem"
    crl.write_bytes(_crl(ca, ca_key, [revoked], 2).public_bytes(serialization.Encoding.PEM))
    empty_crl = directory / "empty_crl.pem"
    empty_crl.write_bytes(_crl(ca, ca_key, [], 1).public_bytes(serialization.Encoding.PEM))

    def pair(stem: str, cert: x509.Certificate, key: _PrivateKey) -> tuple[Path, Path]:
        return _write_cert(directory / f"{stem}_cert.pem", cert), _write_key(
            directory / f"{stem}_key.pem", key
        )

    ca_cert, ca_key_path = pair("ca", ca, ca_key)
    server_cert, server_key_path = pair("server", server, server_key)
    client_cert, client_key_path = pair("client", client, client_key)
    expired_cert, expired_key = pair("expired", expired, spare_key)
    rogue_cert, rogue_key_path = pair("rogue", rogue, rogue_key)
    other_host_cert, other_host_key = pair("other_host", other_host, spare_key)
    revoked_cert, revoked_key = pair("revoked", revoked, spare_key)
    ecdsa_cert, ecdsa_key_path = pair("ecdsa", ecdsa, ecdsa_key)
    return Pki(
        directory=directory,
        ca_cert=ca_cert,
        ca_key=ca_key_path,
        ca_dir=ca_dir,
        server_cert=server_cert,
        server_key=server_key_path,
        server_key_encrypted=_write_key(
            directory / "server_key_encrypted.pem", server_key, password=PKI_PASSWORD
        ),
        server_cert_der=_write_cert(directory / "server_cert.der", server, der=True),
        server_key_der=_write_key(directory / "server_key.der", server_key, der=True),
        server_key_der_encrypted=_write_key(
            directory / "server_key_encrypted.der", server_key, der=True, password=PKI_PASSWORD
        ),
        client_cert=client_cert,
        client_key=client_key_path,
        expired_cert=expired_cert,
        expired_key=expired_key,
        rogue_cert=rogue_cert,
        rogue_key=rogue_key_path,
        other_host_cert=other_host_cert,
        other_host_key=other_host_key,
        revoked_cert=revoked_cert,
        revoked_key=revoked_key,
        crl=crl,
        empty_crl=empty_crl,
        ecdsa_cert=ecdsa_cert,
        ecdsa_key=ecdsa_key_path,
        dh_params=dh_params,
    )
