"""A botulinum toxin session through the HTTP API: checked, planned and kept in a history."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from casebuild import EXAMPLES
from dbhelp import Accounts


def test_a_session_in_another_products_units_is_critical_over_http(
    client: TestClient, accounts: Accounts
) -> None:
    case = json.loads((EXAMPLES / "check" / "botulinum-units-of-another-product.json").read_text())
    answer = client.post("/api/v1/check", headers=accounts.clinician, json=case)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "critical" and body["pack"]["medicine"] == "botulinum-toxin-a"
    assert body["findings"][0]["rule"] == "BTA-ONA-UNITS"
    case["proposal"]["injections"][0]["dose"] = "60 mg"
    refused = client.post("/api/v1/check", headers=accounts.clinician, json=case)
    assert refused.status_code in (400, 422)
    assert refused.json()["error"]["field"] == "proposal.injections[0].dose"


def test_a_session_plan_over_http_waits_12_weeks(client: TestClient, accounts: Accounts) -> None:
    request = json.loads((EXAMPLES / "plan" / "injection-session-child.json").read_text())
    answer = client.post("/api/v1/plan", headers=accounts.clinician, json=request)
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    assert steps[0]["event"]["kind"] == "injection-session"
    assert steps[0]["event"]["at"].startswith("2026-12-24")  # 12 weeks after 1 October
    doses = {i["muscle"]: i["dose"] for i in steps[0]["event"]["injections"]}
    assert doses == {"biceps-brachii": "38 U", "brachialis": "25 U", "flexor-carpi-ulnaris": "25 U"}


def test_a_session_is_kept_in_the_patients_history(client: TestClient, accounts: Accounts) -> None:
    made = client.post(
        "/api/v1/patients",
        headers=accounts.clinician,
        json={"patient": {"age_years": 40, "diagnosis": "stroke"}, "label": "C.D."},
    )
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    event = {
        "at": "2026-12-01T10:00",
        "kind": "injection-session",
        "product": "abobotulinumtoxinA",
        "injections": [{"muscle": "soleus", "dose": "500 U", "sites": 4, "side": "left"}],
    }
    stored = client.post(
        f"/api/v1/patients/{pid}/events", headers=accounts.clinician, json={"event": event}
    )
    assert stored.status_code in (200, 201), stored.text
    history = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician)
    assert history.status_code == 200, history.text
    text = json.dumps(history.json())
    assert "injection-session" in text and "abobotulinumtoxina" in text and "500 U" in text
