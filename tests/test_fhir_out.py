"""`posology plan --format fhir`: a validated FHIR R4 Bundle with sequenced dosage instructions."""

from __future__ import annotations

import json

import pytest

from casebuild import EXAMPLES, FIXTURES
from posology.interop.fhir_out import validate
from test_cli import posology

PLANS = sorted((EXAMPLES / "plan").glob("*.json"))
SESSION_PLANS = [p for p in PLANS if p.name.startswith("injection-session")]
"""Plans of injection sessions, which are not written as FHIR yet."""


def bundle_for(name: str) -> dict:  # type: ignore[type-arg]
    result = posology("plan", str(EXAMPLES / "plan" / name), "--format", "fhir")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def dosages(bundle: dict) -> list[dict]:  # type: ignore[type-arg]
    return bundle["entry"][0]["resource"]["dosageInstruction"]


@pytest.mark.parametrize("path", [p for p in PLANS if p not in SESSION_PLANS], ids=lambda p: p.stem)
def test_every_goal_gives_a_valid_bundle_with_ucum_units(path) -> None:  # type: ignore[no-untyped-def]
    result = posology("plan", str(path), "--format", "fhir")
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    validate(bundle)
    assert "mcg" not in result.stdout
    request = bundle["entry"][0]["resource"]
    assert request["resourceType"] == "MedicationRequest" and request["intent"] == "plan"
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "M03BX01"


def test_a_session_plan_is_refused_as_fhir_naming_the_step() -> None:
    assert SESSION_PLANS
    for path in SESSION_PLANS:
        result = posology("plan", str(path), "--format", "fhir")
        assert result.returncode == 2, result.stderr
        assert "plan.steps[0]: is an injection session" in result.stderr
        assert "Traceback" not in result.stderr


def test_oral_titration_is_sequenced_with_bounds_times_and_mg() -> None:
    steps = dosages(bundle_for("oral-titration.json"))
    assert [d["sequence"] for d in steps] == [1, 2, 3, 4]
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in steps] == [5, 10, 15, 20]
    assert {d["doseAndRate"][0]["doseQuantity"]["code"] for d in steps} == {"mg"}
    first = steps[0]["timing"]["repeat"]
    assert first["boundsPeriod"] == {"start": "2026-12-01", "end": "2026-12-03"}  # until day 4
    assert first["frequency"] == 3 and first["period"] == 1 and first["periodUnit"] == "d"
    assert first["when"] == ["CM", "CD", "CV"]  # at breakfast, lunch and dinner (PO-MEALS)
    assert steps[0]["route"]["coding"][0]["code"] == "26643006"
    assert steps[0]["maxDosePerPeriod"]["numerator"]["value"] == 100  # PO-MAX
    assert "end" not in steps[-1]["timing"]["repeat"]["boundsPeriod"]


def test_a_childs_plan_states_the_childrens_maximum() -> None:
    steps = dosages(bundle_for("oral-titration-child.json"))
    assert {d["maxDosePerPeriod"]["numerator"]["value"] for d in steps} == {40}  # under 8 years


def test_intrathecal_steps_use_the_intrathecal_route_and_ug_per_day_rates() -> None:
    steps = dosages(bundle_for("it-titration.json"))
    rates = [d for d in steps if "rateQuantity" in d["doseAndRate"][0]]
    assert rates and all(d["route"]["coding"][0]["code"] == "72607000" for d in rates)
    assert rates[0]["doseAndRate"][0]["rateQuantity"] == {
        "value": 150,
        "unit": "ug/d",
        "system": "http://unitsofmeasure.org",
        "code": "ug/d",
    }
    test_doses = dosages(bundle_for("it-screening.json"))
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in test_doses] == [50, 75, 100]
    assert {d["doseAndRate"][0]["doseQuantity"]["code"] for d in test_doses} == {"ug"}


def test_findings_travel_as_detected_issues() -> None:
    bundle = bundle_for("oral-taper.json")  # a patient with diabetes: a SUP-CAUTION note
    issues = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DetectedIssue"
    ]
    assert any(i["code"]["text"] == "SUP-CAUTION" and i["severity"] == "moderate" for i in issues)


def test_the_fhir_taper_example_has_the_shape_we_write() -> None:
    example = FIXTURES / "fhir-r4" / "MedicationRequest-medrx0303.json"
    dosage = json.loads(example.read_text())["dosageInstruction"][0]
    ours = dosages(bundle_for("oral-taper.json"))[0]
    assert set(dosage["timing"]["repeat"]) >= {"boundsPeriod", "frequency", "period", "periodUnit"}
    assert set(ours["timing"]["repeat"]) >= set(dosage["timing"]["repeat"])
    assert "sequence" in dosage and "sequence" in ours


def test_history_goes_out_as_administrations_and_requests() -> None:
    from posology.interop.fhir_out import history_bundle
    from posology.knowledge import load_pack
    from posology.model import parse_event

    events = [
        parse_event(e, "h")
        for e in (
            {"at": "2026-11-01T09:00:00+01:00", "kind": "it-test-dose", "dose": "50 ug"},
            {
                "at": "2026-11-10T10:00:00+01:00",
                "kind": "pump-refill",
                "concentration": "500 ug/mL",
                "volume_ml": 20,
            },
            {"at": "2026-11-10T12:00:00+01:00", "kind": "it-infusion", "daily_dose": "100 ug/d"},
            {"at": "2026-11-12T12:00:00+01:00", "kind": "it-infusion", "daily_dose": "120 ug/d"},
            {
                "at": "2026-10-01T08:00:00+01:00",
                "kind": "oral-regimen",
                "dose": "10 mg",
                "times_per_day": 3,
            },
        )
    ]
    bundle = history_bundle(events, load_pack())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == [
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationAdministration",
        "MedicationRequest",
        "MedicationRequest",
    ]
    refill = bundle["entry"][2]["resource"]
    # a refill is its volume of its concentration, marked as a refill (never a 10,000 ug dose)
    assert refill["category"]["coding"][0]["code"] == "pump-refill"
    assert refill["dosage"]["dose"] == {
        "value": 20,
        "unit": "mL",
        "system": "http://unitsofmeasure.org",
        "code": "mL",
    }
    strength = refill["contained"][0]["ingredient"][0]["strength"]
    assert (strength["numerator"]["value"], strength["numerator"]["code"]) == (500, "ug")
    assert (strength["denominator"]["value"], strength["denominator"]["code"]) == (1, "mL")
    first_rate = bundle["entry"][3]["resource"]
    assert first_rate["status"] == "completed"
    assert (
        first_rate["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"]
        == "2026-11-12T12:00:00+01:00"
    )


def test_regression_a_tizanidine_plan_as_fhir_failed_on_its_meal_rule(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tizanidine's food advice has no meal clock times; the FHIR plan asked for them."""
    request = {
        "patient": {"age_years": 50, "diagnosis": "multiple-sclerosis"},
        "history": [],
        "goal": {"kind": "oral-titration", "medicine": "tizanidine", "target_daily_dose": "12 mg"},
        "start": "2026-12-01T08:00",
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    result = posology("plan", str(path), "--format", "fhir")
    assert result.returncode == 0, result.stderr
    bundle = json.loads(result.stdout)
    validate(bundle)
    plan = bundle["entry"][0]["resource"]
    assert plan["medicationCodeableConcept"]["text"] == "tizanidine"
    first = plan["dosageInstruction"][0]
    assert first["doseAndRate"][0]["doseQuantity"]["value"] == 2  # the 2 mg start
    assert "always with food or always without" in first["additionalInstruction"][0]["text"]
