"""Checking a certificate file without a connection (echoscu ``+vc``/``+rc``).

Python's ``ssl`` verifies certificates only during a handshake, so these two
checks read the certificates with ``cryptography``: the chain from the file
up to a trusted self-signed root (issuer names, signatures, validity dates,
basic constraints of the issuers) and, when asked, the revocation lists of
the chain.  Imported only by the commands that use it.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from dicomwire.net.tls import RevocationCheck, StrPath

__all__ = ["CertificateFileError", "is_root_certificate", "verification_error"]

_MAX_CHAIN = 10


def _load(path: StrPath, der: bool) -> list[x509.Certificate]:
    data = Path(path).read_bytes()
    if der:
        return [x509.load_der_x509_certificate(data)]
    return x509.load_pem_x509_certificates(data)


def _valid_now(cert: x509.Certificate) -> bool:
    now = datetime.datetime.now(datetime.UTC)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return cert.version is x509.Version.v1  # old roots carry no extensions


def is_root_certificate(path: StrPath, *, der: bool = False) -> bool:
    """Whether ``path`` holds a currently valid certificate that signed itself (as OpenSSL
    sees it: a self-signed leaf passes too).  CertificateFileError when it holds none."""
    try:
        cert = _load(path, der)[0]
    except (OSError, ValueError, IndexError) as exc:
        raise CertificateFileError(str(exc), unreadable=isinstance(exc, OSError)) from exc
    return _valid_now(cert) and _issued_by(cert, cert)


class CertificateFileError(ValueError):
    """The certificate to check cannot be read (``unreadable``) or holds no certificate."""

    def __init__(self, message: str, *, unreadable: bool) -> None:
        self.unreadable = unreadable
        super().__init__(message)


def verification_error(
    path: StrPath,
    *,
    trusted: Sequence[StrPath] = (),
    directories: Sequence[StrPath] = (),
    revocation_lists: Sequence[StrPath] = (),
    check: RevocationCheck = RevocationCheck.NONE,
    der: bool = False,
) -> str | None:
    """Why the certificate in ``path`` does not verify, in OpenSSL's words; None when it does.

    Raises :class:`CertificateFileError` when ``path`` cannot be read or holds no certificate.
    Trusted files and revocation lists that cannot be read are left out.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CertificateFileError(str(exc), unreadable=True) from exc
    try:
        leaf, *extra = (
            [x509.load_der_x509_certificate(data)] if der else x509.load_pem_x509_certificates(data)
        )
    except ValueError as exc:
        raise CertificateFileError(str(exc), unreadable=False) from exc
    anchors = [cert for file in trusted for cert in _load_quietly(file, der)]
    anchors += [cert for directory in directories for cert in _directory(directory)]
    crls = [crl for file in revocation_lists if (crl := _crl(file, der)) is not None]
    chain = _chain(leaf, extra, anchors)
    if chain is None:
        return (
            "self-signed certificate" if _issued_by(leaf, leaf) else "unable to get local issuer certificate"
        )
    if not all(_valid_now(cert) for cert in chain):
        return "certificate has expired"
    if check is RevocationCheck.NONE:
        return None
    checked = chain[:1] if check is RevocationCheck.LEAF else chain[:-1]
    for cert, issuer in zip(checked, chain[1:], strict=False):
        verdict = _revocation(cert, issuer, crls)
        if verdict is not None:
            return verdict
    return None


def _chain(
    leaf: x509.Certificate, extra: list[x509.Certificate], anchors: list[x509.Certificate]
) -> list[x509.Certificate] | None:
    """The chain from ``leaf`` to a trusted anchor (both included), or None."""
    chain = [leaf]
    while len(chain) <= _MAX_CHAIN:
        current = chain[-1]
        trusted = any(current == anchor for anchor in anchors)
        if trusted and _issued_by(current, current):
            return chain
        issuer = next((c for c in anchors + extra if c != current and _issued_by(current, c)), None)
        if issuer is None:
            return chain if trusted else None  # a trusted certificate ends a chain, self-signed or not
        if not _is_ca(issuer):
            return None
        chain.append(issuer)
    return None


def _load_quietly(path: StrPath, der: bool) -> list[x509.Certificate]:
    try:
        return _load(path, der)
    except (OSError, ValueError):
        return []


def _directory(directory: StrPath) -> list[x509.Certificate]:
    certs = []
    for entry in sorted(Path(directory).iterdir()):
        if entry.is_file():
            try:
                certs += x509.load_pem_x509_certificates(entry.read_bytes())
            except ValueError:
                continue
    return certs


def _crl(path: StrPath, der: bool) -> x509.CertificateRevocationList | None:
    try:
        data = Path(os.fspath(path)).read_bytes()
        return x509.load_der_x509_crl(data) if der else x509.load_pem_x509_crl(data)
    except (OSError, ValueError):
        return None


def _revocation(
    cert: x509.Certificate, issuer: x509.Certificate, crls: list[x509.CertificateRevocationList]
) -> str | None:
    """OpenSSL's reason when revoked, or when no valid CRL of its issuer is at hand; else None."""
    for crl in crls:
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            return "certificate revoked"
        return None
    return "unable to get certificate CRL"
