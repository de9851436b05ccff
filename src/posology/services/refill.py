"""``POST /api/v1/patients/{id}/refill-preview``: a refill worked out on the stored history
before it is saved (the engine is :func:`posology.pump_refill.preview_refill`).

Nothing is recorded: saving is the usual ``POST …/events`` (the refill, then the infusion when
the programme changed). Instants are shown in the clinic's time zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Engine

from ..errors import InputError
from ..knowledge.schema import Pack
from ..model import fields as F
from ..model.documents import check_born, parse_event, parse_patient, sort_history
from ..model.events import Event, ItInfusion, PumpRefill
from ..pump_refill import Preview, bridge_text, preview_refill
from ..pump_status import FillDates, PumpStatus
from ..rules.context import ceil_fraction, floor_to
from ..serialize import finding_json
from ..units import Quantity, format_number
from . import accounts
from . import history as event_history
from .clinic import clinic_zone, local


def read_preview_request(document: Any) -> tuple[PumpRefill, ItInfusion | None]:
    """The body: a pump-refill ``event`` and, optionally, the it-infusion set after it."""
    fields = F.json_object(document, "", ("event",), ("infusion",))
    refill = parse_event(fields["event"], "event")
    if not isinstance(refill, PumpRefill):
        raise InputError("event.kind", "must be pump-refill: the refill to preview")
    if fields.get("infusion") is None:
        return refill, None
    infusion = parse_event(fields["infusion"], "infusion")
    if not isinstance(infusion, ItInfusion):
        raise InputError(
            "infusion.kind", "must be it-infusion: the dose or profile programmed at the refill"
        )
    if (infusion.at.tzinfo is None) != (refill.at.tzinfo is None):
        raise InputError(
            "infusion.at",
            "give it a time zone when event.at has one, and none when it has none",
        )
    if infusion.at < refill.at:
        raise InputError(
            "infusion.at", "must be at or after event.at (the programme follows the refill)"
        )
    return refill, infusion


def refill_preview(
    engine: Engine, pack: Pack, user: accounts.User, patient_id: int, document: Any
) -> dict[str, Any]:
    """The preview of the refill in ``document`` for a patient of the user's clinic."""
    refill, infusion = read_preview_request(document)
    refill = event_history.typed_event(engine, user, refill, "event.at")
    if infusion is not None:
        infusion = event_history.typed_event(engine, user, infusion, "infusion.at")
    patient_doc, history = event_history.case_for(engine, user, patient_id)
    proposed: list[tuple[str, Event]] = [("event", refill)]
    if infusion is not None:
        proposed.append(("infusion", infusion))
    try:
        sort_history([*proposed, *[(f"events[{i}]", e) for i, e in enumerate(history)]])
    except InputError as exc:
        raise InputError(exc.field, f"{exc.message} (a stored event)") from None
    patient = parse_patient(patient_doc, "patient")
    check_born(patient, proposed, refill.at, "event.at")
    preview = preview_refill(patient, history, refill, infusion, pack)
    return preview_json(preview, pack, clinic_zone(engine, user))


# -- JSON -------------------------------------------------------------------------------------


def _when(at: datetime | None, zone: tzinfo) -> str | None:
    return None if at is None else local(at, zone).isoformat(timespec="minutes")


def _q(q: Quantity | None, places: int | None = None) -> str | None:
    return None if q is None else q.code(places)


def percent_text(share: Any) -> str:
    """A signed share as ``"5.3 %"`` / ``"-5.3 %"``, rounded away from zero."""
    magnitude = format_number(ceil_fraction(abs(share)) * 100, 1)
    return f"{'-' if share < 0 else ''}{magnitude} %"


def settings_json(
    concentration: Quantity | None,
    volume: Quantity | None,
    alarm: Quantity | None,
    infusion: ItInfusion | None,
    pack: Pack,
) -> dict[str, Any]:
    """The pump's settings side by side as programmers show them: µg/day and µg/h, labelled."""
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    return {
        "concentration": None if concentration is None else concentration.to("ug/mL").code(),
        "volume": _q(volume, 1),
        "alarm_volume": _q(alarm),
        "daily_dose": None if infusion is None else infusion.daily_dose.to("ug/d").code(),
        "hourly_rate": None if infusion is None else infusion.daily_dose.to("ug/h").code(places),
        "mode": None if infusion is None else ("flex" if infusion.schedule else "simple"),
        "profile": [
            {
                "start": seg.start,
                "daily_rate": seg.daily_rate.to("ug/d").code(),
                "hourly_rate": seg.daily_rate.to("ug/h").code(places),
            }
            for seg in (infusion.schedule if infusion and infusion.schedule else ())
        ],
    }


def _before(status: PumpStatus, pack: Pack) -> dict[str, Any] | None:
    if status.last_fill is None and status.infusion is None:
        return None
    fill = status.last_fill
    return settings_json(
        None if fill is None else fill.concentration,
        status.expected_volume,
        status.alarm_volume,
        status.infusion,
        pack,
    )


def _next(dates: FillDates, zone: tzinfo) -> dict[str, Any]:
    return {
        "alarm_at": _when(dates.alarm_at, zone),
        "booking_window": None
        if dates.window_opens is None
        else {"opens": _when(dates.window_opens, zone), "closes": _when(dates.window_closes, zone)},
        "empty_at": _when(dates.empty_at, zone),
        "limit_at": _when(dates.limit_at, zone),
        "due_at": _when(dates.due_at, zone),
    }


def preview_json(preview: Preview, pack: Pack, zone: tzinfo) -> dict[str, Any]:
    """The contract's refill-preview answer."""
    refill = preview.refill
    residual = preview.residual
    bridge = preview.bridge
    places = pack.role("intrathecal.pump.rate").count("rate_unit_places")
    return {
        "expected_residual": _q(preview.before.expected_volume, 1)
        if preview.before.last_fill is not None
        else None,
        "residual": _q(refill.residual),
        "discrepancy": None
        if residual is None or residual.discrepancy is None
        else percent_text(residual.discrepancy),
        "before": _before(preview.before, pack),
        "after": settings_json(
            refill.concentration, refill.volume, preview.alarm, preview.infusion, pack
        ),
        "bridge": None
        if bridge is None
        else {
            "old_concentration": bridge.old.to("ug/mL").code(),
            "new_concentration": bridge.new.to("ug/mL").code(),
            "volume": bridge.volume.code(),
            "duration_h": float(floor_to(bridge.duration.to("h"), places).magnitude),
            "dose": floor_to(bridge.dose.to("ug"), places).code(),
            "text": bridge_text(pack, bridge),
        },
        "next": _next(preview.next, zone),
        "findings": [finding_json(f) for f in preview.findings],
    }
