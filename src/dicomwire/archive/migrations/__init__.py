"""Alembic migrations of the archive index (run in code by ``schema.upgrade``)."""
