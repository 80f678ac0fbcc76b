"""A walk over the element headers of a data set in a file, seeking over the values.

Before a file is streamed, its elements must fit in it: a file cut short (a
copy that stopped, a disk that filled) would otherwise go out as it is, and
the receiver would store a broken object or abort.  ``walk_file`` reads the
element headers of the data set, from the data set's offset to the end of the
file, seeking over the values (pixel data is never read); undefined-length
sequences and items are walked into, encapsulated pixel data item by item,
defined-length sequences are read (they are small) for what they hold.  It
raises ``TruncatedDataset`` when a value claims more bytes than remain or the
file ends inside a header, and reports what DCMTK changes when it sends a data
set (``Layout``): undefined lengths, Data Set Trailing Padding.

Deflated data sets are not walked (that would mean inflating them).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO, Final

from dicomwire._records import record
from dicomwire.errors import DatasetCodecError
from dicomwire.services.dataset_head import MAX_DEPTH, Encoding

__all__ = ["PLAIN_LAYOUT", "Element", "Layout", "TruncatedDataset", "top_level_elements", "walk_file"]

UNDEFINED: Final = 0xFFFFFFFF
ITEM: Final = 0xFFFEE000
ITEM_END: Final = 0xFFFEE00D
SEQUENCE_END: Final = 0xFFFEE0DD
TRAILING_PADDING: Final = 0xFFFCFFFC
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_WINDOW: Final = 16 * 1024
_MAX_SEQUENCE_READ: Final = 1 << 20  # a defined-length sequence larger than this is only skipped


class TruncatedDataset(DatasetCodecError):
    """The data set ends before an element does.  ``tag`` and ``claimed`` name the
    element whose value is longer than the ``remaining`` bytes (``tag`` is None when
    the file ends inside an element header)."""

    def __init__(self, message: str, tag: int | None = None, claimed: int = 0, remaining: int = 0) -> None:
        super().__init__(message)
        self.tag = tag
        self.claimed = claimed
        self.remaining = remaining


@record(frozen=True, slots=True)
class Layout:
    """What sending the data set "as DCMTK does" would change in it."""

    undefined_lengths: bool = False  # a sequence or item of undefined length
    trailing_padding: bool = False  # (FFFC,FFFC) at the top level


PLAIN_LAYOUT: Final = Layout()


@record(frozen=True, slots=True)
class Element:
    """One top-level element: where its header starts, where its value starts and ends."""

    tag: int
    vr: bytes
    start: int
    value: int
    end: int
    length: int


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04x},{tag & 0xFFFF:04x})"


class _Window:
    """Bytes of the file around a position, read in small windows."""

    def __init__(self, fp: BinaryIO, size: int, first: bytes = b"", first_at: int = 0) -> None:
        self.fp = fp
        self.size = size
        self.buf = first
        self.at = first_at

    def get(self, pos: int, count: int) -> bytes | memoryview:
        """``count`` bytes at ``pos`` (fewer at the end of the file)."""
        offset = pos - self.at
        if offset < 0 or offset + count > len(self.buf):
            self.fp.seek(pos)
            self.buf = self.fp.read(max(count, _WINDOW))
            self.at = pos
            offset = 0
        return memoryview(self.buf)[offset : offset + count]


class _Walker:
    def __init__(self, window: _Window, encoding: Encoding) -> None:
        self.window = window
        self.size = window.size
        order = "<" if encoding.little_endian else ">"
        self.explicit = encoding.explicit_vr
        self._short = struct.Struct(order + "HH2sH")
        self._implicit = struct.Struct(order + "HHI")
        self._long = struct.Struct(order + "I")
        self.undefined = False

    def header(self, pos: int, limit: int) -> tuple[int, bytes, int, int]:
        """(tag, VR or b"", value length, value position) of the element at ``pos``."""
        head = self.window.get(pos, 12)
        if len(head) < 8 or pos + 8 > limit:
            raise TruncatedDataset(f"data set ends inside the element header at offset {pos}")
        if not self.explicit:
            group, element, length = self._implicit.unpack_from(head)
            return (group << 16) | element, b"", length, pos + 8
        group, element, vr, length = self._short.unpack_from(head)
        if group == 0xFFFE:
            (length,) = self._long.unpack_from(head, 4)
            return (group << 16) | element, b"", length, pos + 8
        if vr in _LONG_VRS:
            if len(head) < 12 or pos + 12 > limit:
                raise TruncatedDataset(f"data set ends inside the element header at offset {pos}")
            (length,) = self._long.unpack_from(head, 8)
            return (group << 16) | element, bytes(vr), length, pos + 12
        return (group << 16) | element, bytes(vr), length, pos + 8

    def _too_long(self, tag: int, length: int, value: int, limit: int) -> TruncatedDataset:
        remaining = max(limit - value, 0)
        return TruncatedDataset(
            f"element {_tag_text(tag)} larger ({length}) than remaining bytes ({remaining})",
            tag,
            length,
            remaining,
        )

    def element_end(self, tag: int, vr: bytes, length: int, value: int, limit: int, depth: int) -> int:
        """Where the element whose value starts at ``value`` ends; walks into sequences."""
        if length == UNDEFINED:
            if vr not in (b"SQ", b"", b"UN") and tag != 0x7FE00010:
                raise DatasetCodecError(f"undefined length in {_tag_text(tag)} ({vr.decode()})")
            nested = self if vr != b"UN" or not self.explicit else self._implicit_walker()
            encapsulated = tag == 0x7FE00010 and vr != b""
            if not encapsulated:
                self.undefined = True
            end = nested.sequence(value, limit, depth + 1, encapsulated=encapsulated)
            self.undefined = self.undefined or nested.undefined
            return end
        end = value + length
        if end > limit:
            raise self._too_long(tag, length, value, limit)
        if vr == b"SQ" and length <= _MAX_SEQUENCE_READ:
            self.defined_sequence(value, end, depth + 1)
        return end

    def _implicit_walker(self) -> _Walker:
        from dicomwire.services.dataset_head import IMPLICIT_LITTLE

        return _Walker(self.window, IMPLICIT_LITTLE)

    def sequence(self, pos: int, limit: int, depth: int, *, encapsulated: bool = False) -> int:
        """Walk the items of an undefined-length value; the position after its delimiter."""
        if depth > MAX_DEPTH:
            raise DatasetCodecError(f"sequences nested deeper than {MAX_DEPTH}")
        while True:
            tag, _, length, value = self.header(pos, limit)
            if tag == SEQUENCE_END:
                return value
            if tag != ITEM:
                raise DatasetCodecError(f"{_tag_text(tag)} at offset {pos} where an item was expected")
            if encapsulated or length != UNDEFINED:
                pos = value + length
                if length == UNDEFINED or pos > limit:
                    raise self._too_long(tag, length, value, limit)
                if not encapsulated:
                    self.items(value, pos, depth + 1)
                continue
            self.undefined = True
            pos = self.items(value, limit, depth + 1, delimited=True)

    def defined_sequence(self, pos: int, end: int, depth: int) -> None:
        """Walk the items of a defined-length sequence."""
        if depth > MAX_DEPTH:
            raise DatasetCodecError(f"sequences nested deeper than {MAX_DEPTH}")
        while pos < end:
            tag, _, length, value = self.header(pos, end)
            if tag != ITEM:
                raise DatasetCodecError(f"{_tag_text(tag)} at offset {pos} where an item was expected")
            if length == UNDEFINED:
                self.undefined = True
                pos = self.items(value, end, depth + 1, delimited=True)
                continue
            pos = value + length
            if pos > end:
                raise self._too_long(tag, length, value, end)
            self.items(value, pos, depth + 1)

    def items(self, pos: int, limit: int, depth: int, *, delimited: bool = False) -> int:
        """Walk the elements of an item up to ``limit`` (or its delimiter); where it ends."""
        while delimited or pos < limit:
            tag, vr, length, value = self.header(pos, limit)
            if tag == ITEM_END and delimited:
                return value
            pos = self.element_end(tag, vr, length, value, limit, depth)
        return pos


def top_level_elements(fp: BinaryIO, offset: int, size: int, encoding: Encoding) -> Iterator[Element]:
    """The top-level elements of the data set from ``offset`` to ``size``; raises
    TruncatedDataset (or DatasetCodecError for what cannot be a data set)."""
    walker = _Walker(_Window(fp, size), encoding)
    pos = offset
    while pos < size:
        tag, vr, length, value = walker.header(pos, size)
        end = walker.element_end(tag, vr, length, value, size, 0)
        yield Element(tag, vr, pos, value, end, length)
        pos = end


def walk_file(fp: BinaryIO, offset: int, size: int, encoding: Encoding, head: bytes = b"") -> Layout:
    """Check that the data set from ``offset`` to ``size`` is whole; its layout.

    ``head`` is the file's bytes from ``offset`` already read (spares a read).
    Raises TruncatedDataset or DatasetCodecError."""
    if encoding.deflated:
        return Layout()
    pos = _plain_run(head, offset, offset, size, encoding) if head else offset
    if pos >= size:
        return PLAIN_LAYOUT
    walker = _Walker(_Window(fp, size, head, offset), encoding)
    padding = False
    while pos < size:
        tag, vr, length, value = walker.header(pos, size)  # what the plain run left
        pos = walker.element_end(tag, vr, length, value, size, 0)
        padding = padding or tag == TRAILING_PADDING
        if pos < size and head:
            pos = _plain_run(head, offset, pos, size, encoding)
    return Layout(walker.undefined, padding)


_PLAIN_LE: Final = struct.Struct("<HH2sH").unpack_from
_PLAIN_BE: Final = struct.Struct(">HH2sH").unpack_from
_IMPLICIT_LE: Final = struct.Struct("<HHI").unpack_from
_IMPLICIT_BE: Final = struct.Struct(">HHI").unpack_from
_LENGTH_LE: Final = struct.Struct("<I").unpack_from
_LENGTH_BE: Final = struct.Struct(">I").unpack_from


def _plain_run(head: bytes, base: int, pos: int, size: int, encoding: Encoding) -> int:
    """Skip the defined-length, non-sequence elements whose headers lie in ``head``
    (most of a data set), fast; the position of the first one it leaves to the walker."""
    little = encoding.little_endian
    limit = base + len(head) - 12
    if not encoding.explicit_vr:
        unpack = _IMPLICIT_LE if little else _IMPLICIT_BE
        while pos <= limit:
            group, _, length = unpack(head, pos - base)
            if length == UNDEFINED or group >= 0xFFFC or pos + 8 + length > size:
                return pos
            pos += 8 + length
            if pos >= size:
                return pos
        return pos
    unpack, long_length = (_PLAIN_LE, _LENGTH_LE) if little else (_PLAIN_BE, _LENGTH_BE)
    while pos <= limit:
        group, _, vr, length = unpack(head, pos - base)
        if vr in _LONG_VRS:
            if vr == b"SQ":
                return pos
            (length,) = long_length(head, pos - base + 8)
            end = pos + 12 + length
        else:
            end = pos + 8 + length
        if length == UNDEFINED or group >= 0xFFFC or end > size:
            return pos
        pos = end
        if pos >= size:
            return pos
    return pos
