"""Shared by the echoscu tests: run a command against a server in the same event loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from dicomwire.config import AcceptorSettings
from dicomwire.dimse.messages import CEchoRQ
from dicomwire.net.server import Handler, Server
from dicomwire.services.verification import handle_echo

BIN = os.path.dirname(sys.executable)
OUR_ECHOSCU = os.path.join(BIN, "echoscu")
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def dcmtk(tool: str) -> str | None:
    """Path of a DCMTK tool, None when DCMTK is not installed."""
    path = shutil.which(tool, path="/usr/bin:/usr/local/bin")
    return path


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


async def run_command(argv: list[str], env: dict[str, str] | None = None, limit: float = 30.0) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@asynccontextmanager
async def our_scp(handler: Handler = handle_echo, **settings: object) -> AsyncIterator[Server]:
    server = Server(AcceptorSettings(**settings), {CEchoRQ: handler})  # type: ignore[arg-type]
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


def run_async(body: Callable[[], Awaitable[None]], limit: float = 60.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(body(), limit)

    asyncio.run(bounded())
