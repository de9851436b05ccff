"""Kinds of oral rules: range, start, pace, maximum, children, kidneys, forms and strengths.

Each kind reads its numbers, codes and words from the rule it is given; a rule whose ``codes``
say ``population: adults`` (or ``children``) speaks only for that population (by the adult age
of the rule in the role ``indication.population``).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack, Range, Rule
from ..model.events import OralRegimen
from ..model.finding import Finding
from ..units import Quantity, format_percent
from .context import (
    Context,
    PatientFacts,
    ceil_fraction,
    ceil_to,
    duration_text,
    floor_to,
    for_population,
    since,
)
from .kinds import implements
from .limits import paediatric_max, renal_target
from .per_pack import per_pack, per_rule
from .spans import shorter_than


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


def _population(facts: PatientFacts, child: bool, rule: Rule) -> bool:
    """The rule speaks for this patient's population (its ``population`` code)."""
    return for_population(rule, child)


@implements("dose-range", OralRegimen, only_if=_population)
def dose_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose below the ``daily`` range (``below``); a single administration above the
    range's top divided into ``administrations_per_day`` (``above_per_administration``)."""
    regimen = _proposal(ctx)
    if regimen is None or not for_population(rule, ctx.is_child):
        return
    daily, per_day, per_admin_max = _daily_range(ctx.pack, rule)
    if regimen.daily_dose < daily.low:
        yield ctx.say(rule, "below", daily=regimen.daily_dose.text(), range=daily.text())
    largest = max(regimen.doses)
    if largest > per_admin_max:
        yield ctx.say(
            rule,
            "above_per_administration",
            dose=largest.text(),
            ceiling=floor_to(per_admin_max.to(largest.unit), 3).text(),
            administrations=per_day,
            maximum=daily.high.text(),
        )


@per_rule
def _daily_range(pack: Pack, rule: Rule) -> tuple[Range[Quantity], int, Quantity]:
    """The daily range, its administrations a day, and the largest single administration that
    fits the range's top."""
    daily = rule.range("daily")
    per_day = rule.count("administrations_per_day")
    return daily, per_day, daily.high * Quantity.of(1, "d") / per_day


@implements("start-dose", OralRegimen)
def start_dose(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A first start above ``start_daily`` (``above``, for the rule's population); a restart
    within ``restart_window`` of a stop is judged against the daily dose taken before the stop
    instead (``restart``, ``restart_above``), for every population."""
    regimen = _proposal(ctx)
    if regimen is None or ctx.oral_active is not None:
        return
    resumed = ctx.oral_restart_of()
    if resumed is not None and ctx.oral_stop is not None:
        values = {
            "daily": regimen.daily_dose.text(),
            "before": resumed.daily_dose.text(),
            "gap": duration_text(ctx.oral_stop.at, regimen.at),
        }
        if regimen.daily_dose > resumed.daily_dose:
            yield ctx.say(rule, "restart_above", **values)
        else:
            yield ctx.say(rule, "restart", **values)
        return
    if not for_population(rule, ctx.is_child):
        return
    start = rule.quantity("start_daily")
    if regimen.daily_dose > start:
        yield ctx.say(
            rule,
            "above",
            daily=regimen.daily_dose.text(),
            start=start.text(),
            dose=rule.quantity("start_dose").text(),
            administrations=rule.count("administrations_per_day"),
        )


@implements("step-limit", OralRegimen, only_if=_population)
def step_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A rise of the daily dose larger than ``max_step`` (``step_too_large``), or sooner than
    ``min_interval`` after its last change (``too_soon``); both under the severity
    ``too_fast``."""
    regimen = _proposal(ctx)
    if regimen is None or not for_population(rule, ctx.is_child):
        return
    before = ctx.oral_active
    daily = regimen.daily_dose
    if before is None or daily <= before.daily_dose:
        return  # no rise: nothing to pace
    min_interval = rule.quantity("min_interval")
    last_change = ctx.oral_last_change
    if last_change is None:
        return
    # what ``_increase_since_change`` gives, decided without building the rise or the time
    # since the change (built below for a finding only)
    too_soon = shorter_than(last_change.at, regimen.at, min_interval)
    max_step = rule.quantity("max_step")
    if daily.rise_exceeds(before.daily_dose, max_step):
        step = daily - before.daily_dose
        yield ctx.say(
            rule, "too_fast", "step_too_large", step=step.text(), max_step=max_step.text()
        )
    if too_soon:
        elapsed_time = since(last_change.at, regimen.at, min_interval)
        yield ctx.say(
            rule,
            "too_fast",
            "too_soon",
            elapsed=floor_to(elapsed_time.to("d"), 1).text(),
            interval=min_interval.text(),
        )


@implements("usual-dose", OralRegimen, only_if=_population)
def usual_dose(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose above ``usual_max``, the dose that usually suffices (``above``)."""
    regimen = _proposal(ctx)
    if regimen is None or not for_population(rule, ctx.is_child):
        return
    usual = rule.quantity("usual_max")
    if regimen.daily_dose > usual:
        yield ctx.say(rule, "above", daily=regimen.daily_dose.text(), usual=usual.text())


@implements("daily-maximum", OralRegimen, only_if=_population)
def daily_maximum(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose above ``max_daily_outpatient``: ``reducing`` when it lowers the dose in
    force, else ``inpatient`` or ``outpatient`` by the patient's setting."""
    regimen = _proposal(ctx)
    if regimen is None or not for_population(rule, ctx.is_child):
        return
    limit = rule.quantity("max_daily_outpatient")
    if regimen.daily_dose <= limit:
        return
    if _reduces(ctx, regimen):
        key = "reducing"
    elif ctx.patient.setting == "inpatient":
        key = "inpatient"
    else:
        key = "outpatient"
    yield ctx.say(rule, key, daily=regimen.daily_dose.text(), maximum=limit.text())


@implements("children-weight-dosing", OralRegimen, only_if=lambda facts, child, rule: child)
def children_weight_dosing(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A child's oral regimen: the maximum by age (``above_max``, ``above_max_reducing``), the
    pace (``too_fast``: sooner than ``step_interval``), and without a weight
    (``weight_missing``) or with one, the limits per kilogram."""
    regimen = _proposal(ctx)
    if regimen is None or not ctx.is_child or ctx.age is None:
        return
    daily = regimen.daily_dose
    maximum = paediatric_max(ctx.pack, ctx.age, rule)
    if daily > maximum:
        yield ctx.say(
            rule,
            "above_max_reducing" if _reduces(ctx, regimen) else "above_max",
            "above_max",
            daily=daily.text(),
            maximum=maximum.text(),
        )
    interval = rule.quantity("step_interval")
    rise = _increase_since_change(ctx, regimen, interval)
    if rise is not None and rise[1] < interval:
        yield ctx.say(
            rule,
            "too_fast",
            elapsed=floor_to(rise[1].to("d"), 1).text(),
            interval=interval.text(),
        )
    weight = ctx.patient.weight
    if weight is None:
        yield ctx.say(rule, "weight_missing")
        return
    yield from _paediatric_weight_checks(ctx, rule, regimen, weight)


def _paediatric_weight_checks(
    ctx: Context, rule: Rule, regimen: OralRegimen, weight: Quantity
) -> Iterator[Finding]:
    """The weight-based limits, each printed rounded down (a limit not to pass)."""
    daily = regimen.daily_dose
    maintenance = rule.range("maintenance")
    if daily > maintenance.high * weight:
        yield ctx.say(
            rule,
            "above_maintenance",
            daily=daily.text(),
            per_kg=maintenance.high.text(),
            limit=floor_to((maintenance.high * weight).to("mg/d"), 1).text(),
            weight=weight.text(),
        )
    start = rule.quantity("start") * weight
    if ctx.oral_active is None and ctx.oral_restart_of() is None and daily > start:
        yield ctx.say(
            rule,
            "start_above",
            daily=daily.text(),
            per_kg=rule.quantity("start").text(),
            limit=floor_to(start.to("mg/d"), 2).text(),
            weight=weight.text(),
        )
    per_admin = rule.range("per_administration").high * weight
    if max(regimen.doses) > per_admin:
        yield ctx.say(
            rule,
            "per_administration_above",
            dose=max(regimen.doses).text(),
            per_kg=rule.range("per_administration").high.text(),
            limit=floor_to(per_admin.to("mg"), 2).text(),
            weight=weight.text(),
        )
    per_admin_low = rule.range("per_administration").low * weight
    if min(regimen.doses) < per_admin_low:
        yield ctx.say(
            rule,
            "per_administration_below",
            dose=min(regimen.doses).text(),
            per_kg=rule.range("per_administration").low.text(),
            limit=ceil_to(per_admin_low.to("mg"), 2).text(),
            weight=weight.text(),
        )
    min_weight = rule.quantity("tablet_min_weight")
    if regimen.form == "tablet" and weight < min_weight:
        yield ctx.say(rule, "tablet_under_weight", min_weight=min_weight.text())


@implements(
    "renal-condition",
    OralRegimen,
    only_if=lambda facts, child, rule: bool(facts.patient.conditions),
)
def renal_condition(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """On ``dialysis``, a daily dose above ``renal_daily`` (``above``); with a ``renal``
    condition and no creatinine clearance recorded, ``clearance_unknown``."""
    regimen = _proposal(ctx)
    if regimen is None:
        return
    conditions = ctx.patient.conditions
    if not conditions:  # neither dialysis nor a renal condition
        return
    dialysis, renal = _renal_codes(ctx.pack, rule)
    low_dose = rule.quantity("renal_daily")
    if conditions & dialysis:
        if regimen.daily_dose > low_dose:
            yield ctx.say(rule, "above", renal=low_dose.text(), daily=regimen.daily_dose.text())
        return
    if conditions & renal and ctx.patient.creatinine_clearance is None:
        yield ctx.say(rule, "clearance_unknown")


@per_rule
def _renal_codes(pack: Pack, rule: Rule) -> tuple[frozenset[str], frozenset[str]]:
    """A renal rule's conditions of dialysis and of renal impairment."""
    return frozenset(rule.code_list("dialysis")), frozenset(rule.code_list("renal"))


@per_pack
def _dialysis(pack: Pack) -> frozenset[str]:
    """The dialysis conditions of the rule in the role ``oral.renal`` (a clearance is not
    judged on dialysis: the dialysis dose applies)."""
    if not pack.has_role("oral.renal"):
        return frozenset()
    return _renal_codes(pack, pack.role("oral.renal"))[0]


@implements(
    "clearance-bands",
    OralRegimen,
    only_if=lambda facts, child, rule: facts.patient.creatinine_clearance is not None,
)
def clearance_bands(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A daily dose above the usual maximum reduced by the ``bands``' reduction for the
    patient's creatinine clearance (``above``); not on dialysis."""
    regimen = _proposal(ctx)
    clearance = ctx.patient.creatinine_clearance
    if regimen is None or clearance is None:
        return
    if ctx.patient.conditions & _dialysis(ctx.pack):
        return
    target = renal_target(ctx.pack, clearance, rule)
    if target is not None and regimen.daily_dose > target[0]:
        yield ctx.say(
            rule,
            "above",
            clearance=clearance.text(),
            reduction=str(target[1]),
            target=floor_to(target[0], 1).text(),
            daily=regimen.daily_dose.text(),
        )


def _listed(quantities: tuple[Quantity, ...]) -> str:
    return ", ".join(q.text() for q in quantities)


@implements("marketed-strengths", OralRegimen)
def marketed_strengths(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A solution without a strength (``solution_without_strength``) or of a strength not in
    ``solutions``/``solutions_us``; a tablet strength not in ``tablets``/``tablets_us``
    (``unknown_strength``); a dose no whole number of ``tablet_parts`` of the tablet makes
    (``not_makeable``)."""
    regimen = _proposal(ctx)
    if regimen is None or regimen.form is None:
        return
    if regimen.form == "solution":
        marketed = rule.quantities("solutions") + rule.quantities("solutions_us")
        if regimen.strength is None and marketed:
            yield ctx.say(rule, "solution_without_strength", example=marketed[0].text())
        elif regimen.strength is None or regimen.strength not in marketed:
            yield ctx.say(
                rule,
                "unknown_strength",
                "unknown_solution",
                strength="no strength given"
                if regimen.strength is None
                else regimen.strength.text(),
                marketed=_listed(rule.quantities("solutions")),
                marketed_us=_listed(rule.quantities("solutions_us")),
            )
        return
    tablets = rule.quantities("tablets") + rule.quantities("tablets_us")
    if regimen.strength is not None and regimen.strength not in tablets:
        yield ctx.say(
            rule,
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
                rule,
                "not_makeable",
                dose=dose.text(),
                tablet=smallest.text(),
                parts=rule.code_map("tablet_part_names")[str(parts)],
            )
            return


@implements("oral-wean", OralRegimen)
def oral_wean(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """While an infusion runs, a cut of the oral daily dose larger than the top of ``step``
    (``step_too_large``)."""
    regimen = _proposal(ctx)
    before = ctx.oral_active
    if regimen is None or before is None or ctx.infusion_active is None:
        return
    if regimen.daily_dose >= before.daily_dose:
        return
    step = rule.fraction_range("step")
    cut = 1 - regimen.daily_dose.ratio(before.daily_dose)
    if cut > step.high:
        yield ctx.say(
            rule,
            "step_too_large",
            cut=format_percent(ceil_fraction(cut)),
            low=format_percent(step.low),
            high=format_percent(step.high),
            reassess=rule.quantity("reassess_within").text(),
        )
