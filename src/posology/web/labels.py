"""The codes the pages show, in the words the clinic uses, and the roles each page form is for.

Kept apart from the routes so the templates (as globals) and the route modules read one list.
"""

from __future__ import annotations

KIND_LABELS = {
    "pump-refill": "Pump refill",
    "it-infusion": "Start or change intrathecal infusion",
    "it-test-dose": "Intrathecal test dose",
    "pump-implant": "Pump implanted",
    "oral-regimen": "Oral regimen (start or change)",
    "oral-stop": "Stop an oral medicine",
    "it-stable": "Titration finished (maintenance from now on)",
    "it-stop": "Stop intrathecal infusion",
    "injection-session": "Botulinum toxin injection session",
    "review": "Review or reminder",
}
"""Each event kind in words, in the order the event form offers them (pump work first)."""

STATE_LABELS = {
    "empty": "Pump empty",
    "past-alarm": "Past the low-reservoir alarm",
    "overdue": "Refill overdue",
    "due": "Refill due",
    "ok": "On schedule",
    "stopped": "Infusion stopped",
    "no-fill": "No fill recorded",
    "no-pump": "No pump",
}
"""The pump states of :data:`posology.pump_status.STATES` in the words the clinic uses."""

GOAL_LABELS = {
    "oral-titration": "Oral titration (increase)",
    "oral-taper": "Oral taper (decrease and stop)",
    "it-screening": "Intrathecal screening (test doses)",
    "it-titration": "Intrathecal titration",
    "it-refill": "Pump refill",
    "it-flex": "Flex (night) programme",
    "it-tolerance-holiday": "Tolerance holiday",
    "it-taper": "Intrathecal taper",
}
"""Each plan goal in words, as the plan form offers them."""

PRESCRIBER_ROLES = ("prescriber", "clinician")
"""Roles that change doses and plans (``clinician`` is the old name of ``prescriber``)."""
RECORDER_ROLES = (*PRESCRIBER_ROLES, "nurse")
"""Roles that record events on the patient page (the API decides what each may record)."""
