"""log4cplus PatternLayout and appenders for the CLI logging, on :mod:`logging`.

:class:`PatternFormatter` compiles a log4cplus ConversionPattern
(:func:`compile_pattern`: ``%P``, ``%m``, ``%n``, ``%d{...}``, ``%-10.20c``...)
and, like DCMTK's PatternLayout, repeats it for every line of a multi-line
message.  The handlers are the appenders DCMTK's tools offer: the console
(:class:`ConsoleHandler`, which looks ``sys.stderr``/``sys.stdout`` up at
each record), plain, size-rolling and time-rolling files.  None of them ever
prints a traceback when a write fails.
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
from typing import TextIO

from dicomwire.dcmtk.log.levels import DEFAULT_PATTERN, level_name

__all__ = [
    "SCHEDULES",
    "ConsoleHandler",
    "DailyRollingFileHandler",
    "FileHandler",
    "NullHandler",
    "PatternFormatter",
    "RollingFileHandler",
    "compile_pattern",
    "hostname",
]


# -- PatternLayout -------------------------------------------------------------

_Render = Callable[[_logging.LogRecord, str], str]


def hostname() -> str:
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
    "h": lambda _r, _line: hostname(),
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


class FileHandler(_Quiet, _logging.FileHandler):
    def __init__(self, filename: str, append: bool) -> None:
        # surrogateescape: a dump of a value in another character set (findscu keeps its
        # bytes, as DCMTK does) reaches the file as those bytes instead of failing
        super().__init__(filename, mode="a" if append else "w", encoding="utf-8", errors="surrogateescape")
        self.terminator = ""


class RollingFileHandler(FileHandler):
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


SCHEDULES: Mapping[str, str] = {
    "MONTHLY": "%Y-%m",
    "WEEKLY": "%Y-%W",
    "DAILY": "%Y-%m-%d",
    "TWICE_DAILY": "%Y-%m-%d-%p",
    "HOURLY": "%Y-%m-%d-%H",
    "MINUTELY": "%Y-%m-%d-%H-%M",
}


class DailyRollingFileHandler(FileHandler):
    """log4cplus DailyRollingFileAppender (best effort).

    When the schedule period changes the file is renamed to
    ``<file>.<period>`` (period formatted as log4cplus does, e.g.
    ``%Y-%m-%d`` for DAILY) and a new file is started.  Old periods are
    not pruned.
    """

    def __init__(self, filename: str, schedule: str) -> None:
        super().__init__(filename, append=True)
        self.period_format = SCHEDULES[schedule]
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


class NullHandler(_logging.NullHandler):
    pass
