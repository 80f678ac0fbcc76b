"""The Storage service (PS3.4 Annex B): C-STORE as SCU, and the SCP re-exported.

SCU side::

    source = inspect_file("ct.dcm")          # reads the meta header and 2 UIDs only
    response = await store(assoc, source)    # streams the file, returns the C-STORE-RSP

``store`` sends the file's bytes untouched when a context for its SOP class
took its transfer syntax, reading them from disk as they go; otherwise it
converts (see ``transcode``) for a context it can convert to, or raises
NoAcceptedContext.

SCP side: ``StorageSCP`` (``storage_scp``) writes received instances to files,
streaming.
"""

from __future__ import annotations

import importlib
import os
import struct
import sys
from io import BytesIO
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol, cast

from dicomwire import uids
from dicomwire._records import record
from dicomwire.dimse.commands import Priority
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.errors import DatasetCodecError, NoAcceptedContext, RemoteProtocolError
from dicomwire.net.association import Association, ReleaseRequested
from dicomwire.services.dataset_head import (
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    HeadScanner,
    encoding_of,
    text_value,
)
from dicomwire.services.dataset_walk import PLAIN_LAYOUT, Layout, TruncatedDataset, walk_file
from dicomwire.services.file_meta import TRANSFER_SYNTAX_UID, read_file_meta
from dicomwire.ul.negotiation import AcceptedContext

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from dicomwire.services.storage_names import InstanceInfo, Naming, UidNaming
    from dicomwire.services.storage_scp import FsyncPolicy, StorageSCP, StoreOutcome

# The SCP side, re-exported here, loads on first use: a storescu does not need it.
_SCP_NAMES: Final = {
    "FsyncPolicy": "dicomwire.services.storage_scp",
    "StorageSCP": "dicomwire.services.storage_scp",
    "StoreOutcome": "dicomwire.services.storage_scp",
    "InstanceInfo": "dicomwire.services.storage_names",
    "Naming": "dicomwire.services.storage_names",
    "UidNaming": "dicomwire.services.storage_names",
}


def __getattr__(name: str) -> object:
    home = _SCP_NAMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "FsyncPolicy",
    "InstanceInfo",
    "Layout",
    "Naming",
    "StorageSCP",
    "StoreOutcome",
    "StoreSource",
    "TruncatedDataset",
    "UidNaming",
    "choose_context",
    "inspect_file",
    "known_file",
    "send_store",
    "store",
]

_CHUNK: Final = 64 * 1024
# Preference among the uncompressed syntaxes when the file's own was not accepted.
_CONVERSION_ORDER: Final = (
    uids.EXPLICIT_VR_LITTLE_ENDIAN,
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
    uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_BIG_ENDIAN,
)
_VRS: Final = frozenset(
    (
        b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH "
        b"SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
    ).split()
)


@record(frozen=True, slots=True)
class StoreSource:
    """A file to send: its SOP class/instance (from the data set), its transfer
    syntax, and where the data set lies in it."""

    path: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    dataset_offset: int
    dataset_length: int
    has_meta: bool
    layout: Layout = PLAIN_LAYOUT  # what a DCMTK-like sender would change (inspect_file finds it)
    spaced_uids: tuple[int, ...] = ()  # SOP Class/Instance UID tags whose values hold spaces


# -- reading a file ------------------------------------------------------------------------
def _transcode() -> ModuleType:
    """The conversion module, loaded on first use: it pulls in pydicom (and NumPy),
    which a send that needs no conversion never pays for at start-up."""
    from dicomwire.services import transcode

    return transcode


def inspect_file(path: str | os.PathLike[str]) -> StoreSource:
    """What ``store`` needs to know about a DICOM file, reading only its start.

    Files with a meta header take its transfer syntax; bare data sets (no
    ``DICM``) are recognised as implicit VR little endian, explicit VR little
    or big endian from their first element, as DCMTK's storescu does.  The
    SOP Class and Instance UIDs come from the data set (0008,0016/0018).
    The element headers are walked to the end (seeking over the values,
    :mod:`dataset_walk`): a file cut short raises TruncatedDataset.  Raises
    DatasetCodecError for anything unreadable, not DICOM, or without those UIDs.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            meta = read_file_meta(fp)
            offset = meta.dataset_offset
            fp.seek(offset)
            syntax = meta.text(TRANSFER_SYNTAX_UID) if meta.present else None
            if not syntax:
                syntax = _guess_transfer_syntax(fp.read(16), name)
                fp.seek(offset)
            values, head = _scan_uids(fp, syntax, name)
            layout = walk_file(fp, offset, size, encoding_of(syntax), head)
    except TruncatedDataset as exc:
        raise TruncatedDataset(f"{name}: {exc}", exc.tag, exc.claimed, exc.remaining) from None
    except OSError as exc:
        raise DatasetCodecError(f"cannot read {name}: {exc.strerror or exc}") from exc
    sop_class, sop_instance = (_uid(values.get(tag)) for tag in (SOP_CLASS_UID, SOP_INSTANCE_UID))
    if not values and not meta.present:
        raise DatasetCodecError(f"{name}: not a DICOM file (no meta header, and not a data set)")
    if not sop_class or not sop_instance:
        missing = "SOP Class UID (0008,0016)" if not sop_class else "SOP Instance UID (0008,0018)"
        raise DatasetCodecError(f"{name}: no {missing} in the data set")
    spaced = tuple(tag for tag in (SOP_CLASS_UID, SOP_INSTANCE_UID) if b" " in values[tag])
    return StoreSource(
        name, sop_class, sop_instance, syntax, offset, size - offset, meta.present, layout, spaced
    )


def known_file(
    path: str | os.PathLike[str], sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str
) -> StoreSource:
    """A file whose UIDs are known already (an archive's index has them): only its meta
    header is read, for where the data set starts and its transfer syntax (a bare data
    set is taken to be in ``transfer_syntax``).  Raises DatasetCodecError."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            meta = read_file_meta(fp)
    except OSError as exc:
        raise DatasetCodecError(f"cannot read {name}: {exc.strerror or exc}") from exc
    syntax = (meta.text(TRANSFER_SYNTAX_UID) if meta.present else None) or transfer_syntax
    offset = meta.dataset_offset
    return StoreSource(name, sop_class_uid, sop_instance_uid, syntax, offset, size - offset, meta.present)


def _uid(raw: bytes | None) -> str:
    """A UID as DCMTK reads it: padding and every space removed."""
    return "" if raw is None else text_value(raw).replace(" ", "").strip("\0")


def _guess_transfer_syntax(head: bytes, name: str) -> str:
    """The encoding of a bare data set from its first element header."""
    if len(head) < 8:
        raise DatasetCodecError(f"{name}: not a DICOM file (too short)")
    little, big = struct.unpack_from("<H", head)[0], struct.unpack_from(">H", head)[0]
    explicit = head[4:6] in _VRS
    if big < little:
        if not explicit:
            raise DatasetCodecError(f"{name}: not a DICOM file (no implicit VR big endian)")
        return uids.EXPLICIT_VR_BIG_ENDIAN
    return uids.EXPLICIT_VR_LITTLE_ENDIAN if explicit else uids.IMPLICIT_VR_LITTLE_ENDIAN


def _scan_uids(fp: BinaryIO, transfer_syntax: str, name: str) -> tuple[dict[int, bytes], bytes]:
    """The two UIDs' raw values, and the first bytes read (the element walk reuses them)."""
    scanner = HeadScanner(encoding_of(transfer_syntax))
    head = b""
    while not scanner.done:
        chunk = fp.read(_CHUNK)
        if not chunk:
            scanner.finish()
            break
        head = head or chunk
        scanner.feed(chunk)
    if scanner.error is not None and not scanner.values:
        syntax = uids.name_of(transfer_syntax)
        raise DatasetCodecError(f"{name}: not a DICOM file, or not in {syntax}: {scanner.error}")
    return scanner.values, head


# -- sending -------------------------------------------------------------------------------
def _source_of(what: StoreSource | str | os.PathLike[str] | Dataset) -> StoreSource | _DatasetSource:
    if isinstance(what, StoreSource):
        return what
    if _is_dataset(what):
        return _DatasetSource.of(cast("Dataset", what))
    return inspect_file(cast("str | os.PathLike[str]", what))


def _is_dataset(source: object) -> bool:
    """A pydicom Dataset?  Without importing pydicom: a plain file send never loads it,
    and nobody can hold a Dataset before pydicom is loaded."""
    module = sys.modules.get("pydicom.dataset")
    return module is not None and isinstance(source, module.Dataset)


class _Described(Protocol):
    """What choosing a context needs to know of what is sent."""

    @property
    def sop_class_uid(self) -> str: ...

    @property
    def transfer_syntax(self) -> str: ...


@record(frozen=True, slots=True)
class _DatasetSource:
    """A data set in memory, encoded once in its own transfer syntax."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    data: bytes

    @classmethod
    def of(cls, dataset: Dataset) -> _DatasetSource:
        from dicomwire.services.codec import encode_dataset

        sop_class = str(dataset.get("SOPClassUID", "") or "")
        sop_instance = str(dataset.get("SOPInstanceUID", "") or "")
        if not sop_class or not sop_instance:
            missing = "SOP Class UID (0008,0016)" if not sop_class else "SOP Instance UID (0008,0018)"
            raise DatasetCodecError(f"cannot store a data set without {missing}")
        meta = getattr(dataset, "file_meta", None)
        syntax = str(getattr(meta, "TransferSyntaxUID", "") or uids.EXPLICIT_VR_LITTLE_ENDIAN)
        data = encode_dataset(dataset, syntax, encapsulated_ok=True)
        return cls(sop_class, sop_instance, syntax, data)


def choose_context(contexts: dict[int, AcceptedContext], source: _Described) -> AcceptedContext:
    """The context to send ``source`` on: its own transfer syntax first, then one
    it can be converted to.  Raises NoAcceptedContext."""
    candidates = [c for c in contexts.values() if c.abstract_syntax == source.sop_class_uid]
    for context in candidates:
        if context.transfer_syntax == source.transfer_syntax:
            return context
    by_syntax = {c.transfer_syntax: c for c in reversed(candidates)}
    for syntax in _CONVERSION_ORDER:
        found = by_syntax.get(syntax)
        if found is not None and _transcode().can_convert(source.transfer_syntax, syntax):
            return found
    offered = ", ".join(uids.name_of(c.transfer_syntax) for c in candidates) or "none"
    raise NoAcceptedContext(
        f"no accepted presentation context for {uids.name_of(source.sop_class_uid)} "
        f"({source.sop_class_uid}) in {uids.name_of(source.transfer_syntax)} "
        f"or a transfer syntax it can be converted to (accepted: {offered})"
    )


def _given_context(
    contexts: dict[int, AcceptedContext], source: _Described, context_id: int
) -> AcceptedContext:
    context = contexts.get(context_id)
    if context is None or context.abstract_syntax != source.sop_class_uid:
        raise NoAcceptedContext(
            f"presentation context {context_id} is not an accepted context for "
            f"{uids.name_of(source.sop_class_uid)} ({source.sop_class_uid})"
        )
    same = context.transfer_syntax == source.transfer_syntax
    if not same and not _transcode().can_convert(source.transfer_syntax, context.transfer_syntax):
        raise NoAcceptedContext(
            f"cannot send {uids.name_of(source.transfer_syntax)} on presentation context {context_id} "
            f"({uids.name_of(context.transfer_syntax)})"
        )
    return context


class _EvenReader:
    """``length`` bytes of a file, plus one 00 byte when ``length`` is odd (PS3.5
    A.5, 7.1), carried by the last chunk so that every fragment stays even."""

    def __init__(self, fp: BinaryIO, length: int) -> None:
        self._read = fp.read
        self._left = length
        self._pad = length % 2 == 1

    def read(self, size: int) -> bytes:
        if self._left <= 0:
            pad, self._pad = self._pad, False
            return b"\0" if pad else b""
        data = self._read(min(size, self._left))
        if not data:  # the file is shorter than it was: send what there is
            self._left = 0
            return self.read(size)
        self._left -= len(data)
        if self._left == 0 and self._pad and len(data) < size:
            self._pad = False
            data += b"\0"
        return data


async def store(
    assoc: Association,
    what: StoreSource | str | os.PathLike[str] | Dataset,
    *,
    priority: Priority = Priority.MEDIUM,
    move_originator: tuple[str, int] | None = None,
    message_id: int | None = None,
    context_id: int | None = None,
    compression_level: int = 6,
    timeout: float | None = None,
) -> CStoreRSP:
    """Send ``what`` with a C-STORE-RQ and return the C-STORE-RSP.

    ``what`` is a file (a path, or what :func:`inspect_file` made of one: the
    file streams from disk) or a pydicom ``Dataset`` in memory (encoded in its
    ``file_meta`` transfer syntax, explicit VR little endian without one).
    ``move_originator`` is (AE title, message ID) of the C-MOVE this store
    serves; ``message_id`` defaults to the association's next one;
    ``context_id`` forces a presentation context (converting to its transfer
    syntax if need be), otherwise ``choose_context`` picks one; ``timeout``
    overrides the DIMSE timeout for the response.  A data set of odd length
    (a deflated one, or a damaged file) is sent with a 00 pad byte.
    """
    sent = await send_store(
        assoc,
        what,
        priority=priority,
        move_originator=move_originator,
        message_id=message_id,
        context_id=context_id,
        compression_level=compression_level,
    )
    return await _response(assoc, sent, timeout)


async def send_store(
    assoc: Association,
    what: StoreSource | str | os.PathLike[str] | Dataset,
    *,
    priority: Priority = Priority.MEDIUM,
    move_originator: tuple[str, int] | None = None,
    message_id: int | None = None,
    context_id: int | None = None,
    compression_level: int = 6,
) -> int:
    """The sending half of :func:`store`: the C-STORE-RQ and its data set go out; the
    message ID is returned and the response is the caller's to receive (a C-GET SCP
    may get a C-CANCEL-RQ before it)."""
    source = _source_of(what)
    if context_id is None:
        context = choose_context(assoc.contexts, source)
    else:
        context = _given_context(assoc.contexts, source, context_id)
    if message_id is None:
        message_id = assoc.next_message_id()
    request = CStoreRQ(
        message_id=message_id,
        affected_sop_class_uid=source.sop_class_uid,
        affected_sop_instance_uid=source.sop_instance_uid,
        priority=priority,
        move_originator_application_entity_title=move_originator[0] if move_originator else None,
        move_originator_message_id=move_originator[1] if move_originator else None,
    )
    if isinstance(source, _DatasetSource):
        data = source.data
        if context.transfer_syntax != source.transfer_syntax:
            target = context.transfer_syntax
            data = _transcode().convert(
                BytesIO(data), len(data), source.transfer_syntax, target, compression_level=compression_level
            )
        await assoc.send(context.context_id, request, data)
        return message_id
    try:
        fp = open(source.path, "rb")  # noqa: SIM115 - closed below, after the send
    except OSError as exc:
        raise DatasetCodecError(f"cannot read {source.path}: {exc.strerror or exc}") from exc
    with fp:
        fp.seek(source.dataset_offset)
        if context.transfer_syntax == source.transfer_syntax:
            await _stream(assoc, context.context_id, request, fp, source)
        else:
            target = context.transfer_syntax
            data = _transcode().convert(
                fp, source.dataset_length, source.transfer_syntax, target, compression_level=compression_level
            )
            await assoc.send(context.context_id, request, data)
    return message_id


async def _stream(
    assoc: Association, context_id: int, request: CStoreRQ, fp: BinaryIO, source: StoreSource
) -> None:
    reader = _EvenReader(fp, source.dataset_length)
    try:
        await assoc.send(context_id, request, cast(BinaryIO, reader))  # only read() is used
    except OSError as exc:
        assoc.abort()  # half a data set went out: the association cannot go on
        raise DatasetCodecError(f"cannot read {source.path}: {exc.strerror or exc}") from exc


async def _response(assoc: Association, message_id: int, timeout: float | None) -> CStoreRSP:
    reply = await assoc.receive(timeout)
    if isinstance(reply, ReleaseRequested):
        raise RemoteProtocolError("peer requested release while a C-STORE was outstanding")
    response = reply.message
    if not isinstance(response, CStoreRSP) or response.message_id_being_responded_to != message_id:
        raise RemoteProtocolError(f"expected C-STORE-RSP for message {message_id}, got {response!r}")
    return response
