"""Pump refills: concentration, volume, daily volume, the alarm date and the next refill."""

from __future__ import annotations

import math
from datetime import datetime

from ..frozen import record
from ..knowledge.schema import Pack, Severity
from ..model.events import PumpRefill, Review
from ..model.finding import Finding
from ..model.patient import Pump
from ..rules.context import Context, build_context
from ..rules.limits import alarm_volume, reservoir_at
from ..units import Quantity
from .doses import book, days
from .model import Step
from .notes import cite, note, refuse
from .request import PlanRequest


def choose_concentration(
    pack: Pack, daily: Quantity, reservoir: Quantity, alarm: Quantity
) -> Quantity:
    """`intrathecal.delivery.concentration`: the least concentrated pump solution lasting the
    preferred interval."""
    wanted = pack.role("intrathecal.delivery.concentration").quantity("min_refill_interval")
    options = sorted(pack.role("intrathecal.pump.concentration").quantities("pump"))
    for conc in options:
        if days_to_alarm(reservoir, alarm, daily, conc) >= wanted:
            return conc
    return options[-1]


def daily_volume(daily: Quantity, conc: Quantity) -> Quantity:
    """`intrathecal.pump.refill`: daily volume = daily dose / concentration."""
    return (daily / conc).to("mL/d")


def days_to_alarm(volume: Quantity, alarm: Quantity, daily: Quantity, conc: Quantity) -> Quantity:
    """`intrathecal.pump.refill`: (volume filled − alarm volume) / daily volume, as a duration."""
    return ((volume - alarm) / daily_volume(daily, conc)).to("d")


def _ampoules(pack: Pack, fill: PumpRefill) -> str:
    refill = pack.role("intrathecal.pump.refill")
    for ampoule in pack.role("intrathecal.delivery.concentration").table("ampoules"):
        conc, size = ampoule["concentration"], ampoule["volume"]
        if conc == fill.concentration and isinstance(size, Quantity):
            n = math.ceil(fill.volume.ratio(size))
            if n == 1:
                return refill.phrase("ampoule", size=size.text())
            return refill.phrase("ampoules", count=n, size=size.text())
    return pack.role("intrathecal.pump.concentration").text("dilution")


def concentration_text(conc: Quantity) -> str:
    """A pump concentration as the planner prints it: always in µg/mL, the unit of the pack and
    the labels, so that µg/mL and mg/mL never stand side by side in one plan."""
    return conc.to("ug/mL").text()


def refuse_implausible(pack: Pack, conc: Quantity, what: str) -> None:
    """`intrathecal.pump.concentration`, `unit-mixup`: no plan from a concentration outside those on
    the market.

    Such a value is a typing slip (often mg/mL for µg/mL); computing refill dates and bridge
    instructions from it would print absurd quantities.
    """
    rule = pack.role("intrathecal.pump.concentration")
    marketed = rule.quantities("marketed")
    low, high = min(marketed), max(marketed)
    if not low <= conc <= high:
        refuse(
            pack,
            rule.id,
            rule.phrase(
                "implausible",
                what=what,
                concentration=conc.text(),
                low=concentration_text(low),
                high=concentration_text(high),
            ),
        )


def refill_instruction(pack: Pack, fill: PumpRefill, daily: Quantity) -> str:
    alarm = fill.alarm or alarm_volume(pack, fill)
    per_day = daily_volume(daily, fill.concentration)
    empty = (fill.volume / per_day).to("d")
    to_alarm = days_to_alarm(fill.volume, alarm, daily, fill.concentration)
    return pack.role("intrathecal.pump.refill").phrase(
        "fill",
        volume=fill.volume.text(),
        concentration=concentration_text(fill.concentration),
        ampoules=_ampoules(pack, fill),
        daily=daily.text(),
        per_day=per_day.text(places=3),
        empty=empty.text(places=1),
        alarm=alarm.text(),
        to_alarm=to_alarm.text(places=1),
    )


def fill_step(pack: Pack, fill: PumpRefill, daily: Quantity) -> Step:
    """The step of filling the pump, with the arithmetic behind its dates spelt out."""
    rules = cite(
        pack,
        "intrathecal.delivery.concentration",
        "intrathecal.pump.concentration",
        "intrathecal.pump.refill",
    )
    return Step(fill, rules, refill_instruction(pack, fill, daily), "")


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


@record
class _Due:
    """When the refill is due and why: the reason's rule, its text and its severity."""

    at: datetime
    rule: str
    message: str
    severity: Severity
    empty: bool | None = None  # None: not past the alarm; False: past the alarm; True: empty


def _due(ctx: Context, pack: Pack, req: PlanRequest, last: PumpRefill, pump: Pump) -> _Due:
    """The refill date after ``last``: by the expected alarm (`intrathecal.pump.refill`) or the
    180-day limit (`intrathecal.pump.max-refill-interval`), whichever comes first, and at once when
    the reservoir is already at its alarm volume or empty; the reason given is the one that
    decided."""
    refill, cap = (
        pack.role("intrathecal.pump.refill"),
        pack.role("intrathecal.pump.max-refill-interval"),
    )
    start = req.start
    assert ctx.infusion_active is not None
    daily = ctx.infusion_active.daily_dose
    before = refill.range("book_before_alarm").high
    limit = cap.quantity("max_interval")
    left = reservoir_at(last, ctx.infusion_events, start)
    alarm = alarm_volume(pack, last.alarm or req.goal.alarm_ml, pump)
    held = {"at": _stamp(start), "left": left.text(places=1), "alarm": alarm.text()}
    if left <= alarm:
        key = "empty" if left.magnitude <= 0 else "past_alarm"
        return _Due(
            start,
            refill.id,
            refill.phrase(key, **held),
            Severity.WARNING,
            key == "empty",
        )
    until = ((left - alarm) / daily_volume(daily, last.concentration)).to("d")
    alarm_at = start + days(until)
    by_alarm, by_cap = alarm_at - days(before), last.at + days(limit)
    told = {**held, "alarm_at": _stamp(alarm_at), "before": before.text(), "limit": limit.text()}
    if by_cap < by_alarm:
        if by_cap <= start:
            return _Due(
                start,
                cap.id,
                cap.phrase("overdue", **told),
                Severity.WARNING,
            )
        at = max(start, book(by_cap, start))
        return _Due(
            at,
            cap.id,
            cap.phrase("booked", due=_stamp(at), **told),
            Severity.INFO,
        )
    if by_alarm <= start:
        return _Due(
            start,
            refill.id,
            refill.phrase("soon", **told),
            Severity.WARNING,
        )
    return _Due(
        book(by_alarm, start),
        refill.id,
        refill.phrase("booked", **told),
        Severity.INFO,
    )


def _due_notes(pack: Pack, due: _Due) -> list[Finding]:
    notes = [note(pack, due.rule, due.severity, due.message)]
    if due.empty is not None:
        signs = pack.role("intrathecal.withdrawal")
        notes.append(
            note(
                pack,
                signs.id,
                Severity.WARNING,
                signs.phrase(
                    "refill_empty" if due.empty else "refill_risk",
                    early=", ".join(signs.code_list("early_signs")),
                    advanced=", ".join(signs.code_list("advanced_signs")),
                ),
            )
        )
    return notes


def it_refill(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = build_context(req.patient, req.history, Review(req.start, "plan start"), pack)
    refill_rule = pack.role("intrathecal.pump.refill")
    active = ctx.infusion_active
    if active is None:
        refuse(
            pack,
            refill_rule.id,
            refill_rule.text("no_infusion"),
            Severity.WARNING,
        )
    pump = req.patient.pump
    if pump is None or pump.reservoir is None:
        refuse(
            pack,
            refill_rule.id,
            refill_rule.text("reservoir_unknown_plan"),
            Severity.WARNING,
        )
    reservoir = pump.reservoir
    daily = active.daily_dose
    last = ctx.refills[-1] if ctx.refills else None
    if req.goal.concentration is not None:
        refuse_implausible(pack, req.goal.concentration, "`goal.concentration`")
    if last is not None:
        refuse_implausible(pack, last.concentration, f"The refill of {_stamp(last.at)}")
    alarm = alarm_volume(pack, req.goal.alarm_ml or (last.alarm if last else None), pump)
    if reservoir <= alarm:
        refuse(
            pack,
            refill_rule.id,
            refill_rule.phrase(
                "alarm_not_below_reservoir", alarm=alarm.text(), reservoir=reservoir.text()
            ),
            Severity.WARNING,
        )
    conc = (
        req.goal.concentration
        or (last.concentration if last else None)
        or choose_concentration(pack, daily, reservoir, alarm)
    )
    notes: list[Finding] = []
    refill_at: datetime = req.start
    if last is not None:
        due = _due(ctx, pack, req, last, pump)
        refill_at = due.at
        notes += _due_notes(pack, due)
    fill = PumpRefill(refill_at, conc, reservoir, alarm)
    steps: list[Step] = []
    if last is not None and conc != last.concentration:
        bridge = pack.role("intrathecal.pump.bridge")
        old, new = concentration_text(last.concentration), concentration_text(conc)
        steps.append(
            Step(
                Review(refill_at, bridge.phrase("review", old=old, new=new)),
                cite(pack, "intrathecal.pump.bridge"),
                bridge.text("instructions"),
                "",
            )
        )
    steps.append(fill_step(pack, fill, daily))
    steps += _after_fill(pack, fill, daily)
    steps.sort(key=lambda s: s.event.at)
    return steps, notes


def _after_fill(pack: Pack, fill: PumpRefill, daily: Quantity) -> list[Step]:
    """The next refill, by the alarm or by the 180-day limit, and the alarm review of this fill
    only where it can come: when the limit books the next refill earlier, the alarm is moot."""
    refill, cap = (
        pack.role("intrathecal.pump.refill"),
        pack.role("intrathecal.pump.max-refill-interval"),
    )
    before = refill.range("book_before_alarm").high
    limit = cap.quantity("max_interval")
    assert fill.alarm is not None
    alarm_at = fill.at + days(days_to_alarm(fill.volume, fill.alarm, daily, fill.concentration))
    by_alarm, by_cap = alarm_at - days(before), fill.at + days(limit)
    capped = by_cap < by_alarm
    next_at = book(by_cap if capped else by_alarm, fill.at)
    nxt = PumpRefill(next_at, fill.concentration, fill.volume, fill.alarm)
    why = (
        cap.phrase("next_booked", limit=limit.text(), alarm_at=_stamp(alarm_at))
        if capped
        else refill.phrase("next_booked", before=before.text())
    )
    steps = [
        Step(
            nxt,
            cite(pack, "intrathecal.pump.refill", "intrathecal.pump.max-refill-interval"),
            f"{refill_instruction(pack, nxt, daily)} {why}",
            refill.text("next_condition"),
        )
    ]
    if not capped:
        review = refill.phrase(
            "alarm_review", filled=_stamp(fill.at), next=_stamp(next_at), alarm=fill.alarm.text()
        )
        steps.append(
            Step(
                Review(alarm_at, review),
                cite(pack, "intrathecal.pump.refill"),
                refill.text("alarm_instructions"),
                refill.text("alarm_condition"),
            )
        )
    return steps
