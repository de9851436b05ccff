"""The planner: ``plan(request, pack)`` → a Plan that never breaks its own checks.

Each goal has a builder that reads the patient, the history and the pack and returns dated
steps. Every plan is then replayed through the checker, step by step, against the request's
history and the plan's earlier steps: its warnings and notes become the plan's findings (the
patient's conditions, pregnancy, monitoring), and a step that would give an error or a critical
finding withdraws the whole plan, so an unsafe plan is never handed out. A warning whose
question an earlier review step of the plan asks (``Step.asks``, the later steps being
conditional on the answer) is answered by that step and not repeated; errors never are.
"""

from __future__ import annotations

from collections.abc import Callable

from ..frozen import replace
from ..knowledge.schema import Pack, Severity
from ..model.events import Event, ItInfusion, ItStop, ItTestDose, PumpImplant, PumpRefill, Response
from ..model.finding import Finding
from ..rules import check
from .intrathecal import it_flex, it_screening, it_taper, it_titration, it_tolerance_holiday
from .model import Plan, PlanRefused, Step
from .notes import note
from .oral import oral_taper, oral_titration
from .pump import it_refill
from .request import Goal, PlanRequest, parse_request, read_request
from .sessions import injection_session

Builder = Callable[[PlanRequest, Pack], tuple[list[Step], list[Finding]]]

BUILDERS: dict[str, Builder] = {
    "oral-titration": oral_titration,
    "oral-taper": oral_taper,
    "it-screening": it_screening,
    "it-titration": it_titration,
    "it-refill": it_refill,
    "it-flex": it_flex,
    "it-tolerance-holiday": it_tolerance_holiday,
    "it-taper": it_taper,
    "injection-session": injection_session,
}
_PUMP_EVENTS = (ItInfusion, ItStop, PumpRefill, PumpImplant)
_PUMP_GOALS = ("it-titration", "it-refill", "it-flex", "it-tolerance-holiday", "it-taper")


def replay(
    request: PlanRequest, steps: tuple[Step, ...], pack: Pack
) -> list[tuple[Step, tuple[Finding, ...]]]:
    """Check each step as a proposal after the history and the plan's earlier steps."""
    history = list(request.history)
    out = []
    for step in steps:
        out.append((step, check(request.patient, history, step.event, pack)))
        history.append(_as_recorded(step.event))
    return out


def _as_recorded(event: Event) -> Event:
    """A step as the history will hold it when the next step's condition is met.

    A planned test dose is followed by the next one only "if it gave no significant response",
    so later steps are judged with that response recorded.
    """
    if isinstance(event, ItTestDose) and event.response is None:
        return replace(event, response=Response(effect=False))
    return event


def _own_medicine(request: PlanRequest, pack: Pack) -> PlanRequest:
    """The request as a builder reads it: the history of the pack's medicine only (the other
    medicines' events are not this plan's doses; the replay still sees them, for the
    interaction rules)."""
    if all(e.medicine == pack.medicine for e in request.history):
        return request
    own = tuple(e for e in request.history if e.medicine == pack.medicine)
    return replace(request, history=own)


def _of_medicine(step: Step, medicine: str) -> Step:
    """A builder's step as an event of the plan's medicine (the builders write the doses, the
    plan says whose they are)."""
    if step.event.medicine == medicine:
        return step
    return replace(step, event=replace(step.event, medicine=medicine))


def plan(request: PlanRequest, pack: Pack) -> Plan:
    """A tailored plan for the request's goal, or no steps and the findings that say why."""
    kind = request.goal.kind
    try:
        steps, notes = BUILDERS[kind](_own_medicine(request, pack), pack)
    except PlanRefused as refused:
        return Plan(kind, (), refused.findings)
    ordered = tuple(_of_medicine(step, pack.medicine) for step in steps)
    findings: list[Finding] = list(notes)
    seen = {(f.rule, f.message) for f in findings}
    asked: set[str] = set()
    for step, step_findings in replay(request, ordered, pack):
        for finding in step_findings:
            if finding.rule in asked and finding.severity <= Severity.WARNING:
                continue  # an earlier review step of the plan puts this question (`Step.asks`)
            if finding.severity >= Severity.ERROR:
                return Plan(
                    kind,
                    (),
                    (
                        note(
                            pack,
                            finding.rule,
                            finding.severity,
                            "The plan was withdrawn: its step of "
                            f"{step.event.at.isoformat(timespec='minutes')} would break a rule. "
                            f"{finding.message}",
                        ),
                    ),
                )
            if (finding.rule, finding.message) not in seen:
                seen.add((finding.rule, finding.message))
                findings.append(finding)
        asked.update(step.asks)
    if any(isinstance(s.event, _PUMP_EVENTS) for s in ordered) or kind in _PUMP_GOALS:
        findings.append(
            note(
                pack, pack.role("intrathecal.withdrawal").id, Severity.INFO, _withdrawal_text(pack)
            )
        )
    findings.sort(key=lambda f: -f.severity.rank)
    return Plan(kind, ordered, tuple(findings))


def _withdrawal_text(pack: Pack) -> str:
    rule = pack.role("intrathecal.withdrawal")
    return rule.phrase(
        "plan_note",
        early=", ".join(rule.code_list("early_signs")),
        advanced=", ".join(rule.code_list("advanced_signs")),
        causes=", ".join(rule.code_list("causes")),
    )


GOALS_MADE = frozenset(BUILDERS)

__all__ = [
    "BUILDERS",
    "GOALS_MADE",
    "Goal",
    "Plan",
    "PlanRequest",
    "Step",
    "parse_request",
    "plan",
    "read_request",
    "replay",
]
