"""A data set rewritten the way DCMTK sends one, without parsing its values.

DCMTK's storescu loads a file and lets its DIMSE layer encode it again; what
arrives differs from the file in three ways (observed with ``storescp +B``):
every sequence and item gets an explicit length, Data Set Trailing Padding
(FFFC,FFFC) is dropped, and spaces are removed from the SOP Class and SOP
Instance UIDs.  ``write_normal_form`` copies a file's meta header and data set
element by element into ``out`` making just those changes; other elements are
copied byte for byte (large values in chunks), and encapsulated pixel data
stays as it is (its undefined length is required).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Final

from dicomwire.services.dataset_head import IMPLICIT_LITTLE, Encoding
from dicomwire.services.dataset_walk import (
    ITEM,
    ITEM_END,
    SEQUENCE_END,
    TRAILING_PADDING,
    UNDEFINED,
    top_level_elements,
)

__all__ = ["write_normal_form"]

_PIXEL_DATA: Final = 0x7FE00010
_SPACE_FREE_UIDS: Final = frozenset({0x00080016, 0x00080018})
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_CHUNK: Final = 1 << 20


class _Encoder:
    """Element headers, and sequences re-encoded with explicit lengths, in one encoding."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding = encoding
        order = "<" if encoding.little_endian else ">"
        self.order = order
        self._u32 = struct.Struct(order + "I")
        self._u16 = struct.Struct(order + "H")

    def header(self, tag: int, vr: bytes, length: int) -> bytes:
        tag_bytes = self._u16.pack(tag >> 16) + self._u16.pack(tag & 0xFFFF)
        if not self.encoding.explicit_vr or not vr:
            return tag_bytes + self._u32.pack(length)
        if vr in _LONG_VRS:
            return tag_bytes + vr + b"\0\0" + self._u32.pack(length)
        return tag_bytes + vr + self._u16.pack(length)

    def item(self, body: bytes) -> bytes:
        return self.header(ITEM, b"", len(body)) + body

    def sequence(self, raw: bytes, pos: int, end: int | None) -> tuple[bytes, int]:
        """The items from ``pos`` (to ``end``, or to the delimiter) with explicit
        lengths; and the position after them."""
        items: list[bytes] = []
        while end is None or pos < end:
            tag, length, pos = self._item_header(raw, pos)
            if tag == SEQUENCE_END:
                break
            body, pos = self.elements(raw, pos, None if length == UNDEFINED else pos + length)
            items.append(self.item(body))
        return b"".join(items), pos

    def elements(self, raw: bytes, pos: int, end: int | None) -> tuple[bytes, int]:
        """The elements of an item from ``pos`` (to ``end``, or to its delimiter)."""
        parts: list[bytes] = []
        while end is None or pos < end:
            tag, vr, length, value = _element_header(raw, pos, self.encoding)
            if tag == ITEM_END:
                pos = value
                break
            if vr == b"SQ" or (length == UNDEFINED and tag != _PIXEL_DATA):
                inner = self if vr != b"UN" else _Encoder(IMPLICIT_LITTLE)
                body, pos = inner.sequence(raw, value, None if length == UNDEFINED else value + length)
                parts.append(self.header(tag, b"SQ" if vr else b"", len(body)) + body)
                continue
            if length == UNDEFINED:  # encapsulated pixel data in an item: as it is
                stop = _after_fragments(raw, value, self.encoding)
                parts.append(raw[pos:stop])
                pos = stop
                continue
            parts.append(raw[pos : value + length])
            pos = value + length
        return b"".join(parts), pos

    def _item_header(self, raw: bytes, pos: int) -> tuple[int, int, int]:
        group, element = struct.unpack_from(self.order + "HH", raw, pos)
        (length,) = self._u32.unpack_from(raw, pos + 4)
        return (group << 16) | element, length, pos + 8


def _element_header(raw: bytes, pos: int, encoding: Encoding) -> tuple[int, bytes, int, int]:
    order = "<" if encoding.little_endian else ">"
    group, element = struct.unpack_from(order + "HH", raw, pos)
    tag = (group << 16) | element
    if not encoding.explicit_vr or group == 0xFFFE:
        return tag, b"", struct.unpack_from(order + "I", raw, pos + 4)[0], pos + 8
    vr = raw[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        return tag, vr, struct.unpack_from(order + "I", raw, pos + 8)[0], pos + 12
    return tag, vr, struct.unpack_from(order + "H", raw, pos + 6)[0], pos + 8


def _after_fragments(raw: bytes, pos: int, encoding: Encoding) -> int:
    order = "<" if encoding.little_endian else ">"
    while True:
        group, element, length = struct.unpack_from(order + "HHI", raw, pos)
        pos += 8
        if (group << 16) | element == SEQUENCE_END:
            return pos
        pos += length


def _copy(fp: BinaryIO, out: BinaryIO, start: int, end: int) -> None:
    fp.seek(start)
    left = end - start
    while left > 0:
        chunk = fp.read(min(left, _CHUNK))
        if not chunk:
            raise OSError("file shrank while it was rewritten")
        out.write(chunk)
        left -= len(chunk)


def _uid_without_spaces(value: bytes) -> bytes:
    text = value.replace(b" ", b"").rstrip(b"\0")
    return text + b"\0" if len(text) % 2 else text


def write_normal_form(fp: BinaryIO, out: BinaryIO, offset: int, size: int, encoding: Encoding) -> None:
    """Copy the file ``fp`` (its data set from ``offset`` to ``size``) to ``out`` as
    DCMTK would send it.  The file must have passed ``dataset_walk.walk_file``."""
    encoder = _Encoder(encoding)
    _copy(fp, out, 0, offset)  # the meta header, as it is (it is not sent)
    for element in top_level_elements(fp, offset, size, encoding):
        tag, vr = element.tag, element.vr
        if tag == TRAILING_PADDING:
            continue
        if vr == b"SQ" or (element.length == UNDEFINED and tag != _PIXEL_DATA):
            fp.seek(element.value)
            raw = fp.read(element.end - element.value)
            inner = encoder if vr != b"UN" else _Encoder(IMPLICIT_LITTLE)
            end = None if element.length == UNDEFINED else len(raw)
            body, _ = inner.sequence(raw, 0, end)
            out.write(encoder.header(tag, b"SQ" if vr else b"", len(body)) + body)
        elif tag in _SPACE_FREE_UIDS:
            fp.seek(element.value)
            value = _uid_without_spaces(fp.read(element.length))
            out.write(encoder.header(tag, vr, len(value)) + value)
        else:
            _copy(fp, out, element.start, element.end)
