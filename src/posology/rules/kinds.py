"""The kinds of rules the checker implements, and which (kind, rule) pairs judge a proposal.

The code implements kinds of rules (a dose range, a step limit with its interval, a ladder, a
gradual stop...); a pack rule names its kind (``kind: dose-range``) and carries the kind's
parameters (its numbers, codes, texts and severities). An implementation is a function of the
context and the rule, registered under the kind's name with ``@implements``; it reads every
number and every word from the rule it is given and speaks under that rule's ID, so a second
medicine's pack gets the same judgement with its own numbers and no code change.

Registration also says which proposals an implementation can speak about (the event types it
judges: an oral regimen is never put to a pump kind) and, with ``only_if``, the patients it can
speak for, whatever the history (a child, a patient with a condition): the precondition reads
only what is fixed for a patient (``PatientFacts``), whether a child at this age, and the rule.
The checker works out once per pack, for each event type, the (implementation, rule) pairs that
can speak (:func:`checks_for`), and once per patient the pairs whose precondition holds; the
rest are never called. The marks repeat the implementations' own first lines; a property test
(``tests/test_judge_fast_paths.py``) judges generated histories with every pair and with the
marked ones and requires the same findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import PackError
from ..frozen import record
from ..knowledge.schema import Pack, Rule
from ..model.events import EVENT_TYPES
from ..model.finding import Finding
from .per_pack import per_pack

if TYPE_CHECKING:
    from .context import PatientFacts

Implementation = Callable[[Any, Rule], Iterator[Finding]]
"""``judge(ctx, rule)``: the findings of one rule of a kind on a prepared context."""
Impl = TypeVar("Impl", bound=Implementation)
Precondition = Callable[["PatientFacts", bool, Rule], bool]
"""``only_if(facts, is_child, rule)``: False when the rule cannot speak for this patient."""

ADVICE_KINDS = frozenset({"advice"})
"""Kinds the checker has nothing to judge for: statements the planner and the explanation show,
and values other kinds read through the rule's role. A rule of such a kind may still say
``check`` in its engine when a check reads it (an oral taper that the gradual stop counts)."""


@record
class Kind:
    """One kind of rule as the checker implements it."""

    name: str
    judge: Implementation
    events: frozenset[type]
    only_if: Precondition | None = None


_KINDS: dict[str, Kind] = {}


def implements(
    name: str, *events: type, only_if: Precondition | None = None
) -> Callable[[Impl], Impl]:
    """Register ``judge(ctx, rule)`` as the checker's implementation of the kind ``name``,
    speaking only about proposals of ``events`` and (``only_if``) only for the patients that
    meet a precondition."""

    def register(judge: Impl) -> Impl:
        if name in _KINDS:
            raise ValueError(f"the kind {name!r} is implemented twice")
        _KINDS[name] = Kind(name, judge, frozenset(events or EVENT_TYPES), only_if)
        return judge

    return register


def implementation(name: str | None) -> Kind | None:
    """The checker's implementation of a kind, None for a kind it does not judge."""
    return None if name is None else _KINDS.get(name)


def implemented_kinds() -> dict[str, Kind]:
    """Every kind the checker implements, by name."""
    return dict(_KINDS)


Bound = tuple[Implementation, Rule, "Precondition | None"]
"""One check: a kind's implementation, the pack rule it judges, and its precondition."""


@record
class Checks:
    """A pack's checks: every (implementation, rule) in the pack's order, and those that can
    speak about each event type."""

    every: tuple[Bound, ...]
    by_event: dict[type, tuple[Bound, ...]]


@per_pack
def checks_for(pack: Pack) -> Checks:
    """The checks of a pack: each rule with ``check`` in its engine, run by its kind's
    implementation, in the pack's order (so findings of one severity come in that order).

    A check rule whose kind the checker does not implement is a broken pack, named with its
    rule and field: a rule the pack says is checked must never be silently skipped.
    """
    every: list[Bound] = []
    kinds: list[frozenset[type]] = []
    for rule in pack.rules.values():
        if "check" not in rule.engine:
            continue
        found = implementation(rule.kind)
        if found is None:
            if rule.kind in ADVICE_KINDS:
                continue
            known = ", ".join(sorted({*_KINDS, *ADVICE_KINDS}))
            said = "names no kind" if rule.kind is None else f"is of the kind {rule.kind!r}"
            raise PackError(
                rule.file,
                rule.id,
                "kind",
                f"a rule with `check` in its engine {said}, which the checker does not "
                f"implement; name one of: {known} (docs/knowledge-format.md, Rule kinds)",
            )
        every.append((found.judge, rule, found.only_if))
        kinds.append(found.events)
    by_event = {
        event: tuple(b for b, events in zip(every, kinds, strict=True) if event in events)
        for event in EVENT_TYPES
    }
    return Checks(tuple(every), by_event)


def for_patient(
    checks: tuple[Bound, ...], facts: PatientFacts, is_child: bool
) -> tuple[Bound, ...]:
    """The checks that can speak for this patient (their preconditions met), in order."""
    return tuple(c for c in checks if c[2] is None or c[2](facts, is_child, c[1]))
