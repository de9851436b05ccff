"""Reading an ``injection-session`` EVENT: the product, and each muscle's dose in Units.

A botulinum toxin is dosed in Units of biological activity that belong to one product: the
labels say a product's Units "cannot be compared to, or converted into" another's. So a dose is
read as Units of the session's product, unless the dose names another product
(``"500 abobotulinumtoxinA U"`` in a session of onabotulinumtoxinA): that is kept as written, on
the injection, for the checker to call out, and is never converted. Products and muscles are
the loaded packs' codes (their ``vocabulary``), read as every other code is: a code no pack knows
is refused, naming the field and the nearest known code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from ..errors import InputError
from ..units import ACTIVITY, Quantity, parse_quantity
from . import fields as F
from .events import Injection, InjectionSession
from .vocabulary import vocabulary

SIDES = ("left", "right")
MAX_INJECTIONS = 60
"""Muscles one session may list: room for every muscle of four limbs, a bound on a document,
not a clinical limit (the pack's rules judge the doses)."""
MAX_SITES = 50
MAX_UNITS = Fraction(100_000)
"""The largest dose a field may hold, far above any product's session: a typing slip beyond it
(a dose pasted twice) is refused as unreadable rather than judged."""
_INJECTION_FIELDS = (("muscle", "dose"), ("sites", "side"))
_NAMED = re.compile(r"^\s*(?P<number>\S+)\s+(?P<product>[A-Za-z][A-Za-z-]*)\s+(?P<unit>\S+)\s*$")


def injection_session(obj: Mapping[str, Any], at: datetime, path: str) -> InjectionSession:
    """The session of an EVENT object already checked for its fields (``product``,
    ``injections``)."""
    products = vocabulary("products")
    product = read_product(obj["product"], F.join(path, "product"), products)
    items = obj["injections"]
    where = F.join(path, "injections")
    if not isinstance(items, list) or not items:
        raise InputError(where, "must be a non-empty list of injections, one per muscle")
    if len(items) > MAX_INJECTIONS:
        raise InputError(where, f"lists {len(items)} injections; at most {MAX_INJECTIONS}")
    muscles = vocabulary("muscles")
    injections = tuple(
        _injection(item, f"{where}[{i}]", product, products, muscles)
        for i, item in enumerate(items)
    )
    seen: dict[tuple[str, str | None], int] = {}
    for i, injection in enumerate(injections):
        key = (injection.muscle, injection.side)
        if key in seen:
            side = f" on the {injection.side} side" if injection.side else ""
            raise InputError(
                f"{where}[{i}].muscle",
                f"{injection.muscle}{side} is listed twice (also at [{seen[key]}]): give each "
                "muscle once, with its whole dose and its number of sites",
            )
        seen[key] = i
    return InjectionSession(at, product, injections)


def read_product(value: object, path: str, products: tuple[str, ...]) -> str:
    """A product code, any letter case (``onabotulinumtoxinA`` is the INN's spelling)."""
    if isinstance(value, str) and value.lower() in products:
        return value.lower()
    return F.code(value, path, products)


def _injection(
    data: object, path: str, product: str, products: tuple[str, ...], muscles: tuple[str, ...]
) -> Injection:
    obj = F.json_object(data, path, *_INJECTION_FIELDS)
    muscle = F.code(obj["muscle"], F.join(path, "muscle"), muscles)
    dose, units_of = _dose(obj["dose"], F.join(path, "dose"), product, products)
    sites = (
        1
        if obj.get("sites") is None
        else F.whole(obj["sites"], F.join(path, "sites"), 1, MAX_SITES)
    )
    side = None if obj.get("side") is None else F.code(obj["side"], F.join(path, "side"), SIDES)
    return Injection(muscle, dose, sites, side, None if units_of == product else units_of)


def _dose(
    value: object, path: str, product: str, products: tuple[str, ...]
) -> tuple[Quantity, str]:
    """A dose in Units (``"100 U"``), maybe naming the product they are Units of
    (``"100 onabotulinumtoxinA U"``): the quantity and the product."""
    units_of = product
    text = value
    if isinstance(value, str):
        named = _NAMED.match(value)
        if named is not None:
            units_of = read_product(named["product"], path, products)
            text = f"{named['number']} {named['unit']}"
    dose = parse_quantity(text, field=path, kinds=(ACTIVITY,))
    if not 0 < dose.base <= MAX_UNITS:
        raise InputError(
            path, f"must be more than 0 U and at most {MAX_UNITS} U (check for a typing slip)"
        )
    return dose, units_of
