"""DCMTK association negotiation profiles: the files behind ``-xf FILE PROFILE``.

The format is DCMTK 3.6.7's (storescu.cfg, storescp.cfg)::

    [[TransferSyntaxes]]          [[PresentationContexts]]      [[Profiles]]
    [Uncompressed]                [MyContexts]                  [Default]
    TransferSyntax1 = ...         PresentationContext1 = AS\\TS  PresentationContexts = MyContexts

plus the optional ``[[SCPSCURoleSelection]]`` (``RoleN = AS\\SCU|SCP|BOTH``) and
``[[ExtendedNegotiation]]`` (``ExtendedNegotiationN = AS\\hex``) sections, which a
profile names with ``SCPSCURoleSelection =`` and ``ExtendedNegotiation =``.

Lexical rules follow DCMTK's reader: ``#`` starts a comment only in the first
column; a line indented under ``Key = Value`` continues the value; section names,
keys and list references match case-insensitively with blanks ignored, while
UID names are case-sensitive and values keep their trailing blanks.  Where DCMTK
silently ignores or merges (unknown keys and sections, a gap in the numbering,
a list or key given twice, text outside any section) this parser refuses the
file: every error names the file, the line and the key.  Everything DCMTK
refuses is refused too, checked for the whole file as DCMTK does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from dicomwire import uids
from dicomwire._records import record
from dicomwire.errors import DicomWireError

_T = TypeVar("_T")
_V = TypeVar("_V")

MAX_CONTEXTS = 128  # context IDs are the odd numbers 1..255; DCMTK caps every list
MAX_EXTENDED_NEGOTIATION = 1023  # bytes; DCMTK refuses 2048 hex digits and more


class ProfileError(DicomWireError):
    """A profile file or profile that cannot be used; says where and why."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None, key: str = "") -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        where = path + (f":{line}" if line is not None else "")
        prefix = ": ".join(part for part in (where, key) if part)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class Role(enum.StrEnum):
    """SCP/SCU role selection of one abstract syntax (as the requestor proposes it)."""

    SCU = "SCU"
    SCP = "SCP"
    BOTH = "BOTH"

    @property
    def scu(self) -> bool:
        return self is not Role.SCP

    @property
    def scp(self) -> bool:
        return self is not Role.SCU


@record(frozen=True, slots=True)
class PresentationContext:
    """One abstract syntax with its transfer syntaxes, most preferred first."""

    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]


@record(frozen=True, slots=True)
class Origin:
    """Where a presentation context was defined: file, line and key."""

    path: str
    line: int
    key: str


@record(frozen=True, slots=True)
class Profile:
    """An association negotiation profile; ``origins`` says where each context came from."""

    name: str
    contexts: tuple[PresentationContext, ...]
    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    extended_negotiation: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    origins: tuple[Origin, ...] = field(default=(), compare=False, repr=False)

    def validate_for_acceptor(self) -> None:
        """Each abstract syntax at most once (DCMTK: "not a valid SCP association profile")."""
        first: dict[str, int] = {}
        for index, context in enumerate(self.contexts):
            earlier = first.setdefault(context.abstract_syntax, index)
            if earlier != index:
                origin = self.origins[earlier] if earlier < len(self.origins) else None
                where = f"line {origin.line}, {origin.key}" if origin else f"context {earlier + 1}"
                raise self._error(
                    index,
                    f"profile {self.name!r} is not a valid SCP association profile: "
                    f"{uids.name_of(context.abstract_syntax)} is listed twice (first at {where})",
                )

    def validate_for_requestor(self) -> None:
        """At most 128 contexts, each with at least one transfer syntax."""
        if len(self.contexts) > MAX_CONTEXTS:
            raise ProfileError(
                f"profile {self.name!r} has {len(self.contexts)} presentation contexts, "
                f"a requestor can propose at most {MAX_CONTEXTS}"
            )
        for index, context in enumerate(self.contexts):
            if not context.transfer_syntaxes:
                raise self._error(index, "no transfer syntax")

    def _error(self, index: int, message: str) -> ProfileError:
        if index < len(self.origins):
            origin = self.origins[index]
            return ProfileError(message, path=origin.path, line=origin.line, key=origin.key)
        return ProfileError(message, key=f"presentation context {index + 1} of profile {self.name!r}")


def acceptor_choice(profile: Profile) -> Mapping[str, tuple[str, ...]]:
    """What an acceptor supports: abstract syntax -> its transfer syntaxes, preferred first."""
    profile.validate_for_acceptor()
    return MappingProxyType(
        {context.abstract_syntax: context.transfer_syntaxes for context in profile.contexts}
    )


def load_profile(path: str | Path, name: str) -> Profile:
    """The profile ``name`` (case and blanks ignored) of the file at ``path``."""
    profiles = load_profiles(path)
    wanted = _mangle(name)
    for profile in profiles.values():
        if _mangle(profile.name) == wanted:
            return profile
    known = ", ".join(sorted(profiles)) or "none"
    raise ProfileError(f"no profile named {name!r} (profiles: {known})", path=str(path))


def load_profiles(path: str | Path) -> Mapping[str, Profile]:
    """Every profile of the file at ``path``, by name as written in the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProfileError(f"cannot read profile file: {exc.strerror or exc}", path=str(path)) from exc
    return parse_profiles(data.decode("utf-8", errors="replace"), str(path))


def parse_profiles(text: str, source: str = "<string>") -> Mapping[str, Profile]:
    """Parse the text of a profile file; ``source`` names it in errors."""
    tree = _read_tree(text, source)
    return _Resolver(tree, source).profiles()


# -- lexical level: the two-level section tree -------------------------------------------
_SECTION = re.compile(r"(\[\[?)([^\[\]]*)(\]\]?)[ \t]*")
_KEY_CHARS = re.compile(r"[A-Z0-9_-]*")


@record(slots=True)
class _Entry:
    key: str  # normalized: upper case, no blanks
    raw_key: str
    value: str
    line: int


@record(slots=True)
class _Section:
    name: str  # normalized
    raw_name: str
    line: int
    entries: dict[str, _Entry] = field(default_factory=dict)


@record(slots=True)
class _Top:
    name: str
    raw_name: str
    line: int
    sections: dict[str, _Section] = field(default_factory=dict)


def _is_numeric(text: str) -> bool:
    """True if ``text`` is non-empty and only ASCII digits (str.isdigit takes any script)."""
    return bool(text) and all("0" <= char <= "9" for char in text)


def _mangle(text: str) -> str:
    """DCMTK's mangling of a list or profile reference: blanks removed, upper case."""
    return "".join(text.split()).upper()


def _normalize_name(raw: str, source: str, line: int, what: str) -> str:
    name = _mangle(raw)
    if not name or _KEY_CHARS.fullmatch(name) is None:
        raise ProfileError(
            f"invalid {what} {raw!r}: use letters, digits, '-' and '_'", path=source, line=line
        )
    return name


class _TreeReader:
    """Builds the section tree line by line, refusing what DCMTK would misread."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tops: dict[str, _Top] = {}
        self.top: _Top | None = None
        self.section: _Section | None = None
        self.entry: _Entry | None = None  # the last Key = Value, for continuation lines

    def error(self, message: str, line: int) -> ProfileError:
        return ProfileError(message, path=self.source, line=line)

    def feed(self, number: int, line: str) -> None:
        if not line.strip() or line.startswith("#"):
            return  # blank line or comment; neither ends a continued value (as in DCMTK)
        if line[0] in " \t" and self.entry is not None:
            # DCMTK joins the lines of a value with a line feed, without their indentation
            more = line.lstrip(" \t")
            self.entry.value = f"{self.entry.value}\n{more}" if self.entry.value else more
            return
        text = line.lstrip(" \t")  # blanks at the end stay: DCMTK keeps them in values
        if text.startswith("["):
            self.header(number, text.rstrip(" \t"))
        elif "=" in text:
            self.key_value(number, text)
        else:
            raise self.error(f"expected 'Key = Value' or a [Section] header, not {text!r}", number)

    def header(self, number: int, text: str) -> None:
        match = _SECTION.fullmatch(text)
        if match is None or len(match.group(1)) != len(match.group(3)):
            raise self.error(f"malformed section header {text!r}", number)
        self.entry = None
        if len(match.group(1)) == 2:
            name = _normalize_name(match.group(2), self.source, number, "section name")
            if name in self.tops:
                first = self.tops[name].line
                raise self.error(f"section [[{match.group(2)}]] repeated (first at line {first})", number)
            self.top = self.tops[name] = _Top(name, match.group(2).strip(), number)
            self.section = None
            return
        if self.top is None:
            raise self.error(f"[{match.group(2)}] outside any [[...]] section", number)
        name = _normalize_name(match.group(2), self.source, number, "list or profile name")
        if name in self.top.sections:
            first = self.top.sections[name].line
            raise self.error(
                f"[{match.group(2)}] defined twice in [[{self.top.raw_name}]] (first at line {first})",
                number,
            )
        self.section = self.top.sections[name] = _Section(name, match.group(2).strip(), number)

    def key_value(self, number: int, text: str) -> None:
        raw_key, _, value = text.partition("=")
        key = _normalize_name(raw_key, self.source, number, "key")
        if self.section is None:
            raise self.error(f"{raw_key.strip()!r} outside any [...] section", number)
        if key in self.section.entries:
            first = self.section.entries[key].line
            raise self.error(f"{raw_key.strip()} given twice (first at line {first})", number)
        # DCMTK drops the blanks after '=' but keeps those at the end of the value
        self.entry = _Entry(key, raw_key.strip(), value.lstrip(" \t"), number)
        self.section.entries[key] = self.entry


def _read_tree(text: str, source: str) -> dict[str, _Top]:
    if text.startswith("\ufeff"):
        raise ProfileError("file starts with a byte order mark, which DCMTK cannot read", path=source, line=1)
    reader = _TreeReader(source)
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        reader.feed(number, line)
    return reader.tops


# -- semantic level -------------------------------------------------------------------
_TRANSFER_SYNTAXES = "TRANSFERSYNTAXES"
_PRESENTATION_CONTEXTS = "PRESENTATIONCONTEXTS"
_ROLES = "SCPSCUROLESELECTION"
_EXTENDED = "EXTENDEDNEGOTIATION"
_PROFILES = "PROFILES"

# top-level section -> (numbered key prefix, as the file spells it)
_LIST_SECTIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        _TRANSFER_SYNTAXES: ("TRANSFERSYNTAX", "TransferSyntax"),
        _PRESENTATION_CONTEXTS: ("PRESENTATIONCONTEXT", "PresentationContext"),
        _ROLES: ("ROLE", "Role"),
        _EXTENDED: ("EXTENDEDNEGOTIATION", "ExtendedNegotiation"),
    }
)
_SECTION_NAMES: Mapping[str, str] = MappingProxyType(
    {
        _TRANSFER_SYNTAXES: "TransferSyntaxes",
        _PRESENTATION_CONTEXTS: "PresentationContexts",
        _ROLES: "SCPSCURoleSelection",
        _EXTENDED: "ExtendedNegotiation",
        _PROFILES: "Profiles",
    }
)
_REQUIRED = (_TRANSFER_SYNTAXES, _PRESENTATION_CONTEXTS, _PROFILES)
_PROFILE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "PRESENTATIONCONTEXTS": "PresentationContexts",
        "SCPSCUROLESELECTION": "SCPSCURoleSelection",
        "EXTENDEDNEGOTIATION": "ExtendedNegotiation",
    }
)
_HINTS: Mapping[str, str] = MappingProxyType(
    {"ROLESELECTION": "SCPSCURoleSelection", "SOPCLASSEXTENDEDNEGOTIATION": "ExtendedNegotiation"}
)


@record(frozen=True, slots=True)
class _Item:
    """One numbered entry: where it is, its abstract syntax UID and the rest of the value."""

    where: str
    line: int
    uid: str
    rest: str


class _Resolver:
    """Turns the section tree into profiles, checking names and references."""

    def __init__(self, tree: dict[str, _Top], source: str) -> None:
        self.tree = tree
        self.source = source
        self._check_sections()
        self.transfer_syntaxes = self._lists(_TRANSFER_SYNTAXES, self._transfer_syntax)
        self.contexts = self._lists(_PRESENTATION_CONTEXTS, self._context)
        self.roles = self._lists(_ROLES, self._role)
        self.extended = self._lists(_EXTENDED, self._extended)
        for lists in (self.roles, self.extended):
            for pairs in lists.values():
                self._no_repeats([item for item, _value in pairs])

    def error(self, message: str, line: int | None = None, key: str = "") -> ProfileError:
        return ProfileError(message, path=self.source, line=line, key=key)

    def _check_sections(self) -> None:
        for top in self.tree.values():
            if top.name not in _SECTION_NAMES:
                hint = _HINTS.get(top.name)
                known = ", ".join(f"[[{name}]]" for name in _SECTION_NAMES.values())
                advice = f"did you mean [[{hint}]]?" if hint else f"known: {known}"
                raise self.error(f"unknown section [[{top.raw_name}]] ({advice})", top.line)
        for name in _REQUIRED:
            if name not in self.tree:
                raise self.error(f"no [[{_SECTION_NAMES[name]}]] section")

    # -- numbered lists ------------------------------------------------------------
    def _lists(self, top_name: str, convert: Callable[[_Entry, str], _T]) -> dict[str, list[_T]]:
        """Every list of a top-level section, by normalized name, its entries converted."""
        top = self.tree.get(top_name)
        if top is None:
            return {}
        prefix, spelled = _LIST_SECTIONS[top_name]
        return {
            section.name: [
                convert(entry, f"[{section.raw_name}] {entry.raw_key}")
                for entry in self._numbered(top, section, prefix, spelled)
            ]
            for section in top.sections.values()
        }

    def _numbered(self, top: _Top, section: _Section, prefix: str, spelled: str) -> Iterator[_Entry]:
        by_number: dict[int, _Entry] = {}
        for entry in section.entries.values():
            digits = entry.key.removeprefix(prefix)
            if digits == entry.key or not _is_numeric(digits) or digits[0] == "0":
                raise self.error(
                    f"unknown key in [[{top.raw_name}]] (expected {spelled}1, {spelled}2, ...)",
                    entry.line,
                    entry.raw_key,
                )
            by_number[int(digits)] = entry
        if not by_number:
            raise self.error(f"[{section.raw_name}] has no entries", section.line)
        for number in range(1, max(by_number) + 1):
            if number not in by_number:
                raise self.error(
                    f"{spelled}{number} is missing: numbering must run from 1 without gaps",
                    section.line,
                    f"[{section.raw_name}]",
                )
        if top.name == _PRESENTATION_CONTEXTS and len(by_number) > MAX_CONTEXTS:
            raise self.error(
                f"{len(by_number)} presentation contexts, at most {MAX_CONTEXTS} in a list",
                section.line,
                f"[{section.raw_name}]",
            )
        for number in range(1, len(by_number) + 1):
            yield by_number[number]

    def _no_repeats(self, items: list[_Item]) -> None:
        """DCMTK refuses a role or extended negotiation list naming a SOP class twice."""
        first: dict[str, _Item] = {}
        for item in items:
            earlier = first.setdefault(item.uid, item)
            if earlier is not item:
                raise self.error(
                    f"{uids.name_of(item.uid)} given twice in this list (first at line {earlier.line})",
                    item.line,
                    item.where,
                )

    # -- one entry of each kind ----------------------------------------------------
    def _transfer_syntax(self, entry: _Entry, where: str) -> str:
        uid = self._uid(entry.value, entry, where, "transfer syntax")
        if not _is_numeric(entry.value.lstrip("=")[:1]) and uid not in uids.TRANSFER_SYNTAXES:
            raise self.error(f"{entry.value!r} is not a transfer syntax", entry.line, where)
        return uid

    def _context(self, entry: _Entry, where: str) -> tuple[_Item, PresentationContext]:
        item = self._split(entry, where, "PresentationContext")
        syntaxes = self.transfer_syntaxes.get(_mangle(item.rest))
        if syntaxes is None:  # DCMTK checks this for every list, used or not
            raise self.error(
                f"transfer syntax list {_mangle(item.rest)!r} is not defined in [[TransferSyntaxes]]",
                entry.line,
                where,
            )
        return item, PresentationContext(item.uid, tuple(syntaxes))

    def _role(self, entry: _Entry, where: str) -> tuple[_Item, Role]:
        item = self._split(entry, where, "Role")
        try:
            role = Role(item.rest.upper())
        except ValueError:
            raise self.error(f"unknown role {item.rest!r} (SCU, SCP or BOTH)", entry.line, where) from None
        return item, role

    def _extended(self, entry: _Entry, where: str) -> tuple[_Item, bytes]:
        item = self._split(entry, where, "ExtendedNegotiation")
        hex_digits = item.rest
        if not hex_digits or len(hex_digits) % 2 or re.fullmatch(r"[0-9A-Fa-f]*", hex_digits) is None:
            raise self.error(
                f"extended negotiation data {hex_digits!r} is not an even number of hex digits",
                entry.line,
                where,
            )
        data = bytes.fromhex(hex_digits)
        if len(data) > MAX_EXTENDED_NEGOTIATION:
            raise self.error(
                f"extended negotiation data of {len(data)} bytes, at most {MAX_EXTENDED_NEGOTIATION}",
                entry.line,
                where,
            )
        return item, data

    def _split(self, entry: _Entry, where: str, kind: str) -> _Item:
        abstract, backslash, rest = entry.value.partition("\\")
        if not backslash:
            raise self.error(
                f"expected {kind}N = AbstractSyntax\\..., missing '\\' in {entry.value!r}",
                entry.line,
                where,
            )
        uid = self._uid(abstract, entry, where, "abstract syntax")
        if not _is_numeric(abstract.lstrip("=")[:1]) and uid not in uids.SOP_CLASSES:
            raise self.error(f"{abstract!r} is not a SOP class", entry.line, where)
        return _Item(where, entry.line, uid, rest)

    def _uid(self, text: str, entry: _Entry, where: str, what: str) -> str:
        if not text:
            raise self.error(f"empty {what}", entry.line, where)
        try:
            return uids.uid_for_name(text, dcmtk_only=True)
        except uids.UidError as exc:
            hint = " (note the blanks at the end)" if text != text.rstrip() else ""
            raise self.error(f"{what}: {exc}{hint}", entry.line, where) from None

    # -- profiles -----------------------------------------------------------------
    def profiles(self) -> Mapping[str, Profile]:
        top = self.tree[_PROFILES]
        profiles: dict[str, Profile] = {}
        for section in top.sections.values():
            profiles[section.raw_name] = self._profile(section)
        return MappingProxyType(profiles)

    def _profile(self, section: _Section) -> Profile:
        for unknown in section.entries.values():
            if unknown.key not in _PROFILE_KEYS:
                hint = _HINTS.get(unknown.key)
                advice = f"did you mean {hint}?" if hint else "known: " + ", ".join(_PROFILE_KEYS.values())
                raise self.error(f"unknown key in [[Profiles]] ({advice})", unknown.line, unknown.raw_key)
        entry = section.entries.get("PRESENTATIONCONTEXTS")
        if entry is None:
            raise self.error("no PresentationContexts entry", section.line, f"[{section.raw_name}]")
        pairs = self._lookup(self.contexts, entry, "presentation context list")
        abstract = {context.abstract_syntax for _item, context in pairs}
        roles = self._optional(section, "SCPSCURoleSelection", self.roles, abstract)
        extended = self._optional(section, "ExtendedNegotiation", self.extended, abstract)
        return Profile(
            name=section.raw_name,
            contexts=tuple(context for _item, context in pairs),
            roles=MappingProxyType(roles),
            extended_negotiation=MappingProxyType(extended),
            origins=tuple(Origin(self.source, item.line, item.where) for item, _context in pairs),
        )

    def _optional(
        self,
        section: _Section,
        spelled: str,
        lists: dict[str, list[tuple[_Item, _V]]],
        abstract: set[str],
    ) -> dict[str, _V]:
        entry = section.entries.get(spelled.upper())
        if entry is None:
            return {}
        result: dict[str, _V] = {}
        for item, value in self._lookup(lists, entry, f"{spelled} list"):
            if item.uid not in abstract:
                raise self.error(
                    f"{uids.name_of(item.uid)} is not in the profile's presentation contexts "
                    f"({entry.value.strip()!r} used by [{section.raw_name}] line {entry.line})",
                    item.line,
                    item.where,
                )
            result[item.uid] = value
        return result

    def _lookup(self, lists: dict[str, _T], entry: _Entry, what: str) -> _T:
        found = lists.get(_mangle(entry.value))
        if found is None:
            raise self.error(f"{what} {entry.value.strip()!r} is not defined", entry.line, entry.raw_key)
        return found
