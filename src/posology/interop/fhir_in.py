"""FHIR R4 in: MedicationRequest, MedicationAdministration, Patient and Observation into the
engine's PATIENT and EVENT documents.

Lenient where real systems differ: an STU3-style ``doseQuantity`` directly on the dosage, ``mcg``
without a code system, a unit only in ``unit``. Strict where safety needs it: a dose without a
unit, a unit that is not a mass (tablets, millilitres without a strength), an unknown route, a
medication that is not baclofen: each is an :class:`~posology.errors.InputError` naming the FHIR
path, never a guess. Structure wins over ``Dosage.text``, which is never parsed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import InputError
from ..units import MASS, MASS_RATE, Quantity, parse_quantity

SNOMED = "http://snomed.info/sct"
ROUTES = {"26643006": "oral", "72607000": "intrathecal"}
BACLOFEN_CODES = {
    ("http://www.whocc.no/atc", "M03BX01"),
    ("http://www.nlm.nih.gov/research/umls/rxnorm", "1292"),
}
WEIGHT_CODES = {"29463-7", "3141-9"}
CLEARANCE_CODES = {"2164-2", "33558-0"}
SEXES = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}


def _code_text(unit: dict[str, Any], path: str) -> str:
    """The unit of a FHIR Quantity: its UCUM code, else its display unit (lenient)."""
    code = unit.get("code") or unit.get("unit")
    if not code:
        raise InputError(path, "has no unit; a dose without a unit is never assumed")
    return str(code)


def fhir_quantity(value: Any, path: str, *kinds: Any) -> Quantity:
    """A FHIR Quantity as an exact quantity of one of ``kinds``."""
    if not isinstance(value, dict) or "value" not in value:
        raise InputError(path, "must be a Quantity with a value and a unit")
    number = value["value"]
    if isinstance(number, bool) or not isinstance(number, (int, float, str)):
        raise InputError(f"{path}.value", "must be a number")
    return parse_quantity(f"{number} {_code_text(value, path)}", field=path, kinds=kinds)


def is_baclofen(resource: dict[str, Any]) -> bool:
    concept = resource.get("medicationCodeableConcept") or {}
    for coding in concept.get("coding") or []:
        if (coding.get("system"), coding.get("code")) in BACLOFEN_CODES:
            return True
        if "baclofen" in str(coding.get("display", "")).lower():
            return True
    return "baclofen" in str(concept.get("text", "")).lower()


def _route(dosage: dict[str, Any], path: str) -> str:
    for coding in (dosage.get("route") or {}).get("coding") or []:
        if coding.get("system") == SNOMED and coding.get("code") in ROUTES:
            return ROUTES[coding["code"]]
    raise InputError(
        f"{path}.route", "must be the oral (SNOMED 26643006) or intrathecal (72607000) route"
    )


def _meal_clocks() -> dict[str, str]:
    """FHIR's meal codes (breakfast, lunch, dinner) as the pack's meal clock times."""
    from ..knowledge import load_pack
    from .fhir_out import MEAL_EVENTS

    times = load_pack().rule("PO-MEALS").code_list("meal_times")
    return dict(zip(MEAL_EVENTS, times, strict=True))


def _times_per_day(repeat: dict[str, Any], path: str) -> int:
    frequency = repeat.get("frequency", 1)
    period = repeat.get("period", 1)
    unit = repeat.get("periodUnit", "d")
    per_day = {"d": 1, "h": 24, "min": 1440}.get(unit)
    if (
        per_day is None
        or not isinstance(frequency, int)
        or not isinstance(period, (int, float))
        or period <= 0
    ):
        raise InputError(
            f"{path}.timing.repeat", "needs frequency, period and periodUnit d, h or min"
        )
    times = frequency * per_day / period
    if times != int(times) or not 1 <= times <= 24:
        raise InputError(
            f"{path}.timing.repeat", "must give a whole number of doses a day, 1 to 24"
        )
    return int(times)


def _start(repeat: dict[str, Any], fallback: str | None, path: str) -> str:
    start = (repeat.get("boundsPeriod") or {}).get("start") or fallback
    if not start:
        raise InputError(
            f"{path}.timing.repeat.boundsPeriod.start", "missing; when the dose starts"
        )
    return start if "T" in start else f"{start}T00:00"


def events_from_medication_request(
    resource: dict[str, Any], path: str = "MedicationRequest"
) -> list[dict[str, Any]]:
    """The EVENTs a baclofen MedicationRequest orders: oral regimens and intrathecal infusions."""
    if resource.get("resourceType") != "MedicationRequest":
        raise InputError(f"{path}.resourceType", "must be MedicationRequest")
    if not is_baclofen(resource):
        raise InputError(f"{path}.medicationCodeableConcept", "is not baclofen (ATC M03BX01)")
    events: list[dict[str, Any]] = []
    by_sequence: dict[tuple[Any, str], dict[str, Any]] = {}
    for i, dosage in enumerate(resource.get("dosageInstruction") or []):
        dpath = f"{path}.dosageInstruction[{i}]"
        route = _route(dosage, dpath)
        repeat = (dosage.get("timing") or {}).get("repeat") or {}
        start = _start(repeat, resource.get("authoredOn"), dpath)
        rates = dosage.get("doseAndRate") or []
        dose_q = rates[0].get("doseQuantity") if rates else dosage.get("doseQuantity")  # STU3 shape
        rate_q = rates[0].get("rateQuantity") if rates else dosage.get("rateQuantity")
        if route == "intrathecal":
            if rate_q is None:
                raise InputError(
                    f"{dpath}.doseAndRate[0].rateQuantity",
                    "missing; an infusion needs a daily rate in ug/d",
                )
            daily = fhir_quantity(rate_q, f"{dpath}.doseAndRate[0].rateQuantity", MASS_RATE)
            events.append({"at": start, "kind": "it-infusion", "daily_dose": daily.code()})
            continue
        if dose_q is None:
            raise InputError(
                f"{dpath}.doseAndRate[0].doseQuantity", "missing; an oral dose needs a mass"
            )
        dose = fhir_quantity(dose_q, f"{dpath}.doseAndRate[0].doseQuantity", MASS)
        clocks = [str(t)[:5] for t in repeat.get("timeOfDay") or []]
        if not clocks and repeat.get("when"):
            meals = _meal_clocks()
            if all(code in meals for code in repeat["when"]):
                clocks = [meals[code] for code in repeat["when"]]
        count = len(clocks) or _times_per_day(repeat, dpath)
        key = (dosage.get("sequence", i), start)
        if key in by_sequence:  # unequal doses of one day share a sequence: one regimen
            regimen = by_sequence[key]
            regimen["_parts"].extend([(c, dose) for c in clocks] or [("", dose)] * count)
            continue
        regimen = {
            "at": start,
            "kind": "oral-regimen",
            "_parts": [(c, dose) for c in clocks] or [("", dose)] * count,
        }
        by_sequence[key] = regimen
        events.append(regimen)
    for event in events:
        parts = event.pop("_parts", None)
        if parts is None:
            continue
        parts.sort(key=lambda p: p[0])
        doses = [q.code() for _, q in parts]
        if len(set(doses)) == 1:
            event["dose"], event["times_per_day"] = doses[0], len(doses)
        else:
            event["doses"] = doses
        if all(c for c, _ in parts):
            event["times"] = [c for c, _ in parts]
    return sorted(events, key=lambda e: datetime.fromisoformat(e["at"]))


def events_from_medication_administration(
    resource: dict[str, Any], path: str = "MedicationAdministration"
) -> list[dict[str, Any]]:
    """An intrathecal baclofen bolus given (a screening test dose) as an it-test-dose EVENT."""
    if resource.get("resourceType") != "MedicationAdministration":
        raise InputError(f"{path}.resourceType", "must be MedicationAdministration")
    if not is_baclofen(resource):
        raise InputError(f"{path}.medicationCodeableConcept", "is not baclofen (ATC M03BX01)")
    dosage = resource.get("dosage") or {}
    if _route(dosage, f"{path}.dosage") != "intrathecal":
        raise InputError(
            f"{path}.dosage.route", "only intrathecal test doses are read from administrations"
        )
    at = resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
    if not at:
        raise InputError(f"{path}.effectiveDateTime", "missing; when the dose was given")
    dose = fhir_quantity(dosage.get("dose"), f"{path}.dosage.dose", MASS)
    return [{"at": at, "kind": "it-test-dose", "dose": dose.code()}]


def patient_from_fhir(
    patient: dict[str, Any], observations: list[dict[str, Any]], diagnosis: str
) -> dict[str, Any]:
    """A PATIENT document from a FHIR Patient, its weight and creatinine clearance Observations."""
    if patient.get("resourceType") != "Patient":
        raise InputError("Patient.resourceType", "must be Patient")
    out: dict[str, Any] = {
        "diagnosis": diagnosis,
        "sex": SEXES.get(str(patient.get("gender")), "unknown"),
    }
    if not patient.get("birthDate"):
        raise InputError("Patient.birthDate", "missing; the age decides which rules apply")
    out["birth_date"] = str(patient["birthDate"])[:10]
    latest: dict[str, tuple[str, Quantity]] = {}
    for i, obs in enumerate(observations):
        codes = {c.get("code") for c in (obs.get("code") or {}).get("coding") or []}
        when = str(obs.get("effectiveDateTime") or "")
        opath = f"Observation[{i}].valueQuantity"
        if codes & WEIGHT_CODES:
            value = obs.get("valueQuantity") or {}
            unit = _code_text(value, opath)
            grams = {"kg": 1000, "g": 1, "[lb_av]": 453.59237}.get(unit)
            if grams is None or not isinstance(value.get("value"), (int, float)):
                raise InputError(opath, "a body weight in kg, g or [lb_av] is due")
            kind, q = "weight", Quantity.of(str(round(value["value"] * grams / 1000, 3)), "kg")
        elif codes & CLEARANCE_CODES:
            q = fhir_quantity(obs.get("valueQuantity"), opath, Quantity.of(1, "mL/min").dim)
            kind = "clearance"
        else:
            continue
        if kind not in latest or when > latest[kind][0]:
            latest[kind] = (when, q)
    if "weight" in latest:
        out["weight_kg"] = float(latest["weight"][1].in_("kg"))
    if "clearance" in latest:
        out["creatinine_clearance_ml_min"] = float(latest["clearance"][1].in_("mL/min"))
    return out
