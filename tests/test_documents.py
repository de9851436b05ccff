"""Bad input is refused with the field and the fix; good input is read exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from casebuild import adult, event, oral, tdose
from posology.errors import InputError
from posology.model import OralRegimen, parse_case, read_case


def case(
    patient: dict[str, Any] | None = None,
    history: list[Any] | None = None,
    proposal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "patient": patient or adult(),
        "history": history or [],
        "proposal": proposal or oral("2026-12-01T08:00", "5 mg"),
    }


def refused(document: Any) -> InputError:
    with pytest.raises(InputError) as err:
        parse_case(document)
    return err.value


def test_a_valid_case_is_read_with_history_sorted() -> None:
    doc = case(history=[oral("2026-11-04T08:00", "10 mg"), oral("2026-11-01T08:00", "5 mg")])
    parsed = parse_case(doc)
    assert [e.at.day for e in parsed.history] == [1, 4]
    assert isinstance(parsed.proposal, OralRegimen)


@pytest.mark.parametrize(
    ("patch", "field", "fragment"),
    [
        ({"wieght_kg": 40}, "patient.wieght_kg", "did you mean 'weight_kg'"),
        (
            {"diagnosis": "multiple-sclerosys"},
            "patient.diagnosis",
            "did you mean 'multiple-sclerosis'",
        ),
        ({"conditions": ["epilepsy", "gout"]}, "patient.conditions[1]", "unknown code 'gout'"),
        (
            {"medications": ["opiate"]},
            "patient.medications[0]",
            "use one of: benzodiazepine, opioid",
        ),
        ({"conditions": {}}, "patient.conditions", "must be a list"),
        ({"weight_kg": -3}, "patient.weight_kg", "out of range"),
        ({"weight_kg": 0}, "patient.weight_kg", "out of range"),
        ({"weight_kg": "40 kg"}, "patient.weight_kg", "must be a number"),
        ({"age_years": 200}, "patient.age_years", "out of range"),
        ({"pregnant": "no"}, "patient.pregnant", "true or false"),
        ({"sex": "f"}, "patient.sex", "unknown code"),
        (
            {"pump": {"programmable": True, "reservoir": 20}},
            "patient.pump.reservoir",
            "did you mean 'reservoir_ml'",
        ),
        ({"birth_date": "2010-13-01", "age_years": None}, "patient.birth_date", "ISO date"),
    ],
)
def test_patient_errors_name_the_field_and_the_fix(
    patch: dict[str, Any], field: str, fragment: str
) -> None:
    patient = adult(**patch)
    patient = {k: v for k, v in patient.items() if v is not None}
    err = refused(case(patient=patient))
    assert err.field == field
    assert fragment in err.message


def test_missing_age_and_diagnosis_are_required() -> None:
    no_age = {k: v for k, v in adult().items() if k != "age_years"}
    assert refused(case(patient=no_age)).field == "patient.age_years"
    no_diagnosis = {k: v for k, v in adult().items() if k != "diagnosis"}
    assert refused(case(patient=no_diagnosis)).field == "patient.diagnosis"


@pytest.mark.parametrize(
    ("proposal", "field", "fragment"),
    [
        (oral("2026-12-01T08:00", "5"), "proposal.dose", "has no unit"),
        (oral("2026-12-01T08:00", "5 mL"), "proposal.dose", "is a volume, but a mass is due"),
        (oral("2026-12-01T08:00", "0 mg"), "proposal.dose", "zero"),
        (oral("2026-12-01T08:00", "-5 mg"), "proposal.dose", "negative"),
        (oral("2026-12-01T08:00", "5 mg", 0), "proposal.times_per_day", "whole number"),
        (oral("2026-12-01", "5 mg"), "proposal.at", "date and time"),
        (oral("2026-12-01T25:00", "5 mg"), "proposal.at", "not a valid date"),
        (
            {"at": "2026-12-01T08:00", "kind": "oral-regime"},
            "proposal.kind",
            "did you mean 'oral-regimen'",
        ),
        (
            {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg"},
            "proposal.times_per_day",
            "missing",
        ),
        (
            oral("2026-12-01T08:00", "5 mg", times=["08:00"]),
            "proposal.times",
            "one time per administration",
        ),
        (
            oral("2026-12-01T08:00", "5 mg", times=["08:00", "13:00", "8pm"]),
            "proposal.times[2]",
            "HH:MM",
        ),
        (
            oral("2026-12-01T08:00", "5 mg", form="tablet", strength="1 mg/mL"),
            "proposal.strength",
            "does not fit",
        ),
        (
            {
                "at": "2026-12-01T08:00",
                "kind": "it-test-dose",
                "dose": "50 ug",
                "response": {"effect": True},
            },
            "proposal.response.duration_h",
            "missing",
        ),
        (
            {"at": "2026-12-01T08:00", "kind": "it-infusion", "daily_dose": "100 ug"},
            "proposal.daily_dose",
            "is a mass, but a daily dose or rate is due",
        ),
        (
            {
                "at": "2026-12-01T08:00",
                "kind": "it-infusion",
                "daily_dose": "100 ug/d",
                "schedule": [
                    {"start": "07:00", "daily_rate": "100 ug/d"},
                    {"start": "19:00", "daily_rate": "120 ug/d"},
                ],
            },
            "proposal.schedule",
            "time-weighted mean is 110",
        ),
        (
            {
                "at": "2026-12-01T08:00",
                "kind": "pump-refill",
                "concentration": "500 ug",
                "volume_ml": 20,
            },
            "proposal.concentration",
            "concentration is due",
        ),
        (
            {
                "at": "2026-12-01T08:00",
                "kind": "pump-refill",
                "concentration": "500 ug/mL",
                "volume_ml": 20,
                "alarm_ml": 25,
            },
            "proposal.alarm_ml",
            "out of range",
        ),
        ({"at": "2026-12-01T08:00", "kind": "review", "note": ""}, "proposal.note", "non-empty"),
    ],
)
def test_event_errors_name_the_field_and_the_fix(
    proposal: dict[str, Any], field: str, fragment: str
) -> None:
    err = refused(case(proposal=proposal))
    assert err.field == field, err
    assert fragment in err.message


def test_history_errors_carry_the_index() -> None:
    err = refused(
        case(history=[oral("2026-11-01T08:00", "5 mg"), oral("2026-11-02T08:00", "5 mgg")])
    )
    assert err.field == "history[1].dose"


def test_two_different_doses_at_one_instant_contradict() -> None:
    err = refused(
        case(history=[oral("2026-11-01T08:00", "5 mg"), oral("2026-11-01T08:00", "10 mg")])
    )
    assert err.field == "history[1]" and "contradicts history[0]" in err.message
    stop = refused(
        case(history=[oral("2026-11-01T08:00", "5 mg"), event("2026-11-01T08:00", "oral-stop")])
    )
    assert "contradicts" in stop.message


def test_an_identical_event_recorded_twice_is_one_event() -> None:
    parsed = parse_case(case(history=[tdose("2026-11-01T08:00", "50 ug", False)] * 2))
    assert len(parsed.history) == 1


def test_mixed_zoned_and_unzoned_instants_are_refused() -> None:
    err = refused(case(history=[oral("2026-11-01T08:00+01:00", "5 mg")]))
    assert err.field == "proposal.at" and "time zone" in err.message


def test_unknown_top_level_fields_and_wrong_shapes() -> None:
    assert refused({**case(), "histroy": []}).field == "histroy"
    assert refused([]).message == "must be a JSON object"
    assert refused({**case(), "history": {}}).field == "history"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{", "not valid JSON"), ('{"patient": NaN}', "not a number"), ("", "not valid JSON")],
)
def test_json_errors(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        read_case(text)


def test_decimal_doses_stay_exact() -> None:
    parsed = read_case(json.dumps(case(proposal=oral("2026-12-01T08:00", "33.333 mg"))))
    assert str(parsed.proposal.daily_dose.magnitude) == "99999/1000"  # type: ignore[union-attr]


def test_a_nul_character_is_refused_before_it_reaches_a_database() -> None:
    # regression: a NUL in a login e-mail made PostgreSQL raise (a 500) under schemathesis
    with pytest.raises(InputError, match="NUL"):
        read_case('{"patient": {"age_years": 40, "diagnosis": "stroke", "sex": "\\u0000"}}')


def test_the_event_memo_keeps_types_apart() -> None:
    # events read once are memoised by content; a boolean and a number must never share a key
    good = {
        "at": "2026-11-01T08:00",
        "kind": "it-test-dose",
        "dose": "50 ug",
        "response": {"effect": True, "duration_h": 6},
    }
    bad = {**good, "response": {"effect": 1, "duration_h": 6}}
    assert parse_case(case(history=[good])).history[0].response.effect is True  # type: ignore[union-attr]
    err = refused(case(history=[bad]))
    assert err.field == "history[0].response.effect"
    again = parse_case(case(history=[good]))
    assert again.history == parse_case(case(history=[dict(good)])).history
