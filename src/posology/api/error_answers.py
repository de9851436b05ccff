"""Every error the server answers, as the contract's ``{"error": {field, message}}`` with its
status: one table from the error hierarchy to HTTP, so no deliberate error becomes a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    BadJson,
    BodyTooLarge,
    BodyTooSlow,
    Busy,
    Conflict,
    Duplicate,
    Forbidden,
    HistoryTooLong,
    InputError,
    KeyReused,
    NeedsOverride,
    NotFound,
    PosologyError,
    PreconditionRequired,
    TooManyAttempts,
    Unauthorized,
    UnknownRuleError,
)
from .requests import MAX_BODY, error, finding_of


def _later(status: int, field: str, message: str, seconds: int) -> JSONResponse:
    answer = error(status, field, message)
    answer.headers["Retry-After"] = str(max(1, seconds))
    return answer


def install(app: FastAPI) -> None:
    """Answer each error class of the hierarchy with its status."""
    table: list[tuple[type[Exception], Callable[[Any], JSONResponse]]] = [
        (BadJson, lambda e: error(400, e.field, str(e) if e.field else f"the request body: {e}")),
        (BodyTooLarge, lambda e: error(413, "", f"the body is larger than {MAX_BODY} bytes")),
        (BodyTooSlow, lambda e: error(408, "", str(e))),
        (HistoryTooLong, lambda e: error(413, e.field, e.message)),
        (
            NeedsOverride,
            lambda e: error(422, e.field, str(e), findings=[finding_of(f) for f in e.findings]),
        ),
        (Duplicate, lambda e: error(409, e.field, str(e), **e.extra)),
        (PreconditionRequired, lambda e: error(428, e.field, str(e))),
        (KeyReused, lambda e: error(409, "Idempotency-Key", str(e))),
        (TooManyAttempts, lambda e: _later(429, "email", str(e), e.retry_after)),
        (Busy, lambda e: _later(503, "", str(e), e.retry_after)),
        (InputError, lambda e: error(422, e.field, e.message)),
        (UnknownRuleError, lambda e: error(404, "id", str(e))),
        (NotFound, lambda e: error(404, "", str(e))),
        (Conflict, lambda e: error(409, "If-Match", str(e))),
        (Forbidden, lambda e: error(403, "", str(e))),
        (
            Unauthorized,
            lambda e: JSONResponse(
                {"error": {"field": "Authorization", "message": str(e)}},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            ),
        ),
        (PosologyError, lambda e: error(422, "", str(e))),
    ]
    for exc_type, make in table:
        app.add_exception_handler(exc_type, lambda _r, e, make=make: make(e))

    @app.exception_handler(OperationalError)
    async def database_busy(_request: Request, exc: OperationalError) -> JSONResponse:
        """A database that is locked or unreachable for a moment: nothing was written, and
        the client may send the request again (never a 500)."""
        return _later(503, "", "the database is busy; nothing was saved, try again", 2)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(x) for x in first.get("loc", ()) if x not in ("body", "path", "query"))
        return error(422, field, str(first.get("msg", "invalid value")))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, "", str(exc.detail))
