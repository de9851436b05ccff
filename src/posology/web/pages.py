"""The clinician's pages, rendered on the server over the same store and core as the API.

Pages need a login session (an HttpOnly cookie); page forms that change anything carry the
session's CSRF token, and the pages' scripts send it as ``X-CSRF-Token`` to the JSON API. All
assets are in the package: nothing is fetched from elsewhere.

:func:`add_pages` is the one entry point (``posology.server.app`` calls it); each resource's
routes are in :mod:`posology.web.routes`, as the API's are in :mod:`posology.api.routes`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from ..knowledge import Pack
from .rendering import environment
from .routes import (
    dose_check,
    forbidden,
    indication,
    patients,
    plans,
    rules,
    session,
    smart,
    worklist,
)
from .routes.deps import PageDeps

STATIC = Path(__file__).parent / "static"


def add_pages(app: FastAPI, engine: Engine, pack: Pack) -> None:
    """Mounts the pages' assets, their Forbidden page and every page router on ``app``."""
    deps = PageDeps(engine, pack, environment(pack))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    forbidden.install(app, deps)
    # plans includes the handout (plan.pdf) before its own plan.{fmt}
    for module in (dose_check, rules, session, indication, worklist, patients, plans, smart):
        app.include_router(module.routes(deps))
