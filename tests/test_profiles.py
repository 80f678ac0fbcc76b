"""profiles.py: DCMTK association negotiation profile files (-xf FILE PROFILE)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dicomwire import uids
from dicomwire.dcmtk.profiles import (
    PresentationContext,
    Profile,
    ProfileError,
    Role,
    acceptor_choice,
    load_profile,
    load_profiles,
    parse_profiles,
)
from dicomwire.errors import DicomWireError

ROOT = Path(__file__).resolve().parent.parent
ACCEPT_ALL = ROOT / "src" / "dicomwire" / "data" / "accept-all.cfg"
GENERATOR = ROOT / "tools" / "gen_accept_all.py"
DCMTK_CONFIG = Path("/etc/dcmtk")
STORESCP_CFG = DCMTK_CONFIG / "storescp.cfg"
STORESCU_CFG = DCMTK_CONFIG / "storescu.cfg"

needs_dcmtk_files = pytest.mark.skipif(
    not STORESCP_CFG.exists() or not STORESCU_CFG.exists(),
    reason="DCMTK's sample profiles are not installed (apt-get install dcmtk)",
)

LE_EXPLICIT = uids.EXPLICIT_VR_LITTLE_ENDIAN
LE_IMPLICIT = uids.IMPLICIT_VR_LITTLE_ENDIAN
BE_EXPLICIT = uids.EXPLICIT_VR_BIG_ENDIAN
DEFLATED = uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
LOCAL = LE_EXPLICIT if sys.byteorder == "little" else BE_EXPLICIT
OPPOSITE = BE_EXPLICIT if sys.byteorder == "little" else LE_EXPLICIT

TS = "[Unc]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n"
PC = "[PCs]\nPresentationContext1 = VerificationSOPClass\\Unc\nPresentationContext2 = CTImageStorage\\Unc\n"
PROFILE = "[Default]\nPresentationContexts = PCs\n"
WITH_ROLES = PROFILE + "SCPSCURoleSelection = R\n"
WITH_EXTNEG = PROFILE + "ExtendedNegotiation = E\n"


def config(
    ts: str | None = TS,
    pc: str | None = PC,
    profiles: str | None = PROFILE,
    roles: str | None = None,
    extneg: str | None = None,
) -> str:
    """A profile file from its sections (None leaves a section out)."""
    parts = [
        ("[[TransferSyntaxes]]", ts),
        ("[[PresentationContexts]]", pc),
        ("[[SCPSCURoleSelection]]", roles),
        ("[[ExtendedNegotiation]]", extneg),
        ("[[Profiles]]", profiles),
    ]
    return "".join(f"{header}\n{body}" for header, body in parts if body is not None)


def write(tmp_path: Path, text: str, name: str = "test.cfg") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# -- the shipped DCMTK files -----------------------------------------------------------
@needs_dcmtk_files
def test_storescp_default() -> None:
    profile = load_profile(STORESCP_CFG, "Default")
    assert profile.name == "Default"
    assert len(profile.contexts) == 128
    first, second, last = profile.contexts[0], profile.contexts[1], profile.contexts[-1]
    assert first == PresentationContext(uids.VERIFICATION, (LOCAL, OPPOSITE, LE_IMPLICIT))
    assert uids.name_of(second.abstract_syntax) == "BreastTomosynthesisImageStorage"
    assert len(second.transfer_syntaxes) == 21
    assert uids.name_of(second.transfer_syntaxes[0]) == "JPEG2000"
    assert second.transfer_syntaxes[-3:] == (LOCAL, OPPOSITE, LE_IMPLICIT)
    assert uids.name_of(last.abstract_syntax) == "DRAFT_WaveformStorage"
    assert last.transfer_syntaxes == (DEFLATED, LOCAL, OPPOSITE, LE_IMPLICIT)
    assert not profile.roles
    assert not profile.extended_negotiation
    profile.validate_for_acceptor()
    profile.validate_for_requestor()


@needs_dcmtk_files
def test_storescp_all_dicom() -> None:
    profile = load_profile(STORESCP_CFG, "AllDICOM")
    assert len(profile.contexts) == 128
    assert profile.contexts[0].abstract_syntax == uids.VERIFICATION
    assert uids.name_of(profile.contexts[1].abstract_syntax) == (
        "BreastProjectionXRayImageStorageForPresentation"
    )
    assert uids.name_of(profile.contexts[-1].abstract_syntax) == "XRayRadiationDoseSRStorage"
    assert all(not uids.SOP_CLASSES[c.abstract_syntax].retired for c in profile.contexts)
    choice = acceptor_choice(profile)
    assert len(choice) == 128
    assert choice[uids.CT_IMAGE_STORAGE][0] == uids.JPEG_2000


@needs_dcmtk_files
def test_storescu_default() -> None:
    profiles = load_profiles(STORESCU_CFG)
    assert list(profiles) == ["Default"]
    profile = profiles["Default"]
    assert len(profile.contexts) == 128
    assert profile.contexts[0] == PresentationContext(
        uids.COMPUTED_RADIOGRAPHY_IMAGE_STORAGE, (uids.JPEG_BASELINE,)
    )
    assert profile.contexts[2] == PresentationContext(
        uids.COMPUTED_RADIOGRAPHY_IMAGE_STORAGE, (LE_EXPLICIT, BE_EXPLICIT, LE_IMPLICIT)
    )
    assert profile.contexts[-1] == PresentationContext(
        uids.uid_for_name("VideoPhotographicImageStorage"),
        (uids.MPEG2_MAIN_PROFILE_MAIN_LEVEL,),
    )
    profile.validate_for_requestor()
    # a requestor profile: the same abstract syntax in several contexts
    with pytest.raises(ProfileError, match="not a valid SCP association profile") as excinfo:
        profile.validate_for_acceptor()
    assert "ComputedRadiographyImageStorage is listed twice" in str(excinfo.value)
    where = f"{STORESCU_CFG}:66: [StorageCompressedAndUncompressed] PresentationContext2: "
    assert str(excinfo.value).startswith(where)


@needs_dcmtk_files
@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("default", "Default"),
        ("DEFAULT", "Default"),
        (" De fault ", "Default"),
        ("alldicom", "AllDICOM"),
        ("AllDicom", "AllDICOM"),
    ],
)
def test_profile_names_are_case_insensitive(name: str, found: str) -> None:
    assert load_profile(STORESCP_CFG, name).name == found


# -- our generated accept-all profile ---------------------------------------------------
def test_accept_all_is_generated(tmp_path: Path) -> None:
    out = tmp_path / "accept-all.cfg"
    subprocess.run([sys.executable, str(GENERATOR), "--output", str(out)], check=True)
    assert out.read_bytes() == ACCEPT_ALL.read_bytes()
    assert ACCEPT_ALL.read_text().startswith("# generated by tools/gen_accept_all.py; do not edit")


def test_accept_all_profile() -> None:
    profile = load_profile(ACCEPT_ALL, "Default")
    profile.validate_for_acceptor()
    profile.validate_for_requestor()
    assert len(profile.contexts) == 128
    assert profile.contexts[0] == PresentationContext(
        uids.VERIFICATION, (LE_EXPLICIT, LE_IMPLICIT, BE_EXPLICIT)
    )
    choice = acceptor_choice(profile)
    for abstract, syntaxes in list(choice.items())[1:]:
        sop_class = uids.SOP_CLASSES[abstract]
        assert sop_class.service is uids.Service.STORAGE
        assert not sop_class.retired
        assert syntaxes[:2] == (LE_EXPLICIT, LE_IMPLICIT)
        assert syntaxes[-2:] == (DEFLATED, BE_EXPLICIT)
        if sop_class.image:
            middle = syntaxes[2:-2]
            assert uids.JPEG_BASELINE in middle and uids.RLE_LOSSLESS in middle
            assert all(uids.TRANSFER_SYNTAXES[ts].encapsulated for ts in middle)
        else:
            assert syntaxes == (LE_EXPLICIT, LE_IMPLICIT, DEFLATED, BE_EXPLICIT)
    for common in (
        uids.CT_IMAGE_STORAGE,
        uids.MR_IMAGE_STORAGE,
        uids.SECONDARY_CAPTURE_IMAGE_STORAGE,
        uids.ENCAPSULATED_PDF_STORAGE,
        uids.RT_DOSE_STORAGE,
        uids.BASIC_TEXT_SR_STORAGE,
        uids.uid_for_name("PhotoacousticImageStorage"),
    ):
        assert common in choice


def test_accept_all_covers_every_current_image_class_but_dicos_and_diconde() -> None:
    choice = acceptor_choice(load_profile(ACCEPT_ALL, "Default"))
    for uid, sop_class in uids.SOP_CLASSES.items():
        if sop_class.image and not sop_class.retired and sop_class.service is uids.Service.STORAGE:
            rare = uid.startswith(("1.2.840.10008.5.1.4.1.1.501.", "1.2.840.10008.5.1.4.1.1.601."))
            assert (uid in choice) is not rare, uids.name_of(uid)


# -- parsing ----------------------------------------------------------------------------
def test_minimal_profile(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, config()), "Default")
    assert profile.contexts == (
        PresentationContext(uids.VERIFICATION, (LE_EXPLICIT, LE_IMPLICIT)),
        PresentationContext(uids.CT_IMAGE_STORAGE, (LE_EXPLICIT, LE_IMPLICIT)),
    )
    assert acceptor_choice(profile) == {
        uids.VERIFICATION: (LE_EXPLICIT, LE_IMPLICIT),
        uids.CT_IMAGE_STORAGE: (LE_EXPLICIT, LE_IMPLICIT),
    }


def test_names_uids_and_aliases() -> None:
    text = config(
        ts="[Any]\nTransferSyntax1 = LocalEndianExplicit\nTransferSyntax2 = =OppositeEndianExplicit\n"
        "TransferSyntax3 = 1.2.840.10008.1.2\nTransferSyntax4 = 1.2.3.4.99\n",
        pc="[PCs]\nPresentationContext1 = =CTImageStorage\\Any\n"
        "PresentationContext2 = 1.2.3.4.5.6\\Any\n"
        "PresentationContext3 = FINDStudyRootQueryRetrieveInformationModel\\any\n",
    )
    profile = parse_profiles(text)["Default"]
    assert [c.abstract_syntax for c in profile.contexts] == [
        uids.CT_IMAGE_STORAGE,
        "1.2.3.4.5.6",
        uids.STUDY_ROOT_FIND,
    ]
    assert profile.contexts[0].transfer_syntaxes == (LOCAL, OPPOSITE, LE_IMPLICIT, "1.2.3.4.99")


def test_lexical_rules_follow_dcmtk() -> None:
    text = (
        "# comment\r\n"
        "[[ transfer syntaxes ]]\r\n"
        "[ U n c ]\r\n"
        "transfer syntax 1 =\tLittleEndianExplicit\r\n"
        "\r\n"
        "[[PRESENTATIONCONTEXTS]]\r\n"
        "[PCs]\r\n"
        "PresentationContext1 = CTImageStorage\\\r\n"
        "# a comment inside a continued value\r\n"
        "    U nc\r\n"
        "[[Profiles]]\r\n"
        "[My Profile]\r\n"
        "  PresentationContexts = p cs\r\n"
    )
    profiles = parse_profiles(text)
    assert list(profiles) == ["My Profile"]
    assert profiles["My Profile"].contexts == (PresentationContext(uids.CT_IMAGE_STORAGE, (LE_EXPLICIT,)),)


def test_value_on_the_next_line() -> None:
    text = config(ts="[Unc]\nTransferSyntax1 =\n    LittleEndianExplicit\n")
    assert parse_profiles(text)["Default"].contexts[0].transfer_syntaxes == (LE_EXPLICIT,)


def test_roles_and_extended_negotiation() -> None:
    pc = PC + "PresentationContext3 = MRImageStorage\\Unc\n"
    roles = (
        "[R]\nRole1 = CTImageStorage\\SCP\nRole2 = MRImageStorage\\both\nRole3 = VerificationSOPClass\\Scu\n"
    )
    extneg = "[E]\nExtendedNegotiation1 = CTImageStorage\\0102fF\n"
    profiles = PROFILE + "SCPSCURoleSelection = r\nExtendedNegotiation = e\n"
    profile = parse_profiles(config(pc=pc, roles=roles, extneg=extneg, profiles=profiles))["Default"]
    assert profile.roles == {
        uids.CT_IMAGE_STORAGE: Role.SCP,
        uids.MR_IMAGE_STORAGE: Role.BOTH,
        uids.VERIFICATION: Role.SCU,
    }
    assert (Role.SCU.scu, Role.SCU.scp, Role.SCP.scu, Role.SCP.scp) == (True, False, False, True)
    assert (Role.BOTH.scu, Role.BOTH.scp) == (True, True)
    assert profile.extended_negotiation == {uids.CT_IMAGE_STORAGE: b"\x01\x02\xff"}


def test_several_profiles_share_lists() -> None:
    text = config(profiles=PROFILE + "[Other]\nPresentationContexts = PCs\n")
    profiles = parse_profiles(text)
    assert list(profiles) == ["Default", "Other"]
    assert profiles["Default"].contexts == profiles["Other"].contexts


def test_128_contexts_fit() -> None:
    pc = "[PCs]\n" + "".join(f"PresentationContext{i} = 1.2.3.{i}\\Unc\n" for i in range(1, 129))
    profile = parse_profiles(config(pc=pc))["Default"]
    assert len(profile.contexts) == 128
    profile.validate_for_requestor()


# -- errors: (file text, line, words in the message) ---------------------------------------
def pcs(*values: str) -> str:
    return "[PCs]\n" + "".join(f"PresentationContext{i} = {v}\n" for i, v in enumerate(values, 1))


ERRORS: dict[str, tuple[str, int | None, str]] = {
    "no transfer syntax section": (config(ts=None), None, "no [[TransferSyntaxes]] section"),
    "no context section": (config(pc=None), None, "no [[PresentationContexts]] section"),
    "no profiles section": (config(profiles=None), None, "no [[Profiles]] section"),
    "empty file": ("", None, "no [[TransferSyntaxes]] section"),
    "unknown transfer syntax": (
        config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicitX\n"),
        3,
        "[Unc] TransferSyntax1: transfer syntax: unknown UID name 'LittleEndianExplicitX'",
    ),
    "names are case-sensitive": (
        config(ts="[Unc]\nTransferSyntax1 = littleendianexplicit\n"),
        3,
        "did you mean 'LittleEndianExplicit'",
    ),
    "trailing blanks": (
        config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicit  \n"),
        3,
        "note the blanks at the end",
    ),
    "inline comment": (
        config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicit # x\n"),
        3,
        "unknown UID name 'LittleEndianExplicit # x'",
    ),
    "invalid UID": (
        config(ts="[Unc]\nTransferSyntax1 = 1.2.840.10008.1.2.1a\n"),
        3,
        "not a valid UID",
    ),
    "UID with leading zero": (config(ts="[Unc]\nTransferSyntax1 = 1.2.03\n"), 3, "not a valid UID"),
    "empty value": (config(ts="[Unc]\nTransferSyntax1 =\n"), 3, "empty transfer syntax"),
    "SOP class as transfer syntax": (
        config(ts="[Unc]\nTransferSyntax1 = CTImageStorage\n"),
        3,
        "'CTImageStorage' is not a transfer syntax",
    ),
    "gap in transfer syntaxes": (
        config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax3 = LittleEndianImplicit\n"),
        2,
        "[Unc]: TransferSyntax2 is missing",
    ),
    "numbering starts at 2": (
        config(ts="[Unc]\nTransferSyntax2 = LittleEndianExplicit\n"),
        2,
        "TransferSyntax1 is missing",
    ),
    "number 0": (
        config(ts="[Unc]\nTransferSyntax0 = LittleEndianExplicit\n"),
        3,
        "TransferSyntax0: unknown key in [[TransferSyntaxes]]",
    ),
    "leading zero in number": (
        config(ts="[Unc]\nTransferSyntax01 = LittleEndianExplicit\n"),
        3,
        "TransferSyntax01: unknown key",
    ),
    "unknown key": (config(ts=TS + "Foo = bar\n"), 5, "Foo: unknown key in [[TransferSyntaxes]]"),
    "key given twice": (
        config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicit\ntransfersyntax1 = LittleEndianImplicit\n"),
        4,
        "transfersyntax1 given twice (first at line 3)",
    ),
    "list defined twice": (
        config(ts=TS + "[unc]\nTransferSyntax1 = LittleEndianImplicit\n"),
        5,
        "[unc] defined twice in [[TransferSyntaxes]] (first at line 2)",
    ),
    "empty list": (config(ts=TS + "[Empty]\n"), 5, "[Empty] has no entries"),
    "gap in contexts": (
        config(pc=pcs("CTImageStorage\\Unc").replace("Context1", "Context2")),
        6,
        "[PCs]: PresentationContext1 is missing",
    ),
    "unknown SOP class": (config(pc=pcs("CTImageStorageX\\Unc")), 7, "unknown UID name 'CTImageStorageX'"),
    "pydicom keyword": (
        config(pc=pcs("Verification\\Unc")),
        7,
        "'Verification' is pydicom's keyword, DCMTK's name is 'VerificationSOPClass'",
    ),
    "transfer syntax as abstract syntax": (
        config(pc=pcs("LittleEndianExplicit\\Unc")),
        7,
        "'LittleEndianExplicit' is not a SOP class",
    ),
    "missing backslash": (config(pc=pcs("CTImageStorage")), 7, "missing '\\'"),
    "empty abstract syntax": (config(pc=pcs("\\Unc")), 7, "empty abstract syntax"),
    "undefined transfer syntax list": (
        config(pc=pcs("CTImageStorage\\Nope")),
        7,
        "[PCs] PresentationContext1: transfer syntax list 'NOPE' is not defined",
    ),
    "undefined transfer syntax list in an unused list": (
        config(pc=PC + "[Unused]\nPresentationContext1 = CTImageStorage\\Nope\n"),
        10,
        "[Unused] PresentationContext1: transfer syntax list 'NOPE' is not defined",
    ),
    "two backslashes": (config(pc=pcs("CTImageStorage\\Unc\\Unc")), 7, "'UNC\\\\UNC' is not defined"),
    "too many contexts, even unused": (
        config(pc=PC + pcs(*(f"1.2.3.{i}\\Unc" for i in range(1, 130))).replace("[PCs]", "[Big]")),
        9,
        "[Big]: 129 presentation contexts, at most 128",
    ),
    "missing PresentationContexts": (
        config(profiles="[Default]\nSCPSCURoleSelection = R\n"),
        10,
        "[Default]: no PresentationContexts entry",
    ),
    "undefined context list": (
        config(profiles="[Default]\nPresentationContexts = Nope\n"),
        11,
        "PresentationContexts: presentation context list 'Nope' is not defined",
    ),
    "profile defined twice": (config(profiles=PROFILE + PROFILE), 12, "[Default] defined twice"),
    "unknown profile key": (
        config(profiles=PROFILE + "SOPClassExtendedNegotiation = E\n"),
        12,
        "did you mean ExtendedNegotiation?",
    ),
    "unknown section": (
        config(roles="[R]\nRole1 = CTImageStorage\\SCP\n").replace("SCPSCURoleSelection", "RoleSelection"),
        9,
        "unknown section [[RoleSelection]] (did you mean [[SCPSCURoleSelection]]?)",
    ),
    "section repeated": (config() + "[[TransferSyntaxes]]\n", 12, "[[TransferSyntaxes]] repeated"),
    "entry outside sections": ("Foo = bar\n" + config(), 1, "'Foo' outside any [...] section"),
    "list outside sections": ("[Foo]\n" + config(), 1, "[Foo] outside any [[...]] section"),
    "no equals sign": (
        config(ts="[Unc]\nTransferSyntax1 LittleEndianExplicit\n"),
        3,
        "expected 'Key = Value'",
    ),
    "indented comment": (config(pc="[PCs]\n  # not a comment\n"), 7, "expected 'Key = Value'"),
    "malformed header": (config(ts=TS.replace("[Unc]", "[Unc")), 2, "malformed section header '[Unc'"),
    "text after header": (config(ts=TS.replace("[Unc]", "[Unc] # x")), 2, "malformed section header"),
    "invalid list name": (config(ts=TS.replace("[Unc]", "[U.nc]")), 2, "invalid list or profile name"),
    "byte order mark": ("\ufeff" + config(), 1, "byte order mark"),
    "undefined role list": (config(profiles=WITH_ROLES), 12, "SCPSCURoleSelection list 'R' is not defined"),
    "unknown role": (
        config(roles="[R]\nRole1 = CTImageStorage\\XYZ\n", profiles=WITH_ROLES),
        11,
        "unknown role 'XYZ'",
    ),
    "blank before role": (
        config(roles="[R]\nRole1 = CTImageStorage\\ SCP\n", profiles=WITH_ROLES),
        11,
        "unknown role ' SCP'",
    ),
    "role twice": (
        config(roles="[R]\nRole1 = CTImageStorage\\SCP\nRole2 = CTImageStorage\\SCU\n", profiles=WITH_ROLES),
        12,
        "[R] Role2: CTImageStorage given twice in this list (first at line 11)",
    ),
    "role not in contexts": (
        config(roles="[R]\nRole1 = MRImageStorage\\SCP\n", profiles=WITH_ROLES),
        11,
        "MRImageStorage is not in the profile's presentation contexts",
    ),
    "undefined extended negotiation list": (
        config(profiles=WITH_EXTNEG),
        12,
        "ExtendedNegotiation list 'E' is not defined",
    ),
    "odd hex digits": (
        config(extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\010\n", profiles=WITH_EXTNEG),
        11,
        "not an even number of hex digits",
    ),
    "not hex": (
        config(extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\01zz\n", profiles=WITH_EXTNEG),
        11,
        "'01zz' is not an even number of hex digits",
    ),
    "no extended negotiation data": (
        config(extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\\n", profiles=WITH_EXTNEG),
        11,
        "'' is not an even number of hex digits",
    ),
    "extended negotiation too long": (
        config(
            extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\" + "ab" * 1024 + "\n",
            profiles=WITH_EXTNEG,
        ),
        11,
        "1024 bytes, at most 1023",
    ),
    "extended negotiation not in contexts": (
        config(extneg="[E]\nExtendedNegotiation1 = MRImageStorage\\01\n", profiles=WITH_EXTNEG),
        11,
        "MRImageStorage is not in the profile's presentation contexts",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_name_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, words = ERRORS[case]
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as excinfo:
        load_profile(path, "Default")
    error = excinfo.value
    assert isinstance(error, DicomWireError)
    assert error.path == str(path)
    assert error.line == line
    message = str(error)
    location = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(location), message
    assert words in message, message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nope\.cfg: cannot read profile file"):
        load_profile(tmp_path / "nope.cfg", "Default")


def test_missing_profile(tmp_path: Path) -> None:
    path = write(tmp_path, config(profiles=PROFILE + "[Other]\nPresentationContexts = PCs\n"))
    with pytest.raises(ProfileError, match=r"no profile named 'Nope' \(profiles: Default, Other\)"):
        load_profile(path, "Nope")


def test_acceptor_refuses_an_abstract_syntax_twice(tmp_path: Path) -> None:
    path = write(tmp_path, config(pc=pcs("CTImageStorage\\Unc", "1.2.840.10008.5.1.4.1.1.2\\Unc")))
    profile = load_profile(path, "Default")
    profile.validate_for_requestor()  # fine for a requestor
    with pytest.raises(ProfileError) as excinfo:
        acceptor_choice(profile)
    assert str(excinfo.value).startswith(f"{path}:8: [PCs] PresentationContext2: ")
    assert "not a valid SCP association profile: CTImageStorage is listed twice" in str(excinfo.value)
    assert "(first at line 7, [PCs] PresentationContext1)" in str(excinfo.value)
    assert (excinfo.value.path, excinfo.value.line) == (str(path), 8)


def test_requestor_limits_of_a_profile_built_in_code() -> None:
    contexts = tuple(PresentationContext(f"1.2.3.{i}", (LE_EXPLICIT,)) for i in range(129))
    with pytest.raises(ProfileError, match="129 presentation contexts"):
        Profile("Big", contexts).validate_for_requestor()
    Profile("Fits", contexts[:128]).validate_for_requestor()
    with pytest.raises(ProfileError, match="no transfer syntax"):
        Profile("Empty", (PresentationContext("1.2.3", ()),)).validate_for_requestor()


# -- against DCMTK 3.6.7 itself ----------------------------------------------------------
needs_dcmtk_tools = pytest.mark.skipif(
    not (shutil.which("storescu") and shutil.which("dcmrecv")), reason="DCMTK is not installed"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _dicom_file(tmp_path: Path) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, generate_uid

    instance = generate_uid()
    ds = Dataset()
    ds.SOPClassUID = UID(uids.CT_IMAGE_STORAGE)
    ds.SOPInstanceUID = instance
    ds.PatientName = "Test^Profile"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(uids.CT_IMAGE_STORAGE)
    ds.file_meta.MediaStorageSOPInstanceUID = instance
    ds.file_meta.TransferSyntaxUID = UID(LE_EXPLICIT)
    path = tmp_path / "ct.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _dcmtk_proposal(cfg: Path, profile: str, tmp_path: Path) -> list[tuple[str, tuple[str, ...], str]]:
    """storescu's A-ASSOCIATE-RQ dump: (abstract syntax, transfer syntaxes, role) per context."""
    dicom_file = _dicom_file(tmp_path)
    result = subprocess.run(
        ["storescu", "-d", "-xf", str(cfg), profile, "127.0.0.1", str(_free_port()), str(dicom_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    contexts: list[tuple[str, list[str], str]] = []
    for line in result.stdout.splitlines() + result.stderr.splitlines():
        text = line.removeprefix("D:").strip()
        if match := re.fullmatch(r"Abstract Syntax: (\S+)", text):
            contexts.append((_dcmtk_uid(match.group(1)), [], ""))
        elif match := re.fullmatch(r"Proposed SCP/SCU Role: (\S+)", text):
            contexts[-1] = (contexts[-1][0], contexts[-1][1], match.group(1))
        elif contexts and re.fullmatch(r"=\S+|[0-9.]+", text) and not text.startswith("=" * 3):
            contexts[-1][1].append(_dcmtk_uid(text))
        elif text.startswith("Requested Extended Negotiation"):
            break
    return [(abstract, tuple(syntaxes), role) for abstract, syntaxes, role in contexts]


def _dcmtk_uid(text: str) -> str:
    return uids.uid_for_name(text, dcmtk_only=True) if text.startswith("=") else text


DCMTK_ROLE = {None: "Default", Role.SCU: "SCU", Role.SCP: "SCP", Role.BOTH: "SCP/SCU"}


@pytest.mark.interop
@needs_dcmtk_tools
@pytest.mark.parametrize(
    ("cfg", "profile"),
    [
        (STORESCP_CFG, "Default"),
        (STORESCP_CFG, "AllDICOM"),
        (STORESCU_CFG, "Default"),
        (ACCEPT_ALL, "Default"),
        (None, "Default"),  # roles, UIDs, aliases
    ],
)
def test_contexts_match_what_dcmtk_proposes(tmp_path: Path, cfg: Path | None, profile: str) -> None:
    if cfg is None:
        pc = PC + "PresentationContext3 = 1.2.3.4.5.6\\Unc\nPresentationContext4 = MRImageStorage\\Local\n"
        ts = TS + "[Local]\nTransferSyntax1 = LocalEndianExplicit\nTransferSyntax2 = OppositeEndianExplicit\n"
        roles = (
            "[R]\nRole1 = CTImageStorage\\SCP\nRole2 = MRImageStorage\\Both\n"
            "Role3 = VerificationSOPClass\\scu\n"
        )
        cfg = write(tmp_path, config(ts=ts, pc=pc, roles=roles, profiles=WITH_ROLES), "roles.cfg")
    elif not cfg.exists():
        pytest.skip(f"{cfg} is not installed")
    ours = load_profile(cfg, profile)
    expected = [
        (c.abstract_syntax, c.transfer_syntaxes, DCMTK_ROLE[ours.roles.get(c.abstract_syntax)])
        for c in ours.contexts
    ]
    assert _dcmtk_proposal(cfg, profile, tmp_path) == expected


def _dcmrecv_accepts(cfg: Path, profile: str = "Default") -> bool:
    """Start DCMTK's dcmrecv with the profile: True if it starts listening, False if it refuses."""
    with subprocess.Popen(
        ["dcmrecv", "-ll", "info", "-xf", str(cfg), profile, str(_free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:  # ends when dcmrecv exits
                if "listening" in line:
                    return True
            assert proc.wait(timeout=30) == 66  # DCMTK's exit code for a bad profile
            return False
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


DCMTK_VERDICTS = {
    "valid": (config(), True),
    "role and extended negotiation": (
        config(
            roles="[R]\nRole1 = CTImageStorage\\scp\n",
            extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\0102\n",
            profiles=WITH_ROLES + "ExtendedNegotiation = E\n",
        ),
        True,
    ),
    "duplicate abstract syntax": (config(pc=pcs("CTImageStorage\\Unc", "CTImageStorage\\Unc")), False),
    "129 contexts": (config(pc=pcs(*(f"1.2.3.{i}\\Unc" for i in range(1, 130)))), False),
    "unknown name": (config(pc=pcs("CTImageStorageX\\Unc")), False),
    "undefined list in an unused list": (
        config(pc=PC + "[Unused]\nPresentationContext1 = CTImageStorage\\Nope\n"),
        False,
    ),
    "pydicom keyword": (config(pc=pcs("Verification\\Unc")), False),
    "trailing blank": (config(ts="[Unc]\nTransferSyntax1 = LittleEndianExplicit \n"), False),
    "role not in contexts": (
        config(roles="[R]\nRole1 = MRImageStorage\\SCP\n", profiles=WITH_ROLES),
        False,
    ),
    "extended negotiation of 1024 bytes": (
        config(
            extneg="[E]\nExtendedNegotiation1 = CTImageStorage\\" + "00" * 1024 + "\n",
            profiles=WITH_EXTNEG,
        ),
        False,
    ),
}


@pytest.mark.interop
@needs_dcmtk_tools
@pytest.mark.parametrize("case", list(DCMTK_VERDICTS))
def test_same_verdict_as_dcmrecv(tmp_path: Path, case: str) -> None:
    text, dcmtk_accepts = DCMTK_VERDICTS[case]
    path = write(tmp_path, text)
    assert _dcmrecv_accepts(path) is dcmtk_accepts
    try:
        load_profile(path, "Default").validate_for_acceptor()
        ours = True
    except ProfileError:
        ours = False
    assert ours is dcmtk_accepts


# Files DCMTK reads without complaint although they are almost certainly mistakes
# (it ignores or merges the odd part); we refuse them on purpose.
STRICTER_THAN_DCMTK = {
    "gap in numbering": config(pc=PC + "PresentationContext4 = MRImageStorage\\Unc\n"),
    "unknown key": config(ts=TS + "Foo = bar\n"),
    "unknown section": config() + "[[Whatever]]\n[X]\nY = 1\n",
    "spec's SOPClassExtendedNegotiation key": config(profiles=PROFILE + "SOPClassExtendedNegotiation = E\n"),
    "list defined twice": config(pc=PC + "[pcs]\nPresentationContext1 = MRImageStorage\\Unc\n"),
    "entry outside sections": "Foo = bar\n" + config(),
    "transfer syntax name as abstract syntax": config(pc=pcs("LittleEndianExplicit\\Unc")),
    "UID longer than 64": config(pc=pcs("1." + "2" * 70 + "\\Unc")),
}


@pytest.mark.interop
@needs_dcmtk_tools
@pytest.mark.parametrize("case", list(STRICTER_THAN_DCMTK))
def test_stricter_than_dcmrecv(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, STRICTER_THAN_DCMTK[case])
    assert _dcmrecv_accepts(path)
    with pytest.raises(ProfileError):
        load_profile(path, "Default")


@pytest.mark.interop
@needs_dcmtk_tools
def test_dcmrecv_accepts_our_accept_all_profile() -> None:
    assert _dcmrecv_accepts(ACCEPT_ALL)
    assert _dcmrecv_accepts(ACCEPT_ALL, "default")
