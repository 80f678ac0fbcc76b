"""DCMTK-style logging for the command-line tools.

DCMTK's tools (oflog, a log4cplus derivative) log at six levels, print
``"<letter>: <text>"`` lines on stderr by default (``F: `` fatal, ``E: ``
error, ``W: `` warning, ``I: `` info, ``D: `` debug, ``T: `` trace), one prefix
per line of a multi-line message, and accept a log4cplus property file with
``-lc`` for anything fancier.  This module reproduces that on top of the
standard :mod:`logging` package.

Everything in dicomwire logs through ``logging.getLogger("dicomwire....")``;
the command line configures only that tree (never the Python root logger).

Public API::

    TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF   # level numbers (TRACE = 5)
    LEVELS                                        # "-ll" names -> numbers
    ROOT_LOGGER                                   # "dicomwire"
    app_logger(prog) -> logging.Logger            # "dicomwire.apps.<prog>"
    setup_logging(ns, prog) -> logging.Logger     # from -q/-v/-d/-ll/-lc
    configure_console(level)                      # the default "X: " lines
    configure_from_file(path, appname)            # a log4cplus .cfg file
    shutdown_logging()                            # undo, close files
    log_always(message, level=INFO)               # bypass the level check
    PatternFormatter(pattern, per_line=True)      # log4cplus ConversionPattern
    LogConfigError                                # bad -ll/-lc (message text)

``setup_logging`` reads ``ns.verbosity`` (``"fatal"``/``"info"``/``"debug"``
from -q/-v/-d), ``ns.log_level`` (-ll) and ``ns.log_config`` (-lc); missing
attributes count as not given.  It is idempotent: calling it again with the
same choices does nothing, calling it with other choices first removes what
the previous call installed, so handlers never accumulate.

While configured, the ``dicomwire`` logger does not propagate to the Python
root logger (so the CLI owns the output; tests read it with ``capsys``, not
``caplog``).  Console handlers look ``sys.stderr``/``sys.stdout`` up at each
record, so redirecting those works.

Logger names in a ``-lc`` file may use DCMTK's hierarchy: ``dcmtk.apps.echoscu``
means ``dicomwire.apps.echoscu`` and ``log4cplus.rootLogger`` means the
``dicomwire`` logger.  Differences from DCMTK, deliberately: an unknown
appender or layout class, an appender referenced but never defined, an invalid
level name or a log file that cannot be opened is an error
(:class:`LogConfigError`, the tool exits 1) where log4cplus prints a complaint
and carries on with logging half configured.
"""

from __future__ import annotations

import logging as _logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "LEVELS",
    "OFF",
    "ROOT_LOGGER",
    "TRACE",
    "WARN",
    "LogConfigError",
    "PatternFormatter",
    "app_logger",
    "configure_console",
    "configure_from_file",
    "level_from_namespace",
    "log_always",
    "setup_logging",
    "shutdown_logging",
]

TRACE = 5
DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARNING
ERROR = _logging.ERROR
FATAL = _logging.CRITICAL
OFF = FATAL + 10

#: Level names accepted by ``-ll`` (case-insensitive), as DCMTK 3.6.7 does.
LEVELS: Mapping[str, int] = {
    "fatal": FATAL,
    "error": ERROR,
    "warn": WARN,
    "info": INFO,
    "debug": DEBUG,
    "trace": TRACE,
    "all": TRACE,
    "off": OFF,
}

ROOT_LOGGER = "dicomwire"
DEFAULT_PATTERN = "%P: %m%n"

_CONFIG_LEVELS: Mapping[str, int] = {
    "TRACE": TRACE,
    "DEBUG": DEBUG,
    "INFO": INFO,
    "WARN": WARN,
    "ERROR": ERROR,
    "FATAL": FATAL,
    "OFF": OFF,
    "ALL": 1,
    "NOTSET": _logging.NOTSET,
    "INHERIT": _logging.NOTSET,
    "": _logging.NOTSET,
}


class LogConfigError(Exception):
    """A logging choice or configuration file is unusable; str() is the message."""


def level_name(levelno: int) -> str:
    """The DCMTK name of a Python level number (nearest level at or below)."""
    if levelno >= FATAL:
        return "FATAL"
    if levelno >= ERROR:
        return "ERROR"
    if levelno >= WARN:
        return "WARN"
    if levelno >= INFO:
        return "INFO"
    if levelno >= DEBUG:
        return "DEBUG"
    return "TRACE"


def app_logger(prog: str) -> _logging.Logger:
    """The logger of a tool: ``dicomwire.apps.<prog>``."""
    return _logging.getLogger(f"{ROOT_LOGGER}.apps.{prog}")


# -- PatternLayout -------------------------------------------------------------

_Render = Callable[[_logging.LogRecord, str], str]


def _hostname() -> str:
    return socket.gethostname()


_FQDN: list[str] = []


def _fqdn() -> str:
    if not _FQDN:
        _FQDN.append(socket.getfqdn())
    return _FQDN[0]


def _strftime(fmt: str, record: _logging.LogRecord, utc: bool) -> str:
    msecs = record.msecs

    def sub(match: re.Match[str]) -> str:
        ch = match.group(1)
        if ch == "q":
            return f"{int(msecs):03d}"
        if ch == "Q":
            return f"{msecs:07.3f}"
        return match.group(0)

    tm = time.gmtime(record.created) if utc else time.localtime(record.created)
    return time.strftime(re.sub(r"%(.)", sub, fmt), tm)


def _date(option: str | None, utc: bool) -> _Render:
    fmt = option if option else "%Y-%m-%d %H:%M:%S"
    return lambda r, _line: _strftime(fmt, r, utc)


def _logger_name(option: str | None) -> _Render:
    if option and option.isdigit() and int(option) > 0:
        keep = int(option)
        return lambda r, _line: ".".join(r.name.split(".")[-keep:])
    return lambda r, _line: r.name


_SIMPLE: dict[str, _Render] = {
    "m": lambda _r, line: line,
    "n": lambda _r, _line: "\n",
    "p": lambda r, _line: level_name(r.levelno),
    "P": lambda r, _line: level_name(r.levelno)[0],
    "i": lambda r, _line: str(r.process),
    "t": lambda r, _line: str(r.thread),
    "T": lambda _r, _line: str(threading.get_native_id()),
    "r": lambda r, _line: str(int(r.relativeCreated)),
    "h": lambda _r, _line: _hostname(),
    "H": lambda _r, _line: _fqdn(),
    "x": lambda _r, _line: "",
    "X": lambda _r, _line: "",
    "F": lambda r, _line: r.pathname,
    "b": lambda r, _line: r.filename,
    "L": lambda r, _line: str(r.lineno),
    "l": lambda r, _line: f"{r.pathname}:{r.lineno}",
    "M": lambda r, _line: r.funcName,
}


def _converter(ch: str, option: str | None) -> _Render | None:
    if ch in ("d", "D"):
        return _date(option, utc=ch == "d")
    if ch == "c":
        return _logger_name(option)
    return _SIMPLE.get(ch)


def _constant(text: str) -> _Render:
    return lambda _r, _line: text


def _sized(render: _Render, left: bool, minimum: int, maximum: int) -> _Render:
    """log4cplus width rules: too long is cut from the left, else padded."""
    if not minimum and not maximum:
        return render

    def sized(record: _logging.LogRecord, line: str) -> str:
        text = render(record, line)
        if maximum and len(text) > maximum:
            return text[len(text) - maximum :]
        if minimum and len(text) < minimum:
            return text.ljust(minimum) if left else text.rjust(minimum)
        return text

    return sized


_SPEC = re.compile(r"%(-?)(\d*)(?:\.(\d+))?(.)?")


def compile_pattern(pattern: str) -> list[_Render]:
    """Compile a log4cplus ConversionPattern into a list of render functions.

    Unknown conversion characters are kept literally, as log4cplus does.
    """
    parts: list[_Render] = []
    literal: list[str] = []
    pos = 0
    while pos < len(pattern):
        if pattern[pos] != "%":
            literal.append(pattern[pos])
            pos += 1
            continue
        spec = _SPEC.match(pattern, pos)
        assert spec is not None  # the pattern always matches at a '%'
        end = spec.end()
        ch = spec.group(4)
        option: str | None = None
        if ch is not None and end < len(pattern) and pattern[end] == "{":
            close = pattern.find("}", end)
            if close != -1:
                option, end = pattern[end + 1 : close], close + 1
        render = _converter(ch, option) if ch else None
        if ch == "%":
            literal.append("%")
        elif render is None:
            literal.append(pattern[pos:end])
        else:
            if literal:
                parts.append(_constant("".join(literal)))
                literal = []
            left = spec.group(1) == "-"
            minimum = int(spec.group(2) or 0)
            maximum = int(spec.group(3) or 0)
            parts.append(_sized(render, left, minimum, maximum))
        pos = end
    if literal:
        parts.append(_constant("".join(literal)))
    return parts


class PatternFormatter(_logging.Formatter):
    """A :class:`logging.Formatter` driven by a log4cplus ConversionPattern.

    With ``per_line`` (DCMTK's PatternLayout) the whole pattern is repeated
    for every line of a multi-line message, so each line gets its prefix.
    The formatted text carries its own line ends (``%n``): handlers created
    here write it without adding a terminator.
    """

    def __init__(self, pattern: str = DEFAULT_PATTERN, *, per_line: bool = True) -> None:
        super().__init__()
        self.pattern = pattern
        self.per_line = per_line
        self._parts = compile_pattern(pattern)

    def _render(self, record: _logging.LogRecord, text: str) -> str:
        return "".join([part(record, text) for part in self._parts])

    def format(self, record: _logging.LogRecord) -> str:
        message = record.getMessage()
        if not self.per_line:
            return self._render(record, message)
        return "".join([self._render(record, line) for line in message.split("\n")])


_LAYOUTS: Mapping[str, Callable[[Mapping[str, str]], PatternFormatter]] = {
    "log4cplus::SimpleLayout": lambda _p: PatternFormatter("%p - %m%n", per_line=False),
    "log4cplus::TTCCLayout": lambda _p: PatternFormatter(
        "%r [%t] %p %c <%x> - %m%n", per_line=False
    ),
    "log4cplus::PatternLayout": lambda p: PatternFormatter(
        p.get("ConversionPattern", "%m%n"), per_line=True
    ),
}


# -- handlers ------------------------------------------------------------------


class _Quiet:
    """Mixin: a failing log write never prints a Python traceback."""

    def handleError(self, record: _logging.LogRecord) -> None:
        return None


class ConsoleHandler(_Quiet, _logging.Handler):
    """Writes to whatever ``sys.stderr`` (or ``sys.stdout``) is at emit time."""

    def __init__(self, to_stderr: bool = True) -> None:
        super().__init__()
        self.to_stderr = to_stderr

    def emit(self, record: _logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stream: TextIO = sys.stderr if self.to_stderr else sys.stdout
            stream.write(text)
            stream.flush()
        except Exception:
            self.handleError(record)


class _FileHandler(_Quiet, _logging.FileHandler):
    def __init__(self, filename: str, append: bool) -> None:
        super().__init__(filename, mode="a" if append else "w", encoding="utf-8")
        self.terminator = ""


class RollingFileHandler(_FileHandler):
    """log4cplus RollingFileAppender: roll once the file has grown past the limit.

    The check happens right after a write (so a file ends slightly above the
    limit, as with log4cplus); ``file.1`` is the newest backup.  With zero
    backups the file is truncated instead.
    """

    def __init__(self, filename: str, max_bytes: int, backups: int) -> None:
        super().__init__(filename, append=True)
        self.max_bytes = max_bytes
        self.backups = backups

    def emit(self, record: _logging.LogRecord) -> None:
        super().emit(record)
        try:
            if self.stream is not None and self.stream.tell() > self.max_bytes:
                self._roll()
        except OSError:
            self.handleError(record)

    def _roll(self) -> None:
        if self.stream is not None:
            self.stream.close()
        base = self.baseFilename
        if self.backups > 0:
            for index in range(self.backups - 1, 0, -1):
                source = f"{base}.{index}"
                if os.path.exists(source):
                    os.replace(source, f"{base}.{index + 1}")
            os.replace(base, f"{base}.1")
            self.stream = self._open()
        else:
            self.mode = "w"
            self.stream = self._open()
            self.mode = "a"


_SCHEDULES: Mapping[str, str] = {
    "MONTHLY": "%Y-%m",
    "WEEKLY": "%Y-%W",
    "DAILY": "%Y-%m-%d",
    "TWICE_DAILY": "%Y-%m-%d-%p",
    "HOURLY": "%Y-%m-%d-%H",
    "MINUTELY": "%Y-%m-%d-%H-%M",
}


class DailyRollingFileHandler(_FileHandler):
    """log4cplus DailyRollingFileAppender (best effort).

    When the schedule period changes the file is renamed to
    ``<file>.<period>`` (period formatted as log4cplus does, e.g.
    ``%Y-%m-%d`` for DAILY) and a new file is started.  Old periods are
    not pruned.
    """

    def __init__(self, filename: str, schedule: str) -> None:
        super().__init__(filename, append=True)
        self.period_format = _SCHEDULES[schedule]
        self.period = self._period_of(time.time())

    def _period_of(self, when: float) -> str:
        return time.strftime(self.period_format, time.localtime(when))

    def emit(self, record: _logging.LogRecord) -> None:
        period = self._period_of(record.created)
        if period != self.period:
            try:
                if self.stream is not None:
                    self.stream.close()
                os.replace(self.baseFilename, f"{self.baseFilename}.{self.period}")
                self.stream = self._open()
            except OSError:
                self.handleError(record)
            self.period = period
        super().emit(record)


class _NullHandler(_logging.NullHandler):
    pass


# -- filters -------------------------------------------------------------------

_ACCEPT, _NEUTRAL, _DENY = 1, 0, -1
_Rule = Callable[[_logging.LogRecord], int]


def _bool(text: str, default: bool) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return default


class FilterChain(_logging.Filter):
    """log4cplus filter chain: the first filter that is not neutral decides."""

    def __init__(self, rules: list[_Rule]) -> None:
        super().__init__()
        self.rules = rules

    def filter(self, record: _logging.LogRecord) -> bool:
        for rule in self.rules:
            verdict = rule(record)
            if verdict != _NEUTRAL:
                return verdict == _ACCEPT
        return True


def _range_filter(props: Mapping[str, str], level: Callable[[str], int]) -> _Rule:
    low = level(props.get("LogLevelMin", "ALL"))
    high = level(props.get("LogLevelMax", "OFF"))
    accept = _bool(props.get("AcceptOnMatch", "true"), True)

    def rule(record: _logging.LogRecord) -> int:
        if record.levelno < low or record.levelno > high:
            return _DENY
        return _ACCEPT if accept else _NEUTRAL

    return rule


def _match_filter(props: Mapping[str, str], level: Callable[[str], int]) -> _Rule:
    wanted = level(props.get("LogLevelToMatch", "NOTSET"))
    accept = _bool(props.get("AcceptOnMatch", "true"), True)

    def rule(record: _logging.LogRecord) -> int:
        if level_name(record.levelno) != level_name(wanted):
            return _NEUTRAL
        return _ACCEPT if accept else _DENY

    return rule


def _string_filter(props: Mapping[str, str], _level: Callable[[str], int]) -> _Rule:
    needle = props.get("StringToMatch", "")
    accept = _bool(props.get("AcceptOnMatch", "true"), True)

    def rule(record: _logging.LogRecord) -> int:
        message = record.getMessage()
        if not needle or not message or needle not in message:
            return _NEUTRAL
        return _ACCEPT if accept else _DENY

    return rule


_FILTERS: Mapping[str, Callable[[Mapping[str, str], Callable[[str], int]], _Rule]] = {
    "log4cplus::spi::LogLevelRangeFilter": _range_filter,
    "log4cplus::spi::LogLevelMatchFilter": _match_filter,
    "log4cplus::spi::StringMatchFilter": _string_filter,
    "log4cplus::spi::DenyAllFilter": lambda _p, _l: lambda _r: _DENY,
}


# -- the property file ---------------------------------------------------------


@dataclass(frozen=True)
class _Prop:
    value: str
    line: int


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _read_properties(path: str) -> dict[str, _Prop]:
    file = Path(path)
    if not file.is_file():
        raise LogConfigError("Specified --log-config file does not exist")
    try:
        text = file.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LogConfigError(
            f"Cannot read --log-config file '{path}': {exc.strerror or exc}"
        ) from None
    props: dict[str, _Prop] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and key.strip():
            props[key.strip()] = _Prop(value.strip(), number)
    if not props:
        raise LogConfigError("Specified --log-config file does not contain any settings")
    return props


def _predefined(appname: str) -> dict[str, str]:
    now = time.localtime()
    return {
        "appname": appname,
        "date": time.strftime("%Y%m%d", now),
        "time": time.strftime("%H%M%S", now),
        "pid": str(os.getpid()),
        "hostname": _hostname(),
    }


def _expand(props: dict[str, _Prop], appname: str) -> dict[str, _Prop]:
    """Substitute ``${name}``: other settings, oflog's predefined names, environment."""
    predefined = _predefined(appname)

    def value_of(name: str, depth: int) -> str | None:
        if name in props:
            return substitute(props[name].value, depth + 1)
        if name in predefined:
            return predefined[name]
        return os.environ.get(name)

    def substitute(text: str, depth: int) -> str:
        if depth > 16:
            return text

        def one(match: re.Match[str]) -> str:
            found = value_of(match.group(1), depth)
            return match.group(0) if found is None else found

        return _VARIABLE.sub(one, text)

    return {key: _Prop(substitute(p.value, 0), p.line) for key, p in props.items()}


class _Config:
    """One parsed ``-lc`` file, turned into handlers and logger settings."""

    def __init__(self, path: str, props: dict[str, _Prop]) -> None:
        self.path = path
        self.props = props
        self.handlers: dict[str, _logging.Handler] = {}

    def fail(self, line: int, message: str) -> LogConfigError:
        return LogConfigError(f"--log-config file '{self.path}', line {line}: {message}")

    def subset(self, prefix: str) -> dict[str, str]:
        return {k[len(prefix) :]: p.value for k, p in self.props.items() if k.startswith(prefix)}

    def level(self, text: str, line: int) -> int:
        try:
            return _CONFIG_LEVELS[text.strip().upper()]
        except KeyError:
            raise self.fail(line, f"invalid log level '{text.strip()}'") from None

    def level_parser(self, line: int) -> Callable[[str], int]:
        return lambda text: self.level(text, line)

    def build_appenders(self) -> None:
        prefix = "log4cplus.appender."
        for key, prop in self.props.items():
            name = key[len(prefix) :]
            if key.startswith(prefix) and name and "." not in name:
                handler = self.make_handler(name, prop)
                handler._dicomwire_cli = True  # type: ignore[attr-defined]
                self.handlers[name] = handler

    def make_handler(self, name: str, prop: _Prop) -> _logging.Handler:
        options = self.subset(f"log4cplus.appender.{name}.")
        factory = _APPENDERS.get(prop.value)
        if factory is None:
            raise self.fail(prop.line, f"unknown appender class '{prop.value}'")
        try:
            handler = factory(options)
        except OSError as exc:
            file_prop = self.props.get(f"log4cplus.appender.{name}.File", prop)
            raise self.fail(
                file_prop.line, f"cannot open log file '{file_prop.value}': {exc.strerror or exc}"
            ) from None
        except (KeyError, ValueError) as exc:
            raise self.fail(prop.line, f"invalid setting for appender '{name}': {exc}") from None
        handler.setFormatter(self.make_layout(name, options))
        if "Threshold" in options:
            line = self.props[f"log4cplus.appender.{name}.Threshold"].line
            handler.setLevel(self.level(options["Threshold"], line))
        rules = self.make_filters(name, options)
        if rules:
            handler.addFilter(FilterChain(rules))
        return handler

    def make_layout(self, name: str, options: Mapping[str, str]) -> PatternFormatter:
        kind = options.get("layout", "log4cplus::SimpleLayout")
        factory = _LAYOUTS.get(kind)
        if factory is None:
            line = self.props[f"log4cplus.appender.{name}.layout"].line
            raise self.fail(line, f"unknown layout class '{kind}'")
        return factory(self.subset(f"log4cplus.appender.{name}.layout."))

    def make_filters(self, name: str, options: Mapping[str, str]) -> list[_Rule]:
        numbered = sorted(
            (int(k.split(".")[1]), k)
            for k in options
            if k.startswith("filters.") and k.count(".") == 1 and k.split(".")[1].isdigit()
        )
        rules: list[_Rule] = []
        for number, key in numbered:
            kind = options[key]
            factory = _FILTERS.get(kind)
            line = self.props[f"log4cplus.appender.{name}.{key}"].line
            if factory is None:
                raise self.fail(line, f"unknown filter class '{kind}'")
            settings = self.subset(f"log4cplus.appender.{name}.filters.{number}.")
            settings = {k[:1].upper() + k[1:]: v for k, v in settings.items()}
            rules.append(factory(settings, self.level_parser(line)))
        return rules

    def apply_logger(self, logger: _logging.Logger, prop: _Prop, is_root: bool) -> None:
        level_text, *names = [part.strip() for part in prop.value.split(",")]
        level = self.level(level_text, prop.line)
        if is_root and level == _logging.NOTSET:
            level = DEBUG  # log4cplus' root logger defaults to DEBUG
        logger.setLevel(level)
        for name in filter(None, names):
            handler = self.handlers.get(name)
            if handler is None:
                raise self.fail(prop.line, f"appender '{name}' is not defined")
            logger.addHandler(handler)


def _map_logger_name(name: str) -> str:
    """``dcmtk.x`` -> ``dicomwire.x``; names outside both trees go under dicomwire."""
    if name == "dcmtk" or name.startswith("dcmtk."):
        return ROOT_LOGGER + name[len("dcmtk") :]
    if name == ROOT_LOGGER or name.startswith(ROOT_LOGGER + "."):
        return name
    return f"{ROOT_LOGGER}.{name}"


def _console(options: Mapping[str, str]) -> _logging.Handler:
    # log4cplus property names are case-sensitive: "logToStdErr".
    return ConsoleHandler(to_stderr=_bool(options.get("logToStdErr", "false"), False))


def _file(options: Mapping[str, str]) -> _logging.Handler:
    return _FileHandler(options["File"], append=_bool(options.get("Append", "false"), False))


_MIN_ROLLING_SIZE = 200 * 1024  # log4cplus refuses anything smaller


def _file_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*(KB|MB)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"MaxFileSize '{text}'")
    factor = {"": 1, "KB": 1024, "MB": 1024 * 1024}[(match.group(2) or "").upper()]
    return max(int(match.group(1)) * factor, _MIN_ROLLING_SIZE)


def _rolling(options: Mapping[str, str]) -> _logging.Handler:
    size = _file_size(options.get("MaxFileSize", "10MB"))
    backups = int(options.get("MaxBackupIndex", "1"))
    return RollingFileHandler(options["File"], size, max(backups, 0))


def _daily(options: Mapping[str, str]) -> _logging.Handler:
    schedule = options.get("Schedule", "DAILY").strip().upper()
    if schedule not in _SCHEDULES:
        raise ValueError(f"Schedule '{schedule}'")
    return DailyRollingFileHandler(options["File"], schedule)


_APPENDERS: Mapping[str, Callable[[Mapping[str, str]], _logging.Handler]] = {
    "log4cplus::ConsoleAppender": _console,
    "log4cplus::FileAppender": _file,
    "log4cplus::RollingFileAppender": _rolling,
    "log4cplus::DailyRollingFileAppender": _daily,
    "log4cplus::NullAppender": lambda _o: _NullHandler(),
}


# -- installing and undoing ----------------------------------------------------


@dataclass
class _State:
    """What the last setup installed, so the next one (or shutdown) can undo it."""

    key: tuple[Any, ...] | None = None
    touched: list[_logging.Logger] = field(default_factory=list)


_STATE = _State()


def _touch(logger: _logging.Logger) -> _logging.Logger:
    if logger not in _STATE.touched:
        _STATE.touched.append(logger)
    return logger


def shutdown_logging() -> None:
    """Remove and close every handler the CLI installed; reset levels."""
    closed: set[int] = set()
    for logger in _STATE.touched:
        for handler in list(logger.handlers):
            if getattr(handler, "_dicomwire_cli", False):
                logger.removeHandler(handler)
                if id(handler) not in closed:
                    closed.add(id(handler))
                    handler.close()
        logger.setLevel(_logging.NOTSET)
        logger.propagate = True
    _STATE.touched.clear()
    _STATE.key = None


def _prepare_root() -> _logging.Logger:
    shutdown_logging()
    root = _touch(_logging.getLogger(ROOT_LOGGER))
    root.propagate = False
    sink = _NullHandler()  # keeps logging.lastResort quiet for unrouted records
    sink._dicomwire_cli = True  # type: ignore[attr-defined]
    root.addHandler(sink)
    return root


def configure_console(level: int, *, pattern: str = DEFAULT_PATTERN) -> None:
    """DCMTK's default: ``"X: message"`` lines on stderr at ``level`` and above."""
    root = _prepare_root()
    root.setLevel(level)
    handler = ConsoleHandler(to_stderr=True)
    handler.setFormatter(PatternFormatter(pattern))
    handler._dicomwire_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def configure_from_file(path: str, appname: str) -> None:
    """Configure the dicomwire logger tree from a log4cplus property file.

    Raises :class:`LogConfigError` (nothing is left installed) on any problem.
    """
    config = _Config(path, _expand(_read_properties(path), appname))
    root = _prepare_root()
    try:
        config.build_appenders()
        root.setLevel(DEBUG)
        if "log4cplus.rootLogger" in config.props:
            config.apply_logger(root, config.props["log4cplus.rootLogger"], is_root=True)
        for prefix, action in (("log4cplus.logger.", "logger"), ("log4cplus.additivity.", "add")):
            for key, prop in config.props.items():
                if not key.startswith(prefix) or len(key) == len(prefix):
                    continue
                logger = _touch(_logging.getLogger(_map_logger_name(key[len(prefix) :])))
                if action == "logger":
                    config.apply_logger(logger, prop, is_root=logger is root)
                else:
                    logger.propagate = _bool(prop.value, True)
    except LogConfigError:
        for handler in config.handlers.values():
            handler.close()
        shutdown_logging()
        raise


def level_from_namespace(ns: object) -> int:
    """The console level chosen by -q/-v/-d/-ll (default: warn)."""
    chosen = getattr(ns, "log_level", None)
    if chosen is not None:
        try:
            return LEVELS[str(chosen).lower()]
        except KeyError:
            raise LogConfigError("Invalid log level for --log-level option") from None
    verbosity = getattr(ns, "verbosity", None)
    if verbosity is not None:
        return LEVELS[str(verbosity)]
    return WARN


def setup_logging(ns: object, prog: str) -> _logging.Logger:
    """Configure the ``dicomwire`` logger tree from a parsed command line.

    Returns the tool's logger (``dicomwire.apps.<prog>``).  Raises
    :class:`LogConfigError` for an invalid level or ``-lc`` file.
    """
    config = getattr(ns, "log_config", None)
    level = level_from_namespace(ns)
    key: tuple[Any, ...]
    if config is not None:
        try:
            stamp: float | None = os.stat(config).st_mtime
        except OSError:
            stamp = None
        key = (prog, "file", os.path.abspath(config), stamp)
    else:
        key = (prog, "console", level)
    if _STATE.key != key:
        if config is not None:
            configure_from_file(config, appname=prog)
        else:
            configure_console(level)
        _STATE.key = key
    return app_logger(prog)


def log_always(message: str, level: int = INFO) -> None:
    """Log on the dicomwire root logger whatever its level (DCMTK's --arguments).

    Appender thresholds and filters still apply.
    """
    root = _logging.getLogger(ROOT_LOGGER)
    record = root.makeRecord(root.name, level, "(command line)", 0, message, (), None)
    root.handle(record)
