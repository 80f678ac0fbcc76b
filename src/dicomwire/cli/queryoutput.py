"""What findscu writes for C-FIND responses: -X, -Xx, -Xs and --json.

Behaviour of DCMTK 3.6.7's findscu, observed against dcmqrscp/wlmscpfs:

``-X`` / ``-Xx`` / ``-Xs f`` are one option group: the rightmost wins.  With
any of them, ``-od`` must name an existing directory, else findscu prints
``F: specified output directory does not exist`` and exits 1 before
connecting (:func:`check_output_directory`).  Without them ``-od`` is not
checked.

Numbering: one counter for the whole run (all query files, all ``--repeat``
rounds), incremented for *every* C-FIND-RSP received, the final one included;
a file is written for each pending response with an identifier, named after
the counter: two queries answered by 10 matches each give rsp0001..rsp0010
and rsp0012..rsp0021 (rsp0011 was the first query's final response).
``rsp%04d`` grows past 9999 (rsp10000).

``-X`` (:func:`write_response_file`): ``rspNNNN.dcm`` in ``-od``, a DICOM
file: preamble, meta header (version 00\\01, MediaStorageSOPClassUID
1.2.276.0.7230010.3.1.0.1 "private DCMTK generic file", a fresh
MediaStorageSOPInstanceUID, Explicit VR Little Endian, implementation class
UID and version of the writer), then the identifier as received (values,
character set untouched) in Explicit VR Little Endian with sequences and items
of undefined length.

``-Xx`` (:func:`write_xml_response`, :func:`dataset_to_xml`): ``rspNNNN.xml``,
dcm2xml's DCMTK format of the data set alone (top element ``data-set``, no
``file-format``/``meta-header``), values in their received character set:
the XML declaration names the encoding for ISO_IR 100/101/109/110/144/127/
126/138/148 (ISO-8859-n) and ISO_IR 192 or ISO_IR 6 (UTF-8) and has no
encoding without SpecificCharacterSet (bytes written as they are); for any
other value findscu logs ``W: SpecificCharacterSet (0008,0005) value '<v>' not
supported`` (with `` ... quoting non-ASCII characters`` appended when the
data set has bytes >= 0x80), writes no encoding and quotes every byte below
0x20 and from 0x7f up as ``&#N;``; an empty SpecificCharacterSet quotes
silently.  Otherwise only CR and LF are quoted (``&#13;`` ``&#10;``).

``-Xs f`` (:class:`XmlResponsesWriter`): one file ``-od``/f (an absolute f
ignores ``-od``): ``<?xml version="1.0" encoding="UTF-8"?>``, ``<responses
type="C-FIND">``, one ``data-set`` element per response, ``</responses>``; an
empty ``<responses>`` when nothing matched.  Each data set is converted to
UTF-8 first (SpecificCharacterSet becomes ``ISO_IR 192``, element lengths are
recomputed, sequence and item lengths are not; a data set without or with an
empty SpecificCharacterSet is written as it is).  A data set whose character
set cannot be converted is left out with ``E: Writing XML file: Cannot select
source character set: SpecificCharacterSet (0008,0005) value '<v>' not
supported`` (``value 1 of 2 '<v>'`` for the multi-valued form) or ``E: Writing
XML file: Cannot convert character encoding: Invalid or incomplete multibyte
or wide character``.  findscu writes the file when the association ends,
whenever one was established, also after a failed query (bad key, bad query
file): then with the responses so far, or an empty ``<responses>``; no file
when the association could not be made.  An unwritable path gives ``E:
Writing file: <path>: <strerror>`` and still exit 0.  This writer streams
instead (open it once the association is accepted, close it in a
``finally``) and reports an unwritable path when opened
(:class:`OutputFileError`).  Differences: ISO 2022 IR 87/159 are converted
(DCMTK's Debian build cannot: ``E: DcmSpecificCharacterSet: 'ISO 2022 IR 87'
is not supported by the utilized character set conversion library``), and an
item's own SpecificCharacterSet is ignored, as DCMTK does.

``--json`` (ours, :class:`JsonResponsesWriter`): one PS3.18 DICOM JSON array,
streamed; binary values inline (InlineBinary); elements pydicom cannot
represent in JSON (e.g. an IS that is not a number) are left out.

The XML layout (``<element tag="0010,0010" vr="PN" vm="1" len="16"
name="PatientName">...</element>``, ``<sequence ... card="n" len=...>``,
``<item card="n" len=...>``) is dcm2xml's default: names are DICOM keywords
(``RETIRED_`` + keyword for retired ones, ``GenericGroupLength``,
``PrivateCreator``, ``Unknown Tag & Data``; private names derived from
pydicom's private dictionary, which names ~3/4 of DCMTK's private tags alike),
``len`` is the received value length (``len`` of a sequence or item is left
out when it was received with undefined length), OB/OW/UN are
``binary="hidden"`` with no content, FL/FD use DCMTK's own 9/17-digit
formatting, OF/OD C's ``%.8g``/``%.17g``, and string values are trimmed per VR
like DCMTK.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import IO, Final

from pydicom.charset import convert_encodings, decode_bytes, python_encoding
from pydicom.datadict import dictionary_keyword, dictionary_VR, get_entry, get_private_entry
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_fragments
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite, write_data_element
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, generate_uid

from dicomwire import uids
from dicomwire.errors import DicomWireError

__all__ = [
    "DCMTK_GENERIC_FILE_SOP_CLASS",
    "JsonResponsesWriter",
    "OutputDirectoryError",
    "OutputFileError",
    "XmlResponsesWriter",
    "check_output_directory",
    "dataset_to_xml",
    "dataset_to_xml_bytes",
    "response_file_name",
    "write_response_file",
    "write_xml_response",
]

DCMTK_GENERIC_FILE_SOP_CLASS: Final = "1.2.276.0.7230010.3.1.0.1"
_LOG: Final = logging.getLogger("dicomwire.apps.findscu")


class OutputDirectoryError(DicomWireError):
    """``-od`` names no existing directory (findscu: fatal, exit 1)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__("specified output directory does not exist")


class OutputFileError(DicomWireError):
    """An output file could not be written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Writing file: {path}: {reason}")


def check_output_directory(directory: Path | str) -> None:
    """findscu's check of ``-od`` when -X, -Xx or -Xs is given."""
    if not Path(directory).is_dir():
        raise OutputDirectoryError(Path(directory))


def response_file_name(index: int, suffix: str) -> str:
    """``rsp0001.dcm`` for index 1 and suffix ``.dcm``."""
    return f"rsp{index:04d}{suffix}"


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputFileError(path, exc.strerror or str(exc)) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputFileError(path, exc.strerror or str(exc)) from exc


# == -X: DICOM files ====================================================================
def _is_sequence(ds: Dataset, tag: BaseTag) -> bool:
    vr = ds.get_item(tag).VR
    if vr is None:  # implicit VR, not converted yet
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            return False
    return vr == "SQ"


def _undefined_lengths(ds: Dataset) -> None:
    """DCMTK writes -X files with sequences and items of undefined length."""
    for tag in list(ds.keys()):
        if not _is_sequence(ds, tag):
            continue
        elem = ds[tag]  # converts only the sequences; other values stay as received
        if isinstance(elem.value, Sequence):
            elem.is_undefined_length = True
            for item in elem.value:
                item.is_undefined_length_sequence_item = True
                _undefined_lengths(item)


def write_response_file(
    ds: Dataset,
    directory: Path | str,
    index: int,
    transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN,
    *,
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
    implementation_version: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION,
) -> Path:
    """Write response ``index`` as ``rspNNNN.dcm`` in ``directory`` (-X).

    Like DCMTK, the file keeps the transfer syntax the response arrived in.
    """
    path = Path(directory) / response_file_name(index, ".dcm")
    copy = deepcopy(ds)
    _undefined_lengths(copy)
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(DCMTK_GENERIC_FILE_SOP_CLASS)
    meta.MediaStorageSOPInstanceUID = generate_uid(prefix=None)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(implementation_class_uid)
    meta.ImplementationVersionName = implementation_version
    copy.file_meta = meta
    buffer = DicomBytesIO()
    dcmwrite(buffer, copy, enforce_file_format=True)
    _write_atomically(path, buffer.getvalue())
    return path


# == the XML model ======================================================================
# A data set is first turned into a tree of elements with their value bytes
# and received lengths; -Xs converts that tree, then both render it.
_UNDEFINED: Final = 0xFFFFFFFF
_LONG_VRS: Final = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"])
_CHARSET_VRS: Final = frozenset(["PN", "LO", "SH", "ST", "LT", "UT", "UC"])
_AMBIGUOUS: Final[Mapping[str, str]] = MappingProxyType(
    {"OB or OW": "OB", "US or SS": "US", "US or OW": "OW", "US or SS or OW": "OW"}
)


@dataclass(frozen=True)
class _Value:
    tag: BaseTag
    vr: str
    data: bytes
    length: int
    little: bool = True
    name: str = ""


@dataclass(frozen=True)
class _Item:
    nodes: tuple[_Node, ...]
    length: int | None  # None: undefined length


@dataclass(frozen=True)
class _Seq:
    tag: BaseTag
    vr: str
    items: tuple[_Item, ...]
    length: int | None
    name: str = ""
    fragments: tuple[int, ...] | None = None  # encapsulated pixel data


_Node = _Value | _Seq


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


def _build_item(ds: Dataset, explicit: bool, charset: list[str], names: _Namer) -> _Item:
    charset = _charset_of(ds, charset)
    nodes = tuple(_build_node(ds, tag, explicit, charset, names) for tag in sorted(ds.keys()))
    length = None if ds.is_undefined_length_sequence_item else _content_length(nodes, explicit)
    return _Item(nodes, length)


def _build_node(ds: Dataset, tag: BaseTag, explicit: bool, charset: list[str], names: _Namer) -> _Node:
    raw = ds.get_item(tag)
    tag = Tag(tag)
    name = names(ds, tag)
    if isinstance(raw, RawDataElement):
        # the received bytes; never decoded (that would log about odd values)
        vr = _resolve_vr(ds, tag, raw.VR or _dictionary_vr(ds, tag))
        if vr != "SQ" and raw.length != _UNDEFINED:
            length = _received_length(vr, raw.length)
            return _Value(tag, vr, raw.value or b"", length, raw.is_little_endian, name)
        elem = ds[tag]
    else:
        elem = raw
        vr = _resolve_vr(ds, tag, elem.VR)
    if vr == "SQ" and isinstance(elem.value, Sequence | type(None)):
        items = tuple(_build_item(item, explicit, charset, names) for item in elem.value or ())
        length = None if elem.is_undefined_length else _items_length(items)
        return _Seq(tag, vr, items, length, name)
    if elem.is_undefined_length and isinstance(elem.value, bytes):
        sizes = tuple(len(f) for f in generate_fragments(elem.value))
        return _Seq(tag, "OB", (), None, name, sizes)
    if vr != elem.VR:
        elem = DataElement(tag, vr, elem.value)
    data = _encode_value(elem, _python_encodings(charset)) if not elem.is_empty else b""
    return _Value(tag, vr, data, _received_length(vr, len(data)), True, name)


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


def _items_length(items: tuple[_Item, ...]) -> int:
    return sum(
        8 + (item.length if item.length is not None else _content_length(item.nodes, True) + 8)
        for item in items
    )


def _content_length(nodes: tuple[_Node, ...], explicit: bool) -> int:
    total = 0
    for node in nodes:
        header = 12 if explicit and node.vr in _LONG_VRS else 8
        if isinstance(node, _Value):
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


# == value text =========================================================================
def _strip_components(data: bytes, leading: bool) -> bytes:
    parts = data.split(b"\\")
    return b"\\".join(p.strip(b" ") if leading else p.rstrip(b" ") for p in parts)


_STRING_TRIM: Final[Mapping[str, Callable[[bytes], bytes]]] = MappingProxyType(
    {
        **dict.fromkeys(("AE", "CS", "SH", "LO", "IS"), lambda d: _strip_components(d, True)),
        **dict.fromkeys(("DA", "DT", "TM", "PN", "UC"), lambda d: _strip_components(d, False)),
        **dict.fromkeys(("ST", "LT", "UT", "UR", "AS", "DS"), lambda d: d.rstrip(b" ")),
        "UI": lambda d: d.replace(b" ", b"").rstrip(b"\0"),
    }
)
_SINGLE_VALUED: Final = frozenset(("ST", "LT", "UT", "UR"))


def _bsd_digits(value: float, precision: int) -> str:
    """``%g`` as DCMTK's own formatter prints it (a 4.3BSD vfprintf ``cvt``).

    Digits come from repeated ``modf``, so they drift from the exact decimal
    expansion (1e300 prints as 1.0000000000000007e+300), and, unlike C, zeros
    right after the decimal point are not counted as significant even when
    there is an integer part (43.022 at precision 17 -> 43.0219999999999985).
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    sign = "-" if value < 0 else ""
    fraction, integer = math.modf(abs(value))
    int_digits: list[int] = []
    while integer:
        rest, integer = math.modf(integer / 10)
        int_digits.append(int((rest + 0.01) * 10))
    int_digits.reverse()
    precision = precision or 1
    exponent = len(int_digits)
    if exponent > precision or (not exponent and fraction and fraction < 0.0001):
        return sign + _bsd_exponential(int_digits, fraction, precision - 1)
    return sign + _bsd_fixed(int_digits, fraction, precision)


def _next_digit(fraction: float) -> tuple[float, int]:
    rest, digit = math.modf(fraction * 10)
    return rest, int(digit)


def _round_up(digits: list[int]) -> bool:
    """Add one at the last digit; True if it carried out of the first."""
    for i in range(len(digits) - 1, -1, -1):
        if digits[i] < 9:
            digits[i] += 1
            return False
        digits[i] = 0
    return True


def _bsd_fixed(int_digits: list[int], fraction: float, precision: int) -> str:
    head = int_digits or [0]
    precision -= len(int_digits)
    tail: list[int] = []
    if fraction and precision:
        while True:  # leading zeros of the fraction are free
            fraction, digit = _next_digit(fraction)
            tail.append(digit)
            if digit:
                break
        while True:
            precision -= 1
            if not (precision and fraction):
                break
            fraction, digit = _next_digit(fraction)
            tail.append(digit)
    if fraction and _next_digit(fraction)[1] > 4:
        digits = head + tail
        if _round_up(digits):
            digits.insert(0, 1)
        head, tail = digits[: len(digits) - len(tail)], digits[len(digits) - len(tail) :]
    while tail and tail[-1] == 0:
        tail.pop()
    text = "".join(map(str, head))
    return f"{text}.{''.join(map(str, tail))}" if tail else text


def _bsd_exponential(int_digits: list[int], fraction: float, precision: int) -> str:
    digits: list[int] = []
    if int_digits:
        exponent = len(int_digits) - 1
        digits.append(int_digits[0])
        rest = int_digits[1:]
        digits.extend(rest[:precision])
        precision -= len(rest[:precision])
        if not precision and len(rest) > len(digits) - 1:
            fraction = 0.0
            if rest[len(digits) - 1] > 4 and _round_up(digits):
                digits[0] = 1
                exponent += 1
    elif fraction:
        exponent = -1
        while True:
            fraction, digit = _next_digit(fraction)
            if digit:
                break
            exponent -= 1
        digits.append(digit)
    else:
        exponent, digits = 0, [0]
    if fraction:
        while precision and fraction:
            fraction, digit = _next_digit(fraction)
            digits.append(digit)
            precision -= 1
        if fraction and _next_digit(fraction)[1] > 4 and _round_up(digits):
            digits[0] = 1
            exponent += 1
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _c_g(value: float, precision: int) -> str:
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return f"{value:.{precision}g}"


@dataclass(frozen=True)
class _Numeric:
    fmt: str
    size: int
    text: Callable[[float], str]
    single: bool = False  # O* VRs: one value of many numbers (vm 1)


def _int_text(value: float) -> str:
    return str(int(value))


_NUMERIC: Final[Mapping[str, _Numeric]] = MappingProxyType(
    {
        "US": _Numeric("H", 2, _int_text),
        "SS": _Numeric("h", 2, _int_text),
        "UL": _Numeric("L", 4, _int_text),
        "SL": _Numeric("l", 4, _int_text),
        "UV": _Numeric("Q", 8, _int_text),
        "SV": _Numeric("q", 8, _int_text),
        "FL": _Numeric("f", 4, lambda v: _bsd_digits(v, 9)),
        "FD": _Numeric("d", 8, lambda v: _bsd_digits(v, 17)),
        "OL": _Numeric("L", 4, _int_text, True),
        "OV": _Numeric("Q", 8, _int_text, True),
        "OF": _Numeric("f", 4, lambda v: _c_g(v, 8), True),
        "OD": _Numeric("d", 8, lambda v: _c_g(v, 17), True),
    }
)
_HIDDEN: Final = frozenset(("OB", "OW", "UN"))


def _numbers(node: _Value, spec: _Numeric) -> list[str]:
    count = len(node.data) // spec.size
    order = "<" if node.little else ">"
    values = struct.unpack_from(f"{order}{count}{spec.fmt}", node.data)
    return [spec.text(v) for v in values]


def _tag_texts(node: _Value) -> list[str]:
    count = len(node.data) // 4
    order = "<" if node.little else ">"
    words = struct.unpack_from(f"{order}{2 * count}H", node.data)
    return [f"({words[i]:04x},{words[i + 1]:04x})" for i in range(0, len(words), 2)]


def _rstrip(data: bytes) -> bytes:
    return data.rstrip(b" ")


def _value_text(node: _Value) -> tuple[int, bytes | None]:
    """(vm, value bytes to escape); None for hidden binary data."""
    if node.vr in _HIDDEN:
        return 1, None
    spec = _NUMERIC.get(node.vr)
    if spec is not None or node.vr == "AT":
        texts = _numbers(node, spec) if spec is not None else _tag_texts(node)
        vm = 1 if spec is not None and spec.single else len(texts)
        return vm, "\\".join(texts).encode("ascii")
    trim = _STRING_TRIM.get(node.vr, _rstrip)
    text = trim(node.data.rstrip(b" ") if node.vr != "UI" else node.data)
    if not text:
        return 0, b""
    return (1 if node.vr in _SINGLE_VALUED else text.count(b"\\") + 1), text


# -- escaping ------------------------------------------------------------------------
_ENTITIES: Final[Mapping[int, bytes]] = MappingProxyType(
    {
        ord("&"): b"&amp;",
        ord("<"): b"&lt;",
        ord(">"): b"&gt;",
        ord('"'): b"&quot;",
        ord("'"): b"&apos;",
        0x0D: b"&#13;",
        0x0A: b"&#10;",
    }
)


def _escape(data: bytes, quote: bool) -> bytes:
    out = bytearray()
    for byte in data:
        entity = _ENTITIES.get(byte)
        if entity is not None:
            out += entity
        elif quote and (byte < 0x20 or byte >= 0x7F):
            out += b"&#%d;" % byte
        else:
            out.append(byte)
    return bytes(out)


# == rendering ==========================================================================
_XFER_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "1.2.840.10008.1.2": "Little Endian Implicit",
        "1.2.840.10008.1.2.1": "Little Endian Explicit",
        "1.2.840.10008.1.2.2": "Big Endian Explicit",
        "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline",
        "1.2.840.10008.1.2.4.51": "JPEG Extended, Process 2+4",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, Non-hierarchical, 1st Order Prediction",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-lossless)",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless only)",
        "1.2.840.10008.1.2.4.91": "JPEG 2000 (Lossless or Lossy)",
        "1.2.840.10008.1.2.5": "RLE Lossless",
    }
)


def _attr(text: str) -> bytes:
    return _escape(text.encode("ascii", "replace"), False)


def _render_nodes(nodes: tuple[_Node, ...], quote: bool, out: list[bytes]) -> None:
    for node in nodes:
        if isinstance(node, _Value):
            _render_value(node, quote, out)
        else:
            _render_sequence(node, quote, out)


def _render_value(node: _Value, quote: bool, out: list[bytes]) -> None:
    vm, text = _value_text(node)
    head = b'<element tag="%04x,%04x" vr="%s" vm="%d" len="%d" name="%s"' % (
        node.tag.group,
        node.tag.element,
        node.vr.encode(),
        vm,
        node.length,
        _attr(node.name),
    )
    if text is None:
        out.append(head + b' binary="hidden"></element>\n')
    else:
        out.append(head + b">" + _escape(text, quote) + b"</element>\n")


def _render_sequence(node: _Seq, quote: bool, out: list[bytes]) -> None:
    tag = b"%04x,%04x" % (node.tag.group, node.tag.element)
    length = b"" if node.length is None else b' len="%d"' % node.length
    if node.fragments is not None:
        out.append(
            b'<sequence tag="%s" vr="%s" card="%d" name="%s">\n'
            % (tag, node.vr.encode(), len(node.fragments), _attr(node.name))
        )
        out.extend(b'<pixel-item len="%d" binary="hidden"></pixel-item>\n' % n for n in node.fragments)
        out.append(b"</sequence>\n")
        return
    out.append(
        b'<sequence tag="%s" vr="SQ" card="%d"%s name="%s">\n'
        % (tag, len(node.items), length, _attr(node.name))
    )
    for item in node.items:
        item_length = b"" if item.length is None else b' len="%d"' % item.length
        out.append(b'<item card="%d"%s>\n' % (len(item.nodes), item_length))
        _render_nodes(item.nodes, quote, out)
        out.append(b"</item>\n")
    out.append(b"</sequence>\n")


def _render_dataset(root: _Item, transfer_syntax: str, quote: bool) -> bytes:
    name = _XFER_NAMES.get(transfer_syntax, "Unknown Transfer Syntax")
    out = [b'<data-set xfer="%s" name="%s">\n' % (_attr(transfer_syntax), _attr(name))]
    _render_nodes(root.nodes, quote, out)
    out.append(b"</data-set>\n")
    return b"".join(out)


def _model(ds: Dataset, transfer_syntax: str) -> _Item:
    explicit = transfer_syntax != uids.IMPLICIT_VR_LITTLE_ENDIAN
    return _build_item(ds, explicit, ["ISO_IR 6"], element_name)


# == -Xx ================================================================================
_XML_ENCODINGS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ISO_IR 6": "UTF-8",
        "ISO_IR 192": "UTF-8",
        "ISO_IR 100": "ISO-8859-1",
        "ISO_IR 101": "ISO-8859-2",
        "ISO_IR 109": "ISO-8859-3",
        "ISO_IR 110": "ISO-8859-4",
        "ISO_IR 144": "ISO-8859-5",
        "ISO_IR 127": "ISO-8859-6",
        "ISO_IR 126": "ISO-8859-7",
        "ISO_IR 138": "ISO-8859-8",
        "ISO_IR 148": "ISO-8859-9",
    }
)
_PYTHON_CODECS: Final[Mapping[str, str]] = MappingProxyType(
    {"UTF-8": "utf-8", **{f"ISO-8859-{n}": f"iso8859-{n}" for n in range(1, 10)}}
)


def _charset_value(root: _Item) -> str | None:
    """SpecificCharacterSet of the data set as DCMTK shows it (None: absent)."""
    for node in root.nodes:
        if isinstance(node, _Value) and node.tag == 0x00080005:
            text = _value_text(node)[1]
            return (text or b"").decode("ascii", "replace")
    return None


def _has_extended(nodes: tuple[_Node, ...]) -> bool:
    for node in nodes:
        if isinstance(node, _Value):
            if node.vr not in _HIDDEN and any(b >= 0x80 for b in node.data):
                return True
        elif any(_has_extended(item.nodes) for item in node.items):
            return True
    return False


def _xml_declaration(encoding: str | None) -> bytes:
    if encoding is None:
        return b'<?xml version="1.0"?>\n'
    return b'<?xml version="1.0" encoding="%s"?>\n' % encoding.encode("ascii")


def dataset_to_xml_bytes(
    ds: Dataset,
    transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN,
    *,
    logger: logging.Logger | None = None,
) -> bytes:
    """The exact bytes of findscu's ``-Xx`` file for ``ds``.

    ``transfer_syntax``: the one the response was received in (``xfer``).
    Logs findscu's SpecificCharacterSet warning to ``logger``.
    """
    root = _model(ds, transfer_syntax)
    charset = _charset_value(root)
    encoding = None if charset is None else _XML_ENCODINGS.get(charset)
    quote = charset is not None and encoding is None
    if quote and charset:
        suffix = " ... quoting non-ASCII characters" if _has_extended(root.nodes) else ""
        (logger or _LOG).warning(
            "SpecificCharacterSet (0008,0005) value '%s' not supported%s", charset, suffix
        )
    return _xml_declaration(encoding) + _render_dataset(root, transfer_syntax, quote)


def _codec_of(document: bytes) -> str:
    m = re.match(rb'<\?xml version="1.0" encoding="([^"]+)"', document)
    return _PYTHON_CODECS.get(m.group(1).decode(), "latin-1") if m else "latin-1"


def dataset_to_xml(
    ds: Dataset,
    transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN,
    *,
    logger: logging.Logger | None = None,
) -> str:
    """findscu's ``-Xx`` document (dcm2xml's layout) for ``ds`` as text.

    Decoded with the encoding the declaration names (Latin-1 when none, so
    that ``text.encode("latin-1")`` gives the file back); undecodable bytes
    become surrogates (``errors="surrogateescape"``).
    """
    document = dataset_to_xml_bytes(ds, transfer_syntax, logger=logger)
    return document.decode(_codec_of(document), "surrogateescape")


def write_xml_response(
    ds: Dataset,
    directory: Path | str,
    index: int,
    transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN,
    *,
    logger: logging.Logger | None = None,
) -> Path:
    """Write response ``index`` as ``rspNNNN.xml`` in ``directory`` (-Xx)."""
    path = Path(directory) / response_file_name(index, ".xml")
    _write_atomically(path, dataset_to_xml_bytes(ds, transfer_syntax, logger=logger))
    return path


# == -Xs: UTF-8 conversion ===============================================================
_SINGLE_CHARSETS: Final = frozenset(
    ["ISO_IR 6", "ISO_IR 13", "ISO_IR 166", "ISO_IR 192", "GB18030", "GBK"]
    + [f"ISO_IR {n}" for n in (100, 101, 109, 110, 144, 127, 126, 138, 148)]
)
_ISO2022_FIRST: Final = frozenset(
    ["", "ISO 2022 IR 6", "ISO 2022 IR 13", "ISO 2022 IR 166"]
    + [f"ISO 2022 IR {n}" for n in (100, 101, 109, 110, 144, 127, 126, 138, 148)]
)
_ISO2022: Final = _ISO2022_FIRST | {f"ISO 2022 IR {n}" for n in (87, 159, 149, 58)}


class _ConversionError(Exception):
    def __init__(self, message: str, *, while_converting: bool = False) -> None:
        super().__init__(message)
        self.while_converting = while_converting


def _check_charset(values: list[str], logger: logging.Logger) -> None:
    prefix = "Cannot select source character set: SpecificCharacterSet (0008,0005) value"
    if len(values) == 1:
        if values[0] not in _SINGLE_CHARSETS:
            raise _ConversionError(f"{prefix} '{values[0]}' not supported")
        if values[0] == "ISO_IR 6":
            logger.warning(
                "DcmSpecificCharacterSet: 'ISO_IR 6' is not a defined term in DICOM, "
                "will be treated as an empty value (ASCII)"
            )
        return
    for i, value in enumerate(values):
        if value not in (_ISO2022_FIRST if i == 0 else _ISO2022):
            raise _ConversionError(f"{prefix} {i + 1} of {len(values)} '{value}' not supported")


def _decoder(values: list[str]) -> Callable[[bytes, str], str]:
    if len(values) == 1:
        codec = "ascii" if values[0] == "ISO_IR 6" else python_encoding[values[0]]

        def decode_single(data: bytes, vr: str) -> str:
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise _ConversionError(
                    "Cannot convert character encoding: Invalid or incomplete multibyte or wide character",
                    while_converting=True,
                ) from exc

        return decode_single
    encodings = [python_encoding.get(v or "ISO 2022 IR 6", "iso8859") for v in values]

    def decode_iso2022(data: bytes, vr: str) -> str:
        delimiters = {0x5E, 0x3D} if vr == "PN" else {0x0D, 0x0A, 0x09, 0x0C, 0x5C}
        return decode_bytes(data, encodings, delimiters)

    return decode_iso2022


def _convert_nodes(nodes: tuple[_Node, ...], decode: Callable[[bytes, str], str]) -> tuple[_Node, ...]:
    out: list[_Node] = []
    for node in nodes:
        if isinstance(node, _Seq):
            items = tuple(replace(item, nodes=_convert_nodes(item.nodes, decode)) for item in node.items)
            out.append(replace(node, items=items))
        elif node.tag == 0x00080005:
            out.append(replace(node, data=b"ISO_IR 192", length=10))
        elif node.vr in _CHARSET_VRS and node.data:
            data = decode(node.data, node.vr).encode("utf-8")
            data += b" " * (len(data) % 2)
            out.append(replace(node, data=data, length=len(data)))
        else:
            out.append(node)
    return tuple(out)


def _to_utf8(root: _Item, logger: logging.Logger) -> _Item:
    charset = _charset_value(root)
    if not charset:
        return root
    values = charset.split("\\")
    _check_charset(values, logger)
    return replace(root, nodes=_convert_nodes(root.nodes, _decoder(values)))


@dataclass
class XmlResponsesWriter:
    """``-Xs``: every response in one UTF-8 XML document, streamed.

    ``with XmlResponsesWriter(path) as xml: xml.add(ds)``; ``close`` ends the
    document (also after an error, so the file stays well-formed).
    """

    path: Path
    logger: logging.Logger = field(default=_LOG)
    _stream: IO[bytes] | None = field(default=None, init=False, repr=False)
    count: int = field(default=0, init=False)

    def open(self) -> XmlResponsesWriter:
        try:
            self._stream = Path(self.path).open("wb")  # noqa: SIM115 - open until close()
        except OSError as exc:
            raise OutputFileError(Path(self.path), exc.strerror or str(exc)) from exc
        self._write(b'<?xml version="1.0" encoding="UTF-8"?>\n<responses type="C-FIND">\n')
        return self

    def add(self, ds: Dataset, transfer_syntax: str = uids.EXPLICIT_VR_LITTLE_ENDIAN) -> bool:
        """Append one response; False (and an error logged) if it was left out."""
        try:
            root = _to_utf8(_model(ds, transfer_syntax), self.logger)
        except _ConversionError as exc:
            if exc.while_converting:
                self.logger.warning(
                    "DcmItem: An error occurred during the conversion to UTF-8 encoding, "
                    "the value of SpecificCharacterSet (0008,0005) is not updated"
                )
            self.logger.error("Writing XML file: %s", exc)
            return False
        self._write(_render_dataset(root, transfer_syntax, quote=False))
        self.count += 1
        return True

    def close(self) -> None:
        if self._stream is None:
            return
        try:
            self._write(b"</responses>\n")
        finally:
            self._stream.close()
            self._stream = None

    def _write(self, data: bytes) -> None:
        if self._stream is None:
            raise ValueError("XmlResponsesWriter is not open")
        try:
            self._stream.write(data)
            self._stream.flush()
        except OSError as exc:
            raise OutputFileError(Path(self.path), exc.strerror or str(exc)) from exc

    def __enter__(self) -> XmlResponsesWriter:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# == --json =============================================================================
@dataclass
class JsonResponsesWriter:
    """``--json``: the responses as one DICOM JSON array (PS3.18 F), streamed.

    Writes ``[`` on open, one object per :meth:`add`, ``]`` on close, so the
    output is a valid array even with no responses.  Binary values are inline
    (``InlineBinary``), never ``BulkDataURI``.
    """

    stream: IO[str]
    count: int = field(default=0, init=False)
    _open: bool = field(default=False, init=False, repr=False)

    def open(self) -> JsonResponsesWriter:
        self.stream.write("[")
        self._open = True
        return self

    def add(self, ds: Dataset) -> None:
        body = json.dumps(ds.to_json_dict(suppress_invalid_tags=True), ensure_ascii=False)
        self.stream.write(("\n" if self.count == 0 else ",\n") + body)
        self.stream.flush()
        self.count += 1

    def close(self) -> None:
        if self._open:
            self.stream.write("\n]\n" if self.count else "]\n")
            self.stream.flush()
            self._open = False

    def __enter__(self) -> JsonResponsesWriter:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_json(datasets: Iterable[Dataset], stream: IO[str]) -> int:
    """Write ``datasets`` as one JSON array to ``stream``; returns the count."""
    with JsonResponsesWriter(stream) as writer:
        for ds in datasets:
            writer.add(ds)
    return writer.count
