"""dcmqrscp --workers 2: two processes of one archive on one port, on PostgreSQL and on SQLite.

Each archive is our dcmqrscp started as a process with ``--workers 2`` (a supervisor and two
workers sharing the listening socket), on an index in PostgreSQL (the suite's server,
:mod:`pg_server`) or in SQLite (two workers of one host).  DCMTK's storescu, findscu and
echoscu talk to it, and so does dicomwire's requestor where a test must hold an association
or pin one to a worker: which worker serves a connection is read from ``/proc`` (the worker
whose descriptors hold the accepted socket), and a test that needs one association on each
worker opens associations until both have one.

What the workers must do together is checked across them: MaxAssociations counts the whole
archive (two held associations, one per worker, and a third is refused as DCMTK refuses it),
``--no-parallel-store`` gives one association of the whole archive the storage contexts, a
quota makes room once, the same instances stored through both workers at once leave one row
and one file each, and a study that one worker's quota deletes while the other retrieves it
fails the sub-operations of the files that went, nothing else.  A killed worker is started
again and its slot comes back; SIGTERM to the supervisor stops every worker (each fixture's
teardown checks it).  Every wait is bounded; none sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

import dicomwire
import pg_server
from dicomwire import uids
from dicomwire.archive.store import instance_file_name
from dicomwire.dimse import status
from dicomwire.net.association import Association
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from ports import free_port

DCMTK: Final = Path("/usr/bin")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (DCMTK / "storescu").exists(), reason="DCMTK is not installed"),
    pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="--workers needs Linux"),
]

OURS: Final = [sys.executable, "-m", "dicomwire.cli.dcmqrscp", "-v", "--workers", "2"]
DCMTK_ENV: Final = {**os.environ, "TCP_NODELAY": "1"}
LIMIT: Final = 60.0  # seconds: any start, stop, tool run or poll
SC: Final = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
LEE: Final = uids.EXPLICIT_VR_LITTLE_ENDIAN
STUDY_FIND: Final = uids.STUDY_ROOT_FIND
ROOT: Final = "1.2.826.0.1.3680043.10.1010.13."
CONFIG: Final = """\
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = {max_associations}
{index}
HostTable BEGIN
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
ARCHIVE         archive         RW  (500, 1024mb)   ANY
QUOTA           quota           RW  (3, 1024mb)     ANY
ONESTUDY        onestudy        RW  (1, 1024mb)     ANY
AETable END
"""
AREAS: Final = ("archive", "quota", "onestudy")


# -- the archive and its workers ---------------------------------------------------------------------


def poll(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + LIMIT
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def _inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), state) == (
                    server_port,
                    client_port,
                    "01",  # ESTABLISHED
                ):
                    return fields[9]
    return None


@dataclass
class Workers:
    """Our dcmqrscp with --workers 2, started in ``root``."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    @property
    def pids(self) -> list[int]:
        """The workers running now (the supervisor's children)."""
        pid = self.process.pid
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def serving(self) -> list[int]:
        """The pids of the workers that said they serve, in order."""
        return [int(pid) for pid in re.findall(r"worker \d+ \(pid (\d+)\) serves", self.log)]

    def owner(self, assoc: Association) -> int:
        """The worker that serves ``assoc``."""
        client_port = int(assoc._transport.get_extra_info("sockname")[1])  # type: ignore[union-attr]
        inode = _inode(self.port, client_port)
        assert inode is not None, "no such connection"
        wanted = f"socket:[{inode}]"
        for pid in self.pids:
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                            return pid
        raise AssertionError(f"no worker holds the connection from port {client_port}")

    def stop(self) -> int:
        """SIGTERM to the supervisor: it stops its workers, then itself."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(LIMIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(LIMIT)
            raise


def start(
    root: Path, url: str | None, *, max_associations: int = 16, options: tuple[str, ...] = ()
) -> Workers:
    root.mkdir(parents=True, exist_ok=True)
    for name in AREAS:
        (root / name).mkdir(exist_ok=True)
    index = f"IndexURL        = {url}\n" if url else ""
    (root / "dcmqrscp.cfg").write_text(CONFIG.format(max_associations=max_associations, index=index))
    port = free_port()
    log_path = root / "dcmqrscp.log"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [*OURS, *options, "-c", "dcmqrscp.cfg", str(port)],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    archive = Workers(process, port, root, log_path)
    poll(lambda: len(archive.serving()) == 2 or process.poll() is not None, "both workers to serve")
    assert process.poll() is None, archive.log
    return archive


def stopped(archive: Workers) -> None:
    """SIGTERM stops every worker and the supervisor, exit 0, nothing left running."""
    workers = archive.pids
    assert len(workers) == 2
    assert archive.stop() == 0, archive.log
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []
    assert len(re.findall(r"worker \d+ \(pid \d+\) stops", archive.log)) >= 2, archive.log
    assert "Traceback" not in archive.log, archive.log


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def index(request: pytest.FixtureRequest) -> str | None:
    """Where the index is: a new PostgreSQL database (its URL), or None for SQLite."""
    if request.param == "sqlite":
        return None
    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    return pg_server.shared().create_database()


@pytest.fixture(scope="module")
def archive(index: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    started = start(tmp_path_factory.mktemp("workers"), index)
    try:
        yield started
    finally:
        stopped(started)


@pytest.fixture(scope="module")
def limited(index: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """MaxAssociations 2 and --no-parallel-store."""
    options = ("--no-parallel-store",)
    started = start(tmp_path_factory.mktemp("limited"), index, max_associations=2, options=options)
    try:
        yield started
    finally:
        stopped(started)


# -- requestors --------------------------------------------------------------------------------------


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, LIMIT)

    return asyncio.run(bounded())


def instance(uid: str, study: str, series: str | None = None, **values: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(uid)
    ds.SOPClassUID, ds.SOPInstanceUID = SC, uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series or f"{study}.1"
    ds.PatientName, ds.PatientID, ds.Modality = "WORKERS^TEST", "WORKERS", "OT"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def write(directory: Path, datasets: list[Dataset]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for number, ds in enumerate(datasets):
        ds.save_as(directory / f"{number:03d}.dcm", enforce_file_format=True)
    return directory


def dcmtk(tool: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(DCMTK / tool), *args], env=DCMTK_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def finished(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    out, _ = process.communicate(timeout=LIMIT)
    return process.returncode, out.decode("utf-8", "replace")


ECHO: Final = [(uids.VERIFICATION, [LEE])]


def connect(
    archive: Workers, called_ae: str = "ARCHIVE", contexts: Any = ECHO, **kw: Any
) -> dicomwire.associate:
    return dicomwire.associate("127.0.0.1", archive.port, called_ae=called_ae, contexts=contexts, **kw)


async def opened(opening: Callable[[], Awaitable[Association]]) -> Association:
    """``opening()``, again while it is refused as one too many: the slot of an association
    released a moment ago goes back just after the peer was told (bounded)."""
    deadline = time.monotonic() + LIMIT
    while True:
        try:
            return await opening()
        except dicomwire.AssociationRejected as exc:
            assert (exc.result, exc.source, exc.reason) == (2, 3, 2), exc
            assert time.monotonic() < deadline, "no slot came back"
            await asyncio.sleep(0.02)


async def on_each_worker(
    archive: Workers, opening: Callable[[], Awaitable[Association]]
) -> list[Association]:
    """One association held on each worker (the others opened meanwhile released)."""
    held: dict[int, Association] = {}
    for _ in range(100):  # the kernel picks the worker: about half go to each
        assoc = await opened(opening)
        pid = archive.owner(assoc)
        if pid in held:
            await assoc.release()
            continue
        held[pid] = assoc
        if len(held) == 2:
            return list(held.values())
    raise AssertionError("the connections never reached both workers")


async def find_all(assoc: Association, query: Dataset) -> tuple[list[Dataset], int]:
    matches, final = [], -1
    async for response in dicomwire.find(assoc, query, model="study"):
        if response.pending and response.identifier is not None:
            matches.append(response.identifier)
        else:
            final = response.status
    return matches, final


def image_query(study: str, *keys: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = study
    query.SeriesInstanceUID = f"{study}.1"
    query.SOPInstanceUID = ""
    for keyword in keys:
        setattr(query, keyword, "")
    return query


def dcm_files(directory: Path) -> set[str]:
    return {name for name in os.listdir(directory) if name.endswith(".dcm")}


# -- serving, storing and finding through both workers ----------------------------------------------------


def test_concurrent_senders_reach_both_workers_and_findscu_sees_every_instance(
    archive: Workers, tmp_path: Path
) -> None:
    """Both workers serve (one association held on each), six DCMTK storescu send 10 instances
    each into one series at once, and one DCMTK findscu then lists all 60."""
    study = f"{ROOT}1.{archive.port}"
    shares = [
        write(tmp_path / f"share{n}", [instance(f"{study}.{n}.{k}", study) for k in range(10)])
        for n in range(6)
    ]

    async def hold_one_on_each() -> list[int]:
        held = await on_each_worker(archive, lambda: connect(archive))
        pids = [archive.owner(assoc) for assoc in held]
        for assoc in held:
            assert (await dicomwire.echo(assoc)).status == status.SUCCESS
            await assoc.release()
        return pids

    pids = run(hold_one_on_each())
    assert sorted(pids) == sorted(archive.pids)

    senders = [
        dcmtk("storescu", "-aec", "ARCHIVE", "+sd", "127.0.0.1", str(archive.port), str(share))
        for share in shares
    ]
    outcomes = [finished(sender) for sender in senders]
    assert [code for code, _ in outcomes] == [0] * 6, outcomes
    code, out = finished(
        dcmtk(
            "findscu", "-v", "-S", "-aec", "ARCHIVE",
            "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={study}",
            "-k", f"SeriesInstanceUID={study}.1", "-k", "SOPInstanceUID",
            "127.0.0.1", str(archive.port),
        )
    )  # fmt: skip
    assert code == 0, out
    found = set(re.findall(r"\(0008,0018\) UI \[([0-9.]+)\]", out))
    assert found == {f"{study}.{n}.{k}" for n in range(6) for k in range(10)}
    assert {instance_file_name(SC, uid) for uid in found} <= dcm_files(archive.root / "archive")


STORE_AND_FIND: Final = [(SC, [LEE]), (STUDY_FIND, [LEE])]


async def on_another_worker(
    archive: Workers, pid: int, opening: Callable[[], Awaitable[Association]]
) -> Association:
    """An association served by a worker other than ``pid``."""
    for _ in range(100):
        assoc = await opened(opening)
        if archive.owner(assoc) != pid:
            return assoc
        await assoc.release()
    raise AssertionError("the connections never reached the other worker")


def test_the_same_instances_stored_through_both_workers_at_once(archive: Workers) -> None:
    """Each worker receives the same 20 SOP Instance UIDs at the same moments, each version
    with its own Image Comments: Success for all, one row and one file per UID, the row (what
    C-FIND answers) the same version as the file (``Index.claim`` across the processes)."""
    study = f"{ROOT}2.{archive.port}"
    sop_uids = [f"{study}.{n}" for n in range(20)]

    async def send(assoc: Association, comment: str) -> list[int]:
        codes = []
        for uid in sop_uids:
            codes.append((await dicomwire.store(assoc, instance(uid, study, ImageComments=comment))).status)
        return codes

    async def main() -> tuple[list[list[int]], list[Dataset], int]:
        first, second = await on_each_worker(archive, lambda: connect(archive, contexts=STORE_AND_FIND))
        codes = await asyncio.gather(send(first, "via the first"), send(second, "via the second"))
        matches, final = await find_all(first, image_query(study, "ImageComments"))
        for assoc in (first, second):
            await assoc.release()
        return list(codes), matches, final

    codes, matches, final = run(main())
    assert codes == [[status.SUCCESS] * 20] * 2
    assert final == status.SUCCESS
    assert sorted(str(m.SOPInstanceUID) for m in matches) == sorted(sop_uids)  # one row each
    files = dcm_files(archive.root / "archive")
    for match in matches:
        name = instance_file_name(SC, str(match.SOPInstanceUID))
        assert name in files
        assert pydicom.dcmread(archive.root / "archive" / name).ImageComments == match.ImageComments


def test_the_quota_makes_room_once_for_the_whole_archive(archive: Workers) -> None:
    """QUOTA keeps 3 studies.  Both workers store 6 new studies each at the same moments: the
    area ends with 3 studies, and every row has its file and every file its row."""
    base = f"{ROOT}3.{archive.port}"

    async def send(assoc: Association, name: str) -> list[int]:
        codes = []
        for n in range(6):
            study = f"{base}.{name}{n}"
            codes.append((await dicomwire.store(assoc, instance(f"{study}.1.1", study))).status)
        return codes

    async def main() -> tuple[list[list[int]], list[Dataset], int]:
        first, second = await on_each_worker(archive, lambda: connect(archive, "QUOTA", STORE_AND_FIND))
        codes = await asyncio.gather(send(first, "1"), send(second, "2"))
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = ""
        matches, final = await find_all(first, query)
        for assoc in (first, second):
            await assoc.release()
        return list(codes), matches, final

    codes, matches, final = run(main())
    assert codes == [[status.SUCCESS] * 6] * 2
    assert final == status.SUCCESS
    studies = {str(m.StudyInstanceUID) for m in matches}
    assert len(studies) == 3
    assert dcm_files(archive.root / "quota") == {instance_file_name(SC, f"{s}.1.1") for s in studies}


class StoresDuringTheFirst:
    """A C-GET's storage handler that runs ``during`` before it answers the first instance."""

    def __init__(self, during: Callable[[], Awaitable[None]]) -> None:
        self.during = during
        self.received: list[str] = []

    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        self.received.append(instance.request.affected_sop_instance_uid)
        if len(self.received) == 1:
            await self.during()
        return status.SUCCESS


def test_a_study_deleted_by_one_workers_quota_while_the_other_retrieves_it(archive: Workers) -> None:
    """ONESTUDY keeps one study.  One worker sends study A's 5 instances by C-GET; when the
    first arrives, a new study is stored through the other worker, whose quota deletes A.
    The C-GET goes on: 1 completed, 4 failed (their files are gone), 0xB000 with the failed
    UIDs; both workers still run, nothing in the log but that."""
    first, second = f"{ROOT}4.{archive.port}.1", f"{ROOT}4.{archive.port}.2"
    sop_uids = [f"{first}.1.{n}" for n in range(5)]
    contexts, roles = dicomwire.get_contexts("study", storage_classes=[SC], storage_syntaxes=[LEE])
    workers_before = sorted(archive.pids)

    async def main() -> tuple[Any, StoresDuringTheFirst, int]:
        async with connect(archive, "ONESTUDY", STORE_AND_FIND) as loader:
            for uid in sop_uids:
                assert (await dicomwire.store(loader, instance(uid, first))).status == status.SUCCESS
        getter = await connect(archive, "ONESTUDY", contexts, roles=roles)
        storer = await on_another_worker(
            archive, archive.owner(getter), lambda: connect(archive, "ONESTUDY", STORE_AND_FIND)
        )
        stored: list[int] = []

        async def store_another_study() -> None:
            stored.append((await dicomwire.store(storer, instance(f"{second}.1.1", second))).status)

        handler = StoresDuringTheFirst(store_another_study)
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = first
        responses = [r async for r in dicomwire.get(getter, query, model="study", store=handler)]
        for assoc in (getter, storer):
            await assoc.release()
        return responses[-1], handler, stored[0]

    final, handler, stored = run(main())
    assert stored == status.SUCCESS
    assert len(handler.received) == 1
    assert (final.status, final.completed, final.failed) == (
        status.SUBOPERATIONS_COMPLETE_WITH_FAILURES,
        1,
        4,
    )
    assert sorted(final.failed_instances) == sorted(set(sop_uids) - set(handler.received))
    assert dcm_files(archive.root / "onestudy") == {instance_file_name(SC, f"{second}.1.1")}
    assert sorted(archive.pids) == workers_before
    assert "Traceback" not in archive.log


# -- what the whole archive counts ------------------------------------------------------------------


def rejected(outcome: tuple[int, str]) -> bool:
    """DCMTK's echoscu was refused as one association too many."""
    code, out = outcome
    return code != 0 and "Association Rejected" in out and "Local Limit Exceeded" in out


async def accepted_eventually(archive: Workers, contexts: Any = ECHO) -> Association:
    """An association, once a slot given back a moment ago is free (bounded)."""
    return await opened(lambda: connect(archive, contexts=contexts))


def test_max_associations_counts_the_associations_of_both_workers(limited: Workers) -> None:
    """MaxAssociations 2: one association held on each worker, and a third one (DCMTK's
    echoscu, then ours) is refused as DCMTK refuses it, whichever worker it reaches, though
    neither holds 2; once one is released, a new one is accepted."""

    async def main() -> tuple[tuple[int, str], tuple[int, int, int], tuple[int, str]]:
        held = await on_each_worker(limited, lambda: connect(limited))
        third = await asyncio.to_thread(
            finished, dcmtk("echoscu", "-aec", "ARCHIVE", "127.0.0.1", str(limited.port))
        )
        try:
            await connect(limited)
        except dicomwire.AssociationRejected as exc:
            ours = (exc.result, exc.source, exc.reason)
        else:
            raise AssertionError("a third association was accepted")
        await held[0].release()
        again = await accepted_eventually(limited)
        refused = await asyncio.to_thread(
            finished, dcmtk("echoscu", "-aec", "ARCHIVE", "127.0.0.1", str(limited.port))
        )
        for assoc in (held[1], again):
            await assoc.release()
        return third, ours, refused

    third, ours, refused = run(main())
    assert rejected(third), third
    assert ours == (2, 3, 2)  # rejected transient, service provider (presentation), local limit exceeded
    assert rejected(refused), refused
    assert "Refusing Association (TooManyAssociations)" in limited.log


def test_no_parallel_store_gives_the_storage_contexts_to_one_association_of_the_archive(
    limited: Workers,
) -> None:
    """--no-parallel-store: while one worker's association holds the storage contexts of
    ARCHIVE, an association reaching the other worker gets none (its C-FIND context still);
    once the first is released, storage comes back."""
    contexts = [(SC, [LEE]), (STUDY_FIND, [LEE])]

    def abstracts(assoc: Association) -> set[str]:
        return {context.abstract_syntax for context in assoc.contexts.values()}

    async def main() -> tuple[set[str], set[str], set[str]]:
        first = await connect(limited, contexts=contexts)
        second = await on_another_worker(
            limited, limited.owner(first), lambda: connect(limited, contexts=contexts)
        )
        got = abstracts(first), abstracts(second)
        await second.release()
        await first.release()
        deadline = time.monotonic() + LIMIT
        while True:  # the lock goes back a moment after the association ends
            later = await accepted_eventually(limited, contexts)
            now = abstracts(later)
            await later.release()
            if SC in now or time.monotonic() > deadline:
                return *got, now
            await asyncio.sleep(0.02)

    first, second, later = run(main())
    assert first == {SC, STUDY_FIND}
    assert second == {STUDY_FIND}
    assert later == {SC, STUDY_FIND}


def test_a_killed_worker_is_started_again_and_its_slot_comes_back(limited: Workers) -> None:
    """SIGKILL to a worker that holds one of the 2 associations: the supervisor logs it and
    starts another; the archive keeps serving, and the dead worker's slot is free again (2
    held, a third refused)."""
    before = limited.serving()

    async def main() -> tuple[int, tuple[int, str]]:
        held = await on_each_worker(limited, lambda: connect(limited))
        victim = limited.owner(held[0])
        os.kill(victim, signal.SIGKILL)
        await asyncio.to_thread(
            poll, lambda: len(limited.serving()) > len(before), "the worker to be started again"
        )
        held[0].abort()
        again = await accepted_eventually(limited)
        assert (await dicomwire.echo(again)).status == status.SUCCESS
        third = await asyncio.to_thread(
            finished, dcmtk("echoscu", "-aec", "ARCHIVE", "127.0.0.1", str(limited.port))
        )
        for assoc in (held[1], again):
            await assoc.release()
        return victim, third

    victim, third = run(main())
    assert re.search(
        rf"W: worker \d \(pid {victim}\) ended \(signal SIGKILL\); starting it again", limited.log
    )
    assert victim not in limited.pids and len(limited.pids) == 2
    assert rejected(third), third
    code, out = finished(dcmtk("echoscu", "-aec", "ARCHIVE", "127.0.0.1", str(limited.port)))
    assert code == 0, out


def test_a_worker_that_cannot_start_stops_the_archive(tmp_path: Path) -> None:
    """A GroupName that does not exist fails each worker as it drops privileges (the
    supervisor keeps its own): the worker prints DCMTK's F: line, and the archive exits 10."""
    root = tmp_path
    for name in AREAS:
        (root / name).mkdir()
    text = CONFIG.format(max_associations=16, index="GroupName = nosuchgroup-dicomwire\n")
    (root / "dcmqrscp.cfg").write_text(text)
    done = subprocess.run(
        [*OURS, "-c", "dcmqrscp.cfg", str(free_port())],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=LIMIT,
        check=False,
    )
    err = done.stderr.decode()
    assert done.returncode == 10, err
    assert "F: bad group name nosuchgroup-dicomwire" in err
    assert re.search(r"E: worker \d \(pid \d+\) could not start \(exit code 10\)", err)
