"""Intrathecal plans: screening, titration after implantation, flex delivery, tapers, holidays."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction

from ..errors import PackError
from ..frozen import record, replace
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
from .notes import cite, note, refuse
from .oral import _instruction, _taper_levels
from .pump import choose_concentration, fill_step
from .request import PlanRequest


def context_at_start(req: PlanRequest, pack: Pack) -> Context:
    """What the history says at the plan's start (a review at ``start`` as the probe)."""
    return build_context(req.patient, req.history, Review(req.start, "plan start"), pack)


def hourly(pack: Pack, daily: Quantity) -> str:
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    return daily.to("ug/h").text(places=places)


def _refuse_if_not_eligible(ctx: Context, pack: Pack) -> None:
    min_age = pack.role("intrathecal.children.min-age").quantity("min_age")
    if ctx.age_quantity is not None and ctx.age_quantity < min_age:
        refuse(
            pack,
            pack.role("intrathecal.children.min-age").id,
            pack.role("intrathecal.children.min-age").phrase(
                "plan_refusal", age=format_number(min_age.in_("a"))
            ),
        )


# -- screening ------------------------------------------------------------------------------


def it_screening(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    infections = set(pack.role("intrathecal.screening.infection").code_list("conditions"))
    if req.patient.conditions & infections:
        refuse(
            pack,
            pack.role("intrathecal.screening.infection").id,
            pack.role("intrathecal.screening.infection").text("plan_refusal"),
        )
    status = screening_status(ctx.episode, pack)
    step = pack.role("intrathecal.screening.step").quantity("step")
    interval = pack.role("intrathecal.screening.step").quantity("min_interval")
    max_dose = pack.role("intrathecal.screening.nonresponder").quantity("max_test_dose")
    if status.state == "responder":
        responding = status.responding
        assert responding is not None and responding.response is not None
        start, _prolonged = initial_infusion_dose(responding, pack)
        lasted = responding.response.duration
        told = pack.role("intrathecal.screening.responder")
        summary = told.phrase(
            "complete",
            dose=responding.dose.to("ug").text(),
            lasted=" " + told.phrase("lasted", duration=lasted.text()) if lasted else "",
            start=start.text(),
        )
        return [
            Step(
                Review(req.start, summary),
                cite(pack, "intrathecal.screening.responder", "intrathecal.titration.start"),
                summary,
            )
        ], []
    if status.state == "non-responder":
        refuse(
            pack,
            pack.role("intrathecal.screening.nonresponder").id,
            pack.role("intrathecal.screening.nonresponder").phrase(
                "plan_refusal", dose=max_dose.text()
            ),
            Severity.WARNING,
        )
    if status.state == "pending":
        assert status.last is not None
        refuse(
            pack,
            pack.role("intrathecal.screening.step").id,
            pack.role("intrathecal.screening.step").phrase(
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
    told = pack.role("intrathecal.screening.responder")
    conclude = Review(last_dose.at + days(interval), told.phrase("conclude", dose=max_dose.text()))
    steps.append(
        Step(
            conclude,
            cite(pack, "intrathecal.screening.responder", "intrathecal.screening.nonresponder"),
            told.text("conclude_instructions"),
            "",
        )
    )
    return steps, notes


def _first_test_dose(ctx: Context, pack: Pack, notes: list[Finding]) -> Quantity:
    low = pack.role("intrathecal.screening.low-start")
    usual = max(pack.role("intrathecal.screening.start").quantities("first_doses")).to("ug")
    weight = ctx.patient.weight
    small = ctx.is_child and (weight is None or weight < low.quantity("small_child_weight"))
    relies = bool(ctx.patient.tone_supports_function)
    if small or relies:
        who = low.text("small_child" if small else "relies")
        notes.append(
            note(
                pack,
                low.id,
                Severity.INFO,
                low.phrase("first_dose", dose=low.quantity("first_dose").text(), who=who),
            )
        )
        return low.quantity("first_dose").to("ug")
    return usual


def _test_dose_step(
    ctx: Context, pack: Pack, event: ItTestDose, previous: Quantity | None, first: bool
) -> Step:
    ampoules = pack.role("intrathecal.screening.concentration")
    conc = ampoules.quantity("concentration")
    volume = (event.dose / conc).to("mL")
    opened = math.ceil(volume.ratio(ampoules.quantity("ampoule_volume")))
    response = pack.role("intrathecal.screening.step").range("response_duration")
    ladder = pack.role("intrathecal.screening.step")
    slow = pack.role("intrathecal.screening.slow")
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
        pack.role("intrathecal.monitoring.implant").text("screening"),
        ladder.phrase("record_response", duration=response.text()),
    ]
    rules = cite(
        pack,
        "intrathecal.screening.concentration",
        "intrathecal.screening.slow",
        "intrathecal.screening.step",
        "intrathecal.monitoring.implant",
    )
    if first:
        parts.insert(2, pack.role("intrathecal.screening.resuscitation").text("first_dose"))
        rules = (
            *cite(pack, "intrathecal.screening.start", "intrathecal.screening.resuscitation"),
            *rules,
        )
    risk = pack.role("intrathecal.monitoring.risk")
    if (ctx.patient.conditions & set(risk.code_list("risk_conditions"))) or (
        ctx.patient.medications & set(risk.code_list("risk_medications"))
    ):
        parts.append(risk.text("plan_caution"))
        rules += (risk.id,)
    condition = "" if previous is None else ladder.phrase("condition", dose=previous.text())
    last = pack.role("intrathecal.screening.nonresponder")
    if event.dose == last.quantity("max_test_dose"):
        rules += (last.id,)
        parts.append(last.text("last_step"))
    return Step(event, rules, " ".join(parts), condition)


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
        raise PackError(
            rule.file,
            pack.role("intrathecal.maintenance.goal").id,
            "codes.default_target",
            f"cannot read {ref!r}",
        )
    return _pick(rule.range(parts[1]), parts[2])


def default_target(ctx: Context, pack: Pack) -> Quantity:
    """The daily dose titration aims at unless the request says (`intrathecal.maintenance.goal`
    ``default_target``): a child's, the origin's, or the lower of the two origins' when the
    origin is unknown."""
    goal = pack.role("intrathecal.maintenance.goal")
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
    """The increase the plan makes each step: the end of `intrathecal.titration.step`'s range the
    pack chooses (``plan_end``), for the origin, or the smaller of the two when the origin is
    unknown."""
    rule = pack.role("intrathecal.titration.step")
    end = _end(rule, "plan_end")
    names = (origin,) if origin in ORIGINS else ORIGINS
    return min(_pick(rule.fraction_range(name), end) for name in names)


def _interval(ctx: Context, pack: Pack, notes: list[Finding]) -> Quantity:
    rule = pack.role("intrathecal.titration.interval")
    programmable = ctx.patient.pump.programmable if ctx.patient.pump else None
    if programmable is None:
        notes.append(
            note(
                pack,
                rule.id,
                Severity.WARNING,
                rule.phrase("pump_unknown_plan", interval=rule.quantity("non_programmable").text()),
            )
        )
    return rule.quantity("programmable" if programmable else "non_programmable")


@record
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
    """Titration of an infusion already running: the next increase after both the interval since the
    last change and the course's hold (`intrathecal.titration.interval`,
    `intrathecal.titration.hold`)."""
    assert ctx.infusion_active is not None
    if ctx.maintenance:
        refuse(
            pack,
            pack.role("intrathecal.maintenance.step").id,
            pack.role("intrathecal.maintenance.step").text("titration_refusal"),
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
    """A first infusion after screening: implant, fill, start at `intrathecal.titration.start`'s
    dose; the first increase after the hold and the interval, both counted from the start."""
    status = screening_status(ctx.test_doses, pack)
    if status.state == "non-responder":
        refuse(
            pack,
            pack.role("intrathecal.screening.nonresponder").id,
            pack.role("intrathecal.screening.nonresponder").text("titration_refusal"),
        )
    if status.responding is None:
        refuse(
            pack,
            pack.role("intrathecal.screening.required").id,
            pack.role("intrathecal.screening.required").text("plan_refusal"),
        )
    current, prolonged = initial_infusion_dose(status.responding, pack)
    steps = _implant_and_fill(ctx, pack, req, current, target, notes)
    start = pack.role("intrathecal.titration.start")
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
            cite(
                pack,
                "intrathecal.titration.start",
                "intrathecal.mode.continuous",
                "intrathecal.pump.rate",
                "intrathecal.titration.hold",
            ),
            text,
            "",
        )
    )
    return _Course(current, current, req.start + days(max(hold, interval)), tuple(steps))


def _check_target(ctx: Context, pack: Pack, target: Quantity) -> None:
    if ctx.is_child:
        paed = pack.role("intrathecal.children.maintenance")
        initial = paed.range("initial")
        if target not in initial:
            refuse(
                pack,
                paed.id,
                paed.phrase("target_outside", target=target.text(), range=initial.text()),
                Severity.WARNING,
            )


def _above_usual(ctx: Context, pack: Pack, target: Quantity) -> list[Finding]:
    """`intrathecal.maintenance.spinal`: a titration aiming above the dose most patients of spinal
    origin are maintained on is said (info), so the team weighs the target, not a limit."""
    if ctx.is_child or ctx.origin != "spinal":
        return []
    rule = pack.role("intrathecal.maintenance.spinal")
    usual = rule.range("usual")
    if target <= usual.high:
        return []
    told = {"target": target.text(), "usual": usual.text()}
    return [
        note(
            pack,
            rule.id,
            Severity.INFO,
            rule.phrase("plan_above_usual", **told),
        )
    ]


def it_titration(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    notes: list[Finding] = []
    target = req.goal.target_daily_dose or default_target(ctx, pack)
    _check_target(ctx, pack, target)
    notes += _above_usual(ctx, pack, target)
    step_rule = pack.role("intrathecal.titration.step")
    if ctx.origin is None:
        notes.append(
            note(
                pack,
                pack.role("indication.origin").id,
                Severity.WARNING,
                step_rule.text("origin_unknown"),
            )
        )
    interval = _interval(ctx, pack, notes)
    hold = pack.role("intrathecal.titration.hold").quantity("hold")
    if ctx.infusion_active is not None:
        course = _running_course(ctx, pack, req, interval, hold)
    else:
        course = _new_course(ctx, pack, req, target, notes, (interval, hold))
    steps = list(course.steps)
    if target <= course.current:
        notes.append(
            note(
                pack,
                step_rule.id,
                Severity.INFO,
                step_rule.phrase("at_target", dose=course.current.text(), target=target.text()),
            )
        )
    increases = _increases(pack, course, target, plan_step(pack, ctx.origin), interval)
    steps += increases
    steps += _settle(pack, course, target, increases, interval, plan_step(pack, ctx.origin))
    if ctx.is_child:  # a child's target and range are `intrathecal.children.maintenance`'s
        steps = [
            replace(s, rules=(*s.rules, pack.role("intrathecal.children.maintenance").id))
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

    `intrathecal.titration.no-effect`: before the first increase from a dose already
    `significant_rise` above the course's start, a review asks whether the increases had an effect
    (else check pump and catheter); that increase and every later one are conditional on its answer.
    """
    step_rule, noeffect = (
        pack.role("intrathecal.titration.step"),
        pack.role("intrathecal.titration.no-effect"),
    )
    significant = noeffect.number("significant_rise")
    rules = cite(
        pack,
        "intrathecal.titration.step",
        "intrathecal.titration.interval",
        "intrathecal.pump.rate",
    )
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
                    cite(pack, "intrathecal.titration.no-effect"),
                    noeffect.text("review_instructions"),
                    "",
                    asks=cite(pack, "intrathecal.titration.no-effect"),
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
    """`intrathecal.maintenance.goal`: titration is declared over only after the dose has been
    observed for ``observe_intervals`` intervals since the last planned change; with no increase
    planned, a review at the first instant an increase is allowed comes first
    (docs/decisions.md)."""
    goal = pack.role("intrathecal.maintenance.goal")
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
                cite(
                    pack,
                    "intrathecal.maintenance.goal",
                    "intrathecal.titration.step",
                    "intrathecal.titration.interval",
                ),
                goal.phrase("at_target_instructions", limit=format_percent(limit, 0)),
                "",
            )
        )
        settled = course.first_increase + days(observe)
    steps.append(
        Step(
            ItStable(settled),
            cite(pack, "intrathecal.maintenance.goal", "intrathecal.mode.complex"),
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
                cite(pack, "intrathecal.implant.centre", "intrathecal.monitoring.implant"),
                pack.role("intrathecal.implant.centre").text("implant"),
                "",
            )
        )
    if not ctx.refills:
        pump = ctx.patient.pump
        refill = pack.role("intrathecal.pump.refill")
        if pump is None or pump.reservoir is None:
            notes.append(
                note(
                    pack,
                    refill.id,
                    Severity.INFO,
                    refill.text("first_fill_unknown"),
                )
            )
        elif pump.reservoir <= alarm_volume(pack, None, pump):
            told = {
                "alarm": alarm_volume(pack, None, pump).text(),
                "reservoir": pump.reservoir.text(),
            }
            notes.append(
                note(
                    pack,
                    refill.id,
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
    """`intrathecal.oral-wean`: oral baclofen reduced by the step the pack chooses, to a stop."""
    active = ctx.oral_active
    if active is None:
        return []
    wean = pack.role("intrathecal.oral-wean")
    step = _pick(wean.fraction_range("step"), _end(wean, "plan_end"))
    reductions = math.ceil(1 / step) - 1
    interval = pack.role("oral.titration").quantity("min_interval")
    times = active.times or clock_times(pack, active.times_per_day)
    kind = active.form or "tablet"
    levels = _taper_levels(pack, active.daily_dose, reductions, len(times), kind) or _taper_levels(
        pack, active.daily_dose, reductions, len(times), "solution"
    )
    if levels is None:
        return []
    first = req.start + days(pack.role("intrathecal.titration.hold").quantity("hold"))
    condition = wean.phrase("condition", within=wean.quantity("reassess_within").text())
    steps = []
    for i, doses in enumerate(levels):
        dose_times = times if len(doses) == len(times) else clock_times(pack, len(doses))
        form = choose_form(pack, kind, doses)
        event = OralRegimen(first + days(interval) * i, doses, dose_times, form.kind, form.strength)
        steps.append(
            Step(
                event,
                cite(pack, "intrathecal.oral-wean", "stop.gradual", "oral.meals"),
                _instruction(pack, form, doses, dose_times, False),
                condition,
            )
        )
    steps.append(
        Step(
            OralStop(first + days(interval) * len(levels)),
            cite(pack, "intrathecal.oral-wean", "stop.gradual"),
            wean.text("stop"),
            wean.text("stop_condition"),
        )
    )
    return steps


# -- flex -----------------------------------------------------------------------------------


def it_flex(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)  # the night rate raises the daily dose
    rule = pack.role("intrathecal.mode.complex")
    active = ctx.infusion_active
    if active is None:
        refuse(
            pack,
            rule.id,
            rule.text("no_infusion"),
            Severity.WARNING,
        )
    if not ctx.maintenance:
        refuse(
            pack,
            rule.id,
            rule.text("before_stable"),
            Severity.WARNING,
        )
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        refuse(
            pack,
            rule.id,
            rule.text("not_programmable"),
            Severity.WARNING,
        )
    assert req.goal.night_onset is not None
    base = min(s.daily_rate for s in active.schedule) if active.schedule else active.daily_dose
    high = base * (1 + rule.number("night_increase"))
    rise_at = minus(req.goal.night_onset, rule.quantity("lead_time"))
    night_end = req.goal.night_end or rule.code("default_night_end")
    if rise_at == night_end:
        refuse(pack, rule.id, rule.text("whole_day"), Severity.WARNING)
    segments = sorted(
        [ScheduleSegment(night_end, base), ScheduleSegment(rise_at, high)], key=lambda s: s.start
    )
    schedule = tuple(segments)
    mean = schedule_mean(schedule).to(base.unit)
    interval = pack.role("intrathecal.titration.interval").quantity("programmable")
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
            cite(
                pack,
                "intrathecal.mode.complex",
                "intrathecal.pump.rate",
                "intrathecal.maintenance.step",
            ),
            text,
            "",
        )
    ]
    return steps, []


# -- tapers ---------------------------------------------------------------------------------


def _taper(ctx: Context, pack: Pack, req: PlanRequest) -> tuple[list[Step], ItStop]:
    tolerance = pack.role("intrathecal.tolerance")
    active = ctx.infusion_active
    if active is None:
        refuse(
            pack, pack.role("stop.gradual").id, tolerance.text("nothing_to_taper"), Severity.INFO
        )
    reduce = pack.role("intrathecal.side-effect-reduction").fraction_range("reduction")
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
                cite(
                    pack,
                    "stop.gradual",
                    "intrathecal.tolerance",
                    "intrathecal.side-effect-reduction",
                    "intrathecal.pump.rate",
                ),
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
    signs = pack.role("intrathecal.withdrawal")
    steps.append(
        Step(
            stop,
            cite(pack, "stop.gradual", "intrathecal.withdrawal"),
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
    tolerance = pack.role("intrathecal.tolerance")
    alternative = tolerance.text("alternative")
    steps.append(
        Step(
            Review(stop.at, tolerance.phrase("switch", alternative=alternative)),
            cite(pack, "intrathecal.tolerance"),
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
            cite(
                pack, "intrathecal.tolerance", "intrathecal.titration.hold", "intrathecal.pump.rate"
            ),
            tolerance.phrase(
                "resume", dose=first.daily_dose.text(), rate=hourly(pack, first.daily_dose)
            ),
            tolerance.text("resume_condition"),
        )
    )
    return steps, []
