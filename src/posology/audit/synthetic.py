"""Synthetic audit datasets: realistic baclofen histories with errors planted at known rates.

For tests and benchmarks only: the histories follow the shapes of practice (an oral titration
then monthly re-prescriptions and a gradual taper; or a screening, an implant, a titration and
pump refills every few weeks), and a few events are replaced, at the rates of :data:`PLANTED`, by
a typical slip. ``planted.csv`` lists every planted event (patient, file row, the rule it should
fire), so a test can compare what the audit finds, and what its report plots, with the truth.
The doses are illustrations of common regimens, never advice.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Chance that an eligible event carries each planted slip, by the role of the rule it should
# fire (``planted.csv`` names the rule that fills the role in the baclofen pack).
PLANTED = {
    # an oral re-prescription written as 35 mg three times a day (above the outpatient maximum)
    "oral.max": 0.03,
    # an intrathecal screening dose typed as 150 µg (above the highest test dose)
    "intrathecal.screening.nonresponder": 0.05,
    # an infusion's daily dose typed in mg instead of µg (a thousandfold slip)
    "unit-mixup": 0.01,
    # oral baclofen stopped at once instead of tapered
    "stop.gradual": 0.05,
}
EVENTS_PER_PATIENT = (20, 80)  # each patient's history length, drawn uniformly
SHARE_INTRATHECAL = 0.3
START = datetime(2024, 1, 1, 8, 0)
EVENT_COLUMNS = (
    "patient_id",
    "at",
    "kind",
    "dose",
    "times_per_day",
    "daily_dose",
    "concentration",
    "volume_ml",
    "response",
    "note",
)
PATIENT_COLUMNS = (
    "patient_id",
    "age_years",
    "sex",
    "weight_kg",
    "diagnosis",
    "spasticity_stable",
    "pregnant",
    "breastfeeding",
    "pump",
)
DIAGNOSES = ("multiple-sclerosis", "spinal-cord-injury", "cerebral-palsy", "stroke")


@dataclass
class _History:
    patient_id: str
    rng: random.Random
    at: datetime
    events: list[dict[str, Any]]
    planted: list[tuple[int, str]]  # index in events, role of the rule it should fire

    def add(self, days: float, kind: str, **fields: Any) -> None:
        self.at += timedelta(days=days)
        self.events.append({"at": self.at.isoformat(timespec="minutes"), "kind": kind, **fields})

    def plant(self, role: str) -> bool:
        if self.rng.random() < PLANTED[role]:
            self.planted.append((len(self.events), role))
            return True
        return False


def _oral(h: _History, budget: int) -> None:
    for dose in (5, 10, 15, 20):
        h.add(3, "oral-regimen", dose=f"{dose} mg", times_per_day=3)
    months = max(budget - 8, 1)
    for _ in range(months):
        dose = 35 if h.plant("oral.max") else 20
        h.add(30, "oral-regimen", dose=f"{dose} mg", times_per_day=3)
        if dose != 20:  # the slip is corrected at the next visit
            h.add(1, "oral-regimen", dose="20 mg", times_per_day=3)
    if h.plant("stop.gradual"):
        h.add(10, "oral-stop")
        return
    for dose in (15, 10, 5):
        h.add(7, "oral-regimen", dose=f"{dose} mg", times_per_day=3)
    h.add(7, "oral-stop")


def _intrathecal(h: _History, budget: int) -> None:
    for dose in (5, 10, 15, 20):
        h.add(3, "oral-regimen", dose=f"{dose} mg", times_per_day=3)
    h.add(30, "review", note="six-week review of the oral dose")
    if h.plant("intrathecal.screening.nonresponder"):
        h.add(1, "it-test-dose", dose="150 ug", response={"effect": True, "duration_h": 6})
    else:
        h.add(1, "it-test-dose", dose="50 ug", response={"effect": True, "duration_h": 6})
    h.add(7, "pump-implant")
    h.add(0, "pump-refill", concentration="500 ug/mL", volume_ml=20)
    daily = 100
    h.add(0, "it-infusion", daily_dose=f"{daily} ug/d")
    for _ in range(4):
        daily = daily * 6 // 5
        h.add(2, "it-infusion", daily_dose=f"{daily} ug/d")
    h.add(1, "oral-regimen", dose="10 mg", times_per_day=3)
    h.add(7, "oral-regimen", dose="5 mg", times_per_day=3)
    h.add(7, "oral-stop")
    h.add(3, "it-stable")
    while len(h.events) < budget:
        h.add(25, "pump-refill", concentration="500 ug/mL", volume_ml=20)
        if h.plant("unit-mixup"):
            h.add(0.5, "it-infusion", daily_dose=f"{daily} mg/d")
            h.add(0.5, "it-infusion", daily_dose=f"{daily} ug/d")
        else:
            h.add(0.5, "it-infusion", daily_dose=f"{daily} ug/d")


def histories(events: int, seed: int = 1) -> Iterator[tuple[dict[str, Any], _History]]:
    """Patients and their histories until about ``events`` events are written."""
    rng = random.Random(seed)
    written = 0
    n = 0
    while written < events:
        n += 1
        pid = f"S{seed:02d}-{n:07d}"
        budget = rng.randint(*EVENTS_PER_PATIENT)
        start = START + timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 600))
        h = _History(pid, rng, start, [], [])
        intrathecal = rng.random() < SHARE_INTRATHECAL
        patient: dict[str, Any] = {
            "patient_id": pid,
            "age_years": rng.randint(25, 75),
            "sex": rng.choice(("female", "male")),
            "weight_kg": rng.randint(50, 100),
            "diagnosis": rng.choice(DIAGNOSES[:2] if intrathecal else DIAGNOSES),
            "spasticity_stable": True,
        }
        if patient["sex"] == "female":  # recorded, as a clinic records it
            patient["pregnant"] = False
            patient["breastfeeding"] = False
        if intrathecal:
            patient["pump"] = {"programmable": True, "reservoir_ml": 20}
            _intrathecal(h, budget)
        else:
            _oral(h, budget)
        written += len(h.events)
        yield patient, h


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def write_dataset(out: Path, events: int, seed: int = 1, fmt: str = "parquet") -> list[Path]:
    """Write ``events.FMT``, ``patients.FMT`` and ``planted.csv`` into ``out``; their paths.

    ``fmt`` is ``parquet``, ``csv`` or ``ndjson``; planted rows are numbered as the audit
    numbers rows (the first data row is 1).
    """
    import pyarrow as pa

    from ..knowledge import load_pack

    pack = load_pack()
    rule_of = {role: pack.role(role).id for role in PLANTED}
    out.mkdir(parents=True, exist_ok=True)
    ev: dict[str, list[str | None]] = {c: [] for c in EVENT_COLUMNS}
    pt: dict[str, list[str | None]] = {c: [] for c in PATIENT_COLUMNS}
    planted: list[tuple[str, int, str]] = []
    docs: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    for patient, h in histories(events, seed):
        patients.append(patient)
        for c in PATIENT_COLUMNS:
            pt[c].append(_cell(patient.get(c)))
        first = len(ev["patient_id"]) + 1
        for i, role in h.planted:
            planted.append((h.patient_id, first + i, rule_of[role]))
        for event in h.events:
            docs.append({"patient_id": h.patient_id, **event})
            ev["patient_id"].append(h.patient_id)
            for c in EVENT_COLUMNS[1:]:
                ev[c].append(_cell(event.get(c)))
    ext = {"parquet": "parquet", "csv": "csv", "ndjson": "ndjson"}[fmt]
    events_path, patients_path = out / f"events.{ext}", out / f"patients.{ext}"
    if fmt == "ndjson":
        for path, rows in ((events_path, docs), (patients_path, patients)):
            with path.open("w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(row) + "\n")
    else:
        for path, table in ((events_path, ev), (patients_path, pt)):
            arrow = pa.table({k: pa.array(v, pa.string()) for k, v in table.items()})
            if fmt == "parquet":
                import pyarrow.parquet as pq

                pq.write_table(arrow, path)
            else:
                from pyarrow import csv as pacsv

                pacsv.write_csv(arrow, path)
    truth = out / "planted.csv"
    with truth.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("patient_id", "source_row", "rule"))
        writer.writerows(planted)
    return [events_path, patients_path, truth]
