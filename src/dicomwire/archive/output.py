"""A received instance written the way dcmqrscp's output options ask (``StoredFormat``).

DCMTK 3.6.7 stores a C-STORE data set in one of two ways.  With ``+B``
(bit-preserving) the bytes go to the file as they arrived, behind a meta header.
In its normal mode (``-B``, the default) the data set is parsed into memory and
written again by ``DcmFileFormat::saveFile`` (``DcmQueryRetrieveStoreContext::
writeToFile``) - always, whatever the options: there is no "unchanged" shortcut.
Observed with dcmqrscp 3.6.7 itself (a data set sent unchanged by dicomwire's
storescu, the stored file read back) and with ``dcmconv``, whose output options
run the same code and give byte-identical data sets, that rewrite, with every
option at its default and the transfer syntax kept:

* gives sequences and items of undefined length explicit lengths (``+e``);
* recalculates the group lengths that are present; absent ones stay absent (``+g=``);
* removes Data Set Trailing Padding (FFFC,FFFC) everywhere, items included
  (dcmqrscp's default is ``-p``; dcmconv's own default ``-p=`` keeps it);
* pads an odd-length value with a NUL, whatever its VR ("abc" in an LO becomes
  "abc\\0", not "abc "), except OW, which keeps its odd length;
* strips the trailing padding characters of string values (space; NUL for UI)
  and pads them to even length again: a UT "text  " becomes "text";
* writes its own meta header, with the calling AE title in (0002,0016).

So only bit-preserving mode keeps the received bytes (:func:`needs_rewrite`); a
data set that is already in that form comes out of the rewrite unchanged.

The options, as DCMTK applies them:

* ``+t*``: explicit/implicit VR and byte order.  Binary values are swapped word by
  word by the width of their VR (US/SS/AT/OW 2, UL/SL/FL/OL/OF 4, FD/OD/SV/UV/OV 8;
  a last partial word stays as it is); UN and OB never.  From implicit VR the
  VRs come from the data dictionary, the ambiguous ones settled as DCMTK does
  (US or SS: SS when a Pixel Representation of 1 precedes it in the same item,
  for the tags DCMTK checks; Pixel Data, Overlay Data and LUT data OW; Waveform
  Data by Waveform Bits Allocated, else OB), unknown tags UN.  A compressed
  (encapsulated) data set keeps its transfer syntax: dcmqrscp refuses ``+t*``
  with compressed transmission and dcmconv finds "no conversion possible"; its
  pixel data is copied as it came.
* ``-u``: UN, UT, UC, UR, OF, OD, OL, OV, SV and UV are written as OB with the
  same bytes (an odd UT "hello" becomes OB "hello\\0": the pad is a NUL, with
  dcmconv and with dcmqrscp alike).  A short-VR value over 64 KiB is written as
  UN (OB with ``-u``).
* ``+g``: a group length for every group, in items too; ``-g``: none anywhere.
* ``-e``: undefined length for every sequence and item, an empty sequence too.
  Encapsulated pixel data always has undefined length.
* ``+p f i``: a padding element ends the data set so that the file, meta header
  included, is a multiple of ``f`` bytes, and another ends each item so that its
  content is a multiple of ``i`` (both even, as DCMTK requires; 0 for none).  The
  element is never shorter than its header (12 bytes, 8 in implicit VR) and its
  value never odd, so a data set with an odd OW stays one byte off, as DCMTK's.
* ``+td`` / ``+cl``: deflated at that level, the padding computed on the
  inflated length.  The stream is DCMTK's, but padded to even length (PS3.5 A.5)
  where DCMTK leaves it odd.

Not reproduced: DCMTK swaps an odd-length OB Pixel or Overlay Data read in big
endian when it writes implicit VR; private tags in implicit VR get the VR of
pydicom's private dictionary, which may differ from DCMTK's ``private.dic``.

The rewrite holds the data set in memory, as DCMTK does.  Pydicom parses it
(:func:`~dicomwire.services.codec.decode_dataset`, checked here to account for
every byte, which pydicom does not), but the encoder is this module's own:
pydicom's writer drops group lengths and writes values as they are.
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pydicom.datadict import dictionary_VR, private_dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.values import convert_SQ

from dicomwire import uids
from dicomwire.archive.options import StoredFormat
from dicomwire.errors import DatasetCodecError
from dicomwire.services.codec import decode_dataset, deflate, inflate, syntax_of
from dicomwire.services.file_meta import (
    MEDIA_STORAGE_SOP_CLASS_UID,
    MEDIA_STORAGE_SOP_INSTANCE_UID,
    FileMeta,
    encode_file_meta,
    read_file_meta,
)

__all__ = ["MetaFields", "needs_rewrite", "output_syntax", "render", "rewrite"]

# the syntaxes a data set can be converted between; any other is kept as received
_UNCOMPRESSED: Final = frozenset(
    {
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_BIG_ENDIAN,
        uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    }
)

_UNDEFINED: Final = 0xFFFFFFFF
_ITEM: Final = 0xFFFEE000
_ITEM_END: Final = 0xFFFEE00D
_SEQUENCE_END: Final = 0xFFFEE0DD
_PADDING: Final = 0xFFFCFFFC
_PIXEL_DATA: Final = 0x7FE00010
_PIXEL_REPRESENTATION: Final = 0x00280103
_WAVEFORM_BITS_ALLOCATED: Final = 0x54001004
_SOURCE_AE_TITLE: Final = 0x00020016
_IMPLEMENTATION_CLASS_UID: Final = 0x00020012
_IMPLEMENTATION_VERSION_NAME: Final = 0x00020013
_GROUP_LENGTH_SIZE: Final = 12  # tag, VR or 4-byte length, UL value: 12 bytes in every encoding

# VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2)
_LONG_VRS: Final = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])
# what -u writes as OB (DCMTK's dcmDisableGenerationOfNewVRs)
_NEW_VRS: Final = frozenset(["UN", "UT", "UC", "UR", "OF", "OD", "OL", "OV", "SV", "UV"])
# the padding character of each string VR (DCMTK's DcmByteString and its subclasses)
_STRING_PADDING: Final = {
    "AE": b" ", "AS": b" ", "CS": b" ", "DA": b" ", "DS": b" ", "DT": b" ", "IS": b" ", "LO": b" ",
    "LT": b" ", "PN": b" ", "SH": b" ", "ST": b" ", "TM": b" ", "UC": b" ", "UR": b" ", "UT": b" ",
    "UI": b"\0",
}  # fmt: skip
# the width of the words of a binary value, swapped when the byte order changes
_SWAP_CODE: Final = {
    "US": "H", "SS": "H", "AT": "H", "OW": "H",
    "UL": "I", "SL": "I", "FL": "I", "OL": "I", "OF": "I",
    "FD": "Q", "OD": "Q", "SV": "Q", "UV": "Q", "OV": "Q",
}  # fmt: skip
# (US or SS) tags DCMTK settles by Pixel Representation when it precedes them in the item
_BY_PIXEL_REPRESENTATION: Final = frozenset(
    {
        0x00280120, 0x00280121, 0x00603004, 0x00603006, 0x00189810, 0x00280106,
        0x00280107, 0x00280108, 0x00280109, 0x00283002, 0x00409211, 0x00409216,
    }
)  # fmt: skip
# (OB or OW) tags settled by Waveform Bits Allocated
_BY_WAVEFORM_BITS: Final = frozenset({0x54001010, 0x5400100A, 0x54000110, 0x54000112})


@dataclass(frozen=True, slots=True)
class MetaFields:
    """What the file meta information says besides the transfer syntax."""

    sop_class_uid: str
    sop_instance_uid: str
    source_ae_title: str | None = None
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID
    implementation_version_name: str | None = uids.DICOMWIRE_IMPLEMENTATION_VERSION

    @classmethod
    def of(cls, meta: FileMeta) -> MetaFields:
        """The fields of a file's meta header (as read by ``read_file_meta``)."""
        if not meta.present:
            raise DatasetCodecError("the file has no meta information to take the SOP UIDs from")
        return cls(
            meta.text(MEDIA_STORAGE_SOP_CLASS_UID) or "",
            meta.text(MEDIA_STORAGE_SOP_INSTANCE_UID) or "",
            meta.text(_SOURCE_AE_TITLE) or None,
            meta.text(_IMPLEMENTATION_CLASS_UID) or uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
            meta.text(_IMPLEMENTATION_VERSION_NAME),
        )

    def encode(self, transfer_syntax: str) -> bytes:
        """Preamble, ``DICM`` and the meta information group for ``transfer_syntax``."""
        return encode_file_meta(
            self.sop_class_uid,
            self.sop_instance_uid,
            transfer_syntax,
            source_ae_title=self.source_ae_title,
            implementation_class_uid=self.implementation_class_uid,
            implementation_version_name=self.implementation_version_name,
        )


# -- the decisions ------------------------------------------------------------------------------------


def needs_rewrite(fmt: StoredFormat, received_syntax: str) -> bool:
    """Whether a received data set must go through :func:`rewrite` before it is stored.

    Only bit-preserving mode keeps the received bytes: DCMTK's normal mode
    re-encodes every data set, even with every option at its default and the
    transfer syntax unchanged (undefined lengths become explicit, group lengths
    are recalculated, padding is removed, odd values are padded), and nothing
    short of parsing the data set tells whether any of that applies.
    ``received_syntax`` does not change the answer; it is taken for symmetry
    with :func:`output_syntax`.
    """
    del received_syntax
    return not fmt.bit_preserving


def output_syntax(fmt: StoredFormat, received_syntax: str) -> str:
    """The transfer syntax a data set received in ``received_syntax`` is stored in.

    The requested one (``+te/+tb/+ti/+td``), except in bit-preserving mode and for
    a compressed data set, which keep the received one (DCMTK: "not with
    --bit-preserving or compressed transmission")."""
    if fmt.bit_preserving or fmt.transfer_syntax is None or received_syntax not in _UNCOMPRESSED:
        return received_syntax
    if fmt.transfer_syntax not in _UNCOMPRESSED:
        raise DatasetCodecError(
            f"cannot store data sets in {uids.name_of(fmt.transfer_syntax)}: "
            "only an uncompressed transfer syntax can be chosen"
        )
    return fmt.transfer_syntax


# -- the entry points ---------------------------------------------------------------------------------


def render(
    data: bytes | memoryview, received_syntax: str, fmt: StoredFormat, *, prefix_length: int = 0
) -> bytes:
    """The data set ``data``, received in ``received_syntax``, encoded as ``fmt`` asks
    in :func:`output_syntax` (deflated when that is the deflated syntax).

    ``prefix_length`` is the length of what will precede it in the file (the
    meta header, preamble included), for ``+p``'s file alignment.  In
    bit-preserving mode the bytes are returned unchanged.  Raises
    DatasetCodecError when the data set cannot be parsed or ``fmt`` is invalid.
    """
    return b"".join(_chunks(data, received_syntax, fmt, prefix_length))


def rewrite(
    path_in: str | os.PathLike[str],
    path_out: str | os.PathLike[str],
    fmt: StoredFormat,
    *,
    received_syntax: str,
    meta: MetaFields | None = None,
    fsync: bool = False,
) -> str:
    """Write the instance at ``path_in`` to ``path_out`` as ``fmt`` asks; the transfer
    syntax written.

    ``path_in`` is a DICOM file (its meta header is skipped) or a bare data set,
    encoded in ``received_syntax``.  ``meta`` gives the new meta header's fields;
    None takes them from ``path_in``'s meta header.  ``path_out`` is created or
    truncated (write it beside the final name, then rename it into place);
    ``fsync`` syncs it before returning.  Raises DatasetCodecError before
    ``path_out`` is opened; after an OSError it may be left incomplete.
    """
    with open(path_in, "rb") as fp:
        found = read_file_meta(fp)
        fp.seek(found.dataset_offset)
        data = fp.read()
    target = output_syntax(fmt, received_syntax)
    header = (meta or MetaFields.of(found)).encode(target) if fmt.write_file else b""
    chunks = _chunks(data, received_syntax, fmt, len(header))
    with open(path_out, "wb") as out:
        out.write(header)
        out.writelines(chunks)
        if fsync:
            out.flush()
            os.fsync(out.fileno())
    return target


def _chunks(
    data: bytes | memoryview, received_syntax: str, fmt: StoredFormat, prefix_length: int
) -> list[bytes]:
    """The output data set in pieces: joined only by :func:`render`, written one by one."""
    if fmt.bit_preserving:
        return [bytes(data)]
    target = output_syntax(fmt, received_syntax)
    source, encoding = _encoding_of(received_syntax), _encoding_of(target)
    writer = _Writer.for_format(fmt, encoding, swap=source.little != encoding.little)
    file_padding = fmt.padding[0] if fmt.padding else 0
    chunks = writer.content(_parse(data, received_syntax), file_padding, prefix_length)
    if syntax_of(target, encapsulated_ok=True).deflated:
        return [deflate(b"".join(chunks), fmt.compression_level)]
    return chunks


# -- parsing ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Encoding:
    implicit: bool
    little: bool


@dataclass(slots=True)
class _Value:
    """An element with a value: its VR as read (or as the dictionary says) and its bytes."""

    tag: int
    vr: str
    value: bytes


@dataclass(slots=True)
class _Sequence:
    tag: int
    items: list[list[_Node]]


@dataclass(slots=True)
class _Fragments:
    """An undefined-length value that is no sequence: encapsulated pixel data, kept as read."""

    tag: int
    vr: str
    value: bytes


_Node = _Value | _Sequence | _Fragments


def _encoding_of(transfer_syntax: str) -> _Encoding:
    syntax = syntax_of(transfer_syntax, encapsulated_ok=True)
    return _Encoding(implicit=not syntax.explicit_vr, little=syntax.little_endian)


def _parse(data: bytes | memoryview, transfer_syntax: str) -> list[_Node]:
    """The element tree of a data set, checked to account for every byte."""
    syntax = syntax_of(transfer_syntax, encapsulated_ok=True)
    plain = inflate(data) if syntax.deflated else bytes(data)
    if not plain:
        raise DatasetCodecError("cannot decode data set: it is empty")
    readable = uids.EXPLICIT_VR_LITTLE_ENDIAN if syntax.deflated else transfer_syntax
    dataset = decode_dataset(plain, readable, strict=False, encapsulated_ok=True)
    try:
        nodes, size = _Reader(_encoding_of(transfer_syntax)).item(dataset)
    except DatasetCodecError:
        raise
    except Exception as exc:  # pydicom parses sequences on access and raises many kinds
        raise DatasetCodecError(f"cannot decode data set: {exc}") from exc
    if size != len(plain):
        raise DatasetCodecError(
            f"cannot decode data set: its elements account for {size} of its {len(plain)} bytes "
            "(truncated, or not a data set in this transfer syntax)"
        )
    return nodes


class _Reader:
    """Pydicom's data set as this module's nodes, with the bytes each took."""

    def __init__(self, encoding: _Encoding) -> None:
        self.encoding = encoding

    def item(self, dataset: Dataset) -> tuple[list[_Node], int]:
        nodes: list[_Node] = []
        size = 0
        for tag in sorted(dataset.keys()):
            node, length = self._element(dataset, int(tag))
            nodes.append(node)
            size += length
        return nodes, size

    def _element(self, dataset: Dataset, tag: int) -> tuple[_Node, int]:
        element = dataset.get_item(tag)
        if isinstance(element, DataElement):  # a sequence of undefined length, parsed as read
            if not isinstance(element.value, Sequence):
                raise DatasetCodecError(f"cannot decode data set: element {_tag_text(tag)} was converted")
            return self._sequence(tag, element.value, self._header_size("SQ", None), None)
        implicit = bool(element.is_implicit_VR)
        vr = _implicit_vr(dataset, tag, self.encoding) if implicit or not element.VR else str(element.VR)
        header = self._header_size(vr, element)
        value = element.value or b""
        if element.length == _UNDEFINED:
            return _Fragments(tag, vr, value), header + len(value) + 8
        if vr == "SQ":
            # parsed apart from the data set: pydicom's own access would convert other elements
            items = convert_SQ(value, implicit, bool(element.is_little_endian))
            return self._sequence(tag, items, header, element.length)
        if len(value) != element.length:
            raise DatasetCodecError(
                f"cannot decode data set: element {_tag_text(tag)} ends after {len(value)} "
                f"of its {element.length} bytes"
            )
        return _Value(tag, vr, _as_dcmtk_keeps(value, vr)), header + len(value)

    def _sequence(
        self, tag: int, value: Sequence, header: int, declared: int | None
    ) -> tuple[_Sequence, int]:
        items: list[list[_Node]] = []
        size = 0
        for item in value:
            nodes, length = self.item(item)
            items.append(nodes)
            size += 8 + length + (8 if item.is_undefined_length_sequence_item else 0)
        if declared is None:
            return _Sequence(tag, items), header + size + 8
        if size != declared:
            raise DatasetCodecError(
                f"cannot decode data set: the items of sequence {_tag_text(tag)} take {size} bytes, "
                f"its length says {declared}"
            )
        return _Sequence(tag, items), header + size

    def _header_size(self, vr: str, element: RawDataElement | None) -> int:
        implicit = self.encoding.implicit if element is None else bool(element.is_implicit_VR)
        return 12 if not implicit and vr in _LONG_VRS else 8


def _as_dcmtk_keeps(value: bytes, vr: str) -> bytes:
    """A value as DCMTK holds it once read: an odd one gets a NUL (but an OW keeps its
    odd length); a string's trailing padding characters are then stripped and the
    string padded to even length again."""
    if len(value) % 2 and vr != "OW":
        value += b"\0"
    pad = _STRING_PADDING.get(vr)
    if pad is None:
        return value
    value = value.rstrip(pad)
    return value + pad if len(value) % 2 else value


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


# -- the VR of an implicit-VR element -----------------------------------------------------------------


def _implicit_vr(dataset: Dataset, tag: int, encoding: _Encoding) -> str:
    """The VR DCMTK gives an element read in implicit VR: the dictionary's, settled."""
    vr = _dictionary_vr(dataset, tag)
    choices = frozenset(vr.split(" or "))
    if len(choices) == 1:
        return vr
    settle = _SETTLE.get(choices, _settle_as_ow)
    return settle(dataset, tag, encoding)


def _dictionary_vr(dataset: Dataset, tag: int) -> str:
    element = tag & 0xFFFF
    if element == 0:
        return "UL"
    if not (tag >> 16) % 2:
        try:
            return str(dictionary_VR(tag))
        except KeyError:
            return "UN"
    if 0x10 <= element <= 0xFF:
        return "LO"  # private creator
    creator = _raw_value(dataset, (tag & 0xFFFF0000) | (element >> 8))
    try:
        return str(private_dictionary_VR(tag, creator.decode("latin-1").strip("\0 ")))
    except KeyError:
        return "UN"


def _raw_value(dataset: Dataset, tag: int) -> bytes:
    if tag not in dataset:
        return b""
    element = dataset.get_item(tag)
    return element.value if isinstance(element, RawDataElement) and element.value else b""


def _preceding_us(dataset: Dataset, tag: int, before: int, encoding: _Encoding) -> int | None:
    """The US value of ``tag`` in the same item, when it comes before ``before``."""
    raw = _raw_value(dataset, tag) if tag < before else b""
    if len(raw) < 2:
        return None
    return int(struct.unpack_from("<H" if encoding.little else ">H", raw)[0])


def _settle_us_or_ss(dataset: Dataset, tag: int, encoding: _Encoding) -> str:
    if tag in _BY_PIXEL_REPRESENTATION:
        representation = _preceding_us(dataset, _PIXEL_REPRESENTATION, tag, encoding)
        if representation == 1:
            return "SS"
    return "US"


def _settle_ob_or_ow(dataset: Dataset, tag: int, encoding: _Encoding) -> str:
    if tag == _PIXEL_DATA or tag & 0xFF00FFFF == 0x60003000:  # pixel data, overlay data
        return "OW"
    if tag in _BY_WAVEFORM_BITS:
        bits = _preceding_us(dataset, _WAVEFORM_BITS_ALLOCATED, tag, encoding)
        if bits is not None:
            return "OB" if bits == 8 else "OW"
    return "OB"  # curve data and the rest


def _settle_as_ow(dataset: Dataset, tag: int, encoding: _Encoding) -> str:
    del dataset, tag, encoding
    return "OW"  # LUT data (US or OW), and any other choice that includes OW


_SETTLE: Final[dict[frozenset[str], Callable[[Dataset, int, _Encoding], str]]] = {
    frozenset({"US", "SS"}): _settle_us_or_ss,
    frozenset({"OB", "OW"}): _settle_ob_or_ow,
}


# -- encoding -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    """An element encoded: its chunks (joined once, at the end) and their length."""

    tag: int
    chunks: list[bytes]
    length: int

    @classmethod
    def of(cls, tag: int, chunks: list[bytes]) -> _Part:
        return cls(tag, chunks, sum(map(len, chunks)))


@dataclass(frozen=True, slots=True)
class _Writer:
    """Encodes nodes in one transfer syntax with one set of output options."""

    encoding: _Encoding
    swap: bool
    explicit_lengths: bool
    group_length: str
    item_padding: int
    new_vrs: bool

    @classmethod
    def for_format(cls, fmt: StoredFormat, encoding: _Encoding, *, swap: bool) -> _Writer:
        if fmt.group_length not in _PLACE_GROUP_LENGTHS:
            raise DatasetCodecError(f"unknown group length mode {fmt.group_length!r}")
        file_padding, item_padding = fmt.padding or (0, 0)
        if file_padding < 0 or item_padding < 0 or file_padding % 2 or item_padding % 2:
            raise DatasetCodecError(f"padding lengths must be even and not negative, not {fmt.padding}")
        return cls(encoding, swap, fmt.explicit_lengths, fmt.group_length, item_padding, fmt.new_vrs)

    # the content of the data set or of an item
    def content(self, nodes: list[_Node], pad_to: int, prefix_length: int | None) -> list[bytes]:
        """Elements, group lengths and padding; ``prefix_length`` None for an item."""
        parts = [self._part(node) for node in nodes if node.tag != _PADDING]
        parts = _PLACE_GROUP_LENGTHS[self.group_length](parts)
        padding = self._padding(sum(part.length for part in parts), pad_to, prefix_length)
        if padding is not None:
            parts.append(padding)
        self._fill_group_lengths(parts)
        return [chunk for part in parts for chunk in part.chunks]

    def _padding(self, length: int, pad_to: int, prefix_length: int | None) -> _Part | None:
        if not pad_to:
            return None
        total = length + (prefix_length or 0)
        padding = pad_to - total % pad_to
        if padding == pad_to:
            return None
        header = 8 if self.encoding.implicit else 12
        while padding < header:
            padding += pad_to
        length = padding - header
        length += length % 2  # an OB value is never odd (after an odd OW the file stays unaligned)
        return _Part.of(_PADDING, [self._header(_PADDING, "OB", length), bytes(length)])

    def _fill_group_lengths(self, parts: list[_Part]) -> None:
        """Each group length's value: the length of the rest of its group."""
        following: dict[int, int] = {}
        for part in reversed(parts):
            group = part.tag >> 16
            if part.tag & 0xFFFF:
                following[group] = following.get(group, 0) + part.length
            else:
                part.chunks = [self._header(part.tag, "UL", 4) + self._pack("I", following.get(group, 0))]

    # elements
    def _part(self, node: _Node) -> _Part:
        if node.tag & 0xFFFF == 0:
            return _Part(node.tag, [], _GROUP_LENGTH_SIZE)  # its value comes last
        return _Part.of(node.tag, self._node(node))

    def _node(self, node: _Node) -> list[bytes]:
        if isinstance(node, _Sequence):
            return self._sequence(node)
        if isinstance(node, _Fragments):
            return [self._header(node.tag, node.vr, _UNDEFINED), node.value, self._item(_SEQUENCE_END, 0)]
        value = _swapped(node.value, node.vr) if self.swap else node.value
        return [self._header(node.tag, self._vr(node.vr, len(value)), len(value)), value]

    def _vr(self, vr: str, length: int) -> str:
        if vr not in _LONG_VRS and length > 0xFFFF and not self.encoding.implicit:
            vr = "UN"  # its length does not fit a 2-byte field
        return "OB" if vr in _NEW_VRS and not self.new_vrs else vr

    def _sequence(self, node: _Sequence) -> list[bytes]:
        items = [chunk for nodes in node.items for chunk in self._sequence_item(nodes)]
        if self.explicit_lengths:
            return [self._header(node.tag, "SQ", sum(map(len, items))), *items]
        return [self._header(node.tag, "SQ", _UNDEFINED), *items, self._item(_SEQUENCE_END, 0)]

    def _sequence_item(self, nodes: list[_Node]) -> list[bytes]:
        content = self.content(nodes, self.item_padding, None)
        if self.explicit_lengths:
            return [self._item(_ITEM, sum(map(len, content))), *content]
        return [self._item(_ITEM, _UNDEFINED), *content, self._item(_ITEM_END, 0)]

    # headers
    def _pack(self, code: str, *values: int | bytes) -> bytes:
        return struct.pack(("<" if self.encoding.little else ">") + code, *values)

    def _item(self, tag: int, length: int) -> bytes:
        return self._pack("HHI", tag >> 16, tag & 0xFFFF, length)

    def _header(self, tag: int, vr: str, length: int) -> bytes:
        group, element = tag >> 16, tag & 0xFFFF
        if self.encoding.implicit:
            return self._pack("HHI", group, element, length)
        if vr in _LONG_VRS:
            return self._pack("HH2s2xI", group, element, vr.encode("ascii"), length)
        return self._pack("HH2sH", group, element, vr.encode("ascii"), length)


def _swapped(value: bytes, vr: str) -> bytes:
    """A binary value in the other byte order, word by word (by the width of its VR);
    bytes after the last whole word stay as they are."""
    code = _SWAP_CODE.get(vr)
    if code is None:
        return value
    words = array(code)
    whole = len(value) - len(value) % words.itemsize
    words.frombytes(value[:whole])
    words.byteswap()
    return words.tobytes() + value[whole:]


# -- group lengths: where their elements go (their values are filled in last) -------------------------


def _keep_group_lengths(parts: list[_Part]) -> list[_Part]:
    return parts


def _remove_group_lengths(parts: list[_Part]) -> list[_Part]:
    return [part for part in parts if part.tag & 0xFFFF]


def _group_length_for_each_group(parts: list[_Part]) -> list[_Part]:
    placed: list[_Part] = []
    for part in _remove_group_lengths(parts):
        if not placed or placed[-1].tag >> 16 != part.tag >> 16:
            placed.append(_Part(part.tag & 0xFFFF0000, [], _GROUP_LENGTH_SIZE))
        placed.append(part)
    return placed


# +g= recalculates the group lengths present, +g gives every group one, -g removes them
_PLACE_GROUP_LENGTHS: Final[dict[str, Callable[[list[_Part]], list[_Part]]]] = {
    "recalc": _keep_group_lengths,
    "create": _group_length_for_each_group,
    "remove": _remove_group_lengths,
}
