"""The pump clinic's day: one patient's pump status, and the clinic's refill worklist.

Both read the stored patient and effective history and ask the engine
(:func:`posology.pump_status.pump_status`), so the status card, the worklist and the refill plan
date the same fill the same way. Dates are shown in the clinic's time zone.

The worklist is read often by every nurse of a clinic: a patient's parsed record is kept in a
small cache keyed by the patient's version, which every change to the patient or its history
bumps, so a cached record is never stale and several workers need not share anything.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, select

from ..frozen import record
from ..knowledge.schema import Pack
from ..model.documents import parse_patient
from ..model.events import Event, ItInfusion, PumpImplant, PumpRefill
from ..model.patient import Patient
from ..pump_status import FillDates, PumpStatus, fill_dates, pump_status, status_at
from ..serialize import finding_json
from ..store import tables as T
from ..units import Quantity
from .accounts import User
from .clinic import clinic_now, clinic_zone, local
from .history import event_heads, stored_history
from .patients import patient_row

FILTERS = ("overdue", "week")
"""Worklist filters: refills overdue (or past the alarm, or empty), and due within a week."""
_WEEK = timedelta(days=7)
_URGENT = ("overdue", "past-alarm", "empty")


@record
class Record:
    """A stored patient as the engine reads it, and the pump facts its history fixes."""

    patient: Patient
    history: tuple[Event, ...]
    dates: FillDates


# Keyed by the record's id, version and creation time (so a database recreated with the same ids,
# a restore or a test, is never served another database's facts) and the clinic's zone.
_CACHE: OrderedDict[tuple[int, int, datetime, str], Record] = OrderedDict()
_CACHE_SIZE = 5000
_PACK: list[Pack] = []  # the pack the cached facts were worked out with
_FIXED: dict[tuple[int, int, datetime, str], dict[str, Any]] = {}


def _use_pack(pack: Pack) -> None:
    """Forget cached facts worked out with another pack (tests load profiles side by side)."""
    if not _PACK or _PACK[0] is not pack:
        _CACHE.clear()
        _FIXED.clear()
        _PACK[:] = [pack]


def _status(record: Record, pack: Pack, at: datetime, zone: tzinfo) -> PumpStatus:
    """The status at ``at``; the cached facts serve unless the history holds later events."""
    last = record.dates.last_event_at
    if last is None or last <= at:
        return status_at(record.dates, at, pack, zone)
    return pump_status(record.patient, record.history, pack, at, zone)


def _key(row: Any, zone: tzinfo) -> tuple[int, int, datetime, str]:
    return (int(row.id), int(row.version), row.created_at, str(zone))


def _record(conn: Any, row: Any, zone: tzinfo) -> Record:
    key = _key(row, zone)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    document = conn.execute(
        select(T.patients.c.document).where(T.patients.c.id == row.id)
    ).scalar_one()
    patient = parse_patient(document, "patient")
    history = stored_history(conn, event_heads(conn, row.id), zone)
    record = Record(patient, history, fill_dates(patient, history, _PACK[0]))
    _CACHE[key] = record
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return record


def _at(zone: tzinfo, history: tuple[Event, ...], now: datetime | None) -> datetime:
    return clinic_now(zone, history[0].at if history else None, now)


def _has_pump(record: Record) -> bool:
    return record.patient.pump is not None or any(
        isinstance(e, (PumpImplant, PumpRefill, ItInfusion)) for e in record.history
    )


def patient_pump_status(
    engine: Engine, pack: Pack, user: User, patient_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """``GET /api/v1/patients/{id}/pump-status``: the pump now, dated in the clinic's zone."""
    zone = clinic_zone(engine, user)
    _use_pack(pack)
    with engine.connect() as conn:
        row = patient_row(conn, user, patient_id)
        record = _record(conn, row, zone)
    at = _at(zone, record.history, now)
    status = _status(record, pack, at, zone)
    return {"patient_id": row.id, "label": row.label, **status_json(status, pack, zone)}


def worklist(
    engine: Engine,
    pack: Pack,
    user: User,
    only: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """``GET /api/v1/worklist``: the clinic's pump patients, most urgent first, then by the date
    the refill is due; and the planned steps due today or overdue."""
    user.require_clinical()
    zone = clinic_zone(engine, user)
    _use_pack(pack)
    rows_out: list[tuple[PumpStatus, dict[str, Any]]] = []
    with engine.connect() as conn:
        patients = conn.execute(
            select(
                T.patients.c.id, T.patients.c.label, T.patients.c.version, T.patients.c.created_at
            ).where(T.patients.c.clinic_id == user.clinic_id)
        ).all()
        labels = {int(p.id): p.label for p in patients}
        for row in patients:
            record = _record(conn, row, zone)
            if not _has_pump(record):
                continue
            at = _at(zone, record.history, now)
            status = _status(record, pack, at, zone)
            key = _key(row, zone)
            fixed = _FIXED.get(key)
            if fixed is None:
                if len(_FIXED) > _CACHE_SIZE:
                    _FIXED.clear()
                fixed = _FIXED[key] = {
                    "patient_id": row.id,
                    "label": row.label,
                    **fixed_json(status, pack, zone),
                }
            rows_out.append((status, {**fixed, **live_json(status, zone)}))
        steps = _due_steps(conn, user, labels, zone, now)
    rows_out.sort(key=_order)
    week_end = clinic_now(zone, None, now) + _WEEK
    counts = {
        "pump_patients": len(rows_out),
        "empty": sum(s.state == "empty" for s, _ in rows_out),
        "past_alarm": sum(s.state == "past-alarm" for s, _ in rows_out),
        "overdue": sum(s.state == "overdue" for s, _ in rows_out),
        "due_this_week": sum(_due_within(s, zone, week_end) for s, _ in rows_out),
        "steps_due": len(steps),
    }
    if only == "overdue":
        rows_out = [(s, j) for s, j in rows_out if s.state in _URGENT]
    elif only == "week":
        rows_out = [(s, j) for s, j in rows_out if _due_within(s, zone, week_end)]
    return {
        "at": clinic_now(zone, None, now).isoformat(timespec="minutes"),
        "time_zone": str(zone),
        "filter": only,
        "counts": counts,
        "patients": [j for _, j in rows_out],
        "steps": steps,
    }


def _order(item: tuple[PumpStatus, dict[str, Any]]) -> tuple[int, datetime, str]:
    status, body = item
    due = status.due_at
    key = datetime.max if due is None else due.replace(tzinfo=None)
    return (-status.urgency, key, str(body["label"]))


def _due_within(status: PumpStatus, zone: tzinfo, end: datetime) -> bool:
    return status.due_at is not None and local(status.due_at, zone) <= end


def _due_steps(
    conn: Any, user: User, labels: dict[int, str], zone: tzinfo, now: datetime | None
) -> list[dict[str, Any]]:
    """Planned steps not yet confirmed whose time is today (clinic time) or earlier."""
    today_end = clinic_now(zone, None, now).replace(hour=23, minute=59, second=59, microsecond=0)
    confirmed = set(
        conn.execute(
            select(T.events.c.plan_step_id)
            .join(T.patients, T.patients.c.id == T.events.c.patient_id)
            .where(T.patients.c.clinic_id == user.clinic_id, T.events.c.plan_step_id.is_not(None))
        ).scalars()
    )
    rows = conn.execute(
        select(T.plan_steps, T.plans.c.patient_id)
        .join(T.plans, T.plans.c.id == T.plan_steps.c.plan_id)
        .join(T.patients, T.patients.c.id == T.plans.c.patient_id)
        .where(T.patients.c.clinic_id == user.clinic_id)
    ).all()
    out = []
    for row in rows:
        if row.id in confirmed:
            continue
        at = local(datetime.fromisoformat(row.step["event"]["at"]), zone)
        if at > today_end:
            continue
        out.append(
            {
                "patient_id": row.patient_id,
                "label": labels.get(int(row.patient_id), ""),
                "plan_id": row.plan_id,
                "position": row.position,
                "at": at.isoformat(timespec="minutes"),
                "kind": row.step["event"]["kind"],
                "instructions": row.step.get("instructions", ""),
                "overdue": at.date() < today_end.date(),
            }
        )
    out.sort(key=lambda s: (s["at"], s["label"]))
    return out


# -- JSON -------------------------------------------------------------------------------------


def _when(at: datetime | None, zone: tzinfo) -> str | None:
    return None if at is None else local(at, zone).isoformat(timespec="minutes")


def _q(q: Quantity | None, places: int | None = None) -> str | None:
    return None if q is None else q.code(places)


def status_json(status: PumpStatus, pack: Pack, zone: tzinfo) -> dict[str, Any]:
    """A pump status as the API speaks it: quantities as UCUM strings, instants in the clinic's
    zone with their offset."""
    return {**fixed_json(status, pack, zone), **live_json(status, zone)}


def live_json(status: PumpStatus, zone: tzinfo) -> dict[str, Any]:
    """The parts of a status that move with the clock: the state, the volume left, findings."""
    return {
        "at": _when(status.at, zone),
        "state": status.state,
        "expected_volume": _q(status.expected_volume, 1),
        "findings": [finding_json(f) for f in status.findings],
    }


def fixed_json(status: PumpStatus, pack: Pack, zone: tzinfo) -> dict[str, Any]:
    """The parts of a status its recorded history fixes: the pump, infusion, fill and dates."""
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    infusion = status.infusion
    fill = status.last_fill
    return {
        "time_zone": str(zone),
        "pump": {
            "programmable": status.programmable,
            "reservoir": _q(status.reservoir),
            "model": status.model,
            "implanted_at": _when(status.implanted_at, zone),
        },
        "infusion": None
        if infusion is None
        else {
            "since": _when(infusion.at, zone),
            "daily_dose": infusion.daily_dose.to("ug/d").code(),
            "hourly_rate": infusion.daily_dose.to("ug/h").code(places),
            "mode": "flex" if infusion.schedule else "simple",
            "profile": [
                {
                    "start": seg.start,
                    "daily_rate": seg.daily_rate.to("ug/d").code(),
                    "hourly_rate": seg.daily_rate.to("ug/h").code(places),
                }
                for seg in infusion.schedule or ()
            ],
        },
        "last_fill": None
        if fill is None
        else {
            "at": _when(fill.at, zone),
            "volume": fill.volume.code(),
            "concentration": fill.concentration.to("ug/mL").code(),
        },
        "alarm_volume": _q(status.alarm_volume),
        "alarm_at": _when(status.alarm_at, zone),
        "booking_window": None
        if status.window_opens is None
        else {
            "opens": _when(status.window_opens, zone),
            "closes": _when(status.window_closes, zone),
        },
        "due_at": _when(status.due_at, zone),
        "empty_at": _when(status.empty_at, zone),
        "limit_at": _when(status.limit_at, zone),
    }
