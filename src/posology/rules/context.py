"""What the checker knows when it judges a proposal: the patient and the history before it.

The history is read once, in time order, into the facts the rules ask about: the oral regimen
in force, the infusion in force and the course it belongs to, the phase (titration until
``it-stable``, maintenance after), the screening episode, the refills. Every rule then reads
these facts instead of walking the history again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from ..knowledge.schema import Pack, Severity
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
from ..units import Quantity

DOSE_KINDS = (OralRegimen, ItTestDose, ItInfusion)
INTRATHECAL_KINDS = (ItTestDose, PumpImplant, ItInfusion, PumpRefill, ItStable, ItStop)


@dataclass(frozen=True, slots=True)
class Context:
    """The facts every rule reads. Built once per check by :func:`build_context`."""

    pack: Pack
    patient: Patient
    proposal: Event
    history: tuple[Event, ...]
    age: Fraction | None
    origin: str | None
    is_child: bool
    # oral
    oral_events: tuple[OralRegimen | OralStop, ...]
    oral_active: OralRegimen | None
    oral_last_change: OralRegimen | None
    any_baclofen_before: bool
    # intrathecal
    test_doses: tuple[ItTestDose, ...]
    episode: tuple[ItTestDose, ...]
    infusion_events: tuple[ItInfusion | ItStop, ...]
    infusion_active: ItInfusion | None
    course_start: ItInfusion | None
    last_infusion_change: ItInfusion | None
    first_infusion: ItInfusion | None
    stable_at: datetime | None
    refills: tuple[PumpRefill, ...]
    # the last stop of each route and the dose in force just before it (a restart is judged
    # against that dose, not against a starting dose)
    oral_stop: OralStop | None = None
    oral_before_stop: OralRegimen | None = None
    infusion_stop: ItStop | None = None
    infusion_before_stop: ItInfusion | None = None

    # -- derived answers ----------------------------------------------------------------------
    @property
    def age_quantity(self) -> Quantity | None:
        """The age as a duration in years, to compare with the pack's age bands."""
        return None if self.age is None else Quantity.of(self.age, "a")

    @property
    def maintenance(self) -> bool:
        """True once the clinician has declared the current infusion course stable."""
        return self.stable_at is not None

    def finding(self, rule_id: str, severity_key: str, message: str) -> Finding:
        """A finding of a rule, its severity read from the pack, its citation the rule's."""
        rule = self.pack.rule(rule_id)
        severity = rule.severity(severity_key)
        if rule.evidence == "study" and severity > Severity.WARNING:
            severity = Severity.WARNING
        return Finding(rule_id, severity, message, rule.citation)

    def say(
        self, rule_id: str, severity_key: str, text: str | None = None, **values: object
    ) -> Finding:
        """A finding whose words are the pack's: the rule's text ``finding_<text>`` (by default
        ``text`` is the severity key) with its placeholders filled by ``values``.

        The checker supplies numbers only; every clinical word a user reads is reviewed in the
        pack with the rule it belongs to. The ``finding_`` prefix keeps the checker's sentences
        apart from the planner's texts of the same rule.
        """
        message = self.pack.rule(rule_id).phrase(f"finding_{text or severity_key}", **values)
        return self.finding(rule_id, severity_key, message)

    def oral_restart_of(self) -> OralRegimen | None:
        """The regimen an oral proposal resumes after a short interruption, if it is one.

        PO-START's reading: a regimen started within ``restart_window`` of an oral stop is the
        same treatment resumed, judged against the daily dose taken before the stop.
        """
        stop, before = self.oral_stop, self.oral_before_stop
        if self.oral_active is not None or stop is None or before is None:
            return None
        window = self.pack.rule("PO-START").quantity("restart_window")
        return before if since(stop.at, self.proposal.at, window) <= window else None

    def infusion_gap(self) -> Quantity | None:
        """The time since the last intrathecal stop, for an infusion proposed while none runs."""
        stop = self.infusion_stop
        if self.infusion_active is not None or stop is None or self.infusion_before_stop is None:
            return None
        window = self.pack.rule("IT-TOLERANCE").quantity("interruption_max")
        return since(stop.at, self.proposal.at, window)


def build_context(
    patient: Patient, history: tuple[Event, ...], proposal: Event, pack: Pack
) -> Context:
    """Read the history up to the proposal's instant into a :class:`Context`.

    ``history`` must be sorted by time (the document reader sorts it). Events dated after the
    proposal are not its past and are left out.
    """
    prior = tuple(e for e in history if e.at <= proposal.at)
    age = age_at(patient, proposal.at)
    oral_events: list[OralRegimen | OralStop] = []
    oral_active: OralRegimen | None = None
    oral_last_change: OralRegimen | None = None
    test_doses: list[ItTestDose] = []
    episode: list[ItTestDose] = []
    infusion_events: list[ItInfusion | ItStop] = []
    infusion_active: ItInfusion | None = None
    course_start: ItInfusion | None = None
    last_change: ItInfusion | None = None
    first_infusion: ItInfusion | None = None
    stable_at: datetime | None = None
    refills: list[PumpRefill] = []
    any_baclofen = False
    oral_stop: OralStop | None = None
    oral_before_stop: OralRegimen | None = None
    infusion_stop: ItStop | None = None
    infusion_before_stop: ItInfusion | None = None
    for event in prior:
        if isinstance(event, OralRegimen):
            any_baclofen = True
            oral_events.append(event)
            if oral_active is None or event.daily_dose != oral_active.daily_dose:
                oral_last_change = event
            oral_active = event
        elif isinstance(event, OralStop):
            oral_events.append(event)
            if oral_active is not None:
                oral_stop, oral_before_stop = event, oral_active
            oral_active = None
            oral_last_change = None
        elif isinstance(event, ItTestDose):
            any_baclofen = True
            test_doses.append(event)
            episode.append(event)
        elif isinstance(event, ItInfusion):
            any_baclofen = True
            infusion_events.append(event)
            episode = []
            if first_infusion is None:
                first_infusion = event
            if infusion_active is None:
                course_start = event
                last_change = event
                stable_at = None
            elif event.daily_dose != infusion_active.daily_dose:
                last_change = event
            infusion_active = event
        elif isinstance(event, ItStop):
            infusion_events.append(event)
            if infusion_active is not None:
                infusion_stop, infusion_before_stop = event, infusion_active
            infusion_active = None
            stable_at = None
            episode = []
        elif isinstance(event, ItStable):
            if infusion_active is not None:
                stable_at = event.at
        elif isinstance(event, PumpImplant):
            episode = []
        elif isinstance(event, PumpRefill):
            refills.append(event)
    return Context(
        pack=pack,
        patient=patient,
        proposal=proposal,
        history=prior,
        age=age,
        origin=origin_of(patient, pack),
        is_child=age is not None and age < _adult_age(pack),
        oral_events=tuple(oral_events),
        oral_active=oral_active,
        oral_last_change=oral_last_change,
        any_baclofen_before=any_baclofen,
        test_doses=tuple(test_doses),
        episode=tuple(episode),
        infusion_events=tuple(infusion_events),
        infusion_active=infusion_active,
        course_start=course_start if infusion_active is not None else None,
        last_infusion_change=last_change if infusion_active is not None else None,
        first_infusion=first_infusion,
        stable_at=stable_at,
        refills=tuple(refills),
        oral_stop=oral_stop,
        oral_before_stop=oral_before_stop,
        infusion_stop=infusion_stop,
        infusion_before_stop=infusion_before_stop,
    )


def _adult_age(pack: Pack) -> Fraction:
    """IND-POPULATION's adult age, in years."""
    return pack.rule("IND-POPULATION").quantity("adult_age").in_("a")


def hours_between(earlier: datetime, later: datetime) -> Fraction:
    """Exact hours from one instant to a later one."""
    delta = later - earlier
    return Fraction(delta.days * 86400 + delta.seconds, 3600) + Fraction(
        delta.microseconds, 3_600_000_000
    )


def elapsed(earlier: datetime, later: datetime) -> Quantity:
    """The time from one instant to another as a duration quantity."""
    return Quantity.of(hours_between(earlier, later), "h")


CALENDAR_UNITS = frozenset({"d", "wk", "a"})
"""Units of rules counted on the calendar: "three days" is three calendar days."""


def calendar_days(earlier: datetime, later: datetime) -> Fraction:
    """Exact days from one instant to a later one on the patient's local calendar.

    Each instant is read at the wall-clock time it was written with (its own UTC offset), so
    08:00 on 26 March to 08:00 on 29 March is 3 days even when a daylight-saving change in
    between makes it 71 elapsed hours. Rules given in days or weeks speak of calendar days.
    """
    return hours_between(earlier.replace(tzinfo=None), later.replace(tzinfo=None)) / 24


def since(earlier: datetime, later: datetime, limit: Quantity) -> Quantity:
    """The time from ``earlier`` to ``later`` as ``limit``'s rule counts it, in ``limit``'s unit.

    A limit in days, weeks or years is counted in calendar days (:func:`calendar_days`); any
    other (hours, minutes) in elapsed time (:func:`hours_between`), which is what the hour rules
    of the page mean.
    """
    if limit.unit.code in CALENDAR_UNITS:
        return Quantity.of(calendar_days(earlier, later), "d").to(limit.unit)
    return Quantity.of(hours_between(earlier, later), "h").to(limit.unit)


def floor_to(q: Quantity, places: int = 1) -> Quantity:
    """``q`` rounded down to ``places`` decimals: how a finding prints a duration said to be too
    short, or a limit not to pass, so the printed number never reads as compliant when the
    exact one is not ("23.9 h", never "24 h", for 23 h 59 min against a 24 h rule).
    """
    scale = 10**places
    return Quantity(Fraction(math.floor(q.magnitude * scale), scale), q.unit)


def ceil_to(q: Quantity, places: int = 1) -> Quantity:
    """``q`` rounded up to ``places`` decimals: how a finding prints an amount said to be too
    large (or a duration said to be too long)."""
    scale = 10**places
    return Quantity(Fraction(math.ceil(q.magnitude * scale), scale), q.unit)


def ceil_fraction(value: Fraction, places: int = 1) -> Fraction:
    """A share (a rise, a cut) rounded up to ``places`` decimals of a percent."""
    scale = 100 * 10**places
    return Fraction(math.ceil(value * scale), scale)


def floor_fraction(value: Fraction, places: int = 1) -> Fraction:
    """A share rounded down to ``places`` decimals of a percent (a limit not to pass)."""
    scale = 100 * 10**places
    return Fraction(math.floor(value * scale), scale)


def duration_text(earlier: datetime, later: datetime) -> str:
    """The time between two instants for a message, rounded down: in hours up to two days,
    else in calendar days (a restart "6 h" or "5 days" after a stop)."""
    hours = hours_between(earlier, later)
    if hours < 48:
        return floor_to(Quantity.of(hours, "h"), 1).text()
    return floor_to(Quantity.of(calendar_days(earlier, later), "d"), 1).text()
