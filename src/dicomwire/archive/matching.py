"""PS3.4 C.2.2.2 attribute matching: SQL expressions for indexed columns, Python for the rest.

Pure: nothing here touches a database; the SQL side builds SQLAlchemy Core expressions, the
Python side (the post-filter over stored DICOM JSON) applies the same rules to text.  Both
compare decoded text (pydicom decodes Latin-1, UTF-8, ISO 2022 ... with the data set's
Specific Character Set), never bytes.

The rule is picked by VR, as DCMTK's ``DcmAttributeMatching`` (dcmdata/libsrc/dcmatch.cc,
used by dcmqrscp 3.6.7) does:

* AE CS LO LT PN SH ST UC UR UT: wild card matching, ``*`` any run, ``?`` one character;
  without wild cards it is single value matching.  **Case sensitive, PN included**
  (dcmqrscp: ``Doe*`` does not match ``doe^jane``).  ``*`` matches a stored empty or absent
  value (dcmqrscp does); ``?*`` does not.  Where dcmqrscp's ``?`` matches one byte of UTF-8
  we match one character.
* DA, TM, DT: single value or range (``a-b``, ``a-``, ``-b``, and ``-`` alone = any valid
  value), compared as normalised values: ``YYYYMMDD`` (``YYYY.MM.DD`` accepted),
  ``HHMMSS.ffffff`` from ``HH``, ``HHMM``, ``HHMMSS[.f]`` or ``HH:MM[:SS[.f]]``; a
  stored empty or invalid value matches no non-empty key; a key that is not a valid
  date/time (``*``, a list) matches nothing.  Study Date and Study Time are matched
  independently, as dcmqrscp does; ``date_time_condition`` is PS3.4 C.2.2.2.5 combined
  matching, for an SCP that negotiates it.  DT time zones are ignored.
* UI: list of UID matching (backslash-separated values, any equal).
* Everything else (IS, DS, AS, ...): single value matching of the text, so IS ``01`` does
  not match ``1`` (dcmqrscp compares the strings too).
* A backslash in any other key is literal (dcmqrscp has no multiple-value matching).
* Leading and trailing spaces of both sides are ignored; an empty key is universal.
* SQ: PS3.4 C.2.2.2.6 sequence matching, in Python over the stored JSON: an item matches
  when all the keys of the (first) query item match; an empty query item matches all.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from pydicom.dataelem import DataElement
from sqlalchemy.sql.elements import ColumnElement

WILDCARD_VRS: Final = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
ESCAPE: Final = "!"  # not a backslash: no dialect gives "!" a meaning inside a string literal
MIDNIGHT: Final = "000000.000000"
_STRIP: Final = " \0"

JsonItem = Mapping[str, Any]
Condition = ColumnElement[bool]


class Rule(enum.Enum):
    UNIVERSAL = "universal"
    SINGLE = "single"
    WILDCARD = "wildcard"
    UID_LIST = "uid-list"
    RANGE = "range"
    SEQUENCE = "sequence"


def rule_for(vr: str, value: str) -> Rule:
    """The matching rule for a key's VR and (stripped) value."""
    if vr == "SQ":
        return Rule.SEQUENCE
    if not value:
        return Rule.UNIVERSAL
    if vr in WILDCARD_VRS:
        if value.strip("*") == "":
            return Rule.UNIVERSAL  # every stored value is a string, the empty one too
        return Rule.WILDCARD if ("*" in value or "?" in value) else Rule.SINGLE
    if vr in NORMALISERS:
        return Rule.RANGE
    return Rule.UID_LIST if vr == "UI" else Rule.SINGLE


# -- normalised dates and times ---------------------------------------------------------------

_TIME = re.compile(r"(\d\d)(?:(\d\d)(?:(\d\d)(?:\.(\d+))?)?)?")
_OLD_TIME = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?")
_DATETIME = re.compile(r"(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?(?:\.(\d{1,6}))?(?:[+-]\d{4})?")


def _valid_date(year: str, month: str, day: str) -> str | None:
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return f"{year}{month}{day}"


def normalise_date(text: str) -> str | None:
    """``YYYYMMDD`` for a valid DA value (or the pre-3.0 ``YYYY.MM.DD``), else None."""
    text = text.strip(_STRIP)
    if len(text) == 8 and text.isdigit():
        return _valid_date(text[:4], text[4:6], text[6:])
    if len(text) == 10 and text[4] == "." and text[7] == "." and (text[:4] + text[5:7] + text[8:]).isdigit():
        return _valid_date(text[:4], text[5:7], text[8:])
    return None


def _time(hours: str, minutes: str | None, seconds: str | None, fraction: str | None) -> str | None:
    h, m, s = int(hours), int(minutes or 0), int(seconds or 0)
    if h > 23 or m > 59 or s > 60:  # 60: a leap second, as DCMTK allows
        return None
    return f"{h:02}{m:02}{s:02}.{(fraction or '')[:6]:0<6}"


def normalise_time(text: str) -> str | None:
    """``HHMMSS.ffffff`` for a valid TM value, else None."""
    text = text.strip(_STRIP)
    found = _TIME.fullmatch(text) or _OLD_TIME.fullmatch(text)
    return _time(*found.groups()) if found else None


def normalise_datetime(text: str) -> str | None:
    """``YYYYMMDDHHMMSS.ffffff`` for a valid DT value (time zone ignored), else None."""
    found = _DATETIME.fullmatch(text.strip(_STRIP))
    if not found:
        return None
    year, month, day, hours, minutes, seconds, fraction = found.groups()
    date = _valid_date(year, month or "01", day or "01")
    time = _time(hours or "00", minutes, seconds, fraction)
    return date + time if date and time else None


NORMALISERS: Final[Mapping[str, Callable[[str], str | None]]] = {
    "DA": normalise_date,
    "TM": normalise_time,
    "DT": normalise_datetime,
}


def normalised(vr: str, text: str) -> str | None:
    """The value of a range-matched column's ``_key`` twin (None: not a valid value)."""
    return NORMALISERS[vr](text)


# -- values as text ---------------------------------------------------------------------------


def value_text(value: object) -> str:
    """A pydicom value as DICOM text: multiple values joined by backslashes, PN as is."""
    if value is None or isinstance(value, bytes | bytearray):
        return ""
    if isinstance(value, str):
        return value.strip(_STRIP)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "\\".join(value_text(v) for v in value).strip(_STRIP)
    return str(value).strip(_STRIP)


def element_text(element: DataElement | None) -> str:
    """An element's value as text ("" for an absent or empty element)."""
    return "" if element is None or element.VR == "SQ" else value_text(element.value)


def _pn_json(value: object) -> str:
    if not isinstance(value, Mapping):
        return "" if value is None else str(value)
    groups = [str(value.get(g, "")) for g in ("Alphabetic", "Ideographic", "Phonetic")]
    return "=".join(groups).rstrip("=")


def json_text(element: JsonItem | None) -> str:
    """A DICOM JSON element's value as text ("" when absent, empty or bulk data)."""
    if not element:
        return ""
    values = element.get("Value") or []
    if element.get("vr") == "PN":
        return "\\".join(_pn_json(v) for v in values).strip(_STRIP)
    return "\\".join("" if v is None else str(v) for v in values).strip(_STRIP)


# -- SQL --------------------------------------------------------------------------------------


def like_pattern(value: str) -> str:
    """A wild card key as a LIKE pattern (escape ``ESCAPE``): ``*`` -> ``%``, ``?`` -> ``_``."""
    out: list[str] = []
    for char in value:
        if char == "*":
            if out and out[-1] == "%":
                continue  # "**" is "*": fewer states for the database's matcher
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in ("%", "_", ESCAPE):
            out.append(ESCAPE + char)
        else:
            out.append(char)
    return "".join(out)


def uid_list(value: str) -> list[str]:
    return [uid for uid in (part.strip(_STRIP) for part in value.split("\\")) if uid]


def _range(value: str) -> tuple[str, str] | None:
    """``(low, high)`` of a range key (``""`` = open), None when it is a single value."""
    low, sep, high = value.partition("-")  # DCMTK splits at the first '-' too
    return (low.strip(), high.strip()) if sep else None


def _sql_range(vr: str, value: str, ordered: ColumnElement[str]) -> Condition:
    normalise = NORMALISERS[vr]
    bounds = _range(value)
    if bounds is None:
        single = normalise(value)
        return sa.false() if single is None else ordered == single
    low, high = (normalise(b) if b else "" for b in bounds)
    if low is None or high is None:
        return sa.false()
    parts: list[Condition] = [ordered.is_not(None)]
    parts += [ordered >= low] if low else []
    parts += [ordered <= high] if high else []
    return sa.and_(*parts)


def condition(
    vr: str, value: str, column: ColumnElement[str], ordered: ColumnElement[str] | None = None
) -> Condition | None:
    """The SQL condition for one key (None: universal).  ``ordered`` is the normalised
    column range matching compares (required for DA, TM, DT)."""
    value = value.strip(_STRIP)
    rule = rule_for(vr, value)
    if rule is Rule.UNIVERSAL:
        return None
    if rule is Rule.RANGE:
        if ordered is None:
            raise ValueError(f"range matching on {vr} needs the normalised column")
        return _sql_range(vr, value, ordered)
    if rule is Rule.WILDCARD:
        return column.like(like_pattern(value), escape=ESCAPE)
    if rule is Rule.UID_LIST:
        uids = uid_list(value)
        return sa.false() if not uids else (column == uids[0] if len(uids) == 1 else column.in_(uids))
    if rule is Rule.SEQUENCE:
        raise ValueError("sequence matching is done over the stored JSON")
    return column == value


def date_time_condition(
    date_value: str,
    time_value: str,
    date: tuple[ColumnElement[str], ColumnElement[str]],
    time: tuple[ColumnElement[str], ColumnElement[str]],
) -> Condition | None:
    """PS3.4 C.2.2.2.5 combined date-time matching of a DA/TM pair, as DCMTK's
    ``rangeMatchingDateTime``; ``date``/``time`` are (stored, normalised) column pairs.
    A stored empty time counts as midnight."""
    date_value, time_value = date_value.strip(_STRIP), time_value.strip(_STRIP)
    if not date_value or not time_value:
        return condition("DA", date_value, *date) if date_value else condition("TM", time_value, *time)
    date_range, time_range = _range(date_value), _range(time_value)
    same_shape = (date_range is None) == (time_range is None) and (
        date_range is None
        or time_range is None
        or ((time_range[0] == "" or date_range[0] != "") and (time_range[1] == "" or date_range[1] != ""))
    )
    if not same_shape:
        both = [
            c
            for c in (condition("DA", date_value, *date), condition("TM", time_value, *time))
            if c is not None
        ]
        return sa.and_(*both)
    stored_time = sa.case((time[0] == "", MIDNIGHT), else_=time[1])
    candidate = date[1] + stored_time
    if date_range is None or time_range is None:
        point = _joined(date_value, time_value)
        return sa.false() if point is None else sa.and_(date[1].is_not(None), candidate == point)
    parts: list[Condition] = [date[1].is_not(None), stored_time.is_not(None)]
    for index, compare in ((0, operator.ge), (1, operator.le)):
        if date_range[index]:
            bound = _joined(date_range[index], time_range[index])
            if bound is None:
                return sa.false()
            parts.append(compare(candidate, bound))
    return sa.and_(*parts)


def _joined(date_value: str, time_value: str) -> str | None:
    date = normalise_date(date_value)
    time = normalise_time(time_value) if time_value else MIDNIGHT
    return date + time if date and time else None


# -- Python (the post-filter) -----------------------------------------------------------------


def wildcard_match(pattern: str, text: str) -> bool:
    """``*``/``?`` matching in linear space and O(len(pattern) * len(text)) time at worst
    (no regular expression: a hostile key must not backtrack exponentially)."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]) and pattern[p] != "*":
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    return all(c == "*" for c in pattern[p:])


def _py_range(vr: str, value: str, candidate: str) -> bool:
    normalise = NORMALISERS[vr]
    stored = normalise(candidate) if candidate else None
    if stored is None:
        return False
    bounds = _range(value)
    if bounds is None:
        return normalise(value) == stored
    low, high = (normalise(b) if b else "" for b in bounds)
    if low is None or high is None:
        return False
    return (not low or stored >= low) and (not high or stored <= high)


def matches(vr: str, value: str, candidate: str | None) -> bool:
    """Whether a stored value (text; None or "" when absent) matches a key, by the SQL rules."""
    value, text = value.strip(_STRIP), (candidate or "").strip(_STRIP)
    rule = rule_for(vr, value)
    if rule is Rule.UNIVERSAL:
        return True
    if rule is Rule.RANGE:
        return _py_range(vr, value, text)
    if rule is Rule.WILDCARD:
        return wildcard_match(value, text)
    if rule is Rule.UID_LIST:
        return text in uid_list(value)
    if rule is Rule.SEQUENCE:
        raise ValueError("use match_sequence for SQ keys")
    return value == text


def match_sequence(query: Sequence[JsonItem], stored: Sequence[JsonItem]) -> list[dict[str, Any]] | None:
    """PS3.4 C.2.2.2.6 over DICOM JSON: None when no stored item matches; otherwise the
    items to return (all, whole, for an empty query item; else the matching ones, reduced
    to the query item's keys)."""
    if not query or not query[0]:
        return [dict(item) for item in stored]
    wanted = query[0]
    found = [item for item in stored if _item_matches(wanted, item)]
    return [_reduce(item, wanted) for item in found] if found else None


def _item_matches(wanted: JsonItem, item: JsonItem) -> bool:
    for tag, key in wanted.items():
        if key.get("vr") == "SQ":
            if match_sequence(key.get("Value") or [], (item.get(tag) or {}).get("Value") or []) is None:
                return False
        elif not matches(str(key.get("vr")), json_text(key), json_text(item.get(tag))):
            return False
    return True


def _reduce(item: JsonItem, wanted: JsonItem) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag, key in wanted.items():
        element = item.get(tag)
        if element is None:
            out[tag] = {"vr": key.get("vr")}
        elif key.get("vr") == "SQ":
            nested = match_sequence(key.get("Value") or [], element.get("Value") or [])
            out[tag] = {"vr": "SQ", "Value": nested or []}
        else:
            out[tag] = dict(element)
    return out
