"""A plan as a schedule a clinician would print: dates, doses, times, volumes, rules."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from ..planning.model import Plan
from ..render import pack_line
from ..serialize import DISCLAIMER
from .describe import describe

if TYPE_CHECKING:
    from ..knowledge.schema import Pack

WIDTH = 100
INDENT = " " * 18


def render_plan(plan: Plan, pack: Pack | None = None) -> str:
    """The plan for people: its goal, the rules it was made with (``pack``), each step."""
    lines = [f"Plan: {plan.goal}"]
    if pack is not None:
        lines.append(pack_line(pack))
    lines.append("")
    if not plan.steps:
        lines.append("No plan can be given:")
    for step in plan.steps:
        head = f"{step.event.at:%Y-%m-%d %H:%M}  {describe(step.event)}"
        lines.extend(textwrap.wrap(head, WIDTH, subsequent_indent=INDENT))
        body = [step.instructions]
        if step.condition:
            body.append(f"Condition: {step.condition}.")
        body.append(f"Rules: {', '.join(step.rules)}")
        for paragraph in body:
            lines.extend(
                textwrap.wrap(paragraph, WIDTH, initial_indent=INDENT, subsequent_indent=INDENT)
            )
        lines.append("")
    if plan.findings:
        lines.append("Findings:" if plan.steps else "")
        for f in plan.findings:
            lines.extend(
                textwrap.wrap(
                    f"{f.severity.value.upper()} {f.rule}: {f.message}",
                    WIDTH,
                    initial_indent="  ",
                    subsequent_indent="    ",
                )
            )
            lines.extend(
                textwrap.wrap(
                    f"“{f.citation.quote}” ({f.citation.source})",
                    WIDTH,
                    initial_indent="    ",
                    subsequent_indent="    ",
                )
            )
        lines.append("")
    lines.extend(textwrap.wrap(DISCLAIMER, WIDTH))
    return "\n".join(lines)
