"""The pump clinic over HTTP: a patient's pump status and the clinic's refill worklist, dated in
the clinic's time zone; another clinic's patient is not found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dbhelp import Accounts
from posology.services.clinic import set_clinic_zone

PUMP_PATIENT = {
    "age_years": 45,
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"},
}
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _filled(client: TestClient, headers: dict[str, str], label: str, days_ago: float) -> int:
    """A patient filled ``days_ago`` with 20 mL of 500 µg/mL at 250 µg/day (0.5 mL/day): the
    2 mL alarm comes 36 days after the fill, the reservoir is empty after 40."""
    created = client.post(
        "/api/v1/patients", headers=headers, json={"patient": PUMP_PATIENT, "label": label}
    )
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    history: list[dict[str, Any]] = [
        {
            "at": _at(days_ago + 30),
            "kind": "it-test-dose",
            "dose": "50 ug",
            "response": {"effect": True, "duration_h": 6},
        },
        {"at": _at(days_ago + 1), "kind": "pump-implant"},
        {"at": _at(days_ago), "kind": "pump-refill", "concentration": "500 ug/mL", "volume_ml": 20},
        {"at": _at(days_ago), "kind": "it-infusion", "daily_dose": "250 ug/d"},
    ]
    for event in history:
        answer = client.post(
            f"/api/v1/patients/{pid}/events",
            headers=headers,
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert answer.status_code == 201, answer.text
    return pid


def test_pump_status_dates_the_current_fill_in_the_clinics_time_zone(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _filled(client, accounts.clinician, "P. Ump", 20)
    answer = client.get(f"/api/v1/patients/{pid}/pump-status", headers=accounts.clinician)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    berlin = ZoneInfo("Europe/Berlin")
    fill = NOW - timedelta(days=20)
    assert body["state"] == "ok"
    assert body["time_zone"] == "Europe/Berlin"
    assert body["pump"]["model"] == "SynchroMed II 20 mL"
    assert body["infusion"]["daily_dose"] == "250 ug/d"
    assert body["infusion"]["hourly_rate"] == "10.4 ug/h"
    assert body["last_fill"]["volume"] == "20 mL"
    assert body["expected_volume"] == "10 mL"
    assert body["alarm_at"] == (fill + timedelta(days=36)).astimezone(berlin).isoformat(
        timespec="minutes"
    )
    assert body["empty_at"] == (fill + timedelta(days=40)).astimezone(berlin).isoformat(
        timespec="minutes"
    )
    assert body["booking_window"]["opens"] == (fill + timedelta(days=31)).astimezone(
        berlin
    ).isoformat(timespec="minutes")
    other = client.get(f"/api/v1/patients/{pid}/pump-status", headers=accounts.other_clinic)
    assert other.status_code == 404


def test_worklist_puts_the_empty_and_past_alarm_patients_first_then_by_due_date(
    client: TestClient, accounts: Accounts
) -> None:
    h = accounts.clinician
    _filled(client, h, "Later", 2)  # due in about four weeks
    _filled(client, h, "Soon", 32)  # in the booking window
    _filled(client, h, "Past alarm", 37)
    _filled(client, h, "Empty", 41)
    _filled(client, h, "Overdue", 34)  # past the window's end, before the alarm
    client.post(
        "/api/v1/patients",
        headers=h,
        json={"patient": {"age_years": 30, "diagnosis": "stroke"}, "label": "No pump"},
    )
    body = client.get("/api/v1/worklist", headers=h).json()
    assert [(p["label"], p["state"]) for p in body["patients"]] == [
        ("Empty", "empty"),
        ("Past alarm", "past-alarm"),
        ("Overdue", "overdue"),
        ("Soon", "due"),
        ("Later", "ok"),
    ]
    assert body["counts"] == {
        "pump_patients": 5,
        "empty": 1,
        "past_alarm": 1,
        "overdue": 1,
        "due_this_week": 4,
        "steps_due": 0,
    }
    assert body["patients"][0]["findings"][0]["severity"] == "critical"
    overdue = client.get("/api/v1/worklist?filter=overdue", headers=h).json()
    assert [p["label"] for p in overdue["patients"]] == ["Empty", "Past alarm", "Overdue"]
    week = client.get("/api/v1/worklist?filter=week", headers=h).json()
    assert [p["label"] for p in week["patients"]] == ["Empty", "Past alarm", "Overdue", "Soon"]
    refused = client.get("/api/v1/worklist?filter=late", headers=h)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "filter"
    assert client.get("/api/v1/worklist", headers=accounts.other_clinic).json()["patients"] == []


def test_worklist_lists_planned_steps_due_today_or_overdue_until_confirmed(
    client: TestClient, accounts: Accounts
) -> None:
    h = accounts.clinician
    pid = _filled(client, h, "Refill plan", 33)
    start = (NOW - timedelta(hours=1)).isoformat()
    saved = client.post(
        f"/api/v1/patients/{pid}/plans",
        headers=h,
        json={"goal": {"kind": "it-refill"}, "start": start},
    )
    assert saved.status_code == 201, saved.text
    steps = client.get("/api/v1/worklist", headers=h).json()["steps"]
    assert [s["kind"] for s in steps] == ["pump-refill"]
    assert steps[0]["label"] == "Refill plan"
    position = steps[0]["position"]
    plan_id = saved.json()["id"]
    done = client.post(
        f"/api/v1/patients/{pid}/plans/{plan_id}/steps/{position}/confirm",
        headers=h,
        json={},
    )
    assert done.status_code == 201, done.text
    assert client.get("/api/v1/worklist", headers=h).json()["steps"] == []
