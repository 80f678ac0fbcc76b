"""A PostgreSQL server for the tests: Debian's binaries, a temporary cluster, loopback only.

``shared()`` starts one server for the whole test session on first use (initdb into a
temporary directory, trust authentication, ``fsync=off``) and stops it when the session's
interpreter exits, whatever the outcome; ``PostgresServer()`` as a context manager gives a
private one (the outage tests stop and restart theirs).  ``skip_reason()`` says why the
PostgreSQL cases cannot run here (None: they can), for ``pytest.skip``.

PostgreSQL refuses to run as root, and CI runs as root: then every server command runs as
the ``postgres`` system user (``runuser``), in a directory handed over to it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Final

from ports import free_port

LIMIT: Final = 60.0  # seconds for initdb, a start or a stop
SERVER_USER: Final = "postgres"
_VERSIONED: Final = re.compile(r"/usr/lib/postgresql/(\d+)/bin/initdb$")


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout, else PATH)."""
    found = []
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        match = _VERSIONED.search(str(initdb))
        if match is not None:
            found.append((int(match.group(1)), initdb.parent))
    if found:
        return max(found)[1]
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_server_user() -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


def skip_reason() -> str | None:
    """Why the PostgreSQL cases cannot run on this machine, None when they can."""
    if bin_dir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql; `make test` does it)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'dicomwire[postgresql]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


class PostgresServer:
    """One temporary PostgreSQL cluster on 127.0.0.1 (see the module)."""

    def __init__(self) -> None:
        found = bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed")
        self.bin = found
        # root's TMPDIR may be closed to the server's user: /tmp is open to every user
        base = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="dicomwire-pg-", dir=base))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.running = False
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)

    # -- the server's commands, as its user -------------------------------------------------
    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_as_server_user(), str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            check=False,
            cwd=self.root,
        )

    def _checked(self, tool: str, *args: str) -> None:
        done = self._run(tool, *args)
        if done.returncode != 0:
            why = done.stderr.strip()
            raise RuntimeError(f"{tool} failed ({done.returncode}): {why}\n{self.server_log()}")

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._checked(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        """Start (or restart) on ``self.port``, choosing a free port the first time."""
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or free_port()
            settings = (
                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                "-c fsync=off -c full_page_writes=off -c max_connections=200"
            )
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-o",
                settings,
                "start",
            )
            if done.returncode == 0:
                self.port, self.running = port, True
                return
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{self.server_log()}")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``: ``immediate`` is a crash of the server (recovery on start)."""
        if self.running:
            self.running = False
            self._checked("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.remove()

    # -- databases ----------------------------------------------------------------------------
    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "dicomwire") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


_shared: PostgresServer | None = None


def shared() -> PostgresServer:
    """The session's server, started on first use, stopped when the interpreter exits."""
    global _shared
    if _shared is None:
        server = PostgresServer()
        atexit.register(server.remove)
        server.__enter__()
        _shared = server
    return _shared
