"""Helpers to build REQUEST documents and run the planner (test helpers)."""

from __future__ import annotations

from typing import Any

from posology.knowledge import load_pack
from posology.planning import Plan, parse_request, plan


def make_plan(
    patient: dict[str, Any],
    goal: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    start: str = "2026-12-01T08:00",
) -> Plan:
    request = parse_request(
        {"patient": patient, "history": history or [], "goal": goal, "start": start}
    )
    return plan(request, load_pack())


def kinds(p: Plan) -> list[str]:
    return [s.event.kind for s in p.steps]


def days_from(p: Plan, start: str = "2026-12-01T08:00") -> list[float]:
    from datetime import datetime

    origin = datetime.fromisoformat(start)
    return [(s.event.at - origin).total_seconds() / 86400 for s in p.steps]
