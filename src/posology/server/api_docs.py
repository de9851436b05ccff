"""The API viewer at ``/docs``, served from the package (no CDN, no inline script).

Swagger UI's files (Swagger UI by SmartBear, https://github.com/swagger-api/swagger-ui,
Apache-2.0; version 5, which reads OpenAPI 3.1) come from the files the ``fastapi-offline``
package ships (https://github.com/turettn/fastapi_offline) and are served under
``/docs/assets``; the page starts it with a script file of its own, so the strict
Content-Security-Policy holds on it too. ``POSOLOGY_API_DOCS`` says who may read ``/docs``
and ``/openapi.json``: ``public`` (the default: the document holds no patient data) or
``login`` (a token or a login session).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ..errors import InputError

HERE = Path(__file__).parent / "static"
SETTINGS = ("public", "login")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Posology API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/api-docs.js"></script>
</body></html>
"""


def docs_setting() -> str:
    """``POSOLOGY_API_DOCS``: public (default) or login."""
    value = os.environ.get("POSOLOGY_API_DOCS", "public").strip().lower() or "public"
    if value not in SETTINGS:
        raise InputError("POSOLOGY_API_DOCS", "must be public or login")
    return value


def install(app: FastAPI, auth: Any) -> None:
    """``/docs``, ``/docs/assets/…`` and ``/openapi.json`` (FastAPI's own are switched off)."""
    import fastapi_offline

    swagger_ui_path = Path(fastapi_offline.__file__).parent / "static"
    needs_login = docs_setting() == "login"

    def allowed(request: Request) -> None:
        if needs_login:
            auth(request)  # raises Unauthorized, answered 401 by the error table

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Any:
        from fastapi.responses import FileResponse

        own = HERE / name
        if name == "api-docs.js":
            return FileResponse(own, media_type="text/javascript")
        vendor = Path(swagger_ui_path) / name
        if name in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon.png") and vendor.is_file():
            return FileResponse(vendor)
        return JSONResponse({"error": {"field": "", "message": "not found"}}, status_code=404)

    @app.get("/docs", include_in_schema=False)
    def docs_page(request: Request) -> HTMLResponse:
        allowed(request)
        return HTMLResponse(PAGE)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> JSONResponse:
        allowed(request)
        return JSONResponse(app.openapi())
