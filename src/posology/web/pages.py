"""The clinician's pages, rendered on the server over the same store and core as the API.

Pages need a login session (an HttpOnly cookie); page forms that change anything carry the
session's CSRF token, and the pages' scripts send it as ``X-CSRF-Token`` to the JSON API. All
assets are in the package: nothing is fetched from elsewhere.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ..api.auth import SESSION_COOKIE
from ..errors import Forbidden, InputError, TooManyAttempts, Unauthorized
from ..knowledge import Pack
from ..knowledge.derived import treatment_fields
from ..model.documents import SCHEDULE_TOLERANCE
from ..model.events import EVENT_KINDS, Event, ItInfusion
from ..model.patient import CONDITIONS, DIAGNOSES, MEDICATIONS, ORIGINS, SETTINGS, SEXES
from ..planning.request import _GOAL_FIELDS, GOALS
from ..serialize import DISCLAIMER
from ..services import accounts, audit_trail
from ..services import clinic as clinic_settings
from ..services import history as event_history
from ..services import patients as patient_records
from ..services import plans as plan_records
from ..services import pump as pump_service
from ..services.clinic import clinic_now, clinic_zone, local
from ..store.values import aware
from ..units import Quantity, parse_quantity
from .pharmacist import add_pharmacist_pages

HERE = Path(__file__).parent
KINDS = EVENT_KINDS
GOAL_OPTIONS = tuple(dict.fromkeys(o for r, p in _GOAL_FIELDS.values() for o in (*r, *p)))
"""Every option of every goal, as the plan form names its fields."""


def goal_from_form(params: Any) -> dict[str, Any]:
    """The plan form's fields as a GOAL object: only the chosen goal's options, typed as the
    contract reads them (a count as a number, night-only as true, task times as a list)."""
    kind = str(params.get("goal", ""))
    required, optional = _GOAL_FIELDS.get(kind, ((), ()))
    goal: dict[str, Any] = {"kind": kind}
    for option in (*required, *optional):
        raw = str(params.get(option, "") or "").strip()
        if not raw:
            continue
        if option == "night_only":
            goal[option] = raw in ("yes", "true", "on")
        elif option == "pre_task_times":
            goal[option] = [t.strip() for t in raw.split(",") if t.strip()]
        elif option in ("times_per_day", "alarm_ml"):
            try:
                goal[option] = int(raw) if raw.isdigit() else float(raw)
            except ValueError:
                goal[option] = raw  # the reader names the field and the fix
        else:
            goal[option] = raw
    return goal


KIND_LABELS = {
    "pump-refill": "Pump refill",
    "it-infusion": "Start or change intrathecal infusion",
    "it-test-dose": "Intrathecal test dose",
    "pump-implant": "Pump implanted",
    "oral-regimen": "Oral baclofen regimen",
    "oral-stop": "Stop oral baclofen",
    "it-stable": "Titration finished (maintenance from now on)",
    "it-stop": "Stop intrathecal infusion",
    "review": "Review or reminder",
}
"""Each event kind in words, in the order the event form offers them (pump work first)."""

STATE_LABELS = {
    "empty": "Pump empty",
    "past-alarm": "Past the low-reservoir alarm",
    "overdue": "Refill overdue",
    "due": "Refill due",
    "ok": "On schedule",
    "stopped": "Infusion stopped",
    "no-fill": "No fill recorded",
    "no-pump": "No pump",
}
"""The pump states of :data:`posology.pump_status.STATES` in the words the clinic uses."""

GOAL_LABELS = {
    "oral-titration": "Oral titration (increase)",
    "oral-taper": "Oral taper (decrease and stop)",
    "it-screening": "Intrathecal screening (test doses)",
    "it-titration": "Intrathecal titration",
    "it-refill": "Pump refill",
    "it-flex": "Flex (night) programme",
    "it-tolerance-holiday": "Tolerance holiday",
    "it-taper": "Intrathecal taper",
}


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    env.globals["disclaimer"] = DISCLAIMER
    env.filters["plain"] = plain_value
    env.filters["field_name"] = field_name
    env.filters["when"] = when_text
    env.filters["day"] = day_text
    env.filters["qty"] = quantity_text
    env.globals["kind_labels"] = KIND_LABELS
    env.globals["state_labels"] = STATE_LABELS
    env.globals["prescriber_roles"] = PRESCRIBER_ROLES
    env.globals["recorder_roles"] = RECORDER_ROLES
    env.globals["age_of"] = age_text
    env.globals["identity"] = identity
    return env


PRESCRIBER_ROLES = ("prescriber", "clinician")
"""Roles that change doses and plans (``clinician`` is the old name of ``prescriber``)."""
RECORDER_ROLES = (*PRESCRIBER_ROLES, "nurse")
"""Roles that record events on the patient page (the API decides what each may record)."""


def age_text(birth: str | None, today: datetime | None = None) -> str:
    """Completed years from an ISO birth date, for the banner ("48 years"); empty if unknown."""
    if not birth:
        return ""
    try:
        b = datetime.fromisoformat(str(birth)).date()
    except ValueError:
        return ""
    d = (today or datetime.now(UTC)).date()
    years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
    return f"{max(years, 0)} years"


def identity(record: dict[str, Any]) -> dict[str, Any]:
    """The record's identity as the banner shows it: the name (the old label when no name was
    recorded), the birth date (the record's, else the PATIENT document's) and record number."""
    patient = record.get("patient") or {}
    return {
        "name": record.get("name") or record.get("label") or "",
        "birth_date": record.get("birth_date") or patient.get("birth_date"),
        "age_years": patient.get("age_years"),
        "record_number": record.get("record_number"),
    }


def matches(record: dict[str, Any], query: str) -> bool:
    """Whether a patient record answers a search by name, record number or birth date."""
    q = query.strip().casefold()
    if not q:
        return True
    who = identity(record)
    fields = (who["name"], record.get("label"), who["record_number"], who["birth_date"])
    return any(q in str(f).casefold() for f in fields if f)


def _safe_next(value: str | None) -> str:
    """A page of this site to return to after login; anything else goes to the worklist."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/worklist"


def _instant(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def when_text(value: str | datetime | None) -> str:
    """An instant for people, as the clinic reads it: "Tue 12 Nov 2026, 09:00"."""
    at = _instant(value)
    return "—" if at is None else f"{at:%a %d %b %Y, %H:%M}"


def day_text(value: str | datetime | None) -> str:
    """A date for people: "Tue 12 Nov 2026"."""
    at = _instant(value)
    return "—" if at is None else f"{at:%a %d %b %Y}"


@lru_cache(maxsize=512)
def quantity_text(code: str | None) -> str:
    """A quantity code of the API ("250 ug/d") as people read it ("250 µg/day")."""
    if not code:
        return "—"
    try:
        return parse_quantity(code, allow_zero=True).text()
    except InputError:  # not a quantity the reader knows: shown as given rather than lost
        return code


# PATIENT fields whose values are codes ("multiple-sclerosis"): shown as words.
CODED_FIELDS = frozenset(("sex", "diagnosis", "origin", "setting", "conditions", "medications"))
# PATIENT field names for people, where the name alone would not say the unit.
FIELD_NAMES = {
    "age_years": "age (years)",
    "weight_kg": "weight (kg)",
    "creatinine_clearance_ml_min": "creatinine clearance (mL/min)",
    "reservoir_ml": "reservoir (mL)",
    "alarm_ml": "alarm volume (mL)",
    "withdrawal_before_alarm": "withdrawal signs before the alarm",
}


def field_name(key: str) -> str:
    """A PATIENT field's name for people."""
    return FIELD_NAMES.get(key, key.replace("_", " "))


def plain_value(value: Any, key: str | None = None) -> str:
    """A stored patient field for people: codes as words, lists joined, the pump described,
    booleans as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain_value(v, key) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{field_name(k)}: {plain_value(v, k)}" for k, v in value.items())
    if key in CODED_FIELDS and isinstance(value, str):
        return value.replace("-", " ")
    return str(value)


def quantity_html(q: Quantity) -> str:
    """A quantity for the page: µg and mg styled apart, so a glance tells them apart."""
    mass = q.unit.code.split("/")[0]
    css = {"ug": "unit-ug", "mg": "unit-mg"}.get(mass, "")
    return f'<span class="qty {css}">{escape(q.text())}</span>'


def describe_html(event: Event) -> str:
    from ..export.describe import describe

    text = escape(describe(event))
    for q in _quantities(event):
        plain = escape(q.text())
        if plain in text:
            text = text.replace(plain, quantity_html(q), 1)
    return text


def _quantities(event: Event) -> list[Quantity]:
    out: list[Quantity] = []
    for name in ("daily_dose", "dose", "concentration", "volume"):
        value = getattr(event, name, None)
        if isinstance(value, Quantity):
            out.append(value)
    return out


def add_pages(app: FastAPI, engine: Engine, pack: Pack) -> None:
    env = _environment()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        # no page is kept by the browser: Back after logout must not show patient data
        return HTMLResponse(
            env.get_template(name).render(**context),
            status_code=status,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def session(request: Request) -> tuple[accounts.User, str] | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            return accounts.user_for_session(engine, token)
        except Unauthorized:
            return None

    def to_login(request: Request | None = None) -> RedirectResponse:
        """To the login page; a page asked for without a valid session is returned to after."""
        target = "/login"
        if request is not None and request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(here, safe="")
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        """A page the user's role may not open: said in a page, not in JSON (the API keeps
        its JSON error)."""
        if request.url.path.startswith(("/api/", "/cds-services")):
            return JSONResponse({"error": {"field": "", "message": str(exc)}}, status_code=403)
        current = session(request)
        return render(
            "forbidden.html",
            status=403,
            user=current[0] if current else None,
            csrf=current[1] if current else "",
            message=str(exc),
        )

    # the pharmacist's pages (web/pharmacist.py), before the pages' own downloads
    add_pharmacist_pages(app, engine, pack, env, render, session, to_login)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/worklist" if session(request) else "/login", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str | None = None) -> Response:
        return render("login.html", user=None, csrf="", next=_safe_next(next))

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        form = await request.form()
        try:
            # the password check takes a tenth of a second of a core: off the event loop
            _user, token, _csrf = await run_in_threadpool(
                accounts.login,
                engine,
                str(form.get("email", "")),
                str(form.get("password", "")),
                request.client.host if request.client else None,
            )
        except (Unauthorized, TooManyAttempts, InputError) as exc:
            return render(
                "login.html",
                status=401,
                user=None,
                csrf="",
                error=str(exc),
                next=_safe_next(str(form.get("next", ""))),
            )
        response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout_form(request: Request) -> Response:
        current = session(request)
        form = await request.form()
        if current is None:
            return to_login(request)
        if form.get("csrf") != current[1]:  # a forged form: the session stays as it is
            return RedirectResponse("/patients", status_code=303)
        accounts.logout(engine, request.cookies[SESSION_COOKIE])
        response = to_login()
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/indication", include_in_schema=False)
    def indication(request: Request) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        treatments = []
        for route in ("oral", "intrathecal"):
            fields = treatment_fields(pack, route)
            treatments.append(
                {
                    "route": route,
                    "range": f"{quantity_html(fields.daily_range.low)} to "
                    f"{quantity_html(fields.daily_range.high)}",
                    "regimen": fields.regimen_text(),
                    "start": quantity_html(fields.starting_dose) if fields.starting_dose else None,
                    "rules": [r for r in pack.rules.values() if r.route == route],
                }
            )
        general = [r for r in pack.rules.values() if r.route == "general"]
        return render(
            "indication.html",
            user=current[0],
            csrf=current[1],
            general=general,
            treatments=treatments,
        )

    @app.get("/worklist", include_in_schema=False)
    def worklist_page(request: Request, filter: str | None = None) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        only = filter if filter in pump_service.FILTERS else None
        answer = pump_service.worklist(engine, pack, current[0], only)
        today = datetime.fromisoformat(answer["at"]).date()
        for row in answer["patients"]:
            due = _instant(row["due_at"])
            row["due_in"] = None if due is None else (due.date() - today).days
        return render(
            "worklist.html",
            user=current[0],
            csrf=current[1],
            work=answer,
            only=only,
        )

    @app.get("/patients", include_in_schema=False)
    def patients(request: Request, q: str = "") -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        found = [r for r in patient_records.list_patients(engine, current[0]) if matches(r, q)]
        for r in found:
            r["who"] = identity(r)
        return render(
            "patients.html",
            user=current[0],
            csrf=current[1],
            patients=found,
            q=q,
            diagnoses=DIAGNOSES,
            sexes=SEXES,
        )

    @app.get("/patients/{patient_id}", include_in_schema=False)
    def patient(request: Request, patient_id: int) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        from ..model import parse_event

        record = patient_records.get_patient(engine, current[0], patient_id)
        audit_trail.record_read(engine, current[0], "page.patient", patient_id)
        events = event_history.list_events(engine, current[0], patient_id)
        zone = clinic_zone(engine, current[0])
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
        plans = plan_records.list_plans(engine, current[0], patient_id)
        status = pump_service.patient_pump_status(engine, pack, current[0], patient_id)
        has_pump = status["state"] != "no-pump"
        # the stored test-dose events, so a response can be recorded as a correction of each
        test_doses = {
            str(e["id"]): e["event"]
            for e in events
            if e["kind"] == "it-test-dose" and not e["superseded"]
        }
        now = clinic_now(zone, None).strftime("%Y-%m-%dT%H:%M")
        return render(
            "patient.html",
            zone=str(zone),
            user=current[0],
            csrf=current[1],
            record=record,
            events=events,
            kinds=tuple(KIND_LABELS),
            goals=GOALS,
            goal_labels=GOAL_LABELS,
            now=now,
            pump=status,
            has_pump=has_pump,
            status_json=_script_json(status),
            test_doses_json=_script_json(test_doses),
            rate_places=pack.rule("SUP-IT-RATE").count("rate_unit_places"),
            schedule_tolerance=str(float(SCHEDULE_TOLERANCE)),
            profile_json=_script_json(record["patient"]),
            who=identity(record),
            history_json=_script_json(
                {str(e["id"]): e["event"] for e in events if e["kind"] in EVENT_KINDS}
            ),
            versions=_versions(engine, current[0], patient_id),
            single_signer=_single_signer(engine, current[0]),
            plans=plans,
            goal_fields=_GOAL_FIELDS,
            choices={
                "diagnosis": DIAGNOSES,
                "sex": SEXES,
                "origin": ORIGINS,
                "setting": SETTINGS,
                "conditions": CONDITIONS,
                "medications": MEDICATIONS,
            },
        )

    def plan_for(
        request: Request, user: accounts.User, patient_id: int
    ) -> tuple[Any, Any, dict[str, Any], str]:
        params = request.query_params
        goal = goal_from_form(params)
        start = params.get("start", "")
        parsed, result = plan_records.plan_preview(engine, pack, user, patient_id, goal, start)
        return parsed, result, goal, start

    @app.get("/patients/{patient_id}/plan", include_in_schema=False)
    def plan_page(request: Request, patient_id: int) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        from .charts import daily_dose_staircase, rate_profile, reservoir_curve

        record = patient_records.get_patient(engine, current[0], patient_id)
        audit_trail.record_read(engine, current[0], "page.plan", patient_id)
        try:
            parsed, result, goal, start = plan_for(request, current[0], patient_id)
        except InputError as exc:
            return render(
                "patient_error.html",
                status=422,
                user=current[0],
                csrf=current[1],
                record=record,
                error=f"{exc.field}: {exc.message}",
            )
        daily = _daily_dose_for_reservoir(parsed.history, result)
        running = next((e for e in reversed(parsed.history) if isinstance(e, ItInfusion)), None)
        charts = [
            c
            for c in (
                daily_dose_staircase(result),
                rate_profile(result, running if result.made else None),
                reservoir_curve(result, daily),
            )
            if c
        ]
        steps = [
            {
                "when": f"{s.event.at:%Y-%m-%d %H:%M}",
                "what": describe_html(s.event),
                "instructions": s.instructions,
                "condition": s.condition,
                "rules": s.rules,
            }
            for s in result.steps
        ]
        query = urlencode({k: v for k, v in request.query_params.items()})
        return render(
            "plan.html",
            user=current[0],
            csrf=current[1],
            record=record,
            plan=result,
            goal=goal,
            goal_json=json.dumps(goal),
            start=start,
            steps=steps,
            charts=charts,
            query=query,
        )

    @app.get("/patients/{patient_id}/plan.{fmt}", include_in_schema=False)
    def plan_download(request: Request, patient_id: int, fmt: str) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        if fmt not in ("pdf", "ics", "csv"):
            return Response("unknown format; use pdf, ics or csv", status_code=404)
        try:
            _parsed, result, goal, _start = plan_for(request, current[0], patient_id)
            audit_trail.record_read(engine, current[0], f"export.plan-{fmt}", patient_id)
        except InputError as exc:
            return Response(f"{exc.field}: {exc.message}", status_code=422)
        if not result.made:
            return Response("no plan can be given for this request", status_code=422)
        name = f"baclofen-{goal['kind']}"
        if fmt == "csv":
            from ..export.plan_csv import render_csv

            return Response(
                render_csv(result),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if fmt == "ics":
            from ..export.plan_ics import render_ics

            return Response(
                render_ics(result, datetime.now(UTC)),
                media_type="text/calendar",
                headers={"Content-Disposition": f'attachment; filename="{name}.ics"'},
            )
        from .handout import handout_pdf

        pdf = handout_pdf(
            env, result, pack, current[0].clinic, clinic_settings.clinic_contact(engine, current[0])
        )
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )


def _single_signer(engine: Engine, user: accounts.User) -> bool:
    """Whether the user's clinic lets one person save a critical override (no co-signer)."""
    with engine.connect() as conn:
        return clinic_settings.clinic_policy(conn, user.clinic_id) == "single-signer"


def _versions(engine: Engine, user: accounts.User, patient_id: int) -> list[dict[str, Any]]:
    """Every kept version of the profile, newest first, each with what changed from the one
    before it (so two versions can be compared on the page). The caller has already read the
    patient through the store, which checks the clinic."""
    from sqlalchemy import select

    from ..store import tables as T

    with engine.connect() as conn:
        rows = conn.execute(
            select(T.patient_revisions, T.users.c.email)
            .outerjoin(T.users, T.users.c.id == T.patient_revisions.c.user_id)
            .where(T.patient_revisions.c.patient_id == patient_id)
            .order_by(T.patient_revisions.c.version)
        ).all()
    out: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for r in rows:
        document = dict(r.document)
        keys = sorted(set(before) | set(document))
        changed = [
            {"field": k, "before": before.get(k), "after": document.get(k)}
            for k in keys
            if before.get(k) != document.get(k)
        ]
        out.append(
            {
                "version": r.version,
                "changed_at": aware(r.recorded_at).isoformat(),
                "by": r.email,
                "changes": changed if out else [],
            }
        )
        before = document
    return out[::-1]


def _script_json(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element (no closing tag)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _daily_dose_for_reservoir(history: tuple[Event, ...], result: Any) -> Quantity | None:
    """The daily dose a plan's refill will deliver: the plan's first infusion step, else the
    infusion running in the history."""
    infusions = [s.event for s in result.steps if isinstance(s.event, ItInfusion)]
    if infusions:
        return infusions[0].daily_dose
    running = [e for e in history if isinstance(e, ItInfusion)]
    return running[-1].daily_dose if running else None
