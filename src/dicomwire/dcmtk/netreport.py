"""How the tools report a failed association request, in DCMTK's words.

DCMTK prints its condition codes (``0006:031c``...) with the text; scripts
and people grep for these lines, so we print the same ones.
"""

from __future__ import annotations

import logging
from typing import Final

from dicomwire.config import RequestorSettings
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.errors import (
    AcseTimeout,
    AssociationAborted,
    AssociationRejected,
    ConnectError,
    DicomTimeout,
    DicomWireError,
    NetworkTimeout,
    RemoteProtocolError,
)
from dicomwire.net.association import Association
from dicomwire.net.client import open_association

#: DCMTK's condition texts for a peer gone and for a DIMSE timeout.
PEER_ABORTED: Final = "0006:0317 Peer aborted Association (or never connected)"
DIMSE_TIMEOUT: Final = "0006:0207 DIMSE No data available (timeout in non-blocking mode)"

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


def report_association_failure(log: logging.Logger, exc: DicomWireError, level: int = logging.FATAL) -> None:
    """DCMTK's lines for a failed request (echoscu/storescu log them as fatal, findscu as error)."""
    if isinstance(exc, AssociationRejected):
        for line in rejection_lines(exc):
            log.log(level, "%s", line)
    else:
        log.log(level, "Association Request Failed: %s", failure_text(exc))


class AssociationFailed(DicomWireError):
    """The association request failed and the failure has been logged."""


async def request_association(
    log: logging.Logger,
    peer: str,
    port: int,
    settings: RequestorSettings,
    *,
    dump_level: int = logging.DEBUG,
    failure_level: int = logging.FATAL,
) -> Association:
    """DCMTK's request sequence: dump the request, ``Requesting Association``,
    connect, report a failure in DCMTK's words (then raise AssociationFailed),
    dump the negotiated parameters."""
    if log.isEnabledFor(dump_level):
        log.log(dump_level, "Request Parameters:\n%s", "\n".join(dump_association(settings.build_request())))
    log.info("Requesting Association")
    if not settings.contexts:
        log.log(
            failure_level,
            "Association Request Failed: 0006:0103 ASC Coding error in ASC_requestAssociation: "
            "missing presentation contexts",
        )
        raise AssociationFailed("no presentation context to propose")
    try:
        assoc = await open_association(peer, port, settings)
    except DicomWireError as exc:
        report_association_failure(log, exc, failure_level)
        raise AssociationFailed(str(exc)) from exc
    if log.isEnabledFor(dump_level) and assoc.request is not None and assoc.accept is not None:
        log.log(
            dump_level,
            "Association Parameters Negotiated:\n%s",
            "\n".join(dump_association(assoc.request, assoc.accept)),
        )
    return assoc


def dimse_condition(exc: DicomWireError) -> str:
    """DCMTK's condition (code and text) for a DIMSE exchange that failed with ``exc``."""
    if isinstance(exc, AssociationAborted):
        return PEER_ABORTED
    if isinstance(exc, DicomTimeout):
        return DIMSE_TIMEOUT
    if isinstance(exc, RemoteProtocolError):
        return f"0006:0211 {exc}"
    return f"0006:020e {exc}"
