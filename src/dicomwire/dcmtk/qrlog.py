"""dcmqrscp's lines for each DIMSE message, as DCMTK 3.6.7's archive prints them at ``-v``.

Observed with ``dcmqrscp -v``: a C-STORE-RQ is announced ``Received Store SCP:``
followed by its DIMSE dump, its response ``Sending:`` and its dump; a C-FIND-RQ
``Received Find SCP:`` and its dump, then one ``Find SCP Response N [status: X]``
line per response (C-MOVE and C-GET: ``Received Move SCP:`` / ``Received Get SCP:``,
``Move SCP Response N [status: X]``); each C-STORE sub-operation ``Store SCU RQ:
MsgID N, (MOD)`` and ``Move SCP: Received Store SCU RSP [Status=Success]`` (``Get
SCP:`` for C-GET); a C-ECHO-RQ ``Received Echo SCP RQ: MsgID N``.  (The association
lines come from :class:`DcmqrscpAssociationLog`: ``Association Received
(host:CALLING -> CALLED)``, ``Refusing Association (BadAEService)``, ``Association
Acknowledged (Max Send PDV: N)``, ``Association Release``, ``Association Aborted``.)
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.formats.tlsdump import connection_details
from dicomwire.dcmtk.netreport import tls_condition
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse.messages import (
    CEchoRQ,
    CFindRQ,
    CFindRSP,
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CStoreRQ,
    CStoreRSP,
    Message,
)
from dicomwire.errors import AssociationAborted, TLSHandshakeError
from dicomwire.net.association import Association
from dicomwire.net.server import TOO_MANY_ASSOCIATIONS
from dicomwire.uids import dcmtk_modality_prefix
from dicomwire.ul.identity import IdentityRejection
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ

__all__ = ["DcmqrscpAssociationLog", "DcmqrscpMessageLog"]

# dcmqrscp's names of its refusal reasons (its CTN_* codes), by our rejection reason
_REFUSALS: Final = {1: "NoReason", 2: "BadAppContext", 3: "BadAEPeer", 7: "BadAEService"}


class DcmqrscpMessageLog:
    """Server observer printing dcmqrscp's line(s) for each message."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._responses: Counter[tuple[int, int]] = Counter()  # (association, message ID)

    def __call__(self, assoc: Association, incoming: bool, context_id: int, message: Message) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        if isinstance(message, CStoreRQ) and not incoming:  # a C-MOVE or C-GET sub-operation
            prefix = dcmtk_modality_prefix(message.affected_sop_class_uid)
            self.log.info("Store SCU RQ: MsgID %d, (%s)", message.message_id, prefix)
        elif isinstance(message, CStoreRSP) and incoming:
            service = "Move" if assoc.requestor else "Get"  # C-MOVE's go over our own association
            text = dcmtk_status_string(message.status, "store")
            self.log.info("%s SCP: Received Store SCU RSP [Status=%s]", service, text)
        elif isinstance(message, CStoreRQ | CStoreRSP):
            heading = "Received Store SCP:" if incoming else "Sending:"
            self.log.info("%s\n%s", heading, dump_message(message, "INCOMING" if incoming else "OUTGOING"))
        elif isinstance(message, CFindRQ | CMoveRQ | CGetRQ):
            service = _SERVICE[type(message)]
            self.log.info("Received %s SCP:\n%s", service, dump_message(message, "INCOMING"))
        elif isinstance(message, CFindRSP | CMoveRSP | CGetRSP):
            self._response(assoc, message)
        elif isinstance(message, CEchoRQ):
            self.log.info("Received Echo SCP RQ: MsgID %d", message.message_id)

    def _response(self, assoc: Association, message: CFindRSP | CMoveRSP | CGetRSP) -> None:
        key = (id(assoc), message.message_id_being_responded_to)
        self._responses[key] += 1
        count = self._responses[key]
        if message.status not in (0xFF00, 0xFF01):
            del self._responses[key]
        service = _SERVICE[type(message)]
        text = dcmtk_status_string(message.status, service.lower())
        self.log.info("%s SCP Response %d [status: %s]", service, count, text)


_SERVICE: Final[dict[type[Message], str]] = {
    CFindRQ: "Find",
    CFindRSP: "Find",
    CMoveRQ: "Move",
    CMoveRSP: "Move",
    CGetRQ: "Get",
    CGetRSP: "Get",
}


class DcmqrscpAssociationLog:
    """The server's association events in dcmqrscp's words."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def received(self, assoc: Association, request: AAssociateRQ) -> None:
        if assoc.tls is not None and self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s", connection_details(assoc.tls))
        self.log.info(
            "Association Received (%s:%s -> %s)", assoc.peer_hostname, request.calling_ae, request.called_ae
        )

    def refused(self, assoc: Association, rejection: AAssociateRJ, why: str) -> None:
        if isinstance(rejection, IdentityRejection):  # dicomwire's --users: its own words
            self.log.info("Refusing Association (%s)", why)
            return
        reason = "TooManyAssociations" if why == TOO_MANY_ASSOCIATIONS else _REFUSALS.get(rejection.reason)
        self.log.info("Refusing Association (%s)", reason or "NoReason")

    def acknowledged(self, assoc: Association) -> None:
        self.log.info("Association Acknowledged (Max Send PDV: %d)", max(assoc.peer_max_pdu_length - 12, 0))

    def release_requested(self, assoc: Association) -> None:
        self.log.info("Association Release")

    def aborted(self, assoc: Association, error: AssociationAborted) -> None:
        self.log.info("Association Aborted")

    def handshake_failed(self, address: str, error: TLSHandshakeError) -> None:
        # storescp's line (DCMTK's dcmqrscp has no TLS)
        self.log.error("Receiving Association failed: %s", tls_condition(error))
