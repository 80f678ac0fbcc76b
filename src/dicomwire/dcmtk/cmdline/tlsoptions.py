"""DCMTK's TLS option group and what it asks for: an SSL context, a cipher list, a check.

:func:`add_tls_options` defines the group as DCMTK 3.6.7 prints it (the
acceptor and requestor variants, echoscu's offline verification);
:func:`prepare_tls` runs before a tool starts: it answers ``+cc``, ``+vc`` and
``+rc`` and exits, or builds the SSL context the tool connects or listens with
(``ns.tls_context``), reporting what cannot be used in DCMTK's words and with
its exit code; :func:`finish_tls` writes the random seed file (``+ws``/``+wf``).

As in DCMTK, a trusted certificate, certificate directory, revocation list or
DH parameter file that cannot be read is a warning and is left out; a private
key or certificate that cannot be read, or a cipher suite that cannot be used,
stops the tool.  Python's ``ssl`` (OpenSSL) seeds its random generator from
the operating system, so a seed file is read for nothing but is still written
when asked.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dicomwire.dcmtk.cmdline.engine import Check, DcmtkParser
from dicomwire.dcmtk.cmdline.values import CommandLineError
from dicomwire.errors import TLSSetupError

# The option table is all a plain TCP run needs: dicomwire.net.tls (and tempfile, getpass,
# pathlib) load only once a TLS option asks for them (prepare_tls, build_tls).
if TYPE_CHECKING:
    from dicomwire.net.tls import RevocationCheck, TLSSettings

__all__ = ["add_tls_options", "build_tls", "finish_tls", "prepare_tls", "tls_settings"]

EXIT_INVALID_INPUT_FILE = 22  # echoscu +vc/+rc: the certificate does not pass
# DCMTK's condition codes (module 000b, dcmtls) for the fatal lines.
_KEY_FAILED = "000b:0004 Unable to load private TLS key from '{key}'"
_MISMATCH = "000b:0006 Private key '{key}' and certificate '{cert}' do not match"
_SEED_FAILED = "000b:0007 Cannot write random seed '{file}'"
_ILLEGAL_CALL = "0001:0007 Illegal call, perhaps wrong parameters"  # DCMTK's answer to an unknown name
_APP = "this application"
_RFC7525 = "RFC 7525 recommends that such cipher suites should not be used."
_SUITE_NOT_ALLOWED = "000b:000a Ciphersuite not allowed in current DICOM security profile"
_PROFILE_NAMES = {  # by TLSProfile (a StrEnum: its values are its keys here)
    "bcp195-nd": "Non-downgrading BCP 195 TLS Profile",
    "bcp195": "BCP 195 TLS Profile",
    "bcp195-ex": "Extended BCP 195 TLS Profile",
    "aes": "AES TLS Secure Transport Connection Profile",
}


_FILE = "[f]ilename"
_ONLY_WITH_SEED = frozenset({"--write-seed", "--write-seed-file"})
_PASSWORD_OPTIONS = frozenset({"--std-passwd", "--use-passwd", "--null-passwd"})
_TLS_FREE = frozenset(
    {"--disable-tls", "--enable-tls", "--anonymous-tls", "--list-ciphers"}
    | {"--verify-cert", "--is-root-cert"}
)


def add_tls_options(
    parser: DcmtkParser,
    *,
    acceptor: bool = False,
    offline_verification: bool = False,
    setup_exit: int = 1,
    extension: bool = False,
) -> None:
    """DCMTK's TLS group; :func:`prepare_tls` turns what it parsed into an SSL context.

    ``acceptor`` gives the dcmrecv/storescp variant (no ``+tla``, with
    ``+dp`` and ``-vc``); ``offline_verification`` adds echoscu's ``+vc +rc``.
    ``+pb`` is left out: the DCMTK 3.6.7 binaries (OpenSSL 3 builds) do not
    know it either.  The dependency errors DCMTK gives (``--X only allowed
    with --enable-tls ...``) are reproduced.
    """
    parser.tls_role = "acceptor" if acceptor else "requestor"
    # set by prepare_tls / build_tls
    parser.set_defaults(
        tls_context=None, tls_settings=None, tls_role=parser.tls_role, tls_setup_exit=setup_exit
    )
    parser.tls_setup_exit = setup_exit
    add = parser.add_option
    # DCMTK 3.6.7's dcmqrscp, movescu and getscu have no TLS: for them the group is ours.
    parser.add_group("transport layer security (TLS) options" + (" (dicomwire)" if extension else ""))
    parser.add_subgroup("transport protocol stack")
    add(
        "-tls",
        "--disable-tls",
        "plain TCP/IP, no TLS (default)",
        dest="tls",
        const="disable",
        default="disable",
    )
    add(
        "+tls",
        "--enable-tls",
        "TLS with this key and certificate",
        dest="tls_keys",
        nargs=2,
        metavar="[p]rivate key file, [c]ertificate file",
        sets=("tls", "enable"),
    )
    if not acceptor:
        add(
            "+tla",
            "--anonymous-tls",
            "anonymous TLS, with no certificate of ours",
            dest="tls",
            const="anonymous",
        )
    parser.add_subgroup("private key password (only with --enable-tls)")
    add(
        "+ps",
        "--std-passwd",
        "ask for the password on stdin (default)",
        dest="tls_password_mode",
        const="prompt",
        default="prompt",
    )
    add(
        "+pw",
        "--use-passwd",
        "take the password from the command line",
        dest="tls_password",
        value_help="[p]assword: string ",
        sets=("tls_password_mode", "given"),
    )
    add("-pw", "--null-passwd", "the password is the empty string", dest="tls_password_mode", const="empty")
    parser.add_subgroup("key and certificate file format")
    add(
        "-pem",
        "--pem-keys",
        "keys and certificates are PEM files (default)",
        dest="tls_key_format",
        const="pem",
        default="pem",
    )
    add("-der", "--der-keys", "keys and certificates are DER files", dest="tls_key_format", const="der")
    parser.add_subgroup("certification authority")
    add(
        "+cf",
        "--add-cert-file",
        "trust the certificate in file f",
        dest="tls_cert_files",
        action="append",
        metavar=_FILE,
    )
    add(
        "+cd",
        "--add-cert-dir",
        "trust the certificates in directory d",
        dest="tls_cert_dirs",
        action="append",
        metavar="[d]irectory",
    )
    add(
        "+crl",
        "--add-crl-file",
        "read a certificate revocation list from f\n(implies --enable-crl-vfy)",
        dest="tls_crl_files",
        action="append",
        metavar=_FILE,
    )
    add(
        "+crv",
        "--enable-crl-vfy",
        "check the CRLs for the leaf certificate",
        dest="tls_crl_check",
        const="leaf",
    )
    add("+cra", "--enable-crl-all", "check the CRLs for the whole chain", dest="tls_crl_check", const="all")
    parser.add_subgroup("security profile")
    for short, long, const, text in (
        ("+py", "--profile-bcp195-nd", "bcp195-nd", "the BCP 195 profile, non-downgrading (default)"),
        ("+px", "--profile-bcp195", "bcp195", "the BCP 195 profile"),
        ("+pz", "--profile-bcp195-ex", "bcp195-ex", "the extended BCP 195 profile"),
        ("+pa", "--profile-aes", "aes", "the AES secure transport profile (retired)"),
        (
            "+pn",
            "--profile-null",
            "null",
            "authenticate only, do not encrypt\n(retired; IHE ATNA once used it)",
        ),
    ):
        add(short, long, text, dest="tls_profile", const=const, default="bcp195-nd")
    parser.add_subgroup("ciphersuite")
    add(
        "+cc",
        "--list-ciphers",
        "list the TLS ciphersuites we know, then exit",
        dest="tls_list_ciphers",
        exclusive=True,
    )
    add(
        "+cs",
        "--cipher",
        "offer ciphersuite c as well\n(not with --profile-bcp195-ex)",
        dest="tls_ciphers",
        action="append",
        metavar="[c]iphersuite name",
    )
    if acceptor:
        add(
            "+dp",
            "--dhparam",
            "DH parameters for DH/DSS ciphersuites, from f",
            dest="tls_dhparam",
            metavar=_FILE,
        )
    parser.add_subgroup("pseudo random generator")
    add("+rs", "--seed", "take the random seed from file f", dest="tls_seed", metavar=_FILE)
    add("+ws", "--write-seed", "save the updated seed back (only with --seed)", dest="tls_write_seed")
    add(
        "+wf",
        "--write-seed-file",
        "save the updated seed in file f",
        dest="tls_write_seed_file",
        value_help="[f]ilename: string (only with --seed)",
        sets=("tls_write_seed", True),
    )
    parser.add_subgroup("peer authentication")
    add(
        "-rc",
        "--require-peer-cert",
        "require a valid peer certificate (default)",
        dest="tls_peer_cert",
        const="require",
        default="require",
    )
    if acceptor:
        add(
            "-vc",
            "--verify-peer-cert",
            "check the peer certificate when there is one",
            dest="tls_peer_cert",
            const="verify",
        )
    add("-ic", "--ignore-peer-cert", "skip the peer certificate check", dest="tls_peer_cert", const="ignore")
    if offline_verification:
        parser.add_subgroup("offline certificate verification")
        add(
            "+vc",
            "--verify-cert",
            "check certificate f against the CA settings",
            dest="tls_verify_cert",
            metavar=_FILE,
            exclusive=True,
        )
        add(
            "+rc",
            "--is-root-cert",
            "tell whether f is a self-signed root CA",
            dest="tls_is_root_cert",
            metavar=_FILE,
            exclusive=True,
        )
    tls_names = [o.long for o in parser.options if o.dest.startswith("tls") and o.long]
    parser.add_check(_tls_dependency_check(tls_names, acceptor))


def _tls_dependency_check(names: list[str], acceptor: bool) -> Check:
    needs = "--enable-tls" if acceptor else "--enable-tls or --anonymous-tls"

    def check(ns: argparse.Namespace, given: Sequence[str]) -> None:
        used = set(given)
        for name in names:
            if name not in used or name in _TLS_FREE:
                continue
            if name in _PASSWORD_OPTIONS and ns.tls != "enable":
                raise CommandLineError(f"{name} only allowed with --enable-tls")
            if ns.tls == "disable":
                raise CommandLineError(f"{name} only allowed with {needs}")
            if name in _ONLY_WITH_SEED and ns.tls_seed is None:
                raise CommandLineError(f"{name} only allowed with --seed")
            if name == "--cipher" and ns.tls_profile == "bcp195-ex":
                raise CommandLineError("--cipher not allowed with --profile-bcp195-ex")

    return check


# -- before and after a run ----------------------------------------------------------


def prepare_tls(parser: DcmtkParser, ns: argparse.Namespace, log: logging.Logger) -> int | None:
    """Answer ``+cc``/``+vc``/``+rc`` (an exit code), or set ``ns.tls_context``.

    ``ns.tls_context`` is None for plain TCP.  Returns an exit code when the
    tool must stop now (the TLS layer cannot be set up: DCMTK's code for the
    tool), None when it goes on.
    """
    ns.tls_context = None
    if parser.tls_role is None:
        return None
    if getattr(ns, "tls_list_ciphers", False):
        sys.stdout.write(_cipher_listing(parser))
        return 0
    verify_file = getattr(ns, "tls_verify_cert", None)
    root_file = getattr(ns, "tls_is_root_cert", None)
    if ns.tls == "disable":
        if root_file is not None:  # needs no TLS layer
            from dicomwire.net.tls import TLSSettings

            return _offline_root(root_file, TLSSettings(der=ns.tls_key_format == "der"), log)
        if verify_file is not None:  # needs one: without TLS there is nothing to verify against
            return _verdict(verify_file, False)
        return None
    if parser.tls_deferred and verify_file is None and root_file is None:
        return None  # the tool calls build_tls itself, where DCMTK sets its TLS layer up
    stop = build_tls(ns, log)
    if stop is not None:
        return stop
    if verify_file is not None:
        return _offline_verify(verify_file, ns.tls_settings, log)
    if root_file is not None:
        return _offline_root(root_file, ns.tls_settings, log)
    return None


def build_tls(ns: argparse.Namespace, log: logging.Logger) -> int | None:
    """Set ``ns.tls_context`` (and ``ns.tls_settings``) from the options; the exit code when the
    TLS layer cannot be set up (its reasons logged in DCMTK's words), else None."""
    if ns.tls == "disable":
        return None
    _seed_notice(ns, log)
    if not _ciphersuites_usable(ns, log):
        return int(ns.tls_setup_exit)
    acceptor = ns.tls_role == "acceptor"
    try:
        settings = tls_settings(ns, log, acceptor=acceptor)
        ns.tls_context = settings.context(server_side=acceptor)
    except TLSSetupError as exc:
        log.error("%s", exc)  # the detail; DCMTK prints OpenSSL's error code here
        log.fatal("%s", _dcmtk_line(exc, ns))
        return int(ns.tls_setup_exit)
    ns.tls_settings = settings  # for a second context (movescu's incoming associations)
    return None


def finish_tls(ns: argparse.Namespace, log: logging.Logger) -> int | None:
    """Write the random seed file after the run (``+ws``/``+wf``), as OpenSSL does: 1024 random
    bytes over the start of the file, mode 0600.  Returns None (a failure is only a warning)."""
    target = getattr(ns, "tls_write_seed_file", None) or (
        ns.tls_seed if getattr(ns, "tls_write_seed", False) else None
    )
    if target is None or getattr(ns, "tls", "disable") == "disable":
        return None
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, ssl.RAND_bytes(1024))
            os.fchmod(descriptor, 0o600)
        finally:
            os.close(descriptor)
    except OSError:  # DCMTK says nothing here; the run itself went well, so its exit code stands
        log.warning("%s", _SEED_FAILED.format(file=target))
    return None


def tls_settings(ns: argparse.Namespace, log: logging.Logger, *, acceptor: bool) -> TLSSettings:
    """The :class:`TLSSettings` the parsed options describe (unreadable extras warned about)."""
    from dicomwire.net.tls import PeerVerification, TLSProfile, TLSSettings

    der = ns.tls_key_format == "der"
    key, cert = ns.tls_keys if ns.tls == "enable" and ns.tls_keys else (None, None)
    return TLSSettings(
        private_key=key,
        certificate=cert,
        key_password=_password(ns) if key is not None else None,
        der=der,
        trusted_certificates=_usable(ns.tls_cert_files, "certificate file", der, log),
        trusted_directories=_usable_directories(ns.tls_cert_dirs, log),
        revocation_lists=_usable(ns.tls_crl_files, "CRL file", der, log),
        revocation_check=_revocation(ns),
        profile=TLSProfile(ns.tls_profile),
        extra_ciphersuites=tuple(ns.tls_ciphers or ()),
        peer_verification=PeerVerification(ns.tls_peer_cert),
        dh_parameters=_usable_dh(getattr(ns, "tls_dhparam", None), log) if acceptor else None,
    )


def _password(ns: argparse.Namespace) -> str | Callable[[], str]:
    if ns.tls_password_mode == "given":
        return str(ns.tls_password)
    if ns.tls_password_mode == "empty":
        return ""
    return _PasswordPrompt()


class _PasswordPrompt:
    """+ps: asked only when the key is encrypted, and only once; from the terminal, else stdin."""

    def __init__(self) -> None:
        self._answer: str | None = None

    def __call__(self) -> str:
        if self._answer is None:
            if sys.stdin is not None and sys.stdin.isatty():
                import getpass

                self._answer = getpass.getpass("Enter PEM pass phrase:")
            else:  # OpenSSL shows its prompt even then
                sys.stderr.write("Enter PEM pass phrase:\n")
                line = sys.stdin.readline() if sys.stdin is not None else ""
                self._answer = line.rstrip("\r\n")
        return self._answer


def _revocation(ns: argparse.Namespace) -> RevocationCheck:
    from dicomwire.net.tls import RevocationCheck

    if ns.tls_crl_check == "all":
        return RevocationCheck.CHAIN
    if ns.tls_crl_check == "leaf" or ns.tls_crl_files:
        return RevocationCheck.LEAF
    return RevocationCheck.NONE


def _usable(paths: Sequence[str] | None, what: str, der: bool, log: logging.Logger) -> tuple[str, ...]:
    """The files of ``paths`` that load; DCMTK's warning for the others."""
    from pathlib import Path

    usable = []
    for path in paths or ():
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            if der and what == "certificate file":
                probe.load_verify_locations(cadata=Path(path).read_bytes())
            elif der:
                Path(path).read_bytes()
            else:
                probe.load_verify_locations(cafile=path)
        except (OSError, ValueError):
            log.warning("unable to load %s '%s', ignoring", what, path)
            continue
        usable.append(path)
    return tuple(usable)


def _usable_directories(paths: Sequence[str] | None, log: logging.Logger) -> tuple[str, ...]:
    usable = []
    for path in paths or ():
        if os.path.isdir(path):
            usable.append(path)
        else:
            log.warning("unable to load certificates from directory '%s', ignoring", path)
    return tuple(usable)


def _usable_dh(path: str | None, log: logging.Logger) -> str | None:
    if path is None:
        return None
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        probe.load_dh_params(path)
    except (OSError, ValueError):
        log.warning("unable to load temporary DH parameter file '%s', ignoring", path)
        return None
    return path


def _seed_notice(ns: argparse.Namespace, log: logging.Logger) -> None:
    seed = getattr(ns, "tls_seed", None)
    if seed is not None:
        log.info("OpenSSL seeds its random generator from the operating system; %s is not needed", seed)


def _ciphersuites_usable(ns: argparse.Namespace, log: logging.Logger) -> bool:
    """``+cs``: DCMTK's warnings and fatal lines (it handles the names last first)."""
    from dicomwire.net.tls import CIPHERSUITES, TLSProfile, supported_ciphersuites

    profile = TLSProfile(ns.tls_profile)
    supported = set(supported_ciphersuites())
    for name in reversed(ns.tls_ciphers or ()):
        if name not in CIPHERSUITES:
            log.fatal("%s", _ILLEGAL_CALL)
            return False
        if name not in supported:
            log.fatal(
                "Ciphersuite '%s' not supported by the OpenSSL library used to compile this application.",
                name,
            )
            log.fatal("000b:0003 Unknown or invalid ciphersuite: %s", name)
            return False
        if profile is TLSProfile.NULL:
            continue
        if CIPHERSUITES[name].startswith("NULL"):
            log.fatal(
                "Unencrypted ciphersuite '%s' not permitted with security profile '%s'",
                name,
                _PROFILE_NAMES[profile],
            )
            log.fatal("%s", _SUITE_NOT_ALLOWED)
            return False
        transport = "uses RSA key transport" if _rsa_key_transport(name) else "uses NO RSA key transport"
        log.warning(
            "Ciphersuite '%s' %s. RFC 7525 recommends that such cipher suites should not be used.",
            name,
            transport,
        )
    return True


def _rsa_key_transport(name: str) -> bool:
    return name.startswith("TLS_RSA_")


def _dcmtk_line(exc: TLSSetupError, ns: argparse.Namespace) -> str:
    """DCMTK's fatal line for what could not be set up (ours where DCMTK has none)."""
    key, cert = ns.tls_keys if ns.tls_keys else ("", "")
    if exc.what == "private key" or (exc.what == "certificate" and exc.path == key):
        return _KEY_FAILED.format(key=key)
    if exc.what in ("certificate", "key mismatch"):
        # DCMTK ignores a certificate it cannot load; the key check then fails.
        return _MISMATCH.format(key=key, cert=cert)
    return str(exc)


def _cipher_listing(parser: DcmtkParser) -> str:
    from dicomwire.net.tls import supported_ciphersuites

    lines = [parser.header().rstrip("\n"), "", "Supported TLS ciphersuites are:"]
    lines += [f"  {name}" for name in supported_ciphersuites()]
    return "\n".join(lines) + "\n"


# -- echoscu's offline certificate checks ------------------------------------------------


def _offline_verify(path: str, settings: TLSSettings, log: logging.Logger) -> int:
    from dicomwire.net.certificates import CertificateFileError, verification_error
    from dicomwire.net.tls import RevocationCheck

    try:
        error = verification_error(
            path,
            trusted=settings.trusted_certificates,
            directories=settings.trusted_directories,
            revocation_lists=settings.revocation_lists,
            check=settings.revocation_check or RevocationCheck.NONE,
            der=settings.der,
        )
    except CertificateFileError as exc:
        kind = "DER" if settings.der else "PEM"
        log.error(
            "Cannot open certificate file '%s'" if exc.unreadable else f"Not a {kind} certificate file: '%s'",
            path,
        )
        return _verdict(path, False)
    if error is not None:
        log.error("certificate verification failed: %s", error)
    return _verdict(path, error is None)


def _verdict(path: str, ok: bool) -> int:
    verdict = "passed" if ok else "failed"
    sys.stdout.write(f"Verification of certificate '{path}' {verdict}.\n")
    return 0 if ok else EXIT_INVALID_INPUT_FILE


def _offline_root(path: str, settings: TLSSettings, log: logging.Logger) -> int:
    from dicomwire.net.certificates import CertificateFileError, is_root_certificate

    try:
        ok = is_root_certificate(path, der=settings.der)
    except CertificateFileError:
        log.error("Cannot read certificate file '%s'", path)
        ok = False
    verdict = "is a valid" if ok else "is not a valid"
    sys.stdout.write(f"Certificate '{path}' {verdict}, self-signed root CA.\n")
    return 0 if ok else EXIT_INVALID_INPUT_FILE
