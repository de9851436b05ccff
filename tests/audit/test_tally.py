"""The summary's event counts come from tallies (one a partition), not a row an event: they must
be what counting the events judged one by one gives, however the patients are split."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from posology.audit.adapters.contract import ContractAdapter
from posology.audit.codes import load_codes
from posology.audit.columns import Columns
from posology.audit.patient_audit import OUTPUT_COLUMNS, Tally, audit_patient
from posology.audit.synthetic import write_dataset
from posology.knowledge import load_pack

from .conftest import Audit

PACK = load_pack()
CODES = load_codes("baclofen")
PATIENT = {"patient_id": "P1", "_file": "patients.csv", "_row": 1, "age_years": "40"}
PATIENT |= {"diagnosis": "multiple-sclerosis"}


def _rows(patient_id: str, ats: list[str]) -> Columns:
    return Columns.from_rows(
        [
            {"patient_id": patient_id, "at": at, "kind": "oral-regimen", "dose": "5 mg"}
            | {"times_per_day": "3", "_file": "events.csv", "_row": n}
            for n, at in enumerate(ats, start=1)
        ]
    )


def _counts(rows: list[tuple[Any, ...]]) -> Counter[tuple[str, str]]:
    at, kind, events = (OUTPUT_COLUMNS.index(c) for c in ("at", "kind", "events"))
    found: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row[0] == "events":
            found[(row[at], row[kind])] += row[events]
    return found


def test_one_tally_for_many_patients_counts_what_each_patient_counts_alone() -> None:
    histories = {
        "P1": ["2025-01-31T23:00", "2025-02-01T08:00", "2025-02-20T08:00"],
        "P2": ["2025-02-03T08:00", "2026-11-01T08:00"],
        "P3": ["2025-02-03T08:00", "2025-02-03T08:00"],  # a copy: judged once
        "P4": ["2025-03-31T23:30-05:00"],  # the month of the instant as written
    }
    alone: Counter[tuple[str, str]] = Counter()
    shared, tally = [], Tally()
    for patient_id, ats in histories.items():
        patient = {**PATIENT, "patient_id": patient_id}
        args = (ContractAdapter(), None, CODES, PACK, patient_id, [patient], _rows(patient_id, ats))
        alone += _counts(audit_patient(*args))
        shared += audit_patient(*args, tally)
    assert not _counts(shared)  # the engine's tally holds them until the end
    assert _counts(tally.rows()) == alone
    months = {"2025-01": 1, "2025-02": 4, "2025-03": 1, "2026-11": 1}
    assert alone == {(m, "oral-regimen"): n for m, n in months.items()}
    assert sum(1 for r in shared if r[0] == "patient") == 4


def test_the_summary_counts_the_events_judged_by_kind_and_month(audit: Any, tmp_path: Path) -> None:
    """On a synthetic dataset (every row judged), with one worker and with two."""
    data = tmp_path / "data"
    write_dataset(data, 3_000, seed=7)
    rows = pq.read_table(data / "events.parquet").to_pylist()
    months = Counter(datetime.fromisoformat(r["at"]).isoformat()[:7] for r in rows)
    kinds = Counter(r["kind"] for r in rows)
    summaries = []
    for workers in ("1", "2"):
        result: Audit = audit(
            data / "events.parquet",
            "--patients",
            data / "patients.parquet",
            "--workers",
            workers,
            out=tmp_path / f"out-{workers}",
        )
        summary = result.summary()
        assert summary["events_judged"] == len(rows)
        assert summary["patients"] == len({r["patient_id"] for r in rows})
        assert summary["events_by_kind"] == dict(sorted(kinds.items()))
        assert {m["month"]: m["events"] for m in summary["by_month"]} == months
        summaries.append(summary)
    assert summaries[0] == summaries[1]
