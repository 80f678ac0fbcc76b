"""Verification SCU: is the peer there?  ``python echo_scu.py HOST PORT [CALLED_AE]``"""

from __future__ import annotations

import asyncio
import sys

import dicomwire
from dicomwire import uids


async def main(host: str, port: int, called_ae: str = "ANY-SCP") -> int:
    contexts = [(uids.VERIFICATION, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
    async with dicomwire.associate(
        host, port, calling_ae="ECHO-EXAMPLE", called_ae=called_ae, contexts=contexts
    ) as assoc:
        response = await dicomwire.echo(assoc)
    print(f"C-ECHO answered 0x{response.status:04X}")
    return response.status


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])))
