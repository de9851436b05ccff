"""Values the rules work out from the pack alone (an envelope, the adult age), once per pack
(or once per rule of a pack).

A check asks for them on every proposal, and a whole history asks once per event; the pack does
not change under a check (it is an immutable value), so each is worked out the first time a pack
is seen and kept with it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from ..knowledge.schema import Pack, Rule

T = TypeVar("T")

PACKS_KEPT = 8
"""Packs whose values are kept at once: a process reads one or two profiles; past this many
(packs built by tests, each a new value) all are dropped and worked out again."""


def per_pack(compute: Callable[[Pack], T]) -> Callable[[Pack], T]:
    """``compute(pack)``, worked out once per pack (by identity: a pack holds mappings, so it
    is not hashable; the pack is kept with its value, so its identity cannot be reused)."""
    kept: dict[int, tuple[Pack, T]] = {}

    @wraps(compute)
    def value(pack: Pack) -> T:
        hit = kept.get(id(pack))
        if hit is not None and hit[0] is pack:
            return hit[1]
        result = compute(pack)
        if len(kept) >= PACKS_KEPT:
            kept.clear()  # one step, safe between threads
        kept[id(pack)] = (pack, result)
        return result

    return value


RULES_KEPT = 1_024
"""(pack, rule) pairs whose values are kept at once (a pack holds a few dozen rules)."""


def per_rule(compute: Callable[[Pack, Rule], T]) -> Callable[[Pack, Rule], T]:
    """``compute(pack, rule)``, worked out once per rule of a pack: a value of one rule of a
    kind, which may read other rules of its pack by role (by identity, as :func:`per_pack`;
    a profile shares unchanged rules with its base pack, so the pack is part of the key)."""
    kept: dict[tuple[int, int], tuple[Pack, Rule, T]] = {}

    @wraps(compute)
    def value(pack: Pack, rule: Rule) -> T:
        hit = kept.get((id(pack), id(rule)))
        if hit is not None and hit[0] is pack and hit[1] is rule:
            return hit[2]
        result = compute(pack, rule)
        if len(kept) >= RULES_KEPT:
            kept.clear()  # one step, safe between threads
        kept[(id(pack), id(rule))] = (pack, rule, result)
        return result

    return value
