"""``GET /indication``: baclofen's indication, dose ranges, regimens and starting doses per
route, generated from the pack's rules (never written into a template)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...knowledge.derived import treatment_fields
from ..text import quantity_html
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()

    @router.get("/indication", include_in_schema=False)
    def indication(request: Request) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        pack = deps.pack_for(current[0])
        treatments = []
        for route in ("oral", "intrathecal"):
            fields = treatment_fields(pack, route)
            treatments.append(
                {
                    "route": route,
                    "range": f"{quantity_html(fields.daily_range.low)} to "
                    f"{quantity_html(fields.daily_range.high)}",
                    "regimen": fields.regimen_text(),
                    "start": quantity_html(fields.starting_dose) if fields.starting_dose else None,
                    "rules": [r for r in pack.rules.values() if r.route == route],
                }
            )
        general = [r for r in pack.rules.values() if r.route == "general"]
        return deps.render(
            "indication.html",
            pack=pack,
            user=current[0],
            csrf=current[1],
            general=general,
            treatments=treatments,
        )

    return router
