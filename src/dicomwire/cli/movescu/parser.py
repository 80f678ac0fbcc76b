"""movescu's command line: DCMTK 3.6.7's options, layout and defaults, checked in its order.

The output options are dcmqrscp's (the same group in DCMTK); movescu puts ``-od`` in
front of them and checks ``+t*`` against ``--accept-all`` too.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from dicomwire import uids
from dicomwire.dcmtk import querykeys as qk
from dicomwire.dcmtk.cmdline import options
from dicomwire.dcmtk.cmdline.outputs import (
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
    UNCOMPRESSED_FALLBACKS,
    accepted_syntaxes,
    add_acceptance_options,
    add_proposal_options,
)

__all__ = ["ACCEPT_ALL", "DEFAULT_AE_TITLE", "PROG", "build_parser", "incoming_syntaxes"]

PROG: Final = "movescu"
DEFAULT_AE_TITLE: Final = "MOVESCU"
ACCEPT_ALL: Final = "+xa"
# +xa: every syntax DCMTK's movescu accepts, in its order (local byte order explicit first of the three).
_ACCEPT_ALL_SYNTAXES: Final = (
    uids.JPEG_2000,
    uids.JPEG_2000_LOSSLESS,
    uids.JPEG_EXTENDED,
    uids.JPEG_BASELINE,
    uids.JPEG_LOSSLESS_SV1,
    uids.JPEG_LS_NEAR_LOSSLESS,
    uids.JPEG_LS_LOSSLESS,
    uids.RLE_LOSSLESS,
    uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
    uids.MPEG2_MAIN_PROFILE_HIGH_LEVEL,
    uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
    "1.2.840.10008.1.2.4.103",
    "1.2.840.10008.1.2.4.104",
    "1.2.840.10008.1.2.4.105",
    "1.2.840.10008.1.2.4.106",
    uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
    uids.HEVC_MAIN_10_PROFILE_LEVEL_5_1,
    DEFLATED,
    uids.local_endian_explicit(),
    uids.opposite_endian_explicit(),
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
)
# -k takes a tag (gggg,eeee) or a dictionary keyword: no paths, no parentheses (unlike findscu).
_TAG: Final = re.compile(r"[0-9A-Fa-f]{1,4},[0-9A-Fa-f]{1,4}")
_XFER_LONG: Final = (
    "--write-xfer-same",
    "--write-xfer-little",
    "--write-xfer-big",
    "--write-xfer-implicit",
    "--write-xfer-deflated",
)
_NOT_WHEN_BIT_PRESERVING: Final = (
    ("--enable-new-vr", "--disable-new-vr"),
    ("--group-length-recalc", "--group-length-create", "--group-length-remove"),
    ("--length-explicit", "--length-undefined"),
)


# -- building -----------------------------------------------------------------------------
def build_parser() -> options.DcmtkParser:
    p = options.DcmtkParser(PROG, "ask a DICOM peer to send instances (C-MOVE SCU)")
    p.add_param("peer", "host name or address of the DICOM peer")
    p.add_param("port", "TCP/IP port the peer listens on", type=options.PORT)
    p.add_param("dcmfile-in", "query file(s), one C-MOVE each", optional=True, multiple=True)
    options.add_general_options(p)
    p.add_group("network options")
    _add_query_options(p)
    _add_ae_titles(p)
    p.add_subgroup("preferred network transfer syntaxes (incoming associations)")
    add_acceptance_options(p, [choice.option for choice in ACCEPTANCE_CHOICES])
    p.add_option(
        ACCEPT_ALL, "--accept-all", "take every transfer syntax we know", dest="preference", const=ACCEPT_ALL
    )
    p.add_subgroup("proposed transmission transfer syntaxes (outgoing associations)")
    add_proposal_options(p, ["-x=", "-xe", "-xb", "-xd", "-xi"])
    _add_incoming_options(p)
    _add_other_network_options(p)
    options.add_tls_options(p, extension=True)  # DCMTK 3.6.7's movescu has none
    _add_movescu_output_options(p)
    for check in _CHECKS:
        p.add_check(check)
    p.set_defaults(banner=p.banner())
    return p


def _add_query_options(p: options.DcmtkParser) -> None:
    p.add_subgroup("override matching keys")
    p.add_option(
        "-k",
        "--key",
        "set (or replace) one key of every query",
        dest="keys",
        action="append",
        value_help='[k]ey: gggg,eeee="str" or dict. name="str"',
    )
    p.add_subgroup("query information model")
    for short, long, model, text in (
        ("-P", "--patient", "patient", "query the patient root model (default)"),
        ("-S", "--study", "study", "query the study root model"),
        ("-O", "--psonly", "psonly", "query the patient/study only model"),
    ):
        p.add_option(short, long, text, dest="model", const=model, default="patient")


def _add_ae_titles(p: options.DcmtkParser) -> None:
    options.add_ae_title_options(p, aet_default=DEFAULT_AE_TITLE, aec_default="ANY-SCP")
    p.add_option(
        "-aem",
        "--move",
        "AE title the peer sends to (default: MOVESCU)",
        dest="move_destination",
        metavar="[a]etitle",
    )


def _add_incoming_options(p: options.DcmtkParser) -> None:
    add = p.add_option
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
    p.add_subgroup("port for incoming network associations")
    add(
        None,
        "--no-port",
        "accept no incoming associations (default)",
        dest="retrieve_port",
        const=0,
        default=0,
    )
    add(
        "+P",
        "--port",
        "listen on port n for the sub-operations",
        dest="retrieve_port",
        type=options.PORT,
        value_help="[n]umber: integer",
    )
    p.add_subgroup("handling of illegal datasets following 'pending' move responses")
    add(
        "-pi",
        "--pending-ignore",
        "act as if no dataset came (default)",
        dest="pending_read",
        const=False,
        default=False,
    )
    add("-pr", "--pending-read", "read the dataset and drop it", dest="pending_read", const=True)


def _add_other_network_options(p: options.DcmtkParser) -> None:
    add = p.add_option
    p.add_subgroup("other network options")
    options.add_connect_timeout_option(p)
    options.add_acse_timeout_option(p)
    options.add_dimse_timeout_option(p)
    options.add_max_pdu_option(p)
    add("-dhl", "--disable-host-lookup", "do not look up host names", dest="disable_host_lookup")
    options.add_repeat_option(p)
    options.add_abort_option(p)
    add(None, "--ignore", "take the instances but do not write them", dest="ignore")
    add(
        None,
        "--cancel",
        "C-CANCEL at response n (default: never)",
        metavar="[n]umber",
        type=options.Integer(0),
    )
    add("-up", "--uid-padding", "quietly fix UIDs padded with spaces", dest="uid_padding")


def _add_movescu_output_options(p: options.DcmtkParser) -> None:
    p.add_group("output options")
    p.add_subgroup("general")
    p.add_option(
        "-od",
        "--output-directory",
        "directory (must exist) the received files go to",
        dest="output_directory",
        metavar="[d]irectory",
        value_default='"."',
        default=".",
    )
    add_output_options(p)  # dcmqrscp's group: it opens "output options" once more
    duplicate = max(i for i, entry in enumerate(p.layout) if entry == ("group", "output options"))
    del p.layout[duplicate]
    # movescu's title of the +u/-u subgroup names the option it conflicts with
    vrs = p.layout.index(("subgroup", "post-1993 value representations"))
    p.layout[vrs] = ("subgroup", "post-1993 value representations (not with --bit-preserving)")


# -- checks, in DCMTK's order -----------------------------------------------------------------
Check = Callable[[argparse.Namespace, Sequence[str]], None]


def _keys(ns: argparse.Namespace, given: Sequence[str]) -> None:
    for key in ns.keys or ():
        name = key.split("=", 1)[0]
        if not (_TAG.fullmatch(name) or qk.tag_for_name(name) is not None):
            raise options.CommandLineError(
                f"bad key format or dictionary name not found in dictionary: {name}"
            )


def _output_directory(ns: argparse.Namespace, given: Sequence[str]) -> None:
    if "--output-directory" in given and not ns.retrieve_port:
        raise options.CommandLineError("--output-directory only allowed with --port")


def _compressed_preference(ns: argparse.Namespace) -> str | None:
    """The long name of a ``+x`` option that prefers a compressed syntax (deflate is not)."""
    choice = ACCEPTANCE_BY_OPTION.get(ns.preference)
    if choice is None or choice.preferred in (None, *UNCOMPRESSED_FALLBACKS, DEFLATED):
        return None
    return choice.long


def _write_xfer(ns: argparse.Namespace, given: Sequence[str]) -> None:
    compressed = _compressed_preference(ns)
    for name in processed(given, _XFER_LONG):
        if name == "--write-xfer-same":
            continue
        conflict(name, "--accept-all", ns.preference == ACCEPT_ALL)
        conflict(name, "--bit-preserving", ns.bit_preserving)
        conflict(name, compressed or "", compressed is not None)


def _encoding(ns: argparse.Namespace, given: Sequence[str]) -> None:
    for block in _NOT_WHEN_BIT_PRESERVING:
        for name in processed(given, block):
            conflict(name, "--bit-preserving", ns.bit_preserving)


def _query_files(ns: argparse.Namespace, given: Sequence[str]) -> None:
    try:
        qk.check_query_files(Path(name) for name in ns.dcmfile_in)
    except qk.QueryFileError as exc:
        raise options.CommandLineError(f"cannot access file: {exc.path}") from None
    if not ns.dcmfile_in and not ns.keys:
        raise options.CommandLineError("either query file or override keys (or both) must be specified")


_CHECKS: Final[tuple[Check, ...]] = (
    _keys,
    _output_directory,
    _write_xfer,
    _encoding,
    check_padding,
    check_compression_level,
    _query_files,
)


def incoming_syntaxes(ns: argparse.Namespace) -> tuple[str, ...]:
    """What the storage SCP accepts for the ``+x`` option given, most wanted first."""
    if ns.preference == ACCEPT_ALL:
        return _ACCEPT_ALL_SYNTAXES
    return accepted_syntaxes(ACCEPTANCE_BY_OPTION[ns.preference])
