"""Model values to the contract's JSON documents (answers of check, rules, explain).

Quantities are written as UCUM code strings (``"50 ug"``), exact: a value that does not end as
a decimal is written to six places, which is below any dose that matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .knowledge.schema import Citation, Pack, Range, Rule, Value
from .model.events import (
    DEFAULT_MEDICINE,
    Event,
    Injection,
    InjectionSession,
    ItInfusion,
    ItTestDose,
    OralRegimen,
    PumpRefill,
    Review,
)
from .model.finding import Finding, verdict
from .units import Quantity, format_number, terminates

if TYPE_CHECKING:  # plans are written here, but checks must not load the planner to start
    from .planning.model import Plan

JSON_PLACES = 6
DISCLAIMER = (
    "Posology supports clinical judgement; it does not replace it. Check every dose against the "
    "patient in front of you and the current product information."
)


def quantity_json(q: Quantity) -> str:
    return q.code(places=None if terminates(q.magnitude) else JSON_PLACES)


def value_json(value: Value) -> Any:
    """A pack value as JSON: quantities as strings, ranges as {min, max}, tables as objects."""
    if isinstance(value, Quantity):
        return quantity_json(value)
    if isinstance(value, Fraction):
        return format_number(value, None if terminates(value) else JSON_PLACES)
    if isinstance(value, Range):
        out: dict[str, Any] = {"min": value_json(value.low), "max": value_json(value.high)}
        if value.low_open:
            out["min_exclusive"] = True
        if value.high_open:
            out["max_exclusive"] = True
        return out
    if isinstance(value, tuple):
        return [value_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: value_json(v) for k, v in value.items()}
    raise TypeError(f"not a pack value: {value!r}")


def citation_json(citation: Citation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source": citation.source,
        "quote": citation.quote,
        "evidence": citation.evidence,
    }
    if citation.url:
        out["url"] = citation.url
    return out


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "citation": citation_json(finding.citation),
    }


def check_answer(findings: Iterable[Finding], pack: Pack | None = None) -> dict[str, Any]:
    """The answer of ``check``: the verdict (highest severity, or ``ok``), the findings, and
    (``pack``) which medicine's rules under which jurisdiction profile judged it."""
    items = list(findings)
    out: dict[str, Any] = {"verdict": verdict(items), "findings": [finding_json(f) for f in items]}
    if pack is not None:
        out["pack"] = pack_json(pack)
    return out


def pack_json(pack: Pack) -> dict[str, str]:
    """The pack an answer was worked out with: a profile changes numbers, so every answer
    names it (``{"medicine": "baclofen", "profile": "us", "title": ...}``)."""
    return {"medicine": pack.medicine, "profile": pack.profile, "title": pack.title}


def rule_json(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "title": rule.title,
        "route": rule.route,
        "engine": sorted(rule.engine),
        "statement": rule.statement,
        "source": rule.citation.source,
        "quote": rule.citation.quote,
        "evidence": rule.evidence,
        "url": rule.citation.url,
        "numbers": {k: value_json(v) for k, v in rule.numbers.items()},
        "codes": {
            k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, Mapping) else v)
            for k, v in rule.codes.items()
        },
        "severity": {k: v.value for k, v in rule.severities.items()},
    }
    if rule.texts:
        out["texts"] = dict(rule.texts)
    if rule.interpretation:
        out["interpretation"] = rule.interpretation
    return out


def event_json(event: Event) -> dict[str, Any]:
    """An event as the contract's EVENT object, readable back by the document reader."""
    out: dict[str, Any] = {"at": instant_json(event.at), "kind": event.kind}
    if event.medicine != DEFAULT_MEDICINE:
        out["medicine"] = event.medicine
    if isinstance(event, OralRegimen):
        if len(set(event.doses)) == 1:
            out["dose"] = quantity_json(event.doses[0])
            out["times_per_day"] = len(event.doses)
        else:
            out["doses"] = [quantity_json(d) for d in event.doses]
        if event.times:
            out["times"] = list(event.times)
        if event.form:
            out["form"] = event.form
        if event.strength:
            out["strength"] = quantity_json(event.strength)
    elif isinstance(event, ItTestDose):
        out["dose"] = quantity_json(event.dose)
        if event.response is not None:
            out["response"] = {"effect": event.response.effect}
            if event.response.duration is not None:
                out["response"]["duration_h"] = float(event.response.duration.in_("h"))
    elif isinstance(event, ItInfusion):
        out["daily_dose"] = quantity_json(event.daily_dose)
        if event.schedule:
            out["schedule"] = [
                {"start": s.start, "daily_rate": quantity_json(s.daily_rate)}
                for s in event.schedule
            ]
    elif isinstance(event, PumpRefill):
        out["concentration"] = quantity_json(event.concentration)
        out["volume_ml"] = _plain(event.volume.in_("mL"))
        if event.alarm is not None:
            out["alarm_ml"] = _plain(event.alarm.in_("mL"))
        if event.residual is not None:
            out["residual_ml"] = _plain(event.residual.in_("mL"))
        if event.lot is not None:
            out["lot"] = event.lot
        if event.checked_by is not None:
            out["checked_by"] = event.checked_by
        if event.bridge_volume is not None:
            out["bridge_volume_ml"] = _plain(event.bridge_volume.in_("mL"))
    elif isinstance(event, InjectionSession):
        out["product"] = event.product
        out["injections"] = [_injection_json(i) for i in event.injections]
    elif isinstance(event, Review):
        out["note"] = event.note
    return out


def _injection_json(injection: Injection) -> dict[str, Any]:
    """One injection of a session as the EVENT's ``injections`` hold it: a dose in another
    product's Units keeps that product's name, as written."""
    dose = quantity_json(injection.dose)
    if injection.units_of is not None:
        number, unit_code = dose.split(" ", 1)
        dose = f"{number} {injection.units_of} {unit_code}"
    out: dict[str, Any] = {"muscle": injection.muscle, "dose": dose, "sites": injection.sites}
    if injection.side is not None:
        out["side"] = injection.side
    return out


def instant_json(at: datetime) -> str:
    """ISO 8601, to the minute when that loses nothing, else as precise as the value."""
    whole_minute = at.second == 0 and at.microsecond == 0
    return at.isoformat(timespec="minutes" if whole_minute else "auto")


def _plain(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def plan_json(plan: Plan, pack: Pack | None = None) -> dict[str, Any]:
    """The plan answer: the steps (events with rules, instructions, condition) and findings,
    and (``pack``) the medicine's rules and profile it was made with."""
    out: dict[str, Any] = {
        "goal": plan.goal,
        "verdict": verdict(list(plan.findings)),
        "steps": [
            {
                "event": event_json(step.event),
                "rules": list(step.rules),
                "instructions": step.instructions,
                "condition": step.condition,
            }
            for step in plan.steps
        ],
        "findings": [finding_json(f) for f in plan.findings],
        "disclaimer": DISCLAIMER,
    }
    if pack is not None:
        out["pack"] = pack_json(pack)
    return out
