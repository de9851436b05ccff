"""``GET /api/v1/patients/{id}/change-limits``: how far and how soon the next dose may rise.

For a running infusion: the largest next daily dose (the step limit of the phase and origin,
`intrathecal.titration.step` or `intrathecal.maintenance.step`, applied to the dose in force and
rounded down to the programming step), the smallest without a reduction warning
(`intrathecal.side-effect-reduction`, rounded up), and the earliest time for an increase
(`intrathecal.titration.hold` from the course start, `intrathecal.titration.interval` from the last
change by pump type). For an oral regimen: the largest next daily dose (`oral.titration`'s step,
capped by `oral.max` for a patient not in hospital; a child's by `oral.children`) and the earliest
increase (calendar days from the last change). Every number is the checker's own limit, so a dose
proposed at ``largest`` at ``earliest_increase`` passes those rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine

from ..frozen import record
from ..knowledge.schema import Pack
from ..model.documents import parse_patient
from ..model.events import Event, Review
from ..model.patient import Patient
from ..rules.context import build_context
from ..rules.limits import paediatric_max, programmed, step_limit, usual_step
from ..units import Quantity
from . import accounts
from . import history as event_history
from .clinic import clinic_now, clinic_zone
from .screening import after


@record
class InfusionLimits:
    daily_dose: Quantity
    phase: str
    largest: Quantity
    smallest_without_warning: Quantity
    earliest_increase: datetime
    rule: str
    usual_increase_from: Quantity


@record
class OralLimits:
    daily_dose: Quantity
    largest: Quantity
    maximum: Quantity
    earliest_increase: datetime
    rule: str


@record
class ChangeLimits:
    intrathecal: InfusionLimits | None
    oral: OralLimits | None


def change_limits(
    patient: Patient, history: Sequence[Event], pack: Pack, at: datetime, zone: tzinfo
) -> ChangeLimits:
    """The limits on the next change at ``at`` of the pack's medicine in force then (pure):
    another medicine's regimen (tizanidine beside baclofen) is neither the dose in force nor
    its last change."""
    own = (e for e in history if e.medicine == pack.medicine)
    ordered = tuple(sorted(own, key=lambda e: e.at))
    ctx = build_context(patient, ordered, Review(at, "change limits"), pack)
    intrathecal = None
    active = ctx.infusion_active
    if active is not None and ctx.course_start is not None and ctx.last_infusion_change:
        limit, rule_id = step_limit(pack, ctx.origin, ctx.maintenance)
        cut = pack.role("intrathecal.side-effect-reduction").fraction_range("reduction").high
        hold = pack.role("intrathecal.titration.hold").quantity("hold")
        pump = patient.pump
        kind = "programmable" if pump is not None and pump.programmable else "non_programmable"
        interval = pack.role("intrathecal.titration.interval").quantity(kind)
        intrathecal = InfusionLimits(
            daily_dose=active.daily_dose,
            phase="maintenance" if ctx.maintenance else "titration",
            largest=programmed(pack, active.daily_dose * (1 + limit)),
            smallest_without_warning=programmed(pack, active.daily_dose * (1 - cut), up=True),
            earliest_increase=max(
                after(ctx.course_start.at, hold, zone),
                after(ctx.last_infusion_change.at, interval, zone),
            ),
            rule=rule_id,
            usual_increase_from=programmed(
                pack,
                active.daily_dose * (1 + usual_step(pack, ctx.origin, ctx.maintenance)),
                up=True,
            ),
        )
    oral = None
    regimen = ctx.oral_active
    if regimen is not None and ctx.oral_last_change is not None:
        daily = regimen.daily_dose
        if ctx.is_child and ctx.age is not None:
            maximum = paediatric_max(pack, ctx.age)
            largest, rule_id = maximum, pack.role("oral.children").id
            wait = pack.role("oral.children").quantity("step_interval")
        else:
            titration = pack.role("oral.titration")
            maximum = pack.role("oral.max").quantity("max_daily_outpatient")
            largest, rule_id = (
                daily + titration.quantity("max_step"),
                titration.id,
            )
            if patient.setting != "inpatient" and largest > maximum:
                largest, rule_id = maximum, pack.role("oral.max").id
            wait = titration.quantity("min_interval")
        oral = OralLimits(
            daily_dose=daily,
            largest=largest,
            maximum=maximum,
            earliest_increase=after(ctx.oral_last_change.at, wait, zone),
            rule=rule_id,
        )
    return ChangeLimits(intrathecal, oral)


def limits_json(limits: ChangeLimits) -> dict[str, Any]:
    """The contract's change-limits answer (instants in the clinic's zone)."""
    it, po = limits.intrathecal, limits.oral
    return {
        "intrathecal": None
        if it is None
        else {
            "daily_dose": it.daily_dose.to("ug/d").code(),
            "phase": it.phase,
            "largest": it.largest.to("ug/d").code(),
            "smallest_without_warning": it.smallest_without_warning.to("ug/d").code(),
            "usual_increase_from": it.usual_increase_from.to("ug/d").code(),
            "earliest_increase": it.earliest_increase.isoformat(timespec="minutes"),
            "rule": it.rule,
        },
        "oral": None
        if po is None
        else {
            "daily_dose": po.daily_dose.to("mg/d").code(),
            "largest": po.largest.to("mg/d").code(),
            "maximum": po.maximum.to("mg/d").code(),
            "earliest_increase": po.earliest_increase.isoformat(timespec="minutes"),
            "rule": po.rule,
        },
    }


def patient_change_limits(
    engine: Engine, pack: Pack, user: accounts.User, patient_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """The limits for a patient of the user's clinic, now (clinic time)."""
    zone = clinic_zone(engine, user)
    document, history = event_history.case_for(engine, user, patient_id)
    at = clinic_now(zone, history[0].at if history else None, now)
    return limits_json(change_limits(parse_patient(document, "patient"), history, pack, at, zone))
