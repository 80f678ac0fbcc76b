"""DCMTK-style logging for the command-line tools.

DCMTK's tools (oflog, a log4cplus derivative) log at six levels, print
``"<letter>: <text>"`` lines on stderr by default (``F: `` fatal, ``E: ``
error, ``W: `` warning, ``I: `` info, ``D: `` debug, ``T: `` trace), one prefix
per line of a multi-line message, and accept a log4cplus property file with
``-lc`` for anything fancier.  This module reproduces that on top of the
standard :mod:`logging` package: it installs and undoes the configuration;
the pieces live in :mod:`dicomwire.dcmtk.log.levels` (level numbers and names),
:mod:`dicomwire.dcmtk.log.layout` (PatternLayout, console and file handlers)
and :mod:`dicomwire.dcmtk.log.config` (reading a ``-lc`` file).

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
from dataclasses import field
from typing import TYPE_CHECKING, Any

from dicomwire._records import record
from dicomwire.dcmtk.log.layout import ConsoleHandler as ConsoleHandler
from dicomwire.dcmtk.log.layout import DailyRollingFileHandler as DailyRollingFileHandler
from dicomwire.dcmtk.log.layout import NullHandler, PatternFormatter
from dicomwire.dcmtk.log.layout import RollingFileHandler as RollingFileHandler
from dicomwire.dcmtk.log.layout import compile_pattern as compile_pattern
from dicomwire.dcmtk.log.levels import (
    DEBUG,
    ERROR,
    FATAL,
    INFO,
    LEVELS,
    OFF,
    ROOT_LOGGER,
    TRACE,
    WARN,
    LogConfigError,
)
from dicomwire.dcmtk.log.levels import DEFAULT_PATTERN as DEFAULT_PATTERN
from dicomwire.dcmtk.log.levels import level_name as level_name

# The log4cplus property file reader (-lc) loads only when a tool is given one.
if TYPE_CHECKING:
    from dicomwire.dcmtk.log.config import FilterChain as FilterChain

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


def __getattr__(name: str) -> Any:
    if name == "FilterChain":
        from dicomwire.dcmtk.log.config import FilterChain

        return FilterChain
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def app_logger(prog: str) -> _logging.Logger:
    """The logger of a tool: ``dicomwire.apps.<prog>``."""
    return _logging.getLogger(f"{ROOT_LOGGER}.apps.{prog}")


# -- installing and undoing ----------------------------------------------------


@record
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
    sink = NullHandler()  # keeps logging.lastResort quiet for unrouted records
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
    from dicomwire.dcmtk.log.config import read_config

    config = read_config(path, appname)
    root = _prepare_root()
    try:
        config.install(root, _touch)
    except LogConfigError:
        config.close_handlers()
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
