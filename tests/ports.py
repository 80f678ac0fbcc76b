"""Loopback ports for the tests that start servers as processes."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepting(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    argv: Sequence[object], port: int, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """A server process listening on 127.0.0.1:``port`` until the block ends (its log:
    ``.stderr``, readable once it has stopped)."""
    process = subprocess.Popen(
        [str(a) for a in argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(1000):  # polling a foreign process's port: there is no event to wait on
            assert process.poll() is None, f"{argv[0]} exited early: {process.communicate()[1]}"
            if accepting(port):
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.02)
        else:
            raise AssertionError(f"{argv[0]} does not listen on {port}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
