"""Reading a DCMTK-style ``--help`` text, to compare ours with DCMTK's.

What has to equal DCMTK's is the interface: the parameters, the option names (short and long),
their groups and subgroups and order, the columns, the value-syntax lines (``[s]econds: integer
(default: unlimited)``) and the notes in the descriptions that scripts and users rely on
(``(default)``, ``(default: 16384)``, ``(only with --user)``, ``(not with ...)``,
``(implies ...)``).  The descriptions themselves are prose, and ours are our own words:
:func:`copied_descriptions` finds the ones that are DCMTK's again.

The help is read by columns: a line whose text starts further right than any option name
continues the entry above it (DCMTK's texts have lines that begin with ``--``).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dicomwire.dcmtk.cmdline.engine import DcmtkParser

__all__ = [
    "DCMTK_BIN",
    "Entry",
    "HelpText",
    "copied_descriptions",
    "dcmtk_help",
    "interface",
    "long_lines",
    "parse_help",
]

DCMTK_BIN = Path("/usr/bin")
# An option name never starts further right than this column; a continuation line always does.
_NAME_COLUMN_MAX = 12
_OPTION = re.compile(r"(?P<indent> *)(?P<short>[-+](?!-)\S*)?(?P<gap> +)?(?P<long>--\S+)?(?P<rest> +.*)?")
_NOTE = re.compile(r"\(([^()]*)\)")
_NOTE_WORDS = ("only with", "not with", "implies")


@dataclass
class Entry:
    """One item of a help text: a heading, a parameter or an option, with its text lines."""

    kind: str  # "group", "subgroup", "param" or "option"
    name: str  # the heading's title, the parameter's name, or "short long" of an option
    short: str | None = None
    long: str | None = None
    columns: tuple[int | None, ...] = ()  # option: where short, long and text start
    lines: list[str] = field(default_factory=list)


@dataclass
class HelpText:
    description: str  # the text after "prog: " under the banner
    usage: str
    entries: list[Entry]

    def options(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "option"]


def parse_help(text: str) -> HelpText:
    """Split a help text (banner first) into its entries."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith(("$dcmtk:", "$dicomwire:")), lines[0]
    assert lines[1] == "", lines[:3]
    prog, _, description = lines[2].partition(": ")
    usage = lines[3]
    assert usage.startswith(f"usage: {prog} "), usage
    entries: list[Entry] = []
    in_params = False
    for line in lines[4:]:
        if not line.strip():
            continue
        start = len(line) - len(line.lstrip(" "))
        if line == "parameters:":
            in_params = True
            continue
        if start == 0:
            assert line.endswith(":"), line
            in_params = False
            entries.append(Entry("group", line[:-1]))
        elif start > _NAME_COLUMN_MAX:
            assert entries, line
            entries[-1].lines.append(line.strip())
        elif in_params:
            name, _, rest = line.strip().partition(" ")
            entries.append(Entry("param", name, lines=[rest.strip()] if rest.strip() else []))
        elif line.strip()[0] not in "-+":
            assert line.endswith(":") and start == 2, line
            entries.append(Entry("subgroup", line.strip()[:-1]))
        else:
            entries.append(_option(line))
    return HelpText(description, usage, entries)


def _option(line: str) -> Entry:
    match = _OPTION.fullmatch(line)
    assert match is not None, line
    short, long, rest = match["short"], match["long"], match["rest"] or ""
    short_at = len(match["indent"]) if short else None
    long_at = match.start("long") if long else None
    text = rest.strip()
    text_at = match.start("rest") + len(rest) - len(rest.lstrip(" ")) if text else None
    name = " ".join(n for n in (short, long) if n)
    return Entry("option", name, short, long, (short_at, long_at, text_at), [text] if text else [])


def dcmtk_help(tool: str) -> str:
    """DCMTK's ``<tool> --help`` (the binary in /usr/bin, never ours on PATH)."""
    done = subprocess.run(
        [str(DCMTK_BIN / tool), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"$dcmtk: {tool} v"), done.stdout[:80]
    return done.stdout


# -- the interface -------------------------------------------------------------------------------


def _value_lines(parser: DcmtkParser) -> dict[str, int]:
    """How many of each option's text lines are its value syntax (the rest describe it)."""
    return {
        " ".join(n for n in (o.short, o.long) if n): len(o.value_help.split("\n")) if o.value_help else 0
        for o in parser.options
    }


def _split(entry: Entry, value_lines: dict[str, int]) -> tuple[list[str], list[str]]:
    count = value_lines.get(entry.name, 0) if entry.kind == "option" else 0
    return entry.lines[:count], entry.lines[count:]


def notes(description: Iterable[str]) -> list[str]:
    """The parenthesised notes of a description that belong to the interface, in order."""
    found = []
    for note in _NOTE.findall(" ".join(description)):
        note = re.sub(r"^def\.", "default", " ".join(note.split()))
        if note.startswith("default") or any(word in note for word in _NOTE_WORDS):
            found.append(note)
    return found


def interface(text: str, parser: DcmtkParser, *, extensions: Sequence[str] = ()) -> list[tuple[object, ...]]:
    """Everything of a help text but the prose, entry by entry, in order.

    ``parser`` says which leading lines of an option's text are its value syntax (DCMTK's
    must be the same lines); ``extensions`` are long names of options DCMTK does not have,
    left out.
    """
    value_lines = _value_lines(parser)
    parsed = parse_help(text)
    rows: list[tuple[object, ...]] = [("usage", parsed.usage)]
    in_our_group = False  # a whole group of ours: its heading ends with "(dicomwire)"
    for entry in parsed.entries:
        if entry.kind == "group":
            in_our_group = entry.name.rstrip(":").endswith("(dicomwire)")
        if in_our_group or (entry.kind == "option" and entry.long in extensions):
            continue
        values, description = _split(entry, value_lines)
        if entry.kind in ("group", "subgroup"):
            rows.append((entry.kind, entry.name))
        elif entry.kind == "param":
            rows.append(("param", entry.name, tuple(notes(description))))
        else:
            rows.append(("option", entry.name, entry.columns, tuple(values), tuple(notes(description))))
    return rows


# -- the prose ---------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    """A description reduced to its words: notes, case and punctuation left out."""
    text = _NOTE.sub(lambda m: "" if notes([m.group(0)]) else m.group(0), text)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _descriptions(text: str, parser: DcmtkParser) -> dict[str, list[str]]:
    value_lines = _value_lines(parser)
    parsed = parse_help(text)
    found = {"(tool)": [parsed.description]}
    for entry in parsed.entries:
        if entry.kind in ("param", "option"):
            found[entry.name] = _split(entry, value_lines)[1]
    return found


def copied_descriptions(ours: str, theirs: str, parser: DcmtkParser) -> list[str]:
    """Our descriptions (the tool's, a parameter's, an option's) that are DCMTK's again.

    A description is copied when its words equal DCMTK's for the same item, or when one of its
    lines does (a line of notes only, like ``(default: 16384)``, does not count).
    """
    mine, dcmtk = _descriptions(ours, parser), _descriptions(theirs, parser)
    copied = []
    for name, lines in mine.items():
        if name not in dcmtk:
            continue
        their_lines = {_plain(line) for line in dcmtk[name]} - {""}
        words = _plain(" ".join(lines))
        if words and words == _plain(" ".join(dcmtk[name])):
            copied.append(f"{name}: {' / '.join(lines)}")
        elif any(_plain(line) in their_lines for line in lines):
            copied.append(f"{name} (a line): {' / '.join(lines)}")
    return copied


def long_lines(ours: str, theirs: str) -> list[str]:
    """Our lines longer than DCMTK's longest line (or 80, whichever is more)."""
    width = max(80, *(len(line) for line in theirs.splitlines()))
    return [line for line in ours.splitlines() if len(line) > width]
