"""Times typed on the ward's clock are stored as instants with the clinic's offset.

A Berlin clinic types 09:00 on both sides of the end of summer time (25 October 2026): the
record keeps +02:00 and +01:00. The hour that never happened (29 March 2026, 02:30) and the
hour that happened twice (25 October 2026, 02:30) are refused with the fix. A record written
by an earlier release, without offsets, still opens and takes new entries.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from dbhelp import Accounts
from posology.services.clinic import set_clinic_zone
from posology.store import tables as T

PATIENT = {"age_years": 40, "diagnosis": "multiple-sclerosis", "sex": "female"}


def _new(client: TestClient, headers: dict[str, str]) -> int:
    answer = client.post("/api/v1/patients", headers=headers, json={"patient": PATIENT})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _review(client: TestClient, headers: dict[str, str], pid: int, at: str) -> object:
    return client.post(
        f"/api/v1/patients/{pid}/events",
        headers=headers,
        json={"event": {"at": at, "kind": "review", "note": "tone"}},
    )


def test_wall_clock_times_are_stored_with_the_clinics_offset_across_a_clock_change(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _new(client, accounts.clinician)
    for at in ("2026-10-26T09:00", "2026-10-24T09:00"):
        assert _review(client, accounts.clinician, pid, at).status_code == 201  # type: ignore[attr-defined]
    stored = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()
    instants = [datetime.fromisoformat(e["event"]["at"]) for e in stored]
    assert [a.utcoffset() for a in instants] == [timedelta(hours=2), timedelta(hours=1)]
    assert [a.strftime("%H:%M") for a in instants] == ["09:00", "09:00"]
    assert instants[1] - instants[0] == timedelta(days=2, hours=1)  # listed in event order


def test_the_skipped_and_the_repeated_hour_are_refused_with_the_fix(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _new(client, accounts.clinician)
    skipped = _review(client, accounts.clinician, pid, "2026-03-29T02:30")
    assert skipped.status_code == 422  # type: ignore[attr-defined]
    error = skipped.json()["error"]  # type: ignore[attr-defined]
    assert error["field"] == "event.at" and "does not exist" in error["message"]
    twice = _review(client, accounts.clinician, pid, "2026-10-25T02:30")
    error = twice.json()["error"]  # type: ignore[attr-defined]
    assert twice.status_code == 422 and error["field"] == "event.at"  # type: ignore[attr-defined]
    assert "+02:00" in error["message"] and "+01:00" in error["message"]
    # with the offset, the second 02:30 is recorded
    assert _review(client, accounts.clinician, pid, "2026-10-25T02:30+01:00").status_code == 201  # type: ignore[attr-defined]


def test_a_record_stored_without_offsets_still_takes_new_entries(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    pid = _new(client, accounts.clinician)
    assert _review(client, accounts.clinician, pid, "2026-11-02T09:00").status_code == 201  # type: ignore[attr-defined]
    with engine.begin() as conn:  # as an earlier release stored it: no offset
        conn.execute(
            update(T.events)
            .where(T.events.c.patient_id == pid)
            .values(
                at="2026-11-02T09:00",
                document={"at": "2026-11-02T09:00", "kind": "review", "note": "tone"},
            )
        )
    set_clinic_zone(engine, "North", "Europe/Berlin")
    late = _review(client, accounts.clinician, pid, "2026-11-03T09:00+01:00")
    assert late.status_code == 201, late.text  # type: ignore[attr-defined]
    early = _review(client, accounts.clinician, pid, "2026-11-01T09:00")
    assert early.status_code == 201, early.text  # type: ignore[attr-defined]
    stored = client.get(f"/api/v1/patients/{pid}/events", headers=accounts.clinician).json()
    assert [e["event"]["at"][:16] for e in stored] == [
        "2026-11-01T09:00",
        "2026-11-02T09:00",
        "2026-11-03T09:00",
    ]
    check = client.post(
        f"/api/v1/patients/{pid}/check",
        headers=accounts.clinician,
        json={"proposal": {"at": "2026-11-04T09:00", "kind": "review", "note": "tone"}},
    )
    assert check.status_code == 200, check.text


def test_a_saved_plan_is_dated_in_the_clinics_zone_and_keeps_its_times_of_day(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    set_clinic_zone(engine, "North", "Europe/Berlin")
    pid = _new(client, accounts.clinician)
    answer = client.post(
        f"/api/v1/patients/{pid}/plans",
        headers=accounts.clinician,
        json={
            "goal": {"kind": "oral-titration", "target_daily_dose": "60 mg"},
            "start": "2026-10-20T08:00",
        },
    )
    assert answer.status_code in (200, 201), answer.text
    steps = answer.json()["steps"]
    ats = [datetime.fromisoformat(s["event"]["at"]) for s in steps]
    assert all(a.tzinfo is not None for a in ats)
    assert {a.strftime("%H:%M") for a in ats if a.date().isoformat() < "2026-11-10"} >= {"08:00"}
    offsets = {a.utcoffset() for a in ats}
    assert offsets == {timedelta(hours=2), timedelta(hours=1)}  # the plan crosses 25 October
