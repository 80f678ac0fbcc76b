"""Find SCU: patients by name.  ``python find_scu.py HOST PORT 'DOE^*'``"""

from __future__ import annotations

import asyncio
import sys

from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids


async def main(host: str, port: int, name: str, called_ae: str = "ANY-SCP") -> list[Dataset]:
    query = Dataset()
    query.QueryRetrieveLevel = "PATIENT"
    query.PatientName = name
    query.PatientID = ""  # empty: "return this key"
    contexts = [(uids.PATIENT_ROOT_FIND, [uids.EXPLICIT_VR_LITTLE_ENDIAN])]
    matches = []
    async with dicomwire.associate(host, port, called_ae=called_ae, contexts=contexts) as assoc:
        async for response in dicomwire.find(assoc, query, model="patient"):
            if response.pending and response.identifier is not None:
                matches.append(response.identifier)
                print(response.identifier.PatientName, response.identifier.PatientID)
    return matches


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
