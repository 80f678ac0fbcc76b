"""Every command example of the README, run as written against local peers.

The README's shell blocks are read and each command is run through ``bash`` with only
what cannot be literal replaced: host names become 127.0.0.1, the ports the ones of the
peers started here, ``<uid>`` and the example UIDs real ones, the example files and
directories generated ones.  The peers: our dcmqrscp (AE titles ARCHIVE, PACS, ANY-SCP,
holding a small corpus; move destinations MOVESCU and ME on movescu's ``+P`` port,
STORESCP on our dcmrecv), and a worklist SCP for ``ris`` (worklist_scp.py).  A new example in the README
is run too, or fails here until this file knows how to run it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

import pg_server
from ports import accepting, free_port

ROOT: Final = Path(__file__).resolve().parents[1]
BIN: Final = Path(sys.executable).parent
LIMIT: Final = 60.0
SC: Final = "1.2.840.10008.5.1.4.1.1.7"
STUDY: Final = "1.2.826.0.1.3680043.10.1011.1"
SERIES: Final = f"{STUDY}.1"
CLIENTS: Final = ("echoscu", "storescu", "findscu", "movescu", "getscu")
SERVERS: Final = ("dcmrecv", "dcmqrscp")
HOSTS: Final = re.compile(r"(?<![\w.-])(pacs\.example\.org|pacs|ris|localhost)(?![\w.-])")

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None, reason="jq is not installed (make test installs it)"
)


def readme_commands() -> list[str]:
    """The commands of the README's ``sh`` blocks, continuation lines joined, comments cut."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and "[options]" not in command and not command.startswith("make "):
                commands.append(re.sub(r"\s+", " ", command))
    return commands


def tool_of(command: str) -> str:
    for word in re.split(r"[\s&]+", command):
        name = os.path.basename(word)
        if name in CLIENTS or name in SERVERS:
            return name
    raise AssertionError(f"a README example this test does not know how to run: {command}")


# -- the peers ------------------------------------------------------------------------------------


CONFIG: Final = """\
NetworkTCPPort  = 104
MaxPDUSize      = 16384
MaxAssociations = 16

HostTable BEGIN
movescu         = (MOVESCU, localhost, {incoming})
me              = (ME, localhost, {incoming})
storescp        = (STORESCP, localhost, {dcmrecv})
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
ARCHIVE         archive         RW  (100, 100mb)    ANY
PACS            pacs            RW  (100, 100mb)    ANY
ANY-SCP         any             RW  (100, 100mb)    ANY
AETable END
"""


def image(path: Path, number: int, syntax: str = ExplicitVRLittleEndian) -> Path:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SC, f"{SERIES}.{number}"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, SERIES
    ds.PatientName, ds.PatientID, ds.StudyDate = "Doe^Jane", "P1", "20260315"
    ds.Modality = "OT"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(ds.SOPInstanceUID)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def wait_accepting(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + LIMIT
    while not accepting(port):
        assert process.poll() is None and time.monotonic() < deadline, "a peer did not start"
        time.sleep(0.05)  # a process's port: there is no event to wait on


@contextlib.contextmanager
def started(argv: list[str], cwd: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = (cwd / f"{Path(argv[0]).name}-{port}.log").open("wb")
    process = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_accepting(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(LIMIT)
        log.close()


@dataclass
class Peers:
    work: Path
    archive: int
    dcmrecv: int
    incoming: int
    worklist: int


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    root = tmp_path_factory.mktemp("readme")
    ports = {"archive": free_port(), "dcmrecv": free_port(), "incoming": free_port(), "worklist": free_port()}
    for area in ("archive", "pacs", "any"):
        (root / area).mkdir()
    (root / "dcmqrscp.cfg").write_text(CONFIG.format(**ports))
    (root / "received").mkdir()
    archive = [str(BIN / "dcmqrscp"), "-c", "dcmqrscp.cfg", str(ports["archive"])]
    dcmrecv = [str(BIN / "dcmrecv"), "+xa", "-od", "received", str(ports["dcmrecv"])]
    worklist = [sys.executable, str(Path(__file__).parent / "worklist_scp.py"), str(ports["worklist"])]
    work = root / "work"
    work.mkdir()
    with (
        started(archive, root, ports["archive"]),
        started(dcmrecv, root, ports["dcmrecv"]),
        started(worklist, root, ports["worklist"]),
    ):
        files = [image(root / "corpus" / f"{n}.dcm", n) for n in range(3)]
        for ae_title in ("ARCHIVE", "PACS", "ANY-SCP"):
            sent = subprocess.run(
                [
                    str(BIN / "storescu"),
                    "-aec",
                    ae_title,
                    "127.0.0.1",
                    str(ports["archive"]),
                    *map(str, files),
                ],
                capture_output=True,
                timeout=LIMIT,
                check=False,
            )
            assert sent.returncode == 0, sent.stderr
        yield Peers(work, ports["archive"], ports["dcmrecv"], ports["incoming"], ports["worklist"])


# -- running one example ----------------------------------------------------------------------------


def client_command(command: str, peers: Peers) -> str:
    """The example with what cannot be literal replaced (see the module)."""
    port = peers.worklist if " ris " in f" {command} " else peers.archive
    if " -xs " in command:  # a peer that takes JPEG lossless as it is: our dcmrecv +xa
        port = peers.dcmrecv
    command = command.replace(".venv/bin/", f"{BIN}/")
    command = re.sub(
        r"(?<![\w/])(echoscu|storescu|findscu|movescu|getscu) ", lambda m: f"{BIN}/{m[1]} ", command
    )
    command = HOSTS.sub("127.0.0.1", command)
    command = re.sub(r"127\.0\.0\.1 (104|11112)\b", f"127.0.0.1 {port}", command)
    command = command.replace("+P 11113", f"+P {peers.incoming}")
    command = command.replace("<uid>", STUDY).replace(
        "SeriesInstanceUID=1.2.3.4", f"SeriesInstanceUID={SERIES}"
    )
    command = command.replace("StudyInstanceUID=1.2.3 ", f"StudyInstanceUID={STUDY} ")
    return command


def prepare_files(work: Path) -> None:
    """The files and directories the storescu and retrieve examples name."""
    for name in ("image1.dcm", "image2.dcm"):
        image(work / name, 10 + len(name))
    for number in range(2):
        image(work / "path" / "to" / "dicom" / "sub" / f"{number}.dcm", 20 + number)
        image(work / "ct" / f"{number}.dcm", 30 + number, "1.2.840.10008.1.2.4.70")  # JPEG lossless (-xs)
    (work / "incoming").mkdir(exist_ok=True)


CLIENT_EXAMPLES: Final = [c for c in readme_commands() if tool_of(c) in CLIENTS]
SERVER_EXAMPLES: Final = [c for c in readme_commands() if tool_of(c) in SERVERS]


@pytest.mark.parametrize("example", CLIENT_EXAMPLES)
def test_client_example_runs(peers: Peers, example: str) -> None:
    command = client_command(example, peers)
    if "| jq " in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed (make test installs it)")
    if "/data/study" in command:  # an absolute directory of the example: ours lives in the work directory
        command = command.replace("/data/study", "path/to/dicom")
    prepare_files(peers.work)
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=peers.work,
        capture_output=True,
        timeout=LIMIT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stderr.decode(errors='replace')}"
    if "--json" in command:  # the example's point: the studies' UIDs come out
        assert STUDY in done.stdout.decode(), done.stdout
    if "getscu" in command or "+P" in command:
        target = peers.work / re.search(r"-od (\S+)", command)[1]  # type: ignore[index]
        assert any(target.iterdir()), f"nothing arrived in {target}"


def server_command(command: str, work: Path, port: int) -> str:
    command = re.sub(r"^(dcmrecv|dcmqrscp) ", lambda m: f"{BIN}/{m[1]} ", command)
    command = re.sub(r" (104|11112)$", f" {port}", command)
    if re.search(r"dcmqrscp -v$", command):
        command += f" {port}"  # the built-in default's port would clash with a running archive
    return command.replace("/data/incoming", str(work / "incoming"))


@pytest.mark.parametrize("example", SERVER_EXAMPLES)
def test_server_example_starts_and_serves(example: str, tmp_path: Path) -> None:
    port = free_port()
    for directory in ("incoming", "received", "archive"):
        (tmp_path / directory).mkdir()
    command = server_command(example, tmp_path, port)
    if "postgresql://" in command:  # the scaling-out example: a database of the suite's server
        reason = pg_server.skip_reason()
        if reason is not None:
            pytest.skip(reason)
        command = re.sub(r"postgresql://\S+", pg_server.shared().create_database(), command)
    with started(["bash", "-c", f"exec {command}"], tmp_path, port):
        if "dcmqrscp" in command:
            return  # listening is what these show; the archive's own tests cover the rest
        sent = subprocess.run(
            [str(BIN / "storescu"), "127.0.0.1", str(port), str(image(tmp_path / "in" / "1.dcm", 1))],
            capture_output=True,
            timeout=LIMIT,
            check=False,
        )
        assert sent.returncode == 0, f"{command}\n{sent.stderr.decode(errors='replace')}"
    out = tmp_path / re.search(r"-od (\S+)", command)[1]  # type: ignore[index]
    assert [path for path in out.rglob("*") if path.is_file()], f"{command}: nothing stored"


def test_every_readme_example_is_run() -> None:
    assert len(CLIENT_EXAMPLES) + len(SERVER_EXAMPLES) == len(readme_commands())
    assert len(CLIENT_EXAMPLES) >= 15 and len(SERVER_EXAMPLES) >= 4
