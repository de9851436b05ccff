"""The patient's past as the rules read it: one immutable value, advanced one event at a time.

Judging every event of a history in turn (an audit, a replay) asks, for each event, what the
history before it says. Reading the whole history again for each event costs O(n²); here the
reading is a fold: each event updates the running facts the rules ask about (the regimen in
force, the run of reductions that ends at the last dose, the screening so far, the infusion
course and its phase, the last refill) in constant time. A history of n events is read in O(n),
and the state after each event is a value a proposal can be judged against.

The whole history is kept as a persistent chain (each event added in O(1), shared between the
states), so a planner that needs the events themselves still has them; the rules never walk it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from fractions import Fraction
from typing import NamedTuple, TypeAlias

from ..knowledge.schema import Pack
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
from ..units import VOLUME, Quantity, unit
from .limits import Screening, Taper
from .per_pack import per_pack
from .spans import microseconds_between

Events: TypeAlias = "tuple[Event, Events] | None"
"""A persistent list of events, newest first: ``(newest, older)``, ``None`` when empty."""
Infusions: TypeAlias = "tuple[ItInfusion | ItStop, Infusions] | None"
"""The infusion timeline (doses and stops) as a persistent list, newest first."""


def newest_first(chain: Events) -> Iterator[Event]:
    """The events of a chain from the newest back."""
    while chain is not None:
        event, chain = chain
        yield event


def infusions_newest_first(chain: Infusions) -> Iterator[ItInfusion | ItStop]:
    """The infusion events of a chain from the newest back."""
    while chain is not None:
        event, chain = chain
        yield event


class Drain:
    """The reservoir since the last refill, as of one infusion event after it.

    Worked out only when a rule asks (a refill, or an intrathecal proposal while the pump runs),
    then kept: each node holds the state after its own event, so a whole history's questions
    cost one step per infusion event, and a single check pays only for the events since the
    last refill. The node is an immutable value to its readers; the kept state is a cache of a
    value fixed when the node is made.
    """

    __slots__ = ("_before", "_event", "_refill", "_state")

    def __init__(
        self, refill: PumpRefill, before: Drain | None, event: ItInfusion | ItStop | None
    ) -> None:
        # ``before`` None: the node of the refill itself, ``event`` the infusion state in force
        # when it was done (or None before any infusion)
        self._refill = refill
        self._before = before
        self._event = event
        self._state: tuple[Fraction, datetime, Fraction] | None = None

    @property
    def refill(self) -> PumpRefill:
        return self._refill

    def _rate(self, event: ItInfusion | ItStop | None) -> Fraction:
        """mL per hour delivered under an infusion state: daily dose over the concentration."""
        if isinstance(event, ItInfusion):
            return event.daily_dose.base / self._refill.concentration.base
        return _NONE

    def state(self) -> tuple[Fraction, datetime, Fraction]:
        """The volume left (mL) at the node's instant, that instant, and the rate (mL/h) from
        then on. Iterative: a long run of changes since a refill uses no recursion."""
        waiting: list[Drain] = []
        node = self
        while node._state is None and node._before is not None:
            waiting.append(node)
            node = node._before
        if node._state is None:  # the refill: full, at the rate in force when it was done
            node._state = (node._refill.volume.base, node._refill.at, self._rate(node._event))
        left, cursor, rate = node._state
        for step in reversed(waiting):
            event = step._event
            assert event is not None
            left = _drained(left, rate, cursor, event.at)
            cursor = event.at
            rate = self._rate(event)
            step._state = (left, cursor, rate)
        return left, cursor, rate

    def left_at(self, when: datetime) -> Quantity:
        """The volume left in the reservoir at ``when`` (not before the node). Never below 0."""
        left, cursor, rate = self.state()
        if when > cursor:
            left = _drained(left, rate, cursor, when)
        return Quantity(left if left.numerator > 0 else _NONE, _ML)

    def left_at_most(self, when: datetime, volume: Quantity) -> bool:
        """``left_at(when) <= volume``, decided in whole numbers: the drain since the node
        (:func:`_drained`) and the comparison cross-multiplied, without the fraction and the
        quantity ``left_at`` builds (an intrathecal check asks it of every event while the pump
        runs; the volume itself is built only for a finding). A volume of another kind is
        compared as ``left_at`` is, and refused."""
        if volume.dim != VOLUME:
            return self.left_at(when) <= volume
        left, cursor, rate = self.state()
        num, den = left.numerator, left.denominator
        if when > cursor and rate.numerator:
            elapsed = microseconds_between(cursor, when)
            rn, rd = rate.numerator, rate.denominator
            num, den = num * rd * _US_PER_HOUR - rn * elapsed * den, den * rd * _US_PER_HOUR
        limit = volume.base
        return max(num, 0) * limit.denominator <= limit.numerator * den


_NONE = Fraction(0)
_ML = unit("mL")
_US_PER_HOUR = 3_600_000_000


def _drained(left: Fraction, rate: Fraction, earlier: datetime, later: datetime) -> Fraction:
    """``left - rate × hours_between(earlier, later)`` (mL, mL/h), exactly, in one step of
    whole-number arithmetic: the same value as the three rational operations it replaces."""
    if not rate.numerator:
        return left
    elapsed = microseconds_between(earlier, later)
    rn, rd = rate.numerator, rate.denominator
    ln, ld = left.numerator, left.denominator
    return Fraction(ln * rd * _US_PER_HOUR - rn * elapsed * ld, ld * rd * _US_PER_HOUR)


class Past(NamedTuple):
    """What the history says, for the rules: the facts after the events read so far.

    Build with :meth:`empty` and :meth:`advance`, or :meth:`of` for a whole history; each
    method returns a new value and leaves this one as it was. Events are read in the order given
    (the checker gives them sorted by time). The pack is part of the value because one running
    fact depends on it (a screening dose at or above the highest test dose, the rule in the
    role ``intrathecal.screening.nonresponder``).

    An immutable record (a named tuple: judging a history makes one per event, and a tuple is
    made in one step where a frozen class sets its fields one by one). Two pasts are equal only
    if they are the same value: comparing field by field would walk the whole history chain,
    and the questions worth asking of two pasts are the rules' answers, not their equality.
    """

    pack: Pack
    count: int = 0  # type: ignore[assignment]  # events read (shadows the tuple's count())
    events: Events = None  # a chain as deep as the history
    any_baclofen_before: bool = False
    # oral
    oral_active: OralRegimen | None = None
    oral_last_change: OralRegimen | None = None
    oral_stop: OralStop | None = None
    oral_before_stop: OralRegimen | None = None
    # the run of successive oral reductions ending at the last oral event (the gradual stop)
    oral_tail: Quantity | None = None  # the last oral daily dose, None after a stop
    oral_reductions: int = 0
    oral_first_reduction: datetime | None = None
    # screening: every test dose, then the current episode (since the last infusion event or
    # implant)
    first_response: ItTestDose | None = None
    last_test_dose: ItTestDose | None = None
    tested_to_max: bool = False
    episode_last: ItTestDose | None = None
    episode_failed: ItTestDose | None = None
    # intrathecal infusion
    infusions: Infusions = None
    infusion_active: ItInfusion | None = None
    course_start: ItInfusion | None = None
    last_infusion_change: ItInfusion | None = None
    first_infusion: ItInfusion | None = None
    stable_at: datetime | None = None
    infusion_stop: ItStop | None = None
    infusion_before_stop: ItInfusion | None = None
    infusion_tail: Quantity | None = None  # the last infusion daily dose, None after a stop
    infusion_reductions: int = 0
    infusion_first_reduction: datetime | None = None
    # the run as it stood before the last infusion event (the taper that ended at a stop)
    reductions_before_last: int = 0
    first_reduction_before_last: datetime | None = None
    # pump
    last_refill: PumpRefill | None = None
    drain: Drain | None = None

    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Past(count={self.count}, pack={self.pack.medicine}/{self.pack.profile})"

    @classmethod
    def empty(cls, pack: Pack) -> Past:
        """The past of a patient with no history yet (one value per pack, shared)."""
        return _empty(pack)

    @classmethod
    def of(cls, pack: Pack, events: Iterable[Event]) -> Past:
        """The past after ``events``, read in one pass.

        Every check of a patient reads the same history again (the document reader gives
        the same event values for the same events), so the pasts of recent histories are kept
        in a bounded memo keyed by the identities of the pack and of each event, in order: a
        key names only live values (the memo holds them), so a hit is the very same input,
        and a past is an immutable value.
        """
        read = tuple(events)
        key = (id(pack), *map(id, read))
        hit = _PASTS.get(key)
        if hit is not None:
            return hit[2]
        past = _empty(pack).extended(read)
        if len(_PASTS) >= _PASTS_KEPT:
            _PASTS.clear()  # one step, safe between threads
        _PASTS[key] = (pack, read, past)
        return past

    def advance(self, event: Event) -> Past:
        """The past with one more event, the latest."""
        return self.extended((event,))

    def extended(self, events: Iterable[Event]) -> Past:
        """The past with ``events`` read after it, in one pass."""
        return next(_read(self, events, each=False))

    def reading(self, events: Iterable[Event]) -> Iterator[Past]:
        """The past after each of ``events`` in turn (lazily: one state per event asked for)."""
        return _read(self, events, each=True)

    # -- facts derived on demand ---------------------------------------------------------
    @property
    def oral_taper(self) -> Taper:
        """The run of successive oral reductions that ends at the last oral event."""
        return Taper(self.oral_reductions, self.oral_first_reduction)

    @property
    def infusion_taper(self) -> Taper:
        """The run of successive infusion reductions that ends at the last infusion event."""
        return Taper(self.infusion_reductions, self.infusion_first_reduction)

    @property
    def infusion_taper_before_last(self) -> Taper:
        """The run of infusion reductions that ended at the last infusion event (a stop)."""
        return Taper(self.reductions_before_last, self.first_reduction_before_last)

    @property
    def screening(self) -> Screening:
        """Where screening stands over every test dose (``limits.screening_status``)."""
        last = self.last_test_dose
        if self.first_response is not None:
            return Screening("responder", self.first_response, last)
        if last is None:
            return Screening("none", None, None)
        if self.tested_to_max:
            return Screening("non-responder", None, last)
        if last.response is None:
            return Screening("pending", None, last)
        return Screening("in-progress", None, last)

    def reservoir_at(self, when: datetime) -> Quantity | None:
        """The volume left in the reservoir at ``when`` since the last refill (as
        ``limits.reservoir_at`` works it out), ``None`` before any refill."""
        return None if self.drain is None else self.drain.left_at(when)

    def reservoir_at_most(self, when: datetime, volume: Quantity) -> bool | None:
        """``reservoir_at(when) <= volume`` (:meth:`Drain.left_at_most`), ``None`` before any
        refill."""
        return None if self.drain is None else self.drain.left_at_most(when, volume)

    # -- the events themselves, built on demand (O(n)): for planners, never for the rules ------
    @property
    def history(self) -> tuple[Event, ...]:
        """Every event read, oldest first."""
        return tuple(reversed(tuple(newest_first(self.events))))

    @property
    def oral_events(self) -> tuple[OralRegimen | OralStop, ...]:
        return tuple(e for e in self.history if isinstance(e, (OralRegimen, OralStop)))

    @property
    def test_doses(self) -> tuple[ItTestDose, ...]:
        return tuple(e for e in self.history if isinstance(e, ItTestDose))

    @property
    def episode(self) -> tuple[ItTestDose, ...]:
        """The test doses since the last infusion event or implant, oldest first."""
        doses: list[ItTestDose] = []
        for event in newest_first(self.events):
            if isinstance(event, (ItInfusion, ItStop, PumpImplant)):
                break
            if isinstance(event, ItTestDose):
                doses.append(event)
        return tuple(reversed(doses))

    @property
    def infusion_events(self) -> tuple[ItInfusion | ItStop, ...]:
        return tuple(reversed(tuple(infusions_newest_first(self.infusions))))

    @property
    def refills(self) -> tuple[PumpRefill, ...]:
        return tuple(e for e in self.history if isinstance(e, PumpRefill))


@per_pack
def _empty(pack: Pack) -> Past:
    return Past(pack)


@per_pack
def _highest_test_dose(pack: Pack) -> Quantity | None:
    """The highest screening test dose (the rule in the role
    ``intrathecal.screening.nonresponder``), None for a medicine without screening."""
    if not pack.has_role("intrathecal.screening.nonresponder"):
        return None
    return pack.role("intrathecal.screening.nonresponder").quantity("max_test_dose")


_new_past = tuple.__new__  # a snapshot in one step: every field is given, in order
_PASTS: dict[tuple[int, ...], tuple[Pack, tuple[Event, ...], Past]] = {}
_PASTS_KEPT = 256
"""Histories whose pasts are kept at once (``Past.of``)."""


def _read(past: Past, events: Iterable[Event], each: bool) -> Iterator[Past]:
    """THE reading of a history: the facts after each event (``each``) or after the last.

    One function on local variables, so that reading a long history once (a check) costs no
    more than a loop, and judging it event by event (``each``) one snapshot per event.
    """
    pack = past.pack
    max_test = _highest_test_dose(pack)
    count, chain, any_baclofen = past.count, past.events, past.any_baclofen_before
    oral_active, oral_last_change = past.oral_active, past.oral_last_change
    oral_stop, oral_before_stop = past.oral_stop, past.oral_before_stop
    oral_tail, oral_n, oral_first = past.oral_tail, past.oral_reductions, past.oral_first_reduction
    first_response, last_test, tested_to_max = (
        past.first_response,
        past.last_test_dose,
        past.tested_to_max,
    )
    episode_last, episode_failed = past.episode_last, past.episode_failed
    infusions, active, course_start = past.infusions, past.infusion_active, past.course_start
    last_change, first_infusion, stable_at = (
        past.last_infusion_change,
        past.first_infusion,
        past.stable_at,
    )
    infusion_stop, before_stop = past.infusion_stop, past.infusion_before_stop
    it_tail, it_n, it_first = (
        past.infusion_tail,
        past.infusion_reductions,
        past.infusion_first_reduction,
    )
    prev_n, prev_first = past.reductions_before_last, past.first_reduction_before_last
    last_refill, drain = past.last_refill, past.drain

    def snapshot() -> Past:
        return _new_past(
            Past,
            (
                pack,
                count,
                chain,
                any_baclofen,
                oral_active,
                oral_last_change,
                oral_stop,
                oral_before_stop,
                oral_tail,
                oral_n,
                oral_first,
                first_response,
                last_test,
                tested_to_max,
                episode_last,
                episode_failed,
                infusions,
                active,
                course_start,
                last_change,
                first_infusion,
                stable_at,
                infusion_stop,
                before_stop,
                it_tail,
                it_n,
                it_first,
                prev_n,
                prev_first,
                last_refill,
                drain,
            ),
        )

    for event in events:
        count += 1
        chain = (event, chain)
        if isinstance(event, OralRegimen):
            any_baclofen = True
            # daily doses are all of one kind (a mass a day): they compare as their base
            # magnitudes do
            dose = event.daily_dose
            if oral_active is None or dose != oral_active.daily_dose:
                oral_last_change = event
            oral_active = event
            # a reduction extends the run; a rise, or a dose after a stop, starts none
            if oral_tail is None or dose > oral_tail:
                oral_n, oral_first = 0, None
            elif dose < oral_tail:
                oral_n, oral_first = oral_n + 1, oral_first if oral_n else event.at
            oral_tail = dose
        elif isinstance(event, OralStop):
            if oral_active is not None:
                oral_stop, oral_before_stop = event, oral_active
            oral_active = oral_last_change = None
            oral_tail, oral_n, oral_first = None, 0, None
        elif isinstance(event, ItTestDose):
            any_baclofen = True
            response = event.response
            if first_response is None and response is not None and response.effect:
                first_response = event
            last_test = event
            at_max = max_test is not None and event.dose >= max_test
            if response is not None and at_max:
                tested_to_max = True
                if episode_failed is None and not response.effect:
                    episode_failed = event
            episode_last = event
        elif isinstance(event, (ItInfusion, ItStop)):
            infusions = (event, infusions)
            episode_last = episode_failed = None
            prev_n, prev_first = it_n, it_first
            if isinstance(event, ItInfusion):
                any_baclofen = True
                dose = event.daily_dose
                if first_infusion is None:
                    first_infusion = event
                if active is None:
                    course_start = last_change = event
                    stable_at = None
                elif dose != active.daily_dose:
                    last_change = event
                active = event
                if it_tail is None or dose > it_tail:
                    it_n, it_first = 0, None
                elif dose < it_tail:
                    it_n, it_first = it_n + 1, it_first if it_n else event.at
                it_tail = dose
            else:
                if active is not None:
                    infusion_stop, before_stop = event, active
                active = course_start = last_change = None
                stable_at = None
                it_tail, it_n, it_first = None, 0, None
            if last_refill is not None:
                drain = Drain(last_refill, drain, event)
        elif isinstance(event, ItStable):
            if active is not None:
                stable_at = event.at
        elif isinstance(event, PumpImplant):
            episode_last = episode_failed = None
        elif isinstance(event, PumpRefill):
            last_refill = event
            drain = Drain(event, None, infusions[0] if infusions is not None else None)
        if each:
            yield snapshot()
    if not each:
        yield snapshot()
