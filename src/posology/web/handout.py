"""The patient handout: the plan in plain language and large type, as a PDF (WeasyPrint)."""

from __future__ import annotations

from typing import Any

from ..knowledge import Pack
from ..model.events import ItInfusion, ItStop, ItTestDose, PumpImplant, PumpRefill
from ..planning.model import Plan
from ..serialize import DISCLAIMER

_PUMP = (ItInfusion, ItStop, PumpRefill, PumpImplant, ItTestDose)


def handout_html(env: Any, plan: Plan, pack: Pack, clinic: str) -> str:
    withdrawal = pack.rule("SUP-IT-WITHDRAWAL")
    steps = [
        {
            "when": f"{s.event.at:%A %d %B %Y, %H:%M}",
            "plain": s.instructions,
            "condition": s.condition,
        }
        for s in plan.steps
    ]
    return str(
        env.get_template("handout.html").render(
            clinic=clinic,
            steps=steps,
            disclaimer=DISCLAIMER,
            pump=any(isinstance(s.event, _PUMP) for s in plan.steps),
            early=", ".join(withdrawal.code_list("early_signs")),
            advanced=", ".join(withdrawal.code_list("advanced_signs")),
        )
    )


def handout_pdf(env: Any, plan: Plan, pack: Pack, clinic: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=handout_html(env, plan, pack, clinic)).write_pdf())
