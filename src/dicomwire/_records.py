"""``@record``: a dataclass that costs almost nothing to define.

``dataclasses.dataclass`` writes the source of ``__init__``, ``__repr__``, ``__eq__`` (and, frozen,
``__hash__``, ``__setattr__``, ``__delattr__``) and compiles each one when the class is defined:
about 0.5 ms per frozen class here, some 40 ms of every tool's start-up for the classes a plain
C-ECHO imports (issue 10).  ``@record(frozen=..., slots=..., kw_only=...)`` makes the same class
without compiling anything then: the fields, ``__slots__``, ``__match_args__`` and the
``__dataclass_fields__`` that ``dataclasses.fields``, ``replace`` and ``asdict`` read come from
``dataclasses`` itself (called with ``init=False, repr=False, eq=False``, which compiles nothing);
``__repr__``, ``__eq__``, ``__hash__`` and the frozen ``__setattr__``/``__delattr__`` are shared
functions that do what the generated ones do; and ``__init__``, the one method whose speed and
signature matter, is the same source ``dataclasses`` would write, compiled on first use (the
first instance, or ``inspect.signature``).

The result behaves as ``@dataclass`` with the same arguments: the same ``__init__`` signature,
``repr``, equality, hash, :class:`~dataclasses.FrozenInstanceError`, pickling and
``__dataclass_params__``; ``tests/test_records.py`` checks every record of the package against
its ``@dataclass`` twin.  Not supported (a :class:`TypeError` says so): ``InitVar``,
``__post_init__``, ``order``, ``unsafe_hash``, ``eq=False``, ``repr=False`` and ``init=False``
on the class (``field(init=False)`` with a default is fine).
"""

from __future__ import annotations

import builtins
import dataclasses
import os
import sys
from _thread import get_ident
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError
from types import CodeType, FunctionType
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["record"]

_T = TypeVar("_T", bound=type)


@overload
@dataclass_transform(field_specifiers=(dataclasses.field, Field))
def record(cls: _T, /) -> _T: ...
@overload
@dataclass_transform(field_specifiers=(dataclasses.field, Field))
def record(*, frozen: bool = ..., slots: bool = ..., kw_only: bool = ...) -> Callable[[_T], _T]: ...
@dataclass_transform(field_specifiers=(dataclasses.field, Field))
def record(
    cls: _T | None = None, /, *, frozen: bool = False, slots: bool = False, kw_only: bool = False
) -> _T | Callable[[_T], _T]:
    """``@dataclass(frozen=..., slots=..., kw_only=...)``, defined without compiling anything."""

    def wrap(cls: _T) -> _T:
        return _make(cls, frozen=frozen, slots=slots, kw_only=kw_only)

    return wrap if cls is None else wrap(cls)


def _make(cls: _T, *, frozen: bool, slots: bool, kw_only: bool) -> _T:
    name = cls.__qualname__
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"@record does not support __post_init__ ({name})")
    own = cls.__dict__
    has_doc = bool(own.get("__doc__"))
    if not has_doc:
        cls.__doc__ = name  # else dataclasses computes one with inspect.signature; ours is below
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    bases = [b for b in cls.__mro__[1:] if "__dataclass_fields__" in b.__dict__]
    if any(not hasattr(b, "__record_frozen__") for b in bases):
        raise TypeError(f"a record's dataclass bases are records ({name})")
    frozen_bases = [b for b in bases if b.__record_frozen__]  # type: ignore[attr-defined]
    if frozen_bases and not frozen:
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    if frozen and len(frozen_bases) != len(bases):
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    # dataclasses itself sees every record as non-frozen (the frozen methods are ours), so it
    # would refuse a frozen base here: the bases say non-frozen while it processes this class.
    for base in frozen_bases:
        base.__dataclass_params__.frozen = False  # type: ignore[attr-defined]
    try:
        made: Any = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=slots, kw_only=kw_only)
    finally:
        for base in frozen_bases:
            base.__dataclass_params__.frozen = True  # type: ignore[attr-defined]
    fields: tuple[Field[Any], ...] = dataclasses.fields(made)
    if any("InitVar" in str(f.type) for f in made.__dataclass_fields__.values()):
        raise TypeError(f"@record does not support InitVar ({name})")
    _check_defaults(fields)
    params = made.__dataclass_params__
    params.init = params.repr = params.eq = True
    params.frozen = frozen
    made.__record_frozen__ = frozen
    made.__init__ = _LazyInit(made, frozen)
    if not has_doc:
        made.__doc__ = made.__name__ + _signature_text(fields)
    if "__repr__" not in own:
        made.__repr__ = _repr_fn(made, tuple(f.name for f in fields if f.repr))
    if "__eq__" not in own:
        made.__eq__ = _eq_fn(made, tuple(f.name for f in fields if f.compare))
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    if frozen and not explicit_hash:
        made.__hash__ = _hash_fn(made, hashed)
    elif not frozen and not explicit_hash:
        made.__hash__ = None  # eq without frozen: unhashable, as dataclasses makes it
    if frozen:
        names = frozenset(f.name for f in fields)
        made.__setattr__, made.__delattr__ = _frozen_fns(made, names)
        if slots and "__getstate__" not in own:
            made.__getstate__, made.__setstate__ = _getstate, _setstate
    result: _T = made
    return result


def _check_defaults(fields: tuple[Field[Any], ...]) -> None:
    """What dataclasses checks when it writes ``__init__``: a default before a non-default."""
    seen_default = False
    for f in fields:
        if not f.init or f.kw_only:
            continue
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True


def _default_text(f: Field[Any]) -> str:
    if f.default is not MISSING:
        return f" = {f.default!r}"
    if f.default_factory is not MISSING:
        return " = <factory>"
    return ""


def _signature_text(fields: tuple[Field[Any], ...]) -> str:
    """``inspect.signature(cls)`` as dataclasses puts it in ``__doc__`` (annotations are strings)."""
    parts: list[str] = []
    star = False
    for f in sorted((f for f in fields if f.init), key=lambda f: f.kw_only is True):
        if f.kw_only and not star:
            parts.append("*")
            star = True
        annotation = f": {f.type!r}" if isinstance(f.type, str) else f": {_annotation(f.type)}"
        parts.append(f"{f.name}{annotation}{_default_text(f)}")
    return f"({', '.join(parts)})"


def _annotation(annotation: Any) -> str:
    import inspect

    return inspect.formatannotation(annotation)


# -- __init__, compiled when first needed ---------------------------------------------------------


class _HasDefaultFactory:
    """The default of a field with a ``default_factory`` in ``__init__``'s signature."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _HasDefaultFactory()


class _LazyInit:
    """Stands in for ``cls.__init__`` until something looks it up (the first instance, or
    ``inspect.signature``): then compiles the ``__init__`` dataclasses would have written and
    puts it in its own place."""

    __slots__ = ("cls", "frozen")

    def __init__(self, cls: type, frozen: bool) -> None:
        self.cls = cls
        self.frozen = frozen

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        init = _init_fn(self.cls, self.frozen)
        type.__setattr__(self.cls, "__init__", init)
        return init if instance is None else init.__get__(instance, owner)


_CODES: dict[str, CodeType] = {}  # the code of each __init__ source, once made
_precompiled: dict[str, CodeType] | None = None


def _init_fn(cls: type, frozen: bool) -> Callable[..., None]:
    source, names, defaults, kwdefaults, annotations = init_parts(cls, frozen)
    namespace: dict[str, Any] = {"__name__": cls.__module__, "__builtins__": builtins, **names}
    init = FunctionType(_code(source), namespace, "__init__", defaults or None)
    init.__kwdefaults__ = kwdefaults or None
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**annotations, "return": None}
    return init


def _code(source: str) -> CodeType:
    """The code of ``def __init__``: from ``dicomwire._record_inits`` (compiled with the package,
    written by ``tools/gen_record_inits.py``), else compiled now, once per distinct source."""
    global _precompiled
    code = _CODES.get(source)
    if code is not None:
        return code
    if _precompiled is None:
        _precompiled = _load_precompiled()
    code = _precompiled.get(source)
    if code is None:  # a record the generated file does not know (yet): as dataclasses does
        namespace: dict[str, Any] = {}
        exec(compile(source, "<record>", "exec"), namespace)
        code = namespace["__init__"].__code__
    _CODES[source] = code
    return code


def _load_precompiled() -> dict[str, CodeType]:
    """``_record_inits.CODE``; but compiled from source (no .pyc, none to be written: under
    PYTHONDONTWRITEBYTECODE, say) the file costs more than compiling the few a run needs."""
    cached = globals().get("__cached__") or ""
    pyc = cached.replace("_records.", "_record_inits.")
    if sys.dont_write_bytecode and pyc and not os.path.exists(pyc):
        return {}
    try:
        from dicomwire._record_inits import CODE
    except ImportError:  # pragma: no cover - the file is part of the package
        return {}
    return CODE


def init_parts(
    cls: type, frozen: bool
) -> tuple[str, dict[str, Any], tuple[Any, ...], dict[str, Any], dict[str, Any]]:
    """The ``__init__`` dataclasses writes for ``cls``, in parts: its source (the parameters
    without their defaults: the code does not depend on them), the globals its body uses, the
    positional and keyword-only defaults, and the annotations."""
    fields = dataclasses.fields(cls)
    slotted = "__slots__" in cls.__dict__
    factory = "__dataclass_HAS_DEFAULT_FACTORY__"
    names: dict[str, Any] = {"__dataclass_builtins_object__": object, factory: _HAS_FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    defaults: list[Any] = []
    kwdefaults: dict[str, Any] = {}
    body: list[str] = []
    annotations: dict[str, Any] = {}
    for f in fields:
        if f.init:
            if f.default is not MISSING:
                default: Any = f.default
                value = f.name
            elif f.default_factory is not MISSING:
                names[f"__dataclass_dflt_{f.name}__"] = f.default_factory
                default = _HAS_FACTORY
                value = f"__dataclass_dflt_{f.name}__() if {f.name} is {factory} else {f.name}"
            else:
                default = MISSING
                value = f.name
            if f.kw_only:
                keyword.append(f.name)
                if default is not MISSING:
                    kwdefaults[f.name] = default
            else:
                positional.append(f.name)
                if default is not MISSING:
                    defaults.append(default)
            annotations[f.name] = f.type
        elif f.default is not MISSING and slotted:
            names[f"__dataclass_dflt_{f.name}__"] = f.default
            value = f"__dataclass_dflt_{f.name}__"
        elif f.default_factory is not MISSING:
            names[f"__dataclass_dflt_{f.name}__"] = f.default_factory
            value = f"__dataclass_dflt_{f.name}__()"
        else:
            continue  # init=False: the class attribute holds the default (or it stays unset)
        if frozen:
            body.append(f"    __dataclass_builtins_object__.__setattr__(self, {f.name!r}, {value})")
        else:
            body.append(f"    self.{f.name} = {value}")
    params = ["self", *positional, *(["*", *keyword] if keyword else [])]
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    return source, names, tuple(defaults), kwdefaults, annotations


# -- the methods every record shares ------------------------------------------------------------


def _repr_fn(cls: type, names: tuple[str, ...]) -> Callable[[Any], str]:
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = id(self), get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({inner})"

    __repr__.__qualname__ = f"{cls.__qualname__}.__repr__"
    return __repr__


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    def values(obj: Any) -> tuple[Any, ...]:
        return tuple([getattr(obj, name) for name in names])

    return values


def _eq_fn(cls: type, names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    __eq__.__qualname__ = f"{cls.__qualname__}.__eq__"
    return __eq__


def _hash_fn(cls: type, names: tuple[str, ...]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
    return __hash__


def _frozen_fns(cls: type, names: frozenset[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: object, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type] # mypy: cls is a class

    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    __setattr__.__qualname__ = f"{cls.__qualname__}.__setattr__"
    __delattr__.__qualname__ = f"{cls.__qualname__}.__delattr__"
    return __setattr__, __delattr__


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):
        object.__setattr__(self, f.name, value)  # the record may be frozen
