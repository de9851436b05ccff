"""The pump clinic: pump status, refill preview, screening ladder, dose-change limits, worklist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...errors import InputError
from ...knowledge import Pack
from ...services import accounts
from ..requests import (
    RecordId,
)
from ..schemas import answers, body, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:
    from ...serialize import pack_json

    router = APIRouter()
    engine = deps.engine
    User = deps.user
    Body = deps.body

    def cited(answer: dict[str, Any], pack: Pack) -> dict[str, Any]:
        """The answer with the rules it was worked out with: its findings and limits cite them."""
        return {**answer, "pack": pack_json(pack)}

    @router.get(
        "/api/v1/patients/{patient_id}/pump-status",
        tags=["pump clinic"],
        responses=answers(200, ref("PumpStatus"), 401, 404, 422),
    )
    def pump_status(patient_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        from ...services import pump as pump_service

        pack = deps.pack_for(user)
        return cited(pump_service.patient_pump_status(engine, pack, user, patient_id), pack)

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

        pack = deps.pack_for(user)
        return cited(preview(engine, pack, user, patient_id, document), pack)

    @router.get(
        "/api/v1/patients/{patient_id}/screening",
        tags=["pump clinic"],
        responses=answers(200, ref("Screening"), 401, 404, 422),
    )
    def screening(patient_id: RecordId, user: accounts.User = User) -> dict[str, Any]:
        from ...services.screening import patient_screening

        pack = deps.pack_for(user)
        return cited(patient_screening(engine, pack, user, patient_id), pack)

    @router.get(
        "/api/v1/patients/{patient_id}/change-limits",
        tags=["pump clinic"],
        responses=answers(200, ref("ChangeLimits"), 401, 404, 422),
    )
    def change_limits(
        patient_id: RecordId, user: accounts.User = User, medicine: str | None = None
    ) -> dict[str, Any]:
        """The limits on the next change of ``medicine`` (default: the server's), by its own
        pack: tizanidine's pace and maximum, not baclofen's."""
        from ...model.medicines import read_medicine
        from ...services.limits import patient_change_limits

        if medicine is not None:
            read_medicine(medicine, "medicine", "oral-regimen")
        pack = deps.pack_for(user, medicine)
        return cited(patient_change_limits(engine, pack, user, patient_id), pack)

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
        pack = deps.pack_for(user)
        return cited(pump_service.worklist(engine, pack, user, filter), pack)

    return router
