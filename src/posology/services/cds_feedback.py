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


def record_cds_feedback(
    engine: Engine, service: str, issuer: str, items: list[dict[str, Any]]
) -> int:
    """Store each feedback item once in the audit trail (an item sent again is not stored
    twice); the number of new items."""
    import json

    added = 0
    with writing(engine) as conn:
        stored = {
            json.dumps(d, sort_keys=True)
            for d in conn.execute(
                select(T.audit.c.detail).where(T.audit.c.action == "cds.feedback")
            ).scalars()
        }
        for item in items:
            detail = plain_json({"service": service, "issuer": issuer, **item})
            key = json.dumps(detail, sort_keys=True)
            if key in stored:
                continue
            stored.add(key)
            write_audit(conn, None, "cds.feedback", "card", None, detail)
            added += 1
    return added
