"""SUP-UNIT-MIXUP: a dose that fits only under another unit is a mix-up, named as such.

For each kind of dose the plausible envelope is the union of the pack's ranges for it: the oral
daily dose (the kidney dose up to the maximum, and a child's weight-based start), the intrathecal
test dose, the intrathecal daily dose (page range, both maintenance ranges, the children's
range) and the pump concentration. A written dose outside its envelope that falls inside it
when read 1,000 times smaller is a critical finding (1,000× too high); one that falls inside
when read 1,000 times larger is an error (1,000× too low).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..knowledge.schema import Pack, Range
from ..model.events import ItInfusion, ItTestDose, OralRegimen, PumpRefill
from ..model.finding import Finding
from ..units import Quantity
from .context import Context
from .kinds import judges
from .per_pack import per_pack


def _envelope(ranges: list[Range[Quantity]]) -> Range[Quantity]:
    return Range(min(r.low for r in ranges), max(r.high for r in ranges))


def oral_envelope(ctx: Context) -> Range[Quantity]:
    pack = ctx.pack
    if not (ctx.is_child and ctx.patient.weight is not None):
        return _adult_oral_envelope(pack)
    ranges = _adult_oral_ranges(pack)
    paed = pack.rule("SUP-PO-PAED")
    start = paed.quantity("start") * ctx.patient.weight
    ranges.append(Range(start.to("mg/d"), paed.quantity("max_from_8")))
    return _envelope(ranges)


def _adult_oral_ranges(pack: Pack) -> list[Range[Quantity]]:
    return [
        pack.rule("PO-DAILY-RANGE").range("daily"),
        Range(
            pack.rule("SUP-PO-RENAL").quantity("renal_daily"),
            pack.rule("PO-MAX").quantity("max_daily_outpatient"),
        ),
    ]


@per_pack
def _adult_oral_envelope(pack: Pack) -> Range[Quantity]:
    """The oral envelope without a child's weight-based start (the same for every adult)."""
    return _envelope(_adult_oral_ranges(pack))


def intrathecal_daily_envelope(ctx: Context) -> Range[Quantity]:
    return _intrathecal_daily_envelope(ctx.pack)


@per_pack
def _intrathecal_daily_envelope(pack: Pack) -> Range[Quantity]:
    return _envelope(
        [
            pack.rule("IT-DAILY-RANGE").range("daily"),
            pack.rule("IT-MAINT-SPINAL").range("range"),
            pack.rule("IT-MAINT-CEREBRAL").range("range"),
            pack.rule("IT-PAED-MAINT").range("initial"),
        ]
    )


def test_dose_envelope(ctx: Context) -> Range[Quantity]:
    return _test_dose_envelope(ctx.pack)


@per_pack
def _test_dose_envelope(pack: Pack) -> Range[Quantity]:
    first = pack.rule("IT-SCREEN-START").quantities("first_doses")
    return Range(min(first), pack.rule("IT-SCREEN-NONRESPONDER").quantity("max_test_dose"))


def concentration_envelope(ctx: Context) -> Range[Quantity]:
    return _concentration_envelope(ctx.pack)


@per_pack
def _concentration_envelope(pack: Pack) -> Range[Quantity]:
    marketed = pack.rule("SUP-IT-CONC").quantities("marketed")
    return Range(min(marketed), max(marketed))


def _written(ctx: Context) -> tuple[str, Quantity, Range[Quantity]] | None:
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
    """True when SUP-UNIT-MIXUP speaks for the proposal: its amount is outside every range for
    its kind but inside one when read ``factor`` times smaller or larger."""
    return _mixup(ctx) is not None


def _mixup(ctx: Context) -> tuple[str, str, Quantity, Quantity, Range[Quantity], int] | None:
    """The finding kind, the label, the amount as written and judged, its envelope and the
    factor, when the proposal's amount is a mix-up."""
    written = _written(ctx)
    if written is None:
        return None
    label, judged, envelope = written
    if judged in envelope:
        return None
    factor = ctx.pack.rule("SUP-UNIT-MIXUP").count("factor")
    if judged > envelope.high and judged / factor in envelope:
        return "too_high", label, _shown(ctx, judged), judged, envelope, factor
    if judged < envelope.low and judged * factor in envelope:
        return "too_low", label, _shown(ctx, judged), judged, envelope, factor
    return None


@judges(OralRegimen, ItTestDose, ItInfusion, PumpRefill)
def sup_unit_mixup(ctx: Context) -> Iterator[Finding]:
    found = _mixup(ctx)
    if found is None:
        return
    key, label, shown, judged, envelope, factor = found
    meant = shown / factor if key == "too_high" else shown * factor
    unit = _smaller(shown) if key == "too_high" else _larger(shown)
    yield ctx.say(
        "SUP-UNIT-MIXUP",
        key,
        what=ctx.pack.rule("SUP-UNIT-MIXUP").code_map("labels")[label],
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


CHECKS = (sup_unit_mixup,)
