"""CDS Hooks bookkeeping: token ids seen (replay protection) and the feedback EHRs send
about the cards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..store import tables as T
from ..store.db import writing
from ..store.values import now, plain_json
from .audit_trail import write_audit


def remember_jti(engine: Engine, jti: str, expires: float) -> bool:
    """Record a CDS Hooks token id; False when it was seen before (a replay), whichever worker
    saw it. Expired ids are cleared as new ones arrive."""
    when = datetime.fromtimestamp(expires, UTC)
    try:
        with writing(engine) as conn:
            if conn.dialect.name == "postgresql":  # bookkeeping: no need to wait for the disk
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            conn.execute(insert(T.cds_jti).values(jti=jti[:200], expires_at=when))
    except IntegrityError:
        return False
    if int(expires) % 97 == 0:  # now and then, forget ids whose tokens have expired anyway
        with writing(engine) as conn:
            conn.execute(T.cds_jti.delete().where(T.cds_jti.c.expires_at < now()))
    return True


RESERVED = ("service", "issuer")
"""Keys the server writes into a feedback row itself: an EHR's item may not carry them."""


def record_cds_feedback(
    engine: Engine, service: str, issuer: str, clinic: str | None, items: list[dict[str, Any]]
) -> int:
    """Store each feedback item once in the audit trail of the issuer's clinic (an item sent
    again is not stored twice); the number of new items.

    The row names the service and the token's issuer as checked, never as the item says: an
    item naming either is refused. ``clinic`` is the clinic the issuer is configured for
    (POSOLOGY_CDS_ISSUERS); an unknown name is refused, no clinic is made up."""
    import json

    from ..errors import InputError

    for n, item in enumerate(items):
        for key in RESERVED:
            if key in item:
                raise InputError(
                    f"feedback[{n}].{key}",
                    "is set by the server from the call and its token; remove it",
                )
    added = 0
    with writing(engine) as conn:
        clinic_id = None
        if clinic is not None:
            clinic_id = conn.execute(
                select(T.clinics.c.id).where(T.clinics.c.name == clinic)
            ).scalar()
            if clinic_id is None:
                raise InputError(
                    "iss", f"this issuer is configured for clinic {clinic!r}, which does not exist"
                )
        stored = {
            json.dumps(d, sort_keys=True)
            for d in conn.execute(
                select(T.audit.c.detail).where(
                    T.audit.c.action == "cds.feedback",
                    T.audit.c.clinic_id.is_(None)
                    if clinic_id is None
                    else T.audit.c.clinic_id == clinic_id,
                )
            ).scalars()
        }
        for item in items:
            detail = plain_json({**item, "service": service, "issuer": issuer})
            key = json.dumps(detail, sort_keys=True)
            if key in stored:
                continue
            stored.add(key)
            write_audit(conn, None, "cds.feedback", "card", None, detail, clinic_id=clinic_id)
            added += 1
    return added
