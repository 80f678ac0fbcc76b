"""Our dcmqrscp against DCMTK 3.6.7's, both as subprocesses on the same configuration file.

Each archive runs in a directory of its own, started there with the same (byte for byte)
``dcmqrscp.cfg``, whose storage areas are relative paths: an RW area, an R-only one, a
W-only one, a quota-limited one, one with a tight byte quota and one open only to listed
peers.  DCMTK's ``storescu`` sends the same generated instances to both, then DCMTK's
``findscu`` asks both the same questions: the matches (the values of the returned keys) and
the final statuses must agree.  DCMTK's ``echoscu``, ``storescu`` and ``termscu`` see the
same association outcomes from both, with the differences that are ours on purpose spelt
out where they are tested.

Ours keeps its index in SQLite and, for the same tests again, in PostgreSQL (a server the
suite starts, :mod:`pg_server`; ``--index-url``): the ``index`` fixture's two values.

DCMTK's dcmqrscp is started without ``-s``: this build dies of SIGSEGV after a C-STORE in
single-process mode.  It forks a child per association, so it runs in a session of its own
and is stopped by its process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, ExplicitVRLittleEndian

import pg_server
from ports import accepting, free_port

DCMTK: Final = Path("/usr/bin")
DCMQRSCP: Final = DCMTK / "dcmqrscp"
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not DCMQRSCP.exists(), reason="DCMTK's dcmqrscp is not installed"),
]

OURS: Final = [sys.executable, "-m", "dicomwire.cli.dcmqrscp"]
OUR_TOOLS: Final = Path(sys.executable).parent  # .venv/bin: our storescu, findscu
DCMTK_ENV: Final = {**os.environ, "TCP_NODELAY": "1"}
LIMIT: Final = 30.0  # seconds: any single tool run, any start or stop
SC: Final = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
_UID_ROOT: Final = "1.2.826.0.1.3680043.10.1010."  # fixed UIDs: the same corpus on every run
CONFIG_NAME: Final = "dcmqrscp.cfg"
# The storage areas are relative paths: each archive runs in its own directory with this file.
CONFIG: Final = """\
# dcmqrscp interop test configuration (DCMTK's format)
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
storescu_host   = (STORESCU, localhost, 0)
findscu_host    = (FINDSCU, localhost, 0)
friends         = storescu_host, findscu_host
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
ARCHIVE         rw              RW  (100, 100mb)    ANY
READER          ro              R   (100, 100mb)    ANY
WRITER          wo              W   (100, 100mb)    ANY
QUOTA           quota           RW  (2, 1mb)        ANY
QUOTA2          quota2          RW  (2, 1mb)        ANY
SMALL           small           RW  (10, 1kb)       ANY
PRIVATE         private         RW  (100, 100mb)    friends
AETable END
"""
AREAS: Final = ("rw", "ro", "wo", "quota", "quota2", "small", "private")


# -- processes -------------------------------------------------------------------------------------


@dataclass
class Server:
    """A started dcmqrscp (ours or DCMTK's) in its own directory."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = LIMIT) -> int:
        return self.process.wait(timeout)

    def stop(self) -> int:
        """SIGTERM to the process group (DCMTK's children too), SIGKILL if that is not enough."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                return self.process.wait(LIMIT / 2)
            except subprocess.TimeoutExpired:
                continue
        raise AssertionError(f"{self.name} dcmqrscp did not stop")


def prepare(root: Path, config: str = CONFIG, areas: Sequence[str] = AREAS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for area in areas:
        (root / area).mkdir(exist_ok=True)
    (root / CONFIG_NAME).write_text(config)
    return root


def start(root: Path, *, dcmtk: bool, options: Sequence[str] = ()) -> Server:
    """Start a dcmqrscp in ``root`` (see :func:`prepare`) on a free port; ready once it accepts."""
    name = "dcmtk" if dcmtk else "ours"
    command = [str(DCMQRSCP)] if dcmtk else [*OURS, "-v"]
    log_path = root / f"{name}.log"
    for _ in range(5):
        port = free_port()
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                [*command, *options, "-c", CONFIG_NAME, str(port)],
                cwd=root,
                env=DCMTK_ENV,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, process, port, root, log_path)
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline and server.running():
            if accepting(port):
                return server
            time.sleep(0.05)  # a process's port: there is no event to wait on
        code = server.stop()
        if "Address already in use" not in server.log:  # anything but a lost port race is a failure
            raise AssertionError(f"{name} dcmqrscp did not start (exit {code}):\n{server.log}")
    raise AssertionError("no free port for dcmqrscp")


@contextlib.contextmanager
def running(root: Path, *, dcmtk: bool, options: Sequence[str] = ()) -> Iterator[Server]:
    server = start(prepare(root), dcmtk=dcmtk, options=options)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


def tool(program: str | Path, *args: str | bytes | Path) -> Run:
    done = subprocess.run(
        [str(program), *args],
        env=DCMTK_ENV,
        capture_output=True,
        timeout=LIMIT,
        stdin=subprocess.DEVNULL,
    )
    # DCMTK writes non-UTF-8 bytes raw where we write U+FFFD: compare the decoded texts
    return Run(
        done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


def dcmtk(program: str, *args: str | bytes | Path) -> Run:
    return tool(DCMTK / program, *args)


def peer(server: Server, called_ae: str) -> list[str]:
    return ["-aec", called_ae, "127.0.0.1", str(server.port)]


# -- the corpus ------------------------------------------------------------------------------------


PATIENTS: Final = [
    ("DOE^JOHN", "P001", "19700101", "M"),
    ("DOE^JANE", "P002", "19751231", "F"),
    ("MÜLLER^JÖRG", "P003", "19600606", "M"),  # Latin-1: ISO_IR 100
]
# (patient, study date, accession number, [(modality, images), ...] one series each)
STUDIES: Final = [
    (0, "20190315", "ACC1001", [("CT", 3), ("CT", 2)]),
    (0, "20200110", "ACC1002", [("MR", 2), ("CT", 2)]),
    (1, "20200620", "ACC2001", [("US", 3)]),
    (2, "20210101", "XYZ3001", [("CT", 2), ("MR", 2)]),
    (2, "20211231", "XYZ3002", [("MR", 3)]),
]


@dataclass
class Corpus:
    files: list[Path] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)  # in STUDIES' order
    series: dict[str, list[str]] = field(default_factory=dict)  # study -> its series
    instances: dict[str, list[str]] = field(default_factory=dict)  # series -> its instances


def instance_file(path: Path, patient: int, study: str, series: str, sop: str, **values: object) -> Path:
    name, pid, birth, sex = PATIENTS[patient]
    ds = Dataset()
    if not name.isascii():
        ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = name, pid, birth, sex
    ds.StudyInstanceUID, ds.StudyTime = study, "101500"
    ds.SeriesInstanceUID, ds.SOPClassUID, ds.SOPInstanceUID = series, SC, sop
    ds.ReferringPhysicianName = "REF^DOC"
    ds.ConversionType = "WSD"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop)
    ds.save_as(path, enforce_file_format=True)
    return path


def generate(directory: Path) -> Corpus:
    """3 patients, 5 studies, 8 series, 19 instances."""
    directory.mkdir()
    corpus = Corpus()
    counter = iter(range(1, 10**6))

    def uid() -> str:
        return f"{_UID_ROOT}{next(counter)}"

    for number, (patient, date, accession, series_list) in enumerate(STUDIES, 1):
        study = uid()
        corpus.studies.append(study)
        for series_number, (modality, images) in enumerate(series_list, 1):
            series = uid()
            corpus.series.setdefault(study, []).append(series)
            for instance_number in range(1, images + 1):
                sop = uid()
                corpus.instances.setdefault(series, []).append(sop)
                path = directory / f"img{len(corpus.files):03d}.dcm"
                values = {
                    "StudyDate": date,
                    "AccessionNumber": accession,
                    "StudyID": f"S{number}",
                    "StudyDescription": f"{modality} study {number}",
                    "Modality": modality,
                    "SeriesNumber": series_number,
                    "SeriesDescription": f"{modality} series {series_number}",
                    "InstanceNumber": instance_number,
                }
                corpus.files.append(instance_file(path, patient, study, series, sop, **values))
    return corpus


@dataclass
class Pair:
    theirs: Server
    ours: Server
    corpus: Corpus

    @property
    def both(self) -> tuple[Server, Server]:
        return self.theirs, self.ours


INDEXES: Final = ("sqlite", "postgresql")


def index_options(kind: str) -> list[str]:
    """Our archive's index options: the default SQLite file, or a new PostgreSQL database
    (the PostgreSQL cases are skipped where PostgreSQL is not installed)."""
    if kind == "sqlite":
        return []
    reason = pg_server.skip_reason()
    if reason is not None:
        pytest.skip(reason)
    return ["--index-url", pg_server.shared().create_database()]


@pytest.fixture(scope="module", params=INDEXES)
def index(request: pytest.FixtureRequest) -> list[str]:
    return index_options(request.param)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, index: list[str]) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("dcmqrscp")
    corpus = generate(root / "in")
    with (
        running(root / "dcmtk", dcmtk=True) as theirs,
        running(root / "ours", dcmtk=False, options=index) as ours,
    ):
        for server in (theirs, ours):
            sent = dcmtk("storescu", *peer(server, "ARCHIVE"), *corpus.files)
            assert sent.code == 0, f"{server.name}: {sent.stderr}"
        yield Pair(theirs, ours, corpus)
    assert not theirs.running() and not ours.running()


# -- C-FIND: the same matches ------------------------------------------------------------------------


def k(*keys: str | bytes) -> list[str | bytes]:
    return [part for key in keys for part in ("-k", key)]


# name -> (the number of matches, findscu arguments); {s0}..{s4} are the studies (STUDIES'
# order), {s0se0} the first series of s0, {s0se0i0} its first instance, and so on
QUERIES: Final[dict[str, tuple[int, list[str | bytes]]]] = {
    "patients, universal": (
        3,
        [
            "-P",
            *k("QueryRetrieveLevel=PATIENT", "PatientName", "PatientID", "PatientBirthDate", "PatientSex"),
        ],
    ),
    "patients, wildcard *": (2, ["-P", *k("QueryRetrieveLevel=PATIENT", "PatientName=DOE*", "PatientID")]),
    "patients, wildcard ?": (
        1,
        ["-P", *k("QueryRetrieveLevel=PATIENT", "PatientName=D?E^JAN?", "PatientID")],
    ),
    "patients, case sensitive": (
        0,
        ["-P", *k("QueryRetrieveLevel=PATIENT", "PatientName=doe*", "PatientID")],
    ),
    "patients, Latin-1 wildcard": (
        1,
        [
            "-P",
            *k(
                "QueryRetrieveLevel=PATIENT",
                "SpecificCharacterSet=ISO_IR 100",
                "PatientName=M\xdcLLER*".encode("latin-1"),
                "PatientID",
            ),
        ],
    ),
    "patients, UTF-8 request": (
        1,
        [
            "-P",
            *k(
                "QueryRetrieveLevel=PATIENT",
                "SpecificCharacterSet=ISO_IR 192",
                "PatientID=P003",
                "PatientName",
            ),
        ],
    ),
    "patients, birth date range": (
        2,
        ["-P", *k("QueryRetrieveLevel=PATIENT", "PatientBirthDate=19650101-19751231", "PatientName")],
    ),
    "patient root, studies of a patient": (
        2,
        [
            "-P",
            *k(
                "QueryRetrieveLevel=STUDY",
                "PatientID=P001",
                "StudyInstanceUID",
                "StudyDate",
                "AccessionNumber",
            ),
        ],
    ),
    "studies, date range": (
        2,
        [
            "-S",
            *k("QueryRetrieveLevel=STUDY", "StudyDate=20200101-20201231", "PatientName", "StudyInstanceUID"),
        ],
    ),
    "studies, open date range before": (
        2,
        ["-S", *k("QueryRetrieveLevel=STUDY", "StudyDate=-20200110", "StudyInstanceUID")],
    ),
    "studies, open date range after": (
        2,
        ["-S", *k("QueryRetrieveLevel=STUDY", "StudyDate=20210101-", "StudyInstanceUID", "PatientID")],
    ),
    "studies, single date": (
        1,
        ["-S", *k("QueryRetrieveLevel=STUDY", "StudyDate=20200620", "StudyInstanceUID")],
    ),
    "studies, name and date": (
        2,
        [
            "-S",
            *k("QueryRetrieveLevel=STUDY", "PatientName=DOE^J*", "StudyDate=20200101-", "StudyInstanceUID"),
        ],
    ),
    "studies, accession wildcard": (
        2,
        ["-S", *k("QueryRetrieveLevel=STUDY", "AccessionNumber=XYZ*", "StudyInstanceUID", "StudyID")],
    ),
    "studies, UID list": (
        2,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=STUDY",
                "StudyInstanceUID={s0}\\{s3}\\1.2.3.4.5",
                "StudyDate",
                "PatientName",
            ),
        ],
    ),
    # ModalitiesInStudy, NumberOfStudyRelatedInstances, InstitutionName: DCMTK leaves them out
    "studies, keys dcmqrscp does not support": (
        2,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=STUDY",
                "PatientID=P003",
                "StudyInstanceUID",
                "ModalitiesInStudy",
                "NumberOfStudyRelatedInstances",
                "InstitutionName",
            ),
        ],
    ),
    "series of a study": (
        2,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=SERIES",
                "StudyInstanceUID={s1}",
                "SeriesInstanceUID",
                "Modality",
                "SeriesNumber",
            ),
        ],
    ),
    "series, modality": (
        1,
        ["-S", *k("QueryRetrieveLevel=SERIES", "StudyInstanceUID={s3}", "Modality=MR", "SeriesInstanceUID")],
    ),
    "patient root, series": (
        1,
        [
            "-P",
            *k(
                "QueryRetrieveLevel=SERIES",
                "PatientID=P002",
                "StudyInstanceUID={s2}",
                "SeriesInstanceUID",
                "Modality",
            ),
        ],
    ),
    # SOPClassUID: DCMTK leaves it out
    "images of a series": (
        3,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=IMAGE",
                "StudyInstanceUID={s0}",
                "SeriesInstanceUID={s0se0}",
                "SOPInstanceUID",
                "InstanceNumber",
                "SOPClassUID",
            ),
        ],
    ),
    "images, UID list": (
        2,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=IMAGE",
                "StudyInstanceUID={s0}",
                "SeriesInstanceUID={s0se1}",
                "SOPInstanceUID={s0se1i0}\\{s0se1i1}\\1.2.3",
                "InstanceNumber",
            ),
        ],
    ),
    "images, instance number": (
        1,
        [
            "-S",
            *k(
                "QueryRetrieveLevel=IMAGE",
                "StudyInstanceUID={s0}",
                "SeriesInstanceUID={s0se0}",
                "InstanceNumber=2",
                "SOPInstanceUID",
            ),
        ],
    ),
    "patient/study only": (
        2,
        [
            "-O",
            *k(
                "QueryRetrieveLevel=STUDY",
                "PatientID=P003",
                "StudyInstanceUID",
                "StudyDate",
                "AccessionNumber",
            ),
        ],
    ),
    "study root has no patient level": (0, ["-S", *k("QueryRetrieveLevel=PATIENT", "PatientName")]),
    "images without the series UID": (
        0,
        ["-S", *k("QueryRetrieveLevel=IMAGE", "StudyInstanceUID={s0}", "SOPInstanceUID")],
    ),
}


def fill(corpus: Corpus, args: Sequence[str | bytes]) -> list[str | bytes]:
    names: dict[str, str] = {}
    for s, study in enumerate(corpus.studies):
        names[f"s{s}"] = study
        for se, series in enumerate(corpus.series[study]):
            names[f"s{s}se{se}"] = series
            for i, sop in enumerate(corpus.instances[series]):
                names[f"s{s}se{se}i{i}"] = sop
    return [a.format(**names) if isinstance(a, str) and "{" in a else a for a in args]


@dataclass
class Answer:
    code: int
    final: str  # the final status as findscu -v prints it, e.g. "Success"
    responses: list[Dataset]


_FINAL = re.compile(r"^I: Received Final Find Response \((.*)\)$", re.MULTILINE)


def find(server: Server, called_ae: str, args: Sequence[str | bytes], out: Path) -> Answer:
    """DCMTK's findscu -v -X: the exit code, the final status and the Pending responses."""
    out.mkdir(parents=True)
    run = dcmtk("findscu", "-v", "-X", "-od", out, *args, *peer(server, called_ae))
    finals = _FINAL.findall(run.stderr)
    responses: list[Dataset] = [pydicom.dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]
    return Answer(run.code, finals[-1] if finals else "", responses)


def value_text(ds: Dataset, tag: BaseTag) -> str:
    if tag not in ds:
        return "<absent>"
    value = ds[tag].value
    if value is None or value == "":
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value)


def matches(answer: Answer, tags: Sequence[BaseTag]) -> list[tuple[str, ...]]:
    return sorted(tuple(value_text(ds, tag) for tag in tags) for ds in answer.responses)


FAILING: Final = {
    "study root has no patient level": "Failed: UnableToProcess",
    "images without the series UID": "Failed: UnableToProcess",
}


@pytest.mark.parametrize("name", QUERIES)
def test_same_matches_and_final_status(pair: Pair, name: str, tmp_path: Path) -> None:
    expected, args = QUERIES[name]
    args = fill(pair.corpus, args)
    theirs = find(pair.theirs, "ARCHIVE", args, tmp_path / "dcmtk")
    ours = find(pair.ours, "ARCHIVE", args, tmp_path / "ours")
    assert (ours.code, ours.final) == (theirs.code, theirs.final)
    # the table means what it says
    assert (len(theirs.responses), theirs.final) == (expected, FAILING.get(name, "Success"))
    # Ours answers every requested key, also those dcmqrscp does not support (DCMTK leaves them
    # out of its responses; see dicomwire.archive.index): compare the keys DCMTK returns.  The
    # values are compared decoded, and Specific Character Set among them: both convert the
    # Latin-1 name to the request's character set (ISO_IR 100 when the request has none).
    tags = sorted({element.tag for ds in theirs.responses for element in ds})
    assert matches(ours, tags) == matches(theirs, tags)


def test_ours_answers_the_keys_dcmqrscp_leaves_out(pair: Pair, tmp_path: Path) -> None:
    """On purpose: ours answers every requested key (dicomwire.archive.index), DCMTK drops
    those its index has no field for."""
    _, args = QUERIES["studies, keys dcmqrscp does not support"]
    theirs = find(pair.theirs, "ARCHIVE", args, tmp_path / "dcmtk")
    ours = find(pair.ours, "ARCHIVE", args, tmp_path / "ours")
    extra = ("ModalitiesInStudy", "NumberOfStudyRelatedInstances", "InstitutionName")
    assert not any(keyword in ds for ds in theirs.responses for keyword in extra)
    answered = sorted(
        tuple(value_text(ds, Tag(keyword)) for keyword in ("StudyInstanceUID", *extra))
        for ds in ours.responses
    )
    s3, s4 = pair.corpus.studies[3:5]
    assert answered == sorted([(s3, "CT\\MR", "4", ""), (s4, "MR", "3", "")])


# -- associations ---------------------------------------------------------------------------------


def wait_for_log(server: Server, text: str) -> str:
    """The server's log once it holds ``text`` (bounded: it is written as the server goes)."""
    deadline = time.monotonic() + LIMIT
    while text not in (log := server.log):
        assert time.monotonic() < deadline, f"{text!r} not in the log of {server.name}:\n{log}"
        time.sleep(0.02)
    return log


def rejected(reason: str) -> str:
    result = "F: Result: Rejected Permanent, Source: Service User"
    return f"F: Association Rejected:\n{result}\nF: Reason: {reason}\n"


def test_dcmtk_echoscu_to_ours(pair: Pair) -> None:
    theirs, ours = (dcmtk("echoscu", "-v", *peer(server, "ARCHIVE")) for server in pair.both)
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    assert "I: Received Echo Response (Success)" in ours.lines
    wait_for_log(pair.ours, "I: Received Echo SCP RQ: MsgID 1\n")


def test_unknown_called_ae_title_is_rejected(pair: Pair) -> None:
    theirs, ours = (dcmtk("echoscu", *peer(server, "NOBODY")) for server in pair.both)
    assert (
        (ours.code, ours.stderr)
        == (theirs.code, theirs.stderr)
        == (1, rejected("Called AE Title Not Recognized"))
    )
    wait_for_log(pair.ours, "I: Refusing Association (BadAEService)\n")  # dcmqrscp's line


def test_peer_restricted_area_admits_only_listed_peers(pair: Pair) -> None:
    for server in pair.both:
        assert dcmtk("echoscu", "-aet", "STORESCU", *peer(server, "PRIVATE")).code == 0, server.name
        assert dcmtk("echoscu", "-aet", "FINDSCU", *peer(server, "PRIVATE")).code == 0, server.name
        stranger = dcmtk("echoscu", "-aet", "STRANGER", *peer(server, "PRIVATE"))
        assert stranger.code == 1, server.name
        assert stranger.lines[:2] == rejected("").splitlines()[:2], server.name


def test_peer_not_listed_is_rejected_with_dcmtks_reason(pair: Pair) -> None:
    theirs, ours = (dcmtk("echoscu", "-aet", "STRANGER", *peer(server, "PRIVATE")) for server in pair.both)
    assert (theirs.code, theirs.stderr) == (1, rejected("Called AE Title Not Recognized"))
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)


def test_storage_into_read_only_area_has_no_context(pair: Pair, tmp_path: Path) -> None:
    file = pair.corpus.files[0]
    theirs, ours = (dcmtk("storescu", "-v", *peer(server, "READER"), file) for server in pair.both)
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)
    assert ours.code == 1
    assert "F: No Acceptable Presentation Contexts" in ours.lines
    for server in pair.both:  # nothing was stored, and the area answers queries
        assert not any((server.root / "ro").glob("*.dcm")), server.name
        answer = find(server, "READER", ["-S", *k("QueryRetrieveLevel=STUDY")], tmp_path / server.name)
        assert (answer.code, answer.final, answer.responses) == (0, "Success", []), server.name


def test_find_in_write_only_area(pair: Pair, tmp_path: Path) -> None:
    """DCMTK 3.6.7 never checks read access: a W-only area answers C-FIND.  Ours refuses the
    query contexts of an area that may not be read, on purpose (dicomwire.archive.policy): the
    query fails with no acceptable presentation context, as a query the archive cannot serve."""
    file = pair.corpus.files[0]
    for server in pair.both:
        assert dcmtk("storescu", *peer(server, "WRITER"), file).code == 0, server.name
    query = ["-S", *k("QueryRetrieveLevel=STUDY", "StudyInstanceUID")]
    theirs = find(pair.theirs, "WRITER", query, tmp_path / "dcmtk")
    assert (theirs.code, theirs.final, len(theirs.responses)) == (0, "Success", 1)
    ours = dcmtk("findscu", *query, *peer(pair.ours, "WRITER"))
    assert (ours.code, ours.stderr) == (2, "E: No Acceptable Presentation Contexts\n")
    assert len(list((pair.ours.root / "wo").glob("*.dcm"))) == 1  # it was stored all the same


# -- quotas ---------------------------------------------------------------------------------------


def quota_files(directory: Path, studies: int, instances: int, base: int) -> list[list[Path]]:
    """``studies`` studies of ``instances`` minimal instances each: under 500 bytes a file as
    stored (by either archive), so that two fit in SMALL's 1 KiB a study and three do not."""
    directory.mkdir()
    result = []
    for s in range(studies):
        study = f"1.2.3.{base}.{s}"  # short UIDs: small files
        files = []
        for i in range(instances):
            ds = Dataset()
            ds.PatientName, ds.PatientID, ds.StudyDate, ds.Modality = "QUOTA^TEST", "Q1", "20200101", "OT"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, f"{study}.1"
            ds.SOPClassUID, ds.SOPInstanceUID = SC, f"{study}.1.{i}"
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = UID(SC)
            ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
            files.append(directory / f"q{s}_{i}.dcm")
            ds.save_as(files[-1], enforce_file_format=True)
        result.append(files)
    return result


def stored(server: Server, area: str) -> tuple[set[str], set[str]]:
    """(Study, SOP Instance UIDs) of the files in a storage area."""
    datasets = [pydicom.dcmread(path) for path in sorted((server.root / area).glob("*.dcm"))]
    return {str(ds.StudyInstanceUID) for ds in datasets}, {str(ds.SOPInstanceUID) for ds in datasets}


def store_each(pair: Pair, called_ae: str, *batches: Sequence[Path]) -> None:
    """Send each batch of files to both archives in an association of its own."""
    for batch in batches:
        for server in pair.both:
            run = dcmtk("storescu", *peer(server, called_ae), *batch)
            assert run.code == 0, f"{server.name}: {run.stderr}"


def next_second() -> None:
    """Wait for the wall clock's next second: dcmqrscp records when a study was last stored
    with one-second accuracy (time(NULL)), and two studies stored in the same second are a
    tie it breaks by the study's slot in its index, not by time (see the report in
    test_quota_counts_a_study_stored_into_as_recent)."""
    time.sleep(1.01 - time.time() % 1)


def study_uids(server: Server, called_ae: str, out: Path) -> set[str]:
    answer = find(server, called_ae, ["-S", *k("QueryRetrieveLevel=STUDY", "StudyInstanceUID")], out)
    assert (answer.code, answer.final) == (0, "Success"), server.name
    return {str(ds.StudyInstanceUID) for ds in answer.responses}


def test_quota_deletes_the_oldest_study(pair: Pair, tmp_path: Path) -> None:
    """QUOTA holds 2 studies: storing A, B, C leaves B and C, files and index rows."""
    (a0, a1), (b0, b1), (c0, c1) = quota_files(tmp_path / "in", 3, 2, 900)
    store_each(pair, "QUOTA", [a0, a1], [b0, b1], [c0, c1])
    b, c = (f"1.2.3.900.{s}" for s in (1, 2))
    theirs, ours = (stored(server, "quota") for server in pair.both)
    assert theirs[0] == {b, c}  # DCMTK's rule is the oracle
    assert ours == theirs
    for server in pair.both:
        assert study_uids(server, "QUOTA", tmp_path / server.name) == {b, c}


def test_quota_counts_a_study_stored_into_as_recent(pair: Pair, tmp_path: Path) -> None:
    """A, B, then one more instance of A, then C: B is the least recently stored and goes.

    Only when B and A's second instance are stored in different seconds: dcmqrscp keeps
    time(NULL) per study, and of studies stored in the same second it deletes the one in the
    lowest slot of its study table (deleteOldestStudy compares with ``<``), which here is A.
    Ours keeps sub-second times and deletes B whatever the clock says.
    """
    (a0, a1), (b0, b1), (c0, c1) = quota_files(tmp_path / "in", 3, 2, 903)
    store_each(pair, "QUOTA2", [a0], [b0, b1])
    next_second()
    store_each(pair, "QUOTA2", [a1], [c0, c1])
    a, c = (f"1.2.3.903.{s}" for s in (0, 2))
    theirs, ours = (stored(server, "quota2") for server in pair.both)
    assert theirs[0] == {a, c}
    assert ours == theirs
    for server in pair.both:
        assert study_uids(server, "QUOTA2", tmp_path / server.name) == {a, c}


def test_study_beyond_its_byte_quota_loses_its_oldest_images(pair: Pair, tmp_path: Path) -> None:
    """SMALL allows 1 KiB a study: two of these instances fit, three do not."""
    [files] = quota_files(tmp_path / "in", 1, 3, 901)
    assert all(path.stat().st_size < 500 for path in files)
    theirs, ours = (dcmtk("storescu", "-v", *peer(server, "SMALL"), *files) for server in pair.both)
    assert theirs.code == 0 and theirs.stderr.count("Received Store Response (Success)") == 3
    assert stored(pair.theirs, "small")[1] == {f"1.2.3.901.0.1.{i}" for i in (1, 2)}
    assert ours.code == theirs.code
    assert stored(pair.ours, "small") == stored(pair.theirs, "small")


def test_storing_an_instance_again_into_a_full_study(pair: Pair, tmp_path: Path) -> None:
    [(first, second)] = quota_files(tmp_path / "in", 1, 2, 902)
    for server in pair.both:
        assert dcmtk("storescu", *peer(server, "SMALL"), first, second).code == 0, server.name
    theirs, ours = (dcmtk("storescu", "-v", *peer(server, "SMALL"), first) for server in pair.both)
    assert theirs.code == 0
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)


# -- shutting down -----------------------------------------------------------------------------


def test_termscu_without_allow_shutdown_changes_nothing(pair: Pair) -> None:
    theirs, ours = (dcmtk("termscu", *peer(server, "ARCHIVE")) for server in pair.both)
    assert (
        (ours.code, ours.stderr)
        == (theirs.code, theirs.stderr)
        == (1, "F: No Acceptable Presentation Contexts\n")
    )
    for server in pair.both:  # both serve on
        assert dcmtk("echoscu", *peer(server, "ARCHIVE")).code == 0, server.name
        assert server.running(), server.name


def test_termscu_with_allow_shutdown_stops_the_archive(tmp_path: Path) -> None:
    """Both reject the request (that is how termscu learns it worked) and end.  Ours exits 0;
    this DCMTK build dies of SIGSEGV on the way out (exit -11), so only its ending is checked."""
    options = ["--allow-shutdown"]
    with (
        running(tmp_path / "dcmtk", dcmtk=True, options=options) as theirs,
        running(tmp_path / "ours", dcmtk=False, options=options) as ours,
    ):
        assert dcmtk("echoscu", *peer(ours, "ARCHIVE")).code == 0  # an ordinary association first
        done = [dcmtk("termscu", "-v", *peer(server, "ARCHIVE")) for server in (theirs, ours)]
        assert (done[1].code, done[1].stderr) == (done[0].code, done[0].stderr)
        assert done[1].code == 1 and done[1].lines[-1] == "F: Reason: No Reason"
        assert ours.wait() == 0
        theirs.wait()
        assert "W: shutdown requested by TERMSCU (localhost)" in ours.log


# -- our own tools ------------------------------------------------------------------------------


def test_our_storescu_and_findscu_against_our_archive(pair: Pair, tmp_path: Path) -> None:
    """Smoke test: our storescu and findscu (calling AE titles STORESCU and FINDSCU, the peers the
    PRIVATE area admits) against our dcmqrscp."""
    files = pair.corpus.files[:4]  # the first study: one series of 3, one of 2
    sent = tool(OUR_TOOLS / "storescu", "-v", *peer(pair.ours, "PRIVATE"), *files)
    assert sent.code == 0, sent.stderr
    assert sent.stderr.count("I: Received Store Response (Success)") == len(files)
    study = pair.corpus.studies[0]
    series = pair.corpus.series[study][0]
    query = k(
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={study}",
        f"SeriesInstanceUID={series}",
        "SOPInstanceUID",
        "PatientName",
    )
    found = tool(OUR_TOOLS / "findscu", "-S", "--json", *query, *peer(pair.ours, "PRIVATE"))
    assert found.code == 0, found.stderr
    answers = [Dataset.from_json(item) for item in json.loads(found.stdout)]
    assert sorted(str(ds.SOPInstanceUID) for ds in answers) == sorted(pair.corpus.instances[series])
    assert {str(ds.PatientName) for ds in answers} == {"DOE^JOHN"}
