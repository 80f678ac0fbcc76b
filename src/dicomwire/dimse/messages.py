"""The DIMSE-C messages (PS3.7 section 9.3) as frozen dataclasses.

A message carries its command elements and ``has_dataset``: whether a data
set (or identifier) follows the command set.  The data set itself travels
separately so that it can be streamed (see ``fragments``).

``encode_message`` / ``decode_message`` are driven by one layout table per
message: which command elements it carries, in tag order, and which of them
the standard makes mandatory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, ClassVar, Final, TypeAlias

from dicomwire._records import record
from dicomwire.dimse.commands import (
    DATASET_ABSENT,
    DATASET_PRESENT,
    ELEMENT_BY_NAME,
    ELEMENT_BY_TAG,
    ENCODER_BY_TAG,
    CommandField,
    CommandValue,
    Priority,
    decode_command,
    with_group_length,
)
from dicomwire.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "VERIFICATION_SOP_CLASS_UID",
    "CCancelRQ",
    "CEchoRQ",
    "CEchoRSP",
    "CFindRQ",
    "CFindRSP",
    "CGetRQ",
    "CGetRSP",
    "CMoveRQ",
    "CMoveRSP",
    "CStoreRQ",
    "CStoreRSP",
    "Message",
    "decode_message",
    "encode_message",
    "is_request",
    "is_response",
]

VERIFICATION_SOP_CLASS_UID: Final = "1.2.840.10008.1.1"


# -- requests ---------------------------------------------------------------------
@record(frozen=True, slots=True, kw_only=True)
class CEchoRQ:
    command_field: ClassVar[CommandField] = CommandField.C_ECHO_RQ
    message_id: int
    affected_sop_class_uid: str = VERIFICATION_SOP_CLASS_UID
    has_dataset: bool = False


@record(frozen=True, slots=True, kw_only=True)
class CStoreRQ:
    command_field: ClassVar[CommandField] = CommandField.C_STORE_RQ
    message_id: int
    affected_sop_class_uid: str
    affected_sop_instance_uid: str
    priority: Priority = Priority.MEDIUM
    move_originator_application_entity_title: str | None = None
    move_originator_message_id: int | None = None
    has_dataset: bool = True


@record(frozen=True, slots=True, kw_only=True)
class CFindRQ:
    command_field: ClassVar[CommandField] = CommandField.C_FIND_RQ
    message_id: int
    affected_sop_class_uid: str
    priority: Priority = Priority.MEDIUM
    has_dataset: bool = True


@record(frozen=True, slots=True, kw_only=True)
class CGetRQ:
    command_field: ClassVar[CommandField] = CommandField.C_GET_RQ
    message_id: int
    affected_sop_class_uid: str
    priority: Priority = Priority.MEDIUM
    has_dataset: bool = True


@record(frozen=True, slots=True, kw_only=True)
class CMoveRQ:
    command_field: ClassVar[CommandField] = CommandField.C_MOVE_RQ
    message_id: int
    affected_sop_class_uid: str
    move_destination: str
    priority: Priority = Priority.MEDIUM
    has_dataset: bool = True


@record(frozen=True, slots=True, kw_only=True)
class CCancelRQ:
    command_field: ClassVar[CommandField] = CommandField.C_CANCEL_RQ
    message_id_being_responded_to: int
    has_dataset: bool = False


# -- responses --------------------------------------------------------------------
# Every response may carry the status detail fields of PS3.7 Annex C:
# offending_element (0000,0901), error_comment (0000,0902), error_id (0000,0903).
@record(frozen=True, slots=True, kw_only=True)
class CEchoRSP:
    command_field: ClassVar[CommandField] = CommandField.C_ECHO_RSP
    message_id_being_responded_to: int
    status: int = 0x0000
    affected_sop_class_uid: str | None = VERIFICATION_SOP_CLASS_UID
    offending_element: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False


@record(frozen=True, slots=True, kw_only=True)
class CStoreRSP:
    command_field: ClassVar[CommandField] = CommandField.C_STORE_RSP
    message_id_being_responded_to: int
    status: int = 0x0000
    affected_sop_class_uid: str | None = None
    affected_sop_instance_uid: str | None = None
    offending_element: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False


@record(frozen=True, slots=True, kw_only=True)
class CFindRSP:
    command_field: ClassVar[CommandField] = CommandField.C_FIND_RSP
    message_id_being_responded_to: int
    status: int = 0x0000
    affected_sop_class_uid: str | None = None
    offending_element: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False


@record(frozen=True, slots=True, kw_only=True)
class CGetRSP:
    command_field: ClassVar[CommandField] = CommandField.C_GET_RSP
    message_id_being_responded_to: int
    status: int = 0x0000
    affected_sop_class_uid: str | None = None
    number_of_remaining_suboperations: int | None = None
    number_of_completed_suboperations: int | None = None
    number_of_failed_suboperations: int | None = None
    number_of_warning_suboperations: int | None = None
    offending_element: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False


@record(frozen=True, slots=True, kw_only=True)
class CMoveRSP:
    command_field: ClassVar[CommandField] = CommandField.C_MOVE_RSP
    message_id_being_responded_to: int
    status: int = 0x0000
    affected_sop_class_uid: str | None = None
    number_of_remaining_suboperations: int | None = None
    number_of_completed_suboperations: int | None = None
    number_of_failed_suboperations: int | None = None
    number_of_warning_suboperations: int | None = None
    offending_element: tuple[int, ...] | None = None
    error_comment: str | None = None
    error_id: int | None = None
    has_dataset: bool = False


Message: TypeAlias = (
    CEchoRQ
    | CEchoRSP
    | CStoreRQ
    | CStoreRSP
    | CFindRQ
    | CFindRSP
    | CGetRQ
    | CGetRSP
    | CMoveRQ
    | CMoveRSP
    | CCancelRQ
)


def is_request(msg: Message) -> bool:
    return not msg.command_field & 0x8000


def is_response(msg: Message) -> bool:
    return bool(msg.command_field & 0x8000)


# -- layout table -------------------------------------------------------------------
_M, _U = True, False  # mandatory / user option or conditional (PS3.7 tables 9.3-x)
_STATUS_DETAIL = (("offending_element", _U), ("error_comment", _U), ("error_id", _U))
_SUBOPERATIONS = (
    ("number_of_remaining_suboperations", _U),
    ("number_of_completed_suboperations", _U),
    ("number_of_failed_suboperations", _U),
    ("number_of_warning_suboperations", _U),
)
_RSP = (("message_id_being_responded_to", _M), ("status", _M))

# Per message: its attributes and whether each is mandatory.  CommandField and
# CommandDataSetType are implied for every message and added below.
_ATTRIBUTES: Final[Mapping[type[Any], tuple[tuple[str, bool], ...]]] = {
    CEchoRQ: (("message_id", _M), ("affected_sop_class_uid", _M)),
    CEchoRSP: (*_RSP, ("affected_sop_class_uid", _U), *_STATUS_DETAIL),
    CStoreRQ: (
        ("message_id", _M),
        ("affected_sop_class_uid", _M),
        ("affected_sop_instance_uid", _M),
        ("priority", _M),
        ("move_originator_application_entity_title", _U),
        ("move_originator_message_id", _U),
    ),
    CStoreRSP: (
        *_RSP,
        ("affected_sop_class_uid", _U),
        ("affected_sop_instance_uid", _U),
        *_STATUS_DETAIL,
    ),
    CFindRQ: (("message_id", _M), ("affected_sop_class_uid", _M), ("priority", _M)),
    CFindRSP: (*_RSP, ("affected_sop_class_uid", _U), *_STATUS_DETAIL),
    CGetRQ: (("message_id", _M), ("affected_sop_class_uid", _M), ("priority", _M)),
    CGetRSP: (*_RSP, ("affected_sop_class_uid", _U), *_SUBOPERATIONS, *_STATUS_DETAIL),
    CMoveRQ: (
        ("message_id", _M),
        ("affected_sop_class_uid", _M),
        ("move_destination", _M),
        ("priority", _M),
    ),
    CMoveRSP: (*_RSP, ("affected_sop_class_uid", _U), *_SUBOPERATIONS, *_STATUS_DETAIL),
    CCancelRQ: (("message_id_being_responded_to", _M),),
}


@record(frozen=True, slots=True)
class _Slot:
    """One command element of one message: where its value comes from."""

    tag: int
    name: str  # attribute on the message ("" for the two implied elements)
    required: bool
    get: Callable[[Any], Any]
    encode: Callable[[Any], bytes]


def _data_set_type(msg: Any) -> int:
    return DATASET_PRESENT if msg.has_dataset else DATASET_ABSENT


def _slot(tag: int, name: str, required: bool, get: Callable[[Any], Any]) -> _Slot:
    return _Slot(tag, name, required, get, ENCODER_BY_TAG[tag])


def _layout(cls: type[Any]) -> tuple[_Slot, ...]:
    slots = [_slot(ELEMENT_BY_NAME[name].tag, name, req, attrgetter(name)) for name, req in _ATTRIBUTES[cls]]
    slots.append(_slot(0x0100, "", _M, attrgetter("command_field")))
    slots.append(_slot(0x0800, "", _M, _data_set_type))
    return tuple(sorted(slots, key=attrgetter("tag")))


_LAYOUTS: Final[Mapping[type[Any], tuple[_Slot, ...]]] = {c: _layout(c) for c in _ATTRIBUTES}
_CLASS_BY_FIELD: Final[Mapping[int, type[Any]]] = {c.command_field: c for c in _ATTRIBUTES}
# What decode reads into the constructor: the attribute slots only.
_DECODE_SLOTS: Final[Mapping[type[Any], tuple[_Slot, ...]]] = {
    c: tuple(s for s in layout if s.name) for c, layout in _LAYOUTS.items()
}


# The elements that change from one message to the next of a run (IDs, the instance UID):
# everything else of a message is encoded once and its bytes reused.
_VARYING_TAGS: Final = frozenset({0x0110, 0x0120, 0x1000})
_CACHE_LIMIT = 256  # command sets kept per message class (error comments may vary freely)


@record(slots=True)
class _Plan:
    """How to encode one message class from cached parts."""

    key: Callable[[Any], Any]  # the values of the fixed elements (and has_dataset)
    varying: tuple[_Slot, ...]  # in tag order
    cache: dict[Any, tuple[bytes, ...]]  # key -> the fixed bytes around each varying element


def _plan(layout: tuple[_Slot, ...]) -> _Plan:
    names = [slot.name for slot in layout if slot.name and slot.tag not in _VARYING_TAGS]
    return _Plan(
        attrgetter(*names, "has_dataset"),
        tuple(slot for slot in layout if slot.tag in _VARYING_TAGS),
        {},
    )


_PLANS: Final[Mapping[type[Any], _Plan]] = {c: _plan(layout) for c, layout in _LAYOUTS.items()}


# -- encode / decode -------------------------------------------------------------------
def encode_message(msg: Message) -> bytes:
    """The command set of ``msg``, ready to be fragmented into PDVs.

    The fixed elements come from a cache keyed by their values; only the message
    IDs and the affected SOP instance UID are encoded each time.
    """
    plan = _PLANS.get(type(msg))
    if plan is None:
        raise LocalProtocolError(f"not a DIMSE message: {type(msg).__name__}")
    key = plan.key(msg)
    try:
        fixed = plan.cache.get(key)
    except TypeError:  # an unhashable value (a list for a tuple): encode it the long way
        return _encode_uncached(msg)
    if fixed is None:
        fixed = _fixed_parts(msg, plan)
        if len(plan.cache) < _CACHE_LIMIT:
            plan.cache[key] = fixed
    parts = [fixed[0]]
    for slot, after in zip(plan.varying, fixed[1:], strict=True):
        encoded = _element(slot, msg)
        if encoded is not None:
            parts.append(encoded)
        parts.append(after)
    return with_group_length(parts)


def _element(slot: _Slot, msg: Message) -> bytes | None:
    """``slot``'s element of ``msg`` encoded; None when absent and optional."""
    value = slot.get(msg)
    if value is not None:
        return slot.encode(value)
    if slot.required:
        label = msg.command_field.label
        raise LocalProtocolError(f"{label} needs {ELEMENT_BY_TAG[slot.tag].keyword}")
    return None


def _fixed_parts(msg: Message, plan: _Plan) -> tuple[bytes, ...]:
    """The encoded fixed elements of ``msg``, split around its varying ones."""
    runs: list[bytes] = []
    parts: list[bytes] = []
    for slot in _LAYOUTS[type(msg)]:
        if slot.tag in _VARYING_TAGS:
            runs.append(b"".join(parts))
            parts = []
            continue
        encoded = _element(slot, msg)
        if encoded is not None:
            parts.append(encoded)
    runs.append(b"".join(parts))
    assert len(runs) == len(plan.varying) + 1
    return tuple(runs)


def _encode_uncached(msg: Message) -> bytes:
    """``encode_message`` without the cache (the reference the tests compare with)."""
    layout = _LAYOUTS.get(type(msg))
    if layout is None:
        raise LocalProtocolError(f"not a DIMSE message: {type(msg).__name__}")
    parts = []
    for slot in layout:
        encoded = _element(slot, msg)
        if encoded is not None:
            parts.append(encoded)
    return with_group_length(parts)


def decode_message(command: bytes | bytearray | memoryview) -> Message:
    """Parse a complete command set into its message dataclass."""
    elements = decode_command(command)
    field = elements.get(0x0100)
    if not isinstance(field, int):
        raise RemoteProtocolError("command set has no CommandField (0000,0100)")
    cls = _CLASS_BY_FIELD.get(field)
    if cls is None:
        raise RemoteProtocolError(f"unsupported command field {_field_name(field)}")
    data_set_type = elements.get(0x0800)
    if data_set_type is None:
        label = cls.command_field.label
        raise RemoteProtocolError(f"{label} has no CommandDataSetType (0000,0800)")
    kwargs = _arguments(cls, elements)
    kwargs["has_dataset"] = data_set_type != DATASET_ABSENT
    result: Message = cls(**kwargs)
    return result


def _field_name(field: int) -> str:
    try:
        return f"0x{field:04X} ({CommandField(field).label})"
    except ValueError:
        return f"0x{field:04X}"


def _arguments(cls: type[Any], elements: dict[int, CommandValue]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for slot in _DECODE_SLOTS[cls]:
        value = elements.get(slot.tag)
        if value is not None or not slot.required:
            kwargs[slot.name] = value  # absent optional: None, not the default
        else:
            keyword = ELEMENT_BY_TAG[slot.tag].keyword
            raise RemoteProtocolError(f"{cls.command_field.label} lacks {keyword} (0000,{slot.tag:04X})")
    priority = kwargs.get("priority")
    if priority is not None:
        kwargs["priority"] = _priority(priority)
    return kwargs


def _priority(value: Any) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        raise RemoteProtocolError(f"invalid Priority (0000,0700): {value}") from None
