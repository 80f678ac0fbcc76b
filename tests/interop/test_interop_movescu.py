"""movescu interop with DCMTK 3.6.7: ours and DCMTK's against dcmqrscp with the same data.

Both tools run the same command line: exit codes, the files that arrive (names and data
sets) and the key ``-v`` log lines must agree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dcmtk_help import copied_descriptions, interface
from dicomwire.cli.movescu import build_parser
from ports import accepting, free_port

DCMQRSCP = Path("/usr/bin/dcmqrscp")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not DCMQRSCP.exists(), reason="DCMTK is not installed"),
]

THEIRS = "/usr/bin/movescu"
OURS = [sys.executable, "-m", "dicomwire.cli.movescu"]
ENV = {**os.environ, "TCP_NODELAY": "1"}
SC = "1.2.840.10008.5.1.4.1.1.7"
STUDY = "1.2.826.0.1.3680043.10.1009.7"
SERIES = (f"{STUDY}.1", f"{STUDY}.2")
IMAGES = 3  # per series


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass
class Archive:
    port: int
    ours_port: int  # the +P port of MOVE_OURS
    theirs_port: int  # the +P port of MOVE_THEIRS
    storescp_port: int
    uids: list[str]


def _instance(series: str, number: int, modality: str) -> Dataset:
    ds = Dataset()
    ds.PatientName, ds.PatientID = "DOE^JOHN", "P001"
    ds.StudyInstanceUID, ds.StudyDate, ds.StudyID = STUDY, "20200101", "1"
    ds.SeriesInstanceUID, ds.Modality, ds.SeriesNumber = series, modality, 1
    ds.SOPClassUID, ds.SOPInstanceUID, ds.InstanceNumber = SC, f"{series}.{number}", number
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    return ds


def _wait_for(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the DCMTK server exited early"
        if accepting(port):
            return
        time.sleep(0.02)  # a foreign process's port: there is no event to wait on
    raise AssertionError(f"nothing listens on port {port}")


def _start(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for(proc, port)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("movescu")
    (root / "in").mkdir()
    (root / "ARCHIVE").mkdir()
    (root / "storescp").mkdir()
    files = []
    for series, modality in zip(SERIES, ("CT", "MR"), strict=True):
        for number in range(1, IMAGES + 1):
            ds = _instance(series, number, modality)
            path = root / "in" / f"{ds.SOPInstanceUID}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    port, ours, theirs, storescp = (free_port() for _ in range(4))
    (root / "qr.cfg").write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\nMOVE_OURS = (MOVE_OURS, 127.0.0.1, {ours})\n"
        f"MOVE_THEIRS = (MOVE_THEIRS, 127.0.0.1, {theirs})\n"
        f"STORESCP = (STORESCP, 127.0.0.1, {storescp})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nARCHIVE {root / 'ARCHIVE'} RW (200, 1024mb) ANY\nAETable END\n"
    )
    qr = _start([str(DCMQRSCP), "-c", str(root / "qr.cfg"), str(port)], port, root / "qr.log")
    scp = _start(
        ["/usr/bin/storescp", "-aet", "STORESCP", "-od", str(root / "storescp"), str(storescp)],
        storescp,
        root / "storescp.log",
    )
    try:
        stored = subprocess.run(
            ["/usr/bin/storescu", "-aec", "ARCHIVE", "127.0.0.1", str(port), *map(str, files)],
            env=ENV,
            capture_output=True,
            timeout=60,
        )
        assert stored.returncode == 0, stored.stderr
        yield Archive(port, ours, theirs, storescp, [f.stem for f in files])
    finally:
        _stop(scp)
        _stop(qr)


def run(tool: Sequence[str], args: Sequence[object], cwd: Path) -> Run:
    done = subprocess.run([*tool, *map(str, args)], env=ENV, capture_output=True, timeout=60, cwd=cwd)
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode("utf-8", "replace"))


def both(
    archive: Archive, args: Sequence[object], tmp_path: Path, *, listen: bool = False
) -> tuple[Run, Run]:
    """DCMTK's and our movescu with ``args``; with ``listen`` each receives itself on +P."""
    results = []
    for name, tool, port in (("theirs", [THEIRS], archive.theirs_port), ("ours", OURS, archive.ours_port)):
        cwd = tmp_path / name
        cwd.mkdir()
        own = ["-aet", f"MOVE_{name.upper()}", "+P", port] if listen else []
        results.append(run(tool, [*own, "-aec", "ARCHIVE", *args, "127.0.0.1", archive.port], cwd))
    return results[0], results[1]


def study_keys(*extra: str) -> list[str]:
    keys = ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={STUDY}", *extra]
    return ["-S", *(part for key in keys for part in ("-k", key))]


def key_lines(text: str) -> list[str]:
    """The lines both tools must print in the same order (the stores interleave freely)."""
    kept = ("Requesting", "Association", "Sending", "Move Response", "Final", "status")
    return [line for line in text.splitlines() if any(word in line for word in kept)]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file())


def test_move_to_itself_same_files_and_lines(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, ["-v", *study_keys()], tmp_path, listen=True)
    assert (ours.code, theirs.code) == (0, 0)
    expected = sorted(f"SC.{uid}" for uid in archive.uids)
    assert names(tmp_path / "ours") == names(tmp_path / "theirs") == expected
    assert key_lines(ours.stderr) == key_lines(theirs.stderr)
    assert ours.stderr.count("Received Store Request (MsgID") == theirs.stderr.count(
        "Received Store Request (MsgID"
    )
    assert ours.stdout == theirs.stdout  # "RECV: ." per instance at the info level
    for name in expected:
        mine, dcmtk = dcmread(tmp_path / "ours" / name), dcmread(tmp_path / "theirs" / name)
        assert mine == dcmtk
        assert mine.file_meta.get("SourceApplicationEntityTitle") == dcmtk.file_meta.get(
            "SourceApplicationEntityTitle"
        )


def test_default_level_is_quiet(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, study_keys(), tmp_path, listen=True)
    assert (ours.code, ours.stderr, ours.stdout) == (theirs.code, theirs.stderr, theirs.stdout) == (0, "", "")


def test_output_directory_and_repeat_overwrite(archive: Archive, tmp_path: Path) -> None:
    args = [*study_keys(), "-od", "out", "--repeat", "2"]
    for name in ("ours", "theirs"):
        (tmp_path / name).mkdir()
    theirs, ours = _in_place(archive, args, tmp_path)
    assert (
        (ours.code, ours.stderr)
        == (theirs.code, theirs.stderr)
        == (45, "F: specified output directory does not exist\n")
    )
    for name in ("ours", "theirs"):
        (tmp_path / name / "out").mkdir()
    theirs, ours = _in_place(archive, args, tmp_path)
    assert ours.code == theirs.code == 0
    assert sorted(ours.stderr.splitlines()) == sorted(theirs.stderr.splitlines())
    assert "W: DICOM file already exists, overwriting: out/SC." in ours.stderr
    assert names(tmp_path / "ours" / "out") == names(tmp_path / "theirs" / "out")


def _in_place(archive: Archive, args: list[str], tmp_path: Path) -> tuple[Run, Run]:
    out = []
    for name, tool, port in (("theirs", [THEIRS], archive.theirs_port), ("ours", OURS, archive.ours_port)):
        own = ["-aet", f"MOVE_{name.upper()}", "+P", port]
        out.append(run(tool, [*own, "-aec", "ARCHIVE", *args, "127.0.0.1", archive.port], tmp_path / name))
    return out[0], out[1]


def test_move_to_storescp(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, ["-v", "-aem", "STORESCP", *study_keys()], tmp_path)
    assert ours.code == theirs.code == 0
    assert key_lines(ours.stderr) == key_lines(theirs.stderr)
    assert "Received Move Response 6 (Pending)" in ours.stderr


def test_unknown_destination(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, ["-aem", "NOWHERE", *study_keys()], tmp_path)
    assert ours.code == theirs.code == 69
    assert (
        ours.stderr
        == theirs.stderr
        == "W: Move response with error status (Refused: MoveDestinationUnknown)\n"
    )


def test_cancel_after_one_response(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, ["-v", "--cancel", "1", *study_keys()], tmp_path, listen=True)
    assert ours.code == theirs.code == 0
    assert "I: Sending Cancel Request (MsgID 1, PresID 3)" in ours.stderr
    final = "Received Final Move Response (Cancel: SubOperationsTerminatedDueToCancelIndication)"
    assert final in ours.stderr and final in theirs.stderr
    assert len(names(tmp_path / "ours")) < len(archive.uids)


def test_abort_and_bad_query_file(archive: Archive, tmp_path: Path) -> None:
    theirs, ours = both(archive, ["-v", "--abort", *study_keys()], tmp_path, listen=True)
    assert ours.code == theirs.code == 0
    assert key_lines(ours.stderr)[-1] == key_lines(theirs.stderr)[-1] == "I: Aborting Association"
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"garbage")
    theirs = run(
        [THEIRS],
        ["-aec", "ARCHIVE", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", archive.port, bad],
        tmp_path,
    )
    ours = run(
        OURS, ["-aec", "ARCHIVE", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", archive.port, bad], tmp_path
    )
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["-k", "Foo=1"],
        ["-k", "(0008,0052)=X"],
        [],
        ["-od", "x", "-k", "QueryRetrieveLevel=STUDY"],
        ["-k", "QueryRetrieveLevel=STUDY", "/nonexistent.dcm"],
        ["+B", "+te", "-k", "QueryRetrieveLevel=STUDY"],
        ["--accept-all", "+ti", "-k", "QueryRetrieveLevel=STUDY"],
    ],
)
def test_command_line_errors(archive: Archive, tmp_path: Path, args: list[str]) -> None:
    theirs = run([THEIRS], [*args, "127.0.0.1", archive.port], tmp_path)
    ours = run(OURS, [*args, "127.0.0.1", archive.port], tmp_path)
    assert ours.code == theirs.code == 1
    # after the header (banner, blank line, "movescu: <description>"): the error line
    assert ours.stderr.splitlines()[3:] == theirs.stderr.splitlines()[3:]


def test_association_failures(archive: Archive, tmp_path: Path) -> None:
    keys = ["-k", "QueryRetrieveLevel=STUDY"]
    for args in (["-aec", "NOPE", *keys, "127.0.0.1", archive.port], [*keys, "127.0.0.1", free_port()]):
        theirs, ours = run([THEIRS], args, tmp_path), run(OURS, args, tmp_path)
        assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)
        assert ours.code == 61


def test_receiver_port_in_use(archive: Archive, tmp_path: Path) -> None:
    args = [
        "+P",
        archive.port,
        "-aec",
        "ARCHIVE",
        "-k",
        "QueryRetrieveLevel=STUDY",
        "127.0.0.1",
        archive.port,
    ]
    theirs, ours = run([THEIRS], args, tmp_path), run(OURS, args, tmp_path)
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)
    assert ours.code == 60


def test_help_layout_matches(tmp_path: Path) -> None:
    """Same options, value lines, defaults and layout; the descriptions are our own words."""
    theirs, ours = run([THEIRS], ["--help"], tmp_path), run(OURS, ["--help"], tmp_path)
    assert ours.code == theirs.code == 0
    parser = build_parser()
    assert interface(ours.stdout, parser) == interface(theirs.stdout, parser)
    assert copied_descriptions(ours.stdout, theirs.stdout, parser) == []
