"""Limits computed from the pack, shared by the checker and the planner.

Each function answers one clinical question (the largest allowed step for this origin and
phase, the initial infusion dose after this screening, the reduced oral target for this kidney
function, what is left in the reservoir now) from the pack's numbers, so the planner builds
with exactly the limits the checker judges by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction

from ..errors import PackError
from ..frozen import record
from ..knowledge.schema import Pack, Range, Rule
from ..model.events import ItInfusion, ItStop, ItTestDose, PumpRefill
from ..model.patient import Pump
from ..units import Quantity
from .spans import hours_between, reaches

ORIGINS = ("spinal", "cerebral")


# -- origin ---------------------------------------------------------------------------------


def _step_role(maintenance: bool) -> str:
    """The role of the step limit of a phase."""
    return "intrathecal.maintenance.step" if maintenance else "intrathecal.titration.step"


def step_limit_of(rule: Rule, origin: str | None) -> Fraction:
    """The largest increase a step-limit rule allows for an origin, as a fraction of the
    previous daily dose: the top of the origin's range, the smaller of the origins' when the
    origin is unknown."""
    names = (origin,) if origin in ORIGINS else ORIGINS
    return min(rule.fraction_range(name).high for name in names)


def step_limit(pack: Pack, origin: str | None, maintenance: bool) -> tuple[Fraction, str]:
    """The largest increase allowed, as a fraction of the previous daily dose, and its rule.

    Titration follows the rule in the role ``intrathecal.titration.step``, maintenance the rule
    in ``intrathecal.maintenance.step``; an unknown origin takes the smaller of the two
    origins' limits.
    """
    rule = pack.role(_step_role(maintenance))
    return step_limit_of(rule, origin), rule.id


def usual_step(pack: Pack, origin: str | None, maintenance: bool) -> Fraction:
    """The smallest of the usual increases (the low end of the phase's step range for the
    origin, the smaller when the origin is unknown). Smaller steps are allowed; this is what
    the label calls the usual range, shown beside the largest."""
    rule = pack.role(_step_role(maintenance))
    names = (origin,) if origin in ORIGINS else ORIGINS
    return min(rule.fraction_range(name).low for name in names)


def maintenance_ranges(pack: Pack, origin: str | None) -> list[tuple[str, Range[Quantity]]]:
    """The adult maintenance range of the origin (the rule in the role
    ``intrathecal.maintenance.<origin>``), or every origin's when the origin is unknown; the
    origins the pack gives no range for are left out."""
    names = (origin,) if origin in ORIGINS else ORIGINS
    roles = [f"intrathecal.maintenance.{n}" for n in names]
    rules = [pack.role(role) for role in roles if pack.has_role(role)]
    return [(rule.id, rule.range("range")) for rule in rules]


def programmed(pack: Pack, daily: Quantity, up: bool = False) -> Quantity:
    """A daily dose rounded to the pump's programming step (the rule in the role
    ``intrathecal.pump.rate``), down unless ``up``."""
    step = pack.role("intrathecal.pump.rate").quantity("programming_step")
    units = daily.ratio(step)
    return step * (math.ceil(units) if up else math.floor(units))


# -- screening ------------------------------------------------------------------------------


@record
class Screening:
    """Where intrathecal screening stands.

    ``state`` is ``none`` (no test dose), ``pending`` (the last dose has no recorded response),
    ``in-progress`` (no effect yet, the ladder can go on), ``responder`` or ``non-responder``
    (no effect at the highest test dose, the rule in the role
    ``intrathecal.screening.nonresponder``).
    """

    state: str
    responding: ItTestDose | None
    last: ItTestDose | None


def screening_status(test_doses: Sequence[ItTestDose], pack: Pack) -> Screening:
    max_dose = pack.role("intrathecal.screening.nonresponder").quantity("max_test_dose")
    responding = next((t for t in test_doses if t.response and t.response.effect), None)
    last = test_doses[-1] if test_doses else None
    if responding is not None:
        return Screening("responder", responding, last)
    if last is None:
        return Screening("none", None, None)
    if any(t.response is not None and t.dose >= max_dose for t in test_doses):
        return Screening("non-responder", None, last)
    if last.response is None:
        return Screening("pending", None, last)
    return Screening("in-progress", None, last)


def initial_infusion_dose(
    responding: ItTestDose, pack: Pack, rule: Rule | None = None
) -> tuple[Quantity, bool]:
    """The starting daily dose for a responding bolus, and whether it was prolonged, by
    ``rule`` (by default the rule in the role ``intrathecal.titration.start``).

    ``factor`` times the bolus over the ``period``; ``prolonged_factor`` times when its effect
    lasted longer than ``prolonged_effect``.
    """
    if rule is None:
        rule = pack.role("intrathecal.titration.start")
    duration = responding.response.duration if responding.response else None
    prolonged = duration is not None and duration > rule.quantity("prolonged_effect")
    factor = rule.number("prolonged_factor") if prolonged else rule.number("factor")
    return (responding.dose * factor) / rule.quantity("period"), prolonged


# -- stops ----------------------------------------------------------------------------------


@record
class Taper:
    """The run of successive reductions that ends at a stop."""

    reductions: int
    first_at: datetime | None


def reductions_before(doses: Sequence[tuple[datetime, Quantity | None]]) -> Taper:
    """Count the successive reductions at the end of a dose timeline (``None`` is a stop).

    Changes that keep the daily dose the same neither count nor break the run.
    """
    count = 0
    first_at: datetime | None = None
    for i in range(len(doses) - 1, 0, -1):
        at, dose = doses[i]
        _, before = doses[i - 1]
        if dose is None or before is None:
            break
        if dose < before:
            count += 1
            first_at = at
        elif dose > before:
            break
    return Taper(count, first_at)


def is_gradual(taper: Taper, stop_at: datetime, min_reductions: int, span: Quantity) -> bool:
    """A gradual stop: enough successive reductions, the first at least ``span`` before the stop
    (a span in days or weeks counted in calendar days, :func:`~.spans.since`)."""
    if taper.reductions < min_reductions or taper.first_at is None:
        return False
    return reaches(taper.first_at, stop_at, span)


def infusion_timeline(
    events: Sequence[ItInfusion | ItStop],
) -> list[tuple[datetime, Quantity | None]]:
    return [(e.at, e.daily_dose if isinstance(e, ItInfusion) else None) for e in events]


# -- oral -----------------------------------------------------------------------------------


def renal_target(
    pack: Pack, clearance: Quantity, rule: Rule | None = None
) -> tuple[Quantity, Fraction] | None:
    """The reduced oral target for a creatinine clearance, and the reduction, by the bands of
    ``rule`` (by default the rule in the role ``oral.renal-clearance``): the usual maximum (the
    rule's own ``usual_max``, else the rule in the role ``oral.usual``) reduced by the band's
    reduction.

    ``None`` when the clearance is above every band (no reduction).
    """
    if rule is None:
        rule = pack.role("oral.renal-clearance")
    if "usual_max" in rule.numbers:
        usual = rule.quantity("usual_max")
    else:
        usual = pack.role("oral.usual").quantity("usual_max")
    _bands_apart(rule)
    matching = [
        reduction
        for band in rule.table("bands")
        if isinstance(limits := band["clearance"], Range)
        and isinstance(limits.low, Quantity)
        and clearance in limits
        and isinstance(reduction := band["reduction"], Fraction)
    ]
    if not matching:
        return None
    largest = max(matching)  # a clearance in two bands takes the larger reduction
    return usual * (1 - largest), largest


def _bands_apart(rule: Rule) -> None:
    """A rule's clearance bands must not overlap: a clearance in two bands would have two
    reductions, so such a pack is broken, never read with a guess."""
    bands = [b["clearance"] for b in rule.table("bands")]
    ranges: list[Range[Quantity]] = [
        b for b in bands if isinstance(b, Range) and isinstance(b.low, Quantity)
    ]
    for band in ranges:
        for end in (band.low, band.high):
            holders = len([other for other in ranges if end in other])
            if holders > 1:
                raise PackError(rule.file, rule.id, "numbers.bands", "clearance bands overlap")


def paediatric_max(pack: Pack, age: Fraction, rule: Rule | None = None) -> Quantity:
    """The oral daily maximum for a child of this age, by ``rule`` (by default the rule in the
    role ``oral.children``): ``max_under_8`` below ``age_split``, else ``max_from_8``."""
    if rule is None:
        rule = pack.role("oral.children")
    young = age < rule.quantity("age_split").in_("a")
    return rule.quantity("max_under_8" if young else "max_from_8")


# -- pump -----------------------------------------------------------------------------------


def alarm_volume(
    pack: Pack, recorded: PumpRefill | Quantity | None, pump: Pump | None = None
) -> Quantity:
    """The alarm volume recorded (a refill's own, or a value given), else the manufacturer's
    default (the rule in the role ``intrathecal.pump.refill``); at least the raised alarm
    volume for a patient who had withdrawal while the reservoir still held more than the
    standard one (``pump.withdrawal_before_alarm``).
    """
    rule = pack.role("intrathecal.pump.refill")
    given = recorded.alarm if isinstance(recorded, PumpRefill) else recorded
    alarm = given or rule.quantity("alarm_volume")
    if pump is not None and pump.withdrawal_before_alarm:
        return max(alarm, rule.quantity("raised_alarm_volume"))
    return alarm


def reservoir_at(
    refill: PumpRefill, infusions: Sequence[ItInfusion | ItStop], when: datetime
) -> Quantity:
    """The volume left in the reservoir at ``when``, following every infusion change since the
    refill (daily volume = daily dose / concentration). Never below zero.
    """
    concentration = refill.concentration.base  # µg per mL
    in_force: ItInfusion | ItStop | None = None  # the infusion state when the refill was done
    later: list[ItInfusion | ItStop] = []
    for event in infusions:
        if event.at > when:
            break
        if event.at <= refill.at:
            in_force = event
        else:
            later.append(event)

    def rate_of(event: ItInfusion | ItStop | None) -> Fraction:  # mL per hour
        return (
            event.daily_dose.base / concentration if isinstance(event, ItInfusion) else Fraction(0)
        )

    rate = rate_of(in_force)
    cursor = refill.at
    left = refill.volume.base  # mL
    for event in later:
        left -= rate * hours_between(cursor, event.at)
        cursor = event.at
        rate = rate_of(event)
    if when > cursor:
        left -= rate * hours_between(cursor, when)
    return Quantity.of(max(left, Fraction(0)), "mL")
