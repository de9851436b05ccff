"""Kinds of infusion rules: the start, the pace and size of changes, the ranges, flex
delivery, tolerance holidays and the patterns over time that point at the pump.

Each kind reads its numbers, codes and words from the rule it is given; where it needs another
rule's values (the hold after a start, the signs of withdrawal) it asks the pack for the rule in
that role, and does without when the medicine has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction

from ..errors import PackError
from ..knowledge.schema import Pack, Range, Rule
from ..model.events import ItInfusion, PumpImplant
from ..model.finding import Finding
from ..units import Quantity, format_number, format_percent
from .context import Context, ceil_fraction, duration_text, floor_to, since
from .kinds import implements
from .limits import ORIGINS, initial_infusion_dose, is_gradual, maintenance_ranges, step_limit_of
from .past import infusions_newest_first
from .per_pack import per_pack, per_rule
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


@implements("required-earlier-event", ItInfusion, PumpImplant)
def required_earlier_event(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The first infusion (or an implant) with no responding test dose before it
    (``no_responder``, worded for each); a patient who had no effect at the highest test dose
    is the ladder ceiling's to name. A resumption after a stop does not screen again."""
    if not isinstance(ctx.proposal, (ItInfusion, PumpImplant)) or ctx.first_infusion is not None:
        return
    if ctx.past.screening.state not in ("responder", "non-responder"):
        text = "infusion" if isinstance(ctx.proposal, ItInfusion) else "implant"
        yield ctx.say(rule, "no_responder", f"no_responder_{text}")


@implements("start-from-test-dose", ItInfusion)
def start_from_test_dose(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The first infusion at a daily dose other than ``factor`` times the responding test
    dose over ``period`` (``prolonged_factor`` when its effect outlasted ``prolonged_effect``)
    (``other``)."""
    infusion = _infusion(ctx)
    if infusion is None or ctx.first_infusion is not None:
        return
    status = ctx.past.screening
    if status.responding is None:
        return
    expected, prolonged = initial_infusion_dose(status.responding, ctx.pack, rule)
    if infusion.daily_dose != expected:
        yield ctx.say(
            rule,
            "other",
            "other_prolonged" if prolonged else "other_doubled",
            daily=infusion.daily_dose.text(),
            expected=expected.text(),
            prolonged=rule.quantity("prolonged_effect").text(),
            factor=format_number(rule.number("factor")),
            bolus=status.responding.dose.to("ug").text(),
            period=rule.quantity("period").text(),
        )


def _holiday_ended(ctx: Context, rule: Rule, gap: Quantity) -> bool:
    """True when the stop before this resumption was the planned holiday: a gradual stop (the
    gradual stop's ``min_reductions``, role ``stop.gradual``, over ``taper_span``), or a gap of
    at least ``resume_after``."""
    if gap >= rule.quantity("resume_after"):
        return True
    if not ctx.pack.has_role("stop.gradual"):
        return False
    # the run of reductions that ended at the stop (the stop itself is the last event)
    taper = ctx.past.infusion_taper_before_last
    stop = ctx.infusion_stop
    min_reductions = ctx.pack.role("stop.gradual").count("min_reductions")
    span = rule.range("taper_span").low
    return stop is not None and is_gradual(taper, stop.at, min_reductions, span)


@per_pack
def _early_signs(pack: Pack) -> str:
    """The early signs of withdrawal (role ``intrathecal.withdrawal``), "" without one."""
    if not pack.has_role("intrathecal.withdrawal"):
        return ""
    return ", ".join(pack.role("intrathecal.withdrawal").code_list("early_signs"))


@per_pack
def _largest_cut(pack: Pack) -> Fraction:
    """The largest reduction for side effects (role ``intrathecal.side-effect-reduction``),
    0 without one."""
    if not pack.has_role("intrathecal.side-effect-reduction"):
        return Fraction(0)
    return pack.role("intrathecal.side-effect-reduction").fraction_range("reduction").high


@implements("tolerance-holiday", ItInfusion)
def tolerance_holiday(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A resumption after a planned holiday goes back to the first continuous infusion dose
    (``resume_other``); a restart after an interruption (an abrupt stop, a gap shorter than
    ``resume_after``) is judged against the dose in force before the stop (``restart``,
    ``restart_above``, ``restart_below``, ``restart_after_gap``, ``restart_after_gap_lower``
    by ``interruption_max``)."""
    infusion = _infusion(ctx)
    first = ctx.first_infusion
    before = ctx.infusion_before_stop
    gap = ctx.infusion_gap(rule.quantity("interruption_max"))
    if infusion is None or first is None or before is None or gap is None:
        return
    stop = ctx.infusion_stop
    assert stop is not None
    values = {
        "daily": infusion.daily_dose.text(),
        "before": before.daily_dose.text(),
        "initial": first.daily_dose.text(),
        "gap": duration_text(stop.at, infusion.at),
        "early_signs": _early_signs(ctx.pack),
    }
    if _holiday_ended(ctx, rule, gap):
        if infusion.daily_dose != first.daily_dose:
            above = infusion.daily_dose > first.daily_dose
            yield ctx.say(
                rule,
                "resume_other",
                "resume_above" if above else "resume_below",
                **values,
            )
        return
    near = before.daily_dose * (1 - _largest_cut(ctx.pack))
    values["near"] = floor_to(near, 1).text()
    if infusion.daily_dose > before.daily_dose:
        yield ctx.say(rule, "restart_above", **values)
    elif gap <= rule.quantity("interruption_max"):
        key = "restart_below" if infusion.daily_dose < near else "restart"
        yield ctx.say(rule, key, **values)
    else:
        key = "restart_after_gap" if infusion.daily_dose >= near else "restart_after_gap_lower"
        yield ctx.say(rule, key, **values)


@implements("hold-after-start", ItInfusion)
def hold_after_start(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An increase sooner than ``hold`` after the course began (``too_soon``)."""
    change = _increase(ctx)
    if change is None or ctx.course_start is None:
        return
    hold = rule.quantity("hold")
    if not reaches(ctx.course_start.at, change[0].at, hold):
        waited = since(ctx.course_start.at, change[0].at, hold)
        yield ctx.say(
            rule,
            "too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            hold=hold.text(),
        )


@per_pack
def _hold(pack: Pack) -> Quantity | None:
    """The hold after a start (role ``intrathecal.titration.hold``), None without one."""
    if not pack.has_role("intrathecal.titration.hold"):
        return None
    return pack.role("intrathecal.titration.hold").quantity("hold")


@implements("step-interval", ItInfusion)
def step_interval(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An increase sooner after the last change than the interval of the patient's pump
    (``programmable`` or ``non_programmable``: ``<pump>_too_soon``; the pump not known:
    ``pump_unknown``, judged as a fixed-rate pump). An increase within the hold after a start
    is the hold's to judge."""
    change = _increase(ctx)
    if change is None or ctx.last_infusion_change is None or ctx.course_start is None:
        return
    hold = _hold(ctx.pack)
    if hold is not None and not reaches(ctx.course_start.at, change[0].at, hold):
        return  # the hold after a start speaks for this increase
    pump = ctx.patient.pump
    programmable = pump.programmable if pump else None
    if programmable is None:
        yield ctx.say(rule, "pump_unknown")
    key = "programmable" if programmable else "non_programmable"
    interval = rule.quantity(key)
    if not reaches(ctx.last_infusion_change.at, change[0].at, interval):
        waited = since(ctx.last_infusion_change.at, change[0].at, interval)
        yield ctx.say(
            rule,
            f"{key}_too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            interval=interval.text(),
        )


PHASES = ("titration", "maintenance")
"""The phases of an infusion course: titration until declared stable, maintenance after."""


def _in_phase(ctx: Context, rule: Rule) -> bool:
    """True when the course is in the rule's ``phase`` (a code: titration or maintenance)."""
    phase = rule.code("phase")
    if phase not in PHASES:
        raise PackError(rule.file, rule.id, "codes.phase", f"must be one of {', '.join(PHASES)}")
    return ctx.maintenance == (phase == "maintenance")


@implements("percent-step-limit", ItInfusion)
def percent_step_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """In the rule's ``phase``, an increase above the top of the origin's range of steps (a
    fraction of the previous daily dose; the smaller of the origins' when the origin is not
    known) (``above``, worded for a known or an unknown origin)."""
    change = _increase(ctx)
    if change is None or not _in_phase(ctx, rule):
        return
    new, old = change
    limit = step_limit_of(rule, ctx.origin)
    rise = new.daily_dose.ratio(old.daily_dose) - 1
    if rise > limit:
        origin = "origin_known" if ctx.origin else "origin_unknown"
        ceiling = old.daily_dose * (1 + limit)
        yield ctx.say(
            rule,
            "above",
            f"above_{origin}",
            rise=format_percent(ceil_fraction(rise)),
            before=old.daily_dose.text(),
            daily=new.daily_dose.text(),
            limit=format_percent(limit, 0),
            origin=ctx.origin or "",
            ceiling=floor_to(ceiling, 1).text(),
        )


@implements("no-effect-pattern", ItInfusion)
def no_effect_pattern(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """During titration, a further increase once the dose in force is ``significant_rise``
    above the course's start (``pattern``)."""
    change = _increase(ctx)
    if change is None or ctx.maintenance or ctx.course_start is None:
        return
    significant = rule.number("significant_rise")
    start = ctx.course_start.daily_dose
    if change[1].daily_dose.ratio(start) - 1 >= significant:
        yield ctx.say(rule, "pattern", start=start.text(), daily=change[1].daily_dose.text())


@implements("escalation-pattern", ItInfusion)
def escalation_pattern(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """In maintenance, an increase to ``rise`` or more above the lowest daily dose in force
    within ``window`` (``pattern``)."""
    change = _increase(ctx)
    if change is None or not ctx.maintenance:
        return
    window = rule.quantity("window")
    lowest = _lowest_since(ctx, change[0].at, window)
    if lowest is not None and change[0].daily_dose.ratio(lowest) - 1 >= rule.number("rise"):
        yield ctx.say(
            rule,
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


@implements("reduction-limit", ItInfusion)
def reduction_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A cut of the daily dose larger than the top of ``reduction`` (``too_large``)."""
    change = _change(ctx)
    if change is None or change[0].daily_dose >= change[1].daily_dose:
        return
    limit = rule.fraction_range("reduction").high
    cut = 1 - change[0].daily_dose.ratio(change[1].daily_dose)
    if cut > limit:
        yield ctx.say(
            rule,
            "too_large",
            cut=format_percent(ceil_fraction(cut)),
            limit=format_percent(limit, 0),
        )


@implements(
    "increase-caution",
    ItInfusion,
    only_if=lambda facts, child, rule: bool(facts.patient.tone_supports_function),
)
def increase_caution(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An increase for a patient whose tone supports function (``increase``)."""
    if _increase(ctx) is not None and ctx.patient.tone_supports_function:
        yield ctx.say(rule, "increase")


def _known_origin(ctx: Context) -> str | None:
    """The patient's origin, None for an unknown one (any other reads as unknown)."""
    return ctx.origin if ctx.origin in ORIGINS else None


@implements("infusion-range", ItInfusion)
def infusion_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose outside the ``daily`` range: ``within_maintenance`` when an adult's
    maintenance ranges for the origin (the rules in the roles
    ``intrathecal.maintenance.<origin>``) all hold it, else ``outside``."""
    infusion = _infusion(ctx)
    if infusion is None:
        return
    daily = infusion.daily_dose
    page_range = rule.range("daily")
    if daily not in page_range:
        ranges = [] if ctx.is_child else _maintenance_ranges(ctx.pack)[_known_origin(ctx)]
        covered = bool(ranges) and all(daily in r for _, r in ranges)
        yield ctx.say(
            rule,
            "within_maintenance" if covered else "outside",
            daily=daily.text(),
            range=page_range.text(),
        )


@per_pack
def _maintenance_ranges(pack: Pack) -> dict[str | None, list[tuple[str, Range[Quantity]]]]:
    """:func:`~.limits.maintenance_ranges` for each origin and for an unknown one (never
    changed by a reader)."""
    return {origin: maintenance_ranges(pack, origin) for origin in (*ORIGINS, None)}


@implements("maintenance-range", ItInfusion, only_if=lambda facts, child, rule: not child)
def maintenance_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An adult's daily dose outside the ``range`` of the rule's ``origin`` (``outside``),
    judged for a patient of that origin or of an unknown one."""
    infusion = _infusion(ctx)
    if infusion is None or ctx.is_child:
        return
    origin = _known_origin(ctx)
    if origin is not None and origin != rule.code("origin"):
        return
    r = rule.range("range")
    if infusion.daily_dose not in r:
        yield ctx.say(rule, "outside", daily=infusion.daily_dose.text(), range=r.text())


@implements("dose-threshold", ItInfusion)
def dose_threshold(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose above ``threshold`` (``above``)."""
    infusion = _infusion(ctx)
    if infusion is None:
        return
    threshold = rule.quantity("threshold")
    if infusion.daily_dose > threshold:
        yield ctx.say(rule, "above", daily=infusion.daily_dose.text(), threshold=threshold.text())


@implements("children-first-year-range", ItInfusion)
def children_first_year_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """For a patient within ``ages``, a daily dose within ``first_year`` of the first
    infusion outside the ``initial`` range (``outside``, with the ``median``)."""
    infusion = _infusion(ctx)
    if infusion is None:
        return
    if ctx.age_quantity is None or ctx.age_quantity not in rule.range("ages"):
        return
    first = ctx.first_infusion or infusion
    year = rule.quantity("first_year")
    if compare_span(first.at, infusion.at, year) > 0:
        return
    initial = rule.range("initial")
    if infusion.daily_dose not in initial:
        yield ctx.say(
            rule,
            "outside",
            daily=infusion.daily_dose.text(),
            range=initial.text(),
            median=rule.quantity("median").text(),
        )


@implements("flex-schedule", ItInfusion)
def flex_schedule(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An infusion whose schedule has more than one rate: before the dose is stable
    (``before_stable``), or on a pump not known to be programmable (``not_programmable``)."""
    infusion = _infusion(ctx)
    if infusion is None or infusion.schedule is None:
        return
    if len({s.daily_rate for s in infusion.schedule}) < 2:
        return
    if not ctx.maintenance:
        yield ctx.say(rule, "before_stable")
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        known = pump is not None and pump.programmable is False
        yield ctx.say(
            rule,
            "not_programmable",
            "not_programmable" if known else "programmable_unknown",
        )


@implements(
    "implant-condition",
    ItInfusion,
    PumpImplant,
    only_if=lambda facts, child, rule: bool(facts.patient.conditions),
)
def implant_condition(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An implant, or an infusion started while none runs, for a patient with one of the
    rule's ``conditions`` (``infection``)."""
    starting = isinstance(ctx.proposal, PumpImplant) or (
        isinstance(ctx.proposal, ItInfusion) and ctx.infusion_active is None
    )
    if starting and ctx.patient.conditions & _conditions(ctx.pack, rule):
        yield ctx.say(rule, "infection")


@per_rule
def _conditions(pack: Pack, rule: Rule) -> frozenset[str]:
    return frozenset(rule.code_list("conditions"))
