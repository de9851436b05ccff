"""A plan: dated steps, each an event with its rules, instructions and condition, and findings."""

from __future__ import annotations

from ..frozen import record
from ..model.events import Event
from ..model.finding import Finding


@record
class Step:
    """One planned event, why (its rule IDs), how to carry it out, and when it applies."""

    event: Event
    rules: tuple[str, ...]
    instructions: str
    condition: str = ""
    asks: tuple[str, ...] = ()
    """Rules whose question this step (a review) puts to the clinician, the plan's later steps
    being conditional on the answer: their warnings on those later steps are answered here."""


@record
class Plan:
    """The steps of a plan (empty when no plan can be given) and the findings that go with it."""

    goal: str
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]

    @property
    def made(self) -> bool:
        return bool(self.steps)


class PlanRefused(Exception):
    """Raised inside the planner when a plan cannot be made; carries the findings that say why."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = findings
