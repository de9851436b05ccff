"""Numbers too long or too large for any clinical document are refused by name, at once.

Found by an attacker: ``"dose": "1e10000000 mg"`` held a worker for 9 s and then failed,
``"age_years": 1e-10000000`` took 8 s and was stored as 0.0, and a JSON integer of more than
4,300 digits failed inside the JSON reader.
"""

from __future__ import annotations

import time
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posology.errors import InputError
from posology.model import parse_case
from posology.model.documents import load_json
from posology.units import MAX_DIGITS, MAX_EXPONENT, parse_quantity


def _case(dose: str = "10 mg", age: str = "50") -> bytes:
    return (
        '{"patient": {"age_years": ' + age + ', "diagnosis": "stroke"}, "proposal": '
        '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "' + dose + '", '
        '"times_per_day": 3}}'
    ).encode()


@pytest.mark.parametrize(
    ("dose", "age", "field"),
    [
        ("1e10000000 mg", "50", "proposal.dose"),
        ("0e-10000000 mg", "50", "proposal.dose"),
        ("1" + "0" * 40 + " mg", "50", "proposal.dose"),
        ("10 mg", "1e-10000000", "patient.age_years"),
        ("10 mg", "1e-400", "patient.age_years"),
        ("10 mg", "9" * 5000, "patient.age_years"),
    ],
)
def test_a_number_of_no_usable_size_is_refused_by_name_at_once(
    dose: str, age: str, field: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(InputError) as refused:
        parse_case(load_json(_case(dose, age)))
    assert refused.value.field == field
    assert time.perf_counter() - started < 1.0  # was 8 to 9 s: a bound far from a benchmark


decimals = st.decimals(
    min_value=Decimal(10) ** -MAX_EXPONENT,
    max_value=Decimal(10) ** MAX_EXPONENT,
    allow_nan=False,
    allow_infinity=False,
    places=None,
).filter(lambda d: len(d.as_tuple().digits) <= MAX_DIGITS and d > 0)


@given(decimals)
def test_every_accepted_amount_is_exact_prints_and_reads_back(value: Decimal) -> None:
    quantity = parse_quantity(f"{value} mg", field="dose")
    assert quantity.in_("mg") == Fraction(value)
    printed = quantity.text()
    assert isinstance(printed, str) and printed.endswith("mg")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "", "levels deep"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "a.a.a", "levels deep"),
        (b'{"patient": {"sex": "\\ud800"}}', "patient.sex", "lone surrogate"),
        (b'{"\\udfff": 1}', "", "lone surrogate"),
    ],
)
def test_a_body_too_deep_or_with_a_lone_surrogate_is_refused_by_name(
    body: bytes, field: str, words: str
) -> None:
    with pytest.raises(InputError) as refused:
        load_json(body)
    assert refused.value.field.startswith(field) and words in refused.value.message


def test_a_surrogate_pair_is_one_character_and_is_kept() -> None:
    assert load_json(b'{"note": "\\ud83d\\ude00"}') == {"note": "\U0001f600"}
