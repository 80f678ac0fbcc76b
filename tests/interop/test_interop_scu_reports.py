"""What our SCUs print when the peer rejects, aborts or stays silent, next to DCMTK 3.6.7's.

Each test runs DCMTK's tool and ours with the same arguments against the same
misbehaving peer (tests/fake_peers.py) and compares what they print.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from dicomwire.dcmtk.formats.assocdump import dump_association
from dicomwire.net.association import Association
from echo_helpers import BIN, DCMTK_ENV, dcmtk, run_async
from fake_peers import misbehaving, rejecting
from ports import free_port

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(dcmtk("findscu") is None, reason="DCMTK is not installed"),
]

QUERY = ["-S", "-k", "0008,0052=STUDY", "-k", "PatientName=A"]
ARGUMENTS = {
    "echoscu": [],
    "findscu": QUERY,
    "movescu": QUERY,
    "getscu": ["-k", "0008,0052=STUDY", "-k", "PatientName=A"],
    "storescu": [],
}


async def run_bytes(argv: list[str], limit: float = 30.0) -> tuple[int, bytes]:
    """Exit code and stderr (as bytes) of a command."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=DCMTK_ENV
    )
    _, err = await asyncio.wait_for(proc.communicate(), limit)
    assert proc.returncode is not None
    return proc.returncode, err


def secondary_capture(directory: Path) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = UID("1.2.3.4")
    meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.1")
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.Modality = "A^B", "OT"
    path = directory / "sc.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def command(tool: str, ours: bool, options: list[str], port: int, files: list[Path]) -> list[str]:
    program = os.path.join(BIN, tool) if ours else f"/usr/bin/{tool}"
    return [program, *options, *ARGUMENTS[tool], "127.0.0.1", str(port), *map(str, files)]


async def both(tool: str, options: list[str], port: int, files: list[Path]) -> tuple[tuple[int, bytes], ...]:
    theirs = await run_bytes(command(tool, False, options, port, files))
    ours = await run_bytes(command(tool, True, options, port, files))
    return theirs, ours


# -- A-ASSOCIATE-RJ ---------------------------------------------------------------------------

REJECTIONS = [
    (1, 1, 2),  # App Context Name Not Supported
    (2, 2, 2),  # Service Provider (ACSE Related)
    (1, 3, 1),  # Service Provider (Presentation Related)
    (3, 1, 1),  # invalid result
    (1, 4, 1),  # invalid source (and so reason 0x0401)
    (1, 2, 3),  # invalid reason for its source
    (0, 0, 0),  # all invalid
]


@pytest.mark.parametrize("tool", ["echoscu", "findscu", "movescu", "getscu", "storescu"])
@pytest.mark.parametrize("codes", REJECTIONS, ids=lambda codes: "-".join(map(str, codes)))
def test_rejection_lines_equal_dcmtks(tool: str, codes: tuple[int, int, int], tmp_path: Path) -> None:
    files = [secondary_capture(tmp_path)] if tool == "storescu" else []

    async def body() -> None:
        async with rejecting(*codes) as port:
            theirs, ours = await both(tool, [], port, files)
        assert ours == theirs

    run_async(body)


# -- a peer that aborts, a peer that never answers -------------------------------------------


@pytest.mark.parametrize("tool", ["echoscu", "findscu", "movescu", "getscu", "storescu"])
@pytest.mark.parametrize("mode", ["abort", "silent"])
def test_condition_lines_equal_dcmtks(tool: str, mode: str, tmp_path: Path) -> None:
    files = [secondary_capture(tmp_path)] if tool == "storescu" else []

    async def body() -> None:
        async with misbehaving(mode) as port:
            theirs, ours = await both(tool, ["-v", "-td", "1"], port, files)
        assert ours[1].decode() == theirs[1].decode()
        if (tool, mode) != ("storescu", "abort"):  # storescu's exit code after an abort: its own item
            assert ours[0] == theirs[0]

    run_async(body)


def test_peer_aborting_the_request_prints_dcmtks_condition_only() -> None:
    async def abort(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(6)
        writer.write(bytes((7, 0, 0, 0, 0, 4, 0, 0, 2, 0)))  # A-ABORT, source 2
        await writer.drain()
        writer.close()

    async def body() -> None:
        server = await asyncio.start_server(abort, "127.0.0.1", 0)
        port = int(server.sockets[0].getsockname()[1])
        try:
            for tool in ("echoscu", "findscu", "movescu", "getscu"):
                theirs, ours = await both(tool, [], port, [])
                assert ours == theirs, tool
        finally:
            server.close()

    run_async(body)


# -- the -d association dump ------------------------------------------------------------------

IDENTITIES = [
    ["-usr", "bob"],
    ["-usr", "bob", "-pwd", "secret"],
    ["-usr", "bob", "-epw"],
    ["-kt", "ticket.bin"],
    ["--saml", "assertion.xml", "-rsp"],
    ["--jwt", "token.txt", "-rsp"],
]


def _block(stderr: str, title: str) -> list[str]:
    lines = [line.removeprefix("D: ") for line in stderr.splitlines()]
    start = lines.index(f"====================== BEGIN {title} =====================")
    end = lines.index(f"======================= END {title} ======================")
    return lines[start : end + 1]


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda words: "_".join(words).replace("-", ""))
def test_association_dump_equals_dcmtks(identity: list[str], tmp_path: Path) -> None:
    """DCMTK storescu's dumps of the request and of the answer (many rejected contexts) are
    what ours prints for the same PDUs, but for the password, which we mask."""
    (tmp_path / "ticket.bin").write_bytes(b"TICKETDATA")
    (tmp_path / "assertion.xml").write_text("<saml/>")
    (tmp_path / "token.txt").write_text("eyJhbGciOi.x.y")
    sc = secondary_capture(tmp_path)
    seen: list[Association] = []

    async def body() -> None:
        async with misbehaving("abort", seen) as port:
            argv = ["/usr/bin/storescu", "-d", *identity, "127.0.0.1", str(port), str(sc)]
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        (assoc,) = seen
        assert assoc.request is not None and assoc.accept is not None
        theirs = err.decode().replace("Password: [secret]", "Password: [********]")
        assert dump_association(assoc.request, assoc.accept) == _block(theirs, "A-ASSOCIATE-AC")

    run_async(body)


def test_getscu_dump_of_refused_roles_equals_dcmtks() -> None:
    """getscu proposes the SCP role for storage; a peer that refuses it answers (0, 0): "None"."""
    seen: list[Association] = []

    async def body() -> None:
        async with misbehaving("abort", seen) as port:
            argv = ["/usr/bin/getscu", "-d", *ARGUMENTS["getscu"], "127.0.0.1", str(port)]
            _, err = await run_bytes(argv)
        (assoc,) = seen
        assert assoc.request is not None and assoc.accept is not None
        ours = dump_association(assoc.request, assoc.accept)
        assert "    Accepted SCP/SCU Role: None" in ours
        assert ours == _block(err.decode(), "A-ASSOCIATE-AC")

    run_async(body)


# -- --arguments ------------------------------------------------------------------------------


def _first_line(argv: list[str], path: str | None = None) -> str:
    env = {**DCMTK_ENV, "PATH": path or DCMTK_ENV.get("PATH", "")}

    async def run() -> bytes:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
        )
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        return err

    return asyncio.run(run()).decode().splitlines()[0]


def test_arguments_name_the_program_as_typed() -> None:
    words = ["--arguments", "-q", "127.0.0.1", str(free_port())]
    ours = os.path.join(BIN, "echoscu")
    dcmtk_line = _first_line(["/usr/bin/echoscu", *words])
    quoted = "".join(f"'{word}' " for word in ["--arguments", "--quiet", *words[2:]])
    assert dcmtk_line == f"I: calling '/usr/bin/echoscu' with 4 arguments: {quoted}"
    assert _first_line([ours, *words], path="/usr/bin") == dcmtk_line.replace("/usr/bin/echoscu", ours)
    # found on PATH: the bare name, as DCMTK (its argv[0] is what the shell was given)
    assert _first_line(["echoscu", *words], path="/usr/bin").startswith("I: calling 'echoscu' with 4")
    assert _first_line(["echoscu", *words], path=BIN).startswith("I: calling 'echoscu' with 4")
    # python -m: the tool's name, not the module's file
    module = [sys.executable, "-m", "dicomwire.cli.echoscu", *words]
    assert _first_line(module).startswith("I: calling 'echoscu' with 4")


# -- findscu's dumps ----------------------------------------------------------------------------


def test_latin1_response_printed_as_the_bytes_received() -> None:
    async def body() -> None:
        async with misbehaving("latin1") as port:
            theirs, ours = await both("findscu", ["-v"], port, [])
        assert b"[M\xfcller^J\xe9r\xf4me ]" in theirs[1]
        assert ours == theirs

    run_async(body)


def test_repeated_query_shows_its_values_as_sent_like_dcmtk(tmp_path: Path) -> None:
    query = Dataset()
    query.QueryRetrieveLevel, query.StudyInstanceUID = "STUDY", "1.2.3"
    query.save_as(tmp_path / "q.dcm", implicit_vr=False, little_endian=True)

    async def body() -> None:
        async with misbehaving("latin1") as port:
            theirs, ours = await both("findscu", ["-v", "--repeat", "2"], port, [tmp_path / "q.dcm"])
        assert theirs[1].count(b"PN [A ]") == 1  # the second request, after the first went out
        assert ours == theirs

    run_async(body)
