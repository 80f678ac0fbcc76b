"""Our findscu as a user runs it, against our own C-FIND SCP: log lines, files, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.config import AcceptorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CFindRQ
from dicomwire.net.association import Association
from dicomwire.net.server import Handler, Server
from dicomwire.services.query import AssociationInfo, ignore_cancel, make_find_handler
from echo_helpers import Result, run_async, run_command

FINDSCU = os.path.join(os.path.dirname(sys.executable), "findscu")
ALL_SYNTAXES = (
    uids.EXPLICIT_VR_LITTLE_ENDIAN,
    uids.IMPLICIT_VR_LITTLE_ENDIAN,
    uids.EXPLICIT_VR_BIG_ENDIAN,
    uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
)
MODELS = (
    uids.PATIENT_ROOT_FIND,
    uids.STUDY_ROOT_FIND,
    uids.MODALITY_WORKLIST_FIND,
    uids.PATIENT_STUDY_ONLY_FIND,
)


def record(n: int) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "PATIENT"
    ds.PatientName = f"DOE^{n:03d}"
    ds.PatientID = f"P{n:03d}"
    return ds


class Archive:
    """Answers every query with ``count`` patients (only the keys asked for)."""

    def __init__(self, count: int = 3, *, status: int | None = None, hang: bool = False) -> None:
        self.count = count
        self.status = status
        self.hang = hang
        self.queries: list[Dataset] = []

    async def find(
        self, query: Dataset, model: str, assoc_info: AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        self.queries.append(query)
        if self.hang:
            await asyncio.sleep(3600)
        if self.status is not None:
            yield self.status, None
            return
        for n in range(self.count):
            full = record(n)
            match = Dataset()
            for keyword in query.dir():
                if keyword in full:
                    match.add(full[keyword])
            yield st.PENDING, match


@asynccontextmanager
async def scp(
    archive: Archive,
    *,
    models: Sequence[str] = MODELS,
    syntaxes: Sequence[str] = ALL_SYNTAXES,
    find: Handler | None = None,
) -> AsyncIterator[Server]:
    settings = AcceptorSettings(ae_title="ARCHIVE", supported={m: tuple(syntaxes) for m in models})
    handlers = {CFindRQ: find or make_find_handler(archive), CCancelRQ: ignore_cancel}
    server = Server(settings, handlers)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


async def findscu(*args: object, cwd: Path | None = None) -> Result:
    if cwd is None:
        return await run_command([FINDSCU, *map(str, args)])
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        return await run_command([FINDSCU, *map(str, args)])
    finally:
        os.chdir(previous)


KEYS = ("-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName=DOE*", "-k", "PatientID")


def test_verbose_run_prints_dcmtk_blocks() -> None:
    async def body() -> None:
        archive = Archive(2)
        async with scp(archive) as server:
            result = await findscu("-v", "-P", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        lines = result.stderr.splitlines()
        assert lines[:4] == [
            "I: Requesting Association",
            "I: Association Accepted (Max Send PDV: 16372)",
            "I: Sending Find Request (MsgID 1)",
            "I: Request Identifiers:",
        ]
        assert "I: (0010,0010) PN [DOE*]                                   #   4, 1 PatientName" in lines
        assert "I: (0010,0020) LO (no value available)                     #   0, 0 PatientID" in lines
        assert lines.count("I: ---------------------------") == 2
        assert "I: Find Response: 2 (Pending)" in lines
        assert "I: (0010,0020) LO [P001]                                   #   4, 1 PatientID" in lines
        assert lines[-2:] == ["I: Received Final Find Response (Success)", "I: Releasing Association"]
        assert result.stdout == ""
        assert archive.queries[0].PatientName == "DOE*"

    run_async(body)


def test_default_level_shows_responses_but_not_the_rest() -> None:
    async def body() -> None:
        async with scp(Archive(1)) as server:
            plain = await findscu("-P", *KEYS, "127.0.0.1", server.port)
            warn = await findscu("-ll", "warn", "-P", *KEYS, "127.0.0.1", server.port)
            quiet = await findscu("-q", "-P", *KEYS, "127.0.0.1", server.port)
            forced = await findscu("-q", "+sr", "-P", *KEYS, "127.0.0.1", server.port)
            hidden = await findscu("-v", "-sr", "-P", *KEYS, "127.0.0.1", server.port)
        assert plain.stderr.splitlines()[:2] == [
            "I: ---------------------------",
            "I: Find Response: 1 (Pending)",
        ]
        assert "Requesting Association" not in plain.stderr
        assert (warn.stderr, quiet.stderr) == ("", "")
        assert forced.stderr == plain.stderr
        assert "I: Received Find Response 1 (Pending)" in hidden.stderr
        assert "Find Response: 1" not in hidden.stderr

    run_async(body)


def test_debug_dumps_dimse_messages() -> None:
    async def body() -> None:
        async with scp(Archive(1)) as server:
            result = await findscu("-d", "-S", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        text = result.stderr
        assert "D: Message Type                  : C-FIND RQ" in text
        assert "D: Affected SOP Class UID        : FINDStudyRootQueryRetrieveInformationModel" in text
        assert "D: Priority                      : medium" in text
        assert "I: Sending Find Request\n" in text
        assert "I: Received Find Response 1\n" in text
        assert "D: DIMSE Status                  : 0xff00: Pending: Matches are continuing" in text
        assert "D: Response Identifiers:" in text
        assert "D: DIMSE Status                  : 0x0000: Success: Matching is complete" in text
        assert "I: Received Final Find Response\n" in text

    run_async(body)


def test_repeat_and_files_number_responses_across_the_association(tmp_path: Path) -> None:
    query = Dataset()
    query.QueryRetrieveLevel = "PATIENT"
    query.PatientID = ""
    query_file = tmp_path / "q.dcm"
    query.save_as(query_file, implicit_vr=False, little_endian=True)

    async def body() -> None:
        async with scp(Archive(3)) as server:
            result = await findscu(
                "-v",
                "-P",
                "--repeat",
                2,
                "-X",
                "-od",
                tmp_path,
                "-k",
                "PatientName",
                "127.0.0.1",
                server.port,
                query_file,
                query_file,
            )
        assert result.code == 0, result.stderr
        assert [line for line in result.stderr.splitlines() if "Sending Find Request" in line] == [
            f"I: Sending Find Request (MsgID {n})" for n in range(1, 5)
        ]
        written = sorted(p.name for p in tmp_path.glob("rsp*.dcm"))
        # 4 queries x (3 pending + 1 final): the finals' numbers are skipped
        assert written == [f"rsp{n:04d}.dcm" for n in range(1, 17) if n % 4]
        first = dcmread(tmp_path / "rsp0001.dcm")
        assert first.file_meta.MediaStorageSOPClassUID == "1.2.276.0.7230010.3.1.0.1"
        assert first.PatientName == "DOE^000" and first.PatientID == "P000"
        assert f"I: Writing response dataset to file: {tmp_path}/rsp0016.dcm" not in result.stderr
        assert f"I: Writing response dataset to file: {tmp_path}/rsp0015.dcm" in result.stderr

    run_async(body)


def test_limit_output_and_single_xml(tmp_path: Path) -> None:
    async def body() -> None:
        async with scp(Archive(4)) as server:
            result = await findscu(
                "-v", "-P", "-Xs", "all.xml", "-Xlo", 3, "-od", tmp_path, *KEYS, "127.0.0.1", server.port
            )
        assert result.code == 0, result.stderr
        assert f"I: Writing all response datasets to file: {tmp_path}/all.xml" in result.stderr
        assert result.stderr.count("Maximum number of responses already written to file") == 1
        root = ET.parse(tmp_path / "all.xml").getroot()
        assert root.tag == "responses" and root.get("type") == "C-FIND"
        names = [e.text for e in root.iter("element") if e.get("name") == "PatientName"]
        assert names == ["DOE^000", "DOE^001", "DOE^002"]

    run_async(body)


def test_json_on_stdout_everything_else_on_stderr() -> None:
    async def body() -> None:
        async with scp(Archive(3)) as server:
            result = await findscu("-v", "--json", "-P", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        items = json.loads(result.stdout)
        assert [item["00100010"]["Value"][0]["Alphabetic"] for item in items] == [
            "DOE^000",
            "DOE^001",
            "DOE^002",
        ]
        assert items[0]["00100020"] == {"vr": "LO", "Value": ["P000"]}
        assert all(Dataset.from_json(item).QueryRetrieveLevel == "PATIENT" for item in items)
        assert "Find Response: 3 (Pending)" in result.stderr

    run_async(body)


def test_json_is_an_empty_array_without_matches() -> None:
    async def body() -> None:
        async with scp(Archive(0)) as server:
            result = await findscu("--json", "-P", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0 and json.loads(result.stdout) == []

    run_async(body)


def test_cancel_after_n_responses() -> None:
    async def body() -> None:
        async with scp(Archive(2000)) as server:
            result = await findscu("-v", "-sr", "--cancel", 2, "-P", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0, result.stderr
        lines = result.stderr.splitlines()
        index = lines.index("I: Sending Cancel Request (MsgID 1, PresID 1)")
        assert lines[index - 1] == "I: Received Find Response 2 (Pending)"
        assert "I: Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)" in lines
        assert sum("Received Find Response" in line for line in lines) < 2000

    run_async(body)


def test_deflated_and_big_endian_proposals() -> None:
    async def body() -> None:
        for option, name in (
            ("-xd", "Deflated Explicit VR Little Endian"),
            ("-xb", "Big Endian Explicit"),
            ("-xi", "Little Endian Implicit"),
        ):
            async with scp(Archive(2), syntaxes=ALL_SYNTAXES[::-1]) as server:
                result = await findscu("-v", option, "-P", *KEYS, "127.0.0.1", server.port)
            assert result.code == 0, result.stderr
            assert f"I: # Used TransferSyntax: {name}" in result.stderr, option
            assert "I: (0010,0010) PN [DOE^001 ]" in result.stderr  # as received, padding included

    run_async(body)


def test_failure_status_exits_0() -> None:
    async def body() -> None:
        async with scp(Archive(status=st.UNABLE_TO_PROCESS)) as server:
            result = await findscu("-v", "-P", *KEYS, "127.0.0.1", server.port)
        assert result.code == 0
        assert "I: Received Final Find Response (Failed: UnableToProcess)" in result.stderr
        assert "I: Releasing Association" in result.stderr

    run_async(body)


def test_bad_key_is_reported_after_association_and_exits_0() -> None:
    async def body() -> None:
        async with scp(Archive()) as server:
            result = await findscu("-v", "-P", "-k", "Foo=bar", "127.0.0.1", server.port)
        assert result.code == 0
        assert result.stderr.splitlines() == [
            "I: Requesting Association",
            "I: Association Accepted (Max Send PDV: 16372)",
            "E: Bad override key/path: Foo=bar",
            "E: Find SCU Failed: 0001:0019 Unable to parse tag/dictionary name at beginning of path: Foo",
            "I: Aborting Association",
        ]

    run_async(body)


def test_unreadable_query_file_stops_the_run(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_text("this is not DICOM at all\n")

    async def body() -> None:
        archive = Archive()
        async with scp(archive) as server:
            result = await findscu("-P", "127.0.0.1", server.port, bad)
        assert result.code == 0
        assert f"E: Bad DICOM file: {bad}: I/O suspension or premature end of stream" in result.stderr
        assert "E: Find SCU Failed: 0001:000a I/O suspension or premature end of stream" in result.stderr
        assert archive.queries == []

    run_async(body)


def test_command_line_errors_exit_1(tmp_path: Path) -> None:
    async def body() -> None:
        cases = [
            (
                ("127.0.0.1", 104, tmp_path / "missing.dcm"),
                f"error: cannot access file: {tmp_path}/missing.dcm",
            ),
            (("127.0.0.1", 104), "error: either query file or override keys (or both) must be specified"),
            (
                ("+cl", 5, "-k", "x", "127.0.0.1", 104),
                "error: --compression-level only allowed with --propose-deflated",
            ),
            (
                ("-Xlo", 2, "-k", "x", "127.0.0.1", 104),
                "error: --limit-output only allowed with --extract, --extract-xml or --extract-xml-single",
            ),
            (
                ("-xd", "+cl", 10, "-k", "x", "127.0.0.1", 104),
                "error: Invalid value for option --compression-level (overflow: 10)",
            ),
            (
                ("-X", "-od", tmp_path / "nowhere", "-k", "x", "127.0.0.1", 104),
                "F: specified output directory does not exist",
            ),
            (
                ("+tls", "nokey.pem", "c.pem", "-k", "x", "127.0.0.1", 104),
                "F: 000b:0004 Unable to load private TLS key from 'nokey.pem'",
            ),
        ]
        for args, message in cases:
            result = await findscu(*args)
            assert result.code == 1, args
            assert message in result.stderr, (args, result.stderr)
            assert "Traceback" not in result.stderr

    run_async(body)


def test_association_failures_exit_2() -> None:
    async def body() -> None:
        listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        listener.close()
        await listener.wait_closed()
        refused = await findscu("-k", "PatientName", "127.0.0.1", port)
        assert refused.code == 2
        assert refused.stderr == (
            "E: Association Request Failed: 0006:031c TCP Initialization Error: Connection refused\n"
        )
        async with scp(Archive(), models=[uids.PATIENT_ROOT_FIND]) as server:  # our SCP rejects: no context
            rejected = await findscu("-W", "-k", "PatientName", "127.0.0.1", server.port)
        assert rejected.code == 2
        assert rejected.stderr.splitlines() == [
            "E: Association Rejected:",
            "E: Result: Rejected Permanent, Source: Service User",
            "E: Reason: No Reason",
        ]

    run_async(body)


def test_dimse_timeout_and_peer_abort_exit_0() -> None:
    async def abort(assoc: Association, received: MessageReceived) -> None:
        assoc.abort()

    async def body() -> None:
        async with scp(Archive(hang=True)) as server:
            hung = await findscu("-v", "-td", 1, "-P", *KEYS, "127.0.0.1", server.port)
        assert hung.code == 0
        assert "E: Find Failed, query keys:" in hung.stderr
        assert "E: # Dicom-File-Format" in hung.stderr
        assert (
            "E: Find SCU Failed: 0006:0207 DIMSE No data available (timeout in non-blocking mode)"
            in hung.stderr
        )
        assert hung.stderr.endswith("I: Aborting Association\n")
        async with scp(Archive(), find=abort) as server:
            aborted = await findscu("-v", "-P", *KEYS, "127.0.0.1", server.port)
        assert aborted.code == 0
        assert "E: 0006:0317 Peer aborted Association (or never connected)" in aborted.stderr
        assert aborted.stderr.endswith("I: Peer Aborted Association\n")

    run_async(body)


def test_abort_option_and_worklist_sequence_keys() -> None:
    async def body() -> None:
        archive = Archive(1)
        async with scp(archive) as server:
            result = await findscu(
                "-v",
                "--abort",
                "-k",
                "(0040,0100)[0].Modality=CT",
                "-k",
                "PatientName",
                "127.0.0.1",
                server.port,
            )
        assert result.code == 0, result.stderr
        assert result.stderr.endswith("I: Aborting Association\n")
        query = archive.queries[0]
        assert query.ScheduledProcedureStepSequence[0].Modality == "CT"
        sequence = "I: (0040,0100) SQ (Sequence with explicit length #=1)      #   0, 1 "
        assert sequence + "ScheduledProcedureStepSequence" in result.stderr

    run_async(body)
