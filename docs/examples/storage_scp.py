"""Storage SCP: write every received instance to a directory.  ``python storage_scp.py DIRECTORY PORT``"""

from __future__ import annotations

import asyncio
import sys

import dicomwire


def on_stored(outcome: dicomwire.StoreOutcome) -> None:
    print(f"stored {outcome.path}" if outcome.path else f"failed: 0x{outcome.status:04X} {outcome.error}")


async def start(directory: str, port: int = 0, host: str = "127.0.0.1") -> dicomwire.Server:
    """A running server (``port=0``: any free port, see ``server.port``)."""
    settings = dicomwire.AcceptorSettings(
        ae_title="STORE-EXAMPLE", supported=dicomwire.all_storage_contexts()
    )
    # StorageSCP streams each data set into a temporary file, renamed when complete.
    server = dicomwire.Server(settings, store=dicomwire.StorageSCP(directory, on_stored=on_stored))
    await server.start(host, port)
    return server


async def main(directory: str, port: int) -> None:
    server = await start(directory, port, host="0.0.0.0")
    print(f"listening on port {server.port}, storing into {directory}")
    try:
        await server.serve_forever()
    finally:
        await server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
