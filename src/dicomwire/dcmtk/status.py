"""DCMTK's short status texts, as its tools print them after a response
(``Received Echo Response (Success)``, ``Sending C-STORE Response (Success)``).

The standard's meanings of the codes are :func:`dicomwire.dimse.status.describe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from dicomwire.dimse.status import Service, _lookup, _Range

__all__ = ["dcmtk_status_string"]

_COMPACT_STORE: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success"),
    (0x0122, 0x0122, "Refused: SOPClassNotSupported"),
    (0xA700, 0xA7FF, "Refused: OutOfResources"),
    (0xA900, 0xA9FF, "Error: DataSetDoesNotMatchSOPClass"),
    (0xB000, 0xB000, "Warning: CoercionOfDataElements"),
    (0xB006, 0xB006, "Warning: ElementsDiscarded"),
    (0xB007, 0xB007, "Warning: DataSetDoesNotMatchSOPClass"),
    (0xC000, 0xCFFF, "Error: CannotUnderstand"),
)
_COMPACT_FIND: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success"),
    (0x0122, 0x0122, "Refused: SOPClassNotSupported"),
    (0xA700, 0xA700, "Refused: OutOfResources"),
    (0xA900, 0xA900, "Error: DataSetDoesNotMatchSOPClass"),
    (0xC000, 0xCFFF, "Failed: UnableToProcess"),
    (0xFE00, 0xFE00, "Cancel: MatchingTerminatedDueToCancelRequest"),
    (0xFF00, 0xFF00, "Pending"),
    (0xFF01, 0xFF01, "Pending: WarningUnsupportedOptionalKeys"),
)
_COMPACT_GET: Final[tuple[_Range, ...]] = (
    (0x0000, 0x0000, "Success"),
    (0x0122, 0x0122, "Refused: SOPClassNotSupported"),
    (0xA701, 0xA701, "Refused: OutOfResourcesNumberOfMatches"),
    (0xA702, 0xA702, "Refused: OutOfResourcesSubOperations"),
    (0xA900, 0xA900, "Error: DataSetDoesNotMatchSOPClass"),
    (0xB000, 0xB000, "Warning: SubOperationsCompleteOneOrMoreFailures"),
    (0xC000, 0xCFFF, "Failed: UnableToProcess"),
    (0xFE00, 0xFE00, "Cancel: SubOperationsTerminatedDueToCancelIndication"),
    (0xFF00, 0xFF00, "Pending"),
)
_COMPACT: Final[Mapping[Service, tuple[_Range, ...]]] = {
    Service.ECHO: ((0x0000, 0x0000, "Success"),),
    Service.STORE: _COMPACT_STORE,
    Service.FIND: _COMPACT_FIND,
    Service.MOVE: ((0xA801, 0xA801, "Refused: MoveDestinationUnknown"), *_COMPACT_GET),
    Service.GET: _COMPACT_GET,
}


def dcmtk_status_string(status: int, service: Service | str) -> str:
    """DCMTK's compact status text, as its tools print after "Received ... Response"."""
    text = _lookup(_COMPACT[Service(service)], status)
    return text if text is not None else f"Unknown Status: 0x{status:x}"
