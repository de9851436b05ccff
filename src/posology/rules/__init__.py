"""The checker: ``check(patient, history, proposal, pack)`` → findings, a pure function.

The modules here implement kinds of rules (``rules.kinds``); every rule marked ``check`` in the
pack names its kind, and the checker runs that kind's implementation with that rule. Each reads
the :class:`~posology.rules.context.Context` built once from the sorted history, and yields
findings that carry the rule's ID, its severity from the pack and its citation, so a new
medicine's pack is checked by the same code with its own rules.

``judge_history(patient, history, pack)`` judges every event of a history as the proposal after
the ones before it, in O(n): the history's facts (a :class:`~posology.rules.past.Past`) are
advanced one event at a time instead of being read again for each event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter

from ..errors import InputError
from ..knowledge.schema import Pack
from ..model.events import Event
from ..model.finding import Finding
from ..model.patient import Patient
from . import (
    frequency,
    general,
    infusion,
    interactions,
    kidneys,
    mixup,
    oral,
    pump,
    refill,
    screening,
    sessions,
)
from .context import Context, build_context, context_for, context_with, facts_of
from .kinds import Bound, checks_for, for_patient
from .past import Past

MODULES = (
    mixup,
    general,
    oral,
    frequency,
    kidneys,
    screening,
    infusion,
    pump,
    refill,
    sessions,
    interactions,
)
"""The modules that implement kinds of rules (importing them registers their kinds)."""


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
    >>> pack = load_pack()
    >>> [(pack.rules[f.rule].role, f.severity.value)
    ...  for f in check(case.patient, case.history, case.proposal, pack)]
    [('oral.max', 'error'), ('oral.daily-range', 'warning'), ('oral.usual', 'info')]
    """
    medicine = same_medicine(proposal, pack)
    ordered = tuple(sorted(history, key=_instant))
    if ordered and set(map(_medicine_of, ordered)) != {medicine}:
        own, others = split_by_medicine(ordered, medicine)
        return judge(build_context(patient, own, proposal, pack, others))
    return judge(build_context(patient, ordered, proposal, pack))


def same_medicine(proposal: Event, pack: Pack) -> str:
    """The pack's medicine, which must be the proposal's: a proposal is judged by the pack of
    its own medicine (the callers choose the pack by it), never by another medicine's rules."""
    if proposal.medicine != pack.medicine:
        raise InputError(
            "proposal.medicine",
            f"is {proposal.medicine}, and the pack given is {pack.medicine}'s: judge it with "
            f"the {proposal.medicine} pack",
        )
    return pack.medicine


def split_by_medicine(
    ordered: Sequence[Event], medicine: str
) -> tuple[tuple[Event, ...], tuple[Event, ...]]:
    """The events of ``medicine`` and those of the other medicines, each in the given order."""
    own = tuple(e for e in ordered if e.medicine == medicine)
    return own, tuple(e for e in ordered if e.medicine != medicine)


def _instant(event: Event) -> datetime:
    """The sort key of a history: its instant (a stable sort keeps the order given within one
    instant)."""
    return event.at


_medicine_of = attrgetter("medicine")


Judged = tuple[tuple[Event, tuple[Finding, ...]], ...]
"""Each event of a history with the findings of judging it after the ones before."""


def judge_history(patient: Patient, history: Iterable[Event], pack: Pack) -> Judged:
    """Judge every event of ``history`` as the proposal after the events before it.

    The history is sorted by time as :func:`check` sorts it; for each position ``i`` holding an
    event of the pack's medicine the answer is exactly ``check(patient, ordered[:i], ordered[i],
    pack)``, findings and order alike (the other medicines' events are what else the patient
    takes, judged by their own packs, not listed here). The
    facts of the history are advanced one event at a time, so a history of n events costs O(n)
    (a rule's look-back over a window costs the events within the window).
    """
    ordered = sorted(history, key=_instant)
    if any(e.medicine != pack.medicine for e in ordered):
        return _judge_among_medicines(patient, ordered, pack)
    facts = facts_of(patient, pack)
    past = Past.empty(pack)
    after = past.reading(ordered)
    judged = []
    for event in ordered:
        judged.append((event, judge(context_with(facts, past, event))))
        past = next(after)
    return tuple(judged)


def _judge_among_medicines(patient: Patient, ordered: list[Event], pack: Pack) -> Judged:
    """:func:`judge_history` of a history of several medicines: the pack's medicine's events
    are judged, each after the ones before it, with the other medicines' events up to it as
    what else the patient takes (the others are not this pack's to judge)."""
    own, _ = split_by_medicine(ordered, pack.medicine)
    facts = facts_of(patient, pack)
    past = Past.empty(pack)
    after = past.reading(own)
    judged = []
    others: tuple[Event, ...] = ()
    for event in ordered:
        if event.medicine != pack.medicine:
            others = (*others, event)
            continue
        judged.append((event, judge(context_with(facts, past, event, others))))
        past = next(after)
    return tuple(judged)


def judge(ctx: Context) -> tuple[Finding, ...]:
    """Run every check of the pack that can speak about the proposal, for this patient, on a
    prepared context: each check rule by its kind's implementation (``kinds``: the others would
    return at once, so they are left out, once per pack and event type, then once per patient).
    """
    kind = type(ctx.proposal)
    facts = ctx.facts
    if facts is None:
        table = checks_for(ctx.pack)
        checks = table.by_event.get(kind, table.every)
    else:
        plan = (kind, ctx.is_child)
        found = facts.plans.get(plan)
        if found is None:
            table = checks_for(ctx.pack)
            found = facts.plans[plan] = for_patient(
                table.by_event.get(kind, table.every), facts, ctx.is_child
            )
        checks = found
    return _ordered([f for run, rule, _ in checks for f in run(ctx, rule)])


def judge_every_check(ctx: Context) -> tuple[Finding, ...]:
    """:func:`judge` calling every check of the pack, whatever the proposal and the patient:
    the reference the kinds' marks are tested against."""
    checks: tuple[Bound, ...] = checks_for(ctx.pack).every
    return _ordered([f for run, rule, _ in checks for f in run(ctx, rule)])


def _severity(finding: Finding) -> int:
    return -finding.severity.rank


def _ordered(findings: list[Finding]) -> tuple[Finding, ...]:
    """Most severe first, then in the pack's order of rules: the checks run in the pack's
    order and each speaks only under its own rule, so a stable sort by severity keeps the
    pack's order, and a rule's findings in the order the rule gave them."""
    if len(findings) > 1:
        findings.sort(key=_severity)
    return tuple(findings)


__all__ = [
    "MODULES",
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
