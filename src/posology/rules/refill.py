"""The refill's own kind: the volume withdrawn against the volume expected (``residual-volume``).

The arithmetic lives in :func:`residual_check` so the checker and the refill preview judge a
refill the same way: the preview shows the numbers, the checker the finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

from ..frozen import record
from ..knowledge.schema import Pack, Rule
from ..model.events import ItInfusion, ItStop, PumpRefill
from ..model.finding import Finding
from ..units import Quantity, format_percent
from .context import Context, ceil_fraction, floor_fraction
from .kinds import implements
from .limits import reservoir_at
from .per_pack import per_pack

DIRECTIONS = ("within", "less", "more")
"""Within the tolerance; less withdrawn than expected (over-delivery); more (under-delivery)."""


@record
class Residual:
    """What a refill's withdrawn volume says about the previous fill.

    ``discrepancy`` is the delivered volume's departure from the programmed one, as a fraction
    of the programmed (positive: the pump delivered more), ``None`` when nothing was to be
    delivered (a fill refilled before any infusion ran).
    """

    previous: PumpRefill
    expected: Quantity
    withdrawn: Quantity
    programmed: Quantity
    delivered: Quantity
    discrepancy: Fraction | None
    direction: str


def residual_check(
    pack: Pack,
    previous: PumpRefill,
    infusions: Sequence[ItInfusion | ItStop],
    refill: PumpRefill,
) -> Residual | None:
    """Compare ``refill.residual`` with the reservoir ``previous`` should hold (the rule in the
    role ``intrathecal.pump.residual``).

    The tolerance applies to the volume delivered since the fill, and a difference up to the
    syringe's reading limit (``min_difference``) never counts, so a small fill does not alarm.
    ``None`` when the refill records no residual.
    """
    if refill.residual is None:
        return None
    return residual_of(pack, previous, reservoir_at(previous, infusions, refill.at), refill)


def residual_of(
    pack: Pack,
    previous: PumpRefill,
    expected: Quantity,
    refill: PumpRefill,
    rule: Rule | None = None,
) -> Residual | None:
    """:func:`residual_check` given the volume ``expected`` in the reservoir at the refill (the
    checker has it from the history already read), by ``rule`` (by default the rule in the
    role ``intrathecal.pump.residual``)."""
    withdrawn = refill.residual
    if withdrawn is None:
        return None
    if rule is None:
        rule = pack.role("intrathecal.pump.residual")
    programmed = previous.volume - expected
    delivered = previous.volume - withdrawn
    difference = expected - withdrawn  # positive: less withdrawn, the pump delivered more
    allowed = max(programmed * rule.number("tolerance"), rule.quantity("min_difference"))
    share = difference.ratio(programmed) if programmed.base > 0 else None
    direction = "within"
    if abs(difference.base) > allowed.base:
        direction = "less" if difference.base > 0 else "more"
    return Residual(previous, expected, withdrawn, programmed, delivered, share, direction)


def discrepancy_text(share: Fraction) -> str:
    """The share as people read it, rounded away from zero (never reads as within tolerance
    when the exact share is not): ``"15.2%"``, ``"-20%"``."""
    if share >= 0:
        return format_percent(ceil_fraction(share))
    return "-" + format_percent(ceil_fraction(-share))


@implements("residual-volume", PumpRefill)
def residual_volume(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """A refill whose withdrawn volume departs from the expected one by more than ``tolerance``
    of the programmed volume and at least ``min_difference``: ``less`` (the pump delivered
    more) or ``more``."""
    refill = ctx.proposal if isinstance(ctx.proposal, PumpRefill) else None
    previous = ctx.past.last_refill
    if refill is None or refill.residual is None or previous is None:
        return
    expected = ctx.past.reservoir_at(refill.at)
    assert expected is not None  # a refill was read
    result = residual_of(ctx.pack, previous, expected, refill, rule)
    if result is None or result.direction == "within":
        return
    share = result.discrepancy
    yield ctx.say(
        rule,
        result.direction,
        withdrawn=result.withdrawn.text(places=1),
        expected=result.expected.text(places=1),
        filled=result.previous.at.strftime("%Y-%m-%d"),
        delivered=_volume(result.delivered),
        programmed=_volume(result.programmed),
        discrepancy="" if share is None else format_percent(ceil_fraction(abs(share))),
        tolerance=format_percent(floor_fraction(rule.number("tolerance"))),
        signs=_early_signs(ctx.pack),
    )


@per_pack
def _early_signs(pack: Pack) -> str:
    """The early signs of withdrawal (role ``intrathecal.withdrawal``), "" without one."""
    if not pack.has_role("intrathecal.withdrawal"):
        return ""
    return ", ".join(pack.role("intrathecal.withdrawal").code_list("early_signs"))


def _volume(q: Quantity) -> str:
    return Quantity.of(max(q.base, Fraction(0)), "mL").text(places=1)
