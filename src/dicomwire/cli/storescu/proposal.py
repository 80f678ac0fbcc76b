"""What storescu proposes, and which accepted context it sends a file on.

DCMTK 3.6.7 storescu's scheme, as observed with ``storescu -d`` (see the
facts in ``tests/cli/test_storescu_proposal.py``):

* SOP classes: DCMTK's short list of 64 storage classes
  (:data:`uids.DCMTK_SHORT_SCU_STORAGE`), whatever the files are; with ``-R``
  only the SOP classes of the files, in the order they first appear.
* Transfer syntaxes: a preferred one (``-x=`` explicit VR in the machine's
  byte order, ``-xe``, ``-xb``, ``-xs``...) plus the uncompressed fallbacks
  explicit little, explicit big, implicit little (minus the preferred one).
  ``-xi`` and the video syntaxes (``-xm -xh -xn -xl -x2 -x3 -xo -x4 -x5``)
  have no fallbacks.
* Contexts: two per SOP class (preferred alone, then the fallbacks), one with
  ``+C`` (preferred and fallbacks combined) or when there are no fallbacks.
  IDs 1, 3, 5...; more than 128 contexts is an error ("Too many presentation
  contexts").
* ``-xf FILE PROFILE`` replaces all that with the profile's contexts.

Choosing the context for a file (what DCMTK's storescu does): the first
accepted context of the file's SOP class whose transfer syntax is the file's;
else the first accepted context of that SOP class with an unencapsulated
transfer syntax (the file is converted).  With ``-xd`` an unencapsulated file
looks for a deflated context first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dicomwire import uids
from dicomwire.dcmtk.profiles import Profile
from dicomwire.ul.items import PresentationContextRQ, RoleSelection, SOPClassExtendedNegotiation
from dicomwire.ul.negotiation import AcceptedContext

MAX_CONTEXTS = 128

LEE = uids.EXPLICIT_VR_LITTLE_ENDIAN
BEE = uids.EXPLICIT_VR_BIG_ENDIAN
LEI = uids.IMPLICIT_VR_LITTLE_ENDIAN
DEFLATED = uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
UNCOMPRESSED_FALLBACKS: tuple[str, ...] = (LEE, BEE, LEI)


class TooManyContexts(Exception):
    """The proposal would need more than 128 presentation contexts."""


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


def sop_classes_to_propose(file_classes: Iterable[str], *, required_only: bool) -> list[str]:
    """The SOP classes, in order, without repeats."""
    classes = file_classes if required_only else uids.DCMTK_SHORT_SCU_STORAGE
    return list(dict.fromkeys(classes))


def build_contexts(
    sop_classes: Sequence[str], choice: SyntaxChoice = DEFAULT_SYNTAX, *, combine: bool = False
) -> tuple[PresentationContextRQ, ...]:
    """DCMTK's storescu proposal for these SOP classes; raises TooManyContexts."""
    preferred, fallbacks = syntax_lists(choice)
    if combine:
        groups: tuple[tuple[str, ...], ...] = ((preferred, *fallbacks),)
    elif fallbacks:
        groups = ((preferred,), fallbacks)
    else:
        groups = ((preferred,),)
    pairs = [(sop_class, group) for sop_class in sop_classes for group in groups]
    return number_contexts(pairs)


def number_contexts(pairs: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[PresentationContextRQ, ...]:
    if len(pairs) > MAX_CONTEXTS:
        raise TooManyContexts(f"{len(pairs)} presentation contexts")
    return tuple(
        PresentationContextRQ(2 * index + 1, abstract, syntaxes)
        for index, (abstract, syntaxes) in enumerate(pairs)
    )


@dataclass(frozen=True)
class ProfileProposal:
    contexts: tuple[PresentationContextRQ, ...]
    roles: tuple[RoleSelection, ...]
    extended_negotiation: tuple[SOPClassExtendedNegotiation, ...]


def profile_proposal(profile: Profile) -> ProfileProposal:
    """An ``-xf`` profile as contexts, role selections and extended negotiation items."""
    pairs = [(c.abstract_syntax, tuple(c.transfer_syntaxes)) for c in profile.contexts]
    roles = tuple(RoleSelection(sop_class, role.scu, role.scp) for sop_class, role in profile.roles.items())
    extended = tuple(
        SOPClassExtendedNegotiation(sop_class, info)
        for sop_class, info in profile.extended_negotiation.items()
    )
    return ProfileProposal(number_contexts(pairs), roles, extended)


def _encapsulated(transfer_syntax: str) -> bool:
    known = uids.TRANSFER_SYNTAXES.get(transfer_syntax)
    return known.encapsulated if known is not None else False


def choose_context(
    contexts: Mapping[int, AcceptedContext],
    sop_class: str,
    transfer_syntax: str,
    *,
    prefer_deflated: bool = False,
) -> AcceptedContext | None:
    """The accepted context DCMTK's storescu sends this file on, or None."""
    ordered = sorted(
        (c for c in contexts.values() if c.abstract_syntax == sop_class and c.requestor_scu),
        key=lambda c: c.context_id,
    )
    wanted = transfer_syntax
    if prefer_deflated and not _encapsulated(transfer_syntax):
        wanted = DEFLATED
    for context in ordered:
        if context.transfer_syntax == wanted:
            return context
    for context in ordered:
        if not _encapsulated(context.transfer_syntax):
            return context
    return None


def has_context_for(contexts: Mapping[int, AcceptedContext], sop_class: str) -> bool:
    return any(c.abstract_syntax == sop_class and c.requestor_scu for c in contexts.values())
