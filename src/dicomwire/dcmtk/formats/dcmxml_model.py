"""The data set model behind findscu's XML output (dcm2xml's DCMTK format).

:func:`build_model` turns a data set into a tree of :class:`Value` and
:class:`Seq` nodes inside :class:`Item` objects, holding each element's value
bytes (as received when pydicom has not decoded it yet), its VR as DCMTK
resolves it, its received length and its dcm2xml name (:func:`element_name`).
:mod:`dicomwire.dcmtk.formats.dcmxml` renders that tree, after converting it to UTF-8
for ``-Xs``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pydicom.charset import convert_encodings, python_encoding
from pydicom.datadict import dictionary_keyword, dictionary_VR, get_entry, get_private_entry
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

from dicomwire import uids

__all__ = ["CHARSET_VRS", "Item", "Node", "Seq", "Value", "build_model", "element_name"]


# == the XML model ======================================================================
# A data set is first turned into a tree of elements with their value bytes
# and received lengths; -Xs converts that tree, then both render it.
_UNDEFINED: Final = 0xFFFFFFFF
_LONG_VRS: Final = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])
CHARSET_VRS: Final = frozenset(["PN", "LO", "SH", "ST", "LT", "UT", "UC"])
_AMBIGUOUS: Final[Mapping[str, str]] = MappingProxyType(
    {"OB or OW": "OB", "US or SS": "US", "US or OW": "OW", "US or SS or OW": "OW"}
)


@dataclass(frozen=True)
class Value:
    tag: BaseTag
    vr: str
    data: bytes
    length: int
    little: bool = True
    name: str = ""


@dataclass(frozen=True)
class Item:
    nodes: tuple[Node, ...]
    length: int | None  # None: undefined length


@dataclass(frozen=True)
class Seq:
    tag: BaseTag
    vr: str
    items: tuple[Item, ...]
    length: int | None
    name: str = ""
    fragments: tuple[int, ...] | None = None  # encapsulated pixel data


Node = Value | Seq


def _charset_of(ds: Dataset, inherited: list[str]) -> list[str]:
    """The character set in force in ``ds``, read without decoding anything."""
    elem = ds.get_item(0x00080005)
    if elem is None:
        return inherited
    if isinstance(elem, RawDataElement):
        values = (elem.value or b"").decode("ascii", "replace").split("\\")
    else:
        value = elem.value
        values = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value or "")]
    values = [v.strip() for v in values]
    return values if any(values) else inherited


def _python_encodings(charset: list[str]) -> list[str]:
    """pydicom's codecs for ``charset``; unknown terms count as the default."""
    known = [term if term in python_encoding else "ISO_IR 6" for term in charset]
    return list(convert_encodings(known))


def _encode_value(elem: DataElement, charset: list[str]) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_data_element(fp, elem, charset)
    raw = fp.getvalue()
    return raw[12:] if elem.VR in _LONG_VRS else raw[8:]


def _build_item(ds: Dataset, explicit: bool, charset: list[str], names: _Namer) -> Item:
    charset = _charset_of(ds, charset)
    nodes = tuple(_build_node(ds, tag, explicit, charset, names) for tag in sorted(ds.keys()))
    length = None if ds.is_undefined_length_sequence_item else _content_length(nodes, explicit)
    return Item(nodes, length)


def _build_node(ds: Dataset, tag: BaseTag, explicit: bool, charset: list[str], names: _Namer) -> Node:
    raw = ds.get_item(tag)
    tag = Tag(tag)
    name = names(ds, tag)
    if isinstance(raw, RawDataElement):
        # the received bytes; never decoded (that would log about odd values)
        vr = _resolve_vr(ds, tag, raw.VR or _dictionary_vr(ds, tag))
        if vr != "SQ" and raw.length != _UNDEFINED:
            length = _received_length(vr, raw.length)
            return Value(tag, vr, raw.value or b"", length, raw.is_little_endian, name)
        elem = ds[tag]
    else:
        elem = raw
        vr = _resolve_vr(ds, tag, elem.VR)
    if vr == "SQ" and isinstance(elem.value, Sequence | type(None)):
        items = tuple(_build_item(item, explicit, charset, names) for item in elem.value or ())
        length = None if elem.is_undefined_length else _items_length(items)
        return Seq(tag, vr, items, length, name)
    if elem.is_undefined_length and isinstance(elem.value, bytes):
        sizes = tuple(len(f) for f in generate_fragments(elem.value))
        return Seq(tag, "OB", (), None, name, sizes)
    if vr != elem.VR:
        elem = DataElement(tag, vr, elem.value)
    data = _encode_value(elem, _python_encodings(charset)) if not elem.is_empty else b""
    return Value(tag, vr, data, _received_length(vr, len(data)), True, name)


def _dictionary_vr(ds: Dataset, tag: BaseTag) -> str:
    """The VR of an element received in implicit VR, as pydicom would give it."""
    if tag.element == 0:
        return "UL"
    if tag.is_private:
        if 0x10 <= tag.element <= 0xFF:
            return "LO"
        creator = ds.get(Tag(tag.group, tag.element >> 8))
        try:
            return str(get_private_entry(tag, str(creator.value).strip())[0])
        except (AttributeError, KeyError, ValueError):
            return "UN"
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def _received_length(vr: str, length: int) -> int:
    """DCMTK pads odd-length binary values on reading."""
    return length + 1 if length % 2 and vr in ("OB", "OW", "UN") else length


def _resolve_vr(ds: Dataset, tag: BaseTag, vr: str | None) -> str:
    """The VR DCMTK gives an element whose dictionary VR is ambiguous."""
    if not vr or " or " not in vr:
        return vr or "UN"
    if vr.startswith("US or SS") and vr != "US or SS or OW":
        pixel_representation = ds.get("PixelRepresentation")
        return "SS" if pixel_representation == 1 else "US"
    if tag == 0x7FE00010 or (tag.group & 0xFF00, tag.element) == (0x6000, 0x3000):
        return "OW"
    return _AMBIGUOUS.get(vr, vr)


def _items_length(items: tuple[Item, ...]) -> int:
    return sum(
        8 + (item.length if item.length is not None else _content_length(item.nodes, True) + 8)
        for item in items
    )


def _content_length(nodes: tuple[Node, ...], explicit: bool) -> int:
    total = 0
    for node in nodes:
        header = 12 if explicit and node.vr in _LONG_VRS else 8
        if isinstance(node, Value):
            total += header + node.length
        elif node.fragments is not None:
            total += header + sum(8 + size for size in node.fragments) + 8
        else:
            body = node.length if node.length is not None else _items_length(node.items) + 8
            total += header + body
    return total


# -- names ---------------------------------------------------------------------------
_Namer = Callable[[Dataset, BaseTag], str]
_UNKNOWN: Final = "Unknown Tag & Data"


def _camel(description: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", description) if w)


def element_name(ds: Dataset, tag: BaseTag) -> str:
    """DCMTK's dictionary name of ``tag`` as an element of ``ds``."""
    if tag.is_private:
        return _private_name(ds, tag)
    try:
        entry = get_entry(tag)
    except KeyError:
        return "GenericGroupLength" if tag.element == 0 else _UNKNOWN
    keyword = entry[4] or dictionary_keyword(tag)
    return f"RETIRED_{keyword}" if entry[3] else keyword


def _private_name(ds: Dataset, tag: BaseTag) -> str:
    if tag.element == 0:
        return "PrivateGroupLength"
    if 0x10 <= tag.element <= 0xFF:
        return "PrivateCreator"
    creator_tag = Tag(tag.group, tag.element >> 8)
    if tag.element < 0x1000 or creator_tag not in ds:
        return _UNKNOWN
    creator = ds[creator_tag].value
    try:
        return _camel(get_private_entry(tag, str(creator).strip())[2]) or _UNKNOWN
    except (KeyError, ValueError):
        return _UNKNOWN


def build_model(ds: Dataset, transfer_syntax: str) -> Item:
    explicit = transfer_syntax != uids.IMPLICIT_VR_LITTLE_ENDIAN
    return _build_item(ds, explicit, ["ISO_IR 6"], element_name)
