"""dicomwire's user identity options of the acceptors (dcmrecv, dcmqrscp); DCMTK has none.

``--users FILE`` admits only requests whose user identity the users file accepts (see
:mod:`dicomwire.services.identity`); ``--users-optional`` also admits requests that send
no identity, while a wrong one is still rejected.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from dicomwire.dcmtk.cmdline import options
from dicomwire.services.identity import UsersFile
from dicomwire.ul.identity import IdentityPolicy

__all__ = ["add_identity_options", "check_identity_options", "identity_policy"]


def add_identity_options(p: options.DcmtkParser) -> None:
    """``--users f`` and ``--users-optional``, in the current subgroup."""
    p.add_option(
        None,
        "--users",
        "require a user identity from file f (dicomwire)",
        dest="users",
        metavar="[f]ilename",
    )
    p.add_option(
        None,
        "--users-optional",
        "with --users: also admit peers sending\nno user identity (dicomwire)",
        dest="users_optional",
    )


def check_identity_options(ns: argparse.Namespace, given: Sequence[str]) -> None:
    """The options' dependency, in DCMTK's words for such errors."""
    if ns.users_optional and ns.users is None:
        raise options.CommandLineError("--users-optional only allowed with --users")


def identity_policy(ns: argparse.Namespace) -> IdentityPolicy | None:
    """The policy the options ask for (None without ``--users``); reads the users file, so
    it raises :class:`~dicomwire.services.identity.UsersFileError`."""
    if ns.users is None:
        return None
    return IdentityPolicy(UsersFile.load(ns.users), required=not ns.users_optional)
