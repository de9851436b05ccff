"""Small readers the adapters of other systems share: instants, strengths, birth dates."""

from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from .base import Unmappable

_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|UG)\b(?!\s*/)", re.IGNORECASE)
_CONCENTRATION = re.compile(r"(\d+(?:\.\d+)?)\s*(MG|MCG|UG)\s*/\s*ML\b", re.IGNORECASE)
_COUNT = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:tab|tabs|tablet|tablets|cap|capsule)s?\b", re.I)


def instant(text: object, column: str) -> str:
    """A date or date-time as written by a database (``2026-01-05 08:00:00``, ``2026-01-05``)
    as the contract's ISO text; a date alone is read as that day's midnight."""
    if text is None or not str(text).strip():
        raise Unmappable(column, "missing; the time of the record is due")
    value = str(text).strip().replace(" ", "T", 1)
    if "T" not in value:
        value += "T00:00"
    return value


def number(text: object, column: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise Unmappable(column, f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise Unmappable(column, f"{text!r} must be a number above 0")
    return value


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent (``10.0`` → ``10``)."""
    text = format(value.normalize(), "f")
    return text


def strength(name: str | None) -> str | None:
    """The mass per unit in a drug name (``baclofen 10 MG Oral Tablet`` → ``10 mg``)."""
    match = _STRENGTH.search(name or "")
    return None if match is None else f"{match.group(1)} {match.group(2).lower()}"


def concentration(name: str | None) -> str | None:
    """The concentration in a drug name (``baclofen 2 MG/ML Injectable Solution`` → ``2 mg/mL``)."""
    match = _CONCENTRATION.search(name or "")
    return None if match is None else f"{match.group(1)} {match.group(2).lower()}/mL"


def units_per_administration(sig: str | None) -> Decimal | None:
    """Tablets per administration a sig names (``2 tablets three times daily`` → 2)."""
    match = _COUNT.search(sig or "")
    return None if match is None else Decimal(match.group(1))


def latest_birth_date(year: object, month: object = None, day: object = None) -> str:
    """A birth date from its parts; a missing month or day is the latest the parts allow, so an
    age is never overstated (the children's rules then apply rather than not)."""
    try:
        y = int(str(year))
        m = int(str(month)) if month not in (None, "") else 12
        d = int(str(day)) if day not in (None, "") else calendar.monthrange(y, m)[1]
        return date(y, m, d).isoformat()
    except (ValueError, TypeError):
        raise Unmappable("year_of_birth", f"{year!r}-{month!r}-{day!r} is not a date") from None
