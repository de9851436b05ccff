"""Kinds of screening rules: who may be screened, the test-dose ladder, monitoring.

Each kind reads its numbers, codes and words from the rule it is given.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack, Rule
from ..model.events import ItInfusion, ItTestDose, PumpImplant
from ..model.finding import Finding
from ..units import format_number
from .context import Context, floor_to, since
from .kinds import implements
from .per_pack import per_rule


def _test_dose(ctx: Context) -> ItTestDose | None:
    return ctx.proposal if isinstance(ctx.proposal, ItTestDose) else None


@implements("minimum-age", ItTestDose, PumpImplant, ItInfusion)
def minimum_age(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A test dose, an implant or an infusion for a patient younger than ``min_age``
    (``under``; ``under_reducing`` for an infusion that lowers the dose in force)."""
    if not isinstance(ctx.proposal, (ItTestDose, PumpImplant, ItInfusion)):
        return
    min_age = rule.quantity("min_age")
    if ctx.age_quantity is None or ctx.age_quantity >= min_age:
        return
    running = ctx.infusion_active
    proposal = ctx.proposal
    lowers = (
        isinstance(proposal, ItInfusion)
        and running is not None
        and proposal.daily_dose <= running.daily_dose
    )
    key = "under_reducing" if lowers else "under"
    yield ctx.say(rule, key, min_age=format_number(min_age.in_("a")))


@implements(
    "test-dose-condition",
    ItTestDose,
    only_if=lambda facts, child, rule: bool(facts.patient.conditions),
)
def test_dose_condition(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A test dose for a patient with one of the rule's ``conditions`` (``infection``)."""
    if _test_dose(ctx) is None:
        return
    if ctx.patient.conditions & _conditions(ctx.pack, rule):
        yield ctx.say(rule, "infection")


@per_rule
def _conditions(pack: Pack, rule: Rule) -> frozenset[str]:
    return frozenset(rule.code_list("conditions"))


@implements("ladder-start", ItTestDose)
def ladder_start(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The first test dose of an episode not one of ``first_doses`` (``other``)."""
    dose = _test_dose(ctx)
    if dose is None or ctx.past.episode_last is not None:
        return
    usual = rule.quantities("first_doses")
    if dose.dose not in usual:
        yield ctx.say(
            rule,
            "other",
            dose=dose.dose.to("ug").text(),
            usual=" or ".join(q.text() for q in usual),
        )


@implements("first-dose-advice", ItTestDose)
def first_dose_advice(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The first test dose of an episode: the rule's advice (``first_dose``, with
    ``coma_dose``)."""
    if _test_dose(ctx) is None or ctx.past.episode_last is not None:
        return
    yield ctx.say(rule, "first_dose", coma_dose=rule.quantity("coma_dose").text())


@implements("ladder", ItTestDose)
def ladder(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A test dose after another of the episode: the previous one's response not recorded
    (``response_unknown``), a rise above ``step`` (``too_big``), or sooner than
    ``min_interval`` (``too_soon``)."""
    dose = _test_dose(ctx)
    previous = ctx.past.episode_last
    if dose is None or previous is None:
        return
    if previous.response is None:
        yield ctx.say(rule, "response_unknown", previous=previous.dose.to("ug").text())
    step = rule.quantity("step")
    if dose.dose - previous.dose > step:
        yield ctx.say(
            rule,
            "too_big",
            previous=previous.dose.to("ug").text(),
            dose=dose.dose.to("ug").text(),
            step=step.text(),
        )
    interval = rule.quantity("min_interval")
    waited = since(previous.at, dose.at, interval)
    if waited < interval:
        yield ctx.say(
            rule,
            "too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            interval=interval.text(),
        )


@implements("ladder-ceiling", ItTestDose, ItInfusion, PumpImplant)
def ladder_ceiling(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A test dose above ``max_test_dose`` (``above_max``); a further test dose after one at
    the highest had no effect (``further_dose``); the first infusion or an implant of a
    patient who had no effect at the highest test dose (``infusion``, worded for each)."""
    if isinstance(ctx.proposal, (ItInfusion, PumpImplant)):
        if ctx.first_infusion is None and ctx.past.screening.state == "non-responder":
            text = "infusion" if isinstance(ctx.proposal, ItInfusion) else "implant"
            yield ctx.say(rule, "infusion", f"infusion_{text}")
        return
    dose = _test_dose(ctx)
    if dose is None:
        return
    max_dose = rule.quantity("max_test_dose")
    if dose.dose > max_dose:
        yield ctx.say(
            rule,
            "above_max",
            dose=dose.dose.to("ug").text(),
            max_dose=max_dose.text(),
        )
    # the first test dose of the episode that had no effect at the highest dose
    failed = ctx.past.episode_failed
    if failed is not None:
        yield ctx.say(rule, "further_dose", dose=failed.dose.to("ug").text())


@implements(
    "risk-monitoring",
    ItTestDose,
    ItInfusion,
    only_if=lambda facts, child, rule: bool(facts.patient.conditions or facts.patient.medications),
)
def risk_monitoring(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A test dose or an infusion for a patient with one of ``risk_conditions`` or taking one
    of ``risk_medications`` (an interaction): closer monitoring (``risk``)."""
    if not isinstance(ctx.proposal, (ItTestDose, ItInfusion)):
        return
    patient = ctx.patient
    if not patient.conditions and not patient.medications:
        return
    conditions, medications = _risks(ctx.pack, rule)
    present = sorted((patient.conditions & conditions) | (patient.medications & medications))
    if present:
        yield ctx.say(rule, "risk", present=", ".join(present))


@per_rule
def _risks(pack: Pack, rule: Rule) -> tuple[frozenset[str], frozenset[str]]:
    """The conditions and medications that call for closer monitoring."""
    return frozenset(rule.code_list("risk_conditions")), frozenset(
        rule.code_list("risk_medications")
    )
