"""``GET /patients/{id}/plan`` (a plan previewed from the plan form's query: its steps, charts
and rules, nothing stored) and its downloads ``plan.csv`` and ``plan.ics``; ``plan.pdf`` is the
patient handout (:mod:`posology.web.routes.handout`), included here first so it keeps its
address."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...errors import InputError
from ...model.events import Event, ItInfusion
from ...services import accounts, audit_trail
from ...services import patients as patient_records
from ...services import plans as plan_records
from ...units import Quantity
from ..charts import daily_dose_staircase, rate_profile, reservoir_curve
from ..goal_form import goal_from_form
from ..text import describe_html
from . import handout
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine
    router.include_router(handout.routes(deps))  # before plan.{fmt}, which would take plan.pdf

    def plan_for(
        request: Request, user: accounts.User, patient_id: int
    ) -> tuple[Any, Any, dict[str, Any], str]:
        params = request.query_params
        goal = goal_from_form(params)
        start = params.get("start", "")
        pack = deps.pack_for(user)
        parsed, result = plan_records.plan_preview(engine, pack, user, patient_id, goal, start)
        return parsed, result, goal, start

    @router.get("/patients/{patient_id}/plan", include_in_schema=False)
    def plan_page(request: Request, patient_id: int) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        record = patient_records.get_patient(engine, current[0], patient_id)
        audit_trail.record_read(engine, current[0], "page.plan", patient_id)
        try:
            parsed, result, goal, start = plan_for(request, current[0], patient_id)
        except InputError as exc:
            return deps.render(
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
        return deps.render(
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

    @router.get("/patients/{patient_id}/plan.{fmt}", include_in_schema=False)
    def plan_download(request: Request, patient_id: int, fmt: str) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        if fmt not in ("ics", "csv"):  # plan.pdf is the handout's address
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
            from ...export.plan_csv import render_csv

            return Response(
                render_csv(result),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        from ...export.plan_ics import render_ics

        return Response(
            render_ics(result, datetime.now(UTC)),
            media_type="text/calendar",
            headers={"Content-Disposition": f'attachment; filename="{name}.ics"'},
        )

    return router


def _daily_dose_for_reservoir(history: tuple[Event, ...], result: Any) -> Quantity | None:
    """The daily dose a plan's refill will deliver: the plan's first infusion step, else the
    infusion running in the history."""
    infusions = [s.event for s in result.steps if isinstance(s.event, ItInfusion)]
    if infusions:
        return infusions[0].daily_dose
    running = [e for e in history if isinstance(e, ItInfusion)]
    return running[-1].daily_dose if running else None
