"""The archive on PostgreSQL: its schema, concurrent writers, several dcmqrscp processes over
one index and one storage tree, and the database going away and coming back.

The server is the suite's own (:mod:`pg_server`): skipped, with the reason, where PostgreSQL
or psycopg is not installed.  The outage test has a private server, which it stops with
``pg_ctl stop -m immediate`` (a crash of the database) and starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pydicom
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from archive_helpers import (
    STORE_AND_FIND,
    area,
    config,
    connect,
    find_all,
    instance,
    run,
    running,
    study_query,
)
from pydicom.dataset import Dataset

import dicomwire
import pg_server
from dicomwire import uids
from dicomwire.archive import schema
from dicomwire.archive.index import Index
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.store import STALE_TEMP_SECONDS, instance_file_name, reconcile
from dicomwire.dimse import status
from dicomwire.services.storage_sink import TEMP_PREFIX, TEMP_SUFFIX
from ports import accepting, free_port

SKIP: Final = pg_server.skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")

SC: Final = "1.2.840.10008.5.1.4.1.1.7"
TS: Final = "1.2.840.10008.1.2.1"
CONTEXTS: Final = [*STORE_AND_FIND, (uids.VERIFICATION, [TS])]
LIMIT: Final = 60.0  # seconds: any process start or stop, any poll
CONFIG: Final = """\
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16
IndexURL        = {url}

HostTable BEGIN
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
ARCHIVE         shared          RW  (500, 1024mb)   ANY
AETable END
"""


@pytest.fixture(scope="module")
def postgres() -> pg_server.PostgresServer:
    return pg_server.shared()


@pytest.fixture
def url(postgres: pg_server.PostgresServer) -> str:
    return postgres.create_database()


def poll(condition: Any, what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- the index ----------------------------------------------------------------------------------


def test_schema_is_alembics_and_matches_the_metadata(url: str) -> None:
    with Index.open(url) as index, index.engine.connect() as connection:
        assert schema.current_revision(connection) == schema.HEAD
        assert compare_metadata(MigrationContext.configure(connection), schema.metadata) == []
        assert connection.dialect.driver == "psycopg"


def test_processes_starting_together_create_the_schema_once(url: str) -> None:
    """Four engines (four processes, as the database sees them) open a new database at once."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait(LIMIT)
        try:
            Index.open(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(LIMIT)
    assert errors == []
    with Index.open(url) as index, index.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
            schema.HEAD
        ]


def count_rows(index: Index) -> dict[str, int]:
    with index.engine.connect() as connection:
        return {
            table.name: int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for table in schema.TABLES.values()
        }


def test_the_same_instances_indexed_by_two_writers_at_once_give_one_row_each(url: str) -> None:
    """Two engines add the same 30 instances (one new patient, study and series) at the same
    moments: the unique keys they race for are waited for, never duplicated, never an error."""
    first, second = Index.open(url), Index.open(url)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def add_all(index: Index, comment: str) -> None:
        try:
            for number in range(30):
                ds = instance(
                    f"1.2.826.0.1.3680043.10.1010.9.{number}", study="1.2.826.0.1.3680043.10.1010.9"
                )
                ds.ImageComments = comment
                barrier.wait(LIMIT)
                index.add_instance("ARCHIVE", ds, path=f"f{number}.dcm", size=10, transfer_syntax=TS)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    try:
        threads = [threading.Thread(target=add_all, args=(ix, c)) for ix, c in ((first, "1"), (second, "2"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LIMIT)
        assert errors == []
        assert count_rows(first) == {"patient": 1, "study": 1, "series": 1, "instance": 30}
    finally:
        first.close()
        second.close()


def waiting_for_advisory_locks(index: Index) -> int:
    with index.engine.connect() as connection:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return int(connection.exec_driver_sql(query).scalar_one())


def test_a_claimed_instance_makes_another_process_wait_and_another_instance_does_not(url: str) -> None:
    first, second = Index.open(url), Index.open(url)
    claimed = threading.Event()

    def claim_it() -> None:
        with second.claim("ARCHIVE", "1.2.3.4"):
            claimed.set()

    try:
        with first.claim("ARCHIVE", "1.2.3.4"):
            with second.claim("ARCHIVE", "1.2.3.5"), second.claim("OTHER", "1.2.3.4"):
                pass  # not held: at once
            thread = threading.Thread(target=claim_it)
            thread.start()
            poll(lambda: waiting_for_advisory_locks(first) == 1, "the second claim to wait")
            assert not claimed.is_set()
        assert claimed.wait(LIMIT)
        thread.join(LIMIT)
        assert waiting_for_advisory_locks(first) == 0
    finally:
        first.close()
        second.close()


def test_start_up_on_a_shared_index_leaves_the_temporary_files_of_other_processes(
    url: str, tmp_path: Path
) -> None:
    """Another process may be receiving into the area: only a temporary file nobody has
    written to for an hour is a leftover."""
    storage = area(tmp_path)
    fresh, stale = (Path(storage.path) / f"{TEMP_PREFIX}{name}{TEMP_SUFFIX}" for name in ("new", "old"))
    for path in (fresh, stale):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (an_hour_ago, an_hour_ago))
    with Index.open(url) as index:
        assert index.shared
        assert reconcile(index, storage) == (1, 0, 0)
    assert fresh.exists() and not stale.exists()


# -- the database goes away -----------------------------------------------------------------------


def archive_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if not name.startswith("."))


def test_database_outage_fails_requests_keeps_what_was_acknowledged_and_recovers(tmp_path: Path) -> None:
    """``pg_ctl stop -m immediate`` under a running archive, then the server back on its port:
    C-STORE is refused (0xA700) and C-FIND too while it is down, C-ECHO still answered; every
    instance acknowledged before is there afterwards, file and row, and the same association
    stores and finds again once the database is back (the pool pings before use)."""
    with pg_server.PostgresServer() as server:
        options = ArchiveOptions(host_lookup=False, index_url=server.create_database())
        cfg = config(area(tmp_path))
        before = [f"1.2.826.0.1.3680043.10.1010.7.{n}" for n in range(3)]
        refused, after = "1.2.826.0.1.3680043.10.1010.7.8", "1.2.826.0.1.3680043.10.1010.7.9"

        async def main() -> tuple[int, int, int, list[Dataset], int]:
            async with running(cfg, options) as archive, connect(archive, contexts=CONTEXTS) as assoc:
                for uid in before:
                    assert (await dicomwire.store(assoc, instance(uid))).status == status.SUCCESS
                await asyncio.to_thread(server.stop, "immediate")
                stored = (await dicomwire.store(assoc, instance(refused))).status
                _, found = await find_all(assoc, study_query())
                echoed = (await dicomwire.echo(assoc)).status
                await asyncio.to_thread(server.start)
                assert (await dicomwire.store(assoc, instance(after))).status == status.SUCCESS
                query = study_query()
                query.QueryRetrieveLevel = "IMAGE"
                query.SeriesInstanceUID = "1.2.9.1"
                query.SOPInstanceUID = ""
                matches, final = await find_all(assoc, query)
                return stored, found, echoed, matches, final

        stored, found, echoed, matches, final = run(main())
    assert stored == status.OUT_OF_RESOURCES
    assert found == status.OUT_OF_RESOURCES
    assert echoed == status.SUCCESS
    assert final == status.SUCCESS
    assert sorted(str(m.SOPInstanceUID) for m in matches) == sorted([*before, after])
    assert archive_files(tmp_path / "archive") == sorted(
        instance_file_name(SC, uid) for uid in [*before, after]
    )


# -- two dcmqrscp processes, one index, one storage tree --------------------------------------------


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(LIMIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(LIMIT)


def spawn(root: Path, name: str, options: list[str]) -> Process:
    port = free_port()
    log_path = root / f"{name}.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dicomwire.cli.dcmqrscp", "-v", *options, "-c", "dcmqrscp.cfg", str(port)],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(process, port, log_path)


@dataclass
class Pair:
    """Two archives (A reads the URL from its file, B from ``--index-url``) and their tree."""

    a: Process
    b: Process
    storage: Path


@pytest.fixture(scope="module")
def pair(postgres: pg_server.PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("shared")
    (root / "shared").mkdir()
    url = postgres.create_database()
    (root / "dcmqrscp.cfg").write_text(CONFIG.format(url=url))
    started = [spawn(root, "a", []), spawn(root, "b", ["--index-url", url])]  # together: a new schema
    try:
        for process in started:
            poll(
                lambda p=process: accepting(p.port) or p.process.poll() is not None,
                "dcmqrscp to listen",
            )
            assert process.process.poll() is None, process.log
        yield Pair(started[0], started[1], root / "shared")
    finally:
        for process in started:
            process.stop()
    for process in started:
        assert "index database: postgresql+psycopg://postgres@127.0.0.1" in process.log, process.log
        assert "Traceback" not in process.log, process.log


async def associate(process: Process) -> Any:
    contexts = [(SC, [TS]), ("1.2.840.10008.5.1.4.1.2.2.1", [TS])]
    return dicomwire.associate("127.0.0.1", process.port, called_ae="ARCHIVE", contexts=contexts)


def image_query(study: str, *keys: str) -> Dataset:
    query = study_query()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = study
    query.SeriesInstanceUID = ""
    query.SOPInstanceUID = ""
    for keyword in keys:
        setattr(query, keyword, "")
    return query


ROOT: Final = "1.2.826.0.1.3680043.10.1010.6."


def test_two_processes_store_and_query_at_once_over_one_index(pair: Pair) -> None:
    """A and B each store 10 instances of one shared study and 5 of a study of their own while
    both answer queries; then each finds all 30, and the tree holds 30 files."""
    shared = f"{ROOT}1"

    async def send(process: Process, name: str) -> None:
        async with await associate(process) as assoc:
            for number in range(15):
                study = shared if number % 3 else f"{ROOT}{name}"
                ds = instance(f"{ROOT}{name}.{number}", study=study, series=f"{study}.1", patient="SHARED^P")
                assert (await dicomwire.store(assoc, ds)).status == status.SUCCESS

    async def ask(process: Process) -> None:
        async with await associate(process) as assoc:
            for _ in range(10):
                _, final = await find_all(assoc, study_query(PatientName="SHARED*"))
                assert final == status.SUCCESS

    async def main() -> list[tuple[list[Dataset], int]]:
        await asyncio.gather(send(pair.a, "2"), send(pair.b, "3"), ask(pair.a), ask(pair.b))
        answers = []
        for process in (pair.a, pair.b):
            async with await associate(process) as assoc:
                for study in (shared, f"{ROOT}2", f"{ROOT}3"):
                    answers.append(await find_all(assoc, image_query(study)))
        return answers

    answers = run(main())
    assert [final for _, final in answers] == [status.SUCCESS] * 6
    counts = [len(matches) for matches, _ in answers]
    assert counts == [20, 5, 5, 20, 5, 5]
    found = {str(m.SOPInstanceUID) for matches, _ in answers for m in matches}
    sent = {f"{ROOT}{name}.{n}" for name in ("2", "3") for n in range(15)}
    assert found == sent
    assert {instance_file_name(SC, uid) for uid in sent} <= set(archive_files(pair.storage))


def test_the_same_instances_stored_by_both_processes_at_once(pair: Pair) -> None:
    """A and B receive the same 20 SOP Instance UIDs at the same moments, each with its own
    Image Comments: both are told Success, each UID has one row and one file, and the row
    (what C-FIND answers) and the file are the same version, the one stored last."""
    uids = [f"{ROOT}4.{n}" for n in range(20)]
    study = f"{ROOT}4"

    async def send(process: Process, comment: str) -> list[int]:
        codes = []
        async with await associate(process) as assoc:
            for uid in uids:
                ds = instance(uid, study=study, patient="SAME^INSTANCE", ImageComments=comment)
                codes.append((await dicomwire.store(assoc, ds)).status)
        return codes

    async def main() -> tuple[list[list[int]], list[Dataset], int]:
        codes = await asyncio.gather(send(pair.a, "via A"), send(pair.b, "via B"))
        async with await associate(pair.b) as assoc:
            matches, final = await find_all(assoc, image_query(study, "ImageComments"))
        return list(codes), matches, final

    codes, matches, final = run(main())
    assert codes == [[status.SUCCESS] * 20, [status.SUCCESS] * 20]
    assert final == status.SUCCESS
    assert sorted(str(m.SOPInstanceUID) for m in matches) == sorted(uids)  # one row each
    files = set(archive_files(pair.storage))
    assert not [name for name in files if name.endswith(".part")]
    for match in matches:
        name = instance_file_name(SC, str(match.SOPInstanceUID))
        assert name in files
        on_disk = pydicom.dcmread(pair.storage / name)
        assert on_disk.ImageComments == match.ImageComments  # the row's version is the file's
