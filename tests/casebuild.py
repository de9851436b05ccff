"""Build cases from contract-shaped dicts and run the checker on them (test helpers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posology.knowledge import load_pack
from posology.model import Finding, parse_case
from posology.rules import check

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # see fixtures/SOURCES.md


def adult(**fields: Any) -> dict[str, Any]:
    """A 45-year-old with MS, stable spasticity, not pregnant: no incidental findings."""
    base: dict[str, Any] = {
        "age_years": 45,
        "sex": "male",
        "diagnosis": "multiple-sclerosis",
        "spasticity_stable": True,
    }
    base.update(fields)
    return base


def oral(at: str, dose: str, n: int = 3, **extra: Any) -> dict[str, Any]:
    return {"at": at, "kind": "oral-regimen", "dose": dose, "times_per_day": n, **extra}


def infusion(at: str, daily: str, **extra: Any) -> dict[str, Any]:
    return {"at": at, "kind": "it-infusion", "daily_dose": daily, **extra}


def tdose(
    at: str, dose: str, effect: bool | None = None, hours: float | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {"at": at, "kind": "it-test-dose", "dose": dose}
    if effect is not None:
        event["response"] = {"effect": effect} | ({"duration_h": hours} if hours else {})
    return event


def event(at: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"at": at, "kind": kind, **fields}


def run(
    patient: dict[str, Any], history: list[dict[str, Any]], proposal: dict[str, Any]
) -> tuple[Finding, ...]:
    case = parse_case({"patient": patient, "history": history, "proposal": proposal})
    return check(case.patient, case.history, case.proposal, load_pack())


def fired(findings: tuple[Finding, ...], rule: str) -> list[str]:
    """The severities with which ``rule`` fired (empty when it did not)."""
    return [f.severity.value for f in findings if f.rule == rule]


def rules_of(findings: tuple[Finding, ...]) -> set[str]:
    return {f.rule for f in findings}


# An intrathecal patient who responded to 50 µg for 6 h, implanted, refilled and started at
# 100 µg/day (twice the bolus), with a programmable 20 mL pump.
def it_patient(**fields: Any) -> dict[str, Any]:
    return adult(pump={"programmable": True, "reservoir_ml": 20}, **fields)


def it_started(start: str = "100 ug/d") -> list[dict[str, Any]]:
    return [
        tdose("2026-11-01T09:00", "50 ug", True, 6),
        event("2026-11-05T08:00", "pump-implant"),
        event("2026-11-05T10:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
        infusion("2026-11-05T12:00", start),
    ]
