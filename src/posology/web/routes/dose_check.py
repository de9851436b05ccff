"""``GET /dose-check``: the pharmacist's dose check for a patient, which saves nothing.

The page posts to ``POST /api/v1/patients/{id}/check`` from the browser
(``static/dose_check.js``), so the answer is the checker's own and nothing is stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...services import patients as patient_records
from ...services.clinic import clinic_now, clinic_zone
from ..pharmacist import CHECK_KINDS
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine

    @router.get("/dose-check", include_in_schema=False)
    def dose_check(request: Request, patient: int | None = None) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        patients = patient_records.list_patients(engine, current[0])
        chosen = next((p for p in patients if p["id"] == patient), None)
        now = clinic_now(clinic_zone(engine, current[0]), None).strftime("%Y-%m-%dT%H:%M")
        return deps.render(
            "dose_check.html",
            user=current[0],
            csrf=current[1],
            patients=patients,
            chosen=chosen,
            kinds=CHECK_KINDS,
            now=now,
        )

    return router
