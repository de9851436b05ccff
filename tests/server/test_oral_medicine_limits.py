"""The change limits of an oral medicine other than the server's, by its own pack: a clinic
doses tizanidine beside baclofen, and the patient page asks for each medicine's limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dbhelp import Accounts


def _patient_on_both(client: TestClient, accounts: Accounts) -> int:
    made = client.post(
        "/api/v1/patients",
        headers=accounts.clinician,
        json={"patient": {"age_years": 46, "diagnosis": "stroke"}, "label": "T.B."},
    )
    assert made.status_code == 201, made.text
    pid = int(made.json()["id"])
    for event in (
        {"at": "2026-10-01T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3},
        {
            "at": "2026-10-10T08:00",
            "kind": "oral-regimen",
            "medicine": "tizanidine",
            "dose": "2 mg",
            "times_per_day": 1,
        },
    ):
        stored = client.post(
            f"/api/v1/patients/{pid}/events",
            headers=accounts.clinician,
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert stored.status_code == 201, stored.text
    return pid


def test_each_oral_medicine_has_its_own_change_limits(
    client: TestClient, accounts: Accounts
) -> None:
    pid = _patient_on_both(client, accounts)
    baclofen = client.get(f"/api/v1/patients/{pid}/change-limits", headers=accounts.clinician)
    assert baclofen.status_code == 200, baclofen.text
    assert baclofen.json()["oral"]["daily_dose"] == "30 mg/d"
    tizanidine = client.get(
        f"/api/v1/patients/{pid}/change-limits?medicine=tizanidine", headers=accounts.clinician
    )
    assert tizanidine.status_code == 200, tizanidine.text
    oral = tizanidine.json()["oral"]
    # tizanidine's own pack: 2 mg/day in force, 12 mg/day at most a step, 36 mg/day at most
    assert oral["daily_dose"] == "2 mg/d"
    assert oral["largest"] == "14 mg/d"
    assert oral["maximum"] == "36 mg/d"
    assert tizanidine.json()["intrathecal"] is None


def test_change_limits_of_an_unknown_or_non_oral_medicine_are_refused_by_name(
    client: TestClient, accounts: Accounts
) -> None:
    pid = _patient_on_both(client, accounts)
    for medicine in ("tizanidin", "botulinum-toxin-a"):
        answer = client.get(
            f"/api/v1/patients/{pid}/change-limits?medicine={medicine}",
            headers=accounts.clinician,
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == "medicine"


def test_a_tizanidine_proposal_checked_against_a_stored_history_is_judged_by_tizanidine(
    client: TestClient, accounts: Accounts
) -> None:
    """The patient check route judged every proposal with the server's (baclofen) pack, so a
    tizanidine proposal was refused as another medicine's; recording it worked."""
    pid = _patient_on_both(client, accounts)
    answer = client.post(
        f"/api/v1/patients/{pid}/check",
        headers=accounts.clinician,
        json={
            "proposal": {
                "at": "2026-10-20T08:00",
                "kind": "oral-regimen",
                "medicine": "tizanidine",
                "dose": "2 mg",
                "times_per_day": 2,
            }
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["pack"]["medicine"] == "tizanidine"
    # with baclofen taken, tizanidine's interaction rule speaks; no baclofen rule does
    assert "TIZ-CNS-DEPRESSANTS" in {f["rule"] for f in body["findings"]}
    assert not any(f["rule"].startswith("PO-") for f in body["findings"])
