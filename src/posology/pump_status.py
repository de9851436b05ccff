"""Where a patient's pump stands at one instant: the running infusion, the current fill and its
dates (low-reservoir alarm, booking window, empty, the longest refill interval).

A pure function of the patient, the history, the pack and the instant asked about, so the pump
status card, the clinic's worklist and the refill plan all date the same fill the same way. The
alarm and empty dates are those of the *current* fill: they follow every infusion change since
that fill and extrapolate the infusion in force, never a later planned fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction

from .frozen import record
from .knowledge.schema import Pack, Severity
from .model.events import Event, ItInfusion, ItStop, PumpImplant, PumpRefill
from .model.finding import Finding
from .model.patient import Patient
from .rules.limits import alarm_volume, reservoir_at
from .units import Quantity

STATES = ("no-pump", "no-fill", "stopped", "ok", "due", "overdue", "past-alarm", "empty")
"""From "nothing to do" to "most urgent"; the worklist sorts the most urgent first."""


@record
class PumpStatus:
    """The pump now. ``None`` marks what the record does not say (no fill, no infusion)."""

    at: datetime
    state: str
    programmable: bool | None
    reservoir: Quantity | None
    model: str | None
    implanted_at: datetime | None
    infusion: ItInfusion | None
    last_fill: PumpRefill | None
    expected_volume: Quantity | None
    alarm_volume: Quantity | None
    alarm_at: datetime | None
    window_opens: datetime | None
    window_closes: datetime | None
    empty_at: datetime | None
    limit_at: datetime | None
    due_at: datetime | None
    findings: tuple[Finding, ...]

    @property
    def urgency(self) -> int:
        """The rank of ``state`` in :data:`STATES`: higher is more urgent."""
        return STATES.index(self.state)


def _hours(delta_hours: Fraction) -> timedelta:
    """Exact hours as a timedelta rounded down to the second (earlier is the safe side)."""
    return timedelta(seconds=int(delta_hours * 3600))


def time_to_volume(
    fill: PumpRefill, infusions: Sequence[ItInfusion | ItStop], volume: Quantity
) -> datetime | None:
    """The instant the reservoir of ``fill`` falls to ``volume``, following every infusion change
    after the fill and extrapolating the last one; ``None`` when it never does (stopped pump)."""
    concentration = fill.concentration.base
    left = fill.volume.base - volume.base
    if left <= 0:
        return fill.at
    rate = Fraction(0)  # mL/h of the infusion in force
    cursor = fill.at
    for event in infusions:
        if event.at <= fill.at:
            rate = _rate(event, concentration)
            continue
        used = rate * _hours_between(cursor, event.at)
        if rate > 0 and used >= left:
            return cursor + _hours(left / rate)
        left -= used
        cursor = event.at
        rate = _rate(event, concentration)
    if rate <= 0:
        return None
    return cursor + _hours(left / rate)


def _rate(event: ItInfusion | ItStop, concentration: Fraction) -> Fraction:
    return event.daily_dose.base / concentration if isinstance(event, ItInfusion) else Fraction(0)


def _hours_between(earlier: datetime, later: datetime) -> Fraction:
    delta = later - earlier
    return Fraction(delta.days * 86400 + delta.seconds, 3600)


@record
class FillDates:
    """What the recorded history fixes about the pump, whatever the time of asking: the current
    fill and the dates it reaches its alarm, runs empty and passes the refill-interval limit.

    Kept apart from :class:`PumpStatus` so that a worklist can keep it per patient record and
    only ask the clock-dependent questions (state, volume left) at each read.
    """

    programmable: bool | None
    reservoir: Quantity | None
    model: str | None
    implanted_at: datetime | None
    infusion: ItInfusion | None
    infusions: tuple[ItInfusion | ItStop, ...]
    last_fill: PumpRefill | None
    alarm_volume: Quantity | None
    alarm_at: datetime | None
    window_opens: datetime | None
    window_closes: datetime | None
    empty_at: datetime | None
    limit_at: datetime | None
    due_at: datetime | None
    last_event_at: datetime | None


def fill_dates(patient: Patient, history: Sequence[Event], pack: Pack) -> FillDates:
    """The pump facts of a history (every event of it taken as past)."""
    pump = patient.pump
    implanted: datetime | None = None
    last: PumpRefill | None = None
    infusion: ItInfusion | None = None
    infusions: list[ItInfusion | ItStop] = []
    for event in sorted(history, key=lambda e: e.at):
        if isinstance(event, PumpImplant) and implanted is None:
            implanted = event.at
        elif isinstance(event, PumpRefill):
            last = event
        elif isinstance(event, ItInfusion):
            infusion = event
            infusions.append(event)
        elif isinstance(event, ItStop):
            infusion = None
            infusions.append(event)
    alarm = alarm_at = empty_at = limit_at = opens = closes = due = None
    if last is not None:
        alarm = alarm_volume(pack, last, pump)
        alarm_at = time_to_volume(last, infusions, alarm)
        empty_at = time_to_volume(last, infusions, Quantity.of(0, "mL"))
        book = pack.role("intrathecal.pump.refill").range("book_before_alarm")
        interval = pack.role("intrathecal.pump.max-refill-interval").quantity("max_interval")
        limit_at = last.at + _hours(interval.in_("h"))
        if alarm_at is not None:
            opens = alarm_at - _hours(book.high.in_("h"))
            closes = alarm_at - _hours(book.low.in_("h"))
        due = min(d for d in (closes, limit_at) if d is not None)
    return FillDates(
        programmable=pump.programmable if pump else None,
        reservoir=pump.reservoir if pump else None,
        model=pump.model if pump else None,
        implanted_at=implanted,
        infusion=infusion,
        infusions=tuple(infusions),
        last_fill=last,
        alarm_volume=alarm,
        alarm_at=alarm_at,
        window_opens=opens,
        window_closes=closes,
        empty_at=empty_at,
        limit_at=limit_at,
        due_at=due,
        last_event_at=max((e.at for e in history), default=None),
    )


def pump_status(
    patient: Patient,
    history: Sequence[Event],
    pack: Pack,
    at: datetime,
    zone: tzinfo | None = None,
) -> PumpStatus:
    """The pump of ``patient`` at ``at``, from the history recorded up to then.

    ``zone`` is the clinic's time zone, in which the findings state their dates (instants with
    an offset are converted to it; instants without one are the clinic's wall-clock time).

    >>> from posology.knowledge import load_pack
    >>> from posology.model import parse_case
    >>> case = parse_case({
    ...     "patient": {"age_years": 40, "diagnosis": "multiple-sclerosis",
    ...                 "pump": {"programmable": True, "reservoir_ml": 20}},
    ...     "history": [
    ...         {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"},
    ...         {"at": "2026-11-01T09:00", "kind": "pump-refill",
    ...          "concentration": "500 ug/mL", "volume_ml": 20}],
    ...     "proposal": {"at": "2026-11-20T09:00", "kind": "review", "note": "clinic"}})
    >>> s = pump_status(case.patient, case.history, load_pack(), case.proposal.at)
    >>> s.state, s.expected_volume.text(), s.alarm_at.isoformat(), s.empty_at.isoformat()
    ('ok', '10.5 mL', '2026-12-07T09:00:00', '2026-12-11T09:00:00')
    """
    past = [e for e in history if e.at <= at]
    return status_at(fill_dates(patient, past, pack), at, pack, zone)


def status_at(dates: FillDates, at: datetime, pack: Pack, zone: tzinfo | None = None) -> PumpStatus:
    """The pump at ``at`` from the facts of a history recorded up to then."""
    last = dates.last_fill
    base = dict(
        at=at,
        programmable=dates.programmable,
        reservoir=dates.reservoir,
        model=dates.model,
        implanted_at=dates.implanted_at,
        infusion=dates.infusion,
        last_fill=last,
        alarm_volume=dates.alarm_volume,
        alarm_at=dates.alarm_at,
        window_opens=dates.window_opens,
        window_closes=dates.window_closes,
        empty_at=dates.empty_at,
        limit_at=dates.limit_at,
        due_at=dates.due_at,
    )
    if last is None:
        known = dates.programmable is not None or dates.reservoir is not None
        bare = not known and dates.implanted_at is None and dates.infusion is None
        return PumpStatus(
            **base,  # type: ignore[arg-type]
            state="no-pump" if bare else "no-fill",
            expected_volume=None,
            findings=_no_fill_findings(pack, dates.infusion),
        )
    expected = reservoir_at(last, dates.infusions, at)
    assert dates.due_at is not None
    state = _state(at, dates.infusion, expected, dates.alarm_at, dates.window_opens, dates.due_at)
    status = PumpStatus(
        **base,  # type: ignore[arg-type]
        state=state,
        expected_volume=expected,
        findings=(),
    )
    return _with_findings(status, pack, zone)


def _state(
    at: datetime,
    infusion: ItInfusion | None,
    expected: Quantity,
    alarm_at: datetime | None,
    opens: datetime | None,
    due: datetime,
) -> str:
    if infusion is None:
        return "stopped"
    if expected.magnitude <= 0:
        return "empty"
    if alarm_at is not None and at >= alarm_at:
        return "past-alarm"
    if at > due:
        return "overdue"
    if opens is not None and at >= opens:
        return "due"
    return "ok"


def _no_fill_findings(pack: Pack, infusion: ItInfusion | None) -> tuple[Finding, ...]:
    if infusion is None:
        return ()
    rule = pack.role("intrathecal.pump.refill")
    return (_finding(pack, rule.id, rule.severity("reservoir_unknown"), "status_no_fill"),)


def _finding(pack: Pack, rule_id: str, severity: Severity, text: str, **values: object) -> Finding:
    rule = pack.rule(rule_id)
    if rule.evidence == "study" and severity > Severity.WARNING:
        severity = Severity.WARNING
    return Finding(rule_id, severity, rule.phrase(text, **values), rule.citation)


# What each state tells the pump nurse: the role of the rule, the severity key and the text of
# the pack.
_STATE_FINDINGS = {
    "empty": ("intrathecal.withdrawal", "status_empty", "status_empty"),
    "past-alarm": ("intrathecal.pump.refill", "below_alarm", "status_past_alarm"),
    "overdue": ("intrathecal.pump.refill", "status_overdue", "status_overdue"),
    "due": ("intrathecal.pump.refill", "status_due", "status_due"),
}


def _with_findings(status: PumpStatus, pack: Pack, zone: tzinfo | None) -> PumpStatus:
    """The findings a pump nurse must see on this state: empty or past the alarm (with the
    withdrawal signs), overdue, in the booking window, past the longest refill interval."""
    from .frozen import replace

    values = {
        "alarm": _day(status.alarm_at, zone),
        "empty": _day(status.empty_at, zone),
        "opens": _day(status.window_opens, zone),
        "closes": _day(status.window_closes, zone),
        "limit": _day(status.limit_at, zone),
        "volume": status.expected_volume.text(places=1) if status.expected_volume else "",
        "signs": ", ".join(pack.role("intrathecal.withdrawal").code_list("early_signs")),
    }
    out: list[Finding] = []
    if status.state in _STATE_FINDINGS:
        role, severity, text = _STATE_FINDINGS[status.state]
        rule = pack.role(role)
        out.append(_finding(pack, rule.id, rule.severity(severity), text, **values))
    if status.limit_at is not None and status.at > status.limit_at and status.infusion:
        limit = pack.role("intrathecal.pump.max-refill-interval")
        days = limit.quantity("max_interval").text()
        out.append(
            _finding(
                pack, limit.id, limit.severity("exceeded"), "status_exceeded", days=days, **values
            )
        )
    out.sort(key=lambda f: -f.severity.rank)
    return replace(status, findings=tuple(out))


def _day(at: datetime | None, zone: tzinfo | None) -> str:
    if at is None:
        return ""
    if zone is not None and at.tzinfo is not None:
        at = at.astimezone(zone)
    return at.strftime("%Y-%m-%d %H:%M")
