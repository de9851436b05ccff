"""Rules for the intrathecal infusion: the start, the pace and size of changes, the ranges,
flex delivery, tolerance holidays and the patterns over time that point at the pump.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..knowledge.schema import Pack, Range
from ..model.events import ItInfusion, PumpImplant
from ..model.finding import Finding
from ..units import Quantity, format_number, format_percent
from .context import Context, ceil_fraction, duration_text, floor_to, since
from .kinds import judges
from .limits import ORIGINS, initial_infusion_dose, is_gradual, maintenance_ranges, step_limit
from .past import infusions_newest_first
from .per_pack import per_pack
from .spans import compare_span, reaches, surely_before


def _infusion(ctx: Context) -> ItInfusion | None:
    return ctx.proposal if isinstance(ctx.proposal, ItInfusion) else None


def _change(ctx: Context) -> tuple[ItInfusion, ItInfusion] | None:
    """The proposal and the infusion in force before it, when the proposal changes a dose."""
    infusion = _infusion(ctx)
    if infusion is None or ctx.infusion_active is None:
        return None
    return infusion, ctx.infusion_active


def _increase(ctx: Context) -> tuple[ItInfusion, ItInfusion] | None:
    change = _change(ctx)
    if change is None or change[0].daily_dose <= change[1].daily_dose:
        return None
    return change


@judges(ItInfusion, PumpImplant)
def it_screen_required(ctx: Context) -> Iterator[Finding]:
    """An infusion (or implant) with no prior infusion needs a responder in the history; a
    resumption after a stop does not screen again."""
    if not isinstance(ctx.proposal, (ItInfusion, PumpImplant)) or ctx.first_infusion is not None:
        return
    status = ctx.past.screening
    text = "infusion" if isinstance(ctx.proposal, ItInfusion) else "implant"
    if status.state == "non-responder":
        yield ctx.say("IT-SCREEN-NONRESPONDER", "infusion", f"infusion_{text}")
    elif status.state != "responder":
        yield ctx.say("IT-SCREEN-REQUIRED", "no_responder", f"no_responder_{text}")


@judges(ItInfusion)
def it_titr_start(ctx: Context) -> Iterator[Finding]:
    infusion = _infusion(ctx)
    if infusion is None or ctx.first_infusion is not None:
        return
    status = ctx.past.screening
    if status.responding is None:
        return
    expected, prolonged = initial_infusion_dose(status.responding, ctx.pack)
    if infusion.daily_dose != expected:
        rule = ctx.pack.rule("IT-TITR-START")
        yield ctx.say(
            "IT-TITR-START",
            "other",
            "other_prolonged" if prolonged else "other_doubled",
            daily=infusion.daily_dose.text(),
            expected=expected.text(),
            prolonged=rule.quantity("prolonged_effect").text(),
            factor=format_number(rule.number("factor")),
            bolus=status.responding.dose.to("ug").text(),
            period=rule.quantity("period").text(),
        )


def _holiday_ended(ctx: Context, gap: Quantity) -> bool:
    """True when the stop before this resumption was IT-TOLERANCE's planned holiday: a gradual
    stop (STOP-GRADUAL over the taper span), or a gap of at least ``resume_after``."""
    rule = ctx.pack.rule("IT-TOLERANCE")
    if gap >= rule.quantity("resume_after"):
        return True
    # the run of reductions that ended at the stop (the stop itself is the last event)
    taper = ctx.past.infusion_taper_before_last
    stop = ctx.infusion_stop
    min_reductions = ctx.pack.rule("STOP-GRADUAL").count("min_reductions")
    span = rule.range("taper_span").low
    return stop is not None and is_gradual(taper, stop.at, min_reductions, span)


@judges(ItInfusion)
def it_tolerance(ctx: Context) -> Iterator[Finding]:
    """A resumption after a planned holiday goes back to the first continuous infusion dose;
    a restart after an interruption (an abrupt stop, a short gap) is judged against the dose
    in force before the stop (IT-TOLERANCE's interruption reading)."""
    infusion = _infusion(ctx)
    first = ctx.first_infusion
    before = ctx.infusion_before_stop
    gap = ctx.infusion_gap()
    if infusion is None or first is None or before is None or gap is None:
        return
    rule = ctx.pack.rule("IT-TOLERANCE")
    stop = ctx.infusion_stop
    assert stop is not None
    values = {
        "daily": infusion.daily_dose.text(),
        "before": before.daily_dose.text(),
        "initial": first.daily_dose.text(),
        "gap": duration_text(stop.at, infusion.at),
        "early_signs": ", ".join(ctx.pack.rule("SUP-IT-WITHDRAWAL").code_list("early_signs")),
    }
    if _holiday_ended(ctx, gap):
        if infusion.daily_dose != first.daily_dose:
            above = infusion.daily_dose > first.daily_dose
            yield ctx.say(
                "IT-TOLERANCE",
                "resume_other",
                "resume_above" if above else "resume_below",
                **values,
            )
        return
    cut = ctx.pack.rule("IT-SIDE-EFFECT-REDUCE").fraction_range("reduction").high
    near = before.daily_dose * (1 - cut)
    values["near"] = floor_to(near, 1).text()
    if infusion.daily_dose > before.daily_dose:
        yield ctx.say("IT-TOLERANCE", "restart_above", **values)
    elif gap <= rule.quantity("interruption_max"):
        key = "restart_below" if infusion.daily_dose < near else "restart"
        yield ctx.say("IT-TOLERANCE", key, **values)
    else:
        key = "restart_after_gap" if infusion.daily_dose >= near else "restart_after_gap_lower"
        yield ctx.say("IT-TOLERANCE", key, **values)


@judges(ItInfusion)
def it_titr_hold24(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.course_start is None:
        return
    hold = ctx.pack.rule("IT-TITR-HOLD24").quantity("hold")
    if not reaches(ctx.course_start.at, change[0].at, hold):
        waited = since(ctx.course_start.at, change[0].at, hold)
        yield ctx.say(
            "IT-TITR-HOLD24",
            "too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            hold=hold.text(),
        )


@judges(ItInfusion)
def it_titr_interval(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.last_infusion_change is None or ctx.course_start is None:
        return
    rule = ctx.pack.rule("IT-TITR-INTERVAL")
    hold = ctx.pack.rule("IT-TITR-HOLD24").quantity("hold")
    if not reaches(ctx.course_start.at, change[0].at, hold):
        return  # IT-TITR-HOLD24 speaks for this increase
    pump = ctx.patient.pump
    programmable = pump.programmable if pump else None
    if programmable is None:
        yield ctx.say("IT-TITR-INTERVAL", "pump_unknown")
    key = "programmable" if programmable else "non_programmable"
    interval = rule.quantity(key)
    if not reaches(ctx.last_infusion_change.at, change[0].at, interval):
        waited = since(ctx.last_infusion_change.at, change[0].at, interval)
        yield ctx.say(
            "IT-TITR-INTERVAL",
            f"{key}_too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            interval=interval.text(),
        )


@judges(ItInfusion)
def it_step(ctx: Context) -> Iterator[Finding]:
    """IT-TITR-STEP during titration, IT-CHRONIC-STEP in maintenance."""
    change = _increase(ctx)
    if change is None:
        return
    new, old = change
    limit, rule_id = step_limit(ctx.pack, ctx.origin, ctx.maintenance)
    rise = new.daily_dose.ratio(old.daily_dose) - 1
    if rise > limit:
        origin = "origin_known" if ctx.origin else "origin_unknown"
        ceiling = old.daily_dose * (1 + limit)
        yield ctx.say(
            rule_id,
            "above",
            f"above_{origin}",
            rise=format_percent(ceil_fraction(rise)),
            before=old.daily_dose.text(),
            daily=new.daily_dose.text(),
            limit=format_percent(limit, 0),
            origin=ctx.origin or "",
            ceiling=floor_to(ceiling, 1).text(),
        )


@judges(ItInfusion)
def it_titr_noeffect(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.maintenance or ctx.course_start is None:
        return
    significant = ctx.pack.rule("IT-TITR-NOEFFECT").number("significant_rise")
    start = ctx.course_start.daily_dose
    if change[1].daily_dose.ratio(start) - 1 >= significant:
        yield ctx.say(
            "IT-TITR-NOEFFECT", "pattern", start=start.text(), daily=change[1].daily_dose.text()
        )


@judges(ItInfusion)
def it_escalation_alert(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or not ctx.maintenance:
        return
    rule = ctx.pack.rule("IT-ESCALATION-ALERT")
    window = rule.quantity("window")
    lowest = _lowest_since(ctx, change[0].at, window)
    if lowest is not None and change[0].daily_dose.ratio(lowest) - 1 >= rule.number("rise"):
        yield ctx.say(
            "IT-ESCALATION-ALERT",
            "pattern",
            lowest=lowest.text(),
            daily=change[0].daily_dose.text(),
            window=window.text(),
        )


def _lowest_since(ctx: Context, at: datetime, window: Quantity) -> Quantity | None:
    """The lowest daily dose in force within ``window`` before ``at`` (calendar days): the
    lowest dose set within the window, and the dose in force when it began (the last one set
    before it; a stop sets none).

    Walks the infusion timeline from the newest event back and stops past the window (with
    room for the events' UTC offsets, which move calendar days against elapsed time), so its
    cost is the events within the window, not the history. Ties keep the oldest dose, as a walk
    from the oldest would.
    """
    lowest: Quantity | None = None
    in_force: Quantity | None = None
    found_in_force = False
    surely_outside = surely_before(at, window)
    for event in infusions_newest_first(ctx.past.infusions):
        dose = event.daily_dose if isinstance(event, ItInfusion) else None
        if reaches(event.at, at, window):
            if not found_in_force:  # the newest event before the window
                in_force, found_in_force = dose, True
            if surely_outside is None or event.at <= surely_outside:
                break  # it and every older event are before the window
            continue
        if dose is not None and (lowest is None or dose <= lowest):
            lowest = dose
    if in_force is not None and (lowest is None or in_force < lowest):
        lowest = in_force
    return lowest


@judges(ItInfusion)
def it_side_effect_reduce(ctx: Context) -> Iterator[Finding]:
    change = _change(ctx)
    if change is None or change[0].daily_dose >= change[1].daily_dose:
        return
    limit = ctx.pack.rule("IT-SIDE-EFFECT-REDUCE").fraction_range("reduction").high
    cut = 1 - change[0].daily_dose.ratio(change[1].daily_dose)
    if cut > limit:
        yield ctx.say(
            "IT-SIDE-EFFECT-REDUCE",
            "too_large",
            cut=format_percent(ceil_fraction(cut)),
            limit=format_percent(limit, 0),
        )


@judges(ItInfusion, only_if=lambda facts, child: bool(facts.patient.tone_supports_function))
def it_function_caution(ctx: Context) -> Iterator[Finding]:
    if _increase(ctx) is not None and ctx.patient.tone_supports_function:
        yield ctx.say("IT-FUNCTION-CAUTION", "increase")


@judges(ItInfusion)
def it_ranges(ctx: Context) -> Iterator[Finding]:
    """IT-DAILY-RANGE, the adult maintenance ranges, the children's range, IT-HIGH-DOSE."""
    infusion = _infusion(ctx)
    if infusion is None:
        return
    daily = infusion.daily_dose
    pack = ctx.pack
    child = ctx.is_child
    origin = ctx.origin if ctx.origin in ORIGINS else None  # any other reads as unknown
    ranges = [] if child else _maintenance_ranges(pack)[origin]
    broken = [(rid, r) for rid, r in ranges if daily not in r]
    page_range = pack.rule("IT-DAILY-RANGE").range("daily")
    if daily not in page_range:
        covered = bool(ranges) and not broken
        yield ctx.say(
            "IT-DAILY-RANGE",
            "within_maintenance" if covered else "outside",
            daily=daily.text(),
            range=page_range.text(),
        )
    for rule_id, r in broken:
        yield ctx.say(rule_id, "outside", daily=daily.text(), range=r.text())
    yield from _paediatric_range(ctx, infusion)  # by IT-PAED-MAINT's own ages
    threshold = pack.rule("IT-HIGH-DOSE").quantity("threshold")
    if daily > threshold:
        yield ctx.say("IT-HIGH-DOSE", "above", daily=daily.text(), threshold=threshold.text())


@per_pack
def _maintenance_ranges(pack: Pack) -> dict[str | None, list[tuple[str, Range[Quantity]]]]:
    """:func:`~.limits.maintenance_ranges` for each origin and for an unknown one (never
    changed by a reader)."""
    return {origin: maintenance_ranges(pack, origin) for origin in (*ORIGINS, None)}


def _paediatric_range(ctx: Context, infusion: ItInfusion) -> Iterator[Finding]:
    rule = ctx.pack.rule("IT-PAED-MAINT")
    if ctx.age_quantity is None or ctx.age_quantity not in rule.range("ages"):
        return
    first = ctx.first_infusion or infusion
    year = rule.quantity("first_year")
    if compare_span(first.at, infusion.at, year) > 0:
        return
    initial = rule.range("initial")
    if infusion.daily_dose not in initial:
        yield ctx.say(
            "IT-PAED-MAINT",
            "outside",
            daily=infusion.daily_dose.text(),
            range=initial.text(),
            median=rule.quantity("median").text(),
        )


@judges(ItInfusion)
def it_mode_complex(ctx: Context) -> Iterator[Finding]:
    infusion = _infusion(ctx)
    if infusion is None or infusion.schedule is None:
        return
    if len({s.daily_rate for s in infusion.schedule}) < 2:
        return
    if not ctx.maintenance:
        yield ctx.say("IT-MODE-COMPLEX", "before_stable")
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        known = pump is not None and pump.programmable is False
        yield ctx.say(
            "IT-MODE-COMPLEX",
            "not_programmable",
            "not_programmable" if known else "programmable_unknown",
        )


@judges(ItInfusion, PumpImplant, only_if=lambda facts, child: bool(facts.patient.conditions))
def it_implant_centre(ctx: Context) -> Iterator[Finding]:
    starting = isinstance(ctx.proposal, PumpImplant) or (
        isinstance(ctx.proposal, ItInfusion) and ctx.infusion_active is None
    )
    if starting and ctx.patient.conditions & _implant_infections(ctx.pack):
        yield ctx.say("IT-IMPLANT-CENTRE", "infection")


@per_pack
def _implant_infections(pack: Pack) -> frozenset[str]:
    return frozenset(pack.rule("IT-IMPLANT-CENTRE").code_list("conditions"))


CHECKS = (
    it_screen_required,
    it_titr_start,
    it_tolerance,
    it_titr_hold24,
    it_titr_interval,
    it_step,
    it_titr_noeffect,
    it_escalation_alert,
    it_side_effect_reduce,
    it_function_caution,
    it_ranges,
    it_mode_complex,
    it_implant_centre,
)
