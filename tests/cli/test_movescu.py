"""movescu's command line and failures that need no peer (the rest: tests/interop)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dicomwire.cli.movescu import build_parser, requestor_settings
from dicomwire.cli.movescu.parser import incoming_syntaxes
from ports import free_port

TOOL = [sys.executable, "-m", "dicomwire.cli.movescu"]


def movescu(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TOOL, *map(str, args)], capture_output=True, text=True, timeout=30, cwd=cwd)


def test_help_and_version() -> None:
    done = movescu("--help")
    assert done.returncode == 0
    for option in ("-aem", "+P", "--no-port", "-pi", "-pr", "--cancel", "+xa", "+cl", "-od"):
        assert option in done.stdout
    assert movescu("--version").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-k", "Foo=1"], "error: bad key format or dictionary name not found in dictionary: Foo"),
        ([], "error: either query file or override keys (or both) must be specified"),
        (["-od", "x", "-k", "0008,0052=STUDY"], "error: --output-directory only allowed with --port"),
        (["-k", "0008,0052", "--", "/nonexistent.dcm"], "error: cannot access file: /nonexistent.dcm"),
        (["+B", "-g", "-k", "0008,0052"], "error: --group-length-remove not allowed with --bit-preserving"),
    ],
)
def test_command_line_errors(args: list[str], message: str) -> None:
    options, files = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    done = movescu(*options, "127.0.0.1", 104, *files)
    assert done.returncode == 1
    assert message in done.stderr


def test_connection_refused_exits_61() -> None:
    done = movescu("-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", free_port())
    assert done.returncode == 61
    assert done.stderr.startswith("F: Association Request Failed:\nF: 0006:031c TCP Initialization Error:")


def test_access_control_is_refused() -> None:
    done = movescu("+ac", "-k", "QueryRetrieveLevel=STUDY", "127.0.0.1", free_port())
    assert done.returncode == 1
    assert "not supported" in done.stderr


def test_missing_output_directory_exits_45(tmp_path: Path) -> None:
    done = movescu("+P", free_port(), "-od", tmp_path / "no", "-k", "0008,0052", "127.0.0.1", free_port())
    assert (done.returncode, done.stderr) == (45, "F: specified output directory does not exist\n")


def test_contexts_find_then_move_of_the_model() -> None:
    ns = build_parser().parse_args(["-S", "-xi", "-k", "0008,0052=STUDY", "host", "104"])
    contexts = requestor_settings(ns).build_request().presentation_contexts
    assert [c.abstract_syntax for c in contexts] == [
        "1.2.840.10008.5.1.4.1.2.2.1",
        "1.2.840.10008.5.1.4.1.2.2.2",
    ]
    assert [c.context_id for c in contexts] == [1, 3]
    assert [tuple(c.transfer_syntaxes) for c in contexts] == [("1.2.840.10008.1.2",)] * 2


def test_accept_all_takes_every_syntax() -> None:
    ns = build_parser().parse_args(["+xa", "-k", "0008,0052", "host", "104"])
    assert len(incoming_syntaxes(ns)) == 21
