"""``GET /patients`` (the clinic's patients, searched by name, record number or birth date) and
``GET /patients/{id}`` (one patient: the banner, the history in the order things happened, the
pump, the plans, the profile's versions and the forms that record events)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from ...model.documents import SCHEDULE_TOLERANCE
from ...model.events import EVENT_KINDS
from ...model.medicines import medicines_by_route, product_words
from ...model.patient import ORIGINS, SETTINGS, SEXES
from ...model.vocabulary import vocabulary
from ...planning.request import _GOAL_FIELDS, GOALS
from ...services import accounts, audit_trail
from ...services import history as event_history
from ...services import patients as patient_records
from ...services import plans as plan_records
from ...services import pump as pump_service
from ...services.clinic import clinic_now, clinic_zone, local
from ..labels import GOAL_LABELS, KIND_LABELS
from ..records import identity, matches, single_signer, versions
from ..text import describe_html, script_json, when_text
from .deps import PageDeps

INJECTION_ROWS = 12
"""Muscle rows the session form holds (two shown, the rest added one by one): a form's size,
not a limit on a session, which the API takes with more."""


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine

    @router.get("/patients", include_in_schema=False)
    def patients(request: Request, q: str = "") -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        found = [r for r in patient_records.list_patients(engine, current[0]) if matches(r, q)]
        for r in found:
            r["who"] = identity(r)
        return deps.render(
            "patients.html",
            user=current[0],
            csrf=current[1],
            patients=found,
            q=q,
            diagnoses=vocabulary("diagnoses"),
            sexes=SEXES,
        )

    @router.get("/patients/{patient_id}", include_in_schema=False)
    def patient(request: Request, patient_id: int) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        record = patient_records.get_patient(engine, current[0], patient_id)
        audit_trail.record_read(engine, current[0], "page.patient", patient_id)
        zone = clinic_zone(engine, current[0])
        events = _history(engine, current[0], patient_id, zone)
        plans = plan_records.list_plans(engine, current[0], patient_id)
        pack = deps.pack_for(current[0])
        status = pump_service.patient_pump_status(engine, pack, current[0], patient_id)
        has_pump = status["state"] != "no-pump"
        # the stored test-dose events, so a response can be recorded as a correction of each
        test_doses = {
            str(e["id"]): e["event"]
            for e in events
            if e["kind"] == "it-test-dose" and not e["superseded"]
        }
        now = clinic_now(zone, None).strftime("%Y-%m-%dT%H:%M")
        products = vocabulary("products")  # injection sessions only where a pack has products
        return deps.render(
            "patient.html",
            pack=pack,
            zone=str(zone),
            user=current[0],
            csrf=current[1],
            record=record,
            events=events,
            kinds=tuple(k for k in KIND_LABELS if k != "injection-session" or products),
            oral_medicines=medicines_by_route("oral", pack.medicine),
            default_medicine=pack.medicine,
            injection_products=[(p, product_words(p)) for p in products],
            injection_muscles=vocabulary("muscles"),
            injection_rows=INJECTION_ROWS,
            goals=GOALS,
            goal_labels=GOAL_LABELS,
            now=now,
            pump=status,
            has_pump=has_pump,
            status_json=script_json(status),
            test_doses_json=script_json(test_doses),
            rate_places=pack.role("intrathecal.pump.rate").count("rate_unit_places"),
            schedule_tolerance=str(float(SCHEDULE_TOLERANCE)),
            profile_json=script_json(record["patient"]),
            who=identity(record),
            history_json=script_json(
                {str(e["id"]): e["event"] for e in events if e["kind"] in EVENT_KINDS}
            ),
            versions=versions(engine, current[0], patient_id),
            single_signer=single_signer(engine, current[0]),
            plans=plans,
            goal_fields=_GOAL_FIELDS,
            choices={
                "diagnosis": vocabulary("diagnoses"),
                "sex": SEXES,
                "origin": ORIGINS,
                "setting": SETTINGS,
                "conditions": vocabulary("conditions"),
                "medications": vocabulary("medications"),
            },
        )

    return router


def _history(
    engine: Engine, user: accounts.User, patient_id: int, zone: tzinfo
) -> list[dict[str, Any]]:
    """The patient's events for the page: each described in words, dated in the clinic's zone,
    linked to the entry that replaced it, in the order things happened (then of entry)."""
    from ...model import parse_event

    events = event_history.list_events(engine, user, patient_id)
    by_id = {e["id"]: e for e in events}
    for e in events:
        document = e.get("event") or {}
        kind = document.get("kind") or e.get("kind") or ""
        e["kind"] = kind
        if kind in EVENT_KINDS:
            e["what"] = describe_html(parse_event(document, "event"))
        else:  # a marker row (entered in error): it describes no treatment
            e["what"] = escape(f"Marked as {kind.replace('-', ' ')}")
        at = document.get("at") or e.get("at")
        at = at.isoformat() if isinstance(at, datetime) else at
        e["at_local"] = local(datetime.fromisoformat(at), zone) if at else None
        e["when"] = when_text(e["at_local"])
        e["recorded_local"] = when_text(local(datetime.fromisoformat(e["recorded_at"]), zone))
        e["replaced_by"] = None
    for e in events:
        old = by_id.get(e.get("supersedes"))
        if old is not None:
            old["replaced_by"] = e
    # by the time the event happened, then the order of entry: not the order of typing
    events.sort(key=lambda e: (e["at_local"] is None, e["at_local"] or 0, e["seq"]))
    return events
