"""dcmqrscp's command line: DCMTK 3.6.7's options, help layout and dependency errors.

The checks run in the order DCMTK evaluates its command line, so that a command line with
several problems gets the same first ``error:`` line.  Two values (``+p`` and ``+cl``) are
therefore kept as typed until the check converts them: DCMTK looks at their dependencies
before their values.  One difference remains: DCMTK reports "cannot disable all Q/R
models" before a bad ``-to``/``-ta``/``-td``/``-pdu`` value, we report the value first.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Final

from dicomwire.cli.dcmqrscp.profiles import (
    EXIT_PROFILE_ERROR,
    AssociationProfileError,
    read_association_profiles,
)
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.identity import add_identity_options, check_identity_options
from dicomwire.dcmtk.cmdline.outputs import (
    NOT_WHEN_BIT_PRESERVING,
    WRITE_XFER,
    add_output_options,
    check_compression_level,
    check_padding,
    conflict,
    processed,
)
from dicomwire.dcmtk.cmdline.syntaxes import (
    ACCEPTANCE_BY_OPTION,
    ACCEPTANCE_CHOICES,
    DEFLATED,
    SYNTAX_BY_OPTION,
    SYNTAX_CHOICES,
    UNCOMPRESSED_FALLBACKS,
    add_acceptance_options,
    add_proposal_options,
)
from dicomwire.dcmtk.log import app_logger
from dicomwire.dcmtk.qrconfig import EXIT_CONFIG_ERROR

__all__ = ["DEFAULT_CONFIG_FILE", "EXIT_UNSUPPORTED", "PROG", "build_parser"]

PROG: Final = "dcmqrscp"
#: Read when there is no ``-c`` and it exists (DCMTK's compiled-in default is a path of its build).
DEFAULT_CONFIG_FILE: Final = "dcmqrscp.cfg"
#: Options we parse but cannot honour end the tool with this code (as TLS does in the other tools).
EXIT_UNSUPPORTED: Final = 1
# DCMTK lays the -c option out differently when its default is longer than this.
_LONG_DEFAULT: Final = 16
_LONG_COLUMN: Final = 22


# -- building ---------------------------------------------------------------------------------
def build_parser(config_default: str = DEFAULT_CONFIG_FILE) -> options.DcmtkParser:
    """Every option of DCMTK 3.6.7's dcmqrscp, in its order (``config_default``: for the help only)."""
    p = options.DcmtkParser(
        PROG, "DICOM archive (storage, query and retrieve SCP)", no_arguments="run", long_column=_LONG_COLUMN
    )
    p.add_param(
        "port", "listen on this TCP/IP port\n(default: in config file)", optional=True, type=options.PORT
    )
    options.add_general_options(p)
    _add_config_option(p, config_default)
    _add_database_options(p)
    _add_index_options(p)
    _add_network_options(p)
    # DCMTK 3.6.7's dcmqrscp has no TLS: ours takes the acceptor group of dcmrecv.
    options.add_tls_options(p, acceptor=True, extension=True, setup_exit=EXIT_CONFIG_ERROR)
    _add_charset_options(p)
    add_output_options(p)
    p.add_check(check_command_line)
    return p


def _add_config_option(p: options.DcmtkParser, default: str) -> None:
    # DCMTK puts a long default on a line of its own under the help text.
    if len(default) > _LONG_DEFAULT:
        value_help, text = "[f]ilename: string", f"read the configuration from file f\n(default: {default})"
    else:
        value_help, text = f"[f]ilename: string (default: {default})", "read the configuration from file f"
    p.add_option("-c", "--config", text, dest="config", value_help=value_help)


_FLAGS: Final = (
    (
        "--require-find",
        "refuse MOVE/GET contexts that come without\nthe matching FIND context",
    ),
    (
        "--no-parallel-store",
        "refuse STORE contexts while another\nassociation stores into the same AE title",
    ),
    ("--disable-get", "do not offer C-GET"),
    ("--allow-shutdown", "let a peer stop the server (private SOP class)"),
)


def _add_database_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("multi-process options")
    add(
        "-s",
        "--single-process",
        "serve every association in this process",
        dest="single_process",
        const=True,
        default=False,
    )
    add(None, "--fork", "one child process per association (default)", dest="single_process", const=False)
    # dicomwire's own: several processes of the archive, each serving many associations
    p.add_group("worker options (dicomwire)")
    add(
        None,
        "--workers",
        "serve with n processes on the one port\n(default: 1)",
        dest="workers",
        type=options.Integer(1),
        metavar="[n]umber",
        default=1,
    )
    p.add_group("database options")
    p.add_subgroup("association negotiation")
    for long, text in _FLAGS:
        add(None, long, text)
    p.add_subgroup("checking identifier validity")
    for short, long, dest, const, text in (
        ("-XF", "--check-find", "check_find", True, "validate C-FIND identifiers"),
        (None, "--no-check-find", "check_find", False, "take C-FIND identifiers unchecked (default)"),
        ("-XM", "--check-move", "check_move", True, "validate C-MOVE identifiers"),
        (None, "--no-check-move", "check_move", False, "take C-MOVE identifiers unchecked (default)"),
    ):
        add(short, long, text, dest=dest, const=const, default=False)
    p.add_subgroup("restriction of move targets")
    for short, long, restriction, text in (
        (None, "--move-unrestricted", "unrestricted", "move to any known destination (default)"),
        ("-ZA", "--move-aetitle", "aetitle", "move only to the AE title that asks"),
        ("-ZH", "--move-host", "host", "move only to the host that asks"),
        ("-ZV", "--move-vendor", "vendor", "move only to the vendor of the peer that asks"),
    ):
        add(short, long, text, dest="move_restriction", const=restriction, default="unrestricted")
    p.add_subgroup("restriction of query/retrieve models")
    add("-QP", "--no-patient-root", "no Patient Root query/retrieve")
    add("-QS", "--no-study-root", "no Study Root query/retrieve")
    add("-QO", "--no-patient-study", "no Patient/Study Only query/retrieve")


def _add_index_options(p: options.DcmtkParser) -> None:
    # dicomwire's own: DCMTK keeps its index.dat files in the storage areas
    p.add_group("index options (dicomwire)")
    p.add_option(
        None,
        "--index-url",
        "keep the index in database u: an SQLite file\n"
        "or a PostgreSQL URL, postgresql://user@host/db\n"
        "(default: IndexURL in config file, else SQLite\n"
        "in the first storage area)",
        dest="index_url",
        metavar="[u]rl",
    )


def _add_network_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("network options")
    p.add_subgroup("association negotiation profiles from configuration file")
    add(
        "-xf",
        "--assoc-config-file",
        "profile i of file f for incoming associations,\nprofile o of f for outgoing ones",
        dest="assoc_config_file",
        nargs=3,
        metavar="[f]ilename, [i]n-profile, [o]ut-profile",
    )
    p.add_subgroup("preferred network transfer syntaxes (incoming associations)")
    add_acceptance_options(p, [choice.option for choice in ACCEPTANCE_CHOICES])
    p.add_subgroup("proposed transmission transfer syntaxes (outgoing associations)")
    add_proposal_options(p, [choice.option for choice in SYNTAX_CHOICES])
    p.add_subgroup("network host access control (tcp wrapper)")
    add(
        "-ac",
        "--access-full",
        "let any host connect (default)",
        dest="access_control",
        const=False,
        default=False,
    )
    add("+ac", "--access-control", "apply the host access rules", dest="access_control", const=True)
    p.add_subgroup("other network options")
    options.add_connect_timeout_option(p)
    options.add_acse_timeout_option(p)
    options.add_dimse_timeout_option(p)
    options.add_max_pdu_option(
        p, help="largest PDU to receive\n(default: use value from configuration file)", default=None
    )
    add("-dhl", "--disable-host-lookup", "do not look up host names", dest="disable_host_lookup")
    add(None, "--refuse", "refuse every association")
    add(None, "--reject", "reject peers sending no implementation UID")
    add_identity_options(p)
    add(None, "--ignore", "take the instances but do not write them")
    add("-up", "--uid-padding", "quietly fix UIDs padded with spaces", dest="uid_padding")


_CHARSETS: Final = (
    (
        "+A7",
        "--convert-to-ascii",
        "",
        "convert to 7-bit ASCII\n(default, unless overridden by config file)",
    ),
    ("+U8", "--convert-to-utf8", "ISO_IR 192", "convert to UTF-8"),
    ("+L1", "--convert-to-latin1", "ISO_IR 100", "convert to ISO 8859-1 (Latin-1)"),
)
_USE_REQUEST: Final = (
    "convert the values that Specific Character Set\n(0008,0005) governs to the character set of\n"
    "the request, else to that of --convert-to-xxx\n(default, unless overridden by config file)"
)
_OVERRIDE: Final = "convert to the --convert-to-xxx character set,\nwhatever the request uses"


def _add_charset_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_group("processing options")
    p.add_subgroup("specific character set")
    add("+Cr", "--use-request-charset", _USE_REQUEST, dest="charset_override", const=False)
    add("-Cr", "--override-charset", _OVERRIDE, dest="charset_override", const=True)
    for short, long, charset, text in _CHARSETS:
        add(short, long, text, dest="charset", const=charset)
    add(
        "+C",
        "--convert-to-charset",
        "convert to the character set of DICOM\ndefined term c",
        dest="charset",
        metavar="[c]harset",
    )
    add(
        "-Ct",
        "--transliterate",
        "replace characters the target lacks\nwith similar looking ones",
    )
    add(
        "-Cd",
        "--discard-illegal",
        "drop characters the target character set lacks",
        dest="discard_illegal",
    )


# -- checking, in DCMTK's order -----------------------------------------------------------------
def check_command_line(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """DCMTK's dependency checks; raises :class:`~dicomwire.dcmtk.cmdline.options.CommandLineError`."""
    for step in _STEPS:
        step(ns, given)


def _models(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if ns.no_patient_root and ns.no_study_root and ns.no_patient_study:
        raise options.CommandLineError("cannot disable all Q/R models")


def _profiles(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """-xf: checked against +x/-x, then the file and both profiles read, here as DCMTK does."""
    ns.incoming_profile = None
    if ns.assoc_config_file is None:
        return
    preference, proposal = ACCEPTANCE_BY_OPTION[ns.preference], SYNTAX_BY_OPTION[ns.proposal]
    conflict("--assoc-config-file", preference.long, ns.preference != "+x=")
    conflict("--assoc-config-file", proposal.long, ns.proposal != "-x=")
    path, incoming, outgoing = ns.assoc_config_file
    try:
        ns.incoming_profile = read_association_profiles(path, incoming, outgoing)
    except AssociationProfileError as exc:
        app_logger(PROG).fatal("%s", exc)
        raise options.CommandLineExit(EXIT_PROFILE_ERROR) from None


def _is_compressed(option: str) -> bool:
    preferred = ACCEPTANCE_BY_OPTION[option].preferred
    return preferred is not None and preferred not in (*UNCOMPRESSED_FALLBACKS, DEFLATED)


def _write_xfer(ns: argparse.Namespace, given: Sequence[str]) -> None:
    compressed = _is_compressed(ns.preference)
    for name in processed(given, [long for _, long, _ in WRITE_XFER]):
        if name == "--write-xfer-same":
            continue
        conflict(name, "--bit-preserving", ns.bit_preserving)
        conflict(name, ACCEPTANCE_BY_OPTION[ns.preference].long, compressed)


def _workers(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """--workers (ours): several processes cannot serve one association at a time."""
    conflict("--workers", "--single-process", ns.workers > 1 and ns.single_process)


def _encoding(ns: argparse.Namespace, given: Sequence[str]) -> None:
    for block in NOT_WHEN_BIT_PRESERVING:
        for name in processed(given, block):
            conflict(name, "--bit-preserving", ns.bit_preserving)


_STEPS: Final[tuple[Callable[[argparse.Namespace, Sequence[str]], None], ...]] = (
    _models,
    _profiles,
    _write_xfer,
    _encoding,
    check_padding,
    check_compression_level,
    check_identity_options,  # dicomwire's own, last
    _workers,
)
