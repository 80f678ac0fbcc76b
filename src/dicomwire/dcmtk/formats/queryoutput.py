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

The XML itself (layout, names, value texts, character sets) is made by
:mod:`dicomwire.dcmtk.formats.dcmxml`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import UID, generate_uid

from dicomwire import uids
from dicomwire.dcmtk.formats.dcmxml import (
    ConversionError,
    dataset_to_xml,
    dataset_to_xml_bytes,
    render_dataset,
    to_utf8,
)
from dicomwire.dcmtk.formats.dcmxml_model import build_model
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
            root = to_utf8(build_model(ds, transfer_syntax), self.logger)
        except ConversionError as exc:
            if exc.while_converting:
                self.logger.warning(
                    "DcmItem: An error occurred during the conversion to UTF-8 encoding, "
                    "the value of SpecificCharacterSet (0008,0005) is not updated"
                )
            self.logger.error("Writing XML file: %s", exc)
            return False
        self._write(render_dataset(root, transfer_syntax, quote=False))
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
