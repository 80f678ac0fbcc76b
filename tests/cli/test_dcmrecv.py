"""dcmrecv: command line, exit codes and messages, and the running tool
(a subprocess) fed by our storage SCU."""

from __future__ import annotations

import asyncio
import resource
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from dcmrecv_process import Running, dcmrecv, free_port, tree
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from dicomwire import uids
from dicomwire.cli import dcmrecv as tool
from dicomwire.config import RequestorSettings
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.naming import DcmtkNaming, FileNaming
from dicomwire.dimse import status
from dicomwire.errors import AssociationAborted, AssociationRejected
from dicomwire.net.client import associate
from dicomwire.services.storage import inspect_file, store
from dicomwire.services.verification import echo

ACCEPT_ALL = str(Path(tool.__file__).parent.parent / "data" / "accept-all.cfg")
SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
SYNTAXES = [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN]


@pytest.fixture(autouse=True)
def _clean_logging() -> Iterator[None]:
    yield
    cli_logging.shutdown_logging()


def make_file(path: Path, instance: str, *, extra: int = 0, **values: str) -> Path:
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = instance
    ds.PatientName = "Recv^Test"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    if extra:
        ds.EncapsulatedDocument = b"\x5a" * extra
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SC)
    ds.file_meta.MediaStorageSOPInstanceUID = UID(instance)
    ds.save_as(path, enforce_file_format=True)
    return path


async def send(port: int, paths: list[Path], calling: str = "TESTSCU") -> list[int]:
    sources = [inspect_file(p) for p in paths]
    settings = RequestorSettings(calling_ae=calling, called_ae="DCMRECV", contexts=[(SC, SYNTAXES)])
    async with associate("127.0.0.1", port, settings) as assoc:
        return [(await store(assoc, source)).status for source in sources]


def run(coro: object, limit: float = 60.0) -> object:
    async def bounded() -> object:
        return await asyncio.wait_for(coro, limit)  # type: ignore[arg-type]

    return asyncio.run(bounded())


# -- command line -------------------------------------------------------------------------


def test_no_arguments_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main([]) == 0
    out = capsys.readouterr().out
    assert "usage: dcmrecv [options] port" in out
    assert "+B    --bit-preserving       store data sets byte for byte as they arrived" in out


def test_bit_preserving_with_series_date_subdir(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["+ssd", "+B", "11112"]) == 1
    assert "error: --bit-preserving not allowed with --series-date-subdir" in capsys.readouterr().err
    # the effective values count, as in DCMTK: a later -B or -s lifts the conflict
    parsed = tool.build_parser().parse_args(["+B", "-B", "+ssd", "11112"])
    assert parsed.storage_mode == "normal"


BROKEN_PROFILE = "[[TransferSyntaxes]]\n[Uncompressed\n"


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (  # DCMTK 3.6.7's two lines, then ours with the detail
            ["-xf", ACCEPT_ALL, "Nope"],
            [
                'E: No association profile named "Nope" in association configuration, '
                "did you forget to add presentation contexts?",
                "F: cannot load association configuration: Invalid or non-existing SCP Association Profile",
                f"F: {ACCEPT_ALL}: no profile named 'Nope' (profiles: Default)",
            ],
        ),
        (
            ["-xf", "/nonexistent/profiles.cfg", "Default"],
            [
                "E: Unable to parse association configuration file: /nonexistent/profiles.cfg: "
                "unable to open configuration file: /nonexistent/profiles.cfg",
                "F: cannot load association configuration: unable to open configuration file: "
                "/nonexistent/profiles.cfg",
                "F: /nonexistent/profiles.cfg: cannot read profile file: No such file or directory",
            ],
        ),
        (  # DCMTK's parser words the reason its own way; the shape of the lines is DCMTK's
            ["-xf", "{broken}", "Default"],
            [
                "E: Unable to parse association configuration file: {broken}: malformed section header",
                "F: cannot load association configuration: malformed section header '[Uncompressed'",
                "F: {broken}:2: malformed section header '[Uncompressed'",
            ],
        ),
    ],
    ids=["no-such-profile", "no-such-file", "broken-file"],
)
def test_invalid_profile_exits_66(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], lines: list[str]
) -> None:
    broken = tmp_path / "broken.cfg"
    broken.write_text(BROKEN_PROFILE)
    args = [arg.format(broken=broken) for arg in args]
    assert tool.main([*args, str(free_port())]) == 66
    err = capsys.readouterr().err.splitlines()
    expected = [line.format(broken=broken) for line in lines]
    assert [line for line in err if line[:2] in ("E:", "F:")] == [
        next(got for got in err if got.startswith(want)) for want in expected
    ]


def test_missing_output_directory_exits_45(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    for directory in (tmp_path / "missing", tmp_path / "file"):
        assert tool.main(["-od", str(directory), str(free_port())]) == 45
        assert capsys.readouterr().err == (
            "W: no configuration file specified, SCP will only support the Verification SOP Class\n"
            "F: cannot specify output directory: Directory does not exist\n"
        )


def test_port_in_use_exits_64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert tool.main(["-v", "-od", str(tmp_path), str(port)]) == 64
    err = capsys.readouterr().err
    assert err.endswith(
        "I: starting service class provider and listening ...\n"
        f"F: cannot start SCP and listen on port {port}: TCP Initialization Error: Address already in use\n"
    )
    assert err.startswith("I: configuring service class provider ...\n")


def test_a_tls_layer_that_cannot_be_made_exits_71(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["+tls", "key.pem", "cert.pem", "11112"]) == 71
    assert "F: 000b:0004 Unable to load private TLS key from 'key.pem'" in capsys.readouterr().err


def test_output_options_build_the_scp(tmp_path: Path) -> None:
    ns = tool.build_parser().parse_args(["-od", str(tmp_path), "+fsu", "-fe", ".dcm", "+ssd", "11112"])
    scp = tool.storage_scp(ns)
    assert scp.directory == str(tmp_path)
    assert scp.naming == DcmtkNaming(FileNaming.SHORT_UNIQUE, ".dcm", series_date_subdir=True)
    assert not scp.bit_preserving and not scp.ignore
    ns = tool.build_parser().parse_args(["+B", "+fst", "+fd", "11112"])
    scp = tool.storage_scp(ns)
    assert scp.bit_preserving and scp.naming == DcmtkNaming()
    assert tool.storage_scp(tool.build_parser().parse_args(["--ignore", "11112"])).ignore


# -- the running tool -----------------------------------------------------------------------


def test_receives_and_logs_like_dcmtk(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    files = [make_file(tmp_path / f"{n}.dcm", f"1.2.3.{n}", SeriesDate="20210304") for n in range(3)]
    with dcmrecv(["-xf", ACCEPT_ALL, "Default", "-od", str(out), "+ssd", "-fe", ".dcm"]) as server:
        assert run(send(server.port, files)) == [status.SUCCESS] * 3
        assert server.stop() == 0  # SIGTERM: a clean stop
    assert tree(out) == [f"data/2021/03/04/SC.1.2.3.{n}.dcm" for n in range(3)]
    log = server.log
    assert "I: Received C-STORE Request\n" in log  # with -d: followed by the message dump
    assert "D: Message Type                  : C-STORE RQ\n" in log
    assert f"I: Stored received object to file: {out}/data/2021/03/04/SC.1.2.3.0.dcm\n" in log
    assert "D: DIMSE Status                  : 0x0000: Success\n" in log
    assert "D: Incoming Association Request:\n" in log
    assert "D: Their Implementation Class UID:    " + uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID in log
    received = pydicom.dcmread(out / "data/2021/03/04/SC.1.2.3.1.dcm")
    assert "SourceApplicationEntityTitle" not in received.file_meta  # as DCMTK's normal mode
    assert received == pydicom.dcmread(files[1])


def test_verification_only_without_profile(tmp_path: Path) -> None:
    async def main(port: int) -> None:
        settings = RequestorSettings(contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])])
        async with associate("127.0.0.1", port, settings) as assoc:
            assert (await echo(assoc)).status == status.SUCCESS
        with pytest.raises(AssociationRejected):
            await send(port, [make_file(tmp_path / "a.dcm", "1.2.3")])

    with dcmrecv(["-od", str(tmp_path)]) as server:
        run(main(server.port))
    assert "I: Received C-ECHO Request (MsgID 1)\n" in server.log
    assert "I: Sending C-ECHO Response (Success)\n" in server.log
    assert "I: No Acceptable Presentation Contexts\n" in server.log
    assert tree(tmp_path) == ["a.dcm"]


def test_verbose_pc_shows_contexts_at_info_level(tmp_path: Path) -> None:
    with dcmrecv(["+v", "-xf", ACCEPT_ALL, "Default", "-od", str(tmp_path)]) as server:
        run(send(server.port, [make_file(tmp_path / "a.dcm", "1.2.3.9")]))
    log = server.log
    assert "I: Incoming Association Request:\n" in log
    assert "I: Our Implementation Class UID:      " + uids.DICOMWIRE_IMPLEMENTATION_CLASS_UID in log
    assert "I:     Abstract Syntax: =SecondaryCaptureImageStorage\n" in log
    assert "I:     Accepted Transfer Syntax: =LittleEndianExplicit\n" in log
    assert "I: Responding Application Name: DCMRECV\n" in log


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_disk_full_answers_out_of_resources_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    big = make_file(tmp_path / "big.dcm", "1.2.3.1", extra=1_000_000)
    small = make_file(tmp_path / "small.dcm", "1.2.3.2")
    with dcmrecv(["-xf", ACCEPT_ALL, "Default", "-od", str(out)], preexec=_limit_file_size) as server:
        assert run(send(server.port, [big, small])) == [status.OUT_OF_RESOURCES, status.SUCCESS]
    assert tree(out) == ["SC.1.2.3.2"]
    assert "D: DIMSE Status                  : 0xa700: Refused: Out of resources\n" in server.log


def test_idle_connections_do_not_lock_out_peers(tmp_path: Path) -> None:
    """DCMTK's dcmrecv serves one association at a time; ours keeps serving."""
    with dcmrecv(["-xf", ACCEPT_ALL, "Default", "-od", str(tmp_path)]) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
        try:
            assert run(send(server.port, [make_file(tmp_path / "a.dcm", "1.2.3.5")]), 20) == [status.SUCCESS]
        finally:
            for sock in idle:
                sock.close()
    assert "SC.1.2.3.5" in tree(tmp_path)


def test_sigterm_mid_transfer_leaves_no_temporary_file(tmp_path: Path) -> None:
    from dicomwire.dimse.fragments import command_pdvs
    from dicomwire.dimse.messages import CStoreRQ, encode_message
    from dicomwire.ul.pdv import PDV

    out = tmp_path / "out"
    out.mkdir()

    async def main(server: Running) -> None:
        settings = RequestorSettings(contexts=[(SC, SYNTAXES)])
        assoc = await associate("127.0.0.1", server.port, settings)
        context = assoc.context_for(SC, uids.EXPLICIT_VR_LITTLE_ENDIAN).context_id
        request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3.6")
        head = b"\x08\x00\x16\x00UI\x1a\x00" + SC.encode() + b"\0\x08\x00\x18\x00UI\x08\x001.2.3.6\0"
        head += b"\x10\x00\x10\x00PN\x04\x00Ab^C"
        pdvs = [*command_pdvs(context, encode_message(request), 16384), PDV(context, False, False, head)]
        assoc._write_pdvs(pdvs)  # the data set is never finished
        await assoc.drain()
        assert await _wait_for_temp(out)
        assert await asyncio.to_thread(server.stop) == 0  # SIGTERM while the transfer is open
        assoc.abort()

    with dcmrecv(["-xf", ACCEPT_ALL, "Default", "-od", str(out)]) as server:
        run(main(server))
    assert tree(out) == []


async def _wait_for_temp(directory: Path) -> bool:
    """Until the receiver has created its temporary file (bounded)."""
    for _ in range(500):
        if any(p.name.startswith(".dicomwire-") for p in directory.iterdir()):
            return True
        await asyncio.sleep(0.01)
    return False


# -- DCMTK's lines for timeouts, aborts and cut data sets (observed with DCMTK 3.6.7) ---------


def _closed_by_server(port: int, limit: float = 10.0) -> bytes:
    """Connect, send nothing, return what the server sent before it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)


def _wait_for_line(server: Running, line: str, limit: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if line in server.log:
            return True
        time.sleep(0.02)
    return False


def test_silent_peer_times_out_in_dcmtk_words() -> None:
    with dcmrecv(["-ta", "1"]) as server:
        assert _closed_by_server(server.port) == b""
        line = "E: Could not receive association request: DUL network read timeout\n"
        assert _wait_for_line(server, line), server.log
    assert "Association Aborted" not in server.log


def _echo_settings() -> RequestorSettings:
    return RequestorSettings(
        called_ae="DCMRECV", contexts=[(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
    )


def test_idle_association_ends_without_a_warning() -> None:
    async def idle(port: int) -> None:
        async with associate("127.0.0.1", port, _echo_settings()) as assoc:
            with pytest.raises(AssociationAborted):
                await assoc.receive(timeout=10)

    with dcmrecv(["-td", "1"]) as server:
        run(idle(server.port), 20)
        line = "D: DIMSE Error, detail (if available): 0006:0207 DIMSE No data available"
        assert _wait_for_line(server, line), server.log
    assert "W: " not in server.log.replace("W: no configuration file specified", "")


def test_peer_abort_in_dcmtk_words() -> None:
    async def abort(port: int) -> None:
        async with associate("127.0.0.1", port, _echo_settings()) as assoc:
            assoc.abort()
            await assoc.wait_closed(5)

    with dcmrecv([]) as server:
        run(abort(server.port))
        assert _wait_for_line(server, "I: Received Association Abort Request\n"), server.log


def test_association_acknowledged_comes_before_the_ac_dump(tmp_path: Path) -> None:
    with dcmrecv(["+v"]) as server:  # (with -d)
        run(_echo(server.port))
    log = server.log
    acknowledged = log.index("I: Association Acknowledged (Max Send PDV: ")
    assert log.index(" END A-ASSOCIATE-RQ ") < acknowledged
    assert acknowledged < log.index("I: ====================== BEGIN A-ASSOCIATE-AC ")


async def _echo(port: int) -> None:
    async with associate("127.0.0.1", port, _echo_settings()) as assoc:
        assert (await echo(assoc)).status == status.SUCCESS


def test_cut_data_set_is_not_stored_and_aborts_like_dcmtk(tmp_path: Path) -> None:
    from dicomwire.dimse.messages import CStoreRQ

    source = make_file(tmp_path / "a.dcm", "1.2.3.60", extra=1000)
    data = source.read_bytes()[inspect_file(source).dataset_offset :][:-400]

    async def send_cut(port: int) -> None:
        settings = RequestorSettings(called_ae="DCMRECV", contexts=[(SC, [uids.EXPLICIT_VR_LITTLE_ENDIAN])])
        async with associate("127.0.0.1", port, settings) as assoc:
            request = CStoreRQ(message_id=1, affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3.60")
            await assoc.send(assoc.context_for(SC).context_id, request, data)
            with pytest.raises(AssociationAborted):
                await assoc.receive()

    out = tmp_path / "out"
    out.mkdir()
    with dcmrecv(["-xf", ACCEPT_ALL, "Default", "-od", str(out)]) as server:
        run(send_cut(server.port))
        line = (
            "E: DcmElement: EncapsulatedDocument (0042,0011) larger (1000) than remaining bytes (600)"
            " in file, premature end of stream\n"
        )
        assert _wait_for_line(server, line), server.log
    assert tree(out) == []
