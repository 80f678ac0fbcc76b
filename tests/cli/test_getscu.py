"""getscu: its command line, its A-ASSOCIATE-RQ, and C-GET against a tiny SCP written here.

The tiny SCP (a raw ``Server`` handler) answers a C-GET by sending C-STORE-RQs on the
same association, interleaved with Pending C-GET-RSPs, and honours C-CANCEL-RQ; it
exercises :class:`GetOperation` in one process and the tool as a subprocess.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from dicomwire import uids
from dicomwire.cli import getscu
from dicomwire.config import AcceptorSettings, RequestorSettings
from dicomwire.dimse import status as st
from dicomwire.dimse.fragments import MessageReceived
from dicomwire.dimse.messages import CCancelRQ, CGetRQ, CGetRSP, CStoreRQ, CStoreRSP
from dicomwire.net.association import Association
from dicomwire.net.client import associate
from dicomwire.net.server import Server
from dicomwire.services.codec import encode_dataset
from dicomwire.services.handlers import AssociationInfo, ReceivedInstance
from dicomwire.services.retrieve import GetOperation, RetrieveResponse, get_contexts
from dicomwire.services.storage_scp import StorageSCP
from dicomwire.ul.items import PresentationContextRQ

SC, CT = uids.SECONDARY_CAPTURE_IMAGE_STORAGE, uids.CT_IMAGE_STORAGE
LEE, LEI, BEE = uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN, uids.EXPLICIT_VR_BIG_ENDIAN
MODEL = uids.STUDY_ROOT_GET
TOOL = [sys.executable, "-m", "dicomwire.cli.getscu"]
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], limit: float = 30.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(bounded())


def instance(uid: str, sop_class: str = SC) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid
    ds.StudyInstanceUID = "1.2.3"
    ds.PatientName = "DOE^JANE"
    ds.Modality = "OT"
    return ds


# -- the tiny C-GET SCP -------------------------------------------------------------------------


@dataclass
class TinyGetSCP:
    """Answers every C-GET with ``instances``: C-STORE, Pending, C-STORE, ... final."""

    instances: Sequence[Dataset]
    store_statuses: list[int] = field(default_factory=list)
    cancelled: bool = False

    async def on_get(self, assoc: Association, item: MessageReceived) -> None:
        request = item.message
        assert isinstance(request, CGetRQ)
        completed = failed = 0
        for number, ds in enumerate(self.instances, start=1):
            code = await self.send_instance(assoc, ds)
            self.store_statuses.append(code)
            completed, failed = (completed + 1, failed) if code == st.SUCCESS else (completed, failed + 1)
            remaining = len(self.instances) - number
            if self.cancelled:
                await self.respond(assoc, item, request, st.CANCEL, remaining, completed, failed)
                return
            if remaining:
                await self.respond(assoc, item, request, st.PENDING, remaining, completed, failed)
        final = st.SUCCESS if not failed else 0xB000
        await self.respond(assoc, item, request, final, None, completed, failed)

    async def send_instance(self, assoc: Association, ds: Dataset) -> int:
        context = assoc.context_for(ds.SOPClassUID)
        message = CStoreRQ(
            message_id=assoc.next_message_id(),
            affected_sop_class_uid=ds.SOPClassUID,
            affected_sop_instance_uid=ds.SOPInstanceUID,
        )
        await assoc.send(context.context_id, message, encode_dataset(ds, context.transfer_syntax))
        while True:
            answer = await assoc.receive(10)
            assert isinstance(answer, MessageReceived)
            if isinstance(answer.message, CCancelRQ):
                self.cancelled = True
                continue
            assert isinstance(answer.message, CStoreRSP)
            return answer.message.status

    @staticmethod
    async def respond(
        assoc: Association,
        item: MessageReceived,
        request: CGetRQ,
        code: int,
        remaining: int | None,
        completed: int,
        failed: int,
    ) -> None:
        response = CGetRSP(
            message_id_being_responded_to=request.message_id,
            affected_sop_class_uid=request.affected_sop_class_uid,
            status=code,
            number_of_remaining_suboperations=remaining,
            number_of_completed_suboperations=completed,
            number_of_failed_suboperations=failed,
            number_of_warning_suboperations=0,
        )
        await assoc.send(item.context_id, response)


@asynccontextmanager
async def tiny_server(scp: TinyGetSCP) -> AsyncIterator[Server]:
    storage = (SC, CT)
    settings = AcceptorSettings(
        ae_title="TINY",
        supported={MODEL: [LEE, LEI], **{sop_class: [LEE, LEI] for sop_class in storage}},
        roles={sop_class: (False, True) for sop_class in storage},
    )
    server = Server(settings, {CGetRQ: scp.on_get})
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


def get_settings() -> RequestorSettings:
    contexts, roles = get_contexts(MODEL, storage_classes=[SC, CT])
    return RequestorSettings(called_ae="TINY", contexts=contexts, roles=roles)


class FailSecond:
    """A store handler that refuses the second instance."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def store(self, instance: ReceivedInstance, info: AssociationInfo) -> int:
        self.seen.append(instance.request.affected_sop_instance_uid)
        return st.OUT_OF_RESOURCES if len(self.seen) == 2 else st.SUCCESS


async def retrieve(
    scp: TinyGetSCP, store: object, cancel_after: int | None = None
) -> tuple[list[RetrieveResponse], list[tuple[str, int]]]:
    answered: list[tuple[str, int]] = []
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = "1.2.3"
    async with tiny_server(scp) as server, associate("127.0.0.1", server.port, get_settings()) as assoc:
        operation = GetOperation(
            assoc,
            query,
            model=MODEL,
            store=store,  # type: ignore[arg-type]
            cancel_after=cancel_after,
            on_stored=lambda request, code: answered.append((request.affected_sop_instance_uid, code)),
        )
        responses = [response async for response in operation.responses()]
    return responses, answered


# -- GetOperation in one process ------------------------------------------------------------------


def test_get_operation_stores_interleaved_sub_operations(tmp_path: Path) -> None:
    scp = TinyGetSCP([instance("1.2.3.1"), instance("1.2.3.2", CT), instance("1.2.3.3")])
    responses, answered = run(retrieve(scp, StorageSCP(tmp_path)))
    assert [r.status for r in responses] == [st.PENDING, st.PENDING, st.SUCCESS]
    assert [r.remaining for r in responses] == [2, 1, None]
    assert responses[-1].completed == 3
    assert answered == [("1.2.3.1", 0), ("1.2.3.2", 0), ("1.2.3.3", 0)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CT.1.2.3.2", "SC.1.2.3.1", "SC.1.2.3.3"]
    assert dcmread(tmp_path / "CT.1.2.3.2").SOPClassUID == CT


def test_get_operation_reports_a_failed_store() -> None:
    scp = TinyGetSCP([instance("1.2.3.1"), instance("1.2.3.2"), instance("1.2.3.3")])
    responses, answered = run(retrieve(scp, FailSecond()))
    assert answered[1] == ("1.2.3.2", st.OUT_OF_RESOURCES)
    assert scp.store_statuses == [st.SUCCESS, st.OUT_OF_RESOURCES, st.SUCCESS]
    assert responses[-1].status == 0xB000
    assert (responses[-1].completed, responses[-1].failed) == (2, 1)


def test_get_operation_cancel_after() -> None:
    scp = TinyGetSCP([instance(f"1.2.3.{n}") for n in range(1, 6)])
    responses, answered = run(retrieve(scp, FailSecond(), cancel_after=1))
    assert scp.cancelled
    assert responses[-1].status == st.CANCEL
    assert len(answered) == 2  # the SCP saw the C-CANCEL-RQ before the second C-STORE-RSP
    assert responses[-1].remaining == 3


# -- the tool against the tiny SCP ------------------------------------------------------------------


async def run_tool(scp: TinyGetSCP, args: Sequence[str], cwd: Path) -> tuple[int, str]:
    async with tiny_server(scp) as server:
        proc = await asyncio.create_subprocess_exec(
            *TOOL,
            "-aec",
            "TINY",
            "-S",
            "-k",
            "QueryRetrieveLevel=STUDY",
            *args,
            "127.0.0.1",
            str(server.port),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def test_tool_names_files_as_dcmtk_and_logs_its_lines(tmp_path: Path) -> None:
    scp = TinyGetSCP([instance("1.2.3.1"), instance("1.2.3.2", CT)])
    code, err = run(run_tool(scp, ["-v"], tmp_path))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CT.1.2.3.2", "SC.1.2.3.1"]
    assert err.splitlines() == [
        "I: Requesting Association",
        "I: Association Accepted (Max Send PDV: 16372)",
        "I: Sending C-GET Request (MsgID 1)",
        "I: Received C-STORE Request (MsgID 1)",
        "I: Sending C-STORE Response (Success)",
        "I: Received C-GET Response (Pending)",
        "I: Received C-STORE Request (MsgID 2)",
        "I: Sending C-STORE Response (Success)",
        "I: Received C-GET Response (Success)",
        "I: Final status report from last C-GET message:",
        "I:   Number of Remaining Suboperations : 0",
        "I:   Number of Completed Suboperations : 2",
        "I:   Number of Failed Suboperations    : 0",
        "I:   Number of Warning Suboperations   : 0",
        "I: Releasing Association",
    ]


def test_tool_bit_preserving_names_and_overwrite_warning(tmp_path: Path) -> None:
    scp = TinyGetSCP([instance("1.2.3.1")])
    (tmp_path / "SC.1.2.3.1").write_bytes(b"old")
    code, err = run(run_tool(scp, [], tmp_path))
    assert code == 0
    assert err == "W: DICOM file already exists, overwriting: SC.1.2.3.1\n"
    assert dcmread(tmp_path / "SC.1.2.3.1").SOPInstanceUID == "1.2.3.1"
    code, err = run(run_tool(scp, ["+B"], tmp_path))
    assert (code, err) == (0, "")
    meta = dcmread(tmp_path / "1.2.3.1").file_meta
    assert meta.SourceApplicationEntityTitle == "GETSCU"


def test_tool_store_failure_ends_the_get_as_dcmtk(tmp_path: Path) -> None:
    scp = TinyGetSCP([instance("1.2.3.1"), instance("1.2.3.2")])
    (tmp_path / "SC.1.2.3.2").mkdir()  # the file cannot be written
    code, err = run(run_tool(scp, ["-v"], tmp_path))
    assert code == 0
    lines = err.splitlines()
    assert lines[lines.index("E: cannot write DICOM file: SC.1.2.3.2") :] == [
        "E: cannot write DICOM file: SC.1.2.3.2",
        "I: Sending C-STORE Response (Error: CannotUnderstand)",
        "I: Final status report from last C-GET message:",
        "I:   Number of Remaining Suboperations : 1",
        "I:   Number of Completed Suboperations : 1",
        "I:   Number of Failed Suboperations    : 0",
        "I:   Number of Warning Suboperations   : 0",
        "I: Releasing Association",
        "E: Association Release Failed: 0006:0316 DUL P-Data PDU arrived",
        "I: Aborting Association",
    ]
    # (the SCP may see our abort before our C-STORE-RSP: its side is not checked here)


def test_tool_ignore_stores_nothing(tmp_path: Path) -> None:
    scp = TinyGetSCP([instance("1.2.3.1")])
    code, err = run(run_tool(scp, ["--ignore", "-d"], tmp_path))
    assert code == 0
    assert list(tmp_path.iterdir()) == []
    context = 2 * uids.DCMTK_LONG_SCU_STORAGE.index(SC) + 3
    wanted = f"D: Ignoring incoming C-STORE dataset on presentation context {context} with Affected SOP"
    assert f"{wanted} Instance UID: 1.2.3.1" in err


# -- command line and proposal ----------------------------------------------------------------------


def parse(*args: str) -> object:
    return getscu.build_parser().parse_args([*args, "host", "104"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+B", "-B"], "--normal not allowed with --bit-preserving"),
        (["-B", "--ignore"], "--normal not allowed with --ignore"),
        (["+B", "--ignore", "-B"], "--bit-preserving not allowed with --ignore"),
        (["--ignore", "-od", "."], "--output-directory not allowed with --ignore"),
        (["+v"], "--verbose-pc only allowed with verbose mode"),
        (["--repeat", "0"], "Invalid value for option --repeat (underflow: 0)"),
        (["-pdu", "100"], "Invalid value for option --max-pdu (underflow: 100)"),
    ],
)
def test_bad_options(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert getscu.main([*args, "-k", "X", "host", "104"]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"getscu: {getscu.build_parser().description}\nerror: {message}\n")


def test_missing_query(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert getscu.main(["host", "104"]) == 1
    assert "either query file or override keys (or both) must be specified" in capsys.readouterr().err
    assert getscu.main(["host", "104", str(tmp_path / "none.dcm")]) == 1
    assert f"error: cannot access file: {tmp_path / 'none.dcm'}" in capsys.readouterr().err


def test_storage_mode_rightmost_bit_preserving_wins() -> None:
    ns = getscu.build_parser().parse_args(["-B", "+B", "-k", "X", "host", "104"])
    assert ns.storage_mode == "bit-preserving"


def test_help_lists_dcmtk_options_in_our_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert getscu.main(["--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--verbose-pc",
        "--key",
        "--psonly",
        "--prefer-hevc10",
        "--implicit",
        "--propose-deflated",
    ):
        assert option in out
    for option in ("--max-pdu", "--repeat", "--abort", "--output-directory", "--bit-preserving", "--ignore"):
        assert option in out
    for dcmtk_prose in ("print this help text", "receive in memory, then write", "set my calling AE title"):
        assert dcmtk_prose not in out
    assert getscu.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("$dicomwire: getscu v")


def settings_for(*args: str) -> RequestorSettings:
    ns = getscu.build_parser().parse_args([*args, "-k", "X", "host", "104"])
    return getscu.requestor_settings(ns)


def proposed(settings: RequestorSettings) -> list[PresentationContextRQ]:
    return [c for c in settings.contexts if isinstance(c, PresentationContextRQ)]


def test_proposal_is_dcmtks() -> None:
    settings = settings_for()
    contexts = proposed(settings)
    assert len(contexts) == 121
    first = contexts[0]
    assert (first.context_id, first.abstract_syntax, first.transfer_syntaxes) == (
        1,
        uids.PATIENT_ROOT_GET,
        (LEE, BEE, LEI),
    )
    storage = [c.abstract_syntax for c in contexts[1:]]
    assert storage == list(uids.DCMTK_LONG_SCU_STORAGE)
    assert [c.context_id for c in contexts] == list(range(1, 242, 2))
    assert [(r.sop_class_uid, r.scu_role, r.scp_role) for r in settings.roles] == [
        (uid, False, True) for uid in storage
    ]
    assert settings.calling_ae == "GETSCU"


@pytest.mark.parametrize(
    ("args", "query", "storage"),
    [
        (["-xi"], (LEE,), (LEE, BEE, LEI)),
        (["+xi"], (LEE, BEE, LEI), (LEE,)),
        (
            ["-xd", "+xs"],
            (uids.DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, LEE, BEE, LEI),
            (uids.JPEG_LOSSLESS_SV1, LEE, BEE, LEI),
        ),
        (["-xb", "+xb"], (BEE, LEE, LEI), (BEE, LEE, LEI)),
        (["+x4"], (LEE, BEE, LEI), (uids.HEVC_MAIN_PROFILE_LEVEL_5_1, LEE, BEE, LEI)),
    ],
)
def test_proposed_syntaxes(args: list[str], query: tuple[str, ...], storage: tuple[str, ...]) -> None:
    contexts = proposed(settings_for(*args))
    assert contexts[0].transfer_syntaxes == query
    assert {c.transfer_syntaxes for c in contexts[1:]} == {storage}
