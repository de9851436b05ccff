"""Regressions of the stored record: what the server refuses before it appends to a history."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dbhelp import Accounts


def test_an_event_dated_before_the_stored_birth_date_is_refused_naming_the_field(
    client: TestClient, accounts: Accounts
) -> None:
    created = client.post(
        "/api/v1/patients",
        headers=accounts.clinician,
        json={
            "label": "C.D.",
            "patient": {"birth_date": "2026-06-01", "diagnosis": "cerebral-palsy"},
        },
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    answer = client.post(
        f"/api/v1/patients/{pid}/events",
        headers=accounts.clinician,
        json={"event": {"at": "2026-05-01T08:00", "kind": "oral-regimen", "doses": ["1 mg"]}},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == "patient.birth_date"
    assert "event.at" in error["message"]
    assert client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json() == []
