"""``--workers n`` (dicomwire's own): n processes of one archive serving one port.

DCMTK's dcmqrscp forks a child for every association.  Ours serves many associations in one
process; ``--workers`` runs several such processes, so that one host's cores all work.

The process started (the *supervisor*) does what one archive does before it serves: it
checks the command line and the configuration, listens on the port (the port's errors are
its own, with DCMTK's lines), opens the index once (creating or upgrading its schema) and
reconciles the storage areas.  Then it starts the workers, each ``python -m
dicomwire.cli.dcmqrscp`` with the same arguments and :data:`WORKER_ENVIRONMENT` saying which
worker it is and which inherited descriptors are the listening sockets.  The kernel hands
each new connection to one of the workers waiting on them.  A worker opens its own index
(its own pool of connections), serves on the inherited sockets, drops privileges (GroupName,
UserName) and says it is ready through a pipe.  What the workers must count together is
held in :mod:`dicomwire.archive.locks` (a slot of MaxAssociations per association, and so on).

The supervisor serves nothing and keeps its privileges, so that a worker it starts again
reads the same TLS key and users file as the first did.  It:

* starts a worker again when it dies (killed, or an exit code other than 0), and logs it;
  one that dies before it was ready is started again after a pause that doubles (1 s up to
  30 s), so that a worker that cannot start does not spin;
* stops the archive when a worker fails at start-up (the worker printed its own ``F:``
  line; the supervisor exits with its code), or exits 0 of its own accord (a peer asked it
  to, ``--allow-shutdown``);
* passes SIGTERM and SIGINT on to every worker and exits 0 once they have stopped (SIGKILL
  for one still running after :data:`STOP_GRACE` seconds).

A worker ends when its supervisor does, whatever ends it (Linux's ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "STOP_GRACE",
    "WORKER_ENVIRONMENT",
    "Supervisor",
    "WorkerRole",
    "die_with_parent",
    "inherited_sockets",
    "report_ready",
    "supported",
    "worker_role",
]

#: Set in a worker's environment: ``number:supervisor pid:ready fd:socket fd,socket fd``.
WORKER_ENVIRONMENT: Final = "DICOMWIRE_DCMQRSCP_WORKER"
STOP_GRACE: Final = 30.0  # seconds a worker has to stop before it is killed
FIRST_PAUSE: Final = 1.0  # seconds before starting again a worker that died before it was ready
LONGEST_PAUSE: Final = 30.0
_PR_SET_PDEATHSIG: Final = 1
_MODULE: Final = "dicomwire.cli.dcmqrscp"


def supported() -> bool:
    """Can this platform run workers (a process descriptor to watch each one: Linux)?"""
    return hasattr(os, "pidfd_open")


# -- the worker's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerRole:
    """Who a worker is: its number, its supervisor, its ready pipe and its listening sockets."""

    number: int
    supervisor: int
    ready_fd: int
    sockets: tuple[int, ...]

    def encode(self) -> str:
        fds = ",".join(str(fd) for fd in self.sockets)
        return f"{self.number}:{self.supervisor}:{self.ready_fd}:{fds}"

    @classmethod
    def decode(cls, text: str) -> WorkerRole:
        number, supervisor, ready_fd, fds = text.split(":")
        return cls(int(number), int(supervisor), int(ready_fd), tuple(int(fd) for fd in fds.split(",") if fd))


def worker_role() -> WorkerRole | None:
    """This process's role when a supervisor started it, else None."""
    text = os.environ.get(WORKER_ENVIRONMENT)
    if not text:
        return None
    try:
        return WorkerRole.decode(text)
    except ValueError:
        raise ValueError(f"{WORKER_ENVIRONMENT} is not a worker's: {text!r}") from None


def die_with_parent(role: WorkerRole) -> None:
    """Be sent SIGTERM when the supervisor ends (Linux); end now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != role.supervisor:
        raise SystemExit(0)


def inherited_sockets(role: WorkerRole) -> list[socket.socket]:
    return [socket.socket(fileno=fd) for fd in role.sockets]


def report_ready(role: WorkerRole) -> None:
    """Tell the supervisor that this worker serves."""
    with contextlib.suppress(OSError):
        os.write(role.ready_fd, b"1")
    with contextlib.suppress(OSError):
        os.close(role.ready_fd)


# -- the supervisor ---------------------------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    number: int
    process: subprocess.Popen[bytes] | None = None
    ready: bool = False
    failures: int = 0  # deaths before it was ready, in a row
    restart: asyncio.TimerHandle | None = None


_Event = tuple[str, "_Worker | None", "subprocess.Popen[bytes] | None", int]


class Supervisor:
    """Starts ``count`` workers on ``sockets`` and keeps them running (see the module)."""

    def __init__(
        self, argv: Sequence[str], sockets: Sequence[socket.socket], count: int, log: logging.Logger
    ) -> None:
        self.command = [sys.executable, "-m", _MODULE, *argv]
        self.sockets = list(sockets)
        self.log = log
        self.workers = [_Worker(number) for number in range(1, count + 1)]
        self._events: asyncio.Queue[_Event] = asyncio.Queue()
        self._fds: set[int] = set()  # pipes and process descriptors being watched

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process is not None and w.process.returncode is None]

    async def run(self, ready: Callable[[], None] | None = None) -> int:
        """Start the workers; once every one serves call ``ready``, then supervise them
        until signalled or stopped; the exit code."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for number in signals:
            loop.add_signal_handler(number, self._events.put_nowait, ("signal", None, None, number))
        try:
            for worker in self.workers:
                self._start(worker)
            code = await self._starting()
            if code is None:
                if ready is not None:
                    ready()
                code = await self._supervising()
            return code
        finally:
            await self._stop_all()
            for number in signals:
                loop.remove_signal_handler(number)
            for fd in list(self._fds):
                self._unwatch(fd)

    # -- starting -------------------------------------------------------------------------------------
    def _start(self, worker: _Worker) -> None:
        worker.restart = None
        read_end, write_end = os.pipe()
        role = WorkerRole(worker.number, os.getpid(), write_end, tuple(s.fileno() for s in self.sockets))
        environment = {**os.environ, WORKER_ENVIRONMENT: role.encode()}
        try:
            process = subprocess.Popen(
                self.command, env=environment, stdin=subprocess.DEVNULL, pass_fds=(write_end, *role.sockets)
            )
        except OSError:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        worker.process, worker.ready = process, False
        self._watch(read_end, self._on_ready_pipe, worker, process, read_end)
        pidfd = os.pidfd_open(process.pid)
        self._watch(pidfd, self._on_exit, worker, process, pidfd)
        self.log.info("worker %d started (pid %d)", worker.number, process.pid)

    def _watch(self, fd: int, callback: Callable[..., None], *args: object) -> None:
        self._fds.add(fd)
        asyncio.get_running_loop().add_reader(fd, callback, *args)

    def _unwatch(self, fd: int) -> None:
        if fd in self._fds:
            self._fds.discard(fd)
            asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)

    def _on_ready_pipe(self, worker: _Worker, process: subprocess.Popen[bytes], fd: int) -> None:
        try:
            data = os.read(fd, 16)
        except OSError:
            data = b""
        if data:
            self._events.put_nowait(("ready", worker, process, 0))
        else:
            self._unwatch(fd)

    def _on_exit(self, worker: _Worker, process: subprocess.Popen[bytes], fd: int) -> None:
        self._unwatch(fd)
        code = process.wait()  # it has ended: reaped at once
        self._events.put_nowait(("exit", worker, process, code))

    async def _starting(self) -> int | None:
        """None once every worker serves; else the exit code (a signal, a worker that failed)."""
        waiting = set(self.workers)
        while waiting:
            kind, worker, process, value = await self._events.get()
            if kind == "signal":
                return 0
            assert worker is not None
            if process is not worker.process:
                continue
            if kind == "ready":
                assert process is not None
                worker.ready = True
                waiting.discard(worker)
                self.log.info("worker %d (pid %d) serves", worker.number, process.pid)
            elif kind == "exit":
                if value == 0:
                    return 0
                assert process is not None
                self.log.error(
                    "worker %d (pid %d) could not start (%s)", worker.number, process.pid, _why(value)
                )
                return value if value > 0 else 1
        return None

    # -- supervising --------------------------------------------------------------------------------
    async def _supervising(self) -> int:
        while True:
            kind, worker, process, value = await self._events.get()
            if kind == "signal":
                return 0
            assert worker is not None
            if kind == "restart":
                self._start_again(worker)
                continue
            if process is not worker.process:
                continue
            assert process is not None
            if kind == "ready":
                worker.ready, worker.failures = True, 0
                self.log.info("worker %d (pid %d) serves", worker.number, process.pid)
                continue
            if value == 0:  # of its own accord: a peer asked the archive to stop
                self.log.info("worker %d (pid %d) stopped: the archive stops", worker.number, process.pid)
                return 0
            self._died(worker, process, value)

    def _died(self, worker: _Worker, process: subprocess.Popen[bytes], code: int) -> None:
        if worker.ready:
            pause = 0.0
        else:
            worker.failures += 1
            pause = min(FIRST_PAUSE * 2 ** (worker.failures - 1), LONGEST_PAUSE)
        worker.process = None
        self.log.warning(
            "worker %d (pid %d) ended (%s); starting it again%s",
            worker.number,
            process.pid,
            _why(code),
            f" in {pause:g} s" if pause else "",
        )
        if pause:
            event: _Event = ("restart", worker, None, 0)
            worker.restart = asyncio.get_running_loop().call_later(pause, self._events.put_nowait, event)
        else:
            self._start_again(worker)

    def _start_again(self, worker: _Worker) -> None:
        try:
            self._start(worker)
        except OSError as exc:
            worker.failures += 1
            pause = min(FIRST_PAUSE * 2 ** (worker.failures - 1), LONGEST_PAUSE)
            self.log.error("cannot start worker %d: %s; trying again in %g s", worker.number, exc, pause)
            event: _Event = ("restart", worker, None, 0)
            worker.restart = asyncio.get_running_loop().call_later(pause, self._events.put_nowait, event)

    # -- stopping -----------------------------------------------------------------------------------
    async def _stop_all(self) -> None:
        """SIGTERM to every worker still running; SIGKILL after STOP_GRACE; all reaped."""
        for worker in self.workers:
            if worker.restart is not None:
                worker.restart.cancel()
                worker.restart = None
        alive = [w.process for w in self.workers if w.process is not None and w.process.returncode is None]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        running: set[subprocess.Popen[bytes] | None] = set(alive)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        while running:
            try:
                event = await asyncio.wait_for(self._events.get(), deadline - loop.time())
            except TimeoutError:
                break
            if event[0] == "exit":
                running.discard(event[2])
        for stuck in running:
            if stuck is None:
                continue
            self.log.warning("worker (pid %d) did not stop; killing it", stuck.pid)
            with contextlib.suppress(ProcessLookupError):
                stuck.kill()
            await asyncio.to_thread(stuck.wait)


def _why(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
