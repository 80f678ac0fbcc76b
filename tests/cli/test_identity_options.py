"""dcmrecv's and dcmqrscp's ``--users FILE`` and ``--users-optional`` (dicomwire's own options):
command-line errors, a bad users file, and the running tools against storage SCUs sending
user identities (ours, and DCMTK's storescu: DCMTK 3.6.7's echoscu has no identity options)."""

from __future__ import annotations

import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dcmrecv_process import dcmrecv, dcmtk_env, tree
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from dicomwire import uids
from dicomwire.cli import dcmqrscp
from dicomwire.cli import dcmrecv as dcmrecv_tool
from dicomwire.dcmtk import log as cli_logging
from dicomwire.services.identity import PasswordHash
from ports import free_port

LIMIT = 30.0
DCMTK_STORESCU = shutil.which("storescu", path="/usr/bin")
OUR_STORESCU = [sys.executable, "-c", "from dicomwire.cli.storescu import main; raise SystemExit(main())"]
needs_dcmtk = pytest.mark.skipif(DCMTK_STORESCU is None, reason="DCMTK's storescu is not installed")
REJECTED = (
    "F: Association Rejected:\nF: Result: Rejected Permanent, Source: Service User\nF: Reason: No Reason\n"
)


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    yield
    cli_logging.shutdown_logging()


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.txt"
    path.write_text(f"# test users\nmodality\nalice:{PasswordHash.make('secret', 1000).encode()}\n")
    return path


@pytest.fixture
def image(tmp_path: Path) -> Path:
    ds = Dataset()
    ds.SOPClassUID = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Identity^Test"
    ds.PatientID = "ID1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()  # the archive indexes them
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(ds.SOPClassUID)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path / "image.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def storescu(command: list[str], port: int, image: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *options, "127.0.0.1", str(port), str(image)],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        stdin=subprocess.DEVNULL,
        env=dcmtk_env(),
    )


# -- command line ---------------------------------------------------------------------------------
def test_users_optional_needs_users(capsys: pytest.CaptureFixture[str]) -> None:
    assert dcmrecv_tool.main(["--users-optional", "104"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "error: --users-optional only allowed with --users"
    assert dcmqrscp.main(["--users-optional"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "error: --users-optional only allowed with --users"


def test_help_says_they_are_ours(capsys: pytest.CaptureFixture[str]) -> None:
    for main in (dcmrecv_tool.main, dcmqrscp.main):
        assert main(["--help"]) == 0
        text = capsys.readouterr().out
        assert "require a user identity from file f (dicomwire)" in text
        assert "--users-optional" in text and "no user identity (dicomwire)" in text


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (None, "No such file or directory"),
        ("alice\nbob:md5$00\n", "line 2: unknown password hash"),
        ("alice\nalice\n", "line 2: user 'alice' again (first on line 1)"),
    ],
)
def test_bad_users_file_is_a_configuration_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, detail: str
) -> None:
    path = tmp_path / "users.txt"
    if content is not None:
        path.write_text(content)
    assert dcmrecv_tool.main(["--users", str(path), "-od", str(tmp_path), str(free_port())]) == 66
    fatal = [line for line in capsys.readouterr().err.splitlines() if line.startswith("F: ")]
    assert len(fatal) == 1 and fatal[0].startswith(f"F: cannot load users file: {path}")
    assert detail in fatal[0]
    # dcmqrscp: its configuration-error code, before it listens (and before any privilege change)
    assert dcmqrscp.main(["--users", str(path), str(free_port())]) == 10
    fatal = [line for line in capsys.readouterr().err.splitlines() if line.startswith("F: ")]
    assert len(fatal) == 1 and fatal[0].startswith(f"F: cannot load users file: {path}")
    assert detail in fatal[0]


# -- dcmrecv running ------------------------------------------------------------------------------
@needs_dcmtk
def test_dcmrecv_admits_known_users_only(tmp_path: Path, users: Path, image: Path) -> None:
    assert DCMTK_STORESCU is not None
    out = tmp_path / "out"
    out.mkdir()
    with dcmrecv(["+xa", "-od", str(out), "--users", str(users)]) as recv:
        good = storescu([DCMTK_STORESCU], recv.port, image, "-usr", "alice", "-pwd", "secret", "-rsp")
        assert good.returncode == 0, good.stderr
        assert storescu([DCMTK_STORESCU], recv.port, image, "-usr", "modality").returncode == 0
        wrong = storescu([DCMTK_STORESCU], recv.port, image, "-usr", "alice", "-pwd", "guess")
        assert (wrong.returncode, wrong.stderr) == (1, REJECTED)
        anonymous = storescu([DCMTK_STORESCU], recv.port, image)
        assert (anonymous.returncode, anonymous.stderr) == (1, REJECTED)
        ours = storescu(OUR_STORESCU, recv.port, image, "-usr", "mallory", "-pwd", "x")
        assert (ours.returncode, ours.stderr) == (1, REJECTED)
        mine = storescu(OUR_STORESCU, recv.port, image, "-usr", "alice", "-pwd", "secret", "-rsp")
        assert mine.returncode == 0, mine.stderr
    log = recv.log
    assert "I: Refusing Association (user identity refused: wrong password for user 'alice')" in log
    assert "I: Refusing Association (user identity required, none sent)" in log
    assert "I: Refusing Association (user identity refused: unknown user 'mallory')" in log
    assert "guess" not in log and "secret" not in log
    assert len(tree(out)) == 1  # one instance, stored three times


@needs_dcmtk
def test_dcmrecv_users_optional_admits_anonymous_peers(tmp_path: Path, users: Path, image: Path) -> None:
    assert DCMTK_STORESCU is not None
    with dcmrecv(["+xa", "-od", str(tmp_path), "--users", str(users), "--users-optional"]) as recv:
        assert storescu([DCMTK_STORESCU], recv.port, image).returncode == 0
        wrong = storescu([DCMTK_STORESCU], recv.port, image, "-usr", "alice", "-pwd", "guess")
        assert (wrong.returncode, wrong.stderr) == (1, REJECTED)


# -- dcmqrscp running -----------------------------------------------------------------------------
def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_dcmqrscp_admits_known_users_only(tmp_path: Path, users: Path, image: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dicomwire.cli.dcmqrscp", "-v", "--users", str(users), str(port)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        # the built-in default's banner is printed once the archive listens
        while not seen or not seen[-1].startswith("W:   move it to"):
            seen.append(lines.get(timeout=LIMIT))
        called = ["-aec", "ARCHIVE"]
        good = storescu(OUR_STORESCU, port, image, *called, "-usr", "alice", "-pwd", "secret", "-rsp")
        assert good.returncode == 0, good.stderr
        wrong = storescu(OUR_STORESCU, port, image, *called, "-usr", "alice", "-pwd", "guess")
        assert (wrong.returncode, wrong.stderr) == (1, REJECTED)
        if DCMTK_STORESCU is not None:
            theirs = storescu([DCMTK_STORESCU], port, image, *called, "-usr", "modality")
            assert theirs.returncode == 0, theirs.stderr
        process.terminate()
        assert process.wait(timeout=LIMIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=LIMIT)
    reader.join(timeout=LIMIT)  # the pipe is at its end: every line is in the queue
    while not lines.empty():
        seen.append(lines.get_nowait())
    log = "".join(seen)
    assert "I: Refusing Association (user identity refused: wrong password for user 'alice')" in log
    assert "guess" not in log and "secret" not in log
