"""a plan step is confirmed once and an entry is superseded once, enforced by the database

Revision ID: 0006
Revises: 0005

Before this release two simultaneous confirmations of one step could both be stored, and so
could two corrections of one entry. History is append-only: rows already stored that way are
kept as they are, so each unique index covers only the rows written after this migration (a
partial index above the highest id of such a pair; with no such pair, every row). The server
checks under the patient's lock as well, which also holds for the values stored twice before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (("uq_event_plan_step", "plan_step_id"), ("uq_event_supersedes", "supersedes"))


def _cutoff(column: str) -> int:
    """The highest id among rows sharing a value of ``column`` (0 when none do)."""
    found = op.get_bind().execute(
        sa.text(
            f"SELECT MAX(e.id) FROM events e JOIN events f ON e.{column} = f.{column} "
            f"AND e.id <> f.id WHERE e.{column} IS NOT NULL"
        )
    )
    return int(found.scalar() or 0)


def upgrade() -> None:
    for name, column in INDEXES:
        where = sa.text(f"{column} IS NOT NULL AND id > {_cutoff(column)}")
        op.create_index(
            name,
            "events",
            [column],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name, _column in INDEXES:
        op.drop_index(name, table_name="events")
