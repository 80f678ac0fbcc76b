"""Our storescu against our own scriptable SCP: what is sent, what is logged, exit codes.

Exit codes and messages are DCMTK 3.6.7's (observed against storescp and a
pynetdicom SCP answering chosen statuses):
* failure status, halting (default): release, exit = status >> 8
  (0xA700 -> 167, 0xC000 -> 192, 0x0122 -> 1, 0xFE00 -> 254); nothing logged
  at the default level;
* warnings (0xB000, 0x0107, 0x0001) do not halt; with -nh the exit code is 0;
* peer abort: "E: Store Failed, file: X:", "E: 0006:0317 Peer aborted
  Association (or never connected)", "I: Peer Aborted Association" (DCMTK's
  exit code is undefined there; ours is the last status' high byte, else 10 as observed);
* no context for a file: "E: No presentation context for: (SG) <uid>",
  "E: Store SCU Failed: 0006:0208 DIMSE No valid Presentation Context ID",
  "I: Aborting Association", exit 1 (with -nh: go on, exit 0);
* every file attempted takes a message ID, sent or not.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import UID

from dicomwire import uids
from dicomwire.cli.storescu import send as storescu_send
from dicomwire.ul.pdu import AAssociateRJ, AAssociateRQ
from storescu_helpers import (
    TEST_FILES,
    comparable,
    decode_dataset,
    file_dataset,
    multiframe,
    run_ours,
    store_scp,
)

Progress = storescu_send.Progress

CT = str(TEST_FILES / "CT_small.dcm")
MR = str(TEST_FILES / "MR_small.dcm")
RTPLAN = str(TEST_FILES / "rtplan.dcm")  # implicit VR
BIG = str(TEST_FILES / "MR_small_bigendian.dcm")
J2K = str(TEST_FILES / "JPEG2000.dcm")


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 60))


def _segmentation(tmp_path: Path) -> str:
    ds = pydicom.dcmread(CT)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(uids.SEGMENTATION_STORAGE)
    path = tmp_path / "seg.dcm"
    ds.save_as(path)
    return str(path)


def test_sends_files_and_logs_like_dcmtk() -> None:
    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-v", "127.0.0.1", server.port, CT, MR, RTPLAN)
        assert result.code == 0, result.stderr
        assert result.lines == [
            "I: checking input files ...",
            "I: Requesting Association",
            "I: Association Accepted (Max Send PDV: 16372)",
            f"I: Sending file: {CT}",
            "I: Converting transfer syntax: Little Endian Explicit -> Little Endian Explicit",
            "I: Sending Store Request (MsgID 1, CT)",
            "I: Received Store Response (Success)",
            f"I: Sending file: {MR}",
            "I: Converting transfer syntax: Little Endian Explicit -> Little Endian Explicit",
            "I: Sending Store Request (MsgID 2, MR)",
            "I: Received Store Response (Success)",
            f"I: Sending file: {RTPLAN}",
            "I: Converting transfer syntax: Little Endian Implicit -> Little Endian Implicit",
            "I: Sending Store Request (MsgID 3, RP)",
            "I: Received Store Response (Success)",
            "I: Releasing Association",
        ]
        assert result.stdout == "XMIT: ...\nXMIT: .\nXMIT: .\n"  # DCMTK's progress at verbose level
        assert [s.transfer_syntax for s in scp.received] == [
            uids.EXPLICIT_VR_LITTLE_ENDIAN,
            uids.EXPLICIT_VR_LITTLE_ENDIAN,
            uids.IMPLICIT_VR_LITTLE_ENDIAN,
        ]
        for path, stored in zip((CT, MR, RTPLAN), scp.received, strict=True):
            assert comparable(decode_dataset(stored.dataset, stored.transfer_syntax)) == comparable(
                file_dataset(path)
            )

    run(body)


def test_quiet_at_default_level() -> None:
    async def body() -> None:
        async with store_scp() as (server, _):
            result = await run_ours("127.0.0.1", server.port, CT, MR)
        assert (result.code, result.stdout, result.stderr) == (0, "", "")

    run(body)


def test_converts_when_the_files_syntax_is_not_accepted() -> None:
    async def body() -> None:
        async with store_scp(syntaxes=[uids.IMPLICIT_VR_LITTLE_ENDIAN]) as (server, scp):
            result = await run_ours("-v", "127.0.0.1", server.port, CT, BIG)
        assert result.code == 0, result.stderr
        converting = "I: Converting transfer syntax: {} -> Little Endian Implicit"
        assert converting.format("Little Endian Explicit") in result.lines
        assert converting.format("Big Endian Explicit") in result.lines
        for path, stored in zip((CT, BIG), scp.received, strict=True):
            assert stored.transfer_syntax == uids.IMPLICIT_VR_LITTLE_ENDIAN
            assert comparable(decode_dataset(stored.dataset, stored.transfer_syntax)) == comparable(
                file_dataset(path)
            )

    run(body)


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (0xA700, 167, "Refused: OutOfResources"),
        (0xC000, 192, "Error: CannotUnderstand"),
        (0x0122, 1, "Refused: SOPClassNotSupported"),
        (0xA900, 169, "Error: DataSetDoesNotMatchSOPClass"),
        (0xFE00, 254, "Unknown Status: 0xfe00"),
    ],
)
def test_failure_status_halts_with_the_status_high_byte(status: int, code: int, text: str) -> None:
    async def body() -> None:
        async with store_scp([status]) as (server, scp):
            quiet = await run_ours("127.0.0.1", server.port, CT, MR)
            verbose = await run_ours("-v", "127.0.0.1", server.port, CT, MR)
            no_halt = await run_ours("-nh", "127.0.0.1", server.port, CT, MR)
        assert (quiet.code, quiet.stderr) == (code, "")
        assert verbose.code == code
        assert f"I: Received Store Response ({text})" in verbose.lines
        assert verbose.lines[-1] == "I: Releasing Association"
        assert f"I: Sending file: {MR}" not in verbose.lines
        assert (no_halt.code, no_halt.stderr) == (0, "")
        assert len(scp.received) == 1 + 1 + 2

    run(body)


@pytest.mark.parametrize("status", [0xB000, 0xB007, 0x0107, 0x0116, 0x0001])
def test_warning_status_does_not_halt(status: int) -> None:
    async def body() -> None:
        async with store_scp([status]) as (server, scp):
            result = await run_ours("127.0.0.1", server.port, CT, MR)
        assert (result.code, result.stderr) == (0, "")
        assert len(scp.received) == 2

    run(body)


def test_peer_abort() -> None:
    async def body() -> None:
        async with store_scp([0x0000, "abort"]) as (server, _):
            halted = await run_ours("-v", "127.0.0.1", server.port, CT, MR, RTPLAN)
        assert halted.code == 10  # DCMTK 3.6.7's code here, observed (never 255)
        assert halted.lines[-3:] == [
            f"E: Store Failed, file: {MR}:",
            "E: 0006:0317 Peer aborted Association (or never connected)",
            "I: Peer Aborted Association",
        ]
        async with store_scp([0xB000, "abort"]) as (server, _):
            after_warning = await run_ours("127.0.0.1", server.port, CT, MR)
        assert after_warning.code == 0xB0
        async with store_scp([0x0000, "abort"]) as (server, _):
            no_halt = await run_ours("-nh", "127.0.0.1", server.port, CT, MR, RTPLAN)
        assert no_halt.code == 1
        assert no_halt.lines == [
            f"E: Store Failed, file: {MR}:",
            "E: 0006:0317 Peer aborted Association (or never connected)",
            f"E: Store Failed, file: {RTPLAN}:",
            "E: 0006:020e DIMSE Failed to send message",
            "E: 0006:0303 DUL Finite State Machine Error: No action defined, state 1 event 8",
            "E: Association Release Failed: 0006:0303 DUL Finite State Machine Error: No action defined, "
            "state 1 event 10",
        ]

    run(body)


def test_no_presentation_context_for_a_file(tmp_path: Path) -> None:
    seg = _segmentation(tmp_path)

    async def body() -> None:
        async with store_scp() as (server, scp):
            halted = await run_ours("127.0.0.1", server.port, seg, CT)
            no_halt = await run_ours("-v", "-nh", "127.0.0.1", server.port, seg, CT)
        assert halted.code == 1
        assert halted.lines == [
            f"E: No presentation context for: (SG) {uids.SEGMENTATION_STORAGE}",
            "E: Store SCU Failed: 0006:0208 DIMSE No valid Presentation Context ID",
        ]
        assert no_halt.code == 0
        assert "I: Sending Store Request (MsgID 2, CT)" in no_halt.lines  # the failed file took ID 1
        assert len(scp.received) == 1

    run(body)


def test_required_only_proposes_the_files_classes(tmp_path: Path) -> None:
    seg = _segmentation(tmp_path)

    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-d", "-R", "127.0.0.1", server.port, seg, CT)
        assert result.code == 0, result.stderr
        assert result.stderr.count("(Proposed)") == 4
        assert "D:     Abstract Syntax: =SegmentationStorage" in result.lines
        sent_classes = [s.request.affected_sop_class_uid for s in scp.received]
        assert sent_classes == [uids.SEGMENTATION_STORAGE, CT_CLASS]

    run(body)


CT_CLASS = uids.CT_IMAGE_STORAGE


def test_compressed_file_without_a_fitting_context(tmp_path: Path) -> None:
    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-v", "-nh", "127.0.0.1", server.port, J2K, CT)
        assert result.code == 0
        converting = "I: Converting transfer syntax: JPEG 2000 (Lossless or Lossy) -> Little Endian Explicit"
        assert converting in result.lines
        if len(scp.received) == 1:  # the library could not decompress: DCMTK's words
            assert (
                "W: DIMSE Warning: (STORESCU,ANY-SCP): sendMessage: unable to convert dataset from "
                "'JPEG 2000 (Lossless or Lossy)' transfer syntax to 'Little Endian Explicit'"
            ) in result.lines
            assert f"E: Store Failed, file: {J2K}:" in result.lines
            assert "E: 0006:020e DIMSE Failed to send message" in result.lines

    run(body)


def test_compressed_file_goes_unchanged_when_its_syntax_is_proposed() -> None:
    async def body() -> None:
        async with store_scp(syntaxes=[uids.JPEG_2000, uids.EXPLICIT_VR_LITTLE_ENDIAN]) as (server, scp):
            result = await run_ours("-xw", "-R", "127.0.0.1", server.port, J2K)
        assert result.code == 0, result.stderr
        assert scp.received[0].transfer_syntax == uids.JPEG_2000
        received = decode_dataset(scp.received[0].dataset, uids.EXPLICIT_VR_LITTLE_ENDIAN)
        assert comparable(received) == comparable(file_dataset(J2K))

    run(body)


def test_bad_files_when_sending(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("hello\n")

    async def body() -> None:
        async with store_scp() as (server, scp):
            halted = await run_ours("127.0.0.1", server.port, str(text), CT)
            no_halt = await run_ours("-nh", "127.0.0.1", server.port, str(text), CT)
        assert halted.code == 1
        assert halted.lines[0].startswith(f"E: Bad DICOM file: {text}: ")
        assert halted.lines[1].startswith("E: Store SCU Failed: ")
        assert no_halt.code == 0 and len(scp.received) == 1

    run(body)


def test_inputs_fail_before_connecting(tmp_path: Path) -> None:
    async def body() -> None:
        async with store_scp() as (server, _):
            missing = await run_ours("127.0.0.1", server.port, CT, str(tmp_path / "nope.dcm"))
            directory = await run_ours("127.0.0.1", server.port, str(tmp_path))
            assert server.associations_served == 0
        assert (missing.code, missing.lines) == (1, [f"F: cannot access file: {tmp_path / 'nope.dcm'}"])
        assert directory.code == 1
        assert directory.lines == [
            f"W: ignoring directory because option --scan-directories is not set: {tmp_path}",
            "F: no input files to be sent",
        ]

    run(body)


def test_connection_refused_and_rejection() -> None:
    async def body() -> None:
        async with store_scp() as (server, _):
            port = server.port
        refused = await run_ours("127.0.0.1", port, CT)
        assert refused.code == 1
        assert refused.lines == [
            "F: Association Request Failed: 0006:031c TCP Initialization Error: Connection refused"
        ]

        def reject(request: AAssociateRQ, peer: tuple[str, int]) -> AAssociateRJ:
            return AAssociateRJ(1, 1, 7)

        async with store_scp(check=reject) as (server, _):
            rejected = await run_ours("127.0.0.1", server.port, CT)
        assert rejected.code == 1
        assert rejected.lines == [
            "F: Association Rejected:",
            "F: Result: Rejected Permanent, Source: Service User",
            "F: Reason: Called AE Title Not Recognized",
        ]

    run(body)


def test_too_many_contexts_with_required(tmp_path: Path) -> None:
    paths = []
    ds = pydicom.dcmread(CT)
    for index, sop_class in enumerate(uids.DCMTK_ALL_STORAGE[:65]):
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
        path = tmp_path / f"f{index}.dcm"
        ds.save_as(path)
        paths.append(str(path))
    result = asyncio.run(run_ours("-R", "127.0.0.1", 9, *paths))
    assert (result.code, result.lines) == (
        1,
        ["E: Too many presentation contexts", "F: 0006:0101 ASC Bad presentation context ID"],
    )


def test_repeat_rename_and_message_ids(tmp_path: Path) -> None:
    first, second = tmp_path / "a.dcm", tmp_path / "b.dcm"
    first.write_bytes(Path(CT).read_bytes())
    second.write_bytes(Path(MR).read_bytes())

    async def body() -> None:
        async with store_scp([0x0000, 0x0000, 0x0000, 0x0000]) as (server, scp):
            result = await run_ours("-v", "--repeat", 2, "127.0.0.1", server.port, first, second)
        assert result.code == 0
        assert [s.request.message_id for s in scp.received] == [1, 2, 3, 4]
        sent_classes = [s.request.affected_sop_class_uid for s in scp.received]
        assert sent_classes == [CT_CLASS, CT_CLASS, MR_CLASS, MR_CLASS]
        async with store_scp([0x0000, 0xA700]) as (server, _):
            renamed = await run_ours("-nh", "+rn", "127.0.0.1", server.port, first, second)
        assert renamed.code == 0
        assert sorted(os.listdir(tmp_path)) == ["a.dcm.done", "b.dcm.bad"]

    run(body)


MR_CLASS = uids.MR_IMAGE_STORAGE


def test_invent_identifying_information() -> None:
    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-v", "+IR", 2, "--repeat", 3, "127.0.0.1", server.port, CT)
        assert result.code == 0, result.stderr
        assert "I: Inventing Identifying Information (pa0, st0, se0, im0):" in result.lines
        assert "I: Inventing Identifying Information (pa0, st0, se1, im0):" in result.lines
        sent = [decode_dataset(s.dataset, s.transfer_syntax) for s in scp.received]
        assert len({ds.SOPInstanceUID for ds in sent}) == 3
        assert sent[0].SeriesInstanceUID == sent[1].SeriesInstanceUID != sent[2].SeriesInstanceUID
        assert [ds.InstanceNumber for ds in sent] == [0, 1, 0]
        assert len({ds.StudyInstanceUID for ds in sent}) == 1
        assert all(str(ds.PatientName).startswith("OFFIS^TEST_PN_") for ds in sent)
        assert sent[0].SOPInstanceUID == scp.received[0].request.affected_sop_instance_uid
        original = file_dataset(CT)
        assert sent[0].PixelData == original.PixelData
        assert Path(CT).read_bytes() == (TEST_FILES / "CT_small.dcm").read_bytes()

    run(body)


def test_uid_padding_is_corrected(tmp_path: Path) -> None:
    ds = pydicom.dcmread(CT)
    raw = tmp_path / "padded.dcm"
    ds.save_as(raw)
    data = raw.read_bytes()
    uid = ds.SOPInstanceUID.encode()
    padded = uid[:-2] + b" "  # same length, space padded, as some old devices write them
    raw.write_bytes(data.replace(uid, padded + b" " if len(uid) % 2 else padded))

    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-up", "127.0.0.1", server.port, raw)
        assert result.code == 0, result.stderr
        assert not scp.received[0].request.affected_sop_instance_uid.endswith(" ")

    run(body)


def test_debug_dumps() -> None:
    async def body() -> None:
        async with store_scp() as (server, _):
            result = await run_ours("-d", "-R", "127.0.0.1", server.port, CT)
        lines = result.lines
        assert result.code == 0
        assert lines[0].startswith("D: $dicomwire: storescu v")
        assert lines.index("D: Request Parameters:") < lines.index("I: Requesting Association")
        assert lines.index("I: Requesting Association") < lines.index("D: Association Parameters Negotiated:")
        assert "D: ===================== OUTGOING DIMSE MESSAGE ====================" in lines
        assert "D: Message Type                  : C-STORE RQ" in lines
        assert "I: Received Store Response" in lines  # no status: the dump follows
        assert "D: DIMSE Status                  : 0x0000: Success" in lines
        assert result.stdout == ""  # no XMIT dots at debug level

    run(body)


def test_verbose_pc_shows_the_contexts_at_info_level() -> None:
    async def body() -> None:
        async with store_scp() as (server, _):
            result = await run_ours("-v", "+v", "-R", "127.0.0.1", server.port, CT)
        assert "I: Request Parameters:" in result.lines
        assert "I:     Abstract Syntax: =CTImageStorage" in result.lines

    run(body)


def test_multiframe_instance_and_small_pdu(tmp_path: Path) -> None:
    path = multiframe(tmp_path / "mf.dcm")

    async def body() -> None:
        async with store_scp(max_pdu_length=65536) as (server, scp):
            result = await run_ours("-v", "--max-send-pdu", 4096, "127.0.0.1", server.port, path)
        assert result.code == 0, result.stderr
        assert "I: Association Accepted (Max Send PDV: 65524)" in result.lines  # the peer's, as DCMTK
        assert result.stdout.count(".") == -(-os.path.getsize(path) // 4084)
        stored = scp.received[0]
        received = decode_dataset(stored.dataset, stored.transfer_syntax)
        assert comparable(received) == comparable(file_dataset(path))

    run(body)


def test_progress_line_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    log = logging.getLogger("test.storescu.progress")
    log.setLevel(logging.WARNING)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    progress = Progress(log, 3)
    assert progress.terminal and not progress.xmit
    for _ in range(3):
        progress.begin()
        progress.end(True, 2_000_000)
    progress.finish()
    err = capsys.readouterr().err
    assert "storescu: 3/3 files, 6.0 MB" in err and err.endswith("\n")
    single = Progress(log, 1)
    assert not single.terminal
    log.setLevel(logging.CRITICAL)
    assert not Progress(log, 3).terminal


def test_dimse_timeout() -> None:
    """DCMTK: "E: Store Failed, file: X:", "E: 0006:0207 DIMSE No data available (timeout in
    non-blocking mode)", "E: Store SCU Failed: 0006:0207 ...", "I: Aborting Association", exit 1."""

    async def body() -> None:
        async with store_scp([0x0000, "hang"]) as (server, _):
            result = await run_ours("-v", "-td", 1, "127.0.0.1", server.port, CT, MR)
        assert result.code == 1
        assert result.lines[-4:] == [
            f"E: Store Failed, file: {MR}:",
            "E: 0006:0207 DIMSE No data available (timeout in non-blocking mode)",
            "E: Store SCU Failed: 0006:0207 DIMSE No data available (timeout in non-blocking mode)",
            "I: Aborting Association",
        ]

    run(body)


def test_a_truncated_file_is_skipped_and_the_rest_is_sent(tmp_path: Path) -> None:
    """Issue 10: a file whose Pixel Data claims more than remains is not sent (DCMTK's
    lines), and with -nh every later file still arrives."""
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(Path(CT).read_bytes()[:-300])

    async def body() -> None:
        async with store_scp() as (server, scp):
            result = await run_ours("-nh", "127.0.0.1", server.port, cut, MR, RTPLAN)
        assert result.code == 0
        assert result.lines == [
            "E: DcmElement: PixelData (7fe0,0010) larger (32768) than remaining bytes in file",
            f"E: Bad DICOM file: {cut}: I/O suspension or premature end of stream",
        ]
        assert len(scp.received) == 2
        async with store_scp() as (server, scp):
            halted = await run_ours("127.0.0.1", server.port, cut, MR)
        assert halted.code == 1
        assert scp.received == []

    run(body)
