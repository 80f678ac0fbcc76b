"""DCMTK's dcmqrscp.cfg, read into an :class:`~dicomwire.archive.config.ArchiveConfig`.

The reader follows dcmqrscp 3.6.7 as shipped by Debian 12 (3.6.7-9~deb12u4, which carries DCMTK's
fix for crashes on malformed files, "No peers for symbolic name"), quirks included, so that a file
is accepted or refused exactly when dcmqrscp accepts or refuses it.  Facts observed with that
binary (``dcmqrscp -c FILE PORT`` with PORT held busy, so that a good file ends in "cannot
initialize network"):

* Everything goes to stderr.  A bad file prints one ``CONFIG Error: <text>!`` line per problem
  (DCMTK reads on after an error), then ``CONFIG Error: Reading configuration file "FILE" with
  errors!`` and ``F: bad config file: FILE``; exit code 10.  A missing file: ``F: cannot access
  FILE: No such file or directory``, exit 10.  MaxPDUSize outside 4096..131072 (after 0 became
  16384): ``F: invalid MaxPDUSize in config file``, exit 10, even with ``-pdu`` on the command line.
  A directory given as FILE reads as an empty file (accepted).
* Several problems are refused without any message (quota with 0 studies or 0 bytes, an entry
  without peers, a line cut short); a few are accepted although the values are undefined: a quota
  without ", bytes" or with a non-numeric study count, a peer tuple without a host.  This reader
  refuses those too (``ConfigProblem.dcmtk_refuses`` is False for them), as it refuses UserName or
  GroupName without a value, where dcmqrscp dies of SIGSEGV (exit -11).
* Lines are read with ``fgets`` into 512 bytes: a line longer than 511 bytes is read as several
  lines, and its line number is off by one for each extra piece (a 600-byte comment line is an
  "Unknown mnemonic" on "line 2").  A NUL byte ends a line's text.
* Keywords and table status words are case-sensitive; a comment is a ``#`` in column 1 only; table
  entries must start in column 1 (an indented entry loses its name), and a line with only
  whitespace inside a table is a (silent) error.  A trailing ``# comment`` after a peer list is
  read as a symbolic name.  A bare ``HostTable`` line reuses the status word of the last table line.
* NetworkTCPPort absent or 0 means 104; the value is cut to 16 bits (70000 listens on 4464).
  MaxPDUSize absent or unreadable means 16384, MaxAssociations absent 16.  Unreadable numbers keep
  the previous value (MaxPDUSize: 0).
* Quota bytes need a ``b``/``B`` suffix, optionally after ``k``, ``m`` or ``g`` in either case
  (powers of 1024); a bare number means "invalid", which dcmqrscp stores as the 1 GiB cap.  The
  index database caps maxStudies at 500 and maxBytesPerStudy at 1 GiB (negative values become the
  caps); :func:`parse_qrconfig` stores these effective values.
* Access ``RW``, ``WR`` or ``W`` makes an area writable; anything else (also ``rw``) read-only.
  dcmqrscp never checks read access: a ``W`` area answers C-FIND.
* A second AETable section replaces the first; HostTable and VendorTable sections add up.
  Duplicate AE titles are accepted: the first entry's directory is used and a caller is admitted if
  any entry with that title admits it (here: the peers are merged).  Duplicate symbolic names are
  accepted; the first definition wins (later ones stay reachable only as C-MOVE destinations in
  DCMTK, not here).
* Storage areas are not checked at start-up: an association to an area whose directory is missing
  is accepted, then ``E: DIR/index.dat: No such file or directory``, ``E: dispatch: cannot create
  DB Handle``, ``E: DIMSE Failure (aborting association): 000c:0001 Index database error``.
* dicomwire adds one keyword, ``IndexURL = URL`` (where the index lives: an SQLite file or a
  PostgreSQL URL such as ``postgresql+psycopg://user:password@host/db``; the last line wins, and
  ``--index-url`` on the command line wins over it).  Its value is the rest of the line, quotes
  optional.  DCMTK's dcmqrscp refuses a file that has it (``Unknown mnemonic "IndexURL"``); every
  other keyword is read as DCMTK reads it, unknown ones refused as DCMTK refuses them.
* Unrelated to the file but worth knowing: this build with ``-s`` dies of SIGSEGV (exit -11) after
  its first association, whatever the configuration; without ``-s`` it serves on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from dicomwire.archive.config import Access, ArchiveConfig, Peer, Quota, StorageArea
from dicomwire.errors import DicomWireError

__all__ = [
    "DEFAULT_MAX_ASSOCIATIONS",
    "DEFAULT_MAX_PDU_SIZE",
    "DEFAULT_PORT",
    "EXIT_CONFIG_ERROR",
    "MAX_BYTES_PER_STUDY_CAP",
    "MAX_PDU_SIZE",
    "MAX_STUDIES_CAP",
    "MIN_PDU_SIZE",
    "ConfigProblem",
    "QrConfigError",
    "dcmtk_error_lines",
    "load_qrconfig",
    "parse_qrconfig",
    "parse_qrconfig_bytes",
]

#: dcmqrscp's exit code for an unreadable or bad configuration file (and for most start-up failures).
EXIT_CONFIG_ERROR = 10
DEFAULT_PORT = 104
DEFAULT_MAX_PDU_SIZE = 16384
DEFAULT_MAX_ASSOCIATIONS = 16
MIN_PDU_SIZE = 4096
MAX_PDU_SIZE = 131072
MAX_STUDIES_CAP = 500
MAX_BYTES_PER_STUDY_CAP = 0x40000000
#: fgets() into char[512] reads at most 511 bytes of a line at a time.
LINE_PIECE = 511
#: Our limits against hostile files (DCMTK has none and would exhaust memory first).
MAX_PEERS = 1_000_000
MAX_PROBLEMS = 1000

_LONG_MAX = 2**63 - 1
_ULONG_MAX = 2**64 - 1
_PLAIN_VALUE = re.compile(rb"([^ \t\n\v\f\r=,]*)[ \t\n\v\f\r=,]+")
_QUOTED_VALUE = re.compile(rb"[\"'()]([^\"'()]*)[\"'()][ \t\n\v\f\r=,]*")
_GAP_RUN = re.compile(rb"[ \t\n\v\f\r=,]*")
_WORD_RUN = re.compile(rb"[^ \t\n\v\f\r]*")
_TWO_WORDS = re.compile(rb"[ \t\n\v\f\r]*([^ \t\n\v\f\r]+)(?:[ \t\n\v\f\r]+([^ \t\n\v\f\r]+))?")
_QUOTES = (b'"', b"'", b"(", b")")
_INTEGER = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_QUOTA_STUDIES = re.compile(rb"[ \t\n\v\f\r]*[+-]?[0-9]+")
_QUOTA_BYTES = re.compile(rb"[ \t\n\v\f\r]*,[ \t\n\v\f\r]*([^ \t\n\v\f\r]+)")
_UNITS = {b"k": 1 << 10, b"m": 1 << 20, b"g": 1 << 30}
_ACCESS = {
    b"R": Access.READ,
    b"W": Access.WRITE,
    b"RW": Access.READ | Access.WRITE,
    b"WR": Access.READ | Access.WRITE,
}
_CHARSET_KEYWORDS = frozenset({b"override", b"fallback", b"abort", b"discard", b"transliterate"})
# Accepted for old files and unused.
_IGNORED = (
    b"ApplicationTitle",
    b"ApplicationContext",
    b"ImplementationClass",
    b"ImplementationVersion",
    b"NetworkType",
    b"Display",
    b"DisplayPort",
)
_SKIPPED_FIRST = (b"#", b"\n", b"\r")
_SKIPPED_BODY = (b"#", b"\r", b"")  # the same, for a line without its newline
_INDENTS = (b" ", b"\t", b"\v", b"\f")
_INDENT_HINT = " (table lines must start in column 1, and must not be blank)"
_LONG_NOTE = " (the line is longer than 511 bytes; DCMTK reads it as several lines)"


# -- errors --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfigProblem:
    """One problem of a file: physical *line*, our *message*, and what DCMTK says about it.

    *dcmtk_text* is DCMTK's ``CONFIG Error:`` text (None if it prints nothing for this line);
    *dcmtk_refuses* is False where dcmqrscp accepts the line (or crashes on it) and we refuse it.
    """

    line: int | None
    message: str
    dcmtk_text: str | None = None
    dcmtk_refuses: bool = True


class QrConfigError(DicomWireError):
    """A dcmqrscp configuration file that cannot be used; names the file and the first bad line.

    *kind* is ``syntax`` (see *problems*, in file order), ``max-pdu``, ``access`` (file unreadable)
    or ``limit`` (one of our limits against hostile files).
    """

    def __init__(
        self,
        filename: str,
        line: int | None,
        message: str,
        *,
        kind: str = "syntax",
        problems: tuple[ConfigProblem, ...] = (),
    ) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        self.kind = kind
        self.problems = problems or (ConfigProblem(line, message, None, kind != "limit"),)
        where = filename if line is None else f"{filename}, line {line}"
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{where}: {message}{tail}")

    @property
    def dcmtk_refuses(self) -> bool:
        """Would dcmqrscp 3.6.7 refuse this file too (rather than accept it or crash)?"""
        return any(problem.dcmtk_refuses for problem in self.problems)


def _syntax_lines(err: QrConfigError, exact: bool) -> tuple[str, ...]:
    texts = [p.dcmtk_text if exact else (p.dcmtk_text or f"line {p.line}: {p.message}") for p in err.problems]
    if exact and not err.dcmtk_refuses:
        return ()
    body = tuple(f"CONFIG Error: {text}!" for text in texts if text is not None)
    trailer = (
        f'CONFIG Error: Reading configuration file "{err.filename}" with errors!',
        f"F: bad config file: {err.filename}",
    )
    return body + trailer


def _fatal_lines(err: QrConfigError, exact: bool) -> tuple[str, ...]:
    return (f"F: {err.message}",)


def _limit_lines(err: QrConfigError, exact: bool) -> tuple[str, ...]:
    return () if exact else (f"F: bad config file: {err}",)


def _max_pdu_lines(err: QrConfigError, exact: bool) -> tuple[str, ...]:
    return ("F: invalid MaxPDUSize in config file",)


_ERROR_LINES: dict[str, Callable[[QrConfigError, bool], tuple[str, ...]]] = {
    "syntax": _syntax_lines,
    "access": _fatal_lines,
    "limit": _limit_lines,
    "max-pdu": _max_pdu_lines,
}


def dcmtk_error_lines(err: QrConfigError, *, exact: bool = False) -> tuple[str, ...]:
    """The stderr lines dcmqrscp prints for *err* (before it exits with :data:`EXIT_CONFIG_ERROR`).

    With *exact*, only what DCMTK 3.6.7 itself prints (nothing where it would accept the file).
    Otherwise problems DCMTK passes over in silence get a line in DCMTK's style naming the line.
    """
    return _ERROR_LINES[err.kind](err, exact)


class _Abort(Exception):
    """Stops reading: too many problems, or a limit (then *message* says which)."""

    def __init__(self, line: int | None = None, message: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# -- DCMTK's lexical rules -----------------------------------------------------------------------------------
class _Chunk(NamedTuple):
    """What one fgets() call returns, up to its first NUL byte."""

    text: bytes
    dcmtk_line: int  # DCMTK's line counter: pieces of long lines count
    line: int  # the physical line, 1-based
    long: bool  # the physical line is longer than one piece


def _next_value(text: bytes, pos: int) -> tuple[bytes | None, int]:
    """DCMTK's parsevalues(): the next value and where the one after it starts.

    A value starting with one of ``"'()`` ends at the next of any of them; otherwise it ends at a
    gap (whitespace, ``=`` or ``,``).  Gaps after it are skipped.  A value that does not end before
    the end of the line is no value (None, position unchanged).
    """
    pattern = _QUOTED_VALUE if text[pos : pos + 1] in _QUOTES else _PLAIN_VALUE
    match = pattern.match(text, pos)
    return (None, pos) if match is None else (match.group(1), match.end())


def _words(text: bytes, count: int) -> list[bytes]:
    """sscanf("%s %s"): up to *count* (1 or 2) whitespace-separated words."""
    match = _TWO_WORDS.match(text)
    return [] if match is None else [word for word in match.groups()[:count] if word is not None]


def _run_end(pattern: re.Pattern[bytes], text: bytes, pos: int) -> int:
    match = pattern.match(text, pos)
    return match.end() if match else pos


def _skip_mnemonic(text: bytes) -> int:
    """DCMTK's skipmnemonic(): where the value after the first word (and its gaps) starts."""
    pos = _run_end(_GAP_RUN, text, 0)
    return _run_end(_GAP_RUN, text, _run_end(_WORD_RUN, text, pos))


def _strtol(text: bytes) -> int | None:
    match = _INTEGER.match(text)
    if match is None:
        return None
    value = int(match.group(2)) * (-1 if match.group(1) == b"-" else 1)
    return max(-_LONG_MAX - 1, min(_LONG_MAX, value))


def _int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def _scan_int(text: bytes) -> int | None:
    """sscanf("%d") as glibc does it: strtol, then truncated to int; None if no number."""
    value = _strtol(text)
    return None if value is None else _int32(value)


def _atoi(text: bytes) -> int:
    return _scan_int(text) or 0


def _scan_uint32(text: bytes) -> int:
    """sscanf("%lu") into an unsigned long, then cast to Uint32; 0 if no number."""
    match = _INTEGER.match(text)
    if match is None:
        return 0
    value = int(match.group(2))
    value = _ULONG_MAX if value > _ULONG_MAX else (-value if match.group(1) == b"-" else value)
    return value % 2**32


def _quota_bytes(word: bytes) -> int:
    """DCMTK's quota(): bytes for ``10mb`` and the like; -1 without a ``b`` suffix."""
    if word[-1:] not in (b"b", b"B"):
        return -1
    factor = _UNITS.get(word[-2:-1].lower(), 1)
    number = _atoi(word)
    if number > 0 and factor > _LONG_MAX // number:
        return _LONG_MAX
    return number * factor


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _show(raw: bytes | None) -> str:
    """A value for our messages: readable, and short even when the value is not."""
    shown = (raw or b"").decode("utf-8", "backslashreplace")
    return f'"{shown[:60]}..."' if len(shown) > 60 else f'"{shown}"'


# -- the parts of a file ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Issue:
    message: str
    dcmtk_text: str | None = None
    refuses: bool = True


@dataclass
class _Entry:
    """A HostTable or VendorTable row; *count* is DCMTK's peer count (which counts host-less tuples)."""

    name: bytes | None
    peers: list[Peer] = field(default_factory=list)
    count: int = 0


@dataclass
class _PeerList:
    peers: list[Peer] = field(default_factory=list)
    count: int = 0
    issues: list[_Issue] = field(default_factory=list)
    any: bool = False


@dataclass(frozen=True)
class _QuotaValue:
    studies: int
    nbytes: int
    issues: tuple[_Issue, ...] = ()


@dataclass(frozen=True)
class _AERow:
    title: bytes
    path: bytes
    access: bytes
    quota: _QuotaValue
    peers: _PeerList


_AE_FIELDS = ("AE title", "storage area", "access", "quota")


def _parse_quota(raw: bytes | None) -> _QuotaValue:
    """sscanf(value, "%d , %s") and quota(); the missing-field issue is the caller's."""
    if raw is None:
        return _QuotaValue(0, 0)
    studies = _QUOTA_STUDIES.match(raw)
    if studies is None:
        issue = _Issue(f"maxStudies in quota ({_show(raw)}) is not a number", refuses=False)
        return _QuotaValue(0, 0, (issue,))
    word = _QUOTA_BYTES.match(raw, studies.end())
    if word is None:
        issue = _Issue(f"quota {_show(raw)} is not (maxStudies, maxBytesPerStudy)", refuses=False)
        return _QuotaValue(0, 0, (issue,))
    count, nbytes = _atoi(studies.group()), _quota_bytes(word.group(1))
    issues = [_Issue("maxStudies is 0")] if count == 0 else []
    if nbytes == 0:
        issues.append(_Issue(f"maxBytesPerStudy {_show(word.group(1))} is 0 bytes"))
    return _QuotaValue(count, nbytes, tuple(issues))


def _effective_quota(value: _QuotaValue) -> Quota:
    # The index database's caps, which it also applies to negative ("invalid") values.
    studies = value.studies if 0 < value.studies <= MAX_STUDIES_CAP else MAX_STUDIES_CAP
    nbytes = value.nbytes if 0 < value.nbytes <= MAX_BYTES_PER_STUDY_CAP else MAX_BYTES_PER_STUDY_CAP
    return Quota(studies, nbytes)


def _area(row: _AERow) -> StorageArea:
    peers = None if row.peers.any else tuple(row.peers.peers)
    access = _ACCESS.get(row.access, Access.READ)
    return StorageArea(_text(row.title), _text(row.path), access, _effective_quota(row.quota), peers)


def _merge(first: StorageArea, again: StorageArea) -> StorageArea:
    # dcmqrscp admits a caller if any entry with the called title does; the first entry's files are used.
    if first.peers is None or again.peers is None:
        return StorageArea(first.ae_title, first.path, first.access, first.quota, None)
    return StorageArea(first.ae_title, first.path, first.access, first.quota, first.peers + again.peers)


def _listen_port(value: int) -> int:
    # 0 is "not set"; the socket layer keeps the low 16 bits of the rest.
    return DEFAULT_PORT if value == 0 else value % 65536


# -- the reader ------------------------------------------------------------------------------------------
class _Parser:
    """DCMTK's readConfigLines() and its table readers, over one shared stream of lines."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self.problems: list[ConfigProblem] = []
        self.hosts: list[_Entry] = []
        self.host_index: dict[bytes, _Entry] = {}
        self.vendors: list[_Entry] = []
        self.areas: list[_AERow] = []
        self.port = DEFAULT_PORT
        self.max_pdu = DEFAULT_MAX_PDU_SIZE
        self.max_pdu_line: int | None = None
        self.max_associations = DEFAULT_MAX_ASSOCIATIONS
        self.user_name: bytes = b""
        self.group_name: bytes = b""
        self.charset: bytes | None = None
        self.charset_options: list[str] = []
        self.index_url: bytes | None = None
        self.status: bytes | None = None  # DCMTK reuses its status buffer when a table line has no status
        self.dcmtk_line = 0
        self.line = 0
        self.peer_total = 0
        self.stream = self._lines(data)

    def _lines(self, data: bytes) -> Iterator[_Chunk]:
        """The lines as DCMTK's fgets() loop reads them, less those it skips (comments, blank lines)."""
        bodies = data.split(b"\n")
        ended = not bodies[-1]
        if ended:
            bodies.pop()
        for number, body in enumerate(bodies, 1):
            if len(body) < LINE_PIECE and body[:1] in _SKIPPED_BODY:  # a quick way past comments
                self.dcmtk_line, self.line = self.dcmtk_line + 1, number
                continue
            yield from self._pieces(number, body + b"\n" if ended or number < len(bodies) else body)

    def _pieces(self, number: int, raw: bytes) -> Iterator[_Chunk]:
        for start in range(0, len(raw), LINE_PIECE):
            self.dcmtk_line, self.line = self.dcmtk_line + 1, number
            text = raw[start : start + LINE_PIECE]
            if text[:1] not in _SKIPPED_FIRST:
                yield _Chunk(text.split(b"\0", 1)[0], self.dcmtk_line, number, len(raw) > LINE_PIECE)

    def run(self) -> None:
        for chunk in self.stream:
            words = _words(chunk.text, 1)
            if words:  # lines of whitespace only are skipped
                self._global(chunk, words[0], chunk.text[_skip_mnemonic(chunk.text) :])

    def _problem(
        self, chunk: _Chunk, message: str, dcmtk_text: str | None = None, refuses: bool = True
    ) -> None:
        note = _LONG_NOTE if chunk.long else ""
        self.problems.append(ConfigProblem(chunk.line, message + note, dcmtk_text, refuses))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Abort()

    def _report(self, chunk: _Chunk, table: str, name: bytes | None, issues: list[_Issue]) -> None:
        """One problem for a table entry: our first issue, DCMTK's message if it prints one."""
        if issues:
            text = next((issue.dcmtk_text for issue in issues if issue.dcmtk_text), None)
            refuses = any(issue.refuses for issue in issues)
            hint = _INDENT_HINT if chunk.text[:1] in _INDENTS else ""
            self._problem(chunk, f"{table} entry {_show(name)}: {issues[0].message}{hint}", text, refuses)

    # -- global settings --
    def _global(self, chunk: _Chunk, mnemonic: bytes, rest: bytes) -> None:
        handler = _GLOBALS.get(mnemonic)
        if handler is not None:
            handler(self, chunk, rest)
        elif mnemonic in _TABLES:
            self._table_keyword(chunk, mnemonic, rest)
        else:
            dcmtk = f'Unknown mnemonic "{_text(mnemonic)}" in configuration file, line {chunk.dcmtk_line}'
            self._problem(chunk, f"unknown keyword {_show(mnemonic)}", dcmtk)

    def _ignore(self, chunk: _Chunk, rest: bytes) -> None:
        pass

    def _set_port(self, chunk: _Chunk, rest: bytes) -> None:
        value = _scan_int(rest)
        self.port = self.port if value is None else value

    def _set_max_pdu(self, chunk: _Chunk, rest: bytes) -> None:
        self.max_pdu, self.max_pdu_line = _scan_uint32(rest), chunk.line

    def _set_max_associations(self, chunk: _Chunk, rest: bytes) -> None:
        value = _scan_int(rest)
        self.max_associations = self.max_associations if value is None else value

    def _required(self, chunk: _Chunk, rest: bytes, keyword: str) -> bytes:
        value, _ = _next_value(rest, 0)
        if value is None:  # DCMTK 3.6.7 assigns a null pointer here and dies of SIGSEGV
            self._problem(
                chunk, f"{keyword} needs a value (dcmqrscp 3.6.7 crashes on this line)", refuses=False
            )
        return value or b""

    def _set_user(self, chunk: _Chunk, rest: bytes) -> None:
        self.user_name = self._required(chunk, rest, "UserName")

    def _set_group(self, chunk: _Chunk, rest: bytes) -> None:
        self.group_name = self._required(chunk, rest, "GroupName")

    def _set_charset(self, chunk: _Chunk, rest: bytes) -> None:
        self.charset, self.charset_options = b"", []  # each line starts afresh
        value, pos = _next_value(rest, 0)
        while value is not None:
            if value in _CHARSET_KEYWORDS:
                self.charset_options.append(_text(value))
            else:
                self.charset = value
            value, pos = _next_value(rest, pos)

    def _set_index_url(self, chunk: _Chunk, rest: bytes) -> None:
        # dicomwire's: the rest of the line, whole (a URL holds '=' and ','), quotes optional
        value = rest.strip(b" \t\n\v\f\r")
        if len(value) >= 2 and value[:1] in (b'"', b"'") and value[-1:] == value[:1]:
            value = value[1:-1].strip()
        if not value:
            dcmtk = f'Unknown mnemonic "IndexURL" in configuration file, line {chunk.dcmtk_line}'
            self._problem(chunk, "IndexURL needs a value (an SQLite file or a database URL)", dcmtk)
            return
        self.index_url = value

    # -- tables --
    def _table_keyword(self, chunk: _Chunk, name: bytes, rest: bytes) -> None:
        words = _words(rest, 1)
        self.status = words[0] if words else self.status
        label, status = _text(name), _text(self.status or b"")
        if self.status == b"BEGIN":
            _TABLES[name](self, chunk)
        elif self.status == b"END":
            dcmtk = f'No "{label} BEGIN" before END in configuration file, line {chunk.dcmtk_line}'
            self._problem(chunk, f'"{label} END" without "{label} BEGIN"', dcmtk)
        else:
            dcmtk = f'Unknown {label} status "{status}" in configuration file, line {chunk.dcmtk_line}'
            self._problem(chunk, f"{label} must be followed by BEGIN or END, not {_show(self.status)}", dcmtk)

    def _read_table(self, begin: _Chunk, name: bytes, entry: Callable[[_Chunk], None]) -> None:
        mnemonic: bytes | None = None
        status: bytes | None = None  # both keep the previous line's words, as DCMTK's buffers do
        label = _text(name)
        for chunk in self.stream:
            words = _words(chunk.text, 2)
            mnemonic = words[0] if words else mnemonic
            status = words[1] if len(words) > 1 else status
            if mnemonic != name:
                entry(chunk)
            elif status == b"END":
                return
            else:
                shown = _text(status or b"")
                dcmtk = f'Illegal {label} status "{shown}" in configuration file, line {chunk.dcmtk_line}'
                self._problem(chunk, f'expected "{label} END", found status {_show(status)}', dcmtk)
                break
        dcmtk = f'No "{label} END" in configuration file, line {self.dcmtk_line}'
        self._problem(
            begin, f'"{label} BEGIN" has no "{label} END" (the table ran to line {self.line})', dcmtk
        )

    def _host_table(self, begin: _Chunk) -> None:
        self._read_table(begin, b"HostTable", lambda chunk: self._named_entry(chunk, "HostTable"))

    def _vendor_table(self, begin: _Chunk) -> None:
        self._read_table(begin, b"VendorTable", lambda chunk: self._named_entry(chunk, "VendorTable"))

    def _ae_table(self, begin: _Chunk) -> None:
        self.areas = []  # DCMTK: a new AETable section replaces the previous one
        self._read_table(begin, b"AETable", self._ae_entry)

    def _named_entry(self, chunk: _Chunk, label: str) -> None:
        name, pos = _next_value(chunk.text, 0)
        entry = _Entry(name)
        # Registered before its peers are read, as in DCMTK: a self reference finds an entry without peers.
        if label == "HostTable":
            self.hosts.append(entry)
            if name is not None:
                self.host_index.setdefault(name, entry)
        else:
            self.vendors.append(entry)
        peers = self._peer_list(chunk, chunk.text, pos)
        entry.peers, entry.count = peers.peers, peers.count
        issues = peers.issues or ([] if peers.count else [_Issue("no peers")])
        self._report(chunk, label, name, issues)

    def _ae_entry(self, chunk: _Chunk) -> None:
        values: list[bytes | None] = []
        pos = 0
        for _ in _AE_FIELDS:
            value, pos = _next_value(chunk.text, pos)
            values.append(value)
        quota = _parse_quota(values[3])
        peers = self._peers_field(chunk, pos)
        missing = [
            _Issue(f"the line ends before its {name}")
            for name, v in zip(_AE_FIELDS, values, strict=True)
            if v is None
        ]
        issues = missing[:1] + list(quota.issues) + peers.issues
        if not issues and peers.count == 0:
            issues.append(_Issue("the line ends before its peers"))
        title, path, access = (v or b"" for v in values[:3])
        self.areas.append(_AERow(title, path, access, quota, peers))
        self._report(chunk, "AETable", values[0], issues)

    # -- peers --
    def _peers_field(self, chunk: _Chunk, pos: int) -> _PeerList:
        first, _ = _next_value(chunk.text, pos)
        if first is None:
            return _PeerList()
        if first == b"ANY":  # anything after ANY is ignored
            return _PeerList(count=-1, any=True)
        return self._peer_list(chunk, chunk.text, pos)

    def _peer_list(self, chunk: _Chunk, text: bytes, pos: int) -> _PeerList:
        result = _PeerList()
        token, pos = _next_value(text, pos)
        while token is not None:
            if b"," in token:
                self._add_tuple(chunk, result, token)
            elif (issue := self._add_group(chunk, result, token)) is not None:
                return _PeerList(issues=[*result.issues, issue])  # DCMTK drops the whole list
            token, pos = _next_value(text, pos)
        return result

    def _add_group(self, chunk: _Chunk, result: _PeerList, name: bytes) -> _Issue | None:
        if not self.hosts:
            return _Issue(
                f"{_show(name)} is not a symbolic name: the HostTable is empty", "No symbolic names defined"
            )
        entry = self.host_index.get(name)
        if entry is None:
            return _Issue(
                f"{_show(name)} is not a symbolic name of the HostTable",
                f'Symbolic name "{_text(name)}" not defined',
            )
        if entry.count <= 0:
            dcmtk = f'No peers for symbolic name "{_text(name)}" defined'
            return _Issue(f"symbolic name {_show(name)} has no peers (yet)", dcmtk)
        self._count_peers(chunk, len(entry.peers))
        result.peers.extend(entry.peers)
        result.count += entry.count
        return None

    def _add_tuple(self, chunk: _Chunk, result: _PeerList, inner: bytes) -> None:
        title, pos = _next_value(inner, 0)
        host, pos = _next_value(inner, pos)
        result.count += 1  # DCMTK counts the peer even when it has no host
        if title is None or host is None:  # DCMTK keeps a null host name and crashes when it is used
            result.issues.append(_Issue(f"peer ({_show(inner)}) needs (AE title, host, port)", refuses=False))
            return
        self._count_peers(chunk, 1)
        result.peers.append(Peer(_text(title), _text(host), _atoi(inner[pos:])))

    def _count_peers(self, chunk: _Chunk, count: int) -> None:
        self.peer_total += count
        if self.peer_total > MAX_PEERS:
            raise _Abort(chunk.line, f"more than {MAX_PEERS} peers after expanding symbolic names")

    # -- the result --
    def check_max_pdu(self) -> None:
        # dcmqrscp checks this only once the file has been read without errors.
        size = self.max_pdu or DEFAULT_MAX_PDU_SIZE
        if not self.problems and not MIN_PDU_SIZE <= size <= MAX_PDU_SIZE:
            message = f"MaxPDUSize {size} is outside {MIN_PDU_SIZE}..{MAX_PDU_SIZE}"
            raise QrConfigError(self.filename, self.max_pdu_line, message, kind="max-pdu")

    def build(self) -> ArchiveConfig:
        areas: dict[str, StorageArea] = {}
        for row in self.areas:
            area = _area(row)
            first = areas.get(area.ae_title)
            areas[area.ae_title] = area if first is None else _merge(first, area)
        return ArchiveConfig(
            port=_listen_port(self.port),
            max_pdu_size=self.max_pdu or DEFAULT_MAX_PDU_SIZE,
            max_associations=self.max_associations,
            user_name=_text(self.user_name) or None,
            group_name=_text(self.group_name) or None,
            specific_character_set=None if self.charset is None else _text(self.charset),
            hosts=_by_name(self.hosts),
            vendors=_by_name(self.vendors),
            areas=areas,
            source=self.filename,
            charset_options=tuple(dict.fromkeys(self.charset_options)),
            index_url=None if self.index_url is None else _text(self.index_url),
        )


def _by_name(entries: list[_Entry]) -> dict[str, tuple[Peer, ...]]:
    table: dict[str, tuple[Peer, ...]] = {}
    for entry in entries:
        if entry.name is not None:
            table.setdefault(_text(entry.name), tuple(entry.peers))  # lookups find the first definition
    return table


_GLOBALS: dict[bytes, Callable[[_Parser, _Chunk, bytes], None]] = {
    b"UserName": _Parser._set_user,
    b"GroupName": _Parser._set_group,
    b"NetworkTCPPort": _Parser._set_port,
    b"MaxPDUSize": _Parser._set_max_pdu,
    b"MaxAssociations": _Parser._set_max_associations,
    b"SpecificCharacterSet": _Parser._set_charset,
    b"IndexURL": _Parser._set_index_url,  # dicomwire's own (see the module)
    **dict.fromkeys(_IGNORED, _Parser._ignore),
}

_TABLES: dict[bytes, Callable[[_Parser, _Chunk], None]] = {
    b"HostTable": _Parser._host_table,
    b"VendorTable": _Parser._vendor_table,
    b"AETable": _Parser._ae_table,
}


# -- entry points ----------------------------------------------------------------------------------------
def parse_qrconfig_bytes(data: bytes, filename: str) -> ArchiveConfig:
    """Read a dcmqrscp.cfg given as bytes; *filename* is only used in messages and ``source``."""
    parser = _Parser(filename, data)
    try:
        parser.run()
    except _Abort as stop:
        if stop.message:
            raise QrConfigError(filename, stop.line, stop.message, kind="limit") from None
    if parser.problems:
        first = parser.problems[0]
        raise QrConfigError(filename, first.line, first.message, problems=tuple(parser.problems))
    parser.check_max_pdu()
    return parser.build()


def parse_qrconfig(text: str, filename: str) -> ArchiveConfig:
    """Read a dcmqrscp.cfg given as text (undecodable bytes as by ``os.fsdecode``)."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # lone surrogates that did not come from undecodable bytes
        data = text.encode("utf-8", "surrogatepass")
    return parse_qrconfig_bytes(data, filename)


def load_qrconfig(path: str | os.PathLike[str]) -> ArchiveConfig:
    """Read the dcmqrscp.cfg at *path*; a file that cannot be read is a ``QrConfigError`` of kind access."""
    filename = os.fspath(path)
    if os.path.isdir(filename) and os.access(filename, os.R_OK):
        return parse_qrconfig_bytes(b"", filename)  # DCMTK opens a directory and reads no line from it
    try:
        with open(filename, "rb") as stream:
            data = stream.read()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise QrConfigError(filename, None, f"cannot access {filename}: {reason}", kind="access") from None
    return parse_qrconfig_bytes(data, filename)
