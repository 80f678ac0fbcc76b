"""A worklist SCP answering every C-FIND with one scheduled CT step: ``python worklist_scp.py PORT``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids


class Worklist:
    async def find(
        self, query: Dataset, model: str, info: dicomwire.AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        step = Dataset()
        step.Modality = "CT"
        answer = Dataset()
        answer.ScheduledProcedureStepSequence = [step]
        answer.PatientName = "Doe^Jane"
        yield dicomwire.status.PENDING, answer


async def main(port: int) -> None:
    syntaxes = [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN]
    settings = dicomwire.AcceptorSettings(ae_title="RIS", supported={uids.MODALITY_WORKLIST_FIND: syntaxes})
    server = dicomwire.Server(settings, find=Worklist())
    await server.start("127.0.0.1", port)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
