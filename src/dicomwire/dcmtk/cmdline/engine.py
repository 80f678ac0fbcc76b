"""The DCMTK command-line engine: :class:`DcmtkParser` and ``@file`` expansion.

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

The API (used through :mod:`dicomwire.dcmtk.cmdline.options`, which re-exports it, with
the value types of :mod:`dicomwire.dcmtk.cmdline.values`; help and version texts
come from :mod:`dicomwire.dcmtk.cmdline.help`):

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
what DCMTK prints.  With :func:`~dicomwire.dcmtk.cmdline.options.add_general_options` it
also configures logging (``cli.logging.setup_logging``) and echoes
``--arguments``, at the point where DCMTK does.  Order of checks, as DCMTK: unknown option / missing
value, then ``-h`` (beats ``--version``), parameter count, parameter values,
``-ll``/``-lc``, ``--arguments`` echo, option values (rightmost occurrence,
definition order), then ``add_check`` functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from dicomwire._records import record
from dicomwire.dcmtk import log as cli_logging
from dicomwire.dcmtk.cmdline.help import dicomwire_version, format_help, format_version
from dicomwire.dcmtk.cmdline.values import (
    EXIT_COMMANDLINE_SYNTAX_ERROR,
    EXIT_NO_ERROR,
    CommandLineError,
    CommandLineExit,
    InvalidValue,
    Option,
    Param,
    String,
    ValueType,
)

__all__ = ["Check", "DcmtkParser", "expand_command_files"]


_VALUE_ACTIONS = frozenset({"store", "append"})
_ACTIONS = frozenset(
    {"store", "append", "store_const", "store_true", "store_false", "count", "help", "version"}
)


@record(frozen=True)
class _Occurrence:
    option: Option
    values: tuple[str, ...]


#: An ``add_check`` function: ``check(ns, given)``, raising :class:`CommandLineError`.
Check = Callable[[argparse.Namespace, Sequence[str]], None]


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


def typed_program_name(argv0: str, prog: str) -> str:
    """The program name as the user typed it, which DCMTK's ``--arguments`` shows.

    The kernel hands an installed script its path as the shell resolved it, so
    ``echoscu`` found on ``PATH`` arrives as ``/venv/bin/echoscu``: when that is
    exactly what a ``PATH`` search for the bare name gives, the bare name was
    (almost certainly) typed.  ``python -m dicomwire.cli.echoscu`` arrives as
    the module's file: then the tool's own name."""
    if not argv0 or argv0 == "-c" or argv0.endswith(".py"):
        return prog
    directory, name = os.path.split(argv0)
    on_path = os.environ.get("PATH", "").split(os.pathsep)
    if directory in on_path and _which(name, on_path) == argv0:
        return name
    return argv0


def _which(name: str, directories: list[str]) -> str | None:
    """``shutil.which(name)`` (whose module costs every start-up 2 ms of imports)."""
    seen: set[str] = set()
    for directory in directories:
        if directory in seen:
            continue
        seen.add(directory)
        path = os.path.join(directory, name)
        if os.path.exists(path) and os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path):
            return path
    return None


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
        self.invoked_as = prog
        self.description = description
        self.no_arguments = no_arguments
        self.long_column = long_column
        self.short_column = short_column
        self.params: list[Param] = []
        self.options: list[Option] = []
        self._by_name: dict[str, Option] = {}
        self.layout: list[tuple[str, str | Option]] = []
        self._defaults: dict[str, Any] = {}
        self._checks: list[Check] = []
        self.logging_options = False
        # Set by tlsoptions.add_tls_options: "requestor"/"acceptor", and the exit code
        # of a TLS layer that cannot be set up (DCMTK: 1, dcmrecv 71).
        self.tls_role: str | None = None
        self.tls_setup_exit = 1
        self.tls_deferred = False  # the tool builds its TLS layer itself (tlsoptions.build_tls)

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
        self.layout.append(("group", title))

    def add_subgroup(self, title: str) -> None:
        """Start an indented heading (``  application entity titles:``)."""
        self.layout.append(("subgroup", title))

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
        self.layout.append(("option", option))
        return option

    def set_defaults(self, **values: Any) -> None:
        """Override the namespace defaults."""
        self._defaults.update(values)

    def add_check(self, check: Check) -> None:
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
        return format_version(self)

    def format_help(self) -> str:
        return format_help(self)

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
        """Parse a command line (default ``sys.argv[1:]``) as DCMTK would.

        ``--arguments`` names the program as typed (:func:`typed_program_name`)
        when the words come from ``sys.argv``, and by ``prog`` when given."""
        if argv is None:
            self.invoked_as = typed_program_name(sys.argv[0], self.prog)
            argv = sys.argv[1:]
        try:
            return self._parse(list(argv))
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
                raise CommandLineError("--log-config not allowed with --verbose, --debug or --quiet")
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
        return f"calling '{self.invoked_as}' with {len(args)} arguments: {quoted}\n"

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
                values = [_convert(option.type, raw, param=False, name=option.name) for raw in occ.values]
                converted[index] = values[0] if len(values) == 1 else tuple(values)
        for index, occ in enumerate(found):
            _apply(ns, occ.option, converted.get(index))


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
