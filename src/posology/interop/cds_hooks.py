"""A CDS Hooks 2.0 service for baclofen orders (https://cds-hooks.hl7.org/2.0/).

`order-select` gets the light checks (findings of warning and above), `order-sign` all of them.
The draft orders (a Bundle of MedicationRequest) are read with the FHIR reader, the patient and
their history from the prefetch, or, for what the prefetch leaves out, from the EHR's
``fhirServer`` with its ``fhirAuthorization`` token (:mod:`posology.interop.cds_fetch`); each
finding becomes one card whose detail quotes the source, and where a safer dose is computable
(above the maximum: the maximum; a step too large: the largest allowed step) the card suggests
it as an `update` of the draft order.

Every card about a draft order links to Posology's SMART launch (a link of type ``smart``, when
``POSOLOGY_PUBLIC_URL`` is set) with an ``appContext`` naming the order, so the clinician who
opens it lands on that order's findings. Medications are recognised by the codes of the packs'
codes files (RxNorm ingredient and products, ATC, SNOMED CT), and each draft order is judged by
the pack of its own medicine (in the profile of the server's or the clinic's pack), against that
medicine's prefetched history: a draft order of a medicine no pack doses gets no card. A draft
without a start starts when it was written, else now (when it is signed).
"""

from __future__ import annotations

import copy
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from ..errors import CdsError, InputError
from ..knowledge import Pack
from ..model.documents import parse_event, parse_patient, sort_history
from ..model.events import Event, ItInfusion, OralRegimen
from ..model.finding import Finding
from ..rules import check
from ..rules.context import build_context
from ..rules.limits import programmed, step_limit
from .cds_fetch import complete, medications_of
from .diagnoses import DIAGNOSES
from .fhir_in import (
    Medications,
    codings,
    element,
    elements,
    events_from_medication_administration,
    events_from_medication_request,
    is_medicine,
    medicine_of,
    patient_from_fhir,
)
from .smart import app_context_for

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


def launch_url() -> str | None:
    """Posology's SMART launch address, for the cards' links (None: no public URL is set)."""
    public = os.environ.get("POSOLOGY_PUBLIC_URL", "").strip().rstrip("/")
    return f"{public}/smart/launch" if public else None


def answer(
    service_id: str,
    request: Any,
    pack: Pack,
    now: datetime | None = None,
    launch: str | None = None,
    fhir_servers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The cards for one hook call (raises :class:`CdsError` for a call it cannot answer: a
    request the FHIR reader or the engine refuses is a 400 naming the field, never a 500).
    ``now`` is when the hook is called (a draft order without a start starts then); ``launch``
    the SMART launch URL of the cards' links (default: from ``POSOLOGY_PUBLIC_URL``);
    ``fhir_servers`` the FHIR servers of the calling EHR the call's ``fhirServer`` may be."""
    if service_id not in SERVICES:
        raise CdsError(404, f"no CDS service {service_id!r}")
    if not isinstance(request, dict) or request.get("hook") != SERVICES[service_id]:
        raise CdsError(400, f"this service answers the {SERVICES[service_id]} hook")
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    try:
        return _cards(service_id, request, pack, at, launch or launch_url(), fhir_servers)
    except InputError as exc:
        raise CdsError(400, f"{exc.field}: {exc.message}") from None


def _cards(
    service_id: str,
    request: dict[str, Any],
    pack: Pack,
    now: str,
    launch: str | None,
    fhir_servers: tuple[str, ...],
) -> dict[str, Any]:
    context = element(request.get("context"), "context")
    prefetch = element(request.get("prefetch"), "prefetch")
    done = complete(request, context, prefetch, fhir_servers)
    prefetch = done.prefetch
    draft_bundle = context.get("draftOrders")
    draft_resources = _entries(draft_bundle, "context.draftOrders")
    orders = _entries(prefetch.get("medications"), "prefetch.medications")
    given = _entries(prefetch.get("administrations"), "prefetch.administrations")
    medications_of(
        done,
        [draft_bundle, *(prefetch.get(k) for k in ("medications", "administrations"))],
        [r for r in draft_resources + orders + given if r.get("resourceType") != "Medication"],
    )
    meds = done.medications
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
    drafted = {str(d.get("id")) for d in draft_resources if d.get("id")}
    histories = {pack.medicine: _history(pack, orders, given, drafted, meds)}
    # each draft is judged by the pack of its own medicine (the server's, or another medicine's
    # pack in the same profile); a medicine no pack doses gets no card
    drafts: list[tuple[dict[str, Any], Pack]] = []
    for n, mr in enumerate(draft_resources):
        if mr.get("resourceType") != "MedicationRequest":
            continue
        named = medicine_of(mr, meds, f"context.draftOrders.entry[{n}].resource")
        own = None if named is None else _pack_for(pack, named.medicine)
        if own is not None:
            drafts.append((mr, own))
            if own.medicine not in histories:
                histories[own.medicine] = _history(own, orders, given, drafted, meds)
    light = SERVICES[service_id] == "order-select"
    cards: list[dict[str, Any]] = []
    if done.unread:
        cards.append(_unread_card(request, done.unread, pack))
    pasts = {
        medicine: list(sort_history([(f"h{i}", e) for i, e in enumerate(history)]))
        for medicine, history in histories.items()
    }
    for d, (draft, own) in enumerate(drafts):
        past = pasts[own.medicine]
        try:
            proposals = [
                parse_event(e, f"draft[{d}]")
                for e in events_from_medication_request(
                    draft, own, f"context.draftOrders.entry[{d}]", meds, default_start=now
                )
            ]
        except InputError as exc:
            cards.append(_linked(_input_card(request, draft, exc, own), draft, launch))
            continue
        for proposal in proposals:
            findings = check(patient, past, proposal, own)
            for finding in findings:
                if light and finding.severity.value == "info":
                    continue
                suggestion = _suggestion(finding, proposal, draft, patient, past, own)
                cards.append(
                    _linked(_card(request, draft, finding, suggestion, own), draft, launch)
                )
            past.append(proposal)
    return {"cards": cards}


def _pack_for(pack: Pack, medicine: str) -> Pack | None:
    """The pack that judges an order of ``medicine`` where ``pack`` judges its own: ``pack``
    itself, or that medicine's pack in the same profile (its default where it has none); None
    for a medicine that has codes but no pack."""
    if medicine == pack.medicine:
        return pack
    from ..knowledge import shipped_profiles
    from ..services.clinic import pack_for_medicine

    return pack_for_medicine(pack, medicine) if medicine in shipped_profiles() else None


def _history(
    pack: Pack,
    orders: list[dict[str, Any]],
    given: list[dict[str, Any]],
    drafted: set[str],
    meds: Medications,
) -> list[Event]:
    """The prefetched events of the pack's medicine: its active orders (not the drafts as the
    server holds them) and its administrations."""
    history: list[Event] = []
    for i, mr in enumerate(orders):
        where = f"prefetch.medications[{i}]"
        if mr.get("resourceType") != "MedicationRequest" or str(mr.get("id")) in drafted:
            continue  # a Medication of the search, or the draft itself as the server holds it
        if mr.get("status", "active") == "active" and is_medicine(mr, pack.medicine, meds, where):
            history += [
                parse_event(e, f"medications[{i}]")
                for e in events_from_medication_request(mr, pack, where, meds)
            ]
    for i, ma in enumerate(given):
        where = f"prefetch.administrations[{i}]"
        if ma.get("resourceType") != "MedicationAdministration":
            continue
        if is_medicine(ma, pack.medicine, meds, where):
            history += [
                parse_event(e, f"administrations[{i}]")
                for e in events_from_medication_administration(ma, pack, where, meds)
            ]
    return history


def _linked(card: dict[str, Any], draft: dict[str, Any], launch: str | None) -> dict[str, Any]:
    """The card with a link of type ``smart`` to Posology's launch, its ``appContext`` naming
    the draft order (the EHR adds ``iss`` and ``launch`` and passes the app context on in the
    token answer, CDS Hooks 2.0 and SMART App Launch 2)."""
    context = app_context_for(draft.get("id"))
    if launch is None:
        return card
    link: dict[str, Any] = {"label": "Open in Posology", "url": launch, "type": "smart"}
    if context is not None:
        link["appContext"] = context
    return {**card, "links": [link]}


def _unread_card(request: dict[str, Any], unread: list[str], pack: Pack) -> dict[str, Any]:
    """What could not be read from the EHR's FHIR server, in one card: the checks ran without
    it, and it says so (a record that could not be read must not look like an empty one)."""
    key = f"{request.get('hookInstance')}|unread|{'|'.join(unread)}"
    listed = "\n".join(f"- {u}" for u in unread)
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "indicator": "warning",
        "summary": f"{pack.medicine.capitalize()} checks ran without part of the record",
        "detail": "Posology did not have from the EHR:\n\n"
        f"{listed}\n\nThe checks below did not see it; nothing was assumed about it.",
        "source": {"label": "Posology FHIR reader"},
    }


def _card(
    request: dict[str, Any],
    draft: dict[str, Any],
    finding: Finding,
    suggestion: dict[str, Any] | None,
    pack: Pack,
) -> dict[str, Any]:
    """One finding as a card: its message, the quoted source, and whose rules judged it (the
    pack and its profile in words), so a clinician reading the card in the EHR sees which
    jurisdiction's numbers spoke."""
    summary = f"{finding.rule}: {finding.message}"
    if len(summary) > 140:
        summary = summary[:139].rstrip() + "…"
    key = f"{request.get('hookInstance')}|{draft.get('id')}|{finding.rule}|{finding.message}"
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "summary": summary,
        "indicator": INDICATOR[finding.severity.value],
        "detail": f"{finding.message}\n\n> {finding.citation.quote}\n\n— {finding.citation.source} "
        f"({finding.citation.evidence})\n\nJudged by the rules of {pack.title}, "
        f"{pack.profile_words}.",
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


def _input_card(
    request: dict[str, Any], draft: dict[str, Any], exc: InputError, pack: Pack
) -> dict[str, Any]:
    key = f"{request.get('hookInstance')}|{draft.get('id')}|input|{exc}"
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "indicator": "warning",
        "summary": f"{pack.medicine.capitalize()} order not checked: {exc.field}"[:140],
        "detail": f"The order could not be read: **{exc.field}**: {exc.message}. "
        "Nothing was assumed.",
        "source": {"label": "Posology FHIR reader"},
    }


SUGGESTING_KINDS = frozenset({"daily-maximum", "percent-step-limit"})
"""The kinds of rules whose finding comes with a safer dose to take instead."""


def _suggestion(
    finding: Finding,
    proposal: Event,
    draft: dict[str, Any],
    patient: Any,
    past: list[Event],
    pack: Pack,
) -> dict[str, Any] | None:
    """A safer dose where one is computable, as an update of the draft order: the daily
    maximum's split for a regimen over a rule of the kind ``daily-maximum``, the largest step
    for an infusion over one of the kind ``percent-step-limit``."""
    rule = pack.rules.get(finding.rule)
    kind = rule.kind if rule is not None else None
    if kind not in SUGGESTING_KINDS:
        return None
    resource = copy.deepcopy(draft)
    dosages = resource.get("dosageInstruction") or []
    if not dosages:
        return None
    if (
        kind == "daily-maximum"
        and rule is not None
        and isinstance(proposal, OralRegimen)
        and finding.severity.value == "error"
    ):
        from ..planning.doses import dose_step, split_daily

        limit = rule.quantity("max_daily_outpatient")
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
    elif kind == "percent-step-limit" and isinstance(proposal, ItInfusion):
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
