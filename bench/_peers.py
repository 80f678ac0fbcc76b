"""Start and stop the servers the benchmarks compare: ours, DCMTK's and pynetdicom's."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent
# DCMTK leaves Nagle on unless told: compare against it at its best.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def have_dcmtk() -> bool:
    return shutil.which("storescp") is not None and shutil.which("echoscu") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a port we do not own: no event to wait on
    raise RuntimeError(f"nothing listening on port {port} after {limit} s")


@contextmanager
def server(
    argv: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_listening(port, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


PYNETDICOM_ECHO_SCP = """
import sys
from pynetdicom import AE
from pynetdicom.sop_class import Verification
ae = AE(ae_title="ANY-SCP")
ae.add_supported_context(Verification)
ae.start_server(("127.0.0.1", int(sys.argv[1])), block=True)
"""

# pynetdicom's client now and then takes a fast peer's C-ECHO-RSP for an unexpected message
# and waits out its DIMSE timeout (seen against DCMTK's storescp and ours alike): a short
# timeout, so that bench.echo can retry such a run soon.
PYNETDICOM_ECHO_SCU = """
import sys
from pynetdicom import AE
from pynetdicom.sop_class import Verification
ae = AE(ae_title="ECHOSCU")
ae.dimse_timeout = 5
ae.add_requested_context(Verification)
assoc = ae.associate("127.0.0.1", int(sys.argv[1]), ae_title="ANY-SCP")
assert assoc.is_established
for _ in range(int(sys.argv[2])):
    status = assoc.send_c_echo()
    assert status.Status == 0
assoc.release()
"""

OUR_ECHO_SCP = """
import asyncio, sys
from dicomwire.dimse.messages import CEchoRQ
from dicomwire.net.server import Server
from dicomwire.config import AcceptorSettings
from dicomwire.services.verification import handle_echo

async def main() -> None:
    tls = None
    if len(sys.argv) > 2:  # KEY CERT CA: TLS, as dcmrecv +tls KEY CERT +cf CA
        from dicomwire.net.tls import TLSSettings
        key, cert, ca = sys.argv[2:5]
        tls = TLSSettings(private_key=key, certificate=cert, trusted_certificates=[ca])
    server = Server(AcceptorSettings(), {CEchoRQ: handle_echo}, tls=tls)
    await server.start("127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

from dicomwire.dcmtk.cmdline.options import run_event_loop

async def main_exit() -> int:
    await main()
    return 0

run_event_loop(main_exit())
"""


def wait_for(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """``proc``'s exit code as soon as it exits, None after ``timeout`` s (still running).

    Not ``Popen.wait(timeout)``: that polls, sleeping up to 50 ms between looks, which
    rounds a 0.1 s run up by as much.  A pidfd becomes readable the moment the process ends.
    """
    fd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return proc.wait() if ready else None


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds from start to exit of ``argv`` (which must succeed), seen through a pidfd."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    code = wait_for(proc, 600)
    elapsed = time.perf_counter() - started
    if code is None:
        proc.kill()
        proc.wait()
        raise subprocess.TimeoutExpired(argv, 600)
    if code != 0:
        raise subprocess.CalledProcessError(code, argv)
    return elapsed


# -- servers that fork a child per association (DCMTK's storescp --fork, dcmqrscp) -----------------

PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Become the reaper of our descendants' orphans (Linux): the children a forking server
    leaves when it is ended come to us, not to init, and ``stop_forking`` reaps them."""
    try:
        return int(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def children(pid: int) -> list[int]:
    """``pid``'s child processes, zombies included (empty once it has gone)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stop_forking(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End a forking server started with ``start_new_session`` and everything it forked.

    DCMTK's servers reap a finished child only when the next association comes, so at the
    end their last children are zombies: SIGTERM goes to the whole process group, and the
    children, orphaned, are reaped here (after ``adopt_orphans``; else init reaps them)."""
    kids = children(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    if proc.poll() is None and wait_for(proc, grace) is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + grace
    for kid in kids:
        killed = False
        while True:
            try:
                if os.waitpid(kid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break  # not (or no longer) ours to reap
            if time.monotonic() > deadline:
                if killed:
                    break  # left to init
                with contextlib.suppress(ProcessLookupError):
                    os.kill(kid, signal.SIGKILL)
                killed, deadline = True, time.monotonic() + grace
            time.sleep(0.005)


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB (empty once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values
