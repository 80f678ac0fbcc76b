"""The seven Upper Layer PDUs (PS3.8 9.3) as frozen dataclasses.

``encode_pdu(pdu) -> bytes`` and ``decode_pdu(pdu_type, body) -> PDU`` go
through one table keyed by PDU type.  ``body`` is everything after the 6-byte
PDU header; framing.py has already checked it against the announced length.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import field
from enum import IntEnum

from dicomwire._records import record
from dicomwire.errors import RemoteProtocolError
from dicomwire.ul.items import (
    ItemType,
    PresentationContextAC,
    PresentationContextRQ,
    UserInformation,
    decode_text,
    encode_uid,
    item,
    iter_items,
    pack,
)
from dicomwire.ul.pdv import PDV

APPLICATION_CONTEXT_NAME = "1.2.840.10008.3.1.1.1"

_PDU_HEADER = struct.Struct(">BxI")
_PDV_HEADER = struct.Struct(">IBB")
_FIXED_ASSOCIATE = struct.Struct(">Hxx16s16s32x")  # version, reserved, called, calling, reserved
_FOUR_BYTES = struct.Struct(">xBBB")  # reserved, then three significant bytes


class PDUType(IntEnum):
    A_ASSOCIATE_RQ = 0x01
    A_ASSOCIATE_AC = 0x02
    A_ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    A_RELEASE_RQ = 0x05
    A_RELEASE_RP = 0x06
    A_ABORT = 0x07


class AbortSource(IntEnum):
    SERVICE_USER = 0
    RESERVED = 1
    SERVICE_PROVIDER = 2


class AbortReason(IntEnum):
    """A-ABORT reasons when the source is the service provider (PS3.8 9.3.8)."""

    NOT_SPECIFIED = 0
    UNRECOGNIZED_PDU = 1
    UNEXPECTED_PDU = 2
    RESERVED = 3
    UNRECOGNIZED_PDU_PARAMETER = 4
    UNEXPECTED_PDU_PARAMETER = 5
    INVALID_PDU_PARAMETER_VALUE = 6


def pad_ae(title: str) -> bytes:
    """An AE title as 16 bytes, space padded (PS3.8 9.3.2)."""
    raw = title.encode("ascii")
    if len(raw) > 16:
        raise ValueError(f"AE title longer than 16 characters: {title!r}")
    return raw.ljust(16, b" ")


@record(frozen=True, slots=True)
class _AssociateBase:
    called_ae: str
    calling_ae: str
    user_information: UserInformation = field(default_factory=UserInformation)
    application_context: str = APPLICATION_CONTEXT_NAME
    protocol_version: int = 1

    def _encode(
        self, pdu_type: int, contexts: Sequence[PresentationContextRQ | PresentationContextAC]
    ) -> bytes:
        called, calling = pad_ae(self.called_ae), pad_ae(self.calling_ae)
        fixed = pack(_FIXED_ASSOCIATE, self.protocol_version, called, calling, what="protocol version")
        body = b"".join(
            [
                fixed,
                item(ItemType.APPLICATION_CONTEXT, encode_uid(self.application_context)),
                *(c.encode() for c in contexts),
                self.user_information.encode(),
            ]
        )
        return _PDU_HEADER.pack(pdu_type, len(body)) + body


_ASSOCIATE_ITEMS = frozenset(
    {
        ItemType.APPLICATION_CONTEXT,
        ItemType.PRESENTATION_CONTEXT_RQ,
        ItemType.PRESENTATION_CONTEXT_AC,
        ItemType.USER_INFORMATION,
    }
)


def _decode_associate(
    body: memoryview, context_type: int, context_decoder: Callable[[memoryview], object]
) -> dict[str, object]:
    where = "A-ASSOCIATE PDU"
    if len(body) < _FIXED_ASSOCIATE.size:
        raise RemoteProtocolError(f"{where}: {len(body)} bytes, shorter than its fixed fields")
    version, called, calling = _FIXED_ASSOCIATE.unpack_from(body)
    fields: dict[str, object] = {
        "protocol_version": version,
        "called_ae": decode_text(called, "called AE title"),
        "calling_ae": decode_text(calling, "calling AE title"),
    }
    contexts: list[object] = []
    user_info: UserInformation | None = None
    for item_type, sub in iter_items(body[_FIXED_ASSOCIATE.size :], where):
        if item_type == ItemType.APPLICATION_CONTEXT:
            fields["application_context"] = decode_text(sub, "application context")
        elif item_type == context_type:
            contexts.append(context_decoder(sub))
        elif item_type == ItemType.USER_INFORMATION:
            user_info = UserInformation.decode(sub)
        elif item_type in _ASSOCIATE_ITEMS:
            raise RemoteProtocolError(f"{where}: unexpected item 0x{item_type:02X}")
        # PS3.8 9.3.1: items of unrecognized types shall be ignored and skipped.
    if "application_context" not in fields:
        raise RemoteProtocolError(f"{where}: no application context item")
    if user_info is None:
        raise RemoteProtocolError(f"{where}: no user information item")
    fields["user_information"] = user_info
    fields["presentation_contexts"] = tuple(contexts)
    return fields


@record(frozen=True, slots=True)
class AAssociateRQ(_AssociateBase):
    presentation_contexts: tuple[PresentationContextRQ, ...] = ()

    def encode(self) -> bytes:
        return self._encode(PDUType.A_ASSOCIATE_RQ, self.presentation_contexts)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRQ:
        fields = _decode_associate(body, ItemType.PRESENTATION_CONTEXT_RQ, PresentationContextRQ.decode)
        return cls(**fields)  # type: ignore[arg-type]


@record(frozen=True, slots=True)
class AAssociateAC(_AssociateBase):
    presentation_contexts: tuple[PresentationContextAC, ...] = ()

    def encode(self) -> bytes:
        return self._encode(PDUType.A_ASSOCIATE_AC, self.presentation_contexts)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateAC:
        fields = _decode_associate(body, ItemType.PRESENTATION_CONTEXT_AC, PresentationContextAC.decode)
        return cls(**fields)  # type: ignore[arg-type]


class RejectResult(IntEnum):
    PERMANENT = 1
    TRANSIENT = 2


class RejectSource(IntEnum):
    SERVICE_USER = 1
    SERVICE_PROVIDER_ACSE = 2
    SERVICE_PROVIDER_PRESENTATION = 3


@record(frozen=True, slots=True)
class AAssociateRJ:
    result: int
    source: int
    reason: int

    def encode(self) -> bytes:
        fields = pack(_FOUR_BYTES, self.result, self.source, self.reason, what="A-ASSOCIATE-RJ field")
        return _PDU_HEADER.pack(PDUType.A_ASSOCIATE_RJ, 4) + fields

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRJ:
        result, source, reason = _FOUR_BYTES.unpack(_exactly_four(body, "A-ASSOCIATE-RJ"))
        return cls(result, source, reason)


@record(frozen=True, slots=True)
class PDataTF:
    pdvs: tuple[PDV, ...]

    def encode(self) -> bytes:
        return encode_pdata(self.pdvs)

    @classmethod
    def decode(cls, body: memoryview) -> PDataTF:
        return cls(decode_pdvs(body))


def encode_pdata(pdvs: Sequence[PDV]) -> bytes:
    """One P-DATA-TF PDU carrying ``pdvs`` (the hot path: one join, no extra copies)."""
    parts: list[bytes | memoryview] = [b""]
    length = 0
    for pdv in pdvs:
        size = len(pdv.data)
        parts.append(pack(_PDV_HEADER, size + 2, pdv.context_id, pdv.control_header, what="PDV"))
        parts.append(pdv.data)
        length += size + 6
    parts[0] = pack(_PDU_HEADER, PDUType.P_DATA_TF, length, what="P-DATA-TF longer than 4 GiB")
    return b"".join(parts)


def decode_pdvs(body: memoryview) -> tuple[PDV, ...]:
    pdvs: list[PDV] = []
    offset, end = 0, len(body)
    if end == 0:
        raise RemoteProtocolError("P-DATA-TF without any presentation data value")
    while offset < end:
        if end - offset < 6:
            raise RemoteProtocolError("P-DATA-TF: truncated PDV item header")
        length, context_id, header = _PDV_HEADER.unpack_from(body, offset)
        if length < 2 or length > end - offset - 4:
            raise RemoteProtocolError(f"P-DATA-TF: PDV item length {length} does not fit the PDU")
        start = offset + 6
        offset += 4 + length
        pdvs.append(PDV(context_id, bool(header & 1), bool(header & 2), body[start:offset]))
    return tuple(pdvs)


@record(frozen=True, slots=True)
class AReleaseRQ:
    def encode(self) -> bytes:
        return _PDU_HEADER.pack(PDUType.A_RELEASE_RQ, 4) + bytes(4)

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRQ:
        _exactly_four(body, "A-RELEASE-RQ")
        return cls()


@record(frozen=True, slots=True)
class AReleaseRP:
    def encode(self) -> bytes:
        return _PDU_HEADER.pack(PDUType.A_RELEASE_RP, 4) + bytes(4)

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRP:
        _exactly_four(body, "A-RELEASE-RP")
        return cls()


@record(frozen=True, slots=True)
class AAbort:
    source: int = AbortSource.SERVICE_USER
    reason: int = AbortReason.NOT_SPECIFIED

    def encode(self) -> bytes:
        return _PDU_HEADER.pack(PDUType.A_ABORT, 4) + bytes((0, 0, self.source, self.reason))

    @classmethod
    def decode(cls, body: memoryview) -> AAbort:
        _, source, reason = _FOUR_BYTES.unpack(_exactly_four(body, "A-ABORT"))
        return cls(source, reason)


def _exactly_four(body: memoryview, name: str) -> memoryview:
    if len(body) != 4:
        raise RemoteProtocolError(f"{name} PDU of length {len(body)}, expected 4")
    return body


PDU = AAssociateRQ | AAssociateAC | AAssociateRJ | PDataTF | AReleaseRQ | AReleaseRP | AAbort

_DECODERS: dict[int, Callable[[memoryview], PDU]] = {
    PDUType.A_ASSOCIATE_RQ: AAssociateRQ.decode,
    PDUType.A_ASSOCIATE_AC: AAssociateAC.decode,
    PDUType.A_ASSOCIATE_RJ: AAssociateRJ.decode,
    PDUType.P_DATA_TF: PDataTF.decode,
    PDUType.A_RELEASE_RQ: AReleaseRQ.decode,
    PDUType.A_RELEASE_RP: AReleaseRP.decode,
    PDUType.A_ABORT: AAbort.decode,
}


def decode_pdu(pdu_type: int, body: bytes | memoryview) -> PDU:
    """Decode one PDU body; an unknown type is a RemoteProtocolError."""
    decoder = _DECODERS.get(pdu_type)
    if decoder is None:
        raise RemoteProtocolError(f"unrecognized PDU type 0x{pdu_type:02X}")
    return decoder(memoryview(body))


def encode_pdu(pdu: PDU) -> bytes:
    return pdu.encode()


def pdu_header(pdu_type: int, length: int) -> bytes:
    return _PDU_HEADER.pack(pdu_type, length)


PDU_HEADER = _PDU_HEADER
