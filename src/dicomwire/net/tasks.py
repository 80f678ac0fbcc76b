"""Small asyncio helpers the servers share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

__all__ = ["until_first"]


async def until_first(*awaitables: Awaitable[object]) -> None:
    """Run ``awaitables`` until the first one ends, then cancel the others and wait for
    them (their exceptions are swallowed: whatever ended first decides what happens)."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
