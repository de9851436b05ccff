"""``GET /patients/{id}/plan.pdf``: the patient handout of the plan the plan page shows (same
query), for the patient of the record, signed by the user who prints it, dated in the clinic.

Included before :mod:`posology.web.routes.plans`, whose ``plan.{fmt}`` would otherwise take
the address. The sheet itself is built by :mod:`posology.web.handout`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...errors import InputError
from ...planning.request import GOALS
from ...services import audit_trail
from ...services import clinic as clinic_settings
from ...services import patients as patient_records
from ...services import plans as plan_records
from ...services.clinic import clinic_now, clinic_zone
from ..goal_form import goal_from_form
from ..handout import handout_pdf
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine

    @router.get("/patients/{patient_id}/plan.pdf", include_in_schema=False)
    def plan_handout(request: Request, patient_id: int) -> Response:
        current = deps.session(request)
        if current is None:
            return RedirectResponse("/login", status_code=303)
        user = current[0]
        params = request.query_params
        record = patient_records.get_patient(engine, user, patient_id)
        audit_trail.record_read(engine, user, "export.handout-pdf", patient_id)
        goal = goal_from_form(params)  # the plan page's own reading of its form
        pack = deps.pack_for(user)
        try:
            parsed, result = plan_records.plan_preview(
                engine, pack, user, patient_id, goal, params.get("start", "")
            )
        except InputError as exc:
            return Response(f"{exc.field}: {exc.message}", status_code=422)
        if not result.made:
            return Response("no plan can be given for this request", status_code=422)
        zone = clinic_zone(engine, user)
        pdf = handout_pdf(
            deps.env_for(pack),
            result,
            pack,
            user.clinic,
            clinic_settings.clinic_contact(engine, user),
            record=record,
            prescriber=str(getattr(user, "name", None) or user.email),
            printed=clinic_now(zone, None).date(),
            history=parsed.history,
            has_pump=parsed.patient.pump is not None,
        )
        name = f"baclofen-{goal['kind'] if goal['kind'] in GOALS else 'plan'}"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{name}.pdf"',
                "Cache-Control": "no-store",
            },
        )

    return router
