"""The caches of stored records (parsed events, pump facts) belong to one database: a database
recreated with the same ids, as a restore or a new test database is, is never served facts read
from the one before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from dbhelp import bearer, fresh_engine
from posology.server.app import create_app

PUMP_PATIENT = {
    "age_years": 45,
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "origin": "spinal",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}


def pump_history(daily_dose: str) -> list[dict[str, Any]]:
    return [
        {"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 ug",
         "response": {"effect": True, "duration_h": 6}},
        {"at": "2026-10-31T09:00", "kind": "pump-implant"},
        {"at": "2026-11-01T09:00", "kind": "pump-refill", "concentration": "500 ug/mL",
         "volume_ml": 20},
        {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": daily_dose},
    ]  # fmt: skip


def record_in_a_new_database(folder: Path, events: list[dict[str, Any]]) -> tuple[Any, ...]:
    """A fresh database holding one record with ``events``; the app, the client's headers
    and the record's id."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = fresh_engine(folder)
    app = create_app(engine)
    headers = bearer(engine, "doc@north.example", "North", "prescriber", "correct horse battery")
    client = TestClient(app, base_url="https://testserver")
    created = client.post("/api/v1/patients", headers=headers, json={"patient": PUMP_PATIENT})
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    for event in events:
        answer = client.post(
            f"/api/v1/patients/{pid}/events",
            headers=headers,
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert answer.status_code == 201, answer.text
    return engine, client, headers, pid


def test_pump_status_is_not_served_from_a_database_recreated_with_the_same_ids(
    tmp_path: Path,
) -> None:
    """The pump facts were cached by record id and version only: a second database with the
    same ids and version was shown the first one's infusion."""
    first = record_in_a_new_database(tmp_path / "a", pump_history("250 ug/d"))
    engine, client, headers, pid = first
    before = client.get(f"/api/v1/patients/{pid}/pump-status", headers=headers)
    assert before.status_code == 200, before.text
    assert "250" in str(before.json()["infusion"])
    client.close()
    engine.dispose()
    engine, client, headers, again = record_in_a_new_database(
        tmp_path / "b", pump_history("300 ug/d")
    )
    after = client.get(f"/api/v1/patients/{again}/pump-status", headers=headers)
    assert again == pid and after.status_code == 200, after.text
    assert "300" in str(after.json()["infusion"]) and "250" not in str(after.json()["infusion"])
    client.close()
    engine.dispose()


def test_a_check_reads_the_events_of_its_own_database_not_a_cached_one(tmp_path: Path) -> None:
    """20 mg three times a day the day after 5 mg three times a day breaks the titration
    ladder; after 20 mg three times a day it is no change. The same event
    id in two databases must not share a stored event."""
    low = [{"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}]
    proposal = {"at": "2026-11-02T08:00", "kind": "oral-regimen", "dose": "20 mg",
                "times_per_day": 3}  # fmt: skip
    engine, client, headers, pid = record_in_a_new_database(tmp_path / "a", low)
    jump = client.post(f"/api/v1/patients/{pid}/events", headers=headers, json={"event": proposal})
    assert jump.status_code == 201, jump.text
    assert "PO-TITRATION" in {f["rule"] for f in jump.json()["findings"]}
    client.close()
    engine.dispose()
    same = [{**low[0], "dose": "20 mg"}]
    engine, client, headers, again = record_in_a_new_database(tmp_path / "b", same)
    assert again == pid
    kept = client.post(
        f"/api/v1/patients/{again}/events", headers=headers, json={"event": proposal}
    )
    assert kept.status_code == 201, kept.text
    assert "PO-TITRATION" not in {f["rule"] for f in kept.json()["findings"]}
    client.close()
    engine.dispose()
