"""The archive's C-FIND handler: index queries streamed to the peer as they come.

The index is synchronous; each query runs in a thread of its own, one match at a
time, so the first Pending response goes out as soon as the first row is read and a
C-CANCEL (noticed by the server between matches) stops the database work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from pydicom.dataset import Dataset

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.index import Index
from dicomwire.archive.keys import QueryError
from dicomwire.archive.options import ArchiveOptions
from dicomwire.dimse import status
from dicomwire.services.handlers import AssociationInfo

__all__ = ["ArchiveFind"]

T = TypeVar("T")
_END: Final = object()


async def _iterate(thread: ThreadPoolExecutor, items: Iterator[T]) -> AsyncIterator[T]:
    """``items`` (a blocking iterator) one item at a time, always in ``thread``: a database
    cursor stays in the thread that opened it."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            item = await loop.run_in_executor(thread, next, items, _END)
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            await loop.run_in_executor(thread, close)


class ArchiveFind:
    """Answers C-FIND from the index of the called AE title's storage area."""

    def __init__(self, index: Index, config: ArchiveConfig, options: ArchiveOptions) -> None:
        self.index = index
        self.config = config
        self.options = options

    async def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        area = self.config.area_for(assoc_info.called_ae)
        if area is None:  # negotiation admits only known AE titles
            yield status.UNABLE_TO_PROCESS, None
            return
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dicomwire-find") as thread:
            try:
                matches = await loop.run_in_executor(
                    thread,
                    lambda: self.index.find(
                        area.ae_title,
                        model,
                        query,
                        strict=self.options.check_find,
                        retrieve_ae_title=assoc_info.called_ae,
                    ),
                )
            except QueryError as exc:
                yield exc.status, None
                return
            async for identifier in _iterate(thread, matches):
                yield status.PENDING, identifier
