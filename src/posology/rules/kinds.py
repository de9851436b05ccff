"""Which proposals and patients each check can speak about, so the checker calls only those.

Every check begins by asking what the proposal is (an oral regimen, an infusion, a refill...)
and returns at once for any other kind. Marking each check with the event kinds it judges
(``@judges(OralRegimen)``) lets :func:`~posology.rules.judge` skip the others without calling
them: an oral regimen is put to the oral and general checks, never to the pump's. Many checks
also speak only for some patients, whatever the history (a child, a patient with a condition,
a pregnant woman): ``only_if`` states that precondition on what is fixed for a patient (the
patient, whether a child at this age, the origin, the pack), and the checker leaves the check
out for every other patient. A check left unmarked is called for every kind and patient, so
forgetting a mark costs time, never a finding.

The marks repeat the checks' own first lines; a property test
(``tests/test_judge_fast_paths.py``) judges generated histories with every check and with the
marked ones and requires the same findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..model.events import (
    EVENT_TYPES,
)
from ..model.finding import Finding

if TYPE_CHECKING:
    from .context import PatientFacts

Check = Callable[[Any], Iterator[Finding]]
C = TypeVar("C", bound=Check)
Precondition = Callable[["PatientFacts", bool], bool]
"""``only_if(facts, is_child)``: False when the check cannot speak for this patient."""


_MARKS: dict[Check, frozenset[type]] = {}
_ONLY_IF: dict[Check, Precondition] = {}


def judges(*kinds: type, only_if: Precondition | None = None) -> Callable[[C], C]:
    """Mark a check as speaking only about proposals of these event types, and (``only_if``)
    only for the patients that meet a precondition."""

    def mark(check: C) -> C:
        _MARKS[check] = frozenset(kinds)
        if only_if is not None:
            _ONLY_IF[check] = only_if
        return check

    return mark


def kinds_of(check: Check) -> frozenset[type]:
    """The event types a check speaks about (every type when it is not marked)."""
    return _MARKS.get(check, frozenset(EVENT_TYPES))


def by_kind(checks: Iterable[Check]) -> dict[type, tuple[Check, ...]]:
    """For each event type, the checks that speak about it, in the order given."""
    ordered = tuple(checks)
    return {kind: tuple(c for c in ordered if kind in kinds_of(c)) for kind in EVENT_TYPES}


def for_patient(checks: Iterable[Check], facts: PatientFacts, is_child: bool) -> tuple[Check, ...]:
    """The checks that can speak for this patient (their preconditions met), in order."""
    out = []
    for check in checks:
        only_if = _ONLY_IF.get(check)
        if only_if is None or only_if(facts, is_child):
            out.append(check)
    return tuple(out)
