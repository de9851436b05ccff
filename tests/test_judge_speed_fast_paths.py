"""The checker's whole-number fast paths give what the rational arithmetic they replace gives.

Each fast path decides a comparison the rules ask on every event (a rise against a step, a span
against an interval, a fill against the shortest refill interval, the reservoir against the
alarm) in cross-multiplied integers instead of building fractions and quantities. Each is
compared here with the expression it replaces over quantities of every kind (a kind that does
not fit must be refused, or decided, exactly as before) and instants with and without offsets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from posology.model.events import ItInfusion, ItStop, PumpRefill
from posology.rules.past import Drain
from posology.rules.pump import _FILL_KINDS, _lasts_at_least
from posology.rules.spans import shorter_than, since
from posology.units import TIME, Quantity, unit

MASSES = ("ug", "mg", "kg")
VOLUMES_AND_TIMES = ("mL", "L", "h", "min", "d", "wk", "a", "%")
COMPOUNDS = ("ug/d", "mg/d", "ug/h", "mL/d", "ug/mL", "mg/mL", "mg/kg")
UNITS = (*MASSES, *VOLUMES_AND_TIMES, *COMPOUNDS)
magnitudes = st.fractions(min_value=0, max_value=10_000, max_denominator=1_000)


def quantities(codes: tuple[str, ...] = UNITS) -> st.SearchStrategy[Quantity]:
    return st.builds(Quantity, magnitudes, st.sampled_from(codes).map(unit))


def outcome(decide: object, *args: object) -> object:
    """The answer of ``decide(*args)``, or the type of the error it raises."""
    try:
        return decide(*args)  # type: ignore[operator]
    except Exception as exc:  # the type of the error is the answer compared
        return type(exc)


offsets = st.one_of(
    st.none(), st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
)
instants = st.builds(
    lambda base, tz: base.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    offsets,
)


@given(quantities(), quantities(), quantities())
def test_a_rise_exceeds_a_limit_as_the_difference_does(a: Quantity, b: Quantity, limit: Quantity):
    assert outcome(a.rise_exceeds, b, limit) == outcome(lambda: a - b > limit)


@given(quantities(("mg/d", "ug/d", "ug/h")), quantities(("mg/d", "ug/d")), quantities(("mg/d",)))
def test_a_rise_of_daily_doses_is_decided_exactly(a: Quantity, b: Quantity, limit: Quantity):
    assert a.rise_exceeds(b, limit) == (a - b > limit)


@given(instants, instants, quantities())
def test_shorter_than_is_since_below_the_limit(earlier, later, limit: Quantity):
    if (earlier.tzinfo is None) != (later.tzinfo is None):
        earlier, later = earlier.replace(tzinfo=UTC), later.replace(tzinfo=UTC)
    assert outcome(shorter_than, earlier, later, limit) == outcome(
        lambda: since(earlier, later, limit) < limit
    )


def _hours_to_alarm(refill: PumpRefill, alarm: Quantity, daily: Quantity) -> Fraction | None:
    """The hours a fill lasts as the refill rule worked them out before the fast path."""
    volume, concentration = refill.volume, refill.concentration
    if (volume.dim, alarm.dim, concentration.dim, daily.dim) != _FILL_KINDS:
        return None
    left = volume.base - alarm.base
    return (left if left > 0 else Fraction(0)) * concentration.base / daily.base


def _lasted_before(refill: PumpRefill, alarm: Quantity, daily: Quantity, shortest: Quantity):
    hours = _hours_to_alarm(refill, alarm, daily)
    return hours is not None and shortest.dim == TIME and not hours < shortest.base


@settings(max_examples=300)
@given(
    quantities(("mL", "L", "mg")),
    quantities(("mL", "L", "h")),
    quantities(("ug/mL", "mg/mL", "mg")),
    quantities(("ug/d", "mg/d", "ug/h", "mL")),
    quantities(("h", "d", "wk", "mg")),
)
def test_a_fill_lasts_as_the_rational_hours_say(volume, alarm, concentration, daily, shortest):
    refill = PumpRefill(datetime(2026, 1, 1), concentration, volume)
    before = outcome(_lasted_before, refill, alarm, daily, shortest)
    now = _lasts_at_least(refill, alarm, daily, shortest)
    if before is ZeroDivisionError:  # no dose a day: undecided here, refused further on
        assert now is False
    else:
        assert now == before


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, 60 * 24 * 90), st.one_of(st.none(), quantities(("ug/d",)))),
        max_size=6,
    ),
    quantities(("ug/mL", "mg/mL")),
    quantities(("mL",)),
    st.integers(-60 * 24 * 10, 60 * 24 * 200),
    quantities(("mL", "L", "mg")),
)
def test_the_reservoir_at_most_a_volume_is_left_at_below_it(
    changes, concentration, volume, asked, limit
):
    start = datetime(2026, 1, 1, 8, 0)
    refill = PumpRefill(start, concentration, volume)
    node = Drain(refill, None, None)
    at = start
    for minutes, dose in sorted(changes, key=lambda c: c[0]):
        at = start + timedelta(minutes=minutes)
        event = ItStop(at) if dose is None else ItInfusion(at, dose)
        node = Drain(refill, node, event)
    when = at + timedelta(minutes=asked)
    assert outcome(node.left_at_most, when, limit) == outcome(lambda: node.left_at(when) <= limit)
