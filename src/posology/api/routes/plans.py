"""Saved plans of a patient and the confirmation of their steps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services import accounts
from ...services import plans as plan_records
from ..requests import (
    RecordId,
    StepPosition,
    fields_of,
    once,
    text_of,
    version_of,
)
from ..schemas import answers, once_body, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    User = deps.user
    Body = deps.body

    @router.post(
        "/api/v1/patients/{patient_id}/plans",
        tags=["plans"],
        status_code=201,
        openapi_extra=once_body("PlanInput"),
        responses=answers(201, {"type": "object"}, 400, 401, 403, 404, 409, 413, 422),
    )
    def save_plan(
        patient_id: RecordId, request: Request, user: accounts.User = User, document: Any = Body
    ) -> JSONResponse:
        fields = fields_of(document, ("goal", "start"), ("goal", "start"))

        def work() -> JSONResponse:
            saved = plan_records.save_plan(
                engine,
                deps.pack_for(user),
                user,
                patient_id,
                fields["goal"],
                text_of(fields["start"], "start") or "",
            )
            if saved.get("id") is None:
                return JSONResponse(saved["plan"], status_code=422)
            return JSONResponse(saved, status_code=201)

        return once(engine, user, request, document, work)

    @router.get(
        "/api/v1/patients/{patient_id}/plans",
        tags=["plans"],
        responses=answers(200, {"type": "array"}, 401, 404, 422),
    )
    def list_plans(patient_id: RecordId, user: accounts.User = User) -> list[dict[str, Any]]:
        return plan_records.list_plans(engine, user, patient_id)

    @router.get(
        "/api/v1/patients/{patient_id}/plans/{plan_id}",
        tags=["plans"],
        responses=answers(200, {"type": "object"}, 401, 404, 422),
    )
    def get_plan(
        patient_id: RecordId, plan_id: RecordId, user: accounts.User = User
    ) -> dict[str, Any]:
        return plan_records.get_plan(engine, user, patient_id, plan_id)

    @router.post(
        "/api/v1/patients/{patient_id}/plans/{plan_id}/steps/{position}/confirm",
        tags=["plans"],
        status_code=201,
        openapi_extra=once_body("ConfirmInput"),
        responses=answers(201, ref("EventRecord"), 400, 401, 403, 404, 409, 413, 422),
    )
    def confirm(
        patient_id: RecordId,
        plan_id: RecordId,
        position: StepPosition,
        request: Request,
        user: accounts.User = User,
        document: Any = Body,
    ) -> JSONResponse:
        from ...services import overrides

        fields = fields_of(
            document, ("override_reason", "override", "retyped_dose", "cosigner"), ()
        )
        override = overrides.parse_override(
            fields.get("override"), text_of(fields.get("override_reason"), "override_reason")
        )
        retyped = text_of(fields.get("retyped_dose"), "retyped_dose")
        expected = version_of(request)

        def work() -> JSONResponse:
            cosigner = overrides.verify_cosigner(engine, user, fields.get("cosigner"))
            record = plan_records.confirm_step(
                engine,
                deps.pack_for(user),
                user,
                patient_id,
                plan_id,
                position,
                None,
                expected,
                override=override,
                retyped_dose=retyped,
                cosigner=cosigner,
            )
            return JSONResponse(record, status_code=201)

        return once(engine, user, request, document, work)

    return router
