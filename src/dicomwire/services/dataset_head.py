"""The first elements of an encoded data set, read without reading the rest.

A C-STORE receiver wants the SOP Class UID, SOP Instance UID and Series Date
(all in group 0008, near the start) before the gigabytes of pixel data behind
them have arrived; ``storescu`` wants the two UIDs of a file without parsing
it.  ``HeadScanner`` is fed the encoded bytes in any chunking and stops at the
first top-level element past ``stop_after``.  It never holds more than
``limit`` bytes: a defined-length element it does not want is skipped without
being kept, and when an undefined-length sequence before the stop does not fit
in the limit the scanner gives up (``gave_up``), keeping what it found.

Hostile input is expected: lengths past the end, invalid VRs, nesting beyond
``MAX_DEPTH`` and corrupt deflate streams end the scan with ``error`` set.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from typing import Final

from dicomwire import uids

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_DEPTH",
    "SERIES_DATE",
    "SOP_CLASS_UID",
    "SOP_INSTANCE_UID",
    "Encoding",
    "HeadScanner",
    "encoding_of",
    "text_value",
]

SOP_CLASS_UID: Final = 0x00080016
SOP_INSTANCE_UID: Final = 0x00080018
SERIES_DATE: Final = 0x00080021
DEFAULT_LIMIT: Final = 1 << 20
MAX_DEPTH: Final = 32

_UNDEFINED: Final = 0xFFFFFFFF
_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
# VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2).
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_VR: Final = re.compile(rb"[A-Z]{2}")


Encoding = uids.TransferSyntax  # what a reader needs of one: VR explicitness, byte order, deflate
_EXPLICIT_LITTLE: Final = uids.TRANSFER_SYNTAXES[uids.EXPLICIT_VR_LITTLE_ENDIAN]
IMPLICIT_LITTLE: Final = uids.TRANSFER_SYNTAXES[uids.IMPLICIT_VR_LITTLE_ENDIAN]


def encoding_of(transfer_syntax: str) -> Encoding:
    """The description of a transfer syntax; unknown ones are explicit VR little
    endian, as every encapsulated syntax's data set is (PS3.5 A.4)."""
    return uids.TRANSFER_SYNTAXES.get(transfer_syntax, _EXPLICIT_LITTLE)


def text_value(raw: bytes) -> str:
    """A UI/DA/CS value as text: Latin-1, padding (NUL, space) stripped at the end."""
    return raw.decode("latin-1").rstrip("\0 ")


class _NeedMore(Exception):
    """The buffer ends inside the construct being parsed."""


class _Malformed(Exception):
    """The bytes cannot be a data set in this encoding."""


class _Reader:
    """Element and item headers from one buffer in one encoding."""

    def __init__(self, buf: bytes | bytearray, encoding: Encoding) -> None:
        self.buf = buf
        self.encoding = encoding
        order = "<" if encoding.little_endian else ">"
        self._tag_length = struct.Struct(order + "HHI")
        self._tag_vr_short = struct.Struct(order + "HH2sH")
        self._long_length = struct.Struct(order + "I")

    def header(self, pos: int) -> tuple[int, bytes, int, int]:
        """(tag, vr or b"", value length, position of the value)."""
        buf = self.buf
        if len(buf) - pos < 8:
            raise _NeedMore
        if not self.encoding.explicit_vr:
            group, element, length = self._tag_length.unpack_from(buf, pos)
            return (group << 16) | element, b"", length, pos + 8
        group, element, vr, short = self._tag_vr_short.unpack_from(buf, pos)
        tag = (group << 16) | element
        if group == 0xFFFE:  # items and delimiters carry no VR
            (length,) = self._long_length.unpack_from(buf, pos + 4)
            return tag, b"", length, pos + 8
        if _VR.fullmatch(vr) is None:
            raise _Malformed(f"invalid VR {vr!r} in element ({group:04X},{element:04X})")
        if vr not in _LONG_VRS:
            return tag, vr, short, pos + 8
        if len(buf) - pos < 12:
            raise _NeedMore
        (length,) = self._long_length.unpack_from(buf, pos + 8)
        return tag, vr, length, pos + 12

    def item_header(self, pos: int) -> tuple[int, int, int]:
        if len(self.buf) - pos < 8:
            raise _NeedMore
        group, element, length = self._tag_length.unpack_from(self.buf, pos)
        return (group << 16) | element, length, pos + 8

    def nested(self, vr: bytes) -> _Reader:
        """The reader for the items of an undefined-length element: UN holds implicit VR LE."""
        if vr == b"UN" and self.encoding.explicit_vr:
            return _Reader(self.buf, IMPLICIT_LITTLE)
        return self


def _skip_sequence(reader: _Reader, pos: int, depth: int) -> int:
    """Skip the items of an undefined-length element; the position after its delimiter."""
    if depth > MAX_DEPTH:
        raise _Malformed(f"sequences nested deeper than {MAX_DEPTH}")
    while True:
        tag, length, pos = reader.item_header(pos)
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _Malformed(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) where an item was expected")
        if length != _UNDEFINED:
            pos += length
            if pos > len(reader.buf):
                raise _NeedMore
            continue
        pos = _skip_item(reader, pos, depth + 1)


def _skip_item(reader: _Reader, pos: int, depth: int) -> int:
    """Skip the elements of an undefined-length item; the position after its delimiter."""
    while True:
        tag, vr, length, pos = reader.header(pos)
        if tag == _ITEM_END:
            return pos
        if length == _UNDEFINED:
            pos = _skip_sequence(reader.nested(vr), pos, depth + 1)
            continue
        pos += length
        if pos > len(reader.buf):
            raise _NeedMore


class HeadScanner:
    """Incremental scan of the top-level elements of a data set up to a tag.

    ``feed(data)`` returns True once the scan is over (``done``); then
    ``values`` maps each wanted tag that was found to its raw value bytes.
    ``finish()`` says the data set ended.  ``error`` is set when the bytes are
    not a data set; ``gave_up`` when ``limit`` was reached first.
    """

    def __init__(
        self,
        encoding: Encoding,
        *,
        wanted: Iterable[int] = (SOP_CLASS_UID, SOP_INSTANCE_UID),
        stop_after: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.encoding = encoding
        self.wanted = frozenset(wanted)
        self.stop_after = max(self.wanted) if stop_after is None else stop_after
        self.limit = limit
        self.values: dict[int, bytes] = {}
        self.error: str | None = None
        self.gave_up = False
        self.done = False
        self.consumed = 0  # decoded bytes scanned so far (before deflate: after inflating)
        self._buffer = bytearray()
        self._skip = 0
        self._reader = _Reader(self._buffer, encoding)
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS) if encoding.deflated else None

    def feed(self, data: bytes | bytearray | memoryview) -> bool:
        """Take the next encoded bytes; True when the scan is over."""
        if self.done or not data:
            return self.done
        if self._inflater is None:
            self._take(data)
            return self.done
        try:
            chunk = self._inflater.decompress(data, self.limit + 1)
            while chunk and not self.done:
                self._take(chunk)
                tail = self._inflater.unconsumed_tail
                chunk = self._inflater.decompress(tail, self.limit + 1) if tail else b""
        except zlib.error as exc:
            self._fail(f"deflated data set is corrupt: {exc}")
        return self.done

    def finish(self) -> None:
        """The data set ended: whatever was not found is not there."""
        if self.done:
            return
        if self._buffer or self._skip:
            self._fail("data set ends inside an element")
        elif self.consumed == 0:
            self._fail("empty data set")
        else:
            self.done = True

    def _take(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        if self._skip:
            step = min(self._skip, len(view))
            self._skip -= step
            self.consumed += step
            view = view[step:]
            if not view:
                return
        self._buffer += view
        try:
            self._parse()
        except _Malformed as exc:
            self._fail(str(exc))
            return
        if not self.done and len(self._buffer) > self.limit:
            self.gave_up = True
            self._stop()

    def _parse(self) -> None:
        reader, buf = self._reader, self._buffer
        while True:
            try:
                tag, vr, length, start = reader.header(0)
                if tag > self.stop_after:
                    self._stop()
                    return
                if length == _UNDEFINED:
                    end = _skip_sequence(reader.nested(vr), start, 1)
                elif start + length > len(buf):
                    if tag in self.wanted and start + length <= self.limit:
                        return  # wait for the whole value
                    self._skip = start + length - len(buf)
                    self.consumed += len(buf)
                    buf.clear()
                    return
                else:
                    end = start + length
                    if tag in self.wanted:
                        self.values[tag] = bytes(buf[start:end])
            except _NeedMore:
                return
            self.consumed += end
            del buf[:end]

    def _fail(self, message: str) -> None:
        self.error = message
        self._stop()

    def _stop(self) -> None:
        self.done = True
        self._buffer.clear()
        self._skip = 0
