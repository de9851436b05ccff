"""Login sessions for the pages and API clients that log in (cookie plus CSRF token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...errors import InputError
from ...services import accounts
from ..auth import SESSION_COOKIE
from ..requests import (
    fields_of,
)
from ..schemas import answers, body
from .deps import Deps


def routes(deps: Deps) -> APIRouter:

    router = APIRouter()
    engine = deps.engine
    User = deps.user
    Body = deps.body

    @router.post(
        "/api/v1/login",
        tags=["session"],
        openapi_extra=body("Login"),
        responses=answers(200, {"type": "object"}, 400, 401, 422, 429, 503),
    )
    async def login(request: Request, document: Any = Body) -> JSONResponse:
        fields = fields_of(document, ("email", "password"), ("email", "password"))
        if not all(isinstance(fields[k], str) for k in ("email", "password")):
            raise InputError("email", "email and password must be strings")
        address = request.client.host if request.client else None
        user, session, csrf = await accounts.login_async(
            engine, fields["email"], fields["password"], address
        )
        response = JSONResponse(
            {"email": user.email, "role": user.role, "clinic": user.clinic, "csrf_token": csrf}
        )
        response.set_cookie(
            SESSION_COOKIE,
            session,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
        return response

    @router.post(
        "/api/v1/logout", tags=["session"], responses=answers(200, {"type": "object"}, 401, 403)
    )
    def logout(request: Request, user: accounts.User = User) -> JSONResponse:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            accounts.logout(engine, session)
        response = JSONResponse({"status": "logged out"})
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
