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


def plain(step: Step, pack: Pack) -> str:
    """What a step means for the patient, in plain words (the clinical ones from the pack)."""
    e = step.event
    if isinstance(e, OralRegimen):
        return step.instructions  # doses, tablets or millilitres with the strength, clock times
    if isinstance(e, OralStop):
        return "Stop taking baclofen tablets or liquid, as planned."
    if isinstance(e, ItTestDose):
        return pack.rule("IT-MONITOR-IMPLANT").phrase("handout_test_dose", dose=e.dose.text())
    if isinstance(e, PumpImplant):
        return pack.rule("IT-IMPLANT-CENTRE").text("handout")
    if isinstance(e, ItInfusion):
        return f"The clinic sets your pump to {e.daily_dose.text(places=1)} a day."
    if isinstance(e, PumpRefill):
        return pack.rule("SUP-IT-WITHDRAWAL").text("handout_refill")
    if isinstance(e, ItStable):
        return pack.rule("IT-MAINT-GOAL").text("handout_stable")
    if isinstance(e, ItStop):
        return "The clinic stops the medicine in your pump, as planned."
    if isinstance(e, Review):
        if "SUP-IT-REFILL" in step.rules:
            return pack.rule("SUP-IT-REFILL").text("handout_alarm")
        return "Check-up at the clinic: how well the medicine works and any side effects."
    return step.instructions


def handout_html(env: Any, plan: Plan, pack: Pack, clinic: str, contact: str | None = None) -> str:
    withdrawal = pack.rule("SUP-IT-WITHDRAWAL")
    steps = [
        {
            "when": f"{s.event.at:%A %d %B %Y, %H:%M}",
            "plain": plain(s, pack),
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
            pump_warning=withdrawal.phrase(
                "handout_pump",
                early=", ".join(withdrawal.code_list("early_signs")),
                advanced=", ".join(withdrawal.code_list("advanced_signs")),
            ),
        )
    )


def handout_pdf(env: Any, plan: Plan, pack: Pack, clinic: str, contact: str | None = None) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=handout_html(env, plan, pack, clinic, contact)).write_pdf())
