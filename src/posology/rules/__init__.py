"""The checker: ``check(patient, history, proposal, pack)`` → findings, a pure function.

Every rule marked ``check`` in the pack has a function in one of the modules here; each reads
the :class:`~posology.rules.context.Context` built once from the sorted history, and yields
findings that carry the rule's ID, its severity from the pack and its citation.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..knowledge.schema import Pack
from ..model.events import Event
from ..model.finding import Finding
from ..model.patient import Patient
from . import general, infusion, mixup, oral, pump, refill, screening
from .context import Context, build_context

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
    ordered = tuple(sorted(history, key=lambda e: e.at))
    ctx = build_context(patient, ordered, proposal, pack)
    return judge(ctx)


def judge(ctx: Context) -> tuple[Finding, ...]:
    """Run every check on a prepared context."""
    findings = [f for rule_check in CHECKS for f in rule_check(ctx)]
    order = {rule_id: i for i, rule_id in enumerate(ctx.pack.rules)}
    findings.sort(key=lambda f: (-f.severity.rank, order.get(f.rule, 0)))
    return tuple(findings)


__all__ = ["CHECKS", "Context", "build_context", "check", "judge"]
