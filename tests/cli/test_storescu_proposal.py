"""storescu's presentation contexts and its choice of context per file.

DCMTK 3.6.7 facts (from ``storescu -d`` against ``storescp +xa``):
* default: DCMTK's 64 "short list" storage classes, two contexts each (IDs
  1..255): [LittleEndianExplicit] then [BigEndianExplicit, LittleEndianImplicit];
  the files' own classes are *not* added (a Segmentation file then fails with
  "No presentation context for: (SG) 1.2.840.10008.5.1.4.1.1.66.4");
* ``+C``: one context per class with all three; ``-xi``: [LittleEndianImplicit]
  only; the video syntaxes (-xm -xh -xn -xl -x2 -x3 -xo -x4 -x5) alone;
  compressed ones (-xs -xy -xx -xv -xw -xt -xu -xr -xd) first, then all three
  uncompressed;
* ``-R``: only the files' classes, in order of first appearance; 65 classes
  (130 contexts) give "Too many presentation contexts";
* sending: same transfer syntax if accepted, else the first accepted
  unencapsulated context of the class (a big endian file went to
  LittleEndianExplicit under -xs, not to the accepted JPEG lossless context).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomwire import uids
from dicomwire.cli.storescu.proposal import (
    SYNTAX_BY_OPTION,
    SYNTAX_CHOICES,
    TooManyContexts,
    build_contexts,
    choose_context,
    profile_proposal,
    sop_classes_to_propose,
)
from dicomwire.dcmtk.profiles import load_profile
from dicomwire.ul.negotiation import AcceptedContext

LEE, BEE, LEI = uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN
CT, MR, SEG = uids.CT_IMAGE_STORAGE, uids.MR_IMAGE_STORAGE, uids.SEGMENTATION_STORAGE


def test_default_proposal_is_dcmtks_short_list_two_contexts_each() -> None:
    classes = sop_classes_to_propose([SEG, CT], required_only=False)
    contexts = build_contexts(classes)
    assert len(contexts) == 128
    assert [c.context_id for c in contexts] == list(range(1, 256, 2))
    assert classes == list(uids.DCMTK_SHORT_SCU_STORAGE)
    assert SEG not in classes  # the files' classes are not added
    first, second = contexts[0], contexts[1]
    assert uids.name_of(first.abstract_syntax) == "AmbulatoryECGWaveformStorage"
    assert first.transfer_syntaxes == (LEE,)
    assert second.abstract_syntax == first.abstract_syntax
    assert second.transfer_syntaxes == (BEE, LEI)
    assert uids.name_of(contexts[-1].abstract_syntax) == "XRayRadiofluoroscopicImageStorage"


def test_combine_gives_one_context_per_class() -> None:
    contexts = build_contexts(list(uids.DCMTK_SHORT_SCU_STORAGE), combine=True)
    assert len(contexts) == 64
    assert contexts[0].transfer_syntaxes == (LEE, BEE, LEI)


EXPECTED_FIRST = {
    "-x=": (LEE,),
    "-xe": (LEE,),
    "-xb": (BEE,),
    "-xi": (LEI,),
    "-xs": ("1.2.840.10008.1.2.4.70",),
    "-xy": ("1.2.840.10008.1.2.4.50",),
    "-xx": ("1.2.840.10008.1.2.4.51",),
    "-xv": ("1.2.840.10008.1.2.4.90",),
    "-xw": ("1.2.840.10008.1.2.4.91",),
    "-xt": ("1.2.840.10008.1.2.4.80",),
    "-xu": ("1.2.840.10008.1.2.4.81",),
    "-xm": ("1.2.840.10008.1.2.4.100",),
    "-xh": ("1.2.840.10008.1.2.4.101",),
    "-xn": ("1.2.840.10008.1.2.4.102",),
    "-xl": ("1.2.840.10008.1.2.4.103",),
    "-x2": ("1.2.840.10008.1.2.4.104",),
    "-x3": ("1.2.840.10008.1.2.4.105",),
    "-xo": ("1.2.840.10008.1.2.4.106",),
    "-x4": ("1.2.840.10008.1.2.4.107",),
    "-x5": ("1.2.840.10008.1.2.4.108",),
    "-xr": ("1.2.840.10008.1.2.5",),
    "-xd": ("1.2.840.10008.1.2.1.99",),
}
ALONE = {"-xi", "-xm", "-xh", "-xn", "-xl", "-x2", "-x3", "-xo", "-x4", "-x5"}


@pytest.mark.parametrize("option", sorted(EXPECTED_FIRST))
def test_each_syntax_option(option: str) -> None:
    contexts = build_contexts([CT, MR], SYNTAX_BY_OPTION[option])
    assert contexts[0].transfer_syntaxes == EXPECTED_FIRST[option]
    if option in ALONE:
        assert [c.abstract_syntax for c in contexts] == [CT, MR]
    else:
        assert len(contexts) == 4
        fallbacks = tuple(ts for ts in (LEE, BEE, LEI) if ts not in EXPECTED_FIRST[option])
        assert contexts[1].transfer_syntaxes == fallbacks
        combined = build_contexts([CT], SYNTAX_BY_OPTION[option], combine=True)
        assert combined[0].transfer_syntaxes == EXPECTED_FIRST[option] + fallbacks


def test_every_man_page_option_has_a_choice() -> None:
    assert {c.option for c in SYNTAX_CHOICES} == set(EXPECTED_FIRST)


def test_required_only_uses_the_files_classes_in_order() -> None:
    classes = sop_classes_to_propose([CT, uids.SECONDARY_CAPTURE_IMAGE_STORAGE, CT, MR], required_only=True)
    assert classes == [CT, uids.SECONDARY_CAPTURE_IMAGE_STORAGE, MR]
    assert len(build_contexts(classes)) == 6


def test_more_than_128_contexts_is_an_error() -> None:
    classes = list(uids.DCMTK_ALL_STORAGE[:65])
    with pytest.raises(TooManyContexts):
        build_contexts(classes)
    assert len(build_contexts(classes[:64])) == 128
    assert len(build_contexts(list(uids.DCMTK_ALL_STORAGE[:128]), combine=True)) == 128
    with pytest.raises(TooManyContexts):
        build_contexts(list(uids.DCMTK_ALL_STORAGE[:129]), SYNTAX_BY_OPTION["-xi"])


def test_profile_proposal_with_roles_and_extended_negotiation(tmp_path: Path) -> None:
    cfg = tmp_path / "scu.cfg"
    cfg.write_text(
        "[[TransferSyntaxes]]\n[Unc]\nTransferSyntax1 = LittleEndianImplicit\n"
        "TransferSyntax2 = LittleEndianExplicit\n[J2K]\nTransferSyntax1 = JPEG2000\n"
        "[[PresentationContexts]]\n[Ctx]\nPresentationContext1 = CTImageStorage\\J2K\n"
        "PresentationContext2 = CTImageStorage\\Unc\nPresentationContext3 = 1.2.3.4\\Unc\n"
        "[[SCPSCURoleSelection]]\n[Roles]\nRole1 = CTImageStorage\\BOTH\n"
        "[[ExtendedNegotiation]]\n[Ext]\nExtendedNegotiation1 = CTImageStorage\\0100\n"
        "[[Profiles]]\n[Mine]\nPresentationContexts = Ctx\nSCPSCURoleSelection = Roles\n"
        "ExtendedNegotiation = Ext\n"
    )
    proposal = profile_proposal(load_profile(cfg, "mine"))
    assert [(c.context_id, c.abstract_syntax, c.transfer_syntaxes) for c in proposal.contexts] == [
        (1, CT, ("1.2.840.10008.1.2.4.91",)),
        (3, CT, (LEI, LEE)),
        (5, "1.2.3.4", (LEI, LEE)),
    ]
    assert [(r.sop_class_uid, r.scu_role, r.scp_role) for r in proposal.roles] == [(CT, True, True)]
    assert [(e.sop_class_uid, e.application_information) for e in proposal.extended_negotiation] == [
        (CT, b"\x01\x00")
    ]


def _accepted(*pairs: tuple[int, str, str]) -> dict[int, AcceptedContext]:
    return {cid: AcceptedContext(cid, sop, ts) for cid, sop, ts in pairs}


def test_choose_context_same_syntax_first() -> None:
    contexts = _accepted((1, CT, LEE), (3, CT, LEI), (5, MR, LEE))
    chosen = choose_context(contexts, CT, LEI)
    assert chosen is not None and chosen.context_id == 3


def test_choose_context_falls_back_to_first_unencapsulated() -> None:
    contexts = _accepted((1, CT, "1.2.840.10008.1.2.4.70"), (3, CT, LEE))
    chosen = choose_context(contexts, CT, BEE)
    assert chosen is not None and chosen.context_id == 3
    contexts = _accepted((1, CT, BEE), (3, CT, LEE))
    chosen = choose_context(contexts, CT, LEI)
    assert chosen is not None and chosen.context_id == 1  # first one, not the "best" one


def test_choose_context_none() -> None:
    assert choose_context(_accepted((1, MR, LEE)), CT, LEE) is None
    assert choose_context(_accepted((1, CT, "1.2.840.10008.1.2.4.50")), CT, LEE) is None


def test_choose_context_prefers_deflate_with_xd() -> None:
    contexts = _accepted((1, CT, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN), (3, CT, LEE))
    chosen = choose_context(contexts, CT, LEE, prefer_deflated=True)
    assert chosen is not None and chosen.context_id == 1
    chosen = choose_context(contexts, CT, LEE)
    assert chosen is not None and chosen.context_id == 3
    jpeg = "1.2.840.10008.1.2.4.50"
    contexts = _accepted((1, CT, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN), (3, CT, jpeg))
    chosen = choose_context(contexts, CT, jpeg, prefer_deflated=True)
    assert chosen is not None and chosen.context_id == 3  # encapsulated files keep their syntax
