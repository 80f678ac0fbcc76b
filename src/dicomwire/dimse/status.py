"""DIMSE status codes: constants, status classes, meanings (PS3.7 Annex C, PS3.4).

``describe(status, service)`` spells a status as words:

* ``describe(status, service)`` - the meaning in words, spelled the way DCMTK
  3.6.7 prints it in its message dumps (``D: DIMSE Status : 0xb000: Warning:
  Coercion of Data Elements``) where DCMTK has a text, otherwise the
  standard's meaning.

DCMTK's compact form of the ``-v`` summary lines (``Warning:
CoercionOfDataElements``) is :func:`dicomwire.dcmtk.status.dcmtk_status_string`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, StrEnum
from typing import Final

# -- constants ---------------------------------------------------------------------
SUCCESS: Final = 0x0000
CANCEL: Final = 0xFE00
PENDING: Final = 0xFF00
PENDING_WARNING: Final = 0xFF01  # C-FIND: optional keys not supported

# warnings
OPTIONAL_ATTRIBUTES_NOT_SUPPORTED: Final = 0x0001
ATTRIBUTE_LIST_ERROR: Final = 0x0107
ATTRIBUTE_VALUE_OUT_OF_RANGE: Final = 0x0116
COERCION_OF_DATA_ELEMENTS: Final = 0xB000  # C-STORE
SUBOPERATIONS_COMPLETE_WITH_FAILURES: Final = 0xB000  # C-MOVE, C-GET
ELEMENTS_DISCARDED: Final = 0xB006
DATA_SET_DOES_NOT_MATCH_SOP_CLASS_WARNING: Final = 0xB007

# failures, service specific (PS3.4)
OUT_OF_RESOURCES: Final = 0xA700
OUT_OF_RESOURCES_MATCHES: Final = 0xA701  # unable to calculate number of matches
OUT_OF_RESOURCES_SUBOPERATIONS: Final = 0xA702  # unable to perform sub-operations
MOVE_DESTINATION_UNKNOWN: Final = 0xA801
DATA_SET_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS: Final = 0xA900
CANNOT_UNDERSTAND: Final = 0xC000  # C-STORE, Cxxx
UNABLE_TO_PROCESS: Final = 0xC000  # C-FIND/MOVE/GET, Cxxx

# failures, general (PS3.7 C.5)
NO_SUCH_ATTRIBUTE: Final = 0x0105
INVALID_ATTRIBUTE_VALUE: Final = 0x0106
PROCESSING_FAILURE: Final = 0x0110
DUPLICATE_SOP_INSTANCE: Final = 0x0111
NO_SUCH_SOP_INSTANCE: Final = 0x0112
NO_SUCH_EVENT_TYPE: Final = 0x0113
NO_SUCH_ARGUMENT: Final = 0x0114
INVALID_ARGUMENT_VALUE: Final = 0x0115
INVALID_OBJECT_INSTANCE: Final = 0x0117
NO_SUCH_SOP_CLASS: Final = 0x0118
CLASS_INSTANCE_CONFLICT: Final = 0x0119
MISSING_ATTRIBUTE: Final = 0x0120
MISSING_ATTRIBUTE_VALUE: Final = 0x0121
SOP_CLASS_NOT_SUPPORTED: Final = 0x0122
NO_SUCH_ACTION: Final = 0x0123
NOT_AUTHORIZED: Final = 0x0124
DUPLICATE_INVOCATION: Final = 0x0210
UNRECOGNIZED_OPERATION: Final = 0x0211
MISTYPED_ARGUMENT: Final = 0x0212
RESOURCE_LIMITATION: Final = 0x0213


class StatusCategory(Enum):
    """The status classes of PS3.7 Annex C."""

    SUCCESS = "Success"
    WARNING = "Warning"
    FAILURE = "Failure"
    CANCEL = "Cancel"
    PENDING = "Pending"


class Service(StrEnum):
    """The DIMSE-C service a response belongs to (meanings differ per service)."""

    ECHO = "echo"
    STORE = "store"
    FIND = "find"
    MOVE = "move"
    GET = "get"


# -- classes (PS3.7 Annex C) ------------------------------------------------------------
# Success 0000; Warning 0001, Bxxx, 0107, 0116; Failure Axxx, Cxxx, 01xx, 02xx;
# Cancel FE00; Pending FF00, FF01.  Codes outside these are not allowed; we
# treat them as failures.
_EXACT_CATEGORY: Final[Mapping[int, StatusCategory]] = {
    SUCCESS: StatusCategory.SUCCESS,
    OPTIONAL_ATTRIBUTES_NOT_SUPPORTED: StatusCategory.WARNING,
    ATTRIBUTE_LIST_ERROR: StatusCategory.WARNING,
    ATTRIBUTE_VALUE_OUT_OF_RANGE: StatusCategory.WARNING,
    CANCEL: StatusCategory.CANCEL,
    PENDING: StatusCategory.PENDING,
    PENDING_WARNING: StatusCategory.PENDING,
}
# By the high byte, for codes not in the exact table.
_HIGH_BYTE_CATEGORY: Final[Mapping[int, StatusCategory]] = {
    b: StatusCategory.WARNING for b in range(0xB0, 0xC0)
}
_STANDARD_HIGH_BYTES: Final = frozenset(
    [0x01, 0x02, *range(0xA0, 0xB0), *range(0xB0, 0xC0), *range(0xC0, 0xD0)]
)


def category(status: int) -> StatusCategory:
    """The status class of ``status``; anything unknown counts as a failure."""
    found = _EXACT_CATEGORY.get(status)
    if found is not None:
        return found
    return _HIGH_BYTE_CATEGORY.get(status >> 8, StatusCategory.FAILURE)


def is_standard(status: int) -> bool:
    """Whether ``status`` lies in one of the ranges PS3.7 Annex C allows."""
    return status in _EXACT_CATEGORY or (status >> 8) in _STANDARD_HIGH_BYTES


# -- meanings -----------------------------------------------------------------------------
# (first, last, text); first match wins.  Texts as DCMTK 3.6.7 prints them in
# its message dumps where it has one, the standard's meaning otherwise.
_Range = tuple[int, int, str]

_STORE: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success"),
    (0xA700, 0xA7FF, "Refused: Out of resources"),
    (0xA900, 0xA9FF, "Error: Data Set does not match SOP Class"),
    (0xC000, 0xCFFF, "Error: Cannot understand"),
    (0xB000, 0xB000, "Warning: Coercion of Data Elements"),
    (0xB006, 0xB006, "Warning: Elements discarded"),
    (0xB007, 0xB007, "Warning: Data Set does not match SOP Class"),
)
_FIND: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success: Matching is complete"),
    (0xA700, 0xA700, "Refused: Out of resources"),
    (0xA900, 0xA900, "Error: Data Set does not match SOP Class"),
    (0xC000, 0xCFFF, "Failed: Unable to process"),
    (0xFE00, 0xFE00, "Cancel: Matching terminated due to Cancel Request"),
    (0xFF00, 0xFF00, "Pending: Matches are continuing"),
    (0xFF01, 0xFF01, "Pending: Matches are continuing - Warning: Unsupported optional keys"),
)
_RETRIEVE: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success: Sub-operations complete - No failures or warnings"),
    (0xA701, 0xA701, "Refused: Out of resources - Unable to calculate number of matches"),
    (0xA702, 0xA702, "Refused: Out of resources - Unable to perform sub-operations"),
    (0xA900, 0xA900, "Error: Data Set does not match SOP Class"),
    (0xB000, 0xB000, "Warning: Sub-operations complete - One or more failures or warnings"),
    (0xC000, 0xCFFF, "Failed: Unable to process"),
    (0xFE00, 0xFE00, "Cancel: Sub-operations terminated due to Cancel Indication"),
    (0xFF00, 0xFF00, "Pending: Sub-operations are continuing"),
)
_MOVE: Final[tuple[_Range, ...]] = (
    (0xA801, 0xA801, "Refused: Move Destination unknown"),
    *_RETRIEVE,
)
_GENERAL: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success"),
    (0x0001, 0x0001, "Warning: Requested optional Attributes are not supported"),
    (0x0105, 0x0105, "Failure: No such attribute"),
    (0x0106, 0x0106, "Failure: Invalid attribute value"),
    (0x0107, 0x0107, "Warning: Attribute list error"),
    (0x0110, 0x0110, "Failure: Processing failure"),
    (0x0111, 0x0111, "Failure: Duplicate SOP Instance"),
    (0x0112, 0x0112, "Failure: No such SOP Instance"),
    (0x0113, 0x0113, "Failure: No such event type"),
    (0x0114, 0x0114, "Failure: No such argument"),
    (0x0115, 0x0115, "Failure: Invalid argument value"),
    (0x0116, 0x0116, "Warning: Attribute value out of range"),
    (0x0117, 0x0117, "Failure: Invalid SOP Instance"),
    (0x0118, 0x0118, "Failure: No such SOP Class"),
    (0x0119, 0x0119, "Failure: Class-instance conflict"),
    (0x0120, 0x0120, "Failure: Missing attribute"),
    (0x0121, 0x0121, "Failure: Missing attribute value"),
    (0x0122, 0x0122, "Refused: SOP Class not supported"),
    (0x0123, 0x0123, "Failure: No such action"),
    (0x0124, 0x0124, "Refused: Not authorized"),
    (0x0210, 0x0210, "Failure: Duplicate invocation"),
    (0x0211, 0x0211, "Failure: Unrecognized operation"),
    (0x0212, 0x0212, "Failure: Mistyped argument"),
    (0x0213, 0x0213, "Failure: Resource limitation"),
)
# When the service is not known: the meanings the DIMSE-C services share.
_ANY_SERVICE: Final[tuple[_Range, ...]] = (
    (0xA700, 0xA7FF, "Refused: Out of resources"),
    (0xA900, 0xA9FF, "Error: Data Set does not match SOP Class"),
)
_MEANINGS: Final[Mapping[Service | None, tuple[_Range, ...]]] = {
    None: _ANY_SERVICE,
    Service.ECHO: ((0x0000, 0x0000, "Success"),),
    Service.STORE: _STORE,
    Service.FIND: _FIND,
    Service.MOVE: _MOVE,
    Service.GET: _RETRIEVE,
}
NON_STANDARD: Final = "Unknown Status Code (non-standard)"


def _lookup(table: tuple[_Range, ...], status: int) -> str | None:
    for first, last, text in table:
        if first <= status <= last:
            return text
    return None


def describe(status: int, service: Service | str | None = None) -> str:
    """The meaning of ``status``, per ``service`` where meanings differ.

    Without a service only the meanings the services share are used.  Falls
    back to the general meanings of PS3.7 Annex C, then to the bare
    status class ("Warning", "Failure", ...), and for codes outside every
    class to DCMTK's "Unknown Status Code (non-standard)".
    """
    text = _lookup(_MEANINGS[None if service is None else Service(service)], status)
    if text is None:
        text = _lookup(_GENERAL, status)
    if text is not None:
        return text
    if not is_standard(status):
        return NON_STANDARD
    return category(status).value


# -- DCMTK's compact strings (DU_c*StatusString in dcmnet 3.6.7) -----------------------
