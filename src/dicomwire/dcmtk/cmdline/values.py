"""The pieces of a DCMTK-style command line: value types, definitions, errors.

:class:`Integer` and :class:`String` convert option values and parameters as
DCMTK's ``OFCommandLine`` does (raising :class:`InvalidValue`); :class:`Option`
and :class:`Param` are what :class:`~dicomwire.dcmtk.cmdline.engine.DcmtkParser`
records for each definition; :class:`CommandLineExit` and
:class:`CommandLineError` end a parse.  Tools use these through
:mod:`dicomwire.dcmtk.cmdline.options`, which re-exports them.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from dicomwire._records import record

__all__ = [
    "EXIT_COMMANDLINE_SYNTAX_ERROR",
    "EXIT_NO_ERROR",
    "PORT",
    "CommandLineError",
    "CommandLineExit",
    "Integer",
    "InvalidValue",
    "Option",
    "Param",
    "String",
    "ValueType",
]

EXIT_NO_ERROR = 0
EXIT_COMMANDLINE_SYNTAX_ERROR = 1


class CommandLineExit(SystemExit):
    """Parsing stopped after printing help, version or an error.

    A :class:`SystemExit`, so an uncaught one ends the process with the
    right status; ``exit_code`` is the status as an int.
    """

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


class CommandLineError(Exception):
    """A command line problem; ``str()`` is the text printed after ``error: ``."""


class InvalidValue(ValueError):
    """Raised by a value type: ``reason`` is ``"underflow"``, ``"overflow"`` or None."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "invalid value")
        self.reason = reason


# -- value types ----------------------------------------------------------------


class ValueType(Protocol):
    """Converts one option value or parameter; raises :class:`InvalidValue`."""

    kind: str

    def describe(self) -> str:
        """Text after the kind in the help, e.g. ``" (1..38)"``."""
        ...

    def convert(self, raw: str, *, parameter: bool) -> Any: ...


class String:
    """Any text (DCMTK's ``string``)."""

    kind = "string"

    def describe(self) -> str:
        return ""

    def convert(self, raw: str, *, parameter: bool) -> Any:
        return raw


_LEADING_DECIMAL = re.compile(r"[ \t\n\r\f\v]*([+-]?)([0-9]+)")
# C's strtol(..., 0): 0x1f is hexadecimal, 017 octal ("08" reads as 0).
_LEADING_C_INT = re.compile(r"[ \t\n\r\f\v]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


class Integer:
    """A DCMTK integer: leading blanks and sign, digits, anything after ignored.

    Signed values are read like C's ``strtol(s, 0)`` (``0x10`` is 16, ``010``
    is 8), unsigned ones as plain decimal (``0x10`` is 0), as DCMTK does.
    ``unsigned`` options refuse a minus sign (``(-5)``); unsigned parameters
    wrap it around as C's ``%lu`` does (``-5`` -> overflow, ``-0`` -> 0).
    Values out of ``minimum..maximum`` give ``underflow``/``overflow``.
    """

    kind = "integer"

    def __init__(
        self, minimum: int | None = None, maximum: int | None = None, *, unsigned: bool = False
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.unsigned = unsigned

    def describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f" ({self.minimum}..{self.maximum})"
        return ""

    def convert(self, raw: str, *, parameter: bool) -> Any:
        match = (_LEADING_DECIMAL if self.unsigned else _LEADING_C_INT).match(raw)
        if match is None:
            raise InvalidValue()
        sign, digits = match.groups()
        magnitude = _magnitude(digits, self.unsigned)
        value = -magnitude if sign == "-" else magnitude
        if self.unsigned:
            if value < 0 and not parameter:
                raise InvalidValue()
            value = min(value % 2**64, 2**64 - 1)
        else:
            value = max(min(value, 2**63 - 1), -(2**63))
        if self.minimum is not None and value < self.minimum:
            raise InvalidValue("underflow")
        if self.maximum is not None and value > self.maximum:
            raise InvalidValue("overflow")
        return value


def _magnitude(digits: str, unsigned: bool) -> int:
    if unsigned:
        return int(digits, 10)
    if digits[:2].lower() == "0x":
        return int(digits[2:], 16)
    return int(digits, 8 if digits.startswith("0") else 10)


#: A TCP port parameter, checked as DCMTK's tools check theirs.
PORT = Integer(1, 65535, unsigned=True)


# -- definitions -----------------------------------------------------------------


@record(frozen=True)
class Option:
    """One option as defined by a tool (see ``DcmtkParser.add_option``)."""

    short: str | None
    long: str | None
    help: str
    dest: str
    action: str
    const: Any
    nargs: int
    type: ValueType
    value_help: str | None
    default: Any
    sets: tuple[str, Any] | None
    exclusive: bool

    @property
    def name(self) -> str:
        """The name DCMTK uses in messages: the long one when there is one."""
        return self.long or self.short or self.dest


@record(frozen=True)
class Param:
    """One positional parameter (see :meth:`~dicomwire.dcmtk.cmdline.engine.DcmtkParser.add_param`)."""

    name: str
    help: str
    dest: str
    optional: bool
    multiple: bool
    type: ValueType
    default: Any

    @property
    def usage(self) -> str:
        text = self.name + ("..." if self.multiple else "")
        return f"[{text}]" if self.optional else text
