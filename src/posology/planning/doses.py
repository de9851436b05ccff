"""Doses that can actually be given, and the clock times to give them at.

A daily amount is split into administrations that the chosen form can make: whole or halved
tablets, or oral solution measured in the pack's volume steps (SUP-PO-STRENGTHS), always rounded
down, never up. Clock times follow the meals (PO-MEALS), the night (PO-NIGHT) or the tasks
(PO-PRETASK).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..knowledge.schema import Pack
from ..units import Quantity


@dataclass(frozen=True, slots=True)
class Form:
    """How oral baclofen is given: ``tablet`` or ``solution``, and its strength."""

    kind: str
    strength: Quantity  # a tablet's mass, or a solution's concentration

    def describe(self, dose: Quantity) -> str:
        """``"5 mg (one 5 mg tablet)"`` or ``"2.5 mg = 2.5 mL of 1 mg/mL oral solution"``."""
        if self.kind == "solution":
            volume = dose / self.strength
            measured = volume.to("mL").text(places=2)
            return f"{dose.text()} = {measured} of {self.strength.text()} oral solution"
        count = dose.ratio(self.strength)
        words = {1: "one", 2: "two", 3: "three", 4: "four"}
        whole, half = int(count), count - int(count) != 0
        if whole == 0:
            return f"{dose.text()} (half a {self.strength.text()} tablet)"
        tablets = words.get(whole, str(whole))
        plural = "tablet" if whole == 1 and not half else "tablets"
        extra = " and a half" if half else ""
        return f"{dose.text()} ({tablets}{extra} {self.strength.text()} {plural})"


def dose_step(pack: Pack, form: str) -> Quantity:
    """The smallest amount a form can add: half the smallest tablet, or one syringe step."""
    rule = pack.rule("SUP-PO-STRENGTHS")
    if form == "solution":
        return rule.quantity("solution_dose_step")
    return min(rule.quantities("tablets")) / rule.count("tablet_parts")


def choose_form(pack: Pack, form: str, doses: tuple[Quantity, ...]) -> Form:
    """The strength to dose with: the solution of the profile, or the largest tablet that makes
    every dose with whole tablets (else with split ones): the fewest tablets to take."""
    rule = pack.rule("SUP-PO-STRENGTHS")
    if form == "solution":
        return Form("solution", rule.quantities("solutions")[0])
    tablets = sorted(rule.quantities("tablets"), reverse=True)
    for parts in (1, rule.count("tablet_parts")):  # whole tablets first, then split ones
        for tablet in tablets:
            if all(d.ratio(tablet / parts).denominator == 1 for d in doses):
                return Form("tablet", tablet)
    return Form("tablet", tablets[-1])


def split_daily(daily: Quantity, n: int, step: Quantity) -> tuple[Quantity, ...] | None:
    """Split a daily dose (mass per day) into ``n`` makeable doses, rounded down to ``step``.

    The doses differ by at most one step; larger ones come later in the day (evening spasms).
    ``None`` when the amount cannot give every administration at least one step.
    """
    per_day = daily.to(f"{step.unit.code}/d").magnitude
    units = math.floor(per_day / step.magnitude)
    base, extra = divmod(units, n)
    if base == 0:
        return None
    return tuple(step * (base + (1 if i >= n - extra else 0)) for i in range(n))


def total(doses: tuple[Quantity, ...]) -> Quantity:
    out = doses[0]
    for d in doses[1:]:
        out = out + d
    return out


def clock_times(pack: Pack, n: int) -> tuple[str, ...]:
    """The usual clock times for ``n`` administrations a day (PO-MEALS)."""
    table = pack.rule("PO-MEALS").code_map("times_by_count")
    return tuple(table[str(n)].split())


def minus(clock: str, amount: Quantity) -> str:
    """A clock time moved earlier by a duration, wrapping past midnight."""
    minutes = (int(clock[:2]) * 60 + int(clock[3:]) - int(amount.in_("min"))) % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def at_clock(day: datetime, clock: str) -> datetime:
    """The instant of a clock time on the day of ``day``."""
    return day.replace(hour=int(clock[:2]), minute=int(clock[3:]), second=0, microsecond=0)


def days(amount: Quantity) -> timedelta:
    """A duration quantity as a timedelta, rounded down to the whole minute (plans are dated to
    the minute; earlier is the safe side for an alarm or a refill)."""
    return timedelta(minutes=math.floor(amount.in_("min")))


def book(latest: datetime, like: datetime) -> datetime:
    """The last instant at ``like``'s clock time not after ``latest``: appointments keep the
    clinic's usual time of day and are never later than the date worked out."""
    booked = latest.replace(hour=like.hour, minute=like.minute, second=0, microsecond=0)
    return booked if booked <= latest else booked - timedelta(days=1)
