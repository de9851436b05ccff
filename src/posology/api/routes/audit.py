"""The audit trail for admins, as JSON and CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from ...services import accounts, audit_trail
from ..schemas import answers, ref
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    User = deps.user

    @router.get(
        "/api/v1/audit", tags=["audit"], responses=answers(200, {"type": "array"}, 401, 403)
    )
    def audit(user: accounts.User = User) -> list[dict[str, Any]]:
        return audit_trail.audit_rows(engine, user)

    @router.get(
        "/api/v1/audit.csv",
        tags=["audit"],
        response_class=PlainTextResponse,
        responses={
            200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
            401: {
                "description": "error",
                "content": {"application/json": {"schema": ref("Error")}},
            },
            403: {
                "description": "error",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    )
    def audit_csv(user: accounts.User = User) -> Response:
        return Response(
            audit_trail.audit_csv(engine, user),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )

    return router
