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


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_installed_tool_is_ours(name: str) -> None:
    """pynetdicom installs an echoscu, movescu and getscu of its own: the ones in the
    environment's bin directory must be ours (pip installs ours after its dependencies)."""
    script = Path(sys.executable).parent / name
    if not script.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable}")
    module = _console_scripts()[name].split(":")[0]
    assert f"from {module} import" in script.read_text(encoding="utf-8", errors="replace")
