"""Get SCU: bring a study back by C-GET into a directory.

``python get_scu.py HOST PORT STUDY_INSTANCE_UID DIRECTORY``
"""

from __future__ import annotations

import asyncio
import sys

from pydicom.dataset import Dataset

import dicomwire


async def main(host: str, port: int, study: str, directory: str) -> int:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study
    # the model's context, and a storage context per SOP class on which we take the SCP role
    contexts, roles = dicomwire.get_contexts("study")
    async with dicomwire.associate(host, port, called_ae="ANY-SCP", contexts=contexts, roles=roles) as assoc:
        async for response in dicomwire.get(assoc, query, model="study", store=directory):
            if response.pending:
                print(f"{response.completed} done, {response.remaining} to go")
            else:
                done, failed = response.completed, response.failed
                print(f"status 0x{response.status:04X}: {done} completed, {failed} failed")
                return response.status
    return -1


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])) == 0 else 1)
