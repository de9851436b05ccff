"""Regressions in reading documents and FHIR (issue 9): each test is named after what broke."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebuild import adult, oral
from posology.errors import InputError
from posology.interop.fhir_in import (
    events_from_medication_administration,
    events_from_medication_request,
    fhir_number,
    history_from_bundle,
)
from posology.interop.fhir_out import history_bundle
from posology.knowledge import load_pack
from posology.model import ItInfusion, OralRegimen, PumpRefill, parse_event, read_case
from posology.model.documents import load_json, sort_history
from posology.planning import read_request
from test_cli import posology

PACK = load_pack()
BACLOFEN = {
    "coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"}]
}
INTRATHECAL = {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]}


def case_text(proposal: str, patient: dict[str, Any] | None = None) -> str:
    return json.dumps({"patient": patient or adult(), "history": []})[:-1] + (
        f', "proposal": {proposal}}}'
    )


# -- 1. duplicate keys ---------------------------------------------------------------------


def test_a_dose_given_twice_in_one_event_is_refused_not_read_as_the_last() -> None:
    text = case_text(
        '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", '
        '"dose": "50 mg", "times_per_day": 3}'
    )
    with pytest.raises(InputError) as err:
        read_case(text)
    assert err.value.field == "proposal.dose"
    assert "twice" in err.value.message


def test_a_repeated_key_names_the_path_of_its_object_in_lists_too() -> None:
    with pytest.raises(InputError) as err:
        load_json('{"history": [{"a": 1}, {"at": "x", "at": "y"}]}')
    assert err.value.field == "history[1].at"
    with pytest.raises(InputError) as top:
        load_json('{"a": 1, "a": 1}')
    assert top.value.field == "a"


def test_a_repeated_key_makes_the_cli_exit_2_naming_the_field(tmp_path: Any) -> None:
    path = tmp_path / "case.json"
    path.write_text(
        case_text(
            '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", '
            '"times_per_day": 3, "times_per_day": 4}'
        )
    )
    result = posology("check", str(path))
    assert result.returncode == 2
    assert "proposal.times_per_day" in result.stderr


# -- 2. birth date after the event ----------------------------------------------------------


def test_a_birth_date_after_the_proposal_is_refused() -> None:
    patient = {"birth_date": "2062-05-01", "diagnosis": "multiple-sclerosis"}
    with pytest.raises(InputError) as err:
        read_case(json.dumps({"patient": patient, "proposal": oral("2026-12-01T08:00", "5 mg")}))
    assert err.value.field == "patient.birth_date"


def test_a_history_event_before_birth_is_refused() -> None:
    patient = {"birth_date": "2020-05-01", "diagnosis": "cerebral-palsy"}
    document = {
        "patient": patient,
        "history": [oral("2019-12-01T08:00", "5 mg")],
        "proposal": oral("2026-12-01T08:00", "5 mg"),
    }
    with pytest.raises(InputError) as err:
        read_case(json.dumps(document))
    assert err.value.field == "history[0].at"


def test_a_plan_request_starting_before_birth_is_refused() -> None:
    document = {
        "patient": {"birth_date": "2027-01-02", "diagnosis": "cerebral-palsy"},
        "goal": {"kind": "oral-titration"},
        "start": "2026-12-01T08:00",
    }
    with pytest.raises(InputError) as err:
        read_request(json.dumps(document))
    assert err.value.field == "patient.birth_date"


def test_born_on_the_day_of_the_event_is_accepted() -> None:
    patient = {"birth_date": "2026-12-01", "diagnosis": "cerebral-palsy"}
    case = read_case(json.dumps({"patient": patient, "proposal": oral("2026-12-01T08:00", "1 mg")}))
    assert case.patient.birth_date is not None


# -- 3. benign forms accepted ---------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["3", "3.0", "3e0", "30e-1"])
def test_times_per_day_written_3_0_is_read_as_3_not_refused(spelling: str) -> None:
    case = read_case(
        case_text(
            '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", '
            f'"times_per_day": {spelling}}}'
        )
    )
    assert isinstance(case.proposal, OralRegimen) and case.proposal.times_per_day == 3


def test_times_per_day_3_5_is_still_refused() -> None:
    with pytest.raises(InputError) as err:
        read_case(
            case_text(
                '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", '
                '"times_per_day": 3.5}'
            )
        )
    assert err.value.field == "proposal.times_per_day"


def test_goal_times_per_day_written_4_0_is_read_as_4() -> None:
    document = (
        '{"patient": {"age_years": 46, "diagnosis": "multiple-sclerosis"}, '
        '"goal": {"kind": "oral-titration", "times_per_day": 4.0}, "start": "2026-12-01T08:00"}'
    )
    assert read_request(document).goal.times_per_day == 4


def test_a_flex_schedule_out_of_order_is_sorted_not_refused() -> None:
    given_order = [
        {"start": "22:00", "daily_rate": "160 ug/d"},
        {"start": "06:00", "daily_rate": "80 ug/d"},
    ]
    event = parse_event(
        {
            "at": "2026-12-01T08:00",
            "kind": "it-infusion",
            "daily_dose": "106.67 ug/d",
            "schedule": given_order,
        },
        "e",
    )
    assert isinstance(event, ItInfusion) and event.schedule is not None
    assert [s.start for s in event.schedule] == ["06:00", "22:00"]


def test_a_flex_schedule_with_a_start_twice_is_still_refused() -> None:
    with pytest.raises(InputError) as err:
        parse_event(
            {
                "at": "2026-12-01T08:00",
                "kind": "it-infusion",
                "daily_dose": "100 ug/d",
                "schedule": [
                    {"start": "06:00", "daily_rate": "100 ug/d"},
                    {"start": "06:00", "daily_rate": "100 ug/d"},
                ],
            },
            "e",
        )
    assert err.value.field == "e.schedule" and "06:00" in err.value.message


@pytest.mark.parametrize("as_bytes", [True, False])
def test_a_utf8_byte_order_mark_is_dropped_not_refused(as_bytes: bool) -> None:
    text = "\ufeff" + case_text(json.dumps(oral("2026-12-01T08:00", "5 mg")))
    case = read_case(text.encode("utf-8") if as_bytes else text)
    assert isinstance(case.proposal, OralRegimen)


# -- 4. every event kind survives FHIR export and import --------------------------------------


def round_trip(events: list[Any]) -> tuple[Any, ...]:
    bundle = history_bundle(events, PACK)
    back = history_from_bundle(json.loads(json.dumps(bundle)), PACK)
    return sort_history([(f"b{i}", parse_event(e, f"b{i}")) for i, e in enumerate(back)])


def test_a_pump_refill_is_read_back_as_a_refill_not_a_10000_ug_test_dose() -> None:
    refill = parse_event(
        {
            "at": "2026-11-10T10:00:00+01:00",
            "kind": "pump-refill",
            "concentration": "500 ug/mL",
            "volume_ml": 20,
        },
        "h",
    )
    assert round_trip([refill]) == (refill,)


DOSES = st.sampled_from(["2.5 mg", "5 mg", "10 mg", "12.5 mg", "20 mg", "25 mg"])
CLOCKS = st.integers(0, 23 * 60 + 59).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=1))])


@st.composite
def oral_regimens(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 24))
    out: dict[str, Any] = {"kind": "oral-regimen"}
    if draw(st.booleans()):
        out["doses"] = draw(st.lists(DOSES, min_size=n, max_size=n))
    else:
        out["dose"], out["times_per_day"] = draw(DOSES), n
    if draw(st.booleans()):
        out["times"] = draw(st.lists(CLOCKS, min_size=n, max_size=n, unique=True))
    form = draw(st.sampled_from([None, "tablet", "solution"]))
    if form is not None:
        out["form"] = form
        if draw(st.booleans()):
            out["strength"] = draw(
                st.sampled_from(["10 mg", "25 mg"] if form == "tablet" else ["1 mg/mL", "5 mg/mL"])
            )
    return out


@st.composite
def infusions(draw: Any) -> dict[str, Any]:
    if not draw(st.booleans()):
        return {"kind": "it-infusion", "daily_dose": f"{draw(st.integers(20, 900))} ug/d"}
    starts = sorted(draw(st.lists(CLOCKS, min_size=1, max_size=4, unique=True)))
    rates = draw(st.lists(st.integers(20, 900), min_size=len(starts), max_size=len(starts)))
    schedule = [{"start": s, "daily_rate": f"{r} ug/d"} for s, r in zip(starts, rates, strict=True)]
    mean = _schedule_mean(schedule)
    order = draw(st.permutations(schedule))  # any order: the reader sorts by start
    return {"kind": "it-infusion", "daily_dose": mean, "schedule": list(order)}


def _schedule_mean(schedule: list[dict[str, str]]) -> str:
    from posology.model.events import ScheduleSegment, schedule_mean
    from posology.units import parse_quantity

    segments = tuple(ScheduleSegment(s["start"], parse_quantity(s["daily_rate"])) for s in schedule)
    return schedule_mean(segments).code(places=2)


@st.composite
def bolus_doses(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "it-test-dose",
        "dose": draw(st.sampled_from(["25 ug", "50 ug", "75 ug", "100 ug"])),
    }
    response = draw(st.sampled_from([None, "none", "effect"]))
    if response == "none":
        out["response"] = {"effect": False}
    elif response == "effect":
        out["response"] = {"effect": True, "duration_h": draw(st.integers(1, 72))}
    return out


@st.composite
def refills(draw: Any) -> dict[str, Any]:
    volume = draw(st.sampled_from([10, 18, 20, 40]))
    out: dict[str, Any] = {
        "kind": "pump-refill",
        "concentration": draw(st.sampled_from(["50 ug/mL", "500 ug/mL", "2000 ug/mL", "1 mg/mL"])),
        "volume_ml": volume,
    }
    if draw(st.booleans()):
        out["alarm_ml"] = draw(st.sampled_from([2, 4]))
    if draw(st.booleans()):
        out["residual_ml"] = draw(st.sampled_from([0, 1.5, 9, 9.35, 12]))
    if draw(st.booleans()):
        out["lot"] = draw(st.sampled_from(["L2403A", "24-117 B"]))
    if draw(st.booleans()):
        out["checked_by"] = draw(st.sampled_from(["A. Nurse", "Dr B. Check"]))
    if draw(st.booleans()):
        out["bridge_volume_ml"] = draw(st.sampled_from([0.2, 0.35, 1]))
    return out


KINDS = st.one_of(
    oral_regimens(),
    st.just({"kind": "oral-stop"}),
    bolus_doses(),
    st.just({"kind": "pump-implant"}),
    infusions(),
    refills(),
    st.just({"kind": "it-stable"}),
    st.just({"kind": "it-stop"}),
    st.builds(lambda n: {"kind": "review", "note": n}, st.sampled_from(["check tone", "call"])),
)


@st.composite
def histories(draw: Any) -> list[Any]:
    zone = draw(ZONES)
    at = datetime(2026, 1, 1, 8, 0, tzinfo=zone)
    events = []
    for body in draw(st.lists(KINDS, min_size=1, max_size=8)):
        at += timedelta(minutes=draw(st.integers(1, 60 * 24 * 20)))
        stamp = at.isoformat(timespec="minutes")
        events.append(parse_event({"at": stamp, **body}, "h"))
    return events


@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_event_kind_survives_fhir_export_and_import_unchanged(events: list[Any]) -> None:
    assert round_trip(events) == sort_history([("h", e) for e in events])


# -- 4. real EHR shapes ------------------------------------------------------------------


def administration(**fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-10T10:00:00+01:00",
        **fields,
    }


def test_an_ehr_refill_in_ml_with_the_medications_strength_is_a_refill() -> None:
    resource = administration(
        contained=[
            {
                "resourceType": "Medication",
                "id": "m",
                "code": BACLOFEN,
                "ingredient": [
                    {
                        "itemCodeableConcept": BACLOFEN,
                        "strength": {
                            "numerator": {"value": 500, "code": "ug"},
                            "denominator": {"value": 1, "code": "mL"},
                        },
                    }
                ],
            }
        ],
        medicationReference={"reference": "#m"},
        category={"text": "Intrathecal pump refill"},
        device=[{"reference": "Device/pump"}],
        dosage={"route": INTRATHECAL, "dose": {"value": 20.0, "unit": "mL", "code": "mL"}},
    )
    [event] = events_from_medication_administration(resource, PACK)
    refill = parse_event(event, "e")
    assert isinstance(refill, PumpRefill)
    assert refill.volume.in_("mL") == 20 and refill.concentration.in_("ug/mL") == 500


def test_an_ehr_refill_with_the_concentration_in_the_dosage_text_is_a_refill() -> None:
    resource = administration(
        medicationCodeableConcept=BACLOFEN,
        category={"coding": [{"display": "Pump refill"}]},
        dosage={
            "text": "Refill 20 mL of baclofen 2000 mcg/mL",
            "route": INTRATHECAL,
            "dose": {"value": 20, "unit": "mL"},
        },
    )
    [event] = events_from_medication_administration(resource, PACK)
    assert event["kind"] == "pump-refill" and event["concentration"] == "2000 ug/mL"


def test_an_unmarked_intrathecal_volume_is_refused_not_read_as_a_test_dose() -> None:
    resource = administration(
        medicationCodeableConcept=BACLOFEN,
        dosage={
            "text": "500 ug/mL",
            "route": INTRATHECAL,
            "dose": {"value": 20, "unit": "mL", "code": "mL"},
        },
    )
    with pytest.raises(InputError) as err:
        events_from_medication_administration(resource, PACK)
    assert err.value.field == "MedicationAdministration.category"


def test_an_infusion_order_with_a_rate_ratio_in_ug_per_day_is_an_infusion() -> None:
    order = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": BACLOFEN,
        "dosageInstruction": [
            {
                "route": INTRATHECAL,
                "timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01T09:00:00Z"}}},
                "doseAndRate": [
                    {
                        "rateRatio": {
                            "numerator": {"value": Decimal("250.0"), "code": "ug"},
                            "denominator": {"value": 1, "code": "d"},
                        }
                    }
                ],
            }
        ],
    }
    [event] = events_from_medication_request(order, PACK)
    infusion = parse_event(event, "e")
    assert isinstance(infusion, ItInfusion)
    assert infusion.at == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert infusion.daily_dose.in_("ug/d") == 250


# -- 5. every FHIR number form reads the same --------------------------------------------


@pytest.mark.parametrize("text", ["500", "500.0", "5e2", "5.00E+2", "500.000"])
def test_a_fhir_number_reads_the_same_in_every_json_form(text: str) -> None:
    value = load_json(f'{{"value": {text}}}')["value"]
    assert fhir_number(value, "x") == 500


# -- 6. the pack given is the pack used ----------------------------------------------------


def test_the_fhir_reader_uses_the_pack_it_is_given_not_a_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import posology.knowledge as knowledge

    def no_default() -> None:
        raise AssertionError("the reader loaded a pack of its own")

    monkeypatch.setattr(knowledge, "load_pack", no_default)
    order = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": BACLOFEN,
        "dosageInstruction": [
            {
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]},
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2026-12-01T08:00:00Z"},
                        "when": ["CM", "CD", "CV"],
                    }
                },
                "doseAndRate": [{"doseQuantity": {"value": 5, "code": "mg"}}],
            }
        ],
    }
    [event] = events_from_medication_request(order, PACK)
    assert event["times"] == list(PACK.rule("PO-MEALS").code_list("meal_times"))
