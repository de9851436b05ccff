"""What the patient pages read of a record beyond the services' answers: the identity the banner
shows, whether a record answers a search, the profile's kept versions and the clinic's
co-signing policy.

Read-only; the caller has already read the patient through the services, which check the
clinic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from ..services import accounts
from ..services import clinic as clinic_settings
from ..store.values import aware


def identity(record: dict[str, Any]) -> dict[str, Any]:
    """The record's identity as the banner shows it: the name (the old label when no name was
    recorded), the birth date (the record's, else the PATIENT document's) and record number."""
    patient = record.get("patient") or {}
    return {
        "name": record.get("name") or record.get("label") or "",
        "birth_date": record.get("birth_date") or patient.get("birth_date"),
        "age_years": patient.get("age_years"),
        "record_number": record.get("record_number"),
    }


def matches(record: dict[str, Any], query: str) -> bool:
    """Whether a patient record answers a search by name, record number or birth date."""
    q = query.strip().casefold()
    if not q:
        return True
    who = identity(record)
    fields = (who["name"], record.get("label"), who["record_number"], who["birth_date"])
    return any(q in str(f).casefold() for f in fields if f)


def single_signer(engine: Engine, user: accounts.User) -> bool:
    """Whether the user's clinic lets one person save a critical override (no co-signer)."""
    with engine.connect() as conn:
        return clinic_settings.clinic_policy(conn, user.clinic_id) == "single-signer"


def versions(engine: Engine, user: accounts.User, patient_id: int) -> list[dict[str, Any]]:
    """Every kept version of the profile, newest first, each with what changed from the one
    before it (so two versions can be compared on the page). The caller has already read the
    patient through the store, which checks the clinic."""
    from sqlalchemy import select

    from ..store import tables as T

    with engine.connect() as conn:
        rows = conn.execute(
            select(T.patient_revisions, T.users.c.email)
            .outerjoin(T.users, T.users.c.id == T.patient_revisions.c.user_id)
            .where(T.patient_revisions.c.patient_id == patient_id)
            .order_by(T.patient_revisions.c.version)
        ).all()
    out: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for r in rows:
        document = dict(r.document)
        keys = sorted(set(before) | set(document))
        changed = [
            {"field": k, "before": before.get(k), "after": document.get(k)}
            for k in keys
            if before.get(k) != document.get(k)
        ]
        out.append(
            {
                "version": r.version,
                "changed_at": aware(r.recorded_at).isoformat(),
                "by": r.email,
                "changes": changed if out else [],
            }
        )
        before = document
    return out[::-1]
