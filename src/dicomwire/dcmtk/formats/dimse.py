"""DCMTK's debug dump of a DIMSE message (``... DIMSE MESSAGE ...`` blocks).

One function for every message, driven by a table of the fields each message
shows, in DCMTK's order.  Whether the presentation context ID appears depends
on the tool and the direction in DCMTK; callers say so by passing it or not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from dicomwire import uids
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.messages import (
    CEchoRQ,
    CEchoRSP,
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
from dicomwire.dimse.status import describe

_OPEN: Final = "===================== {} DIMSE MESSAGE ===================="
_CLOSE: Final = "======================= END DIMSE MESSAGE ======================="
_PRIORITIES: Final = {Priority.MEDIUM: "medium", Priority.HIGH: "high", Priority.LOW: "low"}
_LABEL_WIDTH: Final = 30


def uid_text(uid: str | None) -> str:
    """A UID as DCMTK prints it: its DCMTK name when DCMTK knows the SOP class."""
    if not uid:
        return "none"
    known = uids.SOP_CLASSES.get(uid)
    return uids.name_of(uid) if known is not None and known.dcmtk_name else uid


Field = tuple[str, Callable[[Any], object | None]]
_AFFECTED_CLASS: Final[Field] = ("Affected SOP Class UID", lambda m: uid_text(m.affected_sop_class_uid))
_INSTANCE: Final[Field] = ("Affected SOP Instance UID", lambda m: m.affected_sop_instance_uid or "none")
_MOVE_ORIGINATOR: Final[tuple[Field, ...]] = (
    ("Move Originator AE Title", lambda m: m.move_originator_application_entity_title or None),
    ("Move Originator ID", lambda m: m.move_originator_message_id),
)
_REQUEST_ID: Final[Field] = ("Message ID", lambda m: m.message_id)


def _count(value: int | None) -> object:
    return "none" if value is None else value


# C-MOVE-RSP and C-GET-RSP: DCMTK prints all four counts, "none" for one left out.
_SUBOPERATIONS: Final[tuple[Field, ...]] = (
    ("Remaining Suboperations", lambda m: _count(m.number_of_remaining_suboperations)),
    ("Completed Suboperations", lambda m: _count(m.number_of_completed_suboperations)),
    ("Failed Suboperations", lambda m: _count(m.number_of_failed_suboperations)),
    ("Warning Suboperations", lambda m: _count(m.number_of_warning_suboperations)),
)
_RESPONSE_ID: Final[Field] = ("Message ID Being Responded To", lambda m: m.message_id_being_responded_to)

# Per message class: (type label, DIMSE service for status texts, fields before "Data Set").
_LAYOUT: Final[dict[type, tuple[str, str, tuple[Field, ...]]]] = {
    CEchoRQ: ("C-ECHO RQ", "echo", (_REQUEST_ID, _AFFECTED_CLASS)),
    CEchoRSP: ("C-ECHO RSP", "echo", (_RESPONSE_ID, _AFFECTED_CLASS)),
    CStoreRQ: ("C-STORE RQ", "store", (_REQUEST_ID, _AFFECTED_CLASS, _INSTANCE, *_MOVE_ORIGINATOR)),
    CStoreRSP: ("C-STORE RSP", "store", (_RESPONSE_ID, _AFFECTED_CLASS, _INSTANCE)),
    CFindRQ: ("C-FIND RQ", "find", (_REQUEST_ID, _AFFECTED_CLASS)),
    CFindRSP: ("C-FIND RSP", "find", (_RESPONSE_ID, _AFFECTED_CLASS)),
    CMoveRQ: ("C-MOVE RQ", "move", (_REQUEST_ID, _AFFECTED_CLASS)),
    CMoveRSP: ("C-MOVE RSP", "move", (_RESPONSE_ID, _AFFECTED_CLASS, *_SUBOPERATIONS)),
    CGetRQ: ("C-GET RQ", "get", (_REQUEST_ID, _AFFECTED_CLASS)),
    CGetRSP: ("C-GET RSP", "get", (_RESPONSE_ID, _AFFECTED_CLASS, *_SUBOPERATIONS)),
}


def _line(label: str, value: object) -> str:
    return f"{label:<{_LABEL_WIDTH}}: {value}"


def dump_message(message: Message, direction: str, context_id: int | None = None) -> str:
    """The dump of ``message``; ``direction`` is ``"OUTGOING"`` or ``"INCOMING"``."""
    kind, service, fields = _LAYOUT[type(message)]
    shown: Any = message  # the fields differ per message class: the table says which exist
    lines = [_OPEN.format(direction), _line("Message Type", kind)]
    if context_id is not None:
        lines.append(_line("Presentation Context ID", context_id))
    for label, value_of in fields:
        value = value_of(shown)
        if value is not None:
            lines.append(_line(label, value))
    lines.append(_line("Data Set", "present" if shown.has_dataset else "none"))
    if hasattr(shown, "priority"):
        lines.append(_line("Priority", _PRIORITIES.get(Priority(shown.priority), "medium")))
    if isinstance(message, CMoveRQ):
        lines.append(_line("Move Destination", message.move_destination))
    if hasattr(shown, "status"):
        lines.append(_line("DIMSE Status", f"0x{shown.status:04x}: {describe(shown.status, service)}"))
        if shown.error_comment:
            lines.append(_line("Error Comment", shown.error_comment))
    lines.append(_CLOSE)
    return "\n".join(lines)
