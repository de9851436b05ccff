"""Rules about the whole patient and the treatment as a whole, on either route.

Scope and population (IND-*), when to start (SEL-STABLE), never stop suddenly (STOP-GRADUAL),
and the patient's conditions, pregnancy and breastfeeding (SUP-CAUTION, SUP-PREGNANCY,
SUP-LACTATION).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model.events import ItInfusion, ItStop, ItTestDose, OralRegimen, OralStop
from ..model.finding import Finding
from .context import DOSE_KINDS, Context
from .limits import infusion_timeline, is_gradual, reductions_before


def _gives_drug(ctx: Context) -> bool:
    return isinstance(ctx.proposal, DOSE_KINDS)


def ind_scope(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    rule = ctx.pack.rule("IND-SCOPE")
    diagnosis = ctx.patient.diagnosis
    if diagnosis == rule.code("unlisted_diagnosis"):
        yield ctx.finding(
            "IND-SCOPE",
            "unlisted",
            "The diagnosis is not one the indication lists: confirm that the spasticity is of "
            "voluntary muscle from a spinal or cerebral cause.",
        )
    elif (
        ctx.is_child
        and isinstance(ctx.proposal, OralRegimen)
        and diagnosis in rule.code_list("adult_diagnoses")
    ):
        yield ctx.finding(
            "IND-SCOPE",
            "outside",
            f"The indication lists {diagnosis} for adults only; children are covered for "
            "spasticity of cerebral origin. This oral use in a child is outside the page's scope.",
        )


def ind_population(ctx: Context) -> Iterator[Finding]:
    if not ctx.is_child:
        return
    adult = ctx.pack.rule("IND-POPULATION").quantity("adult_age")
    if isinstance(ctx.proposal, OralRegimen):
        yield ctx.finding(
            "IND-POPULATION",
            "child_oral",
            f"The page's population is adults ({adult.text()} or older); children's oral doses "
            "are checked against the paediatric label facts (SUP-PO-PAED).",
        )
    elif isinstance(ctx.proposal, ItTestDose):
        yield ctx.finding(
            "IND-POPULATION",
            "child_gap",
            f"The page gives screening test doses for adults only (under {adult.text()} is a "
            "gap); SUP-IT-SCREEN-LOW suggests the lower first dose for very small children.",
        )


def ind_origin(ctx: Context) -> Iterator[Finding]:
    if ctx.origin is None and isinstance(ctx.proposal, ItInfusion):
        yield ctx.finding(
            "IND-ORIGIN",
            "unknown",
            "The origin of the spasticity (spinal or cerebral) is not known: the stricter "
            "cerebral-or-spinal limits were applied. Give `origin` in the patient record.",
        )


def sel_stable(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx) or ctx.any_baclofen_before:
        return
    stable = ctx.patient.spasticity_stable
    if stable is False:
        yield ctx.finding(
            "SEL-STABLE",
            "not_stable",
            "Baclofen is being started while the spastic state is recorded as not yet stable.",
        )
    elif stable is None:
        yield ctx.finding(
            "SEL-STABLE",
            "unknown",
            "Baclofen is being started and it is not recorded whether the spastic state has "
            "stabilised (`spasticity_stable`).",
        )


def stop_gradual(ctx: Context) -> Iterator[Finding]:
    pack = ctx.pack
    min_reductions = pack.rule("STOP-GRADUAL").count("min_reductions")
    proposal = ctx.proposal
    if isinstance(proposal, OralStop) and ctx.oral_active is not None:
        span = pack.rule("SUP-PO-TAPER").range("span").low
        timeline = [
            (e.at, e.daily_dose if isinstance(e, OralRegimen) else None) for e in ctx.oral_events
        ]
        taper = reductions_before(timeline)
        if not is_gradual(taper, proposal.at, min_reductions, span):
            yield ctx.finding(
                "STOP-GRADUAL",
                "oral_abrupt",
                f"Oral baclofen ({ctx.oral_active.daily_dose.text()}) would stop after "
                f"{taper.reductions} successive reduction(s); a gradual stop needs at least "
                f"{min_reductions} over at least {span.text()} (SUP-PO-TAPER). Unless this is an "
                "overdose emergency, taper instead.",
            )
    elif isinstance(proposal, ItStop) and ctx.infusion_active is not None:
        span = pack.rule("IT-TOLERANCE").range("taper_span").low
        taper = reductions_before(infusion_timeline(ctx.infusion_events))
        if not is_gradual(taper, proposal.at, min_reductions, span):
            signs = pack.rule("SUP-IT-WITHDRAWAL").code_list("early_signs")
            yield ctx.finding(
                "STOP-GRADUAL",
                "intrathecal_abrupt",
                f"Intrathecal baclofen ({ctx.infusion_active.daily_dose.text()}) would stop "
                f"after {taper.reductions} successive reduction(s); a gradual stop needs at "
                f"least {min_reductions} over at least {span.text()}. Abrupt intrathecal "
                f"withdrawal can be life-threatening (early signs: {', '.join(signs)}). Unless "
                "this is an overdose emergency, taper instead.",
            )


def sup_caution(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    rule = ctx.pack.rule("SUP-CAUTION")
    watch = rule.code_map("watch")
    elderly_only = rule.code_list("elderly_only")
    elderly_age = ctx.pack.rule("SUP-PO-ELDERLY").quantity("elderly_age").in_("a")
    elderly = ctx.age is not None and ctx.age >= elderly_age
    for condition in sorted(ctx.patient.conditions):
        if condition not in watch or (condition in elderly_only and not elderly):
            continue
        yield ctx.finding("SUP-CAUTION", "present", f"Use with caution: {watch[condition]}.")


def sup_pregnancy(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    patient = ctx.patient
    route = "oral" if isinstance(ctx.proposal, OralRegimen) else "intrathecal"
    if patient.pregnant:
        advice = (
            "oral baclofen only if of vital necessity, above all in the first 3 months"
            if route == "oral"
            else "intrathecal baclofen only if the benefit outweighs the risk to the foetus"
        )
        yield ctx.finding(
            "SUP-PREGNANCY",
            "pregnant",
            f"The patient is pregnant: {advice}; baclofen crosses the placenta and withdrawal "
            "with postnatal seizures has followed exposure in the womb.",
        )
        return
    ages = ctx.pack.rule("SUP-PREGNANCY").range("childbearing_ages")
    if (
        patient.pregnant is None
        and patient.sex == "female"
        and ctx.age_quantity is not None
        and ctx.age_quantity in ages
    ):
        yield ctx.finding(
            "SUP-PREGNANCY",
            "unknown",
            "Pregnancy status is not recorded for a woman of child-bearing age (`pregnant`).",
        )


def sup_lactation(ctx: Context) -> Iterator[Finding]:
    if _gives_drug(ctx) and ctx.patient.breastfeeding:
        yield ctx.finding(
            "SUP-LACTATION",
            "breastfeeding",
            "Breastfeeding: oral baclofen passes into milk in amounts too small to expect "
            "effects on the infant.",
        )


CHECKS = (
    ind_scope,
    ind_population,
    ind_origin,
    sel_stable,
    stop_gradual,
    sup_caution,
    sup_pregnancy,
    sup_lactation,
)
