"""What the checker knows when it judges a proposal: the patient and the history before it.

The history is read once, in time order, into the facts the rules ask about (a
:class:`~posology.rules.past.Past`): the oral regimen in force, the infusion in force and the
course it belongs to, the phase (titration until ``it-stable``, maintenance after), the
screening episode, the refills. Every rule then reads these facts instead of walking the
history again, and the same facts, advanced one event at a time, judge a whole history in
O(n).
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any, NamedTuple

from ..errors import PackError
from ..knowledge.schema import Pack, Rule, Severity
from ..model.events import (
    Event,
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
)
from ..model.finding import Finding
from ..model.patient import Patient, age_at, origin_of
from ..units import Quantity, unit
from .past import Past
from .per_pack import per_pack
from .spans import CALENDAR_UNITS, calendar_days, compare_span, elapsed, hours_between, since

DOSE_KINDS = (OralRegimen, ItTestDose, ItInfusion)
INTRATHECAL_KINDS = (ItTestDose, PumpImplant, ItInfusion, PumpRefill, ItStable, ItStop)


class Context(NamedTuple):
    """The facts every rule reads: the patient, the proposal and the :class:`Past` before it.

    Made by :func:`build_context` from a history, or by :func:`context_for` from a past already
    read. The facts of the past are offered under their own names (``ctx.oral_active``); the
    events themselves (``ctx.history``, ``ctx.refills``...) are built on demand for planners.

    An immutable record, a named tuple as :class:`Past` is: judging a history makes one per
    event, and a tuple is made in one step where a frozen class sets its fields one by one
    (ten of them: most of the cost of preparing an event). It compares as the record it
    replaces did: contexts of the same class, field by field, ``facts`` left out.
    """

    pack: Pack
    patient: Patient
    proposal: Event
    past: Past
    age: Fraction | None
    origin: str | None
    is_child: bool
    age_quantity: Quantity | None = None
    """The age as a duration in years, to compare with the pack's age bands."""
    facts: PatientFacts | None = None
    """What this patient's contexts share (the checks that can speak for them, by kind); not
    part of the value (left out of equality and of the repr)."""
    others: tuple[Event, ...] = ()
    """The events of the patient's other medicines up to the proposal, in time order: what the
    interaction rules read (the pack's own rules read only the past of its medicine)."""

    def _compared(self) -> tuple[object, ...]:
        """The fields that make the value: all but ``facts``."""
        return (*self[:8], self.others)

    def __eq__(self, other: object) -> bool:
        # never equal to a plain tuple of the same values: a context is not a sequence
        return isinstance(other, Context) and self._compared() == other._compared()

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(self._fields, self, strict=True)
            if name != "facts"
        )
        return f"Context({shown})"

    # -- the past's facts ------------------------------------------------------------------
    @property
    def any_baclofen_before(self) -> bool:
        return self.past.any_baclofen_before

    @property
    def oral_active(self) -> OralRegimen | None:
        return self.past.oral_active

    @property
    def oral_last_change(self) -> OralRegimen | None:
        return self.past.oral_last_change

    @property
    def oral_stop(self) -> OralStop | None:
        """The last oral stop that ended a regimen."""
        return self.past.oral_stop

    @property
    def oral_before_stop(self) -> OralRegimen | None:
        """The regimen that stop ended (a restart is judged against it, not a starting dose)."""
        return self.past.oral_before_stop

    @property
    def infusion_active(self) -> ItInfusion | None:
        return self.past.infusion_active

    @property
    def course_start(self) -> ItInfusion | None:
        """The first infusion of the course in force (None when none runs)."""
        return self.past.course_start

    @property
    def last_infusion_change(self) -> ItInfusion | None:
        """The last infusion of the course in force that changed the daily dose."""
        return self.past.last_infusion_change

    @property
    def first_infusion(self) -> ItInfusion | None:
        return self.past.first_infusion

    @property
    def stable_at(self) -> datetime | None:
        return self.past.stable_at

    @property
    def infusion_stop(self) -> ItStop | None:
        """The last intrathecal stop that ended an infusion."""
        return self.past.infusion_stop

    @property
    def infusion_before_stop(self) -> ItInfusion | None:
        return self.past.infusion_before_stop

    # -- the events, built on demand (O(n)): planners read them, rules read the facts above --
    @property
    def history(self) -> tuple[Event, ...]:
        return self.past.history

    @property
    def oral_events(self) -> tuple[OralRegimen | OralStop, ...]:
        return self.past.oral_events

    @property
    def test_doses(self) -> tuple[ItTestDose, ...]:
        return self.past.test_doses

    @property
    def episode(self) -> tuple[ItTestDose, ...]:
        return self.past.episode

    @property
    def infusion_events(self) -> tuple[ItInfusion | ItStop, ...]:
        return self.past.infusion_events

    @property
    def refills(self) -> tuple[PumpRefill, ...]:
        return self.past.refills

    # -- derived answers ----------------------------------------------------------------------
    @property
    def maintenance(self) -> bool:
        """True once the clinician has declared the current infusion course stable."""
        return self.past.stable_at is not None

    def finding(self, rule: Rule | str, severity_key: str, message: str) -> Finding:
        """A finding of a rule, its severity read from the pack, its citation the rule's."""
        if isinstance(rule, str):
            rule = self.pack.rule(rule)
        severity = rule.severity(severity_key)
        if rule.evidence == "study" and severity > Severity.WARNING:
            severity = Severity.WARNING
        return Finding(rule.id, severity, message, rule.citation)

    def say(
        self, rule: Rule | str, severity_key: str, text: str | None = None, **values: object
    ) -> Finding:
        """A finding whose words are the pack's: the rule's text ``finding_<text>`` (by default
        ``text`` is the severity key) with its placeholders filled by ``values``.

        The checker supplies numbers only; every clinical word a user reads is reviewed in the
        pack with the rule it belongs to. The ``finding_`` prefix keeps the checker's sentences
        apart from the planner's texts of the same rule. ``rule`` is the rule a kind judges (an
        ID is looked up in the pack, for callers outside the checker).
        """
        if isinstance(rule, str):
            rule = self.pack.rule(rule)
        message = rule.phrase(f"finding_{text or severity_key}", **values)
        return self.finding(rule, severity_key, message)

    def oral_restart_of(self) -> OralRegimen | None:
        """The regimen an oral proposal resumes after a short interruption, if it is one.

        The oral start's reading (the rule in the role ``oral.start``): a regimen started within
        its ``restart_window`` of an oral stop is the same treatment resumed, judged against the
        daily dose taken before the stop. A pack with no such window knows no restart.
        """
        past = self.past
        stop, before = past.oral_stop, past.oral_before_stop
        if past.oral_active is not None or stop is None or before is None:
            return None
        window = _restart_window(self.pack)
        if window is None:
            return None
        return before if compare_span(stop.at, self.proposal.at, window) <= 0 else None

    def infusion_gap(self, window: Quantity | None = None) -> Quantity | None:
        """The time since the last intrathecal stop, for an infusion proposed while none runs,
        counted as ``window`` is (by default the tolerance rule's ``interruption_max``, the rule
        in the role ``intrathecal.tolerance``; in hours when the pack has none)."""
        past = self.past
        stop = past.infusion_stop
        if past.infusion_active is not None or stop is None or past.infusion_before_stop is None:
            return None
        if window is None:
            window = _interruption_window(self.pack)
        return since(stop.at, self.proposal.at, window)


@per_pack
def _restart_window(pack: Pack) -> Quantity | None:
    """The oral start's ``restart_window``, None when the pack has none."""
    if not pack.has_role("oral.start"):
        return None
    rule = pack.role("oral.start")
    return rule.quantity("restart_window") if "restart_window" in rule.numbers else None


_HOUR = Quantity.of(1, "h")


@per_pack
def _interruption_window(pack: Pack) -> Quantity:
    """The intrathecal tolerance rule's ``interruption_max`` (how a gap is counted)."""
    if pack.has_role("intrathecal.tolerance"):
        return pack.role("intrathecal.tolerance").quantity("interruption_max")
    return _HOUR


def build_context(
    patient: Patient,
    history: tuple[Event, ...],
    proposal: Event,
    pack: Pack,
    others: tuple[Event, ...] = (),
) -> Context:
    """Read the history up to the proposal's instant into a :class:`Context`.

    ``history`` must be sorted by time (the document reader sorts it) and hold the pack's
    medicine only; ``others`` the other medicines' events, sorted too. Events dated after the
    proposal are not its past and are left out.
    """
    when = proposal.at
    prior = [e for e in history if e.at <= when]
    before = tuple(e for e in others if e.at <= when) if others else ()
    return context_for(patient, Past.of(pack, prior), proposal, before)


def context_for(
    patient: Patient, past: Past, proposal: Event, others: tuple[Event, ...] = ()
) -> Context:
    """The context of judging ``proposal`` after ``past`` (its pack is the past's) and the
    other medicines' events ``others``."""
    return context_with(facts_of(patient, past.pack), past, proposal, others)


def facts_of(patient: Patient, pack: Pack) -> PatientFacts:
    """The :class:`PatientFacts` of a patient under a pack: kept, by the patient's identity,
    for the patient's next check (a batch judges one patient after another)."""
    facts = _FACTS.get(id(patient))
    if facts is None or facts.patient is not patient or facts.pack is not pack:
        facts = PatientFacts(patient, pack)
        if len(_FACTS) >= _FACTS_KEPT:
            _FACTS.clear()  # one step, safe between threads
        _FACTS[id(patient)] = facts
    return facts


def context_with(
    facts: PatientFacts, past: Past, proposal: Event, others: tuple[Event, ...] = ()
) -> Context:
    """:func:`context_for` of the patient whose facts are ``facts`` (``past`` read under the
    same pack): what judging a whole history calls for each event, the patient's facts looked
    up once."""
    age = age_at(facts.patient, proposal.at)
    known = facts.at_age
    if known[0] is not age and known[0] != age:
        known = facts.at_age = _at_age(age, facts.pack)
    return _new_context(
        Context,
        (
            facts.pack,
            facts.patient,
            proposal,
            past,
            age,
            facts.origin,
            known[1],
            known[2],
            facts,
            others,
        ),
    )


_new_context = tuple.__new__  # a context in one step: every field is given, in order
_YEARS = unit("a")
_AtAge = tuple[Fraction | None, bool, Quantity | None]


def _at_age(age: Fraction | None, pack: Pack) -> _AtAge:
    """An age, whether it is a child's (the population rule's adult age), and the age as a
    duration."""
    adult = _adult_age(pack)
    return (
        age,
        age is not None and adult is not None and age < adult,
        None if age is None else Quantity(Fraction(age), _YEARS),
    )


class PatientFacts:
    """What a patient's contexts share, worked out once per patient and pack: the origin, the
    facts of the age last asked about (a patient's events mostly fall at one age), and the
    checks that can speak for the patient, by kind of proposal and childhood (``plans``,
    filled by the checker). Kept by the patient's identity: a patient is an immutable value,
    and the document reader gives the same value for the same PATIENT again."""

    __slots__ = ("at_age", "origin", "pack", "patient", "plans")

    def __init__(self, patient: Patient, pack: Pack) -> None:
        self.patient = patient
        self.pack = pack
        # the origin from the diagnosis is the origin rule's (role ``indication.origin``)
        has_origin = pack.has_role("indication.origin")
        self.origin = origin_of(patient, pack) if has_origin else patient.origin
        self.at_age: _AtAge = (None, False, None)
        self.plans: dict[tuple[type, bool], tuple[Any, ...]] = {}


_FACTS: dict[int, PatientFacts] = {}
_FACTS_KEPT = 4_096
"""Patients whose shared facts are kept at once (a batch judges one patient after another)."""


@per_pack
def _adult_age(pack: Pack) -> Fraction | None:
    """The adult age of the rule in the role ``indication.population``, in years; None when the
    pack names none (every patient is then judged by the rules for all ages and adults)."""
    if not pack.has_role("indication.population"):
        return None
    return pack.role("indication.population").quantity("adult_age").in_("a")


POPULATIONS = ("all", "adults", "children")
"""What a rule's ``population`` code may say: whom the rule speaks for (``all`` when absent)."""


def for_population(rule: Rule, is_child: bool) -> bool:
    """True when ``rule`` speaks for a child (``is_child``) or an adult: its ``population``
    code is ``all`` (or absent), ``adults`` or ``children``."""
    population = rule.codes.get("population", "all")
    if population == "all":
        return True
    if population not in POPULATIONS:
        raise PackError(
            rule.file, rule.id, "codes.population", f"must be one of {', '.join(POPULATIONS)}"
        )
    return is_child == (population == "children")


def floor_to(q: Quantity, places: int = 1) -> Quantity:
    """``q`` rounded down to ``places`` decimals: how a finding prints a duration said to be too
    short, or a limit not to pass, so the printed number never reads as compliant when the
    exact one is not ("23.9 h", never "24 h", for 23 h 59 min against a 24 h rule).
    """
    scale = 10**places
    m = q.magnitude
    return Quantity(Fraction(m.numerator * scale // m.denominator, scale), q.unit)


def ceil_to(q: Quantity, places: int = 1) -> Quantity:
    """``q`` rounded up to ``places`` decimals: how a finding prints an amount said to be too
    large (or a duration said to be too long)."""
    scale = 10**places
    m = q.magnitude
    return Quantity(Fraction(-(-m.numerator * scale // m.denominator), scale), q.unit)


def ceil_fraction(value: Fraction, places: int = 1) -> Fraction:
    """A share (a rise, a cut) rounded up to ``places`` decimals of a percent."""
    scale = 100 * 10**places
    return Fraction(-(-value.numerator * scale // value.denominator), scale)


def floor_fraction(value: Fraction, places: int = 1) -> Fraction:
    """A share rounded down to ``places`` decimals of a percent (a limit not to pass)."""
    scale = 100 * 10**places
    return Fraction(value.numerator * scale // value.denominator, scale)


def duration_text(earlier: datetime, later: datetime) -> str:
    """The time between two instants for a message, rounded down: in hours up to two days,
    else in calendar days (a restart "6 h" or "5 days" after a stop)."""
    hours = hours_between(earlier, later)
    if hours < 48:
        return floor_to(Quantity.of(hours, "h"), 1).text()
    return floor_to(Quantity.of(calendar_days(earlier, later), "d"), 1).text()


__all__ = [
    "CALENDAR_UNITS",
    "DOSE_KINDS",
    "INTRATHECAL_KINDS",
    "Context",
    "build_context",
    "calendar_days",
    "ceil_fraction",
    "ceil_to",
    "context_for",
    "duration_text",
    "elapsed",
    "floor_fraction",
    "floor_to",
    "for_population",
    "hours_between",
    "since",
]
