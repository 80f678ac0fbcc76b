"""DCMTK's ``-d`` block about a TLS connection: protocol, cipher suite and the peer's certificate."""

from __future__ import annotations

import ssl
from typing import Any

__all__ = ["connection_details"]

_BEGIN = "================== BEGIN TLS CONNECTION DETAILS ================="
_END = "=================== END TLS CONNECTION DETAILS =================="
_NO_CERTIFICATE = "Peer did not provide a certificate or certificate verification is disabled."
_LONG_MAX = 2**63 - 1  # DCMTK prints the serial as a signed long, -1 when it does not fit


def connection_details(tls: ssl.SSLObject | ssl.SSLSocket | Any) -> str:
    """The block DCMTK logs at debug level once a TLS handshake is done."""
    lines = [_BEGIN, "Transport connection: TLS over TCP/IP"]
    cipher = tls.cipher()
    lines.append(f"  Protocol    : {tls.version()}")
    if cipher is not None:
        lines.append(f"  Ciphersuite : {cipher[0]}, encryption: {cipher[2]} bits")
    der = tls.getpeercert(binary_form=True)
    lines += _certificate_lines(der) if der else [_NO_CERTIFICATE]
    lines.append(_END)
    return "\n".join(lines)


def _certificate_lines(der: bytes) -> list[str]:
    from cryptography import x509  # only at debug level, only over TLS
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa

    cert = x509.load_der_x509_certificate(der)
    key = cert.public_key()
    kinds = ((rsa.RSAPublicKey, "RSA"), (dsa.DSAPublicKey, "DSA"))
    kind = next((name for cls, name in kinds if isinstance(key, cls)), "unknown")
    bits = getattr(key, "key_size", 0)
    serial = cert.serial_number if cert.serial_number <= _LONG_MAX else -1
    return [
        "Peer X.509v3 Certificate",
        f"  Subject     : {_oneline(cert.subject)}",
        f"  Issued by   : {_oneline(cert.issuer)}",
        f"  Serial no.  : {serial}",
        f"  Validity    : not before {_time(cert.not_valid_before_utc)}, "
        f"not after {_time(cert.not_valid_after_utc)}",
        f"  Public key  : {kind}, {bits} bits",
    ]


def _oneline(name: Any) -> str:
    """OpenSSL's one-line form of a name: ``/O=Org/CN=host``, in the order encoded."""
    parts = []
    for attribute in name:
        short = _SHORT_NAMES.get(attribute.oid.dotted_string, attribute.oid.dotted_string)
        parts.append(f"/{short}={attribute.value}")
    return "".join(parts)


def _time(moment: Any) -> str:
    """``Dec  5 21:07:27 2026 GMT`` (ASN1_UTCTIME_print; a date from 2050 on prints as nothing)."""
    if moment.year >= 2050:
        return ""
    return f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} {moment.year} GMT"


_SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "DC",
    "2.5.4.12": "title",
    "2.5.4.42": "GN",
    "2.5.4.4": "SN",
}
