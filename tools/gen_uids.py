#!/usr/bin/env python3
"""Write src/dicomwire/uids.py: literal tables of transfer syntaxes and SOP classes.

Two sources of facts:

* pydicom's UID dictionary (``pydicom._uid_dict.UID_dictionary``: uid -> (name,
  type, info, retired, keyword)) gives every UID of the standard with its keyword;
* the DCMTK 3.6.7 tables at the bottom of this file (its UID names, its
  SOP-class-to-modality abbreviations and its storage SOP class lists), which
  the command-line tools need to behave like DCMTK's.

The output is plain Python source, the same bytes for the same inputs:
``python tools/gen_uids.py`` rewrites the module, ``--check`` only compares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import _generator
from pydicom._uid_dict import UID_dictionary
from pydicom.uid import UID

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "src" / "dicomwire" / "uids.py"

# -- our own facts ----------------------------------------------------------------
# 2.25.<a UUID as an integer>: the UUID was drawn once and never changes.
IMPLEMENTATION_CLASS_UID = "2.25.248348404669695908935045391756005018360"
IMPLEMENTATION_VERSION = "DICOMWIRE_010"

# Named constants of uids.py: (constant, pydicom keyword).
CONSTANTS: tuple[tuple[str, str], ...] = (
    ("APPLICATION_CONTEXT", "DICOMApplicationContext"),
    ("VERIFICATION", "Verification"),
    # transfer syntaxes
    ("IMPLICIT_VR_LITTLE_ENDIAN", "ImplicitVRLittleEndian"),
    ("EXPLICIT_VR_LITTLE_ENDIAN", "ExplicitVRLittleEndian"),
    ("EXPLICIT_VR_BIG_ENDIAN", "ExplicitVRBigEndian"),
    ("DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN", "DeflatedExplicitVRLittleEndian"),
    (
        "ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN",
        "EncapsulatedUncompressedExplicitVRLittleEndian",
    ),
    ("JPEG_BASELINE", "JPEGBaseline8Bit"),
    ("JPEG_EXTENDED", "JPEGExtended12Bit"),
    ("JPEG_LOSSLESS", "JPEGLossless"),
    ("JPEG_LOSSLESS_SV1", "JPEGLosslessSV1"),
    ("JPEG_LS_LOSSLESS", "JPEGLSLossless"),
    ("JPEG_LS_NEAR_LOSSLESS", "JPEGLSNearLossless"),
    ("JPEG_2000_LOSSLESS", "JPEG2000Lossless"),
    ("JPEG_2000", "JPEG2000"),
    ("JPEG_2000_MC_LOSSLESS", "JPEG2000MCLossless"),
    ("JPEG_2000_MC", "JPEG2000MC"),
    ("HTJ2K_LOSSLESS", "HTJ2KLossless"),
    ("HTJ2K_LOSSLESS_RPCL", "HTJ2KLosslessRPCL"),
    ("HTJ2K", "HTJ2K"),
    ("RLE_LOSSLESS", "RLELossless"),
    ("MPEG2_MAIN_PROFILE_MAIN_LEVEL", "MPEG2MPML"),
    ("MPEG2_MAIN_PROFILE_HIGH_LEVEL", "MPEG2MPHL"),
    ("MPEG4_HIGH_PROFILE_LEVEL_4_1", "MPEG4HP41"),
    ("HEVC_MAIN_PROFILE_LEVEL_5_1", "HEVCMP51"),
    ("HEVC_MAIN_10_PROFILE_LEVEL_5_1", "HEVCM10P51"),
    # storage
    ("COMPUTED_RADIOGRAPHY_IMAGE_STORAGE", "ComputedRadiographyImageStorage"),
    ("DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION", "DigitalXRayImageStorageForPresentation"),
    ("CT_IMAGE_STORAGE", "CTImageStorage"),
    ("ENHANCED_CT_IMAGE_STORAGE", "EnhancedCTImageStorage"),
    ("MR_IMAGE_STORAGE", "MRImageStorage"),
    ("ENHANCED_MR_IMAGE_STORAGE", "EnhancedMRImageStorage"),
    ("ULTRASOUND_IMAGE_STORAGE", "UltrasoundImageStorage"),
    ("ULTRASOUND_MULTIFRAME_IMAGE_STORAGE", "UltrasoundMultiFrameImageStorage"),
    ("SECONDARY_CAPTURE_IMAGE_STORAGE", "SecondaryCaptureImageStorage"),
    ("NUCLEAR_MEDICINE_IMAGE_STORAGE", "NuclearMedicineImageStorage"),
    ("PET_IMAGE_STORAGE", "PositronEmissionTomographyImageStorage"),
    ("X_RAY_ANGIOGRAPHIC_IMAGE_STORAGE", "XRayAngiographicImageStorage"),
    ("VL_PHOTOGRAPHIC_IMAGE_STORAGE", "VLPhotographicImageStorage"),
    ("RT_IMAGE_STORAGE", "RTImageStorage"),
    ("RT_DOSE_STORAGE", "RTDoseStorage"),
    ("RT_STRUCTURE_SET_STORAGE", "RTStructureSetStorage"),
    ("RT_PLAN_STORAGE", "RTPlanStorage"),
    ("SEGMENTATION_STORAGE", "SegmentationStorage"),
    ("GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE", "GrayscaleSoftcopyPresentationStateStorage"),
    ("BASIC_TEXT_SR_STORAGE", "BasicTextSRStorage"),
    ("ENHANCED_SR_STORAGE", "EnhancedSRStorage"),
    ("COMPREHENSIVE_SR_STORAGE", "ComprehensiveSRStorage"),
    ("KEY_OBJECT_SELECTION_DOCUMENT_STORAGE", "KeyObjectSelectionDocumentStorage"),
    ("ENCAPSULATED_PDF_STORAGE", "EncapsulatedPDFStorage"),
    ("RAW_DATA_STORAGE", "RawDataStorage"),
    # query/retrieve and worklist
    ("PATIENT_ROOT_FIND", "PatientRootQueryRetrieveInformationModelFind"),
    ("PATIENT_ROOT_MOVE", "PatientRootQueryRetrieveInformationModelMove"),
    ("PATIENT_ROOT_GET", "PatientRootQueryRetrieveInformationModelGet"),
    ("STUDY_ROOT_FIND", "StudyRootQueryRetrieveInformationModelFind"),
    ("STUDY_ROOT_MOVE", "StudyRootQueryRetrieveInformationModelMove"),
    ("STUDY_ROOT_GET", "StudyRootQueryRetrieveInformationModelGet"),
    ("PATIENT_STUDY_ONLY_FIND", "PatientStudyOnlyQueryRetrieveInformationModelFind"),
    ("PATIENT_STUDY_ONLY_MOVE", "PatientStudyOnlyQueryRetrieveInformationModelMove"),
    ("PATIENT_STUDY_ONLY_GET", "PatientStudyOnlyQueryRetrieveInformationModelGet"),
    ("COMPOSITE_INSTANCE_ROOT_MOVE", "CompositeInstanceRootRetrieveMove"),
    ("COMPOSITE_INSTANCE_ROOT_GET", "CompositeInstanceRootRetrieveGet"),
    ("COMPOSITE_INSTANCE_WITHOUT_BULK_DATA_GET", "CompositeInstanceRetrieveWithoutBulkDataGet"),
    ("MODALITY_WORKLIST_FIND", "ModalityWorklistInformationModelFind"),
    # other services
    ("STORAGE_COMMITMENT_PUSH_MODEL", "StorageCommitmentPushModel"),
    ("MODALITY_PERFORMED_PROCEDURE_STEP", "ModalityPerformedProcedureStep"),
)

# Transfer syntaxes that may lose pixel information (lossy codecs, and the JPIP
# ones, whose pixel data lies elsewhere in an unknown form).  Everything else is
# reproduced exactly.
LOSSY_TRANSFER_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.52",
        "1.2.840.10008.1.2.4.53",
        "1.2.840.10008.1.2.4.54",
        "1.2.840.10008.1.2.4.55",
        "1.2.840.10008.1.2.4.56",
        "1.2.840.10008.1.2.4.59",
        "1.2.840.10008.1.2.4.60",
        "1.2.840.10008.1.2.4.61",
        "1.2.840.10008.1.2.4.62",
        "1.2.840.10008.1.2.4.63",
        "1.2.840.10008.1.2.4.64",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.94",
        "1.2.840.10008.1.2.4.95",
        "1.2.840.10008.1.2.4.100",
        "1.2.840.10008.1.2.4.100.1",
        "1.2.840.10008.1.2.4.101",
        "1.2.840.10008.1.2.4.101.1",
        "1.2.840.10008.1.2.4.102",
        "1.2.840.10008.1.2.4.102.1",
        "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.103.1",
        "1.2.840.10008.1.2.4.104",
        "1.2.840.10008.1.2.4.104.1",
        "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.105.1",
        "1.2.840.10008.1.2.4.106",
        "1.2.840.10008.1.2.4.106.1",
        "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.4.204",
        "1.2.840.10008.1.2.4.205",
    }
)

# The one UID DCMTK names that pydicom does not know, a private transfer syntax:
# uid -> (explicit VR, little endian, encapsulated).
DCMTK_ONLY_TRANSFER_SYNTAXES: dict[str, tuple[bool, bool, bool]] = {
    # GE private: implicit VR little endian, pixel data big endian; not encapsulated.
    "1.2.840.113619.5.2": (False, True, False),
}

SOP_CLASS_KINDS = ("SOP Class", "Meta SOP Class")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


# -- classification ---------------------------------------------------------------
def service_of(uid: str, name: str, keyword: str) -> str:
    """The Service member (by name) a SOP class belongs to."""
    if uid == "1.2.840.10008.1.1":
        return "VERIFICATION"
    if is_storage(uid, name):
        return "STORAGE"
    if keyword.endswith("Find") and "Worklist" in keyword:
        return "WORKLIST"
    # the C-FIND based query SOP classes (relevant patient information, UPS query,
    # product characteristics, substance approval, repository) count as find
    for suffix, service in (("Find", "FIND"), ("Query", "FIND"), ("Move", "MOVE"), ("Get", "GET")):
        if keyword.endswith(suffix):
            return service
    return "OTHER"


def is_storage(uid: str, name: str) -> bool:
    if uid == MEDIA_STORAGE_DIRECTORY:
        return False
    if name.startswith(("Storage Commitment", "Storage Management")):
        return False
    return "Storage" in name


# -- emission helpers -------------------------------------------------------------
def lit(value: object) -> str:
    """A Python literal for str / bool / None, with double quotes."""
    if isinstance(value, str):
        if '"' in value or "\\" in value:
            raise ValueError(f"unexpected character in {value!r}")
        return f'"{value}"'
    return repr(value)


# -- the module's fixed part --------------------------------------------------------
MODULE_HEAD = '''\
# generated by tools/gen_uids.py; do not edit
# ruff: noqa: E501
"""UIDs: transfer syntaxes, SOP classes, their DCMTK names and DCMTK's class lists.

Facts from pydicom's UID dictionary and from DCMTK 3.6.7 (dcmdata's UID name
map, its SOP-class-to-modality abbreviations and its storage SOP class lists).
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from dicomwire._records import record
from dicomwire.errors import DicomWireError


class UidError(DicomWireError, ValueError):
    """A name that names no known UID, or a string that is not a valid UID."""


class Service(enum.StrEnum):
    """The DIMSE service a SOP class belongs to."""

    VERIFICATION = "verification"
    STORAGE = "storage"
    FIND = "find"
    MOVE = "move"
    GET = "get"
    WORKLIST = "worklist"
    OTHER = "other"


@record(frozen=True, slots=True)
class TransferSyntax:
    """A transfer syntax; ``dcmtk_name`` is the name DCMTK's config files use."""

    uid: str
    keyword: str | None
    dcmtk_name: str | None
    explicit_vr: bool
    little_endian: bool
    deflated: bool
    encapsulated: bool
    lossless: bool
    retired: bool


@record(frozen=True, slots=True)
class SopClass:
    """A SOP class (or meta SOP class).

    ``image`` marks image storage classes (DCMTK's image list plus newer image
    classes); ``dcmtk_modality`` is DCMTK's file-name prefix for the class.
    """

    uid: str
    keyword: str | None
    dcmtk_name: str | None
    retired: bool
    service: Service
    image: bool
    dcmtk_modality: str | None


@record(frozen=True, slots=True)
class NamedUid:
    """Any other well-known UID (application context, frame of reference, ...)."""

    uid: str
    keyword: str | None
    dcmtk_name: str | None
    kind: str


# DCMTK's file-name prefix for a SOP class it has no abbreviation for
# (storescp and dcmrecv write such a file as UNKNOWN.<SOP instance UID>).
DCMTK_UNKNOWN_MODALITY: Final = "UNKNOWN"

_UID_PATTERN: Final = re.compile(r"(?:0|[1-9][0-9]*)(?:\\.(?:0|[1-9][0-9]*))*")
_MAX_UID_LENGTH: Final = 64


def is_valid_uid(value: str) -> bool:
    """True for a syntactically valid UID: digits and dots, no leading zeros, <= 64."""
    return len(value) <= _MAX_UID_LENGTH and _UID_PATTERN.fullmatch(value) is not None


def validate_uid(value: str) -> str:
    """Return ``value`` if it is a valid UID, else raise UidError saying why."""
    if not value:
        raise UidError("empty UID")
    if len(value) > _MAX_UID_LENGTH:
        raise UidError(f"UID longer than {_MAX_UID_LENGTH} characters: {value!r}")
    if _UID_PATTERN.fullmatch(value) is None:
        raise UidError(
            f"not a valid UID: {value!r} (digits and dots only, no empty component, "
            "no leading zero in a component)"
        )
    return value


def local_endian_explicit() -> str:
    """DCMTK's LocalEndianExplicit: explicit VR in this machine's byte order."""
    if sys.byteorder == "little":
        return EXPLICIT_VR_LITTLE_ENDIAN
    return EXPLICIT_VR_BIG_ENDIAN


def opposite_endian_explicit() -> str:
    """DCMTK's OppositeEndianExplicit: explicit VR in the other byte order."""
    if sys.byteorder == "little":
        return EXPLICIT_VR_BIG_ENDIAN
    return EXPLICIT_VR_LITTLE_ENDIAN


# names DCMTK resolves by the machine's byte order when they are looked up
BYTE_ORDER_ALIASES: Final[Mapping[str, Callable[[], str]]] = MappingProxyType(
    {
        "LocalEndianExplicit": local_endian_explicit,
        "OppositeEndianExplicit": opposite_endian_explicit,
    }
)


def uid_for_name(name: str, *, dcmtk_only: bool = False) -> str:
    """The UID a DCMTK name, a pydicom keyword or a dotted UID stands for.

    Names are case-sensitive, as in DCMTK; a leading ``=`` is ignored (DCMTK's
    dumps and config files allow it).  A value starting with a digit is taken as
    a UID and validated.  With ``dcmtk_only`` pydicom's keywords do not count,
    as in DCMTK's own config files.  Raises UidError.
    """
    text = name[1:] if name.startswith("=") else name
    if text[:1] in _DIGITS:
        return validate_uid(text)
    alias = BYTE_ORDER_ALIASES.get(text)
    if alias is not None:
        return alias()
    uid = (_UID_OF_DCMTK_NAME if dcmtk_only else _UID_OF_NAME).get(text)
    if uid is None:
        raise UidError(_unknown_name_message(text, dcmtk_only))
    return uid


def _unknown_name_message(text: str, dcmtk_only: bool) -> str:
    if dcmtk_only and text in _UID_OF_NAME:
        uid = _UID_OF_NAME[text]
        dcmtk = name_of(uid)
        if dcmtk in _UID_OF_DCMTK_NAME:
            return f"{text!r} is pydicom's keyword, DCMTK's name is {dcmtk!r}"
        return f"{text!r} is pydicom's keyword and DCMTK has no name for it: give the UID {uid}"
    folded = text.casefold()
    known_names = _UID_OF_DCMTK_NAME if dcmtk_only else _UID_OF_NAME
    for known in (*known_names, *BYTE_ORDER_ALIASES):
        if known.casefold() == folded:
            return f"unknown UID name {text!r} (names are case-sensitive: did you mean {known!r}?)"
    return f"unknown UID name {text!r}"


def name_of(uid: str) -> str:
    """DCMTK's name for ``uid``, else pydicom's keyword, else the UID itself."""
    return _NAME_OF_UID.get(uid, uid)


def is_storage(uid: str) -> bool:
    """True if ``uid`` is a known storage SOP class."""
    sop_class = SOP_CLASSES.get(uid)
    return sop_class is not None and sop_class.service is Service.STORAGE


def service_of(uid: str) -> Service:
    """The service of a known SOP class; Service.OTHER for any other UID."""
    sop_class = SOP_CLASSES.get(uid)
    return Service.OTHER if sop_class is None else sop_class.service


def dcmtk_modality_prefix(sop_class_uid: str, default: str = DCMTK_UNKNOWN_MODALITY) -> str:
    """DCMTK's abbreviation of a SOP class for file names (CT, MR, SC, RD, ...)."""
    sop_class = SOP_CLASSES.get(sop_class_uid)
    if sop_class is None or sop_class.dcmtk_modality is None:
        return default
    return sop_class.dcmtk_modality


_DIGITS: Final = frozenset("0123456789")
'''

MODULE_TAIL = """
_NAMED: Final[tuple[TransferSyntax | SopClass | NamedUid, ...]] = (
    *TRANSFER_SYNTAXES.values(),
    *SOP_CLASSES.values(),
    *OTHER_UIDS.values(),
)

# DCMTK names first: they win over pydicom keywords (the generator checks that
# no string is a keyword of one UID and a DCMTK name of another).
_UID_OF_NAME: Final[Mapping[str, str]] = MappingProxyType(
    {
        **{item.keyword: item.uid for item in _NAMED if item.keyword is not None},
        **{item.dcmtk_name: item.uid for item in _NAMED if item.dcmtk_name is not None},
    }
)

_UID_OF_DCMTK_NAME: Final[Mapping[str, str]] = MappingProxyType(
    {item.dcmtk_name: item.uid for item in _NAMED if item.dcmtk_name is not None}
)

_NAME_OF_UID: Final[Mapping[str, str]] = MappingProxyType(
    {item.uid: item.dcmtk_name or item.keyword or item.uid for item in _NAMED}
)
"""


# -- building -----------------------------------------------------------------------
class Facts:
    """pydicom's dictionary joined with the DCMTK tables, checked for consistency."""

    def __init__(self) -> None:
        self.dcmtk_name = dict(DCMTK_UID_NAMES)
        self.uid_of_dcmtk = {name: uid for uid, name in DCMTK_UID_NAMES}
        if len(self.dcmtk_name) != len(DCMTK_UID_NAMES) or len(self.uid_of_dcmtk) != len(DCMTK_UID_NAMES):
            raise SystemExit("DCMTK_UID_NAMES repeats a UID or a name")
        self.modality = {self.dcmtk_uid(name): abbr for name, abbr in DCMTK_MODALITIES}
        self.dcmtk_images = {self.dcmtk_uid(name) for name in DCMTK_IMAGE_SOP_CLASSES}
        unknown = set(self.dcmtk_name) - set(UID_dictionary) - set(DCMTK_ONLY_TRANSFER_SYNTAXES)
        if unknown:
            raise SystemExit(f"DCMTK names UIDs pydicom does not know: {sorted(unknown)}")

    def dcmtk_uid(self, name: str) -> str:
        try:
            return self.uid_of_dcmtk[name]
        except KeyError:
            raise SystemExit(f"not a DCMTK name: {name}") from None

    def keyword_uid(self, keyword: str) -> str:
        for uid, entry in UID_dictionary.items():
            if entry[4] == keyword:
                return uid
        raise SystemExit(f"not a pydicom keyword: {keyword}")


def row(func: str, args: list[str]) -> str:
    """One table row: ``Func(args),`` on one line."""
    return f"        {func}({', '.join(args)}),"


def transfer_syntax_rows(facts: Facts) -> Iterator[str]:
    rows: list[tuple[str, str | None, tuple[bool, bool, bool, bool], bool]] = []
    for uid, entry in UID_dictionary.items():
        if entry[1] == "Transfer Syntax":
            ts = UID(uid)
            flags = (not ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated, ts.is_encapsulated)
            rows.append((uid, entry[4] or None, flags, bool(entry[3])))
    for uid, (explicit, little, encapsulated) in DCMTK_ONLY_TRANSFER_SYNTAXES.items():
        rows.append((uid, None, (explicit, little, False, encapsulated), False))
    for uid, keyword, (explicit, little, deflated, encapsulated), retired in rows:
        args = [
            lit(uid),
            lit(keyword),
            lit(facts.dcmtk_name.get(uid)),
            f"explicit_vr={explicit}",
            f"little_endian={little}",
            f"deflated={deflated}",
            f"encapsulated={encapsulated}",
            f"lossless={uid not in LOSSY_TRANSFER_SYNTAXES}",
            f"retired={retired}",
        ]
        yield row("TransferSyntax", args)


def sop_class_rows(facts: Facts) -> Iterator[str]:
    for uid, (name, kind, _info, retired, keyword) in UID_dictionary.items():
        if kind not in SOP_CLASS_KINDS or not (keyword or uid in facts.dcmtk_name):
            continue  # two retired UIDs of the standard have neither name nor keyword
        image = uid in facts.dcmtk_images or "Image Storage" in name
        args = [
            lit(uid),
            lit(keyword or None),
            lit(facts.dcmtk_name.get(uid)),
            lit(bool(retired)),
            f"Service.{service_of(uid, name, keyword)}",
            lit(image),
            lit(facts.modality.get(uid)),
        ]
        yield row("SopClass", args)


def other_rows(facts: Facts) -> Iterator[str]:
    for uid, (_name, kind, _info, _retired, keyword) in UID_dictionary.items():
        if kind == "Transfer Syntax" or kind in SOP_CLASS_KINDS:
            continue
        args = [lit(uid), lit(keyword or None), lit(facts.dcmtk_name.get(uid)), lit(kind)]
        yield row("NamedUid", args)


def table(name: str, kind: str, rows: Iterable[str]) -> Iterator[str]:
    yield f"{name}: Final[Mapping[str, {kind}]] = MappingProxyType("
    yield "    {"
    yield "        item.uid: item"
    yield "        for item in ("
    yield from (f"    {row}" for row in rows)
    yield "        )"
    yield "    }"
    yield ")"
    yield ""


def uid_list(name: str, comment: str, names: Iterable[str], facts: Facts) -> Iterator[str]:
    yield f"# {comment}"
    yield f"{name}: Final[tuple[str, ...]] = ("
    for dcmtk in names:
        yield f"    {lit(facts.dcmtk_uid(dcmtk))},  # {dcmtk}"
    yield ")"
    yield ""


def constant_lines(facts: Facts) -> Iterator[str]:
    yield f"DICOMWIRE_IMPLEMENTATION_CLASS_UID: Final = {lit(IMPLEMENTATION_CLASS_UID)}"
    yield f"DICOMWIRE_IMPLEMENTATION_VERSION: Final = {lit(IMPLEMENTATION_VERSION)}"
    yield ""
    for constant, keyword in CONSTANTS:
        yield f"{constant}: Final = {lit(facts.keyword_uid(keyword))}  # {keyword}"
    yield ""


def check_consistency(facts: Facts) -> None:
    """Stop if DCMTK's facts and ours disagree in a way the module cannot express."""
    storage = {
        uid
        for uid, (name, kind, *_rest) in UID_dictionary.items()
        if kind in SOP_CLASS_KINDS and is_storage(uid, name)
    }
    for list_name, names in (
        ("DCMTK_ALL_STORAGE", DCMTK_ALL_STORAGE),
        ("DCMTK_LONG_SCU_STORAGE", DCMTK_LONG_SCU_STORAGE),
        ("DCMTK_SHORT_SCU_STORAGE", DCMTK_SHORT_SCU_STORAGE),
        ("DCMTK_IMAGE_SOP_CLASSES", DCMTK_IMAGE_SOP_CLASSES),
    ):
        outside = [name for name in names if facts.dcmtk_uid(name) not in storage]
        if outside:
            raise SystemExit(f"{list_name} has classes we do not call storage: {outside}")
    keywords = {entry[4]: uid for uid, entry in UID_dictionary.items() if entry[4]}
    clashes = [name for name, uid in facts.uid_of_dcmtk.items() if name in keywords and keywords[name] != uid]
    if clashes:
        raise SystemExit(f"DCMTK names that are pydicom keywords of other UIDs: {clashes}")
    if len(IMPLEMENTATION_VERSION) > 16 or len(IMPLEMENTATION_CLASS_UID) > 64:
        raise SystemExit("implementation version name or class UID too long")


def render() -> str:
    facts = Facts()
    check_consistency(facts)
    lines: list[str] = [MODULE_HEAD, *constant_lines(facts)]
    lines += table("TRANSFER_SYNTAXES", "TransferSyntax", transfer_syntax_rows(facts))
    lines += table("SOP_CLASSES", "SopClass", sop_class_rows(facts))
    lines += table("OTHER_UIDS", "NamedUid", other_rows(facts))
    lines += uid_list(
        "DCMTK_ALL_STORAGE",
        "DCMTK's dcmAllStorageSOPClassUIDs, in its order",
        DCMTK_ALL_STORAGE,
        facts,
    )
    lines += uid_list(
        "DCMTK_LONG_SCU_STORAGE",
        "DCMTK's dcmLongSCUStorageSOPClassUIDs (storescu's default proposal), in its order",
        DCMTK_LONG_SCU_STORAGE,
        facts,
    )
    lines += uid_list(
        "DCMTK_SHORT_SCU_STORAGE",
        "DCMTK's dcmShortSCUStorageSOPClassUIDs, in its order",
        DCMTK_SHORT_SCU_STORAGE,
        facts,
    )
    lines += uid_list(
        "DCMTK_IMAGE_SOP_CLASSES",
        "DCMTK's dcmImageSOPClassUIDs (image storage classes), in its order",
        DCMTK_IMAGE_SOP_CLASSES,
        facts,
    )
    return "\n".join(lines).rstrip("\n") + "\n" + MODULE_TAIL


def main(argv: list[str] | None = None) -> int:
    return _generator.run(__doc__.splitlines()[0], DEFAULT_OUTPUT, render, argv)


# -- DCMTK 3.6.7 facts ----------------------------------------------------------------
# Read from DCMTK 3.6.7 as installed (libdcmdata.so.17, Debian 3.6.7-9): the UID
# name map of dcmdata/libsrc/dcuid.cc, the modality abbreviations DCMTK's
# storage tools put in front of file names, and the storage SOP class lists that
# storescu and storescp use.  Names as DCMTK spells them (RETIRED_, DRAFT_,
# DICOS_ and DICONDE_ prefixes included); lists in DCMTK's order.
DCMTK_UID_NAMES: tuple[tuple[str, str], ...] = (
    ("1.2.840.10008.3.1.1.1", "StandardApplicationContext"),
    ("1.2.840.10008.1.2", "LittleEndianImplicit"),
    ("1.2.840.10008.1.2.1", "LittleEndianExplicit"),
    ("1.2.840.10008.1.2.2", "BigEndianExplicit"),
    ("1.2.840.10008.1.2.4.50", "JPEGBaseline"),
    ("1.2.840.10008.1.2.4.51", "JPEGExtended:Process2+4"),
    ("1.2.840.10008.1.2.4.52", "JPEGExtended:Process3+5"),
    ("1.2.840.10008.1.2.4.53", "JPEGSpectralSelection:Non-hierarchical:Process6+8"),
    ("1.2.840.10008.1.2.4.54", "JPEGSpectralSelection:Non-hierarchical:Process7+9"),
    ("1.2.840.10008.1.2.4.55", "JPEGFullProgression:Non-hierarchical:Process10+12"),
    ("1.2.840.10008.1.2.4.56", "JPEGFullProgression:Non-hierarchical:Process11+13"),
    ("1.2.840.10008.1.2.4.57", "JPEGLossless:Non-hierarchical:Process14"),
    ("1.2.840.10008.1.2.4.58", "JPEGLossless:Non-hierarchical:Process15"),
    ("1.2.840.10008.1.2.4.59", "JPEGExtended:Hierarchical:Process16+18"),
    ("1.2.840.10008.1.2.4.60", "JPEGExtended:Hierarchical:Process17+19"),
    ("1.2.840.10008.1.2.4.61", "JPEGSpectralSelection:Hierarchical:Process20+22"),
    ("1.2.840.10008.1.2.4.62", "JPEGSpectralSelection:Hierarchical:Process21+23"),
    ("1.2.840.10008.1.2.4.63", "JPEGFullProgression:Hierarchical:Process24+26"),
    ("1.2.840.10008.1.2.4.64", "JPEGFullProgression:Hierarchical:Process25+27"),
    ("1.2.840.10008.1.2.4.65", "JPEGLossless:Hierarchical:Process28"),
    ("1.2.840.10008.1.2.4.66", "JPEGLossless:Hierarchical:Process29"),
    ("1.2.840.10008.1.2.4.70", "JPEGLossless:Non-hierarchical-1stOrderPrediction"),
    ("1.2.840.10008.1.2.4.80", "JPEGLSLossless"),
    ("1.2.840.10008.1.2.4.81", "JPEGLSLossy"),
    ("1.2.840.10008.1.2.5", "RLELossless"),
    ("1.2.840.10008.1.2.1.99", "DeflatedLittleEndianExplicit"),
    ("1.2.840.10008.1.2.4.90", "JPEG2000LosslessOnly"),
    ("1.2.840.10008.1.2.4.91", "JPEG2000"),
    ("1.2.840.10008.1.2.4.92", "JPEG2000MulticomponentLosslessOnly"),
    ("1.2.840.10008.1.2.4.93", "JPEG2000Multicomponent"),
    ("1.2.840.10008.1.2.4.94", "JPIPReferenced"),
    ("1.2.840.10008.1.2.4.95", "JPIPReferencedDeflate"),
    ("1.2.840.10008.1.2.4.100", "MPEG2MainProfile@MainLevel"),
    ("1.2.840.10008.1.2.4.101", "MPEG2MainProfile@HighLevel"),
    ("1.2.840.10008.1.2.4.102", "MPEG4HighProfile/Level4.1"),
    ("1.2.840.10008.1.2.4.103", "MPEG4BDcompatibleHighProfile/Level4.1"),
    ("1.2.840.10008.1.2.4.104", "MPEG4HighProfile/Level4.2For2DVideo"),
    ("1.2.840.10008.1.2.4.105", "MPEG4HighProfile/Level4.2For3DVideo"),
    ("1.2.840.10008.1.2.4.106", "MPEG4StereoHighProfile/Level4.2"),
    ("1.2.840.10008.1.2.4.107", "HEVCMainProfile/Level5.1"),
    ("1.2.840.10008.1.2.4.108", "HEVCMain10Profile/Level5.1"),
    ("1.2.840.10008.1.2.7.1", "SMPTEST2110-20:UncompressedProgressiveActiveVideo"),
    ("1.2.840.10008.1.2.7.2", "SMPTEST2110-20:UncompressedInterlacedActiveVideo"),
    ("1.2.840.10008.1.2.7.3", "SMPTEST2110-30:PCMDigitalAudio"),
    ("1.2.840.10008.1.2.6.1", "RFC2557MIMEEncapsulation"),
    ("1.2.840.10008.1.2.6.2", "XMLEncoding"),
    ("1.2.840.113619.5.2", "PrivateGELittleEndianImplicitWithBigEndianPixelData"),
    ("1.2.840.10008.5.1.4.1.1.88.71", "AcquisitionContextSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.8", "AdvancedBlendingPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.1.3", "AmbulatoryECGWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.5.1", "ArterialPulseWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.2", "AutorefractionMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.131", "BasicStructuredDisplayStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.11", "BasicTextSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.4.1", "BasicVoiceAudioWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.4", "BlendingSoftcopyPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.8.1", "BodyPositionWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.13.1.4", "BreastProjectionXRayImageStorageForPresentation"),
    ("1.2.840.10008.5.1.4.1.1.13.1.5", "BreastProjectionXRayImageStorageForProcessing"),
    ("1.2.840.10008.5.1.4.1.1.13.1.3", "BreastTomosynthesisImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.3.1", "CardiacElectrophysiologyWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.19", "CArmPhotonElectronRadiationRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.13", "CArmPhotonElectronRadiationStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.65", "ChestCADSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.69", "ColonCADSRStorage"),
    ("1.2.840.10008.5.1.4.39.1", "ColorPaletteStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.2", "ColorSoftcopyPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.7", "CompositingPlanarMPRVolumetricPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.34", "Comprehensive3DSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.33", "ComprehensiveSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.1", "ComputedRadiographyImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.90.1", "ContentAssessmentResultsStorage"),
    ("1.2.840.10008.5.1.4.1.1.82.1", "CornealTopographyMapStorage"),
    ("1.2.840.10008.5.1.4.1.1.200.1", "CTDefinedProcedureProtocolStorage"),
    ("1.2.840.10008.5.1.4.1.1.2", "CTImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.200.2", "CTPerformedProcedureProtocolStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.3", "DeformableSpatialRegistrationStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.7", "DermoscopicPhotographyImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.1.3", "DigitalIntraOralXRayImageStorageForPresentation"),
    ("1.2.840.10008.5.1.4.1.1.1.3.1", "DigitalIntraOralXRayImageStorageForProcessing"),
    ("1.2.840.10008.5.1.4.1.1.1.2", "DigitalMammographyXRayImageStorageForPresentation"),
    ("1.2.840.10008.5.1.4.1.1.1.2.1", "DigitalMammographyXRayImageStorageForProcessing"),
    ("1.2.840.10008.5.1.4.1.1.1.1", "DigitalXRayImageStorageForPresentation"),
    ("1.2.840.10008.5.1.4.1.1.1.1.1", "DigitalXRayImageStorageForProcessing"),
    ("1.2.840.10008.5.1.4.1.1.9.7.2", "ElectromyogramWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.7.3", "ElectrooculogramWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.104.2", "EncapsulatedCDAStorage"),
    ("1.2.840.10008.5.1.4.1.1.104.5", "EncapsulatedMTLStorage"),
    ("1.2.840.10008.5.1.4.1.1.104.4", "EncapsulatedOBJStorage"),
    ("1.2.840.10008.5.1.4.1.1.104.1", "EncapsulatedPDFStorage"),
    ("1.2.840.10008.5.1.4.1.1.104.3", "EncapsulatedSTLStorage"),
    ("1.2.840.10008.5.1.4.1.1.2.1", "EnhancedCTImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.4.3", "EnhancedMRColorImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.4.1", "EnhancedMRImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.130", "EnhancedPETImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.22", "EnhancedSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.6.2", "EnhancedUSVolumeStorage"),
    ("1.2.840.10008.5.1.4.1.1.12.1.1", "EnhancedXAImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.76", "EnhancedXRayRadiationDoseSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.12.2.1", "EnhancedXRFImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.35", "ExtensibleSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.4.2", "GeneralAudioWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.1.2", "GeneralECGWaveformStorage"),
    ("1.2.840.10008.5.1.4.43.1", "GenericImplantTemplateStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.6", "GrayscalePlanarMPRVolumetricPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.1", "GrayscaleSoftcopyPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.38.1", "HangingProtocolStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.2.1", "HemodynamicWaveformStorage"),
    ("1.2.840.10008.5.1.4.44.1", "ImplantAssemblyTemplateStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.70", "ImplantationPlanSRDocumentStorage"),
    ("1.2.840.10008.5.1.4.45.1", "ImplantTemplateGroupStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.8", "IntraocularLensCalculationsStorage"),
    (
        "1.2.840.10008.5.1.4.1.1.14.1",
        "IntravascularOpticalCoherenceTomographyImageStorageForPresentation",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.14.2",
        "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
    ),
    ("1.2.840.10008.5.1.4.1.1.78.3", "KeratometryMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.59", "KeyObjectSelectionDocumentStorage"),
    ("1.2.840.10008.5.1.4.1.1.2.2", "LegacyConvertedEnhancedCTImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.4.4", "LegacyConvertedEnhancedMRImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.128.1", "LegacyConvertedEnhancedPETImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.1", "LensometryMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.79.1", "MacularGridThicknessAndVolumeReportStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.50", "MammographyCADSRStorage"),
    ("1.2.840.10008.1.3.10", "MediaStorageDirectoryStorage"),
    ("1.2.840.10008.5.1.4.1.1.91.1", "MicroscopyBulkSimpleAnnotationsStorage"),
    ("1.2.840.10008.5.1.4.1.1.4", "MRImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.4.2", "MRSpectroscopyStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.6.2", "MultichannelRespiratoryWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.7.2", "MultiframeGrayscaleByteSecondaryCaptureImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.7.3", "MultiframeGrayscaleWordSecondaryCaptureImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.7.1", "MultiframeSingleBitSecondaryCaptureImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.7.4", "MultiframeTrueColorSecondaryCaptureImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.11", "MultipleVolumeRenderingVolumetricPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.20", "NuclearMedicineImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.7", "OphthalmicAxialMeasurementsStorage"),
    (
        "1.2.840.10008.5.1.4.1.1.77.1.5.8",
        "OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage",
    ),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.7", "OphthalmicOpticalCoherenceTomographyEnFaceImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.2", "OphthalmicPhotography16BitImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.1", "OphthalmicPhotography8BitImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.81.1", "OphthalmicThicknessMapStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.4", "OphthalmicTomographyImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.80.1", "OphthalmicVisualFieldStaticPerimetryMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.30", "ParametricMapStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.73", "PatientRadiationDoseSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.75", "PerformedImagingAgentAdministrationSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.74", "PlannedImagingAgentAdministrationSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.128", "PositronEmissionTomographyImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.40", "ProcedureLogStorage"),
    ("1.2.840.10008.5.1.4.1.1.200.3", "ProtocolApprovalStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.3", "PseudoColorSoftcopyPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.68", "RadiopharmaceuticalRadiationDoseSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.66", "RawDataStorage"),
    ("1.2.840.10008.5.1.4.1.1.67", "RealWorldValueMappingStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.6.1", "RespiratoryWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.15", "RoboticArmRadiationStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.20", "RoboticRadiationRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.7.1", "RoutineScalpElectroencephalogramWaveformStorage"),
    ("1.2.840.10008.5.1.4.34.7", "RTBeamsDeliveryInstructionStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.4", "RTBeamsTreatmentRecordStorage"),
    ("1.2.840.10008.5.1.4.34.10", "RTBrachyApplicationSetupDeliveryInstructionStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.6", "RTBrachyTreatmentRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.2", "RTDoseStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.1", "RTImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.9", "RTIonBeamsTreatmentRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.8", "RTIonPlanStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.10", "RTPhysicianIntentStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.5", "RTPlanStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.16", "RTRadiationRecordSetStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.17", "RTRadiationSalvageRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.21", "RTRadiationSetDeliveryInstructionStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.12", "RTRadiationSetStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.11", "RTSegmentAnnotationStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RTStructureSetStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.22", "RTTreatmentPreparationStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.7", "RTTreatmentSummaryRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.7", "SecondaryCaptureImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.4", "SegmentationStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.10", "SegmentedVolumeRenderingVolumetricPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.72", "SimplifiedAdultEchoSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.7.4", "SleepElectroencephalogramWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.2", "SpatialFiducialsStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.1", "SpatialRegistrationStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.6", "SpectaclePrescriptionReportStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.3", "StereometricRelationshipStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.4", "SubjectiveRefractionMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.68.1", "SurfaceScanMeshStorage"),
    ("1.2.840.10008.5.1.4.1.1.68.2", "SurfaceScanPointCloudStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.5", "SurfaceSegmentationStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.18", "TomotherapeuticRadiationRecordStorage"),
    ("1.2.840.10008.5.1.4.1.1.481.14", "TomotherapeuticRadiationStorage"),
    ("1.2.840.10008.5.1.4.1.1.66.6", "TractographyResultsStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.1.1", "TwelveLeadECGWaveformStorage"),
    ("1.2.840.10008.5.1.4.1.1.6.1", "UltrasoundImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.3.1", "UltrasoundMultiframeImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.1.1", "VideoEndoscopicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.2.1", "VideoMicroscopicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.4.1", "VideoPhotographicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.78.5", "VisualAcuityMeasurementsStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.1", "VLEndoscopicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.2", "VLMicroscopicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.4", "VLPhotographicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.3", "VLSlideCoordinatesMicroscopicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1.6", "VLWholeSlideMicroscopyImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.9", "VolumeRenderingVolumetricPresentationStateStorage"),
    (
        "1.2.840.10008.5.1.4.1.1.77.1.5.5",
        "WideFieldOphthalmicPhotographyStereographicProjectionImageStorage",
    ),
    ("1.2.840.10008.5.1.4.1.1.77.1.5.6", "WideFieldOphthalmicPhotography3DCoordinatesImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.200.7", "XADefinedProcedureProtocolStorage"),
    ("1.2.840.10008.5.1.4.1.1.200.8", "XAPerformedProcedureProtocolStorage"),
    ("1.2.840.10008.5.1.4.1.1.11.5", "XAXRFGrayscaleSoftcopyPresentationStateStorage"),
    ("1.2.840.10008.5.1.4.1.1.13.1.1", "XRay3DAngiographicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.13.1.2", "XRay3DCraniofacialImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.12.1", "XRayAngiographicImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.67", "XRayRadiationDoseSRStorage"),
    ("1.2.840.10008.5.1.4.1.1.12.2", "XRayRadiofluoroscopicImageStorage"),
    ("1.2.840.10008.5.1.1.30", "RETIRED_HardcopyColorImageStorage"),
    ("1.2.840.10008.5.1.1.29", "RETIRED_HardcopyGrayscaleImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.5", "RETIRED_NuclearMedicineImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.9", "RETIRED_StandaloneCurveStorage"),
    ("1.2.840.10008.5.1.4.1.1.10", "RETIRED_StandaloneModalityLUTStorage"),
    ("1.2.840.10008.5.1.4.1.1.8", "RETIRED_StandaloneOverlayStorage"),
    ("1.2.840.10008.5.1.4.1.1.129", "RETIRED_StandalonePETCurveStorage"),
    ("1.2.840.10008.5.1.4.1.1.11", "RETIRED_StandaloneVOILUTStorage"),
    ("1.2.840.10008.5.1.1.27", "RETIRED_StoredPrintStorage"),
    ("1.2.840.10008.5.1.4.1.1.6", "RETIRED_UltrasoundImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.3", "RETIRED_UltrasoundMultiframeImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.1", "RETIRED_VLImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.77.2", "RETIRED_VLMultiframeImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.12.3", "RETIRED_XRayAngiographicBiPlaneImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.501.1", "DICOS_CTImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.501.2.1", "DICOS_DigitalXRayImageStorageForPresentation"),
    ("1.2.840.10008.5.1.4.1.1.501.2.2", "DICOS_DigitalXRayImageStorageForProcessing"),
    ("1.2.840.10008.5.1.4.1.1.501.3", "DICOS_ThreatDetectionReportStorage"),
    ("1.2.840.10008.5.1.4.1.1.501.4", "DICOS_2DAITStorage"),
    ("1.2.840.10008.5.1.4.1.1.501.5", "DICOS_3DAITStorage"),
    ("1.2.840.10008.5.1.4.1.1.501.6", "DICOS_QuadrupoleResonanceStorage"),
    ("1.2.840.10008.5.1.4.1.1.601.1", "DICONDE_EddyCurrentImageStorage"),
    ("1.2.840.10008.5.1.4.1.1.601.2", "DICONDE_EddyCurrentMultiframeImageStorage"),
    ("1.2.840.10008.5.1.4.1.2.1.1", "FINDPatientRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.2.1", "FINDStudyRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.1.3", "GETPatientRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.2.3", "GETStudyRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.1.2", "MOVEPatientRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.2.2", "MOVEStudyRootQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.3.1", "RETIRED_FINDPatientStudyOnlyQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.5.3", "GETCompositeInstanceRetrieveWithoutBulkData"),
    ("1.2.840.10008.5.1.4.1.2.4.3", "GETCompositeInstanceRootRetrieve"),
    ("1.2.840.10008.5.1.4.1.2.3.3", "RETIRED_GETPatientStudyOnlyQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.1.2.4.2", "MOVECompositeInstanceRootRetrieve"),
    ("1.2.840.10008.5.1.4.1.2.3.2", "RETIRED_MOVEPatientStudyOnlyQueryRetrieveInformationModel"),
    ("1.2.840.10008.5.1.4.31", "FINDModalityWorklistInformationModel"),
    ("1.2.840.10008.5.1.4.32.1", "RETIRED_FINDGeneralPurposeWorklistInformationModel"),
    ("1.2.840.10008.5.1.4.32.3", "RETIRED_GeneralPurposePerformedProcedureStepSOPClass"),
    ("1.2.840.10008.5.1.4.32.2", "RETIRED_GeneralPurposeScheduledProcedureStepSOPClass"),
    ("1.2.840.10008.5.1.4.32", "RETIRED_GeneralPurposeWorklistManagementMetaSOPClass"),
    ("1.2.840.10008.3.1.2.3.5", "ModalityPerformedProcedureStepNotificationSOPClass"),
    ("1.2.840.10008.3.1.2.3.4", "ModalityPerformedProcedureStepRetrieveSOPClass"),
    ("1.2.840.10008.3.1.2.3.3", "ModalityPerformedProcedureStepSOPClass"),
    ("1.2.840.10008.5.1.4.34.8", "RTConventionalMachineVerification"),
    ("1.2.840.10008.5.1.4.34.9", "RTIonMachineVerification"),
    ("1.2.840.10008.5.1.4.34.6", "UnifiedWorklistAndProcedureStepServiceClass"),
    ("1.2.840.10008.5.1.4.34.6.1", "UnifiedProcedureStepPushSOPClass"),
    ("1.2.840.10008.5.1.4.34.6.2", "UnifiedProcedureStepWatchSOPClass"),
    ("1.2.840.10008.5.1.4.34.6.3", "UnifiedProcedureStepPullSOPClass"),
    ("1.2.840.10008.5.1.4.34.6.4", "UnifiedProcedureStepEventSOPClass"),
    ("1.2.840.10008.5.1.4.34.6.5", "UnifiedProcedureStepQuerySOPClass"),
    ("1.2.840.10008.5.1.4.34.5", "UPSGlobalSubscriptionSOPInstance"),
    ("1.2.840.10008.5.1.4.34.5.1", "UPSFilteredGlobalSubscriptionSOPInstance"),
    ("1.2.840.10008.1.20.2", "RETIRED_StorageCommitmentPullModelSOPClass"),
    ("1.2.840.10008.1.20.2.1", "RETIRED_StorageCommitmentPullModelSOPInstance"),
    ("1.2.840.10008.1.20.1", "StorageCommitmentPushModelSOPClass"),
    ("1.2.840.10008.1.20.1.1", "StorageCommitmentPushModelSOPInstance"),
    ("1.2.840.10008.5.1.4.38.2", "FINDHangingProtocolInformationModel"),
    ("1.2.840.10008.5.1.4.38.3", "MOVEHangingProtocolInformationModel"),
    ("1.2.840.10008.5.1.4.37.2", "BreastImagingRelevantPatientInformationQuery"),
    ("1.2.840.10008.5.1.4.37.3", "CardiacRelevantPatientInformationQuery"),
    ("1.2.840.10008.5.1.4.37.1", "GeneralRelevantPatientInformationQuery"),
    ("1.2.840.10008.5.1.4.39.2", "FINDColorPaletteInformationModel"),
    ("1.2.840.10008.5.1.4.39.3", "MOVEColorPaletteInformationModel"),
    ("1.2.840.10008.5.1.4.39.4", "GETColorPaletteInformationModel"),
    ("1.2.840.10008.5.1.4.43.2", "FINDGenericImplantTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.43.3", "MOVEGenericImplantTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.43.4", "GETGenericImplantTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.44.2", "FINDImplantAssemblyTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.44.3", "MOVEImplantAssemblyTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.44.4", "GETImplantAssemblyTemplateInformationModel"),
    ("1.2.840.10008.5.1.4.45.2", "FINDImplantTemplateGroupInformationModel"),
    ("1.2.840.10008.5.1.4.45.3", "MOVEImplantTemplateGroupInformationModel"),
    ("1.2.840.10008.5.1.4.45.4", "GETImplantTemplateGroupInformationModel"),
    ("1.2.840.10008.5.1.4.20.1", "FINDDefinedProcedureProtocolInformationModel"),
    ("1.2.840.10008.5.1.4.20.2", "MOVEDefinedProcedureProtocolInformationModel"),
    ("1.2.840.10008.5.1.4.20.3", "GETDefinedProcedureProtocolInformationModel"),
    ("1.2.840.10008.5.1.4.1.1.200.4", "FINDProtocolApprovalInformationModel"),
    ("1.2.840.10008.5.1.4.1.1.200.5", "MOVEProtocolApprovalInformationModel"),
    ("1.2.840.10008.5.1.4.1.1.200.6", "GETProtocolApprovalInformationModel"),
    ("1.2.840.10008.5.1.1.15", "BasicAnnotationBoxSOPClass"),
    ("1.2.840.10008.5.1.1.4.1", "BasicColorImageBoxSOPClass"),
    ("1.2.840.10008.5.1.1.18", "BasicColorPrintManagementMetaSOPClass"),
    ("1.2.840.10008.5.1.1.2", "BasicFilmBoxSOPClass"),
    ("1.2.840.10008.5.1.1.1", "BasicFilmSessionSOPClass"),
    ("1.2.840.10008.5.1.1.4", "BasicGrayscaleImageBoxSOPClass"),
    ("1.2.840.10008.5.1.1.9", "BasicGrayscalePrintManagementMetaSOPClass"),
    ("1.2.840.10008.5.1.1.23", "PresentationLUTSOPClass"),
    ("1.2.840.10008.5.1.1.14", "PrintJobSOPClass"),
    ("1.2.840.10008.5.1.1.16.376", "PrinterConfigurationRetrievalSOPClass"),
    ("1.2.840.10008.5.1.1.17.376", "PrinterConfigurationRetrievalSOPInstance"),
    ("1.2.840.10008.5.1.1.16", "PrinterSOPClass"),
    ("1.2.840.10008.5.1.1.17", "PrinterSOPInstance"),
    ("1.2.840.10008.5.1.1.24.1", "RETIRED_BasicPrintImageOverlayBoxSOPClass"),
    ("1.2.840.10008.5.1.1.24", "RETIRED_ImageOverlayBoxSOPClass"),
    ("1.2.840.10008.5.1.1.26", "RETIRED_PrintQueueManagementSOPClass"),
    ("1.2.840.10008.5.1.1.25", "RETIRED_PrintQueueSOPInstance"),
    ("1.2.840.10008.5.1.1.31", "RETIRED_PullPrintRequestSOPClass"),
    ("1.2.840.10008.5.1.1.32", "RETIRED_PullStoredPrintManagementMetaSOPClass"),
    ("1.2.840.10008.5.1.1.18.1", "RETIRED_ReferencedColorPrintManagementMetaSOPClass"),
    ("1.2.840.10008.5.1.1.9.1", "RETIRED_ReferencedGrayscalePrintManagementMetaSOPClass"),
    ("1.2.840.10008.5.1.1.4.2", "RETIRED_ReferencedImageBoxSOPClass"),
    ("1.2.840.10008.5.1.1.22", "VOILUTBoxSOPClass"),
    ("1.2.840.10008.3.1.2.6.1", "RETIRED_DetachedInterpretationManagementSOPClass"),
    ("1.2.840.10008.3.1.2.1.4", "RETIRED_DetachedPatientManagementMetaSOPClass"),
    ("1.2.840.10008.3.1.2.1.1", "RETIRED_DetachedPatientManagementSOPClass"),
    ("1.2.840.10008.3.1.2.5.4", "RETIRED_DetachedResultsManagementMetaSOPClass"),
    ("1.2.840.10008.3.1.2.5.1", "RETIRED_DetachedResultsManagementSOPClass"),
    ("1.2.840.10008.3.1.2.5.5", "RETIRED_DetachedStudyManagementMetaSOPClass"),
    ("1.2.840.10008.3.1.2.3.1", "RETIRED_DetachedStudyManagementSOPClass"),
    ("1.2.840.10008.3.1.2.2.1", "RETIRED_DetachedVisitManagementSOPClass"),
    ("1.2.840.10008.1.40", "ProceduralEventLoggingSOPClass"),
    ("1.2.840.10008.1.40.1", "ProceduralEventLoggingSOPInstance"),
    ("1.2.840.10008.1.42", "SubstanceAdministrationLoggingSOPClass"),
    ("1.2.840.10008.1.42.1", "SubstanceAdministrationLoggingSOPInstance"),
    ("1.2.840.10008.5.1.4.41", "ProductCharacteristicsQuerySOPClass"),
    ("1.2.840.10008.5.1.4.42", "SubstanceApprovalQuerySOPClass"),
    ("1.2.840.10008.5.1.1.33", "MediaCreationManagementSOPClass"),
    ("1.2.840.10008.4.2", "StorageServiceClass"),
    ("1.2.840.10008.5.1.4.33", "InstanceAvailabilityNotificationSOPClass"),
    ("1.2.840.10008.7.1.1", "NativeDICOMModel"),
    ("1.2.840.10008.7.1.2", "AbstractMultiDimensionalImageModel"),
    ("1.2.840.10008.5.1.1.40", "DisplaySystemSOPClass"),
    ("1.2.840.10008.5.1.1.40.1", "DisplaySystemSOPInstance"),
    ("1.2.840.10008.10.1", "VideoEndoscopicImageRealTimeCommunication"),
    ("1.2.840.10008.10.2", "VideoPhotographicImageRealTimeCommunication"),
    ("1.2.840.10008.10.3", "AudioWaveformRealTimeCommunication"),
    ("1.2.840.10008.10.4", "RenditionSelectionDocumentRealTimeCommunication"),
    ("1.2.840.10008.1.9", "RETIRED_BasicStudyContentNotificationSOPClass"),
    ("1.2.840.10008.3.1.2.3.2", "RETIRED_StudyComponentManagementSOPClass"),
    ("1.2.840.10008.1.1", "VerificationSOPClass"),
    ("1.2.840.10008.8.1.1", "DICOMContentMappingResource"),
    ("1.2.840.10008.2.16.4", "DICOMControlledTerminologyCodingScheme"),
    ("1.2.840.10008.2.6.1", "DICOMUIDRegistryCodingScheme"),
    ("1.2.840.10008.15.0.3.7", "LDAP_dicomAETitle"),
    ("1.2.840.10008.15.0.3.9", "LDAP_dicomApplicationCluster"),
    ("1.2.840.10008.15.0.3.11", "LDAP_dicomAssociationAcceptor"),
    ("1.2.840.10008.15.0.3.10", "LDAP_dicomAssociationInitiator"),
    ("1.2.840.10008.15.0.3.21", "LDAP_dicomAuthorizedNodeCertificateReference"),
    ("1.2.840.10008.15.0.4.1", "LDAP_dicomConfigurationRoot"),
    ("1.2.840.10008.15.0.3.2", "LDAP_dicomDescription"),
    ("1.2.840.10008.15.0.4.4", "LDAP_dicomDevice"),
    ("1.2.840.10008.15.0.3.1", "LDAP_dicomDeviceName"),
    ("1.2.840.10008.15.0.3.25", "LDAP_dicomDeviceSerialNumber"),
    ("1.2.840.10008.15.0.4.2", "LDAP_dicomDevicesRoot"),
    ("1.2.840.10008.15.0.3.12", "LDAP_dicomHostname"),
    ("1.2.840.10008.15.0.3.23", "LDAP_dicomInstalled"),
    ("1.2.840.10008.15.0.3.27", "LDAP_dicomInstitutionAddress"),
    ("1.2.840.10008.15.0.3.28", "LDAP_dicomInstitutionDepartmentName"),
    ("1.2.840.10008.15.0.3.26", "LDAP_dicomInstitutionName"),
    ("1.2.840.10008.15.0.3.29", "LDAP_dicomIssuerOfPatientID"),
    ("1.2.840.10008.15.0.3.3", "LDAP_dicomManufacturer"),
    ("1.2.840.10008.15.0.3.4", "LDAP_dicomManufacturerModelName"),
    ("1.2.840.10008.15.0.4.5", "LDAP_dicomNetworkAE"),
    ("1.2.840.10008.15.0.4.6", "LDAP_dicomNetworkConnection"),
    ("1.2.840.10008.15.0.3.8", "LDAP_dicomNetworkConnectionReference"),
    ("1.2.840.10008.15.0.3.13", "LDAP_dicomPort"),
    ("1.2.840.10008.15.0.3.19", "LDAP_dicomPreferredCalledAETitle"),
    ("1.2.840.10008.15.0.3.30", "LDAP_dicomPreferredCallingAETitle"),
    ("1.2.840.10008.15.0.3.17", "LDAP_dicomPrimaryDeviceType"),
    ("1.2.840.10008.15.0.3.18", "LDAP_dicomRelatedDeviceReference"),
    ("1.2.840.10008.15.0.3.14", "LDAP_dicomSOPClass"),
    ("1.2.840.10008.15.0.3.5", "LDAP_dicomSoftwareVersion"),
    ("1.2.840.10008.15.0.3.24", "LDAP_dicomStationName"),
    ("1.2.840.10008.15.0.3.31", "LDAP_dicomSupportedCharacterSet"),
    ("1.2.840.10008.15.0.3.20", "LDAP_dicomTLSCyphersuite"),
    ("1.2.840.10008.15.0.3.22", "LDAP_dicomThisNodeCertificateReference"),
    ("1.2.840.10008.15.0.4.8", "LDAP_dicomTransferCapability"),
    ("1.2.840.10008.15.0.3.15", "LDAP_dicomTransferRole"),
    ("1.2.840.10008.15.0.3.16", "LDAP_dicomTransferSyntax"),
    ("1.2.840.10008.15.0.4.7", "LDAP_dicomUniqueAETitle"),
    ("1.2.840.10008.15.0.4.3", "LDAP_dicomUniqueAETitlesRegistryRoot"),
    ("1.2.840.10008.15.0.3.6", "LDAP_dicomVendorData"),
    ("1.2.840.10008.1.4.2.1", "ICBM452T1FrameOfReference"),
    ("1.2.840.10008.1.4.2.2", "ICBMSingleSubjectMRIFrameOfReference"),
    ("1.2.840.10008.1.4.3.1", "IEC61217FixedCoordinateSystemFrameOfReference"),
    ("1.2.840.10008.1.4.3.3", "IEC61217TableTopCoordinateSystemFrameOfReference"),
    ("1.2.840.10008.1.4.1.17", "SPM2AVG152PDFrameOfReference"),
    ("1.2.840.10008.1.4.1.15", "SPM2AVG152T1FrameOfReference"),
    ("1.2.840.10008.1.4.1.16", "SPM2AVG152T2FrameOfReference"),
    ("1.2.840.10008.1.4.1.14", "SPM2AVG305T1FrameOfReference"),
    ("1.2.840.10008.1.4.1.13", "SPM2BRAINMASKFrameOfReference"),
    ("1.2.840.10008.1.4.1.12", "SPM2CSFFrameOfReference"),
    ("1.2.840.10008.1.4.1.5", "SPM2EPIFrameOfReference"),
    ("1.2.840.10008.1.4.1.6", "SPM2FILT1FrameOfReference"),
    ("1.2.840.10008.1.4.1.10", "SPM2GRAYFrameOfReference"),
    ("1.2.840.10008.1.4.1.4", "SPM2PDFrameOfReference"),
    ("1.2.840.10008.1.4.1.7", "SPM2PETFrameOfReference"),
    ("1.2.840.10008.1.4.1.18", "SPM2SINGLESUBJT1FrameOfReference"),
    ("1.2.840.10008.1.4.1.9", "SPM2SPECTFrameOfReference"),
    ("1.2.840.10008.1.4.1.2", "SPM2T1FrameOfReference"),
    ("1.2.840.10008.1.4.1.3", "SPM2T2FrameOfReference"),
    ("1.2.840.10008.1.4.1.8", "SPM2TRANSMFrameOfReference"),
    ("1.2.840.10008.1.4.1.11", "SPM2WHITEFrameOfReference"),
    ("1.2.840.10008.1.4.3.2", "StandardRoboticCoordinateSystemFrameOfReference"),
    ("1.2.840.10008.1.4.1.1", "TalairachBrainAtlasFrameOfReference"),
    ("1.2.840.10008.1.4.4.1", "SRI24FrameOfReferenc"),
    ("1.2.840.10008.1.4.5.1", "Colin27FrameOfReference"),
    ("1.2.840.10008.1.4.6.1", "LPBA40AIRFrameOfReference"),
    ("1.2.840.10008.1.4.6.2", "LPBA40FLIRTFrameOfReference"),
    ("1.2.840.10008.1.4.6.3", "LPBA40SPM5FrameOfReference"),
    ("1.2.840.10008.15.1.1", "UniversalCoordinatedTimeSynchronizationFrameOfReference"),
    ("1.2.840.10008.1.5.1", "HotIronColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.3", "HotMetalBlueColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.4", "PET20StepColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.2", "PETColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.5", "SpringColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.6", "SummerColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.7", "FallColorPaletteSOPInstance"),
    ("1.2.840.10008.1.5.8", "WinterColorPaletteSOPInstance"),
    ("1.2.840.10008.5.1.4.34.1", "DRAFT_RTBeamsDeliveryInstructionStorage"),
    ("1.2.840.10008.5.1.4.34.2", "DRAFT_RTConventionalMachineVerification"),
    ("1.2.840.10008.5.1.4.34.3", "DRAFT_RTIonMachineVerification"),
    ("1.2.840.10008.5.1.4.1.1.88.2", "DRAFT_SRAudioStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.4", "DRAFT_SRComprehensiveStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.3", "DRAFT_SRDetailStorage"),
    ("1.2.840.10008.5.1.4.1.1.88.1", "DRAFT_SRTextStorage"),
    ("1.2.840.10008.5.1.4.1.1.9.1", "DRAFT_WaveformStorage"),
    ("1.2.840.10008.5.1.4.34.4", "DRAFT_UnifiedWorklistAndProcedureStepServiceClass"),
    ("1.2.840.10008.5.1.4.34.4.1", "DRAFT_UnifiedProcedureStepPushSOPClass"),
    ("1.2.840.10008.5.1.4.34.4.2", "DRAFT_UnifiedProcedureStepWatchSOPClass"),
    ("1.2.840.10008.5.1.4.34.4.3", "DRAFT_UnifiedProcedureStepPullSOPClass"),
    ("1.2.840.10008.5.1.4.34.4.4", "DRAFT_UnifiedProcedureStepEventSOPClass"),
)

DCMTK_MODALITIES: tuple[tuple[str, str], ...] = (
    ("AcquisitionContextSRStorage", "SRa"),
    ("AdvancedBlendingPresentationStateStorage", "PSa"),
    ("AmbulatoryECGWaveformStorage", "ECA"),
    ("ArterialPulseWaveformStorage", "WVa"),
    ("AutorefractionMeasurementsStorage", "OPa"),
    ("BasicStructuredDisplayStorage", "SD"),
    ("BasicTextSRStorage", "SRt"),
    ("BasicVoiceAudioWaveformStorage", "AUV"),
    ("BlendingSoftcopyPresentationStateStorage", "PSb"),
    ("BodyPositionWaveformStorage", "WVb"),
    ("BreastProjectionXRayImageStorageForPresentation", "BX"),
    ("BreastProjectionXRayImageStorageForProcessing", "BP"),
    ("BreastTomosynthesisImageStorage", "BT"),
    ("CardiacElectrophysiologyWaveformStorage", "WVc"),
    ("CArmPhotonElectronRadiationRecordStorage", "RRc"),
    ("CArmPhotonElectronRadiationStorage", "Rca"),
    ("ChestCADSRStorage", "SRh"),
    ("ColonCADSRStorage", "SRo"),
    ("ColorPaletteStorage", "CP"),
    ("ColorSoftcopyPresentationStateStorage", "PSc"),
    ("CompositingPlanarMPRVolumetricPresentationStateStorage", "VPc"),
    ("Comprehensive3DSRStorage", "SR3"),
    ("ComprehensiveSRStorage", "SRc"),
    ("ComputedRadiographyImageStorage", "CR"),
    ("ContentAssessmentResultsStorage", "AS"),
    ("CornealTopographyMapStorage", "CM"),
    ("CTDefinedProcedureProtocolStorage", "PPcd"),
    ("CTImageStorage", "CT"),
    ("CTPerformedProcedureProtocolStorage", "PPcp"),
    ("DeformableSpatialRegistrationStorage", "RGd"),
    ("DermoscopicPhotographyImageStorage", "VLd"),
    ("DigitalIntraOralXRayImageStorageForPresentation", "DXo"),
    ("DigitalIntraOralXRayImageStorageForProcessing", "DPo"),
    ("DigitalMammographyXRayImageStorageForPresentation", "DXm"),
    ("DigitalMammographyXRayImageStorageForProcessing", "DPm"),
    ("DigitalXRayImageStorageForPresentation", "DX"),
    ("DigitalXRayImageStorageForProcessing", "DP"),
    ("ElectromyogramWaveformStorage", "EMG"),
    ("ElectrooculogramWaveformStorage", "EOG"),
    ("EncapsulatedCDAStorage", "CDA"),
    ("EncapsulatedMTLStorage", "MTL"),
    ("EncapsulatedOBJStorage", "OBJ"),
    ("EncapsulatedPDFStorage", "PDF"),
    ("EncapsulatedSTLStorage", "STL"),
    ("EnhancedCTImageStorage", "CTe"),
    ("EnhancedMRColorImageStorage", "MRc"),
    ("EnhancedMRImageStorage", "MRe"),
    ("EnhancedPETImageStorage", "PIe"),
    ("EnhancedSRStorage", "SRe"),
    ("EnhancedUSVolumeStorage", "USe"),
    ("EnhancedXAImageStorage", "XAe"),
    ("EnhancedXRayRadiationDoseSRStorage", "SRde"),
    ("EnhancedXRFImageStorage", "RFe"),
    ("ExtensibleSRStorage", "SRx"),
    ("GeneralAudioWaveformStorage", "AUG"),
    ("GeneralECGWaveformStorage", "ECG"),
    ("GenericImplantTemplateStorage", "IT"),
    ("GrayscalePlanarMPRVolumetricPresentationStateStorage", "VPg"),
    ("GrayscaleSoftcopyPresentationStateStorage", "PSg"),
    ("HangingProtocolStorage", "HP"),
    ("HemodynamicWaveformStorage", "WVh"),
    ("ImplantAssemblyTemplateStorage", "ITa"),
    ("ImplantationPlanSRDocumentStorage", "SRi"),
    ("ImplantTemplateGroupStorage", "ITg"),
    ("IntraocularLensCalculationsStorage", "OPc"),
    ("IntravascularOpticalCoherenceTomographyImageStorageForPresentation", "OCt"),
    ("IntravascularOpticalCoherenceTomographyImageStorageForProcessing", "OCp"),
    ("KeratometryMeasurementsStorage", "OPk"),
    ("KeyObjectSelectionDocumentStorage", "KO"),
    ("LegacyConvertedEnhancedCTImageStorage", "CTl"),
    ("LegacyConvertedEnhancedMRImageStorage", "MRl"),
    ("LegacyConvertedEnhancedPETImageStorage", "PIl"),
    ("LensometryMeasurementsStorage", "OPl"),
    ("MacularGridThicknessAndVolumeReportStorage", "SRg"),
    ("MammographyCADSRStorage", "SRm"),
    ("MicroscopyBulkSimpleAnnotationsStorage", "MAs"),
    ("MRImageStorage", "MR"),
    ("MRSpectroscopyStorage", "MRs"),
    ("MultichannelRespiratoryWaveformStorage", "WVm"),
    ("MultiframeGrayscaleByteSecondaryCaptureImageStorage", "SCb"),
    ("MultiframeGrayscaleWordSecondaryCaptureImageStorage", "SCw"),
    ("MultiframeSingleBitSecondaryCaptureImageStorage", "SCs"),
    ("MultiframeTrueColorSecondaryCaptureImageStorage", "SCc"),
    ("MultipleVolumeRenderingVolumetricPresentationStateStorage", "VPm"),
    ("NuclearMedicineImageStorage", "NM"),
    ("OphthalmicAxialMeasurementsStorage", "OPx"),
    ("OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage", "OCb"),
    ("OphthalmicOpticalCoherenceTomographyEnFaceImageStorage", "OCe"),
    ("OphthalmicPhotography16BitImageStorage", "OPw"),
    ("OphthalmicPhotography8BitImageStorage", "OPb"),
    ("OphthalmicThicknessMapStorage", "OPm"),
    ("OphthalmicTomographyImageStorage", "OPt"),
    ("OphthalmicVisualFieldStaticPerimetryMeasurementsStorage", "OPp"),
    ("ParametricMapStorage", "PM"),
    ("PatientRadiationDoseSRStorage", "SRq"),
    ("PerformedImagingAgentAdministrationSRStorage", "SRi"),
    ("PlannedImagingAgentAdministrationSRStorage", "SRj"),
    ("PositronEmissionTomographyImageStorage", "PI"),
    ("ProcedureLogStorage", "SRp"),
    ("ProtocolApprovalStorage", "PA"),
    ("PseudoColorSoftcopyPresentationStateStorage", "PSp"),
    ("RadiopharmaceuticalRadiationDoseSRStorage", "SRr"),
    ("RawDataStorage", "RAW"),
    ("RealWorldValueMappingStorage", "RWM"),
    ("RespiratoryWaveformStorage", "WVr"),
    ("RoboticArmRadiationStorage", "Rra"),
    ("RoboticRadiationRecordStorage", "RRr"),
    ("RoutineScalpElectroencephalogramWaveformStorage", "EEG"),
    ("RTBeamsDeliveryInstructionStorage", "RTd"),
    ("RTBeamsTreatmentRecordStorage", "RTb"),
    ("RTBrachyApplicationSetupDeliveryInstructionStorage", "RTa"),
    ("RTBrachyTreatmentRecordStorage", "RTr"),
    ("RTDoseStorage", "RD"),
    ("RTImageStorage", "RI"),
    ("RTIonBeamsTreatmentRecordStorage", "RTi"),
    ("RTIonPlanStorage", "RPi"),
    ("RTPhysicianIntentStorage", "RIp"),
    ("RTPlanStorage", "RP"),
    ("RTRadiationRecordSetStorage", "RSr"),
    ("RTRadiationSalvageRecordStorage", "RRs"),
    ("RTRadiationSetDeliveryInstructionStorage", "RSd"),
    ("RTRadiationSetStorage", "RSe"),
    ("RTSegmentAnnotationStorage", "RAs"),
    ("RTStructureSetStorage", "RS"),
    ("RTTreatmentPreparationStorage", "RTp"),
    ("RTTreatmentSummaryRecordStorage", "RTs"),
    ("SecondaryCaptureImageStorage", "SC"),
    ("SegmentationStorage", "SG"),
    ("SegmentedVolumeRenderingVolumetricPresentationStateStorage", "VPs"),
    ("SimplifiedAdultEchoSRStorage", "SRu"),
    ("SleepElectroencephalogramWaveformStorage", "WVs"),
    ("SpatialFiducialsStorage", "FID"),
    ("SpatialRegistrationStorage", "RGs"),
    ("SpectaclePrescriptionReportStorage", "SRs"),
    ("StereometricRelationshipStorage", "OPr"),
    ("SubjectiveRefractionMeasurementsStorage", "OPs"),
    ("SurfaceScanMeshStorage", "SSm"),
    ("SurfaceScanPointCloudStorage", "SSp"),
    ("SurfaceSegmentationStorage", "SGs"),
    ("TomotherapeuticRadiationRecordStorage", "RRt"),
    ("TomotherapeuticRadiationStorage", "Rto"),
    ("TractographyResultsStorage", "TR"),
    ("TwelveLeadECGWaveformStorage", "TLE"),
    ("UltrasoundImageStorage", "US"),
    ("UltrasoundMultiframeImageStorage", "USm"),
    ("VideoEndoscopicImageStorage", "VVe"),
    ("VideoMicroscopicImageStorage", "VVm"),
    ("VideoPhotographicImageStorage", "VVp"),
    ("VisualAcuityMeasurementsStorage", "OPv"),
    ("VLEndoscopicImageStorage", "VLe"),
    ("VLMicroscopicImageStorage", "VLm"),
    ("VLPhotographicImageStorage", "VLp"),
    ("VLSlideCoordinatesMicroscopicImageStorage", "VLs"),
    ("VLWholeSlideMicroscopyImageStorage", "VLw"),
    ("VolumeRenderingVolumetricPresentationStateStorage", "VPv"),
    ("WideFieldOphthalmicPhotographyStereographicProjectionImageStorage", "OWs"),
    ("WideFieldOphthalmicPhotography3DCoordinatesImageStorage", "OW3"),
    ("XADefinedProcedureProtocolStorage", "PPxd"),
    ("XAPerformedProcedureProtocolStorage", "PPxp"),
    ("XAXRFGrayscaleSoftcopyPresentationStateStorage", "PSx"),
    ("XRay3DAngiographicImageStorage", "XA3"),
    ("XRay3DCraniofacialImageStorage", "XC3"),
    ("XRayAngiographicImageStorage", "XA"),
    ("XRayRadiationDoseSRStorage", "SRd"),
    ("XRayRadiofluoroscopicImageStorage", "RF"),
    ("RETIRED_HardcopyColorImageStorage", "HC"),
    ("RETIRED_HardcopyGrayscaleImageStorage", "HG"),
    ("RETIRED_NuclearMedicineImageStorage", "NMr"),
    ("RETIRED_StandaloneCurveStorage", "CV"),
    ("RETIRED_StandaloneModalityLUTStorage", "ML"),
    ("RETIRED_StandaloneOverlayStorage", "OV"),
    ("RETIRED_StandalonePETCurveStorage", "PC"),
    ("RETIRED_StandaloneVOILUTStorage", "VO"),
    ("RETIRED_StoredPrintStorage", "SP"),
    ("RETIRED_UltrasoundImageStorage", "USr"),
    ("RETIRED_UltrasoundMultiframeImageStorage", "USf"),
    ("RETIRED_VLImageStorage", "VLr"),
    ("RETIRED_VLMultiframeImageStorage", "VMr"),
    ("RETIRED_XRayAngiographicBiPlaneImageStorage", "XB"),
    ("DICOS_CTImageStorage", "CTs"),
    ("DICOS_DigitalXRayImageStorageForPresentation", "DXs"),
    ("DICOS_DigitalXRayImageStorageForProcessing", "DPs"),
    ("DICOS_ThreatDetectionReportStorage", "TDR"),
    ("DICOS_2DAITStorage", "AI2"),
    ("DICOS_3DAITStorage", "AI3"),
    ("DICOS_QuadrupoleResonanceStorage", "QR"),
    ("DICONDE_EddyCurrentImageStorage", "EC"),
    ("DICONDE_EddyCurrentMultiframeImageStorage", "ECm"),
    ("DRAFT_RTBeamsDeliveryInstructionStorage", "RB_d"),
    ("DRAFT_SRAudioStorage", "SR_a"),
    ("DRAFT_SRComprehensiveStorage", "SR_c"),
    ("DRAFT_SRDetailStorage", "SR_d"),
    ("DRAFT_SRTextStorage", "SR_t"),
    ("DRAFT_WaveformStorage", "WV_d"),
)

DCMTK_ALL_STORAGE: tuple[str, ...] = (
    "AcquisitionContextSRStorage",
    "AdvancedBlendingPresentationStateStorage",
    "AmbulatoryECGWaveformStorage",
    "ArterialPulseWaveformStorage",
    "AutorefractionMeasurementsStorage",
    "BasicStructuredDisplayStorage",
    "BasicTextSRStorage",
    "BasicVoiceAudioWaveformStorage",
    "BlendingSoftcopyPresentationStateStorage",
    "BodyPositionWaveformStorage",
    "BreastProjectionXRayImageStorageForPresentation",
    "BreastProjectionXRayImageStorageForProcessing",
    "BreastTomosynthesisImageStorage",
    "CardiacElectrophysiologyWaveformStorage",
    "CArmPhotonElectronRadiationRecordStorage",
    "CArmPhotonElectronRadiationStorage",
    "ChestCADSRStorage",
    "ColonCADSRStorage",
    "ColorSoftcopyPresentationStateStorage",
    "CompositingPlanarMPRVolumetricPresentationStateStorage",
    "Comprehensive3DSRStorage",
    "ComprehensiveSRStorage",
    "ComputedRadiographyImageStorage",
    "ContentAssessmentResultsStorage",
    "CornealTopographyMapStorage",
    "CTImageStorage",
    "CTPerformedProcedureProtocolStorage",
    "DeformableSpatialRegistrationStorage",
    "DermoscopicPhotographyImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "DigitalIntraOralXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "ElectromyogramWaveformStorage",
    "ElectrooculogramWaveformStorage",
    "EncapsulatedCDAStorage",
    "EncapsulatedMTLStorage",
    "EncapsulatedOBJStorage",
    "EncapsulatedPDFStorage",
    "EncapsulatedSTLStorage",
    "EnhancedCTImageStorage",
    "EnhancedMRColorImageStorage",
    "EnhancedMRImageStorage",
    "EnhancedPETImageStorage",
    "EnhancedSRStorage",
    "EnhancedUSVolumeStorage",
    "EnhancedXAImageStorage",
    "EnhancedXRayRadiationDoseSRStorage",
    "EnhancedXRFImageStorage",
    "ExtensibleSRStorage",
    "GeneralAudioWaveformStorage",
    "GeneralECGWaveformStorage",
    "GrayscalePlanarMPRVolumetricPresentationStateStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
    "HemodynamicWaveformStorage",
    "ImplantationPlanSRDocumentStorage",
    "IntraocularLensCalculationsStorage",
    "IntravascularOpticalCoherenceTomographyImageStorageForPresentation",
    "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
    "KeratometryMeasurementsStorage",
    "KeyObjectSelectionDocumentStorage",
    "LegacyConvertedEnhancedCTImageStorage",
    "LegacyConvertedEnhancedMRImageStorage",
    "LegacyConvertedEnhancedPETImageStorage",
    "LensometryMeasurementsStorage",
    "MacularGridThicknessAndVolumeReportStorage",
    "MammographyCADSRStorage",
    "MicroscopyBulkSimpleAnnotationsStorage",
    "MRImageStorage",
    "MRSpectroscopyStorage",
    "MultichannelRespiratoryWaveformStorage",
    "MultiframeGrayscaleByteSecondaryCaptureImageStorage",
    "MultiframeGrayscaleWordSecondaryCaptureImageStorage",
    "MultiframeSingleBitSecondaryCaptureImageStorage",
    "MultiframeTrueColorSecondaryCaptureImageStorage",
    "MultipleVolumeRenderingVolumetricPresentationStateStorage",
    "NuclearMedicineImageStorage",
    "OphthalmicAxialMeasurementsStorage",
    "OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage",
    "OphthalmicOpticalCoherenceTomographyEnFaceImageStorage",
    "OphthalmicPhotography16BitImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "OphthalmicThicknessMapStorage",
    "OphthalmicTomographyImageStorage",
    "OphthalmicVisualFieldStaticPerimetryMeasurementsStorage",
    "ParametricMapStorage",
    "PatientRadiationDoseSRStorage",
    "PerformedImagingAgentAdministrationSRStorage",
    "PlannedImagingAgentAdministrationSRStorage",
    "PositronEmissionTomographyImageStorage",
    "ProcedureLogStorage",
    "PseudoColorSoftcopyPresentationStateStorage",
    "RadiopharmaceuticalRadiationDoseSRStorage",
    "RawDataStorage",
    "RealWorldValueMappingStorage",
    "RespiratoryWaveformStorage",
    "RoboticArmRadiationStorage",
    "RoboticRadiationRecordStorage",
    "RoutineScalpElectroencephalogramWaveformStorage",
    "RTBeamsDeliveryInstructionStorage",
    "RTBeamsTreatmentRecordStorage",
    "RTBrachyApplicationSetupDeliveryInstructionStorage",
    "RTBrachyTreatmentRecordStorage",
    "RTDoseStorage",
    "RTImageStorage",
    "RTIonBeamsTreatmentRecordStorage",
    "RTIonPlanStorage",
    "RTPhysicianIntentStorage",
    "RTPlanStorage",
    "RTRadiationRecordSetStorage",
    "RTRadiationSalvageRecordStorage",
    "RTRadiationSetDeliveryInstructionStorage",
    "RTRadiationSetStorage",
    "RTSegmentAnnotationStorage",
    "RTStructureSetStorage",
    "RTTreatmentPreparationStorage",
    "RTTreatmentSummaryRecordStorage",
    "SecondaryCaptureImageStorage",
    "SegmentationStorage",
    "SegmentedVolumeRenderingVolumetricPresentationStateStorage",
    "SimplifiedAdultEchoSRStorage",
    "SleepElectroencephalogramWaveformStorage",
    "SpatialFiducialsStorage",
    "SpatialRegistrationStorage",
    "SpectaclePrescriptionReportStorage",
    "StereometricRelationshipStorage",
    "SubjectiveRefractionMeasurementsStorage",
    "SurfaceScanMeshStorage",
    "SurfaceScanPointCloudStorage",
    "SurfaceSegmentationStorage",
    "TomotherapeuticRadiationRecordStorage",
    "TomotherapeuticRadiationStorage",
    "TractographyResultsStorage",
    "TwelveLeadECGWaveformStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiframeImageStorage",
    "VideoEndoscopicImageStorage",
    "VideoMicroscopicImageStorage",
    "VideoPhotographicImageStorage",
    "VisualAcuityMeasurementsStorage",
    "VLEndoscopicImageStorage",
    "VLMicroscopicImageStorage",
    "VLPhotographicImageStorage",
    "VLSlideCoordinatesMicroscopicImageStorage",
    "VLWholeSlideMicroscopyImageStorage",
    "VolumeRenderingVolumetricPresentationStateStorage",
    "WideFieldOphthalmicPhotographyStereographicProjectionImageStorage",
    "WideFieldOphthalmicPhotography3DCoordinatesImageStorage",
    "XAPerformedProcedureProtocolStorage",
    "XAXRFGrayscaleSoftcopyPresentationStateStorage",
    "XRay3DAngiographicImageStorage",
    "XRay3DCraniofacialImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiationDoseSRStorage",
    "XRayRadiofluoroscopicImageStorage",
    "RETIRED_HardcopyColorImageStorage",
    "RETIRED_HardcopyGrayscaleImageStorage",
    "RETIRED_NuclearMedicineImageStorage",
    "RETIRED_StandaloneCurveStorage",
    "RETIRED_StandaloneModalityLUTStorage",
    "RETIRED_StandaloneOverlayStorage",
    "RETIRED_StandalonePETCurveStorage",
    "RETIRED_StandaloneVOILUTStorage",
    "RETIRED_StoredPrintStorage",
    "RETIRED_UltrasoundImageStorage",
    "RETIRED_UltrasoundMultiframeImageStorage",
    "RETIRED_VLImageStorage",
    "RETIRED_VLMultiframeImageStorage",
    "RETIRED_XRayAngiographicBiPlaneImageStorage",
    "DRAFT_SRAudioStorage",
    "DRAFT_SRComprehensiveStorage",
    "DRAFT_SRDetailStorage",
    "DRAFT_SRTextStorage",
    "DRAFT_WaveformStorage",
    "DRAFT_RTBeamsDeliveryInstructionStorage",
    "DICOS_CTImageStorage",
    "DICOS_DigitalXRayImageStorageForPresentation",
    "DICOS_DigitalXRayImageStorageForProcessing",
    "DICOS_ThreatDetectionReportStorage",
    "DICOS_2DAITStorage",
    "DICOS_3DAITStorage",
    "DICOS_QuadrupoleResonanceStorage",
    "DICONDE_EddyCurrentImageStorage",
    "DICONDE_EddyCurrentMultiframeImageStorage",
)

DCMTK_LONG_SCU_STORAGE: tuple[str, ...] = (
    "AmbulatoryECGWaveformStorage",
    "ArterialPulseWaveformStorage",
    "AutorefractionMeasurementsStorage",
    "BasicStructuredDisplayStorage",
    "BasicTextSRStorage",
    "BasicVoiceAudioWaveformStorage",
    "BlendingSoftcopyPresentationStateStorage",
    "BreastTomosynthesisImageStorage",
    "CardiacElectrophysiologyWaveformStorage",
    "ChestCADSRStorage",
    "ColonCADSRStorage",
    "ColorSoftcopyPresentationStateStorage",
    "Comprehensive3DSRStorage",
    "ComprehensiveSRStorage",
    "ComputedRadiographyImageStorage",
    "CTImageStorage",
    "DeformableSpatialRegistrationStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "DigitalIntraOralXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "EncapsulatedCDAStorage",
    "EncapsulatedPDFStorage",
    "EnhancedCTImageStorage",
    "EnhancedMRColorImageStorage",
    "EnhancedMRImageStorage",
    "EnhancedPETImageStorage",
    "EnhancedSRStorage",
    "EnhancedUSVolumeStorage",
    "EnhancedXAImageStorage",
    "EnhancedXRFImageStorage",
    "GeneralAudioWaveformStorage",
    "GeneralECGWaveformStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
    "HemodynamicWaveformStorage",
    "ImplantationPlanSRDocumentStorage",
    "IntraocularLensCalculationsStorage",
    "IntravascularOpticalCoherenceTomographyImageStorageForPresentation",
    "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
    "KeratometryMeasurementsStorage",
    "KeyObjectSelectionDocumentStorage",
    "LegacyConvertedEnhancedCTImageStorage",
    "LegacyConvertedEnhancedMRImageStorage",
    "LegacyConvertedEnhancedPETImageStorage",
    "LensometryMeasurementsStorage",
    "MacularGridThicknessAndVolumeReportStorage",
    "MammographyCADSRStorage",
    "MRImageStorage",
    "MRSpectroscopyStorage",
    "MultiframeGrayscaleByteSecondaryCaptureImageStorage",
    "MultiframeGrayscaleWordSecondaryCaptureImageStorage",
    "MultiframeSingleBitSecondaryCaptureImageStorage",
    "MultiframeTrueColorSecondaryCaptureImageStorage",
    "NuclearMedicineImageStorage",
    "OphthalmicAxialMeasurementsStorage",
    "OphthalmicPhotography16BitImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "OphthalmicThicknessMapStorage",
    "OphthalmicTomographyImageStorage",
    "OphthalmicVisualFieldStaticPerimetryMeasurementsStorage",
    "PositronEmissionTomographyImageStorage",
    "ProcedureLogStorage",
    "PseudoColorSoftcopyPresentationStateStorage",
    "RawDataStorage",
    "RealWorldValueMappingStorage",
    "RespiratoryWaveformStorage",
    "RTBeamsDeliveryInstructionStorage",
    "RTBeamsTreatmentRecordStorage",
    "RTBrachyTreatmentRecordStorage",
    "RTDoseStorage",
    "RTImageStorage",
    "RTIonBeamsTreatmentRecordStorage",
    "RTIonPlanStorage",
    "RTPlanStorage",
    "RTStructureSetStorage",
    "RTTreatmentSummaryRecordStorage",
    "SecondaryCaptureImageStorage",
    "SegmentationStorage",
    "SpatialFiducialsStorage",
    "SpatialRegistrationStorage",
    "SpectaclePrescriptionReportStorage",
    "StereometricRelationshipStorage",
    "SubjectiveRefractionMeasurementsStorage",
    "SurfaceScanMeshStorage",
    "SurfaceScanPointCloudStorage",
    "SurfaceSegmentationStorage",
    "TwelveLeadECGWaveformStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiframeImageStorage",
    "VideoEndoscopicImageStorage",
    "VideoMicroscopicImageStorage",
    "VideoPhotographicImageStorage",
    "VisualAcuityMeasurementsStorage",
    "VLEndoscopicImageStorage",
    "VLMicroscopicImageStorage",
    "VLPhotographicImageStorage",
    "VLSlideCoordinatesMicroscopicImageStorage",
    "VLWholeSlideMicroscopyImageStorage",
    "XAXRFGrayscaleSoftcopyPresentationStateStorage",
    "XRay3DAngiographicImageStorage",
    "XRay3DCraniofacialImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiationDoseSRStorage",
    "XRayRadiofluoroscopicImageStorage",
    "RETIRED_HardcopyColorImageStorage",
    "RETIRED_HardcopyGrayscaleImageStorage",
    "RETIRED_NuclearMedicineImageStorage",
    "RETIRED_StandaloneCurveStorage",
    "RETIRED_StandaloneModalityLUTStorage",
    "RETIRED_StandaloneOverlayStorage",
    "RETIRED_StandalonePETCurveStorage",
    "RETIRED_StandaloneVOILUTStorage",
    "RETIRED_StoredPrintStorage",
    "RETIRED_UltrasoundImageStorage",
    "RETIRED_UltrasoundMultiframeImageStorage",
    "RETIRED_VLImageStorage",
    "RETIRED_VLMultiframeImageStorage",
    "RETIRED_XRayAngiographicBiPlaneImageStorage",
)

DCMTK_SHORT_SCU_STORAGE: tuple[str, ...] = (
    "AmbulatoryECGWaveformStorage",
    "BasicTextSRStorage",
    "BasicVoiceAudioWaveformStorage",
    "BlendingSoftcopyPresentationStateStorage",
    "CardiacElectrophysiologyWaveformStorage",
    "ChestCADSRStorage",
    "ColonCADSRStorage",
    "ColorSoftcopyPresentationStateStorage",
    "ComprehensiveSRStorage",
    "ComputedRadiographyImageStorage",
    "CTImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "DigitalIntraOralXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "EncapsulatedPDFStorage",
    "EnhancedCTImageStorage",
    "EnhancedMRImageStorage",
    "EnhancedSRStorage",
    "EnhancedXAImageStorage",
    "EnhancedXRFImageStorage",
    "GeneralECGWaveformStorage",
    "GrayscaleSoftcopyPresentationStateStorage",
    "HemodynamicWaveformStorage",
    "KeyObjectSelectionDocumentStorage",
    "MammographyCADSRStorage",
    "MRImageStorage",
    "MRSpectroscopyStorage",
    "MultiframeGrayscaleByteSecondaryCaptureImageStorage",
    "MultiframeGrayscaleWordSecondaryCaptureImageStorage",
    "MultiframeSingleBitSecondaryCaptureImageStorage",
    "MultiframeTrueColorSecondaryCaptureImageStorage",
    "NuclearMedicineImageStorage",
    "OphthalmicPhotography16BitImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "OphthalmicTomographyImageStorage",
    "PositronEmissionTomographyImageStorage",
    "ProcedureLogStorage",
    "PseudoColorSoftcopyPresentationStateStorage",
    "RawDataStorage",
    "RealWorldValueMappingStorage",
    "RTBeamsTreatmentRecordStorage",
    "RTBrachyTreatmentRecordStorage",
    "RTDoseStorage",
    "RTImageStorage",
    "RTPlanStorage",
    "RTStructureSetStorage",
    "RTTreatmentSummaryRecordStorage",
    "SecondaryCaptureImageStorage",
    "SpatialFiducialsStorage",
    "SpatialRegistrationStorage",
    "StereometricRelationshipStorage",
    "TwelveLeadECGWaveformStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiframeImageStorage",
    "VLEndoscopicImageStorage",
    "VLMicroscopicImageStorage",
    "VLPhotographicImageStorage",
    "VLSlideCoordinatesMicroscopicImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiationDoseSRStorage",
    "XRayRadiofluoroscopicImageStorage",
)

DCMTK_IMAGE_SOP_CLASSES: tuple[str, ...] = (
    "BreastProjectionXRayImageStorageForPresentation",
    "BreastProjectionXRayImageStorageForProcessing",
    "BreastTomosynthesisImageStorage",
    "ComputedRadiographyImageStorage",
    "CTImageStorage",
    "CornealTopographyMapStorage",
    "DermoscopicPhotographyImageStorage",
    "DigitalIntraOralXRayImageStorageForPresentation",
    "DigitalIntraOralXRayImageStorageForProcessing",
    "DigitalMammographyXRayImageStorageForPresentation",
    "DigitalMammographyXRayImageStorageForProcessing",
    "DigitalXRayImageStorageForPresentation",
    "DigitalXRayImageStorageForProcessing",
    "EnhancedCTImageStorage",
    "EnhancedMRColorImageStorage",
    "EnhancedMRImageStorage",
    "EnhancedPETImageStorage",
    "EnhancedUSVolumeStorage",
    "EnhancedXAImageStorage",
    "EnhancedXRFImageStorage",
    "IntravascularOpticalCoherenceTomographyImageStorageForPresentation",
    "IntravascularOpticalCoherenceTomographyImageStorageForProcessing",
    "LegacyConvertedEnhancedCTImageStorage",
    "LegacyConvertedEnhancedMRImageStorage",
    "LegacyConvertedEnhancedPETImageStorage",
    "MRImageStorage",
    "MultiframeGrayscaleByteSecondaryCaptureImageStorage",
    "MultiframeGrayscaleWordSecondaryCaptureImageStorage",
    "MultiframeSingleBitSecondaryCaptureImageStorage",
    "MultiframeTrueColorSecondaryCaptureImageStorage",
    "NuclearMedicineImageStorage",
    "OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage",
    "OphthalmicOpticalCoherenceTomographyEnFaceImageStorage",
    "OphthalmicPhotography16BitImageStorage",
    "OphthalmicPhotography8BitImageStorage",
    "OphthalmicThicknessMapStorage",
    "OphthalmicTomographyImageStorage",
    "ParametricMapStorage",
    "PositronEmissionTomographyImageStorage",
    "RTImageStorage",
    "SecondaryCaptureImageStorage",
    "UltrasoundImageStorage",
    "UltrasoundMultiframeImageStorage",
    "VideoEndoscopicImageStorage",
    "VideoMicroscopicImageStorage",
    "VideoPhotographicImageStorage",
    "VLEndoscopicImageStorage",
    "VLMicroscopicImageStorage",
    "VLPhotographicImageStorage",
    "VLSlideCoordinatesMicroscopicImageStorage",
    "VLWholeSlideMicroscopyImageStorage",
    "WideFieldOphthalmicPhotographyStereographicProjectionImageStorage",
    "WideFieldOphthalmicPhotography3DCoordinatesImageStorage",
    "XRay3DAngiographicImageStorage",
    "XRay3DCraniofacialImageStorage",
    "XRayAngiographicImageStorage",
    "XRayRadiofluoroscopicImageStorage",
    "RETIRED_HardcopyColorImageStorage",
    "RETIRED_HardcopyGrayscaleImageStorage",
    "RETIRED_NuclearMedicineImageStorage",
    "RETIRED_UltrasoundImageStorage",
    "RETIRED_UltrasoundMultiframeImageStorage",
    "RETIRED_VLImageStorage",
    "RETIRED_VLMultiframeImageStorage",
    "RETIRED_XRayAngiographicBiPlaneImageStorage",
    "DICOS_CTImageStorage",
    "DICOS_DigitalXRayImageStorageForPresentation",
    "DICOS_DigitalXRayImageStorageForProcessing",
    "DICONDE_EddyCurrentImageStorage",
    "DICONDE_EddyCurrentMultiframeImageStorage",
)


if __name__ == "__main__":
    raise SystemExit(main())
