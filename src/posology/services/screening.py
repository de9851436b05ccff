"""``GET /api/v1/patients/{id}/screening``: the intrathecal screening ladder of a patient.

The doses given with their responses and stored event ids (a response is recorded later as a
correction that supersedes the test dose), the next allowed dose and the earliest time for it
(`intrathecal.screening.step`, never above `intrathecal.screening.nonresponder`'s highest dose), the
conclusion, and for a responder the first infusion dose (`intrathecal.titration.start`). Read from
the checker's own limits (:mod:`posology.rules.limits`), so the ladder shown is the ladder the
checker judges by.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine

from ..frozen import record
from ..knowledge.schema import Pack
from ..model.documents import parse_event
from ..model.events import ItTestDose
from ..rules.context import CALENDAR_UNITS
from ..rules.limits import initial_infusion_dose, screening_status
from ..units import Quantity
from . import accounts
from . import history as event_history
from . import patients as patient_records
from .clinic import clinic_zone, local


def after(at: datetime, span: Quantity, zone: tzinfo) -> datetime:
    """The first instant ``span`` after ``at`` as the checker counts it (:func:`~posology.rules.
    context.since`): calendar days on the clinic's wall clock for a span in days or weeks,
    elapsed time for one in hours, in the clinic's zone."""
    if span.unit.code in CALENDAR_UNITS:
        wall = local(at, zone).replace(tzinfo=None) + timedelta(days=float(span.in_("d")))
        return wall.replace(tzinfo=zone)
    return local(at + timedelta(seconds=float(span.in_("min") * 60)), zone)


@record
class Ladder:
    """Where screening stands; ``doses`` are (stored event id, test dose) in time order."""

    state: str
    doses: tuple[tuple[int | None, ItTestDose], ...]
    next_dose: Quantity | None
    earliest: datetime | None
    conclusion: str | None
    start: Quantity | None
    prolonged: bool


def ladder(doses: Sequence[tuple[int | None, ItTestDose]], pack: Pack, zone: tzinfo) -> Ladder:
    """The screening ladder of these test doses (pure)."""
    ordered = tuple(sorted(doses, key=lambda d: d[1].at))
    status = screening_status([d for _, d in ordered], pack)
    step_rule = pack.role("intrathecal.screening.step")
    max_dose = pack.role("intrathecal.screening.nonresponder").quantity("max_test_dose")
    last = status.last
    next_dose = earliest = start = None
    prolonged = False
    conclusion: str | None = None
    if status.state == "pending" and last is not None:
        conclusion = step_rule.phrase(
            "pending", dose=last.dose.to("ug").text(), at=_day(last.at, zone)
        )
    elif status.state == "in-progress" and last is not None:
        next_dose = min(last.dose + step_rule.quantity("step"), max_dose)
        earliest = after(last.at, step_rule.quantity("min_interval"), zone)
        conclusion = step_rule.phrase(
            "screening_next",
            dose=last.dose.to("ug").text(),
            next=next_dose.to("ug").text(),
            earliest=_day(earliest, zone),
        )
    elif status.state == "non-responder":
        failed = next(
            d for _, d in ordered if d.dose >= max_dose and d.response and not d.response.effect
        )
        conclusion = pack.role("intrathecal.screening.nonresponder").phrase(
            "plan_refusal", dose=failed.dose.to("ug").text()
        )
    elif status.state == "responder" and status.responding is not None:
        responding = status.responding
        start, prolonged = initial_infusion_dose(responding, pack)
        told = pack.role("intrathecal.screening.responder")
        lasted = responding.response.duration if responding.response else None
        conclusion = told.phrase(
            "complete",
            dose=responding.dose.to("ug").text(),
            lasted=" " + told.phrase("lasted", duration=lasted.text()) if lasted else "",
            start=start.text(),
        )
    return Ladder(status.state, ordered, next_dose, earliest, conclusion, start, prolonged)


def _day(at: datetime, zone: tzinfo) -> str:
    return local(at, zone).strftime("%Y-%m-%d %H:%M")


def ladder_json(result: Ladder, pack: Pack, zone: tzinfo) -> dict[str, Any]:
    """The contract's screening answer."""
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    start_json = None
    if result.start is not None:
        rule = pack.role("intrathecal.titration.start")
        rate = result.start.to("ug/h").code(places)
        start_json = {
            "daily_dose": result.start.to("ug/d").code(),
            "hourly_rate": rate,
            "prolonged": result.prolonged,
            "text": rule.phrase(
                "start",
                dose=result.start.to("ug/d").text(),
                rate=result.start.to("ug/h").text(places),
                how=rule.text("prolonged" if result.prolonged else "doubled"),
                period=rule.quantity("period").to("h").text(),
                hold=pack.role("intrathecal.titration.hold").quantity("hold").text(),
            ),
        }
    return {
        "state": result.state,
        "doses": [
            {
                "at": local(d.at, zone).isoformat(timespec="minutes"),
                "dose": d.dose.to("ug").code(),
                "response": None
                if d.response is None
                else {
                    "effect": d.response.effect,
                    "duration_h": None
                    if d.response.duration is None
                    else float(d.response.duration.in_("h")),
                },
                "event_id": event_id,
            }
            for event_id, d in result.doses
        ],
        "next": None
        if result.next_dose is None or result.earliest is None
        else {
            "dose": result.next_dose.to("ug").code(),
            "earliest": result.earliest.isoformat(timespec="minutes"),
        },
        "conclusion": result.conclusion,
        "infusion_start": start_json,
    }


def patient_screening(
    engine: Engine, pack: Pack, user: accounts.User, patient_id: int
) -> dict[str, Any]:
    """The screening ladder of a patient of the user's clinic, from the effective history."""
    zone = clinic_zone(engine, user)
    with engine.connect() as conn:
        patient_records.patient_row(conn, user, patient_id)
        rows = event_history.event_rows(conn, patient_id)
    gone = event_history.superseded_ids(rows)
    doses: list[tuple[int | None, ItTestDose]] = []
    for row in rows:
        if row.id in gone or row.kind != "it-test-dose":
            continue
        event = parse_event(row.document, f"events[{row.seq}]")
        if isinstance(event, ItTestDose):
            doses.append((int(row.id), event))
    return ladder_json(ladder(doses, pack, zone), pack, zone)
