"""DCMTK's log levels and the names the CLI logging shares.

The level numbers (``TRACE`` = 5 below Python's ``DEBUG``, ``OFF`` above
``CRITICAL``), the ``-ll`` names, :func:`level_name` (the DCMTK name of a
Python level), the ``dicomwire`` root logger name, the default ``"X: "``
pattern and :class:`LogConfigError`.  Imports nothing from dicomwire, so the
other logging modules can all use it; tools get these names from
:mod:`dicomwire.dcmtk.log`, which re-exports them.
"""

from __future__ import annotations

import logging as _logging
from collections.abc import Mapping

__all__ = [
    "DEBUG",
    "DEFAULT_PATTERN",
    "ERROR",
    "FATAL",
    "INFO",
    "LEVELS",
    "OFF",
    "ROOT_LOGGER",
    "TRACE",
    "WARN",
    "LogConfigError",
    "level_name",
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
