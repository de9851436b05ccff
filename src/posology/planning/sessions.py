"""The injection session planner: a botulinum toxin session from the muscles chosen.

The clinician chooses the product and the muscles (and their sides); the plan gives each muscle
the low end of its range in the pack (the labels' "lowest recommended starting dose"; per kg
with the patient's weight for a child), spread over the sites the pack gives for the muscle and
over more when a site would hold more than the product's most per site; dates the session no
sooner than every interval rule of the product allows after the last session; and adds a review
at the earliest date of the next session. The replay then judges the session against every
check (the totals per limb and per session among them): a choice of muscles whose lowest doses
exceed a total withdraws the plan, with the rule that says so, for the clinician to choose fewer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from ..knowledge.schema import Pack, Range, Rule, Severity
from ..model.events import Injection, InjectionSession, Review
from ..model.finding import Finding
from ..rules.context import build_context, for_population
from ..rules.sessions import last_session, limb_of, muscle_words, next_allowed, product_name
from ..units import ACTIVITY, Quantity
from .model import Step
from .notes import note, refuse
from .request import PlanRequest


def injection_session(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    goal = req.goal
    product = goal.product
    assert product is not None
    ctx = build_context(req.patient, req.history, Review(req.start, "plan start"), pack)
    guide = pack.role("injection.muscles")
    rounding = guide.quantity("plan_rounding")

    def applies(rule: Rule) -> bool:
        return (
            "plan" in rule.engine
            and rule.codes.get("product") in (None, product)
            and for_population(rule, ctx.is_child)
        )

    dose_rules = [r for r in pack.of_kind("muscle-dose") if applies(r)]
    site_rules = [r for r in pack.of_kind("site-dose") if applies(r)]
    injections: list[Injection] = []
    cited: list[str] = []
    for muscle, side in goal.muscles:
        rule = next((r for r in dose_rules if muscle in _table(r, "doses")), None)
        if rule is None:
            refuse(
                pack,
                guide.id,
                guide.phrase(
                    "plan_no_dose", muscle=muscle_words(muscle), product=product_name(pack, product)
                ),
            )
        listed = _table(rule, "doses")[muscle]
        assert isinstance(listed, Range)
        low, high = (
            _for_patient(listed.low, ctx.patient.weight),
            _for_patient(listed.high, ctx.patient.weight),
        )
        if low is None or high is None:
            refuse(pack, rule.id, rule.text("finding_weight_unknown"))
        dose = _rounded_up(low, rounding, high)
        sites = _sites(rule, muscle, dose, site_rules)
        injections.append(Injection(muscle, dose, sites, side))
        cited.append(rule.id)
    at = req.start
    interval_rules = [r for r in pack.of_kind("session-interval") if applies(r)]
    for rule in interval_rules:
        before = last_session(ctx, rule)
        if before is not None and next_allowed(before, rule) > at:
            at = next_allowed(before, rule)
    session = InjectionSession(at, product, tuple(injections))
    lines = "; ".join(
        guide.phrase(
            "plan_injection",
            muscle=muscle_words(i.muscle) + (f" ({i.side})" if i.side else ""),
            dose=i.dose.text(),
            sites=i.sites,
        )
        for i in injections
    )
    limbs = limb_of(pack)
    chosen_limbs = {limbs.get(i.muscle) for i in injections}
    totals = [
        r.id
        for r in pack.of_kind("session-total")
        if applies(r) and r.codes.get("limb", "any") in ("any", *chosen_limbs)
    ]
    steps = [
        Step(
            session,
            tuple(dict.fromkeys([*cited, *(r.id for r in site_rules), *totals])),
            guide.phrase("plan_session", product=product_name(pack, product), injections=lines),
        )
    ]
    if interval_rules:
        next_at = max(next_allowed(session, r) for r in interval_rules)
        steps.append(
            Step(
                Review(next_at, guide.text("plan_review_note")),
                tuple(r.id for r in interval_rules),
                guide.phrase("plan_review", earliest=next_at.date().isoformat()),
            )
        )
    spread = pack.role("injection.spread")
    return steps, [note(pack, spread.id, Severity.INFO, spread.text("plan_note"))]


def _table(rule: Rule, name: str) -> Mapping[str, object]:
    """A table of the rule's numbers by muscle (``doses``, ``sites``)."""
    value = rule.value(name)
    return value if isinstance(value, Mapping) else {}


def _for_patient(amount: Quantity, weight: Quantity | None) -> Quantity | None:
    """Units as they are; Units per kg times the weight (None without one)."""
    if amount.dim == ACTIVITY:
        return amount
    return None if weight is None else amount * weight


def _rounded_up(low: Quantity, step: Quantity, high: Quantity) -> Quantity:
    """``low`` rounded up to a whole number of ``step`` (a dose drawn up in whole Units), never
    past ``high``: then ``low`` as it is."""
    steps = math.ceil(low.base / step.base)
    rounded = Quantity(Fraction(steps) * step.base, step.unit)
    return rounded if rounded <= high else low


def _sites(rule: Rule, muscle: str, dose: Quantity, site_rules: list[Rule]) -> int:
    """The sites of the muscle's table entry, more when a site would hold more than a site
    rule's most."""
    listed = _table(rule, "sites").get(muscle) if "sites" in rule.numbers else None
    sites = int(listed) if isinstance(listed, Fraction) else 1
    for site_rule in site_rules:
        most = site_rule.quantity("most_per_site")
        sites = max(sites, math.ceil(dose.base / most.base))
    return sites
