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

from ..errors import InputError
from ..knowledge import load_pack
from ..knowledge.schema import Pack
from ..model.events import (
    Event,
    InjectionSession,
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
from ..model.patient import age_at
from ..planning.model import Plan
from ..planning.request import PlanRequest
from ..rules.limits import paediatric_max
from ..serialize import DISCLAIMER
from ..units import MASS, Quantity
from .fhir_in import (
    ALARM_URL,
    BRIDGE_VOLUME_URL,
    EVENT_KIND,
    FORM_SYSTEM,
    LOCAL_TIME_URL,
    PERFORMER_FUNCTION,
    RESIDUAL_URL,
    RESPONSE_URL,
    SCHEDULE_URL,
)

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
ORAL_ROUTE = {"system": SNOMED, "code": "26643006", "display": "Oral route"}
INTRATHECAL_ROUTE = {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}
SEVERITY = {"critical": "high", "error": "high", "warning": "moderate", "info": "low"}
MEAL_EVENTS = ("CM", "CD", "CV")  # FHIR EventTiming: at breakfast, lunch, dinner


def _medication(pack: Pack) -> dict[str, Any]:
    """The pack's medicine as a CodeableConcept: its name, and its ATC code where the pack
    gives one (the rule in the role ``ddd``)."""
    concept: dict[str, Any] = {"text": pack.medicine}
    if pack.has_role("ddd"):
        atc = pack.role("ddd").code("atc")
        concept = {"coding": [{"system": ATC, "code": atc, "display": pack.medicine}], **concept}
    return concept


def _meals(pack: Pack) -> tuple[str | None, dict[str, str]]:
    """The pack's advice on taking doses with meals and its meal clock times (role
    ``oral.meals``) as FHIR meal codes; none when the pack gives no meal times."""
    if not pack.has_role("oral.meals"):
        return None, {}
    meals = pack.role("oral.meals")
    if "meal_times" not in meals.codes:  # advice on food without clock times (tizanidine's)
        return meals.text("instruction"), {}
    return meals.text("instruction"), dict(
        zip(meals.code_list("meal_times"), MEAL_EVENTS, strict=True)
    )


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
    if not pack.has_role("oral.max"):
        return None  # a medicine given by no oral regimen states no oral maximum
    age = age_at(request.patient, request.start)
    adult = (
        pack.role("indication.population").quantity("adult_age").in_("a")
        if pack.has_role("indication.population")
        else None
    )
    if age is not None and adult is not None and age < adult:
        return paediatric_max(pack, age) if pack.has_role("oral.children") else None
    if request.patient.setting == "inpatient":
        return None
    return pack.role("oral.max").quantity("max_daily_outpatient")


def _oral(
    text: str,
    event: OralRegimen,
    sequence: int,
    end: datetime | None,
    max_daily: Quantity | None,
    meals: str | None,
    meal_codes: dict[str, str],
) -> list[dict[str, Any]]:
    """One instruction per distinct dose of the day (same sequence: given together)."""
    out = []
    times = event.times or ()
    groups: list[tuple[Quantity, list[str]]] = []
    for i, dose in enumerate(event.doses):
        clock = times[i] if i < len(times) else ""
        # timed doses group by dose (the clock orders them); untimed ones only in runs, so
        # "5, 10, 5 mg" keeps its order of the day
        same = [g for g in groups if g[0] == dose] if clock else groups[-1:]
        if same and same[0][0] == dose:
            same[0][1].append(clock)
        else:
            groups.append((dose, [clock]))
    for dose, clocks in groups:
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
            "timing": {"repeat": repeat},
            "route": {"coding": [ORAL_ROUTE]},
            "doseAndRate": [{"doseQuantity": ucum(dose, "mg")}],
        }
        if meals is not None:
            dosage["additionalInstruction"] = [{"text": meals}]
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
    _refuse_sessions([s.event for s in plan.steps], "plan.steps")
    medication = _medication(pack)
    meals, meal_codes = _meals(pack)
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
        "medicationCodeableConcept": medication,
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


def _refuse_sessions(events: list[Event], path: str) -> None:
    """Refuse an injection session, naming where it is: no FHIR mapping of a session (its
    injections per muscle, its product's Units) is written yet, and a session written as
    something else, or left out, would be a record that says less than it did."""
    for i, event in enumerate(events):
        if isinstance(event, InjectionSession):
            raise InputError(
                f"{path}[{i}]",
                "is an injection session, which Posology does not write as FHIR yet; export "
                "it as JSON (--format json) instead",
            )


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


def _kind(kind: str) -> dict[str, Any]:
    """The EVENT kind as a concept of our code system: the reader never guesses it."""
    return {"coding": [{"system": EVENT_KIND, "code": kind, "display": kind}]}


def _local_time(at: datetime) -> list[dict[str, Any]]:
    """An instant without a zone travels dated to the day; its clock time goes here."""
    if at.tzinfo is not None:
        return []
    return [{"url": LOCAL_TIME_URL, "valueTime": at.strftime("%H:%M:%S")}]


def _contained_medication(
    medication: dict[str, Any], form: str | None, strength: Quantity | None
) -> dict[str, Any]:
    """A contained Medication with the oral form and the strength (per tablet or per mL)."""
    out: dict[str, Any] = {"resourceType": "Medication", "id": "med", "code": medication}
    if form is not None:
        out["form"] = {"coding": [{"system": FORM_SYSTEM, "code": form}], "text": form}
    if strength is not None:
        if strength.dim == MASS:
            numerator, per = ucum(strength, "mg"), {"value": 1, "unit": form or "dose"}
        else:
            numerator = ucum(strength * Quantity.of(1, "mL"), "ug")
            per = {"value": 1, "unit": "mL", "system": UCUM, "code": "mL"}
        out["ingredient"] = [
            {
                "itemCodeableConcept": medication,
                "strength": {"numerator": numerator, "denominator": per},
            }
        ]
    return out


def _with_medication(
    resource: dict[str, Any],
    medication: dict[str, Any],
    form: str | None,
    strength: Quantity | None,
) -> dict[str, Any]:
    if form is None and strength is None:
        return {**resource, "medicationCodeableConcept": medication}
    return {
        **resource,
        "contained": [_contained_medication(medication, form, strength)],
        "medicationReference": {"reference": "#med"},
    }


def _witness(name: str) -> dict[str, Any]:
    """The second person who checked a refill, as a performer witnessing the administration."""
    return {
        "function": {"coding": [{"system": PERFORMER_FUNCTION, "code": "witness"}]},
        "actor": {"display": name},
    }


def _history_resource(
    event: Event,
    open_ended: bool,
    end: datetime | None,
    medication: dict[str, Any],
    meals: str | None,
    meal_codes: dict[str, str],
) -> dict[str, Any]:
    """One history event as the resource that records it (see ``fhir_in`` for the mapping)."""
    subject = {"display": "the patient"}
    base: dict[str, Any] = {"subject": subject}
    local = _local_time(event.at)
    if local:
        base["extension"] = local
    if isinstance(event, OralRegimen):
        request = {
            "resourceType": "MedicationRequest",
            "status": "active" if open_ended else "completed",
            "intent": "order",
            "category": [_kind(event.kind)],
            **base,
            "dosageInstruction": _oral(event.kind, event, 1, end, None, meals, meal_codes),
        }
        return _with_medication(request, medication, event.form, event.strength)
    if isinstance(event, ItInfusion):
        dosage: dict[str, Any] = {
            "sequence": 1,
            "timing": {"repeat": {"boundsPeriod": _period(event.at, end)}},
            "route": {"coding": [INTRATHECAL_ROUTE]},
            "doseAndRate": [{"rateQuantity": ucum(event.daily_dose, "ug/d")}],
        }
        if event.schedule:
            dosage["extension"] = [
                {
                    "url": SCHEDULE_URL,
                    "extension": [
                        {"url": "start", "valueTime": f"{seg.start}:00"},
                        {"url": "dailyRate", "valueQuantity": ucum(seg.daily_rate, "ug/d")},
                    ],
                }
                for seg in event.schedule
            ]
        return {
            "resourceType": "MedicationRequest",
            "status": "active" if open_ended else "completed",
            "intent": "order",
            "category": [_kind(event.kind)],
            "medicationCodeableConcept": medication,
            **base,
            "dosageInstruction": [dosage],
        }
    if isinstance(event, (ItTestDose, PumpRefill)):
        extensions = list(local)
        if isinstance(event, ItTestDose):
            dose = ucum(event.dose, "ug")
            if event.response is not None:
                parts: list[dict[str, Any]] = [
                    {"url": "effect", "valueBoolean": event.response.effect}
                ]
                if event.response.duration is not None:
                    parts.append(
                        {"url": "duration", "valueQuantity": ucum(event.response.duration, "h")}
                    )
                extensions.append({"url": RESPONSE_URL, "extension": parts})
            strength = None
        else:
            dose = ucum(event.volume, "mL")
            strength = event.concentration
            if event.alarm is not None:
                extensions.append({"url": ALARM_URL, "valueQuantity": ucum(event.alarm, "mL")})
            if event.residual is not None:
                extensions.append(
                    {"url": RESIDUAL_URL, "valueQuantity": ucum(event.residual, "mL")}
                )
            if event.bridge_volume is not None:
                extensions.append(
                    {"url": BRIDGE_VOLUME_URL, "valueQuantity": ucum(event.bridge_volume, "mL")}
                )
        administration: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "category": _kind(event.kind),
            "subject": subject,
            "effectiveDateTime": _instant(event.at),
            "dosage": {"text": event.kind, "route": {"coding": [INTRATHECAL_ROUTE]}, "dose": dose},
        }
        if extensions:
            administration["extension"] = extensions
        if isinstance(event, PumpRefill) and event.checked_by is not None:
            administration["performer"] = [_witness(event.checked_by)]
        out = _with_medication(administration, medication, None, strength)
        if isinstance(event, PumpRefill) and event.lot is not None:
            out["contained"][0]["batch"] = {"lotNumber": event.lot}
        return out
    if isinstance(event, (OralStop, ItStop)):
        route = ORAL_ROUTE if isinstance(event, OralStop) else INTRATHECAL_ROUTE
        return {
            "resourceType": "MedicationStatement",
            "status": "stopped",
            "category": _kind(event.kind),
            "medicationCodeableConcept": medication,
            **base,
            "effectiveDateTime": _instant(event.at),
            "dosage": [{"route": {"coding": [route]}}],
        }
    if isinstance(event, PumpImplant):
        return {
            "resourceType": "Procedure",
            "status": "completed",
            "category": _kind(event.kind),
            "code": {"text": event.kind},
            **base,
            "performedDateTime": _instant(event.at),
        }
    if isinstance(event, ItStable):
        return {
            "resourceType": "Observation",
            "status": "final",
            "category": [_kind(event.kind)],
            "code": {"text": event.kind},
            **base,
            "effectiveDateTime": _instant(event.at),
        }
    assert isinstance(event, Review)
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "plan",
        "code": _kind(event.kind),
        "description": event.note,
        "for": subject,
        **({"extension": local} if local else {}),
        "executionPeriod": {"start": _instant(event.at)},
    }


def _pack_of(medicine: str, profile: str) -> Pack:
    """Another medicine's pack, in the same profile when that medicine has it."""
    from ..knowledge import shipped_profiles

    return load_pack(medicine, profile if profile in shipped_profiles().get(medicine, ()) else None)


def history_bundle(history: tuple[Event, ...] | list[Event], pack: Pack) -> dict[str, Any]:
    """A patient's history as FHIR R4, one resource per event, each marked with its EVENT kind
    so that ``fhir_in.history_from_bundle`` reads every event back unchanged: regimens and
    infusions as MedicationRequest (one per change, its period up to the next), test doses and
    refills as MedicationAdministration (a refill as its volume of its concentration), stops as
    MedicationStatement, the implant as a Procedure, ``it-stable`` as an Observation and a
    review as a Task."""
    ordered = sorted(history, key=lambda e: e.at)
    _refuse_sessions(ordered, "history")
    ends = _ends(ordered)
    entries: list[dict[str, Any]] = []
    for i, event in enumerate(ordered):
        # each event as its own medicine: a tizanidine regimen is never written as baclofen
        own = pack if event.medicine == pack.medicine else _pack_of(event.medicine, pack.profile)
        meals, meal_codes = _meals(own)
        resource = _history_resource(
            event, i not in ends, ends.get(i), _medication(own), meals, meal_codes
        )
        entries.append(
            {"fullUrl": f"urn:uuid:history-{i}", "resource": {**resource, "id": f"history-{i}"}}
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate(bundle)
    return bundle
