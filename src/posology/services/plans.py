"""Plans for a stored patient: made, kept with their steps, and their steps confirmed as
events (each re-checked against the history of the moment)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from ..errors import (
    Conflict,
    NotFound,
)
from ..frozen import replace
from ..knowledge.schema import Pack
from ..store import tables as T
from ..store.db import writing
from ..store.values import aware, now, plain_json
from ..zones import wall_clock
from .accounts import User
from .audit_trail import write_audit
from .clinic import clinic_zone_of
from .history import Override, append_event, as_instant, event_heads, stored_history
from .patients import patient_row


def wall_start(start: Any, zone: tzinfo) -> Any:
    """A plan's start on the clinic's wall clock (a start given with an offset is converted)."""
    try:
        at = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        return start  # the request reader names the field
    return wall_clock(at, zone).isoformat() if at is not None and at.tzinfo else start


def _planned(
    conn: Connection, pack: Pack, user: User, row: Any, goal: Any, start: Any
) -> tuple[Any, Any]:
    """The request and plan for a stored patient.

    Planned on the clinic's wall clock (a dose "at 08:00" stays at 08:00 across a clock
    change), then each step dated as an instant in the clinic's zone, as recorded events are.
    """
    from ..planning import parse_request, plan
    from ..serialize import event_json

    zone = clinic_zone_of(conn, user.clinic_id)
    history = [
        event_json(replace(e, at=wall_clock(e.at, zone)))
        for e in stored_history(conn, event_heads(conn, row.id), zone)
    ]
    request = parse_request(
        {
            "patient": row.document,
            "history": history,
            "goal": goal,
            "start": wall_start(start, zone),
        }
    )
    result = plan(request, pack)
    steps = tuple(replace(s, event=as_instant(s.event, zone)) for s in result.steps)
    return request, replace(result, steps=steps)


def plan_preview(
    engine: Engine, pack: Pack, user: User, patient_id: int, goal: Any, start: Any
) -> tuple[Any, Any]:
    """A plan for a stored patient, not kept: the request (on the clinic's wall clock) and
    the plan (dated as instants)."""
    with engine.connect() as conn:
        return _planned(conn, pack, user, patient_row(conn, user, patient_id), goal, start)


def save_plan(
    engine: Engine, pack: Pack, user: User, patient_id: int, goal: dict[str, Any], start: str
) -> dict[str, Any]:
    """Make a plan from the stored patient and history, and keep it with its steps."""
    from ..serialize import plan_json

    user.require("prescriber")
    with writing(engine) as conn:
        row = patient_row(conn, user, patient_id)
        _request, result = _planned(conn, pack, user, row, goal, start)
        answer = plan_json(result, pack)  # kept with the pack that made it
        if not result.made:
            return {"id": None, "plan": answer}
        plan_id = conn.execute(
            insert(T.plans)
            .values(
                patient_id=patient_id,
                goal=plain_json(goal),
                start=start,
                answer=answer,
                user_id=user.id,
                created_at=now(),
            )
            .returning(T.plans.c.id)
        ).scalar_one()
        for position, step in enumerate(answer["steps"]):
            conn.execute(insert(T.plan_steps).values(plan_id=plan_id, position=position, step=step))
        write_audit(
            conn, user, "plan.save", "patient", patient_id, {"plan_id": plan_id, "goal": goal}
        )
    return get_plan(engine, user, patient_id, plan_id)


def get_plan(engine: Engine, user: User, patient_id: int, plan_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        patient_row(conn, user, patient_id)
        row = conn.execute(
            select(T.plans).where(T.plans.c.id == plan_id, T.plans.c.patient_id == patient_id)
        ).first()
        if row is None:
            raise NotFound(f"no plan {plan_id} for this patient")
        steps = conn.execute(
            select(T.plan_steps)
            .where(T.plan_steps.c.plan_id == plan_id)
            .order_by(T.plan_steps.c.position)
        ).all()
        confirmed = dict(
            conn.execute(
                select(T.events.c.plan_step_id, T.events.c.id).where(
                    T.events.c.patient_id == patient_id, T.events.c.plan_step_id.is_not(None)
                )
            ).all()
        )
    return {
        "id": row.id,
        "goal": row.goal,
        "start": row.start,
        "created_at": aware(row.created_at).isoformat(),
        "findings": row.answer["findings"],
        "pack": row.answer.get("pack"),  # None: saved before plans named their pack
        "steps": [
            {
                "position": s.position,
                **s.step,
                "status": "confirmed" if s.id in confirmed else "planned",
                "event_id": confirmed.get(s.id),
            }
            for s in steps
        ],
    }


def list_plans(engine: Engine, user: User, patient_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        patient_row(conn, user, patient_id)
        ids = (
            conn.execute(
                select(T.plans.c.id)
                .where(T.plans.c.patient_id == patient_id)
                .order_by(T.plans.c.id)
            )
            .scalars()
            .all()
        )
    return [get_plan(engine, user, patient_id, i) for i in ids]


def confirm_step(
    engine: Engine,
    pack: Pack,
    user: User,
    patient_id: int,
    plan_id: int,
    position: int,
    override_reason: str | None,
    expected: int | None,
    *,
    override: Override | None = None,
    retyped_dose: str | None = None,
    cosigner: User | None = None,
) -> dict[str, Any]:
    """Record a planned step as done: its event is checked against the history as it is now."""
    with engine.connect() as conn:
        patient_row(conn, user, patient_id)
        step = conn.execute(
            select(T.plan_steps)
            .join(T.plans, T.plans.c.id == T.plan_steps.c.plan_id)
            .where(
                T.plans.c.patient_id == patient_id,
                T.plan_steps.c.plan_id == plan_id,
                T.plan_steps.c.position == position,
            )
        ).first()
        if step is None:
            raise NotFound(f"no step {position} in plan {plan_id}")
        done = conn.execute(select(T.events.c.id).where(T.events.c.plan_step_id == step.id)).first()
        if done is not None:
            raise Conflict(f"step {position} was confirmed already (event {done[0]})")
    return append_event(
        engine,
        pack,
        user,
        patient_id,
        step.step["event"],
        override_reason,
        None,
        expected,
        plan_step_id=step.id,
        override=override,
        retyped_dose=retyped_dose,
        cosigner=cosigner,
    )
