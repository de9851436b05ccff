"""The patient handout: the plan in plain language and large type, as a PDF (WeasyPrint)."""

from __future__ import annotations

from typing import Any

from ..knowledge import Pack
from ..model.events import (
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Review,
)
from ..planning.model import Plan, Step
from ..serialize import DISCLAIMER

_PUMP = (ItInfusion, ItStop, PumpRefill, PumpImplant, ItTestDose)


def plain(step: Step) -> str:
    """What a step means for the patient, in plain words."""
    e = step.event
    if isinstance(e, OralRegimen):
        return step.instructions  # doses, tablets or millilitres with the strength, clock times
    if isinstance(e, OralStop):
        return "Stop taking baclofen tablets or liquid, as planned."
    if isinstance(e, ItTestDose):
        return (
            f"Test dose in hospital: {e.dose.text()} into the spine. You will be watched closely."
        )
    if isinstance(e, PumpImplant):
        return "Pump operation in hospital."
    if isinstance(e, ItInfusion):
        return f"The clinic sets your pump to {e.daily_dose.text(places=1)} a day."
    if isinstance(e, PumpRefill):
        return (
            "Pump refill appointment at the clinic. Please come on time: the pump must never "
            "run empty."
        )
    if isinstance(e, ItStable):
        return "Your dose is settled: from now on, regular check-ups."
    if isinstance(e, ItStop):
        return "The clinic stops the medicine in your pump, as planned."
    if isinstance(e, Review):
        if "alarm" in e.note:
            return "Around this day the pump may beep (low reservoir). Call the clinic if it does."
        return "Check-up at the clinic: how well the medicine works and any side effects."
    return step.instructions


def handout_html(env: Any, plan: Plan, pack: Pack, clinic: str, contact: str | None = None) -> str:
    withdrawal = pack.rule("SUP-IT-WITHDRAWAL")
    steps = [
        {
            "when": f"{s.event.at:%A %d %B %Y, %H:%M}",
            "plain": plain(s),
            "condition": s.condition,
        }
        for s in plan.steps
    ]
    return str(
        env.get_template("handout.html").render(
            clinic=clinic,
            contact=contact,
            steps=steps,
            disclaimer=DISCLAIMER,
            pump=any(isinstance(s.event, _PUMP) for s in plan.steps),
            early=", ".join(withdrawal.code_list("early_signs")),
            advanced=", ".join(withdrawal.code_list("advanced_signs")),
        )
    )


def handout_pdf(env: Any, plan: Plan, pack: Pack, clinic: str, contact: str | None = None) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=handout_html(env, plan, pack, clinic, contact)).write_pdf())
