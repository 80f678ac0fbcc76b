"""The archive index as SQLAlchemy Core tables, and its schema version (Alembic migrations).

One database serves every storage area: each row carries its area's AE title (``area``),
and a UID is unique within an area (the same study may be in two areas).  The hierarchy
is patient <- study <- series <- instance, linked by integer keys (``*_pk``).

Key columns hold the values as stored (decoded text, spaces trimmed, "" when absent, so a
``*`` key matches them); a DA/TM column has a ``_key`` twin with the normalised value that
range matching compares (NULL when the stored value is empty or invalid).  Matching is case
sensitive, as in dcmqrscp, so there is no upper-cased PN column.  The instance row also
holds its file (path relative to the storage area, size, transfer syntax, time stored) and
the instance's attributes as DICOM JSON (PS3.18 Annex F) with bulk data replaced by a
``BulkDataURI`` reference (``<path>#<tag>``).

Portable SQL only (SQLite and PostgreSQL).  The tables are created and upgraded by the
migrations in ``migrations/`` (``upgrade``); this module's ``metadata`` is what they must
produce, which a test checks.

The indexes answer C-FIND keys (``tests/archive/test_query_plans.py`` checks the plans):

* through an index: Patient's Name (equal, or a wild card after a literal prefix:
  ``DOE*``, ``DOE^J?HN``), Patient ID, Patient's Birth Date, Study Date, Study Time,
  Accession Number, Study ID, Referring Physician's Name, the UIDs, Modalities in Study
  (the series' (area, modality, study) index), the series of a study, the instances of a
  series, Instance Number; a parent's UID through its (area, UID) index; Modality across
  studies has an index too, which the planner may pass over for a common modality (a
  scan of the series in id order, which a tenth of them match, streams sooner);
* by a scan of their own level's table, never of the instances: the descriptive and
  rarely selective keys (Patient's Sex, Other Patient IDs, Ethnic Group, comments, Study
  Description, Patient's Age/Size/Weight, Occupation, ...; Series Number across studies),
  and a wild card before any literal (``*DOE*``): a b-tree cannot serve it, and a trigram
  index (PostgreSQL's pg_trgm, SQLite's FTS5) would need an extension or a shadow table
  kept by triggers: one row a patient is cheap enough to scan;
* the keys matched over the stored JSON (``keys.Source.JSON``, none of them dcmqrscp's)
  are checked row by row among what the other keys select: alone, they read every
  entity of their level.

On PostgreSQL the indexes of the columns that take wild cards use ``text_pattern_ops``
(a plain b-tree serves ``LIKE 'DOE%'`` only in the C collation); the unique (area,
Patient ID) index is a plain one, so a Patient ID with a wild card scans the patients there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from dicomwire.archive.keys import Level, column_keys

HEAD: Final = "0002"
MIGRATIONS: Final = Path(__file__).with_name("migrations")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _pattern(column: str) -> dict[str, str]:
    """PostgreSQL: a b-tree serves ``LIKE 'DOE%'`` only in the C collation, or with this
    operator class (which serves ``=`` too; these columns are never range-compared)."""
    return {column: "text_pattern_ops"}


# BIGINT on PostgreSQL; SQLite needs INTEGER for an auto-incrementing row id.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key_columns(level: Level) -> list[sa.Column[str | None]]:
    columns: list[sa.Column[str | None]] = []
    for key in column_keys(level):
        assert key.column is not None
        columns.append(sa.Column(key.column, sa.String(), nullable=False, server_default=""))
        if key.ordered_column:
            columns.append(sa.Column(key.ordered_column, sa.String(), nullable=True))
    return columns


def _common(parent: str | None) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("area", sa.String(64), nullable=False),
    ]
    if parent:
        columns.append(sa.Column(f"{parent}_pk", Id, sa.ForeignKey(f"{parent}.id"), nullable=False))
    return columns


def _tail() -> list[sa.Column[object]]:
    return [
        sa.Column("specific_character_set", sa.String(), nullable=False, server_default=""),
        # the last time an instance of this entity was stored: quotas drop the oldest study
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    ]


patient = sa.Table(
    "patient",
    metadata,
    *_common(None),
    *_key_columns(Level.PATIENT),
    *_tail(),
    sa.UniqueConstraint("area", "patient_id"),
    sa.Index("ix_patient_area_patient_name", "area", "patient_name", postgresql_ops=_pattern("patient_name")),
    sa.Index("ix_patient_area_patient_birth_date_key", "area", "patient_birth_date_key"),
)

study = sa.Table(
    "study",
    metadata,
    *_common("patient"),
    *_key_columns(Level.STUDY),
    sa.Column("modalities_in_study", sa.String(), nullable=False, server_default=""),
    *_tail(),
    sa.UniqueConstraint("area", "study_instance_uid"),
    sa.Index("ix_study_patient_pk", "patient_pk"),
    sa.Index("ix_study_area_study_date_key", "area", "study_date_key"),
    sa.Index("ix_study_area_study_time_key", "area", "study_time_key"),
    sa.Index(
        "ix_study_area_accession_number",
        "area",
        "accession_number",
        postgresql_ops=_pattern("accession_number"),
    ),
    sa.Index("ix_study_area_study_id", "area", "study_id", postgresql_ops=_pattern("study_id")),
    sa.Index(
        "ix_study_area_referring_physician_name",
        "area",
        "referring_physician_name",
        postgresql_ops=_pattern("referring_physician_name"),
    ),
    sa.Index("ix_study_area_stored_at", "area", "stored_at"),
)

series = sa.Table(
    "series",
    metadata,
    *_common("study"),
    *_key_columns(Level.SERIES),
    *_tail(),
    sa.UniqueConstraint("area", "series_instance_uid"),
    sa.Index("ix_series_study_pk", "study_pk"),
    # covering for Modalities in Study (the studies of the series of a modality)
    sa.Index(
        "ix_series_area_modality_study_pk",
        "area",
        "modality",
        "study_pk",
        postgresql_ops=_pattern("modality"),
    ),
)

instance = sa.Table(
    "instance",
    metadata,
    *_common("series"),
    *_key_columns(Level.IMAGE),
    *_tail(),
    sa.Column("path", sa.String(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("transfer_syntax", sa.String(64), nullable=False),
    sa.Column("attributes", sa.JSON(), nullable=False),
    sa.UniqueConstraint("area", "sop_instance_uid"),
    sa.Index("ix_instance_series_pk", "series_pk"),
    sa.Index("ix_instance_area_path", "area", "path"),
    sa.Index("ix_instance_area_instance_number", "area", "instance_number"),
)

TABLES: Final[dict[Level, sa.Table]] = {
    Level.PATIENT: patient,
    Level.STUDY: study,
    Level.SERIES: series,
    Level.IMAGE: instance,
}
# a level's table -> its parent's foreign key column name
PARENT_KEY: Final[dict[Level, str]] = {
    Level.STUDY: "patient_pk",
    Level.SERIES: "study_pk",
    Level.IMAGE: "series_pk",
}


def joined(level: Level, top: Level = Level.PATIENT) -> sa.FromClause:
    """The level's table joined to its ancestors up to ``top`` (their columns answer keys above)."""
    source: sa.FromClause = TABLES[level]
    for child in range(level, top, -1):
        parent = TABLES[Level(child - 1)]
        source = source.join(parent, TABLES[Level(child)].c[PARENT_KEY[Level(child)]] == parent.c.id)
    return source


# -- correlated subqueries over the hierarchy (inner tables aliased, outer ones correlated) -------


def related_count(tag: int) -> sa.ScalarSelect[Any] | None:
    """The "Number of ... Related ..." keys as correlated counts (inner tables aliased)."""
    st, se, im = study.alias(), series.alias(), instance.alias()
    st_se = se.join(st, se.c.study_pk == st.c.id)
    counts: dict[int, Callable[[], sa.Select[Any]]] = {
        0x00201200: lambda: sa.select(sa.func.count()).select_from(st).where(st.c.patient_pk == patient.c.id),
        0x00201202: lambda: (
            sa.select(sa.func.count()).select_from(st_se).where(st.c.patient_pk == patient.c.id)
        ),
        0x00201204: lambda: (
            sa.select(sa.func.count())
            .select_from(im.join(st_se, im.c.series_pk == se.c.id))
            .where(st.c.patient_pk == patient.c.id)
        ),
        0x00201206: lambda: sa.select(sa.func.count()).select_from(se).where(se.c.study_pk == study.c.id),
        0x00201208: lambda: (
            sa.select(sa.func.count())
            .select_from(im.join(se, im.c.series_pk == se.c.id))
            .where(se.c.study_pk == study.c.id)
        ),
        0x00201209: lambda: sa.select(sa.func.count()).select_from(im).where(im.c.series_pk == series.c.id),
    }
    build = counts.get(tag)
    return build().scalar_subquery() if build else None


def first_attributes(level: Level) -> sa.ColumnElement[Any]:
    """The DICOM JSON of the level entity's first stored instance (answers keys without a column)."""
    if level is Level.IMAGE:
        return instance.c.attributes
    im, se, st = instance.alias(), series.alias(), study.alias()
    chains: dict[Level, tuple[sa.FromClause, sa.ColumnElement[bool]]] = {
        Level.SERIES: (im, im.c.series_pk == series.c.id),
        Level.STUDY: (im.join(se, im.c.series_pk == se.c.id), se.c.study_pk == study.c.id),
        Level.PATIENT: (
            im.join(se, im.c.series_pk == se.c.id).join(st, se.c.study_pk == st.c.id),
            st.c.patient_pk == patient.c.id,
        ),
    }
    source, link = chains[level]
    query = sa.select(im.c.attributes).select_from(source).where(link).order_by(im.c.id).limit(1)
    return query.scalar_subquery()


# -- schema version -----------------------------------------------------------------------------


def alembic_config(connection: sa.Connection) -> Config:
    """An Alembic configuration built in code, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Create the tables or bring an existing index up to ``revision`` (a no-op when there)."""
    command.upgrade(alembic_config(connection), revision)


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
