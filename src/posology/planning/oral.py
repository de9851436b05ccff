"""Oral plans: titration up the ladder (adults, children, kidneys, the elderly) and tapers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from ..knowledge.schema import Pack, Severity
from ..model.events import OralRegimen, OralStop, Review
from ..model.finding import Finding
from ..model.patient import age_at, origin_of
from ..rules.limits import paediatric_max, renal_target
from ..units import Quantity, format_number, per_day
from .doses import Form, choose_form, clock_times, days, dose_step, minus, split_daily, total
from .model import Step
from .notes import note, refuse
from .request import PlanRequest


@dataclass(frozen=True, slots=True)
class Ladder:
    """The pace of an oral titration: where it starts, how much each step adds, how often."""

    start: Quantity
    step: Quantity
    interval: Quantity
    target: Quantity
    rules: tuple[str, ...]


def _active_regimen(req: PlanRequest) -> OralRegimen | None:
    active: OralRegimen | None = None
    for event in req.history:
        if isinstance(event, OralRegimen):
            active = event
        elif isinstance(event, OralStop):
            active = None
    return active


def _form_kind(req: PlanRequest, pack: Pack, child: bool) -> str:
    paed = pack.rule("SUP-PO-PAED")
    weight = req.patient.weight
    if child and weight is not None and weight < paed.quantity("tablet_min_weight"):
        return "solution"
    return req.goal.form or "tablet"


def _times(req: PlanRequest, pack: Pack, child: bool) -> tuple[str, ...]:
    goal = req.goal
    if goal.night_only:
        return (pack.rule("PO-NIGHT").code("night_time"),)
    if goal.pre_task_times:
        lead = pack.rule("PO-PRETASK").quantity("lead_time")
        return tuple(sorted(minus(t, lead) for t in goal.pre_task_times))
    if goal.times_per_day:
        return clock_times(pack, goal.times_per_day)
    if child:
        return clock_times(
            pack, pack.rule("SUP-PO-PAED").count("preferred_administrations_per_day")
        )
    return clock_times(pack, pack.rule("PO-DAILY-RANGE").count("administrations_per_day"))


def _ladder(req: PlanRequest, pack: Pack, child: bool, notes: list[Finding]) -> Ladder:
    """Start, step, pace and target for this patient, from the pack."""
    patient = req.patient
    goal = req.goal
    titration = pack.rule("PO-TITRATION")
    if child:
        paed = pack.rule("SUP-PO-PAED")
        weight = patient.weight
        if weight is None:
            refuse(
                pack,
                "SUP-PO-PAED",
                "A child's oral plan is dosed by body weight, which is not recorded: give "
                "`weight_kg`.",
                Severity.WARNING,
            )
        start = (paed.quantity("start") * weight).to("mg/d")
        target = goal.target_daily_dose or (paed.range("maintenance").low * weight).to("mg/d")
        age = age_at(patient, req.start)
        assert age is not None
        maximum = paediatric_max(pack, age)
        if target > maximum:
            refuse(
                pack,
                "SUP-PO-PAED",
                f"The target {target.text()} is above the children's maximum of "
                f"{maximum.text()} at this age.",
            )
        return Ladder(
            start, start, paed.quantity("step_interval"), target, ("SUP-PO-PAED", "IND-POPULATION")
        )
    start = pack.rule("PO-START").quantity("start_daily")
    step = titration.quantity("max_step")
    interval = titration.quantity("step_days")
    rules: tuple[str, ...] = ("PO-START", "PO-TITRATION")
    if goal.night_only:
        ladder = titration.quantities("ladder")
        default_target = per_day(ladder[-1])
        start, step = per_day(ladder[0]), per_day(ladder[1] - ladder[0])
        rules += ("PO-NIGHT",)
    else:
        default_target = pack.rule("PO-USUAL").quantity("usual_max")
        rules += ("PO-USUAL",)
    target = goal.target_daily_dose or default_target
    elderly_age = pack.rule("SUP-PO-ELDERLY").quantity("elderly_age")
    age = age_at(patient, req.start)
    cerebral = origin_of(patient, pack) == "cerebral"
    if (age is not None and Quantity.of(age, "a") >= elderly_age) or cerebral:
        interval = pack.rule("SUP-PO-ELDERLY").quantity("slow_step_days")
        rules += ("SUP-PO-ELDERLY",)
        why = "an elderly patient" if not cerebral else "spasticity of cerebral origin"
        notes.append(
            note(
                pack,
                "SUP-PO-ELDERLY",
                Severity.INFO,
                f"A slower ladder for {why}: each step is held {interval.text()}.",
            )
        )
    renal = pack.rule("SUP-PO-RENAL")
    conditions = patient.conditions
    if conditions & set(renal.code_list("dialysis")):
        target = min(target, renal.quantity("renal_daily"))
        start = min(start, target)
        rules += ("SUP-PO-RENAL",)
    elif conditions & set(renal.code_list("renal")) or patient.creatinine_clearance is not None:
        clearance = patient.creatinine_clearance
        if clearance is None:
            refuse(
                pack,
                "SUP-PO-RENAL",
                "Renal impairment is recorded without a creatinine clearance: give "
                "`creatinine_clearance_ml_min` so the reduced dose can be worked out.",
                Severity.WARNING,
            )
        reduced = renal_target(pack, clearance)
        if reduced is not None:
            keep = 1 - reduced[1]
            target = min(target, reduced[0])
            start, step = start * keep, step * keep
            rules += ("SUP-PO-RENAL-CRCL",)
            notes.append(
                note(
                    pack,
                    "SUP-PO-RENAL-CRCL",
                    Severity.INFO,
                    f"Creatinine clearance {clearance.text()}: start, steps and target "
                    f"reduced by {format_number(reduced[1])}.",
                )
            )
    limit = pack.rule("PO-MAX").quantity("max_daily_outpatient")
    if target > limit:
        if patient.setting != "inpatient":
            refuse(
                pack,
                "PO-MAX",
                f"The target {target.text()} is above the {limit.text()} maximum for a "
                "patient who is not in hospital.",
            )
        notes.append(
            note(
                pack,
                "PO-MAX",
                Severity.WARNING,
                f"The target {target.text()} is above {limit.text()}: only in hospital "
                "under careful medical supervision.",
            )
        )
    return Ladder(start, step, interval, target, rules)


def _amounts(ladder: Ladder, begin: Quantity | None) -> list[Quantity]:
    """The daily amounts from the start (or the next step above ``begin``) up to the target."""
    amounts: list[Quantity] = []
    level = ladder.start if begin is None else begin + ladder.step
    while level < ladder.target:
        amounts.append(level)
        level = level + ladder.step
    amounts.append(ladder.target)
    return amounts


def _instruction(
    pack: Pack, form: Form, doses: tuple[Quantity, ...], times: tuple[str, ...], night: bool
) -> str:
    meals = pack.rule("PO-MEALS").text("instruction")
    parts = [f"{form.describe(d)} at {t}" for d, t in zip(doses, times, strict=True)]
    daily = per_day(total(doses))
    how = "at night, with a little liquid" if night else meals[0].lower() + meals[1:]
    return f"{'; '.join(parts)} ({daily.text()}). {how[0].upper() + how[1:].rstrip('.')}."


def oral_titration(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    notes: list[Finding] = []
    patient = req.patient
    age = age_at(patient, req.start)
    adult = pack.rule("IND-POPULATION").quantity("adult_age")
    child = age is not None and Quantity.of(age, "a") < adult
    ladder = _ladder(req, pack, child, notes)
    times = _times(req, pack, child)
    kind = _form_kind(req, pack, child)
    step_size = dose_step(pack, kind)
    per_admin_max = (
        pack.rule("PO-DAILY-RANGE").range("daily").high
        * Quantity.of(1, "d")
        / (pack.rule("PO-DAILY-RANGE").count("administrations_per_day"))
    )
    active = _active_regimen(req)
    when = req.start
    begin = None
    if active is not None:
        if active.daily_dose >= ladder.target:
            refuse(
                pack,
                "PO-TITRATION",
                f"The current oral dose ({active.daily_dose.text()}) is already at or above the "
                f"target ({ladder.target.text()}).",
                Severity.INFO,
            )
        begin = active.daily_dose
        last_change = max(
            e.at
            for e in req.history
            if isinstance(e, OralRegimen) and e.daily_dose == active.daily_dose
        )
        when = max(when, last_change + days(ladder.interval))
    steps: list[Step] = []
    previous: Quantity | None = begin
    fixed = req.goal.night_only or bool(req.goal.pre_task_times) or bool(req.goal.times_per_day)
    for amount in _amounts(ladder, begin):
        step_times = times
        doses = split_daily(amount, len(times), step_size)
        while doses is None and not fixed and len(step_times) > 1:
            # a small amount goes in fewer doses rather than unmakeable ones
            step_times = clock_times(pack, len(step_times) - 1)
            doses = split_daily(amount, len(step_times), step_size)
        if doses is None:
            refuse(
                pack,
                "SUP-PO-STRENGTHS",
                f"{amount.text()} cannot be split into {len(times)} doses of the chosen form; "
                "give fewer doses a day or use the oral solution.",
                Severity.WARNING,
            )
        if not child and max(doses) > per_admin_max:
            refuse(
                pack,
                "PO-DAILY-RANGE",
                f"A single dose would be {max(doses).text()}, above "
                f"{per_admin_max.to(max(doses).unit).text()}: "
                "give more doses a day.",
                Severity.WARNING,
            )
        daily = per_day(total(doses))
        if previous is not None and daily <= previous:
            continue
        form = choose_form(pack, kind, doses)
        event = OralRegimen(
            when + days(ladder.interval) * len(steps), doses, step_times, form.kind, form.strength
        )
        condition = (
            ""
            if previous is None
            else (
                "if the previous step was tolerated (no troublesome drowsiness or weakness); "
                "otherwise stay on the previous dose and contact the prescriber"
            )
        )
        steps.append(
            Step(
                event,
                (*ladder.rules, "PO-MEALS", "SUP-PO-STRENGTHS"),
                _instruction(pack, form, doses, step_times, req.goal.night_only),
                condition,
            )
        )
        previous = daily
    if not steps:
        refuse(pack, "PO-TITRATION", "No step up to the target can be made.", Severity.INFO)
    reached = steps[-1].event.at
    assert previous is not None  # the daily dose of the last step
    review_after = pack.rule("SUP-PO-REVIEW").quantity("after")
    steps.append(
        Step(
            Review(
                reached + days(review_after),
                f"Review {review_after.text()} after reaching {previous.text()}: "
                "if no therapeutic effect is apparent, decide whether to continue.",
            ),
            ("SUP-PO-REVIEW",),
            "Assess tone, spasms, function and side effects.",
            "",
        )
    )
    return steps, notes


def oral_taper(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    """Successive reductions to a stop over SUP-PO-TAPER's span, never a sudden stop."""
    active = _active_regimen(req)
    if active is None:
        refuse(
            pack,
            "STOP-GRADUAL",
            "No oral regimen is active in the history: there is nothing to taper.",
            Severity.INFO,
        )
    stop_rule = pack.rule("STOP-GRADUAL")
    min_reductions = stop_rule.count("min_reductions")
    span = pack.rule("SUP-PO-TAPER").range("span")
    max_step = pack.rule("PO-TITRATION").quantity("max_step")
    daily = active.daily_dose
    reductions = max(min_reductions, math.ceil(daily.ratio(max_step)) - 1)
    span_days = span.low.in_("d")
    interval_days = max(math.ceil(span_days / reductions), 1)
    if interval_days * reductions > span.high.in_("d"):
        interval_days = max(int(span.high.in_("d")) // reductions, 1)
    times = active.times or clock_times(pack, active.times_per_day)
    kind = active.form or req.goal.form or "tablet"
    levels = _taper_levels(pack, daily, reductions, len(times), kind)
    if levels is None:
        kind = "solution"
        levels = _taper_levels(pack, daily, reductions, len(times), kind)
    if levels is None:
        refuse(
            pack,
            "STOP-GRADUAL",
            f"{daily.text()} cannot be reduced in {reductions} makeable steps.",
            Severity.WARNING,
        )
    steps: list[Step] = []
    interval = timedelta(days=interval_days)
    for i, doses in enumerate(levels):
        dose_times = times if len(doses) == len(times) else clock_times(pack, len(doses))
        form = choose_form(pack, kind, doses)
        event = OralRegimen(req.start + interval * i, doses, dose_times, form.kind, form.strength)
        steps.append(
            Step(
                event,
                ("STOP-GRADUAL", "SUP-PO-TAPER", "PO-MEALS"),
                _instruction(pack, form, doses, dose_times, False),
                "if withdrawal symptoms appear, go back to the previous dose and contact the "
                "prescriber",
            )
        )
    stop_at = req.start + interval * len(levels)
    steps.append(
        Step(
            OralStop(stop_at),
            ("STOP-GRADUAL", "SUP-PO-TAPER"),
            "Stop oral baclofen after the last reduced dose.",
            "only if the reductions were tolerated",
        )
    )
    return steps, []


def _taper_levels(
    pack: Pack, daily: Quantity, reductions: int, n: int, kind: str
) -> list[tuple[Quantity, ...]] | None:
    """Daily levels falling in equal parts, each makeable and strictly lower than the last."""
    step = dose_step(pack, kind)
    levels: list[tuple[Quantity, ...]] = []
    previous = daily
    for k in range(reductions, 0, -1):
        amount = daily * Fraction(k, reductions + 1)
        doses = None
        for count in range(n, 0, -1):
            doses = split_daily(amount, count, step)
            if doses is not None:
                break
        if doses is None or per_day(total(doses)) >= previous:
            return None
        levels.append(doses)
        previous = per_day(total(doses))
    return levels
