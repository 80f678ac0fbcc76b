"""Keeping a users file for the built-in user identity verifier (dcmrecv/dcmqrscp ``--users``).

::

    python -m dicomwire.users add FILE NAME                # asks for the password twice
    python -m dicomwire.users add --no-password FILE NAME  # the user name alone is enough
    python -m dicomwire.users remove FILE NAME
    python -m dicomwire.users check FILE [NAME]            # the file; NAME's password

The password is read from the terminal without echo, or as one line from standard input
when that is not a terminal.  The file is rewritten through a temporary file renamed into
place, keeping its comments and its permissions (a new file is readable by its owner only).
The format is described in :mod:`dicomwire.services.identity`.  Exit status: 0 done (or the
password matches), 1 refused or failed, 2 a command-line error.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from dicomwire.services.identity import (
    DEFAULT_ITERATIONS,
    MAX_FILE_BYTES,
    PasswordHash,
    UsersFileError,
    check_name,
    parse_users,
)

__all__ = ["main"]

PROG: Final = "python -m dicomwire.users"
_HEADER: Final = (
    "# dicomwire users: one NAME (the name is enough) or NAME:pbkdf2-sha256$ITERATIONS$SALT$HASH\n"
    "# a line; written by python -m dicomwire.users add FILE NAME\n"
)


class _Failed(Exception):
    """The command cannot be done; the message says why."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Keep a users file (dcmrecv/dcmqrscp --users).")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user, or with --replace change one")
    add.add_argument("--no-password", action="store_true", help="the user name alone is enough")
    add.add_argument("--replace", action="store_true", help="replace the user's line if there is one")
    add.add_argument(
        "--iterations", type=int, default=DEFAULT_ITERATIONS, help=f"PBKDF2 iterations ({DEFAULT_ITERATIONS})"
    )
    remove = commands.add_parser("remove", help="remove a user")
    check = commands.add_parser("check", help="check the file, or a user's password")
    for sub in (add, remove, check):
        sub.add_argument("file", type=Path)
    for sub in (add, remove):
        sub.add_argument("name")
    check.add_argument("name", nargs="?")
    return parser


# -- reading -----------------------------------------------------------------------------------
def _read(path: Path, *, missing_ok: bool) -> tuple[str, dict[str, PasswordHash | None]]:
    """The file's text and users, checked strictly (none for a missing file when ``missing_ok``)."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if missing_ok:
            return "", {}
        raise _Failed(f"{path}: no such file") from None
    except OSError as exc:
        raise _Failed(f"{path}: {exc.strerror or exc}") from None
    try:
        users = parse_users(data, str(path))
    except UsersFileError as exc:
        raise _Failed(str(exc)) from None
    return data.decode("utf-8"), users


def _line_of(lines: Sequence[str], name: str) -> int | None:
    """The index of ``name``'s line."""
    for index, line in enumerate(lines):
        text = line.removesuffix("\r").removeprefix("\ufeff") if index == 0 else line.removesuffix("\r")
        if text.strip() and not text.lstrip().startswith("#") and text.partition(":")[0] == name:
            return index
    return None


def _password(*, confirm: bool) -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != password:
            raise _Failed("the passwords differ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise _Failed("empty password (use --no-password for a user without one)")
    return password


# -- writing -----------------------------------------------------------------------------------
def _write(path: Path, text: str) -> None:
    """Replace the file with ``text`` at once, keeping its permissions (0600 when new)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o600
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _add(ns: argparse.Namespace) -> str:
    try:
        check_name(ns.name)
    except ValueError as exc:
        raise _Failed(f"{ns.name!r}: {exc}") from None
    text = _read(ns.file, missing_ok=True)[0] or _HEADER
    lines = text.split("\n")
    at = _line_of(lines, ns.name)
    if at is not None and not ns.replace:
        raise _Failed(f"user {ns.name!r} is already in {ns.file} (use --replace to change it)")
    entry = ns.name
    if not ns.no_password:
        try:
            entry += ":" + PasswordHash.make(_password(confirm=True), ns.iterations).encode()
        except ValueError as exc:
            raise _Failed(str(exc)) from None
    if at is None:
        if lines[-1] == "":
            lines.pop()
        lines += [entry, ""]
    else:
        lines[at] = entry + ("\r" if lines[at].endswith("\r") else "")
    _write(ns.file, "\n".join(lines))
    return f"{'changed' if at is not None else 'added'} user {ns.name!r} in {ns.file}"


def _remove(ns: argparse.Namespace) -> str:
    lines = _read(ns.file, missing_ok=False)[0].split("\n")
    at = _line_of(lines, ns.name)
    if at is None:
        raise _Failed(f"no user {ns.name!r} in {ns.file}")
    del lines[at]
    _write(ns.file, "\n".join(lines))
    return f"removed user {ns.name!r} from {ns.file}"


def _check(ns: argparse.Namespace) -> str:
    users = _read(ns.file, missing_ok=False)[1]
    if ns.name is None:
        return f"{ns.file}: {len(users)} user{'' if len(users) == 1 else 's'}"
    if ns.name not in users:
        raise _Failed(f"no user {ns.name!r} in {ns.file}")
    password = users[ns.name]
    if password is None:
        return f"user {ns.name!r} needs no password"
    if not password.matches(_password(confirm=False).encode("utf-8")):
        raise _Failed(f"wrong password for user {ns.name!r}")
    return f"the password of user {ns.name!r} matches"


_COMMANDS: Final = {"add": _add, "remove": _remove, "check": _check}


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        message = _COMMANDS[ns.command](ns)
    except _Failed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, EOFError):
        print(f"{PROG}: interrupted, nothing changed", file=sys.stderr)
        return 1
    except OSError as exc:  # writing: a missing directory, no permission, a full disk
        print(f"{PROG}: {exc.filename or ns.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
