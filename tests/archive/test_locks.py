"""The locks an archive's processes share (archive.locks): flock files for an SQLite index that
several workers of one host serve, PostgreSQL advisory locks for a shared index.

Each backend is taken through the same steps: a name held once in the whole archive (another
"process", here another instance over the same directory or database, is told no at once, and
so is this one), slots handed out until none is left, given back on release and when the
holder dies (a killed process for flock, a terminated session for PostgreSQL), and the area
lock waited for.  Waits are bounded and watched (a thread's event, pg_locks), never slept.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import sqlalchemy as sa

import pg_server
from dicomwire.archive.database import create_engine, sqlite_url
from dicomwire.archive.locks import (
    SLOTS,
    AdvisoryLocks,
    FileLocks,
    Held,
    SharedLocks,
    area_lock,
    shared_locks,
    store_lock,
)

LIMIT: Final = 30.0


def poll(condition: Any, what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# -- which locks ------------------------------------------------------------------------------------


def test_an_sqlite_index_has_shared_locks_only_with_several_workers(tmp_path: Path) -> None:
    database = tmp_path / "index.sqlite"
    engine = create_engine(sqlite_url(database))
    try:
        assert shared_locks(engine, 1) is None
        locks = shared_locks(engine, 2)
        assert isinstance(locks, FileLocks)
        assert locks.directory == Path(f"{database}-locks")
        assert not locks.remote
    finally:
        engine.dispose()
    memory = create_engine("sqlite://")
    assert shared_locks(memory, 4) is None


# -- both backends, the same behaviour -----------------------------------------------------------------


@pytest.fixture(params=["files", "postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SharedLocks, SharedLocks]]:
    """Two processes' locks over one archive (two instances: to the backend, two holders)."""
    if request.param == "files":
        yield FileLocks(tmp_path / "locks"), FileLocks(tmp_path / "locks")
        return
    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    url = pg_server.shared().create_database()
    engines = [create_engine(url), create_engine(url)]
    locks = AdvisoryLocks(engines[0]), AdvisoryLocks(engines[1])
    try:
        yield locks
    finally:
        for lock, engine in zip(locks, engines, strict=True):
            lock.close()
            engine.dispose()


def test_a_name_is_held_once_in_the_whole_archive(pair: tuple[SharedLocks, SharedLocks]) -> None:
    first, second = pair
    held = first.try_acquire(store_lock("ARCHIVE"))
    assert isinstance(held, Held)
    assert second.try_acquire(store_lock("ARCHIVE")) is None  # another process
    assert first.try_acquire(store_lock("ARCHIVE")) is None  # this one (a session takes a lock twice)
    other = second.try_acquire(store_lock("OTHER"))
    assert other is not None
    first.release(held)
    again = second.try_acquire(store_lock("ARCHIVE"))
    assert again is not None
    for lock in (other, again):
        second.release(lock)


def test_slots_are_handed_out_until_none_is_left(pair: tuple[SharedLocks, SharedLocks]) -> None:
    first, second = pair
    taken = [first.try_slot(SLOTS, 3), second.try_slot(SLOTS, 3), first.try_slot(SLOTS, 3)]
    assert all(held is not None for held in taken)
    assert len({held.name for held in taken if held is not None}) == 3
    assert first.try_slot(SLOTS, 3) is None
    assert second.try_slot(SLOTS, 3) is None
    given_back = taken[1]
    assert given_back is not None
    second.release(given_back)
    last = first.try_slot(SLOTS, 3)
    assert last is not None and last.name == given_back.name
    assert first.try_slot(SLOTS, 0) is None


def test_an_area_lock_is_waited_for(pair: tuple[SharedLocks, SharedLocks]) -> None:
    first, second = pair
    held = first.acquire(area_lock("ARCHIVE"))
    got = threading.Event()
    errors: list[BaseException] = []

    def wait_for_it() -> None:
        try:
            mine = second.acquire(area_lock("ARCHIVE"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            return
        got.set()
        second.release(mine)

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    assert not got.wait(0.2)  # a bounded look that it waits, not a synchronisation
    first.release(held)
    assert got.wait(LIMIT)
    thread.join(LIMIT)
    assert errors == []


# -- a holder that dies ----------------------------------------------------------------------------------


def test_a_killed_process_gives_its_file_locks_back(tmp_path: Path) -> None:
    directory = tmp_path / "locks"
    script = (
        "import sys, time\n"
        "from dicomwire.archive.locks import FileLocks\n"
        "held = FileLocks(sys.argv[1]).try_slot('slots', 1)\n"
        "print('held' if held else 'none', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        ours = FileLocks(directory)
        assert ours.try_slot(SLOTS, 1) is None
        holder.kill()
        holder.wait(LIMIT)
        assert ours.try_slot(SLOTS, 1) is not None
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(LIMIT)


def test_a_dead_session_gives_its_advisory_locks_back_and_a_new_one_is_made() -> None:
    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    url = pg_server.shared().create_database()
    engine, other_engine = create_engine(url), create_engine(url)
    locks, other = AdvisoryLocks(engine), AdvisoryLocks(other_engine)
    try:
        held = locks.try_slot(SLOTS, 1)
        assert held is not None
        assert other.try_slot(SLOTS, 1) is None
        with other_engine.connect() as connection:  # the server ends the session (a restart, a crash)
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
                )
            )
        poll(lambda: other.try_slot(SLOTS, 1) is not None or None, "the dead session's slot")
        locks.release(held)  # taken on the session that ended: nothing to give back, no error
        assert locks.try_slot(SLOTS, 2) is not None  # on a new session
    finally:
        for lock in (locks, other):
            lock.close()
        engine.dispose()
        other_engine.dispose()
