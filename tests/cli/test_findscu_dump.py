# ruff: noqa: E501  (golden lines are as long as DCMTK prints them)
"""The DCMTK-style data set dump (cli.dcmdump_format) against DCMTK 3.6.7's own text.

The expected lines below are what ``dcmdump -dc`` / ``dcmdump +dc`` printed
for the same bytes (findscu prints identifiers the same way; its default is
``-dc``, no data correction).  Non-UTF-8 bytes are shown as U+FFFD by us
(DCMTK writes them raw), so DCMTK's output was decoded that way.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence

from dicomwire import uids
from dicomwire.dcmtk.formats.dcmdump import DumpError, dump_bytes, dump_dataset, parse_dataset
from dicomwire.services.query import decode_dataset


def many_vrs() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4.5"
    ds.StudyDate = "20200101"
    ds.AccessionNumber = ""
    ds.Modality = "CT"
    ds.InstitutionAddress = "A" * 200
    ds.add_new(0x00081030, "LO", "Y" * 63)
    ds.PatientName = "Müller^Hans"
    ds.PatientComments = "line1\r\nline2 " + "Z" * 100
    ds.add_new(0x00091010, "LO", "private")
    ds.add_new(0x00090010, "LO", "ACME")
    ds.add_new(0x00111234, "UN", b"\x01\x02\x03")
    ds.Rows = 512
    ds.add_new(0x00280034, "IS", ["1", "1"])
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.add_new(0x00189306, "FD", 1.5)
    ds.add_new(0x00189307, "FD", [1.5, 2.25, 1e-10])
    ds.add_new(0x00189309, "FL", 0.1)
    ds.add_new(0x00280106, "SS", -5)
    ds.add_new(0x00280107, "US", list(range(100, 130)))
    ds.add_new(0x00081162, "UL", 7)
    ds.add_new(0x00209165, "AT", [0x00100010, 0x00080020])
    ds.add_new(0x00081150, "UI", "1.2.840.10008.1.2.1")
    ds.add_new(0x00281050, "DS", [])
    ds.add_new(0x7FE00010, "OB", bytes(range(40)))
    ds.add_new(0x00282000, "OB", b"\x00\x01")
    ds.add_new(0x00660023, "OW", bytes(range(30)))
    ds.add_new(0x00660040, "OL", bytes(range(16)))
    ds.add_new(0x00081160, "IS", [str(i) for i in range(30)])
    ds.add_new(0x00321060, "LO", "x\\y")
    ds.add_new(0x0040A160, "UT", "unlimited text " * 3)
    ds.add_new(0x00186011, "SQ", Sequence([]))
    item = Dataset()
    item.CodeValue = "123"
    item.CodingSchemeDesignator = "DCM"
    inner = Dataset()
    inner.CodeValue = "X1"
    item.add_new(0x00400260, "SQ", Sequence([inner]))
    ds.add_new(0x00081032, "SQ", Sequence([item, Dataset()]))
    return ds


def undefined_lengths() -> Dataset:
    ds = Dataset()
    item = Dataset()
    item.CodeValue = "123"
    item.is_undefined_length_sequence_item = True
    inner = Dataset()
    inner.CodeValue = "X1"
    item.add_new(0x00400260, "SQ", Sequence([inner]))
    ds.add_new(0x00081032, "SQ", Sequence([item, Dataset()]))
    ds[0x00081032].is_undefined_length = True
    ds.add_new(0x00081199, "SQ", Sequence([]))
    ds[0x00081199].is_undefined_length = True
    ds.add_new(0x00100010, "PN", "X")
    ds.add_new(0x00190010, "LO", "SIEMENS MR HEADER")
    ds.add_new(0x00191008, "CS", "IMAGE NUM 4")
    ds.add_new(0x00291110, "UN", b"\x01\x02")
    ds.add_new(0x60000010, "US", 5)
    return ds


def _element(tag: int, vr: str, value: bytes) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    if vr in ("OB", "OW", "SQ", "UT", "UN", "UC", "UR"):
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr.encode(), len(value)) + value


ODD_VALUES = [
    (0x00080005, "CS", b"ISO_IR 192"),
    (0x00080016, "UI", b"1.2.3\x00"),
    (0x00080018, "UI", b"1.2.840.10008.1.2\x00"),
    (0x00080020, "DA", b"2020 "),
    (0x00080050, "SH", b" AB "),
    (0x00080054, "AE", b" AE1  \\ AE2"),
    (0x00080060, "CS", b"CT\\MR "),
    (0x00080081, "ST", b"  st  "),
    (0x00081030, "LO", "Jürgen ".encode()),
    (0x00081190, "UR", b"http://x  "),
    (0x00100020, "LO", b"a\\b \\ c "),
    (0x00102160, "SH", b""),
    (0x00120010, "LO", b"x\x00"),
    (0x00180015, "CS", b"\x00"),
    (0x00321032, "PN", b"\\"),
    (0x0040A30A, "DS", b"1\\\\2 "),
]


def odd_values() -> bytes:
    """Hand-made explicit VR LE bytes: odd lengths, padding, NULs, out of order."""
    return b"".join(_element(*args) for args in ODD_VALUES)


def encode(ds: Dataset, implicit: bool = False) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = implicit
    write_dataset(fp, ds)
    return fp.getvalue()


MANY_VRS_EXPLICIT = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0005) CS [ISO_IR 100]                             #  10, 1 SpecificCharacterSet",
    "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]                 #  22, 3 ImageType",
    "(0008,0016) UI =SecondaryCaptureImageStorage            #  26, 1 SOPClassUID",
    "(0008,0018) UI [1.2.3.4.5\x00]                             #  10, 1 SOPInstanceUID",
    "(0008,0020) DA [20200101]                               #   8, 1 StudyDate",
    "(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber",
    "(0008,0060) CS [CT]                                     #   2, 1 Modality",
    "(0008,0081) ST [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA... # 200, 1 InstitutionAddress",
    "(0008,1030) LO [YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY ] #  64, 1 StudyDescription",
    "(0008,1032) SQ (Sequence with explicit length #=2)      #  70, 1 ProcedureCodeSequence",
    "  (fffe,e000) na (Item with explicit length #=3)          #  54, 1 Item",
    "    (0008,0100) SH [123 ]                                   #   4, 1 CodeValue",
    "    (0008,0102) SH [DCM ]                                   #   4, 1 CodingSchemeDesignator",
    "    (0040,0260) SQ (Sequence with explicit length #=1)      #  18, 1 PerformedProtocolCodeSequence",
    "      (fffe,e000) na (Item with explicit length #=1)          #  10, 1 Item",
    "        (0008,0100) SH [X1]                                     #   2, 1 CodeValue",
    "      (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "  (fffe,e000) na (Item with explicit length #=0)          #   0, 1 Item",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0008,1150) UI =LittleEndianExplicit                    #  20, 1 ReferencedSOPClassUID",
    "(0008,1160) IS [0\\1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\11\\12\\13\\14\\15\\16\\17\\18\\19\\20\\21\\22\\23\\24\\2... #  80,30 ReferencedFrameNumber",
    "(0008,1162) UL 7                                        #   4, 1 CalculatedFrameList",
    "(0009,0010) LO [ACME]                                   #   4, 1 PrivateCreator",
    "(0009,1010) LO [private ]                               #   8, 1 Unknown Tag & Data",
    "(0010,0010) PN [M�ller^Hans ]                           #  12, 1 PatientName",
    "(0010,4000) LT [line1\r",
    "line2 ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ... # 114, 1 PatientComments",
    "(0011,1234) UN 01\\02\\03                                 #   3, 1 Unknown Tag & Data",
    "(0018,6011) SQ (Sequence with explicit length #=0)      #   0, 1 SequenceOfUltrasoundRegions",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0018,9306) FD 1.5                                      #   8, 1 SingleCollimationWidth",
    "(0018,9307) FD 1.5\\2.25\\1e-10                           #  24, 3 TotalCollimationWidth",
    "(0018,9309) FL 0.100000001                              #   4, 1 TableSpeed",
    "(0020,9165) AT (0010,0010)\\(0008,0020)                  #   8, 2 DimensionIndexPointer",
    "(0028,0010) US 512                                      #   2, 1 Rows",
    "(0028,0030) DS [0.5\\0.5 ]                               #   8, 2 PixelSpacing",
    "(0028,0034) IS [1\\1 ]                                   #   4, 2 PixelAspectRatio",
    "(0028,0106) SS -5                                       #   2, 1 SmallestImagePixelValue",
    "(0028,0107) US 100\\101\\102\\103\\104\\105\\106\\107\\108\\109\\110\\111\\112\\113\\114\\115\\116... #  60,30 LargestImagePixelValue",
    "(0028,1050) DS (no value available)                     #   0, 0 WindowCenter",
    "(0028,2000) OB 00\\01                                    #   2, 1 ICCProfile",
    "(0032,1060) LO [x\\y ]                                   #   4, 2 RequestedProcedureDescription",
    "(0040,a160) UT [unlimited text unlimited text unlimited text  ] #  46, 1 TextValue",
    "(0066,0023) OW 0100\\0302\\0504\\0706\\0908\\0b0a\\0d0c\\0f0e\\1110\\1312\\1514\\1716\\1918... #  30, 1 RETIRED_TrianglePointIndexList",
    "(0066,0040) OL 50462976\\117835012\\185207048\\252579084   #  16, 1 LongPrimitivePointIndexList",
    "(7fe0,0010) OB 00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10\\11\\12\\13\\14\\15... #  40, 1 PixelData",
]
MANY_VRS_IMPLICIT = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Implicit",
    "(0008,0005) CS [ISO_IR 100]                             #  10, 1 SpecificCharacterSet",
    "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]                 #  22, 3 ImageType",
    "(0008,0016) UI =SecondaryCaptureImageStorage            #  26, 1 SOPClassUID",
    "(0008,0018) UI [1.2.3.4.5\x00]                             #  10, 1 SOPInstanceUID",
    "(0008,0020) DA [20200101]                               #   8, 1 StudyDate",
    "(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber",
    "(0008,0060) CS [CT]                                     #   2, 1 Modality",
    "(0008,0081) ST [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA... # 200, 1 InstitutionAddress",
    "(0008,1030) LO [YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY ] #  64, 1 StudyDescription",
    "(0008,1032) SQ (Sequence with explicit length #=2)      #  66, 1 ProcedureCodeSequence",
    "  (fffe,e000) na (Item with explicit length #=3)          #  50, 1 Item",
    "    (0008,0100) SH [123 ]                                   #   4, 1 CodeValue",
    "    (0008,0102) SH [DCM ]                                   #   4, 1 CodingSchemeDesignator",
    "    (0040,0260) SQ (Sequence with explicit length #=1)      #  18, 1 PerformedProtocolCodeSequence",
    "      (fffe,e000) na (Item with explicit length #=1)          #  10, 1 Item",
    "        (0008,0100) SH [X1]                                     #   2, 1 CodeValue",
    "      (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "  (fffe,e000) na (Item with explicit length #=0)          #   0, 1 Item",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0008,1150) UI =LittleEndianExplicit                    #  20, 1 ReferencedSOPClassUID",
    "(0008,1160) IS [0\\1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\11\\12\\13\\14\\15\\16\\17\\18\\19\\20\\21\\22\\23\\24\\2... #  80,30 ReferencedFrameNumber",
    "(0008,1162) UL 7                                        #   4, 1 CalculatedFrameList",
    "(0009,0010) LO [ACME]                                   #   4, 1 PrivateCreator",
    "(0009,1010) ?? 70\\72\\69\\76\\61\\74\\65\\20                  #   8, 1 Unknown Tag & Data",
    "(0010,0010) PN [M�ller^Hans ]                           #  12, 1 PatientName",
    "(0010,4000) LT [line1\r",
    "line2 ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ... # 114, 1 PatientComments",
    "(0011,1234) ?? 01\\02\\03                                 #   3, 1 Unknown Tag & Data",
    "(0018,6011) SQ (Sequence with explicit length #=0)      #   0, 1 SequenceOfUltrasoundRegions",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0018,9306) FD 1.5                                      #   8, 1 SingleCollimationWidth",
    "(0018,9307) FD 1.5\\2.25\\1e-10                           #  24, 3 TotalCollimationWidth",
    "(0018,9309) FD (invalid value)                          #   4, 0 TableSpeed",
    "(0020,9165) AT (0010,0010)\\(0008,0020)                  #   8, 2 DimensionIndexPointer",
    "(0028,0010) US 512                                      #   2, 1 Rows",
    "(0028,0030) DS [0.5\\0.5 ]                               #   8, 2 PixelSpacing",
    "(0028,0034) IS [1\\1 ]                                   #   4, 2 PixelAspectRatio",
    "(0028,0106) xs 65531                                    #   2, 1 SmallestImagePixelValue",
    "(0028,0107) xs 100\\101\\102\\103\\104\\105\\106\\107\\108\\109\\110\\111\\112\\113\\114\\115\\116... #  60,30 LargestImagePixelValue",
    "(0028,1050) DS (no value available)                     #   0, 0 WindowCenter",
    "(0028,2000) OB 00\\01                                    #   2, 1 ICCProfile",
    "(0032,1060) LO [x\\y ]                                   #   4, 2 RequestedProcedureDescription",
    "(0040,a160) UT [unlimited text unlimited text unlimited text  ] #  46, 1 TextValue",
    "(0066,0023) OW 0100\\0302\\0504\\0706\\0908\\0b0a\\0d0c\\0f0e\\1110\\1312\\1514\\1716\\1918... #  30, 1 RETIRED_TrianglePointIndexList",
    "(0066,0040) OL 50462976\\117835012\\185207048\\252579084   #  16, 1 LongPrimitivePointIndexList",
    "(7fe0,0010) OW 0100\\0302\\0504\\0706\\0908\\0b0a\\0d0c\\0f0e\\1110\\1312\\1514\\1716\\1918... #  40, 1 PixelData",
]
MANY_VRS_CORRECTED = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0005) CS [ISO_IR 100]                             #  10, 1 SpecificCharacterSet",
    "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]                 #  22, 3 ImageType",
    "(0008,0016) UI =SecondaryCaptureImageStorage            #  26, 1 SOPClassUID",
    "(0008,0018) UI [1.2.3.4.5]                              #  10, 1 SOPInstanceUID",
    "(0008,0020) DA [20200101]                               #   8, 1 StudyDate",
    "(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber",
    "(0008,0060) CS [CT]                                     #   2, 1 Modality",
    "(0008,0081) ST [AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA... # 200, 1 InstitutionAddress",
    "(0008,1030) LO [YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY] #  64, 1 StudyDescription",
    "(0008,1032) SQ (Sequence with explicit length #=2)      #  70, 1 ProcedureCodeSequence",
    "  (fffe,e000) na (Item with explicit length #=3)          #  54, 1 Item",
    "    (0008,0100) SH [123]                                    #   4, 1 CodeValue",
    "    (0008,0102) SH [DCM]                                    #   4, 1 CodingSchemeDesignator",
    "    (0040,0260) SQ (Sequence with explicit length #=1)      #  18, 1 PerformedProtocolCodeSequence",
    "      (fffe,e000) na (Item with explicit length #=1)          #  10, 1 Item",
    "        (0008,0100) SH [X1]                                     #   2, 1 CodeValue",
    "      (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "  (fffe,e000) na (Item with explicit length #=0)          #   0, 1 Item",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0008,1150) UI =LittleEndianExplicit                    #  20, 1 ReferencedSOPClassUID",
    "(0008,1160) IS [0\\1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\11\\12\\13\\14\\15\\16\\17\\18\\19\\20\\21\\22\\23\\24\\2... #  80,30 ReferencedFrameNumber",
    "(0008,1162) UL 7                                        #   4, 1 CalculatedFrameList",
    "(0009,0010) LO [ACME]                                   #   4, 1 PrivateCreator",
    "(0009,1010) LO [private]                                #   8, 1 Unknown Tag & Data",
    "(0010,0010) PN [M�ller^Hans]                            #  12, 1 PatientName",
    "(0010,4000) LT [line1\r",
    "line2 ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ... # 114, 1 PatientComments",
    "(0011,1234) UN 01\\02\\03\\00                              #   4, 1 Unknown Tag & Data",
    "(0018,6011) SQ (Sequence with explicit length #=0)      #   0, 1 SequenceOfUltrasoundRegions",
    "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "(0018,9306) FD 1.5                                      #   8, 1 SingleCollimationWidth",
    "(0018,9307) FD 1.5\\2.25\\1e-10                           #  24, 3 TotalCollimationWidth",
    "(0018,9309) FL 0.100000001                              #   4, 1 TableSpeed",
    "(0020,9165) AT (0010,0010)\\(0008,0020)                  #   8, 2 DimensionIndexPointer",
    "(0028,0010) US 512                                      #   2, 1 Rows",
    "(0028,0030) DS [0.5\\0.5]                                #   8, 2 PixelSpacing",
    "(0028,0034) IS [1\\1]                                    #   4, 2 PixelAspectRatio",
    "(0028,0106) SS -5                                       #   2, 1 SmallestImagePixelValue",
    "(0028,0107) US 100\\101\\102\\103\\104\\105\\106\\107\\108\\109\\110\\111\\112\\113\\114\\115\\116... #  60,30 LargestImagePixelValue",
    "(0028,1050) DS (no value available)                     #   0, 0 WindowCenter",
    "(0028,2000) OB 00\\01                                    #   2, 1 ICCProfile",
    "(0032,1060) LO [x\\y]                                    #   4, 2 RequestedProcedureDescription",
    "(0040,a160) UT [unlimited text unlimited text unlimited text] #  46, 1 TextValue",
    "(0066,0023) OW 0100\\0302\\0504\\0706\\0908\\0b0a\\0d0c\\0f0e\\1110\\1312\\1514\\1716\\1918... #  30, 1 RETIRED_TrianglePointIndexList",
    "(0066,0040) OL 50462976\\117835012\\185207048\\252579084   #  16, 1 LongPrimitivePointIndexList",
    "(7fe0,0010) OB 00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10\\11\\12\\13\\14\\15... #  40, 1 PixelData",
]
UNDEFINED_EXPLICIT = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,1032) SQ (Sequence with undefined length #=2)     # u/l, 1 ProcedureCodeSequence",
    "  (fffe,e000) na (Item with undefined length #=2)         # u/l, 1 Item",
    "    (0008,0100) SH [123 ]                                   #   4, 1 CodeValue",
    "    (0040,0260) SQ (Sequence with explicit length #=1)      #  18, 1 PerformedProtocolCodeSequence",
    "      (fffe,e000) na (Item with explicit length #=1)          #  10, 1 Item",
    "        (0008,0100) SH [X1]                                     #   2, 1 CodeValue",
    "      (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "  (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem",
    "  (fffe,e000) na (Item with explicit length #=0)          #   0, 1 Item",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem",
    "(0008,1199) SQ (Sequence with undefined length #=0)     # u/l, 1 ReferencedSOPSequence",
    "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem",
    "(0010,0010) PN [X ]                                     #   2, 1 PatientName",
    "(0019,0010) LO [SIEMENS MR HEADER ]                     #  18, 1 PrivateCreator",
    "(0019,1008) CS [IMAGE NUM 4 ]                           #  12, 1 Unknown Tag & Data",
    "(0029,1110) UN 01\\02                                    #   2, 1 Unknown Tag & Data",
    "(6000,0010) US 5                                        #   2, 1 OverlayRows",
]
UNDEFINED_IMPLICIT = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Implicit",
    "(0008,1032) SQ (Sequence with undefined length #=2)     # u/l, 1 ProcedureCodeSequence",
    "  (fffe,e000) na (Item with undefined length #=2)         # u/l, 1 Item",
    "    (0008,0100) SH [123 ]                                   #   4, 1 CodeValue",
    "    (0040,0260) SQ (Sequence with explicit length #=1)      #  18, 1 PerformedProtocolCodeSequence",
    "      (fffe,e000) na (Item with explicit length #=1)          #  10, 1 Item",
    "        (0008,0100) SH [X1]                                     #   2, 1 CodeValue",
    "      (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    "  (fffe,e00d) na (ItemDelimitationItem)                   #   0, 0 ItemDelimitationItem",
    "  (fffe,e000) na (Item with explicit length #=0)          #   0, 1 Item",
    "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
    "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem",
    "(0008,1199) SQ (Sequence with undefined length #=0)     # u/l, 1 ReferencedSOPSequence",
    "(fffe,e0dd) na (SequenceDelimitationItem)               #   0, 0 SequenceDelimitationItem",
    "(0010,0010) PN [X ]                                     #   2, 1 PatientName",
    "(0019,0010) LO [SIEMENS MR HEADER ]                     #  18, 1 PrivateCreator",
    "(0019,1008) ?? 49\\4d\\41\\47\\45\\20\\4e\\55\\4d\\20\\34\\20      #  12, 1 Unknown Tag & Data",
    "(0029,1110) ?? 01\\02                                    #   2, 1 Unknown Tag & Data",
    "(6000,0010) US 5                                        #   2, 1 OverlayRows",
]
ODD_RAW = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0005) CS [ISO_IR 192]                             #  10, 1 SpecificCharacterSet",
    "(0008,0016) UI [1.2.3\x00]                                 #   6, 1 SOPClassUID",
    "(0008,0018) UI =LittleEndianImplicit                    #  18, 1 SOPInstanceUID",
    "(0008,0020) DA [2020 ]                                  #   5, 1 StudyDate",
    "(0008,0050) SH [ AB ]                                   #   4, 1 AccessionNumber",
    "(0008,0054) AE [ AE1  \\ AE2]                            #  11, 2 RetrieveAETitle",
    "(0008,0060) CS [CT\\MR ]                                 #   6, 2 Modality",
    "(0008,0081) ST [  st  ]                                 #   6, 1 InstitutionAddress",
    "(0008,1030) LO [Jürgen ]                               #   8, 1 StudyDescription",
    "(0008,1190) UR [http://x  ]                             #  10, 1 RetrieveURL",
    "(0010,0020) LO [a\\b \\ c ]                               #   8, 3 PatientID",
    "(0010,2160) SH (no value available)                     #   0, 0 EthnicGroup",
    "(0012,0010) LO [x\x00]                                     #   2, 1 ClinicalTrialSponsorName",
    "(0018,0015) CS [\x00]                                      #   1, 1 BodyPartExamined",
    "(0032,1032) PN [\\]                                      #   1, 2 RequestingPhysician",
    "(0040,a30a) DS [1\\\\2 ]                                  #   5, 3 NumericValue",
]
ODD_CORRECTED = [
    "# Dicom-Data-Set",
    "# Used TransferSyntax: Little Endian Explicit",
    "(0008,0005) CS [ISO_IR 192]                             #  10, 1 SpecificCharacterSet",
    "(0008,0016) UI [1.2.3]                                  #   6, 1 SOPClassUID",
    "(0008,0018) UI =LittleEndianImplicit                    #  18, 1 SOPInstanceUID",
    "(0008,0020) DA [2020 \x00]                                 #   6, 1 StudyDate",
    "(0008,0050) SH [ AB]                                    #   4, 1 AccessionNumber",
    "(0008,0054) AE [ AE1  \\ AE2\x00]                           #  12, 2 RetrieveAETitle",
    "(0008,0060) CS [CT\\MR]                                  #   6, 2 Modality",
    "(0008,0081) ST [  st]                                   #   6, 1 InstitutionAddress",
    "(0008,1030) LO [Jürgen]                                #   8, 1 StudyDescription",
    "(0008,1190) UR [http://x]                               #  10, 1 RetrieveURL",
    "(0010,0020) LO [a\\b \\ c]                                #   8, 3 PatientID",
    "(0010,2160) SH (no value available)                     #   0, 0 EthnicGroup",
    "(0012,0010) LO [x\x00]                                     #   2, 1 ClinicalTrialSponsorName",
    "(0018,0015) CS [\x00\x00]                                     #   2, 1 BodyPartExamined",
    "(0032,1032) PN [\\\x00]                                     #   2, 2 RequestingPhysician",
    "(0040,a30a) DS [1\\\\2 \x00]                                 #   6, 3 NumericValue",
]

CASES: dict[str, tuple[Callable[[], bytes], str, bool, list[str]]] = {
    "many VRs, explicit": (
        lambda: encode(many_vrs()),
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        False,
        MANY_VRS_EXPLICIT,
    ),
    "many VRs, implicit": (
        lambda: encode(many_vrs(), True),
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
        False,
        MANY_VRS_IMPLICIT,
    ),
    "many VRs, +dc": (lambda: encode(many_vrs()), uids.EXPLICIT_VR_LITTLE_ENDIAN, True, MANY_VRS_CORRECTED),
    "undefined lengths, explicit": (
        lambda: encode(undefined_lengths()),
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        False,
        UNDEFINED_EXPLICIT,
    ),
    "undefined lengths, implicit": (
        lambda: encode(undefined_lengths(), True),
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
        False,
        UNDEFINED_IMPLICIT,
    ),
    "odd values": (odd_values, uids.EXPLICIT_VR_LITTLE_ENDIAN, False, ODD_RAW),
    "odd values, +dc": (odd_values, uids.EXPLICIT_VR_LITTLE_ENDIAN, True, ODD_CORRECTED),
}


@pytest.mark.parametrize("name", CASES)
def test_dump_bytes_matches_dcmtk(name: str) -> None:
    make, syntax, correction, expected = CASES[name]
    text = dump_bytes(make(), syntax, correction=correction)
    assert text.split("\n")[1:-1] == expected


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith("odd")])
def test_dump_of_a_received_dataset_equals_dump_of_its_bytes(name: str) -> None:
    make, syntax, correction, _ = CASES[name]
    data = make()
    assert dump_dataset(decode_dataset(data, syntax), syntax, correction=correction) == dump_bytes(
        data, syntax, correction=correction
    )


def test_values_set_in_memory_show_unpadded_and_new_sequences_length_0() -> None:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = "D*"
    ds.StudyInstanceUID = ""
    item = Dataset()
    item.Modality = "CT"
    ds.ScheduledProcedureStepSequence = Sequence([item])
    lines = dump_dataset(ds).split("\n")
    assert lines[:3] == ["", "# Dicom-Data-Set", "# Used TransferSyntax: Little Endian Explicit"]
    assert lines[3:-1] == [
        "(0008,0052) CS [STUDY]                                  #   6, 1 QueryRetrieveLevel",
        "(0010,0010) PN [D*]                                     #   2, 1 PatientName",
        "(0020,000d) UI (no value available)                     #   0, 0 StudyInstanceUID",
        "(0040,0100) SQ (Sequence with explicit length #=1)      #   0, 1 ScheduledProcedureStepSequence",
        "  (fffe,e000) na (Item with explicit length #=1)          #   0, 1 Item",
        "    (0008,0060) CS [CT]                                     #   2, 1 Modality",
        "  (fffe,e00d) na (ItemDelimitationItem for re-encoding)   #   0, 0 ItemDelimitationItem",
        "(fffe,e0dd) na (SequenceDelimitationItem for re-encod.) #   0, 0 SequenceDelimitationItem",
    ]
    assert lines[-1] == ""


def test_padded_shows_values_set_in_memory_as_encoded() -> None:
    """DCMTK pads a data set's values when it sends it; its later dumps show the padding."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = "1.2.3"
    item = Dataset()
    item.Modality = "MRI"
    ds.ScheduledProcedureStepSequence = Sequence([item])
    lines = dump_dataset(ds, padded=True).split("\n")
    assert "(0008,0052) CS [STUDY ]                                 #   6, 1 QueryRetrieveLevel" in lines
    assert "(0020,000d) UI [1.2.3\0]                                 #   6, 1 StudyInstanceUID" in lines
    assert "    (0008,0060) CS [MRI ]                                   #   4, 1 Modality" in lines


LATIN1_NAME = b"\x10\x00\x10\x00PN\x0e\x00M\xfcller^J\xe9r\xf4me "


def test_bytes_that_are_not_utf8_kept_only_when_asked() -> None:
    kept = dump_bytes(LATIN1_NAME, uids.EXPLICIT_VR_LITTLE_ENDIAN, keep_bytes=True)
    line = kept.split("\n")[3]
    assert line.encode("utf-8", "surrogateescape") == (
        b"(0010,0010) PN [M\xfcller^J\xe9r\xf4me ]" + b" " * 24 + b" #  14, 1 PatientName"
    )
    replaced = dump_bytes(LATIN1_NAME, uids.EXPLICIT_VR_LITTLE_ENDIAN)
    assert "[M\ufffdller^J\ufffdr\ufffdme ]" in replaced


def test_deflated_and_big_endian_names() -> None:
    ds = Dataset()
    ds.PatientID = "12"
    fp = DicomBytesIO()
    fp.is_little_endian = False
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    text = dump_bytes(fp.getvalue(), uids.EXPLICIT_VR_BIG_ENDIAN)
    assert "# Used TransferSyntax: Big Endian Explicit" in text
    assert "(0010,0020) LO [12]" in text
    assert "Deflated Explicit VR Little Endian" in dump_bytes(
        encode(ds), uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
    )


@pytest.mark.parametrize(
    "data",
    [
        b"\x10\x00\x10\x00PN\x08\x00AB",  # value longer than the data
        b"\x10\x00\x10\x00",  # header cut short
        b"\x08\x00\x32\x10SQ\x00\x00\xff\xff\xff\xff\xfe\xff\x00\xe0\x00\x00\x00\x00",  # no delimiter
        b"\x08\x00\x32\x10SQ\x00\x00\x08\x00\x00\x00\x10\x00\x10\x00PN\x00\x00",  # not an item
    ],
)
def test_malformed_bytes_raise(data: bytes) -> None:
    with pytest.raises(DumpError):
        parse_dataset(data)
