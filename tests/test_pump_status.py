"""The pump status: the current fill's alarm, booking window, empty and limit dates, and what the
pump nurse is told about the state (SUP-IT-REFILL, SUP-IT-MAX-INTERVAL, SUP-IT-WITHDRAWAL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casebuild import adult, event, infusion
from posology.knowledge import load_pack
from posology.model import parse_case
from posology.pump_status import PumpStatus, pump_status

FILLED = "2026-11-01T09:00"


def status(history: list[dict[str, Any]], at: str, **patient: Any) -> PumpStatus:
    case = parse_case(
        {
            "patient": adult(**({"pump": {"programmable": True, "reservoir_ml": 20}} | patient)),
            "history": history,
            "proposal": event(at, "review", note="status"),
        }
    )
    return pump_status(case.patient, case.history, load_pack(), case.proposal.at)


def filled(daily: str = "250 ug/d", conc: str = "500 ug/mL", volume: int = 20) -> list[Any]:
    # 250 µg/day of 500 µg/mL is 0.5 mL/day: 20 mL reach the 2 mL alarm in 36 days, empty in 40.
    return [
        infusion(FILLED, daily),
        event(FILLED, "pump-refill", concentration=conc, volume_ml=volume),
    ]


def test_dates_of_the_current_fill_follow_the_arithmetic_of_the_refill_rule() -> None:
    s = status(filled(), "2026-11-20T09:00")
    assert s.state == "ok"
    assert s.expected_volume is not None and s.expected_volume.text() == "10.5 mL"
    assert s.alarm_at == datetime(2026, 12, 7, 9, 0)
    assert s.empty_at == datetime(2026, 12, 11, 9, 0)
    assert s.window_opens == datetime(2026, 12, 2, 9, 0)  # 5 days before the alarm
    assert s.window_closes == datetime(2026, 12, 4, 9, 0)  # 3 days before the alarm
    assert s.limit_at == datetime(2027, 4, 30, 9, 0)  # 180 days after the fill
    assert s.due_at == s.window_closes
    assert s.findings == ()


def test_an_infusion_change_after_the_fill_moves_the_alarm_of_that_fill() -> None:
    # After 10 days (5 mL used) the dose doubles to 1 mL/day: 13 mL to the alarm take 13 days.
    history = [*filled(), infusion("2026-11-11T09:00", "500 ug/d")]
    s = status(history, "2026-11-12T09:00")
    assert s.alarm_at == datetime(2026, 11, 24, 9, 0)
    assert s.empty_at == datetime(2026, 11, 26, 9, 0)


def test_the_state_follows_the_booking_window_then_the_alarm_then_empty() -> None:
    said = {}
    for at in (
        "2026-12-01T09:00",
        "2026-12-03T09:00",
        "2026-12-05T09:00",
        "2026-12-08T09:00",
        "2026-12-12T09:00",
    ):
        s = status(filled(), at)
        said[at[:10]] = (s.state, [(f.rule, f.severity.value) for f in s.findings])
    assert said == {
        "2026-12-01": ("ok", []),
        "2026-12-03": ("due", [("SUP-IT-REFILL", "info")]),
        "2026-12-05": ("overdue", [("SUP-IT-REFILL", "warning")]),
        "2026-12-08": ("past-alarm", [("SUP-IT-REFILL", "warning")]),
        "2026-12-12": ("empty", [("SUP-IT-WITHDRAWAL", "critical")]),
    }


def test_past_the_alarm_the_nurse_is_told_the_withdrawal_signs_and_the_empty_date() -> None:
    s = status(filled(), "2026-12-08T09:00")
    message = s.findings[0].message
    assert "2026-12-07 09:00" in message and "2026-12-11 09:00" in message
    assert "1.5 mL" in message
    assert "pruritus" in message


def test_a_fill_past_the_180_day_limit_is_said_even_when_the_reservoir_lasts() -> None:
    # 20 µg/day of 2,000 µg/mL is 0.01 mL/day: the alarm would come only after 1,800 days.
    s = status(filled("20 ug/d", "2000 ug/mL"), "2027-05-01T09:00")
    assert s.limit_at == datetime(2027, 4, 30, 9, 0)
    assert s.due_at == s.limit_at
    assert s.state == "overdue"
    assert [(f.rule, f.severity.value) for f in s.findings] == [
        ("SUP-IT-REFILL", "warning"),
        ("SUP-IT-MAX-INTERVAL", "warning"),
    ]


def test_a_stopped_pump_has_no_alarm_and_no_finding() -> None:
    s = status([*filled(), event("2026-11-10T09:00", "it-stop")], "2027-01-10T09:00")
    assert s.state == "stopped"
    assert s.alarm_at is None and s.empty_at is None
    assert s.expected_volume is not None and s.expected_volume.text() == "15.5 mL"


def test_an_infusion_without_a_recorded_fill_asks_for_the_fill() -> None:
    s = status([infusion(FILLED, "250 ug/d")], "2026-11-20T09:00")
    assert s.state == "no-fill"
    assert [f.rule for f in s.findings] == ["SUP-IT-REFILL"]
    assert "Record the last refill" in s.findings[0].message


def test_withdrawal_before_alarm_raises_the_alarm_volume_and_brings_the_alarm_forward() -> None:
    s = status(
        filled(),
        "2026-11-20T09:00",
        pump={"programmable": True, "reservoir_ml": 20, "withdrawal_before_alarm": True},
    )
    assert s.alarm_volume is not None and s.alarm_volume.text() == "4 mL"
    assert s.alarm_at == datetime(2026, 12, 3, 9, 0)  # 16 mL at 0.5 mL/day


def test_the_status_card_and_the_refill_plan_date_the_same_alarm_of_the_current_fill() -> None:
    """The alarm the refill plan books against is the current fill's, as the status shows it,
    after an infusion change since the fill (issue 10: one alarm date everywhere)."""
    from posology.planning import parse_request, plan

    history = [*filled(), infusion("2026-11-11T09:00", "500 ug/d")]
    s = status(history, "2026-11-12T09:00")
    request = parse_request(
        {
            "patient": adult(pump={"programmable": True, "reservoir_ml": 20}),
            "history": history,
            "goal": {"kind": "it-refill"},
            "start": "2026-11-12T09:00",
        }
    )
    result = plan(request, load_pack())
    (booked,) = [f for f in result.findings if f.rule == "SUP-IT-REFILL"]
    assert s.alarm_at is not None
    assert f"expected on {s.alarm_at.isoformat(timespec='minutes')}" in booked.message
    refill_at = next(st.event.at for st in result.steps if st.event.kind == "pump-refill")
    assert s.window_opens is not None and refill_at.date() == s.window_opens.date()
