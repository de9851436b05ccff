"""Rules for oral baclofen: range, start, pace, maximum, children, kidneys, forms and strengths."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from ..model.events import OralRegimen
from ..model.finding import Finding
from ..units import Quantity, format_percent
from .context import Context, hours_between
from .limits import paediatric_max, renal_target


def _proposal(ctx: Context) -> OralRegimen | None:
    return ctx.proposal if isinstance(ctx.proposal, OralRegimen) else None


def _increase_since_change(ctx: Context, regimen: OralRegimen) -> tuple[Quantity, Fraction] | None:
    """The rise over the regimen in force and the hours since its daily dose last changed."""
    before = ctx.oral_active
    if before is None or ctx.oral_last_change is None or regimen.daily_dose <= before.daily_dose:
        return None
    return regimen.daily_dose - before.daily_dose, hours_between(
        ctx.oral_last_change.at, regimen.at
    )


def _reduces(ctx: Context, regimen: OralRegimen) -> bool:
    """True when the proposal lowers the daily dose of the regimen in force."""
    return ctx.oral_active is not None and regimen.daily_dose < ctx.oral_active.daily_dose


def po_daily_range(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    rule = ctx.pack.rule("PO-DAILY-RANGE")
    daily = rule.range("daily")
    per_admin_max = daily.high * Quantity.of(1, "d") / rule.count("administrations_per_day")
    if regimen.daily_dose < daily.low:
        yield ctx.finding(
            "PO-DAILY-RANGE",
            "below",
            f"{regimen.daily_dose.text()} is below the usual daily range ({daily.text()}); "
            "fine for a night-only, pre-task or kidney-adjusted dose.",
        )
    largest = max(regimen.doses)
    if largest > per_admin_max:
        yield ctx.finding(
            "PO-DAILY-RANGE",
            "above_per_administration",
            f"A single administration of {largest.text()} is above "
            f"{per_admin_max.to(largest.unit).text()}, the most one of "
            f"{rule.count('administrations_per_day')} daily doses reaches within "
            f"{daily.high.text()}.",
        )


def po_start(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.oral_active is not None or ctx.is_child:
        return
    rule = ctx.pack.rule("PO-START")
    start = rule.quantity("start_daily")
    if regimen.daily_dose > start:
        yield ctx.finding(
            "PO-START",
            "above",
            f"Oral baclofen starts at {regimen.daily_dose.text()}; the suggested start is "
            f"{start.text()} ({rule.quantity('start_dose').text()} "
            f"{rule.count('administrations_per_day')} times a day).",
        )


def po_titration(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    rise = _increase_since_change(ctx, regimen)
    if rise is None:
        return
    step, hours = rise
    rule = ctx.pack.rule("PO-TITRATION")
    max_step = rule.quantity("max_step")
    min_interval = rule.quantity("min_interval")
    if step > max_step:
        yield ctx.finding(
            "PO-TITRATION",
            "too_fast",
            f"The daily dose rises by {step.text()} at once; the ladder rises by at most "
            f"{max_step.text()} a step.",
        )
    if hours < min_interval.in_("h"):
        yield ctx.finding(
            "PO-TITRATION",
            "too_fast",
            f"This increase comes {Quantity.of(hours, 'h').to('d').text(places=1)} after the "
            f"last change; the ladder holds each step for {min_interval.text()}.",
        )


def po_usual(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    usual = ctx.pack.rule("PO-USUAL").quantity("usual_max")
    if regimen.daily_dose > usual:
        yield ctx.finding(
            "PO-USUAL",
            "above",
            f"{regimen.daily_dose.text()} is above {usual.text()}, the dose that usually "
            "controls symptoms: adjust carefully to the individual patient.",
        )


def po_max(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    limit = ctx.pack.rule("PO-MAX").quantity("max_daily_outpatient")
    if regimen.daily_dose <= limit:
        return
    if _reduces(ctx, regimen):
        yield ctx.finding(
            "PO-MAX",
            "reducing",
            f"{regimen.daily_dose.text()} is still above the {limit.text()} maximum; continue "
            "reducing gradually.",
        )
    elif ctx.patient.setting == "inpatient":
        yield ctx.finding(
            "PO-MAX",
            "inpatient",
            f"{regimen.daily_dose.text()} is above the {limit.text()} maximum; allowed only in "
            "hospital under careful medical supervision.",
        )
    else:
        yield ctx.finding(
            "PO-MAX",
            "outpatient",
            f"{regimen.daily_dose.text()} is above the {limit.text()} maximum for a patient "
            "who is not in hospital.",
        )


def sup_po_paed(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or not ctx.is_child or ctx.age is None:
        return
    rule = ctx.pack.rule("SUP-PO-PAED")
    daily = regimen.daily_dose
    maximum = paediatric_max(ctx.pack, ctx.age)
    if daily > maximum:
        yield ctx.finding(
            "SUP-PO-PAED",
            "above_max_reducing" if _reduces(ctx, regimen) else "above_max",
            f"{daily.text()} is above the children's maximum of {maximum.text()} at this age.",
        )
    rise = _increase_since_change(ctx, regimen)
    interval = rule.quantity("step_interval")
    if rise is not None and rise[1] < interval.in_("h"):
        yield ctx.finding(
            "SUP-PO-PAED",
            "too_fast",
            f"A child's dose is increased {Quantity.of(rise[1], 'h').to('d').text(places=1)} "
            f"after the last change; increase cautiously, about every {interval.text()}.",
        )
    weight = ctx.patient.weight
    if weight is None:
        yield ctx.finding(
            "SUP-PO-PAED",
            "weight_missing",
            "A child's oral dose depends on body weight, which is not recorded (`weight_kg`): "
            "only the absolute maximum was checked.",
        )
        return
    maintenance = rule.range("maintenance")
    if daily > maintenance.high * weight:
        yield ctx.finding(
            "SUP-PO-PAED",
            "above_maintenance",
            f"{daily.text()} is above the usual maintenance of {maintenance.high.text()} "
            f"({(maintenance.high * weight).to('mg/d').text(places=1)} at {weight.text()}).",
        )
    start = rule.quantity("start") * weight
    if ctx.oral_active is None and daily > start:
        yield ctx.finding(
            "SUP-PO-PAED",
            "start_above",
            f"A child's oral start of {daily.text()} is above about "
            f"{rule.quantity('start').text()} ({start.to('mg/d').text(places=2)} at "
            f"{weight.text()}).",
        )
    per_admin = rule.range("per_administration").high * weight
    if max(regimen.doses) > per_admin:
        yield ctx.finding(
            "SUP-PO-PAED",
            "per_administration_above",
            f"A single dose of {max(regimen.doses).text()} is above "
            f"{rule.range('per_administration').high.text()} "
            f"({per_admin.to('mg').text(places=2)} at {weight.text()}).",
        )
    min_weight = rule.quantity("tablet_min_weight")
    if regimen.form == "tablet" and weight < min_weight:
        yield ctx.finding(
            "SUP-PO-PAED",
            "tablet_under_weight",
            f"Tablets are unsuitable under {min_weight.text()}; use the oral solution and state "
            "its strength.",
        )


def sup_po_renal(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None:
        return
    rule = ctx.pack.rule("SUP-PO-RENAL")
    conditions = ctx.patient.conditions
    low_dose = rule.quantity("renal_daily")
    if conditions & set(rule.code_list("dialysis")):
        if regimen.daily_dose > low_dose:
            yield ctx.finding(
                "SUP-PO-RENAL",
                "above",
                f"On haemodialysis a particularly low oral dose is used, about {low_dose.text()}; "
                f"{regimen.daily_dose.text()} is above it.",
            )
        return
    if conditions & set(rule.code_list("renal")) and ctx.patient.creatinine_clearance is None:
        yield ctx.finding(
            "SUP-PO-RENAL",
            "clearance_unknown",
            "Renal impairment is recorded without a creatinine clearance "
            "(`creatinine_clearance_ml_min`): the reduced target could not be worked out.",
        )


def sup_po_renal_crcl(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    clearance = ctx.patient.creatinine_clearance
    if regimen is None or clearance is None:
        return
    if ctx.patient.conditions & set(ctx.pack.rule("SUP-PO-RENAL").code_list("dialysis")):
        return
    target = renal_target(ctx.pack, clearance)
    if target is not None and regimen.daily_dose > target[0]:
        yield ctx.finding(
            "SUP-PO-RENAL-CRCL",
            "above",
            f"With a creatinine clearance of {clearance.text()} the dose is reduced by about "
            f"{target[1]} to {target[0].text()}; {regimen.daily_dose.text()} is above it.",
        )


def sup_po_strengths(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or regimen.form is None:
        return
    rule = ctx.pack.rule("SUP-PO-STRENGTHS")
    if regimen.form == "solution":
        marketed = rule.quantities("solutions") + rule.quantities("solutions_us")
        if regimen.strength is None:
            yield ctx.finding(
                "SUP-PO-STRENGTHS",
                "solution_without_strength",
                "An oral solution is ordered without its strength: state it (for example "
                f"{marketed[0].text()}); mixed-up strengths have caused ten-fold overdoses.",
            )
        elif regimen.strength not in marketed:
            yield ctx.finding(
                "SUP-PO-STRENGTHS",
                "unknown_strength",
                f"No oral solution of {regimen.strength.text()} is on the market "
                f"({', '.join(q.text() for q in marketed)}).",
            )
        return
    tablets = rule.quantities("tablets") + rule.quantities("tablets_us")
    if regimen.strength is not None and regimen.strength not in tablets:
        yield ctx.finding(
            "SUP-PO-STRENGTHS",
            "unknown_strength",
            f"No {regimen.strength.text()} tablet is on the market "
            f"({', '.join(q.text() for q in tablets)}).",
        )
        return
    smallest = regimen.strength or min(rule.quantities("tablets"))
    part = smallest / rule.count("tablet_parts")
    for dose in sorted(set(regimen.doses), key=lambda q: q.base):
        if dose.ratio(part).denominator != 1:
            yield ctx.finding(
                "SUP-PO-STRENGTHS",
                "not_makeable",
                f"{dose.text()} cannot be given with {smallest.text()} tablets (whole or "
                "halved): round to a dose the tablets can make, or use the oral solution.",
            )
            return


def sup_it_oral_wean(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    before = ctx.oral_active
    if regimen is None or before is None or ctx.infusion_active is None:
        return
    if regimen.daily_dose >= before.daily_dose:
        return
    rule = ctx.pack.rule("SUP-IT-ORAL-WEAN")
    step = rule.fraction_range("step")
    cut = 1 - regimen.daily_dose.ratio(before.daily_dose)
    if cut > step.high:
        yield ctx.finding(
            "SUP-IT-ORAL-WEAN",
            "step_too_large",
            f"Oral baclofen is cut by {format_percent(cut)} in one step while intrathecal therapy "
            f"runs; wean by {format_percent(step.low)} to {format_percent(step.high)} a step and "
            f"reassess within {rule.quantity('reassess_within').text()}.",
        )


CHECKS = (
    po_daily_range,
    po_start,
    po_titration,
    po_usual,
    po_max,
    sup_po_paed,
    sup_po_renal,
    sup_po_renal_crcl,
    sup_po_strengths,
    sup_it_oral_wean,
)
