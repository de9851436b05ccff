"""Rules for the intrathecal infusion: the start, the pace and size of changes, the ranges,
flex delivery, tolerance holidays and the patterns over time that point at the pump.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ..model.events import ItInfusion, PumpImplant
from ..model.finding import Finding
from ..units import Quantity, format_number, format_percent
from .context import Context, hours_between
from .limits import initial_infusion_dose, maintenance_ranges, screening_status, step_limit


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


def it_screen_required(ctx: Context) -> Iterator[Finding]:
    """An infusion (or implant) with no prior infusion needs a responder in the history."""
    if not isinstance(ctx.proposal, (ItInfusion, PumpImplant)) or ctx.first_infusion is not None:
        return
    status = screening_status(ctx.test_doses, ctx.pack)
    what = "an infusion" if isinstance(ctx.proposal, ItInfusion) else "a pump implant"
    if status.state == "non-responder":
        yield ctx.finding(
            "IT-SCREEN-NONRESPONDER",
            "infusion",
            f"Screening found no response up to the highest test dose: {what} is not "
            "indicated for a non-responder.",
        )
    elif status.state != "responder":
        yield ctx.finding(
            "IT-SCREEN-REQUIRED",
            "no_responder",
            f"No test dose with a recorded response is in the history: {what} needs a "
            "screening that showed a response first.",
        )


def it_titr_start(ctx: Context) -> Iterator[Finding]:
    infusion = _infusion(ctx)
    if infusion is None or ctx.first_infusion is not None:
        return
    status = screening_status(ctx.test_doses, ctx.pack)
    if status.responding is None:
        return
    expected, prolonged = initial_infusion_dose(status.responding, ctx.pack)
    if infusion.daily_dose != expected:
        rule = ctx.pack.rule("IT-TITR-START")
        if prolonged:
            how = (
                "the unchanged screening dose, as its effect lasted more than "
                f"{rule.quantity('prolonged_effect').text()}"
            )
        else:
            how = f"{format_number(rule.number('factor'))} times the responding bolus"
        yield ctx.finding(
            "IT-TITR-START",
            "other",
            f"The infusion starts at {infusion.daily_dose.text()}; the usual start is "
            f"{expected.text()}: {how} ({status.responding.dose.to('ug').text()}) over "
            f"{rule.quantity('period').text()}.",
        )


def it_tolerance(ctx: Context) -> Iterator[Finding]:
    """A resumption after a stop goes back to the first continuous infusion dose."""
    infusion = _infusion(ctx)
    first = ctx.first_infusion
    if infusion is None or first is None or ctx.infusion_active is not None:
        return
    if infusion.daily_dose != first.daily_dose:
        direction = "above" if infusion.daily_dose > first.daily_dose else "below"
        yield ctx.finding(
            "IT-TOLERANCE",
            "resume_other",
            f"Intrathecal baclofen resumes at {infusion.daily_dose.text()}, {direction} the "
            f"initial continuous infusion dose of {first.daily_dose.text()}; resume at that dose.",
        )


def it_titr_hold24(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.course_start is None:
        return
    hold = ctx.pack.rule("IT-TITR-HOLD24").quantity("hold")
    hours = hours_between(ctx.course_start.at, change[0].at)
    if hours < hold.in_("h"):
        yield ctx.finding(
            "IT-TITR-HOLD24",
            "too_soon",
            f"An increase {Quantity.of(hours, 'h').text(places=1)} after the infusion started; "
            f"no increase in the first {hold.text()}.",
        )


def it_titr_interval(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.last_infusion_change is None or ctx.course_start is None:
        return
    rule = ctx.pack.rule("IT-TITR-INTERVAL")
    hold = ctx.pack.rule("IT-TITR-HOLD24").quantity("hold")
    if hours_between(ctx.course_start.at, change[0].at) < hold.in_("h"):
        return  # IT-TITR-HOLD24 speaks for this increase
    pump = ctx.patient.pump
    programmable = pump.programmable if pump else None
    if programmable is None:
        yield ctx.finding(
            "IT-TITR-INTERVAL",
            "pump_unknown",
            "The pump type is not recorded (`pump.programmable`): the longer interval of a "
            "non-programmable pump was applied.",
        )
    key = "programmable" if programmable else "non_programmable"
    interval = rule.quantity(key)
    hours = hours_between(ctx.last_infusion_change.at, change[0].at)
    if hours < interval.in_("h"):
        pump_name = "programmable" if programmable else "non-programmable (or unknown)"
        yield ctx.finding(
            "IT-TITR-INTERVAL",
            f"{key}_too_soon",
            f"This increase comes {Quantity.of(hours, 'h').text(places=1)} after the last "
            f"change; with a {pump_name} pump leave at least {interval.text()}.",
        )


def it_step(ctx: Context) -> Iterator[Finding]:
    """IT-TITR-STEP during titration, IT-CHRONIC-STEP in maintenance."""
    change = _increase(ctx)
    if change is None:
        return
    new, old = change
    limit, rule_id = step_limit(ctx.pack, ctx.origin, ctx.maintenance)
    rise = new.daily_dose.ratio(old.daily_dose) - 1
    if rise > limit:
        phase = "maintenance" if ctx.maintenance else "titration"
        origin = ctx.origin or "unknown (the stricter limit)"
        ceiling = old.daily_dose * (1 + limit)
        yield ctx.finding(
            rule_id,
            "above",
            f"A rise of {format_percent(rise)} (from {old.daily_dose.text()} to "
            f"{new.daily_dose.text()}) is above the {format_percent(limit, 0)} allowed in "
            f"{phase} for {origin} origin: at most {ceiling.text(places=1)}.",
        )


def it_titr_noeffect(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or ctx.maintenance or ctx.course_start is None:
        return
    significant = ctx.pack.rule("IT-TITR-NOEFFECT").number("significant_rise")
    start = ctx.course_start.daily_dose
    if change[1].daily_dose.ratio(start) - 1 >= significant:
        yield ctx.finding(
            "IT-TITR-NOEFFECT",
            "pattern",
            f"The daily dose has already risen from {start.text()} to "
            f"{change[1].daily_dose.text()}: if these increases had no clear effect, check pump "
            "function and catheter patency before increasing further.",
        )


def it_escalation_alert(ctx: Context) -> Iterator[Finding]:
    change = _increase(ctx)
    if change is None or not ctx.maintenance:
        return
    rule = ctx.pack.rule("IT-ESCALATION-ALERT")
    window = rule.quantity("window")
    since = change[0].at - timedelta(hours=float(window.in_("h")))
    lowest = _lowest_since(ctx, since)
    if lowest is not None and change[0].daily_dose.ratio(lowest) - 1 >= rule.number("rise"):
        yield ctx.finding(
            "IT-ESCALATION-ALERT",
            "pattern",
            f"The daily dose would rise from {lowest.text()} to {change[0].daily_dose.text()} "
            f"within {window.text()}: a sudden need for substantial escalation suggests a "
            "catheter complication (kink, dislodgement) or pump malfunction.",
        )


def _lowest_since(ctx: Context, since: datetime) -> Quantity | None:
    lowest: Quantity | None = None
    in_force: Quantity | None = None
    for event in ctx.infusion_events:
        dose = event.daily_dose if isinstance(event, ItInfusion) else None
        if event.at <= since:
            in_force = dose
            continue
        if dose is not None and (lowest is None or dose < lowest):
            lowest = dose
    if in_force is not None and (lowest is None or in_force < lowest):
        lowest = in_force
    return lowest


def it_side_effect_reduce(ctx: Context) -> Iterator[Finding]:
    change = _change(ctx)
    if change is None or change[0].daily_dose >= change[1].daily_dose:
        return
    limit = ctx.pack.rule("IT-SIDE-EFFECT-REDUCE").fraction_range("reduction").high
    cut = 1 - change[0].daily_dose.ratio(change[1].daily_dose)
    if cut > limit:
        yield ctx.finding(
            "IT-SIDE-EFFECT-REDUCE",
            "too_large",
            f"A single reduction of {format_percent(cut)} (more than "
            f"{format_percent(limit, 0)}) risks withdrawal: reduce in smaller steps.",
        )


def it_function_caution(ctx: Context) -> Iterator[Finding]:
    if _increase(ctx) is not None and ctx.patient.tone_supports_function:
        yield ctx.finding(
            "IT-FUNCTION-CAUTION",
            "increase",
            "The patient relies on some tone for function: increase with caution to avoid "
            "excessive weakness.",
        )


def it_ranges(ctx: Context) -> Iterator[Finding]:
    """IT-DAILY-RANGE, the adult maintenance ranges, the children's range, IT-HIGH-DOSE."""
    infusion = _infusion(ctx)
    if infusion is None:
        return
    daily = infusion.daily_dose
    pack = ctx.pack
    child = ctx.is_child
    ranges = [] if child else maintenance_ranges(pack, ctx.origin)
    broken = [(rid, r) for rid, r in ranges if daily not in r]
    page_range = pack.rule("IT-DAILY-RANGE").range("daily")
    if daily not in page_range:
        covered = bool(ranges) and not broken
        yield ctx.finding(
            "IT-DAILY-RANGE",
            "within_maintenance" if covered else "outside",
            f"{daily.text()} is outside the page's daily range ({page_range.text()})"
            + ("; it is within the maintenance range of this origin." if covered else "."),
        )
    for rule_id, r in broken:
        yield ctx.finding(
            rule_id,
            "outside",
            f"{daily.text()} is outside the maintenance range found for this origin ({r.text()}).",
        )
    if child:
        yield from _paediatric_range(ctx, infusion)
    threshold = pack.rule("IT-HIGH-DOSE").quantity("threshold")
    if daily > threshold:
        yield ctx.finding(
            "IT-HIGH-DOSE",
            "above",
            f"{daily.text()} is above {threshold.text()}, where clinical experience is limited.",
        )


def _paediatric_range(ctx: Context, infusion: ItInfusion) -> Iterator[Finding]:
    rule = ctx.pack.rule("IT-PAED-MAINT")
    if ctx.age_quantity is None or ctx.age_quantity not in rule.range("ages"):
        return
    first = ctx.first_infusion or infusion
    year = rule.quantity("first_year")
    if hours_between(first.at, infusion.at) > year.in_("h"):
        return
    initial = rule.range("initial")
    if infusion.daily_dose not in initial:
        yield ctx.finding(
            "IT-PAED-MAINT",
            "outside",
            f"{infusion.daily_dose.text()} is outside the children's initial maintenance range "
            f"({initial.text()}, median {rule.quantity('median').text()}) in the first year.",
        )


def it_mode_complex(ctx: Context) -> Iterator[Finding]:
    infusion = _infusion(ctx)
    if infusion is None or infusion.schedule is None:
        return
    if len({s.daily_rate for s in infusion.schedule}) < 2:
        return
    if not ctx.maintenance:
        yield ctx.finding(
            "IT-MODE-COMPLEX",
            "before_stable",
            "A flex schedule before the patient is recorded as stable (`it-stable`): complex "
            "delivery starts once daily dose and function have settled.",
        )
    pump = ctx.patient.pump
    if pump is None or pump.programmable is not True:
        known = pump is not None and pump.programmable is False
        state = "not programmable" if known else "not known to be programmable"
        yield ctx.finding(
            "IT-MODE-COMPLEX",
            "not_programmable",
            f"A flex schedule needs a pump that allows it; this pump is {state}.",
        )


def it_implant_centre(ctx: Context) -> Iterator[Finding]:
    starting = isinstance(ctx.proposal, PumpImplant) or (
        isinstance(ctx.proposal, ItInfusion) and ctx.infusion_active is None
    )
    infections = set(ctx.pack.rule("IT-IMPLANT-CENTRE").code_list("conditions"))
    if starting and ctx.patient.conditions & infections:
        yield ctx.finding(
            "IT-IMPLANT-CENTRE",
            "infection",
            "A systemic infection is recorded: it raises the risk of surgical complications and "
            "complicates dose adjustment.",
        )


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
