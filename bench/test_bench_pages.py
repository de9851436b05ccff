"""Server-side rendering of a plan page (pytest-benchmark; run by hand, not in CI)."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dbhelp import fresh_engine
from posology.server.app import create_app
from posology.services import accounts

PASSWORD = "correct horse battery staple"


def test_plan_page(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = fresh_engine(tmp_path)
    app = create_app(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        login = client.get("/login").text  # the form carries a login token
        token = login.split('name="csrf" value="')[1].split('"')[0]
        client.post(
            "/login",
            data={"email": "doc@north.example", "password": PASSWORD, "csrf": token},
        )
        page = client.get("/patients").text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        pid = client.post(
            "/api/v1/patients",
            headers={"X-CSRF-Token": csrf},
            json={
                "patient": {
                    "age_years": 50,
                    "diagnosis": "multiple-sclerosis",
                    "pump": {"programmable": True, "reservoir_ml": 20},
                }
            },
        ).json()["id"]
        client.post(
            f"/api/v1/patients/{pid}/events",
            headers={"X-CSRF-Token": csrf},
            json={
                "event": {
                    "at": "2026-11-01T08:00",
                    "kind": "it-infusion",
                    "daily_dose": "250 ug/d",
                },
                "override_reason": "implanted elsewhere",
            },
        )
        query = "goal=it-refill&start=2026-12-01T09%3A00&concentration=500+ug%2FmL"
        url = f"/patients/{pid}/plan?{query}"
        answer = benchmark(client.get, url)
        assert answer.status_code == 200 and "<svg" in answer.text
