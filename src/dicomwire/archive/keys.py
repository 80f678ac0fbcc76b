"""The Query/Retrieve information models as tables: levels, keys per level, hierarchy rules.

The oracle is DCMTK 3.6.7's dcmqrscp (``dcmqrdb/libsrc/dcmqrdbi.cc``, its ``TbFindAttr``
table and ``testFindRequestList``/``testMoveRequestList``/``hierarchicalCompare``), plus
the PS3.4 C.6 keys worth indexing that dcmqrscp does not know (``Key.dcmtk`` is False for
those: dcmqrscp neither matches nor returns them).

Where a key is answered from:

* ``COLUMN``: a column of the level's table (``schema.py``), matched in SQL;
* ``COUNT``: a count computed in SQL (the "Number of ... Related ..." keys; return only);
* ``MODALITIES``: Modalities in Study, kept on the study row, matched against the series;
* ``JSON``: the stored DICOM JSON of the instance, matched by a Python post-filter.

Identifier checks, as dcmqrscp does them (observed against dcmqrscp 3.6.7, status codes
are the C-FIND ones; C-MOVE/C-GET use the same numbers):

* Query/Retrieve Level absent or empty: 0xA900 (Identifier does not match SOP class).
* Level not one of PATIENT/STUDY/SERIES/IMAGE: 0xC000 (Unable to process).  dcmqrscp
  upper-cases the value and accepts a prefix (``study``, ``STUDYX``); so do we.
* Default mode (dcmqrscp without ``--check-find``): for every level above the query level
  the unique key must be present (else 0xC000) and is the only key matched there (an
  empty value matches everything); keys above it that are not unique and keys below the
  query level are ignored for matching but still answered.  In Study Root, Patient keys
  are matched in a STUDY query.  A level the model lacks: dcmqrscp answers 0xC000 for
  Study Root PATIENT; it answers Patient/Study Only SERIES/IMAGE queries as if they were
  Patient Root (a bug we do not copy: 0xC000 too).
* Strict mode (``--check-find`` / ``--check-move``): any violation is 0xA900: a level
  outside the model; above the query level only the unique key, present and non-empty
  (C-MOVE/C-GET: at the query level too); at least one key at the query level (C-FIND);
  no key below it; in Study Root, Patient keys only in a STUDY C-FIND, never in a retrieve.
* A retrieve that fails the default-mode hierarchy simply matches nothing (dcmqrscp
  ignores the comparison error and answers Success with no sub-operations).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from dicomwire import uids
from dicomwire.errors import DicomWireError

# C-FIND/C-MOVE/C-GET statuses (PS3.4 C.4) that a bad identifier gets.
REFUSED_SOP_CLASS_NOT_SUPPORTED: Final = 0x0122
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
UNABLE_TO_PROCESS: Final = 0xC000

QUERY_RETRIEVE_LEVEL: Final = 0x00080052
SPECIFIC_CHARACTER_SET: Final = 0x00080005
RETRIEVE_AE_TITLE: Final = 0x00080054


class QueryError(DicomWireError):
    """A C-FIND/C-MOVE/C-GET identifier the archive cannot answer; ``status`` is the DIMSE status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"{message} (status 0x{status:04X})")


class Level(enum.IntEnum):
    """Query/Retrieve levels, top first (the order matters: comparisons mean above/below)."""

    PATIENT = 0
    STUDY = 1
    SERIES = 2
    IMAGE = 3


def parse_level(value: str) -> Level | None:
    """The level named by a Query/Retrieve Level value, DCMTK's way: upper-cased, by prefix."""
    text = value.strip().upper()
    return next((level for level in Level if text.startswith(level.name)), None)


class KeyType(enum.Enum):
    UNIQUE = "U"
    REQUIRED = "R"
    OPTIONAL = "O"


class Source(enum.Enum):
    COLUMN = "column"
    COUNT = "count"
    MODALITIES = "modalities"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Key:
    """A key attribute: where it lives in the hierarchy and where its value comes from."""

    tag: int
    keyword: str
    vr: str
    level: Level
    type: KeyType
    source: Source
    column: str | None = None  # the level table's column (COLUMN, MODALITIES)
    dcmtk: bool = False  # dcmqrscp matches and returns it

    @property
    def ordered_column(self) -> str | None:
        """The column of normalised values that range matching compares (DA, TM, DT)."""
        return f"{self.column}_key" if self.column and self.vr in ("DA", "TM", "DT") else None


_P, _ST, _SE, _I = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE
_U, _R, _O = KeyType.UNIQUE, KeyType.REQUIRED, KeyType.OPTIONAL
_C, _N, _J = Source.COLUMN, Source.COUNT, Source.JSON


def _k(
    tag: int, kw: str, vr: str, level: Level, kt: KeyType, src: Source, col: str | None, dcmtk: bool
) -> Key:
    return Key(tag, kw, vr, level, kt, src, col, dcmtk)


# fmt: off
KEYS: Final[tuple[Key, ...]] = (
    # -- PATIENT: dcmqrscp's patient keys ------------------------------------------------
    _k(0x00100010, "PatientName", "PN", _P, _R, _C, "patient_name", True),
    _k(0x00100020, "PatientID", "LO", _P, _U, _C, "patient_id", True),
    _k(0x00100021, "IssuerOfPatientID", "LO", _P, _O, _C, "issuer_of_patient_id", True),
    _k(0x00100030, "PatientBirthDate", "DA", _P, _O, _C, "patient_birth_date", True),
    _k(0x00100032, "PatientBirthTime", "TM", _P, _O, _C, "patient_birth_time", True),
    _k(0x00100040, "PatientSex", "CS", _P, _O, _C, "patient_sex", True),
    _k(0x00101000, "OtherPatientIDs", "LO", _P, _O, _C, "other_patient_ids", True),
    _k(0x00101001, "OtherPatientNames", "PN", _P, _O, _C, "other_patient_names", True),
    _k(0x00102160, "EthnicGroup", "SH", _P, _O, _C, "ethnic_group", True),
    _k(0x00104000, "PatientComments", "LT", _P, _O, _C, "patient_comments", True),
    # PS3.4 C.6.1.1.2 extras
    _k(0x00101002, "OtherPatientIDsSequence", "SQ", _P, _O, _J, None, False),
    _k(0x00201200, "NumberOfPatientRelatedStudies", "IS", _P, _O, _N, None, False),
    _k(0x00201202, "NumberOfPatientRelatedSeries", "IS", _P, _O, _N, None, False),
    _k(0x00201204, "NumberOfPatientRelatedInstances", "IS", _P, _O, _N, None, False),
    # -- STUDY ---------------------------------------------------------------------------
    _k(0x00080020, "StudyDate", "DA", _ST, _R, _C, "study_date", True),
    _k(0x00080030, "StudyTime", "TM", _ST, _R, _C, "study_time", True),
    _k(0x00080050, "AccessionNumber", "SH", _ST, _R, _C, "accession_number", True),
    _k(0x00200010, "StudyID", "SH", _ST, _R, _C, "study_id", True),
    _k(0x0020000D, "StudyInstanceUID", "UI", _ST, _U, _C, "study_instance_uid", True),
    _k(0x00080090, "ReferringPhysicianName", "PN", _ST, _O, _C, "referring_physician_name", True),
    _k(0x00081030, "StudyDescription", "LO", _ST, _O, _C, "study_description", True),
    _k(0x00081060, "NameOfPhysiciansReadingStudy", "PN", _ST, _O, _C, "name_of_physicians_reading_study", True),  # noqa: E501
    _k(0x00201070, "OtherStudyNumbers", "IS", _ST, _O, _C, "other_study_numbers", True),
    _k(0x00081080, "AdmittingDiagnosesDescription", "LO", _ST, _O, _C, "admitting_diagnoses_description", True),  # noqa: E501
    _k(0x00101010, "PatientAge", "AS", _ST, _O, _C, "patient_age", True),
    _k(0x00101020, "PatientSize", "DS", _ST, _O, _C, "patient_size", True),
    _k(0x00101030, "PatientWeight", "DS", _ST, _O, _C, "patient_weight", True),
    _k(0x00102180, "Occupation", "SH", _ST, _O, _C, "occupation", True),
    _k(0x001021B0, "AdditionalPatientHistory", "LT", _ST, _O, _C, "additional_patient_history", True),
    # PS3.4 C.6.1.1.3 extras
    _k(0x00080061, "ModalitiesInStudy", "CS", _ST, _O, Source.MODALITIES, "modalities_in_study", False),
    _k(0x00081032, "ProcedureCodeSequence", "SQ", _ST, _O, _J, None, False),
    _k(0x00201206, "NumberOfStudyRelatedSeries", "IS", _ST, _O, _N, None, False),
    _k(0x00201208, "NumberOfStudyRelatedInstances", "IS", _ST, _O, _N, None, False),
    # -- SERIES --------------------------------------------------------------------------
    _k(0x00080060, "Modality", "CS", _SE, _R, _C, "modality", True),
    _k(0x00200011, "SeriesNumber", "IS", _SE, _R, _C, "series_number", True),
    _k(0x0020000E, "SeriesInstanceUID", "UI", _SE, _U, _C, "series_instance_uid", True),
    # in dcmqrscp's index records but not among its keys; PS3.4 C.6.1.1.4 optional keys
    _k(0x00080021, "SeriesDate", "DA", _SE, _O, _C, "series_date", False),
    _k(0x00080031, "SeriesTime", "TM", _SE, _O, _C, "series_time", False),
    _k(0x0008103E, "SeriesDescription", "LO", _SE, _O, _C, "series_description", False),
    _k(0x00181030, "ProtocolName", "LO", _SE, _O, _C, "protocol_name", False),
    _k(0x00081070, "OperatorsName", "PN", _SE, _O, _C, "operators_name", False),
    _k(0x00081050, "PerformingPhysicianName", "PN", _SE, _O, _C, "performing_physician_name", False),
    _k(0x00180015, "BodyPartExamined", "CS", _SE, _O, _C, "body_part_examined", False),
    _k(0x00400244, "PerformedProcedureStepStartDate", "DA", _SE, _O, _J, None, False),
    _k(0x00400245, "PerformedProcedureStepStartTime", "TM", _SE, _O, _J, None, False),
    _k(0x00400275, "RequestAttributesSequence", "SQ", _SE, _O, _J, None, False),
    _k(0x00201209, "NumberOfSeriesRelatedInstances", "IS", _SE, _O, _N, None, False),
    # -- IMAGE ---------------------------------------------------------------------------
    _k(0x00200013, "InstanceNumber", "IS", _I, _R, _C, "instance_number", True),
    _k(0x00080018, "SOPInstanceUID", "UI", _I, _U, _C, "sop_instance_uid", True),
    _k(0x00080016, "SOPClassUID", "UI", _I, _O, _C, "sop_class_uid", False),
    _k(0x00080023, "ContentDate", "DA", _I, _O, _J, None, False),
    _k(0x00080033, "ContentTime", "TM", _I, _O, _J, None, False),
    _k(0x0008002A, "AcquisitionDateTime", "DT", _I, _O, _J, None, False),
    _k(0x00280008, "NumberOfFrames", "IS", _I, _O, _J, None, False),
    _k(0x00700080, "ContentLabel", "CS", _I, _O, _J, None, False),
    _k(0x0040A043, "ConceptNameCodeSequence", "SQ", _I, _O, _J, None, False),
)
# fmt: on

KEYS_BY_TAG: Final[Mapping[int, Key]] = MappingProxyType({k.tag: k for k in KEYS})
UNIQUE_KEYS: Final[Mapping[Level, Key]] = MappingProxyType({k.level: k for k in KEYS if k.type is _U})


def column_keys(level: Level) -> tuple[Key, ...]:
    """The keys a level's table holds in columns (in table order)."""
    return tuple(k for k in KEYS if k.level is level and k.source is _C)


# -- information models ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Model:
    """A Query/Retrieve information model: its levels and its three SOP classes."""

    name: str
    top: Level
    bottom: Level
    find: str
    move: str
    get: str

    def allows(self, level: Level) -> bool:
        return self.top <= level <= self.bottom

    @property
    def sop_classes(self) -> tuple[str, str, str]:
        return (self.find, self.move, self.get)


PATIENT_ROOT: Final = Model(
    "patient", _P, _I, uids.PATIENT_ROOT_FIND, uids.PATIENT_ROOT_MOVE, uids.PATIENT_ROOT_GET
)
STUDY_ROOT: Final = Model("study", _ST, _I, uids.STUDY_ROOT_FIND, uids.STUDY_ROOT_MOVE, uids.STUDY_ROOT_GET)
PATIENT_STUDY_ONLY: Final = Model(
    "psonly",
    _P,
    _ST,
    uids.PATIENT_STUDY_ONLY_FIND,
    uids.PATIENT_STUDY_ONLY_MOVE,
    uids.PATIENT_STUDY_ONLY_GET,
)
MODELS: Final[tuple[Model, ...]] = (PATIENT_ROOT, STUDY_ROOT, PATIENT_STUDY_ONLY)
_MODEL_LOOKUP: Final[Mapping[str, Model]] = MappingProxyType(
    {name: m for m in MODELS for name in (m.name, *m.sop_classes)}
)


def model_for(model: str) -> Model:
    """A model from a short name (``patient``, ``study``, ``psonly``) or any of its SOP class UIDs."""
    found = _MODEL_LOOKUP.get(model)
    if found is None:
        raise QueryError(REFUSED_SOP_CLASS_NOT_SUPPORTED, f"not a Query/Retrieve information model: {model}")
    return found


# -- hierarchy rules ------------------------------------------------------------------------


class Role(enum.Enum):
    """Where a key stands relative to the query level."""

    ABOVE = "above"
    AT = "at"
    BELOW = "below"


class Service(enum.Enum):
    FIND = "find"
    RETRIEVE = "retrieve"


def role(model: Model, key: Key, level: Level) -> Role:
    """A key's role; in Study Root a STUDY query takes Patient keys as its own (PS3.4 C.6.2.1)."""
    key_level = key.level
    if model is STUDY_ROOT and key_level is _P and level is _ST:
        key_level = _ST
    if key_level < level:
        return Role.ABOVE
    return Role.AT if key_level == level else Role.BELOW


# Strict mode: which keys each role admits ("unique" = only the unique key, with a value).
_STRICT_RULES: Final[Mapping[tuple[Service, Role], str]] = MappingProxyType(
    {
        (Service.FIND, Role.ABOVE): "unique",
        (Service.FIND, Role.AT): "any",
        (Service.FIND, Role.BELOW): "none",
        (Service.RETRIEVE, Role.ABOVE): "unique",
        (Service.RETRIEVE, Role.AT): "unique",
        (Service.RETRIEVE, Role.BELOW): "none",
    }
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What an identifier asks: its level and the keys to match (with their values)."""

    model: Model
    level: Level
    match: tuple[tuple[Key, str], ...]
    answerable: bool = True  # False: a retrieve dcmqrscp would answer with no match


def plan(
    model: Model,
    level_value: str | None,
    keys: Mapping[int, str],
    *,
    service: Service = Service.FIND,
    strict: bool = False,
) -> Plan:
    """Check an identifier against the model's hierarchy rules and say what to match.

    ``keys`` maps each tag of the identifier (other than Query/Retrieve Level and
    Specific Character Set) to its value as text ("" when empty).
    """
    level = _level(level_value)
    known = [(KEYS_BY_TAG[tag], value) for tag, value in keys.items() if tag in KEYS_BY_TAG]
    if strict:
        _check_strict(model, level, known, service)
    try:
        matched = tuple(_default_match(model, level, known))
    except QueryError:
        if service is Service.RETRIEVE:
            return Plan(model, level, (), answerable=False)
        raise
    return Plan(model, level, matched)


def _level(value: str | None) -> Level:
    if not value or not value.strip():
        raise QueryError(IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, "missing Query/Retrieve Level")
    level = parse_level(value)
    if level is None:
        raise QueryError(UNABLE_TO_PROCESS, f"invalid Query/Retrieve Level {value.strip()!r}")
    return level


def _default_match(model: Model, level: Level, known: list[tuple[Key, str]]) -> Iterable[tuple[Key, str]]:
    if not model.allows(level):
        raise QueryError(UNABLE_TO_PROCESS, f"level {level.name} is not in the {model.name} model")
    given = {key.tag: value for key, value in known}
    for above in Level:
        if model.top <= above < level and not (model is STUDY_ROOT and above is _P):
            unique = UNIQUE_KEYS[above]
            if unique.tag not in given:
                raise QueryError(UNABLE_TO_PROCESS, f"no {unique.keyword} for level {above.name}")
            yield unique, given[unique.tag]
    yield from ((key, value) for key, value in known if role(model, key, level) is Role.AT)


def _check_strict(model: Model, level: Level, known: list[tuple[Key, str]], service: Service) -> None:
    def fail(message: str) -> QueryError:
        return QueryError(IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, message)

    if not model.allows(level):
        raise fail(f"level {level.name} is not in the {model.name} model")
    patient_keys = model is STUDY_ROOT and any(k.level is _P for k, _ in known)
    if patient_keys and (service is Service.RETRIEVE or level is not _ST):
        raise fail("Patient keys in a Study Root identifier below the STUDY level")
    at_level = False
    for key, value in known:
        rule = _STRICT_RULES[(service, role(model, key, level))]
        if rule == "none":
            raise fail(f"{key.keyword} is below the query level")
        if rule == "unique" and (key.type is not _U or not value):
            raise fail(f"{key.keyword}: only a unique key with a value is allowed at level {key.level.name}")
        at_level = at_level or role(model, key, level) is Role.AT
    for above in Level:
        needed = model.top <= above < level or (service is Service.RETRIEVE and above == level)
        exempt = model is STUDY_ROOT and above is _P
        if needed and not exempt and not any(k is UNIQUE_KEYS[above] for k, _ in known):
            raise fail(f"no {UNIQUE_KEYS[above].keyword} for level {above.name}")
    if service is Service.FIND and not at_level:
        raise fail(f"no key at the query level {level.name}")
