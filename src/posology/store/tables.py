"""The database schema (SQLAlchemy Core). Migrations under ``migrations/`` create it.

History is append-only: rows of ``events``, ``patient_revisions`` and ``audit`` are inserted,
never updated or deleted; a correction is a new event that names the one it supersedes.
``patients.version`` is the optimistic-concurrency counter bumped by every change to a patient.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

clinics = Table(
    "clinics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("contact", Text),  # how patients reach the clinic: printed on handouts
    Column("time_zone", String(64)),  # IANA name; none means UTC
    Column("override_policy", String(20)),  # single-signer or co-sign; none means co-sign
    Column("profile", String(40)),  # jurisdiction profile of the rules; none: the server's
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("clinic_id", Integer, ForeignKey("clinics.id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # none: until revoked
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Every login attempt, kept a day: the lockout per account and per address reads it.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("address", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_login_attempts_email_at", "email", "at"),
    Index("ix_login_attempts_address_at", "address", "at"),
)

patients = Table(
    "patients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("clinic_id", Integer, ForeignKey("clinics.id"), nullable=False),
    Column("label", String(200), nullable=False),
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # the record's identity, beside the engine's PATIENT document (never inside it); name and
    # record number are always written (migration 0005 fills them for older rows) but left
    # nullable in the schema so that SQLite needs no table rebuild to add them
    Column("name", String(200)),
    Column("birth_date", String(10)),
    Column("record_number", String(100)),
)
Index("ix_patients_clinic", patients.c.clinic_id)
Index("uq_patient_record_number", patients.c.clinic_id, patients.c.record_number, unique=True)

patient_revisions = Table(
    "patient_revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("patient_id", "version", name="uq_patient_revision"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", String(40), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("document", JSON, nullable=False),
    Column("supersedes", Integer, ForeignKey("events.id")),
    Column("override_reason", Text),
    Column("findings", JSON, nullable=False),
    Column("plan_step_id", Integer),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("override_code", String(40)),
    Column("override_text", Text),
    Column("cosigner_id", Integer),  # a users.id, checked when written
    Column("correction_kind", String(20)),  # correction | entered-in-error (with supersedes)
    Column("correction_text", Text),
    UniqueConstraint("patient_id", "seq", name="uq_event_seq"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("goal", JSON, nullable=False),
    Column("start", String(40), nullable=False),
    Column("answer", JSON, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

plan_steps = Table(
    "plan_steps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", Integer, ForeignKey("plans.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("step", JSON, nullable=False),
    UniqueConstraint("plan_id", "position", name="uq_plan_step"),
)

event_verifications = Table(
    "event_verifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id"), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),  # none while the first request is being answered
    Column("answer", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
)

cds_jti = Table(
    "cds_jti",
    metadata,
    Column("jti", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("clinic_id", Integer, ForeignKey("clinics.id")),
    Column("action", String(60), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("entity_id", Integer),
    Column("detail", JSON, nullable=False),
)
Index("ix_audit_clinic", audit.c.clinic_id)
