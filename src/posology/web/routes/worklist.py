"""``GET /worklist``: the clinic's pump patients by refill urgency, each with the days until
its refill is due, optionally one pump state only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...services import pump as pump_service
from ..text import instant
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine

    @router.get("/worklist", include_in_schema=False)
    def worklist_page(request: Request, filter: str | None = None) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        only = filter if filter in pump_service.FILTERS else None
        pack = deps.pack_for(current[0])
        answer = pump_service.worklist(engine, pack, current[0], only)
        today = datetime.fromisoformat(answer["at"]).date()
        for row in answer["patients"]:
            due = instant(row["due_at"])
            row["due_in"] = None if due is None else (due.date() - today).days
        return deps.render(
            "worklist.html",
            pack=pack,
            user=current[0],
            csrf=current[1],
            work=answer,
            only=only,
        )

    return router
