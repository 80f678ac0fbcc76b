"""One received C-STORE data set on its way to a file, fragment by fragment.

The DIMSE assembler calls ``write`` for every data-set fragment as it
arrives, synchronously, inside the event loop's read callback: ``write``
therefore never raises.  A failure (disk full, unreadable data set) is
recorded, the temporary file removed, and the rest of the data set dropped;
``StorageSCP`` then answers with the recorded failure status.

The file is written in one pass: the meta header is known before the data
set's first byte is written.  In bit-preserving mode it comes from the
C-STORE-RQ and the presentation context, and the file is opened at once.
Otherwise the sink first holds the data set's first bytes (at most the
scanner's limit, 1 MiB) until ``HeadScanner`` has read the SOP Class UID,
SOP Instance UID (and Series Date when the naming needs it) so that the
meta header agrees with the data set, as DCMTK's normal mode writes it.

Every fragment also goes through a ``StreamWalker`` that follows the element
boundaries: a data set that ends inside an element (its last fragment came, but
the Pixel Data claims more bytes than were sent) is not kept.  The assembler
calls ``data_ended`` after the last fragment; it removes the file and raises
``IncompleteDataset``, and the association is aborted, as DCMTK's dcmrecv
does; ``close`` answers such a data set collected in memory Cannot Understand.
With ``SinkPlan.normalize`` the walker re-encodes what DCMTK's normal mode
changes (undefined-length sequences and items, group lengths, odd lengths).

The temporary file lives in the destination directory as
``.dicomwire-<random>.part`` (recognisable after a crash) and is created
with ``O_EXCL`` and the process umask.
"""

from __future__ import annotations

import contextlib
import enum
import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import BinaryIO, Final

from dicomwire._records import record
from dicomwire.dimse import status
from dicomwire.errors import DatasetCodecError
from dicomwire.services.dataset_head import (
    SERIES_DATE,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    HeadScanner,
    encoding_of,
    text_value,
)
from dicomwire.services.file_meta import encode_file_meta
from dicomwire.services.storage_names import InstanceInfo
from dicomwire.services.stream_walk import IncompleteDataset, StreamWalker

__all__ = [
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "InstanceSink",
    "NullSink",
    "PendingSinks",
    "SinkPlan",
    "open_temp_file",
]

TEMP_PREFIX: Final = ".dicomwire-"
TEMP_SUFFIX: Final = ".part"
_BUFFER: Final = 256 * 1024
_MAX_META_UID: Final = 0xFFFE


def open_temp_file(directory: str) -> tuple[str, BinaryIO]:
    """A new, exclusively created temporary file in ``directory``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(directory, f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}")
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        return path, open(fd, "wb", buffering=_BUFFER)


Opener = Callable[[str], tuple[str, BinaryIO]]


@record(frozen=True, slots=True)
class SinkPlan:
    """Everything a sink needs to know, fixed when the C-STORE-RQ arrives."""

    directory: str  # the output directory (file system path)
    info: InstanceInfo  # from the command and the context
    naming: Callable[[InstanceInfo], str]
    meta_from_dataset: bool  # normal mode: meta UIDs as in the data set
    scan_series_date: bool
    implementation_class_uid: str
    implementation_version_name: str
    opener: Opener = open_temp_file
    scan_limit: int = 1 << 20
    normalize: bool = False  # write the data set in DCMTK's normal form (see StreamWalker)
    source_ae_title: bool = True  # (0002,0016) from the calling AE title


class _State(enum.Enum):
    SCANNING = "scanning"
    WRITING = "writing"
    CLOSED = "closed"
    COMMITTED = "committed"
    FAILED = "failed"
    DISCARDED = "discarded"


class NullSink:
    """Receives a data set and forgets it (dcmrecv ``--ignore``)."""

    def __init__(self) -> None:
        self.length = 0

    def write(self, data: bytes | memoryview, /) -> None:
        self.length += len(data)


class InstanceSink:
    """Writes one data set into a temporary file behind its meta header."""

    def __init__(self, plan: SinkPlan, on_done: Callable[[InstanceSink], None] = lambda sink: None) -> None:
        self.plan = plan
        self.info = plan.info
        self.relative_path: str | None = None
        self.temp_path: str | None = None
        self.failure: tuple[int, str] | None = None
        self.length = 0
        self._on_done = on_done
        self._file: BinaryIO | None = None
        self._pending: list[bytes] = []
        self._scanner: HeadScanner | None = None
        self._walker = StreamWalker(encoding_of(plan.info.transfer_syntax), normalize=plan.normalize)
        self._meta_length = 0
        self._ended = False
        self._state = _State.WRITING
        wanted = [SOP_CLASS_UID, SOP_INSTANCE_UID] if plan.meta_from_dataset else []
        if plan.scan_series_date:
            wanted.append(SERIES_DATE)
        if wanted:
            self._scanner = HeadScanner(
                encoding_of(plan.info.transfer_syntax), wanted=wanted, limit=plan.scan_limit
            )
            self._state = _State.SCANNING
        else:
            self._open({})

    @property
    def failed(self) -> bool:
        return self._state is _State.FAILED

    # -- DatasetSink -------------------------------------------------------------------------
    def write(self, data: bytes | memoryview, /) -> None:
        """Take the next fragment; never raises."""
        state = self._state
        self.length += len(data)
        if state is _State.WRITING:
            self._write_chunk(data)
        elif state is _State.SCANNING:
            self._pending.append(bytes(data))
            assert self._scanner is not None
            if self._scanner.feed(data):
                self._scanned()

    def discard(self) -> None:
        """Forget the data set: close and remove the temporary file (association lost)."""
        if self._state in (_State.DISCARDED, _State.FAILED, _State.COMMITTED):
            return
        self._drop_file()
        self._pending = []
        self._state = _State.DISCARDED
        self._on_done(self)

    def data_ended(self) -> None:
        """The last fragment was written: raises IncompleteDataset (after dropping the
        file) when the data set ends inside an element."""
        if self._ended:
            return
        self._ended = True
        if self._state is _State.SCANNING:
            assert self._scanner is not None
            self._scanner.finish()
            self._scanned()
        if self._state is not _State.WRITING:
            return
        try:
            tail = self._walker.finish()
        except IncompleteDataset as exc:
            self._fail(status.CANNOT_UNDERSTAND, str(exc))
            raise
        self._write_pieces(tail)
        if self._walker.patches and self._state is _State.WRITING:
            self._patch(self._walker.patches)

    # -- completion --------------------------------------------------------------------------
    def close(self) -> None:
        """The data set is complete: write what is held back and flush (no fsync)."""
        with contextlib.suppress(IncompleteDataset):  # recorded as the failure
            self.data_ended()
        if self._state is not _State.WRITING:
            return
        try:
            assert self._file is not None
            self._file.flush()
        except OSError as exc:
            self._fail(status.OUT_OF_RESOURCES, f"cannot write {self.temp_path}: {exc.strerror or exc}")
            return
        self._state = _State.CLOSED

    def sync_and_release(self, fsync: bool) -> None:
        """fsync (if asked) and close the file; OSError propagates (blocking: run in a thread)."""
        assert self._file is not None
        try:
            if fsync:
                os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def committed(self) -> None:
        """The file is in place under its name: nothing is left to clean up."""
        self._file = None
        self.temp_path = None
        self._state = _State.COMMITTED
        self._on_done(self)

    def fail(self, code: int, message: str) -> None:
        self._fail(code, message)

    # -- internals ---------------------------------------------------------------------------
    def _scanned(self) -> None:
        scanner = self._scanner
        assert scanner is not None
        if scanner.error is not None and self.plan.meta_from_dataset and not scanner.values:
            self._fail(status.CANNOT_UNDERSTAND, f"cannot read the data set: {scanner.error}")
            return
        pending, self._pending = self._pending, []
        self._state = _State.WRITING
        self._open(scanner.values)
        for chunk in pending:
            if self._state is not _State.WRITING:
                break
            self._write_chunk(chunk)

    def _write_chunk(self, chunk: bytes | memoryview) -> None:
        walker = self._walker
        pieces = walker.feed(chunk)
        if walker.error is not None:
            self._fail(status.CANNOT_UNDERSTAND, walker.error)
            return
        self._write_pieces(pieces)

    def _write_pieces(self, pieces: list[bytes | memoryview]) -> None:
        try:
            assert self._file is not None
            write = self._file.write
            for piece in pieces:
                write(piece)
        except OSError as exc:
            self._fail(status.OUT_OF_RESOURCES, f"cannot write {self.temp_path}: {exc.strerror or exc}")

    def _patch(self, patches: list[tuple[int, bytes]]) -> None:
        """Write the group lengths known only now (normalize) over their placeholders."""
        try:
            assert self._file is not None
            for offset, value in patches:
                self._file.seek(self._meta_length + offset)
                self._file.write(value)
            self._file.seek(0, os.SEEK_END)
        except OSError as exc:
            self._fail(status.OUT_OF_RESOURCES, f"cannot write {self.temp_path}: {exc.strerror or exc}")

    def _open(self, values: dict[int, bytes]) -> None:
        info = self.info
        if SERIES_DATE in values:
            info = self.info = replace(info, series_date=text_value(values[SERIES_DATE]))
        sop_class = _meta_uid(values.get(SOP_CLASS_UID), info.sop_class_uid)
        sop_instance = _meta_uid(values.get(SOP_INSTANCE_UID), info.sop_instance_uid)
        try:
            self.relative_path = self.plan.naming(info)
            directory = os.path.join(self.plan.directory, os.path.dirname(self.relative_path))
            os.makedirs(directory, exist_ok=True)
            self.temp_path, self._file = self.plan.opener(directory)
            meta = self._meta(sop_class, sop_instance)
            self._meta_length = len(meta)
            self._file.write(meta)
        except OSError as exc:
            where = self.plan.directory
            self._fail(status.OUT_OF_RESOURCES, f"cannot create a file in {where}: {exc.strerror or exc}")
        except DatasetCodecError as exc:
            self._fail(status.CANNOT_UNDERSTAND, str(exc))
        except Exception as exc:  # a naming function's bug must not kill the association
            self._fail(status.OUT_OF_RESOURCES, f"cannot name the file: {exc!r}")

    def _meta(self, sop_class: str, sop_instance: str) -> bytes:
        plan = self.plan
        return encode_file_meta(
            sop_class,
            sop_instance,
            self.info.transfer_syntax,
            source_ae_title=(self.info.calling_ae_title or None) if plan.source_ae_title else None,
            implementation_class_uid=plan.implementation_class_uid,
            implementation_version_name=plan.implementation_version_name,
        )

    def _fail(self, code: int, message: str) -> None:
        if self._state in (_State.FAILED, _State.DISCARDED, _State.COMMITTED):
            return
        self._drop_file()
        self._pending = []
        self._scanner = None
        self.failure = (code, message)
        self._state = _State.FAILED
        self._on_done(self)

    def _drop_file(self) -> None:
        file, path = self._file, self.temp_path
        self._file = None
        self.temp_path = None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _meta_uid(found: bytes | None, fallback: str) -> str:
    """The data set's UID for the meta header, or the command's when it has none usable."""
    if found is None:
        return fallback
    value = text_value(found).strip(" \0")
    return value if value and len(value) <= _MAX_META_UID else fallback


class PendingSinks:
    """The sinks of transfers still under way, so that shutdown can remove their files."""

    def __init__(self) -> None:
        self._sinks: set[InstanceSink] = set()

    def open(self, plan: SinkPlan) -> InstanceSink:
        """A new sink for ``plan``, tracked until it is committed, failed or discarded."""
        sink = InstanceSink(plan, on_done=self._sinks.discard)
        if not sink.failed:
            self._sinks.add(sink)
        return sink

    def discard_all(self) -> None:
        for sink in list(self._sinks):
            sink.discard()
