"""the patient record: identity beside the document, clinic roles, coded and co-signed overrides,
corrections with a reason, verification of overrides, idempotent creating requests

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _birth_date(document: Any) -> str | None:
    """The PATIENT document's birth date, when it has one (old rows may give only an age)."""
    if isinstance(document, str):
        document = json.loads(document)
    value = document.get("birth_date") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def upgrade() -> None:
    op.execute("UPDATE users SET role = 'prescriber' WHERE role = 'clinician'")
    with op.batch_alter_table("clinics") as batch_op:
        batch_op.add_column(sa.Column("override_policy", sa.String(20), nullable=True))
    with op.batch_alter_table("patients") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("birth_date", sa.String(10), nullable=True))
        batch_op.add_column(sa.Column("record_number", sa.String(100), nullable=True))
    bind = op.get_bind()
    patients = sa.table(
        "patients",
        sa.column("id", sa.Integer),
        sa.column("label", sa.String),
        sa.column("document", sa.JSON),
        sa.column("name", sa.String),
        sa.column("birth_date", sa.String),
        sa.column("record_number", sa.String),
    )
    for row in bind.execute(sa.select(patients.c.id, patients.c.label, patients.c.document)).all():
        bind.execute(
            patients.update()
            .where(patients.c.id == row.id)
            .values(
                name=row.label,
                birth_date=_birth_date(row.document),
                record_number=f"legacy-{row.id}",
            )
        )
    # an index, not a table rebuild: SQLite would drop and recreate ``patients``, which its
    # foreign keys (on inside the migration's transaction) forbid once events refer to it
    op.create_index(
        "uq_patient_record_number", "patients", ["clinic_id", "record_number"], unique=True
    )
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("override_code", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("override_text", sa.Text, nullable=True))
        batch_op.add_column(sa.Column("cosigner_id", sa.Integer, nullable=True))
        batch_op.add_column(sa.Column("correction_kind", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("correction_text", sa.Text, nullable=True))
    op.execute(
        "UPDATE events SET override_code = 'other', override_text = override_reason "
        "WHERE override_reason IS NOT NULL"
    )
    op.create_table(
        "event_verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("answer", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency")
    op.drop_table("event_verifications")
    with op.batch_alter_table("events") as batch_op:
        for column in (
            "correction_text",
            "correction_kind",
            "cosigner_id",
            "override_text",
            "override_code",
        ):
            batch_op.drop_column(column)
    op.drop_index("uq_patient_record_number", table_name="patients")
    with op.batch_alter_table("patients") as batch_op:
        for column in ("record_number", "birth_date", "name"):
            batch_op.drop_column(column)
    with op.batch_alter_table("clinics") as batch_op:
        batch_op.drop_column("override_policy")
    op.execute("UPDATE users SET role = 'clinician' WHERE role = 'prescriber'")
