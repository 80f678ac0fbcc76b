"""An association profile's contexts (ArchiveOptions.profile, dcmqrscp -xf) over loopback.

DCMTK's rule: the profile replaces the storage contexts; Verification and the FIND models
stay, each with our transfer syntaxes first and the profile's after them; the access rules
still hold (storage only for W areas, FIND only for R ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import SC, area, config, connect, find_all, instance, run, running, study_query

import dicomwire
from dicomwire import uids
from dicomwire.archive.config import Access, ArchiveConfig
from dicomwire.archive.options import ArchiveOptions
from dicomwire.ul.items import ContextResult

CT = "1.2.840.10008.5.1.4.1.1.2"
LEE, LEI = uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN
CT_IMPLICIT_ONLY: Mapping[str, Sequence[str]] = {CT: (LEI,)}
ACCEPTED, ABSTRACT, SYNTAX = (
    ContextResult.ACCEPTANCE,
    ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED,
    ContextResult.TRANSFER_SYNTAXES_NOT_SUPPORTED,
)


def options(profile: Mapping[str, Sequence[str]], **more: Any) -> ArchiveOptions:
    return ArchiveOptions(host_lookup=False, profile=profile, **more)


def ct_instance(sop_instance: str) -> Any:
    ds = instance(sop_instance)
    ds.SOPClassUID = CT
    return ds


def answers(
    cfg: ArchiveConfig, opts: ArchiveOptions, contexts: Sequence[Any], called_ae: str = "ARCHIVE"
) -> list[tuple[ContextResult, str]]:
    """(result, transfer syntax) for each proposed context, in the order proposed."""

    async def main() -> list[tuple[ContextResult, str]]:
        async with running(cfg, opts) as archive, connect(archive, called_ae, contexts) as assoc:
            assert assoc.accept is not None
            return [
                (ContextResult(pc.result), pc.transfer_syntax) for pc in assoc.accept.presentation_contexts
            ]

    result: list[tuple[ContextResult, str]] = run(main())
    return result


def test_only_the_profiles_storage_class_is_stored_and_found(tmp_path: Path) -> None:
    contexts = [(CT, [LEE, LEI]), (SC, [LEE, LEI]), (uids.STUDY_ROOT_FIND, [LEE])]

    async def main() -> None:
        cfg, opts = config(area(tmp_path)), options(CT_IMPLICIT_ONLY)
        async with running(cfg, opts) as archive, connect(archive, contexts=contexts) as assoc:
            assert (await dicomwire.store(assoc, ct_instance("1.2.3.1"))).status == 0
            with pytest.raises(dicomwire.NoAcceptedContext):
                await dicomwire.store(assoc, instance("1.2.3.2"))  # secondary capture
            matches, final = await find_all(assoc, study_query())
            assert final == dicomwire.status.SUCCESS
            assert [str(m.StudyInstanceUID) for m in matches] == ["1.2.9"]

    run(main())


def test_storage_takes_the_profiles_transfer_syntaxes_in_its_order(tmp_path: Path) -> None:
    profile = {CT: (LEI, LEE)}
    proposed = [(CT, [LEE, LEI]), (CT, [LEE]), (CT, [uids.EXPLICIT_VR_BIG_ENDIAN]), (SC, [LEE, LEI])]
    got = answers(config(area(tmp_path)), options(profile), proposed)
    assert [result for result, _ in got] == [ACCEPTED, ACCEPTED, SYNTAX, ABSTRACT]
    assert [syntax for _, syntax in got[:2]] == [LEI, LEE]


def test_a_profile_entry_for_find_or_verification_comes_after_our_syntaxes(tmp_path: Path) -> None:
    # as dcmqrscp: its own list for Verification and FIND first, the profile's as a fallback
    profile = {
        CT: (LEI,),
        uids.STUDY_ROOT_FIND: (LEI,),
        uids.VERIFICATION: (uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,),
    }
    proposed = [
        (uids.STUDY_ROOT_FIND, [LEI, LEE]),
        (uids.VERIFICATION, [LEI, LEE]),
        (uids.VERIFICATION, [uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]),
    ]
    got = answers(config(area(tmp_path)), options(profile), proposed)
    assert got == [(ACCEPTED, LEE), (ACCEPTED, LEE), (ACCEPTED, uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)]


def test_a_profile_entry_brings_back_a_model_switched_off(tmp_path: Path) -> None:
    proposed = [(uids.STUDY_ROOT_FIND, [LEE, LEI]), (uids.PATIENT_ROOT_FIND, [LEE])]
    cfg = config(area(tmp_path))
    switched_off = options({**CT_IMPLICIT_ONLY, uids.STUDY_ROOT_FIND: (LEI,)}, study_root=False)
    assert answers(cfg, switched_off, proposed) == [(ACCEPTED, LEI), (ACCEPTED, LEE)]
    assert answers(cfg, options(CT_IMPLICIT_ONLY, study_root=False), proposed)[0][0] == ABSTRACT


def test_access_rules_still_hold_for_profile_entries(tmp_path: Path) -> None:
    cfg = config(area(tmp_path, "READER", Access.READ), area(tmp_path, "WRITER", Access.WRITE))
    profile = {**CT_IMPLICIT_ONLY, uids.STUDY_ROOT_FIND: (LEI,)}
    proposed = [(CT, [LEI]), (uids.STUDY_ROOT_FIND, [LEI]), (uids.VERIFICATION, [LEI])]
    reader = answers(cfg, options(profile), proposed, "READER")
    writer = answers(cfg, options(profile), proposed, "WRITER")
    assert [result for result, _ in reader] == [ABSTRACT, ACCEPTED, ACCEPTED]
    assert [result for result, _ in writer] == [ACCEPTED, ABSTRACT, ACCEPTED]


def test_profile_entries_the_archive_cannot_serve_are_refused(tmp_path: Path) -> None:
    worklist, move = "1.2.840.10008.5.1.4.31", uids.STUDY_ROOT_MOVE
    private = "1.2.3.4.5.6.7"  # a UID we do not know counts as a private storage class
    profile = {CT: (LEI,), worklist: (LEI,), move: (LEI,), private: (LEI,)}
    proposed = [(worklist, [LEI]), (move, [LEI]), (private, [LEI])]
    got = answers(config(area(tmp_path)), options(profile), proposed)
    assert [result for result, _ in got] == [ABSTRACT, ACCEPTED, ACCEPTED]  # C-MOVE is served


def test_without_a_profile_every_storage_class_is_accepted(tmp_path: Path) -> None:
    proposed = [(CT, [LEE, LEI]), (SC, [LEI])]
    got = answers(config(area(tmp_path)), ArchiveOptions(host_lookup=False), proposed)
    assert got == [(ACCEPTED, uids.local_endian_explicit()), (ACCEPTED, LEI)]
