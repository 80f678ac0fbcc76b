"""The built-in user identity verifier: the users file (strict parsing, limits), password
hashes, the verdicts for each identity type, and ``python -m dicomwire.users``."""

from __future__ import annotations

import getpass
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dicomwire import users as users_tool
from dicomwire.services.identity import (
    DEFAULT_ITERATIONS,
    MAX_FILE_BYTES,
    PasswordHash,
    UsersFile,
    UsersFileError,
    parse_users,
    read_users,
)
from dicomwire.ul.identity import IdentityAccepted, IdentityRefused, IdentityVerdict
from dicomwire.ul.items import UserIdentityRQ

PEER = ("127.0.0.1", 4000)
FAST = 1000  # iterations: the tests need no strength, only the format


def hashed(password: str) -> str:
    return PasswordHash.make(password, FAST).encode()


def users_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.txt"
    path.write_text(text, encoding="utf-8")
    return path


# -- password hashes ---------------------------------------------------------------------------
def test_hash_round_trip_and_fresh_salt() -> None:
    first, second = PasswordHash.make("secret", FAST), PasswordHash.make("secret", FAST)
    assert first.salt != second.salt and first.digest != second.digest
    parsed = PasswordHash.parse(first.encode())
    assert parsed == first
    assert parsed.matches(b"secret") and not parsed.matches(b"Secret") and not parsed.matches(b"")
    assert first.encode().startswith(f"pbkdf2-sha256${FAST}$")


def test_default_strength() -> None:
    assert DEFAULT_ITERATIONS >= 600_000
    with pytest.raises(ValueError, match="iterations"):
        PasswordHash.make("x", 999)


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("md5$1000$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", "unknown password hash"),
        ("pbkdf2-sha256$1000$c2FsdHNhbHQ=", "unknown password hash"),
        ("pbkdf2-sha256$ten$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", "iterations"),
        ("pbkdf2-sha256$99999999999$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==", "iterations"),
        ("pbkdf2-sha256$1000$not*base64$aGFzaGhhc2hoYXNoaGFzaA==", "salt is not base64"),
        ("pbkdf2-sha256$1000$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "salt is 4 bytes"),
        ("pbkdf2-sha256$1000$c2FsdHNhbHQ=$aGFzaA==", "hash is 4 bytes"),
    ],
)
def test_bad_hash_fields(field: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PasswordHash.parse(field)


# -- the file ----------------------------------------------------------------------------------
def test_file_format_names_hashes_comments_blank_lines(tmp_path: Path) -> None:
    alice = hashed("secret")
    path = users_file(
        tmp_path, f"\ufeff# users\n\n   \nmodality1\r\nalice:{alice}\n  # indented comment\nDr Who\n"
    )
    users = read_users(path)
    assert list(users) == ["modality1", "alice", "Dr Who"]
    assert users["modality1"] is None and users["Dr Who"] is None
    assert users["alice"] == PasswordHash.parse(alice)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice\nbob:\n", "line 2: no password hash after ':'"),
        ("alice:md5$x\n", "line 1: unknown password hash"),
        (" alice\n", "line 1: user name starts or ends with white space"),
        ("alice \n", "line 1: user name starts or ends with white space"),
        (":hash\n", "line 1: empty user name"),
        ("ali\tce\n", "line 1: user name contains a control character"),
        ("alice\n# c\nalice\n", "line 3: user 'alice' again (first on line 1)"),
        ("alice\n" + "b" * 1025 + "\n", "line 2: longer than 1024 bytes"),
        ("ok\n\xff\n", "line 2: not UTF-8 text"),
        ("x" * 257 + "\n", "line 1: user name longer than 256 characters"),
    ],
)
def test_malformed_lines_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.txt"
    path.write_bytes(
        text.encode("utf-8", "surrogateescape") if "\xff" not in text else text.encode("latin-1")
    )
    with pytest.raises(UsersFileError) as caught:
        read_users(path)
    assert str(caught.value).startswith(f"{path}, {message}")


def test_oversized_and_missing_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(UsersFileError, match=f"^{big}: larger than {MAX_FILE_BYTES} bytes$"):
        read_users(big)
    with pytest.raises(UsersFileError, match="No such file or directory"):
        read_users(tmp_path / "absent.txt")
    with pytest.raises(UsersFileError, match="Is a directory"):
        read_users(tmp_path)


def test_parse_users_of_bytes() -> None:
    assert parse_users(b"") == {}
    with pytest.raises(UsersFileError, match=r"^users file, line 1: "):
        parse_users(b"a:b\n")


# -- verdicts ------------------------------------------------------------------------------------
@pytest.fixture
def verifier(tmp_path: Path) -> UsersFile:
    return UsersFile.load(users_file(tmp_path, f"modality\nalice:{hashed('secret')}\n"))


@pytest.mark.parametrize(
    ("identity", "verdict"),
    [
        (UserIdentityRQ(1, b"modality"), IdentityAccepted()),
        (UserIdentityRQ(2, b"modality", b"anything"), IdentityAccepted()),
        (UserIdentityRQ(2, b"alice", b"secret"), IdentityAccepted()),
        (UserIdentityRQ(2, b"alice", b"wrong"), IdentityRefused("wrong password for user 'alice'")),
        (UserIdentityRQ(2, b"alice", b""), IdentityRefused("wrong password for user 'alice'")),
        (UserIdentityRQ(1, b"alice"), IdentityRefused("user 'alice' needs a password")),
        (UserIdentityRQ(1, b"bob"), IdentityRefused("unknown user 'bob'")),
        (UserIdentityRQ(2, b"bob", b"secret"), IdentityRefused("unknown user 'bob'")),
        (UserIdentityRQ(2, b"Alice", b"secret"), IdentityRefused("unknown user 'Alice'")),
        (
            UserIdentityRQ(3, b"TICKET"),
            IdentityRefused("Kerberos service ticket not accepted (no token verifier)"),
        ),
        (UserIdentityRQ(4, b"<saml/>"), IdentityRefused("SAML assertion not accepted (no token verifier)")),
        (UserIdentityRQ(5, b"eyJ.x.y"), IdentityRefused("JSON Web Token not accepted (no token verifier)")),
        (UserIdentityRQ(9, b"?"), IdentityRefused("user identity type 9 not accepted (no token verifier)")),
    ],
)
def test_verdicts(verifier: UsersFile, identity: UserIdentityRQ, verdict: IdentityVerdict) -> None:
    assert verifier(identity, PEER) == verdict


def test_refusals_never_show_the_password(verifier: UsersFile) -> None:
    verdict = verifier(UserIdentityRQ(2, b"alice", b"hunter2-guess"), PEER)
    assert isinstance(verdict, IdentityRefused) and "hunter2" not in verdict.reason


def test_tokens_go_to_the_token_verifier(tmp_path: Path) -> None:
    seen: list[tuple[UserIdentityRQ, tuple[str, int]]] = []

    def tokens(identity: UserIdentityRQ, peer: tuple[str, int]) -> IdentityVerdict:
        seen.append((identity, peer))
        if identity.primary_field == b"eyJ.good":
            return IdentityAccepted(b"eyJ.response")
        return IdentityRefused("bad signature")

    verifier = UsersFile.load(users_file(tmp_path, "alice\n"), tokens=tokens)
    good, bad = UserIdentityRQ(5, b"eyJ.good"), UserIdentityRQ(3, b"forged")
    assert verifier(good, PEER) == IdentityAccepted(b"eyJ.response")
    assert verifier(bad, PEER) == IdentityRefused("bad signature")
    assert verifier(UserIdentityRQ(1, b"alice"), PEER) == IdentityAccepted()  # names stay the file's
    assert seen == [(good, PEER), (bad, PEER)]
    assert len(verifier) == 1 and verifier.source.endswith("users.txt")


def test_utf8_names_compare_byte_for_byte(tmp_path: Path) -> None:
    verifier = UsersFile.load(users_file(tmp_path, "Jörg\n"))
    assert verifier(UserIdentityRQ(1, "Jörg".encode()), PEER) == IdentityAccepted()
    refused = verifier(UserIdentityRQ(1, "Jörg".encode("latin-1")), PEER)
    assert isinstance(refused, IdentityRefused) and refused.reason.startswith("unknown user")


# -- python -m dicomwire.users ---------------------------------------------------------------
def users_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = users_tool.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_check_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.txt"
    file = str(path)
    assert users_cli(monkeypatch, capsys, "s3cret\n", "add", "--iterations", "1000", file, "alice")[0] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert users_cli(monkeypatch, capsys, "", "add", "--no-password", file, "modality") == (
        0,
        f"added user 'modality' in {file}\n",
        "",
    )
    assert users_cli(monkeypatch, capsys, "", "check", file) == (0, f"{file}: 2 users\n", "")
    assert users_cli(monkeypatch, capsys, "s3cret\n", "check", file, "alice")[:2] == (
        0,
        "the password of user 'alice' matches\n",
    )
    code, _, err = users_cli(monkeypatch, capsys, "nope\n", "check", file, "alice")
    assert code == 1 and "wrong password for user 'alice'" in err
    assert users_cli(monkeypatch, capsys, "", "check", file, "modality")[:2] == (
        0,
        "user 'modality' needs no password\n",
    )
    code, _, err = users_cli(monkeypatch, capsys, "other\n", "add", file, "alice")
    assert code == 1 and "already in" in err and "--replace" in err
    assert (
        users_cli(monkeypatch, capsys, "other\n", "add", "--replace", "--iterations", "1000", file, "alice")[
            0
        ]
        == 0
    )
    verifier = UsersFile.load(path)
    assert verifier(UserIdentityRQ(2, b"alice", b"other"), PEER) == IdentityAccepted()
    assert users_cli(monkeypatch, capsys, "", "remove", file, "modality")[0] == 0
    assert list(read_users(path)) == ["alice"]
    assert path.read_text().startswith("# dicomwire users")  # the header comment is kept
    code, _, err = users_cli(monkeypatch, capsys, "", "remove", file, "modality")
    assert code == 1 and "no user 'modality'" in err


def test_add_keeps_comments_and_permissions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = users_file(tmp_path, "# ours\r\nbob\r\n# end")
    path.chmod(0o640)
    assert users_cli(monkeypatch, capsys, "", "add", "--no-password", str(path), "carol")[0] == 0
    assert path.read_bytes() == b"# ours\r\nbob\r\n# end\ncarol\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert users_cli(monkeypatch, capsys, "", "add", "--replace", "--no-password", str(path), "bob")[0] == 0
    assert path.read_bytes() == b"# ours\r\nbob\r\n# end\ncarol\n"
    assert [p.name for p in tmp_path.iterdir()] == ["users.txt"]  # no temporary file left


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("\n", ["add"], "empty password (use --no-password"),
        ("", ["add", "--no-password"], None),
        ("pw\n", ["add", "--iterations", "10"], "iterations must be from 1000"),
    ],
)
def test_add_refuses_bad_input(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    args: list[str],
    message: str | None,
) -> None:
    code, _, err = users_cli(monkeypatch, capsys, stdin, *args, str(tmp_path / "u.txt"), "alice")
    assert (code, message is None or message in err) == (1 if message else 0, True)


@pytest.mark.parametrize("name", ["a:b", " a", "#a", "a\tb", ""])
def test_add_refuses_bad_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, _, err = users_cli(monkeypatch, capsys, "", "add", "--no-password", str(tmp_path / "u.txt"), name)
    assert code == 1 and "user name" in err
    assert not (tmp_path / "u.txt").exists()


def test_an_unwritable_place_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(tmp_path / "missing" / "u.txt")
    code, _, err = users_cli(monkeypatch, capsys, "", "add", "--no-password", file, "alice")
    assert code == 1 and "No such file or directory" in err


def test_a_malformed_file_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = users_file(tmp_path, "ok\nbad:\n")
    code, _, err = users_cli(monkeypatch, capsys, "", "add", "--no-password", str(path), "new")
    assert code == 1 and f"{path}, line 2: no password hash" in err
    assert path.read_text() == "ok\nbad:\n"


def test_terminal_prompts_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["first", "second", "same", "same"])
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    file = str(tmp_path / "u.txt")
    assert users_tool.main(["add", "--iterations", "1000", file, "alice"]) == 1
    assert "the passwords differ" in capsys.readouterr().err
    assert users_tool.main(["add", "--iterations", "1000", file, "alice"]) == 0
    assert UsersFile.load(file)(UserIdentityRQ(2, b"alice", b"same"), PEER) == IdentityAccepted()


def test_runs_as_a_module(tmp_path: Path) -> None:
    file = tmp_path / "u.txt"
    done = subprocess.run(
        [sys.executable, "-m", "dicomwire.users", "add", "--iterations", "1000", str(file), "alice"],
        input="pw\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"added user 'alice' in {file}\n"
    usage = subprocess.run(
        [sys.executable, "-m", "dicomwire.users"], capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 2 and "usage:" in usage.stderr
