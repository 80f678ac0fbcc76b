"""findscu interop with DCMTK 3.6.7: ours and DCMTK's against dcmqrscp and wlmscpfs,
and DCMTK's findscu against our C-FIND SCP.

The same command line is run with both tools; their exit codes, their log
output (``-v``), their ``-X``/``-Xs`` files and our ``--json`` must agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.messages import CCancelRQ, CFindRQ
from dicomwire.net.server import Server
from dicomwire.services.query import AssociationInfo, ignore_cancel, make_find_handler

DCMQRSCP = "/usr/bin/dcmqrscp"
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not Path(DCMQRSCP).exists(), reason="DCMTK is not installed"),
]

OURS = os.path.join(os.path.dirname(sys.executable), "findscu")
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
EXAMPLES = Path("/usr/share/doc/dcmtk/examples")
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
BULK_IMAGES = 300
_UID_ROOT = "1.2.826.0.1.3680043.10.1009."  # fixed UIDs: the data set is the same on every run


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the DCMTK server exited early"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # a foreign process's port: there is no event to wait on
    raise AssertionError(f"nothing listens on port {port}")


def start_server(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, env=DCMTK_ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_for_port(proc, port)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """dcmqrscp forks a child per association: end the whole process group we started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@dataclass
class Run:
    code: int
    stdout: bytes
    stderr: str


def run(tool: str, args: Sequence[object], cwd: Path | None = None) -> Run:
    argv = [tool, *map(str, args)]
    done = subprocess.run(argv, env=DCMTK_ENV, capture_output=True, timeout=60, cwd=cwd)
    # DCMTK writes non-UTF-8 bytes raw where we write U+FFFD: compare the decoded texts.
    return Run(done.returncode, done.stdout, done.stderr.decode("utf-8", "replace"))


def both(args: Sequence[object], cwd: Path | None = None) -> tuple[Run, Run]:
    return run("/usr/bin/findscu", args, cwd), run(OURS, args, cwd)


# -- the archive ---------------------------------------------------------------------------


@dataclass
class Archive:
    port: int
    ae: str
    study_uids: dict[str, list[str]]  # patient ID -> study UIDs
    series_uids: dict[str, list[str]]  # study UID -> series UIDs
    files: list[Path]


PATIENTS = [
    ("DOE^JOHN", "P001", "19700101", "M"),
    ("DOE^JANE", "P002", "19750505", "F"),
    ("SMITH^ANNA", "P003", "19800202", "F"),
    ("MÜLLER^HANS", "P004", "19900303", "M"),
    ("O'BRIEN^PAT", "P005", "20000101", "O"),
]


def _instance(
    patient: tuple[str, str, str, str],
    study: str,
    series: str,
    sop: str,
    *,
    date: str,
    modality: str,
    number: int,
) -> Dataset:
    name, pid, birth, sex = patient
    ds = Dataset()
    if not name.isascii():
        ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = name, pid, birth, sex
    ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime = study, date, "101010"
    ds.AccessionNumber = f"A{pid}{date[-4:]}"
    ds.StudyID = date[-4:]
    ds.StudyDescription = f"Study of {pid} on {date}"
    ds.ReferringPhysicianName = "REF^DOC"
    ds.SeriesInstanceUID, ds.Modality, ds.SeriesNumber = series, modality, 1 if modality == "CT" else 2
    ds.SOPClassUID, ds.SOPInstanceUID, ds.InstanceNumber = SC, sop, number
    ds.ConversionType = "WSD"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop)
    return ds


def generate(directory: Path) -> tuple[list[Path], dict[str, list[str]], dict[str, list[str]]]:
    """5 patients x 2 studies x 2 series (CT, MR) x 2 images, and one patient with many images."""
    directory.mkdir()
    files: list[Path] = []
    studies: dict[str, list[str]] = {}
    series_of: dict[str, list[str]] = {}
    counter = iter(range(1, 10**6))

    def uid() -> str:
        return f"{_UID_ROOT}{next(counter)}"

    def save(ds: Dataset) -> None:
        path = directory / f"img{len(files):04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)

    for p_index, patient in enumerate(PATIENTS):
        for s_index in range(2):
            study = uid()
            studies.setdefault(patient[1], []).append(study)
            date = f"{2019 + s_index}{p_index + 1:02d}15"
            for modality in ("CT", "MR"):
                series = uid()
                series_of.setdefault(study, []).append(series)
                for number in (1, 2):
                    save(
                        _instance(patient, study, series, uid(), date=date, modality=modality, number=number)
                    )
    bulk = ("BULK^PATIENT", "P100", "19600101", "M")
    study, series = uid(), uid()
    studies["P100"], series_of[study] = [study], [series]
    for number in range(1, BULK_IMAGES + 1):
        save(_instance(bulk, study, series, uid(), date="20210101", modality="CT", number=number))
    return files, studies, series_of


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("dcmqrscp")
    files, studies, series = generate(root / "in")
    storage = root / "ARCHIVE"
    storage.mkdir()
    port = free_port()
    config = root / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nARCHIVE {storage} RW (200, 1024mb) ANY\nAETable END\n"
    )
    proc = start_server([DCMQRSCP, "-c", str(config), str(port)], port, root / "dcmqrscp.log")
    try:
        stored = subprocess.run(
            ["/usr/bin/storescu", "-aec", "ARCHIVE", "127.0.0.1", str(port), *map(str, files)],
            env=DCMTK_ENV,
            capture_output=True,
            timeout=120,
        )
        assert stored.returncode == 0, stored.stderr
        yield Archive(port, "ARCHIVE", studies, series, files)
    finally:
        stop_server(proc)


def qr(archive: Archive, *args: object) -> list[object]:
    return ["-aec", archive.ae, *args, "127.0.0.1", archive.port]


def k(*keys: str) -> list[str]:
    return [part for key in keys for part in ("-k", key)]


# Each query: model and keys (the archive's UIDs are filled in by name).
QUERIES: dict[str, list[str]] = {
    "patient root, patients": [
        "-P",
        *k("QueryRetrieveLevel=PATIENT", "PatientName", "PatientID", "PatientBirthDate", "PatientSex"),
    ],
    "patient root, wildcard *": ["-P", *k("QueryRetrieveLevel=PATIENT", "PatientName=DOE*", "PatientID")],
    "patient root, wildcard ?": [
        "-P",
        *k("QueryRetrieveLevel=PATIENT", "PatientName=SMITH^ANN?", "PatientID"),
    ],
    "patient root, studies of a patient": [
        "-P",
        *k("QueryRetrieveLevel=STUDY", "PatientID=P001", "StudyInstanceUID", "StudyDate", "StudyDescription"),
    ],
    "study root, date range": [
        "-S",
        *k(
            "QueryRetrieveLevel=STUDY",
            "StudyDate=20200101-20201231",
            "PatientName",
            "StudyInstanceUID",
            "AccessionNumber",
        ),
    ],
    "study root, open date range": [
        "-S",
        *k("QueryRetrieveLevel=STUDY", "StudyDate=-20191231", "PatientID", "StudyInstanceUID"),
    ],
    "study root, series": [
        "-S",
        *k(
            "QueryRetrieveLevel=SERIES",
            "StudyInstanceUID={study}",
            "Modality",
            "SeriesInstanceUID",
            "SeriesNumber",
        ),
    ],
    "study root, images": [
        "-S",
        *k(
            "QueryRetrieveLevel=IMAGE",
            "StudyInstanceUID={study}",
            "SeriesInstanceUID={series}",
            "SOPInstanceUID",
            "InstanceNumber",
            "SOPClassUID",
        ),
    ],
    "study root, UID list": [
        "-S",
        *k("QueryRetrieveLevel=STUDY", "StudyInstanceUID={study}\\{study2}", "StudyDate"),
    ],
    "patient/study only": [
        "-O",
        *k(
            "QueryRetrieveLevel=STUDY",
            "PatientID=P003",
            "StudyInstanceUID",
            "StudyDate",
        ),
    ],
    "implicit VR": ["-xi", "-P", *k("QueryRetrieveLevel=PATIENT", "PatientName", "PatientID")],
    "big endian first": ["-xb", "-S", *k("QueryRetrieveLevel=STUDY", "PatientID=P00*", "StudyDate")],
    "failure status": ["-S", *k("QueryRetrieveLevel=PATIENT", "PatientName")],
    "data correction": ["+dc", "-P", *k("QueryRetrieveLevel=PATIENT", "PatientName", "PatientID")],
}


def fill(archive: Archive, args: list[str]) -> list[str]:
    study, study2 = archive.study_uids["P001"]
    values = {"study": study, "study2": study2, "series": archive.series_uids[study][0]}
    return [arg.format(**values) if "{" in arg else arg for arg in args]


def normalized(text: str, *paths: Path) -> str:
    for index, path in enumerate(paths):
        text = text.replace(str(path), f"<OUT{index}>")
    return text


def dataset_dump(path: Path) -> list[str]:
    """dcmdump of a response file without the lines that differ by writer."""
    text = subprocess.run(["/usr/bin/dcmdump", "-q", "+L", str(path)], capture_output=True).stdout
    skip = re.compile(r"^\(0002,(0000|0003|0012|0013)\)")
    return [line for line in text.decode("latin-1").splitlines() if not skip.match(line)]


def check_json(items: object) -> None:
    """The shape PS3.18 F.2 prescribes for a DICOM JSON array."""
    assert isinstance(items, list)
    for item in items:
        _check_json_dataset(item)


def _check_json_dataset(item: object) -> None:
    assert isinstance(item, dict)
    for key, attribute in item.items():
        assert re.fullmatch(r"[0-9A-F]{8}", key), key
        assert isinstance(attribute, dict) and re.fullmatch(r"[A-Z]{2}", attribute["vr"])
        assert set(attribute) <= {"vr", "Value", "InlineBinary", "BulkDataURI"}
        values = attribute.get("Value")
        if values is None:
            continue
        assert isinstance(values, list) and values
        if attribute["vr"] == "SQ":
            for nested in values:
                _check_json_dataset(nested)
        elif attribute["vr"] == "PN":
            assert all(set(v) <= {"Alphabetic", "Ideographic", "Phonetic"} for v in values if v is not None)


# -- Query/Retrieve against dcmqrscp -----------------------------------------------------


@pytest.mark.parametrize("name", QUERIES)
def test_same_log_as_dcmtk(archive: Archive, name: str) -> None:
    args = qr(archive, "-v", *fill(archive, QUERIES[name]))
    theirs, ours = both(args)
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    assert "Received Final Find Response" in ours.stderr


# DCMTK writes -X files in the transfer syntax the response came in (implicit,
# big endian, deflated); so do we.
FILE_QUERIES = [n for n in QUERIES if n != "failure status"]


@pytest.mark.parametrize("name", FILE_QUERIES)
def test_same_response_files_and_json(archive: Archive, name: str, tmp_path: Path) -> None:
    (tmp_path / "dcmtk").mkdir()
    (tmp_path / "ours").mkdir()
    query = fill(archive, QUERIES[name])
    theirs = run("/usr/bin/findscu", qr(archive, "-v", "-X", "-od", tmp_path / "dcmtk", *query))
    ours = run(OURS, qr(archive, "-v", "-X", "-od", tmp_path / "ours", "--json", *query))
    assert ours.code == theirs.code == 0
    assert normalized(ours.stderr, tmp_path / "ours") == normalized(theirs.stderr, tmp_path / "dcmtk")
    names = sorted(p.name for p in (tmp_path / "dcmtk").iterdir())
    assert names and names == sorted(p.name for p in (tmp_path / "ours").iterdir())
    for file_name in names:
        assert dataset_dump(tmp_path / "ours" / file_name) == dataset_dump(tmp_path / "dcmtk" / file_name)
    items = json.loads(ours.stdout)
    check_json(items)
    expected = [dcmread(tmp_path / "dcmtk" / file_name).to_json_dict() for file_name in names]
    assert items == expected
    assert all(Dataset.from_json(item) is not None for item in items)


def test_single_xml_file_equals_dcmtks(archive: Archive, tmp_path: Path) -> None:
    query = fill(archive, QUERIES["study root, date range"])
    theirs, ours = both(qr(archive, "-v", "-Xs", "dcmtk.xml", *query), cwd=tmp_path)
    (tmp_path / "theirs.xml").write_bytes((tmp_path / "dcmtk.xml").read_bytes())
    ours = run(OURS, qr(archive, "-v", "-Xs", "dcmtk.xml", *query), cwd=tmp_path)
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    assert (tmp_path / "dcmtk.xml").read_bytes() == (tmp_path / "theirs.xml").read_bytes()
    root = ET.parse(tmp_path / "dcmtk.xml").getroot()
    assert root.tag == "responses" and len(root.findall("data-set")) == ours.stderr.count(
        "Received Find Response"
    )


def test_query_files_repeat_and_overrides(archive: Archive, tmp_path: Path) -> None:
    first, second = Dataset(), Dataset()
    first.QueryRetrieveLevel, first.PatientName, first.PatientID = "PATIENT", "", ""
    second.QueryRetrieveLevel, second.PatientID, second.StudyInstanceUID = "STUDY", "P002", ""
    for ds, file_name in ((first, "q1.dcm"), (second, "q2.dcm")):
        ds.save_as(tmp_path / file_name, implicit_vr=False, little_endian=True)
    args = qr(archive, "-v", "-P", "--repeat", 2, "-k", "PatientBirthDate", "-sr")
    theirs, ours = both([*args, "q1.dcm", "q2.dcm"], cwd=tmp_path)
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    assert ours.stderr.count("Sending Find Request") == 4


def test_cancel_after_one_response(archive: Archive) -> None:
    """Both send C-CANCEL-RQ right after the first response and read on to the final one.

    Whether dcmqrscp notices the cancel before it has sent every match is a race
    on its side (DCMTK's own findscu loses it too, more often under load), so
    ours gets a few attempts to see it honoured.
    """
    study = archive.study_uids["P100"][0]
    keys = k(
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={study}",
        f"SeriesInstanceUID={archive.series_uids[study][0]}",
        "SOPInstanceUID",
    )
    args = qr(archive, "-v", "-sr", "--cancel", 1, "-S", *keys)
    finals = []
    for tool in ("/usr/bin/findscu", OURS, OURS, OURS):
        result = run(tool, args)
        assert result.code == 0, result.stderr
        lines = result.stderr.splitlines()
        assert "I: Sending Cancel Request (MsgID 1, PresID 1)" in lines, result.stderr
        assert lines[lines.index("I: Sending Cancel Request (MsgID 1, PresID 1)") - 1] == (
            "I: Received Find Response 1 (Pending)"
        )
        final = lines[-2]
        count = result.stderr.count("Received Find Response")
        if final == "I: Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)":
            assert count < BULK_IMAGES
        else:
            assert (final, count) == ("I: Received Final Find Response (Success)", BULK_IMAGES)
        assert lines[-1] == "I: Releasing Association"
        finals.append(final)
        if tool == OURS and "Cancel" in final:
            break
    assert "Cancel" in finals[-1], finals


def test_association_problems(archive: Archive) -> None:
    keys = k("QueryRetrieveLevel=PATIENT", "PatientName")
    theirs, ours = both(["-aec", "NOBODY", *keys, "127.0.0.1", archive.port])
    assert ours.code == theirs.code == 2
    assert ours.stderr == theirs.stderr
    assert "Reason: Called AE Title Not Recognized" in ours.stderr
    theirs, ours = both(qr(archive, "-W", *keys))  # dcmqrscp has no worklist
    assert ours.code == theirs.code == 2
    assert ours.stderr == theirs.stderr == "E: No Acceptable Presentation Contexts\n"
    theirs, ours = both(qr(archive, "-v", "-P", "-k", "Foo=bar"))
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr


# -- Modality Worklist against wlmscpfs ----------------------------------------------------


@pytest.fixture(scope="module")
def worklist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    if not (EXAMPLES / "wlistdb" / "OFFIS").is_dir():
        pytest.skip("DCMTK's worklist examples are not installed")
    root = tmp_path_factory.mktemp("wlmscpfs")
    database = root / "db" / "OFFIS"
    database.mkdir(parents=True)
    (database / "lockfile").touch()
    for dump in sorted((EXAMPLES / "wlistdb" / "OFFIS").glob("*.dump")):
        subprocess.run(
            ["/usr/bin/dump2dcm", "-q", "-g", str(dump), str(database / f"{dump.stem}.wl")], check=True
        )
    queries = root / "queries"
    queries.mkdir()
    for dump in sorted((EXAMPLES / "wlistqry").glob("*.dump")):
        subprocess.run(["/usr/bin/dump2dcm", "-q", str(dump), str(queries / f"{dump.stem}.dcm")], check=True)
    port = free_port()
    proc = start_server(
        ["/usr/bin/wlmscpfs", "-dfp", str(root / "db"), str(port)], port, root / "wlmscpfs.log"
    )
    try:
        yield port, queries
    finally:
        stop_server(proc)


WORKLIST_QUERIES = [f"wlistqry{n}" for n in range(13)]


@pytest.mark.parametrize("name", WORKLIST_QUERIES)
def test_worklist_queries_from_files(worklist: tuple[int, Path], name: str, tmp_path: Path) -> None:
    port, queries = worklist
    (tmp_path / "dcmtk").mkdir()
    (tmp_path / "ours").mkdir()
    args = ["-v", "-W", "-aec", "OFFIS", "127.0.0.1", port, queries / f"{name}.dcm"]
    theirs, ours = both(args)
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    theirs = run("/usr/bin/findscu", ["-X", "-od", tmp_path / "dcmtk", *args])
    ours = run(OURS, ["-X", "-od", tmp_path / "ours", *args])
    names = sorted(p.name for p in (tmp_path / "dcmtk").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ours").iterdir())
    for file_name in names:
        assert dataset_dump(tmp_path / "ours" / file_name) == dataset_dump(tmp_path / "dcmtk" / file_name)


def test_worklist_sequence_keys(worklist: tuple[int, Path]) -> None:
    port, _ = worklist
    keys = k(
        "PatientName",
        "(0040,0100)[0].Modality=MR",
        "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
        "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=19951015-19961231",
        "(0032,1064)",
        "0040,1001=RP*",
    )
    theirs, ours = both(["-v", "-W", "-aec", "OFFIS", *keys, "127.0.0.1", port])
    assert ours.code == theirs.code == 0
    assert ours.stderr == theirs.stderr
    assert "Find Response: 1 (Pending)" in ours.stderr
    theirs, ours = both(["+sr", "--json", "-W", "-aec", "OFFIS", *keys, "127.0.0.1", port])
    items = json.loads(ours.stdout)
    check_json(items)
    assert items and all(item["00400100"]["Value"][0]["00080060"]["Value"] == ["MR"] for item in items)


# -- DCMTK's findscu against our SCP ---------------------------------------------------------


class Patients:
    async def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        for n in range(500):
            ds = Dataset()
            ds.QueryRetrieveLevel = "PATIENT"
            ds.PatientName = f"PATIENT^{n:03d}"
            ds.PatientID = f"ID{n:03d}"
            yield st.PENDING, ds


async def _dcmtk_against_our_scp(args: Sequence[str]) -> subprocess.CompletedProcess[bytes]:
    syntaxes = (
        uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_LITTLE_ENDIAN,
        uids.EXPLICIT_VR_BIG_ENDIAN,
        uids.IMPLICIT_VR_LITTLE_ENDIAN,
    )
    settings = AcceptorSettings(supported={uids.PATIENT_ROOT_FIND: syntaxes})
    server = Server(settings, {CFindRQ: make_find_handler(Patients()), CCancelRQ: ignore_cancel})
    await server.start("127.0.0.1", 0)
    try:
        proc = await asyncio.create_subprocess_exec(
            "/usr/bin/findscu",
            *args,
            "127.0.0.1",
            str(server.port),
            env=DCMTK_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    finally:
        await server.close()


@pytest.mark.parametrize("proposal", ["-x=", "-xd", "-xb", "-xi"])
def test_dcmtk_findscu_against_our_scp(proposal: str) -> None:
    keys = k("QueryRetrieveLevel=PATIENT", "PatientName", "PatientID")
    done = asyncio.run(_dcmtk_against_our_scp([proposal, "-v", "-sr", "-P", *keys]))
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert stderr.count("Received Find Response") == 500
    assert "I: Received Final Find Response (Success)" in stderr


def test_dcmtk_cancel_against_our_scp() -> None:
    keys = k("QueryRetrieveLevel=PATIENT", "PatientName")
    done = asyncio.run(_dcmtk_against_our_scp(["-v", "-sr", "--cancel", "3", "-P", *keys]))
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "I: Sending Cancel Request (MsgID 1, PresID 1)" in stderr
    assert "I: Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)" in stderr
    assert stderr.count("Received Find Response") < 500
    assert "Releasing Association" in stderr


def test_tool_is_installed() -> None:
    assert shutil.which("findscu", path=os.path.dirname(OURS)) == OURS
