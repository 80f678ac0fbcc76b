"""dcmqrscp started as root with UserName/GroupName: it keeps serving as that user.

Needs root and the ``dcmtk`` user that Debian's dcmtk package creates (CI has both).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids
from ports import free_port

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0 or not shutil.which("dcmqrscp"),
    reason="needs root and DCMTK's dcmtk user",
)


def _dcmtk_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("dcmtk")
    except KeyError:
        pytest.skip("no dcmtk user (apt-get install dcmtk creates it)")


@contextmanager
def archive_process(directory: Path, config: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    (directory / "dcmqrscp.cfg").write_text(config)
    argv = [sys.executable, "-m", "dicomwire.cli.dcmqrscp", "-c", "dcmqrscp.cfg", str(port)]
    proc = subprocess.Popen(argv, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)  # polling the port: the server's start-up is not ours to await
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else b""
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_switches_user_and_keeps_serving(tmp_path: Path) -> None:
    user = _dcmtk_user()
    area = tmp_path / "db"
    area.mkdir()
    os.chown(area, user.pw_uid, user.pw_gid)
    for parent in (tmp_path, *tmp_path.parents):  # pytest's directories are private to root
        if parent == Path("/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o055)
    port = free_port()
    table = f"AETable BEGIN\nARCHIVE {area} RW (10, 1024mb) ANY\nAETable END\n"
    config = "UserName = dcmtk\nGroupName = dcmtk\n" + table
    ds = Dataset()
    ds.SOPClassUID = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3.1", "1.2.3", "1.2.3.9"
    ds.PatientName = "ROOT^STARTED"

    async def store() -> int:
        contexts = [(uids.SECONDARY_CAPTURE_IMAGE_STORAGE, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
        async with dicomwire.associate("127.0.0.1", port, called_ae="ARCHIVE", contexts=contexts) as assoc:
            return (await dicomwire.store(assoc, ds)).status

    with archive_process(tmp_path, config, port) as proc:
        assert asyncio.run(asyncio.wait_for(store(), 60)) == 0
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert f"Uid:\t{user.pw_uid}" in status
    owners = {path.name: path.stat().st_uid for path in area.iterdir()}
    assert owners and set(owners.values()) == {user.pw_uid}, owners


def test_debians_example_configuration_runs_and_rejects_everyone(tmp_path: Path) -> None:
    """/etc/dcmtk/dcmqrscp.cfg as Debian ships it: an empty AETable, UserName dcmtk."""
    _dcmtk_user()
    example = Path("/etc/dcmtk/dcmqrscp.cfg")
    if not example.exists():
        pytest.skip("no /etc/dcmtk/dcmqrscp.cfg")
    port = free_port()

    async def echo() -> None:
        with pytest.raises(dicomwire.AssociationRejected) as caught:
            await dicomwire.associate("127.0.0.1", port, called_ae="ANYONE")
        assert caught.value.reason == 7

    with archive_process(tmp_path, example.read_text(), port):
        asyncio.run(asyncio.wait_for(echo(), 60))
