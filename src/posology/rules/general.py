"""Kinds of rules about the whole patient and the treatment as a whole, on either route.

The indication's scope and population, the origin the limits depend on, when to start
(``stable-condition``), never stop suddenly (``gradual-stop``), and the patient's conditions,
pregnancy and breastfeeding. Each kind reads its numbers, codes and words from the rule it is
given (docs/knowledge-format.md, "Rule kinds").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction

from ..knowledge.schema import Pack, Rule
from ..model.events import ItInfusion, ItStop, ItTestDose, OralRegimen, OralStop
from ..model.finding import Finding
from ..model.patient import Patient
from ..units import Quantity
from .context import DOSE_KINDS, Context, PatientFacts
from .kinds import implements
from .limits import is_gradual
from .per_pack import per_pack, per_rule


def _gives_drug(ctx: Context) -> bool:
    return isinstance(ctx.proposal, DOSE_KINDS)


def _may_be_out_of_scope(facts: PatientFacts, child: bool, rule: Rule) -> bool:
    """The scope can speak: an unlisted diagnosis, or a child with an adults' diagnosis."""
    diagnosis = facts.patient.diagnosis
    return diagnosis == rule.code("unlisted_diagnosis") or (
        child and diagnosis in rule.code_list("adult_diagnoses")
    )


def _may_be_pregnant(patient: Patient) -> bool:
    """Pregnancy can speak: a pregnancy recorded, or not recorded for a woman."""
    return bool(patient.pregnant) or (patient.pregnant is None and patient.sex == "female")


@implements("indication-scope", *DOSE_KINDS, only_if=_may_be_out_of_scope)
def indication_scope(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A diagnosis the indication does not list (``unlisted``); a child on an oral regimen for
    a diagnosis listed for adults only (``outside``)."""
    if not _gives_drug(ctx):
        return
    diagnosis = ctx.patient.diagnosis
    if diagnosis == rule.code("unlisted_diagnosis"):
        yield ctx.say(rule, "unlisted")
    elif (
        ctx.is_child
        and isinstance(ctx.proposal, OralRegimen)
        and diagnosis in rule.code_list("adult_diagnoses")
    ):
        yield ctx.say(rule, "outside", diagnosis=diagnosis)


@implements("population", OralRegimen, ItTestDose, only_if=lambda facts, child, rule: child)
def population(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A child (under ``adult_age``): an oral regimen (``child_oral``) or a screening test dose
    (``child_gap``) is said to be judged by the children's rules, or to lack them."""
    if not ctx.is_child:
        return
    adult = rule.quantity("adult_age").text()
    if isinstance(ctx.proposal, OralRegimen):
        yield ctx.say(rule, "child_oral", adult_age=adult)
    elif isinstance(ctx.proposal, ItTestDose):
        yield ctx.say(rule, "child_gap", adult_age=adult)


@implements("origin", ItInfusion, only_if=lambda facts, child, rule: facts.origin is None)
def origin(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An infusion for a patient whose origin neither the record nor ``origin_by_diagnosis``
    gives (``unknown``): the stricter limits of the origins apply."""
    if ctx.origin is None and isinstance(ctx.proposal, ItInfusion):
        yield ctx.say(rule, "unknown")


@implements(
    "stable-condition",
    *DOSE_KINDS,
    only_if=lambda facts, child, rule: facts.patient.spasticity_stable is not True,
)
def stable_condition(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A first start while the condition treated is not (``not_stable``) or not known to be
    (``unknown``) stable. Only a first start is judged: a restart after a stop resumes a
    treatment already begun."""
    if not _gives_drug(ctx) or ctx.any_baclofen_before:
        return
    stable = ctx.patient.spasticity_stable
    if stable is False:
        yield ctx.say(rule, "not_stable")
    elif stable is None:
        yield ctx.say(rule, "unknown")


_NO_SPAN = Quantity.of(0, "h")


@per_rule
def _stop_spans(pack: Pack, rule: Rule) -> tuple[Quantity, Quantity]:
    """The shortest taper before an oral and an intrathecal stop: the low end of the oral
    taper's ``span`` (role ``oral.taper``) and of the tolerance rule's ``taper_span`` (role
    ``intrathecal.tolerance``), else this rule's own ``oral_span`` / ``intrathecal_span``;
    without either only the number of reductions counts."""

    def span(role: str, name: str, own: str) -> Quantity:
        if pack.has_role(role):
            return pack.role(role).range(name).low
        if own in rule.numbers:
            return rule.quantity(own)
        return _NO_SPAN

    return (
        span("oral.taper", "span", "oral_span"),
        span("intrathecal.tolerance", "taper_span", "intrathecal_span"),
    )


@per_pack
def _withdrawal_signs(pack: Pack) -> tuple[str, str]:
    """The early and advanced signs of withdrawal (role ``intrathecal.withdrawal``)."""
    if not pack.has_role("intrathecal.withdrawal"):
        return "", ""
    signs = pack.role("intrathecal.withdrawal")
    return ", ".join(signs.code_list("early_signs")), ", ".join(signs.code_list("advanced_signs"))


@implements("gradual-stop", OralStop, ItStop)
def gradual_stop(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A stop of the oral regimen (``oral_abrupt``) or of the infusion (``intrathecal_abrupt``)
    not preceded by ``min_reductions`` successive reductions, the first at least the shortest
    taper span before it."""
    min_reductions = rule.count("min_reductions")
    proposal = ctx.proposal
    if isinstance(proposal, OralStop) and ctx.oral_active is not None:
        span = _stop_spans(ctx.pack, rule)[0]
        taper = ctx.past.oral_taper
        if not is_gradual(taper, proposal.at, min_reductions, span):
            yield ctx.say(
                rule,
                "oral_abrupt",
                daily=ctx.oral_active.daily_dose.text(),
                reductions=taper.reductions,
                min_reductions=min_reductions,
                span=span.text(),
            )
    elif isinstance(proposal, ItStop) and ctx.infusion_active is not None:
        span = _stop_spans(ctx.pack, rule)[1]
        taper = ctx.past.infusion_taper
        if not is_gradual(taper, proposal.at, min_reductions, span):
            early, advanced = _withdrawal_signs(ctx.pack)
            yield ctx.say(
                rule,
                "intrathecal_abrupt",
                daily=ctx.infusion_active.daily_dose.text(),
                reductions=taper.reductions,
                min_reductions=min_reductions,
                span=span.text(),
                early_signs=early,
                advanced_signs=advanced,
            )


@implements(
    "condition-caution",
    *DOSE_KINDS,
    only_if=lambda facts, child, rule: bool(facts.patient.conditions),
)
def condition_caution(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """Each watched condition the patient has (``present``, with the condition's caution from
    ``watch``); those in ``elderly_only`` only from the elderly age on (at every age when the
    pack gives none)."""
    if not _gives_drug(ctx):
        return
    watch, elderly_only, elderly_age = _caution(ctx.pack, rule)
    # without an elderly age every patient is watched for them (the cautious reading)
    elderly = elderly_age is None or (ctx.age is not None and ctx.age >= elderly_age)
    for condition in sorted(ctx.patient.conditions):
        if condition not in watch or (condition in elderly_only and not elderly):
            continue
        yield ctx.say(rule, "present", caution=watch[condition])


@per_rule
def _caution(pack: Pack, rule: Rule) -> tuple[Mapping[str, str], tuple[str, ...], Fraction | None]:
    """The watched conditions, those watched only in the elderly, and the elderly age in years
    (the rule in the role ``oral.elderly``, else this rule's own ``elderly_age``; without
    either, None: the elderly-only conditions are watched at every age)."""
    elderly_only = rule.code_list("elderly_only") if "elderly_only" in rule.codes else ()
    if pack.has_role("oral.elderly"):
        elderly_age: Fraction | None = pack.role("oral.elderly").quantity("elderly_age").in_("a")
    elif "elderly_age" in rule.numbers:
        elderly_age = rule.quantity("elderly_age").in_("a")
    else:
        elderly_age = None
    return rule.code_map("watch"), elderly_only, elderly_age


@implements(
    "pregnancy", *DOSE_KINDS, only_if=lambda facts, child, rule: _may_be_pregnant(facts.patient)
)
def pregnancy(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A pregnant patient (``pregnant``, worded for the oral or the intrathecal route); a woman
    within ``childbearing_ages`` whose pregnancy is not recorded (``unknown``)."""
    if not _gives_drug(ctx):
        return
    patient = ctx.patient
    if patient.pregnant:
        oral = isinstance(ctx.proposal, OralRegimen)
        yield ctx.say(rule, "pregnant", "pregnant_oral" if oral else "pregnant_it")
        return
    ages = rule.range("childbearing_ages")
    if (
        patient.pregnant is None
        and patient.sex == "female"
        and ctx.age_quantity is not None
        and ctx.age_quantity in ages
    ):
        yield ctx.say(rule, "unknown")


@implements(
    "lactation", *DOSE_KINDS, only_if=lambda facts, child, rule: bool(facts.patient.breastfeeding)
)
def lactation(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A breastfeeding patient (``breastfeeding``)."""
    if _gives_drug(ctx) and ctx.patient.breastfeeding:
        yield ctx.say(rule, "breastfeeding")
