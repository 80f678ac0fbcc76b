"""Index locations, engines and pools, retry rules: what needs no database server.

The PostgreSQL cases that need a server are in ``test_postgres.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from dicomwire.archive import database
from dicomwire.archive.database import (
    IndexUnavailable,
    create_engine,
    describe_error,
    index_url,
    retryable,
    shown_url,
)


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),  # a driver chosen: kept
        ("sqlite:////var/archive/index.sqlite", "sqlite:////var/archive/index.sqlite"),
        ("index.sqlite", "sqlite:///index.sqlite"),
        ("/var/archive/index.sqlite", "sqlite:////var/archive/index.sqlite"),
    ],
)
def test_index_url_maps_plain_postgresql_to_psycopg_and_paths_to_sqlite(location: str, url: str) -> None:
    assert index_url(location) == url


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        (
            "postgresql://dicom:s3cr%40t@db.example:5432/pacs",
            "postgresql+psycopg://dicom:***@db.example:5432/pacs",
        ),
        ("postgresql://dicom@db/pacs?sslmode=require", "postgresql+psycopg://dicom@db/pacs?sslmode=require"),
        ("postgresql://dicom:secret@db:notaport/pacs", "postgresql://dicom:***@db:notaport/pacs"),
        ("index.sqlite", "sqlite:///index.sqlite"),
    ],
)
def test_shown_url_hides_the_password(location: str, shown: str) -> None:
    assert shown_url(location) == shown
    assert "secret" not in shown and "s3cr" not in shown


def test_postgresql_engine_pools_with_a_ping_and_takes_pool_sizes_from_the_url() -> None:
    """No connection is made: the engine and its pool only."""
    engine = create_engine("postgresql://u:pw@127.0.0.1:1/db")
    try:
        pool = engine.pool
        assert isinstance(pool, sa.QueuePool)
        assert (pool.size(), pool._max_overflow) == (database.POOL_SIZE, database.MAX_OVERFLOW)
        assert pool._pre_ping and pool._timeout == database.POOL_TIMEOUT
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
    engine = create_engine(
        "postgresql://u@127.0.0.1:1/db?pool_size=2&max_overflow=3&pool_timeout=4&sslmode=disable"
    )
    try:
        pool = engine.pool
        assert isinstance(pool, sa.QueuePool)
        assert (pool.size(), pool._max_overflow, pool._timeout) == (2, 3, 4.0)
        assert dict(engine.url.query) == {"sslmode": "disable"}  # the rest goes to the driver
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("nosuchdb://h/db", "no such kind of database: nosuchdb://h/db"),
        ("postgresql://u:pw@h:notaport/db", "not a database URL: postgresql://u:***@h:notaport/db"),
        ("postgresql://u@h/db?pool_size=many", "pool_size in the index URL must be a number"),
        ("mysql://u:pw@h/db", "the database driver is not installed"),
    ],
)
def test_a_bad_location_is_index_unavailable(location: str, message: str) -> None:
    with pytest.raises(IndexUnavailable, match=re.escape(message)) as raised:
        create_engine(location)
    assert "pw" not in str(raised.value)


def test_sqlite_engine_creates_the_directory(tmp_path: Path) -> None:
    engine = create_engine(str(tmp_path / "deep" / "index.sqlite"))
    try:
        assert (tmp_path / "deep").is_dir()
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (exc.IntegrityError("INSERT", {}, _DriverError("duplicate key", "23505")), True),
        (exc.OperationalError("UPDATE", {}, _DriverError("deadlock detected", "40P01")), True),
        (exc.OperationalError("UPDATE", {}, _DriverError("could not serialize", "40001")), True),
        (exc.OperationalError("SELECT", {}, _DriverError("connection refused")), False),
        (exc.OperationalError("SELECT", {}, _DriverError("lock timeout", "55P03")), False),
    ],
)
def test_retryable(error: exc.DBAPIError, again: bool) -> None:
    assert retryable(error) is again


def test_describe_error_is_the_drivers_message_on_one_line() -> None:
    error = exc.OperationalError(
        "SELECT 1", {"password": "x"}, _DriverError("connection failed: refused\n  Is the server running?")
    )
    assert describe_error(error) == "connection failed: refused Is the server running?"
