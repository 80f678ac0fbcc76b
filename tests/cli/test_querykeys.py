"""findscu's -k override keys and query files (dicomwire.dcmtk.querykeys).

Expected values are DCMTK 3.6.7's (findscu -v request dumps, dcmodify -i).
"""

from __future__ import annotations

import copy
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite, write_dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from dicomwire.dcmtk.querykeys import (
    QueryFileError,
    QueryKeyError,
    apply_key,
    apply_keys,
    build_query,
    check_query_files,
    load_query_file,
    tag_for_name,
)
from dicomwire.errors import DicomWireError

HAVE_DCMODIFY = shutil.which("dcmodify") is not None and Path("/usr/bin/dcmodify").exists()


def keyed(*keys: str, ds: Dataset | None = None) -> Dataset:
    return apply_keys(Dataset() if ds is None else ds, keys)


def encoded(ds: Dataset) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


# -- key forms --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        "(0010,0010)=Doe^John",
        "0010,0010=Doe^John",
        "PatientName=Doe^John",
        "(0010,0010)=Doe^John",
        "( 0010, 0010 )=Doe^John",  # sscanf skips blanks before numbers
        "(10,10)=Doe^John",  # any number of hex digits
        "(0x10,0x10)=Doe^John",
        "0010,0010.ignored=Doe^John",  # old syntax: trailing junk ignored
    ],
)
def test_tag_forms(key: str) -> None:
    ds = keyed(key)
    assert list(ds.keys()) == [0x00100010]
    assert ds.PatientName == "Doe^John"
    assert ds["PatientName"].VR == "PN"


def test_value_is_everything_after_the_first_equals_sign() -> None:
    assert keyed("PatientName=a=b").PatientName == "a=b"


def test_value_kept_verbatim() -> None:
    assert keyed("PatientName=  pad  ").PatientName == "  pad  "


@pytest.mark.parametrize("key", ["PatientID", "PatientID="])
def test_return_key_is_inserted_empty(key: str) -> None:
    ds = keyed(key)
    assert ds["PatientID"].VR == "LO"
    assert ds["PatientID"].is_empty


def test_backslash_makes_multiple_values() -> None:
    ds = keyed("PatientName=A\\B", "ModalitiesInStudy=CT\\MR")
    assert list(ds.PatientName) == ["A", "B"]
    assert list(ds.ModalitiesInStudy) == ["CT", "MR"]


def test_text_vrs_keep_backslashes() -> None:
    assert keyed("(0008,0081)=a\\b").InstitutionAddress == "a\\b"


def test_later_key_replaces_earlier() -> None:
    assert keyed("PatientName=A", "PatientName=B").PatientName == "B"


def test_empty_key_is_ignored() -> None:
    assert len(keyed("")) == 0


# -- sequences ----------------------------------------------------------------------------
def test_item_path_creates_sequence_and_item() -> None:
    ds = keyed("(0040,0100)[0].Modality=CT")
    seq = ds.ScheduledProcedureStepSequence
    assert len(seq) == 1 and seq[0].Modality == "CT"


def test_keyword_path_with_tag_inside() -> None:
    ds = keyed("ScheduledProcedureStepSequence[0].(0008,0060)=MR")
    assert ds.ScheduledProcedureStepSequence[0].Modality == "MR"


def test_index_beyond_items_creates_empty_items() -> None:
    seq = keyed("(0040,0100)[2].Modality=CT").ScheduledProcedureStepSequence
    assert [len(item) for item in seq] == [0, 0, 1]
    assert seq[2].Modality == "CT"


def test_nested_sequences() -> None:
    ds = keyed("(0040,0100)[0].(0040,0008)[1].CodeValue=X")
    inner = ds.ScheduledProcedureStepSequence[0].ScheduledProtocolCodeSequence
    assert len(inner) == 2 and inner[1].CodeValue == "X"


@pytest.mark.parametrize("key", ["(0040,0100)", "(0040,0100)=", "ScheduledProcedureStepSequence"])
def test_sequence_key_inserts_empty_sequence(key: str) -> None:
    elem = keyed(key)["ScheduledProcedureStepSequence"]
    assert elem.VR == "SQ" and len(elem.value) == 0


@pytest.mark.parametrize(
    ("key", "items"),
    [("(0040,0100)[0]", 1), ("(0040,0100)[1]", 2), ("(0040,0100)[0].", 1), ("(0040,0100)[0]x", 1)],
)
def test_path_ending_in_item_creates_items(key: str, items: int) -> None:
    assert len(keyed(key).ScheduledProcedureStepSequence) == items


@pytest.mark.parametrize(
    ("content", "index"),
    [(" 1", 1), ("1 ", 1), ("1a", 1), ("01", 1), ("+1", 1), ("0x1", 0), ("-0", 0), ("4294967296", 0)],
)
def test_item_numbers_read_like_scanf(content: str, index: int) -> None:
    seq = keyed(f"(0040,0100)[{content}].Modality=CT").ScheduledProcedureStepSequence
    assert len(seq) == index + 1 and "Modality" in seq[index]


def test_character_after_bracket_is_skipped_unread() -> None:
    ds = keyed("(0040,0100)[0](0040,0002)")
    assert "ScheduledProcedureStepStartDate" in ds.ScheduledProcedureStepSequence[0]


def query_file_dataset() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Doe^John"
    ds.PatientID = "ID1"
    first, second = Dataset(), Dataset()
    first.Modality, first.ScheduledStationAETitle = "MR", "STN"
    second.Modality = "CT"
    ds.ScheduledProcedureStepSequence = Sequence([first, second])
    return ds


def test_existing_element_is_replaced_or_emptied() -> None:
    ds = keyed("PatientName", "PatientID=X\\Y", ds=query_file_dataset())
    assert ds["PatientName"].is_empty
    assert list(ds.PatientID) == ["X", "Y"]


def test_existing_sequence_and_items_are_left_alone() -> None:
    before = query_file_dataset()
    after = keyed("(0040,0100)", "(0040,0100)[0]", ds=copy.deepcopy(before))
    assert after == before


def test_existing_item_is_modified_in_place() -> None:
    ds = keyed("(0040,0100)[0].Modality", "(0040,0100)[1].Modality=US", ds=query_file_dataset())
    seq = ds.ScheduledProcedureStepSequence
    assert seq[0]["Modality"].is_empty and seq[0].ScheduledStationAETitle == "STN"
    assert seq[1].Modality == "US"


def test_items_appended_after_existing_ones() -> None:
    seq = keyed("(0040,0100)[3].Modality=US", ds=query_file_dataset()).ScheduledProcedureStepSequence
    assert [item.get("Modality") for item in seq] == ["MR", "CT", None, "US"]


# -- values per VR (DCMTK's putString) -----------------------------------------------------
@pytest.mark.parametrize(
    ("key", "keyword", "value"),
    [
        ("Rows=70000", "Rows", 4464),  # wraps to 16 bits
        ("Rows=-1", "Rows", 65535),
        ("Rows= 12", "Rows", 12),
        ("Rows=12a", "Rows", 12),  # a valid prefix is enough
        ("Rows=+5", "Rows", 5),
        ("Rows=0x10", "Rows", 0),
        ("Rows=1.9", "Rows", 1),
        ("Rows=99999999999", "Rows", 59391),
        ("(0018,9219)=40000", "TagAngleSecondAxis", -25536),  # SS
        ("(0008,1161)=-1", "SimpleFrameList", 4294967295),  # UL
        ("(0018,6020)=-5000000000", "ReferencePixelX0", -705032704),  # SL
        ("(0072,0082)=-5", "SelectorSVValue", -5),
        ("(0018,9089)=1.5x", "DiffusionGradientOrientation", 1.5),  # FD
        ("(0018,9089)=1e", "DiffusionGradientOrientation", 1.0),
        ("(0018,9089)=.5", "DiffusionGradientOrientation", 0.5),
        ("(0018,9089)=1,5", "DiffusionGradientOrientation", 1.0),
        ("(0018,9089)=0x10", "DiffusionGradientOrientation", 0.0),
        ("(0010,9431)=1.5", "ExaminedBodyThickness", 1.5),  # FL
        ("(0020,9165)=(0010,0010)x", "DimensionIndexPointer", 0x00100010),  # AT
        ("(0008,0020)=notadate", "StudyDate", "notadate"),  # strings unchecked
        ("(0008,1160)=99999999999", "ReferencedFrameNumber", 99999999999),
    ],
)
def test_values_read_like_dcmtk(key: str, keyword: str, value: object) -> None:
    assert keyed(key)[keyword].value == value


def test_multiple_numbers() -> None:
    assert keyed("Rows=1\\2")["Rows"].value == [1, 2]
    assert keyed("(0020,9165)=(0010,0010)\\(0010,0020)")["DimensionIndexPointer"].value == [
        0x00100010,
        0x00100020,
    ]


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("(0042,0011)=abc", b"\xbc\x00"),  # OB: hex numbers cut to bytes, padded
        ("(0042,0011)=01\\02\\ff", b"\x01\x02\xff\x00"),
        ("(7fe0,0010)=abc", b"\xbc\x0a"),  # OW: hex words
        ("(7fe0,0010)=1\\2\\3", b"\x01\x00\x02\x00\x03\x00"),
        ("OverlayData=01", b"\x01\x00"),
        ("(0066,0040)=10\\-1", struct.pack("<2L", 10, 4294967295)),  # OL
        ("(0066,0022)=1.5\\2", struct.pack("<2d", 1.5, 2.0)),  # OD
        ("(0072,006D)=ab", b"\xab\x00"),  # UN
    ],
)
def test_binary_values(key: str, data: bytes) -> None:
    ds = keyed(key)
    assert next(iter(ds)).value == data


def test_invalid_is_sent_as_given() -> None:
    ds = keyed("(0020,0013)=abc", "(0018,0088)=1.5x")
    assert ds.InstanceNumber == "abc"
    assert b"IS\x04\x00abc " in encoded(ds)
    assert b"DS\x04\x001.5x" in encoded(ds)


# -- dictionary: unknown, private, group length, names --------------------------------------
def test_unknown_tag_without_value_is_inserted_as_un() -> None:
    ds = keyed("(0011,1001)", "(0008,000a)")
    assert [e.VR for e in ds] == ["UN", "UN"]


def test_unknown_tag_value_is_hex() -> None:
    assert keyed("(0011,1001)=0a\\ff")[0x00111001].value == b"\x0a\xff"


def test_private_creator_is_lo_and_resolves_private_tags() -> None:
    ds = keyed("(0029,0010)=SIEMENS CSA HEADER", "(0029,1008)=X")
    assert ds[0x00290010].VR == "LO"
    assert ds[0x00291008].VR == "CS" and ds[0x00291008].value == "X"


def test_group_length_is_ul() -> None:
    assert keyed("(0010,0000)=5")[0x00100000].VR == "UL"


def test_retired_and_repeater_names() -> None:
    assert tag_for_name("RETIRED_CurveDimensions") == 0x50000005
    assert tag_for_name("CurveDimensions") == 0x50000005
    assert tag_for_name("OverlayRows") == 0x60000010
    assert tag_for_name("patientname") is None  # names are case sensitive
    assert keyed("RETIRED_ImageFormat=x")[0x00280040].value == "x"


# -- errors ---------------------------------------------------------------------------------
PATH = "0001:0019"
BAD_VALUE = ("0001:0006", "Corrupted data")
NAME = "Unable to parse tag/dictionary name at beginning of path: "
NUMBER = "Unable to parse item number at beginning of path: "
NOT_SQ = "Invalid Path: Non-sequence tag found with rest path following"
NEGATIVE = "Negative item number (not permitted) at beginning of path: "
WILDCARD = "Item wildcard '*' found in path but wildcards disabled"
NO_VALUE = "Cannot insert value into path ending with item or sequence"


@pytest.mark.parametrize(
    ("key", "code", "reason"),
    [
        ("Foo=1", PATH, NAME + "Foo"),
        ("(0010,00", PATH, "Unable to parse tag at beginning of path: (0010,00"),
        ("(0010,0010=1", PATH, "Unable to parse tag at beginning of path: (0010,0010"),
        ("(zzzz,0010)=1", PATH, NAME + "(zzzz,0010)"),
        ("(0010;0010)[0].x", PATH, NAME + "(0010;0010)[0].x"),
        ("patientname=x", PATH, NAME + "patientname"),
        (" PatientName=x", PATH, NAME + " PatientName"),
        ("PatientName.Foo=1", PATH, NAME + "PatientName.Foo"),
        ("(0040,0100)[0].Foo=1", PATH, NAME + "Foo"),
        ("(0040,0100)[0]xy", PATH, NAME + "y"),
        ("(0040,0100)[0]..PatientName", PATH, NAME + ".PatientName"),
        ("[0].PatientName", PATH, NAME + "[0].PatientName"),
        ("(0040,0100)[", PATH, NUMBER + "["),
        ("(0040,0100)[1", PATH, NUMBER + "[1"),
        ("(0040,0100)[]", PATH, NUMBER + "[]"),
        ("(0040,0100)[a].Modality", PATH, NUMBER + "[a].Modality"),
        ("(0040,0100).Modality=x", PATH, NUMBER + ".Modality"),
        ("(0040,0100)x", PATH, NUMBER + "x"),
        ("(0040,0100)[-1].Modality", PATH, NEGATIVE + "[-1].Modality"),
        ("(0040,0100)[*].Modality=CT", PATH, WILDCARD),
        ("(0040,0100)[ *]", PATH, WILDCARD),
        ("(0010,0010)x=1", PATH, NOT_SQ),
        ("PatientName[0]=1", PATH, NOT_SQ),
        ("(0040,0100)[0].(0040,0002)[0].CodeValue=1", PATH, NOT_SQ),
        ("(0040,0100)=abc", PATH, NO_VALUE),
        ("(0040,0100)[0]=x", PATH, NO_VALUE),
        ("(0040,0100)[0].=x", PATH, NO_VALUE),
        ("Rows=abc", *BAD_VALUE),
        ("Rows=", None, None),
        ("Rows=1\\\\2", *BAD_VALUE),
        ("Rows=\\1", *BAD_VALUE),
        ("Rows= ", *BAD_VALUE),
        ("(0018,9089)=1.5\\2\\x", *BAD_VALUE),
        ("(0018,9089)=-", *BAD_VALUE),
        ("(0018,9089)=e5", *BAD_VALUE),
        ("(0020,9165)=00100010", *BAD_VALUE),
        ("(0020,9165)=( 10 , 10 )", *BAD_VALUE),
        ("(0042,0011)=zz", *BAD_VALUE),
        ("(0011,1001)=X", *BAD_VALUE),  # UN value must be hex
        ("(0029,1008)=X", *BAD_VALUE),  # no private creator: UN
        ("(00100,0010)=x", *BAD_VALUE),  # (0100,0010): unknown
        ("=x", "0000:0001", "Illegal parameter"),
    ],
)
def test_errors(key: str, code: str | None, reason: str | None) -> None:
    ds = query_file_dataset()
    before = copy.deepcopy(ds)
    if code is None:
        apply_key(ds, key)
        return
    with pytest.raises(QueryKeyError) as info:
        apply_key(ds, key)
    err = info.value
    assert (err.key, err.code, err.reason) == (key, code, reason)
    assert key in str(err)
    assert isinstance(err, DicomWireError)
    assert ds == before  # a refused key changes nothing


def test_huge_item_index_refused() -> None:
    with pytest.raises(QueryKeyError, match="too large"):
        apply_key(Dataset(), "(0040,0100)[99999999999].Modality")


# -- query files ------------------------------------------------------------------------------
def write_with_meta(path: Path, ds: Dataset, syntax: str = ExplicitVRLittleEndian) -> Path:
    ds = copy.deepcopy(ds)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.276.0.7230010.3.1.0.1")
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3.4")
    dcmwrite(path, ds, enforce_file_format=True)
    return path


def write_raw(path: Path, ds: Dataset, implicit: bool = False) -> Path:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, implicit
    write_dataset(fp, ds)
    path.write_bytes(fp.getvalue())
    return path


@pytest.mark.parametrize(
    "writer",
    [
        write_with_meta,
        lambda p, ds: write_with_meta(p, ds, ImplicitVRLittleEndian),
        write_raw,  # like dump2dcm -F
        lambda p, ds: write_raw(p, ds, implicit=True),
    ],
    ids=["meta", "meta-implicit", "raw", "raw-implicit"],
)
def test_load_query_file(tmp_path: Path, writer: object) -> None:
    path = writer(tmp_path / "q.dcm", query_file_dataset())  # type: ignore[operator]
    ds = load_query_file(path)
    assert type(ds) is Dataset
    assert not hasattr(ds, "file_meta") or not ds.file_meta
    assert ds.PatientName == "Doe^John"
    assert [i.Modality for i in ds.ScheduledProcedureStepSequence] == ["MR", "CT"]
    assert encoded(ds) == encoded(query_file_dataset())


def test_missing_query_file(tmp_path: Path) -> None:
    with pytest.raises(QueryFileError) as info:
        load_query_file(tmp_path / "nonexistent.dcm")
    assert info.value.missing
    with pytest.raises(QueryFileError) as info:
        check_query_files([tmp_path / "nonexistent.dcm"])
    assert info.value.missing
    assert "cannot access file" in str(info.value)


def test_empty_query_file(tmp_path: Path) -> None:
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(QueryFileError) as info:
        load_query_file(tmp_path / "empty.dcm")
    assert (info.value.code, info.value.reason) == ("0001:0005", "End of stream")
    assert not info.value.missing


@pytest.mark.parametrize(
    "content",
    [
        b"myhost\n",
        b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
        b"\0" * 300,  # 37 empty elements and 4 bytes of a 38th
        b"abc",
    ],
    ids=["hostname", "passwd", "zeros", "short"],
)
def test_non_dicom_query_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "q.txt"
    path.write_bytes(content)
    with pytest.raises(QueryFileError) as info:
        load_query_file(path)
    err = info.value
    assert (err.code, err.reason) == ("0001:000a", "I/O suspension or premature end of stream")
    assert err.path == path and str(path) in str(err)


def test_truncated_query_file(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "q.dcm", query_file_dataset())
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(QueryFileError):
        load_query_file(path)


def test_directory_as_query_file(tmp_path: Path) -> None:
    check_query_files([tmp_path])  # findscu's startup check lets a directory through
    with pytest.raises(QueryFileError) as info:
        load_query_file(tmp_path)
    assert info.value.code == "0001:000a"


# -- building queries ------------------------------------------------------------------------
def test_query_from_keys_alone() -> None:
    (query,) = build_query([], ["QueryRetrieveLevel=PATIENT", "PatientName=HEWETT*", "PatientID"])
    assert query.QueryRetrieveLevel == "PATIENT" and query.PatientName == "HEWETT*"


def test_keys_override_each_file(tmp_path: Path) -> None:
    one = write_with_meta(tmp_path / "1.dcm", query_file_dataset())
    other = query_file_dataset()
    other.PatientID = "ID2"
    two = write_raw(tmp_path / "2.dcm", other)
    queries = build_query([one, two], ["PatientName=HEWETT*", "StudyDate"])
    assert [q.PatientID for q in queries] == ["ID1", "ID2"]
    assert all(q.PatientName == "HEWETT*" and "StudyDate" in q for q in queries)


def test_bad_key_in_build_query() -> None:
    with pytest.raises(QueryKeyError):
        build_query([], ["Foo=1"])


# -- DCMTK as the oracle (dcmodify -i shares findscu's path parser) -----------------------------
ORACLE_KEYS = [
    "(0040,0100)[2].Modality=CT",
    "(0040,0100)[0].ScheduledStationAETitle=A\\B",
    "ScheduledProcedureStepSequence[1].(0040,0002)=20240101-",
    "Rows=70000",
    "(0028,0011)=-1",
    "(0018,9089)=1.5x\\2",
    "(0020,9165)=(0010,0010)x",
    "(0042,0011)=abc",
    "(7fe0,0010)=1\\2\\3",
    "(0008,1160)=abc",
    "PatientID",
    "PatientName=Doe^John=Dough",
    "(0010,1010)=030Y",
    "0008,0052=STUDY",
    "(0018,9219)=-40000",
]


@pytest.mark.interop
@pytest.mark.skipif(not HAVE_DCMODIFY, reason="DCMTK's dcmodify is not installed")
def test_same_data_set_as_dcmodify(tmp_path: Path) -> None:
    base = Dataset()
    base.PatientID = "X"
    path = write_with_meta(tmp_path / "m.dcm", base)
    args = [arg for key in ORACLE_KEYS for arg in ("-i", key)]
    subprocess.run(["dcmodify", "-nb", *args, str(path)], check=True, capture_output=True)
    theirs = dcmread(path)
    ours = apply_keys(copy.deepcopy(base), ORACLE_KEYS)
    assert encoded(ours) == encoded(Dataset(theirs))
