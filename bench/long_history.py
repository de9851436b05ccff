"""Realistic long histories for benchmarks: years of one patient's care, of any length.

Oral titration and taper, intrathecal screening, implant, titration and maintenance with refills
every few weeks (the volume withdrawn recorded), dose changes up and down, reviews, a drug
holiday (taper, stop, resumption) every few years with a new oral course around it, and now
and then a new screening. Doses stay within the pack's ranges however long the history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

START = datetime(1990, 1, 8, 8, 0)
PATIENT = {
    "age_years": 48,
    "sex": "male",
    "diagnosis": "multiple-sclerosis",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}


def long_history(events: int) -> list[dict[str, Any]]:
    """``events`` EVENT documents of one patient, oldest first."""
    at = START
    history: list[dict[str, Any]] = []

    def add(days: float, kind: str, **fields: Any) -> None:
        nonlocal at
        at += timedelta(days=days)
        history.append({"at": at.isoformat(timespec="minutes"), "kind": kind, **fields})

    def oral_course() -> None:
        for dose in ("5 mg", "10 mg", "15 mg", "20 mg"):
            add(3, "oral-regimen", dose=dose, times_per_day=3)
        add(30, "review", note="oral review")

    def screening() -> None:
        for dose, effect in (("25 ug", False), ("50 ug", True)):
            response = {"effect": effect, "duration_h": 6} if effect else {"effect": False}
            add(1, "it-test-dose", dose=dose, response=response)

    def refill(days: float) -> None:
        add(days, "pump-refill", concentration="500 ug/mL", volume_ml=20, residual_ml=3)

    oral_course()
    screening()
    add(7, "pump-implant")
    refill(0)
    daily = 100
    add(0, "it-infusion", daily_dose=f"{daily} ug/d")
    for _ in range(5):
        daily = daily * 6 // 5
        add(2, "it-infusion", daily_dose=f"{daily} ug/d")
    for dose in ("10 mg", "5 mg"):
        add(3, "oral-regimen", dose=dose, times_per_day=3)
    add(3, "oral-stop")
    add(3, "it-stable")
    cycle = 0
    while len(history) < events:
        cycle += 1
        refill(24)
        if cycle % 3 == 0:  # a change in maintenance, up or down, within the usual range
            daily = daily + 25 if daily < 450 else daily - 100
            add(0.5, "it-infusion", daily_dose=f"{daily} ug/d")
        if cycle % 8 == 0:
            add(2, "review", note="tone review")
        if cycle % 60 == 0:  # a drug holiday: taper, stop, oral cover, resume
            for _ in range(3):
                daily = daily * 85 // 100
                add(4, "it-infusion", daily_dose=f"{daily} ug/d")
            add(2, "it-stop")
            oral_course()
            add(3, "oral-stop")
            daily = 150
            add(1, "it-infusion", daily_dose=f"{daily} ug/d")
            add(3, "it-stable")
        if cycle % 150 == 0:
            screening()
    return history[:events]


def proposal_after(history: list[dict[str, Any]]) -> dict[str, Any]:
    """A maintenance increase two days after the last event."""
    last = datetime.fromisoformat(history[-1]["at"])
    at = (last + timedelta(days=2)).isoformat(timespec="minutes")
    return {"at": at, "kind": "it-infusion", "daily_dose": "420 ug/d"}
