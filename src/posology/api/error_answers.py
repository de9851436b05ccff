"""Every error the server answers, as the contract's ``{"error": {field, message}}`` with its
status: one table from the error hierarchy to HTTP, so no deliberate error becomes a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    BadJson,
    BodyTooLarge,
    Conflict,
    Duplicate,
    Forbidden,
    InputError,
    KeyReused,
    NeedsOverride,
    NotFound,
    PosologyError,
    PreconditionRequired,
    Unauthorized,
    UnknownRuleError,
)
from .requests import MAX_BODY, error, finding_of


def install(app: FastAPI) -> None:
    """Answer each error class of the hierarchy with its status."""
    table: list[tuple[type[Exception], Callable[[Any], JSONResponse]]] = [
        (BadJson, lambda e: error(400, e.field, f"the body is {e}" if not e.field else str(e))),
        (BodyTooLarge, lambda e: error(413, "", f"the body is larger than {MAX_BODY} bytes")),
        (
            NeedsOverride,
            lambda e: error(422, e.field, str(e), findings=[finding_of(f) for f in e.findings]),
        ),
        (Duplicate, lambda e: error(409, e.field, str(e), **e.extra)),
        (PreconditionRequired, lambda e: error(428, e.field, str(e))),
        (KeyReused, lambda e: error(409, "Idempotency-Key", str(e))),
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

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(x) for x in first.get("loc", ()) if x not in ("body", "path", "query"))
        return error(422, field, str(first.get("msg", "invalid value")))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, "", str(exc.detail))
