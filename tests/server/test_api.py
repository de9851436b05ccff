"""The HTTP API: the contract's endpoints, accounts and roles, patients and their history."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from casebuild import EXAMPLES
from dbhelp import Accounts

PATIENT = {
    "age_years": 45,
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}


def new_patient(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/patients",
        headers=headers,
        json={"patient": {**PATIENT, **fields}, "label": "A.B."},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def append(
    client: TestClient, headers: dict[str, str], pid: int, event: dict[str, Any], **extra: Any
):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/patients/{pid}/events", headers=headers, json={"event": event, **extra}
    )


def test_health_needs_no_login_and_everything_else_does(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    for method, path in (
        ("get", "/api/v1/rules"),
        ("post", "/api/v1/check"),
        ("get", "/api/v1/patients"),
    ):
        answer = getattr(client, method)(path)
        assert answer.status_code == 401
        assert answer.json()["error"]["field"] == "Authorization"
    assert client.get("/api/v1/rules", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_check_and_plan_speak_the_cli_documents(client: TestClient, accounts: Accounts) -> None:
    case = json.loads((EXAMPLES / "check" / "it-test-dose-in-mg.json").read_text())
    answer = client.post("/api/v1/check", headers=accounts.pharmacist, json=case)
    assert answer.status_code == 200 and answer.json()["verdict"] == "critical"
    request = json.loads((EXAMPLES / "plan" / "oral-titration.json").read_text())
    plan = client.post("/api/v1/plan", headers=accounts.pharmacist, json=request)
    assert plan.status_code == 200 and len(plan.json()["steps"]) == 5
    refused = client.post(
        "/api/v1/plan",
        headers=accounts.pharmacist,
        json={"patient": PATIENT, "goal": {"kind": "it-titration"}, "start": "2026-12-01T08:00"},
    )
    assert (
        refused.status_code == 422 and refused.json()["findings"][0]["rule"] == "IT-SCREEN-REQUIRED"
    )


def test_input_errors_are_4xx_with_the_field(client: TestClient, accounts: Accounts) -> None:
    bad_json = client.post("/api/v1/check", headers=accounts.clinician, content=b"{nope")
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]["message"]
    misspelt = client.post(
        "/api/v1/check",
        headers=accounts.clinician,
        json={
            "patient": {**PATIENT, "wieght_kg": 3},
            "proposal": {"at": "2026-12-01T08:00", "kind": "oral-stop"},
        },
    )
    assert misspelt.status_code == 422
    assert misspelt.json()["error"] == {
        "field": "patient.wieght_kg",
        "message": "unknown field; did you mean 'weight_kg'?",
    }
    huge = client.post("/api/v1/check", headers=accounts.clinician, content=b" " * 1_000_001)
    assert huge.status_code == 413
    assert client.get("/api/v1/patients/abc", headers=accounts.clinician).status_code == 422


def test_rules_endpoints(client: TestClient, accounts: Accounts) -> None:
    every = client.get("/api/v1/rules", headers=accounts.pharmacist).json()
    assert len(every) == 68 and all({"id", "source", "quote", "evidence"} <= set(r) for r in every)
    oral = client.get("/api/v1/rules?route=oral", headers=accounts.pharmacist).json()
    assert not any(r["id"].startswith("IT-") for r in oral)
    assert client.get("/api/v1/rules/PO-MAX", headers=accounts.pharmacist).json()["numbers"] == {
        "max_daily_outpatient": "100 mg/d"
    }
    assert client.get("/api/v1/rules/PO-MAXX", headers=accounts.pharmacist).status_code == 404


def test_roles_and_clinics(client: TestClient, accounts: Accounts) -> None:
    patient = new_patient(client, accounts.clinician)
    pid = patient["id"]
    assert client.get(f"/api/v1/patients/{pid}", headers=accounts.pharmacist).status_code == 200
    assert (
        client.post(
            "/api/v1/patients", headers=accounts.pharmacist, json={"patient": PATIENT}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/patients", headers=accounts.admin, json={"patient": PATIENT}
        ).status_code
        == 403
    )
    # another clinic's patient answers exactly like a patient that does not exist
    other = client.get(f"/api/v1/patients/{pid}", headers=accounts.other_clinic)
    missing = client.get("/api/v1/patients/999999", headers=accounts.other_clinic)
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["field"] == missing.json()["error"]["field"]
    assert client.get("/api/v1/patients", headers=accounts.other_clinic).json() == []


def test_patient_update_keeps_revisions_and_uses_versions(
    client: TestClient, accounts: Accounts
) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    changed = {**PATIENT, "weight_kg": 80}
    ok = client.put(
        f"/api/v1/patients/{pid}",
        headers={**accounts.clinician, "If-Match": '"1"'},
        json={"patient": changed},
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.headers["etag"] == '"2"'
    stale = client.put(
        f"/api/v1/patients/{pid}",
        headers={**accounts.clinician, "If-Match": '"1"'},
        json={"patient": PATIENT},
    )
    assert stale.status_code == 409
    assert (
        client.get(f"/api/v1/patients/{pid}", headers=accounts.clinician).json()["patient"][
            "weight_kg"
        ]
        == 80
    )


def test_appending_events_checks_first_and_needs_an_override_for_errors(
    client: TestClient, accounts: Accounts
) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    first = append(
        client,
        accounts.clinician,
        pid,
        {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3},
    )
    assert first.status_code == 201 and first.json()["seq"] == 1
    too_high = {
        "at": "2026-12-04T08:00",
        "kind": "oral-regimen",
        "dose": "40 mg",
        "times_per_day": 3,
    }
    refused = append(client, accounts.clinician, pid, too_high)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "override"
    assert "PO-MAX" in {f["rule"] for f in refused.json()["findings"]}
    assert len(client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()) == 1
    forced = append(
        client,
        accounts.clinician,
        pid,
        too_high,
        override_reason="inpatient trial, consultant present",
    )
    assert (
        forced.status_code == 201
        and forced.json()["override_reason"] == "inpatient trial, consultant present"
    )
    assert (
        append(client, accounts.pharmacist, pid, too_high, override_reason="x").status_code == 403
    )
    audit = client.get("/api/v1/audit", headers=accounts.clinician).json()
    assert any(a["action"] == "event.append" and a["detail"].get("override_reason") for a in audit)


def test_history_is_append_only_corrections_supersede(
    client: TestClient, accounts: Accounts
) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    wrong = append(
        client,
        accounts.clinician,
        pid,
        {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3},
    ).json()
    fixed = append(
        client,
        accounts.clinician,
        pid,
        {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3},
        supersedes=wrong["id"],
    )
    assert fixed.status_code == 201, fixed.text
    events = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()
    assert [(e["seq"], e["superseded"]) for e in events] == [(1, True), (2, False)]
    assert events[0]["event"]["dose"] == "10 mg"  # the wrong entry is still there, marked
    # the effective history holds the correction only: 5 mg tid -> 10 mg tid after 3 days is fine
    check = client.post(
        f"/api/v1/patients/{pid}/check",
        headers=accounts.clinician,
        json={
            "proposal": {
                "at": "2026-12-04T08:00",
                "kind": "oral-regimen",
                "dose": "10 mg",
                "times_per_day": 3,
            }
        },
    )
    assert check.json()["verdict"] == "ok"


def test_stale_if_match_on_append_is_a_conflict(client: TestClient, accounts: Accounts) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    event = {"at": "2026-12-01T08:00", "kind": "review", "note": "tone"}
    assert (
        client.post(
            f"/api/v1/patients/{pid}/events",
            headers={**accounts.clinician, "If-Match": '"1"'},
            json={"event": event},
        ).status_code
        == 201
    )
    again = client.post(
        f"/api/v1/patients/{pid}/events",
        headers={**accounts.clinician, "If-Match": '"1"'},
        json={"event": {**event, "at": "2026-12-02T08:00"}},
    )
    assert again.status_code == 409


def test_plans_are_saved_and_confirmed_step_by_step(client: TestClient, accounts: Accounts) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    saved = client.post(
        f"/api/v1/patients/{pid}/plans",
        headers=accounts.clinician,
        json={"goal": {"kind": "oral-titration"}, "start": "2026-12-01T08:00"},
    )
    assert saved.status_code == 201, saved.text
    plan = saved.json()
    assert [s["status"] for s in plan["steps"]] == ["planned"] * 5
    done = client.post(
        f"/api/v1/patients/{pid}/plans/{plan['id']}/steps/0/confirm",
        headers=accounts.clinician,
        json={},
    )
    assert done.status_code == 201 and done.json()["event"]["dose"] == "5 mg"
    twice = client.post(
        f"/api/v1/patients/{pid}/plans/{plan['id']}/steps/0/confirm",
        headers=accounts.clinician,
        json={},
    )
    assert twice.status_code == 409
    shown = client.get(
        f"/api/v1/patients/{pid}/plans/{plan['id']}", headers=accounts.clinician
    ).json()
    assert (
        shown["steps"][0]["status"] == "confirmed"
        and shown["steps"][0]["event_id"] == done.json()["id"]
    )
    # confirming re-runs the checks against the history as it is now: skipping ahead breaks the pace
    # (step 2 is 45 mg/day three days after 15 mg/day) and an error needs an override
    jump = client.post(
        f"/api/v1/patients/{pid}/plans/{plan['id']}/steps/2/confirm",
        headers=accounts.clinician,
        json={},
    )
    assert jump.status_code == 201
    assert {f["rule"] for f in jump.json()["findings"]} >= {"PO-TITRATION"}
    assert (
        client.get(f"/api/v1/patients/{pid}/plans", headers=accounts.clinician).json()[0]["id"]
        == plan["id"]
    )


def test_audit_trail_exports_as_csv(client: TestClient, accounts: Accounts) -> None:
    pid = new_patient(client, accounts.clinician)["id"]
    append(
        client,
        accounts.clinician,
        pid,
        {"at": "2026-12-01T08:00", "kind": "review", "note": "baseline"},
    )
    answer = client.get("/api/v1/audit.csv", headers=accounts.admin)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0] == "id,at,user,action,entity,entity_id,detail"
    actions = [line.split(",")[3] for line in lines[1:]]
    assert "patient.create" in actions and "event.append" in actions
    assert client.get("/api/v1/audit", headers=accounts.pharmacist).status_code == 403


def test_login_session_with_csrf(client: TestClient, accounts: Accounts) -> None:
    wrong = client.post("/api/v1/login", json={"email": "doc@north.example", "password": "nope"})
    assert wrong.status_code == 401
    login = client.post(
        "/api/v1/login", json={"email": "doc@north.example", "password": "correct horse battery"}
    )
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    csrf = login.json()["csrf_token"]
    assert client.get("/api/v1/patients").status_code == 200
    blocked = client.post("/api/v1/patients", json={"patient": PATIENT})
    assert blocked.status_code == 403 and "CSRF" in blocked.json()["error"]["message"]
    allowed = client.post(
        "/api/v1/patients", json={"patient": PATIENT}, headers={"X-CSRF-Token": csrf}
    )
    assert allowed.status_code == 201
    assert client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/patients").status_code == 401


def test_a_check_sent_again_answers_as_the_first_and_a_repeated_key_is_still_refused(
    client: TestClient, accounts: Accounts
) -> None:
    """The check route reads a CASE by the texts of its events once it has read one: the same
    history again with a new proposal gets the answer a first reading gives, and a key given
    twice in an event every other part of which was read before is refused, naming it."""
    case = json.loads((EXAMPLES / "check" / "it-test-dose-in-mg.json").read_text())
    first = client.post("/api/v1/check", headers=accounts.pharmacist, json=case).json()
    for _ in range(2):
        again = client.post("/api/v1/check", headers=accounts.pharmacist, content=json.dumps(case))
        assert again.status_code == 200 and again.json() == first
    text = json.dumps(case)
    repeated = text.replace('"kind": ', '"kind": "review", "kind": ', 1)
    refused = client.post("/api/v1/check", headers=accounts.pharmacist, content=repeated)
    assert refused.status_code == 400, refused.text
    assert "given twice" in refused.json()["error"]["message"]
    assert refused.json()["error"]["field"].endswith(".kind")
