"""storescu's words: DCMTK's transfer syntax names, SOP class labels, DIMSE dumps.

Texts as DCMTK 3.6.7's storescu prints them (observed by running it), so
people and scripts that read DCMTK's logs find the same lines.
"""

from __future__ import annotations

from dicomwire import uids
from dicomwire.dcmtk.xfer import xfer_name

__all__ = ["class_label", "modality", "xfer_name"]


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
