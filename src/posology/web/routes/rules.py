"""``GET /rules`` and ``GET /rules/{rule_id}``: the pack's rules as HTML with a search box; an
unknown rule answers 404 with the rules its name finds, so a mistyped ID still leads somewhere.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..pharmacist import search_rules
from .deps import PageDeps


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()

    @router.get("/rules", include_in_schema=False)
    def rules_page(request: Request, q: str = "") -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        pack = deps.pack_for(current[0])
        found = search_rules(pack, q)
        return deps.render(
            "rules.html",
            pack=pack,
            user=current[0],
            csrf=current[1],
            rules=found,
            q=q,
            total=len(pack.rules),
        )

    @router.get("/rules/{rule_id}", include_in_schema=False)
    def rule_page(request: Request, rule_id: str) -> Response:
        current = deps.session(request)
        if current is None:
            return deps.to_login(request)
        pack = deps.pack_for(current[0])
        rule = pack.rules.get(rule_id)
        if rule is None:
            found = search_rules(pack, rule_id)
            return deps.render(
                "rules.html",
                status=404,
                pack=pack,
                user=current[0],
                csrf=current[1],
                rules=found,
                q=rule_id,
                total=len(pack.rules),
                missing=rule_id,
            )
        return deps.render("rule_page.html", pack=pack, user=current[0], csrf=current[1], r=rule)

    return router
