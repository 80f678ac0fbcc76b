"""dcmrecv's association dumps (``+v`` at verbose level, else at debug level).

DCMTK's acceptor prints the A-ASSOCIATE-RQ as it arrived and the
A-ASSOCIATE-AC it answers, from its own point of view: "Our Implementation
Class UID" is the acceptor's.  ``assocdump.dump_association`` speaks for the
requestor, so the lines that depend on the point of view are rewritten here.
The dumps are produced by the acceptor's request check, which runs before
negotiation, so the answer is computed with the same (pure) negotiation the
server is about to apply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from dicomwire.config import AcceptorSettings, RequestCheck
from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.net.server import negotiate
from dicomwire.ul.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ

__all__ = ["acceptor_view", "association_logger"]

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
    """``settings`` with a request check that logs the dumps at ``level`` (and
    then defers to the check ``settings`` already had)."""
    previous: RequestCheck | None = settings.check
    plain = replace(settings, check=None)

    def check(request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ | None:
        if previous is not None and (rejection := previous(request, peer)) is not None:
            return rejection
        outcome = negotiate(plain, request, peer)
        if log.isEnabledFor(level):
            log.log(level, "Incoming Association Request:\n%s", "\n".join(acceptor_view(settings, request)))
        if isinstance(outcome, AAssociateRJ):
            log.info("No Acceptable Presentation Contexts")
        elif log.isEnabledFor(level):
            log.log(level, "%s", "\n".join(acceptor_view(settings, request, outcome[0])))
        return None

    return replace(settings, check=check)
