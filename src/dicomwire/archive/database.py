"""Where the archive's index lives: database URLs, engines and their connection pools, locks.

An index location is a SQLAlchemy URL or a plain file name (an SQLite file):

* ``sqlite:///path/index.sqlite`` or ``path/index.sqlite``: SQLite, one process per host (or the
  workers of one dcmqrscp: :mod:`dicomwire.archive.locks`).
* ``postgresql+psycopg://user:password@host:5432/database`` (``postgresql://`` and
  ``postgres://`` mean the same; the driver is psycopg 3, ``pip install
  'dicomwire[postgresql]'``): one index that several processes and hosts share.

PostgreSQL connections come from a pool (SQLAlchemy's ``QueuePool``): :data:`POOL_SIZE`
kept open, up to :data:`MAX_OVERFLOW` more while busy, :data:`POOL_TIMEOUT` seconds of
waiting for one before the operation fails, each checked with a ping before use (so a
restarted database server costs one failed ping, not a failed association) and replaced
after :data:`POOL_RECYCLE` seconds.  The URL's query may override them: ``pool_size``,
``max_overflow``, ``pool_timeout``, ``pool_recycle`` (taken out of the URL before it
reaches the driver; every other query parameter, ``sslmode`` say, goes to the driver).

Writers on PostgreSQL may collide (a unique key inserted by two processes at once, a
deadlock): :func:`retryable` says which failures a new attempt of the same transaction
cures.  :func:`lock_instance` holds one SOP instance for the whole of a store (index and
file) against every other process on the same database; :func:`lock_schema` makes
processes that start together create or upgrade the schema one after the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event, exc

from dicomwire.errors import DicomWireError

__all__ = [
    "MAX_OVERFLOW",
    "POOL_RECYCLE",
    "POOL_SIZE",
    "POOL_TIMEOUT",
    "IndexUnavailable",
    "create_engine",
    "describe_error",
    "index_url",
    "lock_instance",
    "lock_schema",
    "retryable",
    "shown_url",
    "sqlite_url",
    "unlock_instance",
]

POOL_SIZE: Final = 5  # connections kept open per process
MAX_OVERFLOW: Final = 20  # more while busy: one per association (MaxAssociations 16) and some
POOL_TIMEOUT: Final = 30.0  # seconds waiting for a free connection
POOL_RECYCLE: Final = 3600.0  # seconds: older connections are replaced (firewalls drop idle ones)
LOCK_TIMEOUT_MS: Final = 30_000  # waiting for another process's store of the same instance
BUSY_TIMEOUT_MS: Final = 30_000  # SQLite: waiting for another writer
WRITE: Final = "dicomwire_write"  # execution option: take SQLite's write lock at BEGIN

_POSTGRESQL: Final = "postgresql+psycopg"
_ALIASES: Final = {"postgresql": _POSTGRESQL, "postgres": _POSTGRESQL}
_POOL_PARAMETERS: Final = {
    "pool_size": int,
    "max_overflow": int,
    "pool_timeout": float,
    "pool_recycle": float,
}
# SQLSTATEs a new attempt of the transaction cures: serialization failure, deadlock
_RETRYABLE_STATES: Final = frozenset({"40001", "40P01"})
_SCHEMA_LOCK: Final = 0x64636D77_69726530  # "dcmwire0": one schema change at a time
_PASSWORD: Final = re.compile(r"(://[^:/@]*:)[^@/]*@")


class IndexUnavailable(DicomWireError):
    """The index database cannot be used: a bad URL, a missing driver, no connection."""


# -- locations -------------------------------------------------------------------------------


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def index_url(location: str) -> str:
    """The SQLAlchemy URL of an index location (see the module): a plain path becomes an
    SQLite URL, ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``."""
    scheme, found, rest = location.partition("://")
    if not found:
        return sqlite_url(location)
    return f"{_ALIASES.get(scheme, scheme)}://{rest}"


def shown_url(location: str) -> str:
    """The location as it may be logged: any password replaced by ``***``."""
    try:
        return sa.engine.make_url(index_url(location)).render_as_string(hide_password=True)
    except (exc.ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1***@", location)


def describe_error(error: BaseException) -> str:
    """A database error in one line (the driver's message, without SQL or parameters)."""
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return " ".join(lines[:2]) or type(cause).__name__


# -- engines -----------------------------------------------------------------------------------


def _pool_options(url: sa.URL) -> tuple[sa.URL, dict[str, Any]]:
    options: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT,
        "pool_recycle": POOL_RECYCLE,
        "pool_pre_ping": True,
    }
    for name, convert in _POOL_PARAMETERS.items():
        if name in url.query:
            value = url.query[name]
            try:
                options[name] = convert(value if isinstance(value, str) else value[-1])
            except ValueError:
                raise IndexUnavailable(f"{name} in the index URL must be a number") from None
    return url.difference_update_query(list(_POOL_PARAMETERS)), options


def create_engine(location: str, **options: Any) -> sa.Engine:
    """An Engine for the index at ``location`` (``options`` go to ``sqlalchemy.create_engine``
    and win over ours).  On PostgreSQL: the pool of the module.  On SQLite: WAL, foreign keys,
    a busy timeout, case-sensitive LIKE (dcmqrscp's matching is case sensitive) and explicit
    BEGIN (IMMEDIATE for writes).  Raises :class:`IndexUnavailable` for a bad location or a
    driver that is not installed (connecting happens later)."""
    try:
        url = sa.engine.make_url(index_url(location))
        if url.get_backend_name() == "postgresql":
            url, pool = _pool_options(url)
            options = {**pool, **options}
        engine = sa.create_engine(url, **options)
    except exc.NoSuchModuleError:
        raise IndexUnavailable(f"no such kind of database: {shown_url(location)}") from None
    except (exc.ArgumentError, ValueError) as error:
        raise IndexUnavailable(f"not a database URL: {shown_url(location)} ({error})") from None
    except ImportError as error:
        driver = "psycopg 3 (pip install 'dicomwire[postgresql]')" if "psycopg" in str(error) else error.name
        raise IndexUnavailable(f"the database driver is not installed: {driver}") from None
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN behind our back
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # a writer takes the lock up front: no deadlock upgrading a read lock, no lost race
        write = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# -- concurrency -------------------------------------------------------------------------------


def retryable(error: exc.DBAPIError) -> bool:
    """Would the same transaction, tried again, succeed?  A unique key another writer took
    first (the next attempt finds the row), a serialization failure, a deadlock."""
    if isinstance(error, exc.IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_STATES


def _shared_database(connection: sa.Connection) -> bool:
    return connection.dialect.name == "postgresql"


def lock_schema(connection: sa.Connection) -> None:
    """Inside a transaction: wait until no other process is creating or upgrading the schema
    (released at commit).  SQLite's write transaction already excludes the others."""
    if _shared_database(connection):
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))


def _instance_key(area: str, sop_instance_uid: str) -> int:
    digest = hashlib.sha256(f"{area}\0{sop_instance_uid}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_instance(connection: sa.Connection, area: str, sop_instance_uid: str) -> None:
    """Hold the instance against other processes on this database until :func:`unlock_instance`
    (or until the connection ends), waiting at most :data:`LOCK_TIMEOUT_MS` for one that holds
    it; leaves no transaction open.  Nothing to do on SQLite: one process per host uses it."""
    if not _shared_database(connection):
        return
    with connection.begin():
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
        connection.execute(sa.select(sa.func.pg_advisory_lock(_instance_key(area, sop_instance_uid))))


def unlock_instance(connection: sa.Connection, area: str, sop_instance_uid: str) -> None:
    """Release :func:`lock_instance`'s lock.  A connection that died has released it already;
    one that cannot release it is closed (never back to the pool still holding it)."""
    if not _shared_database(connection):
        return
    try:
        with connection.begin():
            connection.execute(sa.select(sa.func.pg_advisory_unlock(_instance_key(area, sop_instance_uid))))
    except exc.SQLAlchemyError:
        with contextlib.suppress(exc.SQLAlchemyError):
            connection.invalidate()
