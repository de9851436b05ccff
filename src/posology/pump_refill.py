"""A refill worked out before it is saved: the bridge bolus of a concentration change, the
volume withdrawn against the volume expected, the settings before and after, the next dates.

Pure functions of the patient, the history, the refill (and the programme after it) and the
pack, so the refill form, the checker and the saved refill agree on every number.
"""

from __future__ import annotations

from collections.abc import Sequence

from .frozen import record
from .knowledge.schema import Pack
from .model.events import Event, ItInfusion, ItStop, PumpRefill
from .model.finding import Finding
from .model.patient import Patient
from .pump_status import FillDates, PumpStatus, fill_dates, pump_status
from .rules import check
from .rules.context import floor_to
from .rules.limits import alarm_volume
from .rules.refill import Residual, residual_check
from .units import Quantity


@record
class Bridge:
    """`intrathecal.pump.bridge`: the old drug in the tubing and catheter, run at the old rate.

    ``duration``/``dose`` are the bridge; ``wrong_daily``/``wrong_duration`` what the patient
    would receive without it (the old drug pushed at the new concentration's rate).
    """

    old: Quantity
    new: Quantity
    volume: Quantity
    daily: Quantity
    old_rate: Quantity  # mL per day that gives ``daily`` at the old concentration
    duration: Quantity
    dose: Quantity
    wrong_daily: Quantity
    wrong_duration: Quantity


def bridge_bolus(old: Quantity, new: Quantity, volume: Quantity, daily: Quantity) -> Bridge:
    """The bridge for ``volume`` of ``old`` concentration at ``daily`` after a change to ``new``.

    >>> from posology.units import parse_quantity as q
    >>> b = bridge_bolus(q("500 ug/mL"), q("1000 ug/mL"), q("0.5 mL"), q("300 ug/d"))
    >>> b.duration.to("h").code(), b.dose.to("ug").code(), b.wrong_daily.to("ug/d").code()
    ('20 h', '250 ug', '150 ug/d')
    >>> b.wrong_duration.to("h").code()
    '40 h'
    """
    drug = (volume * old).to("ug")
    return Bridge(
        old=old,
        new=new,
        volume=volume,
        daily=daily,
        old_rate=(daily / old).to("mL/d"),
        duration=(drug / daily).to("h"),
        dose=drug,
        wrong_daily=(daily * old.ratio(new)).to("ug/d"),
        wrong_duration=((volume * new) / daily).to("h"),
    )


def bridge_text(pack: Pack, bridge: Bridge) -> str:
    """`intrathecal.pump.bridge`'s sentence for a bridge, numbers rounded down (never more than
    worked out)."""
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    return pack.role("intrathecal.pump.bridge").phrase(
        "bridge",
        volume=bridge.volume.text(),
        old=bridge.old.to("ug/mL").text(),
        new=bridge.new.to("ug/mL").text(),
        old_rate=floor_to(bridge.old_rate.to("mL/d"), 3).text(),
        dose=floor_to(bridge.dose, places).text(),
        duration=floor_to(bridge.duration, places).text(),
        daily=bridge.daily.to("ug/d").text(),
        wrong_daily=floor_to(bridge.wrong_daily, places).text(),
        wrong_duration=floor_to(bridge.wrong_duration, places).text(),
    )


@record
class Preview:
    """Everything the refill form shows before saving; nothing is recorded."""

    before: PumpStatus
    refill: PumpRefill
    infusion: ItInfusion | None  # the programme after the refill (given, or the one running)
    alarm: Quantity
    residual: Residual | None
    bridge: Bridge | None
    next: FillDates
    findings: tuple[Finding, ...]


def preview_refill(
    patient: Patient,
    history: Sequence[Event],
    refill: PumpRefill,
    infusion: ItInfusion | None,
    pack: Pack,
) -> Preview:
    """The refill ``refill`` (and the programme ``infusion`` set after it) on ``history``.

    The findings are the checker's for the refill, and for the infusion after it with the refill
    in its past, plus an info asking for the tubing and catheter volume when the concentration
    changes without it; the next dates are those of the new fill with the new programme.
    """
    ordered = tuple(sorted(history, key=lambda e: e.at))
    before = pump_status(patient, ordered, pack, refill.at)
    findings = list(check(patient, ordered, refill, pack))
    after_history = (*ordered, refill)
    if infusion is not None:
        seen = {(f.rule, f.message) for f in findings}
        more = check(patient, after_history, infusion, pack)
        findings.extend(f for f in more if (f.rule, f.message) not in seen)
        after_history = (*after_history, infusion)
    previous = before.last_fill
    infusions = tuple(e for e in ordered if isinstance(e, (ItInfusion, ItStop)))
    residual = None if previous is None else residual_check(pack, previous, infusions, refill)
    programme = infusion or before.infusion
    bridge = None
    if previous is not None and previous.concentration != refill.concentration and programme:
        if refill.bridge_volume is None:
            rule = pack.role("intrathecal.pump.bridge")
            findings.append(
                Finding(
                    rule.id,
                    rule.severity("volume_needed"),
                    rule.phrase(
                        "bridge_volume_needed",
                        previous=previous.concentration.to("ug/mL").text(),
                        concentration=refill.concentration.to("ug/mL").text(),
                    ),
                    rule.citation,
                )
            )
        else:
            bridge = bridge_bolus(
                previous.concentration,
                refill.concentration,
                refill.bridge_volume,
                programme.daily_dose,
            )
    findings.sort(key=lambda f: -f.severity.rank)
    return Preview(
        before=before,
        refill=refill,
        infusion=programme,
        alarm=alarm_volume(pack, refill, patient.pump),
        residual=residual,
        bridge=bridge,
        next=fill_dates(patient, after_history, pack),
        findings=tuple(findings),
    )
