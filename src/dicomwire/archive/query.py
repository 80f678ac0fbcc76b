"""The archive's C-FIND handler: index queries streamed to the peer as they come.

The index is synchronous; each query runs in a thread of its own, one match at a
time, so the first Pending response goes out as soon as the first row is read and a
C-CANCEL (noticed by the server between matches) stops the database work.

The configured Specific Character Set (:func:`response_charset`) decides the responses'
character set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar, cast

from pydicom.dataset import Dataset

from dicomwire.archive.config import ArchiveConfig
from dicomwire.archive.index import REQUEST, Index, ResponseCharset
from dicomwire.archive.keys import QueryError
from dicomwire.archive.options import ArchiveOptions
from dicomwire.dimse import status
from dicomwire.services.handlers import AssociationInfo

__all__ = ["ArchiveFind", "iterate_in", "response_charset"]

T = TypeVar("T")
_END: Final = object()


async def iterate_in(thread: ThreadPoolExecutor, items: Iterator[T]) -> AsyncIterator[T]:
    """``items`` (a blocking iterator) one item at a time, always in ``thread``: a database
    cursor stays in the thread that opened it."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            item = await loop.run_in_executor(thread, next, items, _END)
            if item is _END:
                return
            yield cast(T, item)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            await loop.run_in_executor(thread, close)


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
                        charset=self.charset,
                    ),
                )
            except QueryError as exc:
                yield exc.status, None
                return
            async for identifier in iterate_in(thread, matches):
                yield status.PENDING, identifier
