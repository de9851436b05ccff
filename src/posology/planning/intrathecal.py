"""Intrathecal plans: screening, titration after implantation, flex delivery, tapers, holidays."""

from __future__ import annotations

import math

from ..knowledge.schema import Pack, Severity
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
from ..rules.limits import initial_infusion_dose, programmed, screening_status, step_limit
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
            f"Intrathecal baclofen under {format_number(min_age.in_('a'))} years: safety and "
            "efficacy have not been established.",
        )


# -- screening ------------------------------------------------------------------------------


def it_screening(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    infections = set(pack.rule("IT-SCREEN-INFECTION").code_list("conditions"))
    if req.patient.conditions & infections:
        refuse(
            pack,
            "IT-SCREEN-INFECTION",
            "A systemic infection is recorded: screen once the patient is infection-free.",
        )
    status = screening_status(ctx.episode, pack)
    step = pack.rule("IT-SCREEN-STEP").quantity("step")
    interval = pack.rule("IT-SCREEN-STEP").quantity("min_interval")
    max_dose = pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose")
    if status.state == "responder":
        responding = status.responding
        assert responding is not None and responding.response is not None
        start, _prolonged = initial_infusion_dose(responding, pack)
        lasted = responding.response.duration
        summary = (
            f"Screening is complete: the patient responded to {responding.dose.to('ug').text()}"
            + (f" (effect for {lasted.text()})" if lasted else "")
            + f". The infusion would start at {start.text()} (plan it-titration)."
        )
        return [
            Step(Review(req.start, summary), ("IT-SCREEN-RESPONDER", "IT-TITR-START"), summary)
        ], []
    if status.state == "non-responder":
        refuse(
            pack,
            "IT-SCREEN-NONRESPONDER",
            f"No response at {max_dose.text()}: the patient is a non-responder, not a candidate "
            "for continuous intrathecal infusion; no further test doses.",
            Severity.WARNING,
        )
    if status.state == "pending":
        assert status.last is not None
        refuse(
            pack,
            "IT-SCREEN-STEP",
            f"The response to the {status.last.dose.to('ug').text()} test dose of "
            f"{status.last.at.isoformat(timespec='minutes')} is not recorded: record it, then "
            "plan the next step.",
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
    conclude = Review(
        last_dose.at + days(interval),
        "Conclude screening: responder (plan it-titration) or, with no response at "
        f"{max_dose.text()}, non-responder (no infusion).",
    )
    steps.append(
        Step(
            conclude,
            ("IT-SCREEN-RESPONDER", "IT-SCREEN-NONRESPONDER"),
            "Review the recorded responses with the team.",
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
        why = "a very small child" if small else "a patient who relies on spasticity for mobility"
        notes.append(
            note(
                pack,
                "SUP-IT-SCREEN-LOW",
                Severity.INFO,
                f"First test dose {low.quantity('first_dose').text()} for {why}.",
            )
        )
        return low.quantity("first_dose").to("ug")
    return usual


def _test_dose_step(
    ctx: Context, pack: Pack, event: ItTestDose, previous: Quantity | None, first: bool
) -> Step:
    conc = pack.rule("IT-SCREEN-CONC").quantity("concentration")
    volume = (event.dose / conc).to("mL")
    response = pack.rule("IT-SCREEN-STEP").range("response_duration")
    parts = [
        f"Give {event.dose.text()} intrathecally (catheter or lumbar puncture): draw "
        f"{volume.text(places=2)} of the {conc.text()} screening ampoule.",
        pack.rule("IT-SCREEN-SLOW").text("instruction"),
        "Monitor respiratory and cardiac function closely, in an equipped and staffed setting.",
        f"Record the response: a significant fall in tone and/or spasms, and how long it lasts "
        f"(a response of about {response.text()} is sought).",
    ]
    rules = ["IT-SCREEN-CONC", "IT-SCREEN-SLOW", "IT-SCREEN-STEP", "IT-MONITOR-IMPLANT"]
    if first:
        parts.insert(2, "First test dose: have resuscitative equipment at hand.")
        rules = ["IT-SCREEN-START", "IT-SCREEN-RESUS", *rules]
    risk = pack.rule("IT-MONITOR-RISK")
    if (ctx.patient.conditions & set(risk.code_list("risk_conditions"))) or (
        ctx.patient.medications & set(risk.code_list("risk_medications"))
    ):
        parts.append("Higher risk of respiratory depression: monitor with particular care.")
        rules.append("IT-MONITOR-RISK")
    condition = (
        ""
        if previous is None
        else (f"only if the {previous.text()} test dose gave no significant response")
    )
    if event.dose == pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose"):
        rules.append("IT-SCREEN-NONRESPONDER")
        parts.append(
            "No response at this dose: non-responder, no further test doses and no infusion."
        )
    return Step(event, tuple(rules), " ".join(parts), condition)


# -- titration ------------------------------------------------------------------------------


def default_target(ctx: Context, pack: Pack) -> Quantity:
    """The daily dose titration aims at unless the request says: children's median, the usual
    spinal range's low end, the cerebral mean at 12 months (the lower one when unknown)."""
    if ctx.is_child:
        return pack.rule("IT-PAED-MAINT").quantity("median")
    spinal = pack.rule("IT-MAINT-SPINAL").range("usual").low
    cerebral = pack.rule("IT-MAINT-CEREBRAL").quantity("mean_12_months")
    if ctx.origin == "spinal":
        return spinal
    if ctx.origin == "cerebral":
        return cerebral
    return min(spinal, cerebral)


def _interval(ctx: Context, pack: Pack, notes: list[Finding]) -> Quantity:
    rule = pack.rule("IT-TITR-INTERVAL")
    programmable = ctx.patient.pump.programmable if ctx.patient.pump else None
    if programmable is None:
        notes.append(
            note(
                pack,
                "IT-TITR-INTERVAL",
                Severity.WARNING,
                "The pump type is not recorded: increases are planned every "
                f"{rule.quantity('non_programmable').text()}, as for a non-programmable pump.",
            )
        )
    return rule.quantity("programmable" if programmable else "non_programmable")


def it_titration(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    _refuse_if_not_eligible(ctx, pack)
    notes: list[Finding] = []
    target = req.goal.target_daily_dose or default_target(ctx, pack)
    if ctx.is_child:
        initial = pack.rule("IT-PAED-MAINT").range("initial")
        if target not in initial:
            refuse(
                pack,
                "IT-PAED-MAINT",
                f"The target {target.text()} is outside the children's initial maintenance range "
                f"({initial.text()}).",
                Severity.WARNING,
            )
    if ctx.origin is None:
        notes.append(
            note(
                pack,
                "IND-ORIGIN",
                Severity.WARNING,
                "The origin of the spasticity is not known: the stricter steps are planned.",
            )
        )
    interval = _interval(ctx, pack, notes)
    hold = pack.rule("IT-TITR-HOLD24").quantity("hold")
    limit, _ = step_limit(pack, ctx.origin, maintenance=False)
    steps: list[Step] = []
    if ctx.infusion_active is not None:
        if ctx.maintenance:
            refuse(
                pack,
                "IT-CHRONIC-STEP",
                "The patient is already in maintenance (`it-stable`): "
                "change the dose step by step, not with a titration plan.",
                Severity.INFO,
            )
        current = ctx.infusion_active.daily_dose
        assert ctx.last_infusion_change is not None and ctx.course_start is not None
        at = max(
            req.start,
            ctx.last_infusion_change.at + days(interval),
            ctx.course_start.at + days(hold),
        )
    else:
        status = screening_status(ctx.test_doses, pack)
        if status.state == "non-responder":
            refuse(
                pack,
                "IT-SCREEN-NONRESPONDER",
                "Screening found no response: no continuous infusion for a non-responder.",
            )
        if status.responding is None:
            refuse(
                pack,
                "IT-SCREEN-REQUIRED",
                "No test dose with a response is recorded: screen first (plan it-screening).",
            )
        current, prolonged = initial_infusion_dose(status.responding, pack)
        steps += _implant_and_fill(ctx, pack, req, current, target, notes)
        how = (
            "the unchanged screening dose (prolonged effect)"
            if prolonged
            else "twice the responding bolus"
        )
        steps.append(
            Step(
                ItInfusion(req.start, current),
                ("IT-TITR-START", "IT-MODE-CONTINUOUS", "SUP-IT-RATE", "IT-TITR-HOLD24"),
                f"Start continuous infusion at {current.text()} ({hourly(pack, current)}), "
                f"{how} over 24 h. No increase in the first {hold.text()}.",
                "",
            )
        )
        at = req.start + days(hold)
    if target <= current:
        notes.append(
            note(
                pack,
                "IT-TITR-STEP",
                Severity.INFO,
                f"The infusion ({current.text()}) is already at or above the target "
                f"({target.text()}): no increase is planned.",
            )
        )
    rules = ("IT-TITR-STEP", "IT-TITR-INTERVAL", "SUP-IT-RATE")
    while current < target:
        nxt = min(programmed(pack, current * (1 + limit)), target)
        if nxt <= current:
            break
        steps.append(
            Step(
                ItInfusion(at, nxt),
                rules,
                f"Increase to {nxt.text()} ({hourly(pack, nxt)}), "
                f"+{format_percent(nxt.ratio(current) - 1)} (at most "
                f"{format_percent(limit, 0)} a step).",
                "if the previous dose was tolerated and more effect is needed",
            )
        )
        current = nxt
        at = at + days(interval)
    steps.append(
        Step(
            ItStable(at),
            ("IT-MAINT-GOAL", "IT-MODE-COMPLEX"),
            "Record that titration is over: the lowest dose with an adequate response, "
            "keeping some tone.",
            "when dose and function have settled (the clinician's judgement)",
        )
    )
    steps += _oral_wean(ctx, pack, req)
    steps.sort(key=lambda s: s.event.at)
    return steps, notes


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
                "Implant the pump in an experienced centre; monitor closely right after "
                "implantation, with resuscitation equipment available.",
                "",
            )
        )
    if not ctx.refills:
        pump = ctx.patient.pump
        if pump is None or pump.reservoir is None:
            notes.append(
                note(
                    pack,
                    "SUP-IT-REFILL",
                    Severity.INFO,
                    "The reservoir volume is not recorded (`pump.reservoir_ml`): fill the "
                    "pump as its manual says, then plan refills (it-refill).",
                )
            )
        else:
            alarm = pack.rule("SUP-IT-REFILL").quantity("alarm_volume")
            conc = choose_concentration(pack, target, pump.reservoir, alarm)
            fill = PumpRefill(req.start, conc, pump.reservoir, alarm)
            steps.append(fill_step(pack, fill, start))
    return steps


def _oral_wean(ctx: Context, pack: Pack, req: PlanRequest) -> list[Step]:
    """SUP-IT-ORAL-WEAN: oral baclofen reduced by the smallest step of its range, to a stop."""
    active = ctx.oral_active
    if active is None:
        return []
    wean = pack.rule("SUP-IT-ORAL-WEAN")
    reductions = math.ceil(1 / wean.fraction_range("step").low) - 1
    interval = pack.rule("PO-TITRATION").quantity("min_interval")
    times = active.times or clock_times(pack, active.times_per_day)
    kind = active.form or "tablet"
    levels = _taper_levels(pack, active.daily_dose, reductions, len(times), kind) or _taper_levels(
        pack, active.daily_dose, reductions, len(times), "solution"
    )
    if levels is None:
        return []
    first = req.start + days(pack.rule("IT-TITR-HOLD24").quantity("hold"))
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
                f"reassess within {wean.quantity('reassess_within').text()}; keep oral "
                "baclofen at hand during titration",
            )
        )
    steps.append(
        Step(
            OralStop(first + days(interval) * len(levels)),
            ("SUP-IT-ORAL-WEAN", "STOP-GRADUAL"),
            "Stop oral baclofen.",
            "if intrathecal therapy controls spasticity",
        )
    )
    return steps


# -- flex -----------------------------------------------------------------------------------


def it_flex(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    rule = pack.rule("IT-MODE-COMPLEX")
    active = ctx.infusion_active
    if active is None:
        refuse(pack, "IT-MODE-COMPLEX", "No intrathecal infusion is running.", Severity.WARNING)
    if not ctx.maintenance:
        refuse(
            pack,
            "IT-MODE-COMPLEX",
            "Flex delivery starts once the patient is stable: record `it-stable` first.",
            Severity.WARNING,
        )
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        refuse(
            pack,
            "IT-MODE-COMPLEX",
            "Flex delivery needs a programmable pump that allows it; this pump is not known to "
            "be programmable.",
            Severity.WARNING,
        )
    assert req.goal.night_onset is not None
    base = min(s.daily_rate for s in active.schedule) if active.schedule else active.daily_dose
    high = base * (1 + rule.number("night_increase"))
    rise_at = minus(req.goal.night_onset, rule.quantity("lead_time"))
    night_end = req.goal.night_end or rule.code("default_night_end")
    if rise_at == night_end:
        refuse(pack, "IT-MODE-COMPLEX", "The night window covers the whole day.", Severity.WARNING)
    segments = sorted(
        [ScheduleSegment(night_end, base), ScheduleSegment(rise_at, high)], key=lambda s: s.start
    )
    schedule = tuple(segments)
    mean = schedule_mean(schedule).to(base.unit)
    interval = pack.rule("IT-TITR-INTERVAL").quantity("programmable")
    at = req.start
    if ctx.last_infusion_change is not None:
        at = max(at, ctx.last_infusion_change.at + days(interval))
    text = (
        f"Program {base.text()} ({hourly(pack, base)}) from {night_end} and {high.text()} "
        f"({hourly(pack, high)}, +{format_percent(rule.number('night_increase'), 0)}) from "
        f"{rise_at}, {rule.quantity('lead_time').text()} before the night's onset at "
        f"{req.goal.night_onset}. New daily total: {mean.text(places=1)} (was "
        f"{active.daily_dose.text()})."
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
    active = ctx.infusion_active
    if active is None:
        refuse(
            pack,
            "STOP-GRADUAL",
            "No intrathecal infusion is running: nothing to taper.",
            Severity.INFO,
        )
    tolerance = pack.rule("IT-TOLERANCE")
    cut = pack.rule("IT-SIDE-EFFECT-REDUCE").fraction_range("reduction").high
    interval = tolerance.quantity("taper_interval")
    count = math.ceil(tolerance.range("taper_span").low.ratio(interval))
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
                f"Reduce to {nxt.text()} ({hourly(pack, nxt)}), "
                f"-{format_percent(1 - nxt.ratio(level))}.",
                "if withdrawal signs appear, return to the previous dose and contact the team",
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
            "Stop the intrathecal infusion. Watch for withdrawal: "
            f"{', '.join(signs.code_list('early_signs'))}; later "
            f"{', '.join(signs.code_list('advanced_signs'))}.",
            "only after the successive reductions above",
        )
    )
    return steps, stop


def it_taper(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    steps, _ = _taper(context_at_start(req, pack), pack, req)
    return steps, []


def it_tolerance_holiday(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = context_at_start(req, pack)
    steps, stop = _taper(ctx, pack, req)
    tolerance = pack.rule("IT-TOLERANCE")
    alternative = tolerance.text("alternative")
    steps.append(
        Step(
            Review(stop.at, f"Switch to another method of spasticity management: {alternative}."),
            ("IT-TOLERANCE",),
            "The plan names the alternative; it does not dose it. Take care when switching "
            "from baclofen to morphine and back.",
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
            f"Resume intrathecal baclofen at the initial continuous infusion dose, "
            f"{first.daily_dose.text()} ({hourly(pack, first.daily_dose)}); titrate again "
            "from there.",
            "when the clinician decides to resume, with caution when switching back",
        )
    )
    return steps, []
