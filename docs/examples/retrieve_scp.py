"""Retrieve SCP: serve the DICOM files of a directory by C-GET and C-MOVE.

``python retrieve_scp.py DIRECTORY PORT [DEST_AE=HOST:PORT ...]``

Every file whose Study Instance UID matches the request is sent; the server does the
sub-operations, the pending responses with their counts and C-CANCEL.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids


class DirectoryRetrieve:
    """A MoveHandler and a GetHandler: the files of one directory, matched by study."""

    def __init__(self, directory: str, destinations: Mapping[str, tuple[str, int]]) -> None:
        self.directory = Path(directory)
        self.destinations = destinations

    def destination(self, ae_title: str, info: dicomwire.AssociationInfo) -> tuple[str, int] | None:
        return self.destinations.get(ae_title)  # None: answered 0xA801, unknown destination

    async def retrieve(
        self, query: Dataset, model: str, info: dicomwire.AssociationInfo
    ) -> AsyncIterator[dicomwire.RetrieveMatch]:
        wanted = str(query.get("StudyInstanceUID", ""))
        for path in sorted(self.directory.glob("*.dcm")):
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            if not wanted or ds.get("StudyInstanceUID") == wanted:
                yield dicomwire.RetrieveMatch(
                    str(path), ds.SOPClassUID, ds.SOPInstanceUID, ds.file_meta.TransferSyntaxUID
                )


async def start(
    directory: str,
    port: int = 0,
    host: str = "127.0.0.1",
    destinations: Mapping[str, tuple[str, int]] | None = None,
) -> dicomwire.Server:
    syntaxes = [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN]
    storage = dicomwire.all_storage_contexts()
    settings = dicomwire.AcceptorSettings(
        ae_title="RETRIEVE-EXAMPLE",
        supported={uids.STUDY_ROOT_GET: syntaxes, uids.STUDY_ROOT_MOVE: syntaxes, **storage},
        roles=dict.fromkeys(storage, (False, True)),  # for C-GET the requestor is the storage SCP
    )
    handler = DirectoryRetrieve(directory, destinations or {})
    server = dicomwire.Server(settings, move=handler, get=handler)
    await server.start(host, port)
    return server


async def main(directory: str, port: int, destinations: dict[str, tuple[str, int]]) -> None:
    server = await start(directory, port, "0.0.0.0", destinations)
    print(f"serving {directory} by C-GET and C-MOVE on port {server.port}")
    try:
        await server.serve_forever()
    finally:
        await server.close()


if __name__ == "__main__":
    targets = {}
    for entry in sys.argv[3:]:
        ae_title, _, address = entry.partition("=")
        host, _, dest_port = address.rpartition(":")
        targets[ae_title] = (host, int(dest_port))
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), targets))
