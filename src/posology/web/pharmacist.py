"""What the pharmacist's pages read of the pack: the proposals a dose check offers, the rules
a search finds, each source by its name, and the WHO's defined daily doses.

The routes are in :mod:`posology.web.routes.dose_check` and :mod:`posology.web.routes.rules`;
these helpers are apart so the templates (as globals) and the routes share them.
"""

from __future__ import annotations

from typing import Any

from ..knowledge import Pack, Rule

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


DDD_ROLE = "ddd"
DDD_ROUTES = {"oral": "oral", "intrathecal": "parenteral"}
"""Which of the WHO's defined daily doses each route of the pack reads: the WHO gives one for
oral and one for parenteral use, and intrathecal use is parenteral."""


def defined_daily_doses(pack: Pack) -> dict[str, dict[str, Any]]:
    """The WHO DDD per route, with the rule it comes from, for the indication page's row (a
    measure of use, not a dose range: the page must not show the range again there)."""
    rule = pack.role(DDD_ROLE)
    return {
        route: {"dose": rule.quantity(name), "rule": rule, "atc": rule.code("atc")}
        for route, name in DDD_ROUTES.items()
    }
