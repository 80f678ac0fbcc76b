"""The Q/R information models, keys per level and hierarchy rules (dcmqrscp 3.6.7 as the oracle)."""

from __future__ import annotations

import pytest

from dicomwire import uids
from dicomwire.archive import keys
from dicomwire.archive.keys import (
    IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS as A900,
)
from dicomwire.archive.keys import (
    KEYS_BY_TAG,
    PATIENT_ROOT,
    PATIENT_STUDY_ONLY,
    STUDY_ROOT,
    Level,
    QueryError,
    Service,
    plan,
)
from dicomwire.archive.keys import (
    UNABLE_TO_PROCESS as C000,
)

# dcmqrdbi.cc's TbFindAttr: (tag, level, unique?)
DCMTK_KEYS = {
    0x00100030: (Level.PATIENT, False),
    0x00100040: (Level.PATIENT, False),
    0x00100010: (Level.PATIENT, False),
    0x00100020: (Level.PATIENT, True),
    0x00100032: (Level.PATIENT, False),
    0x00101000: (Level.PATIENT, False),
    0x00101001: (Level.PATIENT, False),
    0x00102160: (Level.PATIENT, False),
    0x00104000: (Level.PATIENT, False),
    0x00100021: (Level.PATIENT, False),
    0x00080020: (Level.STUDY, False),
    0x00080030: (Level.STUDY, False),
    0x00200010: (Level.STUDY, False),
    0x00080050: (Level.STUDY, False),
    0x00080090: (Level.STUDY, False),
    0x00081030: (Level.STUDY, False),
    0x00081060: (Level.STUDY, False),
    0x0020000D: (Level.STUDY, True),
    0x00201070: (Level.STUDY, False),
    0x00081080: (Level.STUDY, False),
    0x00101010: (Level.STUDY, False),
    0x00101020: (Level.STUDY, False),
    0x00101030: (Level.STUDY, False),
    0x00102180: (Level.STUDY, False),
    0x001021B0: (Level.STUDY, False),
    0x00200011: (Level.SERIES, False),
    0x0020000E: (Level.SERIES, True),
    0x00080060: (Level.SERIES, False),
    0x00200013: (Level.IMAGE, False),
    0x00080018: (Level.IMAGE, True),
}


def test_dcmtk_keys_are_all_there_at_dcmtks_levels() -> None:
    ours = {k.tag: (k.level, k.type is keys.KeyType.UNIQUE) for k in keys.KEYS if k.dcmtk}
    assert ours == DCMTK_KEYS


def test_every_dcmtk_key_has_a_column() -> None:
    assert all(KEYS_BY_TAG[tag].source is keys.Source.COLUMN for tag in DCMTK_KEYS)


def test_one_unique_key_per_level() -> None:
    assert {level: k.keyword for level, k in keys.UNIQUE_KEYS.items()} == {
        Level.PATIENT: "PatientID",
        Level.STUDY: "StudyInstanceUID",
        Level.SERIES: "SeriesInstanceUID",
        Level.IMAGE: "SOPInstanceUID",
    }


def test_keywords_and_vrs_agree_with_the_dictionary() -> None:
    from pydicom.datadict import dictionary_VR, keyword_for_tag

    for key in keys.KEYS:
        assert keyword_for_tag(key.tag) == key.keyword
        assert dictionary_VR(key.tag) == key.vr


def test_range_matched_columns_have_a_normalised_twin() -> None:
    assert KEYS_BY_TAG[0x00080020].ordered_column == "study_date_key"
    assert KEYS_BY_TAG[0x00100010].ordered_column is None


@pytest.mark.parametrize(
    ("model", "sop_classes", "levels"),
    [
        (
            PATIENT_ROOT,
            (uids.PATIENT_ROOT_FIND, uids.PATIENT_ROOT_MOVE, uids.PATIENT_ROOT_GET),
            {Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE},
        ),
        (
            STUDY_ROOT,
            (uids.STUDY_ROOT_FIND, uids.STUDY_ROOT_MOVE, uids.STUDY_ROOT_GET),
            {Level.STUDY, Level.SERIES, Level.IMAGE},
        ),
        (
            PATIENT_STUDY_ONLY,
            (uids.PATIENT_STUDY_ONLY_FIND, uids.PATIENT_STUDY_ONLY_MOVE, uids.PATIENT_STUDY_ONLY_GET),
            {Level.PATIENT, Level.STUDY},
        ),
    ],
)
def test_models(model: keys.Model, sop_classes: tuple[str, str, str], levels: set[Level]) -> None:
    assert model.sop_classes == sop_classes
    assert {level for level in Level if model.allows(level)} == levels
    assert all(keys.model_for(uid) is model for uid in sop_classes)
    assert keys.model_for(model.name) is model


def test_unknown_model_is_refused() -> None:
    with pytest.raises(QueryError) as caught:
        keys.model_for(uids.MODALITY_WORKLIST_FIND)
    assert caught.value.status == keys.REFUSED_SOP_CLASS_NOT_SUPPORTED


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("PATIENT", Level.PATIENT),
        ("study", Level.STUDY),  # dcmqrscp upper-cases
        ("SERIES ", Level.SERIES),
        ("IMAGE", Level.IMAGE),
        ("STUDYX", Level.STUDY),  # ... and compares a prefix
        ("SERIE", None),
        ("INSTANCE", None),
        ("", None),
    ],
)
def test_parse_level(value: str, level: Level | None) -> None:
    assert keys.parse_level(value) is level


def _status(model: keys.Model, level: str | None, given: dict[str, str], **options: object) -> int | None:
    tags = {_tag(keyword): value for keyword, value in given.items()}
    try:
        result = plan(model, level, tags, **options)  # type: ignore[arg-type]
    except QueryError as error:
        return error.status
    return None if result.answerable else -1


def _tag(keyword: str) -> int:
    return next(k.tag for k in keys.KEYS if k.keyword == keyword)


P, S, PS = PATIENT_ROOT, STUDY_ROOT, PATIENT_STUDY_ONLY
UID = "1.2.3"

# (model, level, keys, status in default mode, status in strict mode); None = accepted.
# Every row was checked against dcmqrscp 3.6.7 without and with --check-find, except where
# the comment says we differ.
FIND_RULES = [
    (S, None, {"StudyInstanceUID": ""}, A900, A900),
    (S, "", {"StudyInstanceUID": ""}, A900, A900),
    (S, "FOO", {"StudyInstanceUID": ""}, C000, C000),
    (S, "STUDY", {"StudyInstanceUID": ""}, None, None),
    (S, "PATIENT", {"PatientID": ""}, C000, A900),
    (
        PS,
        "SERIES",
        {"PatientID": "P", "StudyInstanceUID": UID, "SeriesInstanceUID": ""},
        C000,
        A900,
    ),  # dcmqrscp answers
    (P, "STUDY", {"StudyInstanceUID": ""}, C000, A900),
    (P, "STUDY", {"PatientID": "P1", "StudyInstanceUID": ""}, None, None),
    (P, "STUDY", {"PatientID": "P*", "StudyInstanceUID": ""}, None, None),
    (P, "STUDY", {"PatientID": "", "StudyInstanceUID": ""}, None, A900),
    (P, "STUDY", {"PatientID": "P1", "PatientName": "", "StudyInstanceUID": ""}, None, A900),
    (P, "STUDY", {"PatientID": "P1", "StudyInstanceUID": "", "Modality": ""}, None, A900),
    (P, "IMAGE", {"PatientID": "P", "StudyInstanceUID": UID, "SOPInstanceUID": ""}, C000, A900),
    (P, "PATIENT", {"PatientName": ""}, None, None),
    (S, "SERIES", {"PatientName": "", "StudyInstanceUID": UID, "SeriesInstanceUID": ""}, None, A900),
    (S, "SERIES", {"StudyInstanceUID": UID, "SeriesInstanceUID": "", "StudyDate": ""}, None, A900),
    (S, "SERIES", {"StudyInstanceUID": UID + "\\1.2.4", "SeriesInstanceUID": ""}, None, None),
    (S, "SERIES", {"StudyInstanceUID": "", "SeriesInstanceUID": ""}, None, A900),
    (S, "STUDY", {"PatientName": "Doe*", "StudyInstanceUID": ""}, None, None),
    (S, "IMAGE", {"StudyInstanceUID": UID, "SOPInstanceUID": ""}, C000, A900),
    (S, "STUDY", {}, None, A900),  # nothing at the query level
    (S, "STUDY", {"ModalitiesInStudy": "CT"}, None, None),  # dcmqrscp does not know it: A900 strict
]


@pytest.mark.parametrize(("model", "level", "given", "default", "strict"), FIND_RULES)
def test_find_hierarchy_rules(
    model: keys.Model, level: str | None, given: dict[str, str], default: int | None, strict: int | None
) -> None:
    assert _status(model, level, given) == default
    assert _status(model, level, given, strict=True) == strict


NO_MATCH = -1
MOVE_RULES = [
    (S, None, {"StudyInstanceUID": UID}, A900, A900),
    (S, "FOO", {"StudyInstanceUID": UID}, C000, C000),
    (S, "STUDY", {"StudyInstanceUID": UID}, None, None),
    (S, "STUDY", {"StudyInstanceUID": ""}, None, A900),
    (S, "STUDY", {"StudyInstanceUID": UID, "PatientID": "P"}, None, A900),
    (S, "STUDY", {"StudyInstanceUID": UID, "StudyDate": "20200101"}, None, A900),
    (S, "PATIENT", {"PatientID": "P"}, NO_MATCH, A900),
    (S, "SERIES", {"SeriesInstanceUID": UID}, NO_MATCH, A900),
    (P, "PATIENT", {"PatientID": "P"}, None, None),
    (P, "SERIES", {"PatientID": "P", "StudyInstanceUID": UID, "SeriesInstanceUID": UID}, None, None),
    (PS, "SERIES", {"PatientID": "P", "StudyInstanceUID": UID, "SeriesInstanceUID": UID}, NO_MATCH, A900),
]


@pytest.mark.parametrize(("model", "level", "given", "default", "strict"), MOVE_RULES)
def test_retrieve_hierarchy_rules(
    model: keys.Model, level: str | None, given: dict[str, str], default: int | None, strict: int | None
) -> None:
    assert _status(model, level, given, service=Service.RETRIEVE) == default
    assert _status(model, level, given, service=Service.RETRIEVE, strict=True) == strict


def test_default_mode_matches_only_unique_keys_above_the_level() -> None:
    given = {_tag("PatientName"): "XXX", _tag("StudyInstanceUID"): UID, _tag("SeriesInstanceUID"): ""}
    matched = plan(STUDY_ROOT, "SERIES", given).match
    assert [(k.keyword, v) for k, v in matched] == [("StudyInstanceUID", UID), ("SeriesInstanceUID", "")]


def test_study_root_study_query_matches_patient_keys() -> None:
    given = {_tag("PatientName"): "Doe*", _tag("StudyInstanceUID"): ""}
    assert {k.keyword for k, _ in plan(STUDY_ROOT, "STUDY", given).match} == {
        "PatientName",
        "StudyInstanceUID",
    }


def test_keys_below_the_level_are_ignored_in_default_mode() -> None:
    given = {_tag("PatientID"): "P", _tag("StudyInstanceUID"): "", _tag("Modality"): "CT"}
    matched = plan(PATIENT_ROOT, "STUDY", given).match
    assert {k.keyword for k, _ in matched} == {"PatientID", "StudyInstanceUID"}


def test_unknown_keys_are_not_matched() -> None:
    given = {0x00180050: "5", _tag("StudyInstanceUID"): ""}
    assert [k.keyword for k, _ in plan(STUDY_ROOT, "STUDY", given).match] == ["StudyInstanceUID"]


def test_query_error_message_has_the_status() -> None:
    with pytest.raises(QueryError, match="0xA900"):
        plan(STUDY_ROOT, None, {})
