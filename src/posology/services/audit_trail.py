"""The audit trail: who did what to which record, written in the same transaction as the
change, and read back by admins (and exported as CSV)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select

from ..store import tables as T
from ..store.db import writing
from ..store.values import aware, now, plain_json

if TYPE_CHECKING:
    from .accounts import User


def write_audit(
    conn: Connection,
    user: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any],
    clinic_id: int | None = None,
) -> None:
    """An audit row; ``user`` is the actor (None for the command line)."""
    conn.execute(
        insert(T.audit).values(
            at=now(),
            user_id=user.id if user else None,
            clinic_id=user.clinic_id if user else clinic_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=plain_json(detail),
        )
    )


def audit_rows(engine: Engine, user: User, limit: int = 1000) -> list[dict[str, Any]]:
    user.require("admin", "prescriber")
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.audit, T.users.c.email)
            .outerjoin(T.users, T.users.c.id == T.audit.c.user_id)
            .where(T.audit.c.clinic_id == user.clinic_id)
            .order_by(T.audit.c.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "id": r.id,
            "at": aware(r.at).isoformat(),
            "user": r.email,
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "detail": r.detail,
        }
        for r in rows
    ]


def audit_csv(engine: Engine, user: User) -> str:
    import json

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "at", "user", "action", "entity", "entity_id", "detail"])
    for r in reversed(audit_rows(engine, user, limit=1_000_000)):
        writer.writerow(
            [
                r["id"],
                r["at"],
                r["user"] or "",
                r["action"],
                r["entity"],
                r["entity_id"] if r["entity_id"] is not None else "",
                json.dumps(r["detail"], ensure_ascii=False, sort_keys=True),
            ]
        )
    return out.getvalue()


def record_read(
    engine: Engine, user: User, action: str, patient_id: int, detail: dict[str, Any] | None = None
) -> None:
    """A read or an export of a patient's data (a page, a PDF, CSV or calendar file), in the
    audit trail, in a short transaction of its own after the patient was found."""
    with writing(engine) as conn:
        write_audit(conn, user, action, "patient", patient_id, detail or {})
