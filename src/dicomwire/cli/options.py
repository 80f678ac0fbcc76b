"""DCMTK-style command lines, defined once for every dicomwire tool.

The tools are drop-in replacements for DCMTK 3.6.7's, so their command lines
behave like DCMTK's ``OFCommandLine`` rather than like argparse: options start
with ``-`` or ``+`` (``-aet``, ``+tls``), ``-5`` is a parameter, an option's
value is the next word whatever it looks like (``-aet -v`` sets the AE title
to ``-v``), there are no abbreviations, ``@file`` words are replaced by the
file's words, among options writing the same ``dest`` the rightmost wins, and
errors print DCMTK's header and ``error: <text>`` on stderr with exit code 1.
The result is an :class:`argparse.Namespace`.  (argparse itself does the
first two differently, has no way to give DCMTK's messages in DCMTK's order,
and splits ``@file`` contents its own way, so the scanning is done here.)

Writing a tool::

    from dicomwire.cli import options
    from dicomwire.cli.logging import app_logger
    from dicomwire.cli.options import Integer

    def build_parser() -> options.DcmtkParser:
        p = options.DcmtkParser("echoscu", "DICOM verification (C-ECHO) SCU",
                                long_column=19)
        p.add_param("peer", "hostname of DICOM peer")
        p.add_param("port", "tcp/ip port number of peer", type=options.PORT)
        options.add_general_options(p)
        p.add_group("network options")
        options.add_ae_title_options(p, aet_default="ECHOSCU", aec_default="ANY-SCP")
        p.add_subgroup("association negotiation debugging")
        p.add_option("-pts", "--propose-ts", "propose n transfer syntaxes",
                     metavar="[n]umber", type=Integer(1, 38, unsigned=True))
        options.add_other_network_options(p, repeat=True, abort=True)
        options.add_tls_options(p, offline_verification=True)
        return p

    async def run(ns: argparse.Namespace) -> int:
        log = app_logger("echoscu")
        net = options.network_settings(ns)     # frozen NetworkSettings
        ...
        return 0

    def main(argv: list[str] | None = None) -> int:
        return options.run_tool(build_parser(), run, argv)

Public API
----------
``DcmtkParser(prog, description, *, no_arguments="help", long_column=None,
short_column=4)``
    ``add_param(name, help, *, optional=False, multiple=False, type=None,
    dest=None, default=None)``; ``add_group(title)``; ``add_subgroup(title)``;
    ``add_option(short, long, help="", *, dest=None, action=None, const=None,
    nargs=None, type=None, metavar=None, value_help=None, value_default=None,
    default=None, sets=None, exclusive=False) -> Option``;
    ``set_defaults(**values)``; ``add_check(fn)`` (``fn(ns, given)`` where
    ``given`` lists the long names of the options used, in order; raise
    :class:`CommandLineError` to fail); ``parse_args(argv=None) -> Namespace``;
    ``error(message) -> NoReturn``; ``format_help()``; ``format_version()``;
    ``banner()`` (``$dicomwire: echoscu v0.1.0 $``; DCMTK tools log theirs at
    debug level on start: ``log.debug(parser.banner() + "\\n")``).

    Actions: ``"store"`` (value; a tuple when ``nargs`` > 1), ``"append"``,
    ``"store_const"``, ``"store_true"``, ``"store_false"``, ``"count"``.
    ``sets=(dest, value)`` also assigns another destination (e.g. ``+tls``
    stores its two files and sets ``tls="enable"``).  ``exclusive`` options
    (``-h``, ``--version``, ``+cc``) lift the parameter count check.
    ``no_arguments``: ``"help"`` prints the help and exits 0 when the command
    line is empty (every DCMTK network tool but dcmqrscp), ``"run"`` parses it.
    ``long_column``: DCMTK's per-tool LONGCOL (help layout); default = the
    longest long option.

``parse_args`` raises :class:`CommandLineExit` (a :class:`SystemExit` whose
``exit_code`` is 0 after help/version, 1 after an error) once it has printed
what DCMTK prints.  With :func:`add_general_options` it also configures
logging (``cli.logging.setup_logging``) and echoes ``--arguments``, at the
point where DCMTK does.  Order of checks, as DCMTK: unknown option / missing
value, then ``-h`` (beats ``--version``), parameter count, parameter values,
``-ll``/``-lc``, ``--arguments`` echo, option values (rightmost occurrence,
definition order), then ``add_check`` functions.

Shared option groups: :func:`add_general_options`, :func:`add_ae_title_options`,
:func:`add_other_network_options` (or the single-option helpers
:func:`add_connect_timeout_option`, :func:`add_socket_timeout_option`,
:func:`add_acse_timeout_option`, :func:`add_dimse_timeout_option`,
:func:`add_max_pdu_option`, :func:`add_max_send_pdu_option`,
:func:`add_repeat_option`, :func:`add_abort_option`), :func:`add_tls_options`.
Value types: :class:`Integer`, :class:`String`, ``PORT``.

:func:`network_settings` -> :class:`NetworkSettings`; :func:`reject_unsupported_tls`;
:func:`run_tool` (parse, refuse TLS, ``asyncio.run(run(ns))``, clean up).

Namespace attributes set by the shared groups: ``help``, ``version``,
``arguments``, ``verbosity`` (``"fatal"``/``"info"``/``"debug"`` or None),
``log_level``, ``log_config``, ``ae_title``, ``called_ae_title``,
``connect_timeout``, ``socket_timeout``, ``acse_timeout``, ``dimse_timeout``,
``max_pdu``, ``max_send_pdu``, ``repeat``, ``abort``, ``tls``
(``"disable"``/``"enable"``/``"anonymous"``), ``tls_keys`` and the other
``tls_*`` values.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import platform
import re
import ssl
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from dicomwire.cli import logging as cli_logging

__all__ = [
    "EXIT_COMMANDLINE_SYNTAX_ERROR",
    "EXIT_NO_ERROR",
    "PORT",
    "TLS_UNSUPPORTED_MESSAGE",
    "CommandLineError",
    "CommandLineExit",
    "DcmtkParser",
    "Integer",
    "InvalidValue",
    "NetworkSettings",
    "Option",
    "Param",
    "String",
    "ValueType",
    "add_abort_option",
    "add_acse_timeout_option",
    "add_ae_title_options",
    "add_connect_timeout_option",
    "add_dimse_timeout_option",
    "add_general_options",
    "add_max_pdu_option",
    "add_max_send_pdu_option",
    "add_other_network_options",
    "add_repeat_option",
    "add_socket_timeout_option",
    "add_tls_options",
    "dicomwire_version",
    "expand_command_files",
    "network_settings",
    "reject_unsupported_tls",
    "run_tool",
]

EXIT_NO_ERROR = 0
EXIT_COMMANDLINE_SYNTAX_ERROR = 1
AE_TITLE_MAX = 16
TLS_UNSUPPORTED_MESSAGE = "TLS is not yet supported by dicomwire"


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


_VALUE_ACTIONS = frozenset({"store", "append"})
_ACTIONS = frozenset(
    {"store", "append", "store_const", "store_true", "store_false", "count", "help", "version"}
)


@dataclass(frozen=True)
class Option:
    """One option as defined by a tool (see :meth:`DcmtkParser.add_option`)."""

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


@dataclass(frozen=True)
class Param:
    """One positional parameter (see :meth:`DcmtkParser.add_param`)."""

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


@dataclass(frozen=True)
class _Occurrence:
    option: Option
    values: tuple[str, ...]


_Check = Callable[[argparse.Namespace, Sequence[str]], None]


def dicomwire_version() -> str:
    """The installed dicomwire version, or ``"unknown"``."""
    try:
        return importlib.metadata.version("dicomwire")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _read_command_file(name: str) -> list[str]:
    """Split a command file DCMTK's way.

    Blanks (space, tab, CR, LF) separate words; ``"`` starts a quoted part in
    which blanks and line ends are kept; the closing ``"`` ends the word
    (``a"b c"d`` gives ``ab c`` and ``d``; ``""`` gives an empty word); an
    unterminated quote runs to the end of the file.  No escapes.
    """
    try:
        with open(name, "rb") as handle:
            text = os.fsdecode(handle.read())
    except OSError:
        raise CommandLineError(f"Cannot open command file '{name}'") from None
    words: list[str] = []
    current: list[str] = []
    in_word = in_quote = False
    for ch in text:
        if in_quote:
            if ch == '"':
                words.append("".join(current))
                current, in_word, in_quote = [], False, False
            else:
                current.append(ch)
        elif ch == '"':
            in_quote = in_word = True
        elif ch in " \t\r\n":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(ch)
            in_word = True
    if in_word:
        words.append("".join(current))
    return words


def expand_command_files(args: Sequence[str]) -> list[str]:
    """Replace every ``@file`` argument by the words of that file.

    Words inside a command file are not expanded again: an ``@name`` there
    stays a literal argument, as in DCMTK.
    """
    expanded: list[str] = []
    for arg in args:
        if len(arg) > 1 and arg.startswith("@"):
            expanded.extend(_read_command_file(arg[1:]))
        else:
            expanded.append(arg)
    return expanded


def _is_option(word: str) -> bool:
    return len(word) > 1 and word[0] in "+-" and word[1] not in "0123456789"


def _dest_from(short: str | None, long: str | None) -> str:
    name = (long or short or "").lstrip("+-")
    return name.replace("-", "_")


class DcmtkParser:
    """A DCMTK-style command line (see the module docstring)."""

    def __init__(
        self,
        prog: str,
        description: str,
        *,
        no_arguments: str = "help",
        long_column: int | None = None,
        short_column: int = 4,
    ) -> None:
        if no_arguments not in ("help", "run"):
            raise ValueError("no_arguments must be 'help' or 'run'")
        self.prog = prog
        self.description = description
        self.no_arguments = no_arguments
        self.long_column = long_column
        self.short_column = short_column
        self.params: list[Param] = []
        self.options: list[Option] = []
        self._by_name: dict[str, Option] = {}
        self._layout: list[tuple[str, str | Option]] = []
        self._defaults: dict[str, Any] = {}
        self._checks: list[_Check] = []
        self.logging_options = False

    # -- definition -------------------------------------------------------

    def add_param(
        self,
        name: str,
        help: str,
        *,
        optional: bool = False,
        multiple: bool = False,
        type: ValueType | None = None,
        dest: str | None = None,
        default: Any = None,
    ) -> Param:
        """Add a positional parameter; a ``multiple`` one must be the last."""
        if self.params and self.params[-1].multiple:
            raise ValueError("a parameter with multiple values must be the last one")
        if self.params and self.params[-1].optional and not optional:
            raise ValueError("a mandatory parameter cannot follow an optional one")
        param = Param(
            name,
            help,
            dest or name.replace("-", "_"),
            optional,
            multiple,
            type or String(),
            default,
        )
        self.params.append(param)
        return param

    def add_group(self, title: str) -> None:
        """Start a top-level heading (``network options:``)."""
        self._layout.append(("group", title))

    def add_subgroup(self, title: str) -> None:
        """Start an indented heading (``  application entity titles:``)."""
        self._layout.append(("subgroup", title))

    def add_option(
        self,
        short: str | None,
        long: str | None,
        help: str = "",
        *,
        dest: str | None = None,
        action: str | None = None,
        const: Any = None,
        nargs: int | None = None,
        type: ValueType | None = None,
        metavar: str | None = None,
        value_help: str | None = None,
        value_default: str | None = None,
        default: Any = None,
        sets: tuple[str, Any] | None = None,
        exclusive: bool = False,
    ) -> Option:
        """Define an option; ``help`` lines are separated by ``\\n``.

        The value line of the help is ``value_help`` if given, else built as
        ``"<metavar>: <kind><range>"`` plus ``" (default: <value_default>)"``.
        """
        takes_value = bool(nargs or type or metavar or value_help)
        if action is None:
            action = _infer_action(const, takes_value)
        if action not in _ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        count = nargs if nargs is not None else (1 if action in _VALUE_ACTIONS else 0)
        kind = type or String()
        if value_help is None and metavar is not None:
            value_help = f"{metavar}: {kind.kind}{kind.describe()}"
            if value_default is not None:
                value_help += f" (default: {value_default})"
        option = Option(
            short,
            long,
            help,
            dest or _dest_from(short, long),
            action,
            const,
            count,
            kind,
            value_help,
            default,
            sets,
            exclusive or action in ("help", "version"),
        )
        for name in (short, long):
            if name is None:
                continue
            if not _is_option(name):
                raise ValueError(f"{name!r} is not an option name")
            if name in self._by_name:
                raise ValueError(f"option {name} defined twice")
            self._by_name[name] = option
        self.options.append(option)
        self._layout.append(("option", option))
        return option

    def set_defaults(self, **values: Any) -> None:
        """Override the namespace defaults."""
        self._defaults.update(values)

    def add_check(self, check: _Check) -> None:
        """Run ``check(ns, given)`` after all values are converted."""
        self._checks.append(check)

    # -- output ---------------------------------------------------------

    def banner(self) -> str:
        """``$dicomwire: <prog> v<version> $`` (DCMTK tools log theirs at debug level
        on start: ``log.debug(parser.banner() + "\\n")`` gives ``D: $...$`` and ``D: ``)."""
        return f"$dicomwire: {self.prog} v{dicomwire_version()} $"

    def header(self) -> str:
        """What DCMTK prints before help, version and errors."""
        return f"{self.banner()}\n\n{self.prog}: {self.description}\n"

    def format_version(self) -> str:
        libraries = [f"- pydicom, Version {_package_version('pydicom')}", f"- {ssl.OPENSSL_VERSION}"]
        return (
            self.header()
            + f"\nHost type: {platform.system()} {platform.machine()}\n"
            + f"Python: {platform.python_implementation()} {platform.python_version()}\n"
            + "\nExternal libraries used:\n"
            + "".join(line + "\n" for line in libraries)
        )

    def format_help(self) -> str:
        return _HelpFormatter(self).render()

    def usage(self) -> str:
        return " ".join(["[options]", *(p.usage for p in self.params)])

    def error(self, message: str) -> NoReturn:
        """Print DCMTK's header and ``error: message`` on stderr; exit code 1."""
        sys.stderr.write(f"{self.header()}error: {message}\n")
        sys.stderr.flush()
        raise CommandLineExit(EXIT_COMMANDLINE_SYNTAX_ERROR)

    def _print_and_exit(self, text: str) -> NoReturn:
        sys.stdout.write(text)
        sys.stdout.flush()
        raise CommandLineExit(EXIT_NO_ERROR)

    # -- parsing --------------------------------------------------------

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """Parse a command line (default ``sys.argv[1:]``) as DCMTK would."""
        try:
            return self._parse(list(sys.argv[1:] if argv is None else argv))
        except CommandLineError as exc:
            self.error(str(exc))

    def _parse(self, argv: list[str]) -> argparse.Namespace:
        args = expand_command_files(argv)
        if not args and self.no_arguments == "help":
            self._print_and_exit(self.format_help())
        found, words = self._scan(args)
        actions = {occ.option.action for occ in found}
        if "help" in actions:
            self._print_and_exit(self.format_help())
        if "version" in actions:
            self._print_and_exit(self.format_version())
        if not any(occ.option.exclusive for occ in found):
            self._check_param_count(words)
        ns = self._namespace()
        self._convert_params(ns, words)
        if self.logging_options:
            self._setup_logging(ns, found)
            if any(occ.option.dest == "arguments" for occ in found):
                cli_logging.log_always(self._arguments_text(args))
        self._apply_options(ns, found)
        given = [occ.option.name for occ in found]
        for check in self._checks:
            check(ns, given)
        return ns

    def _scan(self, args: list[str]) -> tuple[list[_Occurrence], list[str]]:
        found: list[_Occurrence] = []
        words: list[str] = []
        index = 0
        while index < len(args):
            word = args[index]
            index += 1
            if not _is_option(word):
                words.append(word)
                continue
            option = self._by_name.get(word)
            if option is None:
                raise CommandLineError(f"Unknown option {word}")
            values = tuple(args[index : index + option.nargs])
            if len(values) < option.nargs:
                raise CommandLineError(f"Missing value for option {option.name}")
            index += option.nargs
            found.append(_Occurrence(option, values))
        return found, words

    def _check_param_count(self, words: list[str]) -> None:
        mandatory = [p for p in self.params if not p.optional]
        if len(words) < len(mandatory):
            raise CommandLineError(f"Missing parameter {mandatory[len(words)].name}")
        unlimited = any(p.multiple for p in self.params)
        if not unlimited and len(words) > len(self.params):
            raise CommandLineError("Too many parameters")

    def _namespace(self) -> argparse.Namespace:
        ns = argparse.Namespace()
        for param in self.params:
            setattr(ns, param.dest, [] if param.multiple else param.default)
        for option in self.options:
            if option.default is not None or not hasattr(ns, option.dest):
                setattr(ns, option.dest, _initial(option))
            if option.sets is not None and not hasattr(ns, option.sets[0]):
                setattr(ns, option.sets[0], None)
        for name, value in self._defaults.items():
            setattr(ns, name, value)
        return ns

    def _convert_params(self, ns: argparse.Namespace, words: list[str]) -> None:
        pending = list(words)
        for param in self.params:
            if not pending:
                break
            taken = pending if param.multiple else pending[:1]
            pending = pending[len(taken) :]
            values = [_convert(param.type, raw, param=True, name=param.name) for raw in taken]
            setattr(ns, param.dest, values if param.multiple else values[0])

    def _setup_logging(self, ns: argparse.Namespace, found: list[_Occurrence]) -> None:
        last: dict[str, str | None] = {}
        for occ in found:
            if occ.option.dest == "verbosity":
                last["verbosity"] = occ.option.const
            elif occ.option.dest in ("log_level", "log_config"):
                last[occ.option.dest] = occ.values[0]
        level, config = last.get("log_level"), last.get("log_config")
        if level is not None:
            if "verbosity" in last:
                raise CommandLineError("--log-level not allowed with --verbose, --debug or --quiet")
            if level.lower() not in cli_logging.LEVELS:
                raise CommandLineError("Invalid log level for --log-level option")
        if config is not None:
            if "verbosity" in last:
                raise CommandLineError(
                    "--log-config not allowed with --verbose, --debug or --quiet"
                )
            if level is not None:
                raise CommandLineError("--log-config not allowed with --log-level")
        for name, value in last.items():
            setattr(ns, name, value)
        try:
            cli_logging.setup_logging(ns, self.prog)
        except cli_logging.LogConfigError as exc:
            raise CommandLineError(str(exc)) from None

    def _arguments_text(self, args: list[str]) -> str:
        shown: list[str] = []
        index = 0
        while index < len(args):
            word = args[index]
            index += 1
            option = self._by_name.get(word) if _is_option(word) else None
            if option is not None:
                shown.append(option.name)
                shown.extend(args[index : index + option.nargs])
                index += option.nargs
            else:
                shown.append(word)
        quoted = "".join(f"'{word}' " for word in shown if word)
        return f"calling '{self.prog}' with {len(args)} arguments: {quoted}\n"

    def _apply_options(self, ns: argparse.Namespace, found: list[_Occurrence]) -> None:
        winner: dict[str, int] = {}
        for index, occ in enumerate(found):
            winner[occ.option.dest] = index
        converted: dict[int, Any] = {}
        for option in self.options:
            for index, occ in enumerate(found):
                if occ.option is not option or not occ.values:
                    continue
                if option.action == "store" and winner[option.dest] != index:
                    continue
                values = [
                    _convert(option.type, raw, param=False, name=option.name)
                    for raw in occ.values
                ]
                converted[index] = values[0] if len(values) == 1 else tuple(values)
        for index, occ in enumerate(found):
            _apply(ns, occ.option, converted.get(index))


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _initial(option: Option) -> Any:
    if option.default is not None:
        return option.default
    initial: dict[str, Any] = {
        "append": [],
        "store_true": False,
        "store_false": True,
        "count": 0,
        "help": False,
        "version": False,
    }
    value = initial.get(option.action)
    return list(value) if isinstance(value, list) else value


def _convert(kind: ValueType, raw: str, *, param: bool, name: str) -> Any:
    try:
        return kind.convert(raw, parameter=param)
    except InvalidValue as exc:
        if param:
            suffix = f" ({exc.reason})" if exc.reason else ""
            raise CommandLineError(f"Invalid parameter value {raw}{suffix}") from None
        raise CommandLineError(f"Invalid value for option {name}{_detail(exc, raw)}") from None


def _detail(exc: InvalidValue, raw: str) -> str:
    """DCMTK: ``(underflow: 0)``, ``(abc)``, or nothing for an empty value."""
    if exc.reason:
        return f" ({exc.reason}: {raw})"
    return f" ({raw})" if raw else ""


def _infer_action(const: Any, takes_value: bool) -> str:
    if const is not None:
        return "store_const"
    return "store" if takes_value else "store_true"


def _apply(ns: argparse.Namespace, option: Option, value: Any) -> None:
    dest, action = option.dest, option.action
    if action == "store":
        setattr(ns, dest, value)
    elif action == "append":
        setattr(ns, dest, [*(getattr(ns, dest, None) or []), value])
    elif action == "store_const":
        setattr(ns, dest, option.const)
    elif action == "store_false":
        setattr(ns, dest, False)
    elif action == "count":
        setattr(ns, dest, (getattr(ns, dest, None) or 0) + 1)
    else:  # store_true, help, version
        setattr(ns, dest, True)
    if option.sets is not None:
        setattr(ns, option.sets[0], option.sets[1])


# -- help ------------------------------------------------------------------------


class _HelpFormatter:
    """DCMTK's help layout: short and long columns, text column, headings."""

    def __init__(self, parser: DcmtkParser) -> None:
        self.parser = parser
        shorts = [len(o.short) for o in parser.options if o.short]
        longs = [len(o.long) for o in parser.options if o.long]
        self.short_width = max([parser.short_column, *shorts])
        self.long_width = parser.long_column or max([0, *longs])

    def text_column(self, long_width: int) -> int:
        return 2 + self.short_width + 4 + long_width + 2

    def render(self) -> str:
        parser = self.parser
        lines = [f"usage: {parser.prog} {parser.usage()}", ""]
        if parser.params:
            lines.append("parameters:")
            column = self.text_column(self.long_width)
            for param in parser.params:
                text = param.help.split("\n")
                lines.append(f"  {param.name}".ljust(column) + text[0])
                lines.extend(" " * column + more for more in text[1:])
            lines.append("")
        for block_kind, heading, options in self._blocks():
            if heading is not None:
                lines.append(f"{heading}:" if block_kind == "group" else f"  {heading}:")
            longs = [len(o.long) for o in options if o.long]
            lines.extend(self._option_lines(options, block_kind == "subgroup", longs))
        return parser.header() + "\n".join(lines) + "\n\n"

    def _blocks(self) -> list[tuple[str, str | None, list[Option]]]:
        blocks: list[tuple[str, str | None, list[Option]]] = []
        kind = "group"
        for entry_kind, entry in self.parser._layout:
            if isinstance(entry, Option):
                if not blocks:
                    blocks.append((kind, None, []))
                blocks[-1][2].append(entry)
            else:
                kind = entry_kind
                blocks.append((entry_kind, entry, []))
        return blocks

    def _option_lines(self, options: list[Option], nested: bool, longs: list[int]) -> list[str]:
        width = max([self.long_width, *longs])
        indent, short_width = (4, self.short_width + 2) if nested else (2, self.short_width + 4)
        column = indent + short_width + width + 2
        lines: list[str] = []
        for option in options:
            text = (option.value_help or "").split("\n") + option.help.split("\n")
            text = [t for t in text if t] or [""]
            head = " " * indent + (option.short or "").ljust(short_width)
            head += (option.long or "").ljust(width + 2) + text[0]
            lines.append(head if text[0] else head.rstrip())
            lines.extend(" " * column + more for more in text[1:])
        return lines


# -- shared option groups -------------------------------------------------------------


def add_general_options(parser: DcmtkParser, *, group: str | None = "general options") -> None:
    """``-h --version --arguments -q -v -d -ll -lc`` (and logging setup on parse)."""
    if group is not None:
        parser.add_group(group)
    parser.add_option("-h", "--help", "print this help text and exit", action="help")
    parser.add_option(None, "--version", "print version information and exit", action="version")
    parser.add_option(None, "--arguments", "print expanded command line arguments")
    for short, long, level, text in (
        ("-q", "--quiet", "fatal", "quiet mode, print no warnings and errors"),
        ("-v", "--verbose", "info", "verbose mode, print processing details"),
        ("-d", "--debug", "debug", "debug mode, print debug information"),
    ):
        parser.add_option(short, long, text, dest="verbosity", const=level)
    parser.add_option(
        "-ll",
        "--log-level",
        "use level l for the logger",
        value_help="[l]evel: string constant\n(fatal, error, warn, info, debug, trace)",
    )
    parser.add_option(
        "-lc", "--log-config", "use config file f for the logger", metavar="[f]ilename"
    )
    parser.logging_options = True


def add_ae_title_options(
    parser: DcmtkParser,
    *,
    aet_default: str,
    aec_default: str | None = None,
    aet_help: str = "set my calling AE title",
    subgroup: str | None = "application entity titles",
) -> None:
    """``-aet`` (dest ``ae_title``) and, when ``aec_default`` is given, ``-aec``
    (dest ``called_ae_title``).  Titles longer than 16 characters are cut
    silently, as DCMTK does (see :func:`network_settings`)."""
    if subgroup is not None:
        parser.add_subgroup(subgroup)
    parser.add_option(
        "-aet",
        "--aetitle",
        f"{aet_help} (default: {aet_default})",
        dest="ae_title",
        metavar="[a]etitle",
        default=aet_default,
    )
    if aec_default is not None:
        parser.add_option(
            "-aec",
            "--call",
            f"set called AE title of peer (default: {aec_default})",
            dest="called_ae_title",
            metavar="[a]etitle",
            default=aec_default,
        )


_SECONDS = "[s]econds"


def add_connect_timeout_option(parser: DcmtkParser) -> None:
    """``-to``: dest ``connect_timeout``, default None (unlimited)."""
    parser.add_option(
        "-to",
        "--timeout",
        "timeout for connection requests",
        dest="connect_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="unlimited",
    )


def add_socket_timeout_option(parser: DcmtkParser) -> None:
    """``-ts``: dest ``socket_timeout``, default 60; 0 (or less) means none."""
    parser.add_option(
        "-ts",
        "--socket-timeout",
        "timeout for network socket (0 for none)",
        dest="socket_timeout",
        metavar=_SECONDS,
        type=Integer(),
        value_default="60",
        default=60,
    )


def add_acse_timeout_option(parser: DcmtkParser) -> None:
    """``-ta``: dest ``acse_timeout``, default 30."""
    parser.add_option(
        "-ta",
        "--acse-timeout",
        "timeout for ACSE messages",
        dest="acse_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="30",
        default=30,
    )


def add_dimse_timeout_option(parser: DcmtkParser) -> None:
    """``-td``: dest ``dimse_timeout``, default None (unlimited)."""
    parser.add_option(
        "-td",
        "--dimse-timeout",
        "timeout for DIMSE messages",
        dest="dimse_timeout",
        metavar=_SECONDS,
        type=Integer(1),
        value_default="unlimited",
    )


_PDU_RANGE = Integer(4096, 131072, unsigned=True)


def add_max_pdu_option(
    parser: DcmtkParser,
    *,
    help: str = "set max receive pdu to n bytes (default: 16384)",
    default: int | None = 16384,
) -> None:
    """``-pdu``: dest ``max_pdu`` (4096..131072)."""
    parser.add_option(
        "-pdu",
        "--max-pdu",
        help,
        dest="max_pdu",
        metavar="[n]umber of bytes",
        type=_PDU_RANGE,
        default=default,
    )


def add_max_send_pdu_option(parser: DcmtkParser) -> None:
    """``--max-send-pdu``: dest ``max_send_pdu`` (4096..131072), default None."""
    parser.add_option(
        None,
        "--max-send-pdu",
        "restrict max send pdu to n bytes",
        dest="max_send_pdu",
        metavar="[n]umber of bytes",
        type=_PDU_RANGE,
    )


def add_repeat_option(parser: DcmtkParser) -> None:
    """``--repeat``: dest ``repeat``, default 1."""
    parser.add_option(
        None,
        "--repeat",
        "repeat n times",
        metavar="[n]umber",
        type=Integer(1, unsigned=True),
        default=1,
    )


def add_abort_option(parser: DcmtkParser) -> None:
    """``--abort``: dest ``abort``, default False."""
    parser.add_option(None, "--abort", "abort association instead of releasing it")


def add_other_network_options(
    parser: DcmtkParser,
    *,
    connect_timeout: bool = True,
    socket_timeout: bool = True,
    max_send_pdu: bool = False,
    repeat: bool = False,
    abort: bool = False,
    subgroup: str | None = "other network options",
) -> None:
    """DCMTK's usual sequence: ``-to -ts -ta -td -pdu [--max-send-pdu]
    [--repeat] [--abort]``.  Tools with extra options in between use the
    single-option helpers instead."""
    if subgroup is not None:
        parser.add_subgroup(subgroup)
    if connect_timeout:
        add_connect_timeout_option(parser)
    if socket_timeout:
        add_socket_timeout_option(parser)
    add_acse_timeout_option(parser)
    add_dimse_timeout_option(parser)
    add_max_pdu_option(parser)
    if max_send_pdu:
        add_max_send_pdu_option(parser)
    if repeat:
        add_repeat_option(parser)
    if abort:
        add_abort_option(parser)


# -- TLS -------------------------------------------------------------------------------

_FILE = "[f]ilename"
_ONLY_WITH_SEED = frozenset({"--write-seed", "--write-seed-file"})
_PASSWORD_OPTIONS = frozenset({"--std-passwd", "--use-passwd", "--null-passwd"})
_TLS_FREE = frozenset(
    {"--disable-tls", "--enable-tls", "--anonymous-tls", "--list-ciphers"}
    | {"--verify-cert", "--is-root-cert"}
)


def add_tls_options(
    parser: DcmtkParser, *, acceptor: bool = False, offline_verification: bool = False
) -> None:
    """DCMTK's TLS group, parsed (and refused by :func:`reject_unsupported_tls`).

    ``acceptor`` gives the dcmrecv/storescp variant (no ``+tla``, with
    ``+dp`` and ``-vc``); ``offline_verification`` adds echoscu's ``+vc +rc``.
    ``+pb`` is left out: the DCMTK 3.6.7 binaries (OpenSSL 3 builds) do not
    know it either.  The dependency errors DCMTK gives (``--X only allowed
    with --enable-tls ...``) are reproduced.
    """
    add = parser.add_option
    parser.add_group("transport layer security (TLS) options")
    parser.add_subgroup("transport protocol stack")
    add("-tls", "--disable-tls", "use normal TCP/IP connection (default)", dest="tls",
        const="disable", default="disable")
    add("+tls", "--enable-tls", "use authenticated secure TLS connection", dest="tls_keys",
        nargs=2, metavar="[p]rivate key file, [c]ertificate file", sets=("tls", "enable"))
    if not acceptor:
        add("+tla", "--anonymous-tls", "use secure TLS connection without certificate",
            dest="tls", const="anonymous")
    parser.add_subgroup("private key password (only with --enable-tls)")
    add("+ps", "--std-passwd", "prompt user to type password on stdin (default)",
        dest="tls_password_mode", const="prompt", default="prompt")
    add("+pw", "--use-passwd", "use specified password", dest="tls_password",
        value_help="[p]assword: string ", sets=("tls_password_mode", "given"))
    add("-pw", "--null-passwd", "use empty string as password", dest="tls_password_mode",
        const="empty")
    parser.add_subgroup("key and certificate file format")
    add("-pem", "--pem-keys", "read keys and certificates as PEM file (default)",
        dest="tls_key_format", const="pem", default="pem")
    add("-der", "--der-keys", "read keys and certificates as DER file",
        dest="tls_key_format", const="der")
    parser.add_subgroup("certification authority")
    add("+cf", "--add-cert-file", "add certificate file to list of certificates",
        dest="tls_cert_files", action="append", metavar=_FILE)
    add("+cd", "--add-cert-dir", "add certificates in d to list of certificates",
        dest="tls_cert_dirs", action="append", metavar="[d]irectory")
    add("+crl", "--add-crl-file",
        "add certificate revocation list file\n(implies --enable-crl-vfy)",
        dest="tls_crl_files", action="append", metavar=_FILE)
    add("+crv", "--enable-crl-vfy", "enable leaf CRL verification", dest="tls_crl_check",
        const="leaf")
    add("+cra", "--enable-crl-all", "enable full chain CRL verification",
        dest="tls_crl_check", const="all")
    parser.add_subgroup("security profile")
    for short, long, const, text in (
        ("+py", "--profile-bcp195-nd", "bcp195-nd",
         "Non-downgrading BCP 195 TLS Profile (default)"),
        ("+px", "--profile-bcp195", "bcp195", "BCP 195 TLS Profile"),
        ("+pz", "--profile-bcp195-ex", "bcp195-ex", "Extended BCP 195 TLS Profile"),
        ("+pa", "--profile-aes", "aes",
         "AES TLS Secure Transport Connection Profile\n(retired)"),
        ("+pn", "--profile-null", "null",
         "Authenticated unencrypted communication\n(retired, was used in IHE ATNA)"),
    ):
        add(short, long, text, dest="tls_profile", const=const, default="bcp195-nd")
    parser.add_subgroup("ciphersuite")
    add("+cc", "--list-ciphers", "show list of supported TLS ciphersuites and exit",
        dest="tls_list_ciphers", exclusive=True)
    add("+cs", "--cipher",
        "add ciphersuite to list of negotiated suites\n(not with --profile-bcp195-ex)",
        dest="tls_ciphers", action="append", metavar="[c]iphersuite name")
    if acceptor:
        add("+dp", "--dhparam", "read DH parameters for DH/DSS ciphersuites",
            dest="tls_dhparam", metavar=_FILE)
    parser.add_subgroup("pseudo random generator")
    add("+rs", "--seed", "seed random generator with contents of f", dest="tls_seed",
        metavar=_FILE)
    add("+ws", "--write-seed", "write back modified seed (only with --seed)",
        dest="tls_write_seed")
    add("+wf", "--write-seed-file", "write modified seed to file f",
        dest="tls_write_seed_file", value_help="[f]ilename: string (only with --seed)",
        sets=("tls_write_seed", True))
    parser.add_subgroup("peer authentication")
    add("-rc", "--require-peer-cert", "verify peer certificate, fail if absent (default)",
        dest="tls_peer_cert", const="require", default="require")
    if acceptor:
        add("-vc", "--verify-peer-cert", "verify peer certificate if present",
            dest="tls_peer_cert", const="verify")
    add("-ic", "--ignore-peer-cert", "don't verify peer certificate", dest="tls_peer_cert",
        const="ignore")
    if offline_verification:
        parser.add_subgroup("offline certificate verification")
        add("+vc", "--verify-cert", "verify certificate against CA settings",
            dest="tls_verify_cert", metavar=_FILE, exclusive=True)
        add("+rc", "--is-root-cert", "check if certificate is self-signed root CA",
            dest="tls_is_root_cert", metavar=_FILE, exclusive=True)
    tls_names = [o.long for o in parser.options if o.dest.startswith("tls") and o.long]
    parser.add_check(_tls_dependency_check(tls_names, acceptor))


def _tls_dependency_check(names: list[str], acceptor: bool) -> _Check:
    needs = "--enable-tls" if acceptor else "--enable-tls or --anonymous-tls"

    def check(ns: argparse.Namespace, given: Sequence[str]) -> None:
        used = set(given)
        for name in names:
            if name not in used or name in _TLS_FREE:
                continue
            if name in _PASSWORD_OPTIONS and ns.tls != "enable":
                raise CommandLineError(f"{name} only allowed with --enable-tls")
            if ns.tls == "disable":
                raise CommandLineError(f"{name} only allowed with {needs}")
            if name in _ONLY_WITH_SEED and ns.tls_seed is None:
                raise CommandLineError(f"{name} only allowed with --seed")
            if name == "--cipher" and ns.tls_profile == "bcp195-ex":
                raise CommandLineError("--cipher not allowed with --profile-bcp195-ex")

    return check


def reject_unsupported_tls(ns: argparse.Namespace, log: Any) -> int | None:
    """Refuse TLS until dicomwire implements it.

    When the command line asks for TLS (``+tls``/``+tla`` in effect) or for
    a TLS-only action (``+cc``, ``+vc``, ``+rc``), logs the fatal message
    ``TLS is not yet supported by dicomwire`` on ``log`` and returns exit code
    1, which is what DCMTK's tools return when their TLS layer cannot be set
    up.  Returns None when there is nothing to refuse.  (Other TLS options
    without ``+tls`` were already rejected by the parser, as DCMTK does.)
    """
    wanted = getattr(ns, "tls", "disable") not in (None, "disable") or any(
        getattr(ns, dest, None) for dest in ("tls_list_ciphers", "tls_verify_cert", "tls_is_root_cert")
    )
    if not wanted:
        return None
    log.fatal(TLS_UNSUPPORTED_MESSAGE)
    return EXIT_COMMANDLINE_SYNTAX_ERROR


# -- settings ----------------------------------------------------------------------

_FOREVER = 2**31  # seconds; anything longer is "unlimited"


def _seconds(value: Any, *, zero_is_none: bool = False) -> float | None:
    if value is None:
        return None
    seconds = int(value)
    if seconds >= _FOREVER or (zero_is_none and seconds <= 0):
        return None
    return float(seconds)


@dataclass(frozen=True)
class NetworkSettings:
    """The common network settings of a tool, in library units.

    ``ae_title`` is our own AE title (``-aet``: the calling AE title of an
    SCU, the title an SCP answers to); ``called_ae_title`` is the peer's
    (``-aec``; None for tools without it).  Timeouts are seconds, None means
    no limit.
    """

    ae_title: str
    called_ae_title: str | None = None
    connect_timeout: float | None = None
    socket_timeout: float | None = 60.0
    acse_timeout: float | None = 30.0
    dimse_timeout: float | None = None
    max_pdu: int = 16384
    max_send_pdu: int | None = None

    @property
    def calling_ae_title(self) -> str:
        return self.ae_title


def _ae_title(value: Any) -> str | None:
    return None if value is None else str(value)[:AE_TITLE_MAX]


def network_settings(ns: argparse.Namespace, *, default_ae_title: str = "ANY-SCU") -> NetworkSettings:
    """Build :class:`NetworkSettings` from a namespace of the shared options.

    AE titles are cut to 16 characters without a word (DCMTK does the same);
    ``-ts 0`` (or negative) means no socket timeout; options a tool does
    not have take the DCMTK defaults.
    """
    max_pdu = getattr(ns, "max_pdu", None)
    return NetworkSettings(
        ae_title=_ae_title(getattr(ns, "ae_title", None)) or default_ae_title,
        called_ae_title=_ae_title(getattr(ns, "called_ae_title", None)),
        connect_timeout=_seconds(getattr(ns, "connect_timeout", None)),
        socket_timeout=_seconds(getattr(ns, "socket_timeout", 60), zero_is_none=True),
        acse_timeout=_seconds(getattr(ns, "acse_timeout", 30)),
        dimse_timeout=_seconds(getattr(ns, "dimse_timeout", None)),
        max_pdu=16384 if max_pdu is None else int(max_pdu),
        max_send_pdu=getattr(ns, "max_send_pdu", None),
    )


# -- running a tool ----------------------------------------------------------------------


def run_tool(
    parser: DcmtkParser,
    run: Callable[[argparse.Namespace], Awaitable[int]],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse, refuse TLS, run ``run(ns)`` under asyncio, always clean up logging.

    Returns the exit code (never raises SystemExit).  A
    :class:`CommandLineExit` raised inside ``run`` (e.g. via
    ``parser.error``) returns its code; Ctrl-C returns 130 quietly.
    """
    try:
        ns = parser.parse_args(argv)
        refused = reject_unsupported_tls(ns, cli_logging.app_logger(parser.prog))
        if refused is not None:
            return refused
        return run_event_loop(_as_coroutine(run, ns))
    except CommandLineExit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        cli_logging.shutdown_logging()


def run_event_loop(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run a tool's coroutine on uvloop when it is installed (faster), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def _as_coroutine(
    run: Callable[[argparse.Namespace], Awaitable[int]], ns: argparse.Namespace
) -> int:
    return await run(ns)
