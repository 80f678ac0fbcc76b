"""Storage SCP: received C-STORE data sets become files, streaming, atomically.

Wiring::

    scp = StorageSCP("/data/incoming")
    server = Server(settings, store=scp)

``StorageSCP`` is a :class:`~dicomwire.services.handlers.StreamingStoreHandler`.
When a C-STORE-RQ command arrives, ``open_sink`` gives the DIMSE assembler an
``InstanceSink`` that writes each fragment to a temporary file in the destination
directory as it arrives (memory stays flat).  When the data set is complete,
``store`` flushes it (and fsyncs per ``FsyncPolicy``), renames it into place and
returns the status to answer: Success; Refused: Out of Resources (0xA700) when the
file could not be written; Cannot Understand (0xC000) when the data set is empty
or unreadable in normal mode.  A data set that ends inside an element is never
kept: streamed, its association is aborted when its last fragment arrives (as
DCMTK's dcmrecv does); collected in memory, it is answered Cannot Understand.
A failed or aborted transfer leaves no file behind;
``discard_pending`` removes the temporary files of transfers that never completed
(call it at shutdown).  ``on_stored`` hears of every outcome (the tools log their
own lines from it).
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import os
from collections.abc import Callable
from typing import Final

from dicomwire import uids
from dicomwire._records import record
from dicomwire.dimse import status
from dicomwire.dimse.fragments import DatasetSink
from dicomwire.dimse.messages import CStoreRQ
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.storage_names import InstanceInfo, Naming, UidNaming, is_safe_relative_path
from dicomwire.services.storage_sink import (
    InstanceSink,
    NullSink,
    Opener,
    PendingSinks,
    SinkPlan,
    open_temp_file,
)

__all__ = ["FsyncPolicy", "StorageSCP", "StoreOutcome"]

log = logging.getLogger("dicomwire.services.storage")

_MAX_NAME_ATTEMPTS: Final = 100
# errors of os.link that mean "no hard links here", not "name taken"
_NO_LINKS: Final = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
)


class FsyncPolicy(enum.StrEnum):
    """How durable a file is before Success is answered."""

    NONE = "none"  # rename only: atomic, but a power cut may lose it (DCMTK's level)
    FILE = "file"  # fsync the file before the rename
    FULL = "full"  # fsync the file, rename, fsync the directory


@record(frozen=True, slots=True)
class StoreOutcome:
    """What became of one received instance: the status answered, the file
    (as displayed: output directory as given joined with the name), and why
    it failed."""

    status: int
    path: str | None = None
    error: str | None = None


class StorageSCP:
    """Stores received instances below ``directory``.

    ``naming`` maps an instance to its relative path (default ``UidNaming``;
    ``dicomwire.dcmtk.naming.DcmtkNaming`` gives
    dcmrecv's); ``bit_preserving`` writes the meta header from the command
    (the data set is never touched in either mode, only normal mode reads its
    first elements); ``ignore`` receives and forgets (``--ignore``).  ``normalize``
    (normal mode only) writes undefined-length sequences and items, recomputed
    group lengths and even-length values, as DCMTK's dcmrecv stores a data set
    (``services.stream_walk``); ``source_ae_title`` writes the calling AE title
    as (0002,0016) in the meta header.  A data set that ends inside an element is
    never kept (the association is aborted, or it is answered Cannot Understand).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        naming: Naming | None = None,
        bit_preserving: bool = False,
        fsync: FsyncPolicy = FsyncPolicy.FILE,
        ignore: bool = False,
        opener: Opener = open_temp_file,
        implementation_class_uid: str = uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID,
        implementation_version_name: str = uids.DICOMWIRE_IMPLEMENTATION_VERSION,
        on_stored: Callable[[StoreOutcome], None] | None = None,
        normalize: bool = False,
        source_ae_title: bool = True,
    ) -> None:
        self.directory = os.fspath(directory)
        self.naming: Naming = naming if naming is not None else UidNaming()
        self.bit_preserving = bit_preserving
        self.fsync = FsyncPolicy(fsync)
        self.ignore = ignore
        self.opener = opener
        self.implementation_class_uid = implementation_class_uid
        self.implementation_version_name = implementation_version_name
        self.on_stored = on_stored
        self.normalize = normalize and not bit_preserving
        self.source_ae_title = source_ae_title
        self._pending = PendingSinks()

    # -- receiving ---------------------------------------------------------------------------
    def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink:
        """The sink for the data set of ``request`` (never raises)."""
        if self.ignore:
            return NullSink()
        instance = InstanceInfo(
            sop_class_uid=request.affected_sop_class_uid,
            sop_instance_uid=request.affected_sop_instance_uid,
            transfer_syntax=info.transfer_syntax,
            calling_ae_title=info.calling_ae,
        )
        plan = SinkPlan(
            directory=self.directory,
            info=instance,
            naming=self._checked_name,
            meta_from_dataset=not self.bit_preserving,
            scan_series_date=self.naming.needs_series_date,
            implementation_class_uid=self.implementation_class_uid,
            implementation_version_name=self.implementation_version_name,
            opener=self.opener,
            normalize=self.normalize,
            source_ae_title=self.source_ae_title,
        )
        return self._pending.open(plan)

    def _checked_name(self, info: InstanceInfo) -> str:
        relative = self.naming(info)
        if not is_safe_relative_path(relative):
            raise OSError(errno.EINVAL, f"refusing file name outside the output directory: {relative!r}")
        return relative

    def discard_pending(self) -> None:
        """Remove the temporary files of every transfer not completed yet."""
        self._pending.discard_all()

    # -- completing --------------------------------------------------------------------------
    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        """Finish the file of a received instance; the status to answer."""
        outcome = await self.complete(instance, info)
        if self.on_stored is not None:
            self.on_stored(outcome)
        return outcome.status

    async def complete(self, instance: ReceivedInstance, info: AssociationInfo) -> StoreOutcome:
        """Finish the file of a received instance: what became of it."""
        sink = instance.sink
        if sink is None:  # the data set was collected in memory
            sink = self.open_sink(instance.request, info)
            sink.write(instance.data or b"")
        if isinstance(sink, NullSink):
            return StoreOutcome(status.SUCCESS)
        if not isinstance(sink, InstanceSink):
            return self._failed(status.OUT_OF_RESOURCES, f"unexpected data set sink {type(sink).__name__}")
        try:
            return await self._finish(sink)
        except BaseException:
            sink.discard()
            raise

    async def _finish(self, sink: InstanceSink) -> StoreOutcome:
        sink.close()
        if sink.failure is not None:
            return self._failed(*sink.failure)
        try:
            if self.fsync is FsyncPolicy.NONE:
                sink.sync_and_release(False)
            else:
                await asyncio.to_thread(sink.sync_and_release, True)
            relative = self._commit(sink)
        except OSError as exc:
            sink.fail(status.OUT_OF_RESOURCES, str(exc))
            message = f"cannot store the received object: {exc.strerror or exc}"
            return self._failed(status.OUT_OF_RESOURCES, message)
        sink.committed()
        shown = os.path.join(self.directory, relative)
        if self.fsync is FsyncPolicy.FULL:
            try:
                await asyncio.to_thread(_fsync_directory, os.path.dirname(shown))
            except OSError as exc:
                log.warning("cannot sync directory of %s: %s", shown, exc.strerror or exc)
        if self.on_stored is None:
            log.info("stored %s", shown)
        return StoreOutcome(status.SUCCESS, shown)

    def _commit(self, sink: InstanceSink) -> str:
        """Move the temporary file to its name; the relative name used."""
        temp, relative = sink.temp_path, sink.relative_path
        assert temp is not None and relative is not None
        log.debug("generated filename for received object: %s", os.path.join(self.directory, relative))
        if self.naming.overwrite:
            target = os.path.join(self.directory, relative)
            if os.path.lexists(target):
                log.warning("file already exists, overwriting: %s", target)
            os.replace(temp, target)
        else:
            relative = self._place_without_overwriting(temp, relative, sink.info)
        return relative

    def _place_without_overwriting(self, temp: str, relative: str, info: InstanceInfo) -> str:
        for _ in range(_MAX_NAME_ATTEMPTS):
            target = os.path.join(self.directory, relative)
            try:
                os.link(temp, target)
            except FileExistsError:
                pass
            except OSError as exc:
                if exc.errno not in _NO_LINKS:
                    raise
                if not os.path.lexists(target):
                    os.replace(temp, target)
                    return relative
            else:
                os.unlink(temp)
                return relative
            relative = self._checked_name(info)
            os.makedirs(os.path.dirname(os.path.join(self.directory, relative)) or ".", exist_ok=True)
        raise OSError(errno.EEXIST, f"no free file name after {_MAX_NAME_ATTEMPTS} attempts")

    @staticmethod
    def _failed(code: int, message: str) -> StoreOutcome:
        log.error("%s", message)
        return StoreOutcome(code, None, message)


def _fsync_directory(path: str) -> None:
    fd = os.open(path or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
