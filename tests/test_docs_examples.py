"""The runnable examples of docs/library.md, run as a user would use them, over loopback."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, generate_uid

import dicomwire
from dicomwire import uids

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def write_images(directory: Path, count: int) -> list[str]:
    directory.mkdir()
    instances = []
    for number in range(count):
        ds = Dataset()
        ds.SOPClassUID = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
        ds.SOPInstanceUID = generate_uid()
        ds.PatientName = f"EXAMPLE^{number}"
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = UID(uids.EXPLICIT_VR_LITTLE_ENDIAN)
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(directory / f"image{number}.dcm", enforce_file_format=True)
        instances.append(str(ds.SOPInstanceUID))
    (directory / "notes.txt").write_text("not DICOM")
    return instances


def test_store_scu_sends_a_directory_to_the_storage_scp(tmp_path: Path) -> None:
    storage_scp, store_scu, echo_scu = example("storage_scp"), example("store_scu"), example("echo_scu")
    instances = write_images(tmp_path / "images", 3)
    received = tmp_path / "received"
    received.mkdir()

    async def main() -> dict[str, int]:
        server = await storage_scp.start(str(received))
        try:
            assert await echo_scu.main("127.0.0.1", server.port) == 0
            statuses: dict[str, int] = await store_scu.main(
                "127.0.0.1", server.port, str(tmp_path / "images")
            )
            return statuses
        finally:
            await server.close()

    statuses = run(main())
    assert sorted(statuses.values()) == [0, 0, 0]
    stored = {str(pydicom.dcmread(path).SOPInstanceUID) for path in received.iterdir()}
    assert stored == set(instances)


def test_find_scu_queries_the_find_scp() -> None:
    find_scp, find_scu = example("find_scp"), example("find_scu")

    async def main() -> list[Dataset]:
        server = await find_scp.start()
        try:
            matches: list[Dataset] = await find_scu.main("127.0.0.1", server.port, "DOE^*")
            return matches
        finally:
            await server.close()

    matches = run(main())
    assert sorted(str(m.PatientID) for m in matches) == ["P001", "P002"]
    assert all(m.PatientName.family_name == "DOE" for m in matches)


def test_get_scu_brings_a_study_back_from_the_retrieve_scp(tmp_path: Path) -> None:
    retrieve_scp, get_scu = example("retrieve_scp"), example("get_scu")
    instances = write_images(tmp_path / "images", 3)
    for path in (tmp_path / "images").glob("*.dcm"):  # one study
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = "1.2.3.4"
        ds.save_as(path, enforce_file_format=True)
    received = tmp_path / "received"
    received.mkdir()

    async def main() -> int:
        server = await retrieve_scp.start(str(tmp_path / "images"))
        try:
            code: int = await get_scu.main("127.0.0.1", server.port, "1.2.3.4", str(received))
            return code
        finally:
            await server.close()

    assert run(main()) == 0
    assert {str(pydicom.dcmread(path).SOPInstanceUID) for path in received.iterdir()} == set(instances)


def test_retrieve_scp_moves_a_study_to_the_storage_scp(tmp_path: Path) -> None:
    retrieve_scp, storage_scp = example("retrieve_scp"), example("storage_scp")
    instances = write_images(tmp_path / "images", 2)
    received = tmp_path / "received"
    received.mkdir()

    async def main() -> int:
        store = await storage_scp.start(str(received))
        server = await retrieve_scp.start(
            str(tmp_path / "images"), destinations={"STORE": ("127.0.0.1", store.port)}
        )
        try:
            contexts = [(uids.STUDY_ROOT_MOVE, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
            async with dicomwire.associate("127.0.0.1", server.port, contexts=contexts) as assoc:
                query = Dataset()
                query.QueryRetrieveLevel = "STUDY"
                query.StudyInstanceUID = ""
                final = [r async for r in dicomwire.move(assoc, query, model="study", destination="STORE")][
                    -1
                ]
                return final.status
        finally:
            await server.close()
            await store.close()

    assert run(main()) == 0
    assert {str(pydicom.dcmread(path).SOPInstanceUID) for path in received.iterdir()} == set(instances)


def test_echo_example_runs_as_a_script() -> None:
    """From a shell, as the guide shows: a refused connection is an error, not a hang."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "echo_scu.py"), "127.0.0.1", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ConnectError" in result.stderr


@pytest.mark.parametrize(
    "name", ["echo_scu", "store_scu", "storage_scp", "find_scp", "find_scu", "retrieve_scp", "get_scu"]
)
def test_examples_use_only_the_public_api(name: str) -> None:
    source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
    for line in source.splitlines():
        if line.startswith(("import dicomwire", "from dicomwire")):
            assert line in ("import dicomwire", "from dicomwire import uids"), line
