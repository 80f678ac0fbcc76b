"""DCMTK's transfer-syntax proposal options (``-x=``, ``-xe``, ... ``-xd``), defined once.

Every SCU of DCMTK offers a subset of the same table (the help texts are our own words;
a tool whose option means something else passes an override).  A choice is a preferred
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
        "offer the uncompressed syntaxes, explicit VR\nin this machine's byte order first (default)",
        None,
    ),
    SyntaxChoice(
        "-xe", "--propose-little", "offer the uncompressed syntaxes, explicit\nVR little endian first", LEE
    ),
    SyntaxChoice(
        "-xb", "--propose-big", "offer the uncompressed syntaxes, explicit\nVR big endian first", BEE
    ),
    SyntaxChoice("-xi", "--propose-implicit", "offer implicit VR little endian alone", LEI, fallbacks=False),
    SyntaxChoice(
        "-xs",
        "--propose-lossless",
        "offer JPEG lossless (process 14 SV1),\nthen the uncompressed syntaxes",
        uids.JPEG_LOSSLESS_SV1,
    ),
    SyntaxChoice(
        "-xy",
        "--propose-jpeg8",
        "offer JPEG baseline (8 bit lossy),\nthen the uncompressed syntaxes",
        uids.JPEG_BASELINE,
    ),
    SyntaxChoice(
        "-xx",
        "--propose-jpeg12",
        "offer JPEG extended (12 bit lossy),\nthen the uncompressed syntaxes",
        uids.JPEG_EXTENDED,
    ),
    SyntaxChoice(
        "-xv",
        "--propose-j2k-lossless",
        "offer lossless-only JPEG 2000,\nthen the uncompressed syntaxes",
        uids.JPEG_2000_LOSSLESS,
    ),
    SyntaxChoice(
        "-xw",
        "--propose-j2k-lossy",
        "offer JPEG 2000 (lossy allowed),\nthen the uncompressed syntaxes",
        uids.JPEG_2000,
    ),
    SyntaxChoice(
        "-xt",
        "--propose-jls-lossless",
        "offer JPEG-LS lossless,\nthen the uncompressed syntaxes",
        uids.JPEG_LS_LOSSLESS,
    ),
    SyntaxChoice(
        "-xu",
        "--propose-jls-lossy",
        "offer JPEG-LS near-lossless,\nthen the uncompressed syntaxes",
        uids.JPEG_LS_NEAR_LOSSLESS,
    ),
    SyntaxChoice(
        "-xm",
        "--propose-mpeg2",
        "offer MPEG2 main profile at main level",
        uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xh",
        "--propose-mpeg2-high",
        "offer MPEG2 main profile at high level",
        uids.MPEG2_MAIN_PROFILE_HIGH_LEVEL,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xn",
        "--propose-mpeg4",
        "offer MPEG4 AVC/H.264 high profile, level 4.1",
        uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xl",
        "--propose-mpeg4-bd",
        "offer MPEG4 AVC/H.264 BD-compatible profile",
        "1.2.840.10008.1.2.4.103",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x2",
        "--propose-mpeg4-2-2d",
        "offer MPEG4 AVC/H.264 high profile 4.2, 2D",
        "1.2.840.10008.1.2.4.104",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x3",
        "--propose-mpeg4-2-3d",
        "offer MPEG4 AVC/H.264 high profile 4.2, 3D",
        "1.2.840.10008.1.2.4.105",
        _VIDEO,
    ),
    SyntaxChoice(
        "-xo",
        "--propose-mpeg4-2-st",
        "offer MPEG4 AVC/H.264 stereo high profile 4.2",
        "1.2.840.10008.1.2.4.106",
        _VIDEO,
    ),
    SyntaxChoice(
        "-x4",
        "--propose-hevc",
        "offer HEVC/H.265 main profile, level 5.1",
        uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-x5",
        "--propose-hevc10",
        "offer HEVC/H.265 main 10 profile, level 5.1",
        uids.HEVC_MAIN_10_PROFILE_LEVEL_5_1,
        _VIDEO,
    ),
    SyntaxChoice(
        "-xr",
        "--propose-rle",
        "offer RLE lossless,\nthen the uncompressed syntaxes",
        uids.RLE_LOSSLESS,
    ),
    SyntaxChoice(
        "-xd",
        "--propose-deflated",
        "offer deflated explicit VR little endian,\nthen the uncompressed syntaxes",
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
        "use the post-1993 VRs such as UN, UT (default)",
        dest="new_vrs",
        const=True,
        default=True,
    )
    parser.add_option(
        "-u",
        "--disable-new-vr",
        "no post-1993 VRs: write them as OB",
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
        "0: none, 1: fastest, 9: smallest output",
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
_ACCEPT = "implicit VR little endian and nothing else"
ACCEPTANCE_CHOICES: tuple[SyntaxChoice, ...] = tuple(
    SyntaxChoice(option, long, text, preferred, fallbacks=option != "+xi")
    for option, long, text, preferred in (
        ("+x=", "--prefer-uncompr", "explicit VR, native byte order first (default)", None),
        ("+xe", "--prefer-little", "explicit VR little endian first", LEE),
        ("+xb", "--prefer-big", "explicit VR big endian first", BEE),
        ("+xs", "--prefer-lossless", "JPEG lossless (process 14 SV1) first", uids.JPEG_LOSSLESS_SV1),
        ("+xy", "--prefer-jpeg8", "JPEG baseline (8 bit lossy) first", uids.JPEG_BASELINE),
        ("+xx", "--prefer-jpeg12", "JPEG extended (12 bit lossy) first", uids.JPEG_EXTENDED),
        ("+xv", "--prefer-j2k-lossless", "lossless-only JPEG 2000 first", uids.JPEG_2000_LOSSLESS),
        ("+xw", "--prefer-j2k-lossy", "JPEG 2000 (lossy allowed) first", uids.JPEG_2000),
        ("+xt", "--prefer-jls-lossless", "JPEG-LS lossless first", uids.JPEG_LS_LOSSLESS),
        ("+xu", "--prefer-jls-lossy", "JPEG-LS near-lossless first", uids.JPEG_LS_NEAR_LOSSLESS),
        (
            "+xm",
            "--prefer-mpeg2",
            "MPEG2 main profile at main level first",
            uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,
        ),
        (
            "+xh",
            "--prefer-mpeg2-high",
            "MPEG2 main profile at high level first",
            uids.MPEG2_MAIN_PROFILE_HIGH_LEVEL,
        ),
        (
            "+xn",
            "--prefer-mpeg4",
            "MPEG4 AVC/H.264 high profile, level 4.1 first",
            uids.MPEG4_HIGH_PROFILE_LEVEL_4_1,
        ),
        (
            "+xl",
            "--prefer-mpeg4-bd",
            "MPEG4 AVC/H.264 BD-compatible profile first",
            "1.2.840.10008.1.2.4.103",
        ),
        (
            "+x2",
            "--prefer-mpeg4-2-2d",
            "MPEG4 AVC/H.264 high profile 4.2, 2D first",
            "1.2.840.10008.1.2.4.104",
        ),
        (
            "+x3",
            "--prefer-mpeg4-2-3d",
            "MPEG4 AVC/H.264 high profile 4.2, 3D first",
            "1.2.840.10008.1.2.4.105",
        ),
        (
            "+xo",
            "--prefer-mpeg4-2-st",
            "MPEG4 AVC/H.264 stereo high profile 4.2 first",
            "1.2.840.10008.1.2.4.106",
        ),
        (
            "+x4",
            "--prefer-hevc",
            "HEVC/H.265 main profile, level 5.1 first",
            uids.HEVC_MAIN_PROFILE_LEVEL_5_1,
        ),
        (
            "+x5",
            "--prefer-hevc10",
            "HEVC/H.265 main 10 profile, level 5.1 first",
            uids.HEVC_MAIN_10_PROFILE_LEVEL_5_1,
        ),
        ("+xr", "--prefer-rle", "RLE lossless first", uids.RLE_LOSSLESS),
        ("+xd", "--prefer-deflated", "deflated explicit VR little endian first", DEFLATED),
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
