"""Which medicine an EVENT is of: its ``medicine`` field, read against the loaded packs.

An event names a loaded pack's medicine (``baclofen`` when it names none, the contract's
default). A medicine no pack knows is an input error naming the field and the medicines that
are known, and so is an event of a route the medicine's pack has no rules for (an intrathecal
infusion of a tablet-only medicine): judged by no rule, it would look safe. Packs are read only
for an event that names a medicine other than the default, so the common document costs
nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import InputError
from .events import DEFAULT_MEDICINE

if TYPE_CHECKING:
    from pathlib import Path

ROUTE_OF_KIND = {
    "oral-regimen": "oral",
    "oral-stop": "oral",
    "it-test-dose": "intrathecal",
    "pump-implant": "intrathecal",
    "it-infusion": "intrathecal",
    "pump-refill": "intrathecal",
    "it-stable": "intrathecal",
    "it-stop": "intrathecal",
    "injection-session": "intramuscular",
}
"""The route each EVENT kind gives the medicine by (a review gives none)."""


def read_medicine(value: object, path: str, kind: str, route: str | None = None) -> str:
    """The ``medicine`` of an event of ``kind`` at ``path`` (see the module docstring), given
    by the route of ``kind``, or ``route`` for a document that is not an event (a plan goal)."""
    if value == DEFAULT_MEDICINE:
        return DEFAULT_MEDICINE
    from ..knowledge.loader import data_folder

    routes = _routes(data_folder())
    if not isinstance(value, str) or value not in routes:
        known = ", ".join(sorted(routes))
        raise InputError(path, f"must be a loaded pack's medicine: one of {known}")
    route = route or ROUTE_OF_KIND.get(kind)
    if route is not None and route not in routes[value]:
        given = " and ".join(sorted(routes[value] - {"general"})) or "no"
        raise InputError(
            path,
            f"{value} has {given} rules, none for a{'n' if route[0] in 'aeiou' else ''} {route} "
            f"event ({kind}): name the medicine this event is of",
        )
    return value


@lru_cache(maxsize=8)
def _routes(folder: Path) -> dict[str, frozenset[str]]:
    """Each medicine of the packs in ``folder`` with the routes its default pack has rules for."""
    from ..knowledge.loader import load_pack, shipped_profiles

    return {
        medicine: frozenset(rule.route for rule in load_pack(medicine).rules.values())
        for medicine in shipped_profiles()
    }


def medicines_by_route(route: str, first: str = DEFAULT_MEDICINE) -> tuple[str, ...]:
    """The loaded packs' medicines with rules for ``route`` (``first`` leads, the rest in
    alphabetical order): what a form offers for an oral regimen."""
    from ..knowledge.loader import data_folder

    routes = _routes(data_folder())
    found = sorted(m for m, known in routes.items() if route in known)
    return tuple(sorted(found, key=lambda m: m != first))


def product_medicine(product: str, given: object, path: str) -> str:
    """The medicine whose pack lists ``product`` (an injection session's): the session is that
    medicine's. A ``medicine`` given with it must be that one (``given`` None: not given)."""
    from ..knowledge.loader import data_folder

    medicine = _products(data_folder())[product]
    if given is not None and given != medicine:
        raise InputError(
            path, f"is {given!r}, but {product} is a product of {medicine}: write {medicine!r}"
        )
    return medicine


@lru_cache(maxsize=8)
def _products(folder: Path) -> dict[str, str]:
    """Each product code of the packs in ``folder`` with the medicine whose pack lists it."""
    from ..knowledge.loader import load_pack, shipped_profiles

    return {
        product: medicine
        for medicine in shipped_profiles()
        for product in load_pack(medicine).vocabulary.get("products", ())
    }


def product_words(product: str) -> str:
    """A product in words (``onabotulinumtoxinA (BOTOX)``), as its medicine's pack names it in
    the role ``injection.muscles``; the code when the pack names none."""
    from ..knowledge.loader import data_folder, load_pack

    pack = load_pack(_products(data_folder())[product])
    names = pack.role("injection.muscles").codes.get("product_names")
    return str(names.get(product, product)) if isinstance(names, Mapping) else product
