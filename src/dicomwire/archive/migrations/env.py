"""Alembic environment: runs the migrations on the connection ``schema.upgrade`` passes in."""

from __future__ import annotations

from alembic import context

from dicomwire.archive.schema import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
