"""DCMTK's display names of transfer syntaxes (its DcmXfer table), written once.

dcmdump's ``# Used TransferSyntax: ...``, dcm2xml's ``xfer`` attribute and storescu's
``Converting transfer syntax: ... -> ...`` all print these names.
"""

from __future__ import annotations

from collections.abc import Mapping

from dicomwire import uids

__all__ = ["dcmtk_xfer_name", "xfer_name"]

# DCMTK's display names of transfer syntaxes (DcmXfer), as dcmdump shows them.
_XFER_NAMES: Mapping[str, str] = {
    "1.2.840.10008.1.2": "Little Endian Implicit",
    "1.2.840.10008.1.2.1": "Little Endian Explicit",
    "1.2.840.10008.1.2.2": "Big Endian Explicit",
    "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
    "1.2.840.10008.1.2.4.50": "JPEG Baseline",
    "1.2.840.10008.1.2.4.51": "JPEG Extended, Process 2+4",
    "1.2.840.10008.1.2.4.52": "JPEG Extended, Process 3+5",
    "1.2.840.10008.1.2.4.53": "JPEG Spectral Selection, Non-hierarchical, Process 6+8",
    "1.2.840.10008.1.2.4.54": "JPEG Spectral Selection, Non-hierarchical, Process 7+9",
    "1.2.840.10008.1.2.4.55": "JPEG Full Progression, Non-hierarchical, Process 10+12",
    "1.2.840.10008.1.2.4.56": "JPEG Full Progression, Non-hierarchical, Process 11+13",
    "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-hierarchical, Process 14",
    "1.2.840.10008.1.2.4.58": "JPEG Lossless, Non-hierarchical, Process 15",
    "1.2.840.10008.1.2.4.59": "JPEG Extended, Hierarchical, Process 16+18",
    "1.2.840.10008.1.2.4.60": "JPEG Extended, Hierarchical, Process 17+19",
    "1.2.840.10008.1.2.4.61": "JPEG Spectral Selection, Hierarchical, Process 20+22",
    "1.2.840.10008.1.2.4.62": "JPEG Spectral Selection, Hierarchical, Process 21+23",
    "1.2.840.10008.1.2.4.63": "JPEG Full Progression, Hierarchical, Process 24+26",
    "1.2.840.10008.1.2.4.64": "JPEG Full Progression, Hierarchical, Process 25+27",
    "1.2.840.10008.1.2.4.65": "JPEG Lossless, Hierarchical, Process 28",
    "1.2.840.10008.1.2.4.66": "JPEG Lossless, Hierarchical, Process 29",
    "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-hierarchical, 1st Order Prediction",
    "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
    "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-lossless)",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless only)",
    "1.2.840.10008.1.2.4.91": "JPEG 2000 (Lossless or Lossy)",
    "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multicomponent Image Compression (Lossless only)",
    "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multicomponent Image Compression (Lossless or Lossy)",
    "1.2.840.10008.1.2.4.94": "JPIP Referenced",
    "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
    "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile @ Main Level",
    "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile @ High Level",
    "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
    "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
    "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
    "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
    "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
    "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
    "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
    "1.2.840.10008.1.2.5": "RLE Lossless",
}


def dcmtk_xfer_name(transfer_syntax: str) -> str | None:
    """DCMTK's name of a transfer syntax, None for one DCMTK does not know."""
    return _XFER_NAMES.get(transfer_syntax)


def xfer_name(transfer_syntax: str) -> str:
    """DCMTK's name of a transfer syntax; others by pydicom's keyword or the UID."""
    name = _XFER_NAMES.get(transfer_syntax)
    if name is not None:
        return name
    known = uids.TRANSFER_SYNTAXES.get(transfer_syntax)
    return (known.keyword if known is not None and known.keyword else None) or transfer_syntax
