"""Patient records: create (with identity), search, read, update (with If-Match)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...model.text import plain_text
from ...services import accounts
from ...services import patients as patient_records
from ..requests import (
    MAX_NAME,
    PATIENT_FIELDS,
    RecordId,
    fields_of,
    flag,
    identity_of,
    label_of,
    once,
    required_version,
)
from ..schemas import IF_MATCH, answers, body, many, once_body, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    User = deps.user
    Body = deps.body

    @router.post(
        "/api/v1/patients",
        tags=["patients"],
        status_code=201,
        openapi_extra=once_body("PatientInput"),
        responses=answers(201, ref("PatientRecord"), 400, 401, 403, 409, 413, 422),
    )
    def create_patient(
        request: Request, user: accounts.User = User, document: Any = Body
    ) -> JSONResponse:
        fields = fields_of(document, PATIENT_FIELDS, ("patient",))
        identity = identity_of(fields)  # first: a bad name is refused as the name, not the label
        label = label_of(fields.get("label") or (identity.name if identity else None))

        def work() -> JSONResponse:
            record = patient_records.create_patient(
                engine,
                user,
                fields["patient"],
                label,
                identity,
                flag(fields.get("confirm_duplicate"), "confirm_duplicate"),
            )
            return JSONResponse(record, status_code=201, headers={"ETag": f'"{record["version"]}"'})

        return once(engine, user, request, document, work)

    @router.get(
        "/api/v1/patients", tags=["patients"], responses=answers(200, many("PatientRecord"), 401)
    )
    def list_patients(user: accounts.User = User, q: str | None = None) -> list[dict[str, Any]]:
        if q is not None:  # typed text: no NUL (PostgreSQL refuses it), no control characters
            q = plain_text(q, "q", MAX_NAME, allow_blank=True)
        return patient_records.list_patients(engine, user, q)

    @router.get(
        "/api/v1/patients/{patient_id}",
        tags=["patients"],
        responses=answers(200, ref("PatientRecord"), 401, 404, 422),
    )
    def get_patient(patient_id: RecordId, user: accounts.User = User) -> JSONResponse:
        record = patient_records.get_patient(engine, user, patient_id)
        return JSONResponse(record, headers={"ETag": f'"{record["version"]}"'})

    @router.put(
        "/api/v1/patients/{patient_id}",
        tags=["patients"],
        openapi_extra={**body("PatientInput"), "parameters": [IF_MATCH]},
        responses=answers(200, ref("PatientRecord"), 400, 401, 403, 404, 409, 413, 422, 428),
    )
    def update_patient(
        patient_id: RecordId, request: Request, user: accounts.User = User, document: Any = Body
    ) -> JSONResponse:
        fields = fields_of(document, PATIENT_FIELDS, ("patient",))
        label = None if fields.get("label") is None else label_of(fields["label"])
        record = patient_records.update_patient(
            engine,
            user,
            patient_id,
            fields["patient"],
            label,
            required_version(request),
            identity_of(fields),
            flag(fields.get("confirm_duplicate"), "confirm_duplicate"),
        )
        return JSONResponse(record, headers={"ETag": f'"{record["version"]}"'})

    return router
