"""Exact quantities: parsing, formatting, conversion, and refusal across kinds."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posology.errors import DimensionError, UnitError
from posology.units import (
    CONCENTRATION,
    MASS,
    MASS_RATE,
    VOLUME,
    Quantity,
    format_number,
    parse_quantity,
)


@pytest.mark.parametrize("spelling", ["50 ug", "50 µg", "50 μg", "50 mcg", "0.05 mg", "50ug"])
def test_every_microgram_spelling_means_the_same_mass(spelling: str) -> None:
    assert parse_quantity(spelling) == Quantity.of(50, "ug")


def test_codes_are_ucum_and_text_uses_the_micro_sign() -> None:
    q = parse_quantity("50 mcg")
    assert q.code() == "50 ug"
    assert q.text() == "50 µg"
    assert q.text(micro="mcg") == "50 mcg"


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("150 ug/d", "ug/d"),
        ("150 ug/day", "ug/d"),
        ("30 mg/d", "mg/d"),
        ("500 ug/mL", "ug/mL"),
        ("2 mL", "mL"),
        ("0.3 mg/kg/d", "mg/kg/d"),
    ],
)
def test_contract_units_parse(text: str, unit: str) -> None:
    assert parse_quantity(text).unit.code == unit


def test_conversion_is_exact() -> None:
    assert parse_quantity("1 mg").in_("ug") == 1000
    assert parse_quantity("100 ug/d").to("ug/h").magnitude == Fraction(100, 24)
    assert parse_quantity("100 ug/d").to("ug/h").text() == "4.167 µg/h"


def test_daily_volume_from_daily_dose_and_concentration() -> None:
    daily_volume = parse_quantity("250 ug/d") / parse_quantity("500 ug/mL")
    assert daily_volume == parse_quantity("0.5 mL/d")


@pytest.mark.parametrize(
    ("a", "b"), [("10 mg", "2 mL"), ("10 mg", "10 mg/d"), ("500 ug/mL", "500 ug")]
)
def test_arithmetic_and_comparison_across_kinds_raise(a: str, b: str) -> None:
    qa, qb = parse_quantity(a), parse_quantity(b)
    with pytest.raises(DimensionError):
        qa + qb
    with pytest.raises(DimensionError):
        _ = qa < qb
    with pytest.raises(TypeError):  # DimensionError is also a TypeError
        qa - qb
    assert qa != qb


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("50", "has no unit"),
        ("50 mgs", "unknown unit"),
        ("1,5 mg", "comma"),
        ("nan mg", "finite"),
        ("inf mg", "finite"),
        ("-1 mg", "negative"),
        ("0 mg", "zero"),
        ("2 mL", "is a volume, but a mass is due"),
        ("", "not a number"),
    ],
)
def test_bad_quantities_are_refused_naming_the_field(text: str, fragment: str) -> None:
    with pytest.raises(UnitError) as err:
        parse_quantity(text, field="proposal.dose", kinds=[MASS])
    assert fragment in str(err.value)
    assert err.value.field == "proposal.dose"


def test_non_string_is_refused() -> None:
    with pytest.raises(UnitError, match="string of a number and a unit"):
        parse_quantity(50, field="dose", kinds=[MASS])


def test_kind_is_checked_for_each_wanted_kind() -> None:
    assert parse_quantity("1 mg/mL", kinds=[MASS, CONCENTRATION]).dim == CONCENTRATION
    with pytest.raises(UnitError):
        parse_quantity("1 mL", kinds=[MASS_RATE, CONCENTRATION])


def test_formatting_rounds_only_at_display() -> None:
    third = Quantity.of(100, "mg") / 3
    assert third.magnitude == Fraction(100, 3)
    assert third.text() == "33.333 mg"
    assert third.text(places=1) == "33.3 mg"
    assert (third * 3).text() == "100 mg"


def test_plural_time_units() -> None:
    assert Quantity.of(1, "d").text() == "1 day"
    assert Quantity.of(3, "d").text() == "3 days"
    assert Quantity.of(2, "wk").text() == "2 weeks"
    assert Quantity.of(3, "mg/d").text() == "3 mg/day"


def test_format_number_never_shows_negative_zero() -> None:
    assert format_number(Fraction(-1, 10**9), places=3) == "0"


decimals = st.decimals(
    min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3, allow_nan=False
)
units = st.sampled_from(
    ["ug", "mg", "g", "mL", "ug/d", "mg/d", "ug/mL", "mg/mL", "h", "d", "mg/kg/d"]
)


@given(decimals, units)
def test_quantities_round_trip_through_parse_and_format(number: Decimal, unit: str) -> None:
    q = parse_quantity(f"{number} {unit}")
    assert parse_quantity(q.code()) == q
    assert parse_quantity(q.text()) == q
    assert parse_quantity(q.text(micro="mcg")) == q
    assert q.magnitude == Fraction(number)


@given(decimals, st.sampled_from([("mg", "ug"), ("ug/d", "ug/h"), ("mL/d", "mL/min"), ("d", "h")]))
def test_conversions_round_trip_exactly(number: Decimal, pair: tuple[str, str]) -> None:
    q = Quantity.of(number, pair[0])
    assert q.to(pair[1]).to(pair[0]).magnitude == q.magnitude
    assert q.to(pair[1]) == q


def test_volume_kind_name_in_messages() -> None:
    with pytest.raises(UnitError, match="a mass is due"):
        parse_quantity("3 mL", kinds=[MASS])
    assert parse_quantity("3 L").in_("mL") == 3000
    assert parse_quantity("3 mL").dim == VOLUME
