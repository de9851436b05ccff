"""The clinic's refill worklist with 500 pump patients: server-side time (run by hand).

Seeds a fresh SQLite database (or ``DATABASE_URL``) with 500 pump patients, each screened,
implanted, filled and infused, at fill dates spread over the last 40 days, then times the
worklist service (first read, with parsing, and later reads) and the whole HTTP answer of
``GET /api/v1/worklist`` and of the worklist page in process. Medians of repeated runs.

    .venv/bin/python bench/worklist.py [--patients 500] [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dbhelp import fresh_engine
from posology.knowledge import load_pack
from posology.server.app import create_app
from posology.services import accounts
from posology.services import history as event_history
from posology.services import patients as patient_records
from posology.services import pump as pump_service

PASSWORD = "correct horse battery staple"


def seed(engine, n: int) -> accounts.User:  # type: ignore[no-untyped-def]
    user = accounts.add_user(engine, "nurse@north.example", "North", "clinician", PASSWORD)
    pack = load_pack()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for i in range(n):
        filled = now - timedelta(days=i % 41, hours=i % 24)
        pid = patient_records.create_patient(
            engine,
            user,
            {
                "age_years": 30 + i % 50,
                "diagnosis": "multiple-sclerosis",
                "spasticity_stable": True,
                "pump": {"programmable": True, "reservoir_ml": 20},
            },
            f"Patient {i:03d}",
        )["id"]
        events = [
            {
                "at": (filled - timedelta(days=30)).isoformat(),
                "kind": "it-test-dose",
                "dose": "50 ug",
                "response": {"effect": True, "duration_h": 6},
            },
            {"at": (filled - timedelta(days=1)).isoformat(), "kind": "pump-implant"},
            {
                "at": filled.isoformat(),
                "kind": "pump-refill",
                "concentration": "500 ug/mL",
                "volume_ml": 20,
            },
            {"at": filled.isoformat(), "kind": "it-infusion", "daily_dose": "250 ug/d"},
        ]
        for event in events:
            event_history.append_event(engine, pack, user, pid, event, "seeded", None, None)
    return user


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_engine(Path(folder))
        app = create_app(engine)  # migrates the fresh database
        t0 = time.perf_counter()
        user = seed(engine, args.patients)
        print(f"seeded {args.patients} pump patients in {time.perf_counter() - t0:.1f} s")
        pack = load_pack()
        pump_service._CACHE.clear()
        t0 = time.perf_counter()
        first = pump_service.worklist(engine, pack, user)
        print(
            f"worklist service, first read (parses every record): "
            f"{(time.perf_counter() - t0) * 1000:.1f} ms"
        )
        assert len(first["patients"]) == args.patients
        service = median_ms(lambda: pump_service.worklist(engine, pack, user), args.runs)
        print(f"worklist service, later reads: median {service:.1f} ms")
        with TestClient(app, base_url="https://testserver") as client:
            token = accounts.create_token(engine, "nurse@north.example")
            headers = {"Authorization": f"Bearer {token}"}
            api = median_ms(lambda: client.get("/api/v1/worklist", headers=headers), args.runs)
            print(f"GET /api/v1/worklist in process: median {api:.1f} ms")
            login = client.get("/login").text  # the form carries a login token
            token = login.split('name="csrf" value="')[1].split('"')[0]
            client.post(
                "/login",
                data={"email": "nurse@north.example", "password": PASSWORD, "csrf": token},
            )
            page = client.get("/worklist")
            if page.status_code == 200:
                ms = median_ms(lambda: client.get("/worklist"), args.runs)
                print(f"GET /worklist (the page) in process: median {ms:.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
