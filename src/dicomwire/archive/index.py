"""The archive index: one database (SQLite by default, PostgreSQL by URL) for all storage areas.

Synchronous on purpose: the server calls these methods through ``asyncio.to_thread``.
Every method is one transaction; ``find`` and ``instances_for`` stream their answers (the
transaction lasts until the iterator is exhausted or closed: close it when abandoning it).

Keys are matched in SQL where the index has a column for them (``keys.Source.COLUMN``),
and by a Python post-filter over the stored DICOM JSON of the entity's first stored
instance otherwise (``Source.JSON``, sequences included).  Every requested key is
answered: from a column, a count, or that JSON (so keys dcmqrscp ignores get values).

``find`` reads in two steps, in one transaction (one snapshot): the ids of the matching
entities, in id order (the order they were first stored), from the indexes the keys use
(``schema``), joined only to the tables the keys are on, on a cursor that is server-side
on PostgreSQL; then, for one batch of those ids at a time (1, 4, 16, ... 256), their
response columns, counts and JSON.  The first match waits only for the matching ids to be
ordered, never for the rows of the others, and a generator closed early (a C-CANCEL)
reads nothing more.

A response identifier holds exactly the requested keys plus Query/Retrieve Level,
Retrieve AE Title (dcmqrscp adds its AE title to every response, requested or not) and
Specific Character Set when needed: as dcmqrscp converts each response to the character
set of the request (ASCII when the request has none), the response takes the request's
Specific Character Set if its values can be encoded in it, else the stored one (else
UTF-8); a response that is plain ASCII for an ASCII request has no (0008,0005).

A :class:`ResponseCharset` given to ``find`` replaces that choice with an explicit policy
(dcmqrscp's character set configuration): a target character set (or the request's), a
fallback tried when the values cannot be converted to the target, and whether characters
that do not fit are transliterated or discarded rather than failing the conversion.  A
response whose stored character set already is the target (or is ASCII and the target is
UTF-8) is not converted; a failed conversion leaves the response in its stored character set.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql

from dicomwire.archive import database, schema
from dicomwire.archive.database import create_engine, sqlite_url
from dicomwire.archive.keys import (
    KEYS_BY_TAG,
    QUERY_RETRIEVE_LEVEL,
    RETRIEVE_AE_TITLE,
    SPECIFIC_CHARACTER_SET,
    UNIQUE_KEYS,
    Key,
    Level,
    Plan,
    QueryError,
    Service,
    Source,
    column_keys,
    model_for,
    plan,
)
from dicomwire.archive.matching import (
    JsonItem,
    condition,
    date_time_condition,
    element_text,
    json_text,
    match_sequence,
    matches,
    normalised,
    uid_list,
)
from dicomwire.archive.schema import PARENT_KEY, TABLES, instance, series, study
from dicomwire.errors import DicomWireError

__all__ = [
    "REQUEST",
    "Claim",
    "Index",
    "InstanceRecord",
    "InvalidInstance",
    "QueryError",
    "ResponseCharset",
    "create_engine",
    "sqlite_url",
]

T = TypeVar("T")
BULK_DATA_THRESHOLD: Final = 1024  # bytes: larger binary values become BulkDataURI references
_BATCH: Final = 256  # rows fetched at a time while streaming
_CHUNK: Final = 500  # values per IN (...) list
_WRITE_ATTEMPTS: Final = 3  # concurrent writers on PostgreSQL may race on a unique key or deadlock
_TEXT_VRS: Final = frozenset({"SH", "LO", "ST", "LT", "UC", "UT", "PN"})
# (date, time) key pairs that combined date-time matching joins
_DATE_TIME_PAIRS: Final = ((0x00080020, 0x00080030), (0x00080021, 0x00080031), (0x00100030, 0x00100032))


class InvalidInstance(DicomWireError, ValueError):
    """A data set the index cannot hold (no Study, Series or SOP Instance UID, no SOP Class)."""


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """An indexed instance: where its file is and what it is."""

    area: str
    path: str  # relative to the storage area
    size: int
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    study_instance_uid: str
    series_instance_uid: str
    stored_at: dt.datetime


# -- extracting a data set ------------------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _text(dataset: Dataset, tag: int) -> str:
    return element_text(dataset[tag]) if tag in dataset else ""


def _level_values(dataset: Dataset, level: Level) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for key in column_keys(level):
        assert key.column is not None
        text = _text(dataset, key.tag)
        values[key.column] = text
        if key.ordered_column:
            values[key.ordered_column] = normalised(key.vr, text) if text else None
    return values


def _attributes(dataset: Dataset, path: str) -> dict[str, Any]:
    def reference(element: DataElement) -> str:
        return f"{path}#{int(element.tag):08X}"

    return dataset.to_json_dict(
        bulk_data_threshold=BULK_DATA_THRESHOLD,
        bulk_data_element_handler=reference,
        suppress_invalid_tags=True,
    )


@dataclass(frozen=True)
class _Entry:
    """What ``add_instance`` writes, extracted before the transaction starts."""

    values: dict[Level, dict[str, str | None]]
    charset: str
    attributes: dict[str, Any]

    @classmethod
    def of(cls, dataset: Dataset, path: str) -> _Entry:
        values = {level: _level_values(dataset, level) for level in Level}
        for level in (Level.STUDY, Level.SERIES, Level.IMAGE):
            unique = UNIQUE_KEYS[level]
            if not values[level][str(unique.column)]:
                raise InvalidInstance(f"the data set has no {unique.keyword}")
        meta = getattr(dataset, "file_meta", None)
        sop_class = _text(dataset, 0x00080016) or (_text(meta, 0x00020002) if meta is not None else "")
        if not sop_class:
            raise InvalidInstance("the data set has no SOPClassUID")
        values[Level.IMAGE]["sop_class_uid"] = sop_class
        return cls(values, _text(dataset, SPECIFIC_CHARACTER_SET), _attributes(dataset, path))


# -- requests ---------------------------------------------------------------------------------------


@dataclass
class _Request:
    """A C-FIND/C-MOVE/C-GET identifier taken apart."""

    level_value: str | None
    texts: dict[int, str] = field(default_factory=dict)
    vrs: dict[int, str] = field(default_factory=dict)
    sequences: dict[int, list[JsonItem]] = field(default_factory=dict)
    charset: str | list[str] | None = None

    @classmethod
    def of(cls, query: Dataset) -> _Request:
        level = query.get(QUERY_RETRIEVE_LEVEL)
        request = cls(element_text(level) if level is not None else None)
        for element in query:
            tag = int(element.tag)
            if tag == SPECIFIC_CHARACTER_SET:
                value = element.value
                request.charset = list(value) if isinstance(value, MultiValue) else value or None
            elif tag != QUERY_RETRIEVE_LEVEL and (tag >> 16) not in (0x0000, 0x0002) and tag & 0xFFFF:
                request.texts[tag] = element_text(element)
                request.vrs[tag] = str(element.VR)
                if element.VR == "SQ":
                    request.sequences[tag] = [item.to_json_dict() for item in element.value]
        return request


@dataclass(frozen=True)
class _Answer:
    """How each requested key of a level is answered, and what the post-filter checks."""

    level: Level
    columns: tuple[tuple[int, str, str], ...]  # (tag, vr, result label)
    from_json: tuple[tuple[int, str], ...]  # (tag, vr)
    post: tuple[tuple[Key, str], ...]
    sequences: Mapping[int, list[JsonItem]]
    charset: str | list[str] | None
    retrieve_ae_title: str
    policy: ResponseCharset | None = None

    @property
    def needs_json(self) -> bool:
        return bool(self.from_json or self.post)


def _label(tag: int) -> str:
    return f"k{tag:08x}"


def _modalities(value: str, area: str, alone: bool) -> sa.ColumnElement[bool] | None:
    """Modalities in Study: any value of the key matches any series' Modality (PS3.4 C.6.1.1.3).

    The key ``alone``: the studies of the matching series, read from the series' (area,
    modality, study) index alone, never a probe of every study's series.  With other keys
    (a date, a patient, more selective than a modality): a probe of the series of the
    studies those keys select (reading every CT series first would cost more)."""
    se = series.alias()
    options = [c for c in (condition("CS", v, se.c.modality) for v in value.split("\\")) if c is not None]
    if not value.strip() or len(options) < len(value.split("\\")):
        return None  # an empty or '*' value among them: universal
    if alone:
        return study.c.id.in_(sa.select(se.c.study_pk).where(se.c.area == area, sa.or_(*options)))
    return sa.exists().where(se.c.study_pk == study.c.id, sa.or_(*options))


def _column_condition(key: Key, value: str) -> sa.ColumnElement[bool] | None:
    table = TABLES[key.level]
    ordered = table.c[key.ordered_column] if key.ordered_column else None
    return condition(key.vr, value, table.c[str(key.column)], ordered)


def _no_condition(_key: Key, _value: str) -> sa.ColumnElement[bool] | None:
    return None  # the "Number of ... Related ..." keys are return keys, never matched


_SQL_SOURCES: Final[Mapping[Source, Callable[[Key, str], sa.ColumnElement[bool] | None]]] = {
    Source.COLUMN: _column_condition,
    Source.COUNT: _no_condition,
}


@dataclass(frozen=True)
class _Conditions:
    """A plan's keys as SQL conditions (``sql``, on the tables of ``levels``) and the keys
    left to the post-filter (``post``)."""

    sql: list[sa.ColumnElement[bool]]
    post: list[tuple[Key, str]]
    levels: frozenset[Level]


def _conditions(the_plan: Plan, combined_datetime: bool, area: str) -> _Conditions:
    """SQL conditions for the plan's keys, and the keys left to the post-filter."""
    given = {key.tag: (key, value) for key, value in the_plan.match}
    sql: list[sa.ColumnElement[bool]] = []
    levels: set[Level] = set()
    if combined_datetime:
        for date_tag, time_tag in _DATE_TIME_PAIRS:
            if date_tag in given and time_tag in given:
                date_key, date_value = given.pop(date_tag)
                time_key, time_value = given.pop(time_tag)
                table = TABLES[date_key.level]
                pair = date_time_condition(
                    date_value,
                    time_value,
                    (table.c[str(date_key.column)], table.c[str(date_key.ordered_column)]),
                    (table.c[str(time_key.column)], table.c[str(time_key.ordered_column)]),
                )
                if pair is not None:
                    sql.append(pair)
                    levels.add(date_key.level)
    post: list[tuple[Key, str]] = []
    modalities: list[str] = []
    for key, value in given.values():
        if key.source is Source.JSON:
            post.append((key, value))
        elif key.source is Source.MODALITIES:
            modalities.append(value)
        elif (found := _SQL_SOURCES[key.source](key, value)) is not None:
            sql.append(found)
            levels.add(key.level)
    for value in modalities:
        if (found := _modalities(value, area, alone=not sql)) is not None:
            sql.append(found)
            levels.add(Level.STUDY)
    return _Conditions(sql, post, frozenset(levels))


# -- building responses -------------------------------------------------------------------------------


def _empty(tag: int, vr: str) -> DataElement:
    return DataElement(tag, vr, [] if vr == "SQ" else None)


def _from_text(tag: int, vr: str, text: str | None) -> DataElement:
    if not text:
        return _empty(tag, vr)
    try:
        return DataElement(tag, vr, text)
    except (ValueError, TypeError, OverflowError):
        return _empty(tag, vr)  # a value as stored that pydicom will not take for its VR


def _from_json(tag: int, vr: str, stored: JsonItem | None) -> DataElement:
    if not stored:
        return _empty(tag, vr)
    hex_tag = f"{tag:08X}"
    try:
        partial = Dataset.from_json({hex_tag: dict(stored)}, bulk_data_uri_handler=lambda _uri: b"")
        return partial[tag]
    except (ValueError, TypeError, KeyError):
        return _empty(tag, vr)


def _texts(dataset: Dataset) -> Iterator[str]:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                yield from _texts(item)
        elif element.VR in _TEXT_VRS and element.value is not None:
            values = element.value if isinstance(element.value, MultiValue) else [element.value]
            yield from (str(v) for v in values if isinstance(v, str | PersonName))


Charset = str | list[str] | None
#: ``ResponseCharset.target``/``fallback``: the request's Specific Character Set.
REQUEST: Final = "request"
_UTF8: Final = "ISO_IR 192"


@dataclass(frozen=True)
class ResponseCharset:
    """How C-FIND response identifiers choose their character set.

    *target* is a Specific Character Set value (``""`` for ASCII, ``\\`` between the values of
    a multi-valued one) or :data:`REQUEST`; *fallback* (the same kinds, or None for none) is
    tried when the values do not fit *target*.  A conversion fails when a value holds a
    character the character set lacks, unless *transliterate* replaces it or *discard* drops
    it.  Transliteration is Unicode compatibility decomposition (NFKD) keeping the parts that
    fit (``ü`` becomes ``u``, ``ﬁ`` becomes ``fi``), else ``?``: close to, not the same as,
    iconv's ``//TRANSLIT`` tables; with *discard* too, a character without one is dropped.
    """

    target: str = REQUEST
    fallback: str | None = None
    transliterate: bool = False
    discard: bool = False


def _names(charset: Charset) -> list[str]:
    return [charset] if isinstance(charset, str) else list(charset or [])


def _fitting(charset: Charset) -> Callable[[str], bool]:
    """Whether a character can be encoded in ``charset``."""
    names = _names(charset)
    if not names or names == [""] or names == ["ISO_IR 6"]:
        return str.isascii
    encodings = ["ascii" if e == "iso8859" else e for e in convert_encodings(names)]

    def fits(char: str) -> bool:
        for encoding in encodings:
            try:
                char.encode(encoding)
            except (UnicodeError, LookupError):
                continue
            return True
        return False

    return fits


def _encodable(texts: Sequence[str], charset: Charset) -> bool:
    fits = _fitting(charset)
    return all(fits(char) for text in texts for char in set(text))


def _response_charset(dataset: Dataset, requested: Charset, stored: str) -> Charset:
    texts = list(_texts(dataset))
    for candidate in (requested, _stored_value(stored)):
        if _encodable(texts, candidate):
            return candidate
    return _UTF8


def _stored_value(text: str) -> Charset:
    return text.split("\\") if "\\" in text else (text or None)


def _joined(charset: Charset) -> str:
    return "\\".join(name.strip() for name in _names(charset))


def _necessary(source: str, destination: str) -> bool:
    # dcmqrscp converts unless the character sets are the same, or UTF-8 is wanted of ASCII or UTF-8
    return source != destination and (destination != _UTF8 or source not in ("", "ISO_IR 6", _UTF8))


def _fitted(text: str, fits: Callable[[str], bool], policy: ResponseCharset) -> str | None:
    """``text`` with each character that does not fit transliterated or dropped (None: it cannot)."""
    out: list[str] = []
    for char in text:
        if fits(char):
            out.append(char)
            continue
        if policy.transliterate:
            parts = "".join(c for c in unicodedata.normalize("NFKD", char) if fits(c) and c.isprintable())
            out.append(parts or ("" if policy.discard else "?"))
        elif policy.discard:
            continue
        else:
            return None
    return "".join(out)


def _converted(dataset: Dataset, charset: Charset, policy: ResponseCharset) -> bool:
    """Make the text values of ``dataset`` fit ``charset`` (in place); False, unchanged, if they cannot."""
    fits = _fitting(charset)
    changes: list[tuple[DataElement, object]] = []

    def walk(ds: Dataset) -> bool:
        for element in ds:
            if element.VR == "SQ":
                if not all(walk(item) for item in element.value):
                    return False
            elif element.VR in _TEXT_VRS and element.value is not None:
                many = isinstance(element.value, MultiValue)
                values = [str(v) for v in (element.value if many else [element.value])]
                new = [_fitted(v, fits, policy) for v in values]
                if any(v is None for v in new):
                    return False
                if new != values:
                    changes.append((element, new if many else new[0]))
        return True

    if not walk(dataset):
        return False
    for element, value in changes:
        element.value = value
    return True


def _policy_charset(dataset: Dataset, requested: Charset, stored: str, policy: ResponseCharset) -> Charset:
    request = _joined(requested)
    target = request if policy.target == REQUEST else policy.target
    fallback = request if policy.fallback == REQUEST else policy.fallback
    for candidate in (target, None if fallback == target else fallback):
        if candidate is None or not _necessary(stored, candidate):
            break
        if _converted(dataset, _stored_value(candidate), policy):
            return _stored_value(candidate)
    # left as stored (when even that does not fit the values, UTF-8 does)
    return _stored_value(stored) if _encodable(list(_texts(dataset)), _stored_value(stored)) else _UTF8


def _identifier(row: sa.Row[Any], answer: _Answer) -> Dataset | None:
    values = row._mapping
    attributes: Mapping[str, Any] = values["attributes"] if answer.needs_json else {}
    attributes = attributes or {}
    found_items: dict[int, list[dict[str, Any]]] = {}
    for key, value in answer.post:
        stored = attributes.get(f"{key.tag:08X}")
        if key.vr == "SQ":
            items = match_sequence(answer.sequences.get(key.tag, []), (stored or {}).get("Value") or [])
            if items is None:
                return None
            found_items[key.tag] = items
        elif value and not matches(key.vr, value, json_text(stored)):
            return None
    dataset = Dataset()
    for tag, vr, label in answer.columns:
        value = values[label]
        dataset.add(
            _from_text(tag, vr, value if isinstance(value, str) else None if value is None else str(value))
        )
    for tag, vr in answer.from_json:
        stored = attributes.get(f"{tag:08X}")
        if tag in found_items:
            stored = {"vr": "SQ", "Value": found_items[tag]}
        dataset.add(_from_json(tag, vr, stored))
    dataset.QueryRetrieveLevel = answer.level.name
    dataset.RetrieveAETitle = answer.retrieve_ae_title
    stored = values["charset"] or ""
    if answer.policy is None:
        charset = _response_charset(dataset, answer.charset, stored)
    else:
        charset = _policy_charset(dataset, answer.charset, stored, answer.policy)
    if charset:
        dataset.SpecificCharacterSet = charset
    return dataset


def _answer_plan(
    the_plan: Plan,
    request: _Request,
    post: list[tuple[Key, str]],
    ae: str,
    policy: ResponseCharset | None = None,
) -> _Answer:
    level = the_plan.level
    columns: list[tuple[int, str, str]] = []
    from_json: list[tuple[int, str]] = []
    for tag, vr in request.vrs.items():
        key = KEYS_BY_TAG.get(tag)
        answerable = key is not None and key.level <= level and key.source is not Source.JSON
        if key is not None and answerable and tag != RETRIEVE_AE_TITLE:
            columns.append((tag, vr if vr not in ("", "UN") else key.vr, _label(tag)))
        elif tag != RETRIEVE_AE_TITLE:
            from_json.append((tag, vr))
    return _Answer(
        level, tuple(columns), tuple(from_json), tuple(post), request.sequences, request.charset, ae, policy
    )


def _matching_ids(area: str, level: Level, conditions: _Conditions) -> sa.Select[Any]:
    """The ids of the level's matching rows, in order: joined only to the tables the
    conditions are on (the cheap first half of a C-FIND, see ``Index.find``)."""
    base = TABLES[level]
    top = min(min(conditions.levels, default=level), level)
    return (
        sa.select(base.c.id)
        .select_from(schema.joined(level, top))
        .where(*_in_area(area, top, level), *conditions.sql)
        .order_by(base.c.id)
    )


def _in_area(area: str, top: Level, bottom: Level) -> list[sa.ColumnElement[bool]]:
    """Every joined table in ``area`` (a row's ancestors are in its area anyway): so that a
    UID of an ancestor is looked up in its (area, UID) index, never by a scan of the table."""
    return [TABLES[level].c.area == area for level in Level if top <= level <= bottom]


def _find_statement(answer: _Answer) -> sa.Select[Any]:
    """The response columns of the rows whose ids are the ``ids`` parameter."""
    level = answer.level
    base = TABLES[level]
    selected: list[sa.ColumnElement[Any]] = [base.c.id, base.c.specific_character_set.label("charset")]
    for tag, _vr, label in answer.columns:
        key = KEYS_BY_TAG[tag]
        count = schema.related_count(tag) if key.source is Source.COUNT else None
        source = count if count is not None else TABLES[key.level].c[str(key.column)]
        selected.append(source.label(label))
    if answer.needs_json:
        selected.append(schema.first_attributes(level).label("attributes"))
    return (
        sa.select(*selected)
        .select_from(schema.joined(level))
        .where(base.c.id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(base.c.id)
    )


# -- the index ------------------------------------------------------------------------------------------


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _record_select() -> sa.Select[Any]:
    return sa.select(
        instance.c.id,
        instance.c.series_pk,
        instance.c.area,
        instance.c.path,
        instance.c.size,
        instance.c.sop_class_uid,
        instance.c.sop_instance_uid,
        instance.c.transfer_syntax,
        study.c.study_instance_uid,
        series.c.series_instance_uid,
        instance.c.stored_at,
    ).select_from(schema.joined(Level.IMAGE))


def _record(row: sa.Row[Any]) -> InstanceRecord:
    m = row._mapping
    return InstanceRecord(
        m["area"],
        m["path"],
        int(m["size"]),
        m["sop_class_uid"],
        m["sop_instance_uid"],
        m["transfer_syntax"],
        m["study_instance_uid"],
        m["series_instance_uid"],
        _aware(m["stored_at"]),
    )


# Statistics are looked at after this many stores; on SQLite ANALYZE runs again once the
# instances are this much more (or fewer) than when it last ran.
_REANALYZE: Final = 5000
_STALE: Final = 0.25


class Index:
    """The archive's index over a SQLAlchemy Engine; ``Index.open(url)`` is the usual way in."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._added = 0
        with self._write() as connection:
            database.lock_schema(connection)  # processes starting together: one at a time
            schema.upgrade(connection)
        self.refresh_statistics()

    def refresh_statistics(self) -> None:
        """Let the query planner know the tables' sizes and how selective their indexes are
        (ANALYZE): at open and every ``_REANALYZE`` stores.

        Without statistics SQLite answers an image-level query within one series by scanning
        every instance of the area instead of going from the series.  With a bounded ANALYZE
        (``PRAGMA analysis_limit``) it is misled the other way: sampling the first rows of
        an index, it takes the leading ``area`` column for selective and walks the whole of
        an index on (area, ...) rather than the one that matches.  So SQLite's ANALYZE reads
        every index, whole (a third of a second at 1,000,000 instances: the indexes are
        small), but only when the instances are ``_STALE`` more or fewer than at the last
        one: amortised, a constant cost per store.  PostgreSQL's ANALYZE samples a bounded
        number of rows and estimates the distinct values well; it runs every time.
        """
        if self._engine.dialect.name == "sqlite":
            with self._engine.connect() as connection, connection.begin():  # no write lock to look
                if not _sqlite_stale(connection):
                    return
        with self._write() as connection:
            connection.exec_driver_sql("ANALYZE")

    @classmethod
    def open(cls, url: str, **engine_options: Any) -> Index:
        """Open (creating or upgrading) the index at ``url``, e.g. ``sqlite:///path/index.sqlite``
        or ``postgresql+psycopg://...``; ``engine_options`` go to ``sqlalchemy.create_engine``."""
        return cls(create_engine(url, **engine_options))

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @property
    def shared(self) -> bool:
        """May other processes use this index at the same time (PostgreSQL)?"""
        return self._engine.dialect.name != "sqlite"

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{database.WRITE: True})
            with connection.begin():
                yield connection

    def _writing(self, work: Callable[[sa.Connection], T], on: sa.Connection | None = None) -> T:
        """``work`` in a write transaction (on ``on``, else a connection of the pool), tried
        again when another writer got in its way (``database.retryable``)."""
        for attempt in range(_WRITE_ATTEMPTS):
            try:
                if on is None:
                    with self._write() as connection:
                        return work(connection)
                with on.begin():
                    return work(on)
            except exc.DBAPIError as error:
                if attempt == _WRITE_ATTEMPTS - 1 or not database.retryable(error):
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def claim(self, area: str, sop_instance_uid: str) -> Iterator[Claim]:
        """Hold one instance of ``area`` against every other process on this index until the
        block ends: a store indexes it and renames its file into place inside, so that two
        stores of the same SOP Instance UID (two processes, two hosts) happen one after the
        other, the row and the file always of the same one.  On SQLite (one process) the
        caller's own lock suffices.  Raises ``sqlalchemy.exc.SQLAlchemyError`` when the
        database fails."""
        with self._engine.connect() as connection:
            connection.execution_options(**{database.WRITE: True})
            database.lock_instance(connection, area, sop_instance_uid)
            try:
                yield Claim(self, connection, area)
            finally:
                database.unlock_instance(connection, area, sop_instance_uid)

    def _read(self, statement: sa.Executable) -> list[sa.Row[Any]]:
        with self._engine.connect() as connection, connection.begin():
            return list(connection.execute(statement))

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A read transaction.  On PostgreSQL: REPEATABLE READ, so that the statements of one
        stream see one snapshot (SQLite's read transaction is one already); and cursors
        planned for all their rows (``cursor_tuple_fraction``; PostgreSQL's default plans
        them for their first tenth, which walks a whole table in id order past the index
        that selects the matches)."""
        with self._engine.connect() as connection:
            postgresql = connection.dialect.name == "postgresql"
            if postgresql:
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                if postgresql:
                    connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
                yield connection

    def _stream(
        self, statement: sa.Select[Any], convert: Callable[[sa.Row[Any]], T | None]
    ) -> Generator[T, None, None]:
        with self._reading() as connection:
            result = connection.execute(statement.execution_options(yield_per=_BATCH))
            for row in result:
                item = convert(row)
                if item is not None:
                    yield item

    def _stream_ids(
        self, ids: sa.Select[Any], rows: sa.Select[Any], convert: Callable[[sa.Row[Any]], T | None]
    ) -> Generator[T, None, None]:
        """Stream ``rows`` (a statement of an ``ids`` list) for the ids ``ids`` selects, in
        batches: 1 id, then 4 times more each time up to ``_BATCH``.

        The database orders and hands out the matching ids alone (from an index, on a cursor
        that is server-side on PostgreSQL) and builds the rows of one batch at a time: the
        first response never waits for the counts, the JSON or the joins of the others, and
        closing the generator (a C-CANCEL) leaves the rest of the work undone."""
        with self._reading() as connection:
            matched = connection.execute(ids.execution_options(stream_results=True, max_row_buffer=_BATCH))
            size = 1
            while batch := [row[0] for row in matched.fetchmany(size)]:
                for row in connection.execute(rows, {"ids": batch}).all():
                    item = convert(row)
                    if item is not None:
                        yield item
                size = min(size * 4, _BATCH)

    # -- storing ------------------------------------------------------------------------------------

    def add_instance(
        self, area: str, dataset: Dataset, *, path: str, size: int, transfer_syntax: str
    ) -> InstanceRecord | None:
        """Index an instance stored at ``path`` (relative to the area).  Returns the record it
        replaces (same SOP Instance UID in the same area), whose file the caller removes after
        this commits; None for a new instance.  Raises ``InvalidInstance``."""
        return self._add(area, dataset, path, size, transfer_syntax, None)

    def _add(
        self,
        area: str,
        dataset: Dataset,
        path: str,
        size: int,
        transfer_syntax: str,
        on: sa.Connection | None,
    ) -> InstanceRecord | None:
        entry = _Entry.of(dataset, path)
        replaced = self._writing(
            lambda c: _Writer(c, area, dt.datetime.now(dt.UTC)).add(entry, path, size, transfer_syntax), on
        )
        self._added += 1
        if self._added % _REANALYZE == 0:
            self.refresh_statistics()
        return replaced

    # -- querying -----------------------------------------------------------------------------------

    def find(
        self,
        area: str,
        model: str,
        query: Dataset,
        *,
        strict: bool = False,
        combined_datetime: bool = False,
        retrieve_ae_title: str | None = None,
        charset: ResponseCharset | None = None,
    ) -> Generator[Dataset, None, None]:
        """The C-FIND response identifiers for ``query`` in ``area``, streamed.

        ``model`` is a model name (``patient``, ``study``, ``psonly``) or a SOP class UID.
        ``strict`` checks the identifier as dcmqrscp ``--check-find`` does;
        ``combined_datetime`` matches date/time pairs together (PS3.4 C.2.2.2.5, when
        negotiated); ``retrieve_ae_title`` (default: the area) goes into every response;
        ``charset`` chooses the responses' character set (None: see the module docstring).
        Raises ``QueryError`` (with the DIMSE status) now, before iterating, for a bad identifier.
        """
        request = _Request.of(query)
        the_plan = plan(model_for(model), request.level_value, request.texts, strict=strict)
        conditions = _conditions(the_plan, combined_datetime, area)
        answer = _answer_plan(
            the_plan,
            request,
            conditions.post,
            area if retrieve_ae_title is None else retrieve_ae_title,
            charset,
        )
        return self._stream_ids(
            _matching_ids(area, the_plan.level, conditions),
            _find_statement(answer),
            lambda row: _identifier(row, answer),
        )

    def instances_for(
        self, area: str, model: str, query: Dataset, *, strict: bool = False, combined_datetime: bool = False
    ) -> Generator[InstanceRecord, None, None]:
        """The instances a C-MOVE/C-GET identifier selects, streamed (``strict``: as dcmqrscp
        ``--check-move``).  An identifier dcmqrscp would fail to compare selects nothing."""
        request = _Request.of(query)
        the_plan = plan(
            model_for(model), request.level_value, request.texts, service=Service.RETRIEVE, strict=strict
        )
        if not the_plan.answerable:
            return _nothing()
        conditions = _conditions(the_plan, combined_datetime, area)
        post = conditions.post
        statement = (
            _record_select()
            .where(*_in_area(area, Level.PATIENT, Level.IMAGE), *conditions.sql)
            .order_by(instance.c.id)
        )
        if post:
            statement = statement.add_columns(instance.c.attributes)
        sequences = request.sequences

        def convert(row: sa.Row[Any]) -> InstanceRecord | None:
            return _record(row) if _post_filter(row, post, sequences) else None

        return self._stream(statement, convert)

    # -- quotas ---------------------------------------------------------------------------------------

    def study_count(self, area: str) -> int:
        rows = self._read(sa.select(sa.func.count()).select_from(study).where(study.c.area == area))
        return int(rows[0][0])

    def study_size(self, area: str, study_uid: str) -> int:
        """The bytes the study's files take (0 for an unknown study)."""
        statement = (
            sa.select(sa.func.coalesce(sa.func.sum(instance.c.size), 0))
            .select_from(schema.joined(Level.IMAGE))
            .where(study.c.area == area, study.c.study_instance_uid == study_uid)
        )
        return int(self._read(statement)[0][0])

    def oldest_studies(self, area: str, limit: int | None = None) -> list[str]:
        """Study Instance UIDs, least recently stored first."""
        statement = (
            sa.select(study.c.study_instance_uid)
            .where(study.c.area == area)
            .order_by(study.c.stored_at, study.c.id)
            .limit(limit)
        )
        return [row[0] for row in self._read(statement)]

    def delete_study(self, area: str, study_uid: str) -> list[str]:
        """Remove a study from the index; returns its file paths (for the caller to delete)."""
        return self._writing(lambda c: _Writer(c, area, dt.datetime.now(dt.UTC)).delete_study(study_uid))

    # -- start-up reconciliation ------------------------------------------------------------------

    def paths(self, area: str) -> set[str]:
        """Every indexed file path of the area."""
        return {row[0] for row in self._read(sa.select(instance.c.path).where(instance.c.area == area))}

    def remove_paths(self, area: str, paths: Iterable[str], on: sa.Connection | None = None) -> int:
        """Drop the rows of files that are gone; returns how many instances were removed."""
        wanted = sorted(set(paths))
        return self._writing(lambda c: _Writer(c, area, dt.datetime.now(dt.UTC)).remove_paths(wanted), on)


@dataclass(frozen=True)
class Claim:
    """An instance held by :meth:`Index.claim`: its writes, on the connection that holds it."""

    index: Index
    connection: sa.Connection
    area: str

    def add_instance(
        self, dataset: Dataset, *, path: str, size: int, transfer_syntax: str
    ) -> InstanceRecord | None:
        """:meth:`Index.add_instance` in the claimed area."""
        return self.index._add(self.area, dataset, path, size, transfer_syntax, self.connection)

    def remove_paths(self, paths: Iterable[str]) -> int:
        """:meth:`Index.remove_paths` in the claimed area."""
        return self.index.remove_paths(self.area, paths, self.connection)


def _sqlite_stale(connection: sa.Connection) -> bool:
    """Whether SQLite's statistics are missing or were taken at another size of the index."""
    tables = connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
    if tables is None:
        return True
    analysed = connection.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'instance' AND idx IS NOT NULL LIMIT 1"
    ).scalar()
    now = int(connection.execute(sa.select(sa.func.count()).select_from(instance)).scalar_one())
    if analysed is None:
        return True
    then = int(str(analysed).split()[0])
    return abs(now - then) > _STALE * max(then, 1)


def _nothing() -> Generator[InstanceRecord, None, None]:
    yield from ()


def _post_filter(
    row: sa.Row[Any], post: Sequence[tuple[Key, str]], sequences: Mapping[int, list[JsonItem]]
) -> bool:
    if not post:
        return True
    attributes: Mapping[str, Any] = row._mapping["attributes"] or {}
    for key, value in post:
        stored = attributes.get(f"{key.tag:08X}")
        if key.vr == "SQ":
            if match_sequence(sequences.get(key.tag, []), (stored or {}).get("Value") or []) is None:
                return False
        elif value and not matches(key.vr, value, json_text(stored)):
            return False
    return True


# -- writing ----------------------------------------------------------------------------------------------


# Statements built once (their compiled forms are cached): a store runs them all.
_BY_UID: Final = {
    level: sa.select(table).where(
        table.c.area == sa.bindparam("a"), table.c[str(UNIQUE_KEYS[level].column)] == sa.bindparam("u")
    )
    for level, table in TABLES.items()
}
_UPDATE_BY_PK: Final = {
    level: sa.update(table).where(table.c.id == sa.bindparam("_pk")) for level, table in TABLES.items()
}
_RECORD_BY_UID: Final = _record_select().where(
    instance.c.area == sa.bindparam("a"), instance.c.sop_instance_uid == sa.bindparam("u")
)
_DELETE_INSTANCE: Final = sa.delete(instance).where(instance.c.id == sa.bindparam("_pk"))
# PostgreSQL: a patient, study or series another process inserts at the same moment is
# waited for and then found, rather than failing the whole transaction on its unique key.
_INSERT_OR_NOTHING: Final = {
    level: postgresql.insert(table)
    .on_conflict_do_nothing(index_elements=["area", str(UNIQUE_KEYS[level].column)])
    .returning(table.c.id)
    for level, table in TABLES.items()
}


class _Writer:
    """The statements of one write transaction in one area."""

    def __init__(self, connection: sa.Connection, area: str, now: dt.datetime) -> None:
        self.c = connection
        self.area = area
        self.now = now

    def add(self, entry: _Entry, path: str, size: int, transfer_syntax: str) -> InstanceRecord | None:
        uid = str(entry.values[Level.IMAGE]["sop_instance_uid"])
        old_row = self.c.execute(_RECORD_BY_UID, {"a": self.area, "u": uid}).first()
        patient_pk, _ = self._upsert(Level.PATIENT, entry, {})
        study_pk, old_study = self._upsert(Level.STUDY, entry, {"patient_pk": patient_pk})
        series_pk, old_series = self._upsert(Level.SERIES, entry, {"study_pk": study_pk})
        if old_row is not None:
            self.c.execute(_DELETE_INSTANCE, {"_pk": old_row.id})
        row = {
            **entry.values[Level.IMAGE],
            "area": self.area,
            "series_pk": series_pk,
            "specific_character_set": entry.charset,
            "stored_at": self.now,
            "path": path,
            "size": size,
            "transfer_syntax": transfer_syntax,
            "attributes": entry.attributes,
        }
        self.c.execute(sa.insert(instance), row)
        # what the new row may have left empty: a re-stored instance's series, a moved
        # series' study, a moved study's patient
        maybe_empty: dict[Level, set[int]] = {
            Level.SERIES: {old_row.series_pk} - {series_pk} if old_row is not None else set(),
            Level.STUDY: {old_series["study_pk"]} - {study_pk} if old_series else set(),
            Level.PATIENT: {old_study["patient_pk"]} - {patient_pk} if old_study else set(),
        }
        touched = self._prune(maybe_empty)
        if old_series is None or old_series["modality"] != entry.values[Level.SERIES]["modality"]:
            touched.add(study_pk)
        if old_series is not None and old_series["study_pk"] != study_pk:
            touched |= {study_pk, old_series["study_pk"]}
        self._refresh_modalities(touched)
        return _record(old_row) if old_row is not None else None

    def _upsert(
        self, level: Level, entry: _Entry, parent: dict[str, int]
    ) -> tuple[int, Mapping[str, Any] | None]:
        """Insert or update the level's row; returns its id and its previous values."""
        unique = str(UNIQUE_KEYS[level].column)
        values = {**entry.values[level], **parent, "specific_character_set": entry.charset}
        by_uid = {"a": self.area, "u": values[unique]}
        old = self.c.execute(_BY_UID[level], by_uid).first()
        while old is None:
            pk = self._insert(level, {**values, "area": self.area, "stored_at": self.now})
            if pk is not None:
                return pk, None
            old = self.c.execute(_BY_UID[level], by_uid).first()  # inserted by another writer
        previous = dict(old._mapping)
        changed = {name: value for name, value in values.items() if previous[name] != value}
        if changed or level is Level.STUDY:  # a study's stored_at orders the quota's deletions
            self.c.execute(_UPDATE_BY_PK[level], {**changed, "stored_at": self.now, "_pk": previous["id"]})
        return int(previous["id"]), previous

    def _insert(self, level: Level, row: dict[str, Any]) -> int | None:
        """Insert a new row; its id, or None when another writer inserted the same UID first."""
        if self.c.dialect.name == "postgresql":
            pk = self.c.execute(_INSERT_OR_NOTHING[level], row).scalar()
            return None if pk is None else int(pk)
        inserted = self.c.execute(sa.insert(TABLES[level]), row).inserted_primary_key
        assert inserted is not None
        return int(inserted[0])

    def _prune(self, candidates: Mapping[Level, set[int]]) -> set[int]:
        """Delete the candidate series, studies, patients that have no children left (bottom
        up); returns the surviving studies that lost a series."""
        pending = {level: set(ids) for level, ids in candidates.items()}
        studies_changed: set[int] = set()
        for level in (Level.SERIES, Level.STUDY, Level.PATIENT):
            child = TABLES[Level(level + 1)]
            gone = self._delete_childless(level, child, pending.get(level, set()))
            if level is Level.SERIES:
                studies_changed = {parent for _, parent in gone}
            if level is not Level.PATIENT:
                pending.setdefault(Level(level - 1), set()).update(parent for _, parent in gone)
            if level is Level.STUDY:
                studies_changed -= {pk for pk, _ in gone}
        return studies_changed

    def _delete_childless(self, level: Level, child: sa.Table, ids: set[int]) -> list[tuple[int, int]]:
        table = TABLES[level]
        parent_key = PARENT_KEY.get(level)
        parent = table.c[parent_key] if parent_key else sa.literal(0)
        link = child.c[PARENT_KEY[Level(level + 1)]]
        gone: list[tuple[int, int]] = []
        for chunk in _chunks(sorted(ids)):
            rows = self.c.execute(
                sa.select(table.c.id, parent).where(
                    table.c.id.in_(chunk), ~sa.exists().where(link == table.c.id)
                )
            ).all()
            if rows:
                self.c.execute(sa.delete(table).where(table.c.id.in_([r[0] for r in rows])))
                gone += [(int(r[0]), int(r[1])) for r in rows]
        return gone

    def _refresh_modalities(self, study_pks: Iterable[int]) -> None:
        for pk in study_pks:
            rows = self.c.execute(
                sa.select(series.c.modality)
                .where(series.c.study_pk == pk, series.c.modality != "")
                .distinct()
            ).all()
            joined = "\\".join(sorted(set(uid_list("\\".join(r[0] for r in rows)))))
            self.c.execute(sa.update(study).where(study.c.id == pk).values(modalities_in_study=joined))

    def delete_study(self, study_uid: str) -> list[str]:
        found = self.c.execute(
            sa.select(study.c.id, study.c.patient_pk).where(
                study.c.area == self.area, study.c.study_instance_uid == study_uid
            )
        ).first()
        if found is None:
            return []
        study_pk, patient_pk = int(found[0]), int(found[1])
        series_of_study = sa.select(series.c.id).where(series.c.study_pk == study_pk)
        paths = [
            row[0]
            for row in self.c.execute(
                sa.select(instance.c.path).where(instance.c.series_pk.in_(series_of_study))
            )
        ]
        self.c.execute(sa.delete(instance).where(instance.c.series_pk.in_(series_of_study)))
        self.c.execute(sa.delete(series).where(series.c.study_pk == study_pk))
        self.c.execute(sa.delete(study).where(study.c.id == study_pk))
        self._prune({Level.PATIENT: {patient_pk}})
        return paths

    def remove_paths(self, paths: Sequence[str]) -> int:
        removed, series_pks = 0, set()
        for chunk in _chunks(paths):
            rows = self.c.execute(
                sa.select(instance.c.id, instance.c.series_pk).where(
                    instance.c.area == self.area, instance.c.path.in_(chunk)
                )
            ).all()
            if rows:
                self.c.execute(sa.delete(instance).where(instance.c.id.in_([r[0] for r in rows])))
                removed += len(rows)
                series_pks |= {int(r[1]) for r in rows}
        self._refresh_modalities(self._prune({Level.SERIES: series_pks}))
        return removed
