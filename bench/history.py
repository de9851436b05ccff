"""A realistic 50-event intrathecal history for benchmarks: oral titration, screening, implant,
titration, refills, maintenance; the proposal is a maintenance increase."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

START = datetime(2025, 1, 6, 8, 0)


def history_case(events: int = 50) -> dict[str, Any]:
    at = START
    history: list[dict[str, Any]] = []

    def add(days: float, kind: str, **fields: Any) -> None:
        nonlocal at
        at += timedelta(days=days)
        history.append({"at": at.isoformat(timespec="minutes"), "kind": kind, **fields})

    for dose in ("5 mg", "10 mg", "15 mg", "20 mg"):
        add(3, "oral-regimen", dose=dose, times_per_day=3)
    add(30, "review", note="six-week review")
    for dose, effect in (("25 ug", False), ("50 ug", True)):
        add(
            1,
            "it-test-dose",
            dose=dose,
            response={"effect": effect, "duration_h": 6 if effect else 0},
        )
    add(7, "pump-implant")
    add(0, "pump-refill", concentration="500 ug/mL", volume_ml=20)
    daily = 100
    add(0, "it-infusion", daily_dose=f"{daily} ug/d")
    for _ in range(6):
        daily = daily * 6 // 5
        add(2, "it-infusion", daily_dose=f"{daily} ug/d")
    add(1, "oral-regimen", dose="10 mg", times_per_day=3)
    add(3, "oral-regimen", dose="5 mg", times_per_day=3)
    add(3, "it-stable")
    while len(history) < events - 1:
        add(25, "pump-refill", concentration="500 ug/mL", volume_ml=20)
        daily = daily * 11 // 10
        add(0.5, "it-infusion", daily_dose=f"{daily} ug/d")
    history = history[:events]
    proposal_at = at + timedelta(days=2)
    proposal = {
        "at": proposal_at.isoformat(timespec="minutes"),
        "kind": "it-infusion",
        "daily_dose": f"{daily * 11 // 10} ug/d",
    }
    patient = {
        "age_years": 48,
        "sex": "male",
        "diagnosis": "multiple-sclerosis",
        "spasticity_stable": True,
        "pump": {"programmable": True, "reservoir_ml": 20},
    }
    return {"patient": patient, "history": history, "proposal": proposal}
