"""The README's TLS walk-through, run as written: a CA made with openssl, an archive that takes
TLS only, and a modality that echoes, sends, queries and fetches over it.

The commands are read from the README's ``sh tls`` block; only the port, ``localhost``, the
``images`` directory and ``<uid>`` are replaced.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

import pydicom
import pytest

from ports import free_port, serving

ROOT: Final = Path(__file__).resolve().parents[1]
BIN: Final = Path(sys.executable).parent
LIMIT: Final = 60.0

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command is not installed"
)


def walkthrough() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```sh tls\n(.*?)```", text, re.S)
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()
        if command:
            commands.append(re.sub(r"\s+", " ", command))
    return commands


def test_the_readme_tls_walkthrough(tmp_path: Path) -> None:
    commands = walkthrough()
    images = tmp_path / "images"
    images.mkdir()
    source = pydicom.data.get_testdata_file("CT_small.dcm")
    assert isinstance(source, str)
    shutil.copy(source, images / "ct.dcm")
    study = str(pydicom.dcmread(source).StudyInstanceUID)
    port = free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def filled(command: str) -> str:
        command = re.sub(r"\b11112\b", str(port), command).replace("localhost", "127.0.0.1")
        return re.sub(r"(?<= )images\b", str(images), command.replace("<uid>", study))

    def shell(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=LIMIT
        )

    server_line = next(c for c in commands if c.startswith("dcmqrscp"))
    setup = commands[: commands.index(server_line)]
    clients = commands[commands.index(server_line) + 1 :]
    assert setup and all(c.startswith("openssl") for c in setup)
    assert [c.split()[0] for c in clients] == ["echoscu", "storescu", "findscu", "getscu"]
    for command in setup:
        done = shell(command)
        assert done.returncode == 0, (command, done.stderr)
    archive = filled(server_line).removesuffix("&").split()
    with serving(archive, port, env=env, cwd=tmp_path):
        outputs = {}
        for command in clients:
            done = shell(filled(command))
            assert done.returncode == 0, (command, done.stderr)
            outputs[command.split()[0]] = done.stderr
        assert study in outputs["findscu"]
        assert list(tmp_path.glob("CT.*")), "getscu stored nothing"
        plain = shell(f"echoscu -aec ARCHIVE 127.0.0.1 {port}")
        assert plain.returncode == 1  # plain TCP is refused
