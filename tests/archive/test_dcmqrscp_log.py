"""dcmqrscp's per-message log lines from the archive's message observer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from archive_helpers import area, config, connect, find_all, instance, run, study_query

import dicomwire
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.service import Archive
from dicomwire.dcmtk.qrlog import DcmqrscpAssociationLog, DcmqrscpMessageLog


def test_store_and_find_lines_are_dcmqrscps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.dcmqrscp")

    async def main() -> None:
        archive = Archive(
            config(area(tmp_path)), ArchiveOptions(host_lookup=False), observer=DcmqrscpMessageLog(log)
        )
        await archive.start("127.0.0.1", 0)
        try:
            async with connect(archive) as assoc:
                assert (await dicomwire.store(assoc, instance("1.2.3.1"))).status == 0
                matches, final = await find_all(assoc, study_query())
                assert len(matches) == 1 and final == 0
        finally:
            await archive.close()

    with caplog.at_level(logging.INFO, logger="test.dcmqrscp"):
        run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == "test.dcmqrscp"]
    assert lines[0].startswith("Received Store SCP:\n===================== INCOMING DIMSE MESSAGE")
    assert "Message Type                  : C-STORE RQ" in lines[0]
    assert lines[1].startswith("Sending:\n===================== OUTGOING DIMSE MESSAGE")
    assert "DIMSE Status                  : 0x0000: Success" in lines[1]
    assert lines[2].startswith("Received Find SCP:\n") and "C-FIND RQ" in lines[2]
    assert lines[3:] == ["Find SCP Response 1 [status: Pending]", "Find SCP Response 2 [status: Success]"]


def test_association_lines_are_dcmqrscps(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.dcmqrscp.assoc")

    async def main() -> None:
        options = ArchiveOptions(host_lookup=False)
        archive = Archive(config(area(tmp_path)), options, events=DcmqrscpAssociationLog(log))
        await archive.start("127.0.0.1", 0)
        try:
            async with connect(archive, calling_ae="FINDSCU") as assoc:
                await find_all(assoc, study_query())
            with pytest.raises(dicomwire.AssociationRejected):
                await connect(archive, called_ae="NOBODY", calling_ae="ECHOSCU")
        finally:
            await archive.close()

    with caplog.at_level(logging.INFO, logger="test.dcmqrscp.assoc"):
        run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == "test.dcmqrscp.assoc"]
    assert lines == [
        "Association Received (127.0.0.1:FINDSCU -> ARCHIVE)",
        "Association Acknowledged (Max Send PDV: 16372)",
        "Association Release",
        "Association Received (127.0.0.1:ECHOSCU -> NOBODY)",
        "Refusing Association (BadAEService)",
    ]
