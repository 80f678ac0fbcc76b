"""findscu's query data sets: ``-k`` override keys and positional query files.

Pure functions on pydicom data sets; no networking.  Behaviour observed on
DCMTK 3.6.7's findscu (its path parser is shared with dcmodify):

Key syntax (``apply_key``)
    ``path[=value]`` split at the first ``=``; an empty value is the same as
    no value.  A path is a tag, ``(gggg,eeee)`` or the older ``gggg,eeee``, or
    a dictionary name, optionally followed by ``[n]`` item indexes and further
    tags: ``(0040,0100)[0].Modality``, ``ScheduledProcedureStepSequence[0].
    (0008,0060)``.  Hex fields are read like C ``sscanf("%x")`` (leading
    blanks, ``0x``, any digit count, trailing junk in the bare form ignored);
    a name runs up to ``[`` and is case sensitive; the character after ``]``
    is skipped whatever it is.  Names are pydicom's keywords; retired
    elements also answer to DCMTK's ``RETIRED_<keyword>``.
    Missing sequences and items (up to the index, empty ones before it) are
    inserted; an existing element is replaced (no value: emptied), an existing
    sequence or item is left alone.  Values get the VR of the existing element,
    else the dictionary VR; unknown and private elements without a known
    creator get UN, whose value (like OB/OW) is hex numbers.  Numbers are
    read like C ``sscanf``: a valid prefix is enough and integers wrap to the
    VR's width (``Rows=70000`` sends 4464).  DS/IS/DA/... strings are sent as
    given, unchecked.

Errors (``QueryKeyError``): findscu parses the keys only once the
association is up, for each query, then logs::

    E: Bad override key/path: <key>
    E: Find SCU Failed: <code> <reason>

aborts the association and exits 0.  ``code``/``reason`` are, e.g.:
``0001:0019 Unable to parse tag/dictionary name at beginning of path: Foo``
(``findscu -k Foo=1``), ``0001:0019 Unable to parse tag at beginning of
path: (0010,00`` (``-k "(0010,00"``), ``0001:0019 Unable to parse item number
at beginning of path: [``, ``0001:0019 Negative item number (not permitted)
at beginning of path: [-1].Modality``, ``0001:0019 Item wildcard '*' found in
path but wildcards disabled``, ``0001:0019 Invalid Path: Non-sequence tag
found with rest path following``, ``0001:0019 Cannot insert value into path
ending with item or sequence``, ``0001:0006 Corrupted data`` (a value the VR
cannot take: ``Rows=abc``, a value for an unknown tag that is not hex) and
``0000:0001 Illegal parameter`` (``-k =x``).  An empty ``-k ""`` is ignored.
Deliberate difference: an item index above ``MAX_ITEM_INDEX`` is refused
(DCMTK tries to create that many items).

Neither query file nor ``-k``: findscu prints its usage header and ``error:
either query file or override keys (or both) must be specified``, exit 1.

Query files (``load_query_file``): DICOM files with or without meta header
(``dump2dcm`` and ``dump2dcm -F`` output both work); only the data set is
sent.  findscu checks at startup that each file can be accessed, else prints
its usage header and ``error: cannot access file: <path>`` and exits 1
(``QueryFileError.missing``).  An unreadable file is reported when its turn
comes, as ``E: Bad DICOM file: <path>: <reason>`` then ``E: Find SCU Failed:
<code> <reason>``, the association is aborted, later files are not sent, and
findscu exits 0; the reason is ``End of stream`` (0001:0005) for an empty
file and ``I/O suspension or premature end of stream`` (0001:000a) for a
directory, a text file and other non-DICOM data.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Final

from pydicom import config, dcmread
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
from pydicom.datadict import dictionary_VR, get_private_entry
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

from dicomwire.errors import DicomWireError

__all__ = [
    "MAX_ITEM_INDEX",
    "QueryFileError",
    "QueryKeyError",
    "apply_key",
    "apply_keys",
    "build_query",
    "check_query_files",
    "load_query_file",
    "tag_for_name",
]

MAX_ITEM_INDEX: Final = 65535

PATH_ERROR: Final = "0001:0019"
CORRUPTED: Final = "0001:0006"
ILLEGAL_PARAMETER: Final = "0000:0001"
END_OF_STREAM: Final = "0001:0005"
PREMATURE_END: Final = "0001:000a"


class QueryKeyError(DicomWireError):
    """An override key (``-k``) that DCMTK's findscu would refuse."""

    def __init__(self, key: str, reason: str, code: str = PATH_ERROR) -> None:
        self.key = key
        self.reason = reason
        self.code = code
        super().__init__(f"Bad override key/path: {key}: {reason}")


class QueryFileError(DicomWireError):
    """A query file that cannot be accessed (``missing``) or is not DICOM."""

    def __init__(self, path: Path, reason: str, code: str, *, missing: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.code = code
        self.missing = missing
        what = "cannot access file" if missing else "Bad DICOM file"
        super().__init__(f"{what}: {path}: {reason}" if not missing else f"{what}: {path}")


class _PathError(Exception):
    def __init__(self, reason: str, code: str = PATH_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


# -- names ----------------------------------------------------------------------
def _build_names() -> Mapping[str, int]:
    names: dict[str, int] = {}
    for tag, entry in DicomDictionary.items():
        keyword, retired = entry[4], entry[3]
        if keyword:
            names[keyword] = tag
            if retired:
                names[f"RETIRED_{keyword}"] = tag
    for mask, entry in RepeatersDictionary.items():
        keyword, retired = entry[4], entry[3]
        if keyword and keyword not in names:
            tag = int(mask.replace("x", "0"), 16)
            names[keyword] = tag
            if retired:
                names[f"RETIRED_{keyword}"] = tag
    return MappingProxyType(names)


_NAMES: Final = _build_names()


def tag_for_name(name: str) -> BaseTag | None:
    """The tag of a dictionary name (pydicom keyword or DCMTK ``RETIRED_`` name)."""
    tag = _NAMES.get(name)
    return None if tag is None else Tag(tag)


# -- C scanf-alikes -----------------------------------------------------------------
_HEX: Final = re.compile(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)")
_DEC: Final = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_FLOAT: Final = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:nan|inf(?:inity)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)",
    re.IGNORECASE,
)
_U64: Final = (1 << 64) - 1


def _scan_hex(text: str, pos: int = 0) -> tuple[int, int] | None:
    """``%x`` at ``pos``: (value as a 64-bit unsigned, end position)."""
    m = _HEX.match(text, pos)
    if m is None:
        return None
    value = min(int(m.group(2), 16), _U64)
    return (-value & _U64 if m.group(1) == "-" else value), m.end()


def _scan_int(text: str) -> int | None:
    """``strtol``-like decimal prefix, saturated to 64 bits (sign kept)."""
    m = _DEC.match(text)
    if m is None:
        return None
    value = min(int(m.group(2)), _U64)
    return -value if m.group(1) == "-" else value


def _scan_float(text: str) -> float | None:
    m = _FLOAT.match(text)
    if m is None:
        return None
    try:
        return float(m.group(0))
    except OverflowError:  # pragma: no cover - float() gives inf instead
        return math.inf


def _scan_tag_pair(text: str, paren: bool) -> BaseTag | None:
    """``sscanf(text, "(%x,%x)")`` (or ``"%x,%x"``) succeeding with 2 fields."""
    pos = 0
    if paren:
        if not text.startswith("("):
            return None
        pos = 1
    first = _scan_hex(text, pos)
    if first is None or not text.startswith(",", first[1]):
        return None
    second = _scan_hex(text, first[1] + 1)
    if second is None:
        return None
    return Tag(first[0] & 0xFFFF, second[0] & 0xFFFF)


# -- the path -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Step:
    tag: BaseTag
    item: int | None  # index of the item inside this sequence, None: ends here


def _parse_tag(rest: str) -> tuple[BaseTag, str]:
    if rest.startswith("("):
        close = rest.find(")")
        if close < 0:
            raise _PathError(f"Unable to parse tag at beginning of path: {rest}")
        token = rest[: close + 1]
        tag = _scan_tag_pair(token, paren=True) or tag_for_name(token)
    else:
        bracket = rest.find("[")
        token = rest if bracket < 0 else rest[:bracket]
        tag = tag_for_name(token) or _scan_tag_pair(token, paren=False)
    if tag is None:
        raise _PathError(f"Unable to parse tag/dictionary name at beginning of path: {rest}")
    return tag, rest[len(token) :]


def _parse_index(rest: str) -> tuple[int, str]:
    close = rest.find("]") if rest.startswith("[") else -1
    if close < 0:
        raise _PathError(f"Unable to parse item number at beginning of path: {rest}")
    content = rest[1:close]
    if "*" in content:
        raise _PathError("Item wildcard '*' found in path but wildcards disabled")
    number = _scan_int(content)
    if number is None:
        raise _PathError(f"Unable to parse item number at beginning of path: {rest}")
    if number < 0:
        raise _PathError(f"Negative item number (not permitted) at beginning of path: {rest}")
    index = number & 0xFFFFFFFF
    if index > MAX_ITEM_INDEX:
        raise _PathError(f"Item number {index} too large (at most {MAX_ITEM_INDEX})")
    return index, rest[close + 2 :]  # the character after ']' is skipped unread


def _existing_item(ds: Dataset | None, tag: BaseTag, index: int) -> Dataset | None:
    if ds is None or tag not in ds:
        return None
    value = ds[tag].value
    if isinstance(value, Sequence) and index < len(value):
        item: Dataset = value[index]
        return item
    return None


def _parse_path(path: str, ds: Dataset) -> list[_Step]:
    """The steps of ``path``; ``ds`` (read only) tells existing elements' VRs."""
    steps: list[_Step] = []
    rest = path
    here_or_none: Dataset | None = ds
    while True:
        tag, rest = _parse_tag(rest)
        if not rest:
            steps.append(_Step(tag, None))
            return steps
        if _vr_for(here_or_none, tag) != "SQ":
            raise _PathError("Invalid Path: Non-sequence tag found with rest path following")
        index, rest = _parse_index(rest)
        steps.append(_Step(tag, index))
        if not rest:
            return steps
        here_or_none = _existing_item(here_or_none, tag, index)


# -- VRs ----------------------------------------------------------------------------
_AMBIGUOUS: Final[Mapping[str, str]] = MappingProxyType(
    {"OB or OW": "OB", "US or SS": "US", "US or OW": "OW", "US or SS or OW": "OW"}
)
_WORD_DATA: Final = frozenset({0x7FE00010})  # PixelData; OverlayData by group below


def _dictionary_vr(tag: BaseTag, ds: Dataset | None) -> str:
    if tag.element == 0:
        return "UL"
    if tag.is_private:
        return _private_vr(tag, ds)
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return "UN"
    if vr == "OB or OW" and (tag in _WORD_DATA or (tag.group & 0xFF00, tag.element) == (0x6000, 0x3000)):
        return "OW"
    return _AMBIGUOUS.get(vr, vr)


def _private_vr(tag: BaseTag, ds: Dataset | None) -> str:
    if 0x10 <= tag.element <= 0xFF:
        return "LO"
    if tag.element < 0x1000 or ds is None:
        return "UN"
    creator_tag = Tag(tag.group, tag.element >> 8)
    if creator_tag not in ds:
        return "UN"
    creator = ds[creator_tag].value
    try:
        vr = get_private_entry(tag, str(creator).strip())[0]
    except KeyError:
        return "UN"
    return _AMBIGUOUS.get(vr, vr)


def _vr_for(ds: Dataset | None, tag: BaseTag) -> str:
    if ds is not None and tag in ds:
        vr = ds[tag].VR
        return _AMBIGUOUS.get(vr, vr)
    return _dictionary_vr(tag, ds)


# -- values: one converter per VR -----------------------------------------------------
class _BadValue(Exception):
    pass


def _components(value: str) -> list[str]:
    return value.split("\\")


def _ints(value: str, bits: int, signed: bool) -> list[int]:
    out = []
    for part in _components(value):
        number = _scan_int(part)
        if number is None:
            raise _BadValue(part)
        number &= (1 << bits) - 1
        if signed and number >= 1 << (bits - 1):
            number -= 1 << bits
        out.append(number)
    return out


def _floats(value: str) -> list[float]:
    out = []
    for part in _components(value):
        number = _scan_float(part)
        if number is None:
            raise _BadValue(part)
        out.append(number)
    return out


def _hex_words(value: str, mask: int) -> list[int]:
    out = []
    for part in _components(value):
        scanned = _scan_hex(part)
        if scanned is None:
            raise _BadValue(part)
        out.append(scanned[0] & mask)
    return out


def _tags(value: str) -> list[BaseTag]:
    out = []
    for part in _components(value):
        tag = _scan_tag_pair(part, paren=True)
        if tag is None:
            raise _BadValue(part)
        out.append(tag)
    return out


def _one_or_list(values: list[int] | list[float] | list[BaseTag]) -> object:
    return values[0] if len(values) == 1 else values


def _int_converter(bits: int, signed: bool) -> Callable[[str], object]:
    return lambda value: _one_or_list(_ints(value, bits, signed))


def _float_converter() -> Callable[[str], object]:
    return lambda value: _one_or_list(_floats(value))


def _packed_converter(fmt: str, parse: Callable[[str], Iterable[float]]) -> Callable[[str], object]:
    def convert(value: str) -> object:
        numbers = list(parse(value))
        return struct.pack(f"<{len(numbers)}{fmt}", *numbers)

    return convert


def _bytes_value(value: str) -> object:
    data = bytes(_hex_words(value, 0xFF))
    return data + b"\0" if len(data) % 2 else data


_CONVERTERS: Final[Mapping[str, Callable[[str], object]]] = MappingProxyType(
    {
        "US": _int_converter(16, False),
        "SS": _int_converter(16, True),
        "UL": _int_converter(32, False),
        "SL": _int_converter(32, True),
        "UV": _int_converter(64, False),
        "SV": _int_converter(64, True),
        "FL": _float_converter(),
        "FD": _float_converter(),
        "AT": lambda value: _one_or_list(_tags(value)),
        "OB": _bytes_value,
        "UN": _bytes_value,
        "OW": _packed_converter("H", lambda v: _hex_words(v, 0xFFFF)),
        "OF": _packed_converter("f", _floats),
        "OD": _packed_converter("d", _floats),
        "OL": _packed_converter("L", lambda v: _ints(v, 32, False)),
        "OV": _packed_converter("Q", lambda v: _ints(v, 64, False)),
    }
)


def _make_element(tag: BaseTag, vr: str, value: str | None) -> DataElement:
    """The element DCMTK would insert for ``value`` (None or "": empty)."""
    if not value:
        return DataElement(tag, vr, None)
    convert = _CONVERTERS.get(vr)
    if convert is not None:
        try:
            return DataElement(tag, vr, convert(value), validation_mode=config.IGNORE)
        except (_BadValue, OverflowError, struct.error) as exc:
            raise _PathError("Corrupted data", CORRUPTED) from exc
    try:
        return DataElement(tag, vr, value, validation_mode=config.IGNORE)
    except ValueError:
        # IS/DS text pydicom cannot hold as a number: DCMTK sends it anyway, so do we
        return DataElement(tag, vr, value, already_converted=True)


# -- applying ---------------------------------------------------------------------------
def _ensure_sequence(ds: Dataset, tag: BaseTag) -> Sequence:
    if tag not in ds:
        ds.add(DataElement(tag, "SQ", Sequence()))
    value = ds[tag].value
    if not isinstance(value, Sequence):  # an empty SQ read from a file may be None/""
        value = Sequence()
        ds[tag].value = value
    return value


def _ensure_item(seq: Sequence, index: int) -> Dataset:
    while len(seq) <= index:
        seq.append(Dataset())
    item: Dataset = seq[index]
    return item


def _set_leaf(ds: Dataset, tag: BaseTag, value: str | None) -> None:
    vr = _vr_for(ds, tag)
    if vr == "SQ":
        if value:
            raise _PathError("Cannot insert value into path ending with item or sequence")
        _ensure_sequence(ds, tag)
        return
    ds[tag] = _make_element(tag, vr, value)


def _apply_steps(ds: Dataset, steps: list[_Step], value: str | None) -> None:
    here = ds
    for step in steps:
        if step.item is None:
            _set_leaf(here, step.tag, value)
            return
        here = _ensure_item(_ensure_sequence(here, step.tag), step.item)
    if value:
        raise _PathError("Cannot insert value into path ending with item or sequence")


def apply_key(ds: Dataset, key: str) -> None:
    """Apply one ``-k`` key to ``ds`` in place (insert, or replace when present).

    Raises :class:`QueryKeyError` (``ds`` untouched) for a key findscu refuses.
    """
    if not key:
        return
    path, _, value = key.partition("=")
    if not path:
        raise QueryKeyError(key, "Illegal parameter", ILLEGAL_PARAMETER)
    try:
        steps = _parse_path(path, ds)
        # check the value before touching ds, so that a refused key changes nothing
        leaf = steps[-1]
        if leaf.item is None and value:
            parent = _parent_dataset(ds, steps)
            if _vr_for(parent, leaf.tag) != "SQ":
                _make_element(leaf.tag, _vr_for(parent, leaf.tag), value)
        elif value:
            raise _PathError("Cannot insert value into path ending with item or sequence")
        _apply_steps(ds, steps, value)
    except _PathError as exc:
        raise QueryKeyError(key, exc.reason, exc.code) from None


def _parent_dataset(ds: Dataset, steps: list[_Step]) -> Dataset | None:
    here: Dataset | None = ds
    for step in steps[:-1]:
        assert step.item is not None
        here = _existing_item(here, step.tag, step.item)
    return here


def apply_keys(ds: Dataset, keys: Iterable[str]) -> Dataset:
    """Apply ``keys`` in order to ``ds`` (in place); returns ``ds``."""
    for key in keys:
        apply_key(ds, key)
    return ds


# -- query files ------------------------------------------------------------------------
def check_query_files(paths: Iterable[Path]) -> None:
    """findscu's startup check: every query file must be accessible (else exit 1)."""
    for path in paths:
        if not os.access(path, os.R_OK):
            raise QueryFileError(Path(path), "cannot access file", "", missing=True)


def load_query_file(path: Path | str) -> Dataset:
    """The data set of a query file (file meta information, if any, dropped)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise QueryFileError(path, "cannot access file", "", missing=True) from None
    except OSError:
        raise QueryFileError(path, _PREMATURE, PREMATURE_END) from None
    if not data:
        raise QueryFileError(path, "End of stream", END_OF_STREAM)
    try:
        parsed = dcmread(BytesIO(data), force=True)
        implicit, little = parsed.original_encoding
        tsyntax = str(getattr(parsed, "file_meta", {}).get("TransferSyntaxUID", ""))
        if tsyntax != _DEFLATED:
            _walk(data, _dataset_start(data), len(data), bool(implicit), little is not False)
        ds = Dataset(parsed)
    except (_Truncated, InvalidDicomError, ValueError, EOFError, OSError, struct.error) as exc:
        raise QueryFileError(path, _PREMATURE, PREMATURE_END) from exc
    ds.set_original_encoding(implicit, little, parsed.original_character_set)
    return ds


_PREMATURE: Final = "I/O suspension or premature end of stream"
_DEFLATED: Final = "1.2.840.10008.1.2.1.99"
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_UNDEFINED: Final = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xE000, 0xE00D, 0xE0DD


def _uint(data: bytes, pos: int, fmt: str) -> int:
    value: int = struct.unpack_from(fmt, data, pos)[0]
    return value


class _Truncated(Exception):
    """The bytes end inside an element, or do not nest properly."""


def _dataset_start(data: bytes) -> int:
    """Offset of the data set: after the preamble and the group 0002 elements."""
    pos = 132 if data[128:132] == b"DICM" else 0
    while pos + 8 <= len(data) and _uint(data, pos, "<H") == 0x0002:
        pos = _element_end(data, pos, len(data), False, True)
    return pos


def _element_end(data: bytes, pos: int, end: int, implicit: bool, little: bool) -> int:
    """Where the element at ``pos`` ends (items and sequences walked through)."""
    order = "<" if little else ">"
    if pos + 8 > end:
        raise _Truncated
    group = _uint(data, pos, order + "H")
    if implicit or group == 0xFFFE:
        length, pos = _uint(data, pos + 4, order + "L"), pos + 8
    elif data[pos + 4 : pos + 6] in _LONG_VRS:
        if pos + 12 > end:
            raise _Truncated
        length, pos = _uint(data, pos + 8, order + "L"), pos + 12
    else:
        length, pos = _uint(data, pos + 6, order + "H"), pos + 8
    if length == _UNDEFINED:
        return _walk(data, pos, end, implicit, little, nested=True)
    if pos + length > end:
        raise _Truncated
    return pos + length


def _walk(data: bytes, pos: int, end: int, implicit: bool, little: bool, *, nested: bool = False) -> int:
    """Walk elements from ``pos``; nested: up to the matching delimiter."""
    order = "<" if little else ">"
    while pos < end:
        if pos + 8 > end:
            raise _Truncated
        group, element = _uint(data, pos, order + "H"), _uint(data, pos + 2, order + "H")
        if group == 0xFFFE and element in (_ITEM_END, _SEQUENCE_END):
            if not nested:
                raise _Truncated
            return pos + 8
        if group == 0xFFFE and element == _ITEM:
            length = _uint(data, pos + 4, order + "L")
            if length == _UNDEFINED:
                pos = _walk(data, pos + 8, end, implicit, little, nested=True)
                continue
        pos = _element_end(data, pos, end, implicit, little)
    if nested:
        raise _Truncated
    return pos


# -- queries ----------------------------------------------------------------------------
def build_query(files: Iterable[Path | str], keys: Iterable[str]) -> list[Dataset]:
    """One query per file (keys applied on top of each file), or one from the keys alone.

    The keys win over the file: "If such an attribute is present it will be
    replaced, if absent it will be inserted" (findscu(1)).  Loads every file up
    front; the tool, to behave like findscu on a bad file, loads them one at a
    time with :func:`load_query_file` and :func:`apply_keys` instead.
    """
    keys = list(keys)
    paths = list(files)
    if not paths:
        return [apply_keys(Dataset(), keys)]
    return [apply_keys(load_query_file(path), keys) for path in paths]
