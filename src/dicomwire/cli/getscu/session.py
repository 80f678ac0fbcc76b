"""getscu's association: its C-GET requests, their responses and DCMTK's lines for them.

The order of things is DCMTK's (``getscu.cc`` and ``DcmSCU``): for each ``--repeat``
round, each query file (or the keys alone) is loaded, the keys applied (a bad key
is logged and skipped) and one C-GET sent; after the round the counts of the last
response of the round are reported.  A failure to send or receive ends everything
with exit code 1 and no release; a failed store ends the C-GET and the release
that follows fails (the peer's responses are still coming), as DCMTK's does.
"""

from __future__ import annotations

import argparse
import enum
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, TextIO

from pydicom.dataset import Dataset

from dicomwire.cli.getscu.store import GetStore, StoreFailed
from dicomwire.dcmtk import querykeys as qk
from dicomwire.dcmtk.formats.dcmdump import dump_dataset
from dicomwire.dcmtk.formats.dimse import dump_message
from dicomwire.dcmtk.log import INFO
from dicomwire.dcmtk.netreport import dimse_condition
from dicomwire.dcmtk.status import dcmtk_status_string
from dicomwire.dimse import status as st
from dicomwire.errors import DicomWireError
from dicomwire.net.association import Association
from dicomwire.services.retrieve import GetOperation, RetrieveResponse

__all__ = ["Outcome", "Progress", "Session"]

_DATASET_RULE: Final = "-" * 65
_END_OF_MESSAGE: Final = "======================= END DIMSE MESSAGE ======================="
# DCMTK's condition texts for what can go wrong during a C-GET.
_SEND_FAILED: Final = "0006:020e DIMSE Failed to send message"


class Outcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"  # exit 1 without releasing (DCMTK's exit(1) in the middle)
    STORE_FAILED = "store failed"  # a C-GET was left with responses outstanding


class _Stop(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


@dataclass
class Progress:
    """Sub-operations done/remaining on one updating line, only on a terminal."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    enabled: bool = False
    shown: bool = False

    @classmethod
    def for_terminal(cls, log: logging.Logger) -> Progress:
        # at -v and above the log lines are the progress; the line would garble them
        quiet = not log.isEnabledFor(INFO)
        return cls(sys.stderr, enabled=quiet and sys.stderr.isatty())

    def update(self, response: RetrieveResponse) -> None:
        if not self.enabled:
            return
        done = (response.completed or 0) + (response.failed or 0) + (response.warning or 0)
        remaining = response.remaining or 0
        self.stream.write(f"\r{done} sub-operations done, {remaining} remaining\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


@dataclass
class Session:
    """The C-GETs of one association (see the module)."""

    ns: argparse.Namespace
    assoc: Association
    log: logging.Logger
    store: GetStore
    model: str
    progress: Progress = field(default_factory=Progress)
    last: RetrieveResponse | None = None  # the last response of the current round

    @property
    def debug(self) -> bool:
        return self.log.isEnabledFor(logging.DEBUG)

    async def run(self) -> Outcome:
        try:
            for _ in range(self.ns.repeat or 1):
                self.report(await self.round())
        except _Stop as stop:
            return stop.outcome
        finally:
            self.progress.close()
        return Outcome.DONE

    async def round(self) -> RetrieveResponse | None:
        """One --repeat round: every query file (or the keys alone) once; the last response."""
        self.last = None
        for path in self.ns.dcmfile_in or [None]:
            query = self.load(path)
            try:
                await self.get(query)
            except _Stop as stop:
                if stop.outcome is Outcome.STORE_FAILED:  # DCMTK reports what came so far
                    self.report(self.last)
                raise
        return self.last

    def load(self, path: str | None) -> Dataset:
        try:
            query = qk.load_query_file(path) if path is not None else Dataset()
        except qk.QueryFileError as exc:
            self.log.fatal("%s %s", exc.code, exc.reason)
            raise _Stop(Outcome.FAILED) from None
        for key in self.ns.keys or ():
            try:
                qk.apply_key(query, key)
            except qk.QueryKeyError as exc:
                self.log.error("Bad override key/path: %s: %s", exc.key, exc.reason)
        return query

    async def get(self, query: Dataset) -> None:
        """One C-GET; its responses update ``last``."""
        context = self.assoc.context_for(self.model)
        operation = GetOperation(
            self.assoc,
            query,
            model=self.model,
            store=self.store,
            context=context,
            on_stored=self.store.answered,
        )
        self.log_request(operation, query)
        if len(query) == 0:  # DCMTK refuses to send an empty identifier
            request = self.assoc.request
            peers = f"({request.calling_ae},{request.called_ae})" if request is not None else "(,)"
            self.log.warning("DIMSE Warning: %s: sendMessage: dataset is empty", peers)
            self.log.error("Failed sending C-GET request: %s", _SEND_FAILED)
            operation.close()
            raise _Stop(Outcome.FAILED)
        try:
            await operation.send()
            async for response in operation.responses():
                self.last = response
                self.log_response(response)
        except StoreFailed:
            raise _Stop(Outcome.STORE_FAILED) from None
        except DicomWireError as exc:
            self.log.error("Failed receiving DIMSE command: %s", dimse_condition(exc))
            raise _Stop(Outcome.FAILED) from None

    # -- DCMTK's lines ---------------------------------------------------------------------------
    def log_request(self, operation: GetOperation, query: Dataset) -> None:
        if not self.debug:
            self.log.info("Sending C-GET Request (MsgID %d)", operation.message_id)
            return
        dump = dump_message(operation.request, "OUTGOING", operation.context.context_id)
        head, _, tail = dump.rpartition(_END_OF_MESSAGE)
        dataset = dump_dataset(query, operation.transfer_syntax).strip("\n")
        self.log.info("Sending C-GET Request")
        self.log.debug("%s%s\n%s\n%s%s", head, _DATASET_RULE, dataset, _END_OF_MESSAGE, tail)

    def log_response(self, response: RetrieveResponse) -> None:
        self.progress.update(response)
        status = dcmtk_status_string(response.status, "get")
        if self.debug:
            self.log.info("Received C-GET Response")
            self.log.debug("%s", dump_message(response.message, "INCOMING", self.context_id))
        else:
            self.log.info("Received C-GET Response (%s)", status)
        self.log.debug("Handling C-GET Response")
        self.log.log(_status_level(response.status), "DIMSE status is: %s", status)

    @property
    def context_id(self) -> int:
        return self.assoc.context_for(self.model).context_id

    def report(self, last: RetrieveResponse | None) -> None:
        """The counts of the round's last response (DCMTK prints 0 for absent ones)."""
        if last is None:
            return
        self.log.info("Final status report from last C-GET message:")
        for label, value in _counts(last):
            self.log.info("  Number of %s Suboperations%s: %d", label, " " * (10 - len(label)), value or 0)


def _counts(response: RetrieveResponse) -> Sequence[tuple[str, int | None]]:
    return (
        ("Remaining", response.remaining),
        ("Completed", response.completed),
        ("Failed", response.failed),
        ("Warning", response.warning),
    )


def _status_level(code: int) -> int:
    """DcmSCU's level for "DIMSE status is": debug while all is well."""
    if code in (st.PENDING, 0xFF01, st.SUCCESS):
        return logging.DEBUG
    if code == st.CANCEL:
        return logging.INFO
    if 0xB000 <= code <= 0xBFFF or code in (0x0001, 0x0107, 0x0116):
        return logging.WARNING
    return logging.ERROR
