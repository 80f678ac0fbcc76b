"""storescu's words: DCMTK's transfer syntax names, SOP class labels, DIMSE dumps.

Texts as DCMTK 3.6.7's storescu prints them (observed by running it), so
people and scripts that read DCMTK's logs find the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping

from dicomwire import uids
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.dimse.status import describe

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


def xfer_name(transfer_syntax: str) -> str:
    """DCMTK's name of a transfer syntax; others by pydicom's keyword or the UID."""
    name = _XFER_NAMES.get(transfer_syntax)
    if name is not None:
        return name
    known = uids.TRANSFER_SYNTAXES.get(transfer_syntax)
    return (known.keyword if known is not None and known.keyword else None) or transfer_syntax


def modality(sop_class: str, default: str = "OT") -> str:
    """DCMTK's abbreviation of a SOP class ("CT", "MR", "SC"...), else ``default``."""
    known = uids.SOP_CLASSES.get(sop_class)
    return known.dcmtk_modality if known is not None and known.dcmtk_modality else default


def class_label(sop_class: str) -> str:
    """What "No presentation context for: (...)" shows: abbreviation, name, or "unknown SOP class"."""
    known = uids.SOP_CLASSES.get(sop_class)
    if known is not None and known.dcmtk_modality:
        return known.dcmtk_modality
    if known is not None and known.dcmtk_name:
        return known.dcmtk_name
    return "unknown SOP class"


def _uid_text(uid: str | None) -> str:
    if not uid:
        return "none"
    name = uids.name_of(uid)
    known = uids.SOP_CLASSES.get(uid)
    return name if known is not None and known.dcmtk_name else uid


_PRIORITIES = {Priority.MEDIUM: "medium", Priority.HIGH: "high", Priority.LOW: "low"}
_RULE_OPEN = "===================== {} DIMSE MESSAGE ===================="
_RULE_CLOSE = "======================= END DIMSE MESSAGE ======================="


def dump_store_request(request: CStoreRQ) -> str:
    """DCMTK's dump of an outgoing C-STORE-RQ (debug level)."""
    lines = [
        _RULE_OPEN.format("OUTGOING"),
        "Message Type                  : C-STORE RQ",
        f"Message ID                    : {request.message_id}",
        f"Affected SOP Class UID        : {_uid_text(request.affected_sop_class_uid)}",
        f"Affected SOP Instance UID     : {request.affected_sop_instance_uid}",
    ]
    if request.move_originator_application_entity_title:
        lines.append(f"Move Originator AE Title      : {request.move_originator_application_entity_title}")
    if request.move_originator_message_id is not None:
        lines.append(f"Move Originator ID            : {request.move_originator_message_id}")
    lines += [
        "Data Set                      : present",
        f"Priority                      : {_PRIORITIES.get(Priority(request.priority), 'medium')}",
        _RULE_CLOSE,
    ]
    return "\n".join(lines)


def dump_store_response(response: CStoreRSP, context_id: int | None) -> str:
    """DCMTK's dump of an incoming C-STORE-RSP (debug level)."""
    lines = [_RULE_OPEN.format("INCOMING"), "Message Type                  : C-STORE RSP"]
    if context_id is not None:
        lines.append(f"Presentation Context ID       : {context_id}")
    lines += [
        f"Message ID Being Responded To : {response.message_id_being_responded_to}",
        f"Affected SOP Class UID        : {_uid_text(response.affected_sop_class_uid)}",
        f"Affected SOP Instance UID     : {response.affected_sop_instance_uid or 'none'}",
        "Data Set                      : none",
        f"DIMSE Status                  : 0x{response.status:04x}: {describe(response.status, 'store')}",
    ]
    if response.error_comment:
        lines.append(f"Error Comment                 : {response.error_comment}")
    lines.append(_RULE_CLOSE)
    return "\n".join(lines)
