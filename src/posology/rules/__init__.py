"""The checker: ``check(patient, history, proposal, pack)`` → findings, a pure function.

Every rule marked ``check`` in the pack has a function in one of the modules here; each reads
the :class:`~posology.rules.context.Context` built once from the sorted history, and yields
findings that carry the rule's ID, its severity from the pack and its citation.

``judge_history(patient, history, pack)`` judges every event of a history as the proposal after
the ones before it, in O(n): the history's facts (a :class:`~posology.rules.past.Past`) are
advanced one event at a time instead of being read again for each event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..knowledge.schema import Pack
from ..model.events import Event
from ..model.finding import Finding
from ..model.patient import Patient
from . import general, infusion, mixup, oral, pump, refill, screening
from .context import Context, build_context, context_for
from .kinds import by_kind, for_patient
from .past import Past
from .per_pack import per_pack

CHECKS = (
    mixup.CHECKS
    + general.CHECKS
    + oral.CHECKS
    + screening.CHECKS
    + infusion.CHECKS
    + pump.CHECKS
    + refill.CHECKS
)


def check(
    patient: Patient, history: Iterable[Event], proposal: Event, pack: Pack
) -> tuple[Finding, ...]:
    """Judge ``proposal`` for ``patient`` against everything in ``history`` before it.

    Pure: no clock, no I/O. ``history`` may be in any order; it is sorted by time here.
    Findings come most severe first, then in the pack's order of rules.

    >>> from posology.knowledge import load_pack
    >>> from posology.model import parse_case
    >>> case = parse_case({
    ...     "patient": {"age_years": 50, "diagnosis": "multiple-sclerosis"},
    ...     "history": [{"at": "2026-12-01T08:00", "kind": "oral-regimen",
    ...                  "dose": "30 mg", "times_per_day": 3}],
    ...     "proposal": {"at": "2026-12-20T08:00", "kind": "oral-regimen",
    ...                  "dose": "35 mg", "times_per_day": 3}})
    >>> [(f.rule, f.severity.value)
    ...  for f in check(case.patient, case.history, case.proposal, load_pack())]
    [('PO-MAX', 'error'), ('PO-DAILY-RANGE', 'warning'), ('PO-USUAL', 'info')]
    """
    ordered = tuple(sorted(history, key=_instant))
    return judge(build_context(patient, ordered, proposal, pack))


def _instant(event: Event) -> datetime:
    """The sort key of a history: its instant (a stable sort keeps the order given within one
    instant)."""
    return event.at


Judged = tuple[tuple[Event, tuple[Finding, ...]], ...]
"""Each event of a history with the findings of judging it after the ones before."""


def judge_history(patient: Patient, history: Iterable[Event], pack: Pack) -> Judged:
    """Judge every event of ``history`` as the proposal after the events before it.

    The history is sorted by time as :func:`check` sorts it; for each position ``i`` the answer
    is exactly ``check(patient, ordered[:i], ordered[i], pack)``, findings and order alike. The
    facts of the history are advanced one event at a time, so a history of n events costs O(n)
    (a rule's look-back over a window costs the events within the window).
    """
    ordered = sorted(history, key=_instant)
    past = Past.empty(pack)
    after = past.reading(ordered)
    judged = []
    for event in ordered:
        judged.append((event, judge(context_for(patient, past, event))))
        past = next(after)
    return tuple(judged)


_CHECKS_FOR = by_kind(CHECKS)
"""For each event type, the checks that can speak about a proposal of it (``kinds``)."""


def judge(ctx: Context) -> tuple[Finding, ...]:
    """Run every check that can speak about the proposal, for this patient, on a prepared
    context (``kinds``: the others would return at once)."""
    kind = type(ctx.proposal)
    facts = ctx.facts
    if facts is None:
        checks = _CHECKS_FOR.get(kind, CHECKS)
    else:
        plan = (kind, ctx.is_child)
        found = facts.plans.get(plan)
        if found is None:
            found = facts.plans[plan] = for_patient(
                _CHECKS_FOR.get(kind, CHECKS), facts, ctx.is_child
            )
        checks = found
    return _ordered([f for rule_check in checks for f in rule_check(ctx)], ctx.pack)


def judge_every_check(ctx: Context) -> tuple[Finding, ...]:
    """:func:`judge` calling every check, whatever the proposal: the reference the checks'
    kind marks are tested against."""
    return _ordered([f for rule_check in CHECKS for f in rule_check(ctx)], ctx.pack)


def _ordered(findings: list[Finding], pack: Pack) -> tuple[Finding, ...]:
    """Most severe first, then in the pack's order of rules (a stable sort keeps a rule's
    findings in the order the rule gave them)."""
    if len(findings) > 1:
        order = _rule_order(pack)
        findings.sort(key=lambda f: (-f.severity.rank, order.get(f.rule, 0)))
    return tuple(findings)


@per_pack
def _rule_order(pack: Pack) -> dict[str, int]:
    """Each rule's position in the pack (findings of one severity come in this order)."""
    return {rule_id: i for i, rule_id in enumerate(pack.rules)}


__all__ = [
    "CHECKS",
    "Context",
    "Judged",
    "Past",
    "build_context",
    "check",
    "context_for",
    "judge",
    "judge_every_check",
    "judge_history",
]
