"""FHIR R4 resources of the tests' patients, as an EHR would hold them: Ada on oral baclofen,
Ben with an intrathecal pump, and the HL7 example orders (another drug each), all in one
server so that a launch must read exactly its own patient."""

from __future__ import annotations

import json
from typing import Any

from casebuild import FIXTURES
from posology.interop.fhir_out import history_bundle
from posology.knowledge import Pack
from posology.model import parse_event

from .launch import MRN_SYSTEM

ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ORAL = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]}


def patient(pid: str, given: str, family: str, born: str, mrn: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"system": "https://north.example/insurance", "value": f"INS-{mrn}"},
            {"system": MRN_SYSTEM, "value": mrn},
        ],
        "name": [
            {"use": "nickname", "given": [given[:3]]},
            {"use": "official", "family": family, "given": [given]},
        ],
        "gender": "female",
        "birthDate": born,
    }


def observation(
    pid: str, code: str, value: float, unit: str, at: str, **more: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": at,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **more,
    }


def condition(pid: str, snomed: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": snomed}]},
    }


TABLET_10 = {
    "resourceType": "Medication",
    "id": "baclofen-10-tablet",
    "code": {
        "coding": [{"system": ATC, "code": "M03BX01", "display": "baclofen"}],
        "text": "Baclofen 10 mg tablet",
    },
    "ingredient": [
        {
            "itemCodeableConcept": {"text": "baclofen"},
            "strength": {
                "numerator": {"value": 10, "unit": "mg", "system": UCUM, "code": "mg"},
                "denominator": {"value": 1, "unit": "tablet"},
            },
        }
    ],
}


def oral_order(
    oid: str, pid: str, mg: float, times: int, start: str, status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationReference": {"reference": "Medication/baclofen-10-tablet"},
        "authoredOn": start[:10],
        "dosageInstruction": [
            {
                "route": ORAL,
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": start},
                        "frequency": times,
                        "period": 1,
                        "periodUnit": "d",
                    }
                },
                "doseAndRate": [
                    {"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
                ],
            }
        ],
    }


def hl7_examples(pid: str) -> list[dict[str, Any]]:
    """The HL7 FHIR R4 example orders and administrations (other drugs), made the patient's."""
    out = []
    for path in sorted((FIXTURES / "fhir-r4").glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        resource["subject"] = {"reference": f"Patient/{pid}"}
        out.append(resource)
    return out


def ada() -> list[dict[str, Any]]:
    """Ada: oral baclofen 20 mg three times a day, which replaced 10 mg three times a day (an
    order entered in error before it), weighed twice, her clearance measured, multiple
    sclerosis, and the HL7 example orders of other drugs."""
    return [
        patient("ada", "Ada", "Lovelace", "1970-05-04", "N-1001"),
        TABLET_10,
        oral_order("ada-bac-0", "ada", 200, 4, "2026-09-01T08:00:00+01:00", "entered-in-error"),
        oral_order("ada-bac-1", "ada", 10, 3, "2026-10-01T08:00:00+01:00", status="stopped"),
        oral_order("ada-bac-2", "ada", 20, 3, "2026-11-02T08:00:00+01:00"),
        observation("ada", "29463-7", 70, "kg", "2026-01-10"),
        observation("ada", "29463-7", 68.5, "kg", "2026-11-01"),
        observation("ada", "2164-2", 85, "mL/min", "2026-11-01"),
        condition("ada", "24700007"),
        *hl7_examples("ada"),
    ]


def someone_else() -> list[dict[str, Any]]:
    """Another patient of the same EHR, on a dose far above the maximum."""
    return [
        patient("cleo", "Cleo", "Other", "1980-01-01", "N-2002"),
        TABLET_10,
        oral_order("cleo-bac", "cleo", 50, 4, "2026-11-02T08:00:00+01:00"),
    ]


def ben(pack: Pack) -> list[dict[str, Any]]:
    """Ben: an intrathecal pump, filled with 20 mL of 500 ug/mL and infusing 100 ug/d, as
    Posology's own FHIR writer puts such a history (so the reader's marks are there)."""
    history = [
        parse_event(
            {
                "at": "2026-11-20T09:00:00+00:00",
                "kind": "pump-refill",
                "concentration": "500 ug/mL",
                "volume_ml": 20,
            },
            "refill",
        ),
        parse_event(
            {"at": "2026-11-20T09:30:00+00:00", "kind": "it-infusion", "daily_dose": "100 ug/d"},
            "infusion",
        ),
    ]
    out: list[dict[str, Any]] = [patient("ben", "Ben", "Pump", "1965-03-02", "N-3003")]
    for entry in history_bundle(history, pack)["entry"]:
        resource = entry["resource"]
        resource["id"] = f"ben-{resource['id']}"
        resource["subject"] = {"reference": "Patient/ben"}
        out.append(resource)
    return out
