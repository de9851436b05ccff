"""The codes a PATIENT may use: the contract's lists, and what each loaded pack adds.

The contract names at least the diagnoses, conditions and co-medications baclofen needs; a
second medicine brings its own (tizanidine's label speaks of ciprofloxacin and fluvoxamine) in
its pack's ``vocabulary``. The reader accepts a code any loaded pack knows and refuses every
other, naming the field, as before. Packs are read only for a code outside the contract's lists,
so the common document costs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from .patient import CONDITIONS, DIAGNOSES, MEDICATIONS

if TYPE_CHECKING:
    from pathlib import Path

CONTRACT = {"diagnoses": DIAGNOSES, "conditions": CONDITIONS, "medications": MEDICATIONS}
"""The contract's lists, by the name a pack's ``vocabulary`` uses."""
PACKS_ONLY = ("products", "muscles")
"""Lists only packs fill: the products an injection session may be of and the muscles it may
name (a botulinum toxin's)."""


def vocabulary(name: str) -> tuple[str, ...]:
    """Every code of ``name`` (``diagnoses``, ``conditions``, ``medications``, or one of
    :data:`PACKS_ONLY`): the contract's, then those the loaded packs add, in the packs'
    order."""
    from ..knowledge.loader import data_folder

    return _all(data_folder())[name]


def allowed(name: str, given: object) -> tuple[str, ...]:
    """The codes to read ``given`` (one code or a list) against: the contract's list when it holds
    them all, else the whole vocabulary."""
    base = CONTRACT[name]
    values: Iterable[object] = given if isinstance(given, list) else (given,)
    if all(isinstance(v, str) and v in base for v in values):
        return base
    return vocabulary(name)


@lru_cache(maxsize=8)
def _all(folder: Path) -> dict[str, tuple[str, ...]]:
    from ..knowledge.loader import load_pack, shipped_profiles

    out = {name: list(codes) for name, codes in CONTRACT.items()}
    out.update((name, []) for name in PACKS_ONLY)
    for medicine, profiles in shipped_profiles().items():
        for profile in profiles:
            for name, codes in load_pack(medicine, profile).vocabulary.items():
                out[name] += [c for c in codes if c not in out[name]]
    return {name: tuple(codes) for name, codes in out.items()}
