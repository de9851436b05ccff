"""The pump clinic's workflows over HTTP: the refill preview, the screening ladder and the limits
on the next dose change, in the clinic's time zone; another clinic's patient is not found."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dbhelp import Accounts
from posology.knowledge import load_pack
from posology.services.clinic import set_clinic_zone

PATIENT = {
    "age_years": 45,
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "origin": "spinal",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}


def _patient(client: TestClient, headers: dict[str, str], events: list[dict[str, Any]]) -> int:
    created = client.post("/api/v1/patients", headers=headers, json={"patient": PATIENT})
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    for event in events:
        answer = client.post(
            f"/api/v1/patients/{pid}/events",
            headers=headers,
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert answer.status_code == 201, answer.text
    return pid


FILLED = [
    {"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 ug",
     "response": {"effect": True, "duration_h": 6}},
    {"at": "2026-10-31T09:00", "kind": "pump-implant"},
    {"at": "2026-11-01T09:00", "kind": "pump-refill", "concentration": "500 ug/mL",
     "volume_ml": 20},
    {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"},
]  # fmt: skip


def test_refill_preview_shows_the_discrepancy_the_bridge_and_the_new_alarm(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _patient(client, accounts.clinician, FILLED)
    body = {
        "event": {
            "at": "2026-11-20T09:00",
            "kind": "pump-refill",
            "concentration": "1000 ug/mL",
            "volume_ml": 20,
            "residual_ml": 9,
            "lot": "L2403A",
            "checked_by": "A. Nurse",
            "bridge_volume_ml": 0.5,
        },
        "infusion": {"at": "2026-11-20T09:05", "kind": "it-infusion", "daily_dose": "300 ug/d"},
    }
    answer = client.post(
        f"/api/v1/patients/{pid}/refill-preview", headers=accounts.clinician, json=body
    )
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["expected_residual"] == "10.5 mL" and out["residual"] == "9 mL"
    assert out["discrepancy"] == "15.8 %"
    assert out["before"]["concentration"] == "500 ug/mL"
    assert out["before"]["hourly_rate"] == "10.4 ug/h"
    assert out["after"]["daily_dose"] == "300 ug/d" and out["after"]["hourly_rate"] == "12.5 ug/h"
    assert out["bridge"]["duration_h"] == 20.0 and out["bridge"]["dose"] == "250 ug"
    assert out["next"]["alarm_at"] == "2027-01-19T09:00+01:00"
    rules = {(f["rule"], f["severity"]) for f in out["findings"]}
    assert ("SUP-IT-RESIDUAL", "warning") in rules and ("SUP-IT-BRIDGE", "warning") in rules
    # nothing was saved
    events = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()
    assert len(events) == len(FILLED)
    # saving the refill keeps its new fields and its finding
    saved = client.post(
        f"/api/v1/patients/{pid}/events", headers=accounts.clinician, json={"event": body["event"]}
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["event"]["lot"] == "L2403A"
    assert saved.json()["event"]["residual_ml"] == 9
    assert "SUP-IT-RESIDUAL" in {f["rule"] for f in saved.json()["findings"]}


def test_a_refill_preview_of_another_kind_is_refused_naming_the_field(
    client: TestClient, accounts: Accounts
) -> None:
    pid = _patient(client, accounts.clinician, FILLED)
    answer = client.post(
        f"/api/v1/patients/{pid}/refill-preview",
        headers=accounts.clinician,
        json={"event": {"at": "2026-11-20T09:00", "kind": "it-stop"}},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "event.kind"


def test_the_screening_ladder_records_responses_by_superseding_the_test_dose(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    dose = {"at": "2026-11-01T09:00", "kind": "it-test-dose", "dose": "50 ug"}
    pid = _patient(client, accounts.clinician, [dose])
    first = client.get(f"/api/v1/patients/{pid}/screening", headers=accounts.clinician).json()
    assert first["state"] == "pending" and first["next"] is None
    event_id = first["doses"][0]["event_id"]
    corrected = client.post(
        f"/api/v1/patients/{pid}/events",
        headers=accounts.clinician,
        json={"event": {**dose, "response": {"effect": False}}, "supersedes": event_id},
    )
    assert corrected.status_code == 201, corrected.text
    ladder = client.get(f"/api/v1/patients/{pid}/screening", headers=accounts.clinician).json()
    assert ladder["state"] == "in-progress"
    assert [d["event_id"] for d in ladder["doses"]] == [corrected.json()["id"]]
    assert ladder["next"] == {"dose": "75 ug", "earliest": "2026-11-02T09:00+01:00"}
    client.post(
        f"/api/v1/patients/{pid}/events",
        headers=accounts.clinician,
        json={
            "event": {
                "at": "2026-11-02T10:00",
                "kind": "it-test-dose",
                "dose": "75 ug",
                "response": {"effect": True, "duration_h": 6},
            }
        },
    )
    done = client.get(f"/api/v1/patients/{pid}/screening", headers=accounts.clinician).json()
    assert done["state"] == "responder"
    assert done["infusion_start"]["daily_dose"] == "150 ug/d"
    assert done["infusion_start"]["hourly_rate"] == "6.3 ug/h"


def test_change_limits_give_the_largest_dose_and_the_earliest_time(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _patient(client, accounts.clinician, FILLED)
    answer = client.get(f"/api/v1/patients/{pid}/change-limits", headers=accounts.clinician)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "intrathecal": {
            "daily_dose": "250 ug/d",
            "phase": "titration",
            "largest": "325 ug/d",
            "smallest_without_warning": "200 ug/d",
            "earliest_increase": "2026-11-02T09:00+01:00",
            "rule": "IT-TITR-STEP",
            "usual_increase_from": "275 ug/d",
        },
        "oral": None,
        "pack": {"medicine": "baclofen", "profile": "default", "title": load_pack().title},
    }


def test_another_clinics_patient_is_not_found_on_every_pump_clinic_route(
    client: TestClient, accounts: Accounts
) -> None:
    pid = _patient(client, accounts.clinician, FILLED)
    other = accounts.other_clinic
    body = {"event": {**FILLED[2], "at": "2026-11-20T09:00"}}
    calls = [
        client.post(f"/api/v1/patients/{pid}/refill-preview", headers=other, json=body),
        client.get(f"/api/v1/patients/{pid}/screening", headers=other),
        client.get(f"/api/v1/patients/{pid}/change-limits", headers=other),
    ]
    assert [c.status_code for c in calls] == [404, 404, 404]


def test_the_new_routes_are_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/patients/{patient_id}/refill-preview"]
    assert "get" in paths["/api/v1/patients/{patient_id}/screening"]
    assert "get" in paths["/api/v1/patients/{patient_id}/change-limits"]
