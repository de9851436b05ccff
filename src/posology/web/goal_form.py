"""The plan form's fields read as a GOAL document.

One reading for the plan page, its downloads and the patient handout, so the three always show
the same plan for the same query.
"""

from __future__ import annotations

from typing import Any

from ..planning.request import _GOAL_FIELDS


def goal_from_form(params: Any) -> dict[str, Any]:
    """The plan form's fields as a GOAL object: only the chosen goal's options, typed as the
    contract reads them (a count as a number, night-only as true, task times as a list)."""
    kind = str(params.get("goal", ""))
    required, optional = _GOAL_FIELDS.get(kind, ((), ()))
    goal: dict[str, Any] = {"kind": kind}
    for option in (*required, *optional):
        raw = str(params.get(option, "") or "").strip()
        if not raw:
            continue
        if option == "night_only":
            goal[option] = raw in ("yes", "true", "on")
        elif option == "pre_task_times":
            goal[option] = [t.strip() for t in raw.split(",") if t.strip()]
        elif option in ("times_per_day", "alarm_ml"):
            try:
                goal[option] = int(raw) if raw.isdigit() else float(raw)
            except ValueError:
                goal[option] = raw  # the reader names the field and the fix
        else:
            goal[option] = raw
    return goal
