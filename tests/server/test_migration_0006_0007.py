"""Migrations 0006 and 0007 on a database made by the previous release: nothing lost.

The previous release could store one plan step twice (two simultaneous confirmations); those
rows stay (history is append-only), and any step confirmed from now on is held to once by the
database as well as by the server's check. Its API tokens keep working (no
expiry), and failed logins start being counted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from tests.server.test_migration_0005 import _at_0004

from posology.store import db
from posology.store import tables as T


def test_a_previous_database_keeps_its_twice_confirmed_step_and_new_steps_are_held_to_once(
    engine: Engine,
) -> None:
    _at_0004(engine)
    with engine.begin() as conn:  # the old release's double confirmation of step 7
        for seq in (4, 5):  # ids from the database's own sequence, as the old release's were
            conn.execute(
                text(
                    "INSERT INTO events (patient_id, seq, at, kind, document, findings, "
                    "plan_step_id, user_id, recorded_at) VALUES "
                    f"(1, {seq}, '2026-01-10T08:00:00Z', 'review', "
                    '\'{"at": "2026-01-10T08:00:00Z", "kind": "review", "note": "r"}\', '
                    "'[]', 7, 1, '2026-01-10 08:00:00')"
                )
            )
    db.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(T.events)).scalar() == 5
        twice = conn.execute(select(T.events.c.id).where(T.events.c.plan_step_id == 7)).all()
        assert len(twice) == 2
        token = conn.execute(select(T.api_tokens.c.expires_at)).all()
        assert token == [(None,)]

    def confirm(seq: int, step: int) -> None:
        with engine.begin() as conn:
            conn.execute(
                insert(T.events).values(
                    patient_id=1,
                    seq=seq,
                    at="2026-01-11T08:00:00Z",
                    kind="review",
                    document={"at": "2026-01-11T08:00:00Z", "kind": "review", "note": "r"},
                    findings=[],
                    plan_step_id=step,
                    user_id=1,
                    recorded_at=conn.execute(select(func.now())).scalar(),
                )
            )

    confirm(6, 8)
    with pytest.raises(IntegrityError):
        confirm(7, 8)
