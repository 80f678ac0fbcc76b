"""Data set dumps in DCMTK's text format, as findscu and friends log them.

One line per element, the way DCMTK 3.6.7 prints a data set::

    (0010,0010) PN [DOE^JOHN]                               #   8, 1 PatientName
    (0040,0100) SQ (Sequence with explicit length #=1)      #  30, 1 ScheduledProcedureStepSequence
      (fffe,e000) na (Item with explicit length #=2)          #  22, 1 Item

The tag and VR, the value padded to 40 columns (cut to 67 characters plus
``...`` when longer than 70), then ``#``, the length (``u/l`` when
undefined), the value multiplicity and the element's name.  Values that came
off the wire are shown as received (trailing padding included) unless
``correction`` is on, which mirrors DCMTK's ``+dc``: odd lengths padded and
trailing spaces (NULs for UIDs) left out of the text.

Two entry points: :func:`dump_bytes` for an encoded data set (exact: lengths,
undefined lengths and padding as they are in the bytes), :func:`dump_dataset`
for a pydicom data set, where raw elements are shown from their bytes and
values set in memory as given (sequences built in memory show length 0, as
DCMTK shows those it built itself).

``padded`` shows values set in memory as they are encoded (``[STUDY ]``), as
DCMTK shows a data set after it has sent it.  ``keep_bytes`` keeps text bytes
that are not UTF-8 (a Latin-1 name) as surrogate escapes, for a stream that
writes them back as the bytes they were (DCMTK prints the raw bytes).

Differences from DCMTK, knowingly: without ``keep_bytes``, bytes that are not
UTF-8 become replacement characters, floating point values
use Python's shortest round-trip text for FD/OD (DCMTK's own conversion can
differ in the 17th digit), and private tags are never named from a private
dictionary ("Unknown Tag & Data").
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final

from pydicom.datadict import dictionary_has_tag, dictionary_is_retired, dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_dataset
from pydicom.multival import MultiValue

from dicomwire import uids
from dicomwire.dcmtk.xfer import dcmtk_xfer_name

__all__ = [
    "VALUE_WIDTH",
    "DumpError",
    "Element",
    "Item",
    "dump_bytes",
    "dump_dataset",
    "element_name",
    "parse_dataset",
    "transfer_syntax_name",
]

VALUE_WIDTH: Final = 40  # the value column is padded to this width
MAX_VALUE_TEXT: Final = 70  # longer value texts are cut ...
_CUT_TO: Final = MAX_VALUE_TEXT - 3  # ... to this many characters plus "..."
UNDEFINED: Final = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD

# Explicit VRs with a 4-byte length field.
_LONG_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_STRING_VRS: Final = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
_SINGLE_VALUED: Final = frozenset({"LT", "ST", "UT", "UR"})
# VR -> (struct code, size, formatter); OL/OF/OD/OV print like UL/FL/FD/UV, with VM 1.
_NUMBERS: Final[dict[str, tuple[str, int, Callable[[Any], str]]]] = {
    "US": ("H", 2, str),
    "xs": ("H", 2, str),
    "SS": ("h", 2, str),
    "UL": ("L", 4, str),
    "OL": ("L", 4, str),
    "SL": ("l", 4, str),
    "UV": ("Q", 8, str),
    "OV": ("Q", 8, str),
    "SV": ("q", 8, str),
    "FL": ("f", 4, lambda v: _format_float(v, 9)),
    "OF": ("f", 4, lambda v: _format_float(v, 9)),
    "FD": ("d", 8, repr),
    "OD": ("d", 8, repr),
}
_OTHER_VM_ONE: Final = frozenset({"OB", "OW", "OL", "OF", "OD", "OV", "UN", "??"})
# Implicit VR: dictionary VRs that name a choice, resolved as DCMTK shows them.
_AMBIGUOUS_VR: Final = {"US or SS": "xs", "OB or OW": "OW", "US or SS or OW": "xs", "US or OW": "US"}
_DCMTK_UID_NAMES: Final[dict[str, str]] = {
    item.uid: item.dcmtk_name
    for table in (uids.TRANSFER_SYNTAXES, uids.SOP_CLASSES, uids.OTHER_UIDS)
    for item in table.values()
    if item.dcmtk_name is not None
}


class DumpError(ValueError):
    """The bytes are not a well-formed data set."""


def _format_float(value: float, digits: int) -> str:
    return f"{value:.{digits}g}"


def transfer_syntax_name(transfer_syntax: str) -> str:
    return dcmtk_xfer_name(transfer_syntax) or uids.name_of(transfer_syntax)


def element_name(tag: int) -> str:
    """DCMTK's name of an element: the dictionary keyword (``RETIRED_`` ones too)."""
    group, elem = tag >> 16, tag & 0xFFFF
    if group & 1:
        return "PrivateCreator" if 0x0010 <= elem <= 0x00FF else "Unknown Tag & Data"
    if dictionary_has_tag(tag):
        keyword = keyword_for_tag(tag)
        if keyword:
            return f"RETIRED_{keyword}" if dictionary_is_retired(tag) else keyword
    if elem == 0x0000:
        return "GenericGroupLength"
    try:
        keyword = keyword_for_tag(tag)  # repeating groups (60xx, 50xx)
    except Exception:
        keyword = ""
    return keyword or "Unknown Tag & Data"


def _implicit_vr(tag: int) -> str:
    group, elem = tag >> 16, tag & 0xFFFF
    if group & 1:
        return "LO" if 0x0010 <= elem <= 0x00FF else "??"
    if elem == 0x0000:
        return "UL"
    try:
        vr = str(dictionary_VR(tag))
    except KeyError:
        return "??"
    return _AMBIGUOUS_VR.get(vr, vr.split(" or ")[0])


# -- a small structural parser ---------------------------------------------------------


@dataclass
class Item:
    length: int | None  # None: undefined length
    elements: list[Element] = field(default_factory=list)


@dataclass
class Element:
    tag: int
    vr: str
    length: int | None  # None: undefined length
    value: bytes = b""
    items: list[Item] | None = None  # sequences
    little_endian: bool = True
    text: str | None = None  # a value set in memory, already as text


class _Reader:
    def __init__(self, data: bytes, explicit: bool, little: bool) -> None:
        self.data = data
        self.explicit = explicit
        self.little = little
        self.prefix = "<" if little else ">"

    def _unpack(self, fmt: str, offset: int) -> tuple[Any, ...]:
        size = struct.calcsize(self.prefix + fmt)
        if offset + size > len(self.data):
            raise DumpError(f"data set ends inside an element header at byte {offset}")
        return struct.unpack_from(self.prefix + fmt, self.data, offset)

    def header(self, offset: int) -> tuple[int, str | None, int, int]:
        """(tag, explicit VR or None, length, offset of the value)."""
        group, elem = self._unpack("HH", offset)
        tag = group << 16 | elem
        if group == 0xFFFE:  # item and delimiters: no VR in any syntax
            (length,) = self._unpack("L", offset + 4)
            return tag, None, length, offset + 8
        if not self.explicit:
            (length,) = self._unpack("L", offset + 4)
            return tag, None, length, offset + 8
        vr = self.data[offset + 4 : offset + 6].decode("latin-1")
        if vr in _LONG_VRS:
            (length,) = self._unpack("L", offset + 8)
            return tag, vr, length, offset + 12
        if not vr.isalpha() or not vr.isupper():
            raise DumpError(f"invalid VR {vr!r} at byte {offset}")
        (length,) = self._unpack("H", offset + 6)
        return tag, vr, length, offset + 8

    def elements(self, start: int, end: int | None, *, in_item: bool) -> tuple[list[Element], int]:
        """Elements from ``start`` up to ``end`` (or an item delimiter when None)."""
        found: list[Element] = []
        offset = start
        limit = len(self.data) if end is None else end
        while offset < limit:
            tag, vr, length, value_at = self.header(offset)
            if tag == _ITEM_END and in_item and end is None:
                found.sort(key=lambda element: element.tag)
                return found, value_at
            if tag in (_ITEM, _ITEM_END, _SEQUENCE_END):
                raise DumpError(f"unexpected delimiter ({tag >> 16:04x},{tag & 0xFFFF:04x}) at byte {offset}")
            vr = vr or _implicit_vr(tag)
            if vr == "SQ" or (vr in ("UN", "??") and length == UNDEFINED):
                element, offset = self.sequence(tag, length, value_at)
            else:
                if length == UNDEFINED or value_at + length > len(self.data):
                    raise DumpError(
                        f"element ({tag >> 16:04x},{tag & 0xFFFF:04x}) is longer than the data set"
                    )
                element = Element(tag, vr, length, self.data[value_at : value_at + length], None, self.little)
                offset = value_at + length
            found.append(element)
        if end is None and in_item:
            raise DumpError("item without delimiter at the end of the data set")
        found.sort(key=lambda element: element.tag)  # DCMTK keeps its data sets in tag order
        if offset != limit:
            raise DumpError("an element runs past the end of its item or sequence")
        return found, offset

    def sequence(
        self, tag: int, length: int, value_at: int, *, end: int | None = None
    ) -> tuple[Element, int]:
        """A sequence value; ``end`` bounds an undefined-length one already cut out."""
        items: list[Item] = []
        undefined = length == UNDEFINED
        if not undefined:
            end = value_at + length
        offset = value_at
        while end is None or offset < end:
            item_tag, _, item_length, item_at = self.header(offset)
            if item_tag == _SEQUENCE_END and undefined:
                offset = item_at
                break
            if item_tag != _ITEM:
                raise DumpError(f"expected an item at byte {offset}")
            if item_length == UNDEFINED:
                elements, offset = self.elements(item_at, None, in_item=True)
                items.append(Item(None, elements))
            else:
                elements, offset = self.elements(item_at, item_at + item_length, in_item=True)
                items.append(Item(item_length, elements))
        return Element(tag, "SQ", None if undefined else length, b"", items, self.little), offset


def parse_dataset(data: bytes, *, explicit_vr: bool = True, little_endian: bool = True) -> list[Element]:
    """The element tree of an encoded data set (raises :class:`DumpError`)."""
    elements, _ = _Reader(data, explicit_vr, little_endian).elements(0, len(data), in_item=False)
    return elements


# -- from a pydicom data set -------------------------------------------------------------


def _raw_element(raw: RawDataElement, explicit: bool, little: bool) -> Element:
    vr = str(raw.VR) if explicit and raw.VR else _implicit_vr(int(raw.tag))
    value = bytes(raw.value or b"")
    if vr == "SQ":
        reader = _Reader(value, explicit, little)
        element, _ = reader.sequence(int(raw.tag), UNDEFINED, 0, end=len(value))
        element.length = None if raw.length == UNDEFINED else int(raw.length)
        return element
    return Element(int(raw.tag), vr, int(raw.length), value, None, little)


def _memory_text(elem: DataElement) -> str:
    value = elem.value
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    return "\\".join("" if v is None else str(v) for v in values)


def _item_length(item: Dataset, explicit: bool, little: bool) -> int | None:
    """What DCMTK would show for an item: its encoded length if it was read
    from bytes (pydicom remembers their encoding), 0 if built in memory."""
    if getattr(item, "is_undefined_length_sequence_item", False):
        return None
    if item.original_encoding[0] is None:
        return 0
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = not explicit
    write_dataset(fp, item)
    return len(fp.getvalue())


def _encoded_value_length(elem: DataElement, explicit: bool, little: bool) -> int:
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = not explicit
    write_data_element(fp, elem)
    return len(fp.getvalue()) - (12 if explicit else 8)


def _memory_element(elem: DataElement, explicit: bool, little: bool, padded: bool) -> Element:
    tag = int(elem.tag)
    vr = str(elem.VR)
    if vr == "SQ":
        items = [
            Item(_item_length(item, explicit, little), _dataset_elements(item, explicit, little, padded))
            for item in elem.value or ()
        ]
        length: int | None = 0
        if elem.is_undefined_length:
            length = None
        elif any(item.original_encoding[0] is not None for item in elem.value or ()):
            length = _encoded_value_length(elem, explicit, little)
        return Element(tag, vr, length, b"", items, little)
    fp = DicomBytesIO()
    fp.is_little_endian = little
    fp.is_implicit_VR = False
    write_data_element(fp, elem)
    (encoded,) = _Reader(fp.getvalue(), True, little).elements(0, None, in_item=False)[0]
    if vr in _STRING_VRS and not isinstance(elem.value, bytes) and not padded:
        encoded.text = _memory_text(elem)
    return encoded


def _dataset_elements(ds: Dataset, explicit: bool, little: bool, padded: bool) -> list[Element]:
    found = []
    for tag in sorted(ds.keys()):
        elem = ds.get_item(tag)
        if isinstance(elem, RawDataElement):
            found.append(_raw_element(elem, explicit, little))
        elif elem is not None:
            found.append(_memory_element(elem, explicit, little, padded))
    return found


# -- rendering ---------------------------------------------------------------------------


def _string_value(element: Element, correction: bool) -> tuple[str, int]:
    """Strings are handled as bytes, as DCMTK does: cut and padded by byte counts."""
    raw = element.value if element.text is None else element.text.encode("utf-8")
    if correction:
        raw = raw.rstrip(b"\0") if element.vr == "UI" else raw.rstrip(b" ")
    vm = 1 if element.vr in _SINGLE_VALUED else raw.count(b"\\") + 1
    if element.vr == "UI":
        name = _DCMTK_UID_NAMES.get(raw.rstrip(b"\0 ").decode("latin-1"))
        if name is not None:
            return f"={name}", vm
    text = b"[" + raw + b"]"
    if len(text) > MAX_VALUE_TEXT:
        text = text[:_CUT_TO] + b"..."
    return _Shown(text.decode("utf-8", errors="surrogateescape"), len(text)), vm


class _Shown(str):
    """A value text that takes ``width`` columns in DCMTK's byte-counting layout."""

    width: int

    def __new__(cls, text: str, width: int) -> _Shown:
        shown = super().__new__(cls, text)
        shown.width = width
        return shown


def _join_limited(texts: Iterable[str], count: int) -> str:
    """Values joined by backslashes, stopping with ``...`` where DCMTK does."""
    out = ""
    for index, text in enumerate(texts):
        new_length = len(out) + len(text) + (1 if index else 0)
        last = index + 1 == count
        if new_length <= MAX_VALUE_TEXT and (last or new_length + 3 <= MAX_VALUE_TEXT):
            out = f"{out}\\{text}" if index else text
        else:
            return out + "..."
    return out


def _numbers(element: Element) -> tuple[str, int] | None:
    code, size, fmt = _NUMBERS[element.vr]
    raw = element.value
    if len(raw) % size:
        return None
    prefix = "<" if element.little_endian else ">"
    count = len(raw) // size
    values = struct.unpack(f"{prefix}{count}{code}", raw)
    vm = 1 if element.vr in _OTHER_VM_ONE else count
    return _join_limited((fmt(v) for v in values), count), vm


def _hex(element: Element) -> tuple[str, int]:
    raw = element.value
    if element.vr == "OW" and len(raw) % 2 == 0:
        prefix = "<" if element.little_endian else ">"
        words = struct.unpack(f"{prefix}{len(raw) // 2}H", raw)
        return _join_limited((f"{w:04x}" for w in words), len(words)), 1
    return _join_limited((f"{b:02x}" for b in raw), len(raw)), 1


def _tags(element: Element) -> tuple[str, int] | None:
    raw = element.value
    if len(raw) % 4:
        return None
    prefix = "<" if element.little_endian else ">"
    words = struct.unpack(f"{prefix}{len(raw) // 2}H", raw)
    pairs = [f"({words[i]:04x},{words[i + 1]:04x})" for i in range(0, len(words), 2)]
    return _join_limited(pairs, len(pairs)), len(pairs)


def _value(element: Element, correction: bool) -> tuple[str, int]:
    if not element.value and element.text in (None, ""):
        return "(no value available)", 0
    vr = element.vr
    if vr in _STRING_VRS:
        return _string_value(element, correction)
    result: tuple[str, int] | None
    if vr in _NUMBERS:
        result = _numbers(element)
    elif vr == "AT":
        result = _tags(element)
    else:
        result = _hex(element)
    return result if result is not None else ("(invalid value)", 0)


def _line(level: int, tag: int, vr: str, text: str, length: int | None, vm: int, name: str) -> str:
    width = text.width if isinstance(text, _Shown) else len(text)
    padding = " " * max(VALUE_WIDTH - width, 0)
    head = f"{'  ' * level}({tag >> 16:04x},{tag & 0xFFFF:04x}) {vr} {text}{padding}"
    size = "u/l" if length is None else f"{length:3d}"
    return f"{head} # {size},{vm:2d} {name}"


def _render(elements: list[Element], level: int, correction: bool) -> Iterator[str]:
    for element in elements:
        if element.items is None:
            if correction and len(element.value) % 2:  # DCMTK's +dc pads odd values with a NUL
                element = replace(element, value=element.value + b"\0", length=len(element.value) + 1)
            text, vm = _value(element, correction)
            yield _line(level, element.tag, element.vr, text, element.length, vm, element_name(element.tag))
            continue
        kind = "undefined" if element.length is None else "explicit"
        text = f"(Sequence with {kind} length #={len(element.items)})"
        yield _line(level, element.tag, "SQ", text, element.length, 1, element_name(element.tag))
        for item in element.items:
            item_kind = "undefined" if item.length is None else "explicit"
            text = f"(Item with {item_kind} length #={len(item.elements)})"
            yield _line(level + 1, _ITEM, "na", text, item.length, 1, "Item")
            yield from _render(item.elements, level + 2, correction)
            text = (
                "(ItemDelimitationItem)" if item.length is None else "(ItemDelimitationItem for re-encoding)"
            )
            yield _line(level + 1, _ITEM_END, "na", text, 0, 0, "ItemDelimitationItem")
        text = (
            "(SequenceDelimitationItem)"
            if element.length is None
            else "(SequenceDelimitationItem for re-encod.)"
        )
        yield _line(level, _SEQUENCE_END, "na", text, 0, 0, "SequenceDelimitationItem")


def _document(elements: list[Element], transfer_syntax: str, correction: bool) -> str:
    lines = ["", "# Dicom-Data-Set", f"# Used TransferSyntax: {transfer_syntax_name(transfer_syntax)}"]
    lines.extend(_render(elements, 0, correction))
    return "\n".join(lines) + "\n"


def _syntax_flags(transfer_syntax: str) -> tuple[bool, bool]:
    syntax = uids.TRANSFER_SYNTAXES.get(transfer_syntax)
    if syntax is None:
        return True, True
    return syntax.explicit_vr, syntax.little_endian


def _without_raw_bytes(text: str) -> str:
    """Surrogate escapes (bytes that are not UTF-8) as replacement characters."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def dump_bytes(
    data: bytes, transfer_syntax: str, *, correction: bool = False, keep_bytes: bool = False
) -> str:
    """The dump of an encoded (already inflated) data set, as DCMTK prints it.

    Starts with an empty line, ``# Dicom-Data-Set`` and the transfer syntax
    line, and ends with a newline.  Raises :class:`DumpError` for malformed
    bytes.
    """
    explicit, little = _syntax_flags(transfer_syntax)
    text = _document(
        parse_dataset(data, explicit_vr=explicit, little_endian=little), transfer_syntax, correction
    )
    return text if keep_bytes else _without_raw_bytes(text)


def dump_dataset(
    ds: Dataset,
    transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN,
    *,
    correction: bool = False,
    padded: bool = False,
    keep_bytes: bool = False,
) -> str:
    """The dump of a pydicom data set (see the module docstring)."""
    original_implicit = getattr(ds, "original_encoding", (None, None))[0]
    explicit, little = _syntax_flags(transfer_syntax)
    if original_implicit is not None:
        explicit = not original_implicit
    text = _document(_dataset_elements(ds, explicit, little, padded), transfer_syntax, correction)
    return text if keep_bytes else _without_raw_bytes(text)
