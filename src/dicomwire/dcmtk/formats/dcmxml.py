"""dcm2xml's DCMTK XML format of a data set, as findscu writes it (-Xx, -Xs).

:func:`dataset_to_xml_bytes` is the exact ``-Xx`` file (XML declaration
naming the received character set, or quoting when it cannot);
:func:`render_dataset` the ``data-set`` element alone, which ``-Xs`` writes
after :func:`to_utf8` converted the model to UTF-8 (or raised
:class:`ConversionError`).  The model is built by
:mod:`dicomwire.dcmtk.formats.dcmxml_model`, value texts come from
:mod:`dicomwire.dcmtk.formats.dcmxml_text`; the files themselves are written by
:mod:`dicomwire.dcmtk.formats.queryoutput`, whose docstring describes the observed
DCMTK behaviour.

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

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Final

from pydicom.charset import decode_bytes, python_encoding
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.dcmtk.formats.dcmxml_model import CHARSET_VRS, Item, Node, Seq, Value, build_model
from dicomwire.dcmtk.formats.dcmxml_text import HIDDEN, value_text
from dicomwire.dcmtk.xfer import dcmtk_xfer_name

__all__ = [
    "ConversionError",
    "dataset_to_xml",
    "dataset_to_xml_bytes",
    "render_dataset",
    "to_utf8",
]

_LOG: Final = logging.getLogger("dicomwire.apps.findscu")


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
def _attr(text: str) -> bytes:
    return _escape(text.encode("ascii", "replace"), False)


def _render_nodes(nodes: tuple[Node, ...], quote: bool, out: list[bytes]) -> None:
    for node in nodes:
        if isinstance(node, Value):
            _render_value(node, quote, out)
        else:
            _render_sequence(node, quote, out)


def _render_value(node: Value, quote: bool, out: list[bytes]) -> None:
    vm, text = value_text(node)
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


def _render_sequence(node: Seq, quote: bool, out: list[bytes]) -> None:
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


def render_dataset(root: Item, transfer_syntax: str, quote: bool) -> bytes:
    name = dcmtk_xfer_name(transfer_syntax) or "Unknown Transfer Syntax"
    out = [b'<data-set xfer="%s" name="%s">\n' % (_attr(transfer_syntax), _attr(name))]
    _render_nodes(root.nodes, quote, out)
    out.append(b"</data-set>\n")
    return b"".join(out)


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


def _charset_value(root: Item) -> str | None:
    """SpecificCharacterSet of the data set as DCMTK shows it (None: absent)."""
    for node in root.nodes:
        if isinstance(node, Value) and node.tag == 0x00080005:
            text = value_text(node)[1]
            return (text or b"").decode("ascii", "replace")
    return None


def _has_extended(nodes: tuple[Node, ...]) -> bool:
    for node in nodes:
        if isinstance(node, Value):
            if node.vr not in HIDDEN and any(b >= 0x80 for b in node.data):
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
    root = build_model(ds, transfer_syntax)
    charset = _charset_value(root)
    encoding = None if charset is None else _XML_ENCODINGS.get(charset)
    quote = charset is not None and encoding is None
    if quote and charset:
        suffix = " ... quoting non-ASCII characters" if _has_extended(root.nodes) else ""
        (logger or _LOG).warning(
            "SpecificCharacterSet (0008,0005) value '%s' not supported%s", charset, suffix
        )
    return _xml_declaration(encoding) + render_dataset(root, transfer_syntax, quote)


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


class ConversionError(Exception):
    def __init__(self, message: str, *, while_converting: bool = False) -> None:
        super().__init__(message)
        self.while_converting = while_converting


def _check_charset(values: list[str], logger: logging.Logger) -> None:
    prefix = "Cannot select source character set: SpecificCharacterSet (0008,0005) value"
    if len(values) == 1:
        if values[0] not in _SINGLE_CHARSETS:
            raise ConversionError(f"{prefix} '{values[0]}' not supported")
        if values[0] == "ISO_IR 6":
            logger.warning(
                "DcmSpecificCharacterSet: 'ISO_IR 6' is not a defined term in DICOM, "
                "will be treated as an empty value (ASCII)"
            )
        return
    for i, value in enumerate(values):
        if value not in (_ISO2022_FIRST if i == 0 else _ISO2022):
            raise ConversionError(f"{prefix} {i + 1} of {len(values)} '{value}' not supported")


def _decoder(values: list[str]) -> Callable[[bytes, str], str]:
    if len(values) == 1:
        codec = "ascii" if values[0] == "ISO_IR 6" else python_encoding[values[0]]

        def decode_single(data: bytes, vr: str) -> str:
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise ConversionError(
                    "Cannot convert character encoding: Invalid or incomplete multibyte or wide character",
                    while_converting=True,
                ) from exc

        return decode_single
    encodings = [python_encoding.get(v or "ISO 2022 IR 6", "iso8859") for v in values]

    def decode_iso2022(data: bytes, vr: str) -> str:
        delimiters = {0x5E, 0x3D} if vr == "PN" else {0x0D, 0x0A, 0x09, 0x0C, 0x5C}
        return decode_bytes(data, encodings, delimiters)

    return decode_iso2022


def _convert_nodes(nodes: tuple[Node, ...], decode: Callable[[bytes, str], str]) -> tuple[Node, ...]:
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, Seq):
            items = tuple(replace(item, nodes=_convert_nodes(item.nodes, decode)) for item in node.items)
            out.append(replace(node, items=items))
        elif node.tag == 0x00080005:
            out.append(replace(node, data=b"ISO_IR 192", length=10))
        elif node.vr in CHARSET_VRS and node.data:
            data = decode(node.data, node.vr).encode("utf-8")
            data += b" " * (len(data) % 2)
            out.append(replace(node, data=data, length=len(data)))
        else:
            out.append(node)
    return tuple(out)


def to_utf8(root: Item, logger: logging.Logger) -> Item:
    charset = _charset_value(root)
    if not charset:
        return root
    values = charset.split("\\")
    _check_charset(values, logger)
    return replace(root, nodes=_convert_nodes(root.nodes, _decoder(values)))
