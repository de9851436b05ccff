"""The engine itself: health, the contract's check and plan, the rules with their quotes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from ...errors import InputError
from ...services import accounts
from ..requests import body_bytes, json_document
from ..schemas import answers, body, many, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:
    from ...serialize import check_answer, plan_json, rule_json

    router = APIRouter()
    User = deps.user
    Body = deps.body
    auth = deps.auth

    @router.get("/healthz", tags=["service"], responses=answers(200, {"type": "object"}))
    @router.get("/api/v1/healthz", tags=["service"], responses=answers(200, {"type": "object"}))
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def answer_case(raw: bytes, user: accounts.User) -> JSONResponse:
        # the CASE read by the texts of its events (the same history comes with every check);
        # a text that reader leaves is read as any body is (400 for one that is not JSON)
        from ...model import parse_case
        from ...model.case_text import quick_case
        from ...rules import check

        case = quick_case(raw)
        if case is None:
            case = parse_case(json_document(raw))
        pack = deps.pack_for(user, case.proposal.medicine)
        findings = check(case.patient, case.history, case.proposal, pack)
        return JSONResponse(check_answer(findings, pack))

    async def check_direct(request: Request) -> JSONResponse:
        """The same endpoint without the dependency-injection layer: checks are the hot path
        (every order an EHR drafts), so they are routed straight to the same steps. The body
        is read on the event loop; the token look-up and the check run in worker threads, so
        a long history never holds up other requests (the reader bounds its size)."""
        user = await run_in_threadpool(auth, request)  # before the body: no stranger's megabyte
        raw = await body_bytes(request)
        return await run_in_threadpool(answer_case, raw, user)

    router.routes.append(Route("/api/v1/check", check_direct, methods=["POST"]))

    @router.post(
        "/api/v1/plan",
        tags=["engine"],
        openapi_extra=body("PlanRequest"),
        responses=answers(200, ref("PlanAnswer"), 400, 401, 403, 413, 422),
    )
    def make_plan(user: accounts.User = User, document: Any = Body) -> JSONResponse:
        from ...planning import parse_request, plan

        request = parse_request(document)
        pack = deps.pack_for(user, request.goal.medicine)
        result = plan(request, pack)
        return JSONResponse(plan_json(result, pack), status_code=200 if result.made else 422)

    @router.get("/api/v1/rules", tags=["rules"], responses=answers(200, many("Rule"), 401))
    def rules(user: accounts.User = User, route: str | None = None) -> list[dict[str, Any]]:
        if route not in (None, "oral", "intrathecal"):
            raise InputError("route", "must be oral or intrathecal")
        return [rule_json(r) for r in deps.pack_for(user).by_route(route)]

    @router.get(
        "/api/v1/rules/{rule_id}", tags=["rules"], responses=answers(200, ref("Rule"), 401, 404)
    )
    def rule(rule_id: str, user: accounts.User = User) -> dict[str, Any]:
        return rule_json(deps.pack_for(user).rule(rule_id))

    return router
