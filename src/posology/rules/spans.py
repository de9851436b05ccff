"""Time between two instants, counted as the rules count it: elapsed hours, or calendar days.

Kept apart from the context so that the reading of the history (``past``), the limits and the
rules can all use the same arithmetic without importing one another.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from ..units import TIME, Quantity

CALENDAR_UNITS = frozenset({"d", "wk", "a"})
"""Units of rules counted on the calendar: "three days" is three calendar days."""

_MICROSECONDS_PER_HOUR = 3_600_000_000


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def microseconds_between(earlier: datetime, later: datetime) -> int:
    """Exact elapsed microseconds from one instant to a later one (``hours_between`` times
    3,600,000,000, as a whole number)."""
    return _microseconds(later - earlier)


def hours_between(earlier: datetime, later: datetime) -> Fraction:
    """Exact hours from one instant to a later one."""
    return Fraction(_microseconds(later - earlier), _MICROSECONDS_PER_HOUR)


def elapsed(earlier: datetime, later: datetime) -> Quantity:
    """The time from one instant to another as a duration quantity."""
    return Quantity.of(hours_between(earlier, later), "h")


def calendar_days(earlier: datetime, later: datetime) -> Fraction:
    """Exact days from one instant to a later one on the patient's local calendar.

    Each instant is read at the wall-clock time it was written with (its own UTC offset), so
    08:00 on 26 March to 08:00 on 29 March is 3 days even when a daylight-saving change in
    between makes it 71 elapsed hours. Rules given in days or weeks speak of calendar days.
    """
    return hours_between(earlier.replace(tzinfo=None), later.replace(tzinfo=None)) / 24


def since(earlier: datetime, later: datetime, limit: Quantity) -> Quantity:
    """The time from ``earlier`` to ``later`` as ``limit``'s rule counts it, in ``limit``'s unit.

    A limit in days, weeks or years is counted in calendar days (:func:`calendar_days`); any
    other (hours, minutes) in elapsed time (:func:`hours_between`), which is what the hour rules
    of the page mean.
    """
    target = limit.unit
    if target.dim != TIME:  # not a duration: refused as the conversion refuses it
        return Quantity.of(hours_between(earlier, later), "h").to(target)
    if target.code in CALENDAR_UNITS and (earlier.tzinfo or later.tzinfo) is not None:
        delta = later.replace(tzinfo=None) - earlier.replace(tzinfo=None)
    else:
        delta = later - earlier
    # hours in the limit's unit: the same value as converting calendar days or elapsed hours
    return Quantity(Fraction(_microseconds(delta), _MICROSECONDS_PER_HOUR) / target.factor, target)


def compare_span(earlier: datetime, later: datetime, limit: Quantity) -> int:
    """-1, 0 or 1 as ``since(earlier, later, limit)`` is below, equal to or above ``limit``,
    in whole-number arithmetic.

    The same comparison, counted the same way, without building the quantity: most rules only
    ask whether a span reaches a limit, and a look-back over a window asks it of every event in
    the window.
    """
    if limit.unit.code in CALENDAR_UNITS and (earlier.tzinfo or later.tzinfo) is not None:
        delta = later.replace(tzinfo=None) - earlier.replace(tzinfo=None)
    else:
        delta = later - earlier
    hours = limit.base  # a duration's base unit is the hour
    left = _microseconds(delta) * hours.denominator
    right = hours.numerator * _MICROSECONDS_PER_HOUR
    return (left > right) - (left < right)


def shorter_than(earlier: datetime, later: datetime, limit: Quantity) -> bool:
    """``since(earlier, later, limit) < limit``, in whole-number arithmetic
    (:func:`compare_span`) for a limit that is a duration; any other limit goes through
    :func:`since`, which refuses it as it always does."""
    if limit.unit.dim != TIME:
        return since(earlier, later, limit) < limit
    return compare_span(earlier, later, limit) < 0


def reaches(earlier: datetime, later: datetime, limit: Quantity) -> bool:
    """``since(earlier, later, limit) >= limit``."""
    return compare_span(earlier, later, limit) >= 0


UTC_OFFSET_SPREAD = timedelta(hours=48)
"""More than two instants' UTC offsets can differ (each lies strictly within ±24 h): an event
this much further back than a calendar window is outside it whatever the offsets."""


def surely_before(later: datetime, limit: Quantity) -> datetime | None:
    """An instant such that every instant at or before it is at least ``limit`` before ``later``
    however the two are counted (elapsed, or on the wall clocks of their own offsets); ``None``
    when the calendar has no such instant (a date near the year 1).

    A look-back over a window walks from the newest event and stops past this instant.
    """
    hours = limit.base
    whole = -(-hours.numerator // hours.denominator)  # rounded up: the bound may only be wider
    try:
        return later - timedelta(hours=whole) - UTC_OFFSET_SPREAD
    except OverflowError:
        return None
