"""Hold COUNT idle associations open on a server, for bench.many.

    python -m bench._idle HOST PORT COUNT [--keepalive S]

Each connection completes an A-ASSOCIATE negotiation (Verification, implicit VR little
endian; 16 at a time) and then sends nothing.  Once all are up it prints
``ready N SECONDS`` (N established) and waits for a line (or EOF) on stdin; then it
sends one C-ECHO on each, releases each, and prints ``released K`` (K answered and
released cleanly: still held by the server).  Every --keepalive seconds (default 25:
below the servers' 60 s idle timeout, never reached in a short run) each association
gets a C-ECHO, so a long run keeps its connections.  Never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

from dicomwire import uids
from dicomwire.config import RequestorSettings, Timeouts
from dicomwire.dcmtk.cmdline.options import run_event_loop
from dicomwire.net.association import Association
from dicomwire.net.client import open_association
from dicomwire.services.verification import echo

BATCH = 16


async def _open(host: str, port: int, settings: RequestorSettings, count: int) -> list[Association]:
    held: list[Association] = []
    for start in range(0, count, BATCH):
        batch = min(BATCH, count - start)
        results = await asyncio.gather(
            *(open_association(host, port, settings) for _ in range(batch)), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Association):
                held.append(result)
            else:
                print(f"association failed: {result!r}", file=sys.stderr, flush=True)
    return held


async def _keepalive(held: list[Association], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        for assoc in held:
            with contextlib.suppress(Exception):
                await echo(assoc, timeout=10)


async def _close(assoc: Association) -> bool:
    try:
        response = await echo(assoc, timeout=10)
        await assoc.release()
    except Exception:
        assoc.abort()
        return False
    return response.status == 0


async def hold(host: str, port: int, count: int, keepalive: float) -> int:
    settings = RequestorSettings(
        calling_ae="IDLE",
        called_ae="ANY-SCP",
        contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])],
        timeouts=Timeouts(connect=10, socket=None, acse=30, dimse=30),
    )
    started = time.perf_counter()
    held = await _open(host, port, settings, count)
    print(f"ready {len(held)} {time.perf_counter() - started:.3f}", flush=True)
    pinger = asyncio.get_running_loop().create_task(_keepalive(held, keepalive))
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    finally:
        pinger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pinger
    released = await asyncio.gather(*(_close(assoc) for assoc in held))
    print(f"released {sum(released)}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--keepalive", type=float, default=25.0, help="seconds between C-ECHOs (25)")
    args = parser.parse_args(argv)
    return run_event_loop(hold(args.host, args.port, args.count, args.keepalive))


if __name__ == "__main__":
    raise SystemExit(main())
