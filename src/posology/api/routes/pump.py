"""The pump clinic: pump status, refill preview, screening ladder, dose-change limits, worklist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...errors import InputError
from ...services import accounts
from ..requests import (
    RecordId,
)
from ..schemas import answers, body, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    pack = deps.pack
    User = deps.user
    Body = deps.body

    @router.get(
        "/api/v1/patients/{patient_id}/pump-status",
        tags=["pump clinic"],
        responses=answers(200, ref("PumpStatus"), 401, 404, 422),
    )
    def pump_status(patient_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        from ...services import pump as pump_service

        return pump_service.patient_pump_status(engine, pack, user, patient_id)

    @router.post(
        "/api/v1/patients/{patient_id}/refill-preview",
        tags=["pump clinic"],
        openapi_extra=body("RefillPreviewInput"),
        responses=answers(200, ref("RefillPreview"), 400, 401, 404, 413, 422),
    )
    def refill_preview(
        patient_id: RecordId, user: accounts.User = User, document: Any = Body
    ) -> dict[str, Any]:
        from ...services.refill import refill_preview as preview

        return preview(engine, pack, user, patient_id, document)

    @router.get(
        "/api/v1/patients/{patient_id}/screening",
        tags=["pump clinic"],
        responses=answers(200, ref("Screening"), 401, 404, 422),
    )
    def screening(patient_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        from ...services.screening import patient_screening

        return patient_screening(engine, pack, user, patient_id)

    @router.get(
        "/api/v1/patients/{patient_id}/change-limits",
        tags=["pump clinic"],
        responses=answers(200, ref("ChangeLimits"), 401, 404, 422),
    )
    def change_limits(patient_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        from ...services.limits import patient_change_limits

        return patient_change_limits(engine, pack, user, patient_id)

    @router.get(
        "/api/v1/worklist",
        tags=["pump clinic"],
        responses=answers(200, ref("Worklist"), 401, 422),
    )
    def worklist(user: accounts.User = User, filter: str | None = None) -> dict[str, Any]:
        from ...services import pump as pump_service

        if filter is not None and filter not in pump_service.FILTERS:
            raise InputError(
                "filter",
                f"unknown filter {filter!r}; use one of: {', '.join(pump_service.FILTERS)}",
            )
        return pump_service.worklist(engine, pack, user, filter)

    return router
