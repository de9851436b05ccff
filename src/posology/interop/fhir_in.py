"""FHIR R4 in: MedicationRequest, MedicationAdministration, MedicationStatement, Procedure,
Observation, Task and Patient into the engine's PATIENT and EVENT documents.

Lenient where real systems differ: an STU3-style ``doseQuantity`` directly on the dosage, ``mcg``
without a code system, a unit only in ``unit``, a number written ``500``, ``500.0`` or ``5e2``
(one JSON number, read exactly the same). The medication is recognised by any of its codings
that a pack's codes file lists (RxNorm ingredient or product, ATC, SNOMED CT, dm+d; see
:mod:`posology.interop.medicines`), in ``medicationCodeableConcept`` or the Medication it refers
to; a product code gives the route (when the dosage has none), the form and the strength, so a
dose in tablets (``4 TAB``, UCUM ``{tbl}``) is that many times the tablet's strength, and a dose
in mL of a solution that many times its concentration. Strict where safety needs it: a dose
without a unit, a unit that is not a mass (tablets of unknown strength, millilitres without a
strength), an unknown route or one that contradicts the product, a medication of another pack's
medicine, codings of two medicines, a field of the wrong JSON type (a list or a text where FHIR
has an object), an instant that is no date: each is an :class:`~posology.errors.InputError`
naming the FHIR path, never a guess and never a crash. Structure wins over ``Dosage.text``, which
is read for one thing only: a refill's concentration when no Medication gives it, and only when
the text holds exactly one.

How each EVENT kind is marked (``fhir_out.history_bundle`` writes these; the reader never infers
a kind from the route alone):

- every resource may carry the kind as a coding of :data:`EVENT_KIND` in its ``category`` (a
  Task in its ``code``); when present it decides;
- ``oral-regimen``: a MedicationRequest on the oral route (``doseQuantity`` in a mass); form and
  strength from its Medication (``form`` coded in :data:`FORM_SYSTEM`, ``ingredient.strength``
  ``10 mg`` per ``1 tablet`` or ``1 mg`` per ``1 mL``);
- ``it-infusion``: a MedicationRequest on the intrathecal route with ``rateQuantity`` (``ug/d``,
  ``ug/h``) or ``rateRatio`` (``ug`` per ``d``); a 24-hour profile in the extension
  :data:`SCHEDULE_URL`, one per segment (``start`` valueTime, ``dailyRate`` valueQuantity);
- ``pump-refill``: an intrathecal MedicationAdministration marked as a refill (our coding, or a
  ``category``/``dosage.method`` whose words say "refill"): ``dosage.dose`` the volume in mL (or a
  mass, divided by the concentration), the concentration from the Medication's
  ``ingredient.strength`` (µg per mL) or ``dosage.text``; the alarm volume in :data:`ALARM_URL`;
- ``it-test-dose``: an intrathecal MedicationAdministration marked as a test dose (our coding, or
  words "test" or "screening"), or unmarked with a dose in a mass and no ``device`` (a bolus given
  by lumbar puncture); the response in :data:`RESPONSE_URL` (``effect`` valueBoolean,
  ``duration`` valueQuantity in h). An unmarked administration given as a volume or into a device
  is refused: it may be a refill;
- ``oral-stop`` / ``it-stop``: a MedicationStatement with status ``stopped`` on the oral or
  intrathecal route, at ``effectiveDateTime``;
- ``pump-implant``: a Procedure marked with our coding, at ``performedDateTime``;
- ``it-stable``: an Observation marked with our coding, at ``effectiveDateTime``;
- ``review``: a Task marked with our coding, its ``description`` the note, at
  ``executionPeriod.start``.

FHIR needs a time zone with any time of day: an instant without one travels dated to the day,
with its clock time in the resource extension :data:`LOCAL_TIME_URL`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import InputError
from ..knowledge.schema import Pack
from ..model import fields as F
from ..model.events import DEFAULT_MEDICINE
from ..units import CONCENTRATION, MASS, MASS_RATE, TIME, VOLUME, Quantity, parse_quantity
from .fhir_json import codings as codings
from .fhir_json import element as element
from .fhir_json import elements as elements
from .fhir_json import json_kind
from .fhir_json import primitive as primitive
from .medicines import Identified, codes_of, identify

SNOMED = "http://snomed.info/sct"
ROUTES = {"26643006": "oral", "72607000": "intrathecal"}
WEIGHT_CODES = {"29463-7", "3141-9"}
CLEARANCE_CODES = {"2164-2", "33558-0"}
SEXES = {"male": "male", "female": "female", "other": "other", "unknown": "unknown"}
_BASE = "https://posology.example/fhir"
EVENT_KIND = f"{_BASE}/CodeSystem/event-kind"
FORM_SYSTEM = f"{_BASE}/CodeSystem/oral-form"
LOCAL_TIME_URL = f"{_BASE}/StructureDefinition/local-time"
RESPONSE_URL = f"{_BASE}/StructureDefinition/test-dose-response"
ALARM_URL = f"{_BASE}/StructureDefinition/alarm-volume"
RESIDUAL_URL = f"{_BASE}/StructureDefinition/residual-volume"
BRIDGE_VOLUME_URL = f"{_BASE}/StructureDefinition/bridge-volume"
PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
SCHEDULE_URL = f"{_BASE}/StructureDefinition/infusion-schedule"
FORMS = ("tablet", "solution")
Medications = Mapping[str, dict[str, Any]]
_CONCENTRATION_TEXT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(ug|mcg|µg|microgram(?:s)?|mg)\s*(?:/|per)\s*(ml)\b", re.IGNORECASE
)


def _strings(value: object, path: str) -> list[str]:
    """A repeating FHIR primitive (``timeOfDay``, ``when``): absent is none; a list of strings."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(path, f"must be a JSON list of strings, not {json_kind(value)}")
    return [primitive(v, f"{path}[{i}]") or "" for i, v in enumerate(value)]


def fhir_number(value: object, path: str) -> Fraction:
    """A FHIR (JSON) number, exactly: ``500``, ``500.0`` and ``5e2`` are one number. Decimals
    arrive as :class:`~decimal.Decimal` from the strict JSON reader, floats from Python callers
    (read by their shortest spelling)."""
    if isinstance(value, float) and math.isfinite(value):
        value = Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    if isinstance(value, Decimal) and value.is_finite():
        return Fraction(value)
    raise InputError(path, "must be a number")


def _decimal_text(value: Fraction) -> str:
    """A terminating fraction as plain decimal text (no exponent), for the unit reader."""
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


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
    number = fhir_number(value["value"], f"{path}.value")
    unit = _code_text(value, path)
    return parse_quantity(f"{_decimal_text(number)} {unit}", field=path, kinds=kinds)


def _ratio(value: Any, path: str, top: Any, bottom: Any) -> tuple[Quantity, Quantity]:
    """A FHIR Ratio as its numerator (of kind ``top``) and denominator (of kind ``bottom``)."""
    if not isinstance(value, dict):
        raise InputError(path, "must be a Ratio with a numerator and a denominator")
    return (
        fhir_quantity(value.get("numerator"), f"{path}.numerator", top),
        fhir_quantity(value.get("denominator"), f"{path}.denominator", bottom),
    )


def _medication(
    resource: dict[str, Any], medications: Medications | None, path: str
) -> dict[str, Any]:
    """The Medication a resource refers to: contained (``#id``) or given by the caller (a bundle's
    Medications by ``fullUrl`` and ``Medication/id``); empty when there is none."""
    where = f"{path}.medicationReference"
    reference = element(resource.get("medicationReference"), where).get("reference")
    ref = primitive(reference, f"{where}.reference") or ""
    if ref.startswith("#"):
        for contained in elements(resource.get("contained"), f"{path}.contained"):
            if contained.get("id") == ref[1:]:
                return contained
    elif ref and medications is not None:
        return medications.get(ref) or {}
    return {}


def medicine_of(
    resource: dict[str, Any], medications: Medications | None = None, path: str = "resource"
) -> Identified | None:
    """The loaded medicine the resource's medication names, by its ``medicationCodeableConcept``
    or the codes of the Medication it refers to (contained or given), with the product code when
    one of them names a product; None for a medicine no pack knows. A concept and a Medication
    naming two different medicines are refused."""
    found = identify(resource.get("medicationCodeableConcept"), f"{path}.medicationCodeableConcept")
    medication = _medication(resource, medications, path)
    referred = identify(medication.get("code"), f"{path}.medication.code") if medication else None
    if found is not None and referred is not None and found.medicine != referred.medicine:
        raise InputError(
            f"{path}.medicationReference",
            f"refers to {referred.medicine} while medicationCodeableConcept names {found.medicine}",
        )
    if found is None or (found.product is None and referred is not None):
        return referred or found
    return found


def is_medicine(
    resource: dict[str, Any],
    medicine: str,
    medications: Medications | None = None,
    path: str = "resource",
) -> bool:
    """Whether the resource's medication is ``medicine`` (a pack's medicine name)."""
    found = medicine_of(resource, medications, path)
    return found is not None and found.medicine == medicine


def is_baclofen(
    resource: dict[str, Any], medications: Medications | None = None, path: str = "resource"
) -> bool:
    """Whether the resource's medication is baclofen (by the codes of ``baclofen-codes.json``)."""
    return is_medicine(resource, "baclofen", medications, path)


def _of_medicine(events: list[dict[str, Any]], pack: Pack) -> list[dict[str, Any]]:
    """The events, each naming the pack's medicine when it is not the contract's default: an
    EVENT that names none is the default medicine's, so another medicine's order read without
    it would be judged by the wrong pack (or refused by its own)."""
    if pack.medicine != DEFAULT_MEDICINE:
        for event in events:
            event["medicine"] = pack.medicine
    return events


def _route(dosage: dict[str, Any], path: str, product: str | None = None) -> str:
    """The dosage's route (SNOMED CT); without one, the route of the product ordered. A route
    that contradicts the product (a tablet ordered intrathecal) is refused."""
    for system, code, _coding in codings(dosage.get("route"), f"{path}.route"):
        if system == SNOMED and code in ROUTES:
            if product is not None and ROUTES[code] != product:
                raise InputError(
                    f"{path}.route", f"is {ROUTES[code]} but the product ordered is {product}"
                )
            return ROUTES[code]
    if dosage.get("route") is None and product is not None:
        return product
    raise InputError(
        f"{path}.route", "must be the oral (SNOMED 26643006) or intrathecal (72607000) route"
    )


def _meal_clocks(pack: Pack) -> dict[str, str]:
    """FHIR's meal codes (breakfast, lunch, dinner) as the pack's meal clock times."""
    from .fhir_out import MEAL_EVENTS

    if not pack.has_role("oral.meals"):
        return {}
    times = pack.role("oral.meals").code_list("meal_times")
    return dict(zip(MEAL_EVENTS, times, strict=True))


def _times_per_day(repeat: dict[str, Any], path: str) -> int:
    where = f"{path}.timing.repeat"
    try:
        frequency = fhir_number(repeat.get("frequency", 1), f"{where}.frequency")
        period = fhir_number(repeat.get("period", 1), f"{where}.period")
    except InputError:
        frequency = period = Fraction(0)
    unit = primitive(repeat.get("periodUnit", "d"), f"{where}.periodUnit")
    per_day = {"d": 1, "h": 24, "min": 1440}.get(unit or "d")
    if per_day is None or frequency.denominator != 1 or frequency <= 0 or period <= 0:
        raise InputError(where, "needs frequency, period and periodUnit d, h or min")
    times = frequency * per_day / period
    if times.denominator != 1 or not 1 <= times <= 24:
        raise InputError(where, "must give a whole number of doses a day, 1 to 24")
    return int(times)


def _extension(owner: dict[str, Any], url: str, path: str) -> dict[str, Any] | None:
    """The extension of ``owner`` (at ``path``) with this url, if it has one."""
    for ext in elements(owner.get("extension"), f"{path}.extension"):
        if ext.get("url") == url:
            return ext
    return None


def _when(value: Any, resource: dict[str, Any], path: str, resource_path: str) -> str:
    """An EVENT instant from a FHIR date or dateTime: a date alone takes the clock time of the
    resource's local-time extension (an instant without a zone), else midnight. The instant is
    read here, so one that is no date is refused with its FHIR path."""
    if value is None or value == "":
        raise InputError(path, "missing; when it happened")
    if not isinstance(value, str):
        raise InputError(path, f"must be a FHIR dateTime string, not {json_kind(value)}")
    at = value
    if "T" not in value:
        local = _extension(resource, LOCAL_TIME_URL, resource_path)
        clock = str(local.get("valueTime")) if local else "00:00"
        at = f"{value}T{clock}"
    try:
        F.instant(at, path)
    except InputError:
        raise InputError(
            path, f'{value[:40]!r} is not a FHIR dateTime; write e.g. "2026-12-01T08:00:00+01:00"'
        ) from None
    return at


def _start(
    repeat: dict[str, Any],
    path: str,
    resource: dict[str, Any],
    resource_path: str,
    default: str | None = None,
) -> str:
    """When a dosage starts: its ``boundsPeriod.start``, else when the order was written
    (``authoredOn``), else ``default`` (a draft order being signed starts when it is signed)."""
    where = f"{path}.timing.repeat.boundsPeriod"
    start = (
        element(repeat.get("boundsPeriod"), where).get("start")
        or resource.get("authoredOn")
        or default
    )
    return _when(start, resource, f"{where}.start", resource_path)


def _concepts(resource: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """The resource's category concepts (one or a list, by resource type) and its code, each
    with its path."""
    out: list[tuple[str, dict[str, Any]]] = []
    for key in ("category", "code"):
        value = resource.get(key)
        if isinstance(value, list):
            where = f"{path}.{key}"
            out += [(f"{where}[{i}]", c) for i, c in enumerate(elements(value, where))]
        elif value is not None:
            out.append((f"{path}.{key}", element(value, f"{path}.{key}")))
    return out


def marked_kind(resource: dict[str, Any], path: str = "resource") -> str | None:
    """The EVENT kind a resource is marked with (a coding of :data:`EVENT_KIND`), if any."""
    for where, concept in _concepts(resource, path):
        for system, code, _coding in codings(concept, where):
            if system == EVENT_KIND:
                return str(code)
    return None


def _words(resource: dict[str, Any], path: str) -> str:
    """The words an EHR put in an administration's category and method, lower case."""
    concepts = _concepts(resource, path)
    where = f"{path}.dosage.method"
    method = element(element(resource.get("dosage"), f"{path}.dosage").get("method"), where)
    concepts.append((where, method))
    parts = []
    for where, concept in concepts:
        parts.append(str(concept.get("text", "")))
        for _system, code, coding in codings(concept, where):
            parts += [str(coding.get("display", "")), str(code or "")]
    return " ".join(parts).lower()


def _strength(ratio: Any, path: str) -> Quantity:
    """An ingredient strength: a mass per volume (a solution, ``1 mg`` per ``1 mL``) or per one
    unit of presentation (``10 mg`` per ``1 tablet``)."""
    if not isinstance(ratio, dict):
        raise InputError(path, "must be a Ratio with a numerator and a denominator")
    mass = fhir_quantity(ratio.get("numerator"), f"{path}.numerator", MASS)
    per = element(ratio.get("denominator"), f"{path}.denominator")
    unit = str(per.get("code") or per.get("unit") or "")
    if unit.lower() in ("ml", "l"):
        volume = fhir_quantity(per, f"{path}.denominator", VOLUME)
        return Quantity.of(mass.in_("mg") / volume.in_("mL"), "mg/mL")
    if fhir_number(per.get("value", 1), f"{path}.denominator.value") != 1:
        raise InputError(f"{path}.denominator", "must be a volume or one unit (1 tablet)")
    return mass


def _form_and_strength(medication: dict[str, Any], path: str) -> tuple[str | None, Quantity | None]:
    form = None
    for system, code, _coding in codings(medication.get("form"), f"{path}.form"):
        if system == FORM_SYSTEM and code in FORMS:
            form = code
    strength = None
    for i, ingredient in enumerate(elements(medication.get("ingredient"), f"{path}.ingredient")):
        if "strength" in ingredient:
            strength = _strength(ingredient["strength"], f"{path}.ingredient[{i}].strength")
    return form, strength


def _ordered(
    resource: dict[str, Any], pack: Pack, medications: Medications | None, path: str
) -> tuple[str | None, Quantity | None, str | None]:
    """The form, strength and route of what is ordered: from the Medication's ``form`` and
    ``ingredient.strength`` where it gives them, else from the product code among the codings
    (``baclofen-codes.json``). A Medication and a product code of different strengths are
    refused; the route is None when only the ingredient is coded."""
    found = medicine_of(resource, medications, path)
    if found is None or found.medicine != pack.medicine:
        raise InputError(f"{path}.medicationCodeableConcept", f"is not {pack.medicine}")
    form, strength = _form_and_strength(
        _medication(resource, medications, path), f"{path}.medication"
    )
    product = found.product
    if product is None:
        return form, strength, None
    same = (
        strength is None
        or product.strength is None
        or (strength.dim == product.strength.dim and strength.base == product.strength.base)
    )
    if not same and strength is not None and product.strength is not None:
        raise InputError(
            f"{path}.medication.ingredient",
            f"gives the strength {strength.text()} but the product coded ({product.name}) is "
            f"{product.strength.text()}",
        )
    return form or product.form, strength or product.strength, product.route


def _oral_dose(
    value: Any, path: str, form: str | None, strength: Quantity | None, pack: Pack
) -> Quantity:
    """An oral dose as a mass: given as one, or as a number of tablets (``4 TAB``, ``{tbl}``)
    times the tablet's strength, or as millilitres times a solution's concentration. A count of
    tablets without a known tablet strength is refused: the strength is never guessed."""
    quantity = element(value, path)
    unit = str(quantity.get("code") or quantity.get("unit") or "")
    codes = codes_of(pack.medicine)
    if codes is not None and codes.counts_tablets(unit):
        count = fhir_number(quantity.get("value"), f"{path}.value")
        if count <= 0:
            raise InputError(f"{path}.value", "must be a number of tablets above 0")
        if strength is None or strength.dim != MASS or form not in (None, "tablet"):
            raise InputError(
                path,
                f"is {_decimal_text(count)} {unit} but the tablet's strength is unknown: the "
                f"medication names {pack.medicine} without a product; code the product (e.g. "
                "its RxNorm clinical drug) or give the Medication's ingredient strength per "
                "tablet",
            )
        return (strength * count).to("mg")
    if unit.lower() in ("ml", "l") and strength is not None and strength.dim == CONCENTRATION:
        return (fhir_quantity(value, path, VOLUME) * strength).to("mg")
    return fhir_quantity(value, path, MASS)


def events_from_medication_request(
    resource: dict[str, Any],
    pack: Pack,
    path: str = "MedicationRequest",
    medications: Medications | None = None,
    default_start: str | None = None,
) -> list[dict[str, Any]]:
    """The EVENTs a MedicationRequest of the pack's medicine orders: oral regimens and
    intrathecal infusions. A dosage with no start and an order with no ``authoredOn`` start at
    ``default_start`` when one is given (a CDS hook's draft order: when it is signed)."""
    if resource.get("resourceType") != "MedicationRequest":
        raise InputError(f"{path}.resourceType", "must be MedicationRequest")
    form, strength, product_route = _ordered(resource, pack, medications, path)
    marked = marked_kind(resource, path)
    if marked not in (None, "oral-regimen", "it-infusion"):
        raise InputError(f"{path}.category", f"{marked!r} is not a kind a MedicationRequest orders")
    events: list[dict[str, Any]] = []
    by_sequence: dict[tuple[Any, str], dict[str, Any]] = {}
    dosages = elements(resource.get("dosageInstruction"), f"{path}.dosageInstruction")
    for i, dosage in enumerate(dosages):
        dpath = f"{path}.dosageInstruction[{i}]"
        route = _route(dosage, dpath, product_route)
        if marked is not None and marked != ("oral-regimen" if route == "oral" else "it-infusion"):
            raise InputError(
                f"{dpath}.route", f"does not fit the kind {marked!r} it is marked with"
            )
        timing = element(dosage.get("timing"), f"{dpath}.timing")
        repeat = element(timing.get("repeat"), f"{dpath}.timing.repeat")
        start = _start(repeat, dpath, resource, path, default_start)
        if route == "intrathecal":
            events.append(_infusion(dosage, dpath, start))
            continue
        rates = elements(dosage.get("doseAndRate"), f"{dpath}.doseAndRate")
        dose_q = rates[0].get("doseQuantity") if rates else dosage.get("doseQuantity")  # STU3 shape
        if dose_q is None:
            raise InputError(
                f"{dpath}.doseAndRate[0].doseQuantity", "missing; an oral dose needs a mass"
            )
        dose = _oral_dose(dose_q, f"{dpath}.doseAndRate[0].doseQuantity", form, strength, pack)
        rpath = f"{dpath}.timing.repeat"
        clocks = [t[:5] for t in _strings(repeat.get("timeOfDay"), f"{rpath}.timeOfDay")]
        meal_codes = _strings(repeat.get("when"), f"{rpath}.when")
        if not clocks and meal_codes:
            meals = _meal_clocks(pack)
            if all(code in meals for code in meal_codes):
                clocks = [meals[code] for code in meal_codes]
        count = len(clocks) or _times_per_day(repeat, dpath)
        sequence = dosage.get("sequence")
        key = (i if sequence is None else fhir_number(sequence, f"{dpath}.sequence"), start)
        if key in by_sequence:  # unequal doses of one day share a sequence: one regimen
            regimen = by_sequence[key]
            regimen["_parts"].extend([(c, dose) for c in clocks] or [("", dose)] * count)
            continue
        regimen = {
            "at": start,
            "kind": "oral-regimen",
            "_parts": [(c, dose) for c in clocks] or [("", dose)] * count,
        }
        if form is not None:
            regimen["form"] = form
        if strength is not None:
            regimen["strength"] = strength.code()
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
    return _of_medicine(_in_time_order(events, f"{path}.dosageInstruction"), pack)


def _in_time_order(events: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The events by their instants (each read already by :func:`_when`); instants with a time
    zone and without one cannot be put in one order, so the mix is refused."""
    instants = [F.instant(e["at"], path) for e in events]
    if len({at.tzinfo is None for at in instants}) > 1:
        raise InputError(
            path, "mixes instants with a time zone and without one; give every instant a zone"
        )
    order = sorted(range(len(events)), key=instants.__getitem__)
    return [events[n] for n in order]


def _infusion(dosage: dict[str, Any], dpath: str, start: str) -> dict[str, Any]:
    """A continuous intrathecal infusion: ``rateQuantity`` (a mass rate) or ``rateRatio`` (a
    mass per time), and its 24-hour profile when the schedule extension gives one."""
    rates = elements(dosage.get("doseAndRate"), f"{dpath}.doseAndRate") or [dosage]
    rate_q, rate_r = rates[0].get("rateQuantity"), rates[0].get("rateRatio")
    where = f"{dpath}.doseAndRate[0]"
    if rate_q is not None:
        daily = fhir_quantity(rate_q, f"{where}.rateQuantity", MASS_RATE)
    elif rate_r is not None:
        mass, time = _ratio(rate_r, f"{where}.rateRatio", MASS, TIME)
        daily = Quantity.of(mass.in_("ug") / time.in_("d"), "ug/d")
    else:
        raise InputError(f"{where}.rateQuantity", "missing; an infusion needs a daily rate in ug/d")
    event: dict[str, Any] = {"at": start, "kind": "it-infusion", "daily_dose": daily.code()}
    segments = [
        e
        for e in elements(dosage.get("extension"), f"{dpath}.extension")
        if e.get("url") == SCHEDULE_URL
    ]
    if segments:
        schedule = []
        for n, segment in enumerate(segments):
            spath = f"{dpath}.extension[{n}]"
            start_ext = _extension(segment, "start", spath) or {}
            rate_ext = _extension(segment, "dailyRate", spath) or {}
            schedule.append(
                {
                    "start": str(start_ext.get("valueTime", ""))[:5],
                    "daily_rate": fhir_quantity(
                        rate_ext.get("valueQuantity"), f"{spath}.dailyRate", MASS_RATE
                    ).code(),
                }
            )
        event["schedule"] = schedule
    return event


def _concentration(
    resource: dict[str, Any], medications: Medications | None, path: str
) -> Quantity | None:
    """A refill's concentration: the Medication's ingredient strength (mass per volume), else
    the one concentration ``dosage.text`` spells (two different ones are refused)."""
    _form, strength = _form_and_strength(
        _medication(resource, medications, path), f"{path}.medication"
    )
    if strength is None:  # the concentration of the product coded, if one is
        named = medicine_of(resource, medications, path)
        strength = named.product.strength if named and named.product else None
    if strength is not None and strength.dim == CONCENTRATION:
        return strength
    text = str(element(resource.get("dosage"), f"{path}.dosage").get("text") or "")
    found = {
        parse_quantity(f"{m[0]} {m[1].replace('µg', 'ug')}/mL", field=f"{path}.dosage.text")
        for m in _CONCENTRATION_TEXT.findall(text)
    }
    if len(found) > 1:
        raise InputError(f"{path}.dosage.text", "names more than one concentration; give one")
    return next(iter(found), None)


def _volume_or_none(value: Any, path: str) -> int | Decimal:
    """A volume in mL that may be zero (a reservoir withdrawn empty): its unit must be a
    volume's, its value not negative."""
    if isinstance(value, dict) and "value" in value and fhir_number(value["value"], path) == 0:
        fhir_quantity({**value, "value": 1}, path, VOLUME)  # the unit must still be a volume's
        return 0
    return _json_number(fhir_quantity(value, path, VOLUME).in_("mL"))


def _witness(resource: dict[str, Any], path: str) -> Any:
    """The name of the performer who witnessed (second-checked) an administration, if any."""
    where = f"{path}.performer"
    for i, performer in enumerate(elements(resource.get("performer"), where)):
        found = codings(performer.get("function"), f"{where}[{i}].function")
        if any(system == PERFORMER_FUNCTION and code == "witness" for system, code, _ in found):
            return element(performer.get("actor"), f"{where}[{i}].actor").get("display")
    return None


def _administration_kind(resource: dict[str, Any], dose: Quantity, path: str) -> str:
    """Refill or test dose, as the resource says; an unmarked mass bolus without a device is a
    test dose; anything else unmarked is refused rather than guessed."""
    marked = marked_kind(resource, path)
    if marked is not None:
        if marked not in ("pump-refill", "it-test-dose"):
            raise InputError(f"{path}.category", f"{marked!r} is not an administration")
        return marked
    words = _words(resource, path)
    refill = "refill" in words
    test = "test" in words or "screening" in words
    if refill and not test:
        return "pump-refill"
    if test and not refill:
        return "it-test-dose"
    if not refill and dose.dim == MASS and not resource.get("device"):
        return "it-test-dose"
    raise InputError(
        f"{path}.category",
        "does not say whether this intrathecal administration is a pump refill or a test dose; "
        f"code it as pump-refill or it-test-dose in {EVENT_KIND}",
    )


def events_from_medication_administration(
    resource: dict[str, Any],
    pack: Pack,
    path: str = "MedicationAdministration",
    medications: Medications | None = None,
) -> list[dict[str, Any]]:
    """An intrathecal baclofen administration: a pump refill or a screening test dose."""
    if resource.get("resourceType") != "MedicationAdministration":
        raise InputError(f"{path}.resourceType", "must be MedicationAdministration")
    named = medicine_of(resource, medications, path)
    if named is None or named.medicine != pack.medicine:
        raise InputError(f"{path}.medicationCodeableConcept", f"is not {pack.medicine}")
    dosage = element(resource.get("dosage"), f"{path}.dosage")
    product_route = named.product.route if named.product is not None else None
    if _route(dosage, f"{path}.dosage", product_route) != "intrathecal":
        raise InputError(
            f"{path}.dosage.route",
            "only intrathecal refills and test doses are read from administrations",
        )
    at_raw = resource.get("effectiveDateTime") or _period(resource, "effectivePeriod", path).get(
        "start"
    )
    at = _when(at_raw, resource, f"{path}.effectiveDateTime", path)
    dpath = f"{path}.dosage.dose"
    dose = fhir_quantity(dosage.get("dose"), dpath, MASS, VOLUME)
    kind = _administration_kind(resource, dose, path)
    concentration = _concentration(resource, medications, path)
    if kind == "pump-refill":
        if concentration is None:
            raise InputError(
                f"{path}.medicationReference",
                "a refill needs its concentration: the Medication's ingredient strength "
                '(e.g. 500 ug per 1 mL) or dosage.text "500 ug/mL"',
            )
        volume = dose if dose.dim == VOLUME else (dose / concentration).to("mL")
        event: dict[str, Any] = {
            "at": at,
            "kind": kind,
            "concentration": concentration.code(),
            "volume_ml": _json_number(volume.in_("mL")),
        }
        alarm = _extension(resource, ALARM_URL, path)
        if alarm is not None:
            q = fhir_quantity(alarm.get("valueQuantity"), f"{path}.extension.alarm", VOLUME)
            event["alarm_ml"] = _json_number(q.in_("mL"))
        for url, key in ((RESIDUAL_URL, "residual_ml"), (BRIDGE_VOLUME_URL, "bridge_volume_ml")):
            found = _extension(resource, url, path)
            if found is not None:
                event[key] = _volume_or_none(found.get("valueQuantity"), f"{path}.extension.{key}")
        medication = _medication(resource, medications, path)
        lot = element(medication.get("batch"), f"{path}.medication.batch").get("lotNumber")
        if lot is not None:
            event["lot"] = lot
        witness = _witness(resource, path)
        if witness is not None:
            event["checked_by"] = witness
        return _of_medicine([event], pack)
    if dose.dim == VOLUME:
        if concentration is None:
            raise InputError(dpath, "is a volume; give the concentration or the dose in ug")
        dose = (dose * concentration).to("ug")
    test: dict[str, Any] = {"at": at, "kind": kind, "dose": dose.code()}
    response = _extension(resource, RESPONSE_URL, path)
    if response is not None:
        rpath = f"{path}.extension.response"
        effect = (_extension(response, "effect", rpath) or {}).get("valueBoolean")
        out: dict[str, Any] = {"effect": effect}
        duration = _extension(response, "duration", rpath)
        if duration is not None:
            hours = fhir_quantity(duration.get("valueQuantity"), f"{path}.extension.duration", TIME)
            out["duration_h"] = _json_number(hours.in_("h"))
        test["response"] = out
    return _of_medicine([test], pack)


def _json_number(value: Fraction) -> int | Decimal:
    """An exact number for an EVENT document (a volume of a non-terminating division is given
    to the microlitre)."""
    if value.denominator == 1:
        return int(value)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact if Fraction(exact) == value else exact.quantize(Decimal("0.001"))


def _route_of_statement(resource: dict[str, Any], path: str) -> str:
    for i, dosage in enumerate(elements(resource.get("dosage"), f"{path}.dosage")):
        return _route(dosage, f"{path}.dosage[{i}]")
    raise InputError(f"{path}.dosage", "missing; the route that was stopped")


def _period(resource: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """A Period of the resource (``effectivePeriod``, ``performedPeriod``): ``{}`` if absent."""
    return element(resource.get(key), f"{path}.{key}")


def events_from_resource(
    resource: dict[str, Any], pack: Pack, path: str, medications: Medications | None = None
) -> list[dict[str, Any]]:
    """The EVENTs of one resource of a patient's record; ``[]`` for a resource that records
    none (another drug, an unmarked Observation, Procedure or Task)."""
    kind = resource.get("resourceType")
    if kind == "MedicationRequest":
        if not is_medicine(resource, pack.medicine, medications, path):
            return []
        return events_from_medication_request(resource, pack, path, medications)
    if kind == "MedicationAdministration":
        if not is_medicine(resource, pack.medicine, medications, path):
            return []
        return events_from_medication_administration(resource, pack, path, medications)
    marked = marked_kind(resource, path)
    if kind == "MedicationStatement":
        stopped = resource.get("status") == "stopped"
        if not stopped or not is_medicine(resource, pack.medicine, medications, path):
            return []
        route = _route_of_statement(resource, path)
        at = resource.get("effectiveDateTime") or _period(resource, "effectivePeriod", path).get(
            "end"
        )
        stop = "oral-stop" if route == "oral" else "it-stop"
        if marked not in (None, stop):
            raise InputError(f"{path}.category", f"does not fit the {route} route")
        stopped_at = _when(at, resource, f"{path}.effectiveDateTime", path)
        return _of_medicine([{"at": stopped_at, "kind": stop}], pack)
    if kind == "Procedure" and marked == "pump-implant":
        at = resource.get("performedDateTime") or _period(resource, "performedPeriod", path).get(
            "start"
        )
        return [{"at": _when(at, resource, f"{path}.performedDateTime", path), "kind": marked}]
    if kind == "Observation" and marked == "it-stable":
        at = resource.get("effectiveDateTime")
        return [{"at": _when(at, resource, f"{path}.effectiveDateTime", path), "kind": marked}]
    if kind == "Task" and marked == "review":
        at = _period(resource, "executionPeriod", path).get("start")
        return [
            {
                "at": _when(at, resource, f"{path}.executionPeriod.start", path),
                "kind": marked,
                "note": resource.get("description"),
            }
        ]
    return []


def history_from_bundle(bundle: dict[str, Any], pack: Pack) -> list[dict[str, Any]]:
    """The EVENT documents of a Bundle of a patient's record (as ``fhir_out.history_bundle``
    writes one), in the order of the bundle."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError("Bundle.resourceType", "must be Bundle")
    entries = elements(bundle.get("entry"), "Bundle.entry")
    medications: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        resource = element(entry.get("resource"), f"Bundle.entry[{i}].resource")
        if resource.get("resourceType") == "Medication":
            if entry.get("fullUrl"):
                medications[str(entry["fullUrl"])] = resource
            medications[f"Medication/{resource.get('id')}"] = resource
    events: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        if entry.get("resource") is not None:
            events += events_from_resource(
                entry["resource"], pack, f"Bundle.entry[{i}].resource", medications
            )
    return events


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
    born = primitive(patient.get("birthDate"), "Patient.birthDate")
    if not born:
        raise InputError("Patient.birthDate", "missing; the age decides which rules apply")
    out["birth_date"] = born[:10]
    latest: dict[str, tuple[str, Quantity]] = {}
    grams_per = {"kg": Fraction(1000), "g": Fraction(1), "[lb_av]": Fraction("453.59237")}
    for i, obs in enumerate(observations):
        codes = {code for _system, code, _ in codings(obs.get("code"), f"Observation[{i}].code")}
        when = str(obs.get("effectiveDateTime") or "")
        opath = f"Observation[{i}].valueQuantity"
        if codes & WEIGHT_CODES:
            value = element(obs.get("valueQuantity"), opath)
            grams = grams_per.get(_code_text(value, opath))
            if grams is None:
                raise InputError(opath, "a body weight in kg, g or [lb_av] is due")
            kilograms = fhir_number(value.get("value"), f"{opath}.value") * grams / 1000
            kind, q = "weight", Quantity.of(round(kilograms, 3), "kg")
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
