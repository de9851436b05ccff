"""Rules for the pump: concentrations, refills, the reservoir, the refill interval."""

from __future__ import annotations

from collections.abc import Iterator

from ..model.events import ItStop, PumpRefill
from ..model.finding import Finding
from ..units import Quantity
from .context import INTRATHECAL_KINDS, Context, hours_between
from .limits import alarm_volume, reservoir_at


def _refill(ctx: Context) -> PumpRefill | None:
    return ctx.proposal if isinstance(ctx.proposal, PumpRefill) else None


def sup_it_conc(ctx: Context) -> Iterator[Finding]:
    refill = _refill(ctx)
    if refill is None:
        return
    marketed = ctx.pack.rule("SUP-IT-CONC").quantities("marketed")
    if refill.concentration not in marketed:
        yield ctx.finding(
            "SUP-IT-CONC",
            "unknown",
            f"{refill.concentration.to('ug/mL').text()} is not a marketed concentration "
            f"({', '.join(q.text() for q in marketed)}): it is a dilution with preservative-free "
            "sodium chloride; check the preparation and the pump programme.",
        )


def sup_it_bridge(ctx: Context) -> Iterator[Finding]:
    refill = _refill(ctx)
    if refill is None or not ctx.refills:
        return
    previous = ctx.refills[-1]
    if refill.concentration != previous.concentration:
        yield ctx.finding(
            "SUP-IT-BRIDGE",
            "concentration_change",
            f"The concentration changes from {previous.concentration.to('ug/mL').text()} to "
            f"{refill.concentration.to('ug/mL').text()}: program a bridge bolus, or the old "
            "drug in the tubing and catheter is delivered at the new rate.",
        )


def sup_it_max_interval(ctx: Context) -> Iterator[Finding]:
    if not isinstance(ctx.proposal, INTRATHECAL_KINDS) or not ctx.refills:
        return
    if ctx.infusion_active is None and _refill(ctx) is None:
        return
    limit = ctx.pack.rule("SUP-IT-MAX-INTERVAL").quantity("max_interval")
    last = ctx.refills[-1]
    hours = hours_between(last.at, ctx.proposal.at)
    if hours > limit.in_("h"):
        yield ctx.finding(
            "SUP-IT-MAX-INTERVAL",
            "exceeded",
            f"The last refill was {Quantity.of(hours, 'h').to('d').text(places=0)} ago; the "
            f"drug may stay in the pump at most {limit.text()}.",
        )


def sup_it_refill(ctx: Context) -> Iterator[Finding]:
    refill = _refill(ctx)
    if refill is not None:
        pump = ctx.patient.pump
        reservoir = pump.reservoir if pump else None
        if reservoir is None:
            yield ctx.finding(
                "SUP-IT-REFILL",
                "reservoir_unknown",
                "The pump's reservoir volume is not recorded (`pump.reservoir_ml`): the fill "
                "volume could not be checked against it.",
            )
        elif refill.volume > reservoir:
            yield ctx.finding(
                "SUP-IT-REFILL",
                "overfill",
                f"{refill.volume.text()} is more than the {reservoir.text()} reservoir holds.",
            )
        return
    if not isinstance(ctx.proposal, INTRATHECAL_KINDS) or not ctx.refills:
        return
    if ctx.infusion_active is None or isinstance(ctx.proposal, ItStop):
        return
    last = ctx.refills[-1]
    left = reservoir_at(last, ctx.infusion_events, ctx.proposal.at)
    alarm = alarm_volume(ctx.pack, last)
    if left <= alarm:
        yield ctx.finding(
            "SUP-IT-REFILL",
            "below_alarm",
            f"By now the reservoir holds about {left.text(places=1)}, at or below its "
            f"{alarm.text()} alarm volume: refill first, or the pump may run dry and cause "
            "withdrawal.",
        )


CHECKS = (sup_it_conc, sup_it_bridge, sup_it_max_interval, sup_it_refill)
