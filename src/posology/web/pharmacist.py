"""The pharmacist's pages: a dose check for a patient that saves nothing, and the pack's rules
as HTML with a search box, each source shown by its name.

Registered by :func:`posology.web.pages.add_pages` with one call; the pages share its templates
and its login session. The dose check posts to ``POST /api/v1/patients/{id}/check`` from the
browser (``static/dose_check.js``), so the answer is the checker's own, nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from ..knowledge import Pack, Rule
from ..services import accounts
from ..services import patients as patient_records
from ..services.clinic import clinic_now, clinic_zone
from .handout import add_handout_route

CHECK_KINDS = {
    "oral-regimen": "Oral baclofen regimen",
    "oral-stop": "Stop oral baclofen",
    "it-test-dose": "Intrathecal test dose",
    "it-infusion": "Start or change intrathecal infusion",
    "it-stop": "Stop intrathecal infusion",
}
"""The proposals a pharmacist checks, in words, in the order the panel offers them."""


def rule_text(rule: Rule) -> str:
    """Everything a search may match in a rule: ID, title, statement, quote and source names."""
    names = " ".join(source_name(s) for s in rule.sources)
    return f"{rule.id} {rule.title} {rule.statement} {rule.citation.quote} {names}".casefold()


def source_name(source: Any) -> str:
    """A source as people name it: its title where it has one (the source page's own title,
    not the file it is shipped in), else its name."""
    return str(source.title or source.name)


def search_rules(pack: Pack, query: str) -> list[Rule]:
    """The rules holding every word of ``query`` (any case), in the pack's order; all for none."""
    words = query.casefold().split()
    return [r for r in pack.rules.values() if all(w in rule_text(r) for w in words)]


DDD_RULE = "SUP-DDD"
DDD_ROUTES = {"oral": "oral", "intrathecal": "parenteral"}
"""Which of the WHO's defined daily doses each route of the pack reads: the WHO gives one for
oral and one for parenteral use, and intrathecal use is parenteral."""


def defined_daily_doses(pack: Pack) -> dict[str, dict[str, Any]]:
    """The WHO DDD per route, with the rule it comes from, for the indication page's row (a
    measure of use, not a dose range: the page must not show the range again there)."""
    rule = pack.rule(DDD_RULE)
    return {
        route: {"dose": rule.quantity(name), "rule": rule, "atc": rule.code("atc")}
        for route, name in DDD_ROUTES.items()
    }


def add_pharmacist_pages(
    app: FastAPI,
    engine: Engine,
    pack: Pack,
    env: Any,
    render: Callable[..., HTMLResponse],
    session: Callable[[Request], tuple[accounts.User, str] | None],
    to_login: Callable[..., RedirectResponse],
) -> None:
    """The routes ``/dose-check``, ``/rules`` and ``/rules/{rule_id}``, with the pages' own
    rendering, session and login redirect."""
    env.globals["source_name"] = source_name
    env.globals["defined_daily_dose"] = defined_daily_doses(pack)

    add_handout_route(app, engine, pack, env, session)  # before the pages' other downloads

    @app.get("/dose-check", include_in_schema=False)
    def dose_check(request: Request, patient: int | None = None) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        patients = patient_records.list_patients(engine, current[0])
        chosen = next((p for p in patients if p["id"] == patient), None)
        now = clinic_now(clinic_zone(engine, current[0]), None).strftime("%Y-%m-%dT%H:%M")
        return render(
            "dose_check.html",
            user=current[0],
            csrf=current[1],
            patients=patients,
            chosen=chosen,
            kinds=CHECK_KINDS,
            now=now,
        )

    @app.get("/rules", include_in_schema=False)
    def rules_page(request: Request, q: str = "") -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        found = search_rules(pack, q)
        return render(
            "rules.html",
            user=current[0],
            csrf=current[1],
            rules=found,
            q=q,
            total=len(pack.rules),
        )

    @app.get("/rules/{rule_id}", include_in_schema=False)
    def rule_page(request: Request, rule_id: str) -> Response:
        current = session(request)
        if current is None:
            return to_login(request)
        rule = pack.rules.get(rule_id)
        if rule is None:
            found = search_rules(pack, rule_id)
            return render(
                "rules.html",
                status=404,
                user=current[0],
                csrf=current[1],
                rules=found,
                q=rule_id,
                total=len(pack.rules),
                missing=rule_id,
            )
        return render("rule_page.html", user=current[0], csrf=current[1], r=rule)
