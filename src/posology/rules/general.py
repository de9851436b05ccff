"""Rules about the whole patient and the treatment as a whole, on either route.

Scope and population (IND-*), when to start (SEL-STABLE), never stop suddenly (STOP-GRADUAL),
and the patient's conditions, pregnancy and breastfeeding (SUP-CAUTION, SUP-PREGNANCY,
SUP-LACTATION).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction

from ..knowledge.schema import Pack
from ..model.events import ItInfusion, ItStop, ItTestDose, OralRegimen, OralStop
from ..model.finding import Finding
from ..model.patient import Patient
from .context import DOSE_KINDS, Context, PatientFacts
from .kinds import judges
from .limits import is_gradual
from .per_pack import per_pack


def _gives_drug(ctx: Context) -> bool:
    return isinstance(ctx.proposal, DOSE_KINDS)


def _may_be_out_of_scope(facts: PatientFacts, child: bool) -> bool:
    """IND-SCOPE can speak: an unlisted diagnosis, or a child with an adults' diagnosis."""
    rule = facts.pack.rule("IND-SCOPE")
    diagnosis = facts.patient.diagnosis
    return diagnosis == rule.code("unlisted_diagnosis") or (
        child and diagnosis in rule.code_list("adult_diagnoses")
    )


def _may_be_pregnant(patient: Patient) -> bool:
    """SUP-PREGNANCY can speak: a pregnancy recorded, or not recorded for a woman."""
    return bool(patient.pregnant) or (patient.pregnant is None and patient.sex == "female")


@judges(*DOSE_KINDS, only_if=lambda facts, child: _may_be_out_of_scope(facts, child))
def ind_scope(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    rule = ctx.pack.rule("IND-SCOPE")
    diagnosis = ctx.patient.diagnosis
    if diagnosis == rule.code("unlisted_diagnosis"):
        yield ctx.say("IND-SCOPE", "unlisted")
    elif (
        ctx.is_child
        and isinstance(ctx.proposal, OralRegimen)
        and diagnosis in rule.code_list("adult_diagnoses")
    ):
        yield ctx.say("IND-SCOPE", "outside", diagnosis=diagnosis)


@judges(OralRegimen, ItTestDose, only_if=lambda facts, child: child)
def ind_population(ctx: Context) -> Iterator[Finding]:
    if not ctx.is_child:
        return
    adult = ctx.pack.rule("IND-POPULATION").quantity("adult_age").text()
    if isinstance(ctx.proposal, OralRegimen):
        yield ctx.say("IND-POPULATION", "child_oral", adult_age=adult)
    elif isinstance(ctx.proposal, ItTestDose):
        yield ctx.say("IND-POPULATION", "child_gap", adult_age=adult)


@judges(ItInfusion, only_if=lambda facts, child: facts.origin is None)
def ind_origin(ctx: Context) -> Iterator[Finding]:
    if ctx.origin is None and isinstance(ctx.proposal, ItInfusion):
        yield ctx.say("IND-ORIGIN", "unknown")


@judges(*DOSE_KINDS, only_if=lambda facts, child: facts.patient.spasticity_stable is not True)
def sel_stable(ctx: Context) -> Iterator[Finding]:
    """Only a first start is judged: a restart after a stop resumes a treatment already begun."""
    if not _gives_drug(ctx) or ctx.any_baclofen_before:
        return
    stable = ctx.patient.spasticity_stable
    if stable is False:
        yield ctx.say("SEL-STABLE", "not_stable")
    elif stable is None:
        yield ctx.say("SEL-STABLE", "unknown")


@judges(OralStop, ItStop)
def stop_gradual(ctx: Context) -> Iterator[Finding]:
    pack = ctx.pack
    min_reductions = pack.rule("STOP-GRADUAL").count("min_reductions")
    proposal = ctx.proposal
    if isinstance(proposal, OralStop) and ctx.oral_active is not None:
        span = pack.rule("SUP-PO-TAPER").range("span").low
        taper = ctx.past.oral_taper
        if not is_gradual(taper, proposal.at, min_reductions, span):
            yield ctx.say(
                "STOP-GRADUAL",
                "oral_abrupt",
                daily=ctx.oral_active.daily_dose.text(),
                reductions=taper.reductions,
                min_reductions=min_reductions,
                span=span.text(),
            )
    elif isinstance(proposal, ItStop) and ctx.infusion_active is not None:
        span = pack.rule("IT-TOLERANCE").range("taper_span").low
        taper = ctx.past.infusion_taper
        if not is_gradual(taper, proposal.at, min_reductions, span):
            signs = pack.rule("SUP-IT-WITHDRAWAL")
            yield ctx.say(
                "STOP-GRADUAL",
                "intrathecal_abrupt",
                daily=ctx.infusion_active.daily_dose.text(),
                reductions=taper.reductions,
                min_reductions=min_reductions,
                span=span.text(),
                early_signs=", ".join(signs.code_list("early_signs")),
                advanced_signs=", ".join(signs.code_list("advanced_signs")),
            )


@judges(*DOSE_KINDS, only_if=lambda facts, child: bool(facts.patient.conditions))
def sup_caution(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    watch, elderly_only, elderly_age = _caution(ctx.pack)
    elderly = ctx.age is not None and ctx.age >= elderly_age
    for condition in sorted(ctx.patient.conditions):
        if condition not in watch or (condition in elderly_only and not elderly):
            continue
        yield ctx.say("SUP-CAUTION", "present", caution=watch[condition])


@per_pack
def _caution(pack: Pack) -> tuple[Mapping[str, str], tuple[str, ...], Fraction]:
    """SUP-CAUTION's watched conditions, those watched only in the elderly, and the elderly
    age in years (SUP-PO-ELDERLY)."""
    rule = pack.rule("SUP-CAUTION")
    elderly_age = pack.rule("SUP-PO-ELDERLY").quantity("elderly_age").in_("a")
    return rule.code_map("watch"), rule.code_list("elderly_only"), elderly_age


@judges(*DOSE_KINDS, only_if=lambda facts, child: _may_be_pregnant(facts.patient))
def sup_pregnancy(ctx: Context) -> Iterator[Finding]:
    if not _gives_drug(ctx):
        return
    patient = ctx.patient
    if patient.pregnant:
        oral = isinstance(ctx.proposal, OralRegimen)
        yield ctx.say("SUP-PREGNANCY", "pregnant", "pregnant_oral" if oral else "pregnant_it")
        return
    ages = ctx.pack.rule("SUP-PREGNANCY").range("childbearing_ages")
    if (
        patient.pregnant is None
        and patient.sex == "female"
        and ctx.age_quantity is not None
        and ctx.age_quantity in ages
    ):
        yield ctx.say("SUP-PREGNANCY", "unknown")


@judges(*DOSE_KINDS, only_if=lambda facts, child: bool(facts.patient.breastfeeding))
def sup_lactation(ctx: Context) -> Iterator[Finding]:
    if _gives_drug(ctx) and ctx.patient.breastfeeding:
        yield ctx.say("SUP-LACTATION", "breastfeeding")


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
