"""A page the user's role may not open is said in a page, not in JSON; the API and CDS Hooks
keep their JSON error.

An exception handler, not a router (FastAPI's routers take none): :func:`install` adds it to
the app, as :func:`posology.web.pages.add_pages` does once.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ...errors import Forbidden
from .deps import PageDeps


def install(app: FastAPI, deps: PageDeps) -> None:
    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith(("/api/", "/cds-services")):
            return JSONResponse({"error": {"field": "", "message": str(exc)}}, status_code=403)
        current = deps.session(request)
        return deps.render(
            "forbidden.html",
            status=403,
            user=current[0] if current else None,
            csrf=current[1] if current else "",
            message=str(exc),
        )
