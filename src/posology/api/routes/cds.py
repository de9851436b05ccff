"""CDS Hooks: discovery, the services and their feedback, each call with the EHR's JWT."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...services import cds_feedback as cds_records
from ..requests import (
    MAX_BODY,
    json_body,
)
from .deps import Deps


def routes(deps: Deps, verifier: Any) -> APIRouter:
    """The CDS Hooks router; ``verifier`` checks the EHRs' JWTs (default: the allow-list in
    ``POSOLOGY_CDS_ISSUERS``)."""
    from ...errors import BadJson, BodyTooLarge, BodyTooSlow, CdsError, InputError, TokenRefused
    from ...interop.cds_auth import Verifier
    from ...interop.cds_hooks import SERVICES, answer, discovery

    router = APIRouter()
    engine = deps.engine

    checker = verifier or Verifier.from_json(os.environ.get("POSOLOGY_CDS_ISSUERS", ""))
    if checker.remember is None and engine.url.database not in (None, "", ":memory:"):
        # a replay must be refused by every worker and after a restart: on SQLite, token ids
        # become files beside the database, created atomically (no database lock); on
        # PostgreSQL they go in its table. Only a database in memory keeps them in memory.
        if engine.dialect.name == "sqlite":
            from pathlib import Path

            from ...store.replay import FileReplayGuard

            guard = FileReplayGuard(Path(engine.url.database).resolve().parent / "cds-replay")
            checker.remember = guard.remember
        else:
            checker.remember = lambda jti, expires: cds_records.remember_jti(engine, jti, expires)

    # The audience a token must name: this service's configured public URL and the path called,
    # never the request's own Host header (which the caller chooses).
    public = os.environ.get("POSOLOGY_PUBLIC_URL", "").strip().rstrip("/")

    def authorised(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            if not public:
                raise TokenRefused(
                    "this server's public URL is not configured (set POSOLOGY_PUBLIC_URL, e.g. "
                    "https://posology.hospital.example): a token's audience cannot be checked"
                )
            return dict(
                checker.verify(request.headers.get("authorization"), public + request.url.path)
            )
        except TokenRefused as exc:
            issue = {"severity": "error", "code": "security", "diagnostics": str(exc)}
            return JSONResponse(
                {"resourceType": "OperationOutcome", "issue": [issue]}, status_code=401
            )

    async def hook_body(request: Request) -> Any:
        """The body as JSON. One that is no JSON (or too large, or too slow) is refused as the
        service refuses everything, with an OperationOutcome, not the API's error object."""
        try:
            return await json_body(request)
        except BadJson as exc:
            said = f"{exc.field}: {exc}" if exc.field else f"the body cannot be read: {exc}"
            raise CdsError(400, said) from None
        except BodyTooLarge:
            raise CdsError(413, f"the body is larger than {MAX_BODY} bytes") from None
        except BodyTooSlow as exc:
            raise CdsError(408, str(exc)) from None

    outcome = {
        "description": "a CDS Hooks answer or a FHIR OperationOutcome",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    cds_answers: dict[int | str, dict[str, Any]] = {
        code: outcome for code in (200, 400, 401, 404, 412, 413)
    }

    def judged(service_id: str, document: Any, issuer: Any) -> dict[str, Any]:
        """The service's answer by the rules of the clinic whose staff use this EHR (its
        ``clinic`` in ``POSOLOGY_CDS_ISSUERS``), else by the server's default; the call's
        ``fhirServer`` is read only when it is one of the EHR's ``fhir`` servers."""
        clinic = issuer.clinic if issuer else None
        servers = issuer.fhir if issuer else ()
        return answer(service_id, document, deps.pack_for_clinic(clinic), fhir_servers=servers)

    @router.get("/cds-services", tags=["cds-hooks"], responses={200: outcome})
    def cds_discovery() -> dict[str, Any]:
        return discovery()

    @router.post("/cds-services/{service_id}", tags=["cds-hooks"], responses=cds_answers)
    async def cds_call(service_id: str, request: Request) -> JSONResponse:
        # the token check (a replay look-up) and the judging run in worker threads, off the
        # event loop, so one EHR's long history never holds up another's call
        claims = await run_in_threadpool(authorised, request)
        if isinstance(claims, JSONResponse):
            return claims
        try:
            document = await hook_body(request)
            issuer = checker.issuers.get(str(claims.get("iss")))
            return JSONResponse(await run_in_threadpool(judged, service_id, document, issuer))
        except CdsError as exc:
            return JSONResponse(exc.outcome, status_code=exc.status)

    @router.post("/cds-services/{service_id}/feedback", tags=["cds-hooks"], responses=cds_answers)
    async def cds_feedback(service_id: str, request: Request) -> JSONResponse:
        claims = await run_in_threadpool(authorised, request)
        if isinstance(claims, JSONResponse):
            return claims
        if service_id not in SERVICES:
            return JSONResponse(
                CdsError(404, f"no CDS service {service_id!r}").outcome, status_code=404
            )
        try:
            document = await hook_body(request)
        except CdsError as exc:
            return JSONResponse(exc.outcome, status_code=exc.status)
        items = document.get("feedback") if isinstance(document, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and i.get("card") and i.get("outcome") for i in items
        ):
            bad = CdsError(400, "feedback must be a list of {card, outcome, …}")
            return JSONResponse(bad.outcome, status_code=400)
        iss = str(claims.get("iss"))
        issuer = checker.issuers.get(iss)
        try:
            added = await run_in_threadpool(
                cds_records.record_cds_feedback,
                engine,
                service_id,
                iss,
                issuer.clinic if issuer else None,
                items,
            )
        except InputError as exc:
            return JSONResponse(CdsError(400, str(exc)).outcome, status_code=400)
        return JSONResponse({"recorded": added})

    return router
