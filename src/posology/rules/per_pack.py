"""Values the rules work out from the pack alone (an envelope, the adult age), once per pack.

A check asks for them on every proposal, and a whole history asks once per event; the pack does
not change under a check (it is an immutable value), so each is worked out the first time a pack
is seen and kept with it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from ..knowledge.schema import Pack

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
