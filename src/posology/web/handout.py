"""The patient handout: the plan in plain language and large type, as a PDF (WeasyPrint).

A sheet for the patient, not for staff: who it is for (name, birth date, record number), who
prescribed it and when it was printed; the days of the plan without the moment the clinician
clicked; oral doses in a morning / midday / evening / night grid; the warnings in the patient's
words from the pack, each with its source; and a closing line for the patient instead of the
staff's disclaimer. A screening sheet says nothing of a pump the patient does not have.

The sheet only; its address is :mod:`posology.web.routes.handout`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from ..frozen import record
from ..knowledge import Pack, Rule
from ..model.events import (
    Event,
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Review,
)
from ..planning.model import Plan, Step

_PUMP = (ItInfusion, ItStop, PumpRefill, PumpImplant)
"""Steps that mean the patient has (or is getting) a pump; a test dose is not one of them."""

_TAKING = (OralRegimen, ItInfusion, PumpRefill)
"""Events after which the patient takes baclofen every day (so must never stop suddenly)."""

SLOTS = (
    ("morning", time(5)),
    ("midday", time(11)),
    ("evening", time(15)),
    ("night", time(21)),
)
"""The grid's columns, each from its first clock time on (before 05:00 is still night): words
of the day a patient plans by, not clinical bounds; a dose keeps its clock time in its cell."""


@record
class Banner:
    """Who the sheet is for and who made it: shown at the top of every handout."""

    name: str
    birth_date: str | None
    record_number: str | None
    prescriber: str | None
    printed: str


def long_date(value: date) -> str:
    """A date as a patient reads it: "Tuesday 1 December 2026"."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def short_date(value: date) -> str:
    """A date without its weekday: "4 March 1976" (a birth date)."""
    return f"{value.day} {value:%B %Y}"


def banner(record: Mapping[str, Any] | None, prescriber: str | None, printed: date) -> Banner:
    """The record's identity where it has one (name, birth date, record number), else its
    label (older records); the birth date of the PATIENT document when the record has none."""
    record = record or {}
    document = record.get("patient") or {}
    born = record.get("birth_date") or document.get("birth_date")
    return Banner(
        name=str(record.get("name") or record.get("label") or ""),
        birth_date=short_date(date.fromisoformat(str(born))) if born else None,
        record_number=record.get("record_number"),
        prescriber=prescriber,
        printed=short_date(printed),
    )


def slot(clock: str) -> str:
    """The grid column of a clock time ("13:00" is midday)."""
    at = time.fromisoformat(clock)
    name = SLOTS[-1][0]  # before the first column's start: the night before
    for column, start in SLOTS:
        if at >= start:
            name = column
    return name


def _pieces(step: Step, dose: str, clock: str) -> str | None:
    """The tablets or millilitres the planner wrote for the dose at ``clock``, if it did."""
    found = re.search(re.escape(dose) + r" \(([^()]*)\) at " + re.escape(clock), step.instructions)
    return found.group(1) if found else None


def grid_row(step: Step, event: OralRegimen, meals: Rule) -> dict[str, Any]:
    """One oral regimen as a row of the grid: from which day, each dose in its column with its
    clock time and tablets, and the condition for taking this step."""
    times = event.times or tuple(meals.code_map("times_by_count")[str(len(event.doses))].split())
    cells: dict[str, list[dict[str, str | None]]] = {name: [] for name, _start in SLOTS}
    for dose, clock in zip(event.doses, times, strict=True):
        pieces = _pieces(step, dose.text(), clock)
        cells[slot(clock)].append({"dose": f"{dose.text()} at {clock}", "pieces": pieces})
    return {
        "from": long_date(event.at.date()),
        "cells": cells,
        "daily": event.daily_dose.text(),
        "condition": only(step.condition),
    }


def only(condition: str) -> str:
    """A step's condition as a sentence for the patient: "Only if ..." (once, capitalised)."""
    if not condition:
        return ""
    text = condition if condition.casefold().startswith("only") else f"only {condition}"
    return f"{text[0].upper()}{text[1:]}."


def plain(step: Step, pack: Pack) -> str:
    """What a step means for the patient, in plain words (the clinical ones from the pack)."""
    e = step.event
    if isinstance(e, OralRegimen):
        return step.instructions  # doses, tablets or millilitres with the strength, clock times
    if isinstance(e, OralStop):
        return pack.role("oral.taper").text("handout_stop")
    if isinstance(e, ItTestDose):
        return pack.role("intrathecal.monitoring.implant").phrase(
            "handout_test_dose", dose=e.dose.text()
        )
    if isinstance(e, PumpImplant):
        return pack.role("intrathecal.implant.centre").text("handout")
    if isinstance(e, ItInfusion):
        return pack.role("intrathecal.mode.continuous").phrase(
            "handout_infusion", daily=e.daily_dose.text(places=1)
        )
    if isinstance(e, PumpRefill):
        return pack.role("intrathecal.withdrawal").text("handout_refill")
    if isinstance(e, ItStable):
        return pack.role("intrathecal.maintenance.goal").text("handout_stable")
    if isinstance(e, ItStop):
        return pack.role("stop.gradual").text("handout_it_stop")
    if isinstance(e, Review):
        refill = "intrathecal.pump.refill"  # a refill review; a medicine with no pump has none
        if pack.has_role(refill) and pack.role(refill).id in step.rules:
            return pack.role(refill).text("handout_alarm")
        return pack.role("oral.review").text("handout_review")
    return step.instructions


def sources(rule: Rule) -> str:
    """A rule's sources by their names (the source page by its title, not its file)."""
    return "; ".join(str(s.title or s.name) for s in rule.sources)


def _words(items: tuple[str, ...]) -> str:
    """A list in words: "a, b, c or d"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def warnings(pack: Pack, pump: bool, taking: bool) -> list[dict[str, str]]:
    """The warnings of this sheet in the patient's words, each with its source: never stop
    suddenly and when to call (for a patient taking baclofen every day), what withdrawal feels
    like and when to call at once (for a patient with a pump)."""
    out: list[dict[str, str]] = []
    stop = pack.role("stop.gradual")
    if taking:
        out.append(
            {
                "title": stop.title,
                "text": stop.text("handout_never_stop"),
                "source": sources(stop),
            }
        )
        out.append(
            {
                "title": "When to call",
                "text": stop.text("handout_call"),
                "source": sources(stop),
            }
        )
    if pump:
        signs = pack.role("intrathecal.withdrawal")
        text = signs.phrase(
            "handout_withdrawal",
            early=_words(signs.code_list("plain_early_signs")),
            advanced=_words(signs.code_list("plain_advanced_signs")),
        )
        out.append({"title": "Your pump", "text": text, "source": sources(signs)})
        out.append(
            {
                "title": "When to call at once",
                "text": signs.text("handout_withdrawal_call"),
                "source": sources(signs),
            }
        )
    return out


def handout_html(
    env: Any,
    plan: Plan,
    pack: Pack,
    clinic: str,
    contact: str | None = None,
    *,
    record: Mapping[str, Any] | None = None,
    prescriber: str | None = None,
    printed: date | None = None,
    history: tuple[Event, ...] = (),
    has_pump: bool = False,
) -> str:
    """The sheet as HTML: ``record`` (the patient record of the API), ``history`` and
    ``has_pump`` (the patient's pump, from the PATIENT document) decide what it says."""
    meals = pack.role("oral.meals")
    oral = [grid_row(s, s.event, meals) for s in plan.steps if isinstance(s.event, OralRegimen)]
    steps = [
        {
            "when": long_date(s.event.at.date()),
            "plain": plain(s, pack),
            "condition": only(s.condition),
        }
        for s in plan.steps
        if not isinstance(s.event, OralRegimen)
    ]
    events = (*history, *(s.event for s in plan.steps))
    pump = has_pump or any(isinstance(e, _PUMP) for e in events)
    taking = any(isinstance(e, _TAKING) for e in events)
    return str(
        env.get_template("handout.html").render(
            clinic=clinic,
            contact=contact,
            banner=banner(record, prescriber, printed or date.today()),
            slots=[name for name, _start in SLOTS],
            grid=oral,
            meals=meals.text("instruction") if oral else None,
            steps=steps,
            warnings=warnings(pack, pump, taking),
            footer=pack.role("stop.gradual").text("handout_footer"),
            medicine=pack.medicine,
            rules=f"{pack.title}, {pack.profile_words}",
        )
    )


def handout_pdf(
    env: Any,
    plan: Plan,
    pack: Pack,
    clinic: str,
    contact: str | None = None,
    **details: Any,
) -> bytes:
    """The sheet as a PDF (the keywords of :func:`handout_html`)."""
    from weasyprint import HTML

    return bytes(HTML(string=handout_html(env, plan, pack, clinic, contact, **details)).write_pdf())
