"""Storing into the archive: temporary file, then rename, then the index row.

The data set streams into a temporary file inside the storage area as it arrives
(``services.storage_sink``).  When it is complete the file is fsynced, parsed
(without its pixel data), checked against the area's quota, indexed, and renamed to
its final name; Success is answered after both.  A crash at any point leaves a
``.dicomwire-*.part`` leftover, or a row whose file is not there (yet), or (from
older versions or a hand copy) a complete file without a row; :func:`reconcile`
(run at start-up) removes the first, drops the second and indexes the third:
nothing acknowledged is lost, nothing half-written is visible.

File names are ``<modality>_<16 hex digits>.dcm`` (DCMTK's shape), the digits
derived from the SOP Instance UID: whatever the UID holds, the name is safe, and
storing the same instance again replaces its file in one rename.

Quotas follow dcmqrscp: an instance larger than ``max_bytes_per_study`` is refused
(0xA700); one that would make its study exceed it deletes the study's oldest
instances first; a new study beyond ``max_studies`` deletes the least recently
stored studies, files and rows together.

Several threads, and several processes (the archive's workers, other hosts on one
PostgreSQL index), may store into one area at once (:mod:`dicomwire.archive.locks`): the
quota decision, the index row and the rename of an instance happen under its study's lock,
and for a new study under the area's lock too (``max_studies``), so that two stores never
both count the same room or both make it; stores into other studies go on meanwhile.  A
study that a new one would push out is skipped while another store holds it (it is not the
least recently stored any more).  ``Index.claim`` keeps two stores of one SOP Instance UID
apart on PostgreSQL.  On SQLite, which has one writer at a time anyway, a store places its
instance holding the index's writer lock: the next one is woken the moment it is free, where
SQLite's own wait for its write lock sleeps milliseconds at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from pydicom import dcmread
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.archive.config import ArchiveConfig, StorageArea
from dicomwire.archive.database import describe_error
from dicomwire.archive.index import Claim, Index, InstanceRecord, InvalidInstance
from dicomwire.archive.locks import SQLITE_WRITER, Held, SharedLocks, area_lock, study_lock
from dicomwire.archive.options import ArchiveOptions, StoredFormat
from dicomwire.archive.output import needs_rewrite, rewrite
from dicomwire.dimse import status
from dicomwire.dimse.fragments import DatasetSink
from dicomwire.dimse.messages import CStoreRQ
from dicomwire.errors import DatasetCodecError
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.storage_names import InstanceInfo
from dicomwire.services.storage_sink import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    InstanceSink,
    NullSink,
    PendingSinks,
    SinkPlan,
    open_temp_file,
)

__all__ = ["ArchiveStore", "StoredInstance", "instance_file_name", "reconcile"]

log = logging.getLogger("dicomwire.archive")

_AS_RECEIVED: Final = StoredFormat()
#: A temporary file in an area that other processes share is theirs while written to this recently.
STALE_TEMP_SECONDS: Final = 3600.0
# studies a store may find held by other stores when it makes room: looked past
_BUSY_STUDIES: Final = 64
# stores placing at once in a process: each holds up to 2 connections of the index's pool
# (the claim, a query) and 2 of the locks' (study, area): neither may run out
_PLACING: Final = 8
_REQUIRED: Final = (("StudyInstanceUID", "0020,000D"), ("SeriesInstanceUID", "0020,000E"))


def instance_file_name(sop_class_uid: str, sop_instance_uid: str) -> str:
    """The file name of an instance inside its storage area (safe for any UID)."""
    digest = hashlib.sha256(sop_instance_uid.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{uids.dcmtk_modality_prefix(sop_class_uid)}_{digest}.dcm"


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """What became of one received instance: the status answered, and its file or why not."""

    status: int
    area: str
    path: str | None = None
    error: str | None = None


class ArchiveStore:
    """The archive's storage handler (a :class:`StreamingStoreHandler`)."""

    def __init__(
        self,
        index: Index,
        config: ArchiveConfig,
        options: ArchiveOptions,
        *,
        on_stored: Callable[[StoredInstance], None] | None = None,
        locks: SharedLocks | None = None,
    ) -> None:
        self.index = index
        self.config = config
        self.options = options
        self.on_stored = on_stored
        # shared with the archive's other processes, else this process's threads only
        self.locks = locks if locks is not None else SharedLocks()
        self._pending = PendingSinks()
        self._placing = threading.BoundedSemaphore(_PLACING)

    # -- receiving -------------------------------------------------------------------------------
    def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink:
        area = self.config.area_for(info.called_ae)
        if self.options.ignore_store or area is None or not area.access.can_write:
            return NullSink()
        plan = SinkPlan(
            directory=area.path,
            info=InstanceInfo(
                sop_class_uid=request.affected_sop_class_uid,
                sop_instance_uid=request.affected_sop_instance_uid,
                transfer_syntax=info.transfer_syntax,
                calling_ae_title=info.calling_ae,
            ),
            naming=lambda instance: instance_file_name(instance.sop_class_uid, instance.sop_instance_uid),
            meta_from_dataset=not self.options.stored_format.bit_preserving,
            scan_series_date=False,
            implementation_class_uid=uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
            implementation_version_name=uids.DICOMWIRE_IMPLEMENTATION_VERSION,
        )
        return self._pending.open(plan)

    def discard_pending(self) -> None:
        """Remove the temporary files of transfers not completed (at shutdown)."""
        self._pending.discard_all()

    # -- completing ------------------------------------------------------------------------------
    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        area = self.config.area_for(info.called_ae)
        sink = instance.sink
        if sink is None:  # collected in memory: write it the same way
            sink = self.open_sink(instance.request, info)
            sink.write(instance.data or b"")
        if area is None or not area.access.can_write:
            # A read-only AE has storage contexts only for C-GET, where the peer is the
            # SCP; a C-STORE from it there is refused, never kept.
            return status.OUT_OF_RESOURCES
        if isinstance(sink, NullSink):
            return status.SUCCESS
        assert isinstance(sink, InstanceSink)
        try:
            outcome = await asyncio.to_thread(self._complete, area, sink)
        except BaseException:
            sink.discard()
            raise
        if outcome.error is not None:
            log.error("%s", outcome.error)
        if self.on_stored is not None:
            self.on_stored(outcome)
        return outcome.status

    def _complete(self, area: StorageArea, sink: InstanceSink) -> StoredInstance:
        """Blocking: fsync, parse, quota, rename, index (runs in a thread)."""
        sink.close()
        if sink.failure is not None:
            return StoredInstance(sink.failure[0], area.ae_title, None, sink.failure[1])
        try:
            sink.sync_and_release(True)
        except OSError as exc:
            sink.fail(status.OUT_OF_RESOURCES, str(exc))
            return self._failed(area, status.OUT_OF_RESOURCES, f"cannot write to {area.path}: {exc}")
        temp, relative = sink.temp_path, sink.relative_path
        assert temp is not None and relative is not None
        try:
            outcome = self._commit(area, temp, relative, sink.info.transfer_syntax)
        finally:
            _remove(temp)
        sink.committed()
        return outcome

    def _commit(self, area: StorageArea, temp: str, relative: str, transfer_syntax: str) -> StoredInstance:
        try:
            dataset = _parse(temp)
            temp, transfer_syntax = self._reformat(area, temp, transfer_syntax)
        except (InvalidInstance, DatasetCodecError, OSError, ValueError) as exc:
            return self._failed(area, status.CANNOT_UNDERSTAND, f"cannot store the received object: {exc}")
        try:
            return self._place(area, dataset, temp, relative, transfer_syntax)
        finally:
            _remove(temp)  # still there only when it was not renamed into place

    def _place(
        self, area: StorageArea, dataset: Dataset, temp: str, relative: str, transfer_syntax: str
    ) -> StoredInstance:
        """Quota, then the index row, then the rename; a database that fails (down,
        unreachable, its pool exhausted) is 0xA700 with nothing changed.

        Indexing first means a database failure leaves everything as it was (an instance
        stored before under the same name keeps its file); a crash between the commit and
        the rename leaves a row without its new file, which start-up drops or, for a
        replaced instance, leaves pointing at the previous file: never acknowledged data lost.
        Both happen while the instance is claimed (``Index.claim``): another process storing
        the same SOP Instance UID waits, so the last one stored has both the row and the file.
        """
        size = os.path.getsize(temp)
        try:
            with self._placing, self._holding(area, dataset) as holds:
                refusal = self._check_quota(area, dataset, size, holds)
                if refusal is not None:
                    return self._failed(area, status.OUT_OF_RESOURCES, refusal)
                with self.index.claim(area.ae_title, str(dataset.SOPInstanceUID)) as claim:
                    outcome = self._index_and_rename(
                        area, claim, dataset, temp, relative, transfer_syntax, size
                    )
        except sa.exc.SQLAlchemyError as exc:  # before the row was committed: nothing changed
            message = f"cannot index the received object: {describe_error(exc)}"
            return self._failed(area, status.OUT_OF_RESOURCES, message)
        except (TimeoutError, OSError) as exc:  # a lock could not be had: nothing changed
            return self._failed(area, status.OUT_OF_RESOURCES, f"cannot store the received object: {exc}")
        if outcome.status == status.SUCCESS:
            try:
                _fsync_directory(area.path)  # outside the locks: the rename is what they order
            except OSError as exc:
                return self._failed(area, status.OUT_OF_RESOURCES, f"cannot store the received object: {exc}")
        return outcome

    @contextmanager
    def _holding(self, area: StorageArea, dataset: Dataset) -> Iterator[list[Held]]:
        """The instance's study (with a quota) and, on SQLite, the index's writes to
        ourselves, among this process's threads and the archive's processes; the list the
        quota check adds the area's lock to (given back with the others)."""
        holds: list[Held] = []
        try:
            if area.quota is not None:
                holds.append(self.locks.acquire(study_lock(area.ae_title, str(dataset.StudyInstanceUID))))
            if not self.index.shared:  # one writer at a time, woken at once (SQLite's busy wait sleeps)
                holds.append(self.locks.acquire(SQLITE_WRITER))
            yield holds
        finally:
            for held in reversed(holds):
                self.locks.release(held)

    def _index_and_rename(
        self,
        area: StorageArea,
        claim: Claim,
        dataset: Dataset,
        temp: str,
        relative: str,
        transfer_syntax: str,
        size: int,
    ) -> StoredInstance:
        target = os.path.join(area.path, relative)
        try:
            replaced = claim.add_instance(dataset, path=relative, size=size, transfer_syntax=transfer_syntax)
        except InvalidInstance as exc:
            return self._failed(area, status.CANNOT_UNDERSTAND, f"cannot store the received object: {exc}")
        except Exception as exc:  # the database failed: nothing was changed
            message = f"cannot index the received object: {describe_error(exc)}"
            return self._failed(area, status.OUT_OF_RESOURCES, message)
        try:
            os.replace(temp, target)
        except OSError as exc:
            if replaced is None:  # take the new row back; a replaced one keeps its old file
                claim.remove_paths([relative])
            return self._failed(area, status.OUT_OF_RESOURCES, f"cannot store the received object: {exc}")
        if replaced is not None and replaced.path != relative:
            _remove(os.path.join(area.path, replaced.path))
        log.info("stored %s", target)
        return StoredInstance(status.SUCCESS, area.ae_title, target)

    def _reformat(self, area: StorageArea, temp: str, transfer_syntax: str) -> tuple[str, str]:
        """Apply the output options: the file to keep and its transfer syntax.

        With the default format the data set is kept as it was received (lossless, and
        memory stays flat for any size); DCMTK's normal mode re-encodes every data set
        (explicit lengths, padding removed), ours only when an output option asks.
        """
        fmt = self.options.stored_format
        if fmt == _AS_RECEIVED or not needs_rewrite(fmt, transfer_syntax):
            return temp, transfer_syntax
        path, fp = open_temp_file(area.path)
        fp.close()
        try:
            written = rewrite(temp, path, fmt, received_syntax=transfer_syntax, fsync=True)
        except BaseException:
            _remove(path)
            raise
        _remove(temp)
        return path, written

    def _check_quota(self, area: StorageArea, dataset: Dataset, size: int, holds: list[Held]) -> str | None:
        """Make room as dcmqrscp does; the reason to refuse, or None.  Called holding the
        study's lock; for a new study takes the area's too (into ``holds``).

        An instance larger than the byte quota on its own is refused.  Otherwise the
        study's oldest instances are deleted until the new one fits (an instance stored
        again does not count against itself), and a new study beyond ``max_studies``
        deletes the least recently stored studies.
        """
        quota = area.quota
        if quota is None:
            return None
        if size > quota.max_bytes_per_study:
            return f"the instance ({size} bytes) exceeds the study quota of {quota.max_bytes_per_study} bytes"
        study_uid = str(dataset.StudyInstanceUID)
        stored = self.index.study_size(area.ae_title, study_uid)
        if stored + size <= quota.max_bytes_per_study:  # the common case: one SUM, no rows read
            if stored == 0:
                holds.append(self.locks.acquire(area_lock(area.ae_title)))
                self._make_room_for_a_study(area, quota.max_studies)
            return None
        records = sorted(self._study_records(area, study_uid), key=lambda r: (r.stored_at, r.path))
        kept = [r for r in records if r.sop_instance_uid != str(dataset.SOPInstanceUID)]
        total = sum(r.size for r in kept) + size
        doomed = []
        while total > quota.max_bytes_per_study and kept:
            oldest = kept.pop(0)
            doomed.append(oldest.path)
            total -= oldest.size
        if doomed:
            self.index.remove_paths(area.ae_title, doomed)
            for path in doomed:
                _remove(os.path.join(area.path, path))
            log.warning(
                "quota of %s: deleted %d instances of study %s", area.ae_title, len(doomed), study_uid
            )
        return None

    def _make_room_for_a_study(self, area: StorageArea, max_studies: int) -> None:
        """Delete the least recently stored studies beyond ``max_studies - 1``, skipping one
        that a store holds right now (never waited for: that store may wait for the area)."""
        surplus = self.index.study_count(area.ae_title) + 1 - max_studies
        if surplus <= 0:
            return
        for old in self.index.oldest_studies(area.ae_title, limit=surplus + _BUSY_STUDIES):
            held = self.locks.try_wait(study_lock(area.ae_title, old))
            if held is None:
                continue
            try:
                self._delete_study(area, old)
            finally:
                self.locks.release(held)
            surplus -= 1
            if surplus == 0:
                return

    def _study_records(self, area: StorageArea, study_uid: str) -> list[InstanceRecord]:
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study_uid
        return list(self.index.instances_for(area.ae_title, "study", query))

    def _delete_study(self, area: StorageArea, study_uid: str) -> None:
        paths = self.index.delete_study(area.ae_title, study_uid)
        for path in paths:
            _remove(os.path.join(area.path, path))
        log.warning("quota of %s: deleted study %s (%d files)", area.ae_title, study_uid, len(paths))

    @staticmethod
    def _failed(area: StorageArea, code: int, message: str) -> StoredInstance:
        return StoredInstance(code, area.ae_title, None, message)


def _parse(path: str) -> Dataset:
    dataset = dcmread(path, stop_before_pixels=True)
    for keyword, tag in _REQUIRED:
        if not str(dataset.get(keyword, "") or ""):
            raise InvalidInstance(f"no {keyword} ({tag}) in the data set")
    return dataset


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def reconcile(index: Index, area: StorageArea) -> tuple[int, int, int]:
    """Start-up repair of one area: (temporary files removed, rows without files dropped,
    files without rows indexed).  Blocking.

    On an index other processes share (``Index.shared``) they may be storing into the same
    area meanwhile: a temporary file is removed only once nobody has written to it for
    :data:`STALE_TEMP_SECONDS`, the rows are read before the directory is listed (a store
    commits its row just before it renames its file), and a row is dropped only if its file
    is still missing after the listing.  An instance stored by another process meanwhile may
    be indexed again, which changes nothing.
    """
    indexed = index.paths(area.ae_title)
    on_disk = {name for name in os.listdir(area.path) if os.path.isfile(os.path.join(area.path, name))}
    leftovers = {n for n in on_disk if n.startswith(TEMP_PREFIX) and n.endswith(TEMP_SUFFIX)}
    if index.shared:
        leftovers = {n for n in leftovers if _idle_for(os.path.join(area.path, n)) > STALE_TEMP_SECONDS}
    for name in leftovers:
        _remove(os.path.join(area.path, name))
    files = {n for n in on_disk - leftovers if n.endswith(".dcm")}
    gone = {p for p in indexed - files if not os.path.lexists(os.path.join(area.path, p))}
    dropped = index.remove_paths(area.ae_title, gone) if gone else 0
    added = 0
    for name in sorted(files - indexed):
        added += _index_orphan(index, area, name)
    return len(leftovers), dropped, added


def _idle_for(path: str) -> float:
    """Seconds since ``path`` was last written (infinite when it is gone)."""
    try:
        return time.time() - os.path.getmtime(path)
    except OSError:
        return math.inf


def _index_orphan(index: Index, area: StorageArea, name: str) -> int:
    path = os.path.join(area.path, name)
    try:
        dataset = _parse(path)
        syntax = str(dataset.file_meta.get("TransferSyntaxUID", uids.IMPLICIT_VR_LITTLE_ENDIAN))
        index.add_instance(
            area.ae_title, dataset, path=name, size=os.path.getsize(path), transfer_syntax=syntax
        )
    except Exception as exc:  # not ours, or damaged: leave it, say so
        log.warning("cannot index %s found in the storage area: %s", path, exc)
        return 0
    return 1
