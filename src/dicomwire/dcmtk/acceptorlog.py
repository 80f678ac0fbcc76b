"""dcmrecv's association lines and dumps (``+v`` at verbose level, else at debug level).

DCMTK's acceptor prints the A-ASSOCIATE-RQ as it arrived and the
A-ASSOCIATE-AC it answers, from its own point of view: "Our Implementation
Class UID" is the acceptor's.  ``assocdump.dump_association`` speaks for the
requestor, so the lines that depend on the point of view are rewritten here.
The request dump comes from the acceptor's request check, which runs before
negotiation; the answer's dump follows ``Association Acknowledged``, as in
DCMTK, from :class:`DcmrecvAssociationLog` (the server's association events),
which also words timeouts and aborts as DCMTK's DcmSCP does.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from pydicom.datadict import keyword_for_tag

from dicomwire.config import AcceptorSettings, RequestCheck
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.dcmtk.formats.tlsdump import connection_details
from dicomwire.dcmtk.netreport import tls_condition
from dicomwire.errors import AssociationAborted, DicomWireError, DimseTimeout, TLSHandshakeError
from dicomwire.net.association import Association
from dicomwire.net.server import AssociationLog, negotiate
from dicomwire.services.stream_walk import IncompleteDataset
from dicomwire.ul.machine import ARTIM_EXPIRED
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ

__all__ = ["DcmrecvAssociationLog", "acceptor_view", "association_logger"]

_LABEL = re.compile(r"([^:]*:\s*)")


def acceptor_view(
    settings: AcceptorSettings, request: AAssociateRQ, accept: AAssociateAC | None = None
) -> list[str]:
    """DCMTK's dump of a received request (and of our answer) as the acceptor prints it."""
    theirs = request.user_information
    values = {
        "Our Implementation Class UID": settings.implementation_class_uid,
        "Our Implementation Version Name": settings.implementation_version_name,
        "Their Implementation Class UID": theirs.implementation_class_uid,
        "Their Implementation Version Name": theirs.implementation_version_name,
        "Responding Application Name": accept.called_ae if accept is not None else "",
        "Our Max PDU Receive Size": str(settings.max_pdu_length),
        "Their Max PDU Receive Size": str(theirs.max_length or 0),
    }
    lines = []
    for line in dump_association(request, accept):
        label = line.split(":", 1)[0]
        match = _LABEL.match(line)
        if label in values and match is not None:
            line = match.group(1) + values[label]
        lines.append(line)
    return lines


def association_logger(settings: AcceptorSettings, log: logging.Logger, level: int) -> AcceptorSettings:
    """``settings`` with a request check that logs the request's dump at ``level``
    (and then defers to the check ``settings`` already had)."""
    previous: RequestCheck | None = settings.check
    plain = replace(settings, check=None, identity=None)  # the identity is verified once, later

    def check(request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ | None:
        if previous is not None and (rejection := previous(request, peer)) is not None:
            return rejection
        outcome = negotiate(plain, request, peer)
        if log.isEnabledFor(level):
            log.log(level, "Incoming Association Request:\n%s", "\n".join(acceptor_view(settings, request)))
        if isinstance(outcome, AAssociateRJ):
            log.info("No Acceptable Presentation Contexts")
        return None

    return replace(settings, check=check)


class DcmrecvAssociationLog(AssociationLog):
    """The server's association events in dcmrecv's (DcmSCP's) words, where they
    differ from the library's; the answer's dump at ``level`` after ``Association
    Acknowledged``."""

    def __init__(self, settings: AcceptorSettings, log: logging.Logger, level: int) -> None:
        self.settings = settings
        self.log = log
        self.level = level

    def received(self, assoc: Association, request: AAssociateRQ) -> None:
        if assoc.tls is not None and self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s", connection_details(assoc.tls))
        super().received(assoc, request)

    def acknowledged(self, assoc: Association) -> None:
        self.log.info("Association Acknowledged (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))
        if assoc.request is not None and self.log.isEnabledFor(self.level):
            self.log.log(
                self.level, "%s", "\n".join(acceptor_view(self.settings, assoc.request, assoc.accept))
            )

    def aborted(self, assoc: Association, error: AssociationAborted) -> None:
        if assoc.request is None and str(error).endswith(ARTIM_EXPIRED):
            self.log.error("Could not receive association request: DUL network read timeout")
        elif str(error) == str(AssociationAborted(error.source, error.reason)):
            self.log.info("Received Association Abort Request")  # the peer's A-ABORT: no detail
        else:
            super().aborted(assoc, error)

    def handshake_failed(self, address: str, error: TLSHandshakeError) -> None:
        # DcmSCP's line: the condition's text without its code
        self.log.error("Could not receive association request: %s", tls_condition(error).split(" ", 1)[1])

    def failed(self, assoc: Association, error: DicomWireError) -> None:
        if isinstance(error, DimseTimeout):  # -td: DcmSCP only says so at debug level
            self.log.debug(
                "DIMSE Error, detail (if available): 0006:0207 DIMSE No data available"
                " (timeout in non-blocking mode)"
            )
        elif isinstance(error, IncompleteDataset):
            self.log.error("%s", _incomplete_line(error))  # then DCMTK aborts, as we do
        else:
            super().failed(assoc, error)


def _incomplete_line(error: IncompleteDataset) -> str:
    """DCMTK's line for a data set whose last element is cut off (DcmElement's parse error)."""
    if error.tag is None:
        return str(error)
    name = keyword_for_tag(error.tag) or "Unknown Tag & Data"
    return (
        f"DcmElement: {name} ({error.tag >> 16:04x},{error.tag & 0xFFFF:04x}) larger ({error.claimed})"
        f" than remaining bytes ({error.remaining}) in file, premature end of stream"
    )
