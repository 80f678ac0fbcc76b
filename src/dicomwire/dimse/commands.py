"""DIMSE command sets (PS3.7 section 9.3, 10.3 and Annex E), encoded with ``struct``.

A command set is a short list of group-0000 elements, always Implicit VR
Little Endian: per element a 2-byte group, 2-byte element, 4-byte length and
the value.  Group length (0000,0000) comes first and counts the bytes after
its own element; elements follow in ascending tag order.

This module holds the one table of command elements (tag -> keyword, VR,
attribute name), the command-field / priority / data-set-type enums, and
``encode_command`` / ``decode_command``.  pydicom is deliberately not used
here: group 0000 is the hot path of every message.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum, StrEnum
from typing import Any, Final

from dicomwire._records import record
from dicomwire.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "COMMAND_ELEMENTS",
    "DATASET_ABSENT",
    "DATASET_PRESENT",
    "ELEMENT_BY_NAME",
    "ELEMENT_BY_TAG",
    "ENCODER_BY_TAG",
    "GROUP_LENGTH_TAG",
    "VR",
    "CommandElement",
    "CommandField",
    "CommandValue",
    "Priority",
    "decode_command",
    "element_encoder",
    "encode_command",
    "encode_sorted",
    "with_group_length",
]


class CommandField(IntEnum):
    """Command Field (0000,0100) values (PS3.7 Annex E)."""

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150
    C_CANCEL_RQ = 0x0FFF

    @property
    def is_response(self) -> bool:
        """Responses have bit 15 set."""
        return bool(self & 0x8000)

    @property
    def label(self) -> str:
        """The standard's spelling, e.g. ``C-ECHO-RQ``."""
        return self.name.replace("_", "-")


class Priority(IntEnum):
    """Priority (0000,0700)."""

    MEDIUM = 0x0000
    HIGH = 0x0001
    LOW = 0x0002


# Command Data Set Type (0000,0800): 0x0101 means "no data set follows"; any
# other value means one does.  We send 0x0001 when present, which is also what
# DCMTK sends (DIMSE_DATASET_PRESENT = 0x0001, seen on the wire from storescu
# 3.6.7; its C-ECHO-RQ and all its responses without data set carry 0x0101).
DATASET_ABSENT: Final = 0x0101
DATASET_PRESENT: Final = 0x0001


class VR(StrEnum):
    """The value representations that occur in command sets."""

    UL = "UL"
    US = "US"
    UI = "UI"
    AE = "AE"
    LO = "LO"
    AT = "AT"


@record(frozen=True, slots=True)
class CommandElement:
    """One row of the command element table."""

    tag: int  # group 0000, so the tag equals the element number
    keyword: str  # the standard's keyword
    vr: VR
    name: str  # snake_case attribute name on the message dataclasses
    max_length: int = 0  # longest value we encode (0 = fixed by the VR)


# PS3.7 Annex E, command elements of the DIMSE-C services (plus the few
# status-related ones of Annex C).  Ascending tag order.
COMMAND_ELEMENTS: Final[tuple[CommandElement, ...]] = (
    CommandElement(0x0000, "CommandGroupLength", VR.UL, "command_group_length"),
    CommandElement(0x0002, "AffectedSOPClassUID", VR.UI, "affected_sop_class_uid", 64),
    CommandElement(0x0003, "RequestedSOPClassUID", VR.UI, "requested_sop_class_uid", 64),
    CommandElement(0x0100, "CommandField", VR.US, "command_field"),
    CommandElement(0x0110, "MessageID", VR.US, "message_id"),
    CommandElement(0x0120, "MessageIDBeingRespondedTo", VR.US, "message_id_being_responded_to"),
    CommandElement(0x0600, "MoveDestination", VR.AE, "move_destination", 16),
    CommandElement(0x0700, "Priority", VR.US, "priority"),
    CommandElement(0x0800, "CommandDataSetType", VR.US, "command_data_set_type"),
    CommandElement(0x0900, "Status", VR.US, "status"),
    CommandElement(0x0901, "OffendingElement", VR.AT, "offending_element"),
    CommandElement(0x0902, "ErrorComment", VR.LO, "error_comment", 64),
    CommandElement(0x0903, "ErrorID", VR.US, "error_id"),
    CommandElement(0x1000, "AffectedSOPInstanceUID", VR.UI, "affected_sop_instance_uid", 64),
    CommandElement(0x1001, "RequestedSOPInstanceUID", VR.UI, "requested_sop_instance_uid", 64),
    CommandElement(0x1020, "NumberOfRemainingSuboperations", VR.US, "number_of_remaining_suboperations"),
    CommandElement(0x1021, "NumberOfCompletedSuboperations", VR.US, "number_of_completed_suboperations"),
    CommandElement(0x1022, "NumberOfFailedSuboperations", VR.US, "number_of_failed_suboperations"),
    CommandElement(0x1023, "NumberOfWarningSuboperations", VR.US, "number_of_warning_suboperations"),
    CommandElement(
        0x1030,
        "MoveOriginatorApplicationEntityTitle",
        VR.AE,
        "move_originator_application_entity_title",
        16,
    ),
    CommandElement(0x1031, "MoveOriginatorMessageID", VR.US, "move_originator_message_id"),
)

ELEMENT_BY_TAG: Final[Mapping[int, CommandElement]] = {e.tag: e for e in COMMAND_ELEMENTS}
ELEMENT_BY_NAME: Final[Mapping[str, CommandElement]] = {e.name: e for e in COMMAND_ELEMENTS}

# A decoded value: int (US, UL), str (UI, AE, LO), tuple of tags (AT), or the
# raw bytes of a group-0000 element this table does not know.
CommandValue = int | str | tuple[int, ...] | bytes

GROUP_LENGTH_TAG: Final = 0x0000
_HEADER = struct.Struct("<HHI")
_US = struct.Struct("<H")
_UL = struct.Struct("<I")


# -- encoding -------------------------------------------------------------------
def _header(tag: int, length: int) -> bytes:
    return _HEADER.pack(0, tag, length)


def _encode_text(value: object, pad: bytes, codec: str, elem: CommandElement) -> bytes:
    if not isinstance(value, str):
        raise LocalProtocolError(f"{elem.keyword} must be a str, not {type(value).__name__}")
    try:
        raw = value.encode(codec)
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{elem.keyword} {value!r} is not {codec}") from None
    if len(raw) > elem.max_length:
        raise LocalProtocolError(f"{elem.keyword} longer than {elem.max_length}: {value!r}")
    if len(raw) & 1:
        raw += pad
    return _header(elem.tag, len(raw)) + raw


def _int_encoder(elem: CommandElement, packer: struct.Struct) -> Callable[[Any], bytes]:
    header = _header(elem.tag, packer.size)
    pack = packer.pack

    def encode(value: Any) -> bytes:
        try:
            return header + pack(value)
        except struct.error:
            if not isinstance(value, int):
                kind = type(value).__name__
                raise LocalProtocolError(f"{elem.keyword} must be an int, not {kind}") from None
            raise LocalProtocolError(f"{elem.keyword} out of range: {value}") from None

    return encode


def _encode_at(value: object, elem: CommandElement) -> bytes:
    tags = (value,) if isinstance(value, int) else value
    if not isinstance(tags, tuple) or not all(isinstance(t, int) for t in tags):
        raise LocalProtocolError(f"{elem.keyword} must be a tag or a tuple of tags")
    try:
        body = b"".join(_US.pack(t >> 16) + _US.pack(t & 0xFFFF) for t in tags)
    except struct.error:
        raise LocalProtocolError(f"{elem.keyword} holds a tag out of range") from None
    return _header(elem.tag, len(body)) + body


_TEXT_ENCODING: Final[Mapping[VR, tuple[bytes, str]]] = {  # padding, codec
    VR.UI: (b"\0", "latin-1"),  # symmetric with decoding: a response can echo any byte back
    VR.AE: (b" ", "ascii"),
    VR.LO: (b" ", "latin-1"),
}


def element_encoder(elem: CommandElement) -> Callable[[Any], bytes]:
    """A function encoding one value of ``elem`` as a whole element (header included)."""
    if elem.vr is VR.US:
        return _int_encoder(elem, _US)
    if elem.vr is VR.UL:
        return _int_encoder(elem, _UL)
    if elem.vr is VR.AT:
        return lambda value: _encode_at(value, elem)
    pad, codec = _TEXT_ENCODING[elem.vr]
    return lambda value: _encode_text(value, pad, codec, elem)


# Precomputed per element: US values are one concatenation onto a fixed header.
ENCODER_BY_TAG: Final[Mapping[int, Callable[[Any], bytes]]] = {
    e.tag: element_encoder(e) for e in COMMAND_ELEMENTS
}
_GROUP_LENGTH_HEADER: Final = _header(GROUP_LENGTH_TAG, 4)
_US_TAGS: Final = frozenset(e.tag for e in COMMAND_ELEMENTS if e.vr is VR.US)


def with_group_length(parts: list[bytes]) -> bytes:
    """Join encoded elements (ascending order) behind a computed group length."""
    body = b"".join(parts)
    return _GROUP_LENGTH_HEADER + _UL.pack(len(body)) + body


def encode_sorted(items: Iterable[tuple[int, object]]) -> bytes:
    """Encode ``(element number, value)`` pairs already in ascending order.

    The group length is computed and prepended; callers never pass it.
    """
    parts = []
    for tag, value in items:
        encode = ENCODER_BY_TAG.get(tag)
        if encode is None:
            raise LocalProtocolError(f"(0000,{tag:04X}) is not a known command element")
        parts.append(encode(value))
    return with_group_length(parts)


def encode_command(elements: Mapping[int, CommandValue]) -> bytes:
    """Encode a command set (Implicit VR Little Endian) from element -> value.

    Keys are group-0000 element numbers (0x0002, 0x0100, ...), i.e. the tag.
    (0000,0000) is computed, any value given for it is ignored.  UI values are
    padded with NUL, AE and LO with a space, to even length.
    """
    for tag in elements:
        if not 0 <= tag <= 0xFFFF:
            raise LocalProtocolError(f"tag {tag:08X} is not in the command group 0000")
    return encode_sorted((tag, elements[tag]) for tag in sorted(elements) if tag != GROUP_LENGTH_TAG)


# -- decoding -------------------------------------------------------------------
def _decode_ui(raw: bytes, elem: CommandElement) -> str:
    # A UID with a stray non-ASCII byte is invalid, but DCMTK accepts it (and its
    # dcmrecv stores the instance under a sanitised name); Latin-1 keeps every
    # byte, so callers can still refuse or sanitise it.
    return raw.decode("latin-1").rstrip("\0 ")


def _decode_ae(raw: bytes, elem: CommandElement) -> str:
    try:
        return raw.decode("ascii").strip(" \0")
    except UnicodeDecodeError:
        raise RemoteProtocolError(f"{elem.keyword} is not ASCII: {raw!r}") from None


def _decode_lo(raw: bytes, elem: CommandElement) -> str:
    return raw.decode("latin-1").strip(" \0")


def _decode_fixed(raw: bytes, unpacker: struct.Struct, elem: CommandElement) -> int:
    if len(raw) != unpacker.size:
        raise RemoteProtocolError(
            f"{elem.keyword} ({elem.vr}) has length {len(raw)}, expected {unpacker.size}"
        )
    value: int = unpacker.unpack(raw)[0]
    return value


def _decode_at(raw: bytes, elem: CommandElement) -> tuple[int, ...]:
    if len(raw) % 4:
        raise RemoteProtocolError(f"{elem.keyword} (AT) has length {len(raw)}, not a multiple of 4")
    words = struct.unpack(f"<{len(raw) // 2}H", raw)
    return tuple((words[i] << 16) | words[i + 1] for i in range(0, len(words), 2))


_DECODERS: Final[Mapping[VR, Callable[[bytes, CommandElement], CommandValue]]] = {
    VR.UL: lambda raw, e: _decode_fixed(raw, _UL, e),
    VR.US: lambda raw, e: _decode_fixed(raw, _US, e),
    VR.UI: _decode_ui,
    VR.AE: _decode_ae,
    VR.LO: _decode_lo,
    VR.AT: _decode_at,
}


def decode_command(data: bytes | bytearray | memoryview) -> dict[int, CommandValue]:
    """Decode a complete command set into ``{element number: value}``.

    Strict about structure: every length must fit in the buffer, every tag
    must be in group 0000, no element may appear twice, US/UL values must have
    their fixed length.  Tolerant about content: a group-0000 element this
    module does not know is kept as raw bytes; an empty US/UL/AT value is
    treated as absent; the group length value is kept but not checked.
    """
    buf = data if isinstance(data, bytes) else bytes(data)
    out: dict[int, CommandValue] = {}
    end = len(buf)
    offset = 0
    unpack_header = _HEADER.unpack_from
    while offset < end:
        if end - offset < 8:
            raise RemoteProtocolError(f"command set ends inside an element header at byte {offset}")
        group, tag, length = unpack_header(buf, offset)
        offset += 8
        if group != 0:
            raise RemoteProtocolError(f"element ({group:04X},{tag:04X}) outside group 0000 in a command set")
        if length > end - offset:
            raise RemoteProtocolError(f"(0000,{tag:04X}) claims {length} bytes, only {end - offset} remain")
        if tag in out:
            raise RemoteProtocolError(f"(0000,{tag:04X}) appears twice in a command set")
        if length == 2 and tag in _US_TAGS:  # the common case, inlined
            out[tag] = buf[offset] | (buf[offset + 1] << 8)
        else:
            _store(out, tag, buf[offset : offset + length])
        offset += length
    return out


def _store(out: dict[int, CommandValue], tag: int, raw: bytes) -> None:
    elem = ELEMENT_BY_TAG.get(tag)
    if elem is None:
        out[tag] = raw
    elif raw or elem.vr not in _ABSENT_IF_EMPTY:
        out[tag] = _DECODERS[elem.vr](raw, elem)


_ABSENT_IF_EMPTY: Final = frozenset({VR.US, VR.UL, VR.AT})
