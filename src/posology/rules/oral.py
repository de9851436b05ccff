"""Rules for oral baclofen: range, start, pace, maximum, children, kidneys, forms and strengths."""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack, Range
from ..model.events import OralRegimen
from ..model.finding import Finding
from ..units import Quantity, format_percent
from .context import Context, ceil_fraction, ceil_to, duration_text, floor_to, since
from .kinds import judges
from .limits import paediatric_max, renal_target
from .per_pack import per_pack


def _proposal(ctx: Context) -> OralRegimen | None:
    return ctx.proposal if isinstance(ctx.proposal, OralRegimen) else None


def _increase_since_change(
    ctx: Context, regimen: OralRegimen, limit: Quantity
) -> tuple[Quantity, Quantity] | None:
    """The rise over the regimen in force and the time since its daily dose last changed,
    counted as ``limit`` is (calendar days for a limit in days)."""
    before = ctx.oral_active
    if before is None or ctx.oral_last_change is None or regimen.daily_dose <= before.daily_dose:
        return None
    return regimen.daily_dose - before.daily_dose, since(ctx.oral_last_change.at, regimen.at, limit)


def _reduces(ctx: Context, regimen: OralRegimen) -> bool:
    """True when the proposal lowers the daily dose of the regimen in force."""
    return ctx.oral_active is not None and regimen.daily_dose < ctx.oral_active.daily_dose


@judges(OralRegimen, only_if=lambda facts, child: not child)
def po_daily_range(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    daily, per_day, per_admin_max = _daily_range(ctx.pack)
    if regimen.daily_dose < daily.low:
        yield ctx.say(
            "PO-DAILY-RANGE", "below", daily=regimen.daily_dose.text(), range=daily.text()
        )
    largest = max(regimen.doses)
    if largest > per_admin_max:
        yield ctx.say(
            "PO-DAILY-RANGE",
            "above_per_administration",
            dose=largest.text(),
            ceiling=floor_to(per_admin_max.to(largest.unit), 3).text(),
            administrations=per_day,
            maximum=daily.high.text(),
        )


@per_pack
def _daily_range(pack: Pack) -> tuple[Range[Quantity], int, Quantity]:
    """PO-DAILY-RANGE's daily range, its administrations a day, and the largest single
    administration that fits the range's top."""
    rule = pack.rule("PO-DAILY-RANGE")
    daily = rule.range("daily")
    per_day = rule.count("administrations_per_day")
    return daily, per_day, daily.high * Quantity.of(1, "d") / per_day


@judges(OralRegimen)
def po_start(ctx: Context) -> Iterator[Finding]:
    """A first start is judged against PO-START; a restart after a short interruption against
    the daily dose taken before the stop (PO-START's ``restart_window`` reading)."""
    regimen = _proposal(ctx)
    if regimen is None or ctx.oral_active is not None:
        return
    rule = ctx.pack.rule("PO-START")
    resumed = ctx.oral_restart_of()
    if resumed is not None and ctx.oral_stop is not None:
        values = {
            "daily": regimen.daily_dose.text(),
            "before": resumed.daily_dose.text(),
            "gap": duration_text(ctx.oral_stop.at, regimen.at),
        }
        if regimen.daily_dose > resumed.daily_dose:
            yield ctx.say("PO-START", "restart_above", **values)
        else:
            yield ctx.say("PO-START", "restart", **values)
        return
    if ctx.is_child:
        return
    start = rule.quantity("start_daily")
    if regimen.daily_dose > start:
        yield ctx.say(
            "PO-START",
            "above",
            daily=regimen.daily_dose.text(),
            start=start.text(),
            dose=rule.quantity("start_dose").text(),
            administrations=rule.count("administrations_per_day"),
        )


@judges(OralRegimen, only_if=lambda facts, child: not child)
def po_titration(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    before = ctx.oral_active
    if before is None or regimen.daily_dose <= before.daily_dose:
        return  # no rise: nothing to pace
    rule = ctx.pack.rule("PO-TITRATION")
    min_interval = rule.quantity("min_interval")
    rise = _increase_since_change(ctx, regimen, min_interval)
    if rise is None:
        return
    step, elapsed_time = rise
    max_step = rule.quantity("max_step")
    if step > max_step:
        yield ctx.say(
            "PO-TITRATION", "too_fast", "step_too_large", step=step.text(), max_step=max_step.text()
        )
    if elapsed_time < min_interval:
        yield ctx.say(
            "PO-TITRATION",
            "too_fast",
            "too_soon",
            elapsed=floor_to(elapsed_time.to("d"), 1).text(),
            interval=min_interval.text(),
        )


@judges(OralRegimen, only_if=lambda facts, child: not child)
def po_usual(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    usual = _oral_limits(ctx.pack)[0]
    if regimen.daily_dose > usual:
        yield ctx.say("PO-USUAL", "above", daily=regimen.daily_dose.text(), usual=usual.text())


@judges(OralRegimen, only_if=lambda facts, child: not child)
def po_max(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or ctx.is_child:
        return
    limit = _oral_limits(ctx.pack)[1]
    if regimen.daily_dose <= limit:
        return
    if _reduces(ctx, regimen):
        key = "reducing"
    elif ctx.patient.setting == "inpatient":
        key = "inpatient"
    else:
        key = "outpatient"
    yield ctx.say("PO-MAX", key, daily=regimen.daily_dose.text(), maximum=limit.text())


@per_pack
def _oral_limits(pack: Pack) -> tuple[Quantity, Quantity]:
    """PO-USUAL's usual maximum and PO-MAX's outpatient maximum (daily doses)."""
    return (
        pack.rule("PO-USUAL").quantity("usual_max"),
        pack.rule("PO-MAX").quantity("max_daily_outpatient"),
    )


@judges(OralRegimen, only_if=lambda facts, child: child)
def sup_po_paed(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or not ctx.is_child or ctx.age is None:
        return
    rule = ctx.pack.rule("SUP-PO-PAED")
    daily = regimen.daily_dose
    maximum = paediatric_max(ctx.pack, ctx.age)
    if daily > maximum:
        yield ctx.say(
            "SUP-PO-PAED",
            "above_max_reducing" if _reduces(ctx, regimen) else "above_max",
            "above_max",
            daily=daily.text(),
            maximum=maximum.text(),
        )
    interval = rule.quantity("step_interval")
    rise = _increase_since_change(ctx, regimen, interval)
    if rise is not None and rise[1] < interval:
        yield ctx.say(
            "SUP-PO-PAED",
            "too_fast",
            elapsed=floor_to(rise[1].to("d"), 1).text(),
            interval=interval.text(),
        )
    weight = ctx.patient.weight
    if weight is None:
        yield ctx.say("SUP-PO-PAED", "weight_missing")
        return
    yield from _paediatric_weight_checks(ctx, regimen, weight)


def _paediatric_weight_checks(
    ctx: Context, regimen: OralRegimen, weight: Quantity
) -> Iterator[Finding]:
    """SUP-PO-PAED's weight-based limits, each printed rounded down (a limit not to pass)."""
    rule = ctx.pack.rule("SUP-PO-PAED")
    daily = regimen.daily_dose
    maintenance = rule.range("maintenance")
    if daily > maintenance.high * weight:
        yield ctx.say(
            "SUP-PO-PAED",
            "above_maintenance",
            daily=daily.text(),
            per_kg=maintenance.high.text(),
            limit=floor_to((maintenance.high * weight).to("mg/d"), 1).text(),
            weight=weight.text(),
        )
    start = rule.quantity("start") * weight
    if ctx.oral_active is None and ctx.oral_restart_of() is None and daily > start:
        yield ctx.say(
            "SUP-PO-PAED",
            "start_above",
            daily=daily.text(),
            per_kg=rule.quantity("start").text(),
            limit=floor_to(start.to("mg/d"), 2).text(),
            weight=weight.text(),
        )
    per_admin = rule.range("per_administration").high * weight
    if max(regimen.doses) > per_admin:
        yield ctx.say(
            "SUP-PO-PAED",
            "per_administration_above",
            dose=max(regimen.doses).text(),
            per_kg=rule.range("per_administration").high.text(),
            limit=floor_to(per_admin.to("mg"), 2).text(),
            weight=weight.text(),
        )
    per_admin_low = rule.range("per_administration").low * weight
    if min(regimen.doses) < per_admin_low:
        yield ctx.say(
            "SUP-PO-PAED",
            "per_administration_below",
            dose=min(regimen.doses).text(),
            per_kg=rule.range("per_administration").low.text(),
            limit=ceil_to(per_admin_low.to("mg"), 2).text(),
            weight=weight.text(),
        )
    min_weight = rule.quantity("tablet_min_weight")
    if regimen.form == "tablet" and weight < min_weight:
        yield ctx.say("SUP-PO-PAED", "tablet_under_weight", min_weight=min_weight.text())


@judges(OralRegimen, only_if=lambda facts, child: bool(facts.patient.conditions))
def sup_po_renal(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None:
        return
    conditions = ctx.patient.conditions
    if not conditions:  # neither dialysis nor a renal condition
        return
    dialysis, renal = _renal_codes(ctx.pack)
    low_dose = ctx.pack.rule("SUP-PO-RENAL").quantity("renal_daily")
    if conditions & dialysis:
        if regimen.daily_dose > low_dose:
            yield ctx.say(
                "SUP-PO-RENAL", "above", renal=low_dose.text(), daily=regimen.daily_dose.text()
            )
        return
    if conditions & renal and ctx.patient.creatinine_clearance is None:
        yield ctx.say("SUP-PO-RENAL", "clearance_unknown")


@per_pack
def _renal_codes(pack: Pack) -> tuple[frozenset[str], frozenset[str]]:
    """SUP-PO-RENAL's conditions of dialysis and of renal impairment."""
    rule = pack.rule("SUP-PO-RENAL")
    return frozenset(rule.code_list("dialysis")), frozenset(rule.code_list("renal"))


@judges(OralRegimen, only_if=lambda facts, child: facts.patient.creatinine_clearance is not None)
def sup_po_renal_crcl(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    clearance = ctx.patient.creatinine_clearance
    if regimen is None or clearance is None:
        return
    if ctx.patient.conditions & _renal_codes(ctx.pack)[0]:
        return
    target = renal_target(ctx.pack, clearance)
    if target is not None and regimen.daily_dose > target[0]:
        yield ctx.say(
            "SUP-PO-RENAL-CRCL",
            "above",
            clearance=clearance.text(),
            reduction=str(target[1]),
            target=floor_to(target[0], 1).text(),
            daily=regimen.daily_dose.text(),
        )


def _listed(quantities: tuple[Quantity, ...]) -> str:
    return ", ".join(q.text() for q in quantities)


@judges(OralRegimen)
def sup_po_strengths(ctx: Context) -> Iterator[Finding]:
    regimen = _proposal(ctx)
    if regimen is None or regimen.form is None:
        return
    rule = ctx.pack.rule("SUP-PO-STRENGTHS")
    if regimen.form == "solution":
        marketed = rule.quantities("solutions") + rule.quantities("solutions_us")
        if regimen.strength is None:
            yield ctx.say(
                "SUP-PO-STRENGTHS", "solution_without_strength", example=marketed[0].text()
            )
        elif regimen.strength not in marketed:
            yield ctx.say(
                "SUP-PO-STRENGTHS",
                "unknown_strength",
                "unknown_solution",
                strength=regimen.strength.text(),
                marketed=_listed(rule.quantities("solutions")),
                marketed_us=_listed(rule.quantities("solutions_us")),
            )
        return
    tablets = rule.quantities("tablets") + rule.quantities("tablets_us")
    if regimen.strength is not None and regimen.strength not in tablets:
        yield ctx.say(
            "SUP-PO-STRENGTHS",
            "unknown_strength",
            "unknown_tablet",
            strength=regimen.strength.text(),
            marketed=_listed(rule.quantities("tablets")),
            marketed_us=_listed(rule.quantities("tablets_us")),
        )
        return
    smallest = regimen.strength or min(rule.quantities("tablets"))
    parts = rule.count("tablet_parts")
    part = smallest / parts
    for dose in sorted(set(regimen.doses), key=lambda q: q.base):
        if dose.ratio(part).denominator != 1:
            yield ctx.say(
                "SUP-PO-STRENGTHS",
                "not_makeable",
                dose=dose.text(),
                tablet=smallest.text(),
                parts=rule.code_map("tablet_part_names")[str(parts)],
            )
            return


@judges(OralRegimen)
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
        yield ctx.say(
            "SUP-IT-ORAL-WEAN",
            "step_too_large",
            cut=format_percent(ceil_fraction(cut)),
            low=format_percent(step.low),
            high=format_percent(step.high),
            reassess=rule.quantity("reassess_within").text(),
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
