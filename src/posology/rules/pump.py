"""Kinds of pump rules: concentrations, refills, the reservoir, the refill interval.

Each kind reads its numbers and words from the rule it is given; the marketed solutions the
others compare with are the rule in the role ``intrathecal.pump.concentration``.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from ..knowledge.schema import Pack, Rule
from ..model.events import ItStop, PumpRefill
from ..model.finding import Finding
from ..units import CONCENTRATION, MASS_RATE, TIME, VOLUME, Quantity, format_number
from .context import INTRATHECAL_KINDS, Context, ceil_to, floor_to, since
from .kinds import implements
from .limits import alarm_volume
from .mixup import mixup_fits
from .per_pack import per_pack
from .spans import compare_span


def _refill(ctx: Context) -> PumpRefill | None:
    return ctx.proposal if isinstance(ctx.proposal, PumpRefill) else None


def _strength(q: Quantity) -> str:
    """A concentration as people read it on the ampoule: in µg/mL."""
    return q.to("ug/mL").text()


def _above_market(ctx: Context, q: Quantity) -> bool:
    """True for a concentration above every marketed solution: no dilution makes it, so it is
    a unit or strength slip (the unit mix-up, or the marketed concentrations'
    ``above_marketed``), and the other pump rules do not print it as if it were a real
    strength."""
    strongest = _strongest_marketed(ctx.pack)
    return strongest is not None and q > strongest


@per_pack
def _strongest_marketed(pack: Pack) -> Quantity | None:
    if not pack.has_role("intrathecal.pump.concentration"):
        return None
    return max(pack.role("intrathecal.pump.concentration").quantities("marketed"))


@per_pack
def _pump_solutions(pack: Pack) -> tuple[Quantity, ...]:
    if not pack.has_role("intrathecal.pump.concentration"):
        return ()
    return pack.role("intrathecal.pump.concentration").quantities("pump")


@implements("marketed-concentrations", PumpRefill)
def marketed_concentrations(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The refill's concentration is one of the ``pump`` solutions, or a dilution below them:
    above every ``marketed`` one (``above_marketed``, unless a unit mix-up names it), not a
    marketed one (``unknown``), or a marketed one not for the pump (``not_pump``)."""
    refill = _refill(ctx)
    if refill is None:
        return
    marketed = rule.quantities("marketed")
    pump = rule.quantities("pump")
    conc = refill.concentration

    def values() -> dict[str, str]:  # the words, worked out only for a finding
        return {"concentration": _strength(conc), "marketed": _listed(marketed)}

    if _above_market(ctx, conc):
        if not mixup_fits(ctx):
            yield ctx.say(rule, "above_marketed", **values())
    elif conc not in marketed:
        yield ctx.say(rule, "unknown", **values())
    elif conc not in pump:
        weakest = min(pump)
        yield ctx.say(
            rule,
            "not_pump",
            pump=_listed(pump),
            weakest=weakest.text(),
            ratio=format_number(weakest.ratio(conc), 1),
            **values(),
        )


def _listed(quantities: tuple[Quantity, ...]) -> str:
    return ", ".join(q.text() for q in quantities)


@implements("refill-frequency", PumpRefill)
def refill_frequency(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """At the dose running, a fill that reaches the alarm sooner than ``min_refill_interval``
    while a more concentrated pump solution exists means frequent refills the concentrated
    solution avoids (``frequent_refills``)."""
    refill = _refill(ctx)
    running = ctx.infusion_active
    if refill is None or running is None or _above_market(ctx, refill.concentration):
        return
    stronger = [q for q in _pump_solutions(ctx.pack) if q > refill.concentration]
    if not stronger:  # no more concentrated solution to suggest
        return
    shortest = rule.quantity("min_refill_interval")
    alarm = alarm_volume(ctx.pack, refill, ctx.patient.pump)
    if _lasts_at_least(refill, alarm, running.daily_dose, shortest):
        return  # the fill lasts long enough (decided on exact base magnitudes)
    usable = refill.volume - alarm
    amount = Quantity.of(max(usable.base, Fraction(0)), "mL") * refill.concentration
    lasts = (amount / running.daily_dose).to("d")
    if lasts < shortest:
        yield ctx.say(
            rule,
            "frequent_refills",
            concentration=_strength(refill.concentration),
            daily=running.daily_dose.text(),
            lasts=floor_to(lasts, 1).text(),
            shortest=shortest.text(),
            stronger=_listed(tuple(stronger)),
        )


def _lasts_at_least(
    refill: PumpRefill, alarm: Quantity, daily: Quantity, shortest: Quantity
) -> bool:
    """True when a fill delivers ``daily`` for at least ``shortest`` before the reservoir
    reaches the alarm volume: ``(volume - alarm) × concentration / daily ≥ shortest`` (the
    usable volume never below zero), in exact base magnitudes (mL, µg/mL, µg/h, h) and whole
    numbers, cross-multiplied (every denominator is above zero) instead of four rational
    operations. False when it cannot be decided so (other kinds, no dose a day): the
    quantities' own arithmetic then decides, or refuses them."""
    volume, concentration = refill.volume, refill.concentration
    if (volume.dim, alarm.dim, concentration.dim, daily.dim) != _FILL_KINDS:
        return False
    v, al, c, d, s = volume.base, alarm.base, concentration.base, daily.base, shortest.base
    if shortest.dim != TIME or d.numerator <= 0:
        return False
    usable = max(v.numerator * al.denominator - al.numerator * v.denominator, 0)
    left = usable * c.numerator * d.denominator * s.denominator
    right = s.numerator * v.denominator * al.denominator * c.denominator * d.numerator
    return left >= right


_FILL_KINDS = (VOLUME, VOLUME, CONCENTRATION, MASS_RATE)


@implements("concentration-change", PumpRefill)
def concentration_change(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A refill at another concentration than the last (``concentration_change``)."""
    refill = _refill(ctx)
    previous = ctx.past.last_refill
    if refill is None or previous is None:
        return
    if _above_market(ctx, refill.concentration) or _above_market(ctx, previous.concentration):
        return
    if refill.concentration != previous.concentration:
        yield ctx.say(
            rule,
            "concentration_change",
            previous=_strength(previous.concentration),
            concentration=_strength(refill.concentration),
        )


@implements("maximum-refill-interval", *INTRATHECAL_KINDS)
def maximum_refill_interval(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A refill, or an intrathecal event while the pump runs, later than ``max_interval``
    after the last refill (``exceeded``)."""
    last = ctx.past.last_refill
    if not isinstance(ctx.proposal, INTRATHECAL_KINDS) or last is None:
        return
    if ctx.infusion_active is None and _refill(ctx) is None:
        return
    limit = rule.quantity("max_interval")
    if compare_span(last.at, ctx.proposal.at, limit) > 0:
        waited = since(last.at, ctx.proposal.at, limit)
        yield ctx.say(
            rule,
            "exceeded",
            elapsed=ceil_to(waited.to("d"), 0).text(),
            limit=limit.text(),
        )


@implements("reservoir", *INTRATHECAL_KINDS)
def reservoir(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A refill into a reservoir of unknown size (``reservoir_unknown``) or above it
    (``overfill``); an intrathecal event while the pump runs with the reservoir at or below
    the alarm volume (``below_alarm``)."""
    refill = _refill(ctx)
    if refill is not None:
        pump = ctx.patient.pump
        reservoir = pump.reservoir if pump else None
        if reservoir is None:
            yield ctx.say(rule, "reservoir_unknown")
        elif refill.volume > reservoir:
            yield ctx.say(rule, "overfill", volume=refill.volume.text(), reservoir=reservoir.text())
        return
    last = ctx.past.last_refill
    if not isinstance(ctx.proposal, INTRATHECAL_KINDS) or last is None:
        return
    if ctx.infusion_active is None or isinstance(ctx.proposal, ItStop):
        return
    alarm = alarm_volume(ctx.pack, last, ctx.patient.pump)
    at_alarm = ctx.past.reservoir_at_most(ctx.proposal.at, alarm)
    assert at_alarm is not None  # a refill was read
    if at_alarm:
        left = ctx.past.reservoir_at(ctx.proposal.at)
        assert left is not None
        yield ctx.say(rule, "below_alarm", left=floor_to(left, 1).text(), alarm=alarm.text())
