"""A plan as FHIR R4: a Bundle holding one MedicationRequest with sequenced dosage instructions.

Each dose step becomes a ``dosageInstruction`` with its ``sequence`` and a ``timing.repeat``
bounded by the step's period (as the FHIR taper example medrx0303 does); oral doses carry their
clock times (``timeOfDay``) and ``doseQuantity`` in mg, intrathecal infusions the intrathecal route
and a ``rateQuantity`` in ug/d, test doses a single ``timing.event``. Quantities use UCUM codes
(``ug``, never ``mcg``). The plan's findings travel as DetectedIssue resources. The document is
validated with the R4B models of fhir.resources before it leaves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from ..knowledge.schema import Pack
from ..model.events import Event, ItInfusion, ItStop, ItTestDose, OralRegimen, OralStop
from ..model.patient import age_at
from ..planning.model import Plan
from ..planning.request import PlanRequest
from ..rules.limits import paediatric_max
from ..serialize import DISCLAIMER
from ..units import Quantity

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
ORAL_ROUTE = {"system": SNOMED, "code": "26643006", "display": "Oral route"}
INTRATHECAL_ROUTE = {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}
SEVERITY = {"critical": "high", "error": "high", "warning": "moderate", "info": "low"}
MEAL_EVENTS = ("CM", "CD", "CV")  # FHIR EventTiming: at breakfast, lunch, dinner
EVENT_TIMING = {
    "MORN",
    "AFT",
    "EVE",
    "NIGHT",
    "HS",
    "WAKE",
    "C",
    "CM",
    "CD",
    "CV",
    "AC",
    "ACM",
    "ACD",
    "ACV",
    "PC",
    "PCM",
    "PCD",
    "PCV",
}


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def ucum(q: Quantity, unit: str) -> dict[str, Any]:
    """A FHIR Quantity in a UCUM unit: value, unit, system, code."""
    return {"value": _number(q.in_(unit)), "unit": unit, "system": UCUM, "code": unit}


def _instant(at: datetime) -> str:
    """A FHIR dateTime. FHIR needs a time zone with any time of day; a plan made from instants
    without one (clinic local time) is dated to the day, its clock times kept in ``timeOfDay``
    and in the instruction text."""
    if at.tzinfo is None:
        return at.date().isoformat()
    return at.isoformat(timespec="seconds")


def _ends(events: list[Event]) -> dict[int, datetime]:
    """Where each dosing event's period ends: at the next change on the same route."""
    ends: dict[int, datetime] = {}
    last: dict[str, int] = {}
    for i, event in enumerate(events):
        route = _route_of(event)
        if route is None:
            continue
        if route in last:
            ends[last[route]] = event.at
        last[route] = i
    return ends


def _route_of(event: Event) -> str | None:
    if isinstance(event, (OralRegimen, OralStop)):
        return "oral"
    if isinstance(event, (ItInfusion, ItStop)):
        return "intrathecal"
    return None


def _period(start: datetime, end: datetime | None) -> dict[str, str]:
    """A boundsPeriod. Dated to the day, a period's end is inclusive: it ends the day before the
    next step starts."""
    bounds = {"start": _instant(start)}
    if end is not None:
        last = end if end.tzinfo is not None else end - timedelta(days=1)
        bounds["end"] = _instant(max(last, start))
    return bounds


def daily_ceiling(request: PlanRequest, pack: Pack) -> Quantity | None:
    """The oral daily maximum for this patient (None in hospital, where it may be exceeded)."""
    age = age_at(request.patient, request.start)
    adult = pack.rule("IND-POPULATION").quantity("adult_age").in_("a")
    if age is not None and age < adult:
        return paediatric_max(pack, age)
    if request.patient.setting == "inpatient":
        return None
    return pack.rule("PO-MAX").quantity("max_daily_outpatient")


def _oral(
    text: str,
    event: OralRegimen,
    sequence: int,
    end: datetime | None,
    max_daily: Quantity | None,
    meals: str,
    meal_codes: dict[str, str],
) -> list[dict[str, Any]]:
    """One instruction per distinct dose of the day (same sequence: given together)."""
    out = []
    times = event.times or ()
    by_dose: dict[Quantity, list[str]] = {}
    for i, dose in enumerate(event.doses):
        by_dose.setdefault(dose, []).append(times[i] if i < len(times) else "")
    for dose, clocks in by_dose.items():
        repeat: dict[str, Any] = {
            "boundsPeriod": _period(event.at, end),
            "frequency": len(clocks),
            "period": 1,
            "periodUnit": "d",
        }
        if all(c in meal_codes for c in clocks):
            repeat["when"] = [meal_codes[c] for c in clocks]  # at breakfast, lunch, dinner
        elif all(clocks):
            repeat["timeOfDay"] = [f"{c}:00" for c in clocks]
        dosage: dict[str, Any] = {
            "sequence": sequence,
            "text": text,
            "additionalInstruction": [{"text": meals}],
            "timing": {"repeat": repeat},
            "route": {"coding": [ORAL_ROUTE]},
            "doseAndRate": [{"doseQuantity": ucum(dose, "mg")}],
        }
        if max_daily is not None:
            dosage["maxDosePerPeriod"] = {
                "numerator": ucum(max_daily * Quantity.of(1, "d"), "mg"),
                "denominator": {"value": 1, "unit": "d", "system": UCUM, "code": "d"},
            }
        out.append(dosage)
    return out


def plan_bundle(plan: Plan, pack: Pack, max_daily: Quantity | None = None) -> dict[str, Any]:
    """The plan as a FHIR R4 Bundle (type collection), validated. ``max_daily`` is the oral
    daily maximum to state (see :func:`daily_ceiling`)."""
    atc = pack.rule("SUP-DDD").code("atc")
    meals = pack.rule("PO-MEALS").text("instruction")
    meal_codes = dict(zip(pack.rule("PO-MEALS").code_list("meal_times"), MEAL_EVENTS, strict=True))
    ends = _ends([s.event for s in plan.steps])
    instructions: list[dict[str, Any]] = []
    notes: list[dict[str, str]] = [{"text": DISCLAIMER}]
    sequence = 0
    for i, step in enumerate(plan.steps):
        event = step.event
        end = ends.get(i)
        if isinstance(event, OralRegimen):
            sequence += 1
            instructions += _oral(
                step.instructions, event, sequence, end, max_daily, meals, meal_codes
            )
        elif isinstance(event, ItInfusion):
            sequence += 1
            instructions.append(
                {
                    "sequence": sequence,
                    "text": step.instructions,
                    "timing": {"repeat": {"boundsPeriod": _period(event.at, end)}},
                    "route": {"coding": [INTRATHECAL_ROUTE]},
                    "doseAndRate": [{"rateQuantity": ucum(event.daily_dose, "ug/d")}],
                }
            )
        elif isinstance(event, ItTestDose):
            sequence += 1
            instructions.append(
                {
                    "sequence": sequence,
                    "text": step.instructions,
                    "timing": {"event": [_instant(event.at)]},
                    "route": {"coding": [INTRATHECAL_ROUTE]},
                    "doseAndRate": [{"doseQuantity": ucum(event.dose, "ug")}],
                }
            )
        else:
            notes.append({"time": _instant(event.at), "text": f"{event.kind}: {step.instructions}"})
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "plan",
        "status": "draft",
        "intent": "plan",
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": atc, "display": "baclofen"}],
            "text": "baclofen",
        },
        "subject": {"display": "the patient of the request"},
        "dosageInstruction": instructions,
        "note": notes,
    }
    entries: list[dict[str, Any]] = [{"fullUrl": "urn:uuid:plan", "resource": request}]
    for n, finding in enumerate(plan.findings):
        quote = f"“{finding.citation.quote}” ({finding.citation.source})"
        entries.append(
            {
                "fullUrl": f"urn:uuid:finding-{n}",
                "resource": {
                    "resourceType": "DetectedIssue",
                    "id": f"finding-{n}",
                    "status": "preliminary",
                    "code": {"text": finding.rule},
                    "severity": SEVERITY[finding.severity.value],
                    "detail": finding.message,
                    "reference": finding.citation.url or finding.citation.source,
                    "implicated": [{"reference": "urn:uuid:plan"}],
                    "mitigation": [{"action": {"text": quote}}],
                },
            }
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate(bundle)
    return bundle


def validate(bundle: dict[str, Any]) -> None:
    """Validate with the fhir.resources R4B models, plus the code checks the models skip."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        for dosage in entry["resource"].get("dosageInstruction", []):
            repeat = dosage["timing"].get("repeat", {})
            for code in repeat.get("when", []):
                if code not in EVENT_TIMING:
                    raise ValueError(f"when {code!r} is not a FHIR EventTiming code")
            if "periodUnit" in repeat and repeat["periodUnit"] not in (
                "s",
                "min",
                "h",
                "d",
                "wk",
                "mo",
                "a",
            ):
                raise ValueError(f"periodUnit {repeat['periodUnit']!r} is not a UCUM time unit")
            for rate in dosage.get("doseAndRate", []):
                for q in (rate.get("doseQuantity"), rate.get("rateQuantity")):
                    if q is not None and (q["system"] != UCUM or "mcg" in q["code"]):
                        raise ValueError(f"{q['code']!r} is not a UCUM code")


def history_bundle(history: tuple[Event, ...] | list[Event], pack: Pack) -> dict[str, Any]:
    """A patient's history as FHIR R4: test doses and refills as MedicationAdministration,
    regimens and infusions as MedicationRequest (one per change, its period up to the next)."""
    from ..model.events import PumpRefill

    atc = pack.rule("SUP-DDD").code("atc")
    medication = {
        "coding": [{"system": ATC, "code": atc, "display": "baclofen"}],
        "text": "baclofen",
    }
    meals = pack.rule("PO-MEALS").text("instruction")
    meal_codes = dict(zip(pack.rule("PO-MEALS").code_list("meal_times"), MEAL_EVENTS, strict=True))
    ordered = sorted(history, key=lambda e: e.at)
    ends = _ends(ordered)
    entries: list[dict[str, Any]] = []
    for i, event in enumerate(ordered):
        resource: dict[str, Any] | None = None
        if isinstance(event, (ItTestDose, PumpRefill)):
            dose = (
                ucum(event.dose, "ug")
                if isinstance(event, ItTestDose)
                else ucum(event.concentration * event.volume, "ug")
            )
            resource = {
                "resourceType": "MedicationAdministration",
                "status": "completed",
                "medicationCodeableConcept": medication,
                "subject": {"display": "the patient"},
                "effectiveDateTime": _instant(event.at),
                "dosage": {
                    "text": event.kind,
                    "route": {"coding": [INTRATHECAL_ROUTE]},
                    "dose": dose,
                },
            }
        elif isinstance(event, OralRegimen):
            resource = {
                "resourceType": "MedicationRequest",
                "status": "completed" if i in ends else "active",
                "intent": "order",
                "medicationCodeableConcept": medication,
                "subject": {"display": "the patient"},
                "dosageInstruction": _oral(
                    event.kind, event, 1, ends.get(i), None, meals, meal_codes
                ),
            }
        elif isinstance(event, ItInfusion):
            resource = {
                "resourceType": "MedicationRequest",
                "status": "completed" if i in ends else "active",
                "intent": "order",
                "medicationCodeableConcept": medication,
                "subject": {"display": "the patient"},
                "dosageInstruction": [
                    {
                        "sequence": 1,
                        "timing": {"repeat": {"boundsPeriod": _period(event.at, ends.get(i))}},
                        "route": {"coding": [INTRATHECAL_ROUTE]},
                        "doseAndRate": [{"rateQuantity": ucum(event.daily_dose, "ug/d")}],
                    }
                ],
            }
        if resource is not None:
            entries.append(
                {"fullUrl": f"urn:uuid:history-{i}", "resource": {**resource, "id": f"history-{i}"}}
            )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate(bundle)
    return bundle
