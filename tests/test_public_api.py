"""What ``import dicomwire`` offers: the curated names, cheap to import, layered."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dicomwire

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_the_package_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert dicomwire.__version__ == project["version"]


@pytest.mark.parametrize("name", sorted(set(dicomwire.__all__) - {"__version__"}))
def test_every_public_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(dicomwire, name)
    assert value is not None
    assert name in dir(dicomwire)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), f"dicomwire.{name} has no docstring"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = dicomwire.nothing_here


def test_public_names_are_the_implementations() -> None:
    from dicomwire.services.server import Server
    from dicomwire.services.storage import store

    assert dicomwire.Server is Server and dicomwire.store is store
    assert dicomwire.status.SUCCESS == 0 and dicomwire.uids.VERIFICATION == "1.2.840.10008.1.1"


def test_import_loads_nothing_heavy() -> None:
    """``import dicomwire`` must not pull pydicom, asyncio or the DCMTK layer in."""
    code = (
        "import sys, dicomwire; heavy = {'pydicom', 'asyncio', 'sqlalchemy'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('dicomwire.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# What a plain C-ECHO must not load (issue 10): the data layer, the TLS set-up, the version
# lookup, the server side, the user identity policy and the debug-level dump formatters.
_NOT_FOR_A_PLAIN_ECHO = (
    "pydicom",
    "numpy",
    "cryptography",
    "importlib.metadata",
    "tempfile",
    "getpass",
    "dicomwire.net.tls",
    "dicomwire.net.certificates",
    "dicomwire.net.server",
    "dicomwire.ul.identity",
    "dicomwire.dcmtk.formats",
)


def test_echoscu_loads_only_what_an_echo_needs() -> None:
    """Importing echoscu and taking its command line apart (as ``run_tool`` does before the event
    loop starts) loads none of :data:`_NOT_FOR_A_PLAIN_ECHO`."""
    code = (
        "import sys\n"
        "from dicomwire.cli import echoscu\n"
        "from dicomwire.dcmtk.cmdline import options\n"
        "from dicomwire.dcmtk.log import app_logger\n"
        "parser = echoscu.build_parser()\n"
        "ns = parser.parse_args(['-aec', 'PACS', '127.0.0.1', '104'])\n"
        "assert options.prepare_tls(parser, ns, app_logger('echoscu')) is None\n"
        "echoscu.requestor_settings(ns).build_request()\n"
        f"watched = {_NOT_FOR_A_PLAIN_ECHO!r}\n"
        "inside = tuple(w + '.' for w in watched)\n"
        "print(sorted(m for m in sys.modules if m in watched or m.startswith(inside)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_layer_contracts_hold() -> None:
    """The import layers of pyproject's [tool.importlinter] (also run by make lint)."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def _console_scripts() -> dict[str, str]:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = project["project"]["scripts"]
    return scripts


def test_the_start_up_knows_the_tools() -> None:
    """dicomwire.cli pauses the garbage collector while a tool loads: for these programs only."""
    from dicomwire._startup import TOOLS

    assert sorted(TOOLS) == sorted(_console_scripts())


def test_the_collector_sleeps_only_while_a_tool_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from dicomwire import _startup

    assert gc.isenabled()
    monkeypatch.setattr(sys, "argv", ["/usr/bin/python3", "-m", "pytest"])
    _startup.pause_for_tool()
    assert gc.isenabled()  # not a tool: nothing changes
    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/echoscu", "127.0.0.1", "104"])
    try:
        _startup.pause_for_tool()
        assert not gc.isenabled()
        _startup.settle()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_installed_tool_is_ours(name: str) -> None:
    """pynetdicom installs an echoscu, movescu and getscu of its own: the ones in the
    environment's bin directory must be ours (pip installs ours after its dependencies)."""
    script = Path(sys.executable).parent / name
    if not script.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable}")
    module = _console_scripts()[name].split(":")[0]
    assert f"from {module} import" in script.read_text(encoding="utf-8", errors="replace")
