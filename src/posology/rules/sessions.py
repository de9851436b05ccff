"""The kinds of rules that judge an injection session (a botulinum toxin's muscles and Units).

A session is a set of injections, one per muscle and side, each with its dose in Units of the
session's product. The labels limit it in five ways, each a kind here, parameterised by the
pack: the product's own Units (``product-units``: another product's Units are never converted),
a dose range for each muscle (``muscle-dose``), a most per injection site (``site-dose``), a
total for the session, a limb or each side of a limb (``session-total``), and the weeks between
sessions (``session-interval``). A rule speaks for one product (``codes.product``) and one
population (``codes.population``); per-kilogram numbers are worked out with the patient's
weight, and a child's session cannot be judged without one.

Which limb a muscle belongs to is the pack's (the rule in the role ``injection.muscles``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from fractions import Fraction

from ..errors import PackError
from ..knowledge.schema import Pack, Range, Rule
from ..model.events import Injection, InjectionSession
from ..model.finding import Finding
from ..units import ACTIVITY, Quantity, format_number
from .context import Context, for_population
from .kinds import implements
from .past import newest_first
from .per_pack import per_pack
from .spans import shorter_than, since

ANY_LIMB = "any"
WHOLE_SESSION = "session"
EACH_SIDE = "side"


@per_pack
def limb_of(pack: Pack) -> Mapping[str, str]:
    """Each muscle's limb (``upper`` or ``lower``), from the rule in the role
    ``injection.muscles``."""
    return pack.role("injection.muscles").code_map("limb")


def speaks_for(ctx: Context, rule: Rule) -> InjectionSession | None:
    """The proposal, when it is a session this rule speaks for (its product, its population)."""
    session = ctx.proposal
    if not isinstance(session, InjectionSession):
        return None
    product = rule.codes.get("product")
    if product is not None and product != session.product:
        return None
    if not for_population(rule, ctx.is_child):
        return None
    return session


def own_units(session: InjectionSession) -> tuple[Injection, ...]:
    """The injections written in the session's own product's Units: the only ones any dose can
    be judged for (the others are ``product-units``' to call out)."""
    return tuple(i for i in session.injections if i.units_of is None)


def product_name(pack: Pack, product: str) -> str:
    """A product in words (``onabotulinumtoxinA (BOTOX)``), from the role
    ``injection.muscles``'s table of product names; the code when the pack names none."""
    names = pack.role("injection.muscles").codes.get("product_names")
    if isinstance(names, Mapping):
        return str(names.get(product, product))
    return product


def muscle_words(code: str) -> str:
    """A muscle's code in words (``biceps-brachii``: biceps brachii): pages and findings speak
    words, not codes."""
    return code.replace("-", " ")


def _where(injection: Injection) -> str:
    """The injection's muscle and side in words (``biceps brachii (left)``)."""
    side = f" ({injection.side})" if injection.side else ""
    return muscle_words(injection.muscle) + side


@implements("product-units", InjectionSession)
def product_units(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An injection whose dose is written in another product's Units (``present``): the Units
    are not interchangeable, so the dose is unknown in the session's product's Units."""
    session = speaks_for(ctx, rule)
    if session is None:
        return
    for injection in session.injections:
        if injection.units_of is not None:
            yield ctx.say(
                rule,
                "present",
                muscle=_where(injection),
                dose=injection.dose.text(),
                written=product_name(ctx.pack, injection.units_of),
                product=product_name(ctx.pack, session.product),
            )


def _per_kg(ctx: Context, amount: Quantity | Fraction) -> Quantity | None:
    """A per-kilogram amount for this patient (None without a weight); an amount of Units as
    it is."""
    if not isinstance(amount, Quantity):  # a broken pack: the loader reads ranges of Units
        raise PackError("", None, "numbers", "a dose range must be in U or U/kg")
    if amount.dim == ACTIVITY:
        return amount
    weight = ctx.patient.weight
    return None if weight is None else amount * weight


@implements("muscle-dose", InjectionSession)
def muscle_dose(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """Each muscle's dose against the rule's range for that muscle (``doses``, in Units or Units
    per kg): above it ``above``, below it ``below`` when the rule has that severity. A muscle the
    table does not list is not this rule's; a per-kg range without a weight is
    ``weight_unknown``."""
    session = speaks_for(ctx, rule)
    if session is None:
        return
    table = rule.value("doses")
    if not isinstance(table, Mapping):
        raise PackError(rule.file, rule.id, "numbers.doses", "must be a table of ranges by muscle")
    missing_weight = False
    for injection in own_units(session):
        listed = table.get(injection.muscle)
        if not isinstance(listed, Range):
            continue
        low, high = _per_kg(ctx, listed.low), _per_kg(ctx, listed.high)
        if low is None or high is None:
            missing_weight = True
            continue
        values = {
            "muscle": _where(injection),
            "dose": injection.dose.text(),
            "range": listed.text(),
            "low": low.text(),
            "high": high.text(),
        }
        if injection.dose > high:
            yield ctx.say(rule, "above", **values)
        elif injection.dose < low and "below" in rule.severities:
            yield ctx.say(rule, "below", **values)
    if missing_weight:
        yield ctx.say(rule, "weight_unknown")


@implements("site-dose", InjectionSession)
def site_dose(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An injection whose dose per site (its dose over its sites) is above ``most_per_site``
    (``above``)."""
    session = speaks_for(ctx, rule)
    if session is None:
        return
    most = rule.quantity("most_per_site")
    for injection in own_units(session):
        per_site = injection.dose / injection.sites
        if per_site > most:
            yield ctx.say(
                rule,
                "above",
                muscle=_where(injection),
                dose=injection.dose.text(),
                sites=injection.sites,
                per_site=per_site.text(places=1),
                most=most.text(),
            )


def _groups(
    injections: tuple[Injection, ...], limbs: Mapping[str, str], limb: str, per: str
) -> dict[str | None, list[Injection]]:
    """The injections a total is taken over: those of ``limb`` (``any``: all), as one group or
    one per side (``per`` is ``side``; an injection with no side is counted with each side, the
    careful reading when the side is not said)."""
    chosen = [i for i in injections if limb == ANY_LIMB or limbs.get(i.muscle) == limb]
    if not chosen:
        return {}
    if per != EACH_SIDE:
        return {None: chosen}
    sides: list[str | None] = [*sorted({i.side for i in chosen if i.side is not None})]
    return {
        side: [i for i in chosen if i.side is None or i.side == side] for side in sides or [None]
    }


def session_limit(ctx: Context, rule: Rule) -> Quantity | None:
    """The most a group may hold under ``rule`` for this patient: ``most``, and ``most_per_kg``
    times the weight, whichever is lower (None when the rule has neither, or needs a weight
    the patient does not have)."""
    limits: list[Quantity] = []
    if "most" in rule.numbers:
        limits.append(rule.quantity("most"))
    if "most_per_kg" in rule.numbers:
        found = _per_kg(ctx, rule.quantity("most_per_kg"))
        if found is None:
            return None
        limits.append(found)
    return min(limits) if limits else None


@implements("session-total", InjectionSession)
def session_total(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """The Units of a session (``codes.limb``: of one limb; ``codes.per``: ``side`` for each
    side apart) above the most (``above``: ``most`` and ``most_per_kg`` times the weight,
    whichever is lower), or outside the recommended range (``recommended``: ``above_range``,
    and ``below_range`` when the rule has that severity; ``recommended_from``, a low end alone:
    ``below_range``). A per-kg number without a weight is ``weight_unknown``."""
    session = speaks_for(ctx, rule)
    if session is None:
        return
    limb = str(rule.codes.get("limb", ANY_LIMB))
    per = str(rule.codes.get("per", WHOLE_SESSION))
    groups = _groups(own_units(session), limb_of(ctx.pack), limb, per)
    if not groups:
        return
    needs_most = "most" in rule.numbers or "most_per_kg" in rule.numbers
    most = session_limit(ctx, rule) if needs_most else None
    span = _recommended(ctx, rule)
    if (needs_most and most is None) or span is _UNKNOWN:
        yield ctx.say(rule, "weight_unknown")
        return
    for side, group in groups.items():
        total = _sum(group)
        values = {
            "total": total.text(),
            "side": f" ({side})" if side else "",
            "product": product_name(ctx.pack, session.product),
        }
        if most is not None and total > most:
            yield ctx.say(rule, "above", most=most.text(), **values)
        elif isinstance(span, tuple):
            low, high = span
            words = {"low": low.text(), "high": "" if high is None else high.text()}
            if high is not None and total > high:
                yield ctx.say(rule, "above_range", **words, **values)
            elif total < low and "below_range" in rule.severities:
                yield ctx.say(rule, "below_range", **words, **values)


_UNKNOWN = object()
"""A recommended span that needs a weight the patient does not have."""


def _recommended(ctx: Context, rule: Rule) -> tuple[Quantity, Quantity | None] | object | None:
    """The rule's recommended span for this patient: ``recommended`` (a range), or
    ``recommended_from`` (its low end alone, for a label whose high end is the rule's ``most``),
    per kg times the weight; None when the rule gives neither, :data:`_UNKNOWN` when it needs a
    weight the patient does not have."""
    if "recommended" in rule.numbers:
        given = rule.range("recommended")
        low, high = _per_kg(ctx, given.low), _per_kg(ctx, given.high)
        return _UNKNOWN if low is None or high is None else (low, high)
    if "recommended_from" in rule.numbers:
        least = _per_kg(ctx, rule.quantity("recommended_from"))
        return _UNKNOWN if least is None else (least, None)
    return None


def _sum(injections: list[Injection]) -> Quantity:
    total = injections[0].dose
    for injection in injections[1:]:
        total = total + injection.dose
    return total


def earlier_sessions(ctx: Context) -> Iterator[InjectionSession]:
    """The sessions of the history before the proposal, newest first (any product of the
    medicine: the rule says which count)."""
    for event in newest_first(ctx.past.events):
        if isinstance(event, InjectionSession):
            yield event


def last_session(ctx: Context, rule: Rule) -> InjectionSession | None:
    """The latest earlier session that counts for ``rule``'s interval: one that injected the
    rule's limb (``codes.limb``; ``any``: every session)."""
    limb = str(rule.codes.get("limb", ANY_LIMB))
    limbs = limb_of(ctx.pack)
    for session in earlier_sessions(ctx):
        if limb == ANY_LIMB or any(limbs.get(i.muscle) == limb for i in session.injections):
            return session
    return None


def next_allowed(session: InjectionSession, rule: Rule) -> datetime:
    """The earliest instant the next session may fall at under ``rule``: ``min_interval`` after
    ``session`` on the calendar (an interval in weeks is counted in calendar days)."""
    days = rule.quantity("min_interval").in_("d")
    return session.at + timedelta(days=math.ceil(days))


@implements("session-interval", InjectionSession)
def session_interval(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A session sooner than ``min_interval`` after the last earlier session that injected the
    rule's limb (``too_soon``), whichever product that session was of: the toxin's effect is
    what the interval spaces, and Units of two products cannot be added to say it is less."""
    session = speaks_for(ctx, rule)
    if session is None:
        return
    limb = str(rule.codes.get("limb", ANY_LIMB))
    if limb != ANY_LIMB and not any(
        limb_of(ctx.pack).get(i.muscle) == limb for i in session.injections
    ):
        return
    before = last_session(ctx, rule)
    if before is None:
        return
    least = rule.quantity("min_interval")
    if shorter_than(before.at, session.at, least):
        days = since(before.at, session.at, Quantity.of(1, "d")).magnitude
        yield ctx.say(
            rule,
            "too_soon",
            days=format_number(days, 0),
            least=least.text(),
            last=before.at.date().isoformat(),
            earliest=next_allowed(before, rule).date().isoformat(),
        )
