"""The page's structured fields, derived from the rules rather than stored as text.

The source page shows, per treatment, a route, a dose range, a defined daily dose, a dosage
regimen ("From 5 To 33.333 mg 3 time(s) per day every day") and a loading dose. Those are
consequences of the rules: the regimen is the daily range divided by the administrations a day.
Deriving them keeps one source of truth and lets a test compare them with the page.

>>> from posology.knowledge import load_pack
>>> oral = treatment_fields(load_pack(), "oral")
>>> oral.regimen_text()
'From 5 To 33.333 mg 3 time(s) per day every day'
"""

from __future__ import annotations

from fractions import Fraction

from ..frozen import record
from ..units import Quantity, format_number, unit
from .schema import Pack, Range


@record
class TreatmentFields:
    route: str
    daily_range: Range[Quantity]
    per_administration: Range[Quantity]
    times_per_day: int
    starting_dose: Quantity | None

    def regimen_text(self, places: int = 3) -> str:
        low, high = self.per_administration.low, self.per_administration.high
        times = f"{self.times_per_day} time(s) per day" if self.times_per_day > 1 else "once"
        return (
            f"From {format_number(low.magnitude, places)} To "
            f"{format_number(high.magnitude, places)} {high.unit.code} {times} every day"
        )


def _per_administration(daily: Range[Quantity], times: int) -> Range[Quantity]:
    """A daily range (mass per day) divided into ``times`` administrations (a mass each)."""
    mass = unit(daily.low.unit.code.split("/")[0])
    low = Quantity(daily.low.magnitude / times, mass)
    high = Quantity(daily.high.in_(f"{mass.code}/d") / times, mass)
    return Range(low, high)


def treatment_fields(pack: Pack, route: str) -> TreatmentFields:
    """The structured fields of the oral or intrathecal treatment (from the rules in the roles
    ``oral.daily-range`` and ``oral.start``, or ``intrathecal.daily-range``)."""
    if route == "oral":
        rule = pack.role("oral.daily-range")
        daily = rule.range("daily")
        times = rule.count("administrations_per_day")
        start = (
            pack.role("oral.start").quantity("start_daily") if pack.has_role("oral.start") else None
        )
        return TreatmentFields("oral", daily, _per_administration(daily, times), times, start)
    if route == "intrathecal":
        daily = pack.role("intrathecal.daily-range").range("daily")
        return TreatmentFields("intrathecal", daily, _per_administration(daily, 1), 1, None)
    raise ValueError(f"unknown route {route!r}; use oral or intrathecal")


def ddd_ratio(pack: Pack, daily_dose: Quantity, route: str) -> Fraction:
    """Prescribed daily dose over the WHO defined daily dose of the route (the rule in the
    role ``ddd``).

    A drug-utilisation measure for reports, never a dose recommendation: 60 mg/day oral is 1.2.
    """
    rule = pack.role("ddd")
    ddd = rule.quantity("oral" if route == "oral" else "parenteral")
    return daily_dose.ratio(ddd)
