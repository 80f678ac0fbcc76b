"""Element boundaries of a received data set as it streams by, and DCMTK's normal form.

``StreamWalker`` is fed a data set fragment by fragment, as a C-STORE receiver
gets it, and follows its element headers without keeping the values: a value is
skipped by its length, only the headers of sequences, items and undefined-length
elements are looked at.  (``dataset_walk`` does the same for a file, seeking.)
``finish()`` says whether the data set ended on an element boundary: one whose
last element claims more bytes than were sent (a cut-off Pixel Data) raises
:class:`IncompleteDataset`, and no storage SCP should keep it.

With ``normalize`` it also rewrites what DCMTK's dcmrecv changes when it stores
a data set in its normal mode (``DcmFileFormat::saveFile``, default settings),
and nothing else:

- sequences and items get undefined lengths (a delimitation item closes each);
- group length elements (gggg,0000) get the length of their group as written,
  at any depth; the data set streams and the group length comes first, so
  ``patches`` lists these values by output offset for the caller to write once
  the data set is complete;
- an odd-length value gets one padding byte (a space for text, else NUL).

Sequences are: in explicit VR, the elements with VR SQ; in implicit VR, the
standard dictionary's sequences and every undefined-length element but Pixel
Data (as DCMTK reads them).  Kept as received, where DCMTK differs: an
explicit-VR UN element of undefined length (DCMTK re-encodes its content in
explicit VR, which takes the dictionary VR of every element in it), sequences
of private tags in implicit VR (DCMTK knows some from its private dictionary),
and deflated data sets (only checked).

What the walker cannot follow (an invalid VR, an item where none may be) ends the
walk: the rest passes through unchecked, unless it lies inside a sequence being
re-encoded, where no whole output can be made (``error``).
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from typing import Final

from dicomwire._records import record
from dicomwire.errors import RemoteProtocolError
from dicomwire.services.dataset_head import Encoding

__all__ = ["IncompleteDataset", "StreamWalker"]

Piece = bytes | memoryview

_UNDEFINED: Final = 0xFFFFFFFF
_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
_PIXEL_DATA: Final = 0x7FE00010
_MAX_DEPTH: Final = 64
_MAX_HEADER: Final = 12
# VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2).
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_SHORT_VRS: Final = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US".split())
# Text VRs pad with a space; UI and the binary ones with NUL.
_SPACE_PADDED: Final = frozenset(b"AE AS CS DA DS DT IS LO LT PN SH ST TM UC UR UT".split())

_ELEMENTS: Final = 0  # a container of elements: the data set, or an item
_ITEMS: Final = 1  # a sequence: items holding data sets
_FRAGMENTS: Final = 2  # encapsulated pixel data: items holding bytes


class IncompleteDataset(RemoteProtocolError):
    """The data set ends inside an element: ``tag`` claims ``claimed`` bytes, ``remaining``
    were sent (``tag`` is None when it ends inside a header or an open sequence)."""

    def __init__(self, message: str, tag: int | None = None, claimed: int = 0, remaining: int = 0) -> None:
        super().__init__(message)
        self.tag = tag
        self.claimed = claimed
        self.remaining = remaining


class _Stop(Exception):
    """The bytes cannot be followed from here."""


@cache
def _dictionary() -> tuple[frozenset[int], dict[int, str]]:
    """The standard dictionary's sequence tags, and every tag's VR (implicit VR padding)."""
    from pydicom._dicom_dict import DicomDictionary

    vrs = {tag: entry[0] for tag, entry in DicomDictionary.items()}
    return frozenset(tag for tag, vr in vrs.items() if vr == "SQ"), vrs


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@record(slots=True)
class _Container:
    kind: int
    end: int | None  # input offset of its end; None: undefined length (a delimiter ends it)
    rewrite: bool  # re-encoded (normalize): lengths made undefined, group lengths recomputed
    little_implicit: bool  # its headers are implicit VR little endian (an UN sequence's content)
    tag: int
    group: int = -1  # the group of the last element (group lengths)
    patch_at: int = -1  # output offset of a group length value still to compute
    group_start: int = 0


class StreamWalker:
    """Follows the element boundaries of one data set fed in any chunking."""

    def __init__(self, encoding: Encoding, *, normalize: bool = False) -> None:
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS) if encoding.deflated else None
        self.normalize = normalize and self._inflater is None
        order = "<" if encoding.little_endian else ">"
        self._explicit = encoding.explicit_vr
        self._tag_length = struct.Struct(order + "HHI")
        self._tag_vr = struct.Struct(order + "HH2sH")
        self._u32 = struct.Struct(order + "I")
        self._u16 = struct.Struct(order + "H")
        self._le_tag_length = struct.Struct("<HHI")
        self._stack = [_Container(_ELEMENTS, None, self.normalize, False, 0)]
        self._in = 0  # input bytes consumed (after inflating)
        self._out = 0  # output bytes produced (normalize)
        self._skip = 0  # bytes of the current value still to come
        self._pad = b""  # emitted once the current value is complete
        self._head = b""  # the start of a header split between fragments
        self._current = (0, 0, 0)  # (tag, claimed length, input offset of its value)
        self._pieces: list[Piece] = []
        self.stopped = False  # the walk ended early (see the module)
        self.error: str | None = None  # the walk ended inside a re-encoded sequence
        self.patches: list[tuple[int, bytes]] = []  # (output offset, 4-byte group length)

    # -- interface -------------------------------------------------------------------------
    def feed(self, data: Piece) -> list[Piece]:
        """Take the next fragment; what to write for it (the fragment itself unless
        ``normalize``)."""
        if self.stopped:
            return [data]
        size = len(data)
        if self._skip > size and self._inflater is None:  # inside a long value: the hot path
            self._skip -= size
            self._in += size
            self._out += size
            return [data]
        if self._inflater is not None:
            try:
                self._walk(memoryview(self._inflater.decompress(data)))
            except zlib.error:
                self.stopped = True  # the reader will say what is wrong with it
            return [data]
        if not self.normalize:
            self._walk(memoryview(data))
            return [data]
        pieces: list[Piece] = []
        self._pieces = pieces
        self._walk(memoryview(data))
        self._pieces = []
        return pieces

    def finish(self) -> list[Piece]:
        """The data set ended: the closing delimiters to write (normalize).

        Raises :class:`IncompleteDataset` when it ended inside an element, a
        header, or an explicit- or undefined-length sequence or item.
        """
        pieces: list[Piece] = []
        self._pieces = pieces
        if self.stopped:
            return pieces
        try:
            self._close_ended()
        except _Stop:
            self.stopped = True
            return pieces
        tag, claimed, start = self._current
        if self._skip or self._pad:
            remaining = self._in - start
            raise IncompleteDataset(
                f"the data set ends inside element {_tag(tag)}: {claimed} bytes claimed, {remaining} sent",
                tag,
                claimed,
                remaining,
            )
        if self._head:
            raise IncompleteDataset(f"the data set ends inside an element header ({len(self._head)} bytes)")
        if len(self._stack) > 1:
            raise IncompleteDataset(f"the data set ends inside the sequence {_tag(self._stack[1].tag)}")
        self._end_group(self._stack[0])
        self._pieces = []
        return pieces

    # -- the walk --------------------------------------------------------------------------
    def _emit(self, piece: Piece) -> None:
        self._pieces.append(piece)
        self._out += len(piece)

    def _walk(self, view: memoryview) -> None:
        size, pos = len(view), 0
        while True:
            if self._skip:
                step = min(self._skip, size - pos)
                if self.normalize:
                    self._emit(view[pos : pos + step])
                self._skip -= step
                self._in += step
                pos += step
                if self._skip:
                    return
            if self._pad:
                self._emit(self._pad)
                self._pad = b""
            if pos == size:
                return
            emitting = self.normalize
            head = self._head
            if head:  # a header split between fragments: join it with what follows
                joined = head + bytes(view[pos : pos + _MAX_HEADER])
                used = self._step(memoryview(joined))
                if used == 0:
                    self._head = joined
                    return
                used -= len(head)
                self._head = b""
            else:
                used = self._step(view[pos:])
                if used == 0:
                    self._head = bytes(view[pos:])
                    return
            if used < 0:  # stopped: what is left of the fragment passes as it is
                if emitting and self.error is None:
                    self._emit(head)
                    self._emit(view[pos:])
                return
            pos += used

    def _step(self, view: memoryview) -> int:
        """One header at the start of ``view``: bytes used, 0 if it is not all there, -1: stopped."""
        try:
            self._close_ended()
            return self._header(view)
        except _Stop as exc:
            if self.normalize and any(c.rewrite for c in self._stack[1:]):
                self.error = f"cannot follow the data set: {exc}"
            self.stopped = True
            self.normalize = False
            for container in self._stack:  # no group length can be computed any more
                container.patch_at = -1
            return -1

    def _header(self, view: memoryview) -> int:
        container = self._stack[-1]
        if len(view) < 8:
            return 0
        if container.kind != _ELEMENTS or not self._explicit or container.little_implicit:
            unpack = self._le_tag_length if container.little_implicit else self._tag_length
            group, element, length = unpack.unpack_from(view)
            vr, size = b"", 8
        else:
            group, element, vr, short = self._tag_vr.unpack_from(view)
            if group == 0xFFFE:  # a delimiter carries no VR
                (length,) = self._u32.unpack_from(view, 4)
                vr, size = b"", 8
            elif vr in _LONG_VRS:
                if len(view) < 12:
                    return 0
                (length,) = self._u32.unpack_from(view, 8)
                size = 12
            elif vr in _SHORT_VRS:
                length, size = short, 8
            else:
                raise _Stop(f"invalid VR {bytes(vr)!r} in element ({group:04X},{element:04X})")
        tag = (group << 16) | element
        header = view[:size]
        self._in += size
        if container.kind == _ELEMENTS:
            self._element(container, tag, vr, length, header)
        else:
            self._item(container, tag, length, header)
        return size

    def _close_ended(self) -> None:
        """Pop the explicit-length containers that end here (normalize: close them)."""
        stack = self._stack
        while len(stack) > 1:
            top = stack[-1]
            if top.end is None or self._in < top.end:
                return
            if self._in > top.end:
                raise _Stop(f"an element crosses the end of {_tag(top.tag)}")
            self._pop()

    def _pop(self) -> None:
        top = self._stack.pop()
        if top.kind == _ELEMENTS:
            self._end_group(top)
        if top.rewrite and top.end is not None:  # written with undefined length: delimit it
            end = _ITEM_END if top.kind == _ELEMENTS else _SEQUENCE_END
            self._emit(self._tag_length.pack(end >> 16, end & 0xFFFF, 0))

    def _push(self, kind: int, length: int, rewrite: bool, little_implicit: bool, tag: int) -> None:
        if len(self._stack) > _MAX_DEPTH:
            raise _Stop(f"sequences nested deeper than {_MAX_DEPTH}")
        end = None if length == _UNDEFINED else self._in + length
        self._stack.append(_Container(kind, end, rewrite, little_implicit, tag))

    def _value(self, tag: int, length: int) -> None:
        self._current = (tag, length, self._in)
        self._skip = length

    # -- elements of a data set or an item -------------------------------------------------
    def _element(self, container: _Container, tag: int, vr: bytes, length: int, header: memoryview) -> None:
        if tag == _ITEM_END:
            if container.end is not None or len(self._stack) == 1:
                raise _Stop("item delimitation item outside an undefined-length item")
            self._pop()  # first: the group length ends before the delimiter
            if self.normalize:
                self._emit(header)
            return
        rewrite = container.rewrite
        if rewrite and tag >> 16 != container.group:
            self._end_group(container)
            container.group = tag >> 16
        kind = self._kind(container, tag, vr, length)
        if kind is None:
            self._value(tag, length)
            if rewrite:
                self._value_header(container, tag, vr, length, header)
            elif self.normalize:
                self._emit(header)
            return
        converted = rewrite and kind == _ITEMS and vr != b"UN"
        if self.normalize:
            self._emit(self._undefined(header) if converted and length != _UNDEFINED else header)
        if length != _UNDEFINED and not converted:
            self._value(tag, length)  # an explicit-length sequence kept as it is: skip it
            return
        self._push(kind, length, converted, container.little_implicit or vr == b"UN", tag)

    def _kind(self, container: _Container, tag: int, vr: bytes, length: int) -> int | None:
        """None for a value, else the kind of container the element opens."""
        if length == _UNDEFINED:
            if tag == _PIXEL_DATA or vr not in (b"", b"SQ", b"UN"):
                return _FRAGMENTS
            return _ITEMS
        if vr == b"SQ" or (not vr and tag in _dictionary()[0]):
            return _ITEMS
        return None

    def _value_header(
        self, container: _Container, tag: int, vr: bytes, length: int, header: memoryview
    ) -> None:
        if tag & 0xFFFF == 0 and length == 4:  # a group length: computed when the group ends
            container.patch_at = self._out + len(header)
            container.group_start = container.patch_at + 4
        if length & 1 and (length < 0xFFFF or len(header) != 8 or not vr):
            name = vr or _dictionary()[1].get(tag, "UN").encode("ascii", "replace")[:2]
            self._pad = b" " if name in _SPACE_PADDED else b"\0"
            raw = bytearray(header)
            if vr and len(raw) == 8:
                self._u16.pack_into(raw, 6, length + 1)
            else:
                self._u32.pack_into(raw, len(raw) - 4, length + 1)
            self._emit(bytes(raw))
        else:
            self._emit(header)

    def _end_group(self, container: _Container) -> None:
        if container.patch_at >= 0:
            self.patches.append((container.patch_at, self._u32.pack(self._out - container.group_start)))
            container.patch_at = -1

    def _undefined(self, header: memoryview) -> bytes:
        raw = bytearray(header)
        self._u32.pack_into(raw, len(raw) - 4, _UNDEFINED)
        return bytes(raw)

    # -- items of a sequence or of encapsulated pixel data ---------------------------------
    def _item(self, container: _Container, tag: int, length: int, header: memoryview) -> None:
        if tag == _SEQUENCE_END:
            if container.end is not None:
                raise _Stop(f"sequence delimitation item in the explicit-length {_tag(container.tag)}")
            self._pop()
            if self.normalize:
                self._emit(header)
            return
        if tag != _ITEM:
            raise _Stop(f"{_tag(tag)} where an item of {_tag(container.tag)} was expected")
        converted = container.rewrite
        if self.normalize:
            self._emit(self._undefined(header) if converted and length != _UNDEFINED else header)
        if container.kind == _FRAGMENTS or (length != _UNDEFINED and not converted):
            if length == _UNDEFINED:
                raise _Stop(f"undefined-length item in {_tag(container.tag)}")
            self._value(_ITEM, length)
            return
        self._push(_ELEMENTS, length, converted, container.little_implicit, container.tag)
