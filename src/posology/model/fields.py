"""Readers for the fields of JSON documents: each refuses a bad value naming the field and the fix.

Shared by the CASE reader (``documents``) and the REQUEST reader (``planning.request``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..errors import InputError
from ..units import Dimension, Quantity, exact_number, parse_quantity

CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word nearest a misspelt one, for the hint of an error (``difflib`` is imported
    only then: a document without errors never pays for it)."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1)
    return close[0] if close else None


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_object(
    data: object, path: str, required: Iterable[str], optional: Iterable[str]
) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise InputError(path, "must be a JSON object")
    req, opt = tuple(required), tuple(optional)
    known = req + opt
    for key in data:
        if key not in known:
            close = closest(str(key), known)
            hint = f"did you mean {close!r}?" if close else f"allowed: {', '.join(known)}"
            raise InputError(join(path, str(key)), f"unknown field; {hint}")
    for key in req:
        if key not in data or data[key] is None:
            raise InputError(join(path, key), "missing; this field is required")
    return data


def code(value: object, path: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        close = closest(str(value), allowed)
        hint = f"did you mean {close!r}? " if close else ""
        raise InputError(path, f"unknown code {value!r}; {hint}use one of: {', '.join(allowed)}")
    return value


def codes(value: object, path: str, allowed: tuple[str, ...]) -> frozenset[str]:
    if not isinstance(value, list):
        raise InputError(path, "must be a list of codes, e.g. []")
    return frozenset(code(v, f"{path}[{i}]", allowed) for i, v in enumerate(value))


def boolean(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(path, "must be true or false")
    return value


def number(value: object, path: str, *, low: Fraction, high: Fraction, what: str) -> Fraction:
    """A JSON number read exactly: an int, a Decimal (from ``load_json``) or a finite float
    (from Python callers, read by its shortest decimal spelling, so 70.1 means 70.1)."""
    if isinstance(value, float) and math.isfinite(value):
        value = Decimal(repr(value))
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise InputError(path, f"must be a number ({what})")
    try:
        number = exact_number(value)
    except ValueError:
        raise InputError(path, f"is not a number of a usable size; {what}") from None
    if not low < number <= high:
        raise InputError(path, f"{value} is out of range; {what}")
    return number


def whole(value: object, path: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``. ``3``, ``3.0`` and ``3e0`` are one number in JSON
    (and FHIR), so each is read as 3; ``3.5`` and ``true`` are refused."""
    if isinstance(value, float) and math.isfinite(value):
        value = Decimal(repr(value))
    exact = None
    if (isinstance(value, Decimal) and value.is_finite()) or (
        isinstance(value, int) and not isinstance(value, bool)
    ):
        try:
            exact = exact_number(value)
        except ValueError:
            exact = None
    if exact is None or exact.denominator != 1 or not low <= exact <= high:
        raise InputError(path, f"must be a whole number from {low} to {high}")
    return int(exact)


def amount(
    obj: Mapping[str, Any], key: str, path: str, high: Fraction, unit: str, what: str
) -> Quantity | None:
    """An optional plain number whose unit the field name carries (``weight_kg``)."""
    raw = obj.get(key)
    if raw is None:
        return None
    if type(raw) in (int, Decimal):  # exact and hashable: read once, then from the cache
        try:
            return _cached_amount(raw, high, unit)
        except ValueError:
            pass  # out of range: the uncached path below words the error with the field
    value = number(raw, join(path, key), low=Fraction(0), high=high, what=what)
    return Quantity.of(value, unit)


@lru_cache(maxsize=2048)
def _cached_amount(raw: int | Decimal, high: Fraction, unit: str) -> Quantity:
    value = exact_number(raw)
    if not 0 < value <= high:
        raise ValueError(raw)
    return Quantity.of(value, unit)


def quantity(value: object, path: str, *kinds: Dimension) -> Quantity:
    return parse_quantity(value, field=path, kinds=kinds)


EARLIEST_YEAR = 1000
LATEST_YEAR = 9000
"""The years an instant may fall in. Not a clinical range: ``datetime`` ends at year 1 and
9999, and a plan's horizon, a rule's look-back, a stop's follow-up or a time-zone shift from
an instant near either end would leave it (an OverflowError, not an answer). A thousand years
either side of every clinical date is room enough; a slip of the year (``9026``) still has to
be caught by the person who checks the dates, as the engine does not judge plausibility here."""


def instant(value: object, path: str) -> datetime:
    if not isinstance(value, str) or "T" not in value.upper():
        raise InputError(path, 'must be an ISO 8601 date and time, e.g. "2026-12-01T08:00"')
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            path, f'{value!r} is not a valid date and time; write e.g. "2026-12-01T08:00"'
        ) from None
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        raise InputError(
            path,
            f"{value!r} is in the year {at.year}; an instant must fall between the years "
            f"{EARLIEST_YEAR} and {LATEST_YEAR} (check the year)",
        )
    return at


def quick_instant(value: str) -> datetime | None:
    """What :func:`instant` gives for a text it accepts, or None when it has to be asked (it
    would refuse the text, or the text needs its careful reading): the batch reader's step
    for millions of instants, with no error built for the few it cannot take."""
    if "T" not in value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if EARLIEST_YEAR <= at.year <= LATEST_YEAR else None


def clock(value: object, path: str) -> str:
    if not isinstance(value, str) or not CLOCK.match(value):
        raise InputError(path, 'must be a clock time "HH:MM" from 00:00 to 23:59, e.g. "08:00"')
    return value
