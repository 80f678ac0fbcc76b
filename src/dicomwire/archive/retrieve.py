"""The archive's C-MOVE and C-GET handler: matches from the index, destinations from the HostTable.

The index is read in a thread of its own, as for C-FIND; the matches (paths and UIDs,
never the data) are collected before the first sub-operation, since every Pending
response carries the number remaining.  The files then stream from disk one at a time
(:mod:`dicomwire.services.retrieve_scp`), so a study of any size moves in flat memory.

Move destinations are dcmqrscp's: the AE title is looked up in the configuration (the
AETable's peers, then the HostTable); unknown, or not allowed by the move restriction,
is answered 0xA801.  The restrictions: ``AE_TITLE`` (only the requestor's own AE
title), ``HOST`` (only a destination on the requestor's host), ``VENDOR`` (only an AE
title that one VendorTable entry lists together with the requestor's).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from pydicom.dataset import Dataset

from dicomwire.archive.config import ArchiveConfig, Peer
from dicomwire.archive.index import Index, InstanceRecord
from dicomwire.archive.keys import QueryError
from dicomwire.archive.options import ArchiveOptions, MoveRestriction
from dicomwire.dimse import status
from dicomwire.services.handlers import AssociationInfo, RetrieveFailed, RetrieveMatch

__all__ = ["ArchiveRetrieve"]

log = logging.getLogger("dicomwire.archive")


def _addresses(host: str) -> set[str]:
    """Every address ``host`` stands for (itself when it cannot be resolved)."""
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)} | {host}
    except OSError:
        return {host}


class ArchiveRetrieve:
    """Answers C-MOVE and C-GET from the index of the called AE title's storage area."""

    def __init__(self, index: Index, config: ArchiveConfig, options: ArchiveOptions) -> None:
        self.index = index
        self.config = config
        self.options = options

    # -- MoveHandler -----------------------------------------------------------------------------
    def destination(self, ae_title: str, info: AssociationInfo) -> tuple[str, int] | None:
        peer = self.config.resolve_destination(ae_title)
        if peer is None:
            return None
        if not self._allowed(peer, info):
            log.warning("Move SCP: move destination %s not allowed for %s", ae_title, info.calling_ae)
            return None
        return peer.host, peer.port

    def _allowed(self, peer: Peer, info: AssociationInfo) -> bool:
        restriction = self.options.move_restriction
        if restriction is MoveRestriction.AE_TITLE:
            return peer.ae_title == info.calling_ae
        if restriction is MoveRestriction.HOST:
            requestor = {info.peer_address[0], info.peer_hostname} - {""}
            return bool(_addresses(peer.host) & requestor) or peer.host in requestor
        if restriction is MoveRestriction.VENDOR:
            return self.config.same_vendor(info.calling_ae, peer.ae_title)
        return True

    # -- Move/GetHandler -------------------------------------------------------------------------
    async def retrieve(
        self, query: Dataset, model: str, info: AssociationInfo
    ) -> AsyncIterator[RetrieveMatch]:
        area = self.config.area_for(info.called_ae)
        if area is None:  # negotiation admits only known AE titles
            raise RetrieveFailed(status.UNABLE_TO_PROCESS, "unknown AE title")
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dicomwire-retrieve") as thread:
            try:
                records = await loop.run_in_executor(
                    thread,
                    lambda: self.index.instances_for(
                        area.ae_title, model, query, strict=self.options.check_move
                    ),
                )
            except QueryError as exc:
                raise RetrieveFailed(exc.status, str(exc) or None) from exc
            except sa.exc.SQLAlchemyError as exc:
                log.error("Move/Get SCP: the index failed: %s", exc)
                raise RetrieveFailed(status.OUT_OF_RESOURCES_MATCHES, "index unavailable") from exc
            try:
                # in batches: one thread hop per record would cost more than the record
                while batch := await self._batch(loop, thread, records):
                    for record in batch:
                        yield _match(area.path, record)
            finally:
                close = getattr(records, "close", None)  # the cursor, in the thread that opened it
                if close is not None:
                    await loop.run_in_executor(thread, close)

    @staticmethod
    async def _batch(
        loop: asyncio.AbstractEventLoop, thread: ThreadPoolExecutor, records: Iterator[InstanceRecord]
    ) -> list[InstanceRecord]:
        try:
            return await loop.run_in_executor(thread, _take, records, _BATCH)
        except sa.exc.SQLAlchemyError as exc:
            log.error("Move/Get SCP: the index failed: %s", exc)
            raise RetrieveFailed(status.OUT_OF_RESOURCES_MATCHES, "index unavailable") from exc


_BATCH = 500


def _take(records: Iterator[InstanceRecord], count: int) -> list[InstanceRecord]:
    """The next ``count`` records (in the index's thread)."""
    return list(itertools.islice(records, count))


def _match(root: str, record: InstanceRecord) -> RetrieveMatch:
    return RetrieveMatch(
        path=os.path.join(root, record.path),
        sop_class_uid=record.sop_class_uid,
        sop_instance_uid=record.sop_instance_uid,
        transfer_syntax=record.transfer_syntax,
    )
