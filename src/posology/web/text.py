"""Values as the pages show them to people: instants and dates in the clinic's reading, quantity
codes in words, stored patient fields as words, and µg and mg styled apart.

Shared by every page module and by the templates (as Jinja filters and globals), so one value
reads the same on every page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from typing import Any

from ..errors import InputError
from ..model.events import Event
from ..units import Quantity, parse_quantity


def instant(value: str | datetime | None) -> datetime | None:
    """An ISO text or an instant as an instant; ``None`` for nothing."""
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def when_text(value: str | datetime | None) -> str:
    """An instant for people, as the clinic reads it: "Tue 12 Nov 2026, 09:00"."""
    at = instant(value)
    return "—" if at is None else f"{at:%a %d %b %Y, %H:%M}"


def day_text(value: str | datetime | None) -> str:
    """A date for people: "Tue 12 Nov 2026"."""
    at = instant(value)
    return "—" if at is None else f"{at:%a %d %b %Y}"


def age_text(birth: str | None, today: datetime | None = None) -> str:
    """Completed years from an ISO birth date, for the banner ("48 years"); empty if unknown."""
    if not birth:
        return ""
    try:
        b = datetime.fromisoformat(str(birth)).date()
    except ValueError:
        return ""
    d = (today or datetime.now(UTC)).date()
    years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
    return f"{max(years, 0)} years"


@lru_cache(maxsize=512)
def quantity_text(code: str | None) -> str:
    """A quantity code of the API ("250 ug/d") as people read it ("250 µg/day")."""
    if not code:
        return "—"
    try:
        return parse_quantity(code, allow_zero=True).text()
    except InputError:  # not a quantity the reader knows: shown as given rather than lost
        return code


# PATIENT fields whose values are codes ("multiple-sclerosis"): shown as words.
CODED_FIELDS = frozenset(("sex", "diagnosis", "origin", "setting", "conditions", "medications"))
# PATIENT field names for people, where the name alone would not say the unit.
FIELD_NAMES = {
    "age_years": "age (years)",
    "weight_kg": "weight (kg)",
    "creatinine_clearance_ml_min": "creatinine clearance (mL/min)",
    "reservoir_ml": "reservoir (mL)",
    "alarm_ml": "alarm volume (mL)",
    "withdrawal_before_alarm": "withdrawal signs before the alarm",
}


def field_name(key: str) -> str:
    """A PATIENT field's name for people."""
    return FIELD_NAMES.get(key, key.replace("_", " "))


def plain_value(value: Any, key: str | None = None) -> str:
    """A stored patient field for people: codes as words, lists joined, the pump described,
    booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain_value(v, key) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{field_name(k)}: {plain_value(v, k)}" for k, v in value.items())
    if key in CODED_FIELDS and isinstance(value, str):
        return value.replace("-", " ")
    return str(value)


def quantity_html(q: Quantity) -> str:
    """A quantity for the page: µg and mg styled apart, so a glance tells them apart."""
    mass = q.unit.code.split("/")[0]
    css = {"ug": "unit-ug", "mg": "unit-mg"}.get(mass, "")
    return f'<span class="qty {css}">{escape(q.text())}</span>'


def describe_html(event: Event) -> str:
    """An event in words, as HTML, its quantities styled by :func:`quantity_html`."""
    from ..export.describe import describe

    text = escape(describe(event, each_muscle=True))
    for q in _quantities(event):
        plain = escape(q.text())
        if plain in text:
            text = text.replace(plain, quantity_html(q), 1)
    return text


def _quantities(event: Event) -> list[Quantity]:
    out: list[Quantity] = []
    for name in ("daily_dose", "dose", "concentration", "volume"):
        value = getattr(event, name, None)
        if isinstance(value, Quantity):
            out.append(value)
    return out


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element (no closing tag)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
