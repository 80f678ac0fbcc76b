"""Find SCP: answer C-FIND from a list in memory.  ``python find_scp.py PORT``"""

from __future__ import annotations

import asyncio
import fnmatch
import sys
from collections.abc import AsyncIterator

from pydicom.dataset import Dataset

import dicomwire
from dicomwire import uids

PATIENTS = [
    {"PatientName": "DOE^JOHN", "PatientID": "P001", "PatientBirthDate": "19700101"},
    {"PatientName": "DOE^JANE", "PatientID": "P002", "PatientBirthDate": "19750505"},
    {"PatientName": "ROE^RICHARD", "PatientID": "P003", "PatientBirthDate": "19801212"},
]


class PatientList:
    """A FindHandler: yields (status, identifier) for each match."""

    async def find(
        self, query: Dataset, model: str, assoc_info: dicomwire.AssociationInfo
    ) -> AsyncIterator[tuple[int, Dataset | None]]:
        if query.get("QueryRetrieveLevel") != "PATIENT":
            yield dicomwire.status.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, None
            return
        pattern = str(query.get("PatientName", "") or "*")
        for patient in PATIENTS:
            if fnmatch.fnmatchcase(patient["PatientName"], pattern):
                answer = Dataset()
                answer.QueryRetrieveLevel = "PATIENT"
                for keyword in query.dir():  # return the keys that were asked for
                    if keyword != "QueryRetrieveLevel":
                        setattr(answer, keyword, patient.get(keyword, ""))
                yield dicomwire.status.PENDING, answer


async def start(port: int = 0, host: str = "127.0.0.1") -> dicomwire.Server:
    syntaxes = [uids.EXPLICIT_VR_LITTLE_ENDIAN, uids.IMPLICIT_VR_LITTLE_ENDIAN]
    settings = dicomwire.AcceptorSettings(
        ae_title="FIND-EXAMPLE",
        supported={uids.VERIFICATION: syntaxes, uids.PATIENT_ROOT_FIND: syntaxes},
    )
    server = dicomwire.Server(settings, find=PatientList())
    await server.start(host, port)
    return server


async def main(port: int) -> None:
    server = await start(port, host="0.0.0.0")
    print(f"answering C-FIND on port {server.port}")
    try:
        await server.serve_forever()
    finally:
        await server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
