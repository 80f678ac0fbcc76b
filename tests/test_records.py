"""``@record`` makes what ``@dataclass`` makes: every record of the package against its twin."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import re
import subprocess
import sys
import types
from dataclasses import FrozenInstanceError, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dicomwire import _record_inits
from dicomwire._records import init_parts, record

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
GENERATOR = ROOT / "tools" / "gen_record_inits.py"
RECORD_MODULES = sorted(
    ".".join(path.relative_to(SRC).with_suffix("").parts)
    for path in (SRC / "dicomwire").rglob("*.py")
    if "\n@record" in path.read_text(encoding="utf-8") and path.name != "_records.py"
)


def _twin_module(name: str) -> types.ModuleType:
    """The module ``name`` executed again with ``@dataclass`` wherever it says ``@record``."""
    source = Path(importlib.import_module(name).__file__ or "").read_text(encoding="utf-8")
    assert "from dicomwire._records import record" in source
    source = source.replace(
        "from dicomwire._records import record", "from dataclasses import dataclass as record"
    )
    twin = types.ModuleType(f"{name}__twin")
    twin.__file__ = f"{name}__twin.py"
    sys.modules[twin.__name__] = twin  # dataclasses looks the module up
    try:
        exec(compile(source, twin.__file__, "exec"), twin.__dict__)
    finally:
        del sys.modules[twin.__name__]
    return twin


def _records(module: types.ModuleType) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__ and dataclasses.is_dataclass(value)
    ]


def _field_facts(cls: type) -> list[tuple[Any, ...]]:
    def same(value: Any) -> Any:  # the twin's classes and functions are other objects
        return value.__qualname__ if hasattr(value, "__qualname__") else repr(value)

    facts = []
    for f in dataclasses.fields(cls):
        options = (f.init, f.repr, f.hash, f.compare, f.kw_only)
        facts.append((f.name, f.type, same(f.default), same(f.default_factory), options))
    return facts


def _text(value: object) -> str:
    """``str(value)`` without object addresses (the twin's defaults are other objects)."""
    return re.sub(r" at 0x[0-9a-f]+", "", str(value))


def _params(cls: type) -> Any:
    return getattr(cls, "__dataclass_params__")  # noqa: B009 - mypy does not know it


_PARAMS = ("init", "repr", "eq", "order", "unsafe_hash", "frozen")


def test_the_package_has_records() -> None:
    assert "dicomwire.ul.pdu" in RECORD_MODULES and "dicomwire.dimse.messages" in RECORD_MODULES


def test_the_precompiled_inits_are_current() -> None:
    """``src/dicomwire/_record_inits.py`` knows every record's ``__init__`` (else it is compiled
    at run time: correct, but slower); ``python tools/gen_record_inits.py`` writes it."""
    check = subprocess.run([sys.executable, str(GENERATOR), "--check"], check=False)
    assert check.returncode == 0, (
        "src/dicomwire/_record_inits.py is out of date: run tools/gen_record_inits.py"
    )
    for name in RECORD_MODULES:
        for cls in _records(importlib.import_module(name)):
            source = init_parts(cls, getattr(cls, "__record_frozen__"))[0]  # noqa: B009
            assert source in _record_inits.CODE, f"{cls.__qualname__} of {name}"


@pytest.mark.parametrize("name", RECORD_MODULES)
def test_every_record_is_its_dataclass_twin(name: str) -> None:
    module = importlib.import_module(name)
    twin = _twin_module(name)
    ours = _records(module)
    assert ours, f"{name} has no records"
    for cls in ours:
        other = getattr(twin, cls.__name__)
        label = f"{name}.{cls.__qualname__}"
        assert "__record_frozen__" not in other.__dict__
        assert _text(inspect.signature(cls)) == _text(inspect.signature(other)), label
        assert _text(cls.__doc__) == _text(other.__doc__), label
        assert _field_facts(cls) == _field_facts(other), label
        assert getattr(cls, "__match_args__", None) == getattr(other, "__match_args__", None), label
        assert getattr(cls, "__slots__", None) == getattr(other, "__slots__", None), label
        assert (cls.__hash__ is None) == (other.__hash__ is None), label
        for param in _PARAMS:
            assert getattr(_params(cls), param) == getattr(_params(other), param), (
                label,
                param,
            )
        assert [b.__name__ for b in cls.__mro__] == [b.__name__ for b in other.__mro__], label


# -- behaviour, on classes of every shape the package uses -------------------------------------


def _shapes(decorate: Any) -> dict[str, type]:
    @decorate(frozen=True, slots=True, kw_only=True)
    class Message:
        command_field: ClassVar[int] = 0x30
        message_id: int
        affected_sop_class_uid: str = "1.2.840.10008.1.1"
        has_dataset: bool = False

    @decorate(frozen=True, slots=True)
    class Send:
        data: bytes

    @decorate(frozen=True)
    class Base:
        """A frozen base."""

        result: int
        items: tuple[int, ...] = ()
        why: str = field(default="", compare=False)

    @decorate(frozen=True)
    class Derived(Base):
        extra: tuple[str, ...] = field(default_factory=tuple)

    @decorate
    class Mutable:
        count: int = 0
        touched: list[int] = field(default_factory=list)
        hidden: int = field(default=5, init=False, repr=False)

    @decorate(slots=True)
    class SlottedMutable:
        count: int = 0
        hidden: int = field(default=5, init=False)
        made: list[int] = field(default_factory=list, init=False)

    @decorate(slots=True)
    class Empty:
        pass

    return {c.__name__: c for c in (Message, Send, Base, Derived, Mutable, SlottedMutable, Empty)}


_ARGUMENTS: dict[str, dict[str, Any]] = {
    "Message": {"message_id": 7},
    "Send": {"data": b"\x01\x02"},
    "Base": {"result": 1, "items": (2, 3), "why": "because"},
    "Derived": {"result": 1, "extra": ("x",)},
    "Mutable": {"count": 2},
    "SlottedMutable": {"count": 2},
    "Empty": {},
}
RECORDS = _shapes(record)
DATACLASSES = _shapes(dataclass)


@pytest.mark.parametrize("name", sorted(_ARGUMENTS))
def test_a_record_behaves_as_its_dataclass(name: str) -> None:
    ours, theirs = RECORDS[name], DATACLASSES[name]
    kwargs = _ARGUMENTS[name]
    a, b = ours(**kwargs), theirs(**kwargs)
    assert repr(a) == repr(b)
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert ours.__doc__ == theirs.__doc__
    assert a == ours(**kwargs)
    assert (a != ours(**kwargs)) is False
    assert a != b  # another class: NotImplemented both ways, as for two dataclasses
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert getattr(a, "__dict__", None) == getattr(b, "__dict__", None)
    assert dataclasses.astuple(a) == dataclasses.astuple(b)
    assert dataclasses.replace(a) == a
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    if theirs.__hash__ is None:
        assert ours.__hash__ is None
    else:
        assert hash(a) == hash(b)
    names = [f.name for f in dataclasses.fields(theirs)]
    if _params(theirs).frozen and names:
        for obj in (a, b):
            with pytest.raises(FrozenInstanceError, match=f"cannot assign to field '{names[0]}'"):
                setattr(obj, names[0], None)
            with pytest.raises(FrozenInstanceError, match=f"cannot delete field '{names[0]}'"):
                delattr(obj, names[0])
    with pytest.raises(TypeError):
        ours(**kwargs, unknown=1)


def test_a_record_with_fields_left_out_of_eq_hashes_as_a_dataclass() -> None:
    base = RECORDS["Base"]
    assert base(1, why="a") == base(1, why="b")
    assert hash(base(1, why="a")) == hash(DATACLASSES["Base"](1, why="b"))


def test_a_record_pickles() -> None:
    assert pickle.loads(pickle.dumps(_Pickled(uid="1.2", count=3))) == _Pickled(uid="1.2", count=3)
    assert pickle.loads(pickle.dumps(_PickledMutable(3))) == _PickledMutable(3)


@record(frozen=True, slots=True, kw_only=True)
class _Pickled:
    uid: str
    count: int = 0


@record
class _PickledMutable:
    count: int


def test_init_compiles_on_first_use() -> None:
    @record(frozen=True, slots=True)
    class Lazy:
        value: int

    assert type(Lazy.__dict__["__init__"]).__name__ == "_LazyInit"
    assert Lazy(1).value == 1
    assert inspect.isfunction(Lazy.__dict__["__init__"])
    assert Lazy.__init__.__qualname__.endswith("Lazy.__init__")


def test_what_a_record_refuses() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        frozen_base: Any = RECORDS["Base"]

        @record
        class Thawed(frozen_base):  # type: ignore[misc]
            more: int = 0

    with pytest.raises(TypeError, match="__post_init__"):

        @record
        class Post:
            a: int

            def __post_init__(self) -> None:
                pass
