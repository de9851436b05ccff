"""Rules for intrathecal screening: who may be screened, the test-dose ladder, monitoring."""

from __future__ import annotations

from collections.abc import Iterator

from ..model.events import ItInfusion, ItTestDose, PumpImplant
from ..model.finding import Finding
from ..units import Quantity, format_number
from .context import Context, hours_between


def _test_dose(ctx: Context) -> ItTestDose | None:
    return ctx.proposal if isinstance(ctx.proposal, ItTestDose) else None


def it_paed_under4(ctx: Context) -> Iterator[Finding]:
    if not isinstance(ctx.proposal, (ItTestDose, PumpImplant, ItInfusion)):
        return
    min_age = ctx.pack.rule("IT-PAED-UNDER4").quantity("min_age")
    if ctx.age_quantity is not None and ctx.age_quantity < min_age:
        yield ctx.finding(
            "IT-PAED-UNDER4",
            "under",
            f"Intrathecal baclofen under {format_number(min_age.in_('a'))} years of age: safety "
            "and efficacy have not been established.",
        )


def it_screen_infection(ctx: Context) -> Iterator[Finding]:
    if _test_dose(ctx) is None:
        return
    infections = set(ctx.pack.rule("IT-SCREEN-INFECTION").code_list("conditions"))
    if ctx.patient.conditions & infections:
        yield ctx.finding(
            "IT-SCREEN-INFECTION",
            "infection",
            "A systemic infection is recorded: screening now may not show the true response. "
            "Screen once the patient is free of infection.",
        )


def it_screen_start(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    if dose is None or ctx.episode:
        return
    usual = ctx.pack.rule("IT-SCREEN-START").quantities("first_doses")
    if dose.dose not in usual:
        yield ctx.finding(
            "IT-SCREEN-START",
            "other",
            f"A first test dose of {dose.dose.to('ug').text()}; the usual first dose is "
            f"{' or '.join(q.text() for q in usual)}.",
        )


def it_screen_resus(ctx: Context) -> Iterator[Finding]:
    if _test_dose(ctx) is None or ctx.episode:
        return
    coma = ctx.pack.rule("IT-SCREEN-RESUS").quantity("coma_dose")
    yield ctx.finding(
        "IT-SCREEN-RESUS",
        "first_dose",
        f"First test dose: have resuscitative equipment at hand; coma has followed a single "
        f"{coma.text()} test dose.",
    )


def it_screen_step(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    if dose is None or not ctx.episode:
        return
    rule = ctx.pack.rule("IT-SCREEN-STEP")
    previous = ctx.episode[-1]
    if previous.response is None:
        yield ctx.finding(
            "IT-SCREEN-STEP",
            "response_unknown",
            f"The response to the previous test dose ({previous.dose.to('ug').text()}) is not "
            "recorded: record it before deciding the next dose.",
        )
    step = rule.quantity("step")
    if dose.dose - previous.dose > step:
        yield ctx.finding(
            "IT-SCREEN-STEP",
            "too_big",
            f"The test dose rises from {previous.dose.to('ug').text()} to "
            f"{dose.dose.to('ug').text()}; increase by at most {step.text()} a step.",
        )
    interval = rule.quantity("min_interval")
    hours = hours_between(previous.at, dose.at)
    if hours < interval.in_("h"):
        yield ctx.finding(
            "IT-SCREEN-STEP",
            "too_soon",
            f"This test dose comes {Quantity.of(hours, 'h').text(places=1)} after the previous "
            f"one; leave at least {interval.text()} between test doses.",
        )


def it_screen_nonresponder(ctx: Context) -> Iterator[Finding]:
    dose = _test_dose(ctx)
    if dose is None:
        return
    max_dose = ctx.pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose")
    if dose.dose > max_dose:
        yield ctx.finding(
            "IT-SCREEN-NONRESPONDER",
            "above_max",
            f"A test dose of {dose.dose.to('ug').text()} is above {max_dose.text()}, the "
            "highest screening dose.",
        )
    failed = [
        t
        for t in ctx.episode
        if t.dose >= max_dose and t.response is not None and not t.response.effect
    ]
    if failed:
        yield ctx.finding(
            "IT-SCREEN-NONRESPONDER",
            "further_dose",
            f"No response to a {failed[0].dose.to('ug').text()} test dose: no further "
            "increments; the patient is not a candidate for continuous infusion.",
        )


def it_monitor_risk(ctx: Context) -> Iterator[Finding]:
    if not isinstance(ctx.proposal, (ItTestDose, ItInfusion)):
        return
    rule = ctx.pack.rule("IT-MONITOR-RISK")
    present = sorted(
        (ctx.patient.conditions & set(rule.code_list("risk_conditions")))
        | (ctx.patient.medications & set(rule.code_list("risk_medications")))
    )
    if present:
        yield ctx.finding(
            "IT-MONITOR-RISK",
            "risk",
            f"Higher risk of respiratory depression ({', '.join(present)}): monitor "
            "respiratory and cardiac function.",
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
