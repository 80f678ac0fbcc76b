"""storescu: DICOM storage (C-STORE) SCU, a drop-in for DCMTK 3.6.7's storescu.

Same options, defaults, messages and exit codes as DCMTK's (observed by
running it; the facts are spelled out in the tests).  The shape of a run:

1. ``-xf`` file read; input files determined (``+sd +r +sp``) and checked
   (with ``-R`` also read, for their SOP classes);
2. one association proposing DCMTK's contexts (:mod:`storescu_proposal`);
3. each file sent ``--repeat`` times on the context DCMTK would pick,
   converted by the storage library when the accepted transfer syntax differs;
4. release (or ``--abort``).

Exit codes: 0 when all went well or with ``-nh`` (unless the release fails);
1 for command line, input, connection and association problems and for a
failed send (bad file, no presentation context, timeout); after a store
failure status without ``-nh`` the status' high byte (0xA700 -> 167); after
the peer aborted the association the high byte of the last status received,
10 when that is 0 (DCMTK's code is undefined there: it reads an uninitialised
status; 10 is what it gives, observed); never 255.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dicomwire._records import record
from dicomwire.cli.storescu.inputs import (
    READ_AUTO,
    READ_DATASET,
    READ_FILE_ONLY,
    InputFile,
    InputsFailed,
    check_inputs,
    determine_inputs,
)
from dicomwire.cli.storescu.proposal import (
    DEFAULT_SYNTAX,
    SYNTAX_BY_OPTION,
    SYNTAX_CHOICES,
    TooManyContexts,
    build_contexts,
    profile_proposal,
    sop_classes_to_propose,
)
from dicomwire.cli.storescu.send import Sender
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.syntaxes import (
    add_compression_level_option,
    add_new_vr_options,
    add_proposal_options,
)
from dicomwire.dcmtk.log import INFO, app_logger
from dicomwire.dcmtk.netreport import AssociationFailed, request_association
from dicomwire.net.association import Association
from dicomwire.ul.items import (
    PresentationContextRQ,
    RoleSelection,
    SOPClassExtendedNegotiation,
    UserIdentityRQ,
)

if TYPE_CHECKING:  # the association profiles (-xf) load only when a config file is given
    from dicomwire.dcmtk import profiles as profile_files

PROG = "storescu"
DESCRIPTION = "send DICOM files to a peer (C-STORE SCU)"
_IDENTITY_TYPES = {"user": 1, "kerberos": 3, "saml": 4, "jwt": 5}


# -- command line ---------------------------------------------------------------------


def build_parser() -> options.DcmtkParser:
    parser = options.DcmtkParser(PROG, DESCRIPTION, long_column=19)
    parser.add_param("peer", "host name or address of the DICOM peer")
    parser.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
    parser.add_param("dcmfile-in", "file or directory to send", multiple=True, dest="files")
    options.add_general_options(parser)
    parser.add_option("+v", "--verbose-pc", "with -v, dump the presentation contexts too")
    _add_input_options(parser)
    parser.add_group("network options")
    options.add_ae_title_options(parser, aet_default="STORESCU", aec_default="ANY-SCP")
    _add_proposal_options(parser)
    _add_identity_options(parser)
    _add_other_network_options(parser)
    options.add_tls_options(parser)
    parser.add_check(check_dependencies)
    return parser


def _add_input_options(parser: options.DcmtkParser) -> None:
    add = parser.add_option
    parser.add_group("input options")
    parser.add_subgroup("input file format")
    add(
        "+f",
        "--read-file",
        "read files with or without meta header (default)",
        dest="read_mode",
        const=READ_AUTO,
        default=READ_AUTO,
    )
    add(
        "+fo",
        "--read-file-only",
        "read only files with a meta header",
        dest="read_mode",
        const=READ_FILE_ONLY,
    )
    add(
        "-f",
        "--read-dataset",
        "read bare data sets, no meta header",
        dest="read_mode",
        const=READ_DATASET,
    )
    parser.add_subgroup("input files")
    add("+sd", "--scan-directories", "send the files found in directories (dcmfile-in)")
    add(
        "+sp",
        "--scan-pattern",
        "send only file names that match (wildcards)",
        value_help="[p]attern: string (only with --scan-directories)",
    )
    add(
        "-r",
        "--no-recurse",
        "scan only the top level of directories (default)",
        dest="recurse",
        const=False,
        action="store_const",
        default=False,
    )
    add("+r", "--recurse", "scan directories and all their subdirectories", dest="recurse", const=True)
    add(
        "-rn",
        "--no-rename",
        "leave the file names alone (default)",
        dest="rename",
        const=False,
        action="store_const",
        default=False,
    )
    add("+rn", "--rename", "once sent, add .done (or .bad) to file names", dest="rename", const=True)


def _add_proposal_options(parser: options.DcmtkParser) -> None:
    add = parser.add_option
    parser.add_subgroup("association negotiation profile from configuration file")
    add(
        "-xf", "--config-file", "negotiate with profile p of file f", nargs=2, metavar="[f]ilename, [p]rofile"
    )
    parser.add_subgroup("proposed transmission transfer syntaxes (not with --config-file)")
    add_proposal_options(parser, [choice.option for choice in SYNTAX_CHOICES])
    add(
        "-R", "--required", "offer contexts for the files' SOP classes only\n(default: propose all supported)"
    )
    add(
        "+C",
        "--combine",
        "one context per SOP class, with all syntaxes\n(default: separate pres. context for each TS)",
    )
    add_new_vr_options(parser)
    add_compression_level_option(
        parser, "deflate compression level (only with --propose-deflated or --config-file)"
    )


def _add_identity_options(parser: options.DcmtkParser) -> None:
    add = parser.add_option
    parser.add_subgroup("user identity negotiation")
    add(
        "-usr",
        "--user",
        "identify with user name u",
        metavar="[u]ser name",
        sets=("identity_mode", "user"),
    )
    add(
        "-pwd",
        "--password",
        "send password p with the user name",
        value_help="[p]assword: string (only with --user)",
        sets=("password_mode", "given"),
    )
    add(
        "-epw",
        "--empty-password",
        "the password is empty (only with --user)",
        dest="password_mode",
        const="empty",
    )
    add(
        "-kt",
        "--kerberos",
        "send the Kerberos ticket in file f",
        metavar="[f]ilename",
        sets=("identity_mode", "kerberos"),
    )
    add(
        None,
        "--saml",
        "send the SAML request in file f",
        metavar="[f]ilename",
        sets=("identity_mode", "saml"),
    )
    add(
        None,
        "--jwt",
        "send the JSON web token in file f",
        metavar="[f]ilename",
        sets=("identity_mode", "jwt"),
    )
    add("-rsp", "--pos-response", "ask the peer to confirm the identity")


def _add_other_network_options(parser: options.DcmtkParser) -> None:
    add = parser.add_option
    options.add_other_network_options(parser, max_send_pdu=True, repeat=True, abort=True)
    add("-nh", "--no-halt", "go on after a failed store\n(default: do halt)")
    add("-up", "--uid-padding", "quietly fix UIDs padded with spaces")
    add("+II", "--invent-instance", "give each image sent a new SOP instance UID")
    for short, long, dest, default, text in (
        (
            "+IR",
            "--invent-series",
            "invent_series",
            100,
            "new series UID after every n images",
        ),
        (
            "+IS",
            "--invent-study",
            "invent_study",
            50,
            "new study UID after every n series",
        ),
        (
            "+IP",
            "--invent-patient",
            "invent_patient",
            25,
            "new patient ID and name after every n studies",
        ),
    ):
        add(
            short,
            long,
            f"{text}\n(default: {default})",
            dest=dest,
            default=default,
            value_help="[n]umber: integer (implies --invent-instance)",
            type=options.Integer(1, unsigned=True),
            sets=("invent_instance", True),
        )


def _last(given: Sequence[str], names: Sequence[str]) -> str | None:
    found = [name for name in given if name in names]
    return found[-1] if found else None


def check_dependencies(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """DCMTK's option dependency errors, in DCMTK's order."""
    used = set(given)
    verbosity = {"--quiet", "--verbose", "--debug", "--log-level", "--log-config"}
    if "--verbose-pc" in used and not used & verbosity:
        raise options.CommandLineError("--verbose-pc only allowed with verbose mode")
    if "--scan-pattern" in used and not ns.scan_directories:
        raise options.CommandLineError("--scan-pattern only allowed with --scan-directories")
    if ns.recurse and not ns.scan_directories:
        raise options.CommandLineError("--recurse only allowed with --scan-directories")
    if ns.config_file is not None:
        syntax = _last(given, [c.long for c in SYNTAX_CHOICES if c is not DEFAULT_SYNTAX])
        for name in (syntax, "--required" if ns.required else None, "--combine" if ns.combine else None):
            if name is not None:
                raise options.CommandLineError(f"--config-file not allowed with {name}")
    if "--compression-level" in used and ns.config_file is None and ns.proposal != "-xd":
        raise options.CommandLineError(
            "--compression-level only allowed with --propose-deflated or --config-file"
        )
    _check_identity(ns, given)


def _check_identity(ns: argparse.Namespace, given: Sequence[str]) -> None:
    mode = getattr(ns, "identity_mode", None)
    used = set(given)
    if "--password" in used:
        if mode != "user":
            raise options.CommandLineError("--password only allowed with --user")
        # DCMTK reads -pwd and -epw as one option block: an -epw after the last -pwd
        # finds the identity already "user and password" and fails its --user check.
        last = len(given) - 1 - list(reversed(given)).index("--password")
        if "--empty-password" in given[last + 1 :]:
            raise options.CommandLineError("--empty-password only allowed with --user")
    elif "--empty-password" in used and mode != "user":
        raise options.CommandLineError("--empty-password only allowed with --user")
    if ns.pos_response and mode is None:
        raise options.CommandLineError("--pos-response only allowed with --user, --kerberos or --saml")


# -- setting up -----------------------------------------------------------------------


class _Exit(Exception):
    """Stop the run with this exit code (the reason was logged)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _load_config(ns: argparse.Namespace, log: logging.Logger) -> Mapping[str, profile_files.Profile] | None:
    if ns.config_file is None:
        return None
    from dicomwire.dcmtk import profiles as profile_files  # -xf only

    path = ns.config_file[0]
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        log.error("reading config file: unable to open configuration file: %s", path)
        raise _Exit(1)
    try:
        return profile_files.load_profiles(path)
    except profile_files.ProfileError as exc:
        log.error("reading config file: %s", exc)
        raise _Exit(1) from None


def _find_profile(
    profiles: Mapping[str, profile_files.Profile], name: str, log: logging.Logger
) -> profile_files.Profile:
    def key(text: str) -> str:
        return "".join(text.split()).upper()

    for profile_name, profile in profiles.items():
        if key(profile_name) == key(name):
            return profile
    log.fatal("0006:0426 profile key undefined: %s", key(name))
    raise _Exit(1)


def _inputs(ns: argparse.Namespace, log: logging.Logger) -> list[InputFile]:
    if ns.scan_directories:
        log.info("determining input files ...")
    paths = determine_inputs(
        ns.files, scan=ns.scan_directories, recurse=ns.recurse, pattern=ns.scan_pattern, log=log
    )
    if not paths:
        log.fatal("no input files to be sent")
        raise _Exit(1)
    log.info("checking input files ...")
    try:
        return check_inputs(paths, required_only=ns.required, halt=not ns.no_halt, mode=ns.read_mode, log=log)
    except InputsFailed:
        raise _Exit(1) from None


def _identity(ns: argparse.Namespace, log: logging.Logger) -> UserIdentityRQ | None:
    mode = getattr(ns, "identity_mode", None)
    if mode is None:
        return None
    if mode == "user":
        password_mode = getattr(ns, "password_mode", None)
        secondary = b"" if password_mode != "given" else os.fsencode(ns.password)
        kind = 2 if password_mode in ("given", "empty") else 1
        return UserIdentityRQ(kind, os.fsencode(ns.user), secondary, bool(ns.pos_response))
    try:
        with open(getattr(ns, mode), "rb") as handle:
            primary = handle.read()
    except OSError as exc:
        log.error("Unable to open Kerberos, SAML or JWT file: %s", exc.strerror or exc)
        raise _Exit(1) from None
    return UserIdentityRQ(_IDENTITY_TYPES[mode], primary, b"", bool(ns.pos_response))


@record(frozen=True)
class _Proposal:
    contexts: tuple[PresentationContextRQ, ...]
    roles: tuple[RoleSelection, ...] = ()
    extended: tuple[SOPClassExtendedNegotiation, ...] = ()


def _proposal(
    ns: argparse.Namespace,
    files: Sequence[InputFile],
    profiles: Mapping[str, profile_files.Profile] | None,
    log: logging.Logger,
) -> _Proposal:
    if profiles is not None:
        chosen = profile_proposal(_find_profile(profiles, ns.config_file[1], log))
        return _Proposal(chosen.contexts, chosen.roles, chosen.extended_negotiation)
    classes = [f.source.sop_class_uid for f in files if f.source is not None]
    sop_classes = sop_classes_to_propose(classes, required_only=ns.required)
    try:
        contexts = build_contexts(sop_classes, SYNTAX_BY_OPTION[ns.proposal], combine=ns.combine)
    except TooManyContexts:
        log.error("Too many presentation contexts")
        log.fatal("0006:0101 ASC Bad presentation context ID")
        raise _Exit(1) from None
    return _Proposal(contexts)


def requestor_settings(
    ns: argparse.Namespace, proposal: _Proposal, identity: UserIdentityRQ | None
) -> RequestorSettings:
    net = options.network_settings(ns, default_ae_title="STORESCU")
    return RequestorSettings(
        calling_ae=net.ae_title,
        called_ae=net.called_ae_title or "ANY-SCP",
        contexts=proposal.contexts,
        max_pdu_length=net.max_pdu,
        roles=proposal.roles,
        extended_negotiation=proposal.extended,
        user_identity=identity,
        timeouts=net.timeouts,
    )


async def _associate(ns: argparse.Namespace, settings: RequestorSettings, log: logging.Logger) -> Association:
    dump_level = INFO if ns.verbose_pc else logging.DEBUG
    try:
        assoc = await request_association(
            log, ns.peer, ns.port, settings, dump_level=dump_level, tls=ns.tls_context
        )
    except AssociationFailed:
        raise _Exit(1) from None
    identity = settings.user_identity
    if (
        identity is not None
        and identity.positive_response_requested
        and (assoc.accept is None or assoc.accept.user_information.user_identity_ac is None)
    ):
        log.error("User Identity Negotiation failed: Positive response requested but none received")
        log.fatal("0006:0108 ASC User Identification Negotiation failed")
        assoc.abort()
        raise _Exit(1)
    if not assoc.contexts:
        log.fatal("No Acceptable Presentation Contexts")
        assoc.abort()
        raise _Exit(1)
    log.info("Association Accepted (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
    if ns.max_send_pdu is not None and (
        assoc.peer_max_pdu_length == 0 or assoc.peer_max_pdu_length > ns.max_send_pdu
    ):
        assoc.peer_max_pdu_length = ns.max_send_pdu
    return assoc


async def run(ns: argparse.Namespace) -> int:
    log = app_logger(PROG)
    if log.isEnabledFor(logging.DEBUG):  # the whole option table, for one line
        log.debug("%s\n", build_parser().banner())
    try:
        profiles = _load_config(ns, log)
        files = _inputs(ns, log)
        identity = _identity(ns, log)
        proposal = _proposal(ns, files, profiles, log)
        assoc = await _associate(ns, requestor_settings(ns, proposal, identity), log)
    except _Exit as stop:
        return stop.code
    return await Sender(assoc, ns, log, files).run()


def _short_run(ns: argparse.Namespace) -> bool:
    """A few files (a store is some four messages): asyncio's own loop starts sooner than uvloop
    loads, and sends a large file no slower (measured with 1 to 64 MB files)."""
    stores = len(ns.files) * int(ns.repeat or 1)
    return not ns.scan_directories and 4 * stores < options.UVLOOP_BREAK_EVEN


def main(argv: list[str] | None = None) -> int:
    return options.run_tool(build_parser(), run, argv, short_run=_short_run)


if __name__ == "__main__":
    raise SystemExit(main())
