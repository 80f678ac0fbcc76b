"""The ``-lc`` file: a log4cplus property file turned into logging settings.

:func:`read_config` reads the file (``key = value`` lines, ``#`` comments),
substitutes ``${name}`` (other settings, oflog's predefined ``appname``,
``date``, ``time``, ``pid``, ``hostname``, then the environment) and returns
a :class:`Config`; :meth:`Config.install` builds the appenders (console,
file, rolling file, daily rolling file, null), their layouts (Simple, TTCC,
Pattern), thresholds and filter chains (level range, level match, string
match, deny all), then sets levels, appenders and additivity on the loggers.
Logger names may use DCMTK's hierarchy (``dcmtk.apps.echoscu`` means
``dicomwire.apps.echoscu``, ``log4cplus.rootLogger`` the ``dicomwire``
logger).  Any problem is a :class:`~dicomwire.dcmtk.log.levels.LogConfigError`
naming the file and line.  :func:`dicomwire.dcmtk.log.configure_from_file`
is the entry point: it owns what is installed and undoes it on failure.
"""

from __future__ import annotations

import logging as _logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dicomwire.dcmtk.log.layout import (
    SCHEDULES,
    ConsoleHandler,
    DailyRollingFileHandler,
    FileHandler,
    NullHandler,
    PatternFormatter,
    RollingFileHandler,
    hostname,
)
from dicomwire.dcmtk.log.levels import (
    DEBUG,
    ERROR,
    FATAL,
    INFO,
    OFF,
    ROOT_LOGGER,
    TRACE,
    WARN,
    LogConfigError,
    level_name,
)

__all__ = ["Config", "FilterChain", "read_config"]

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


_LAYOUTS: Mapping[str, Callable[[Mapping[str, str]], PatternFormatter]] = {
    "log4cplus::SimpleLayout": lambda _p: PatternFormatter("%p - %m%n", per_line=False),
    "log4cplus::TTCCLayout": lambda _p: PatternFormatter("%r [%t] %p %c <%x> - %m%n", per_line=False),
    "log4cplus::PatternLayout": lambda p: PatternFormatter(p.get("ConversionPattern", "%m%n"), per_line=True),
}


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
        raise LogConfigError(f"Cannot read --log-config file '{path}': {exc.strerror or exc}") from None
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
        "hostname": hostname(),
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


class Config:
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

    def install(self, root: _logging.Logger, touch: Callable[[_logging.Logger], _logging.Logger]) -> None:
        """Build the appenders, then configure ``root`` and the named loggers.

        ``touch`` records each logger configured besides ``root`` (so that
        it can be reset later) and returns it.
        """
        self.build_appenders()
        root.setLevel(DEBUG)
        if "log4cplus.rootLogger" in self.props:
            self.apply_logger(root, self.props["log4cplus.rootLogger"], is_root=True)
        for prefix, action in (("log4cplus.logger.", "logger"), ("log4cplus.additivity.", "add")):
            for key, prop in self.props.items():
                if not key.startswith(prefix) or len(key) == len(prefix):
                    continue
                logger = touch(_logging.getLogger(_map_logger_name(key[len(prefix) :])))
                if action == "logger":
                    self.apply_logger(logger, prop, is_root=logger is root)
                else:
                    logger.propagate = _bool(prop.value, True)

    def close_handlers(self) -> None:
        """Close every appender built so far (after a failed :meth:`install`)."""
        for handler in self.handlers.values():
            handler.close()


def read_config(path: str, appname: str) -> Config:
    """Read and expand the ``-lc`` file ``path``; ``appname`` is ``${appname}``."""
    return Config(path, _expand(_read_properties(path), appname))


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
    return FileHandler(options["File"], append=_bool(options.get("Append", "false"), False))


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
    if schedule not in SCHEDULES:
        raise ValueError(f"Schedule '{schedule}'")
    return DailyRollingFileHandler(options["File"], schedule)


_APPENDERS: Mapping[str, Callable[[Mapping[str, str]], _logging.Handler]] = {
    "log4cplus::ConsoleAppender": _console,
    "log4cplus::FileAppender": _file,
    "log4cplus::RollingFileAppender": _rolling,
    "log4cplus::DailyRollingFileAppender": _daily,
    "log4cplus::NullAppender": lambda _o: NullHandler(),
}
