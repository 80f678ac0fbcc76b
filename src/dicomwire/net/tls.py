"""TLS for DICOM associations (PS3.15 Annex B): SSL contexts from DCMTK-style settings.

:class:`TLSSettings` says what DCMTK's TLS options say (key and certificate,
trusted certificates, revocation lists, a security profile, extra cipher
suites, how strictly the peer's certificate is checked);
:meth:`TLSSettings.context` turns it into a standard :class:`ssl.SSLContext`.
``associate(..., tls=)`` and ``Server(..., tls=)`` take either.

The profiles are those of PS3.15 Annex B as DCMTK 3.6.7 configures them:
the BCP 195 ones (non-downgrading: TLS 1.2 and up; plain: also older versions
and one fallback suite; extended: TLS 1.2 only, ECDSA suites too), the retired
AES profile (TLS up to 1.2) and the unencrypted one (NULL-SHA, which OpenSSL 3
allows only at security level 0).  TLS 1.3 suites are OpenSSL's defaults.
"""

from __future__ import annotations

import _ssl
import base64
import enum
import os
import ssl
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dicomwire.errors import TLSHandshakeError, TLSSetupError

__all__ = [
    "CIPHERSUITES",
    "PeerVerification",
    "RevocationCheck",
    "TLSProfile",
    "TLSSettings",
    "as_context",
    "handshake_error",
    "supported_ciphersuites",
]

Password = str | bytes | Callable[[], str | bytes]
StrPath = str | os.PathLike[str]

# The cipher suites DCMTK 3.6.7 knows (its +cc list), by IANA name, with OpenSSL's name.
CIPHERSUITES: Final[dict[str, str]] = {
    "TLS_RSA_WITH_NULL_SHA": "NULL-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA": "CAMELLIA128-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA": "CAMELLIA256-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA": "DHE-DSS-AES128-SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA": "DHE-DSS-CAMELLIA128-SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": "DHE-RSA-AES128-SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA": "DHE-RSA-CAMELLIA128-SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256": "DHE-DSS-AES128-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": "DHE-RSA-AES128-SHA256",
    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256": "DHE-DSS-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA": "DHE-DSS-AES256-SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": "DHE-RSA-AES256-SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA": "DHE-DSS-CAMELLIA256-SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA": "DHE-RSA-CAMELLIA256-SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256": "DHE-DSS-AES256-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": "DHE-RSA-AES256-SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384": "DHE-DSS-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
}


class TLSProfile(enum.StrEnum):
    """A secure transport connection profile (PS3.15 Annex B)."""

    BCP195_ND = "bcp195-nd"  # BCP 195, non-downgrading (the default)
    BCP195 = "bcp195"
    BCP195_EX = "bcp195-ex"  # extended BCP 195
    AES = "aes"  # retired AES profile
    NULL = "null"  # authentication only, no encryption (retired)


class PeerVerification(enum.StrEnum):
    """How the peer's certificate is checked."""

    REQUIRE = "require"  # there must be one, and it must verify
    VERIFY = "verify"  # if there is one it must verify (acceptors; a requestor always gets one)
    IGNORE = "ignore"  # not checked


class RevocationCheck(enum.StrEnum):
    NONE = "none"
    LEAF = "leaf"  # the peer's own certificate
    CHAIN = "chain"  # every certificate of the chain


_BCP195_REQUIRED = (
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
)
PROFILE_CIPHERSUITES: Final[dict[TLSProfile, tuple[str, ...]]] = {
    TLSProfile.BCP195_ND: _BCP195_REQUIRED,
    TLSProfile.BCP195: (*_BCP195_REQUIRED, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    TLSProfile.BCP195_EX: (
        *_BCP195_REQUIRED,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    TLSProfile.AES: ("TLS_RSA_WITH_AES_128_CBC_SHA",),
    TLSProfile.NULL: ("TLS_RSA_WITH_NULL_SHA",),
}
# (lowest, highest) protocol version; None: OpenSSL's own limit.
_VERSIONS: Final[dict[TLSProfile, tuple[ssl.TLSVersion, ssl.TLSVersion | None]]] = {
    TLSProfile.BCP195_ND: (ssl.TLSVersion.TLSv1_2, None),
    TLSProfile.BCP195: (ssl.TLSVersion.TLSv1, None),
    TLSProfile.BCP195_EX: (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    TLSProfile.AES: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2),
    TLSProfile.NULL: (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2),
}
# Profiles whose extra suites must still encrypt.
_ENCRYPTING = frozenset({TLSProfile.BCP195_ND, TLSProfile.BCP195, TLSProfile.AES})


def supported_ciphersuites() -> list[str]:
    """The suites of :data:`CIPHERSUITES` that this Python's OpenSSL can use."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    usable = []
    for name, openssl_name in CIPHERSUITES.items():
        try:
            context.set_ciphers(f"{openssl_name}:@SECLEVEL=0")
        except ssl.SSLError:
            continue
        usable.append(name)
    return usable


@dataclass(frozen=True)
class TLSSettings:
    """TLS as DCMTK's options describe it; :meth:`context` builds the SSLContext.

    ``private_key``/``certificate``: our own (an acceptor needs them; a
    requestor without them does anonymous TLS).  ``key_password`` decrypts an
    encrypted key: the password, or a function asked for it when needed.
    ``der``: the key, certificates and revocation lists are DER, not PEM.
    ``revocation_check`` defaults to the peer's certificate when revocation lists
    are given.  ``extra_ciphersuites`` are IANA names (``TLS_..._WITH_...``)
    added to the profile's.  ``check_hostname``: a requestor also matches the
    peer's certificate with the host name it called (DCMTK does not).
    """

    private_key: StrPath | None = None
    certificate: StrPath | None = None
    key_password: Password | None = None
    der: bool = False
    trusted_certificates: Sequence[StrPath] = ()
    trusted_directories: Sequence[StrPath] = ()
    revocation_lists: Sequence[StrPath] = ()
    revocation_check: RevocationCheck | None = None
    profile: TLSProfile = TLSProfile.BCP195_ND
    extra_ciphersuites: Sequence[str] = ()
    peer_verification: PeerVerification = PeerVerification.REQUIRE
    dh_parameters: StrPath | None = None
    check_hostname: bool = False

    def __post_init__(self) -> None:
        if (self.private_key is None) != (self.certificate is None):
            raise ValueError("a private key and a certificate go together")

    def context(self, *, server_side: bool) -> ssl.SSLContext:
        """A new SSLContext for an acceptor (``server_side``) or a requestor.

        Raises :class:`~dicomwire.errors.TLSSetupError` naming what could not
        be used (a file, a password, a cipher suite).
        """
        if server_side and self.certificate is None:
            raise TLSSetupError("an acceptor needs a private key and a certificate", what="certificate")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
        _set_versions(context, self.profile)
        context.set_ciphers(self.cipher_string())
        self._verification(context, server_side)
        self._trust(context)
        if self.certificate is not None and self.private_key is not None:
            _load_identity(context, self.certificate, self.private_key, self.key_password, self.der)
        if server_side and self.dh_parameters is not None:
            _load_dh_parameters(context, self.dh_parameters)
        return context

    def cipher_string(self) -> str:
        """The OpenSSL cipher list for TLS 1.2 and older: the profile's suites, then the extra ones."""
        names = list(PROFILE_CIPHERSUITES[self.profile])
        for name in self.extra_ciphersuites:
            check_extra_ciphersuite(name, self.profile)
            if name not in names:
                names.append(name)
        cipher_list = ":".join(CIPHERSUITES[name] for name in names)
        # NULL-SHA (and SHA-1 with old versions) need OpenSSL 3's lowest security level.
        if self.profile in (TLSProfile.NULL, TLSProfile.BCP195, TLSProfile.AES) or any(
            CIPHERSUITES[name].startswith("NULL") for name in names
        ):
            cipher_list += ":@SECLEVEL=0"
        return cipher_list

    def _verification(self, context: ssl.SSLContext, server_side: bool) -> None:
        context.check_hostname = False
        if self.peer_verification is PeerVerification.IGNORE:
            context.verify_mode = ssl.CERT_NONE
        elif self.peer_verification is PeerVerification.VERIFY and server_side:
            context.verify_mode = ssl.CERT_OPTIONAL
        else:
            context.verify_mode = ssl.CERT_REQUIRED
            context.check_hostname = self.check_hostname and not server_side
        check = self.revocation_check
        if check is None:
            check = RevocationCheck.LEAF if self.revocation_lists else RevocationCheck.NONE
        if check is RevocationCheck.LEAF:
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        elif check is RevocationCheck.CHAIN:
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN

    def _trust(self, context: ssl.SSLContext) -> None:
        for path in self.trusted_certificates:
            with _reading(path, "trusted certificate"):
                if self.der:
                    context.load_verify_locations(cadata=Path(path).read_bytes())
                else:
                    context.load_verify_locations(cafile=os.fspath(path))
        for directory in self.trusted_directories:
            if not Path(directory).is_dir():
                raise TLSSetupError(
                    f"cannot use certificate directory {os.fspath(directory)}: not a directory",
                    what="certificate directory",
                    path=os.fspath(directory),
                )
            context.load_verify_locations(capath=os.fspath(directory))
        for path in self.revocation_lists:
            with _reading(path, "revocation list"):
                if self.der:
                    with _pem_file(Path(path).read_bytes(), "X509 CRL") as pem:
                        context.load_verify_locations(cafile=pem)
                else:
                    context.load_verify_locations(cafile=os.fspath(path))


def check_extra_ciphersuite(name: str, profile: TLSProfile) -> None:
    """Raise TLSSetupError when suite ``name`` cannot be added to ``profile``."""
    if name not in CIPHERSUITES:
        raise TLSSetupError(f"unknown ciphersuite name: {name}", what="ciphersuite")
    if profile is TLSProfile.BCP195_EX:
        raise TLSSetupError(
            "no additional ciphersuites are allowed with the extended BCP 195 profile", what="ciphersuite"
        )
    if profile in _ENCRYPTING and CIPHERSUITES[name].startswith("NULL"):
        raise TLSSetupError(
            f"unencrypted ciphersuite {name} is not allowed with profile {profile.value}", what="ciphersuite"
        )


def as_context(tls: TLSSettings | ssl.SSLContext | None, *, server_side: bool) -> ssl.SSLContext | None:
    """An SSLContext from what ``associate()``/``Server()`` were given."""
    if tls is None or isinstance(tls, ssl.SSLContext):
        return tls
    return tls.context(server_side=server_side)


def handshake_error(exc: ssl.SSLError) -> TLSHandshakeError:
    """A TLSHandshakeError that names the cause in OpenSSL's words."""
    reason = str(exc.reason or "").replace("_", " ").lower() or str(exc)
    verify = getattr(exc, "verify_message", "") or ""
    message = f"TLS handshake failed: {verify}" if verify else f"TLS handshake failed: {reason}"
    return TLSHandshakeError(message, reason=reason, verify_message=verify, code=reason_code(exc.reason))


def reason_code(name: str | None) -> int:
    """OpenSSL's number for an SSL-library reason name (``WRONG_VERSION_NUMBER``: 267), else 0."""
    # CPython's _ssl module carries OpenSSL's table of error names.
    table: dict[str, tuple[int, int]] = getattr(_ssl, "err_names_to_codes", {})
    library, code = table.get(name or "", (0, 0))
    return code if library == _SSL_LIBRARY else 0


_SSL_LIBRARY: Final = 20  # OpenSSL's ERR_LIB_SSL


def _set_versions(context: ssl.SSLContext, profile: TLSProfile) -> None:
    lowest, highest = _VERSIONS[profile]
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated; the older profiles allow them
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = lowest
        if highest is not None:
            context.maximum_version = highest


@contextmanager
def _reading(path: StrPath, what: str) -> Iterator[None]:
    """Turn a failure to read or parse ``path`` into a TLSSetupError naming it."""
    name = os.fspath(path)
    try:
        yield
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror if not isinstance(exc, ssl.SSLError) and exc.strerror else _reason(exc)
        raise TLSSetupError(f"cannot load {what} from {name}: {reason}", what=what, path=name) from exc


def _reason(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.args[-1]).replace("_", " ").lower()
    return exc.strerror or str(exc)


def _load_identity(
    context: ssl.SSLContext, certificate: StrPath, key: StrPath, password: Password | None, der: bool
) -> None:
    cert_name, key_name = os.fspath(certificate), os.fspath(key)
    for path, what in ((key_name, "private key"), (cert_name, "certificate")):
        with _reading(path, what):
            Path(path).stat()
    if not der:
        _load_chain(context, cert_name, key_name, password)
        return
    key_der = Path(key_name).read_bytes()
    cert_der = Path(cert_name).read_bytes()
    # DER is an ASN.1 SEQUENCE: anything else (a PEM file, say) is not the key or certificate asked for
    for data, name, what in ((key_der, key_name, "private key"), (cert_der, cert_name, "certificate")):
        if not data.startswith(b"\x30"):
            raise TLSSetupError(f"cannot load {what} from {name}: not DER", what=what, path=name)
    with _pem_file(ssl.DER_cert_to_PEM_cert(cert_der).encode(), None) as cert_file:
        failure: TLSSetupError | None = None
        # DER does not say which kind of key it holds: try each PEM label.
        for label in ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"):
            with _pem_file(key_der, label) as key_file:
                try:
                    _load_chain(context, cert_file, key_file, password, shown=(cert_name, key_name))
                    return
                except TLSSetupError as exc:
                    failure = failure or exc
        assert failure is not None
        raise failure


def _load_chain(
    context: ssl.SSLContext,
    cert_file: str,
    key_file: str,
    password: Password | None,
    *,
    shown: tuple[str, str] | None = None,
) -> None:
    cert_name, key_name = shown or (cert_file, key_file)
    try:
        context.load_cert_chain(cert_file, key_file, password=password)
    except ssl.SSLError as exc:
        reason = _reason(exc)
        if "mismatch" in reason:
            raise TLSSetupError(
                f"private key {key_name} does not match certificate {cert_name}", what="key mismatch"
            ) from exc
        what = "certificate" if _certificate_unreadable(cert_file) else "private key"
        path = cert_name if what == "certificate" else key_name
        raise TLSSetupError(f"cannot load {what} from {path}: {reason}", what=what, path=path) from exc
    except OSError as exc:
        raise TLSSetupError(f"cannot load private key: {_reason(exc)}", what="private key") from exc


def _certificate_unreadable(cert_file: str) -> bool:
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=cert_file)
    except ssl.SSLError:
        return True
    return False


def _load_dh_parameters(context: ssl.SSLContext, path: StrPath) -> None:
    with _reading(path, "DH parameters"):
        context.load_dh_params(os.fspath(path))


@contextmanager
def _pem_file(data: bytes, label: str | None) -> Iterator[str]:
    """``data`` (DER, or PEM already when ``label`` is None) in a private temporary PEM file."""
    if label is not None:
        body = base64.encodebytes(data).decode("ascii")
        data = f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode("ascii")
    with tempfile.TemporaryDirectory(prefix="dicomwire-tls-") as directory:  # mode 0700
        path = os.path.join(directory, "item.pem")
        with open(path, "wb") as out:
            out.write(data)
        yield path
