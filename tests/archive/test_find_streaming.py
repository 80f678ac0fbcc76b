"""C-FIND at size: the matches stream from the index as they are read, and a C-CANCEL stops
the database work (the index's generator closed, its cursor and connection released)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pydicom
import pytest
import sqlalchemy as sa
from archive_helpers import area, config, connect, find_all, instance, run, running, study_query

import dicomwire
from dicomwire.archive import schema
from dicomwire.archive.index import Index
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.service import Archive

MANY = 5_000
STUDY = "1.2.826.0.1.3680043.10.1009.80"
SERIES = f"{STUDY}.1"


def bulk(index: Index, count: int) -> None:
    """``count`` instances in one series, written directly (C-FIND reads no file)."""
    index.add_instance(
        "ARCHIVE",
        instance(f"{SERIES}.0", study=STUDY, series=SERIES),
        path="p0",
        size=1,
        transfer_syntax="1.2",
    )
    table = schema.instance
    with index.engine.begin() as connection:
        first = dict(connection.execute(sa.select(table)).mappings().one())
        del first["id"]
        rows = [{**first, "sop_instance_uid": f"{SERIES}.{n}", "path": f"p{n}"} for n in range(1, count)]
        connection.execute(sa.insert(table), rows)


def image_query() -> pydicom.Dataset:
    query = pydicom.Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = STUDY
    query.SeriesInstanceUID = SERIES
    query.SOPInstanceUID = ""
    return query


class Statements:
    """Counts the SELECTs the index runs (each batch of rows is one)."""

    def __init__(self, archive: Archive) -> None:
        assert archive.index is not None
        self.count = 0
        sa.event.listen(archive.index.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        self.count += sql.lstrip().upper().startswith("SELECT")


def index_url(backend: str) -> str | None:
    """None (the archive's default SQLite file), or a new PostgreSQL database."""
    if backend == "sqlite":
        return None
    import pg_server

    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    return pg_server.shared().create_database("streaming")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_cancel_after_the_first_match_stops_the_database_work(tmp_path: Path, backend: str) -> None:
    cfg = config(area(tmp_path))
    options = ArchiveOptions(host_lookup=False, index_url=index_url(backend))

    async def main() -> None:
        async with running(cfg, options) as archive:
            assert archive.index is not None
            bulk(archive.index, MANY)
            pool = archive.index.engine.pool
            selects = Statements(archive)
            async with connect(archive) as assoc:
                statuses: list[int] = []
                at_first: int | None = None
                started = time.perf_counter()
                async for response in dicomwire.find(assoc, image_query(), model="study", cancel_after=1):
                    at_first = selects.count if at_first is None else at_first
                    statuses.append(response.status)
                cancelled_in = time.perf_counter() - started
                # the first match went out after the ids' statement and one batch of one row
                assert at_first is not None and at_first <= 3
                assert statuses[-1] == dicomwire.status.CANCEL
                pending = len(statuses) - 1
                assert 1 <= pending < MANY // 10, pending
                # the generator was closed before the final response: its connection is back
                assert pool.checkedout() == 0  # type: ignore[attr-defined]
                stopped_at = selects.count
                assert stopped_at < 20, stopped_at  # a full read is ~25 batches
                await asyncio.sleep(0.2)
                assert selects.count == stopped_at  # and nothing runs on behind our back
                # the archive stays usable, on the same association and on new ones
                matches, final = await find_all(assoc, study_query(StudyInstanceUID=STUDY))
                assert final == dicomwire.status.SUCCESS and len(matches) == 1
            async with connect(archive) as assoc:
                stored = await dicomwire.store(assoc, instance("1.2.826.0.1.3680043.10.1009.81.1.1.1"))
                assert stored.status == dicomwire.status.SUCCESS
                started = time.perf_counter()
                everything, final = await find_all(assoc, image_query())
                full_in = time.perf_counter() - started
                assert final == dicomwire.status.SUCCESS and len(everything) == MANY
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
            # not a timed test: the cancelled query is a small part of the whole one
            assert cancelled_in < full_in

    run(main(), limit=120)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_first_match_before_the_last_row_is_read(tmp_path: Path, backend: str) -> None:
    """The index reads the matching ids (on PostgreSQL from a server-side cursor), then the
    rows a batch at a time: at the first match, only the first (one-row) batch has been
    built, whatever the number of matches."""
    with Index.open(index_url(backend) or f"sqlite:///{tmp_path / 'index.sqlite'}") as index:
        bulk(index, 5000)
        built: list[int] = []
        cursors: list[str] = []

        def seen(_conn: Any, cursor: Any, sql: str, parameters: Any, *_args: Any) -> None:
            if "IN (" in sql:
                built.append(len(parameters))
            elif sql.lstrip().startswith("SELECT instance.id"):
                cursors.append(type(cursor).__name__)

        sa.event.listen(index.engine, "before_cursor_execute", seen)
        found = index.find("ARCHIVE", "study", image_query())
        first = next(found)
        assert first.SOPInstanceUID == f"{SERIES}.0"
        assert built == [1]
        assert cursors == (["ServerCursor"] if backend == "postgresql" else ["Cursor"])
        assert sum(1 for _ in found) == 4999
        assert built[:5] == [1, 4, 16, 64, 256] and max(built) == 256
