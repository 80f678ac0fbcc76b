"""The built-in user identity verifier: a file of users, passwords stored as salted hashes.

The file is UTF-8 text, one entry a line::

    # comments start with '#'; blank lines are ignored
    modality1
    alice:pbkdf2-sha256$600000$<salt, base64>$<hash, base64>

A line with a name alone means the name is enough: the user is accepted with a user name
(type 1) or with a user name and any passcode (type 2).  A line ``NAME:HASH`` needs the
password: only a type 2 request whose passcode hashes to ``HASH`` is accepted.  The hash is
PBKDF2-HMAC-SHA256 of the UTF-8 password with the line's own random salt and iteration count
(``python -m dicomwire.users add FILE NAME`` writes such lines).  A name is compared byte for
byte with the request's user name (UTF-8); it may not contain ``:`` or control characters, nor
start or end with a space.

Kerberos tickets, SAML assertions and JSON Web Tokens are opaque to this verifier: they are
accepted only by the ``tokens`` verifier given to :class:`UsersFile` (it returns the server
response), and refused without one.

The file is read once, strictly: a malformed line, a duplicate name, a line longer than
1024 bytes or a file larger than 1 MiB is a :class:`UsersFileError` naming the file and
the line.  Verifying a password costs one PBKDF2 (about 0.1 to 0.2 s of CPU with the default
600,000 iterations), on the server's event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dicomwire.errors import DicomWireError
from dicomwire.ul.identity import (
    IdentityAccepted,
    IdentityRefused,
    IdentityVerdict,
    IdentityVerifier,
    identity_kind,
    shown,
)
from dicomwire.ul.items import UserIdentityRQ, UserIdentityType

__all__ = [
    "DEFAULT_ITERATIONS",
    "PasswordHash",
    "UsersFile",
    "UsersFileError",
    "check_name",
    "parse_users",
    "read_users",
]

SCHEME: Final = "pbkdf2-sha256"
#: OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
DEFAULT_ITERATIONS: Final = 600_000
MIN_ITERATIONS: Final = 1_000
MAX_ITERATIONS: Final = 10_000_000
MAX_FILE_BYTES: Final = 1 << 20
MAX_LINE_BYTES: Final = 1024
MAX_NAME_LENGTH: Final = 256
_SALT_BYTES: Final = 16
_SALT_RANGE: Final = range(8, 65)
_HASH_RANGE: Final = range(16, 65)
_FORMAT: Final = f"expected NAME or NAME:{SCHEME}$ITERATIONS$SALT$HASH"


class UsersFileError(DicomWireError):
    """A users file cannot be read or is malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A salted PBKDF2-HMAC-SHA256 of a password, as one users-file field."""

    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def make(cls, password: str, iterations: int = DEFAULT_ITERATIONS) -> PasswordHash:
        """The hash of ``password`` with a fresh random salt."""
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be from {MIN_ITERATIONS} to {MAX_ITERATIONS}")
        salt = os.urandom(_SALT_BYTES)
        return cls(iterations, salt, _derive(password.encode("utf-8"), salt, iterations, 32))

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """The field ``pbkdf2-sha256$ITERATIONS$SALT$HASH``; ValueError says what is wrong."""
        parts = text.split("$")
        if len(parts) != 4 or parts[0] != SCHEME:
            raise ValueError(f"unknown password hash (expected {SCHEME}$ITERATIONS$SALT$HASH)")
        _, count, salt, digest = parts
        if not count.isascii() or not count.isdigit() or not MIN_ITERATIONS <= int(count) <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be a number from {MIN_ITERATIONS} to {MAX_ITERATIONS}")
        return cls(int(count), _base64(salt, "salt", _SALT_RANGE), _base64(digest, "hash", _HASH_RANGE))

    def encode(self) -> str:
        salt, digest = (base64.b64encode(v).decode("ascii") for v in (self.salt, self.digest))
        return f"{SCHEME}${self.iterations}${salt}${digest}"

    def matches(self, password: bytes) -> bool:
        """Whether ``password`` (bytes, as the request carries it) has this hash."""
        candidate = _derive(password, self.salt, self.iterations, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def _derive(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password, salt, iterations, length)


def _base64(text: str, what: str, sizes: range) -> bytes:
    try:
        value = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError(f"the {what} is not base64") from None
    if len(value) not in sizes:
        raise ValueError(f"the {what} is {len(value)} bytes, not {sizes.start} to {sizes.stop - 1}")
    return value


# -- the file ----------------------------------------------------------------------------------
def check_name(name: str) -> None:
    """A user name fit for a users file; ValueError says why not."""
    if not name:
        raise ValueError("empty user name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"user name longer than {MAX_NAME_LENGTH} characters")
    if ":" in name:
        raise ValueError("user name contains ':'")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
        raise ValueError("user name contains a control character")
    if name != name.strip():
        raise ValueError("user name starts or ends with white space")
    if name.startswith("#"):
        raise ValueError("user name starts with '#'")


def _entry(line: str) -> tuple[str, PasswordHash | None]:
    name, colon, field = line.partition(":")
    check_name(name)
    if not colon:
        return name, None
    if not field:
        raise ValueError(f"no password hash after ':' ({_FORMAT})")
    return name, PasswordHash.parse(field)


def _content_lines(data: bytes, where: str) -> list[tuple[int, str]]:
    """(line number, text) of the lines that are neither blank nor comments."""
    found = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if len(raw) > MAX_LINE_BYTES:
            raise UsersFileError(f"{where}, line {number}: longer than {MAX_LINE_BYTES} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsersFileError(f"{where}, line {number}: not UTF-8 text") from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        if text.strip() and not text.lstrip().startswith("#"):
            found.append((number, text))
    return found


def parse_users(data: bytes, where: str = "users file") -> dict[str, PasswordHash | None]:
    """The users of a file's content: name -> password hash, or None for a name alone."""
    if len(data) > MAX_FILE_BYTES:
        raise UsersFileError(f"{where}: larger than {MAX_FILE_BYTES} bytes")
    users: dict[str, PasswordHash | None] = {}
    lines: dict[str, int] = {}
    for number, text in _content_lines(data, where):
        try:
            name, password = _entry(text)
        except ValueError as exc:
            raise UsersFileError(f"{where}, line {number}: {exc}") from None
        if name in users:
            raise UsersFileError(f"{where}, line {number}: user {name!r} again (first on line {lines[name]})")
        users[name], lines[name] = password, number
    return users


def read_users(path: str | os.PathLike[str]) -> dict[str, PasswordHash | None]:
    """:func:`parse_users` of the file at ``path`` (read at most 1 MiB + 1 byte)."""
    where = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsersFileError(f"{where}: {exc.strerror or exc}") from None
    return parse_users(data, where)


# -- the verifier ------------------------------------------------------------------------------
class UsersFile:
    """An :data:`~dicomwire.ul.identity.IdentityVerifier` over a users file (see the module).

    ``tokens`` decides on Kerberos, SAML and JWT identities (and on any other type); without
    it they are refused.  Refusals say why for the log, naming the user but never the
    password.
    """

    def __init__(
        self,
        users: Mapping[str, PasswordHash | None],
        *,
        tokens: IdentityVerifier | None = None,
        source: str = "",
    ) -> None:
        self._users = {name.encode("utf-8"): password for name, password in users.items()}
        self.tokens = tokens
        self.source = source
        # A stand-in for unknown users, so that they cost as much time as known ones.
        cost = next((p.iterations for p in users.values() if p is not None), DEFAULT_ITERATIONS)
        self._decoy = PasswordHash(cost, b"\0" * _SALT_BYTES, b"\0" * 32)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, tokens: IdentityVerifier | None = None) -> UsersFile:
        """The verifier of the users file at ``path``; raises :class:`UsersFileError`."""
        return cls(read_users(path), tokens=tokens, source=os.fspath(path))

    def __len__(self) -> int:
        return len(self._users)

    def __call__(self, identity: UserIdentityRQ, peer: tuple[str, int]) -> IdentityVerdict:
        kind = identity.identity_type
        if kind == UserIdentityType.USERNAME:
            return self._name_only(identity.primary_field)
        if kind == UserIdentityType.USERNAME_AND_PASSCODE:
            return self._with_passcode(identity.primary_field, identity.secondary_field)
        if self.tokens is not None:
            return self.tokens(identity, peer)
        return IdentityRefused(f"{identity_kind(kind)} not accepted (no token verifier)")

    def _name_only(self, name: bytes) -> IdentityVerdict:
        if name not in self._users:
            return IdentityRefused(f"unknown user {shown(name)}")
        if self._users[name] is not None:
            return IdentityRefused(f"user {shown(name)} needs a password")
        return IdentityAccepted()

    def _with_passcode(self, name: bytes, passcode: bytes) -> IdentityVerdict:
        if name not in self._users:
            self._decoy.matches(passcode)
            return IdentityRefused(f"unknown user {shown(name)}")
        password = self._users[name]
        if password is not None and not password.matches(passcode):
            return IdentityRefused(f"wrong password for user {shown(name)}")
        return IdentityAccepted()
