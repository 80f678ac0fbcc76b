"""C-MOVE and C-GET: DCMTK's movescu and getscu against our dcmqrscp and against DCMTK's.

Both archives run on the same configuration file and hold the same corpus (sent by DCMTK's
storescu); the move destinations are a DCMTK storescp and our dcmrecv, both listed in the
HostTable.  For each retrieve both archives must deliver the same instances and give the
same final status and sub-operation counts.  Ours runs on SQLite and again on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pydicom
import pytest
from test_interop_dcmqrscp import (
    DCMTK,
    DCMTK_ENV,
    INDEXES,
    LIMIT,
    Corpus,
    Run,
    Server,
    dcmtk,
    generate,
    index_options,
    peer,
    prepare,
    start,
)

from ports import accepting, free_port

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (DCMTK / "movescu").exists(), reason="DCMTK's movescu is not installed"),
]

AREAS: Final = ("rw",)
CONFIG: Final = """\
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
dest            = (DEST, localhost, {dest})
ourdest         = (OURDEST, localhost, {ourdest})
nobody          = (NOBODY, localhost, {nobody})
movescu         = (MOVESCU, localhost, {movescu})
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
ARCHIVE         rw              RW  (100, 100mb)    ANY
AETable END
"""
DIMSE_STATUS: Final = re.compile(r"DIMSE Status\s*: (0x[0-9a-f]{4})")
COUNTS: Final = re.compile(r"(Remaining|Completed|Failed|Warning) Suboperations\s*: (\w+)")
GET_COUNTS: Final = re.compile(r"Number of (Remaining|Completed|Failed|Warning) Suboperations\s*: (\d+)")


@dataclass
class Listener:
    process: subprocess.Popen[bytes]
    directory: Path

    def received(self) -> set[str]:
        """SOP Instance UIDs of the files received so far (and clear the directory)."""
        uids = set()
        for path in self.directory.iterdir():
            uids.add(str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID))
            path.unlink()
        return uids


@contextlib.contextmanager
def listening(command: Sequence[str], directory: Path, port: int) -> Iterator[Listener]:
    directory.mkdir()
    process = subprocess.Popen(
        [*command, "-od", str(directory), str(port)],
        env=DCMTK_ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + LIMIT
        while not accepting(port):
            assert process.poll() is None and time.monotonic() < deadline, f"{command[0]} did not start"
            time.sleep(0.05)  # a process's port: there is no event to wait on
        yield Listener(process, directory)
    finally:
        process.terminate()
        process.wait(LIMIT)


@dataclass
class Setup:
    theirs: Server
    ours: Server
    corpus: Corpus
    dest: Listener
    ourdest: Listener
    movescu_port: int

    @property
    def both(self) -> tuple[Server, Server]:
        return self.theirs, self.ours


@pytest.fixture(scope="module", params=INDEXES)
def index(request: pytest.FixtureRequest) -> list[str]:
    return index_options(request.param)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, index: list[str]) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("retrieve")
    corpus = generate(root / "in")
    ports = {"dest": free_port(), "ourdest": free_port(), "nobody": free_port(), "movescu": free_port()}
    config = CONFIG.format(**ports)
    dcmrecv = [sys.executable, "-m", "dicomwire.cli.dcmrecv", "+xa"]  # every storage class
    with (
        listening([str(DCMTK / "storescp")], root / "dest", ports["dest"]) as dest,
        listening(dcmrecv, root / "ourdest", ports["ourdest"]) as ourdest,
    ):
        theirs = start(prepare(root / "dcmtk", config, AREAS), dcmtk=True)
        ours = start(prepare(root / "ours", config, AREAS), dcmtk=False, options=index)
        try:
            for server in (theirs, ours):
                sent = dcmtk("storescu", *peer(server, "ARCHIVE"), *corpus.files)
                assert sent.code == 0, f"{server.name}: {sent.stderr}"
            yield Setup(theirs, ours, corpus, dest, ourdest, ports["movescu"])
        finally:
            theirs.stop()
            ours.stop()


@dataclass(frozen=True)
class Outcome:
    code: int
    status: str
    counts: tuple[str, ...]
    received: frozenset[str]


def movescu(server: Server, destination: Listener, args: Sequence[str], aem: str = "DEST") -> Outcome:
    run = dcmtk("movescu", "-d", "-aem", aem, *args, *peer(server, "ARCHIVE"))
    return Outcome(run.code, _final_status(run), _final_counts(run), frozenset(destination.received()))


def _final_status(run: Run) -> str:
    found = DIMSE_STATUS.findall(run.stderr)  # the last message dumped is the final response
    return found[-1] if found else "none"


def _final_counts(run: Run) -> tuple[str, ...]:
    """The four counts of the last response dumped at -d."""
    counts = COUNTS.findall(run.stderr)
    return tuple(value for _, value in counts[-4:])


def k(**keys: str) -> list[str]:
    return [part for name, value in keys.items() for part in ("-k", f"{name}={value}")]


def series_query(corpus: Corpus, study: int, series: int) -> list[str]:
    study_uid = corpus.studies[study]
    series_uid = corpus.series[study_uid][series]
    return ["-S", *k(QueryRetrieveLevel="SERIES", StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid)]


def instances_of(corpus: Corpus, study: int) -> set[str]:
    return {sop for series in corpus.series[corpus.studies[study]] for sop in corpus.instances[series]}


@pytest.mark.parametrize("level", ["PATIENT", "STUDY", "SERIES", "IMAGE"])
def test_dcmtk_movescu_gets_the_same_instances_from_both(setup: Setup, level: str) -> None:
    corpus = setup.corpus
    study = corpus.studies[3]
    series = corpus.series[study][1]
    sop = corpus.instances[series][0]
    args = {
        "PATIENT": ["-P", *k(QueryRetrieveLevel="PATIENT", PatientID="P003")],
        "STUDY": ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=study)],
        "SERIES": series_query(corpus, 3, 1),
        "IMAGE": [
            "-S",
            *k(
                QueryRetrieveLevel="IMAGE",
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                SOPInstanceUID=sop,
            ),
        ],
    }[level]
    expected = {
        "PATIENT": instances_of(corpus, 3) | instances_of(corpus, 4),
        "STUDY": instances_of(corpus, 3),
        "SERIES": set(corpus.instances[series]),
        "IMAGE": {sop},
    }[level]
    theirs, ours = (movescu(server, setup.dest, args) for server in setup.both)
    assert theirs.received == expected
    assert ours == theirs
    assert ours.status == "0x0000" and ours.code == 0
    assert ours.counts == ("none", str(len(expected)), "0", "0")


def test_move_to_our_dcmrecv_from_both(setup: Setup) -> None:
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[0])]
    theirs, ours = (movescu(server, setup.ourdest, args, "OURDEST") for server in setup.both)
    assert theirs.received == instances_of(setup.corpus, 0)
    assert ours == theirs


def test_unknown_move_destination_from_both(setup: Setup) -> None:
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[0])]
    theirs, ours = (movescu(server, setup.dest, args, "STRANGER") for server in setup.both)
    assert theirs.status == "0xa801"
    assert (ours.code, ours.status, ours.received) == (theirs.code, theirs.status, frozenset())


def test_destination_not_listening_fails_every_sub_operation(setup: Setup) -> None:
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[2])]
    theirs, ours = (movescu(server, setup.dest, args, "NOBODY") for server in setup.both)
    assert theirs.status == "0xa702"
    assert ours == theirs
    assert ours.counts == ("none", "0", "3", "0")


def test_move_of_nothing_from_both(setup: Setup) -> None:
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID="1.2.3.4.5.6.7.8.9")]
    theirs, ours = (movescu(server, setup.dest, args) for server in setup.both)
    assert ours == theirs
    assert ours.status == "0x0000"


def test_cancel_during_a_move_ends_with_consistent_counts(setup: Setup) -> None:
    args = ["--cancel", "1", "-P", *k(QueryRetrieveLevel="PATIENT", PatientID="P001")]
    for server in setup.both:
        outcome = movescu(server, setup.dest, args)
        assert outcome.code == 0, server.name
        # the C-CANCEL-RQ may come after the last sub-operation: then the move has completed
        assert outcome.status in ("0xfe00", "0x0000")
        if outcome.status == "0xfe00":
            remaining, completed, failed, _ = (int(n) for n in outcome.counts)
            assert remaining + completed + failed == len(instances_of(setup.corpus, 0)) + 4
        assert server.running()


def getscu(server: Server, out: Path, args: Sequence[str]) -> tuple[int, list[str], set[str]]:
    out.mkdir()
    run = dcmtk("getscu", "-v", "-od", str(out), *args, *peer(server, "ARCHIVE"))
    counts = [value for _, value in GET_COUNTS.findall(run.stderr)]
    received = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in out.iterdir()}
    return run.code, counts, received


def test_dcmtk_getscu_gets_the_same_instances_from_both(setup: Setup, tmp_path: Path) -> None:
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[1])]
    theirs, ours = (getscu(server, tmp_path / server.name, args) for server in setup.both)
    expected = instances_of(setup.corpus, 1)
    assert theirs[1:] == (["0", str(len(expected)), "0", "0"], expected)
    assert ours[1:] == theirs[1:]
    assert ours[0] == 0  # DCMTK's own pair may fail the release (0006:0316): its exit code differs


def test_a_file_removed_behind_the_archives_back_fails_its_sub_operation(setup: Setup) -> None:
    study = setup.corpus.studies[4]
    gone = setup.corpus.instances[setup.corpus.series[study][0]][0]
    for server in setup.both:
        for path in (server.root / "rw").iterdir():
            if (
                path.suffix == ".dcm"
                and pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID == gone
            ):
                path.unlink()
    args = ["-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=study)]
    theirs, ours = (movescu(server, setup.dest, args) for server in setup.both)
    assert theirs.status == "0xb000"
    assert ours == theirs
    assert ours.counts == ("none", "2", "1", "0")
    assert ours.received == instances_of(setup.corpus, 4) - {gone}


OUR_MOVESCU: Final = [sys.executable, "-m", "dicomwire.cli.movescu"]
OUR_GETSCU: Final = [sys.executable, "-m", "dicomwire.cli.getscu"]


def ours(command: Sequence[str], *args: str) -> Run:
    done = subprocess.run(
        [*command, *args], capture_output=True, timeout=LIMIT, stdin=subprocess.DEVNULL, check=False
    )
    return Run(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


def final_line(run: Run, prefix: str) -> str:
    return [line for line in run.lines if line.startswith(prefix)][-1]


def test_our_movescu_moves_the_same_from_both_archives(setup: Setup) -> None:
    args = ["-v", "-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[0])]
    results = []
    for server in setup.both:
        run = ours(OUR_MOVESCU, *args, "-aem", "DEST", *peer(server, "ARCHIVE"))
        results.append((run.code, final_line(run, "I: Received Final Move Response"), setup.dest.received()))
    assert results[0] == results[1]
    assert results[1] == (0, "I: Received Final Move Response (Success)", instances_of(setup.corpus, 0))


def test_our_movescu_receives_the_instances_itself(setup: Setup, tmp_path: Path) -> None:
    args = ["-S", *k(QueryRetrieveLevel="SERIES", StudyInstanceUID=setup.corpus.studies[3])]
    args += k(SeriesInstanceUID=setup.corpus.series[setup.corpus.studies[3]][0])
    names = []
    for server in setup.both:
        out = tmp_path / server.name
        out.mkdir()
        port = str(setup.movescu_port)
        run = ours(
            OUR_MOVESCU, *args, "-aem", "MOVESCU", "+P", port, "-od", str(out), *peer(server, "ARCHIVE")
        )
        assert run.code == 0, run.stderr
        names.append(sorted(path.name for path in out.iterdir()))
    expected = sorted(
        f"SC.{uid}" for uid in setup.corpus.instances[setup.corpus.series[setup.corpus.studies[3]][0]]
    )
    assert names == [expected, expected]


def test_our_getscu_gets_the_same_from_both_archives(setup: Setup, tmp_path: Path) -> None:
    args = ["-v", "-S", *k(QueryRetrieveLevel="STUDY", StudyInstanceUID=setup.corpus.studies[2])]
    results = []
    for server in setup.both:
        out = tmp_path / server.name
        out.mkdir()
        run = ours(OUR_GETSCU, *args, "-od", str(out), *peer(server, "ARCHIVE"))
        counts = [value for _, value in GET_COUNTS.findall(run.stderr)]
        results.append((run.code, counts, sorted(path.name for path in out.iterdir())))
    expected = sorted(f"SC.{uid}" for uid in instances_of(setup.corpus, 2))
    assert results[0] == results[1] == (0, ["0", "3", "0", "0"], expected)
