"""Idempotency-Key on creating requests: the same key from the same user answers the first answer
again and stores nothing twice (a double click, a retry after a lost answer)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from dbhelp import Accounts
from posology.store import tables as T

PATIENT = {"sex": "male", "diagnosis": "multiple-sclerosis", "spasticity_stable": True}
BODY = {"patient": PATIENT, "name": "Pat Doe", "birth_date": "1970-05-05", "record_number": "N-1"}
REGIMEN = {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_repeated_patient_creation_answers_the_first_record(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    headers = {**accounts.clinician, "Idempotency-Key": "form-1"}
    first = client.post("/api/v1/patients", headers=headers, json=BODY)
    second = client.post("/api/v1/patients", headers=headers, json=BODY)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert count(engine, T.patients) == 1 and count(engine, T.idempotency) == 1


def test_a_double_submitted_event_is_stored_once(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    pid = client.post("/api/v1/patients", headers=accounts.clinician, json=BODY).json()["id"]
    headers = {**accounts.clinician, "Idempotency-Key": "event-form-7"}
    url = f"/api/v1/patients/{pid}/events"
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: client.post(url, headers=headers, json={"event": REGIMEN}), [1, 2])
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(client.get(url, headers=accounts.clinician).json()) == 1
    # a new key is a new event
    other = client.post(url, headers={**accounts.clinician, "Idempotency-Key": "event-form-8"},
                        json={"event": {**REGIMEN, "at": "2026-12-02T08:00"}})  # fmt: skip
    assert other.status_code == 201
    assert len(client.get(url, headers=accounts.clinician).json()) == 2


def test_a_key_is_the_users_own_and_belongs_to_one_request(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    pid = client.post("/api/v1/patients", headers=accounts.clinician, json=BODY).json()["id"]
    url = f"/api/v1/patients/{pid}/events"
    key = {"Idempotency-Key": "k"}
    assert client.post(url, headers={**accounts.clinician, **key},
                       json={"event": REGIMEN}).status_code == 201  # fmt: skip
    changed = client.post(url, headers={**accounts.clinician, **key},
                          json={"event": {**REGIMEN, "dose": "10 mg"}})  # fmt: skip
    assert changed.status_code == 409 and changed.json()["error"]["field"] == "Idempotency-Key"
    # the same key from another user is another request
    south = client.post("/api/v1/patients", headers={**accounts.other_clinic, **key}, json=BODY)
    assert south.status_code == 201 and count(engine, T.patients) == 2


def test_a_refused_request_keeps_no_answer_so_the_corrected_one_goes_through(
    client: TestClient, accounts: Accounts
) -> None:
    pid = client.post("/api/v1/patients", headers=accounts.clinician, json=BODY).json()["id"]
    url = f"/api/v1/patients/{pid}/events"
    headers = {**accounts.clinician, "Idempotency-Key": "override-form"}
    too_high = {**REGIMEN, "dose": "40 mg"}
    refused = client.post(url, headers=headers, json={"event": too_high})
    assert refused.status_code == 422
    body = {"event": too_high, "override": {"code": "specialist-advice", "text": "ward round"}}
    saved = client.post(url, headers=headers, json=body)
    assert saved.status_code == 201
    assert client.post(url, headers=headers, json=body).json()["id"] == saved.json()["id"]
    assert len(client.get(url, headers=accounts.clinician).json()) == 1


def test_plans_and_step_confirmations_are_idempotent(
    client: TestClient, accounts: Accounts
) -> None:
    pid = client.post("/api/v1/patients", headers=accounts.clinician, json=BODY).json()["id"]
    headers = {**accounts.clinician, "Idempotency-Key": "plan-1"}
    body = {"goal": {"kind": "oral-titration", "target_daily_dose": "30 mg"},
            "start": "2026-11-10T08:00"}  # fmt: skip
    first = client.post(f"/api/v1/patients/{pid}/plans", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = client.post(f"/api/v1/patients/{pid}/plans", headers=headers, json=body)
    assert again.json()["id"] == first.json()["id"]
    plans = client.get(f"/api/v1/patients/{pid}/plans", headers=accounts.clinician).json()
    assert len(plans) == 1
    confirm = f"/api/v1/patients/{pid}/plans/{first.json()['id']}/steps/0/confirm"
    step_headers = {**accounts.clinician, "Idempotency-Key": "step-0"}
    one = client.post(confirm, headers=step_headers, json={})
    two = client.post(confirm, headers=step_headers, json={})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    events = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()
    assert len(events) == 1


def test_the_api_document_offers_the_idempotency_key_on_every_creating_post(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    creating = [
        "/api/v1/patients",
        "/api/v1/patients/{patient_id}/events",
        "/api/v1/patients/{patient_id}/plans",
        "/api/v1/patients/{patient_id}/plans/{plan_id}/steps/{position}/confirm",
    ]
    for path in creating:
        names = [p["name"] for p in paths[path]["post"].get("parameters", [])]
        assert "Idempotency-Key" in names, path
