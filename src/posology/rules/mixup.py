"""The unit mix-up kind: a dose that fits only under another unit is a mix-up, named as such.

For each kind of dose the plausible envelope is the span of the pack's ranges for it, each read
from the rule in its role (a medicine without a role leaves that range out): the oral daily dose
(the daily range, the kidney dose up to the maximum, and a child's weight-based start), the
intrathecal test dose, the intrathecal daily dose (the daily range, the maintenance ranges, the
children's range) and the pump concentration. A written dose outside its envelope that falls
inside it when read ``factor`` times smaller is a ``too_high`` finding; one that falls inside
when read ``factor`` times larger is ``too_low``. A kind of dose the pack gives no range for has
no envelope and is not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack, Range, Rule
from ..model.events import ItInfusion, ItTestDose, OralRegimen, PumpRefill
from ..model.finding import Finding
from ..units import Quantity
from .context import Context
from .kinds import implements
from .limits import maintenance_ranges
from .per_pack import per_pack

Part = Range[Quantity] | Quantity


def _envelope(parts: list[Part]) -> Range[Quantity] | None:
    """The span of some ranges and single amounts, None when there are none."""
    if not parts:
        return None
    lows = [p.low if isinstance(p, Range) else p for p in parts]
    highs = [p.high if isinstance(p, Range) else p for p in parts]
    return Range(min(lows), max(highs))


def _role_value(pack: Pack, role: str, read: str, name: str) -> list[Part]:
    """A range or an amount of the rule in ``role`` (``read`` is the accessor), or nothing."""
    if not pack.has_role(role):
        return []
    rule = pack.role(role)
    if read == "range":
        return [rule.range(name)]
    if read == "quantities":
        found = rule.quantities(name)
        return [Range(min(found), max(found))]
    return [rule.quantity(name)]


def oral_envelope(ctx: Context) -> Range[Quantity] | None:
    pack = ctx.pack
    weight = ctx.patient.weight
    if not (ctx.is_child and weight is not None and pack.has_role("oral.children")):
        return _adult_oral_envelope(pack)
    paed = pack.role("oral.children")
    start = paed.quantity("start") * weight
    return _envelope(
        [*_adult_oral_parts(pack), Range(start.to("mg/d"), paed.quantity("max_from_8"))]
    )


def _adult_oral_parts(pack: Pack) -> list[Part]:
    return [
        *_role_value(pack, "oral.daily-range", "range", "daily"),
        *_role_value(pack, "oral.renal", "quantity", "renal_daily"),
        *_role_value(pack, "oral.max", "quantity", "max_daily_outpatient"),
    ]


@per_pack
def _adult_oral_envelope(pack: Pack) -> Range[Quantity] | None:
    """The oral envelope without a child's weight-based start (the same for every adult)."""
    return _envelope(_adult_oral_parts(pack))


def intrathecal_daily_envelope(ctx: Context) -> Range[Quantity] | None:
    return _intrathecal_daily_envelope(ctx.pack)


@per_pack
def _intrathecal_daily_envelope(pack: Pack) -> Range[Quantity] | None:
    return _envelope(
        [
            *_role_value(pack, "intrathecal.daily-range", "range", "daily"),
            *(r for _, r in maintenance_ranges(pack, None)),
            *_role_value(pack, "intrathecal.children.maintenance", "range", "initial"),
        ]
    )


def test_dose_envelope(ctx: Context) -> Range[Quantity] | None:
    return _test_dose_envelope(ctx.pack)


@per_pack
def _test_dose_envelope(pack: Pack) -> Range[Quantity] | None:
    """From the lowest first test dose to the highest test dose."""
    if not (
        pack.has_role("intrathecal.screening.start")
        and pack.has_role("intrathecal.screening.nonresponder")
    ):
        return None
    first = pack.role("intrathecal.screening.start").quantities("first_doses")
    highest = pack.role("intrathecal.screening.nonresponder").quantity("max_test_dose")
    return _envelope([min(first), highest])


def concentration_envelope(ctx: Context) -> Range[Quantity] | None:
    return _concentration_envelope(ctx.pack)


@per_pack
def _concentration_envelope(pack: Pack) -> Range[Quantity] | None:
    return _envelope(_role_value(pack, "intrathecal.pump.concentration", "quantities", "marketed"))


def _written(ctx: Context) -> tuple[str, Quantity, Range[Quantity] | None] | None:
    """What to test: a label, the amount judged, and its envelope (the amount as written is
    :func:`_shown`, worked out only for a finding)."""
    p = ctx.proposal
    if isinstance(p, OralRegimen):
        return "oral", p.daily_dose, oral_envelope(ctx)
    if isinstance(p, ItTestDose):
        return "test_dose", p.dose, test_dose_envelope(ctx)
    if isinstance(p, ItInfusion):
        return "intrathecal", p.daily_dose, intrathecal_daily_envelope(ctx)
    if isinstance(p, PumpRefill):
        return "concentration", p.concentration, concentration_envelope(ctx)
    return None


def _shown(ctx: Context, judged: Quantity) -> Quantity:
    """The amount as written: an oral regimen's largest administration, else the amount."""
    p = ctx.proposal
    return max(p.doses) if isinstance(p, OralRegimen) else judged


def mixup_fits(ctx: Context) -> bool:
    """True when the unit mix-up rule (role ``unit-mixup``) speaks for the proposal: its amount
    is outside every range for its kind but inside one when read ``factor`` times smaller or
    larger."""
    pack = ctx.pack
    return pack.has_role("unit-mixup") and _mixup(ctx, pack.role("unit-mixup")) is not None


def _mixup(
    ctx: Context, rule: Rule
) -> tuple[str, str, Quantity, Quantity, Range[Quantity], int] | None:
    """The finding kind, the label, the amount as written and judged, its envelope and the
    factor, when the proposal's amount is a mix-up."""
    written = _written(ctx)
    if written is None:
        return None
    label, judged, envelope = written
    if envelope is None or judged in envelope:
        return None
    factor = rule.count("factor")
    if judged > envelope.high and judged / factor in envelope:
        return "too_high", label, _shown(ctx, judged), judged, envelope, factor
    if judged < envelope.low and judged * factor in envelope:
        return "too_low", label, _shown(ctx, judged), judged, envelope, factor
    return None


@implements("unit-mixup", OralRegimen, ItTestDose, ItInfusion, PumpRefill)
def unit_mixup(ctx: Context, rule: Rule) -> Iterator[Finding]:
    """An amount outside its envelope that fits when read ``factor`` times smaller
    (``too_high``) or larger (``too_low``); ``labels`` names each kind of dose."""
    found = _mixup(ctx, rule)
    if found is None:
        return
    key, label, shown, judged, envelope, factor = found
    meant = shown / factor if key == "too_high" else shown * factor
    unit = _smaller(shown) if key == "too_high" else _larger(shown)
    yield ctx.say(
        rule,
        key,
        what=rule.code_map("labels")[label],
        amount=judged.text(),
        factor=f"{factor:,}",
        envelope=envelope.text(),
        meant=meant.to(unit).text(),
    )


_SMALLER = {"g": "mg", "mg": "ug"}
_LARGER = {"ug": "mg", "mg": "g"}


def _smaller(q: Quantity) -> str:
    """The written unit with its mass one step smaller (mg → µg), or unchanged."""
    return _swap_mass(q, _SMALLER)


def _larger(q: Quantity) -> str:
    """The written unit with its mass one step larger (µg → mg), or unchanged."""
    return _swap_mass(q, _LARGER)


def _swap_mass(q: Quantity, table: dict[str, str]) -> str:
    head, _, rest = q.unit.code.partition("/")
    return table.get(head, head) + (f"/{rest}" if rest else "")
