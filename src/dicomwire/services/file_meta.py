"""The DICOM file format (PS3.10 7.1): preamble, ``DICM`` and the group 0002 meta
information, written in front of a data set and read back, without pydicom.

Writing is done up front, before the data set arrives, so a received instance
goes to disk in one pass.  Reading parses only group 0002 and reports where
the data set starts.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import BinaryIO, Final

from dicomwire import uids
from dicomwire._records import record
from dicomwire.errors import DatasetCodecError

__all__ = [
    "MEDIA_STORAGE_SOP_CLASS_UID",
    "MEDIA_STORAGE_SOP_INSTANCE_UID",
    "PREAMBLE_LENGTH",
    "TRANSFER_SYNTAX_UID",
    "FileMeta",
    "encode_file_meta",
    "read_file_meta",
]

PREAMBLE_LENGTH: Final = 128
_MAGIC: Final = b"DICM"
MEDIA_STORAGE_SOP_CLASS_UID: Final = 0x00020002
MEDIA_STORAGE_SOP_INSTANCE_UID: Final = 0x00020003
TRANSFER_SYNTAX_UID: Final = 0x00020010
_MAX_META: Final = 1 << 20  # a meta header larger than this is not one
_FIRST_READ: Final = 4096  # holds any ordinary meta header
_UL = struct.Struct("<I")
_LONG_VRS: Final = frozenset(b"OB OD OF OL OV OW SQ SV UC UN UR UT UV".split())
_SHORT = struct.Struct("<HH2sH")
_LONG = struct.Struct("<HH2s2xI")
_HEADER_PEEK = struct.Struct("<HH2s")


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in _LONG_VRS:
        return _LONG.pack(tag >> 16, tag & 0xFFFF, vr, len(value)) + value
    if len(value) > 0xFFFF:
        raise DatasetCodecError(f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) too long for the file meta")
    return _SHORT.pack(tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _text(value: str, pad: bytes) -> bytes:
    raw = value.encode("ascii", errors="replace")
    return raw + pad if len(raw) % 2 else raw


def encode_file_meta(
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    *,
    source_ae_title: str | None = None,
    implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
    implementation_version_name: str | None = uids.DICOMWIRE_IMPLEMENTATION_VERSION,
) -> bytes:
    """Preamble, ``DICM`` and the file meta information group (explicit VR LE)."""
    parts = [
        _element(0x00020001, b"OB", b"\x00\x01"),
        _element(MEDIA_STORAGE_SOP_CLASS_UID, b"UI", _text(sop_class_uid, b"\0")),
        _element(MEDIA_STORAGE_SOP_INSTANCE_UID, b"UI", _text(sop_instance_uid, b"\0")),
        _element(TRANSFER_SYNTAX_UID, b"UI", _text(transfer_syntax, b"\0")),
        _element(0x00020012, b"UI", _text(implementation_class_uid, b"\0")),
    ]
    if implementation_version_name:
        parts.append(_element(0x00020013, b"SH", _text(implementation_version_name, b" ")))
    if source_ae_title:
        parts.append(_element(0x00020016, b"AE", _text(source_ae_title, b" ")))
    body = b"".join(parts)
    group_length = _element(0x00020000, b"UL", struct.pack("<I", len(body)))
    return bytes(PREAMBLE_LENGTH) + _MAGIC + group_length + body


@record(frozen=True, slots=True)
class FileMeta:
    """What a file's meta header says, and where its data set starts.

    ``present`` is False for a bare data set (no ``DICM``), then ``elements``
    is empty and ``dataset_offset`` 0.
    """

    present: bool
    dataset_offset: int
    elements: Mapping[int, bytes]

    def text(self, tag: int) -> str | None:
        raw = self.elements.get(tag)
        return None if raw is None else raw.decode("latin-1").strip("\0 ")


def read_file_meta(fp: BinaryIO) -> FileMeta:
    """Parse the preamble and group 0002 of an open file (positioned at 0).

    A file with ``DICM`` at byte 128 has a meta header there; one starting
    with a group 0002 element in explicit VR LE has one without preamble;
    anything else is taken as a bare data set.
    """
    head = fp.read(PREAMBLE_LENGTH + len(_MAGIC))
    if len(head) == PREAMBLE_LENGTH + 4 and head[PREAMBLE_LENGTH:] == _MAGIC:
        start = PREAMBLE_LENGTH + 4
    elif _starts_with_meta(head):
        start = 0
    else:
        return FileMeta(False, 0, {})
    fp.seek(start)
    data = _read_meta_bytes(fp)
    try:
        elements, length = _parse_meta(data)
        seen_the_end = len(data) - length >= 8  # the header of the first element after it
    except DatasetCodecError:
        seen_the_end = False
    if not seen_the_end:  # a group length that lied, or a header beyond the first read
        data += fp.read(_MAX_META - len(data))
        elements, length = _parse_meta(data)
    return FileMeta(True, start + length, elements)


def _read_meta_bytes(fp: BinaryIO) -> bytes:
    """The bytes that hold the meta header, as its group length (0002,0000) says, and the
    header of the element after it: never the whole file."""
    data = fp.read(_FIRST_READ)
    if len(data) >= 12 and data[:6] == b"\x02\x00\x00\x00UL":
        end = 12 + _UL.unpack_from(data, 8)[0] + 8
        if len(data) < end <= _MAX_META:
            data += fp.read(end - len(data))
    return data


def _starts_with_meta(head: bytes) -> bool:
    if len(head) < 8:
        return False
    group, _, vr = _HEADER_PEEK.unpack_from(head)
    return bool(group == 0x0002 and vr.isalpha() and vr.isupper())


def _parse_meta(data: bytes) -> tuple[dict[int, bytes], int]:
    """The group 0002 elements at the start of ``data`` and their total length."""
    elements: dict[int, bytes] = {}
    pos = 0
    while len(data) - pos >= 8:
        group, element, vr = _HEADER_PEEK.unpack_from(data, pos)
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            if len(data) - pos < 12:
                raise DatasetCodecError("file meta information ends inside an element header")
            length = _LONG.unpack_from(data, pos)[3]
            start = pos + 12
        elif vr.isalpha() and vr.isupper():
            length = _SHORT.unpack_from(data, pos)[3]
            start = pos + 8
        else:
            raise DatasetCodecError(f"invalid VR {vr!r} in file meta element (0002,{element:04X})")
        if length == 0xFFFFFFFF or start + length > len(data):
            raise DatasetCodecError(
                f"file meta element (0002,{element:04X}) runs past the end of the file (or of 1 MiB)"
            )
        elements[0x00020000 | element] = data[start : start + length]
        pos = start + length
    return elements, pos
