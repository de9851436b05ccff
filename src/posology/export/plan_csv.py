"""A plan as CSV: one row per step, for spreadsheets and pharmacy systems."""

from __future__ import annotations

import csv
import io

from ..model.events import ItInfusion, OralRegimen
from ..planning.model import Plan
from ..serialize import event_json, quantity_json
from .describe import describe

COLUMNS = (
    "at",
    "kind",
    "what",
    "dose",
    "daily_dose",
    "times",
    "concentration",
    "volume_ml",
    "rules",
    "instructions",
    "condition",
)


def render_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for step in plan.steps:
        event = event_json(step.event)
        dose = event.get("dose") or "; ".join(event.get("doses", []))
        writer.writerow(
            {
                "at": event["at"],
                "kind": event["kind"],
                "what": describe(step.event),
                "dose": dose,
                "daily_dose": (
                    quantity_json(step.event.daily_dose)
                    if isinstance(step.event, (OralRegimen, ItInfusion))
                    else ""
                ),
                "times": " ".join(event.get("times", [])),
                "concentration": event.get("concentration", ""),
                "volume_ml": event.get("volume_ml", ""),
                "rules": " ".join(step.rules),
                "instructions": step.instructions,
                "condition": step.condition,
            }
        )
    return out.getvalue()
