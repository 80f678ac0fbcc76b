"""storescu's sending loop: one association, each file ``--repeat`` times, DCMTK's
messages and DCMTK's exit codes (see :mod:`dicomwire.cli.storescu`).

Per file, as DCMTK 3.6.7's storescu: "Sending file: X"; the file is read
(a bad one: "Bad DICOM file: X: reason"); the context is the accepted one
with the file's transfer syntax, else the first accepted uncompressed one
("Converting transfer syntax: A -> B"), none: "No presentation context for:
(MOD) UID"; "Sending Store Request (MsgID n, MOD)"; the answer "Received Store
Response (status)".  A failed file stops the run unless ``-nh`` ("Store SCU
Failed: <condition>", "Aborting Association", exit 1); a failure status stops
it too (release, exit = status >> 8); the peer's abort ends it ("Peer Aborted
Association").  Every file attempted takes a message ID, sent or not.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from collections.abc import Sequence

from dicomwire._records import record
from dicomwire.cli.storescu.inputs import BadFile, InputFile, MissingUids, read_source, warn_spaced_uids
from dicomwire.cli.storescu.proposal import choose_context
from dicomwire.cli.storescu.report import (
    class_label,
    modality,
    xfer_name,
)
from dicomwire.cli.storescu.rewrite import (
    InventCounts,
    Inventor,
    Rewrite,
    log_identity,
    needs_normal_form,
    normal_form_to_temp,
    rewrite_to_temp,
)
from dicomwire.dcmtk.log import INFO, WARN
from dicomwire.dcmtk.netreport import DIMSE_TIMEOUT, PEER_ABORTED
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse import status as dimse_status
from dicomwire.dimse.messages import CStoreRQ, CStoreRSP
from dicomwire.errors import (
    AssociationAborted,
    DatasetCodecError,
    DicomTimeout,
    DicomWireError,
    NetworkError,
    NoAcceptedContext,
)
from dicomwire.net.association import Association
from dicomwire.services import storage
from dicomwire.services.storage import StoreSource

PROG = "storescu"
# After the peer aborted, DCMTK 3.6.7 exits with the high byte of a response it never got
# (an uninitialised variable): the last status received when that was not a success (0xB000
# -> 176), else 10 (observed on every run here).  Never 255.
EXIT_PEER_ABORTED = 10

_COND_NO_CONTEXT = "0006:0208 DIMSE No valid Presentation Context ID"
_COND_BAD_DATA = "0006:0202 DIMSE Inappropriate data for message"
_COND_SEND_FAILED = "0006:020e DIMSE Failed to send message"
_COND_DEAD_SEND = "0006:0303 DUL Finite State Machine Error: No action defined, state 1 event 8"
_COND_DEAD_RELEASE = "0006:0303 DUL Finite State Machine Error: No action defined, state 1 event 10"


@record
class _Failure:
    """Why one file was not stored: DCMTK's condition text; ``aborted`` when the peer went away."""

    condition: str
    aborted: bool = False


class Progress:
    """XMIT lines on stdout at verbose level (as DCMTK) and a progress line on a terminal."""

    def __init__(self, log: logging.Logger, total: int) -> None:
        level = log.getEffectiveLevel()
        # DCMTK's rule: XMIT lines when its "<tool>.progress" logger is at INFO exactly
        # (the tool's level by default; a -lc file may set it alone).
        self.xmit = logging.getLogger(f"{log.name}.progress").getEffectiveLevel() == INFO
        self.terminal = level == WARN and total > 1 and sys.stderr.isatty()
        self.total = total
        self.done = 0
        self.sent_bytes = 0
        self.started = time.monotonic()
        self.shown = False

    def begin(self) -> None:
        self.clear()

    def start_xmit(self) -> None:
        if self.xmit:
            sys.stdout.write("XMIT: ")
            sys.stdout.flush()

    def end_xmit(self, length: int, pdv_limit: int) -> None:
        """One dot per P-DATA PDU of the data set, as DCMTK's progress output."""
        if self.xmit:
            dots = max(1, math.ceil(length / pdv_limit)) if pdv_limit > 0 else 1
            sys.stdout.write("." * dots + "\n")
            sys.stdout.flush()

    def end(self, ok: bool, length: int) -> None:
        self.done += 1
        if ok:
            self.sent_bytes += length
        if self.terminal:
            elapsed = max(time.monotonic() - self.started, 1e-6)
            megabytes = self.sent_bytes / 1e6
            sys.stderr.write(
                f"\r{PROG}: {self.done}/{self.total} files, {megabytes:.1f} MB, "
                f"{megabytes / elapsed:.1f} MB/s\x1b[K"
            )
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = False


class Sender:
    """Sends the files over one association and decides the exit code, as DCMTK does."""

    def __init__(
        self, assoc: Association, ns: argparse.Namespace, log: logging.Logger, files: Sequence[InputFile]
    ) -> None:
        self.assoc = assoc
        self.ns = ns
        self.log = log
        self.files = files
        self.halt = not ns.no_halt
        self.prefer_deflated = ns.config_file is None and ns.proposal == "-xd"
        counts = InventCounts(ns.invent_series, ns.invent_study, ns.invent_patient)
        self.inventor = Inventor(counts) if ns.invent_instance else None
        self.last_status = dimse_status.SUCCESS
        self.unsuccessful = False
        self.dead = False
        self.progress = Progress(log, len(files) * (ns.repeat or 1))

    async def run(self) -> int:
        failure: _Failure | None = None
        stop = False
        for item in self.files:
            for _ in range(self.ns.repeat or 1):
                failure, stop = await self._one(item)
                if stop or failure is not None:  # as DCMTK: a file that failed is not repeated
                    break
            if stop:
                break
        self.progress.finish()
        if failure is not None and self.halt:
            return self._halted_by(failure)
        return await self._close()

    def _halted_by(self, failure: _Failure) -> int:
        if failure.aborted:
            self.log.info("Peer Aborted Association")
            return self._status_exit_code()
        self.log.error("Store SCU Failed: %s", failure.condition)
        self.log.info("Aborting Association")
        self.assoc.abort()
        return 1

    def _status_exit_code(self) -> int:
        if self.halt and self.unsuccessful:
            return (self.last_status >> 8) or EXIT_PEER_ABORTED
        return 0

    async def _close(self) -> int:
        if self.ns.abort:
            self.log.info("Aborting Association")
            self.assoc.abort()
            return self._status_exit_code()
        self.log.info("Releasing Association")
        try:
            await self.assoc.release()
        except DicomWireError as exc:
            text = _COND_DEAD_RELEASE if self.dead or self.assoc.is_closed else str(exc)
            self.log.error("Association Release Failed: %s", text)
            return 1
        return self._status_exit_code()

    async def _one(self, item: InputFile) -> tuple[_Failure | None, bool]:
        """Send one file; returns (failure, stop sending)."""
        self.progress.begin()
        self.log.info("Sending file: %s", item.path)
        prepared, temp = self._prepare(item)
        status_failed = False
        try:
            if isinstance(prepared, _Failure):
                failure: _Failure | None = prepared
            else:
                failure, status_failed = await self._send(item.path, prepared)
        finally:
            if temp is not None:
                os.unlink(temp)
        self._rename(item.path, failure is None and not status_failed)
        length = prepared.dataset_length if not isinstance(prepared, _Failure) else 0
        self.progress.end(failure is None, length)
        if failure is not None:
            self.unsuccessful = True
            return failure, self.halt
        return None, self.halt and status_failed

    def _pdv_limit(self) -> int:
        return max(self.assoc.peer_max_pdu_length - 12, 0)

    def _prepare(self, item: InputFile) -> tuple[StoreSource | _Failure, str | None]:
        """Read (and maybe rewrite) the file: what to send and the temporary file to remove."""
        try:
            source = item.source or read_source(item.path, self.ns.read_mode)
        except MissingUids:
            return self._missing_uids(item.path), None
        except BadFile as exc:
            if exc.element_line:
                self.log.error("%s", exc.element_line)
            if exc.detail and exc.detail != str(exc):
                self.log.debug("%s: %s", item.path, exc.detail)
            return self._bad_file(item.path, str(exc), exc.condition), None
        if not source.sop_class_uid or not source.sop_instance_uid:
            return self._missing_uids(item.path), None
        warn_spaced_uids(source, self.log)
        temp: str | None = None
        try:
            rewrite = self._rewrite_plan()
            if rewrite.needed:
                temp = rewrite_to_temp(item.path, source.transfer_syntax, rewrite)
                source = storage.inspect_file(temp)
            if needs_normal_form(source):  # as DCMTK sends it: explicit lengths, no padding
                normal = normal_form_to_temp(source)
                self._remove(temp)
                temp = normal
                source = storage.inspect_file(temp)
        except DatasetCodecError as exc:
            return self._bad_file(item.path, str(exc)), temp
        return source, temp

    @staticmethod
    def _remove(temp: str | None) -> None:
        if temp is not None:
            os.unlink(temp)

    def _missing_uids(self, path: str) -> _Failure:
        self._burn_message_id()
        self.log.error("No SOP Class or Instance UID in file: %s", path)
        return _Failure(_COND_BAD_DATA)

    def _bad_file(self, path: str, reason: str, condition: str | None = None) -> _Failure:
        self._burn_message_id()
        self.log.error("Bad DICOM file: %s: %s", path, reason)
        return _Failure(condition or reason)

    def _rewrite_plan(self) -> Rewrite:
        identity = None
        if self.inventor is not None:
            identity = self.inventor.next()
            log_identity(self.log, self.inventor, identity)
        return Rewrite(identity, bool(self.ns.uid_padding), not self.ns.new_vrs)

    def _burn_message_id(self) -> None:
        self.assoc.next_message_id()

    def _message_id(self) -> int:
        return self.assoc.next_message_id()

    async def _send(self, path: str, source: StoreSource) -> tuple[_Failure | None, bool]:
        """Store one instance: (failure, the peer answered with an unsuccessful status)."""
        dcmtk_choice = choose_context(
            self.assoc.contexts,
            source.sop_class_uid,
            source.transfer_syntax,
            prefer_deflated=self.prefer_deflated,
        )
        if dcmtk_choice is None:
            self._burn_message_id()
            self.log.error(
                "No presentation context for: (%s) %s",
                class_label(source.sop_class_uid),
                source.sop_class_uid,
            )
            return _Failure(_COND_NO_CONTEXT), False
        context = dcmtk_choice
        target = context.transfer_syntax
        self.log.info(
            "Converting transfer syntax: %s -> %s", xfer_name(source.transfer_syntax), xfer_name(target)
        )
        message_id = self._message_id()
        self.log.info("Sending Store Request (MsgID %d, %s)", message_id, modality(source.sop_class_uid))
        if self.log.isEnabledFor(logging.DEBUG):
            from dicomwire.dcmtk.formats.dimse import dump_message  # the DIMSE dumps: -d only

            self.log.debug(
                "%s",
                dump_message(
                    CStoreRQ(
                        message_id=message_id,
                        affected_sop_class_uid=source.sop_class_uid,
                        affected_sop_instance_uid=source.sop_instance_uid,
                    ),
                    "OUTGOING",
                ),
            )
        self.progress.start_xmit()
        try:
            response = await self._store(source, message_id, context.context_id)
        except DicomWireError as exc:
            if not self.dead and not isinstance(exc, NoAcceptedContext | DatasetCodecError):
                # the data set went out; the answer did not come (DCMTK's dots are complete)
                self.progress.end_xmit(source.dataset_length, self._pdv_limit())
            return self._send_failure(path, source, target, exc), False
        self.progress.end_xmit(source.dataset_length, self._pdv_limit())
        return None, self._received(response, context.context_id)

    async def _store(self, source: StoreSource, message_id: int, context_id: int) -> CStoreRSP:
        if self.dead:
            raise AssociationAborted(0, 0, "association already gone")
        return await storage.store(
            self.assoc,
            source,
            message_id=message_id,
            context_id=context_id,
            compression_level=self.ns.compression_level,
        )

    def _send_failure(self, path: str, source: StoreSource, target: str, exc: DicomWireError) -> _Failure:
        log = self.log
        if isinstance(exc, NoAcceptedContext | DatasetCodecError):
            log.warning(
                "DIMSE Warning: (%s,%s): sendMessage: unable to convert dataset from '%s' transfer "
                "syntax to '%s'",
                self._calling(),
                self._called(),
                xfer_name(source.transfer_syntax),
                xfer_name(target),
            )
            conditions = [_COND_SEND_FAILED]
        elif self.dead:
            conditions = [_COND_SEND_FAILED, _COND_DEAD_SEND]
        elif isinstance(exc, AssociationAborted | NetworkError):
            self.dead = True
            log.error("Store Failed, file: %s:", path)
            log.error("%s", PEER_ABORTED)
            return _Failure(PEER_ABORTED, aborted=True)
        elif isinstance(exc, DicomTimeout):
            conditions = [DIMSE_TIMEOUT]
        else:
            conditions = [f"{_COND_SEND_FAILED}: {exc}"]
        log.error("Store Failed, file: %s:", path)
        for condition in conditions:
            log.error("%s", condition)
        return _Failure(conditions[0])

    def _received(self, response: CStoreRSP, context_id: int) -> bool:
        if self.log.isEnabledFor(logging.DEBUG):
            from dicomwire.dcmtk.formats.dimse import dump_message

            self.log.info("Received Store Response")
            self.log.debug("%s", dump_message(response, "INCOMING", context_id))
        else:
            text = dcmtk_status_string(response.status, "store")
            self.log.info("Received Store Response (%s)", text)
        self.last_status = response.status
        category = dimse_status.category(response.status)
        if category in (dimse_status.StatusCategory.SUCCESS, dimse_status.StatusCategory.WARNING):
            return False
        self.unsuccessful = True
        return True

    def _calling(self) -> str:
        request = self.assoc.request
        return request.calling_ae.strip() if request is not None else ""

    def _called(self) -> str:
        request = self.assoc.request
        return request.called_ae.strip() if request is not None else ""

    def _rename(self, path: str, good: bool) -> None:
        if not self.ns.rename:
            return
        target = path + (".done" if good else ".bad")
        try:
            os.rename(path, target)
        except OSError:
            self.log.warning("cannot rename file '%s' to '%s'", path, target)
