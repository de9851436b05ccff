"""Alembic environment: migrations run on the connection the caller passes in."""

from __future__ import annotations

from alembic import context

from posology.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through posology.store.db.upgrade
    raise RuntimeError("run migrations through `posology db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
