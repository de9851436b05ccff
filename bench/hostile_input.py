"""Hostile bodies answered at once (run by hand): a 1e10000000 dose, a 10,000-deep body and a
16,000-event history, each posted in process to POST /api/v1/check five times; prints the
status and the median time of each.

    .venv/bin/python bench/hostile_input.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from dbhelp import bearer, fresh_engine
from posology.server.app import create_app

PATIENT = {"age_years": 50, "diagnosis": "stroke"}
REVIEW = {"at": "2026-01-01T08:00", "kind": "review", "note": "r"}


def bodies() -> dict[str, bytes]:
    dose = {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "1e10000000 mg",
            "times_per_day": 3}  # fmt: skip
    history = [
        {**REVIEW, "at": f"2026-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}"}
        for i in range(16_000)
    ]
    return {
        "1e10000000 mg dose": json.dumps({"patient": PATIENT, "proposal": dose}).encode(),
        "10,000-deep body": b"[" * 10_000 + b"]" * 10_000,
        "16,000-event history": json.dumps(
            {
                "patient": PATIENT,
                "history": history,
                "proposal": {**REVIEW, "at": "2026-12-01T08:00"},
            }
        ).encode(),
    }


def main() -> None:
    engine = fresh_engine(Path(tempfile.mkdtemp()))
    app = create_app(engine)  # migrates the fresh database
    headers = {
        **bearer(engine, "d@x.example", "X", "prescriber"),
        "Content-Type": "application/json",
    }
    with TestClient(app, base_url="https://testserver") as client:
        for name, raw in bodies().items():
            times = []
            for _ in range(5):
                started = time.perf_counter()
                answer = client.post("/api/v1/check", headers=headers, content=raw)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{name}: {answer.status_code}, median {statistics.median(times):.1f} ms "
                  f"({len(raw)} bytes)")  # fmt: skip


if __name__ == "__main__":
    main()
