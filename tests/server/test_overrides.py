"""Overrides over HTTP: coded reasons for error findings, the retyped dose and a second person's
co-signature for critical ones (or the clinic's single-signer policy), the pharmacist's
verification queue, nurses within the prescription, and corrections that keep both entries."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dbhelp import Accounts, bearer
from posology.cli import run
from posology.services import history as event_history

PATIENT = {
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "origin": "spinal",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}
OVERDOSE = {"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 mg"}
TOO_HIGH = {"at": "2026-12-04T08:00", "kind": "oral-regimen", "dose": "40 mg", "times_per_day": 3}
COSIGNER = {"email": "pharm@north.example", "password": "pharmacist secret"}


def patient(client: TestClient, headers: dict[str, str], number: str = "N-1") -> int:
    answer = client.post(
        "/api/v1/patients",
        headers=headers,
        json={"patient": PATIENT, "name": "Pat Doe", "birth_date": "1970-05-05",
              "record_number": number},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def post(client: TestClient, headers: dict[str, str], pid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/patients/{pid}/events", headers=headers, json=body)


def events(client: TestClient, headers: dict[str, str], pid: int) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = client.get(
        f"/api/v1/patients/{pid}/events", headers=headers
    ).json()
    return answer


def test_the_coded_reasons_are_listed_and_other_needs_text(
    client: TestClient, accounts: Accounts
) -> None:
    reasons = client.get("/api/v1/override-reasons", headers=accounts.pharmacist).json()
    codes = [r["code"] for r in reasons]
    assert codes[:4] == [
        "benefit-outweighs-risk",
        "specialist-advice",
        "patient-tolerated-before",
        "data-out-of-date",
    ]
    assert [r["code"] for r in reasons if r["needs_text"]] == ["other"]


def test_an_error_finding_needs_a_coded_reason_stored_with_the_signer(
    client: TestClient, accounts: Accounts
) -> None:
    pid = patient(client, accounts.clinician)
    bare = post(client, accounts.clinician, pid, event=TOO_HIGH)
    assert bare.status_code == 422 and bare.json()["error"]["field"] == "override"
    assert "PO-MAX" in {f["rule"] for f in bare.json()["findings"]}
    vague = post(client, accounts.clinician, pid, event=TOO_HIGH, override={"code": "other"})
    assert vague.status_code == 422 and vague.json()["error"]["field"] == "override.text"
    unknown = post(client, accounts.clinician, pid, event=TOO_HIGH, override={"code": "x"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "override.code"
    assert events(client, accounts.clinician, pid) == []
    saved = post(
        client,
        accounts.clinician,
        pid,
        event=TOO_HIGH,
        override={"code": "specialist-advice", "text": "neurology ward round"},
    )
    assert saved.status_code == 201, saved.text
    [listed] = events(client, accounts.clinician, pid)
    assert listed["recorded_by"] == "doc@north.example"
    assert listed["override"]["code"] == "specialist-advice"
    assert listed["override"]["text"] == "neurology ward round"
    assert listed["override"]["signed_by"] == "doc@north.example"
    assert listed["cosigned_by"] is None
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    [row] = [a for a in audit if a["action"] == "event.append"]
    assert row["detail"]["override"] == {
        "code": "specialist-advice",
        "text": "neurology ward round",
    }
    assert "PO-MAX" in row["detail"]["overridden"]


def test_a_critical_finding_cannot_be_saved_by_one_person(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    nurse = bearer(engine, "nurse@north.example", "North", "nurse", "nurse password")
    south = bearer(engine, "pharm@south.example", "South", "pharmacist", "south password")
    del south
    pid = patient(client, accounts.clinician)
    reason = {"code": "benefit-outweighs-risk", "text": "as the consultant wrote"}

    def attempt(**extra: Any) -> Any:
        return post(client, accounts.clinician, pid, event=OVERDOSE, override=reason, **extra)

    assert attempt().json()["error"]["field"] == "retyped_dose"
    assert attempt(retyped_dose="50 ug").json()["error"]["field"] == "retyped_dose"
    no_second = attempt(retyped_dose="50 mg")
    assert no_second.status_code == 422 and no_second.json()["error"]["field"] == "cosigner"
    for cosigner in (
        {"email": "doc@north.example", "password": "correct horse battery"},  # the signer
        {"email": "pharm@north.example", "password": "wrong password"},
        {"email": "nurse@north.example", "password": "nurse password"},
        {"email": "pharm@south.example", "password": "south password"},
    ):
        refused = attempt(retyped_dose="50 mg", cosigner=cosigner)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "cosigner"
    assert events(client, accounts.clinician, pid) == []
    # a nurse cannot sign it either
    assert post(client, nurse, pid, event=OVERDOSE, override=reason).status_code == 403
    saved = attempt(retyped_dose="50 mg", cosigner=COSIGNER)
    assert saved.status_code == 201, saved.text
    [listed] = events(client, accounts.clinician, pid)
    assert listed["override"]["signed_by"] == "doc@north.example"
    assert listed["cosigned_by"] == "pharm@north.example"
    assert "password" not in str(listed)
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    [row] = [a for a in audit if a["action"] == "event.append"]
    assert row["user"] == "doc@north.example" and row["detail"]["cosigned_by"] == COSIGNER["email"]


def test_a_single_signer_clinic_saves_a_critical_override_alone_and_the_policy_is_audited(
    client: TestClient, accounts: Accounts, engine: Engine, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert run(["clinic", "policy", "North", "single-signer"]) == 0
    pid = patient(client, accounts.clinician)
    reason = {"code": "specialist-advice", "text": "regional centre protocol"}
    unretyped = post(client, accounts.clinician, pid, event=OVERDOSE, override=reason)
    assert unretyped.json()["error"]["field"] == "retyped_dose"
    saved = post(
        client, accounts.clinician, pid, event=OVERDOSE, override=reason, retyped_dose="50 mg"
    )
    assert saved.status_code == 201 and saved.json()["cosigned_by"] is None
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    assert any(
        a["action"] == "clinic.policy" and a["detail"]["override_policy"] == "single-signer"
        for a in audit
    )
    assert any(a["detail"].get("single_signer") for a in audit if a["action"] == "event.append")
    # another clinic keeps the default: co-sign
    other = patient(client, accounts.other_clinic)
    refused = post(
        client, accounts.other_clinic, other, event=OVERDOSE, override=reason, retyped_dose="50 mg"
    )
    assert refused.json()["error"]["field"] == "cosigner"


def test_the_pharmacist_verifies_overrides_from_the_queue(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    pid = patient(client, accounts.clinician)
    post(client, accounts.clinician, pid, event={"at": "2026-11-30T08:00", "kind": "review",
         "note": "baseline"})  # fmt: skip
    forced = post(
        client, accounts.clinician, pid, event=TOO_HIGH, override_reason="inpatient trial"
    ).json()
    assert forced["override"]["code"] == "other" and forced["override_reason"] == "inpatient trial"
    denied = client.get("/api/v1/verification-queue", headers=accounts.clinician)
    assert denied.status_code == 403 and "pharmacist" in denied.json()["error"]["message"]
    queue = client.get("/api/v1/verification-queue", headers=accounts.pharmacist).json()
    assert [(q["id"], q["patient_id"], q["patient_name"]) for q in queue] == [
        (forced["id"], pid, "Pat Doe")
    ]
    south = bearer(engine, "pharm@south.example", "South", "pharmacist")
    elsewhere = client.post(f"/api/v1/events/{forced['id']}/verify", headers=south)
    assert elsewhere.status_code == 404
    done = client.post(f"/api/v1/events/{forced['id']}/verify", headers=accounts.pharmacist)
    assert done.status_code == 200 and done.json()["override"]["verified_by"] == COSIGNER["email"]
    assert client.get("/api/v1/verification-queue", headers=accounts.pharmacist).json() == []
    again = client.post(f"/api/v1/events/{forced['id']}/verify", headers=accounts.pharmacist)
    assert again.status_code == 409
    review_id = events(client, accounts.clinician, pid)[0]["id"]
    plain = client.post(f"/api/v1/events/{review_id}/verify", headers=accounts.pharmacist)
    assert plain.status_code == 422
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    assert any(a["action"] == "event.verify" and a["user"] == COSIGNER["email"] for a in audit)


FILLED = [
    {"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 ug",
     "response": {"effect": True, "duration_h": 6}},
    {"at": "2026-10-31T09:00", "kind": "pump-implant"},
    {"at": "2026-11-01T09:00", "kind": "pump-refill", "concentration": "500 ug/mL",
     "volume_ml": 20},
    {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"},
]  # fmt: skip


def test_a_nurse_records_within_the_prescription_and_no_more(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    nurse = bearer(engine, "nurse@north.example", "North", "nurse")
    pid = patient(client, accounts.clinician)
    for event in FILLED:
        assert post(client, accounts.clinician, pid, event=event,
                    override_reason="from the referral letter").status_code == 201  # fmt: skip
    review = {"at": "2026-11-02T09:00", "kind": "review", "note": "site checked"}
    assert post(client, nurse, pid, event=review).status_code == 201
    raise_dose = {"at": "2026-11-03T09:00", "kind": "it-infusion", "daily_dose": "260 ug/d"}
    refused = post(client, nurse, pid, event=raise_dose)
    assert refused.status_code == 403 and "prescriber" in refused.json()["error"]["message"]
    lower = {"at": "2026-11-03T09:00", "kind": "it-infusion", "daily_dose": "240 ug/d"}
    assert post(client, nurse, pid, event=lower).status_code == 201
    oral = {"at": "2026-11-04T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}
    refused = post(client, nurse, pid, event=oral)
    assert refused.status_code == 403 and "prescriber" in refused.json()["error"]["message"]
    new_test = {"at": "2026-11-04T08:00", "kind": "it-test-dose", "dose": "50 ug"}
    assert post(client, nurse, pid, event=new_test).status_code == 403
    plan = client.post(
        f"/api/v1/patients/{pid}/plans",
        headers=nurse,
        json={"goal": {"kind": "it-stop"}, "start": "2026-11-05T09:00"},
    )
    assert plan.status_code == 403 and "prescriber" in plan.json()["error"]["message"]
    assert [e["recorded_by"] for e in events(client, accounts.clinician, pid)][-2:] == [
        "nurse@north.example",
        "nurse@north.example",
    ]


def test_a_correction_supersedes_an_entry_and_both_stay_listed(
    client: TestClient, accounts: Accounts
) -> None:
    pid = patient(client, accounts.clinician)
    first = post(client, accounts.clinician, pid, event={"at": "2026-12-01T08:00",
                 "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}).json()  # fmt: skip
    fixed = post(
        client,
        accounts.clinician,
        pid,
        event={"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg",
               "times_per_day": 2},
        supersedes=first["id"],
        correction={"kind": "correction", "text": "twice a day, as prescribed"},
    ).json()  # fmt: skip
    assert fixed["reason"] == {"kind": "correction", "text": "twice a day, as prescribed"}
    listed = events(client, accounts.clinician, pid)
    assert [(e["id"], e["superseded"]) for e in listed] == [
        (first["id"], True),
        (fixed["id"], False),
    ]
    limits = client.get(f"/api/v1/patients/{pid}/change-limits", headers=accounts.clinician)
    assert limits.json()["oral"]["daily_dose"].startswith("10 mg")
    again = post(client, accounts.clinician, pid, supersedes=first["id"],
                 correction={"kind": "entered-in-error", "text": "twice"})  # fmt: skip
    assert again.status_code == 422 and again.json()["error"]["field"] == "supersedes"


def test_entered_in_error_removes_the_entry_from_the_effective_history(
    client: TestClient, accounts: Accounts
) -> None:
    pid = patient(client, accounts.clinician)
    wrong = post(client, accounts.clinician, pid, event={"at": "2026-12-01T08:00",
                 "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}).json()  # fmt: skip
    no_text = post(client, accounts.clinician, pid, supersedes=wrong["id"],
                   correction={"kind": "entered-in-error", "text": " "})  # fmt: skip
    assert no_text.status_code == 422 and no_text.json()["error"]["field"] == "correction.text"
    void = post(client, accounts.clinician, pid, supersedes=wrong["id"],
                correction={"kind": "entered-in-error", "text": "wrong patient"})  # fmt: skip
    assert void.status_code == 201, void.text
    assert void.json()["kind"] == "entered-in-error" and void.json()["event"] is None
    listed = events(client, accounts.clinician, pid)
    assert [(e["kind"], e["superseded"]) for e in listed] == [
        ("oral-regimen", True),
        ("entered-in-error", False),
    ]
    assert listed[1]["reason"] == {"kind": "entered-in-error", "text": "wrong patient"}
    limits = client.get(f"/api/v1/patients/{pid}/change-limits", headers=accounts.clinician)
    assert limits.json()["oral"] is None
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    assert any(a["detail"].get("reason", {}).get("kind") == "entered-in-error" for a in audit)
    assert event_history.VOID == "entered-in-error"
