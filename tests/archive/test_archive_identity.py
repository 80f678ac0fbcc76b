"""The archive with an identity policy (ArchiveOptions.identity): the same rules as any
Server, and only a peer whose identity passes may stop it (--allow-shutdown)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from archive_helpers import area, config, connect, run, running

import dicomwire
from dicomwire import uids
from dicomwire.archive.options import ArchiveOptions
from dicomwire.archive.policy import PRIVATE_SHUTDOWN
from dicomwire.services.identity import PasswordHash, UsersFile
from dicomwire.ul.identity import IdentityPolicy
from dicomwire.ul.items import UserIdentityRQ

SHUTDOWN = [(PRIVATE_SHUTDOWN, [uids.IMPLICIT_VR_LITTLE_ENDIAN])]
ALICE = UserIdentityRQ(2, b"alice", b"secret", positive_response_requested=True)
INTRUDER = UserIdentityRQ(2, b"alice", b"guess")


def options(tmp_path: Path, *, allow_shutdown: bool = False) -> ArchiveOptions:
    path = tmp_path / "users.txt"
    path.write_text(f"alice:{PasswordHash.make('secret', 1000).encode()}\n")
    policy = IdentityPolicy(UsersFile.load(path))
    return ArchiveOptions(host_lookup=False, identity=policy, allow_shutdown=allow_shutdown)


def test_the_archive_admits_known_users_only(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(config(area(tmp_path)), options(tmp_path)) as archive:
            async with connect(archive, user_identity=ALICE) as assoc:
                assert assoc.accept is not None
                assert assoc.accept.user_information.user_identity_ac is not None
            for identity in (INTRUDER, None):
                with pytest.raises(dicomwire.AssociationRejected) as rejected:
                    await connect(archive, user_identity=identity)
                assert (rejected.value.result, rejected.value.source, rejected.value.reason) == (1, 1, 1)

    run(main())


def test_only_a_known_user_can_stop_the_archive(tmp_path: Path) -> None:
    async def main() -> None:
        async with running(config(area(tmp_path)), options(tmp_path, allow_shutdown=True)) as archive:
            serving = asyncio.ensure_future(archive.serve_forever())
            with pytest.raises(dicomwire.AssociationRejected):
                await connect(archive, contexts=SHUTDOWN, user_identity=INTRUDER)
            assert not archive.shutdown_requested.is_set()
            with pytest.raises(dicomwire.AssociationRejected):
                await connect(archive, contexts=SHUTDOWN, user_identity=ALICE)
            await asyncio.wait_for(serving, 30)  # stopped, as termscu expects

    run(main())
