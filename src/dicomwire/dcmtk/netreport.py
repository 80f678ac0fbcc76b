"""How the tools report a failed association request, in DCMTK's words.

DCMTK prints its condition codes (``0006:031c``...) with the text; scripts
and people grep for these lines, so we print the same ones.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Final

from dicomwire.errors import (
    AcseTimeout,
    AssociationAborted,
    AssociationRejected,
    ConnectError,
    DicomTimeout,
    DicomWireError,
    NetworkTimeout,
    RemoteProtocolError,
    TLSHandshakeError,
)
from dicomwire.net.client import open_association

if TYPE_CHECKING:
    from dicomwire.config import RequestorSettings
    from dicomwire.net.association import Association

#: DCMTK's condition texts for a peer gone and for a DIMSE timeout.
PEER_ABORTED: Final = "0006:0317 Peer aborted Association (or never connected)"
DIMSE_TIMEOUT: Final = "0006:0207 DIMSE No data available (timeout in non-blocking mode)"

_RESULTS: Final = {1: "Rejected Permanent", 2: "Rejected Transient"}
_SOURCES: Final = {
    1: "Service User",
    2: "Service Provider (ACSE Related)",
    3: "Service Provider (Presentation Related)",
}
_REASONS: Final = {
    (1, 1): "No Reason",
    (1, 2): "App Context Name Not Supported",
    (1, 3): "Calling AE Title Not Recognized",
    (1, 7): "Called AE Title Not Recognized",
    (2, 1): "No Reason",
    (2, 2): "Protocol Version Not Supported",
    (3, 1): "Temporary Congestion",
    (3, 2): "Local Limit Exceeded",
}
# What DCMTK substitutes for a code outside PS3.8 Table 9-21 (after its E: line).
_DEFAULT_RESULT: Final = _RESULTS[1]
_DEFAULT_SOURCE: Final = _SOURCES[1]
_DEFAULT_REASON: Final = _REASONS[(1, 1)]


def rejection_complaints(exc: AssociationRejected) -> list[str]:
    """DCMTK's error lines for the codes of an A-ASSOCIATE-RJ it does not know.

    DCMTK checks the reason together with the source as it came (``0x0401`` for
    source 4, reason 1), so an unknown source makes the reason unknown too."""
    complaints = []
    if exc.result not in _RESULTS:
        complaints.append(_complaint("result", exc.result))
    if exc.source not in _SOURCES:
        complaints.append(_complaint("source", exc.source))
    if (exc.source, exc.reason) not in _REASONS:
        complaints.append(_complaint("reason", exc.source << 8 | exc.reason))
    return complaints


def _complaint(field: str, code: int) -> str:
    return f"Received invalid A-ASSOCIATE-RJ reject {field} 0x{code:04x}, using default."


def rejection_lines(exc: AssociationRejected) -> list[str]:
    """The three lines DCMTK prints for an A-ASSOCIATE-RJ (its defaults for unknown codes)."""
    result = _RESULTS.get(exc.result, _DEFAULT_RESULT)
    source = _SOURCES.get(exc.source, _DEFAULT_SOURCE)
    reason = _REASONS.get((exc.source, exc.reason), _DEFAULT_REASON)
    return ["Association Rejected:", f"Result: {result}, Source: {source}", f"Reason: {reason}"]


def report_rejection(log: logging.Logger, exc: AssociationRejected, level: int = logging.FATAL) -> None:
    """DCMTK's lines for an A-ASSOCIATE-RJ: errors for unknown codes, then the rejection at ``level``."""
    for complaint in rejection_complaints(exc):
        log.error("%s", complaint)
    for line in rejection_lines(exc):
        log.log(level, "%s", line)


def failure_text(exc: DicomWireError) -> str:
    """``0006:xxxx Text`` as DCMTK's condition for a failed request."""
    if isinstance(exc, TLSHandshakeError):
        return tls_condition(exc)
    if isinstance(exc, ConnectError):
        if exc.unknown_host:
            return f"0006:0320 {exc}"
        return f"0006:031c TCP Initialization Error: {exc}"
    if isinstance(exc, AcseTimeout | NetworkTimeout):
        return "0006:031a DUL network read timeout"
    if isinstance(exc, AssociationAborted):
        return PEER_ABORTED
    return f"0006:0321 {exc}"


# DCMTK numbers an OpenSSL reason of the SSL library as 000b:(0800 + reason).
_TLS_REASON_OFFSET = 0x800


def tls_condition(exc: TLSHandshakeError) -> str:
    """DCMTK's condition for a failed TLS handshake: ``000b:0886 TLS error: certificate verify failed``."""
    if exc.code:
        return f"000b:{_TLS_REASON_OFFSET + exc.code:04x} TLS error: {exc.reason}"
    if exc.reason == "timeout":
        return "000b:000b TLS read operation did not complete (SSL_ERROR_WANT_READ)"
    if exc.reason == "syscall":
        return "000b:0017 OpenSSL I/O error (SSL_ERROR_SYSCALL)"
    return f"0006:031c TCP Initialization Error: {exc}"


def report_association_failure(log: logging.Logger, exc: DicomWireError, level: int = logging.FATAL) -> None:
    """DCMTK's lines for a failed request (echoscu/storescu log them as fatal, findscu as error)."""
    if isinstance(exc, AssociationRejected):
        report_rejection(log, exc, level)
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
    tls: ssl.SSLContext | None = None,
) -> Association:
    """DCMTK's request sequence: dump the request, ``Requesting Association``,
    connect (over TLS with ``tls``), report a failure in DCMTK's words (then
    raise AssociationFailed), dump the negotiated parameters."""
    if log.isEnabledFor(dump_level):
        from dicomwire.dcmtk.formats.assocdump import dump_association  # the dumps: -d only

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
        assoc = await open_association(peer, port, settings, tls=tls)
    except DicomWireError as exc:
        report_association_failure(log, exc, failure_level)
        raise AssociationFailed(str(exc)) from exc
    if assoc.tls is not None and log.isEnabledFor(logging.DEBUG):
        from dicomwire.dcmtk.formats.tlsdump import connection_details

        log.debug("%s", connection_details(assoc.tls))
    if log.isEnabledFor(dump_level) and assoc.request is not None and assoc.accept is not None:
        from dicomwire.dcmtk.formats.assocdump import dump_association

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
