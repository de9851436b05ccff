"""A patient's history: list, append (checked, with overrides), check a proposal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...errors import InputError
from ...services import accounts
from ...services import history as event_history
from ..requests import (
    EVENT_FIELDS,
    RecordId,
    correction_of,
    fields_of,
    once,
    text_of,
    version_of,
)
from ..schemas import answers, body, many, once_body, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:
    from ...serialize import check_answer, pack_json

    router = APIRouter()
    engine = deps.engine
    User = deps.user
    Body = deps.body

    @router.get(
        "/api/v1/patients/{patient_id}/events",
        tags=["history"],
        responses=answers(200, many("EventRecord"), 401, 404, 422),
    )
    def list_events(patient_id: RecordId, user: accounts.User = User) -> list[dict[str, Any]]:
        return event_history.list_events(engine, user, patient_id)

    @router.post(
        "/api/v1/patients/{patient_id}/events",
        tags=["history"],
        status_code=201,
        openapi_extra=once_body("EventInput"),
        responses=answers(201, ref("EventRecord"), 400, 401, 403, 404, 409, 413, 422),
    )
    def append_event(
        patient_id: RecordId, request: Request, user: accounts.User = User, document: Any = Body
    ) -> JSONResponse:
        from ...services import overrides

        fields = fields_of(document, EVENT_FIELDS, ())
        reason = text_of(fields.get("override_reason"), "override_reason")
        supersedes = fields.get("supersedes")
        if supersedes is not None and (
            isinstance(supersedes, bool) or not isinstance(supersedes, int)
        ):
            raise InputError("supersedes", "must be the id of an event of this patient")
        correction = correction_of(fields.get("correction"))
        if fields.get("event") is None and (
            correction is None or correction.kind != event_history.VOID
        ):
            raise InputError("event", "missing; give the EVENT to record")
        override = overrides.parse_override(fields.get("override"), reason)
        retyped = text_of(fields.get("retyped_dose"), "retyped_dose")
        expected = version_of(request)

        def work() -> JSONResponse:
            cosigner = overrides.verify_cosigner(engine, user, fields.get("cosigner"))
            pack = deps.pack_for(user)
            record = event_history.append_event(
                engine,
                pack,
                user,
                patient_id,
                fields.get("event"),
                None,
                supersedes,
                expected,
                override=override,
                retyped_dose=retyped,
                cosigner=cosigner,
                correction=correction,
            )
            answer = {**record, "pack": pack_json(pack)}  # the rules that judged its findings
            return JSONResponse(answer, status_code=201, headers={"ETag": f'"{record["version"]}"'})

        return once(engine, user, request, document, work)

    @router.post(
        "/api/v1/patients/{patient_id}/check",
        tags=["history"],
        openapi_extra=body("ProposalInput"),
        responses=answers(200, ref("CheckAnswer"), 400, 401, 404, 413, 422),
    )
    def check_for_patient(
        patient_id: RecordId, user: accounts.User = User, document: Any = Body
    ) -> dict[str, Any]:
        from ...model import parse_event, parse_patient
        from ...rules import check

        fields = fields_of(document, ("proposal",), ("proposal",))
        patient_doc, history = event_history.case_for(engine, user, patient_id)
        proposal = event_history.typed_event(
            engine, user, parse_event(fields["proposal"], "proposal"), "proposal.at"
        )
        pack = deps.pack_for(user, proposal.medicine)  # the proposal's medicine judges it
        return check_answer(check(parse_patient(patient_doc), history, proposal, pack), pack)

    return router
