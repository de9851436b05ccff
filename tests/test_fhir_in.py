"""FHIR R4 in: orders and administrations into EVENTs, lenient on shape, strict on units."""

from __future__ import annotations

import json
from typing import Any

import pytest

from casebuild import FIXTURES as FOLDER
from posology.errors import InputError
from posology.interop.fhir_in import (
    events_from_medication_administration,
    events_from_medication_request,
    patient_from_fhir,
)
from posology.interop.fhir_out import plan_bundle
from posology.knowledge import load_pack
from posology.model import ItInfusion, OralRegimen, parse_event
from posology.planning import parse_request, plan

PACK = load_pack()

FIXTURES = FOLDER / "fhir-r4"
BACLOFEN = {
    "coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"}]
}
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}
INTRATHECAL = {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]}


def order(*dosages: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": BACLOFEN,
        "dosageInstruction": list(dosages),
    }


def dosage(**fields: Any) -> dict[str, Any]:
    base = {
        "route": ORAL,
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": "2026-12-01T08:00:00+01:00"},
                "frequency": 3,
                "period": 1,
                "periodUnit": "d",
            }
        },
    }
    return {**base, **fields}


def test_an_oral_order_becomes_an_oral_regimen() -> None:
    events = events_from_medication_request(
        order(
            dosage(
                doseAndRate=[
                    {
                        "doseQuantity": {
                            "value": 5,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ]
            )
        ),
        PACK,
    )
    assert events == [
        {
            "at": "2026-12-01T08:00:00+01:00",
            "kind": "oral-regimen",
            "dose": "5 mg",
            "times_per_day": 3,
        }
    ]
    assert isinstance(parse_event(events[0], "e"), OralRegimen)


def test_lenient_stu3_dose_on_the_dosage_and_mcg_without_a_system() -> None:
    it = dosage(route=INTRATHECAL, rateQuantity={"value": 150, "unit": "mcg/d"})
    events = events_from_medication_request(order(it), PACK)
    assert events[0]["daily_dose"] == "150 ug/d"  # UCUM out, whatever came in
    stu3 = dosage(doseQuantity={"value": 10, "unit": "mg"})
    assert events_from_medication_request(order(stu3), PACK)[0]["dose"] == "10 mg"


@pytest.mark.parametrize(
    ("bad", "field", "fragment"),
    [
        (dosage(doseAndRate=[{"doseQuantity": {"value": 5}}]), "doseQuantity", "no unit"),
        (
            dosage(doseAndRate=[{"doseQuantity": {"value": 1, "unit": "TAB", "code": "TAB"}}]),
            "doseQuantity",
            "strength is unknown",
        ),
        (
            dosage(doseAndRate=[{"doseQuantity": {"value": 5, "unit": "mL", "code": "mL"}}]),
            "doseQuantity",
            "a mass is due",
        ),
        (
            dosage(
                route={"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
                doseAndRate=[{"doseQuantity": {"value": 5, "code": "mg"}}],
            ),
            "route",
            "oral",
        ),
    ],
)
def test_strict_where_safety_needs_it(bad: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        events_from_medication_request(order(bad), PACK)
    assert field in err.value.field and fragment in err.value.message


def test_not_baclofen_is_refused() -> None:
    other = {**order(dosage()), "medicationCodeableConcept": {"text": "amoxicillin"}}
    with pytest.raises(InputError, match="not baclofen"):
        events_from_medication_request(other, PACK)


def test_an_intrathecal_bolus_administration_is_a_test_dose() -> None:
    given = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": BACLOFEN,
        "effectiveDateTime": "2026-11-20T09:00:00+01:00",
        "dosage": {
            "route": INTRATHECAL,
            "dose": {
                "value": 50,
                "unit": "ug",
                "system": "http://unitsofmeasure.org",
                "code": "ug",
            },
        },
    }
    assert events_from_medication_administration(given, PACK) == [
        {"at": "2026-11-20T09:00:00+01:00", "kind": "it-test-dose", "dose": "50 ug"}
    ]


def test_patient_weight_and_clearance_from_observations() -> None:
    doc = patient_from_fhir(
        {"resourceType": "Patient", "gender": "female", "birthDate": "1970-05-02"},
        [
            {
                "resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "effectiveDateTime": "2026-10-01",
                "valueQuantity": {"value": 154, "unit": "lb", "code": "[lb_av]"},
            },
            {
                "resourceType": "Observation",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2164-2"}]},
                "effectiveDateTime": "2026-10-01",
                "valueQuantity": {"value": 45, "code": "mL/min"},
            },
        ],
        diagnosis="multiple-sclerosis",
    )
    assert doc == {
        "diagnosis": "multiple-sclerosis",
        "sex": "female",
        "birth_date": "1970-05-02",
        "weight_kg": 69.853,
        "creatinine_clearance_ml_min": 45.0,
    }


@pytest.mark.parametrize("name", ["oral-titration", "it-titration"])
def test_round_trip_plan_to_fhir_to_events(name: str) -> None:
    from casebuild import EXAMPLES

    document = json.loads((EXAMPLES / "plan" / f"{name}.json").read_text())
    document["start"] += "+01:00"
    document["history"] = [{**e, "at": e["at"] + "+01:00"} for e in document.get("history", [])]
    request = parse_request(document)
    result = plan(request, load_pack())
    bundle = plan_bundle(result, load_pack())
    back = [
        parse_event(e, "e")
        for e in events_from_medication_request(bundle["entry"][0]["resource"], PACK)
    ]
    planned = [s.event for s in result.steps if isinstance(s.event, (OralRegimen, ItInfusion))]

    # the dosing content is the same (the tablet strength chosen is an instruction, not an order)
    def content(e: Any) -> tuple[Any, ...]:
        return (e.at, e.daily_dose, getattr(e, "doses", None), getattr(e, "times", None))

    assert [content(e) for e in back] == [content(e) for e in planned]


def test_every_fhir_example_order_is_read_or_refused_with_a_field() -> None:
    paths = sorted(FIXTURES.glob("MedicationRequest-*.json"))
    assert len(paths) == 20
    for path in paths:
        resource = json.loads(path.read_text())
        resource["medicationCodeableConcept"] = (
            BACLOFEN  # read their dosage structure as if baclofen
        )
        resource.pop("medicationReference", None)
        try:
            events_from_medication_request(resource, PACK)
        except InputError as exc:
            assert exc.field.startswith("MedicationRequest") and exc.message, path.name


def test_the_fhir_example_administrations_are_refused_with_a_field() -> None:
    for name in (
        "MedicationAdministration-medadmin0303.json",
        "MedicationAdministration-medadmin0305.json",
    ):
        resource = json.loads((FIXTURES / name).read_text())
        with pytest.raises(InputError) as err:  # neither is baclofen, neither intrathecal
            events_from_medication_administration(resource, PACK)
        assert err.value.field.startswith("MedicationAdministration")
        resource["medicationCodeableConcept"] = BACLOFEN
        with pytest.raises(InputError, match="intrathecal"):
            events_from_medication_administration(resource, PACK)


def test_structure_wins_over_text_in_the_taper_example() -> None:
    # medrx0303 is a taper whose Dosage.text and boundsPeriod dates disagree: the dates are used
    path = FIXTURES / "MedicationRequest-medrx0303.json"
    resource = json.loads(path.read_text())
    resource["medicationCodeableConcept"] = BACLOFEN
    for dosage in resource["dosageInstruction"]:  # tablets are not a mass: give each step one
        dosage["doseAndRate"][0]["doseQuantity"] = {"value": 5, "unit": "mg", "code": "mg"}
    events = events_from_medication_request(resource, PACK)
    starts = [d["timing"]["repeat"]["boundsPeriod"]["start"] for d in resource["dosageInstruction"]]
    assert [e["at"][:10] for e in events] == sorted(starts)


# -- regressions: a FHIR field of the wrong JSON type (issue 12) ---------------------------------

MG = {"value": 5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
D0 = "MedicationRequest.dosageInstruction[0]"


def five_mg_order() -> dict[str, Any]:
    return order(dosage(doseAndRate=[{"doseQuantity": dict(MG)}]))


def put(document: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    """A copy of ``document`` with ``value`` at ``path``."""
    copy = json.loads(json.dumps(document))
    here = copy
    for step in path[:-1]:
        here = here[step]
    here[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        # _route read .get of a route, a coding, or a dosage that was no object
        (("dosageInstruction", 0, "route"), "oral", f"{D0}.route"),
        (("dosageInstruction", 0, "route", "coding"), "26643006", f"{D0}.route.coding"),
        (("dosageInstruction", 0, "route", "coding", 0), 26643006, f"{D0}.route.coding[0]"),
        (("dosageInstruction", 0, "route", "coding", 0, "code"), [1], f"{D0}.route.coding[0].code"),
        (("dosageInstruction", 0), 5, D0),
        (("dosageInstruction",), "5 mg three times a day", "MedicationRequest.dosageInstruction"),
        # _concept_is_baclofen read .get of a coding that was no object
        (
            ("medicationCodeableConcept", "coding", 0),
            "M03BX01",
            "MedicationRequest.medicationCodeableConcept.coding[0]",
        ),
        (
            ("medicationCodeableConcept", "coding"),
            5,
            "MedicationRequest.medicationCodeableConcept.coding",
        ),
        (("medicationReference",), "Medication/m1", "MedicationRequest.medicationReference"),
        # _start read .get of a boundsPeriod (or the dosage its timing) that was no object
        (
            ("dosageInstruction", 0, "timing", "repeat", "boundsPeriod"),
            ["2026-12-01T08:00:00+01:00"],
            f"{D0}.timing.repeat.boundsPeriod",
        ),
        (("dosageInstruction", 0, "timing"), [], f"{D0}.timing"),
        (("dosageInstruction", 0, "timing", "repeat"), "TID", f"{D0}.timing.repeat"),
        # events_from_medication_request: doseAndRate not a list of objects (a dict gave a
        # KeyError, a string an AttributeError), a list as a key (unhashable)
        (("dosageInstruction", 0, "doseAndRate"), "5 mg", f"{D0}.doseAndRate"),
        (("dosageInstruction", 0, "doseAndRate"), {"doseQuantity": MG}, f"{D0}.doseAndRate"),
        (("dosageInstruction", 0, "doseAndRate", 0), 5, f"{D0}.doseAndRate[0]"),
        (
            ("dosageInstruction", 0, "timing", "repeat", "periodUnit"),
            ["d"],
            f"{D0}.timing.repeat.periodUnit",
        ),
        (
            ("dosageInstruction", 0, "timing", "repeat", "timeOfDay"),
            8,
            f"{D0}.timing.repeat.timeOfDay",
        ),
        (
            ("dosageInstruction", 0, "timing", "repeat", "when"),
            [["MORN"]],
            f"{D0}.timing.repeat.when[0]",
        ),
        (("dosageInstruction", 0, "sequence"), [1], f"{D0}.sequence"),
    ],
)
def test_a_field_of_the_wrong_json_type_is_refused_naming_its_path_not_an_attribute_error(
    path: tuple[Any, ...], value: object, field: str
) -> None:
    assert events_from_medication_request(five_mg_order(), PACK)[0]["dose"] == "5 mg"
    with pytest.raises(InputError) as err:
        events_from_medication_request(put(five_mg_order(), path, value), PACK)
    assert err.value.field == field
    assert err.value.message.startswith("must be a")


@pytest.mark.parametrize(
    "start", ["x" * 300, "2026-02-30T08:00:00+00:00", "2026-12-01T25:00", "T", "2026-12"]
)
def test_a_start_that_is_no_iso_date_is_refused_naming_it_not_a_value_error(start: str) -> None:
    """The instant was only checked to be a text: datetime.fromisoformat, sorting the events,
    raised ValueError (a 500 in a CDS call)."""
    bad = put(five_mg_order(), ("dosageInstruction", 0, "timing", "repeat", "boundsPeriod"), {})
    bad["authoredOn"] = start
    for document in (
        put(
            five_mg_order(),
            ("dosageInstruction", 0, "timing", "repeat", "boundsPeriod"),
            {"start": start},
        ),
        bad,
    ):
        with pytest.raises(InputError) as err:
            events_from_medication_request(document, PACK)
        assert err.value.field == f"{D0}.timing.repeat.boundsPeriod.start"
        assert "not a FHIR dateTime" in err.value.message and "e.g." in err.value.message


def test_dosages_with_and_without_a_time_zone_are_refused_not_a_type_error() -> None:
    """Sorting an aware and a naive start (a date alone) raised TypeError."""
    aware = dosage(doseAndRate=[{"doseQuantity": MG}])
    naive = put(aware, ("timing", "repeat", "boundsPeriod", "start"), "2026-12-05")
    with pytest.raises(InputError) as err:
        events_from_medication_request(order(aware, naive), PACK)
    assert err.value.field == "MedicationRequest.dosageInstruction"
    assert "time zone" in err.value.message


def test_an_administration_dosage_given_as_a_list_is_refused_naming_it() -> None:
    given = {
        "resourceType": "MedicationAdministration",
        "medicationCodeableConcept": BACLOFEN,
        "effectiveDateTime": "2026-11-20T09:00:00+01:00",
        "dosage": [{"route": INTRATHECAL, "dose": {"value": 50, "code": "ug"}}],
    }
    with pytest.raises(InputError) as err:
        events_from_medication_administration(given, PACK)
    assert err.value.field == "MedicationAdministration.dosage"


def test_an_observation_code_given_as_a_text_is_refused_naming_it() -> None:
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1980-01-01"}
    weight = {"resourceType": "Observation", "code": "29463-7", "valueQuantity": {"value": 70}}
    with pytest.raises(InputError) as err:
        patient_from_fhir(patient, [weight], "stroke")
    assert err.value.field == "Observation[0].code"
