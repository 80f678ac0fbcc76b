"""Data sets built byte by byte: explicit- and undefined-length sequences, group lengths,
odd lengths, any byte order (what pydicom would not write)."""

from __future__ import annotations

import struct

UNDEFINED = 0xFFFFFFFF
_LONG = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())


class Encoder:
    """Element, item and sequence bytes in one encoding (implicit VR ignores the VRs given)."""

    def __init__(self, *, explicit: bool = True, little: bool = True) -> None:
        self.explicit = explicit
        self.order = "<" if little else ">"

    def element(self, tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
        group, element = tag >> 16, tag & 0xFFFF
        n = len(value) if length is None else length
        if not self.explicit:
            return struct.pack(self.order + "HHI", group, element, n) + value
        if vr in _LONG:
            return struct.pack(self.order + "HH2sHI", group, element, vr, 0, n) + value
        return struct.pack(self.order + "HH2sH", group, element, vr, n) + value

    def item(self, content: bytes, *, undefined: bool = False) -> bytes:
        if undefined:
            return self._tag(0xFFFEE000, UNDEFINED) + content + self._tag(0xFFFEE00D, 0)
        return self._tag(0xFFFEE000, len(content)) + content

    def sequence(self, tag: int, *items: bytes, undefined: bool = False, vr: bytes = b"SQ") -> bytes:
        body = b"".join(items)
        if undefined:
            return self.element(tag, vr, body + self._tag(0xFFFEE0DD, 0), UNDEFINED)
        return self.element(tag, vr, body)

    def ul(self, value: int) -> bytes:
        return struct.pack(self.order + "I", value)

    def _tag(self, tag: int, length: int) -> bytes:
        return struct.pack(self.order + "HHI", tag >> 16, tag & 0xFFFF, length)


def uid(text: str) -> bytes:
    raw = text.encode()
    return raw + b"\0" * (len(raw) % 2)
