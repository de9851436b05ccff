"""Intrathecal plans: screening, titration after implantation, flex delivery, tapers, holidays."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction

from ..errors import PackError
from ..knowledge.schema import Pack, Range, Rule, Severity, T
from ..model.events import (
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Review,
    ScheduleSegment,
    schedule_mean,
)
from ..model.finding import Finding
from ..rules.context import Context, build_context
from ..rules.limits import (
    ORIGINS,
    alarm_volume,
    initial_infusion_dose,
    programmed,
    screening_status,
)
from ..units import Quantity, format_number, format_percent
from .doses import choose_form, clock_times, days, minus
from .model import Step
from .notes import note, refuse
from .oral import _instruction, _taper_levels
from .pump import choose_concentration, fill_step
from .request import PlanRequest


def context_at_start(req: PlanRequest, pack: Pack) -> Context:
    """What the history says at the plan's start (a review at ``start`` as the probe)."""
    return build_context(req.patient, req.history, Review(req.start, "plan start"), pack)


def hourly(pack: Pack, daily: Quantity) -> str:
    places = pack.rule("SUP-IT-RATE").count("rate_unit_places")
    return daily.to("ug/h").text(places=places)


def _refuse_if_not_eligible(ctx: Context, pack: Pack) -> None:
    min_age = pack.rule("IT-PAED-UNDER4").quantity("min_age")
    if ctx.age_quantity is not None and ctx.age_quantity < min_age:
        refuse(
            pack,
            "IT-PAED-UNDER4",
            pack.rule("IT-PAED-UNDER4").phrase("plan_refusal", age=format_number(min_age.in_("a"))),
        )


# -- screening ------------------------------------------------------------------------------


def it_screening(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    infections = set(pack.rule("IT-SCREEN-INFECTION").code_list("conditions"))
    if req.patient.conditions & infections:
        refuse(pack, "IT-SCREEN-INFECTION", pack.rule("IT-SCREEN-INFECTION").text("plan_refusal"))
    status = screening_status(ctx.episode, pack)
    step = pack.rule("IT-SCREEN-STEP").quantity("step")
    interval = pack.rule("IT-SCREEN-STEP").quantity("min_interval")
    max_dose = pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose")
    if status.state == "responder":
        responding = status.responding
        assert responding is not None and responding.response is not None
        start, _prolonged = initial_infusion_dose(responding, pack)
        lasted = responding.response.duration
        told = pack.rule("IT-SCREEN-RESPONDER")
        summary = told.phrase(
            "complete",
            dose=responding.dose.to("ug").text(),
            lasted=" " + told.phrase("lasted", duration=lasted.text()) if lasted else "",
            start=start.text(),
        )
        return [
            Step(Review(req.start, summary), ("IT-SCREEN-RESPONDER", "IT-TITR-START"), summary)
        ], []
    if status.state == "non-responder":
        refuse(
            pack,
            "IT-SCREEN-NONRESPONDER",
            pack.rule("IT-SCREEN-NONRESPONDER").phrase("plan_refusal", dose=max_dose.text()),
            Severity.WARNING,
        )
    if status.state == "pending":
        assert status.last is not None
        refuse(
            pack,
            "IT-SCREEN-STEP",
            pack.rule("IT-SCREEN-STEP").phrase(
                "pending",
                dose=status.last.dose.to("ug").text(),
                at=status.last.at.isoformat(timespec="minutes"),
            ),
            Severity.WARNING,
        )
    notes: list[Finding] = []
    previous: Quantity | None = None
    if status.state == "in-progress":
        assert status.last is not None
        previous = status.last.dose.to("ug")
        dose = previous + step
        at = max(req.start, status.last.at + days(interval))
        first = False
    else:
        dose, first = _first_test_dose(ctx, pack, notes), True
        at = req.start
    steps: list[Step] = []
    while dose <= max_dose:
        steps.append(_test_dose_step(ctx, pack, ItTestDose(at, dose), previous, first))
        previous, first = dose, False
        dose = dose + step
        at = at + days(interval)
    last_dose = steps[-1].event
    told = pack.rule("IT-SCREEN-RESPONDER")
    conclude = Review(last_dose.at + days(interval), told.phrase("conclude", dose=max_dose.text()))
    steps.append(
        Step(
            conclude,
            ("IT-SCREEN-RESPONDER", "IT-SCREEN-NONRESPONDER"),
            told.text("conclude_instructions"),
            "",
        )
    )
    return steps, notes


def _first_test_dose(ctx: Context, pack: Pack, notes: list[Finding]) -> Quantity:
    low = pack.rule("SUP-IT-SCREEN-LOW")
    usual = max(pack.rule("IT-SCREEN-START").quantities("first_doses")).to("ug")
    weight = ctx.patient.weight
    small = ctx.is_child and (weight is None or weight < low.quantity("small_child_weight"))
    relies = bool(ctx.patient.tone_supports_function)
    if small or relies:
        who = low.text("small_child" if small else "relies")
        notes.append(
            note(
                pack,
                "SUP-IT-SCREEN-LOW",
                Severity.INFO,
                low.phrase("first_dose", dose=low.quantity("first_dose").text(), who=who),
            )
        )
        return low.quantity("first_dose").to("ug")
    return usual


def _test_dose_step(
    ctx: Context, pack: Pack, event: ItTestDose, previous: Quantity | None, first: bool
) -> Step:
    ampoules = pack.rule("IT-SCREEN-CONC")
    conc = ampoules.quantity("concentration")
    volume = (event.dose / conc).to("mL")
    opened = math.ceil(volume.ratio(ampoules.quantity("ampoule_volume")))
    response = pack.rule("IT-SCREEN-STEP").range("response_duration")
    ladder = pack.rule("IT-SCREEN-STEP")
    slow = pack.rule("IT-SCREEN-SLOW")
    parts = [
        ampoules.phrase(
            "give",
            dose=event.dose.text(),
            volume=volume.text(places=2),
            concentration=conc.text(),
            ampoules=opened,
            ampoule=ampoules.quantity("ampoule_volume").text(),
        ),
        slow.phrase("instruction", time=slow.quantity("min_injection_time").text()),
        pack.rule("IT-MONITOR-IMPLANT").text("screening"),
        ladder.phrase("record_response", duration=response.text()),
    ]
    rules = ["IT-SCREEN-CONC", "IT-SCREEN-SLOW", "IT-SCREEN-STEP", "IT-MONITOR-IMPLANT"]
    if first:
        parts.insert(2, pack.rule("IT-SCREEN-RESUS").text("first_dose"))
        rules = ["IT-SCREEN-START", "IT-SCREEN-RESUS", *rules]
    risk = pack.rule("IT-MONITOR-RISK")
    if (ctx.patient.conditions & set(risk.code_list("risk_conditions"))) or (
        ctx.patient.medications & set(risk.code_list("risk_medications"))
    ):
        parts.append(risk.text("plan_caution"))
        rules.append("IT-MONITOR-RISK")
    condition = "" if previous is None else ladder.phrase("condition", dose=previous.text())
    last = pack.rule("IT-SCREEN-NONRESPONDER")
    if event.dose == last.quantity("max_test_dose"):
        rules.append("IT-SCREEN-NONRESPONDER")
        parts.append(last.text("last_step"))
    return Step(event, tuple(rules), " ".join(parts), condition)


# -- titration ------------------------------------------------------------------------------


def _end(rule: Rule, name: str) -> str:
    """A ``low``/``high`` choice of the pack (which end of a range the plan takes)."""
    end = rule.code(name)
    if end not in ("low", "high"):
        raise PackError(rule.file, rule.id, f"codes.{name}", "must be low or high")
    return end


def _pick(values: Range[T], end: str) -> T:
    """The ``low`` or ``high`` end of a range of the pack."""
    return values.low if end == "low" else values.high


def _pack_quantity(pack: Pack, ref: str) -> Quantity:
    """A quantity named in the pack as ``RULE number`` or ``RULE range low|high``."""
    parts = ref.split()
    if len(parts) == 2:
        return pack.rule(parts[0]).quantity(parts[1])
    rule = pack.rule(parts[0])
    if len(parts) != 3 or parts[2] not in ("low", "high"):
        raise PackError(rule.file, "IT-MAINT-GOAL", "codes.default_target", f"cannot read {ref!r}")
    return _pick(rule.range(parts[1]), parts[2])


def default_target(ctx: Context, pack: Pack) -> Quantity:
    """The daily dose titration aims at unless the request says (IT-MAINT-GOAL
    ``default_target``): a child's, the origin's, or the lower of the two origins' when the
    origin is unknown."""
    goal = pack.rule("IT-MAINT-GOAL")
    table = goal.code_map("default_target")
    if ctx.is_child:
        return _pack_quantity(pack, table["child"])
    if ctx.origin in ORIGINS:
        return _pack_quantity(pack, table[ctx.origin])
    both = [_pack_quantity(pack, table[origin]) for origin in ORIGINS]
    unknown = table["unknown"]
    if unknown not in ("lower", "higher"):
        return _pack_quantity(pack, unknown)
    return min(both) if unknown == "lower" else max(both)


def plan_step(pack: Pack, origin: str | None) -> Fraction:
    """The increase the plan makes each step: the end of IT-TITR-STEP's range the pack chooses
    (``plan_end``), for the origin, or the smaller of the two when the origin is unknown."""
    rule = pack.rule("IT-TITR-STEP")
    end = _end(rule, "plan_end")
    names = (origin,) if origin in ORIGINS else ORIGINS
    return min(_pick(rule.fraction_range(name), end) for name in names)


def _interval(ctx: Context, pack: Pack, notes: list[Finding]) -> Quantity:
    rule = pack.rule("IT-TITR-INTERVAL")
    programmable = ctx.patient.pump.programmable if ctx.patient.pump else None
    if programmable is None:
        notes.append(
            note(
                pack,
                "IT-TITR-INTERVAL",
                Severity.WARNING,
                rule.phrase("pump_unknown_plan", interval=rule.quantity("non_programmable").text()),
            )
        )
    return rule.quantity("programmable" if programmable else "non_programmable")


@dataclass(frozen=True, slots=True)
class _Course:
    """Where titration starts: the dose running, the course's first dose, the first instant
    an increase is allowed, and the steps that begin the course (implant, fill, start)."""

    current: Quantity
    course_dose: Quantity
    first_increase: datetime
    steps: tuple[Step, ...]


def _running_course(
    ctx: Context, pack: Pack, req: PlanRequest, interval: Quantity, hold: Quantity
) -> _Course:
    """Titration of an infusion already running: the next increase after both the interval
    since the last change and the course's hold (IT-TITR-INTERVAL, IT-TITR-HOLD24)."""
    assert ctx.infusion_active is not None
    if ctx.maintenance:
        refuse(
            pack,
            "IT-CHRONIC-STEP",
            pack.rule("IT-CHRONIC-STEP").text("titration_refusal"),
            Severity.INFO,
        )
    assert ctx.last_infusion_change is not None and ctx.course_start is not None
    at = max(
        req.start,
        ctx.last_infusion_change.at + days(interval),
        ctx.course_start.at + days(hold),
    )
    return _Course(ctx.infusion_active.daily_dose, ctx.course_start.daily_dose, at, ())


def _new_course(
    ctx: Context,
    pack: Pack,
    req: PlanRequest,
    target: Quantity,
    notes: list[Finding],
    wait: tuple[Quantity, Quantity],
) -> _Course:
    """A first infusion after screening: implant, fill, start at IT-TITR-START's dose; the
    first increase after the hold and the interval, both counted from the start."""
    status = screening_status(ctx.test_doses, pack)
    if status.state == "non-responder":
        refuse(
            pack,
            "IT-SCREEN-NONRESPONDER",
            pack.rule("IT-SCREEN-NONRESPONDER").text("titration_refusal"),
        )
    if status.responding is None:
        refuse(pack, "IT-SCREEN-REQUIRED", pack.rule("IT-SCREEN-REQUIRED").text("plan_refusal"))
    current, prolonged = initial_infusion_dose(status.responding, pack)
    steps = _implant_and_fill(ctx, pack, req, current, target, notes)
    start = pack.rule("IT-TITR-START")
    interval, hold = wait
    text = start.phrase(
        "start",
        dose=current.text(),
        rate=hourly(pack, current),
        how=start.text("prolonged" if prolonged else "doubled"),
        period=start.quantity("period").to("h").text(),
        hold=hold.text(),
    )
    steps.append(
        Step(
            ItInfusion(req.start, current),
            ("IT-TITR-START", "IT-MODE-CONTINUOUS", "SUP-IT-RATE", "IT-TITR-HOLD24"),
            text,
            "",
        )
    )
    return _Course(current, current, req.start + days(max(hold, interval)), tuple(steps))


def _check_target(ctx: Context, pack: Pack, target: Quantity) -> None:
    if ctx.is_child:
        paed = pack.rule("IT-PAED-MAINT")
        initial = paed.range("initial")
        if target not in initial:
            refuse(
                pack,
                "IT-PAED-MAINT",
                paed.phrase("target_outside", target=target.text(), range=initial.text()),
                Severity.WARNING,
            )


def _above_usual(ctx: Context, pack: Pack, target: Quantity) -> list[Finding]:
    """IT-MAINT-SPINAL: a titration aiming above the dose most patients of spinal origin are
    maintained on is said (info), so the team weighs the target, not a limit."""
    if ctx.is_child or ctx.origin != "spinal":
        return []
    rule = pack.rule("IT-MAINT-SPINAL")
    usual = rule.range("usual")
    if target <= usual.high:
        return []
    told = {"target": target.text(), "usual": usual.text()}
    return [note(pack, "IT-MAINT-SPINAL", Severity.INFO, rule.phrase("plan_above_usual", **told))]


def it_titration(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    notes: list[Finding] = []
    target = req.goal.target_daily_dose or default_target(ctx, pack)
    _check_target(ctx, pack, target)
    notes += _above_usual(ctx, pack, target)
    step_rule = pack.rule("IT-TITR-STEP")
    if ctx.origin is None:
        notes.append(note(pack, "IND-ORIGIN", Severity.WARNING, step_rule.text("origin_unknown")))
    interval = _interval(ctx, pack, notes)
    hold = pack.rule("IT-TITR-HOLD24").quantity("hold")
    if ctx.infusion_active is not None:
        course = _running_course(ctx, pack, req, interval, hold)
    else:
        course = _new_course(ctx, pack, req, target, notes, (interval, hold))
    steps = list(course.steps)
    if target <= course.current:
        notes.append(
            note(
                pack,
                "IT-TITR-STEP",
                Severity.INFO,
                step_rule.phrase("at_target", dose=course.current.text(), target=target.text()),
            )
        )
    increases = _increases(pack, course, target, plan_step(pack, ctx.origin), interval)
    steps += increases
    steps += _settle(pack, course, target, increases, interval, plan_step(pack, ctx.origin))
    if ctx.is_child:  # a child's target and range are IT-PAED-MAINT's
        steps = [
            replace(s, rules=(*s.rules, "IT-PAED-MAINT"))
            if isinstance(s.event, (ItInfusion, ItStable))
            else s
            for s in steps
        ]
    steps += _oral_wean(ctx, pack, req)
    steps.sort(key=lambda s: s.event.at)
    return steps, notes


def _increases(
    pack: Pack, course: _Course, target: Quantity, limit: Fraction, interval: Quantity
) -> list[Step]:
    """The increases toward the target, one interval apart, each at most ``limit``.

    IT-TITR-NOEFFECT: before the first increase from a dose already `significant_rise` above the
    course's start, a review asks whether the increases had an effect (else check pump and
    catheter); that increase and every later one are conditional on its answer.
    """
    step_rule, noeffect = pack.rule("IT-TITR-STEP"), pack.rule("IT-TITR-NOEFFECT")
    significant = noeffect.number("significant_rise")
    rules = ("IT-TITR-STEP", "IT-TITR-INTERVAL", "SUP-IT-RATE")
    condition = step_rule.text("increase_condition")
    steps: list[Step] = []
    current, at = course.current, course.first_increase
    reviewed = False
    while current < target:
        nxt = min(programmed(pack, current * (1 + limit)), target)
        if nxt <= current:
            break
        if not reviewed and current.ratio(course.course_dose) - 1 >= significant:
            reviewed = True
            question = noeffect.phrase(
                "review", start=course.course_dose.text(), dose=current.text()
            )
            steps.append(
                Step(
                    Review(at, question),
                    ("IT-TITR-NOEFFECT",),
                    noeffect.text("review_instructions"),
                    "",
                    asks=("IT-TITR-NOEFFECT",),
                )
            )
            condition = noeffect.phrase("after_review", date=at.isoformat(timespec="minutes"))
        text = step_rule.phrase(
            "increase",
            dose=nxt.text(),
            rate=hourly(pack, nxt),
            rise=format_percent(nxt.ratio(current) - 1),
            limit=format_percent(limit, 0),
        )
        steps.append(Step(ItInfusion(at, nxt), rules, text, condition))
        current = nxt
        at = at + days(interval)
    return steps


def _settle(
    pack: Pack,
    course: _Course,
    target: Quantity,
    increases: list[Step],
    interval: Quantity,
    limit: Fraction,
) -> list[Step]:
    """IT-MAINT-GOAL: titration is declared over only after the dose has been observed for
    ``observe_intervals`` intervals since the last planned change; with no increase planned, a
    review at the first instant an increase is allowed comes first (docs/decisions.md)."""
    goal = pack.rule("IT-MAINT-GOAL")
    observe = interval * goal.count("observe_intervals")
    steps: list[Step] = []
    changes = [s.event.at for s in increases if isinstance(s.event, ItInfusion)]
    if changes:
        settled = changes[-1] + days(observe)
    else:
        review = goal.phrase("at_target_review", dose=course.current.text(), target=target.text())
        steps.append(
            Step(
                Review(course.first_increase, review),
                ("IT-MAINT-GOAL", "IT-TITR-STEP", "IT-TITR-INTERVAL"),
                goal.phrase("at_target_instructions", limit=format_percent(limit, 0)),
                "",
            )
        )
        settled = course.first_increase + days(observe)
    steps.append(
        Step(
            ItStable(settled),
            ("IT-MAINT-GOAL", "IT-MODE-COMPLEX"),
            goal.text("stable"),
            goal.text("stable_condition"),
        )
    )
    return steps


def _implant_and_fill(
    ctx: Context,
    pack: Pack,
    req: PlanRequest,
    start: Quantity,
    target: Quantity,
    notes: list[Finding],
) -> list[Step]:
    steps: list[Step] = []
    if not any(isinstance(e, PumpImplant) for e in ctx.history):
        steps.append(
            Step(
                PumpImplant(req.start),
                ("IT-IMPLANT-CENTRE", "IT-MONITOR-IMPLANT"),
                pack.rule("IT-IMPLANT-CENTRE").text("implant"),
                "",
            )
        )
    if not ctx.refills:
        pump = ctx.patient.pump
        refill = pack.rule("SUP-IT-REFILL")
        if pump is None or pump.reservoir is None:
            notes.append(
                note(pack, "SUP-IT-REFILL", Severity.INFO, refill.text("first_fill_unknown"))
            )
        elif pump.reservoir <= alarm_volume(pack, None, pump):
            told = {
                "alarm": alarm_volume(pack, None, pump).text(),
                "reservoir": pump.reservoir.text(),
            }
            notes.append(
                note(
                    pack,
                    "SUP-IT-REFILL",
                    Severity.WARNING,
                    refill.phrase("alarm_not_below_reservoir", **told),
                )
            )
        else:
            alarm = alarm_volume(pack, None, pump)
            conc = choose_concentration(pack, target, pump.reservoir, alarm)
            fill = PumpRefill(req.start, conc, pump.reservoir, alarm)
            steps.append(fill_step(pack, fill, start))
    return steps


def _oral_wean(ctx: Context, pack: Pack, req: PlanRequest) -> list[Step]:
    """SUP-IT-ORAL-WEAN: oral baclofen reduced by the step the pack chooses, to a stop."""
    active = ctx.oral_active
    if active is None:
        return []
    wean = pack.rule("SUP-IT-ORAL-WEAN")
    step = _pick(wean.fraction_range("step"), _end(wean, "plan_end"))
    reductions = math.ceil(1 / step) - 1
    interval = pack.rule("PO-TITRATION").quantity("min_interval")
    times = active.times or clock_times(pack, active.times_per_day)
    kind = active.form or "tablet"
    levels = _taper_levels(pack, active.daily_dose, reductions, len(times), kind) or _taper_levels(
        pack, active.daily_dose, reductions, len(times), "solution"
    )
    if levels is None:
        return []
    first = req.start + days(pack.rule("IT-TITR-HOLD24").quantity("hold"))
    condition = wean.phrase("condition", within=wean.quantity("reassess_within").text())
    steps = []
    for i, doses in enumerate(levels):
        dose_times = times if len(doses) == len(times) else clock_times(pack, len(doses))
        form = choose_form(pack, kind, doses)
        event = OralRegimen(first + days(interval) * i, doses, dose_times, form.kind, form.strength)
        steps.append(
            Step(
                event,
                ("SUP-IT-ORAL-WEAN", "STOP-GRADUAL", "PO-MEALS"),
                _instruction(pack, form, doses, dose_times, False),
                condition,
            )
        )
    steps.append(
        Step(
            OralStop(first + days(interval) * len(levels)),
            ("SUP-IT-ORAL-WEAN", "STOP-GRADUAL"),
            wean.text("stop"),
            wean.text("stop_condition"),
        )
    )
    return steps


# -- flex -----------------------------------------------------------------------------------


def it_flex(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)  # the night rate raises the daily dose
    rule = pack.rule("IT-MODE-COMPLEX")
    active = ctx.infusion_active
    if active is None:
        refuse(pack, "IT-MODE-COMPLEX", rule.text("no_infusion"), Severity.WARNING)
    if not ctx.maintenance:
        refuse(pack, "IT-MODE-COMPLEX", rule.text("before_stable"), Severity.WARNING)
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        refuse(pack, "IT-MODE-COMPLEX", rule.text("not_programmable"), Severity.WARNING)
    assert req.goal.night_onset is not None
    base = min(s.daily_rate for s in active.schedule) if active.schedule else active.daily_dose
    high = base * (1 + rule.number("night_increase"))
    rise_at = minus(req.goal.night_onset, rule.quantity("lead_time"))
    night_end = req.goal.night_end or rule.code("default_night_end")
    if rise_at == night_end:
        refuse(pack, "IT-MODE-COMPLEX", rule.text("whole_day"), Severity.WARNING)
    segments = sorted(
        [ScheduleSegment(night_end, base), ScheduleSegment(rise_at, high)], key=lambda s: s.start
    )
    schedule = tuple(segments)
    mean = schedule_mean(schedule).to(base.unit)
    interval = pack.rule("IT-TITR-INTERVAL").quantity("programmable")
    at = req.start
    if ctx.last_infusion_change is not None:
        at = max(at, ctx.last_infusion_change.at + days(interval))
    text = rule.phrase(
        "program",
        base=base.text(),
        base_rate=hourly(pack, base),
        night_end=night_end,
        high=high.text(),
        high_rate=hourly(pack, high),
        increase=format_percent(rule.number("night_increase"), 0),
        rise_at=rise_at,
        lead=rule.quantity("lead_time").text(),
        onset=req.goal.night_onset,
        mean=mean.text(places=1),
        was=active.daily_dose.text(),
    )
    steps = [
        Step(
            ItInfusion(at, mean, schedule),
            ("IT-MODE-COMPLEX", "SUP-IT-RATE", "IT-CHRONIC-STEP"),
            text,
            "",
        )
    ]
    return steps, []


# -- tapers ---------------------------------------------------------------------------------


def _taper(ctx: Context, pack: Pack, req: PlanRequest) -> tuple[list[Step], ItStop]:
    tolerance = pack.rule("IT-TOLERANCE")
    active = ctx.infusion_active
    if active is None:
        refuse(pack, "STOP-GRADUAL", tolerance.text("nothing_to_taper"), Severity.INFO)
    reduce = pack.rule("IT-SIDE-EFFECT-REDUCE").fraction_range("reduction")
    cut = _pick(reduce, _end(tolerance, "reduction_end"))
    interval = tolerance.quantity("taper_interval")
    span = _pick(tolerance.range("taper_span"), _end(tolerance, "span_end"))
    count = math.ceil(span.ratio(interval))
    steps = []
    level = active.daily_dose
    at = req.start
    for _ in range(count):
        nxt = programmed(pack, level * (1 - cut), up=True)
        if nxt >= level or nxt.magnitude <= 0:
            break
        steps.append(
            Step(
                ItInfusion(at, nxt),
                ("STOP-GRADUAL", "IT-TOLERANCE", "IT-SIDE-EFFECT-REDUCE", "SUP-IT-RATE"),
                tolerance.phrase(
                    "reduce",
                    dose=nxt.text(),
                    rate=hourly(pack, nxt),
                    fall=format_percent(1 - nxt.ratio(level)),
                ),
                tolerance.text("reduce_condition"),
            )
        )
        level = nxt
        at = at + days(interval)
    stop = ItStop(at)
    signs = pack.rule("SUP-IT-WITHDRAWAL")
    steps.append(
        Step(
            stop,
            ("STOP-GRADUAL", "SUP-IT-WITHDRAWAL"),
            signs.phrase(
                "stop",
                early=", ".join(signs.code_list("early_signs")),
                advanced=", ".join(signs.code_list("advanced_signs")),
            ),
            tolerance.text("stop_condition"),
        )
    )
    return steps, stop


def it_taper(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    steps, _ = _taper(context_at_start(req, pack), pack, req)
    return steps, []


def it_tolerance_holiday(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)  # the holiday ends in a resumption, a new start
    steps, stop = _taper(ctx, pack, req)
    tolerance = pack.rule("IT-TOLERANCE")
    alternative = tolerance.text("alternative")
    steps.append(
        Step(
            Review(stop.at, tolerance.phrase("switch", alternative=alternative)),
            ("IT-TOLERANCE",),
            tolerance.text("switch_instructions"),
            "",
        )
    )
    first = ctx.first_infusion
    assert first is not None
    resume = ItInfusion(stop.at + days(tolerance.quantity("resume_after")), first.daily_dose)
    steps.append(
        Step(
            resume,
            ("IT-TOLERANCE", "IT-TITR-HOLD24", "SUP-IT-RATE"),
            tolerance.phrase(
                "resume", dose=first.daily_dose.text(), rate=hourly(pack, first.daily_dose)
            ),
            tolerance.text("resume_condition"),
        )
    )
    return steps, []
