"""What the checker knows when it judges a proposal: the patient and the history before it.

The history is read once, in time order, into the facts the rules ask about: the oral regimen
in force, the infusion in force and the course it belongs to, the phase (titration until
``it-stable``, maintenance after), the screening episode, the refills. Every rule then reads
these facts instead of walking the history again.
"""

from __future__ import annotations

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
    for event in prior:
        if isinstance(event, OralRegimen):
            any_baclofen = True
            oral_events.append(event)
            if oral_active is None or event.daily_dose != oral_active.daily_dose:
                oral_last_change = event
            oral_active = event
        elif isinstance(event, OralStop):
            oral_events.append(event)
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
