"""Storage SCU: send every DICOM file of a directory.  ``python store_scu.py HOST PORT DIRECTORY``"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import dicomwire


async def main(host: str, port: int, directory: str, called_ae: str = "ANY-SCP") -> dict[str, int]:
    # Read only what negotiation needs (meta header, SOP class and instance): the
    # data sets stream from disk later, whatever their size.
    sources = []
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            try:
                sources.append(dicomwire.inspect_file(path))
            except dicomwire.DatasetCodecError as exc:
                print(f"skipping {path}: {exc}")
    # One presentation context per SOP class and transfer syntax found.
    contexts = sorted({(s.sop_class_uid, s.transfer_syntax) for s in sources})
    proposal = [(sop_class, [syntax]) for sop_class, syntax in contexts]
    statuses: dict[str, int] = {}
    async with dicomwire.associate(host, port, called_ae=called_ae, contexts=proposal) as assoc:
        for source in sources:
            response = await dicomwire.store(assoc, source)
            statuses[source.path] = response.status
            print(f"{source.path}: 0x{response.status:04X}")
    return statuses


if __name__ == "__main__":
    results = asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
    sys.exit(0 if all(status == dicomwire.status.SUCCESS for status in results.values()) else 1)
