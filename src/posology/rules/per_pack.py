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
    is not hashable; the pack is kept with its value, so its identity cannot be reused).

    The pack asked about last is checked first, by identity alone: a check asks for the same
    pack's values again and again (one step to read, one to replace, safe between threads)."""
    kept: dict[int, tuple[Pack, T]] = {}
    last: tuple[Pack, T] | None = None

    @wraps(compute)
    def value(pack: Pack) -> T:
        nonlocal last
        hit = last
        if hit is not None and hit[0] is pack:
            return hit[1]
        hit = kept.get(id(pack))
        if hit is None or hit[0] is not pack:
            hit = (pack, compute(pack))
            if len(kept) >= PACKS_KEPT:
                kept.clear()  # one step, safe between threads
            kept[id(pack)] = hit
        last = hit
        return hit[1]

    return value


RULES_KEPT = 1_024
"""(pack, rule) pairs whose values are kept at once (a pack holds a few dozen rules)."""


def per_rule(compute: Callable[[Pack, Rule], T]) -> Callable[[Pack, Rule], T]:
    """``compute(pack, rule)``, worked out once per rule of a pack: a value of one rule of a
    kind, which may read other rules of its pack by role (by identity, as :func:`per_pack`;
    a profile shares unchanged rules with its base pack, so the pack is part of the key).

    A rule's value under the pack it was last asked with is found first by the rule alone
    (no key to build: a check asks for it on every proposal); under another pack it is looked
    up by both, and becomes the one found first."""
    kept: dict[tuple[int, int], tuple[Pack, Rule, T]] = {}
    last: dict[int, tuple[Pack, Rule, T]] = {}

    @wraps(compute)
    def value(pack: Pack, rule: Rule) -> T:
        hit = last.get(id(rule))
        if hit is not None and hit[0] is pack and hit[1] is rule:
            return hit[2]
        key = (id(pack), id(rule))
        hit = kept.get(key)
        if hit is None or hit[0] is not pack or hit[1] is not rule:
            hit = (pack, rule, compute(pack, rule))
            if len(kept) >= RULES_KEPT:
                kept.clear()  # one step, safe between threads
                last.clear()
            kept[key] = hit
        if len(last) >= RULES_KEPT:
            last.clear()
        last[id(rule)] = hit
        return hit[2]

    return value
