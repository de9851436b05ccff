"""Idempotent creating requests: the same ``Idempotency-Key`` from the same user within 24 hours
gets the first answer again, and nothing is stored twice (a double click, a retried request).

The key is reserved in its own transaction before the work starts, so two requests racing with
one key cannot both do the work: the second waits for the first answer. Only successful answers
are kept: after a refusal (a finding to override, a conflict) the same key may be sent again
with the corrected body.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, InputError, KeyReused
from ..store import tables as T
from ..store.db import writing
from ..store.values import now, plain_json
from . import accounts

LIFETIME = timedelta(hours=24)
WAIT_SECONDS = 30.0


def _fingerprint(method: str, path: str, body: Any) -> str:
    raw = json.dumps([method, path, plain_json(body)], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _valid(key: str) -> str:
    key = key.strip()
    if not key or len(key) > 200:
        raise InputError("Idempotency-Key", "must be a non-empty text of at most 200 characters")
    return key


def once(
    engine: Engine,
    user: accounts.User,
    key: str | None,
    request: tuple[str, str, Any],
    work: Callable[[], JSONResponse],
) -> JSONResponse:
    """``work()``'s answer, or the answer it gave the first time for this key."""
    if key is None:
        return work()
    key = _valid(key)
    digest = _fingerprint(*request)
    cutoff = now() - LIFETIME
    with writing(engine) as conn:  # forget keys older than a day
        conn.execute(
            delete(T.idempotency).where(
                T.idempotency.c.user_id == user.id, T.idempotency.c.created_at < cutoff
            )
        )
    try:
        with writing(engine) as conn:
            row_id = conn.execute(
                insert(T.idempotency)
                .values(user_id=user.id, key=key, request_hash=digest, created_at=now())
                .returning(T.idempotency.c.id)
            ).scalar_one()
    except IntegrityError:
        return _replay(engine, user, key, digest)
    try:
        answer = work()
    except BaseException:
        with writing(engine) as conn:
            conn.execute(delete(T.idempotency).where(T.idempotency.c.id == row_id))
        raise
    if 200 <= answer.status_code < 300:
        with writing(engine) as conn:
            conn.execute(
                update(T.idempotency)
                .where(T.idempotency.c.id == row_id)
                .values(status=answer.status_code, answer=json.loads(bytes(answer.body)))
            )
    else:
        with writing(engine) as conn:
            conn.execute(delete(T.idempotency).where(T.idempotency.c.id == row_id))
    return answer


def _replay(engine: Engine, user: accounts.User, key: str, digest: str) -> JSONResponse:
    """The stored answer for the key, waiting while the first request is still at work."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with engine.connect() as conn:
            row = conn.execute(
                select(T.idempotency).where(
                    T.idempotency.c.user_id == user.id, T.idempotency.c.key == key
                )
            ).first()
        if row is not None and row.request_hash != digest:
            raise KeyReused("the Idempotency-Key was used for a different request; use a new key")
        if row is not None and row.status is not None:
            return JSONResponse(
                row.answer, status_code=row.status, headers={"Idempotent-Replayed": "true"}
            )
        if row is None or time.monotonic() > deadline:
            raise Conflict("a request with this Idempotency-Key is still being answered; retry")
        time.sleep(0.05)
