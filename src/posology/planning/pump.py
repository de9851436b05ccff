"""Pump refills: concentration, volume, daily volume, the alarm date and the next refill."""

from __future__ import annotations

import math
from datetime import datetime

from ..knowledge.schema import Pack, Severity
from ..model.events import PumpRefill, Review
from ..model.finding import Finding
from ..rules.context import build_context
from ..rules.limits import alarm_volume, reservoir_at
from ..units import Quantity
from .doses import book, days
from .model import Step
from .notes import note, refuse
from .request import PlanRequest


def choose_concentration(
    pack: Pack, daily: Quantity, reservoir: Quantity, alarm: Quantity
) -> Quantity:
    """IT-DELIVERY-CONC: the least concentrated pump solution lasting the preferred interval."""
    wanted = pack.rule("IT-DELIVERY-CONC").quantity("min_refill_interval")
    options = sorted(pack.rule("SUP-IT-CONC").quantities("pump"))
    for conc in options:
        if days_to_alarm(reservoir, alarm, daily, conc) >= wanted:
            return conc
    return options[-1]


def daily_volume(daily: Quantity, conc: Quantity) -> Quantity:
    """SUP-IT-REFILL: daily volume = daily dose / concentration."""
    return (daily / conc).to("mL/d")


def days_to_alarm(volume: Quantity, alarm: Quantity, daily: Quantity, conc: Quantity) -> Quantity:
    """SUP-IT-REFILL: (volume filled − alarm volume) / daily volume, as a duration."""
    return ((volume - alarm) / daily_volume(daily, conc)).to("d")


def _ampoules(pack: Pack, fill: PumpRefill) -> str:
    for ampoule in pack.rule("IT-DELIVERY-CONC").table("ampoules"):
        conc, size = ampoule["concentration"], ampoule["volume"]
        if conc == fill.concentration and isinstance(size, Quantity):
            n = math.ceil(fill.volume.ratio(size))
            return f" ({n} ampoule{'s' if n > 1 else ''} of {size.text()})"
    return " (a dilution: prepare with preservative-free sodium chloride)"


def refill_instruction(pack: Pack, fill: PumpRefill, daily: Quantity) -> str:
    alarm = fill.alarm or alarm_volume(pack, fill)
    per_day = daily_volume(daily, fill.concentration)
    empty = (fill.volume / per_day).to("d")
    to_alarm = days_to_alarm(fill.volume, alarm, daily, fill.concentration)
    return (
        f"Empty the reservoir and fill {fill.volume.text()} of {fill.concentration.text()}"
        f"{_ampoules(pack, fill)}. At {daily.text()} the pump delivers {per_day.text(places=3)}: "
        f"empty after {empty.text(places=1)}, low-reservoir alarm ({alarm.text()}) after "
        f"{to_alarm.text(places=1)}."
    )


def fill_step(pack: Pack, fill: PumpRefill, daily: Quantity) -> Step:
    """The step of filling the pump, with the arithmetic behind its dates spelt out."""
    rules = ("IT-DELIVERY-CONC", "SUP-IT-CONC", "SUP-IT-REFILL")
    return Step(fill, rules, refill_instruction(pack, fill, daily), "")


def it_refill(req: PlanRequest, pack: Pack) -> tuple[list[Step], list[Finding]]:
    ctx = build_context(req.patient, req.history, Review(req.start, "plan start"), pack)
    active = ctx.infusion_active
    if active is None:
        refuse(
            pack,
            "SUP-IT-REFILL",
            "No intrathecal infusion is running: there is no dose to plan a refill for.",
            Severity.WARNING,
        )
    pump = req.patient.pump
    if pump is None or pump.reservoir is None:
        refuse(
            pack,
            "SUP-IT-REFILL",
            "The pump's reservoir volume is not recorded: give `pump.reservoir_ml`.",
            Severity.WARNING,
        )
    reservoir = pump.reservoir
    refill_rule = pack.rule("SUP-IT-REFILL")
    book_before = refill_rule.range("book_before_alarm").high
    max_interval = pack.rule("SUP-IT-MAX-INTERVAL").quantity("max_interval")
    daily = active.daily_dose
    last = ctx.refills[-1] if ctx.refills else None
    alarm = (
        req.goal.alarm_ml or (last.alarm if last else None) or refill_rule.quantity("alarm_volume")
    )
    conc = (
        req.goal.concentration
        or (last.concentration if last else None)
        or choose_concentration(pack, daily, reservoir, alarm)
    )
    notes: list[Finding] = []
    refill_at: datetime = req.start
    if last is not None:
        left = reservoir_at(last, ctx.infusion_events, req.start)
        last_alarm = last.alarm or alarm
        until_alarm = (left - last_alarm) / daily_volume(daily, last.concentration)
        alarm_at = req.start + days(until_alarm.to("d")) if left > last_alarm else req.start
        due = min(alarm_at - days(book_before), last.at + days(max_interval))
        refill_at = max(req.start, book(due, req.start))
        notes.append(
            note(
                pack,
                "SUP-IT-REFILL",
                Severity.INFO,
                f"At {req.start.isoformat(timespec='minutes')} the reservoir holds about "
                f"{left.text(places=1)}; the refill is booked "
                f"{book_before.text()} before the expected alarm.",
            )
        )
    fill = PumpRefill(refill_at, conc, reservoir, alarm)
    steps: list[Step] = []
    if last is not None and conc != last.concentration:
        steps.append(
            Step(
                Review(
                    refill_at,
                    f"Concentration change {last.concentration.text()} → "
                    f"{conc.text()}: program a bridge bolus at this refill.",
                ),
                ("SUP-IT-BRIDGE",),
                "Follow the pump maker's bridge-bolus procedure so the old-concentration "
                "drug in the tubing and catheter is not delivered at the new rate.",
                "",
            )
        )
    steps.append(fill_step(pack, fill, daily))
    to_alarm = days_to_alarm(reservoir, alarm, daily, conc)
    alarm_at = refill_at + days(to_alarm)
    steps.append(
        Step(
            Review(alarm_at, f"Expected low-reservoir alarm ({alarm.text()} left)."),
            ("SUP-IT-REFILL",),
            "If the pump alarms earlier or later, check the pump and catheter.",
            "if the daily dose is unchanged",
        )
    )
    next_at = book(min(alarm_at - days(book_before), refill_at + days(max_interval)), refill_at)
    nxt = PumpRefill(next_at, conc, reservoir, alarm)
    steps.append(
        Step(
            nxt,
            ("SUP-IT-REFILL", "SUP-IT-MAX-INTERVAL"),
            refill_instruction(pack, nxt, daily),
            "recompute the date if the daily dose changes",
        )
    )
    steps.sort(key=lambda s: s.event.at)
    return steps, notes
