"""History events and proposals: one immutable value per EVENT kind of the contract.

A proposal is an event not yet given; a plan step carries one. Every event knows its instant
``at``, its ``kind`` code and its ``medicine`` (a loaded pack's); the order of a history is the
order of ``at``. The checker judges a proposal by its medicine's pack against the history of
that medicine, and sees the other medicines' events as what else the patient takes.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import ClassVar, Union, get_args

from ..frozen import field, record, replace
from ..units import Quantity, per_day

DEFAULT_MEDICINE = "baclofen"
"""The medicine of an event that names none: the contract's default, so that every document
written before events named their medicine keeps its meaning."""


@record
class Response:
    """What a screening test dose did: an effect or none, and for how long."""

    effect: bool
    duration: Quantity | None = None


@record
class OralRegimen:
    """Oral baclofen from ``at`` on: one day's administrations, replacing any earlier regimen."""

    kind: ClassVar[str] = "oral-regimen"
    at: datetime
    doses: tuple[Quantity, ...]
    times: tuple[str, ...] | None = None
    form: str | None = None
    strength: Quantity | None = None
    medicine: str = DEFAULT_MEDICINE
    # The sum of one day's doses, as a daily dose; worked out once, read by many rules.
    daily_dose: Quantity = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        first = self.doses[0]
        total = first
        if len(self.doses) > 1:
            if all(dose.dim == first.dim for dose in self.doses):
                # the sum in the first dose's unit, in one step: what adding them one by one
                # gives, exactly, without a quantity for each partial sum
                total = Quantity(sum(d.base for d in self.doses) / first.unit.factor, first.unit)
            else:  # refused as adding refuses it
                for dose in self.doses[1:]:
                    total = total + dose
        object.__setattr__(self, "daily_dose", per_day(total))

    @property
    def times_per_day(self) -> int:
        return len(self.doses)


@record
class OralStop:
    kind: ClassVar[str] = "oral-stop"
    at: datetime
    medicine: str = DEFAULT_MEDICINE


@record
class ItTestDose:
    """An intrathecal screening bolus and, once known, its response."""

    kind: ClassVar[str] = "it-test-dose"
    at: datetime
    dose: Quantity
    response: Response | None = None
    medicine: str = DEFAULT_MEDICINE


@record
class PumpImplant:
    kind: ClassVar[str] = "pump-implant"
    at: datetime
    medicine: str = DEFAULT_MEDICINE


@record
class ScheduleSegment:
    """From ``start`` (``"HH:MM"``) until the next segment's start, at ``daily_rate``."""

    start: str
    daily_rate: Quantity


@record
class ItInfusion:
    """Continuous intrathecal infusion from ``at``: a daily dose, maybe a 24-hour profile."""

    kind: ClassVar[str] = "it-infusion"
    at: datetime
    daily_dose: Quantity
    schedule: tuple[ScheduleSegment, ...] | None = None
    medicine: str = DEFAULT_MEDICINE


@record
class PumpRefill:
    """The reservoir emptied and refilled with ``volume`` of ``concentration``.

    ``residual`` is the volume withdrawn before filling (compared with the volume expected by
    the rule of the kind ``residual-volume``), ``lot`` the solution's lot number, ``checked_by``
    the second person who checked the refill, ``bridge_volume`` the pump tubing plus catheter
    volume the programmer shows (to work out a bridge bolus on a concentration change, by the
    rule of the kind ``concentration-change``).
    """

    kind: ClassVar[str] = "pump-refill"
    at: datetime
    concentration: Quantity
    volume: Quantity
    alarm: Quantity | None = None
    residual: Quantity | None = None
    lot: str | None = None
    checked_by: str | None = None
    bridge_volume: Quantity | None = None
    medicine: str = DEFAULT_MEDICINE


@record
class ItStable:
    """The clinician declares the titration over: maintenance rules apply from here."""

    kind: ClassVar[str] = "it-stable"
    at: datetime
    medicine: str = DEFAULT_MEDICINE


@record
class ItStop:
    kind: ClassVar[str] = "it-stop"
    at: datetime
    medicine: str = DEFAULT_MEDICINE


@record
class Injection:
    """One muscle's share of an injection session: its dose, over how many sites, which side.

    ``units_of`` is the product whose Units the dose was written in when it is not the session's
    own (``"500 Dysport Units"`` in a session of onabotulinumtoxinA): kept as written, never
    converted, so that the checker can say the dose belongs to another product.
    """

    muscle: str
    dose: Quantity
    sites: int = 1
    side: str | None = None
    units_of: str | None = None


@record
class InjectionSession:
    """One session of intramuscular injections of a product (a botulinum toxin): the muscles
    injected, each with its dose. The session is the unit a label limits (the total per
    session, the weeks between sessions)."""

    kind: ClassVar[str] = "injection-session"
    at: datetime
    product: str
    injections: tuple[Injection, ...]
    medicine: str = DEFAULT_MEDICINE


@record
class Review:
    """A planned review or reminder; it changes no dose."""

    kind: ClassVar[str] = "review"
    at: datetime
    note: str
    medicine: str = DEFAULT_MEDICINE


EVENT_KINDS = (
    "oral-regimen",
    "oral-stop",
    "it-test-dose",
    "pump-implant",
    "it-infusion",
    "pump-refill",
    "it-stable",
    "it-stop",
    "injection-session",
    "review",
)
"""The contract's EVENT kinds, in the order forms and schemas list them."""

Event = Union[
    OralRegimen,
    OralStop,
    ItTestDose,
    PumpImplant,
    ItInfusion,
    PumpRefill,
    ItStable,
    ItStop,
    InjectionSession,
    Review,
]


def with_instant(event: Event, at: datetime) -> Event:
    """The same event at another instant: every other field (derived ones such as a regimen's
    daily dose included) is shared with ``event``, nothing is worked out again.

    The document reader keeps one event of each shape it has read and gives a later event of
    that shape (a monthly re-prescription of the same regimen) as a copy at its own instant.
    Equal to building the event anew with ``at`` (a property test holds it to that).
    """
    kind = type(event)
    clone = _CLONES.get(kind)
    if clone is None:
        if kind not in EVENT_TYPES:  # not one of the contract's kinds: built anew
            return replace(event, at=at)
        clone = _CLONES[kind] = _compiled_clone(kind)
    assert callable(clone)
    copied: Event = clone(event, at)
    return copied


EVENT_TYPES: tuple[type, ...] = get_args(Event)
"""Every event type a document can be, in the order of :data:`Event`."""

_CLONES: dict[type, object] = {}
"""The copying function of each event type, compiled the first time one is copied."""


def _compiled_clone(kind: type) -> object:
    """A function ``(event, at)`` giving a copy of an event of type ``kind`` at ``at``.

    An audit copies millions of events, so the copy sets each slot through the slot itself, in
    a function written out for the type: no ``__init__`` (nothing derived is worked out again),
    no loop over field names (half the cost of setting them one by one by name). Compiled on
    first use, as records compile their methods, so that a command's start pays nothing.
    """
    slots = vars(kind)["__slots__"]
    namespace: dict[str, object] = {"new": object.__new__, "kind": kind}
    lines = ["def clone(event, at):", "    copy = new(kind)"]
    for n, name in enumerate(slots):
        namespace[f"set{n}"] = vars(kind)[name].__set__
        lines.append(f"    set{n}(copy, {'at' if name == 'at' else 'event.' + name})")
    lines.append("    return copy")
    exec(compile("\n".join(lines) + "\n", f"<clone {kind.__qualname__}>", "exec"), namespace)
    return namespace["clone"]


def schedule_mean(schedule: tuple[ScheduleSegment, ...]) -> Quantity:
    """The time-weighted mean daily rate of a 24-hour profile (it wraps past midnight)."""
    minutes = [int(s.start[:2]) * 60 + int(s.start[3:]) for s in schedule]
    total: Quantity | None = None
    for i, seg in enumerate(schedule):
        end = minutes[(i + 1) % len(schedule)]
        span = (end - minutes[i]) % 1440 or (1440 if len(schedule) == 1 else 0)
        part = seg.daily_rate * Fraction(span, 1440)
        total = part if total is None else total + part
    assert total is not None
    return total
