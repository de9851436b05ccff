"""Bounds on what the readers accept, each found by sending the server what no clinic would.

Every test is named after what broke: a quantity string of spaces that held a worker for
seconds, digits of other scripts read as a dose, large quantities that could not be printed,
numbers no field reads left unbounded in a stored body, surrogates and NUL that slipped past in
UTF-16 or raw text, instants near year 9999 that overflowed the planner, and a tablet search
that took the machine's memory. The properties run over the whole space the readers accept.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posology.errors import InputError, UnitError
from posology.knowledge import load_pack
from posology.model import parse_case
from posology.model.documents import MAX_DEPTH, load_json
from posology.model.fields import LATEST_YEAR
from posology.model.text import plain_text
from posology.planning import parse_request, plan
from posology.planning.doses import MAX_PIECE_UNITS, tablet_pieces
from posology.store.values import plain_json
from posology.units import (
    _ALIASES,
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_QUANTITY_LENGTH,
    format_number,
    parse_quantity,
)

PACK = load_pack()
PROPOSAL = {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3}


def _case(**patient: object) -> dict[str, object]:
    return {
        "patient": {"age_years": 50, "diagnosis": "stroke", **patient},
        "proposal": PROPOSAL,
    }


# -- quantity strings -------------------------------------------------------------------------


def test_a_quantity_string_of_many_spaces_is_refused_for_its_length_at_once() -> None:
    # "1 x", 40,000 spaces, "y": the old pattern backtracked over the spaces (9 s a request)
    with pytest.raises(UnitError) as refused:
        parse_quantity("1 x" + " " * 40_000 + "y", field="proposal.dose")
    assert refused.value.field == "proposal.dose"
    assert f"at most {MAX_QUANTITY_LENGTH} characters" in refused.value.message


@pytest.mark.parametrize("text", ["\u0665 mg", "\uff15 mg", "1\u0660 mg", "\u09e7 ug/d"])
def test_a_dose_in_digits_of_another_script_is_refused(text: str) -> None:
    # Arabic-Indic, full-width and Bengali digits were read as 5, 5, 10 and 1
    with pytest.raises(UnitError) as refused:
        parse_quantity(text, field="dose")
    assert refused.value.field == "dose"


@pytest.mark.parametrize(
    ("dividend", "divisor"),
    [("1e29 mg", 3), ("99999999999999999999999999999 mg/d", 7), ("1e30 g", 3)],
)
def test_a_large_quantity_divided_prints_rounded_instead_of_raising(
    dividend: str, divisor: int
) -> None:
    # a decimal context of 28 digits raised InvalidOperation when rounding these to 3 places
    quantity = parse_quantity(dividend) / divisor
    printed = quantity.code(places=3)
    assert Fraction(printed.split()[0]) == round(quantity.magnitude * 1000) / Fraction(1000)


def test_a_quotient_of_the_largest_and_smallest_quantities_prints() -> None:
    # a rate from the largest dose and the smallest concentration, derived and rounded
    rate = parse_quantity("1e29 ug/d") / parse_quantity("3e-29 ug/mL")
    assert rate.code(places=2).endswith(" mL/d") and rate.text()


spelled_numbers = st.builds(
    lambda digits, point, exponent, sign: (
        sign
        + (digits[:point] or "0")
        + ("." + digits[point:] if digits[point:] else "")
        + (f"e{exponent}" if exponent is not None else "")
    ),
    st.text("0123456789", min_size=1, max_size=MAX_DIGITS + 5),
    st.integers(0, MAX_DIGITS + 5),
    st.one_of(st.none(), st.integers(-2 * MAX_EXPONENT, 2 * MAX_EXPONENT)),
    st.sampled_from(["", "+"]),
)
units = st.sampled_from(sorted(_ALIASES))


@given(spelled_numbers, units)
def test_any_accepted_quantity_string_prints_and_reads_back_as_itself(
    number: str, unit: str
) -> None:
    text = f"{number} {unit}"
    try:
        quantity = parse_quantity(text, field="dose")
    except UnitError as refused:
        assert refused.field == "dose"
        return
    magnitude = Decimal(number)
    assert magnitude != 0
    assert len(magnitude.normalize(Context(prec=200)).as_tuple().digits) <= MAX_DIGITS
    assert -MAX_EXPONENT <= magnitude.adjusted() <= MAX_EXPONENT
    assert parse_quantity(quantity.code()) == quantity  # printed exactly, read back exactly
    assert quantity.text(micro="mcg")
    for places in (0, 1, 3, 6):
        assert quantity.code(places=places)
    as_float = float(quantity.magnitude)  # a JSON float keeps it above zero and finite
    assert as_float > 0 and as_float != float("inf")


@given(
    st.builds(Fraction, st.integers(-(10**40), 10**40), st.integers(1, 10**12)),
    st.integers(-3, 8),
)
def test_rounded_printing_agrees_with_decimal_arithmetic_of_ample_precision(
    value: Fraction, places: int
) -> None:
    with localcontext() as wide:
        wide.prec = 200
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        expected = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    assert Decimal(format_number(value, places)) == expected


# -- JSON numbers, text and nesting -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"feedback": [{"card": "c", "score": 1e10000000}]}', "feedback[0].score"),
        ('{"context": {"n": ' + "7" * 5000 + "}}", "context.n"),
        ('{"a": [1, 2, 0e-10000000]}', "a[2]"),
        ('{"a": -1e-400}', "a"),
        ('{"a": 1' + "0" * 40 + ".5}", "a"),
    ],
)
def test_a_number_no_reader_looks_at_is_still_refused_by_its_path(body: str, field: str) -> None:
    # such numbers were kept and stored, where turning 1e10000000 into an integer never ends
    with pytest.raises(InputError) as refused:
        load_json(body.encode())
    assert refused.value.field == field
    assert "usable size" in refused.value.message


@pytest.mark.parametrize("number", ["1e30", "-1e-30", "123456789012345678901234567890", "0e-9"])
def test_a_number_at_the_bounds_is_read_exactly(number: str) -> None:
    assert load_json(f'{{"a": {number}}}')["a"] == Decimal(number)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"patient": {"sex": "\ud800"}}', "patient.sex"),  # raw, as a Python caller sends it
        ('{"note": "x\udfffy"}', "note"),
    ],
)
def test_a_raw_lone_surrogate_in_text_is_refused_by_path(body: str, field: str) -> None:
    # only the escaped spelling (\\ud800) was looked for
    with pytest.raises(InputError) as refused:
        load_json(body)
    assert refused.value.field == field and "lone surrogate" in refused.value.message


def test_a_lone_surrogate_in_a_utf16_body_is_refused() -> None:
    # the search for the escape looked at the UTF-16 bytes, where it is spelt with zero bytes
    with pytest.raises(InputError) as refused:
        load_json('{"patient": {"sex": "\\ud800"}}'.encode("utf-16"))
    assert refused.value.field == "patient.sex"


def test_a_nul_in_a_utf16_body_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        load_json('{"note": "a\\u0000b"}'.encode("utf-16"))
    assert "NUL" in refused.value.message


def test_a_surrogate_encoded_as_utf8_bytes_is_invalid_utf8() -> None:
    # ED A0 80 is no UTF-8: the parser's own decoding let it through as "\ud800"
    with pytest.raises(InputError) as refused:
        load_json(b'{"note": "\xed\xa0\x80"}')
    assert "UTF-8" in refused.value.message


def test_nesting_is_counted_from_brackets_outside_strings() -> None:
    inside = '"' + "[" * 100 + '"'
    assert load_json("[" * MAX_DEPTH + inside + "]" * MAX_DEPTH)  # brackets in a text are text
    hidden = "[" * 20 + '"]]]]]]]]]]\\"]]"' + "," + "[" * 20 + "]" * 40
    with pytest.raises(InputError) as refused:
        load_json(hidden)  # closing brackets in strings do not hide the nesting
    assert "levels deep" in refused.value.message
    with pytest.raises(InputError):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


# -- instants -------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["9999-12-31T23:59", "9999-12-30T09:00+14:00", "0001-01-01T00:00"])
def test_a_plan_starting_near_the_end_of_the_calendar_is_refused_naming_start(at: str) -> None:
    # planning from 9999-12-31 overflowed (OverflowError, a 500 on the server)
    request = {
        "patient": {"age_years": 50, "diagnosis": "stroke"},
        "goal": {"kind": "oral-titration"},
        "start": at,
    }
    with pytest.raises(InputError) as refused:
        plan(parse_request(request), PACK)
    assert refused.value.field == "start"


def test_a_proposal_near_year_9999_is_refused_naming_its_instant() -> None:
    case = {**_case(), "proposal": {**PROPOSAL, "at": f"{LATEST_YEAR + 1}-01-01T00:00"}}
    with pytest.raises(InputError) as refused:
        parse_case(case)
    assert refused.value.field == "proposal.at"


# -- patient numbers --------------------------------------------------------------------------

positive_numbers = st.builds(
    lambda digits, exponent: f"{digits.lstrip('0')}e{exponent}",  # JSON has no leading zero
    st.text("0123456789", min_size=1, max_size=MAX_DIGITS + 3).filter(lambda d: d.strip("0")),
    st.integers(-2 * MAX_EXPONENT, MAX_EXPONENT),
)


@given(positive_numbers)
def test_an_accepted_weight_is_stored_as_validated(number: str) -> None:
    # "weight_kg": 1e-400 was accepted and stored as 0.0, after which every call failed
    body = json.dumps(_case(weight_kg="W")).replace('"W"', number)
    try:
        document = load_json(body)
        case = parse_case(document)
    except InputError as refused:
        assert refused.field == "patient.weight_kg"
        return
    assert case.patient.weight is not None
    stored = plain_json(document)  # how a patient record keeps it
    assert 0 < stored["patient"]["weight_kg"] <= 400
    again = parse_case(load_json(json.dumps(stored)))
    assert again.patient.weight is not None


# -- tablets --------------------------------------------------------------------------------


def test_a_dose_too_large_for_tablets_is_not_searched() -> None:
    # the search went through every count up to the dose: 1e29 mg took all memory and never ended
    five, ten = parse_quantity("5 mg"), parse_quantity("10 mg")
    assert tablet_pieces(parse_quantity("100 mg"), [five, ten], 2) is not None
    too_many = parse_quantity("2.5 mg") * (MAX_PIECE_UNITS + 1)
    assert tablet_pieces(too_many, [five, ten], 2) is None


def test_a_taper_from_a_recorded_dose_of_1e29_mg_is_refused_instead_of_planned_for_ever() -> None:
    # the taper took one reduction per 15 mg/day: 2e28 of them
    request = {
        "patient": {"age_years": 50, "diagnosis": "stroke"},
        "history": [
            {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "1e29 mg",
             "times_per_day": 3},
        ],
        "goal": {"kind": "oral-taper", "form": "tablet"},
        "start": "2026-12-01T08:00",
    }  # fmt: skip
    with pytest.raises(InputError) as refused:
        plan(parse_request(request), PACK)
    assert refused.value.field == "history" and "check the recorded dose" in refused.value.message


# -- text fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a\x00b", "NUL"),
        ("a\ud800", "lone surrogate"),
        ("\x1b[2J", "control character"),
        ("\u202e01 mg", "text-direction"),
        ("two\nlines", "line break"),
        ("tab\there", "tab"),
        ("x" * 201, "at most 200"),
        ("   ", "empty"),
        (42, "must be a text"),
    ],
)
def test_plain_text_refuses_what_cannot_be_stored_or_shown_naming_the_field(
    value: object, words: str
) -> None:
    with pytest.raises(InputError) as refused:
        plain_text(value, "email", 200)
    assert refused.value.field == "email" and words in refused.value.message


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cf")), min_size=1, max_size=50))
def test_plain_text_keeps_any_printable_text_as_typed(value: str) -> None:
    if value.strip():
        assert plain_text(value, "name", 50) == value


def test_plain_text_allows_lines_and_tabs_in_a_note() -> None:
    note = "seen in clinic\r\nno change\tplan kept"
    assert plain_text(note, "note", 1000, multiline=True) == note
    with pytest.raises(InputError):
        plain_text("bell\x07", "note", 1000, multiline=True)
