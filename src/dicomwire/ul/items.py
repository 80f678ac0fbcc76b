"""Variable items of the association PDUs (PS3.8 9.3.2-9.3.4, PS3.7 Annex D.3.3).

Every item is a frozen dataclass with ``encode() -> bytes``; decoding goes
through one table keyed by item type.  Decoders are strict about lengths: an
item that claims more bytes than its parent holds is a RemoteProtocolError,
never an allocation.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import field
from enum import IntEnum

from dicomwire._records import record
from dicomwire.errors import RemoteProtocolError

_ITEM_HEADER = struct.Struct(">BxH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_ASYNC_WINDOW = struct.Struct(">HH")

MAX_UID_LENGTH = 64
MAX_VERSION_NAME_LENGTH = 16


class ItemType(IntEnum):
    APPLICATION_CONTEXT = 0x10
    PRESENTATION_CONTEXT_RQ = 0x20
    PRESENTATION_CONTEXT_AC = 0x21
    ABSTRACT_SYNTAX = 0x30
    TRANSFER_SYNTAX = 0x40
    USER_INFORMATION = 0x50
    MAXIMUM_LENGTH = 0x51
    IMPLEMENTATION_CLASS_UID = 0x52
    ASYNCHRONOUS_OPERATIONS_WINDOW = 0x53
    ROLE_SELECTION = 0x54
    IMPLEMENTATION_VERSION_NAME = 0x55
    SOP_CLASS_EXTENDED_NEGOTIATION = 0x56
    SOP_CLASS_COMMON_EXTENDED_NEGOTIATION = 0x57
    USER_IDENTITY_RQ = 0x58
    USER_IDENTITY_AC = 0x59


class ContextResult(IntEnum):
    """Result/reason of a presentation context in an A-ASSOCIATE-AC (PS3.8 9.3.3.2)."""

    ACCEPTANCE = 0
    USER_REJECTION = 1
    NO_REASON = 2
    ABSTRACT_SYNTAX_NOT_SUPPORTED = 3
    TRANSFER_SYNTAXES_NOT_SUPPORTED = 4


class UserIdentityType(IntEnum):
    USERNAME = 1
    USERNAME_AND_PASSCODE = 2
    KERBEROS = 3
    SAML = 4
    JWT = 5


# -- low-level helpers ---------------------------------------------------------


def pack(fmt: struct.Struct, *values: object, what: str) -> bytes:
    """``fmt.pack(*values)``, with a value out of its field's range a ValueError."""
    try:
        return fmt.pack(*values)
    except struct.error as exc:
        raise ValueError(f"{what}: {exc}") from None


def item(item_type: int, body: bytes) -> bytes:
    """An item: type, reserved byte, 2-byte length, body."""
    if len(body) > 0xFFFF:
        raise ValueError(f"item 0x{item_type:02X} body of {len(body)} bytes exceeds 65535")
    return pack(_ITEM_HEADER, item_type, len(body), what="item type") + body


def iter_items(data: bytes | memoryview, where: str) -> Iterator[tuple[int, memoryview]]:
    """Split a run of items into (type, body); strict about lengths."""
    view = memoryview(data)
    offset, end = 0, len(view)
    while offset < end:
        if end - offset < 4:
            raise RemoteProtocolError(f"{where}: truncated item header")
        item_type, length = _ITEM_HEADER.unpack_from(view, offset)
        offset += 4
        if length > end - offset:
            raise RemoteProtocolError(
                f"{where}: item 0x{item_type:02X} claims {length} bytes, {end - offset} remain"
            )
        yield item_type, view[offset : offset + length]
        offset += length


def encode_uid(uid: str) -> bytes:
    raw = uid.encode("ascii")
    if len(raw) > MAX_UID_LENGTH:
        raise ValueError(f"UID longer than 64 characters: {uid!r}")
    return raw


def decode_text(data: bytes | memoryview, where: str) -> str:
    """A UID or AE-like text field: ASCII, trailing NUL/space padding removed."""
    try:
        text = bytes(data).decode("ascii")
    except UnicodeDecodeError:
        raise RemoteProtocolError(f"{where}: not ASCII text") from None
    return text.rstrip("\x00 ").lstrip(" ")


def _u16_prefixed(data: memoryview, offset: int, where: str) -> tuple[memoryview, int]:
    """A field preceded by its 2-byte length; returns (field, new offset)."""
    if len(data) - offset < 2:
        raise RemoteProtocolError(f"{where}: truncated length field")
    (length,) = _U16.unpack_from(data, offset)
    offset += 2
    if length > len(data) - offset:
        raise RemoteProtocolError(f"{where}: field claims {length} bytes, {len(data) - offset} remain")
    return data[offset : offset + length], offset + length


def _prefixed(value: bytes) -> bytes:
    return pack(_U16, len(value), what="field longer than 65535 bytes") + value


# -- presentation contexts -----------------------------------------------------------


@record(frozen=True, slots=True)
class PresentationContextRQ:
    """A proposed presentation context: odd ID 1..255, one abstract syntax, >=1 transfer syntaxes."""

    context_id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]

    def encode(self) -> bytes:
        subitems = item(ItemType.ABSTRACT_SYNTAX, encode_uid(self.abstract_syntax))
        subitems += b"".join(item(ItemType.TRANSFER_SYNTAX, encode_uid(ts)) for ts in self.transfer_syntaxes)
        return item(ItemType.PRESENTATION_CONTEXT_RQ, bytes((self.context_id, 0, 0, 0)) + subitems)

    @classmethod
    def decode(cls, body: memoryview) -> PresentationContextRQ:
        where = "presentation context (RQ)"
        if len(body) < 4:
            raise RemoteProtocolError(f"{where}: shorter than 4 bytes")
        abstract: str | None = None
        syntaxes: list[str] = []
        for sub_type, sub in iter_items(body[4:], where):
            if sub_type == ItemType.ABSTRACT_SYNTAX:
                if abstract is not None:
                    raise RemoteProtocolError(f"{where} {body[0]}: more than one abstract syntax")
                abstract = decode_text(sub, "abstract syntax")
            elif sub_type == ItemType.TRANSFER_SYNTAX:
                syntaxes.append(decode_text(sub, "transfer syntax"))
            # PS3.8 9.3.1: sub-items of unrecognized types are ignored and skipped.
        if abstract is None:
            raise RemoteProtocolError(f"{where} {body[0]}: no abstract syntax sub-item")
        return cls(body[0], abstract, tuple(syntaxes))


@record(frozen=True, slots=True)
class PresentationContextAC:
    """The acceptor's answer for one proposed context."""

    context_id: int
    result: int
    transfer_syntax: str = ""

    @property
    def accepted(self) -> bool:
        return self.result == ContextResult.ACCEPTANCE

    def encode(self) -> bytes:
        # The transfer syntax sub-item is always sent; it is not significant on rejection.
        sub = item(ItemType.TRANSFER_SYNTAX, encode_uid(self.transfer_syntax))
        return item(ItemType.PRESENTATION_CONTEXT_AC, bytes((self.context_id, 0, self.result, 0)) + sub)

    @classmethod
    def decode(cls, body: memoryview) -> PresentationContextAC:
        where = "presentation context (AC)"
        if len(body) < 4:
            raise RemoteProtocolError(f"{where}: shorter than 4 bytes")
        syntax = ""
        for sub_type, sub in iter_items(body[4:], where):
            if sub_type == ItemType.TRANSFER_SYNTAX:
                syntax = decode_text(sub, "transfer syntax")
            # PS3.8 9.3.1: sub-items of unrecognized types are ignored and skipped.
        return cls(body[0], body[2], syntax)


# -- user information sub-items --------------------------------------------------------


@record(frozen=True, slots=True)
class RoleSelection:
    """SCP/SCU role selection for one SOP class (PS3.7 D.3.3.4)."""

    sop_class_uid: str
    scu_role: bool
    scp_role: bool

    def encode(self) -> bytes:
        body = _prefixed(encode_uid(self.sop_class_uid)) + bytes((self.scu_role, self.scp_role))
        return item(ItemType.ROLE_SELECTION, body)

    @classmethod
    def decode(cls, body: memoryview) -> RoleSelection:
        uid, offset = _u16_prefixed(body, 0, "role selection")
        if len(body) - offset != 2:
            raise RemoteProtocolError("role selection: expected 2 role bytes")
        return cls(decode_text(uid, "role selection UID"), bool(body[offset]), bool(body[offset + 1]))


@record(frozen=True, slots=True)
class SOPClassExtendedNegotiation:
    sop_class_uid: str
    application_information: bytes

    def encode(self) -> bytes:
        body = _prefixed(encode_uid(self.sop_class_uid)) + self.application_information
        return item(ItemType.SOP_CLASS_EXTENDED_NEGOTIATION, body)

    @classmethod
    def decode(cls, body: memoryview) -> SOPClassExtendedNegotiation:
        uid, offset = _u16_prefixed(body, 0, "SOP class extended negotiation")
        return cls(decode_text(uid, "extended negotiation UID"), bytes(body[offset:]))


@record(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiation:
    sop_class_uid: str
    service_class_uid: str
    related_general_sop_classes: tuple[str, ...] = ()

    def encode(self) -> bytes:
        related = b"".join(_prefixed(encode_uid(u)) for u in self.related_general_sop_classes)
        body = (
            _prefixed(encode_uid(self.sop_class_uid))
            + _prefixed(encode_uid(self.service_class_uid))
            + _prefixed(related)
        )
        return item(ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION, body)

    @classmethod
    def decode(cls, body: memoryview) -> SOPClassCommonExtendedNegotiation:
        where = "SOP class common extended negotiation"
        sop, offset = _u16_prefixed(body, 0, where)
        service, offset = _u16_prefixed(body, offset, where)
        related_block, offset = _u16_prefixed(body, offset, where)
        related: list[str] = []
        pos = 0
        while pos < len(related_block):
            uid, pos = _u16_prefixed(related_block, pos, where)
            related.append(decode_text(uid, where))
        return cls(decode_text(sop, where), decode_text(service, where), tuple(related))


@record(frozen=True, slots=True)
class UserIdentityRQ:
    identity_type: int
    primary_field: bytes
    secondary_field: bytes = b""
    positive_response_requested: bool = False

    def encode(self) -> bytes:
        body = (
            bytes((self.identity_type, self.positive_response_requested))
            + _prefixed(self.primary_field)
            + _prefixed(self.secondary_field)
        )
        return item(ItemType.USER_IDENTITY_RQ, body)

    @classmethod
    def decode(cls, body: memoryview) -> UserIdentityRQ:
        where = "user identity (RQ)"
        if len(body) < 2:
            raise RemoteProtocolError(f"{where}: shorter than 2 bytes")
        primary, offset = _u16_prefixed(body, 2, where)
        secondary, offset = _u16_prefixed(body, offset, where) if offset < len(body) else (body[0:0], offset)
        return cls(body[0], bytes(primary), bytes(secondary), bool(body[1]))


@record(frozen=True, slots=True)
class UserIdentityAC:
    server_response: bytes = b""

    def encode(self) -> bytes:
        return item(ItemType.USER_IDENTITY_AC, _prefixed(self.server_response))

    @classmethod
    def decode(cls, body: memoryview) -> UserIdentityAC:
        response, _ = _u16_prefixed(body, 0, "user identity (AC)")
        return cls(bytes(response))


@record(frozen=True, slots=True)
class UserInformation:
    """The user-information item (0x50) with all its sub-items.

    ``max_length`` 0 means "no limit"; None means the sub-item is absent.
    Unknown sub-items are kept (type, body) so nothing the peer sent is lost.
    """

    max_length: int | None = 16384
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    async_ops_window: tuple[int, int] | None = None
    role_selections: tuple[RoleSelection, ...] = ()
    extended_negotiation: tuple[SOPClassExtendedNegotiation, ...] = ()
    common_extended_negotiation: tuple[SOPClassCommonExtendedNegotiation, ...] = ()
    user_identity_rq: UserIdentityRQ | None = None
    user_identity_ac: UserIdentityAC | None = None
    unknown_items: tuple[tuple[int, bytes], ...] = field(default=())

    def encode(self) -> bytes:
        parts: list[bytes] = []
        if self.max_length is not None:
            parts.append(item(ItemType.MAXIMUM_LENGTH, pack(_U32, self.max_length, what="maximum length")))
        if self.implementation_class_uid:
            parts.append(item(ItemType.IMPLEMENTATION_CLASS_UID, encode_uid(self.implementation_class_uid)))
        if self.async_ops_window is not None:
            invoked, performed = self.async_ops_window
            window = pack(_ASYNC_WINDOW, invoked, performed, what="asynchronous operations window")
            parts.append(item(ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW, window))
        parts.extend(r.encode() for r in self.role_selections)
        if self.implementation_version_name:
            name = self.implementation_version_name.encode("ascii")
            if len(name) > MAX_VERSION_NAME_LENGTH:
                raise ValueError(f"implementation version name longer than 16 characters: {name!r}")
            parts.append(item(ItemType.IMPLEMENTATION_VERSION_NAME, name))
        parts.extend(e.encode() for e in self.extended_negotiation)
        parts.extend(e.encode() for e in self.common_extended_negotiation)
        if self.user_identity_rq is not None:
            parts.append(self.user_identity_rq.encode())
        if self.user_identity_ac is not None:
            parts.append(self.user_identity_ac.encode())
        parts.extend(item(t, body) for t, body in self.unknown_items)
        return item(ItemType.USER_INFORMATION, b"".join(parts))

    @classmethod
    def decode(cls, body: memoryview) -> UserInformation:
        values: dict[str, object] = {"max_length": None}
        lists: dict[str, list[object]] = {name: [] for name in _REPEATED_SUBITEMS.values()}
        unknown: list[tuple[int, bytes]] = []
        for sub_type, sub in iter_items(body, "user information"):
            if sub_type in _REPEATED_SUBITEMS:
                lists[_REPEATED_SUBITEMS[sub_type]].append(_SUBITEM_DECODERS[sub_type](sub))
            elif sub_type in _SUBITEM_DECODERS:
                values[_SINGLE_SUBITEMS[sub_type]] = _SUBITEM_DECODERS[sub_type](sub)
            else:
                unknown.append((sub_type, bytes(sub)))
        kwargs = values | {name: tuple(v) for name, v in lists.items()}
        return cls(unknown_items=tuple(unknown), **kwargs)  # type: ignore[arg-type]


def _decode_max_length(body: memoryview) -> int:
    if len(body) != 4:
        raise RemoteProtocolError(f"maximum length sub-item: {len(body)} bytes, expected 4")
    return int(_U32.unpack(body)[0])


def _decode_async_window(body: memoryview) -> tuple[int, int]:
    if len(body) != 4:
        raise RemoteProtocolError("asynchronous operations window: expected 4 bytes")
    return (_U16.unpack_from(body, 0)[0], _U16.unpack_from(body, 2)[0])


_SUBITEM_DECODERS: dict[int, Callable[[memoryview], object]] = {
    ItemType.MAXIMUM_LENGTH: _decode_max_length,
    ItemType.IMPLEMENTATION_CLASS_UID: lambda b: decode_text(b, "implementation class UID"),
    ItemType.IMPLEMENTATION_VERSION_NAME: lambda b: decode_text(b, "implementation version name"),
    ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: _decode_async_window,
    ItemType.ROLE_SELECTION: RoleSelection.decode,
    ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: SOPClassExtendedNegotiation.decode,
    ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: SOPClassCommonExtendedNegotiation.decode,
    ItemType.USER_IDENTITY_RQ: UserIdentityRQ.decode,
    ItemType.USER_IDENTITY_AC: UserIdentityAC.decode,
}
_SINGLE_SUBITEMS: dict[int, str] = {
    ItemType.MAXIMUM_LENGTH: "max_length",
    ItemType.IMPLEMENTATION_CLASS_UID: "implementation_class_uid",
    ItemType.IMPLEMENTATION_VERSION_NAME: "implementation_version_name",
    ItemType.ASYNCHRONOUS_OPERATIONS_WINDOW: "async_ops_window",
    ItemType.USER_IDENTITY_RQ: "user_identity_rq",
    ItemType.USER_IDENTITY_AC: "user_identity_ac",
}
_REPEATED_SUBITEMS: dict[int, str] = {
    ItemType.ROLE_SELECTION: "role_selections",
    ItemType.SOP_CLASS_EXTENDED_NEGOTIATION: "extended_negotiation",
    ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: "common_extended_negotiation",
}
