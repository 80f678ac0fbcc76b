"""The initial archive index: patient, study, series, instance.

Revision ID: 0001
Revises: (none)

Frozen: later schema changes are new revisions, never edits here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _text(*names: str) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(), server_default="", nullable=False) for name in names]


def _ordered(name: str) -> list[sa.Column[Any]]:
    """A DA/TM column and its normalised twin."""
    return [*_text(name), sa.Column(f"{name}_key", sa.String(), nullable=True)]


def _head(parent: str | None) -> list[sa.Column[object]]:
    columns: list[sa.Column[object]] = [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
    ]
    if parent:
        columns.append(sa.Column(f"{parent}_pk", _ID, nullable=False))
    return columns


def _tail() -> list[sa.Column[object]]:
    return [
        sa.Column("specific_character_set", sa.String(), server_default="", nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _constraints(table: str, parent: str | None, unique: str) -> list[sa.Constraint]:
    items: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("area", unique, name=op.f(f"uq_{table}_area_{unique}")),
    ]
    if parent:
        items.append(
            sa.ForeignKeyConstraint([f"{parent}_pk"], [f"{parent}.id"], name=op.f(f"fk_{table}_{parent}_pk"))
        )
    return items


def upgrade() -> None:
    op.create_table(
        "patient",
        *_head(None),
        *_text("patient_name", "patient_id", "issuer_of_patient_id"),
        *_ordered("patient_birth_date"),
        *_ordered("patient_birth_time"),
        *_text("patient_sex", "other_patient_ids", "other_patient_names", "ethnic_group", "patient_comments"),
        *_tail(),
        *_constraints("patient", None, "patient_id"),
    )
    op.create_index("ix_patient_area_patient_name", "patient", ["area", "patient_name"])
    op.create_table(
        "study",
        *_head("patient"),
        *_ordered("study_date"),
        *_ordered("study_time"),
        *_text("accession_number", "study_id", "study_instance_uid", "referring_physician_name"),
        *_text("study_description", "name_of_physicians_reading_study", "other_study_numbers"),
        *_text("admitting_diagnoses_description", "patient_age", "patient_size", "patient_weight"),
        *_text("occupation", "additional_patient_history", "modalities_in_study"),
        *_tail(),
        *_constraints("study", "patient", "study_instance_uid"),
    )
    op.create_index("ix_study_area_accession_number", "study", ["area", "accession_number"])
    op.create_index("ix_study_area_stored_at", "study", ["area", "stored_at"])
    op.create_index("ix_study_area_study_date_key", "study", ["area", "study_date_key"])
    op.create_index("ix_study_patient_pk", "study", ["patient_pk"])
    op.create_table(
        "series",
        *_head("study"),
        *_text("modality", "series_number", "series_instance_uid"),
        *_ordered("series_date"),
        *_ordered("series_time"),
        *_text("series_description", "protocol_name", "operators_name", "performing_physician_name"),
        *_text("body_part_examined"),
        *_tail(),
        *_constraints("series", "study", "series_instance_uid"),
    )
    op.create_index("ix_series_area_modality", "series", ["area", "modality"])
    op.create_index("ix_series_study_pk", "series", ["study_pk"])
    op.create_table(
        "instance",
        *_head("series"),
        *_text("instance_number", "sop_instance_uid", "sop_class_uid"),
        *_tail(),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("transfer_syntax", sa.String(length=64), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        *_constraints("instance", "series", "sop_instance_uid"),
    )
    op.create_index("ix_instance_area_path", "instance", ["area", "path"])
    op.create_index("ix_instance_series_pk", "instance", ["series_pk"])


def downgrade() -> None:
    for table in ("instance", "series", "study", "patient"):
        op.drop_table(table)
