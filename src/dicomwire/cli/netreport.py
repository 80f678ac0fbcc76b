"""How the tools report a failed association request, in DCMTK's words.

DCMTK prints its condition codes (``0006:031c``...) with the text; scripts
and people grep for these lines, so we print the same ones.
"""

from __future__ import annotations

import logging

from dicomwire.errors import (
    AcseTimeout,
    AssociationAborted,
    AssociationRejected,
    ConnectError,
    DicomWireError,
    NetworkTimeout,
)

_RESULTS = {1: "Rejected Permanent", 2: "Rejected Transient"}
_SOURCES = {
    1: "Service User",
    2: "Service Provider (ACSE Related Function)",
    3: "Service Provider (Presentation Related Function)",
}
_REASONS = {
    (1, 1): "No Reason",
    (1, 2): "Application Context Name Not Supported",
    (1, 3): "Calling AE Title Not Recognized",
    (1, 7): "Called AE Title Not Recognized",
    (2, 1): "No Reason",
    (2, 2): "Protocol Version Not Supported",
    (3, 1): "Temporary Congestion",
    (3, 2): "Local Limit Exceeded",
}


def rejection_lines(exc: AssociationRejected) -> list[str]:
    """The three lines DCMTK prints for an A-ASSOCIATE-RJ."""
    result = _RESULTS.get(exc.result, f"Unknown ({exc.result})")
    source = _SOURCES.get(exc.source, f"Unknown ({exc.source})")
    reason = _REASONS.get((exc.source, exc.reason), f"Unknown ({exc.reason})")
    return ["Association Rejected:", f"Result: {result}, Source: {source}", f"Reason: {reason}"]


def failure_text(exc: DicomWireError) -> str:
    """``0006:xxxx Text`` as DCMTK's condition for a failed request."""
    if isinstance(exc, ConnectError):
        if exc.unknown_host:
            return f"0006:0320 {exc}"
        return f"0006:031c TCP Initialization Error: {exc}"
    if isinstance(exc, AcseTimeout | NetworkTimeout):
        return "0006:031a DUL network read timeout"
    if isinstance(exc, AssociationAborted):
        return f"0006:0317 Peer aborted Association (or never connected): {exc}"
    return f"0006:0321 {exc}"


def report_association_failure(log: logging.Logger, exc: DicomWireError) -> None:
    if isinstance(exc, AssociationRejected):
        for line in rejection_lines(exc):
            log.fatal("%s", line)
    else:
        log.fatal("Association Request Failed: %s", failure_text(exc))
