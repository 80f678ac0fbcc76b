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
from typing import TYPE_CHECKING

from dicomwire import uids
from dicomwire._records import record
from dicomwire.dcmtk.cmdline.syntaxes import (
    DEFAULT_SYNTAX,
    SYNTAX_BY_OPTION,
    SYNTAX_CHOICES,
    SyntaxChoice,
    preferred_syntax,
    syntax_lists,
)
from dicomwire.ul.items import PresentationContextRQ, RoleSelection, SOPClassExtendedNegotiation
from dicomwire.ul.negotiation import AcceptedContext

if TYPE_CHECKING:
    from dicomwire.dcmtk.profiles import Profile

MAX_CONTEXTS = 128
DEFLATED = uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
__all__ = [
    "DEFAULT_SYNTAX",
    "MAX_CONTEXTS",
    "SYNTAX_BY_OPTION",
    "SYNTAX_CHOICES",
    "SyntaxChoice",
    "TooManyContexts",
    "build_contexts",
    "choose_context",
    "preferred_syntax",
    "sop_classes_to_propose",
    "syntax_lists",
]


class TooManyContexts(Exception):
    """The proposal would need more than 128 presentation contexts."""


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


@record(frozen=True)
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
