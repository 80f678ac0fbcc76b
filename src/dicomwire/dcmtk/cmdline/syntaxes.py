"""DCMTK's transfer-syntax proposal options (``-x=``, ``-xe``, ... ``-xd``), defined once.

Every SCU of DCMTK offers a subset of the same table; the help texts are DCMTK's,
with the few per-tool variants passed as overrides.  A choice is a preferred
transfer syntax and, for most, the uncompressed fallbacks (explicit little,
explicit big, implicit little, minus the preferred one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dicomwire import uids
from dicomwire.dcmtk.cmdline.engine import DcmtkParser
from dicomwire.dcmtk.cmdline.values import Integer

__all__ = [
    "ACCEPTANCE_BY_OPTION",
    "ACCEPTANCE_CHOICES",
    "DEFAULT_ACCEPTANCE",
    "DEFAULT_SYNTAX",
    "SYNTAX_BY_OPTION",
    "SYNTAX_CHOICES",
    "SyntaxChoice",
    "accepted_syntaxes",
    "add_acceptance_options",
    "add_compression_level_option",
    "add_new_vr_options",
    "add_proposal_options",
    "preferred_syntax",
    "proposed_syntaxes",
    "syntax_lists",
]

LEE = uids.EXPLICIT_VR_LITTLE_ENDIAN
BEE = uids.EXPLICIT_VR_BIG_ENDIAN
LEI = uids.IMPLICIT_VR_LITTLE_ENDIAN
DEFLATED = uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
UNCOMPRESSED_FALLBACKS: tuple[str, ...] = (LEE, BEE, LEI)


@dataclass(frozen=True)
class SyntaxChoice:
    """One ``-x`` option: its preferred transfer syntax and whether fallbacks follow."""

    option: str
    long: str
    help: str
    preferred: str | None  # None: explicit VR in the local byte order
    fallbacks: bool = True


_VIDEO = False
# In DCMTK's help order.  ``-x=`` is the default.
SYNTAX_CHOICES: tuple[SyntaxChoice, ...] = (
    SyntaxChoice(
        "-x=",
        "--propose-uncompr",
        "propose all uncompressed TS, explicit VR\nwith local byte ordering first (default)",
        None,
    ),
    SyntaxChoice(
        "-xe", "--propose-little", "propose all uncompressed TS, explicit VR\nlittle endian first", LEE
    ),
    SyntaxChoice("-xb", "--propose-big", "propose all uncompressed TS, explicit VR\nbig endian first", BEE),
    SyntaxChoice(
        "-xi", "--propose-implicit", "propose implicit VR little endian TS only", LEI, fallbacks=False
    ),
    SyntaxChoice(
        "-xs",
        "--propose-lossless",
        "propose default JPEG lossless TS\nand all uncompressed transfer syntaxes",
        uids.JPEG_LOSSLESS_SV1,
    ),
    SyntaxChoice(
        "-xy",
        "--propose-jpeg8",
        "propose default JPEG lossy TS for 8 bit data\nand all uncompressed transfer syntaxes",
        uids.JPEG_BASELINE,
    ),
    SyntaxChoice(
        "-xx",
        "--propose-jpeg12",
        "propose default JPEG lossy TS for 12 bit data\nand all uncompressed transfer syntaxes",
        uids.JPEG_EXTENDED,
    ),
    SyntaxChoice(
        "-xv",
        "--propose-j2k-lossless",
        "propose JPEG 2000 lossless TS\nand all uncompressed transfer syntaxes",
        uids.JPEG_2000_LOSSLESS,
    ),
    SyntaxChoice(
        "-xw",
        "--propose-j2k-lossy",
        "propose JPEG 2000 lossy TS\nand all uncompressed transfer syntaxes",
        uids.JPEG_2000,
    ),
    SyntaxChoice(
        "-xt",
        "--propose-jls-lossless",
        "propose JPEG-LS lossless TS\nand all uncompressed transfer syntaxes",
        uids.JPEG_LS_LOSSLESS,
    ),
    SyntaxChoice(
        "-xu",
        "--propose-jls-lossy",
        "propose JPEG-LS lossy TS\nand all uncompressed transfer syntaxes",
        uids.JPEG_LS_NEAR_LOSSLESS,
    ),
    SyntaxChoice(
        "-xm",
        "--propose-mpeg2",
        "propose MPEG2 Main Profile @ Main Level TS",
        uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xh",
        "--propose-mpeg2-high",
        "propose MPEG2 Main Profile @ High Level TS",
        uids.MPEG2_MAIN_PROFILE_HIGH_LEVEL,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xn",
        "--propose-mpeg4",
        "propose MPEG4 AVC/H.264 HP / Level 4.1 TS",
        uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xl",
        "--propose-mpeg4-bd",
        "propose MPEG4 AVC/H.264 BD-compatible TS",
        "1.2.840.10008.1.2.4.103",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x2",
        "--propose-mpeg4-2-2d",
        "propose MPEG4 AVC/H.264 HP / Level 4.2 TS (2D)",
        "1.2.840.10008.1.2.4.104",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x3",
        "--propose-mpeg4-2-3d",
        "propose MPEG4 AVC/H.264 HP / Level 4.2 TS (3D)",
        "1.2.840.10008.1.2.4.105",
        _VIDEO,
    ),
    SyntaxChoice(
        "-xo",
        "--propose-mpeg4-2-st",
        "propose MPEG4 AVC/H.264 Stereo / Level 4.2 TS",
        "1.2.840.10008.1.2.4.106",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x4",
        "--propose-hevc",
        "propose HEVC/H.265 Main Profile / Level 5.1 TS",
        uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-x5",
        "--propose-hevc10",
        "propose HEVC/H.265 Main 10 Profile / Level 5.1 TS",
        uids.HEVC_MAIN_10_PROFILE_LEVEL_5_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xr",
        "--propose-rle",
        "propose RLE lossless TS\nand all uncompressed transfer syntaxes",
        uids.RLE_LOSSLESS,
    ),
    SyntaxChoice(
        "-xd",
        "--propose-deflated",
        "propose deflated expl. VR little endian TS\nand all uncompressed transfer syntaxes",
        DEFLATED,
    ),
)
SYNTAX_BY_OPTION: Mapping[str, SyntaxChoice] = {choice.option: choice for choice in SYNTAX_CHOICES}
DEFAULT_SYNTAX = SYNTAX_CHOICES[0]


def preferred_syntax(choice: SyntaxChoice) -> str:
    return choice.preferred if choice.preferred is not None else uids.local_endian_explicit()


def syntax_lists(choice: SyntaxChoice) -> tuple[str, tuple[str, ...]]:
    """(preferred, fallbacks) for a ``-x`` choice."""
    preferred = preferred_syntax(choice)
    if not choice.fallbacks:
        return preferred, ()
    return preferred, tuple(ts for ts in UNCOMPRESSED_FALLBACKS if ts != preferred)


def proposed_syntaxes(choice: SyntaxChoice) -> tuple[str, ...]:
    """The transfer syntaxes of a one-context proposal: preferred first."""
    preferred, fallbacks = syntax_lists(choice)
    return (preferred, *fallbacks)


def add_proposal_options(
    parser: DcmtkParser, options: Sequence[str], *, help_overrides: Mapping[str, str] | None = None
) -> None:
    """The ``-x`` options named in ``options`` (in DCMTK's order), into ``ns.proposal``."""
    _add_choices(parser, SYNTAX_BY_OPTION, DEFAULT_SYNTAX, "proposal", options, help_overrides or {})


def _add_choices(
    parser: DcmtkParser,
    table: Mapping[str, SyntaxChoice],
    default: SyntaxChoice,
    dest: str,
    options: Sequence[str],
    overrides: Mapping[str, str],
) -> None:
    """One option per named choice of ``table``, all into ``ns.<dest>``."""
    for option in options:
        choice = table[option]
        parser.add_option(
            choice.option,
            choice.long,
            overrides.get(option, choice.help),
            dest=dest,
            const=choice.option,
            default=default.option if choice is default else None,
        )


def add_new_vr_options(parser: DcmtkParser) -> None:
    """``+u`` / ``-u`` into ``ns.new_vrs``."""
    parser.add_subgroup("post-1993 value representations")
    parser.add_option(
        "+u",
        "--enable-new-vr",
        "enable support for new VRs (UN/UT) (default)",
        dest="new_vrs",
        const=True,
        default=True,
    )
    parser.add_option(
        "-u",
        "--disable-new-vr",
        "disable support for new VRs, convert to OB",
        dest="new_vrs",
        const=False,
        action="store_const",
    )


def add_compression_level_option(parser: DcmtkParser, subgroup: str) -> None:
    """``+cl`` into ``ns.compression_level`` (0-9, default 6)."""
    parser.add_subgroup(subgroup)
    parser.add_option(
        "+cl",
        "--compression-level",
        "0=uncompressed, 1=fastest, 9=best compression",
        value_help="[l]evel: integer (default: 6)",
        type=Integer(0, 9),
        default=6,
    )


# -- the SCP side: +x=, +xe, ... +xi (dcmqrscp, storescp) --------------------------------
# In DCMTK's help order; ``+x=`` is the default.  A context gets the first of the choice's
# syntaxes that the peer proposed: the preferred one, then the uncompressed ones (explicit
# little, explicit big, implicit little, minus the preferred one).  Unlike the -x table,
# the video syntaxes keep their uncompressed fallbacks here, and ``+xi`` accepts only
# implicit VR little endian.
_ACCEPT = "accept implicit VR little endian TS only"
ACCEPTANCE_CHOICES: tuple[SyntaxChoice, ...] = tuple(
    SyntaxChoice(option, long, text, preferred, fallbacks=option != "+xi")
    for option, long, text, preferred in (
        ("+x=", "--prefer-uncompr", "prefer explicit VR local byte order (default)", None),
        ("+xe", "--prefer-little", "prefer explicit VR little endian TS", LEE),
        ("+xb", "--prefer-big", "prefer explicit VR big endian TS", BEE),
        ("+xs", "--prefer-lossless", "prefer default JPEG lossless TS", uids.JPEG_LOSSLESS_SV1),
        ("+xy", "--prefer-jpeg8", "prefer default JPEG lossy TS for 8 bit data", uids.JPEG_BASELINE),
        ("+xx", "--prefer-jpeg12", "prefer default JPEG lossy TS for 12 bit data", uids.JPEG_EXTENDED),
        ("+xv", "--prefer-j2k-lossless", "prefer JPEG 2000 lossless TS", uids.JPEG_2000_LOSSLESS),
        ("+xw", "--prefer-j2k-lossy", "prefer JPEG 2000 lossy TS", uids.JPEG_2000),
        ("+xt", "--prefer-jls-lossless", "prefer JPEG-LS lossless TS", uids.JPEG_LS_LOSSLESS),
        ("+xu", "--prefer-jls-lossy", "prefer JPEG-LS lossy TS", uids.JPEG_LS_NEAR_LOSSLESS),
        (
            "+xm",
            "--prefer-mpeg2",
            "prefer MPEG2 Main Profile @ Main Level TS",
            uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
        ),
        (
            "+xh",
            "--prefer-mpeg2-high",
            "prefer MPEG2 Main Profile @ High Level TS",
            uids.MPEG2_MAIN_PROFILE_HIGH_LEVEL,
        ),
        (
            "+xn",
            "--prefer-mpeg4",
            "prefer MPEG4 AVC/H.264 HP / Level 4.1 TS",
            uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
        ),
        ("+xl", "--prefer-mpeg4-bd", "prefer MPEG4 AVC/H.264 BD-compatible TS", "1.2.840.10008.1.2.4.103"),
        (
            "+x2",
            "--prefer-mpeg4-2-2d",
            "prefer MPEG4 AVC/H.264 HP / Level 4.2 TS (2D)",
            "1.2.840.10008.1.2.4.104",
        ),
        (
            "+x3",
            "--prefer-mpeg4-2-3d",
            "prefer MPEG4 AVC/H.264 HP / Level 4.2 TS (3D)",
            "1.2.840.10008.1.2.4.105",
        ),
        (
            "+xo",
            "--prefer-mpeg4-2-st",
            "prefer MPEG4 AVC/H.264 Stereo / Level 4.2 TS",
            "1.2.840.10008.1.2.4.106",
        ),
        (
            "+x4",
            "--prefer-hevc",
            "prefer HEVC/H.265 Main Profile / Level 5.1 TS",
            uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
        ),
        (
            "+x5",
            "--prefer-hevc10",
            "prefer HEVC/H.265 Main 10 Profile / Level 5.1 TS",
            uids.HEVC_MAIN_10_PROFILE_LEVEL_5_1,
        ),
        ("+xr", "--prefer-rle", "prefer RLE lossless TS", uids.RLE_LOSSLESS),
        ("+xd", "--prefer-deflated", "prefer deflated expl. VR little endian TS", DEFLATED),
        ("+xi", "--implicit", _ACCEPT, LEI),
    )
)
ACCEPTANCE_BY_OPTION: Mapping[str, SyntaxChoice] = {choice.option: choice for choice in ACCEPTANCE_CHOICES}
DEFAULT_ACCEPTANCE = ACCEPTANCE_CHOICES[0]


def accepted_syntaxes(choice: SyntaxChoice) -> tuple[str, ...]:
    """What an SCP accepts for a ``+x`` choice, most wanted first."""
    return proposed_syntaxes(choice)


def add_acceptance_options(
    parser: DcmtkParser, options: Sequence[str], *, help_overrides: Mapping[str, str] | None = None
) -> None:
    """The ``+x`` options named in ``options`` (in DCMTK's order), into ``ns.preference``."""
    _add_choices(
        parser, ACCEPTANCE_BY_OPTION, DEFAULT_ACCEPTANCE, "preference", options, help_overrides or {}
    )
