"""Indexes for the C-FIND keys: no query key of dcmqrscp's scans all the instances.

Revision ID: 0002
Revises: 0001

New: patient birth date, study time, Study ID, referring physician, instance number; the
series' modality index also holds the study (Modalities in Study reads only that index).
On PostgreSQL the indexes of the columns that take wild cards are rebuilt with
``text_pattern_ops``: in any collation but C, a plain b-tree cannot serve ``LIKE 'DOE%'``.

Frozen: later schema changes are new revisions, never edits here.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_PATTERN = "text_pattern_ops"
# (index, table, columns, the column that takes wild cards or None)
_NEW: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_patient_area_patient_birth_date_key", "patient", ["area", "patient_birth_date_key"], None),
    ("ix_study_area_study_time_key", "study", ["area", "study_time_key"], None),
    ("ix_study_area_study_id", "study", ["area", "study_id"], "study_id"),
    (
        "ix_study_area_referring_physician_name",
        "study",
        ["area", "referring_physician_name"],
        "referring_physician_name",
    ),
    ("ix_series_area_modality_study_pk", "series", ["area", "modality", "study_pk"], "modality"),
    ("ix_instance_area_instance_number", "instance", ["area", "instance_number"], None),
)
# 0001's indexes of wild card columns, rebuilt with the pattern operator class on PostgreSQL
_REBUILT: tuple[tuple[str, str, list[str], str | None], ...] = (
    ("ix_patient_area_patient_name", "patient", ["area", "patient_name"], "patient_name"),
    ("ix_study_area_accession_number", "study", ["area", "accession_number"], "accession_number"),
)


def _create(name: str, table: str, columns: list[str], pattern: str | None) -> None:
    op.create_index(name, table, columns, postgresql_ops={pattern: _PATTERN} if pattern else {})


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, columns, pattern in _REBUILT:
            op.drop_index(name, table_name=table)
            _create(name, table, columns, pattern)
    op.drop_index("ix_series_area_modality", table_name="series")
    for name, table, columns, pattern in _NEW:
        _create(name, table, columns, pattern)


def downgrade() -> None:
    for name, table, _columns, _pattern in reversed(_NEW):
        op.drop_index(name, table_name=table)
    op.create_index("ix_series_area_modality", "series", ["area", "modality"])
    if op.get_bind().dialect.name == "postgresql":
        for name, table, columns, _pattern in _REBUILT:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)
