"""Running a dcmrecv (ours or DCMTK's) as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

OURS = [sys.executable, "-m", "dicomwire.cli.dcmrecv"]
DCMTK_DCMRECV = shutil.which("dcmrecv")
DCMTK_STORESCU = shutil.which("storescu")
STARTUP_LIMIT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dcmtk_env() -> dict[str, str]:
    return {**os.environ, "TCP_NODELAY": "1"}


@dataclass
class Running:
    """A started dcmrecv: its process, port and the stderr lines read so far."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=15)
        if self.reader is not None:
            self.reader.join(timeout=15)
        return code


def _drain(running: Running) -> None:
    stream = running.process.stderr
    assert stream is not None
    for line in stream:
        running.lines.append(line)


def _wait_for(running: Running, ready: Callable[[Running], bool]) -> bool:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            return False
        if ready(running):
            return True
        time.sleep(0.02)
    return False


def _accepting(running: Running) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=1):
            return True
    except OSError:
        return False


def _logged_listening(running: Running) -> bool:
    return f"listening on port {running.port}" in running.log


@contextmanager
def dcmrecv(
    args: Sequence[str], *, dcmtk: bool = False, preexec: Callable[[], None] | None = None
) -> Iterator[Running]:
    """Start a dcmrecv on a free port (retrying if it was taken) and stop it afterwards.

    Ours runs with ``-d`` and is ready when it logs "listening on port N";
    DCMTK's prints nothing once it listens, so a connection is attempted.
    """
    command = [DCMTK_DCMRECV or "dcmrecv"] if dcmtk else [*OURS, "-d"]
    ready = _accepting if dcmtk else _logged_listening
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            [*command, *args, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dcmtk_env(),
            preexec_fn=preexec,
        )
        running = Running(process, port)
        running.reader = threading.Thread(target=_drain, args=(running,), daemon=True)
        running.reader.start()
        if _wait_for(running, ready):
            break
        code = running.stop()
        if code != 64:  # anything but "port taken" is a real failure
            raise AssertionError(f"dcmrecv did not start (exit {code}):\n{running.log}")
    else:
        raise AssertionError("no free port for dcmrecv")
    try:
        yield running
    finally:
        running.stop()


def run_storescu(port: int, files: Sequence[str | Path], *options: str) -> subprocess.CompletedProcess[str]:
    """DCMTK's storescu to 127.0.0.1:port."""
    return subprocess.run(
        [DCMTK_STORESCU or "storescu", *options, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True,
        text=True,
        env=dcmtk_env(),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
