"""DCMTK's SCP log lines for each DIMSE message, as dcmrecv (and storescp) print them.

The library's services are quiet about messages; a tool passes a
:class:`DcmtkMessageLog` as the server's ``observer`` and gets DCMTK's lines:
``Received C-STORE Request (MsgID 1)`` at info, or the request's header line
followed by its full DIMSE dump at debug, and the same for each response.  Store
outcomes (``Stored received object to file: ...``) come from :meth:`stored`.
"""

from __future__ import annotations

import logging
from typing import Final

from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse.messages import CEchoRQ, CEchoRSP, CStoreRQ, CStoreRSP, Message
from dicomwire.net.association import Association
from dicomwire.services.storage_scp import StoreOutcome

__all__ = ["DcmtkMessageLog"]

# message class -> (DCMTK's name of it, service for the status text, dumped at debug)
_LINES: Final[dict[type[Message], tuple[str, str, bool]]] = {
    CEchoRQ: ("C-ECHO Request", "echo", False),
    CEchoRSP: ("C-ECHO Response", "echo", False),
    CStoreRQ: ("C-STORE Request", "store", True),
    CStoreRSP: ("C-STORE Response", "store", True),
}


class DcmtkMessageLog:
    """Server observer printing DCMTK's line for each message it knows."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log

    def __call__(self, assoc: Association, incoming: bool, context_id: int, message: Message) -> None:
        known = _LINES.get(type(message))
        if known is None:
            return
        name, service, dumped = known
        verb = "Received" if incoming else "Sending"
        if dumped and self.log.isEnabledFor(logging.DEBUG):
            self.log.info("%s %s", verb, name)
            self.log.debug("%s", dump_message(message, "INCOMING" if incoming else "OUTGOING", context_id))
        elif incoming:
            message_id = getattr(message, "message_id", 0)
            self.log.info("%s %s (MsgID %d)", verb, name, message_id)
        else:
            code = int(getattr(message, "status", 0))
            self.log.info("%s %s (%s)", verb, name, dcmtk_status_string(code, service))

    def stored(self, outcome: StoreOutcome) -> None:
        """StorageSCP's ``on_stored``: dcmrecv's line for a stored file."""
        if outcome.path is not None:
            self.log.info("Stored received object to file: %s", outcome.path)
