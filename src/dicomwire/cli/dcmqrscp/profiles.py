"""dcmqrscp's ``-xf FILE IN OUT``: the association profile file, checked as DCMTK 3.6.7's dcmqrscp does.

DCMTK reads the file while it evaluates the command line, before the configuration file,
and a problem ends it with exit code 1 and one ``F:`` line, checked in this order:

* ``cannot read association config file: unable to open configuration file: FILE`` for a
  file that cannot be read (also a directory, which DCMTK reads as an empty file);
* ``cannot read association config file: REASON`` for a file it cannot use.  The reason is
  ours (:mod:`dicomwire.dcmtk.profiles`: file, line, key); DCMTK words its own, e.g.
  ``not a valid transfer syntax UID: X``, ``cannot find section [[PROFILES]] in config file``;
* ``unknown configuration profile name: NAME``, the incoming profile first, then the outgoing;
* ``profile 'NAME' is not valid for incoming use, duplicate abstract syntaxes found``.

Names are shown as typed.  The incoming profile gives the archive its contexts (see
:mod:`dicomwire.archive.policy`); the outgoing one is for the C-MOVE sub-associations,
which the archive does not make yet, so it is only checked.
"""

from __future__ import annotations

import argparse
from typing import Final

from dicomwire.dcmtk.profiles import Profile, ProfileError, load_profile, load_profiles

__all__ = [
    "EXIT_PROFILE_ERROR",
    "AssociationProfileError",
    "negotiates_beyond_contexts",
    "read_association_profiles",
]

#: DCMTK's exit code for every -xf problem.
EXIT_PROFILE_ERROR: Final = 1


class AssociationProfileError(Exception):
    """-xf cannot be used; the message is DCMTK's fatal line (without its ``F: ``)."""


def read_association_profiles(path: str, incoming: str, outgoing: str) -> Profile:
    """The incoming profile, once the file and both names have passed DCMTK's checks."""
    _check_file(path)
    profile = _named(path, incoming)
    _named(path, outgoing)
    try:
        profile.validate_for_acceptor()
    except ProfileError:
        raise AssociationProfileError(
            f"profile '{incoming}' is not valid for incoming use, duplicate abstract syntaxes found"
        ) from None
    return profile


def _check_file(path: str) -> None:
    try:
        load_profiles(path)
    except ProfileError as exc:
        unreadable = isinstance(exc.__cause__, OSError)
        reason = f"unable to open configuration file: {path}" if unreadable else str(exc)
        raise AssociationProfileError(f"cannot read association config file: {reason}") from None


def _named(path: str, name: str) -> Profile:
    try:
        return load_profile(path, name)
    except ProfileError:  # the file itself has passed: only the name can be wrong
        raise AssociationProfileError(f"unknown configuration profile name: {name}") from None


def negotiates_beyond_contexts(ns: argparse.Namespace) -> bool:
    """Does the incoming profile ask for role selection or extended negotiation (not honoured yet)?"""
    profile: Profile | None = ns.incoming_profile
    return profile is not None and bool(profile.roles or profile.extended_negotiation)
