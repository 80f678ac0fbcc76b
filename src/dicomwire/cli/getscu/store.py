"""getscu's side of the C-STORE sub-operations: where instances go and DCMTK's lines.

:class:`GetStore` wraps a :class:`~dicomwire.services.storage_scp.StorageSCP` (which
streams every data set to a temporary file renamed into place) and says what
DCMTK's getscu says: ``Received C-STORE Request (MsgID n)`` when a command
arrives, ``DICOM file already exists, overwriting: <file>``, ``cannot write DICOM
file: <file>`` (answered 0xC000, as DCMTK does), and at debug the DIMSE dumps,
``Received dataset on presentation context n`` and ``Stored instance to disk``.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from dicomwire import uids
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.naming import DcmtkNaming
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import DatasetSink
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.storage_names import InstanceInfo, safe_uid_for_filename
from dicomwire.services.storage_scp import FsyncPolicy, StorageSCP, StoreOutcome

__all__ = ["GetStore", "StorageMode", "StoreFailed", "display_path", "quiet_storage_log"]

# The library's storage logger: its wording is not DCMTK's, getscu says its own lines.
_STORAGE_LOGGER: Final = "dicomwire.services.storage"


class StorageMode(enum.StrEnum):
    """-B, +B, --ignore."""

    NORMAL = "normal"
    BIT_PRESERVING = "bit-preserving"
    IGNORE = "ignore"


class StoreFailed(Exception):
    """A received instance could not be stored: DCMTK's getscu stops the C-GET there."""


@dataclass(frozen=True, slots=True)
class InstanceUidNaming:
    """+B's file names: the SOP Instance UID alone (no modality prefix)."""

    @property
    def overwrite(self) -> bool:
        return True

    @property
    def needs_series_date(self) -> bool:
        return False

    def __call__(self, info: InstanceInfo) -> str:
        return safe_uid_for_filename(info.sop_instance_uid)


def display_path(directory: str, name: str) -> str:
    """A file in -od as DCMTK shows it: no ``./`` for ``.``, one ``/`` between."""
    if directory in ("", "."):
        return name
    return f"{directory.rstrip('/')}/{name}"


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def quiet_storage_log() -> Iterator[None]:
    """Silence the library's storage lines while getscu prints DCMTK's."""
    logger = logging.getLogger(_STORAGE_LOGGER)
    drop = _DropAll()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@dataclass
class GetStore:
    """A streaming store handler for the C-STOREs of a C-GET, with DCMTK's lines."""

    directory: str
    mode: StorageMode
    log: logging.Logger
    stored: int = 0
    failed: int = 0
    _contexts: dict[int, int] = field(default_factory=dict)  # message ID -> context ID
    _scp: StorageSCP = field(init=False)

    def __post_init__(self) -> None:
        naming = InstanceUidNaming() if self.mode is StorageMode.BIT_PRESERVING else DcmtkNaming()
        self._scp = StorageSCP(
            self.directory,
            naming=naming,
            bit_preserving=self.mode is StorageMode.BIT_PRESERVING,
            ignore=self.mode is StorageMode.IGNORE,
            fsync=FsyncPolicy.NONE,  # DCMTK does not sync either; the rename stays atomic
            on_stored=_ignore_outcome,
        )

    @property
    def debug(self) -> bool:
        return self.log.isEnabledFor(logging.DEBUG)

    # -- the StreamingStoreHandler protocol ---------------------------------------------------
    def open_sink(self, request: CStoreRQ, info: AssociationInfo) -> DatasetSink:
        return self._scp.open_sink(request, info)

    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        # Logged here, not in open_sink: the assembler may open a sink while earlier
        # messages still wait in the queue, and DCMTK logs in the order of processing.
        request = instance.request
        self._contexts[request.message_id] = info.context_id
        if self.debug:
            self.log.info("Received C-STORE Request")
            self.log.debug("%s", dump_message(request, "INCOMING", info.context_id))
        else:
            self.log.info("Received C-STORE Request (MsgID %d)", request.message_id)
        if self.mode is StorageMode.IGNORE:
            self.log.debug(
                "Ignoring incoming C-STORE dataset on presentation context %d "
                "with Affected SOP Instance UID: %s",
                info.context_id,
                request.affected_sop_instance_uid,
            )
            await self._scp.complete(instance, info)
            return st.SUCCESS
        self.log.debug("Received dataset on presentation context %d", info.context_id)
        path = display_path(self.directory, self._scp.naming(_instance_info(request, info)))
        if self.mode is StorageMode.NORMAL and os.path.isfile(path):  # DCMTK: regular files only
            self.log.warning("DICOM file already exists, overwriting: %s", path)
        outcome = await self._scp.complete(instance, info)
        if outcome.status != st.SUCCESS:
            self.log.error("cannot write DICOM file: %s", path)
            return st.CANNOT_UNDERSTAND
        self.log.debug(
            "Stored instance to disk:\n  Filename: %s\n  SOP Class UID: %s\n  SOP Instance UID: %s",
            path,
            request.affected_sop_class_uid,
            request.affected_sop_instance_uid,
        )
        return st.SUCCESS

    # -- GetOperation's on_stored ---------------------------------------------------------------
    def answered(self, request: CStoreRQ, code: int) -> None:
        """The C-STORE-RSP has gone out: DCMTK's line; a failure ends the C-GET."""
        context_id = self._contexts.pop(request.message_id, None)
        if self.debug:
            response = CStoreRSP(
                message_id_being_responded_to=request.message_id,
                affected_sop_class_uid=request.affected_sop_class_uid,
                affected_sop_instance_uid=request.affected_sop_instance_uid,
                status=code,
            )
            self.log.info("Sending C-STORE Response")
            self.log.debug("%s", dump_message(response, "OUTGOING", context_id))
        else:
            self.log.info("Sending C-STORE Response (%s)", dcmtk_status_string(code, "store"))
        if code != st.SUCCESS:
            self.failed += 1
            raise StoreFailed(request.affected_sop_instance_uid)
        self.stored += 1

    def discard_pending(self) -> None:
        self._scp.discard_pending()


def _instance_info(request: CStoreRQ, info: AssociationInfo) -> InstanceInfo:
    return InstanceInfo(
        sop_class_uid=request.affected_sop_class_uid,
        sop_instance_uid=request.affected_sop_instance_uid,
        transfer_syntax=info.transfer_syntax or uids.IMPLICIT_VR_LITTLE_ENDIAN,
        calling_ae_title=info.calling_ae,
    )


def _ignore_outcome(outcome: StoreOutcome) -> None:
    """StorageSCP logs "stored <file>" without an on_stored; getscu logs its own line."""
