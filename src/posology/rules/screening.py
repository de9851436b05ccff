"""Rules for intrathecal screening: who may be screened, the test-dose ladder, monitoring."""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack
from ..model.events import ItInfusion, ItTestDose, PumpImplant
from ..model.finding import Finding
from ..units import format_number
from .context import Context, floor_to, since
from .kinds import judges
from .per_pack import per_pack


def _test_dose(ctx: Context) -> ItTestDose | None:
    return ctx.proposal if isinstance(ctx.proposal, ItTestDose) else None


@judges(ItTestDose, PumpImplant, ItInfusion)
def it_paed_under4(ctx: Context) -> Iterator[Finding]:
    if not isinstance(ctx.proposal, (ItTestDose, PumpImplant, ItInfusion)):
        return
    min_age = ctx.pack.rule("IT-PAED-UNDER4").quantity("min_age")
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
    yield ctx.say("IT-PAED-UNDER4", key, min_age=format_number(min_age.in_("a")))


@judges(ItTestDose, only_if=lambda facts, child: bool(facts.patient.conditions))
def it_screen_infection(ctx: Context) -> Iterator[Finding]:
    if _test_dose(ctx) is None:
        return
    infections = set(ctx.pack.rule("IT-SCREEN-INFECTION").code_list("conditions"))
    if ctx.patient.conditions & infections:
        yield ctx.say("IT-SCREEN-INFECTION", "infection")


@judges(ItTestDose)
def it_screen_start(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    if dose is None or ctx.past.episode_last is not None:
        return
    usual = ctx.pack.rule("IT-SCREEN-START").quantities("first_doses")
    if dose.dose not in usual:
        yield ctx.say(
            "IT-SCREEN-START",
            "other",
            dose=dose.dose.to("ug").text(),
            usual=" or ".join(q.text() for q in usual),
        )


@judges(ItTestDose)
def it_screen_resus(ctx: Context) -> Iterator[Finding]:
    if _test_dose(ctx) is None or ctx.past.episode_last is not None:
        return
    coma = ctx.pack.rule("IT-SCREEN-RESUS").quantity("coma_dose")
    yield ctx.say("IT-SCREEN-RESUS", "first_dose", coma_dose=coma.text())


@judges(ItTestDose)
def it_screen_step(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    previous = ctx.past.episode_last
    if dose is None or previous is None:
        return
    rule = ctx.pack.rule("IT-SCREEN-STEP")
    if previous.response is None:
        yield ctx.say("IT-SCREEN-STEP", "response_unknown", previous=previous.dose.to("ug").text())
    step = rule.quantity("step")
    if dose.dose - previous.dose > step:
        yield ctx.say(
            "IT-SCREEN-STEP",
            "too_big",
            previous=previous.dose.to("ug").text(),
            dose=dose.dose.to("ug").text(),
            step=step.text(),
        )
    interval = rule.quantity("min_interval")
    waited = since(previous.at, dose.at, interval)
    if waited < interval:
        yield ctx.say(
            "IT-SCREEN-STEP",
            "too_soon",
            elapsed=floor_to(waited.to("h"), 1).text(),
            interval=interval.text(),
        )


@judges(ItTestDose)
def it_screen_nonresponder(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    if dose is None:
        return
    max_dose = ctx.pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose")
    if dose.dose > max_dose:
        yield ctx.say(
            "IT-SCREEN-NONRESPONDER",
            "above_max",
            dose=dose.dose.to("ug").text(),
            max_dose=max_dose.text(),
        )
    # the first test dose of the episode that had no effect at the highest dose
    failed = ctx.past.episode_failed
    if failed is not None:
        yield ctx.say("IT-SCREEN-NONRESPONDER", "further_dose", dose=failed.dose.to("ug").text())


@judges(
    ItTestDose,
    ItInfusion,
    only_if=lambda facts, child: bool(facts.patient.conditions or facts.patient.medications),
)
def it_monitor_risk(ctx: Context) -> Iterator[Finding]:
    if not isinstance(ctx.proposal, (ItTestDose, ItInfusion)):
        return
    patient = ctx.patient
    if not patient.conditions and not patient.medications:
        return
    conditions, medications = _risks(ctx.pack)
    present = sorted((patient.conditions & conditions) | (patient.medications & medications))
    if present:
        yield ctx.say("IT-MONITOR-RISK", "risk", present=", ".join(present))


@per_pack
def _risks(pack: Pack) -> tuple[frozenset[str], frozenset[str]]:
    """IT-MONITOR-RISK's conditions and medications that call for closer monitoring."""
    rule = pack.rule("IT-MONITOR-RISK")
    return frozenset(rule.code_list("risk_conditions")), frozenset(
        rule.code_list("risk_medications")
    )


CHECKS = (
    it_paed_under4,
    it_screen_infection,
    it_screen_start,
    it_screen_resus,
    it_screen_step,
    it_screen_nonresponder,
    it_monitor_risk,
)
