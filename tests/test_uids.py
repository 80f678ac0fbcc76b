"""uids.py: spot checks, name resolution, DCMTK's lists, and the generator."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from dicomwire import uids
from dicomwire.errors import DicomWireError
from dicomwire.uids import Service

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "gen_uids.py"
MODULE = ROOT / "src" / "dicomwire" / "uids.py"


# -- constants and tables ---------------------------------------------------------
@pytest.mark.parametrize(
    ("constant", "uid"),
    [
        ("APPLICATION_CONTEXT", "1.2.840.10008.3.1.1.1"),
        ("VERIFICATION", "1.2.840.10008.1.1"),
        ("IMPLICIT_VR_LITTLE_ENDIAN", "1.2.840.10008.1.2"),
        ("EXPLICIT_VR_LITTLE_ENDIAN", "1.2.840.10008.1.2.1"),
        ("EXPLICIT_VR_BIG_ENDIAN", "1.2.840.10008.1.2.2"),
        ("DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN", "1.2.840.10008.1.2.1.99"),
        ("JPEG_BASELINE", "1.2.840.10008.1.2.4.50"),
        ("JPEG_LOSSLESS_SV1", "1.2.840.10008.1.2.4.70"),
        ("JPEG_2000", "1.2.840.10008.1.2.4.91"),
        ("RLE_LOSSLESS", "1.2.840.10008.1.2.5"),
        ("CT_IMAGE_STORAGE", "1.2.840.10008.5.1.4.1.1.2"),
        ("PATIENT_ROOT_FIND", "1.2.840.10008.5.1.4.1.2.1.1"),
        ("PATIENT_ROOT_MOVE", "1.2.840.10008.5.1.4.1.2.1.2"),
        ("PATIENT_ROOT_GET", "1.2.840.10008.5.1.4.1.2.1.3"),
        ("STUDY_ROOT_FIND", "1.2.840.10008.5.1.4.1.2.2.1"),
        ("STUDY_ROOT_MOVE", "1.2.840.10008.5.1.4.1.2.2.2"),
        ("STUDY_ROOT_GET", "1.2.840.10008.5.1.4.1.2.2.3"),
        ("PATIENT_STUDY_ONLY_FIND", "1.2.840.10008.5.1.4.1.2.3.1"),
        ("PATIENT_STUDY_ONLY_MOVE", "1.2.840.10008.5.1.4.1.2.3.2"),
        ("PATIENT_STUDY_ONLY_GET", "1.2.840.10008.5.1.4.1.2.3.3"),
        ("MODALITY_WORKLIST_FIND", "1.2.840.10008.5.1.4.31"),
    ],
)
def test_constants(constant: str, uid: str) -> None:
    assert getattr(uids, constant) == uid


def test_implementation_identity() -> None:
    assert uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    assert uids.is_valid_uid(uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID)
    assert uids.DICOMWIRE_IMPLEMENTATION_VERSION == "DICOMWIRE_010"
    assert len(uids.DICOMWIRE_IMPLEMENTATION_VERSION) <= 16


@pytest.mark.parametrize(
    ("uid", "dcmtk_name", "encapsulated", "lossless"),
    [
        ("1.2.840.10008.1.2", "LittleEndianImplicit", False, True),
        ("1.2.840.10008.1.2.1", "LittleEndianExplicit", False, True),
        ("1.2.840.10008.1.2.2", "BigEndianExplicit", False, True),
        ("1.2.840.10008.1.2.1.99", "DeflatedLittleEndianExplicit", False, True),
        ("1.2.840.10008.1.2.4.50", "JPEGBaseline", True, False),
        ("1.2.840.10008.1.2.4.51", "JPEGExtended:Process2+4", True, False),
        ("1.2.840.10008.1.2.4.70", "JPEGLossless:Non-hierarchical-1stOrderPrediction", True, True),
        ("1.2.840.10008.1.2.4.80", "JPEGLSLossless", True, True),
        ("1.2.840.10008.1.2.4.81", "JPEGLSLossy", True, False),
        ("1.2.840.10008.1.2.4.90", "JPEG2000LosslessOnly", True, True),
        ("1.2.840.10008.1.2.4.91", "JPEG2000", True, False),
        ("1.2.840.10008.1.2.5", "RLELossless", True, True),
        ("1.2.840.10008.1.2.4.100", "MPEG2MainProfile@MainLevel", True, False),
        ("1.2.840.10008.1.2.4.101", "MPEG2MainProfile@HighLevel", True, False),
        ("1.2.840.10008.1.2.4.102", "MPEG4HighProfile/Level4.1", True, False),
        ("1.2.840.10008.1.2.4.107", "HEVCMainProfile/Level5.1", True, False),
        ("1.2.840.10008.1.2.4.201", None, True, True),  # HTJ2K: newer than DCMTK 3.6.7
    ],
)
def test_transfer_syntaxes(uid: str, dcmtk_name: str | None, encapsulated: bool, lossless: bool) -> None:
    ts = uids.TRANSFER_SYNTAXES[uid]
    assert ts.uid == uid
    assert ts.dcmtk_name == dcmtk_name
    assert ts.encapsulated is encapsulated
    assert ts.lossless is lossless


def test_transfer_syntax_encodings() -> None:
    implicit = uids.TRANSFER_SYNTAXES[uids.IMPLICIT_VR_LITTLE_ENDIAN]
    assert (implicit.explicit_vr, implicit.little_endian) == (False, True)
    big = uids.TRANSFER_SYNTAXES[uids.EXPLICIT_VR_BIG_ENDIAN]
    assert (big.explicit_vr, big.little_endian, big.retired) == (True, False, True)
    assert uids.TRANSFER_SYNTAXES[uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN].deflated
    # DCMTK's private GE syntax is there although pydicom does not know it
    ge = uids.TRANSFER_SYNTAXES["1.2.840.113619.5.2"]
    assert ge.dcmtk_name == "PrivateGELittleEndianImplicitWithBigEndianPixelData"


@pytest.mark.parametrize(
    ("uid", "keyword", "dcmtk_name", "retired", "service"),
    [
        ("1.2.840.10008.1.1", "Verification", "VerificationSOPClass", False, Service.VERIFICATION),
        ("1.2.840.10008.5.1.4.1.1.2", "CTImageStorage", "CTImageStorage", False, Service.STORAGE),
        (
            "1.2.840.10008.5.1.4.1.1.6",
            "UltrasoundImageStorageRetired",
            "RETIRED_UltrasoundImageStorage",
            True,
            Service.STORAGE,
        ),
        (
            "1.2.840.10008.5.1.4.1.1.88.1",
            "TextSRStorageTrial",
            "DRAFT_SRTextStorage",
            True,
            Service.STORAGE,
        ),
        (
            "1.2.840.10008.5.1.4.1.2.1.1",
            "PatientRootQueryRetrieveInformationModelFind",
            "FINDPatientRootQueryRetrieveInformationModel",
            False,
            Service.FIND,
        ),
        (
            "1.2.840.10008.5.1.4.1.2.2.2",
            "StudyRootQueryRetrieveInformationModelMove",
            "MOVEStudyRootQueryRetrieveInformationModel",
            False,
            Service.MOVE,
        ),
        (
            "1.2.840.10008.5.1.4.1.2.2.3",
            "StudyRootQueryRetrieveInformationModelGet",
            "GETStudyRootQueryRetrieveInformationModel",
            False,
            Service.GET,
        ),
        (
            "1.2.840.10008.5.1.4.1.2.3.1",
            "PatientStudyOnlyQueryRetrieveInformationModelFind",
            "RETIRED_FINDPatientStudyOnlyQueryRetrieveInformationModel",
            True,
            Service.FIND,
        ),
        (
            "1.2.840.10008.5.1.4.31",
            "ModalityWorklistInformationModelFind",
            "FINDModalityWorklistInformationModel",
            False,
            Service.WORKLIST,
        ),
        (
            "1.2.840.10008.1.20.1",
            "StorageCommitmentPushModel",
            "StorageCommitmentPushModelSOPClass",
            False,
            Service.OTHER,
        ),
        (
            "1.2.840.10008.5.1.4.1.1.501.1",
            "DICOSCTImageStorage",
            "DICOS_CTImageStorage",
            False,
            Service.STORAGE,
        ),
        # newer than DCMTK 3.6.7: no DCMTK name
        ("1.2.840.10008.5.1.4.1.1.6.3", "PhotoacousticImageStorage", None, False, Service.STORAGE),
    ],
)
def test_sop_classes(uid: str, keyword: str, dcmtk_name: str | None, retired: bool, service: Service) -> None:
    sop_class = uids.SOP_CLASSES[uid]
    assert (sop_class.uid, sop_class.keyword, sop_class.dcmtk_name) == (uid, keyword, dcmtk_name)
    assert sop_class.retired is retired
    assert sop_class.service is service
    assert uids.service_of(uid) is service
    assert uids.is_storage(uid) is (service is Service.STORAGE)


def test_media_storage_directory_is_not_a_network_storage_class() -> None:
    assert not uids.is_storage("1.2.840.10008.1.3.10")


def test_unknown_uids_have_no_service() -> None:
    assert uids.service_of("1.2.3.4") is Service.OTHER
    assert not uids.is_storage("1.2.3.4")


def test_other_named_uids() -> None:
    context = uids.OTHER_UIDS[uids.APPLICATION_CONTEXT]
    assert context.dcmtk_name == "StandardApplicationContext"
    assert context.kind == "Application Context Name"


# -- modality prefixes ------------------------------------------------------------
@pytest.mark.parametrize(
    ("uid", "prefix"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "CT"),
        ("1.2.840.10008.5.1.4.1.1.4", "MR"),
        ("1.2.840.10008.5.1.4.1.1.7", "SC"),
        ("1.2.840.10008.5.1.4.1.1.481.2", "RD"),
        ("1.2.840.10008.5.1.4.1.1.1", "CR"),
        ("1.2.840.10008.5.1.4.1.1.6.1", "US"),
        ("1.2.840.10008.5.1.4.1.1.88.11", "SRt"),
        ("1.2.840.10008.5.1.4.1.1.104.1", "PDF"),
        ("1.2.840.10008.5.1.4.1.1.88.1", "SR_t"),
        ("1.2.840.10008.5.1.4.1.1.6.3", "UNKNOWN"),  # not in DCMTK 3.6.7's table
        ("1.2.3.4.5.6", "UNKNOWN"),  # what storescp and dcmrecv write
        ("1.2.840.10008.1.1", "UNKNOWN"),
    ],
)
def test_dcmtk_modality_prefix(uid: str, prefix: str) -> None:
    assert uids.dcmtk_modality_prefix(uid) == prefix


def test_dcmtk_modality_prefix_default() -> None:
    assert uids.dcmtk_modality_prefix("1.2.3", default="XX") == "XX"  # dcmqrscp's fallback
    assert uids.dcmtk_modality_prefix(uids.CT_IMAGE_STORAGE, default="XX") == "CT"


# -- name resolution --------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "uid"),
    [
        ("CTImageStorage", "1.2.840.10008.5.1.4.1.1.2"),
        ("VerificationSOPClass", "1.2.840.10008.1.1"),
        ("Verification", "1.2.840.10008.1.1"),  # pydicom keyword
        ("=VerificationSOPClass", "1.2.840.10008.1.1"),  # DCMTK's '=' prefix
        ("LittleEndianImplicit", "1.2.840.10008.1.2"),
        ("ImplicitVRLittleEndian", "1.2.840.10008.1.2"),
        ("JPEGBaseline", "1.2.840.10008.1.2.4.50"),
        ("JPEGBaseline8Bit", "1.2.840.10008.1.2.4.50"),
        ("JPEGExtended:Process2+4", "1.2.840.10008.1.2.4.51"),
        ("JPEGLossless:Non-hierarchical-1stOrderPrediction", "1.2.840.10008.1.2.4.70"),
        ("JPEGLSLossless", "1.2.840.10008.1.2.4.80"),
        ("JPEGLSLossy", "1.2.840.10008.1.2.4.81"),
        ("JPEG2000LosslessOnly", "1.2.840.10008.1.2.4.90"),
        ("MPEG2MainProfile@MainLevel", "1.2.840.10008.1.2.4.100"),
        ("MPEG4StereoHighProfile/Level4.2", "1.2.840.10008.1.2.4.106"),
        ("HEVCMain10Profile/Level5.1", "1.2.840.10008.1.2.4.108"),
        ("FINDPatientRootQueryRetrieveInformationModel", "1.2.840.10008.5.1.4.1.2.1.1"),
        ("RETIRED_UltrasoundImageStorage", "1.2.840.10008.5.1.4.1.1.6"),
        ("UltrasoundImageStorage", "1.2.840.10008.5.1.4.1.1.6.1"),
        ("StandardApplicationContext", "1.2.840.10008.3.1.1.1"),
        ("HTJ2KLossless", "1.2.840.10008.1.2.4.201"),
        ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2"),
        ("1.2.3.4.5.6", "1.2.3.4.5.6"),  # any valid UID
        ("=1.2.3", "1.2.3"),
    ],
)
def test_uid_for_name(name: str, uid: str) -> None:
    assert uids.uid_for_name(name) == uid


@pytest.mark.parametrize(
    ("uid", "name"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "CTImageStorage"),
        ("1.2.840.10008.1.1", "VerificationSOPClass"),
        ("1.2.840.10008.1.2.4.70", "JPEGLossless:Non-hierarchical-1stOrderPrediction"),
        ("1.2.840.10008.5.1.4.1.1.6.3", "PhotoacousticImageStorage"),  # keyword fallback
        ("1.2.840.10008.3.1.1.1", "StandardApplicationContext"),
        ("1.2.3.4", "1.2.3.4"),  # the UID itself
    ],
)
def test_name_of(uid: str, name: str) -> None:
    assert uids.name_of(uid) == name


def test_every_name_round_trips() -> None:
    for table in (uids.TRANSFER_SYNTAXES, uids.SOP_CLASSES, uids.OTHER_UIDS):
        for item in table.values():
            for name in (item.dcmtk_name, item.keyword):
                if name is not None:
                    assert uids.uid_for_name(name) == item.uid, name
            assert uids.uid_for_name(uids.name_of(item.uid)) == item.uid


def test_names_are_case_sensitive_like_dcmtk() -> None:
    with pytest.raises(uids.UidError, match="did you mean 'CTImageStorage'"):
        uids.uid_for_name("ctimagestorage")
    with pytest.raises(uids.UidError, match="did you mean 'LocalEndianExplicit'"):
        uids.uid_for_name("localendianexplicit")


@pytest.mark.parametrize("name", ["NoSuchThing", "", "=", "CTImageStorage ", " CTImageStorage"])
def test_unknown_names(name: str) -> None:
    with pytest.raises(uids.UidError) as excinfo:
        uids.uid_for_name(name)
    assert isinstance(excinfo.value, DicomWireError)
    assert isinstance(excinfo.value, ValueError)


# -- byte order aliases -----------------------------------------------------------
def test_byte_order_aliases_follow_the_machine() -> None:
    little = sys.byteorder == "little"
    local = uids.EXPLICIT_VR_LITTLE_ENDIAN if little else uids.EXPLICIT_VR_BIG_ENDIAN
    opposite = uids.EXPLICIT_VR_BIG_ENDIAN if little else uids.EXPLICIT_VR_LITTLE_ENDIAN
    assert uids.uid_for_name("LocalEndianExplicit") == local
    assert uids.uid_for_name("OppositeEndianExplicit") == opposite
    assert uids.uid_for_name("=LocalEndianExplicit") == local


@pytest.mark.parametrize(
    ("byteorder", "local", "opposite"),
    [
        ("little", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"),
        ("big", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1"),
    ],
)
def test_byte_order_aliases_resolve_at_lookup_time(
    monkeypatch: pytest.MonkeyPatch, byteorder: str, local: str, opposite: str
) -> None:
    monkeypatch.setattr(sys, "byteorder", byteorder)
    assert uids.local_endian_explicit() == local
    assert uids.opposite_endian_explicit() == opposite
    assert uids.uid_for_name("LocalEndianExplicit") == local
    assert uids.uid_for_name("OppositeEndianExplicit") == opposite


# -- UID syntax -------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    ["0", "1.2", "1.2.0.3", "1.2.840.10008.5.1.4.1.1.2", "2.25." + "9" * 39, "1." + "2" * 62],
)
def test_valid_uids(value: str) -> None:
    assert uids.is_valid_uid(value)
    assert uids.validate_uid(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "1.",
        ".1",
        "1..2",
        "01.2",
        "1.02",
        "1.2a",
        "1,2",
        "1.2 ",
        " 1.2",
        "1." + "2" * 63,  # 65 characters
        "\uff11.\uff12",  # full-width digits
        "\u0661.\u0662",  # Arabic-Indic digits
        "1.2\n",
    ],
)
def test_invalid_uids(value: str) -> None:
    assert not uids.is_valid_uid(value)
    with pytest.raises(uids.UidError):
        uids.validate_uid(value)
    if value[:1].isascii() and value[:1].isdigit():
        with pytest.raises(uids.UidError):
            uids.uid_for_name(value)


# -- DCMTK's lists ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "length", "first", "last"),
    [
        (
            "DCMTK_ALL_STORAGE",
            186,
            "1.2.840.10008.5.1.4.1.1.88.71",  # AcquisitionContextSRStorage
            "1.2.840.10008.5.1.4.1.1.601.2",  # DICONDE_EddyCurrentMultiframeImageStorage
        ),
        (
            "DCMTK_LONG_SCU_STORAGE",
            120,
            "1.2.840.10008.5.1.4.1.1.9.1.3",  # AmbulatoryECGWaveformStorage
            "1.2.840.10008.5.1.4.1.1.12.3",  # RETIRED_XRayAngiographicBiPlaneImageStorage
        ),
        (
            "DCMTK_SHORT_SCU_STORAGE",
            64,
            "1.2.840.10008.5.1.4.1.1.9.1.3",
            "1.2.840.10008.5.1.4.1.1.12.2",  # XRayRadiofluoroscopicImageStorage
        ),
        (
            "DCMTK_IMAGE_SOP_CLASSES",
            70,
            "1.2.840.10008.5.1.4.1.1.13.1.4",  # BreastProjectionXRayImageStorageForPresentation
            "1.2.840.10008.5.1.4.1.1.601.2",
        ),
    ],
)
def test_dcmtk_lists(name: str, length: int, first: str, last: str) -> None:
    values: tuple[str, ...] = getattr(uids, name)
    assert len(values) == length
    assert len(set(values)) == length
    assert (values[0], values[-1]) == (first, last)
    for uid in values:
        assert uids.is_storage(uid), uid
        assert uids.SOP_CLASSES[uid].dcmtk_name is not None, uid


def test_scu_proposal_lists_fit_in_one_association() -> None:
    assert len(uids.DCMTK_LONG_SCU_STORAGE) <= 128
    assert set(uids.DCMTK_SHORT_SCU_STORAGE) <= set(uids.DCMTK_ALL_STORAGE)
    assert set(uids.DCMTK_LONG_SCU_STORAGE) <= set(uids.DCMTK_ALL_STORAGE)


def test_image_flag_covers_dcmtk_image_list() -> None:
    images = {uid for uid, sop_class in uids.SOP_CLASSES.items() if sop_class.image}
    assert set(uids.DCMTK_IMAGE_SOP_CLASSES) <= images
    assert "1.2.840.10008.5.1.4.1.1.6.3" in images  # Photoacoustic, newer than DCMTK 3.6.7
    assert not uids.SOP_CLASSES["1.2.840.10008.5.1.4.1.1.88.11"].image  # Basic Text SR
    assert all(uids.SOP_CLASSES[uid].service is Service.STORAGE for uid in images)


# -- the generator ----------------------------------------------------------------
def test_generator_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "uids.py"
    for _ in range(2):
        subprocess.run([sys.executable, str(GENERATOR), "--output", str(out)], check=True)
        assert out.read_bytes() == MODULE.read_bytes()
    check = subprocess.run([sys.executable, str(GENERATOR), "--check"], check=False)
    assert check.returncode == 0


def test_generated_header() -> None:
    assert MODULE.read_text(encoding="utf-8").startswith("# generated by tools/gen_uids.py; do not edit\n")


# -- against the installed DCMTK 3.6.7 library (the facts' source) ------------------
def _libdcmdata() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libdcmdata.so.17")
    except OSError:
        pytest.skip("DCMTK 3.6.7's libdcmdata.so.17 is not installed")


def _c_list(lib: ctypes.CDLL, symbol: str) -> list[str]:
    count = ctypes.c_int.in_dll(lib, "numberOf" + symbol[0].upper() + symbol[1:]).value
    array = (ctypes.c_char_p * count).in_dll(lib, symbol)
    return [item.decode() for item in array if item is not None]


@pytest.mark.interop
def test_facts_match_installed_dcmtk() -> None:
    lib = _libdcmdata()
    find_name = lib._Z16dcmFindNameOfUIDPKcS0_
    find_name.restype = ctypes.c_char_p
    find_name.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    find_uid = lib._Z18dcmFindUIDFromNamePKc
    find_uid.restype = ctypes.c_char_p
    find_uid.argtypes = [ctypes.c_char_p]
    modality = lib._Z24dcmSOPClassUIDToModalityPKcS0_
    modality.restype = ctypes.c_char_p
    modality.argtypes = [ctypes.c_char_p, ctypes.c_char_p]

    for table in (uids.TRANSFER_SYNTAXES, uids.SOP_CLASSES, uids.OTHER_UIDS):
        for uid, item in table.items():
            found = find_name(uid.encode(), None)
            assert (found.decode() if found else None) == item.dcmtk_name, uid
            if item.dcmtk_name is not None:
                assert find_uid(item.dcmtk_name.encode()).decode() == uid
    for uid, sop_class in uids.SOP_CLASSES.items():
        found = modality(uid.encode(), None)
        assert (found.decode() if found else None) == sop_class.dcmtk_modality, uid
    assert _c_list(lib, "dcmAllStorageSOPClassUIDs") == list(uids.DCMTK_ALL_STORAGE)
    assert _c_list(lib, "dcmLongSCUStorageSOPClassUIDs") == list(uids.DCMTK_LONG_SCU_STORAGE)
    assert _c_list(lib, "dcmShortSCUStorageSOPClassUIDs") == list(uids.DCMTK_SHORT_SCU_STORAGE)
    assert _c_list(lib, "dcmImageSOPClassUIDs") == list(uids.DCMTK_IMAGE_SOP_CLASSES)
