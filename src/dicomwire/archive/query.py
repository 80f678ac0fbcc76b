"""The archive's C-FIND handler: index queries streamed to the peer as they come.

The index is synchronous; each query runs in a thread of its own (never on the event
loop), its matches handed over in batches that grow (1, 4, 16, ... 256: one thread hop for
many matches, the first one alone), so the first Pending response goes out as soon as the
first row is read.  A C-CANCEL (noticed by the server between matches) closes the
handler, which closes the index's generator in its thread: the cursor and the connection
are released and the rest of the query is never run (at most the batch being read when
the C-CANCEL came is read to its end).

A database that fails (down, unreachable) ends the query with 0xA700 (Refused: Out of
Resources), after the matches already sent.

The configured Specific Character Set (:func:`response_charset`) decides the responses'
character set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

import sqlalchemy as sa
from pydicom.dataset import Dataset

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.database import describe_error
from dicomwire.archive.index import REQUEST, Index, ResponseCharset
from dicomwire.archive.keys import QueryError
from dicomwire.archive.options import ArchiveOptions
from dicomwire.dimse import status
from dicomwire.services.handlers import AssociationInfo

__all__ = ["ArchiveFind", "iterate_in", "response_charset"]

log = logging.getLogger("dicomwire.archive")
T = TypeVar("T")
_BATCH: Final = 256  # matches a thread hop, at most


async def iterate_in(
    thread: ThreadPoolExecutor, items: Iterator[T], batch: int = _BATCH
) -> AsyncGenerator[T, None]:
    """``items`` (a blocking iterator), always read in ``thread`` (a database cursor stays in
    the thread that opened it) in batches: 1 item, then 4 times more each time up to
    ``batch``.  Closed, in the thread, when the iteration ends or is abandoned (``aclose``)."""
    loop = asyncio.get_running_loop()
    size = 1
    try:
        while True:
            chunk = await loop.run_in_executor(thread, _take, items, size)
            for item in chunk:
                yield item
            if len(chunk) < size:
                return
            size = min(size * 4, batch)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            await loop.run_in_executor(thread, close)


def _take(items: Iterator[T], count: int) -> list[T]:
    return list(itertools.islice(items, count))


def response_charset(config: ArchiveConfig) -> ResponseCharset | None:
    """The responses' character set policy that ``config`` gives (None: not configured).

    The request's character set is the target, the configured one the fallback; with
    ``override`` the other way round.  ``fallback`` switches the fallback on, ``transliterate``
    and ``discard`` what happens to characters that do not fit (``abort``: the default).
    """
    options = set(config.charset_options)
    if config.specific_character_set is None and not options:
        return None
    configured = config.specific_character_set or ""
    first, second = (configured, REQUEST) if "override" in options else (REQUEST, configured)
    return ResponseCharset(
        target=first,
        fallback=second if "fallback" in options else None,
        transliterate="transliterate" in options,
        discard="discard" in options,
    )


class ArchiveFind:
    """Answers C-FIND from the index of the called AE title's storage area."""

    def __init__(self, index: Index, config: ArchiveConfig, options: ArchiveOptions) -> None:
        self.index = index
        self.config = config
        self.options = options
        self.charset = response_charset(config)

    async def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        area = self.config.area_for(assoc_info.called_ae)
        if area is None:  # negotiation admits only known AE titles
            yield status.UNABLE_TO_PROCESS, None
            return
        loop = asyncio.get_running_loop()
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dicomwire-find")
        try:
            try:
                matches = await loop.run_in_executor(
                    thread,
                    lambda: self.index.find(
                        area.ae_title,
                        model,
                        query,
                        strict=self.options.check_find,
                        retrieve_ae_title=assoc_info.called_ae,
                        charset=self.charset,
                    ),
                )
            except QueryError as exc:
                yield exc.status, None
                return
            try:
                # closed when the server abandons the find (C-CANCEL): the cursor goes at once
                async with contextlib.aclosing(iterate_in(thread, matches)) as identifiers:
                    async for identifier in identifiers:
                        yield status.PENDING, identifier
            except sa.exc.SQLAlchemyError as exc:  # the database is down or unreachable
                log.error("Find SCP: the index failed: %s", describe_error(exc))
                yield status.OUT_OF_RESOURCES, None
        finally:
            thread.shutdown(wait=False)  # idle by now; never wait for it on the event loop
