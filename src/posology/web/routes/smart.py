"""``GET /smart/launch`` and ``GET /smart/callback``: Posology opened from inside an EHR (SMART
App Launch 2.0, EHR launch), showing the launched patient's record as the EHR holds it.

The launch sends the browser to the EHR's authorization endpoint with PKCE S256 and a random
``state``; the state, the PKCE verifier and the EHR are kept in a short-lived cookie named after
the state (``__Host-``, HttpOnly, Secure, SameSite=Lax so that it comes back on the EHR's
redirect), so two launches in two tabs do not disturb each other and any worker can answer the
callback. The callback checks the state, exchanges the code on the server, reads the record with
the token and answers the page itself: the token is used for this one answer and dropped.

The page is read-only and opens no Posology session (docs/decisions.md, "SMART on FHIR EHR
launch"): it shows the EHR's data, Posology's checks of it and the pump status, and links to the
patient's Posology record when one matches, which asks for the clinician's own Posology login.
Every refusal is a page saying what went wrong and what to do, with its 4xx or 5xx status.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...errors import InputError, LaunchRefused
from ...interop.smart import (
    SETTING,
    Ehr,
    allow_list,
    authorize_url,
    checked_launch,
    discover,
    draft_order_of,
    exchange,
    new_pkce,
    normal_iss,
)
from ...interop.smart_fhir import EhrRecord, Unread, read_record
from ...interop.smart_store import audit_launch, clinic_for, find_record
from ...knowledge import Pack
from ...model.documents import parse_event, parse_patient, sort_history
from ...model.events import ItInfusion, PumpImplant, PumpRefill
from ...pump_status import pump_status
from ...rules import judge_history
from ...serialize import finding_json
from ...services.clinic import clinic_now
from ...services.pump import status_json
from ...zones import local
from ..text import describe_html, when_text
from ..transport import keeps_session
from .deps import PageDeps

CALLBACK = "/smart/callback"
COOKIE = "__Host-posology_launch_"
"""The launch cookie's name before its state: one cookie per launch in progress."""
LAUNCH_SECONDS = 600
"""How long a clinician may take at the EHR's sign-in between launch and callback."""
_STATE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def _cookie_value(iss: str, verifier: str, state: str) -> str:
    data = json.dumps({"iss": iss, "verifier": verifier, "state": state, "at": int(time.time())})
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _held(request: Request, state: str | None) -> dict[str, Any]:
    """What the launch left in this browser for ``state``; refused when there is none (a
    callback this browser did not start, one already answered, or one past its time)."""
    lost = LaunchRefused(
        400,
        "this sign-in does not belong to a launch started in this browser, was used already, "
        f"or took longer than {LAUNCH_SECONDS // 60} minutes; open Posology again from the "
        "patient's chart in the EHR",
    )
    if not state or not _STATE.fullmatch(state):
        raise lost
    raw = request.cookies.get(COOKIE + state)
    if not raw:
        raise lost
    try:
        held = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        raise lost from None
    if (
        not isinstance(held, dict)
        or not secrets.compare_digest(str(held.get("state", "")), state)
        or not isinstance(held.get("iss"), str)
        or not isinstance(held.get("verifier"), str)
        or not isinstance(held.get("at"), int)
        or time.time() - held["at"] > LAUNCH_SECONDS
    ):
        raise lost
    return held


def _shown(value: str | None, longest: int = 200) -> str:
    return "".join(c for c in str(value or "") if c.isprintable())[:longest]


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine
    try:
        ehrs, problem = allow_list(os.environ.get(SETTING, "")), None
    except InputError as exc:
        ehrs, problem = {}, str(exc)
    public = os.environ.get("POSOLOGY_PUBLIC_URL", "").strip().rstrip("/")

    def refused(exc: LaunchRefused) -> Response:
        return deps.render(
            "smart_error.html", status=exc.status, user=None, csrf="", message=str(exc)
        )

    def ehr_for(iss: str | None) -> Ehr:
        if problem is not None:
            raise LaunchRefused(503, f"Posology's list of EHRs cannot be read: {problem}")
        if not public:
            raise LaunchRefused(
                503,
                "Posology's public address is not set (POSOLOGY_PUBLIC_URL, e.g. "
                "https://posology.hospital.example): the EHR could not send the browser back",
            )
        if not iss:
            raise LaunchRefused(
                400, "the link has no iss (the EHR's FHIR address); open Posology from the EHR"
            )
        ehr = ehrs.get(normal_iss(iss))
        if ehr is None:
            raise LaunchRefused(
                403,
                f"the EHR at {_shown(iss)} is not on Posology's list of EHRs ({SETTING}); "
                "nothing was sent to it. Ask Posology's administrators to register it.",
            )
        return ehr

    @router.get("/smart/launch", include_in_schema=False)
    def launch(request: Request, iss: str | None = None, launch: str | None = None) -> Response:
        try:
            ehr = ehr_for(iss)
            context = checked_launch(launch)
            if not keeps_session(request):
                raise LaunchRefused(
                    403,
                    "Posology was opened over plain http, where the browser cannot keep the "
                    f"sign-in safe; register its https address ({public}{request.url.path}) "
                    "with the EHR",
                )
            endpoints = discover(ehr)
        except LaunchRefused as exc:
            return refused(exc)
        verifier, challenge = new_pkce()
        state = secrets.token_urlsafe(32)
        target = authorize_url(ehr, endpoints, public + CALLBACK, context, state, challenge)
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            COOKIE + state,
            _cookie_value(ehr.iss, verifier, state),
            max_age=LAUNCH_SECONDS,
            path="/",
            httponly=True,
            secure=True,
            samesite="lax",  # sent on the EHR's redirect back (a top-level navigation)
        )
        return response

    @router.get(CALLBACK, include_in_schema=False)
    def callback(
        request: Request,
        code: str | None = None,
        state: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> Response:
        try:
            held = _held(request, state)
        except LaunchRefused as exc:
            return refused(exc)  # not this browser's: its cookies are left as they are
        response: Response
        try:
            if error:
                said = _shown(error, 60) + (
                    f" ({_shown(error_description)})" if error_description else ""
                )
                raise LaunchRefused(403, f"the EHR did not let Posology open this patient: {said}")
            if not code or len(code) > 4096:
                raise LaunchRefused(400, "the EHR sent no authorization code; open Posology again")
            ehr = ehr_for(held["iss"])
            clinic = clinic_for(engine, ehr)
            pack = deps.clinic_pack(clinic.id)  # the rules of the clinic this EHR serves
            grant = exchange(ehr, discover(ehr), code, public + CALLBACK, held["verifier"])
            detail: dict[str, Any] = {
                "iss": ehr.iss,
                "ehr_patient": grant.patient,
                "fhir_user": grant.fhir_user,
                "scope": grant.scope,
                **({"draft_order": draft_order_of(grant.app_context)} if grant.app_context else {}),
            }
            try:
                record = read_record(ehr, grant, pack, draft_order_of(grant.app_context))
                view = review(record, pack, clinic.zone)
            except LaunchRefused as exc:
                audit_launch(engine, clinic, {**detail, "refused": str(exc)}, None)
                raise
            match = find_record(engine, clinic, ehr, record)
            audit_launch(engine, clinic, detail, match.patient_id if match else None)
            response = deps.render(
                "smart_patient.html",
                pack=pack,
                user=None,
                csrf="",
                ehr=ehr,
                clinic=clinic,
                record=_banner(record, ehr),
                ehr_record=record,
                match=match,
                fhir_user=(grant.fhir_user or "").removeprefix(ehr.iss + "/"),
                read_at=when_text(clinic_now(clinic.zone, None)),
                **view,
            )
        except LaunchRefused as exc:
            response = refused(exc)
        response.delete_cookie(
            COOKIE + str(state), path="/", secure=True, httponly=True, samesite="lax"
        )
        return response

    return router


def _banner(record: EhrRecord, ehr: Ehr) -> dict[str, Any]:
    """The patient bar's record (see ``base.html``): the EHR's name, birth date and the record
    number in the configured system (else the first identifier the EHR gave)."""
    numbers = [v for s, v in record.identifiers if s == ehr.identifier_system]
    number = numbers[0] if numbers else (record.identifiers[0][1] if record.identifiers else None)
    return {
        "name": record.name or f"Patient {record.patient_id} (no name in the EHR)",
        "birth_date": record.birth_date,
        "record_number": number,
        "patient": record.patient,
    }


def review(record: EhrRecord, pack: Pack, zone: Any) -> dict[str, Any]:
    """What the page shows of the record: every event in words with the findings of checking
    it after the ones before, the pump status when there is a pump, and what was not read; the
    events of the order a CDS card named (``record.focus``) also come first, on their own."""
    unread = list(record.unread)
    try:
        patient = parse_patient(record.patient, "patient")
    except InputError as exc:
        raise LaunchRefused(
            422, f"The EHR's record of this patient cannot be used: {exc}"
        ) from None
    pairs = []
    for item in record.events:
        try:
            pairs.append((item.source, parse_event(item.event, item.source)))
        except InputError as exc:
            unread.append(Unread(item.source, exc.field, exc.message))
    try:
        history = sort_history(pairs)
    except InputError as exc:
        raise LaunchRefused(
            422, f"The EHR's baclofen record cannot be put in order: {exc}"
        ) from None
    source_of = {id(e): source for source, e in reversed(pairs)}  # of equal events, the first
    sources = [source_of[id(e)] for e in history]
    entries = []
    counts = {"info": 0, "warning": 0, "error": 0, "critical": 0}
    for (event, findings), source in zip(
        judge_history(patient, history, pack), sources, strict=True
    ):
        shown = [finding_json(f) for f in findings]
        for f in shown:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        at = event.at if event.at.tzinfo is None else local(event.at, zone)
        entries.append(
            {
                "when": when_text(at),
                "what": describe_html(event),
                "source": source,
                "findings": shown,
                "focus": source == record.focus,
            }
        )
    pump = None
    if patient.pump is not None or any(
        isinstance(e, (PumpImplant, PumpRefill, ItInfusion)) for e in history
    ):
        at = clinic_now(zone, history[0].at if history else None)
        pump = status_json(pump_status(patient, history, pack, at, zone), pack, zone)
    return {
        "entries": entries,
        "focus": [e for e in entries if e["focus"]],
        "counts": counts,
        "pump": pump,
        "unread": unread,
    }
