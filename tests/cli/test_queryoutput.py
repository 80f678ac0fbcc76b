"""findscu's response output: -X, -Xx, -Xs and --json (dicomwire.dcmtk.formats.queryoutput).

Expected XML is what DCMTK 3.6.7 (findscu -Xx/-Xs, dcm2xml) writes for the
same data sets.
"""

from __future__ import annotations

import io
import json
import logging
import math
import random
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomwire import uids
from dicomwire.dcmtk.formats.queryoutput import (
    DCMTK_GENERIC_FILE_SOP_CLASS,
    JsonResponsesWriter,
    OutputDirectoryError,
    OutputFileError,
    XmlResponsesWriter,
    check_output_directory,
    dataset_to_xml,
    dataset_to_xml_bytes,
    response_file_name,
    write_json,
    write_response_file,
    write_xml_response,
)

HAVE_DCM2XML = Path("/usr/bin/dcm2xml").exists() and shutil.which("dcm2xml") is not None
needs_dcm2xml = pytest.mark.skipif(not HAVE_DCM2XML, reason="DCMTK's dcm2xml is not installed")
HEADER = b'<data-set xfer="1.2.840.10008.1.2.1" name="Little Endian Explicit">\n'


def raw_dataset(*elements: bytes) -> Dataset:
    """A data set as received: explicit VR little endian bytes, not yet decoded."""
    # pydicom annotates fp as BinaryIO, but reads from its own DicomIO classes
    fp = cast(BinaryIO, DicomBytesIO(b"".join(elements)))
    ds = read_dataset(fp, is_implicit_VR=False, is_little_endian=True)
    ds.set_original_encoding(False, True)
    return ds


def el(group: int, element: int, vr: str, value: bytes | str) -> bytes:
    data = value.encode("latin-1") if isinstance(value, str) else value
    if len(data) % 2:
        data += b"\0" if vr in ("UI", "OB", "UN") else b" "
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"):
        return struct.pack("<HH2sHL", group, element, vr.encode(), 0, len(data)) + data
    return struct.pack("<HH2sH", group, element, vr.encode(), len(data)) + data


def sq(group: int, element: int, items: list[list[bytes]], undefined: bool = False) -> bytes:
    body = b"".join(struct.pack("<HHL", 0xFFFE, 0xE000, len(b"".join(i))) + b"".join(i) for i in items)
    if undefined:
        end = struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        return struct.pack("<HH2sHL", group, element, b"SQ", 0, 0xFFFFFFFF) + body + end
    return struct.pack("<HH2sHL", group, element, b"SQ", 0, len(body)) + body


def worklist_response() -> Dataset:
    """A response of DCMTK's wlmscpfs to one of its example queries."""
    item = [
        el(0x0008, 0x0060, "CS", "MR"),
        el(0x0040, 0x0001, "AE", "AA32\\AA33"),
        el(0x0040, 0x0004, "DA", ""),
        el(0x0040, 0x0006, "PN", "JOHNSON"),
    ]
    return raw_dataset(
        el(0x0008, 0x0050, "SH", "00000"),
        el(0x0010, 0x0010, "PN", "VIVALDI^ANTONIO"),
        el(0x0020, 0x000D, "UI", "1.2.276.0.7230010.3.2.101"),
        sq(0x0040, 0x0100, [item]),
        el(0x0040, 0x1001, "SH", "RP454G234"),
    )


WORKLIST_XML = (
    b'<?xml version="1.0"?>\n' + HEADER + b'<element tag="0008,0050" vr="SH" vm="1" len="6" '
    b'name="AccessionNumber">00000</element>\n'
    b'<element tag="0010,0010" vr="PN" vm="1" len="16" name="PatientName">VIVALDI^ANTONIO</element>\n'
    b'<element tag="0020,000d" vr="UI" vm="1" len="26" name="StudyInstanceUID">'
    b"1.2.276.0.7230010.3.2.101</element>\n"
    b'<sequence tag="0040,0100" vr="SQ" card="1" len="60" name="ScheduledProcedureStepSequence">\n'
    b'<item card="4" len="52">\n'
    b'<element tag="0008,0060" vr="CS" vm="1" len="2" name="Modality">MR</element>\n'
    b'<element tag="0040,0001" vr="AE" vm="2" len="10" name="ScheduledStationAETitle">'
    b"AA32\\AA33</element>\n"
    b'<element tag="0040,0004" vr="DA" vm="0" len="0" name="ScheduledProcedureStepEndDate">'
    b"</element>\n"
    b'<element tag="0040,0006" vr="PN" vm="1" len="8" name="ScheduledPerformingPhysicianName">'
    b"JOHNSON</element>\n"
    b"</item>\n</sequence>\n"
    b'<element tag="0040,1001" vr="SH" vm="1" len="10" name="RequestedProcedureID">'
    b"RP454G234</element>\n"
    b"</data-set>\n"
)


# -- file names, -od ----------------------------------------------------------------------
def test_response_file_names() -> None:
    assert response_file_name(1, ".dcm") == "rsp0001.dcm"
    assert response_file_name(12, ".xml") == "rsp0012.xml"
    assert response_file_name(10000, ".dcm") == "rsp10000.dcm"


def test_output_directory_must_exist(tmp_path: Path) -> None:
    check_output_directory(tmp_path)
    for bad in (tmp_path / "missing", tmp_path / "file"):
        (tmp_path / "file").write_text("x")
        with pytest.raises(OutputDirectoryError, match="specified output directory does not exist"):
            check_output_directory(bad)


# -- -X -------------------------------------------------------------------------------------
def test_response_file(tmp_path: Path) -> None:
    ds = worklist_response()
    path = write_response_file(ds, tmp_path, 3)
    assert path == tmp_path / "rsp0003.dcm"
    data = path.read_bytes()
    assert data[:128] == bytes(128) and data[128:132] == b"DICM"
    written = dcmread(path)
    meta = written.file_meta
    assert meta.MediaStorageSOPClassUID == DCMTK_GENERIC_FILE_SOP_CLASS
    assert meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert meta.ImplementationClassUID == uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    assert meta.FileMetaInformationVersion == b"\x00\x01"
    assert written.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == ["AA32", "AA33"]
    assert Dataset(written) == worklist_response()
    # sequences and items of undefined length, as DCMTK writes them
    sq_header = struct.pack("<HH2sH", 0x0040, 0x0100, b"SQ", 0) + b"\xff\xff\xff\xff"
    assert sq_header in data
    assert struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) in data
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_response_files_get_fresh_instance_uids(tmp_path: Path) -> None:
    one = dcmread(write_response_file(worklist_response(), tmp_path, 1))
    two = dcmread(write_response_file(worklist_response(), tmp_path, 2))
    assert one.file_meta.MediaStorageSOPInstanceUID != two.file_meta.MediaStorageSOPInstanceUID


def test_response_file_keeps_received_bytes(tmp_path: Path) -> None:
    raw = el(0x0008, 0x0005, "CS", "ISO_IR 100") + el(0x0010, 0x0010, "PN", "M\xfcller  ")
    written = write_response_file(raw_dataset(raw), tmp_path, 1).read_bytes()
    assert written.endswith(raw)


def test_unwritable_response_file(tmp_path: Path) -> None:
    with pytest.raises(OutputFileError):
        write_response_file(worklist_response(), tmp_path / "missing", 1)


# -- -Xx ------------------------------------------------------------------------------------
def test_xml_of_a_worklist_response(tmp_path: Path) -> None:
    assert dataset_to_xml_bytes(worklist_response()) == WORKLIST_XML
    path = write_xml_response(worklist_response(), tmp_path, 7)
    assert path.name == "rsp0007.xml" and path.read_bytes() == WORKLIST_XML
    assert dataset_to_xml(worklist_response()) == WORKLIST_XML.decode()


def test_xml_of_a_decoded_data_set() -> None:
    """A data set built in memory gives the same XML as the received one."""
    item = Dataset()
    item.Modality = "MR"
    item.ScheduledStationAETitle = ["AA32", "AA33"]
    item.ScheduledProcedureStepEndDate = ""
    item.ScheduledPerformingPhysicianName = "JOHNSON"
    ds = Dataset()
    ds.AccessionNumber = "00000"
    ds.PatientName = "VIVALDI^ANTONIO"
    ds.StudyInstanceUID = "1.2.276.0.7230010.3.2.101"
    ds.ScheduledProcedureStepSequence = Sequence([item])
    ds.RequestedProcedureID = "RP454G234"
    assert dataset_to_xml_bytes(ds) == WORKLIST_XML


def test_undefined_length_sequence_has_no_len() -> None:
    ds = raw_dataset(sq(0x0040, 0x0100, [[el(0x0008, 0x0060, "CS", "MR")]], undefined=True))
    xml = dataset_to_xml_bytes(ds)
    assert b'<sequence tag="0040,0100" vr="SQ" card="1" name="ScheduledProcedureStepSequence">' in xml
    assert b'<item card="1" len="10">' in xml


def test_empty_sequence_and_item() -> None:
    ds = raw_dataset(sq(0x0040, 0x0100, [[]]), sq(0x0040, 0x0275, []))
    xml = dataset_to_xml_bytes(ds)
    assert b'card="1" len="8" name="ScheduledProcedureStepSequence">\n<item card="0" len="0">\n</item>' in xml
    assert b'card="0" len="0" name="RequestAttributesSequence">\n</sequence>' in xml


def value_line(ds: Dataset, tag: str) -> bytes:
    xml = dataset_to_xml_bytes(ds)
    match = re.search(rb'<element tag="' + tag.encode() + rb'"[^>]*>[^\n]*\n', xml)
    assert match is not None, xml
    return match.group(0)


@pytest.mark.parametrize(
    ("vr", "raw", "text", "vm"),
    [
        ("CS", " A \\B  \\ C  ", "A\\B\\C", 3),  # each value trimmed both sides
        ("LO", "  a b \\ c  \\  ", "a b\\c\\", 3),
        ("DA", "  a b \\ c  \\  ", "  a b\\ c\\", 3),  # trailing blanks of each value
        ("PN", "A^B=C^D=E^F ", "A^B=C^D=E^F", 1),
        ("DS", " 1.50 \\2e3 ", " 1.50 \\2e3", 2),  # only the end of the whole value
        ("LT", "  a b \\ c  \\  ", "  a b \\ c  \\", 1),
        ("UI", "1.2. 3", "1.2.3", 1),  # blanks removed
        ("SH", "", "", 0),
    ],
)
def test_string_values_trimmed_per_vr(vr: str, raw: str, text: str, vm: int) -> None:
    tags = {"CS": 0x00080060, "LO": 0x00100020, "DA": 0x00080020, "PN": 0x00100010}
    tags |= {"DS": 0x00101020, "LT": 0x00104000, "UI": 0x00080016, "SH": 0x00080050}
    tag = tags[vr]
    line = value_line(
        raw_dataset(el(tag >> 16, tag & 0xFFFF, vr, raw)), f"{tag >> 16:04x},{tag & 0xFFFF:04x}"
    )
    assert f'vm="{vm}"'.encode() in line
    assert line.endswith(f">{text}</element>\n".encode())


@pytest.mark.parametrize(
    ("vr", "fmt", "values", "text"),
    [
        (
            "FD",
            "d",
            [0.1, 1e300, -0.0, 862399761.11107898, 1 / 3],
            "0.1\\1.0000000000000007e+300\\0\\862399761.11107898\\0.3333333333333333",
        ),
        (
            "FD",
            "d",
            [43.022, 7070765192.01308, 5e-324],
            "43.0219999999999985\\7070765192.01307964\\4.9406564584124659e-324",
        ),
        ("FD", "d", [math.nan, math.inf, -math.inf, 0.99999999999999999], "nan\\inf\\-inf\\1"),
        (
            "FL",
            "f",
            [0.1, 1.0, 1e-5, 3.4e38, 43.022],
            "0.100000001\\1\\9.99999975e-06\\3.39999995e+38\\43.02199936",
        ),
        ("OF", "f", [1.5, -2.25, 3.14159274, -0.0], "1.5\\-2.25\\3.1415927\\-0"),
        ("OD", "d", [-48.986, 2.68920258222225e181], "-48.985999999999997\\2.68920258222225e+181"),
        ("US", "H", [1, 65535], "1\\65535"),
        ("SS", "h", [-5], "-5"),
        ("UL", "L", [4294967295], "4294967295"),
        ("SL", "l", [-5, 7], "-5\\7"),
        ("SV", "q", [-5], "-5"),
        ("UV", "Q", [2**64 - 1], "18446744073709551615"),
        ("OL", "L", [1, 2], "1\\2"),
        ("AT", "H", [0x10, 0x10, 0x7FE0, 0x10], "(0010,0010)\\(7fe0,0010)"),
    ],
)
def test_binary_values_as_text(vr: str, fmt: str, values: list[float], text: str) -> None:
    tags = {"FD": 0x00189089, "FL": 0x00109431, "OF": 0x00181638, "OD": 0x00660022, "US": 0x00280010}
    tags |= {"SS": 0x00189219, "UL": 0x00081161, "SL": 0x00186020, "SV": 0x00720082}
    tags |= {"UV": 0x0008040C, "OL": 0x00660040, "AT": 0x00209165}
    tag = tags[vr]
    data = struct.pack(f"<{len(values)}{fmt}", *values)
    line = value_line(
        raw_dataset(el(tag >> 16, tag & 0xFFFF, vr, data)), f"{tag >> 16:04x},{tag & 0xFFFF:04x}"
    )
    assert line.endswith(f">{text}</element>\n".encode())
    assert f'len="{len(data)}"'.encode() in line
    vm = 1 if vr.startswith("O") else len(text.split("\\"))
    assert f'vm="{vm}"'.encode() in line


@pytest.mark.parametrize(("vr", "tag"), [("OB", "0042,0011"), ("OW", "0028,1201"), ("UN", "0072,006d")])
def test_binary_data_hidden(vr: str, tag: str) -> None:
    group, element = (int(x, 16) for x in tag.split(","))
    line = value_line(raw_dataset(el(group, element, vr, b"\x01\x02\x03")), tag)
    assert b' vm="1" len="4" ' in line  # odd binary values are padded
    assert line.endswith(b' binary="hidden"></element>\n')


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ((0x0008, 0x0000), "GenericGroupLength"),
        ((0x0009, 0x0000), "PrivateGroupLength"),
        ((0x0008, 0x0001), "RETIRED_LengthToEnd"),
        ((0x5000, 0x0005), "RETIRED_CurveDimensions"),
        ((0x6000, 0x0010), "OverlayRows"),
        ((0x0009, 0x0010), "PrivateCreator"),
        ((0x0009, 0x1001), "Unknown Tag &amp; Data"),  # no creator
        ((0x0011, 0x0001), "Unknown Tag &amp; Data"),
    ],
)
def test_element_names(tag: tuple[int, int], name: str) -> None:
    line = value_line(raw_dataset(el(*tag, "UL", b"\0\0\0\0")), f"{tag[0]:04x},{tag[1]:04x}")
    assert f'name="{name}"'.encode() in line


def test_private_names_come_with_their_creator() -> None:
    ds = raw_dataset(el(0x0009, 0x0010, "LO", "GEMS_IDEN_01"), el(0x0009, 0x1001, "LO", "GE"))
    assert b'name="FullFidelity">GE<' in dataset_to_xml_bytes(ds)


NASTY = b"x\x01\x09\x0a\x0d\x1b\x7f\xe9&<>\"' y"
LITERAL = b"x\x01\x09&#10;&#13;\x1b\x7f\xe9&amp;&lt;&gt;&quot;&apos; y"
QUOTED = b"x&#1;&#9;&#10;&#13;&#27;&#127;&#233;&amp;&lt;&gt;&quot;&apos; y"


@pytest.mark.parametrize(
    ("charset", "declaration", "text", "warning"),
    [
        (None, b'<?xml version="1.0"?>', LITERAL, None),
        ("ISO_IR 100", b'<?xml version="1.0" encoding="ISO-8859-1"?>', LITERAL, None),
        ("ISO_IR 101", b'<?xml version="1.0" encoding="ISO-8859-2"?>', LITERAL, None),
        ("ISO_IR 144", b'<?xml version="1.0" encoding="ISO-8859-5"?>', LITERAL, None),
        ("ISO_IR 148", b'<?xml version="1.0" encoding="ISO-8859-9"?>', LITERAL, None),
        ("ISO_IR 192", b'<?xml version="1.0" encoding="UTF-8"?>', LITERAL, None),
        ("ISO_IR 6", b'<?xml version="1.0" encoding="UTF-8"?>', LITERAL, None),
        ("", b'<?xml version="1.0"?>', QUOTED, None),
        ("ISO_IR 13", b'<?xml version="1.0"?>', QUOTED, "'ISO_IR 13' not supported ... quoting"),
        ("GB18030", b'<?xml version="1.0"?>', QUOTED, "'GB18030' not supported ... quoting"),
        ("ISO_IR 203", b'<?xml version="1.0"?>', QUOTED, "'ISO_IR 203' not supported ... quoting"),
        ("iso_ir 100", b'<?xml version="1.0"?>', QUOTED, "'iso_ir 100' not supported ... quoting"),
        ("\\ISO 2022 IR 87", b'<?xml version="1.0"?>', QUOTED, "'\\ISO 2022 IR 87' not supported"),
        ("ISO 2022 IR 100", b'<?xml version="1.0"?>', QUOTED, "'ISO 2022 IR 100' not supported"),
    ],
)
def test_xml_encoding_and_quoting(
    charset: str | None,
    declaration: bytes,
    text: bytes,
    warning: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    elements = [] if charset is None else [el(0x0008, 0x0005, "CS", charset)]
    ds = raw_dataset(*elements, el(0x0010, 0x4000, "LT", NASTY))
    logger = logging.getLogger("test.queryoutput")
    with caplog.at_level(logging.WARNING, logger="test.queryoutput"):
        xml = dataset_to_xml_bytes(ds, logger=logger)
    assert xml.split(b"\n")[0] == declaration
    assert b'name="PatientComments">' + text + b"</element>" in xml
    ours = [r for r in caplog.records if r.name == "test.queryoutput"]
    if warning is None:
        assert not ours
    else:
        (record,) = ours
        assert record.getMessage().startswith("SpecificCharacterSet (0008,0005) value ")
        assert warning in record.getMessage()


def test_warning_without_non_ascii_has_no_suffix(caplog: pytest.LogCaptureFixture) -> None:
    ds = raw_dataset(el(0x0008, 0x0005, "CS", "ISO_IR 13"), el(0x0010, 0x0010, "PN", "ascii"))
    with caplog.at_level(logging.WARNING):
        dataset_to_xml_bytes(ds, logger=logging.getLogger("test.queryoutput"))
    assert (
        caplog.records[0].getMessage() == "SpecificCharacterSet (0008,0005) value 'ISO_IR 13' not supported"
    )


def test_xml_text_round_trips_to_the_file_bytes() -> None:
    ds = raw_dataset(el(0x0008, 0x0005, "CS", "ISO_IR 100"), el(0x0010, 0x0010, "PN", "M\xfcller"))
    text = dataset_to_xml(ds)
    assert "Müller" in text
    assert text.encode("latin-1") == dataset_to_xml_bytes(ds)


def test_xml_of_other_transfer_syntaxes() -> None:
    ds = raw_dataset(sq(0x0040, 0x0100, [[el(0x0008, 0x0060, "CS", "MR")]]))
    xml = dataset_to_xml_bytes(ds, uids.IMPLICIT_VR_LITTLE_ENDIAN)
    assert b'<data-set xfer="1.2.840.10008.1.2" name="Little Endian Implicit">' in xml
    big = dataset_to_xml_bytes(ds, uids.EXPLICIT_VR_BIG_ENDIAN)
    assert b'<data-set xfer="1.2.840.10008.1.2.2" name="Big Endian Explicit">' in big


# -- -Xs ----------------------------------------------------------------------------------------
def latin1_response() -> Dataset:
    return raw_dataset(
        el(0x0008, 0x0005, "CS", "ISO_IR 100"),
        el(0x0010, 0x0010, "PN", "M\xfcller^J\xfcrgen"),
        el(0x0010, 0x4000, "LT", "\xe9\r\n "),
        sq(0x0040, 0x0100, [[el(0x0040, 0x0006, "PN", "\xfc")]]),
    )


def test_single_xml_document(tmp_path: Path) -> None:
    path = tmp_path / "all.xml"
    with XmlResponsesWriter(path) as writer:
        writer.add(worklist_response())
        writer.add(latin1_response())
    assert writer.count == 2
    data = path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n<data-set ')
    assert data.endswith(b"</data-set>\n</responses>\n")
    root = ET.fromstring(data)
    assert root.tag == "responses" and root.attrib == {"type": "C-FIND"}
    sets = list(root)
    assert [s.tag for s in sets] == ["data-set", "data-set"]
    assert sets[0].attrib == {"xfer": "1.2.840.10008.1.2.1", "name": "Little Endian Explicit"}
    assert WORKLIST_XML.split(b"\n", 1)[1] in data  # the -Xx body, unchanged


def test_single_xml_converts_to_utf8(tmp_path: Path) -> None:
    path = tmp_path / "all.xml"
    with XmlResponsesWriter(path) as writer:
        writer.add(latin1_response())
    data = path.read_bytes()
    assert b'len="10" name="SpecificCharacterSet">ISO_IR 192</element>' in data
    assert b'vm="1" len="16" name="PatientName">M\xc3\xbcller^J\xc3\xbcrgen</element>' in data
    assert b'len="6" name="PatientComments">\xc3\xa9&#13;&#10;</element>' in data
    # sequence and item lengths stay as received, element lengths are recomputed
    assert b'card="1" len="18" name="ScheduledProcedureStepSequence">\n<item card="1" len="10">' in data
    assert b'len="4" name="ScheduledPerformingPhysicianName">\xc3\xbc</element>' in data
    (patient,) = [e for e in ET.fromstring(data).iter("element") if e.get("name") == "PatientName"]
    assert patient.text == "Müller^Jürgen"


def test_single_xml_without_character_set_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "all.xml"
    ds = raw_dataset(el(0x0010, 0x0010, "PN", "M\xfcller"))
    with XmlResponsesWriter(path) as writer:
        writer.add(ds)
    assert b">M\xfcller</element>" in path.read_bytes()


@pytest.mark.parametrize(
    ("charset", "value", "messages"),
    [
        (
            "ISO_IR 203",
            "M\xfcller",
            [
                "E: Writing XML file: Cannot select source character set: "
                "SpecificCharacterSet (0008,0005) value 'ISO_IR 203' not supported"
            ],
        ),
        (
            "ISO 2022 IR 100",
            "x",
            [
                "E: Writing XML file: Cannot select source character set: "
                "SpecificCharacterSet (0008,0005) value 'ISO 2022 IR 100' not supported"
            ],
        ),
        (
            "ISO_IR 100\\ISO 2022 IR 87",
            "x",
            [
                "E: Writing XML file: Cannot select source character set: "
                "SpecificCharacterSet (0008,0005) value 1 of 2 'ISO_IR 100' "
                "not supported"
            ],
        ),
        (
            "ISO_IR 6",
            "M\xfcller",
            [
                "W: DcmSpecificCharacterSet: 'ISO_IR 6' is not a defined term in DICOM, will be treated as "
                "an empty value (ASCII)",
                "W: DcmItem: An error occurred during the conversion to UTF-8 encoding, the value of "
                "SpecificCharacterSet (0008,0005) is not updated",
                "E: Writing XML file: Cannot convert character encoding: Invalid or incomplete multibyte "
                "or wide character",
            ],
        ),
    ],
)
def test_single_xml_leaves_out_what_it_cannot_convert(
    tmp_path: Path, charset: str, value: str, messages: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "all.xml"
    ds = raw_dataset(el(0x0008, 0x0005, "CS", charset), el(0x0010, 0x0010, "PN", value))
    logger = logging.getLogger("test.queryoutput")
    with caplog.at_level(logging.WARNING, logger="test.queryoutput"), XmlResponsesWriter(path, logger) as w:
        assert not w.add(ds)
        assert w.add(worklist_response())
    logged = [r for r in caplog.records if r.name == "test.queryoutput"]
    assert [f"{r.levelname[0]}: {r.getMessage()}" for r in logged] == messages
    assert len(list(ET.parse(path).getroot())) == 1


@pytest.mark.parametrize(
    ("charset", "raw", "text"),
    [
        ("ISO_IR 6", b"ascii", "ascii"),
        ("ISO_IR 13", b"\xd4\xcf\xc0\xde", "\uff94\uff8f\uff80\uff9e"),
        ("GB18030", b"\xcd\xf5^\xd0\xa1\xb6\xab", "王^小东"),
        ("ISO_IR 166", b"\xb9\xd2\xc2\xa1\xd2\xc3", "นายการ"),
        ("ISO_IR 192", "Ωmega".encode(), "Ωmega"),
        ("\\ISO 2022 IR 87", b"Yamada^Tarou=\x1b$B;3ED\x1b(B", "Yamada^Tarou=山田"),
    ],
)
def test_single_xml_character_sets(tmp_path: Path, charset: str, raw: bytes, text: str) -> None:
    path = tmp_path / "all.xml"
    with XmlResponsesWriter(path) as writer:
        assert writer.add(raw_dataset(el(0x0008, 0x0005, "CS", charset), el(0x0010, 0x0010, "PN", raw)))
    elements = {e.get("name"): e for e in ET.parse(path).getroot().iter("element")}
    assert elements["SpecificCharacterSet"].text == "ISO_IR 192"
    assert elements["PatientName"].text == text


def test_single_xml_with_no_responses(tmp_path: Path) -> None:
    path = tmp_path / "none.xml"
    with XmlResponsesWriter(path):
        pass
    assert path.read_bytes() == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n</responses>\n'
    )


def test_single_xml_streams(tmp_path: Path) -> None:
    path = tmp_path / "all.xml"
    writer = XmlResponsesWriter(path).open()
    writer.add(worklist_response())
    assert path.read_bytes().endswith(b"</data-set>\n")  # on disk before close
    writer.close()
    writer.close()  # idempotent


def test_single_xml_unwritable(tmp_path: Path) -> None:
    with pytest.raises(OutputFileError) as info:
        XmlResponsesWriter(tmp_path / "missing" / "all.xml").open()
    assert str(info.value) == f"Writing file: {tmp_path / 'missing' / 'all.xml'}: No such file or directory"


# -- --json -------------------------------------------------------------------------------------
def test_json_array_round_trips() -> None:
    stream = io.StringIO()
    binary = raw_dataset(el(0x0042, 0x0011, "OB", b"\x01\x02\x03\x04"), el(0x0028, 0x0010, "US", b"\x05\x00"))
    with JsonResponsesWriter(stream) as writer:
        writer.add(worklist_response())
        writer.add(latin1_response())
        writer.add(binary)
    parsed = json.loads(stream.getvalue())
    assert len(parsed) == 3 and writer.count == 3
    first = Dataset.from_json(parsed[0])
    assert first.PatientName == "VIVALDI^ANTONIO"
    assert first.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == ["AA32", "AA33"]
    assert Dataset.from_json(parsed[1]).PatientName == "Müller^Jürgen"
    assert parsed[2]["00420011"] == {"vr": "OB", "InlineBinary": "AQIDBA=="}
    assert Dataset.from_json(parsed[2]).Rows == 5


def test_json_with_no_responses() -> None:
    stream = io.StringIO()
    assert write_json([], stream) == 0
    assert json.loads(stream.getvalue()) == []


def test_json_streams() -> None:
    stream = io.StringIO()
    writer = JsonResponsesWriter(stream).open()
    writer.add(worklist_response())
    assert stream.getvalue().startswith("[\n{")
    writer.close()
    assert json.loads(stream.getvalue())[0]["00100010"]["vr"] == "PN"


def test_json_leaves_out_what_json_cannot_hold() -> None:
    stream = io.StringIO()
    write_json([raw_dataset(el(0x0010, 0x0020, "LO", "ID"), el(0x0020, 0x0013, "IS", "abc"))], stream)
    assert list(json.loads(stream.getvalue())[0]) == ["00100020"]


# -- DCMTK as the oracle ------------------------------------------------------------------------
def dcm2xml_body(path: Path) -> bytes:
    out = subprocess.run(["dcm2xml", "+M", str(path)], check=True, capture_output=True).stdout
    match = re.search(rb"<data-set .*?</data-set>\n", out, re.S)
    assert match is not None
    return match.group(0)


def our_body(path: Path) -> bytes:
    ds = dcmread(path, force=True)
    xfer = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta else ""
    xml = dataset_to_xml_bytes(ds, xfer or uids.EXPLICIT_VR_LITTLE_ENDIAN, logger=logging.getLogger("t"))
    return xml[xml.index(b"<data-set") :]


PYDICOM_FILES = [
    "MR_small.dcm",  # explicit LE, pixel data
    "MR_small_implicit.dcm",  # implicit VR: VRs from the dictionary, US/SS by pixel representation
    "MR_small_bigendian.dcm",
    "rtplan.dcm",  # nested sequences, DS/IS multi-valued
    "rtdose.dcm",
    "test-SR.dcm",  # deep sequences, PN, UIDs
    "reportsi.dcm",
    "reportsi_with_empty_number_tags.dcm",
    "waveform_ecg.dcm",  # OB/OW waveform data, FL/FD
    "priv_SQ.dcm",  # private sequence
    "nested_priv_SQ.dcm",
    "UN_sequence.dcm",
    "MR_small_jp2klossless.dcm",  # encapsulated pixel data
    "SC_rgb_small_odd.dcm",
    "chrFren.dcm",  # ISO_IR 100
    "chrFrenMulti.dcm",
    "chrGerm.dcm",
    "chrGreek.dcm",  # ISO_IR 126
    "chrRuss.dcm",  # ISO_IR 144
    "chrArab.dcm",  # ISO_IR 127
    "chrHbrw.dcm",  # ISO_IR 138
    "chrX1.dcm",  # ISO_IR 192
    "chrX2.dcm",  # GB18030: quoted
    "chrH31.dcm",  # ISO 2022: quoted
    "chrSQEncoding1.dcm",
]


@pytest.mark.interop
@needs_dcm2xml
@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_same_xml_as_dcm2xml_for_pydicom_files(name: str) -> None:
    found = get_charset_files(name) if name.startswith("chr") else [get_testdata_file(name)]
    path = Path(str(found[0]))
    assert our_body(path) == dcm2xml_body(path)


def write_file(path: Path, ds: Dataset) -> Path:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(DCMTK_GENERIC_FILE_SOP_CLASS)
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.3")
    dcmwrite(path, ds, enforce_file_format=True)
    return path


@pytest.mark.interop
@needs_dcm2xml
def test_same_xml_as_dcm2xml_for_every_vr(tmp_path: Path) -> None:
    raw = b"".join(
        [
            el(0x0008, 0x0005, "CS", "ISO_IR 100"),
            el(0x0008, 0x0008, "CS", " A \\B  \\ C  "),
            el(0x0008, 0x0016, "UI", "1.2.3"),
            el(0x0008, 0x0020, "DA", "20200101-  "),
            el(0x0008, 0x002A, "DT", "  a b \\ c  \\  "),
            el(0x0008, 0x0030, "TM", "  a b \\ c  \\  "),
            el(0x0008, 0x0050, "SH", "  x  "),
            el(0x0008, 0x0054, "AE", "  a b \\ c  \\  "),
            el(0x0008, 0x0060, "CS", "\\"),
            el(0x0008, 0x0070, "LO", "a\\\\b"),
            el(0x0008, 0x0081, "ST", " a\\b  "),
            el(0x0008, 0x0090, "PN", "A^B=C^D=E^F "),
            el(0x0008, 0x0108, "LT", "\x01\x02\x1b\x7f\x80\xe9\x09\x0b\x0c\x1f end  \r\n"),
            el(0x0008, 0x0119, "UC", "u1\\u2 "),
            el(0x0008, 0x0120, "UR", "http://x/ "),
            el(0x0008, 0x030E, "UT", " ut\\x  "),
            el(0x0008, 0x1160, "IS", " 12\\-3 "),
            el(0x0008, 0x1161, "UL", struct.pack("<I", 4294967295)),
            el(0x0010, 0x1010, "AS", "030Y"),
            el(0x0010, 0x1020, "DS", " 1.50 \\2e3"),
            el(0x0010, 0x9431, "FL", struct.pack("<3f", 0.1, 1.0, 1e-5)),
            el(0x0018, 0x1638, "OF", struct.pack("<3f", 1.5, -2.25, 3.14159274)),
            el(0x0018, 0x6020, "SL", struct.pack("<2i", -5, 7)),
            el(0x0018, 0x9089, "FD", struct.pack("<3d", 0.1, 1e300, -0.0)),
            el(0x0018, 0x9219, "SS", struct.pack("<h", -5)),
            el(0x0020, 0x9165, "AT", struct.pack("<4H", 0x10, 0x10, 0x7FE0, 0x10)),
            el(0x0028, 0x0010, "US", struct.pack("<2H", 1, 65535)),
            el(0x0028, 0x0011, "US", b""),
            el(0x0028, 0x1201, "OW", b"\x01\x02\x03\x04"),
            sq(0x0040, 0x0100, [[el(0x0008, 0x0060, "CS", "MR")], []]),
            sq(0x0040, 0x0275, [[el(0x0040, 0x0006, "PN", "\xfc")]], undefined=True),
            el(0x0042, 0x0011, "OB", b"\x01\x02"),
            el(0x0066, 0x0022, "OD", struct.pack("<2d", 1.5, 2.0)),
            el(0x0066, 0x0040, "OL", struct.pack("<2I", 1, 2)),
            el(0x0072, 0x006D, "UN", b"ab"),
            el(0x0072, 0x0081, "OV", struct.pack("<Q", 5)),
            el(0x0072, 0x0082, "SV", struct.pack("<q", -5)),
        ]
    )
    path = tmp_path / "vrs.dcm"
    write_file(path, raw_dataset(raw))
    assert our_body(path) == dcm2xml_body(path)


@pytest.mark.interop
@needs_dcm2xml
def test_same_numbers_as_dcm2xml(tmp_path: Path) -> None:
    rng = random.Random(1967)
    doubles = []
    for _ in range(300):
        kind = rng.random()
        if kind < 0.3:
            doubles.append(rng.uniform(-1000, 1000))
        elif kind < 0.5:
            doubles.append(rng.choice([-1, 1]) * 10 ** rng.uniform(-300, 300))
        elif kind < 0.7:
            doubles.append(round(rng.uniform(-100, 100), rng.randint(0, 6)))
        else:
            value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            doubles.append(value if math.isfinite(value) else 0.0)
    floats = [struct.unpack("<f", struct.pack("<f", max(-3.4e38, min(3.4e38, d))))[0] for d in doubles]
    raw = b"".join(
        [
            el(0x0010, 0x9431, "FL", struct.pack(f"<{len(floats)}f", *floats)),
            el(0x0018, 0x1638, "OF", struct.pack(f"<{len(floats)}f", *floats)),
            el(0x0018, 0x9089, "FD", struct.pack(f"<{len(doubles)}d", *doubles)),
            el(0x0066, 0x0022, "OD", struct.pack(f"<{len(doubles)}d", *doubles)),
        ]
    )
    path = write_file(tmp_path / "numbers.dcm", raw_dataset(raw))
    assert our_body(path) == dcm2xml_body(path)


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("dcmdump") is None, reason="DCMTK's dcmdump is not installed")
def test_dcmdump_reads_response_file(tmp_path: Path) -> None:
    path = write_response_file(worklist_response(), tmp_path, 1)
    out = subprocess.run(["dcmdump", str(path)], check=True, capture_output=True, text=True).stdout
    assert "(0002,0002) UI [1.2.276.0.7230010.3.1.0.1]" in out
    assert "Sequence with undefined length #=1" in out
    assert "(0040,0001) AE [AA32\\AA33]" in out
