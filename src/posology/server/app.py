"""The Posology server: the contract's HTTP API, the pages and CDS Hooks over the same core as
the command line.

Bodies are read by the same strict document readers as ``posology check`` and ``posology plan``,
so an input error names the same field with the same fix: 400 for a body that is not JSON, 422
for a document that is not usable, never 500. Every call but ``/healthz`` needs a bearer token
(or a login session with its CSRF token for unsafe methods).

The rules judge by each clinic's jurisdiction profile (``posology clinic profile``); a clinic
with none, and a call from no clinic, is judged by the server's, ``POSOLOGY_PROFILE``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from ..api import error_answers
from ..api.auth import Auth
from ..api.routes import audit, cds, history, overrides, patients, plans, pump, session
from ..api.routes import engine as engine_routes
from ..api.routes.deps import Deps
from ..api.schemas import COMPONENTS, answers, body, ref
from ..knowledge import Pack
from . import api_docs
from .access_log import AccessLog
from .headers import SecurityHeaders


def create_app(
    engine: Engine | None = None,
    pack: Pack | None = None,
    migrate: bool = True,
    cds_verifier: Any = None,
) -> FastAPI:
    """The application on ``engine`` (default: ``DATABASE_URL``), migrated to the latest schema."""
    from ..store.db import open_engine, upgrade

    pack = pack or default_pack()  # first: a wrong POSOLOGY_PROFILE stops before any work
    engine = engine or open_engine()
    if migrate:
        upgrade(engine)
    auth = Auth(engine)
    app = FastAPI(
        title="Posology",
        version="0.1.0",
        description="Checks and plans baclofen doses against cited label rules. It supports "
        "clinical judgement; it does not replace it.",
        docs_url=None,  # served by api_docs from the package, not from a CDN
        redoc_url=None,
        openapi_url=None,
    )
    app.state.engine = engine

    error_answers.install(app)
    api_docs.install(app, auth)
    deps = Deps(engine, pack, auth)
    for module in (engine_routes, session, patients, history, pump, plans, overrides, audit):
        app.include_router(module.routes(deps))
    from ..web.pages import add_pages

    add_pages(app, engine, pack)
    app.include_router(cds.routes(deps, cds_verifier))
    origins = [
        o.strip() for o in os.environ.get("POSOLOGY_CORS_ORIGINS", "").split(",") if o.strip()
    ]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        # /api/v1/check is a plain route (the hot path, see check_direct): describe it here
        schema.setdefault("paths", {})["/api/v1/check"] = {
            "post": {
                "tags": ["engine"],
                "summary": "Check Case",
                "operationId": "check_case_api_v1_check_post",
                **body("Case"),
                "responses": {
                    str(code): answer
                    for code, answer in answers(
                        200, ref("CheckAnswer"), 400, 401, 403, 413, 422
                    ).items()
                },
            }
        }
        schema.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(SecurityHeaders)  # every answer, errors included
    app.add_middleware(AccessLog)  # outermost: times the whole answer
    return app


def default_pack(medicine: str = "baclofen") -> Pack:
    """The server's pack: ``medicine`` under ``POSOLOGY_PROFILE`` (default: the source page's).
    An unknown profile stops the start with one line naming the shipped ones (an
    :class:`~posology.errors.InputError`), not a server judging by numbers nobody chose."""
    from ..services.clinic import profile_pack, shipped_profile

    profile = os.environ.get("POSOLOGY_PROFILE", "").strip() or "default"
    return profile_pack(medicine, shipped_profile(profile, "POSOLOGY_PROFILE"))


def settle_memory() -> None:
    """Move what start-up built (the pack, the app) out of the collector's way, and let the
    short-lived values of a check be collected less often: fewer pauses under load."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def app_from_environment() -> FastAPI:
    """The app for a worker process of ``posology serve --workers N`` (already migrated)."""
    app = create_app(migrate=False)
    settle_memory()
    return app
