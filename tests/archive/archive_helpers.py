"""A running archive in a temporary directory, and instances to send it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids
from dicomwire.archive.config import Access, ArchiveConfig, Peer, Quota, StorageArea
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.service import Archive

SC = uids.SECONDARY_CAPTURE_IMAGE_STORAGE
LEE = uids.EXPLICIT_VR_LITTLE_ENDIAN
STORE_AND_FIND = [(SC, [LEE]), (uids.STUDY_ROOT_FIND, [LEE]), (uids.PATIENT_ROOT_FIND, [LEE])]


def run(coro: Awaitable[Any], limit: float = 60.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, limit)

    return asyncio.run(bounded())


def instance(
    sop_instance: str,
    study: str = "1.2.9",
    series: str | None = None,
    patient: str = "DOE^JOHN",
    **values: Any,
) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series or f"{study}.1"
    ds.PatientName = patient
    ds.PatientID = values.pop("PatientID", patient.split("^")[0])
    ds.StudyDate = values.pop("StudyDate", "20260101")
    ds.Modality = "OT"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def area(
    root: Path,
    title: str = "ARCHIVE",
    access: Access = Access.READ | Access.WRITE,
    quota: Quota | None = None,
    peers: tuple[Peer, ...] | None = None,
) -> StorageArea:
    path = root / title.lower()
    path.mkdir(exist_ok=True)
    return StorageArea(title, str(path), access, quota, peers)


def config(*areas: StorageArea) -> ArchiveConfig:
    return ArchiveConfig(
        port=None, max_pdu_size=16384, max_associations=16, areas={a.ae_title: a for a in areas}
    )


@asynccontextmanager
async def running(cfg: ArchiveConfig, options: ArchiveOptions | None = None) -> AsyncIterator[Archive]:
    archive = Archive(cfg, options or ArchiveOptions(host_lookup=False))
    await archive.start("127.0.0.1", 0)
    try:
        yield archive
    finally:
        await archive.close()


def connect(
    archive: Archive, called_ae: str = "ARCHIVE", contexts: Sequence[Any] = STORE_AND_FIND, **kw: Any
) -> dicomwire.associate:
    return dicomwire.associate("127.0.0.1", archive.port, called_ae=called_ae, contexts=contexts, **kw)


def study_query(**keys: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


async def find_all(assoc: Any, query: Dataset, model: str = "study") -> tuple[list[Dataset], int]:
    matches, final = [], -1
    async for response in dicomwire.find(assoc, query, model=model):
        if response.pending and response.identifier is not None:
            matches.append(response.identifier)
        else:
            final = response.status
    return matches, final
