"""A CDS Hooks 2.0 service for baclofen orders (https://cds-hooks.hl7.org/2.0/).

`order-select` gets the light checks (findings of warning and above), `order-sign` all of them.
The draft orders (a Bundle of MedicationRequest) are read with the FHIR reader, the patient and
their history from the prefetch; each finding becomes one card whose detail quotes the source,
and where a safer dose is computable (above the maximum: the maximum; a step too large: the
largest allowed step) the card suggests it as an `update` of the draft order.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from ..errors import CdsError, InputError
from ..knowledge import Pack
from ..model.documents import parse_event, parse_patient, sort_history
from ..model.events import Event, ItInfusion, OralRegimen
from ..model.finding import Finding
from ..rules import check
from ..rules.context import build_context
from ..rules.limits import programmed, step_limit
from .fhir_in import (
    codings,
    element,
    elements,
    events_from_medication_administration,
    events_from_medication_request,
    is_baclofen,
    patient_from_fhir,
)

SERVICES = {
    "baclofen-order-select": "order-select",
    "baclofen-order-sign": "order-sign",
}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "administrations": "MedicationAdministration?patient={{context.patientId}}",
    "weight": "Observation?patient={{context.patientId}}&code=http://loinc.org|29463-7&_sort=-date&_count=1",
    "clearance": "Observation?patient={{context.patientId}}&code=http://loinc.org|2164-2&_sort=-date&_count=1",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
}
# SNOMED CT concepts of the indication's diagnoses (vocabulary, not clinical numbers).
DIAGNOSES = {
    "24700007": "multiple-sclerosis",
    "90584004": "spinal-cord-injury",
    "230690007": "stroke",
    "128188000": "cerebral-palsy",
    "127295002": "traumatic-brain-injury",
    "7180009": "meningitis",
    "16523009": "transverse-myelitis",
    "111496009": "syringomyelia",
    "37340000": "motor-neurone-disease",
}
INDICATOR = {"info": "info", "warning": "warning", "error": "critical", "critical": "critical"}
OVERRIDE_SYSTEM = "https://posology.example/cds-hooks/override-reason"
OVERRIDE_REASONS = [
    {
        "code": "clinical-judgement",
        "system": OVERRIDE_SYSTEM,
        "display": "Clinically appropriate for this patient",
    },
    {
        "code": "inpatient-supervision",
        "system": OVERRIDE_SYSTEM,
        "display": "In hospital under close supervision",
    },
    {"code": "data-wrong", "system": OVERRIDE_SYSTEM, "display": "The recorded data are wrong"},
]


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": hook,
                "id": sid,
                "title": f"Baclofen dosing checks ({hook})",
                "description": "Checks baclofen orders against cited label rules, with safer "
                "doses where they can be computed. Supports clinical judgement; does not "
                "replace it.",
                "prefetch": PREFETCH,
            }
            for sid, hook in SERVICES.items()
        ]
    }


def _entries(bundle: Any, name: str) -> list[dict[str, Any]]:
    """The resources of a prefetched or draft Bundle (none when it was not sent)."""
    if bundle is None:
        return []
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CdsError(400, f"{name} must be a FHIR Bundle")
    resources: list[dict[str, Any]] = []
    for i, entry in enumerate(elements(bundle.get("entry"), f"{name}.entry")):
        if entry.get("resource") is not None:
            resources.append(element(entry["resource"], f"{name}.entry[{i}].resource"))
    return resources


def _diagnosis(conditions: list[dict[str, Any]]) -> str:
    for i, condition in enumerate(conditions):
        where = f"prefetch.conditions[{i}].code"
        for _system, code, _coding in codings(condition.get("code"), where):
            if code in DIAGNOSES:
                return DIAGNOSES[code]
    return "other"


def answer(service_id: str, request: Any, pack: Pack) -> dict[str, Any]:
    """The cards for one hook call (raises :class:`CdsError` for a call it cannot answer: a
    request the FHIR reader or the engine refuses is a 400 naming the field, never a 500)."""
    if service_id not in SERVICES:
        raise CdsError(404, f"no CDS service {service_id!r}")
    if not isinstance(request, dict) or request.get("hook") != SERVICES[service_id]:
        raise CdsError(400, f"this service answers the {SERVICES[service_id]} hook")
    try:
        return _cards(service_id, request, pack)
    except InputError as exc:
        raise CdsError(400, f"{exc.field}: {exc.message}") from None


def _cards(service_id: str, request: dict[str, Any], pack: Pack) -> dict[str, Any]:
    context = element(request.get("context"), "context")
    prefetch = element(request.get("prefetch"), "prefetch")
    if prefetch.get("patient") is None:
        raise CdsError(
            412, "prefetch 'patient' is missing; this service does not query the FHIR server"
        )
    patient_resource = element(prefetch["patient"], "prefetch.patient")
    observations = _entries(prefetch.get("weight"), "prefetch.weight") + _entries(
        prefetch.get("clearance"), "prefetch.clearance"
    )
    patient_doc = patient_from_fhir(
        patient_resource,
        observations,
        _diagnosis(_entries(prefetch.get("conditions"), "prefetch.conditions")),
    )
    patient = parse_patient(patient_doc)
    history: list[Event] = []
    for i, mr in enumerate(_entries(prefetch.get("medications"), "prefetch.medications")):
        where = f"prefetch.medications[{i}]"
        if is_baclofen(mr, path=where) and mr.get("status", "active") == "active":
            history += [
                parse_event(e, f"medications[{i}]")
                for e in events_from_medication_request(mr, pack, where)
            ]
    for i, ma in enumerate(_entries(prefetch.get("administrations"), "prefetch.administrations")):
        where = f"prefetch.administrations[{i}]"
        if is_baclofen(ma, path=where):
            history += [
                parse_event(e, f"administrations[{i}]")
                for e in events_from_medication_administration(ma, pack, where)
            ]
    drafts = [
        mr
        for n, mr in enumerate(_entries(context.get("draftOrders"), "context.draftOrders"))
        if is_baclofen(mr, path=f"context.draftOrders.entry[{n}].resource")
    ]
    light = SERVICES[service_id] == "order-select"
    cards: list[dict[str, Any]] = []
    past = list(sort_history([(f"h{i}", e) for i, e in enumerate(history)]))
    for d, draft in enumerate(drafts):
        try:
            proposals = [
                parse_event(e, f"draft[{d}]")
                for e in events_from_medication_request(
                    draft, pack, f"context.draftOrders.entry[{d}]"
                )
            ]
        except InputError as exc:
            cards.append(_input_card(request, draft, exc))
            continue
        for proposal in proposals:
            findings = check(patient, past, proposal, pack)
            for finding in findings:
                if light and finding.severity.value == "info":
                    continue
                suggestion = _suggestion(finding, proposal, draft, patient, past, pack)
                cards.append(_card(request, draft, finding, suggestion))
            past.append(proposal)
    return {"cards": cards}


def _card(
    request: dict[str, Any],
    draft: dict[str, Any],
    finding: Finding,
    suggestion: dict[str, Any] | None,
) -> dict[str, Any]:
    summary = f"{finding.rule}: {finding.message}"
    if len(summary) > 140:
        summary = summary[:139].rstrip() + "…"
    key = f"{request.get('hookInstance')}|{draft.get('id')}|{finding.rule}|{finding.message}"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "summary": summary,
        "indicator": INDICATOR[finding.severity.value],
        "detail": f"{finding.message}\n\n> {finding.citation.quote}\n\n— {finding.citation.source} "
        f"({finding.citation.evidence})",
        "source": {
            "label": f"Posology {finding.rule}",
            **({"url": finding.citation.url} if finding.citation.url else {}),
        },
    }
    if finding.severity.value in ("error", "critical"):
        card["overrideReasons"] = OVERRIDE_REASONS
    if suggestion is not None:
        card["suggestions"] = [suggestion]
        card["selectionBehavior"] = "at-most-one"
    return card


def _input_card(request: dict[str, Any], draft: dict[str, Any], exc: InputError) -> dict[str, Any]:
    key = f"{request.get('hookInstance')}|{draft.get('id')}|input|{exc}"
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "indicator": "warning",
        "summary": f"Baclofen order not checked: {exc.field}"[:140],
        "detail": f"The order could not be read: **{exc.field}**: {exc.message}. "
        "Nothing was assumed.",
        "source": {"label": "Posology FHIR reader"},
    }


def _suggestion(
    finding: Finding,
    proposal: Event,
    draft: dict[str, Any],
    patient: Any,
    past: list[Event],
    pack: Pack,
) -> dict[str, Any] | None:
    """A safer dose where one is computable, as an update of the draft order."""
    if finding.rule not in ("PO-MAX", "IT-TITR-STEP", "IT-CHRONIC-STEP"):
        return None
    resource = copy.deepcopy(draft)
    dosages = resource.get("dosageInstruction") or []
    if not dosages:
        return None
    if (
        finding.rule == "PO-MAX"
        and isinstance(proposal, OralRegimen)
        and finding.severity.value == "error"
    ):
        from ..planning.doses import dose_step, split_daily

        limit = pack.rule("PO-MAX").quantity("max_daily_outpatient")
        doses = split_daily(limit, len(proposal.doses), dose_step(pack, proposal.form or "tablet"))
        if doses is None:
            return None
        each = min(doses)  # one dose size for the order: the smallest of the even split
        label = f"{each.text()} {len(doses)} times a day"
        _set_dose(
            dosages[0],
            {
                "value": float(each.in_("mg")),
                "unit": "mg",
                "system": "http://unitsofmeasure.org",
                "code": "mg",
            },
            "doseQuantity",
        )
    elif finding.rule in ("IT-TITR-STEP", "IT-CHRONIC-STEP") and isinstance(proposal, ItInfusion):
        ctx = build_context(patient, tuple(past), proposal, pack)
        if ctx.infusion_active is None:
            return None
        largest, _ = step_limit(pack, ctx.origin, ctx.maintenance)
        highest = programmed(pack, ctx.infusion_active.daily_dose * (1 + largest))
        label = f"{highest.text()} (the largest step allowed)"
        _set_dose(
            dosages[0],
            {
                "value": float(highest.in_("ug/d")),
                "unit": "ug/d",
                "system": "http://unitsofmeasure.org",
                "code": "ug/d",
            },
            "rateQuantity",
        )
    else:
        return None
    return {
        "label": f"Change the order to {label}",
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": [
            {"type": "update", "description": f"Change the dose to {label}", "resource": resource}
        ],
    }


def _set_dose(dosage: dict[str, Any], quantity: dict[str, Any], kind: str) -> None:
    rates = dosage.get("doseAndRate")
    if rates:
        rates[0].pop("doseQuantity", None)
        rates[0].pop("rateQuantity", None)
        rates[0][kind] = quantity
    else:
        dosage.pop("doseQuantity", None)
        dosage.pop("rateQuantity", None)
        dosage["doseAndRate"] = [{kind: quantity}]
