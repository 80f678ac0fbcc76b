"""The yardstick of bench.echo: what Python itself can do, with no DICOM in it.

A minimal uvloop ``asyncio.Protocol`` pair that frames a 96-byte PDU shaped like a
P-DATA-TF carrying a C-ECHO (6-byte header: type, reserved, 4-byte big-endian
length; then 90 bytes of body) and answers each one with another.  One connection
over 127.0.0.1 with TCP_NODELAY, one PDU in flight, as a C-ECHO round trip is.

    python -m bench._floor server PORT        # until SIGTERM
    python -m bench._floor client PORT COUNT  # prints round trips/s
    python -m bench._floor inproc COUNT       # both ends on one loop; prints round trips/s

The client times COUNT round trips after 200 untimed ones, inside its process (no
start-up in the figure), and prints their rate; bench.echo times whole runs instead,
as it does the DICOM pairs.  Never imported by the tools, never asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from typing import Final, cast

import uvloop

HEADER: Final = 6
PDU_SIZE: Final = 96
PDU: Final = bytes([0x04, 0x00]) + (PDU_SIZE - HEADER).to_bytes(4, "big") + bytes(PDU_SIZE - HEADER)
WARM_UP: Final = 200


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Framer(asyncio.Protocol):
    """Buffers bytes, cuts them into PDUs by their header, hands each to ``on_pdu``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        _nodelay(transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEADER:
            end = HEADER + int.from_bytes(buffer[2:6], "big")
            if len(buffer) < end:
                return
            pdu = bytes(buffer[:end])
            del buffer[:end]
            self.on_pdu(pdu)

    def on_pdu(self, pdu: bytes) -> None:
        raise NotImplementedError


class Answerer(Framer):
    """The server: answers every PDU with one of the same size."""

    def on_pdu(self, pdu: bytes) -> None:
        assert self.transport is not None
        self.transport.write(PDU)


class Asker(Framer):
    """The client: sends a PDU, waits for the answer, ``total`` times; times the last ``timed``."""

    def __init__(self, total: int, timed: int) -> None:
        super().__init__()
        self.left = total
        self.timed = timed
        self.started = 0.0
        self.done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.left == self.timed:
            self.started = time.perf_counter()
        self.transport.write(PDU)

    def on_pdu(self, pdu: bytes) -> None:
        self.left -= 1
        if self.left:
            self._send()
        elif not self.done.done():
            self.done.set_result(self.timed / (time.perf_counter() - self.started))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("closed before the last answer"))


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Answerer, "127.0.0.1", port)
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    async with server:
        await stop.wait()


async def ask(port: int, count: int) -> float:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        lambda: Asker(count + WARM_UP, count), "127.0.0.1", port
    )
    try:
        return await protocol.done
    finally:
        transport.close()


async def in_one_loop(count: int) -> float:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Answerer, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    async with server:
        return await ask(port, count)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "server":
        uvloop.run(serve(int(args[1])))
    elif len(args) == 3 and args[0] == "client":
        print(f"{uvloop.run(ask(int(args[1]), int(args[2]))):.1f}")
    elif len(args) == 2 and args[0] == "inproc":
        print(f"{uvloop.run(in_one_loop(int(args[1]))):.1f}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
