"""Oral plans: titration up the ladder (adults, children, kidneys, the elderly) and tapers.

Every planned day is split into doses the form can make and that no administration's limit forbids
(`oral.daily-range` for adults, `oral.children`'s mg/kg for children): a day too large for the usual
number of doses gets more of them (`oral.frequent`), and a target that no allowed regimen reaches is
refused with the most that can be given. The words, the numbers and the choices (default targets,
range ends, taper pacing) are the pack's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import pairwise

from ..errors import InputError, PackError
from ..frozen import record
from ..knowledge.schema import Pack, Severity
from ..model.events import OralRegimen, OralStop, Review
from ..model.finding import Finding
from ..model.patient import age_at, origin_of
from ..rules.limits import paediatric_max, renal_target
from ..units import Quantity, format_number, per_day
from .doses import (
    DoseLimit,
    Form,
    choose_form,
    clock_times,
    days,
    dose_step,
    minus,
    pick_end,
    split_daily,
    spread,
    total,
)
from .model import Step
from .notes import cite, lacking, note, refuse
from .request import PlanRequest


@record
class Ladder:
    """The pace of an oral titration: where it starts, how much each step adds, how often."""

    start: Quantity
    step: Quantity
    interval: Quantity
    target: Quantity
    rules: tuple[str, ...]
    rungs: tuple[Quantity, ...] = ()  # the label's own ladder, as daily amounts, followed first


def _active_regimen(req: PlanRequest) -> OralRegimen | None:
    active: OralRegimen | None = None
    for event in req.history:
        if isinstance(event, OralRegimen):
            active = event
        elif isinstance(event, OralStop):
            active = None
    return active


def _is_child(req: PlanRequest, pack: Pack) -> bool:
    """A child by the pack's adult age; a pack that names none plans every patient as the
    checker judges them, by its rules for all ages (docs/decisions.md)."""
    if not pack.has_role("indication.population"):
        return False
    age = age_at(req.patient, req.start)
    adult = pack.role("indication.population").quantity("adult_age")
    return age is not None and Quantity.of(age, "a") < adult


def _form_kind(req: PlanRequest, pack: Pack, child: bool) -> str:
    weight = req.patient.weight
    if (
        child
        and weight is not None
        and weight < pack.role("oral.children").quantity("tablet_min_weight")
    ):
        return "solution"
    return req.goal.form or "tablet"


def _fixed_times(req: PlanRequest, pack: Pack) -> tuple[str, ...] | None:
    """The clock times the request fixes (night only, before tasks, a number of doses a day);
    ``None`` when the planner chooses how many doses a day to give."""
    goal = req.goal
    if goal.night_only:
        return (pack.role("oral.night").code("night_time"),)
    if goal.pre_task_times:
        lead = pack.role("oral.pretask").quantity("lead_time")
        return tuple(sorted(minus(t, lead) for t in goal.pre_task_times))
    if goal.times_per_day:
        return clock_times(pack, goal.times_per_day)
    return None


def _adult_ceiling(pack: Pack) -> Quantity:
    """`oral.daily-range`'s most for one administration: the daily maximum over the usual doses a
    day, whatever the number of administrations (the checker's reading, which replay applies)."""
    rule = pack.role("oral.daily-range")
    return rule.range("daily").high * Quantity.of(1, "d") / rule.count("administrations_per_day")


def adult_limit(pack: Pack, preferred: int) -> DoseLimit:
    """An adult's day: ``preferred`` doses, fewer for small amounts, more (up to `oral.frequent`'s
    most) when one dose would be above `oral.daily-range`'s per-administration ceiling."""
    most = preferred  # a pack without small frequent doses keeps the usual count
    if pack.has_role("oral.frequent"):
        most = pack.role("oral.frequent").count("max_administrations_per_day")
    return DoseLimit.around(preferred, 1, max(most, preferred), _adult_ceiling(pack))


def _child_ceiling(pack: Pack, weight: Quantity) -> Quantity:
    """`oral.children`'s most for one administration at this weight (the high end of mg/kg)."""
    return (pack.role("oral.children").range("per_administration").high * weight).to("mg")


def _child_counts(pack: Pack) -> tuple[int, int, int]:
    """`oral.children`'s administrations a day: fewest, preferred, most."""
    paed = pack.role("oral.children")
    span = paed.fraction_range("administrations_per_day")
    return int(span.low), paed.count("preferred_administrations_per_day"), int(span.high)


def _limit(req: PlanRequest, pack: Pack, child: bool, fixed: tuple[str, ...] | None) -> DoseLimit:
    """The administrations a day this titration may use, and the most one may carry."""
    if not child:
        if fixed is not None:
            return DoseLimit((len(fixed),), _adult_ceiling(pack))
        return adult_limit(pack, pack.role("oral.daily-range").count("administrations_per_day"))
    weight = req.patient.weight
    assert weight is not None  # a child's ladder needs the weight; refused before
    fewest, preferred, most = _child_counts(pack)
    ceiling = _child_ceiling(pack, weight)
    if fixed is not None:
        if not fewest <= len(fixed) <= most:
            refuse(
                pack,
                pack.role("oral.children").id,
                pack.role("oral.children").phrase(
                    "administrations_plan", low=fewest, high=most, count=len(fixed)
                ),
                Severity.WARNING,
            )
        return DoseLimit((len(fixed),), ceiling)
    return DoseLimit.around(preferred, fewest, most, ceiling)


def _reach(
    req: PlanRequest,
    pack: Pack,
    child: bool,
    ladder: Ladder,
    limit: DoseLimit,
    step: Quantity,
    notes: list[Finding],
) -> Ladder:
    """The ladder with a target the allowed regimens can give: a default target is lowered to
    the most they carry (with a note), a requested one they cannot carry is refused."""
    if spread(ladder.target, limit, step) is not None or limit.ceiling is None:
        return ladder
    largest = split_daily(ladder.target, max(limit.counts), step)
    if largest is None:  # too small even for one dose: the ladder's loop says so
        return ladder
    most = limit.most_daily(step)
    ceiling = limit.ceiling.to("mg").text()
    count = max(limit.counts)
    if req.goal.target_daily_dose is None:
        notes.append(
            note(
                pack,
                pack.role("oral.children" if child else "oral.daily-range").id,
                Severity.INFO,
                pack.role("oral.daily-range").phrase(
                    "plan_capped", most=most.text(), count=count, ceiling=ceiling
                ),
            )
        )
        return Ladder(min(ladder.start, most), ladder.step, ladder.interval, most, ladder.rules)
    if child:
        paed = pack.role("oral.children")
        weight = req.patient.weight
        assert weight is not None
        message = paed.phrase(
            "per_dose_unreachable",
            target=ladder.target.text(),
            weight=weight.text(),
            per_kg=paed.range("per_administration").high.text(),
            ceiling=ceiling,
            count=count,
            most=most.text(),
        )
        refuse(pack, paed.id, message, Severity.WARNING)
    refuse(
        pack,
        pack.role("oral.daily-range").id,
        _too_large(req, pack, ladder.target, largest, step),
        Severity.WARNING,
    )


def _too_large(
    req: PlanRequest, pack: Pack, target: Quantity, doses: tuple[Quantity, ...], step: Quantity
) -> str:
    """Why an adult's target cannot be planned within the per-dose ceiling, and the fix."""
    rule = pack.role("oral.daily-range")
    ceiling = _adult_ceiling(pack)
    goal = req.goal
    fixed = DoseLimit((len(doses),), ceiling)
    free = adult_limit(pack, len(doses))
    needed = next(
        (
            n
            for n in free.counts
            if n > len(doses) and spread(target, DoseLimit((n,), ceiling), step)
        ),
        None,
    )
    if goal.night_only:
        fix = rule.phrase("plan_fix_night", most=fixed.most_daily(step).text())
    elif goal.pre_task_times:
        fix = rule.phrase("plan_fix_tasks", most=fixed.most_daily(step).text(), count=len(doses))
    elif goal.times_per_day and needed is not None:
        fix = rule.phrase("plan_fix_times", needed=needed)
    else:
        return rule.phrase(
            "plan_unreachable",
            amount=target.text(),
            ceiling=ceiling.to("mg").text(),
            count=max(free.counts),
            most=free.most_daily(step).text(),
        )
    return rule.phrase(
        "plan_fixed_too_large",
        amount=target.text(),
        count=len(doses),
        dose=max(doses).text(),
        ceiling=ceiling.to("mg").text(),
        fix=fix,
    )


def _child_ladder(req: PlanRequest, pack: Pack) -> Ladder:
    """`oral.children`: weight-based start, the same amount added about weekly, up to the target."""
    paed = pack.role("oral.children")
    weight = req.patient.weight
    if weight is None:
        refuse(pack, paed.id, paed.text("weight_missing_plan"), Severity.WARNING)
    age = age_at(req.patient, req.start)
    assert age is not None
    maximum = paediatric_max(pack, age)
    start = (paed.quantity("start") * weight).to("mg/d")
    target = req.goal.target_daily_dose
    if target is None:
        target = min((pick_end(paed, "maintenance", "target_end") * weight).to("mg/d"), maximum)
    if target > maximum:
        refuse(
            pack,
            paed.id,
            paed.phrase("above_max_plan", target=target.text(), maximum=maximum.text()),
        )
    return Ladder(
        start,
        start,
        paed.quantity("step_interval"),
        target,
        cite(pack, "oral.children", "indication.population"),
    )


def _refuse_unplannable(req: PlanRequest, pack: Pack, child: bool) -> None:
    """A titration the medicine's pack has no rule for (a child's, night only, before tasks,
    or with no target where the pack gives no usual one) is refused, naming what is missing."""
    goal = req.goal
    wanted = (
        (child, "oral.children", "indication.population"),
        (goal.night_only, "oral.night", "oral.titration"),
        (bool(goal.pre_task_times), "oral.pretask", "oral.titration"),
        (
            not child and not goal.night_only and goal.target_daily_dose is None,
            "oral.usual",
            "oral.titration",
        ),
    )
    for asked, role, cited in wanted:
        if asked and not pack.has_role(role):
            lacking(pack, role, cited)


def _ladder(req: PlanRequest, pack: Pack, child: bool, notes: list[Finding]) -> Ladder:
    """Start, step, pace and target for this patient, from the pack; a pack without a rule for
    elderly patients or the kidneys leaves the adult ladder as it is."""
    if child:
        return _child_ladder(req, pack)
    patient = req.patient
    goal = req.goal
    titration = pack.role("oral.titration")
    start = pack.role("oral.start").quantity("start_daily")
    step = titration.quantity("max_step")
    interval = titration.quantity("step_days")
    rules: tuple[str, ...] = cite(pack, "oral.start", "oral.titration")
    ladder = label_ladder(pack)
    if goal.night_only:
        default_target = per_day(ladder[-1])
        start, step = per_day(ladder[0]), per_day(ladder[1] - ladder[0])
        rungs = tuple(per_day(r) for r in ladder)
        rules += cite(pack, "oral.night")
    else:
        default_target = None
        if pack.has_role("oral.usual"):
            default_target = pack.role("oral.usual").quantity("usual_max")
            rules += cite(pack, "oral.usual")
        times = titration.count("administrations_per_day")
        rungs = tuple(per_day(r) * times for r in ladder)
    if goal.pre_task_times:
        rules += cite(pack, "oral.pretask")
    target = goal.target_daily_dose or default_target
    assert target is not None  # refused before when the pack gives no usual target
    if pack.has_role("oral.elderly"):
        interval, rules = _slower(req, pack, interval, rules, notes)
    renal = pack.role("oral.renal") if pack.has_role("oral.renal") else None
    conditions = patient.conditions
    if renal is None:
        pass
    elif conditions & set(renal.code_list("dialysis")):
        target = min(target, renal.quantity("renal_daily"))
        start = min(start, target)
        rules += cite(pack, "oral.renal")
    elif conditions & set(renal.code_list("renal")) or patient.creatinine_clearance is not None:
        clearance = patient.creatinine_clearance
        if clearance is None:
            refuse(
                pack,
                renal.id,
                renal.text("clearance_missing_plan"),
                Severity.WARNING,
            )
        reduced = renal_target(pack, clearance)
        if reduced is not None:
            keep = 1 - reduced[1]
            target = min(target, reduced[0])
            start, step = start * keep, step * keep
            rungs = tuple(r * keep for r in rungs)
            rules += cite(pack, "oral.renal-clearance")
            notes.append(
                note(
                    pack,
                    pack.role("oral.renal-clearance").id,
                    Severity.INFO,
                    pack.role("oral.renal-clearance").phrase(
                        "plan_note",
                        clearance=clearance.text(),
                        fraction=format_number(reduced[1]),
                    ),
                )
            )
    po_max = pack.role("oral.max")
    limit = po_max.quantity("max_daily_outpatient")
    if target > limit:
        told = {"target": target.text(), "limit": limit.text()}
        if patient.setting != "inpatient":
            refuse(pack, po_max.id, po_max.phrase("plan_outpatient", **told))
        notes.append(
            note(
                pack,
                po_max.id,
                Severity.WARNING,
                po_max.phrase("plan_inpatient", **told),
            )
        )
    return Ladder(start, step, interval, target, rules, rungs)


def _slower(
    req: PlanRequest,
    pack: Pack,
    interval: Quantity,
    rules: tuple[str, ...],
    notes: list[Finding],
) -> tuple[Quantity, tuple[str, ...]]:
    """`oral.elderly`: each step held longer for an elderly patient or (where the pack knows
    origins) spasticity of cerebral origin; else the interval and the rules as they were."""
    elderly = pack.role("oral.elderly")
    age = age_at(req.patient, req.start)
    cerebral = pack.has_role("indication.origin") and origin_of(req.patient, pack) == "cerebral"
    if (age is not None and Quantity.of(age, "a") >= elderly.quantity("elderly_age")) or cerebral:
        interval = elderly.quantity("slow_step_days")
        rules += (elderly.id,)
        who = elderly.text("cerebral" if cerebral else "elderly")
        notes.append(
            note(
                pack,
                elderly.id,
                Severity.INFO,
                elderly.phrase("plan_note", who=who, interval=interval.text()),
            )
        )
    return interval, rules


def label_ladder(pack: Pack) -> tuple[Quantity, ...]:
    """`oral.titration`'s ladder of single doses, which must rise at every rung: a ladder that does
    not is a broken pack, not a plan to follow."""
    rule = pack.role("oral.titration")
    ladder = rule.quantities("ladder")
    if len(ladder) < 2 or any(b <= a for a, b in pairwise(ladder)):
        raise PackError(rule.file, rule.id, "numbers.ladder", "must rise at every rung")
    return ladder


def _amounts(ladder: Ladder, begin: Quantity | None) -> list[Quantity]:
    """The daily amounts from the start (or the first above ``begin``) up to the target: the
    label's rungs first, then steps of the ladder's pace."""
    amounts: list[Quantity] = []
    if begin is None:
        amounts.append(ladder.start)
    last = ladder.start if begin is None else begin
    for rung in ladder.rungs:
        if rung >= ladder.target:
            break
        if rung > last:
            amounts.append(rung)
            last = rung
    if ladder.step.base > 0:
        level = last + ladder.step
        while level < ladder.target:
            amounts.append(level)
            level = level + ladder.step
    amounts.append(ladder.target)
    return [a for a in amounts if a <= ladder.target]


def _instruction(
    pack: Pack, form: Form, doses: tuple[Quantity, ...], times: tuple[str, ...], night: bool
) -> str:
    """Each dose in tablets or millilitres at its clock time, the day's total, and how to take
    it (`oral.meals`, or `oral.night`'s night dose)."""
    how = pack.role("oral.night" if night else "oral.meals").text("instruction")
    parts = [f"{form.describe(pack, d)} at {t}" for d, t in zip(doses, times, strict=True)]
    daily = per_day(total(doses))
    return f"{'; '.join(parts)} ({daily.text()}). {how}"


def oral_titration(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    """Up the ladder to the target, each day in doses the form makes and the limits allow."""
    notes: list[Finding] = []
    child = _is_child(req, pack)
    _refuse_unplannable(req, pack, child)
    ladder = _ladder(req, pack, child, notes)
    fixed = _fixed_times(req, pack)
    kind = _form_kind(req, pack, child)
    step_size = dose_step(pack, kind)
    limit = _limit(req, pack, child, fixed)
    ladder = _reach(req, pack, child, ladder, limit, step_size, notes)
    titration = pack.role("oral.titration")
    active = _active_regimen(req)
    when = req.start
    begin = None
    if active is not None:
        if active.daily_dose >= ladder.target:
            refuse(
                pack,
                titration.id,
                titration.phrase(
                    "at_target", dose=active.daily_dose.text(), target=ladder.target.text()
                ),
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
    frequent_from: Quantity | None = None
    for amount in _amounts(ladder, begin):
        doses = spread(amount, limit, step_size)
        if doses is None:
            refuse(
                pack,
                pack.role("oral.strengths").id,
                pack.role("oral.strengths").phrase(
                    "not_makeable_plan", amount=amount.text(), count=limit.counts[0]
                ),
                Severity.WARNING,
            )
        daily = per_day(total(doses))
        if previous is not None and daily <= previous:
            continue
        step_times = fixed or clock_times(pack, len(doses))
        rules = (*ladder.rules, pack.role("oral.meals").id, pack.role("oral.strengths").id)
        if len(doses) > limit.counts[0]:  # more doses than usual: one would be too large
            rules += cite(pack, "oral.daily-range", "oral.frequent")
            frequent_from = frequent_from or daily
        form = choose_form(pack, kind, doses)
        event = OralRegimen(
            when + days(ladder.interval) * len(steps), doses, step_times, form.kind, form.strength
        )
        condition = "" if previous is None else titration.text("step_condition")
        steps.append(
            Step(
                event,
                rules,
                _instruction(pack, form, doses, step_times, req.goal.night_only),
                condition,
            )
        )
        previous = daily
    if not steps:
        refuse(pack, titration.id, titration.text("no_step"), Severity.INFO)
    if frequent_from is not None and limit.ceiling is not None:
        notes.append(
            note(
                pack,
                pack.role("oral.frequent").id,
                Severity.INFO,
                pack.role("oral.frequent").phrase(
                    "plan_note",
                    amount=frequent_from.text(),
                    count=max(
                        s.event.times_per_day for s in steps if isinstance(s.event, OralRegimen)
                    ),
                    ceiling=limit.ceiling.to("mg").text(),
                ),
            )
        )
    assert previous is not None  # the daily dose of the last step
    if pack.has_role("oral.review"):  # a pack without a review after the target plans none
        steps.append(_review(pack, steps[-1].event.at, previous))
    return steps, notes


def _review(pack: Pack, reached: datetime, dose: Quantity) -> Step:
    """`oral.review`: the review some time after the titration's last step."""
    review = pack.role("oral.review")
    after = review.quantity("after")
    return Step(
        Review(
            reached + days(after), review.phrase("review", after=after.text(), dose=dose.text())
        ),
        (review.id,),
        review.text("instructions"),
        "",
    )


MAX_TAPER_REDUCTIONS = 1_000
"""The most reductions a taper is worked out with. A technical bound, not a clinical one: the
count grows with the dose, so a recorded dose of 1e29 mg would otherwise keep a worker planning
for ever; any dose the label's ladder knows needs a small fraction of it."""


def _taper_pace(pack: Pack, daily: Quantity) -> tuple[int, int]:
    """How many reductions and how many days each is held (`oral.taper`'s reading): at least
    `stop.gradual`'s minimum, no fall above the ladder's step, over the span's chosen end."""
    taper = pack.role("oral.taper")
    min_reductions = pack.role("stop.gradual").count("min_reductions")
    max_step = pack.role("oral.titration").quantity("max_step")
    reductions = max(min_reductions, math.ceil(daily.ratio(max_step)) - 1)
    if reductions > MAX_TAPER_REDUCTIONS:
        raise InputError(
            "history",
            f"the active daily dose {daily.code()} would take more than {MAX_TAPER_REDUCTIONS} "
            "reductions to taper; check the recorded dose",
        )
    span = taper.range("span")
    chosen = pick_end(taper, "span", "span_end").in_("d")
    interval_days = max(math.ceil(chosen / reductions), 1)
    if interval_days * reductions > span.high.in_("d"):
        interval_days = max(math.floor(span.high.in_("d") / reductions), 1)
    return reductions, interval_days


def _taper_limit(req: PlanRequest, pack: Pack, n: int) -> DoseLimit:
    """The doses a day a taper may use, starting from the regimen's own count: a child's
    mg/kg limit when the weight is known, else the adult per-dose ceiling."""
    weight = req.patient.weight
    if _is_child(req, pack) and weight is not None and pack.has_role("oral.children"):
        fewest, _preferred, most = _child_counts(pack)
        return DoseLimit.around(n, min(fewest, n), max(most, n), _child_ceiling(pack, weight))
    return adult_limit(pack, n)


def oral_taper(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    """Successive reductions to a stop over `oral.taper`'s span, never a sudden stop."""
    taper = pack.role("oral.taper")
    active = _active_regimen(req)
    if active is None:
        refuse(pack, pack.role("stop.gradual").id, taper.text("nothing_to_taper"), Severity.INFO)
    daily = active.daily_dose
    reductions, interval_days = _taper_pace(pack, daily)
    times = active.times or clock_times(pack, active.times_per_day)
    kind = active.form or req.goal.form or "tablet"
    limit = _taper_limit(req, pack, len(times))
    levels = _taper_levels(pack, daily, reductions, len(times), kind, limit)
    if levels is None:
        kind = "solution"
        levels = _taper_levels(pack, daily, reductions, len(times), kind, limit)
    if levels is None:
        refuse(
            pack,
            pack.role("stop.gradual").id,
            taper.phrase("not_makeable", daily=daily.text(), reductions=reductions),
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
                cite(pack, "stop.gradual", "oral.taper", "oral.meals"),
                _instruction(pack, form, doses, dose_times, False),
                taper.text("condition"),
            )
        )
    steps.append(
        Step(
            OralStop(req.start + interval * len(levels)),
            cite(pack, "stop.gradual", "oral.taper"),
            taper.text("stop"),
            taper.text("stop_condition"),
        )
    )
    return steps, []


def _taper_levels(
    pack: Pack,
    daily: Quantity,
    reductions: int,
    n: int,
    kind: str,
    limit: DoseLimit | None = None,
) -> list[tuple[Quantity, ...]] | None:
    """Daily levels falling in equal parts, each makeable and strictly lower than the last.

    Each level keeps ``n`` doses a day where it can, fewer when it is too small to split, and
    more (``limit``, by default the adult one) when one dose would be above the per-dose
    ceiling; a level no allowed count keeps under the ceiling uses the most doses allowed (a
    reduction is still the way down, and the checker warns).
    """
    step = dose_step(pack, kind)
    allowed = limit or adult_limit(pack, n)
    levels: list[tuple[Quantity, ...]] = []
    previous = daily
    for k in range(reductions, 0, -1):
        amount = daily * Fraction(k, reductions + 1)
        doses = spread(amount, allowed, step) or split_daily(amount, max(allowed.counts), step)
        if doses is None or per_day(total(doses)) >= previous:
            return None
        levels.append(doses)
        previous = per_day(total(doses))
    return levels
