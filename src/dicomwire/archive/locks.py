"""Locks shared by every process that serves one archive: what must be counted or decided once.

Three things are archive-wide, not per process: the association limit (``MaxAssociations``:
a pool of that many *slots*, one held by each association from its request to its end),
the one storing association per AE title of ``--no-parallel-store`` (a lock per AE title,
tried at the request), and each storage area's quota: a lock per study, waited for around
the quota decision, the index row and the rename of each instance of the study, and for a
new study the area's lock too, so that two processes never both count the same room (the
study's bytes, the area's studies) or both make it.  Stores into different studies of an
area that exist already go on side by side.  Where the locks live follows the index,
since the index is what the processes share:

* PostgreSQL (:class:`AdvisoryLocks`): the database's advisory locks, on one index for every
  process of every host, on connections of their own (not the index's pool): the slots and
  the AE title locks are tried on one kept for them, a study or area lock is waited for on
  one of a small pool beside it.
* An SQLite file that several processes of one host serve (:class:`FileLocks`): ``flock(2)``
  on small files in a directory beside the database (``<index>-locks/``), on the host whose
  processes share the file (never over a network file system).

Both are let go by the operating system or the database when their holder ends, however it
ends: a PostgreSQL session's advisory locks when its connection closes, ``flock`` locks when
the process's descriptors close (``kill -9`` included), so that a crashed worker never keeps a
slot.  Named POSIX semaphores would not be, and are not used.

Within a process a name is held once at a time, whatever the backend (a PostgreSQL session
may take the same advisory lock twice): :meth:`SharedLocks.try_acquire` says no at once to a
name this process holds.  The calls do I/O (PostgreSQL: a round trip); ``remote`` says whether
they should run off the event loop.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy import exc

__all__ = [
    "LOCK_TIMEOUT",
    "SLOTS",
    "SQLITE_WRITER",
    "AdvisoryLocks",
    "FileLocks",
    "Held",
    "SharedLocks",
    "area_lock",
    "lock_key",
    "shared_locks",
    "store_lock",
    "study_lock",
]

LOCK_TIMEOUT: Final = 30.0  # seconds waiting for a study or area lock another process holds
SLOTS: Final = "slots"  # the association slots are SLOTS/0, SLOTS/1, ...
#: SQLite: held around a store's index writes and rename (one writer at a time; the others
#: wait on this lock, woken at once, not in SQLite's sleeping busy wait)
SQLITE_WRITER: Final = "sqlite-writer"
_NAMESPACE: Final = "dicomwire-lock"
_WAITERS: Final = 16  # PostgreSQL: connections waiting for (or holding) study and area locks


def lock_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a lock name."""
    digest = hashlib.sha256(f"{_NAMESPACE}\0{name}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def store_lock(ae_title: str) -> str:
    """The lock an association storing into ``ae_title`` holds (``--no-parallel-store``)."""
    return f"store/{ae_title}"


def area_lock(ae_title: str) -> str:
    """The lock held while a new study is counted against the area's ``max_studies``, room
    is made for it and its first instance indexed (and renamed into place)."""
    return f"area/{ae_title}"


def study_lock(ae_title: str, study_uid: str) -> str:
    """The lock held around the quota decision, the index row and the rename of an instance
    of one study (byte quota: two stores into one study never both count the same room)."""
    return f"study/{ae_title}/{study_uid}"


@dataclass(eq=False)
class Held:
    """A lock this process holds: give it back with :meth:`SharedLocks.release`."""

    name: str
    token: object = None
    local: threading.Lock | None = field(default=None, repr=False)


class SharedLocks:
    """Named locks, exclusive among the processes sharing an index and within this one."""

    remote = False  # do the calls wait on a server (run them in a thread)?

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held: set[str] = set()  # names of try_acquire's locks this process holds
        self._waits: dict[str, threading.Lock] = {}  # acquire(): one thread at a time

    # -- what the archive calls -------------------------------------------------------------------
    def try_acquire(self, name: str) -> Held | None:
        """The lock ``name`` if nobody holds it, else None at once.  May raise the backend's
        error (``sqlalchemy.exc.SQLAlchemyError``, ``OSError``)."""
        with self._guard:
            if name in self._held:
                return None
            self._held.add(name)
        token: object = None
        try:
            token = self._try(name)
        finally:
            if token is None:
                with self._guard:
                    self._held.discard(name)
        return None if token is None else Held(name, token)

    def try_slot(self, prefix: str, count: int) -> Held | None:
        """One of the ``count`` slots ``<prefix>/0`` ... (tried from a random one, so that
        processes seldom try the same), or None when every one is held."""
        start = random.randrange(count) if count > 0 else 0
        for offset in range(count):
            held = self.try_acquire(f"{prefix}/{(start + offset) % count}")
            if held is not None:
                return held
        return None

    def acquire(self, name: str) -> Held:
        """Wait for the lock ``name`` (at most :data:`LOCK_TIMEOUT` for another process's
        hold); raises ``TimeoutError`` or the backend's error."""
        with self._guard:
            local = self._waits.setdefault(name, threading.Lock())
        if not local.acquire(timeout=LOCK_TIMEOUT):
            raise TimeoutError(f"waited {LOCK_TIMEOUT:g} s for the lock {name}")
        try:
            token = self._wait(name)
        except BaseException:
            local.release()
            raise
        return Held(name, token, local)

    def try_wait(self, name: str) -> Held | None:
        """:meth:`acquire`'s lock ``name`` if nobody holds it, else None at once."""
        with self._guard:
            local = self._waits.setdefault(name, threading.Lock())
        if not local.acquire(blocking=False):
            return None
        token: object = None
        try:
            token = self._try(name)
        finally:
            if token is None:
                local.release()
        return None if token is None else Held(name, token, local)

    def release(self, held: Held) -> None:
        """Give ``held`` back (never raises: a backend that fails has let it go already)."""
        try:
            self._release(held)
        finally:
            if held.local is not None:
                held.local.release()
            else:
                with self._guard:
                    self._held.discard(held.name)

    def close(self) -> None:
        """Let every lock go (the process is stopping)."""

    # -- the backend -------------------------------------------------------------------------------
    def _try(self, name: str) -> object:
        """A token for ``name`` taken, or None when another process holds it."""
        return True

    def _wait(self, name: str) -> object:
        return True

    def _release(self, held: Held) -> None:
        return None


class FileLocks(SharedLocks):
    """``flock(2)`` on one file per name in ``directory`` (one host; see the module)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        super().__init__()
        self.directory = Path(directory)

    def _path(self, name: str) -> str:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return str(self.directory / f"{digest}.lock")

    def _open(self, name: str) -> int:
        try:
            return os.open(self._path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
        except FileNotFoundError:
            self.directory.mkdir(parents=True, exist_ok=True)
            return os.open(self._path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)

    def _try(self, name: str) -> object:
        fd = self._open(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        return fd

    def _wait(self, name: str) -> object:
        fd = self._open(name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the holder is a store: it lets go in milliseconds
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _release(self, held: Held) -> None:
        if isinstance(held.token, int):
            os.close(held.token)  # closing the only descriptor lets the lock go


@dataclass(frozen=True)
class _SessionHold:
    key: int
    generation: int  # of the connection it was taken on


@dataclass(frozen=True)
class _PooledHold:
    key: int
    connection: sa.Connection


class AdvisoryLocks(SharedLocks):
    """PostgreSQL advisory locks on ``engine``'s database (every host; see the module)."""

    remote = True

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        # connections of their own, beside the index's pool (which the stores and queries
        # use up to its limit): the session of the tried locks, and those waited for
        self.engine = sa.create_engine(
            engine.url, pool_size=1, max_overflow=_WAITERS, pool_timeout=LOCK_TIMEOUT, pool_pre_ping=True
        )
        self._session: sa.Connection | None = None  # try_acquire's locks live in its session
        self._generation = 0
        self._session_guard = threading.Lock()

    def _try(self, name: str) -> object:
        key = lock_key(name)
        with self._session_guard:
            for attempt in range(2):  # a connection that died (the server restarted): a new one
                generation = self._generation
                try:
                    session = self._connected()
                    taken = session.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one()
                except exc.DBAPIError as error:
                    self._drop_session()
                    if attempt or not error.connection_invalidated:
                        raise
                    continue
                return _SessionHold(key, generation) if taken else None
        raise AssertionError("unreachable")

    def _connected(self) -> sa.Connection:
        if self._session is None:
            connection = self.engine.connect()
            self._session = connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._session

    def _drop_session(self) -> None:
        """The session is gone or unusable: its locks went with it."""
        if self._session is not None:
            with contextlib.suppress(exc.SQLAlchemyError):
                self._session.invalidate()
                self._session.close()
            self._session = None
        self._generation += 1

    def _wait(self, name: str) -> object:
        key = lock_key(name)
        connection = self.engine.connect()
        try:
            with connection.begin():
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT * 1000)}")
                connection.execute(sa.select(sa.func.pg_advisory_lock(key)))
        except BaseException:
            connection.close()
            raise
        return _PooledHold(key, connection)

    def _release(self, held: Held) -> None:
        token = held.token
        if isinstance(token, _PooledHold):
            try:
                with token.connection.begin():
                    token.connection.execute(sa.select(sa.func.pg_advisory_unlock(token.key)))
            except exc.SQLAlchemyError:
                with contextlib.suppress(exc.SQLAlchemyError):
                    token.connection.invalidate()  # never back to the pool still holding it
            finally:
                token.connection.close()
        elif isinstance(token, _SessionHold):
            with self._session_guard:
                if token.generation != self._generation or self._session is None:
                    return  # taken on a session that has ended: let go with it
                try:
                    self._session.execute(sa.select(sa.func.pg_advisory_unlock(token.key)))
                except exc.SQLAlchemyError:
                    self._drop_session()

    def close(self) -> None:
        with self._session_guard:
            self._drop_session()  # closed, not back to the pool with its locks
        self.engine.dispose()


def shared_locks(engine: sa.Engine, workers: int) -> SharedLocks | None:
    """The locks of the processes that share ``engine``'s index, None when this process has
    it to itself: PostgreSQL's advisory locks (any number of processes and hosts), or with
    ``workers`` above 1 files beside an SQLite database (:class:`FileLocks`)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    database = engine.url.database
    if workers > 1 and database and database != ":memory:" and not database.startswith("file:"):
        return FileLocks(f"{database}-locks")
    return None
