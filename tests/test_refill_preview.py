"""The pump clinic's engine: the refill preview (volume withdrawn against volume expected, the
bridge bolus, settings before and after, the next dates), the screening ladder and the limits
on the next dose change. Expected numbers are worked out by hand in each test's docstring."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casebuild import adult, fired, infusion, oral, run, tdose
from posology.errors import InputError
from posology.knowledge import load_pack
from posology.model import ItTestDose, parse_case, parse_event
from posology.model.documents import parse_patient
from posology.pump_refill import bridge_bolus, preview_refill
from posology.serialize import event_json
from posology.services.limits import change_limits, limits_json
from posology.services.refill import preview_json, read_preview_request
from posology.services.screening import ladder, ladder_json
from posology.units import parse_quantity as q

PACK = load_pack()
BERLIN = ZoneInfo("Europe/Berlin")
PUMP = {"programmable": True, "reservoir_ml": 20}
FILLED = [
    infusion("2026-11-01T09:00", "250 ug/d"),
    {
        "at": "2026-11-01T09:00",
        "kind": "pump-refill",
        "concentration": "500 ug/mL",
        "volume_ml": 20,
    },
]


def refill(at: str = "2026-11-20T09:00", conc: str = "500 ug/mL", **fields: Any) -> dict[str, Any]:
    return {"at": at, "kind": "pump-refill", "concentration": conc, "volume_ml": 20, **fields}


def preview(proposal: dict[str, Any], after: dict[str, Any] | None = None) -> dict[str, Any]:
    case = parse_case({"patient": adult(pump=PUMP), "history": FILLED, "proposal": proposal})
    programme = None if after is None else parse_event(after, "infusion")
    assert programme is None or programme.kind == "it-infusion"
    result = preview_refill(case.patient, case.history, case.proposal, programme, PACK)  # type: ignore[arg-type]
    return preview_json(result, PACK, BERLIN)


def rules_of(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["rule"], f["severity"]) for f in answer["findings"]]


# -- residual volume ----------------------------------------------------------------------------


def test_less_withdrawn_than_expected_is_possible_over_infusion() -> None:
    """19 days at 0.5 mL/day: 9.5 mL delivered, 10.5 mL expected; 9 mL withdrawn means 11 mL
    delivered, 1.5 mL (15.8 %) more, beyond 14.5 % of 9.5 mL (1.38 mL) and the 1 mL limit."""
    answer = preview(refill(residual_ml=9))
    assert answer["expected_residual"] == "10.5 mL"
    assert answer["residual"] == "9 mL"
    assert answer["discrepancy"] == "15.8 %"
    [finding] = [f for f in answer["findings"] if f["rule"] == "SUP-IT-RESIDUAL"]
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(
        "9 mL withdrawn, 10.5 mL expected: since the 2026-11-01 fill the pump delivered about "
        "11 mL instead of 9.5 mL, 15.8% more than programmed (beyond 14.5%). Possible "
        "over-infusion"
    )
    assert "alarm will not sound before the reservoir empties" in finding["message"]
    assert finding["citation"]["evidence"] == "label"
    assert "TGA" in finding["citation"]["source"] or "tga" in finding["citation"]["url"]


def test_more_withdrawn_than_expected_is_under_delivery_with_the_withdrawal_risk() -> None:
    """12 mL withdrawn of 10.5 mL expected: 8 mL delivered of 9.5 mL, -15.8 %."""
    answer = preview(refill(residual_ml=12))
    assert answer["discrepancy"] == "-15.8 %"
    [finding] = [f for f in answer["findings"] if f["rule"] == "SUP-IT-RESIDUAL"]
    assert finding["severity"] == "warning"
    assert "15.8% less than programmed" in finding["message"]
    assert "catheter occlusion" in finding["message"] and "withdrawal" in finding["message"]
    assert "return of baseline spasticity" in finding["message"]


def test_a_residual_within_the_tolerance_gives_no_finding() -> None:
    """9.2 mL: 1.3 mL short of 10.5 mL, within 14.5 % of 9.5 mL (1.3775 mL)."""
    answer = preview(refill(residual_ml=9.2))
    assert answer["discrepancy"] == "13.7 %"
    assert ("SUP-IT-RESIDUAL", "warning") not in rules_of(answer)


def test_a_small_difference_on_a_recent_fill_is_within_the_syringe_reading_limit() -> None:
    """Two days after the fill 1 mL was delivered, 19 mL expected: 18.1 mL withdrawn is 0.9 mL
    (90 %) short but under the 1 mL reading limit; 17.9 mL (1.1 mL short) is past it."""
    quiet = run(adult(pump=PUMP), FILLED, refill("2026-11-03T09:00", residual_ml=18.1))
    loud = run(adult(pump=PUMP), FILLED, refill("2026-11-03T09:00", residual_ml=17.9))
    assert fired(quiet, "SUP-IT-RESIDUAL") == []
    assert fired(loud, "SUP-IT-RESIDUAL") == ["warning"]


def test_a_refill_without_residual_shows_the_expected_volume_and_no_discrepancy() -> None:
    answer = preview(refill())
    assert answer["expected_residual"] == "10.5 mL"
    assert answer["residual"] is None and answer["discrepancy"] is None
    assert not any(f["rule"] == "SUP-IT-RESIDUAL" for f in answer["findings"])


# -- bridge bolus ------------------------------------------------------------------------------


def test_bridge_bolus_runs_the_tubing_volume_at_the_old_rate() -> None:
    """0.5 mL of 500 µg/mL at 300 µg/day: 250 µg over 250/300 day = 20 h at 0.6 mL/day; without
    it 300 x 500/1000 = 150 µg/day for 0.5 x 1000 / 300 day = 40 h."""
    b = bridge_bolus(q("500 ug/mL"), q("1000 ug/mL"), q("0.5 mL"), q("300 ug/d"))
    assert b.duration.in_("h") == 20 and b.dose.in_("ug") == 250
    assert b.old_rate.in_("mL/d") == q("0.6 mL/d").in_("mL/d")
    assert b.wrong_daily.in_("ug/d") == 150 and b.wrong_duration.in_("h") == 40


def test_preview_of_a_concentration_change_shows_the_bridge_and_both_settings() -> None:
    answer = preview(
        refill(conc="1000 ug/mL", bridge_volume_ml=0.5, residual_ml=10.5),
        infusion("2026-11-20T09:05", "300 ug/d"),
    )
    assert answer["before"] == {
        "concentration": "500 ug/mL",
        "volume": "10.5 mL",
        "alarm_volume": "2 mL",
        "daily_dose": "250 ug/d",
        "hourly_rate": "10.4 ug/h",
        "mode": "simple",
        "profile": [],
    }
    assert answer["after"] == {
        "concentration": "1000 ug/mL",
        "volume": "20 mL",
        "alarm_volume": "2 mL",
        "daily_dose": "300 ug/d",
        "hourly_rate": "12.5 ug/h",
        "mode": "simple",
        "profile": [],
    }
    bridge = answer["bridge"]
    assert {k: v for k, v in bridge.items() if k != "text"} == {
        "old_concentration": "500 ug/mL",
        "new_concentration": "1000 ug/mL",
        "volume": "0.5 mL",
        "duration_h": 20.0,
        "dose": "250 ug",
    }
    assert "250 µg over 20 h" in bridge["text"]
    assert "150 µg/day instead of 300 µg/day for 40 h" in bridge["text"]
    assert answer["discrepancy"] == "0 %"
    assert ("SUP-IT-BRIDGE", "warning") in rules_of(answer)


def test_the_next_dates_are_the_new_fills_with_the_new_programme() -> None:
    """20 mL of 1000 µg/mL: from 09:00 to 09:05 at 250 µg/day, then 0.3 mL/day; 18 mL to the
    2 mL alarm: 60 days less the 5 minutes' 0.26 µL, i.e. 2027-01-19 about 09:00 (CET)."""
    answer = preview(
        refill(conc="1000 ug/mL", bridge_volume_ml=0.5),
        infusion("2026-11-20T09:05", "300 ug/d"),
    )
    nxt = answer["next"]
    assert nxt["alarm_at"] == "2027-01-19T09:00+01:00"
    assert nxt["booking_window"] == {
        "opens": "2027-01-14T09:00+01:00",
        "closes": "2027-01-16T09:00+01:00",
    }
    assert nxt["due_at"] == "2027-01-16T09:00+01:00"
    assert nxt["limit_at"] == "2027-05-19T09:00+02:00"


def test_a_concentration_change_without_the_tubing_volume_asks_for_it() -> None:
    answer = preview(refill(conc="1000 ug/mL"))
    assert answer["bridge"] is None
    needed = [
        f for f in answer["findings"] if f["rule"] == "SUP-IT-BRIDGE" and f["severity"] == "info"
    ]
    assert len(needed) == 1 and "`bridge_volume_ml`" in needed[0]["message"]


def test_the_infusion_after_the_refill_is_checked_with_the_refill_in_its_past() -> None:
    """250 → 400 µg/day is +60 %, above any step limit: the checker's error comes through."""
    answer = preview(refill(), infusion("2026-11-20T09:05", "400 ug/d"))
    assert ("IT-TITR-STEP", "error") in rules_of(answer) or (
        "IT-CHRONIC-STEP",
        "error",
    ) in rules_of(answer)


# -- the refill event's new fields ------------------------------------------------------------


def test_the_refill_records_residual_lot_second_check_and_tubing_volume() -> None:
    event = parse_event(
        refill(residual_ml=9.35, lot="L2403A", checked_by="A. Nurse", bridge_volume_ml=0.35), "e"
    )
    again = event_json(event)
    assert again["residual_ml"] == 9.35 and again["lot"] == "L2403A"
    assert again["checked_by"] == "A. Nurse" and again["bridge_volume_ml"] == 0.35
    assert parse_event(again, "e") == event


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"residual_ml": -1}, "e.residual_ml"),
        ({"residual_ml": 101}, "e.residual_ml"),
        ({"bridge_volume_ml": 0}, "e.bridge_volume_ml"),
        ({"bridge_volume_ml": 20}, "e.bridge_volume_ml"),
        ({"lot": ""}, "e.lot"),
        ({"checked_by": 3}, "e.checked_by"),
    ],
)
def test_bad_refill_fields_name_the_field(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_event(refill(**fields), "e")
    assert caught.value.field == where


def test_a_preview_request_must_be_a_refill_then_an_infusion_after_it() -> None:
    with pytest.raises(InputError) as caught:
        read_preview_request({"event": infusion("2026-11-20T09:00", "100 ug/d")})
    assert caught.value.field == "event.kind"
    with pytest.raises(InputError) as caught:
        read_preview_request({"event": refill(), "infusion": refill()})
    assert caught.value.field == "infusion.kind"
    with pytest.raises(InputError) as caught:
        read_preview_request(
            {"event": refill(), "infusion": infusion("2026-11-20T08:59", "1 ug/d")}
        )
    assert caught.value.field == "infusion.at"


# -- screening ---------------------------------------------------------------------------------


def _ladder(*doses: dict[str, Any]) -> dict[str, Any]:
    events = [(i + 1, parse_event(d, f"d{i}")) for i, d in enumerate(doses)]
    typed = [(i, e) for i, e in events if isinstance(e, ItTestDose)]
    return ladder_json(ladder(typed, PACK, BERLIN), PACK, BERLIN)


def test_a_dose_without_response_is_pending_and_asks_for_the_response() -> None:
    answer = _ladder(tdose("2026-11-01T09:00", "50 ug"))
    assert answer["state"] == "pending" and answer["next"] is None
    assert answer["doses"] == [
        {"at": "2026-11-01T09:00+01:00", "dose": "50 ug", "response": None, "event_id": 1}
    ]
    assert "is not recorded: record it" in answer["conclusion"]


def test_no_response_gives_the_next_step_of_25_ug_not_before_24_hours() -> None:
    answer = _ladder(tdose("2026-11-01T09:00", "50 ug", False))
    assert answer["state"] == "in-progress"
    assert answer["next"] == {"dose": "75 ug", "earliest": "2026-11-02T09:00+01:00"}
    assert answer["doses"][0]["response"] == {"effect": False, "duration_h": None}
    assert "at most 75 µg, not before 2026-11-02 09:00" in answer["conclusion"]


def test_the_next_dose_never_passes_the_highest_test_dose() -> None:
    answer = _ladder(tdose("2026-11-01T09:00", "90 ug", False))
    assert answer["next"]["dose"] == "100 ug"


def test_no_response_at_100_ug_is_a_non_responder() -> None:
    answer = _ladder(
        tdose("2026-11-01T09:00", "50 ug", False),
        tdose("2026-11-02T09:00", "75 ug", False),
        tdose("2026-11-03T09:00", "100 ug", False),
    )
    assert answer["state"] == "non-responder" and answer["next"] is None
    assert answer["infusion_start"] is None
    assert answer["conclusion"].startswith("No response at 100 µg: the patient is a non-responder")


def test_a_responder_gets_twice_the_responding_bolus_over_24_hours() -> None:
    """75 µg with a 6 h effect: 150 µg/day, 6.25 µg/h shown as 6.3 µg/h."""
    answer = _ladder(
        tdose("2026-11-01T09:00", "50 ug", False), tdose("2026-11-02T10:00", "75 ug", True, 6)
    )
    assert answer["state"] == "responder"
    assert [d["event_id"] for d in answer["doses"]] == [1, 2]
    start = answer["infusion_start"]
    assert start["daily_dose"] == "150 ug/d" and start["hourly_rate"] == "6.3 ug/h"
    assert start["prolonged"] is False
    assert start["text"].startswith("Start continuous infusion at 150 µg/day (6.3 µg/h)")
    assert "responded to 75 µg (effect for 6 h)" in answer["conclusion"]


def test_a_prolonged_effect_starts_at_the_unchanged_bolus() -> None:
    answer = _ladder(tdose("2026-11-01T09:00", "50 ug", True, 14))
    assert answer["infusion_start"]["daily_dose"] == "50 ug/d"
    assert answer["infusion_start"]["prolonged"] is True


# -- change limits -----------------------------------------------------------------------------

UTC_PLUS_1 = timezone(timedelta(hours=1))


def _limits(patient: dict[str, Any], history: list[dict[str, Any]], at: str) -> dict[str, Any]:
    case = parse_case({"patient": patient, "history": history, "proposal": refill(at)})
    return limits_json(change_limits(case.patient, case.history, PACK, case.proposal.at, BERLIN))


def test_a_spinal_titration_may_rise_30_percent_after_24_hours() -> None:
    """100 µg/day: at most 130 µg/day; no cut below 80 (20 %); not before the start + 24 h."""
    history = [
        tdose("2026-11-01T09:00", "50 ug", True, 6),
        infusion("2026-11-05T12:00", "100 ug/d"),
    ]
    answer = _limits(adult(origin="spinal", pump=PUMP), history, "2026-11-05T13:00")
    assert answer["intrathecal"] == {
        "daily_dose": "100 ug/d",
        "phase": "titration",
        "largest": "130 ug/d",
        "smallest_without_warning": "80 ug/d",
        "earliest_increase": "2026-11-06T12:00+01:00",
        "rule": "IT-TITR-STEP",
        "usual_increase_from": "110 ug/d",  # the label's usual rise is 10 to 30 %
    }
    assert answer["oral"] is None


def test_a_cerebral_maintenance_rise_is_20_percent_rounded_down_after_48_hours_unprogrammable() -> (
    None
):
    """133 µg/day x 1.2 = 159.6, rounded down to 159; 133 x 0.8 = 106.4 rounded up to 107; the
    last change 2026-11-10 12:00 + 48 h (non-programmable pump)."""
    history = [
        tdose("2026-11-01T09:00", "50 ug", True, 6),
        infusion("2026-11-05T12:00", "100 ug/d"),
        infusion("2026-11-10T12:00", "133 ug/d"),
        {"at": "2026-11-11T09:00", "kind": "it-stable"},
    ]
    patient = adult(origin="cerebral", pump={"programmable": False, "reservoir_ml": 20})
    answer = _limits(patient, history, "2026-11-11T10:00")
    it = answer["intrathecal"]
    assert it["phase"] == "maintenance" and it["rule"] == "IT-CHRONIC-STEP"
    assert it["largest"] == "159 ug/d" and it["smallest_without_warning"] == "107 ug/d"
    assert it["usual_increase_from"] == "140 ug/d"  # 5 % of 133 µg/day, rounded up
    assert it["earliest_increase"] == "2026-11-12T12:00+01:00"


def test_an_oral_dose_may_rise_15_mg_three_calendar_days_after_the_last_change() -> None:
    answer = _limits(adult(), [oral("2026-03-26T08:00", "10 mg")], "2026-03-27T08:00")
    assert answer["oral"] == {
        "daily_dose": "30 mg/d",
        "largest": "45 mg/d",
        "maximum": "100 mg/d",
        "earliest_increase": "2026-03-29T08:00+02:00",  # calendar days across the clock change
        "rule": "PO-TITRATION",
    }


def test_an_outpatient_oral_dose_stops_at_100_mg_an_inpatient_does_not() -> None:
    out = _limits(adult(), [oral("2026-11-01T08:00", "30 mg")], "2026-11-10T08:00")
    inside = _limits(
        adult(setting="inpatient"), [oral("2026-11-01T08:00", "30 mg")], "2026-11-10T08:00"
    )
    assert out["oral"]["largest"] == "100 mg/d" and out["oral"]["rule"] == "PO-MAX"
    assert inside["oral"]["largest"] == "105 mg/d"


def test_a_child_under_8_stops_at_40_mg_a_day_and_waits_a_week() -> None:
    child = {"age_years": 6, "diagnosis": "cerebral-palsy", "weight_kg": 20}
    answer = _limits(child, [oral("2026-11-01T08:00", "5 mg")], "2026-11-02T08:00")
    assert answer["oral"]["largest"] == "40 mg/d" and answer["oral"]["rule"] == "SUP-PO-PAED"
    assert answer["oral"]["earliest_increase"] == "2026-11-08T08:00+01:00"


INFUSION_RULES = ("IT-TITR-STEP", "IT-CHRONIC-STEP", "IT-TITR-HOLD24", "IT-TITR-INTERVAL")


@settings(max_examples=120, deadline=None)
@given(
    daily=st.integers(20, 900),
    origin=st.sampled_from([None, "spinal", "cerebral"]),
    stable=st.booleans(),
    programmable=st.sampled_from([True, False, None]),
    changed_after=st.integers(0, 60 * 72),
    asked_after=st.integers(0, 60 * 96),
)
def test_the_largest_dose_at_the_earliest_time_passes_and_one_step_more_fails(
    daily: int,
    origin: str | None,
    stable: bool,
    programmable: bool | None,
    changed_after: int,
    asked_after: int,
) -> None:
    start = datetime(2026, 11, 5, 12, 0, tzinfo=UTC_PLUS_1)
    change = start + timedelta(minutes=changed_after)
    history: list[dict[str, Any]] = [
        tdose("2026-11-01T09:00+01:00", "50 ug", True, 6),
        infusion(start.isoformat(), "100 ug/d"),
    ]
    if changed_after:
        history.append(infusion(change.isoformat(), f"{daily} ug/d"))
    if stable:
        history.append({"at": (change + timedelta(minutes=1)).isoformat(), "kind": "it-stable"})
    pump: dict[str, Any] = {"reservoir_ml": 20}
    if programmable is not None:
        pump["programmable"] = programmable
    patient = adult(pump=pump, **({"origin": origin} if origin else {}))
    asked = change + timedelta(minutes=asked_after + 2)
    case = parse_case(
        {"patient": patient, "history": history, "proposal": refill(asked.isoformat())}
    )
    limits = change_limits(case.patient, case.history, PACK, asked, BERLIN).intrathecal
    assert limits is not None
    when = max(limits.earliest_increase.astimezone(UTC_PLUS_1), asked).isoformat()
    before_when = (limits.earliest_increase - timedelta(minutes=1)).astimezone(UTC_PLUS_1)

    def judged(dose: str, at: str) -> list[tuple[str, str]]:
        findings = run(patient, history, infusion(at, dose))
        return [(f.rule, f.severity.value) for f in findings if f.rule in INFUSION_RULES]

    largest = limits.largest.in_("ug/d")
    serious = ("error", "critical")
    assert not [r for r in judged(f"{largest} ug/d", when) if r[1] in serious]
    assert (limits.rule, "error") in judged(f"{largest + 1} ug/d", when)
    if largest > limits.daily_dose.in_("ug/d") and before_when > asked:
        timing = [
            r for r in judged(f"{largest} ug/d", before_when.isoformat()) if r[0] != limits.rule
        ]
        assert any(
            rule in ("IT-TITR-HOLD24", "IT-TITR-INTERVAL") and sev != "info" for rule, sev in timing
        )


@settings(max_examples=80, deadline=None)
@given(
    tablets=st.integers(1, 11),
    inpatient=st.booleans(),
    asked_after=st.integers(0, 60 * 24 * 5),
)
def test_the_largest_oral_dose_at_the_earliest_time_passes_the_oral_pace_and_maximum(
    tablets: int, inpatient: bool, asked_after: int
) -> None:
    """A day of 3 x (tablets x 2.5 mg); the largest next dose given once passes PO-TITRATION and
    PO-MAX at the earliest time; 1 mg/day more (or a minute sooner) is refused by one of them."""
    start = datetime(2026, 3, 26, 8, 0, tzinfo=UTC_PLUS_1)
    history = [oral(start.isoformat(), f"{tablets * 25 / 10} mg")]
    patient = adult(setting="inpatient" if inpatient else "outpatient")
    asked = start + timedelta(minutes=asked_after + 1)
    case = parse_case(
        {"patient": patient, "history": history, "proposal": refill(asked.isoformat())}
    )
    limits = change_limits(parse_patient(patient), case.history, PACK, asked, UTC_PLUS_1).oral
    assert limits is not None
    when = max(limits.earliest_increase, asked)
    largest = limits.largest.in_("mg/d")

    def judged(daily: Any, at: datetime) -> list[tuple[str, str]]:
        dose = q(f"{float(daily)} mg").code()
        findings = run(patient, history, oral(at.isoformat(), dose, 1))
        return [
            (f.rule, f.severity.value) for f in findings if f.rule in ("PO-TITRATION", "PO-MAX")
        ]

    assert judged(largest, when) == []
    assert judged(largest + 1, when) != []
    if when == limits.earliest_increase and largest > limits.daily_dose.in_("mg/d"):
        assert ("PO-TITRATION", "warning") in judged(largest, when - timedelta(minutes=1))


def test_the_usual_increase_starts_at_the_low_end_of_the_phases_range_for_the_origin() -> None:
    """IT-TITR-STEP's cerebral range starts at 5 %, IT-CHRONIC-STEP's spinal at 10 %."""
    titrating = [
        tdose("2026-11-01T09:00", "50 ug", True, 6),
        infusion("2026-11-05T12:00", "200 ug/d"),
    ]
    cerebral = _limits(adult(origin="cerebral", pump=PUMP), titrating, "2026-11-07T13:00")
    assert cerebral["intrathecal"]["usual_increase_from"] == "210 ug/d"
    assert cerebral["intrathecal"]["largest"] == "230 ug/d"  # at most 15 %
    stable = [*titrating, {"at": "2026-11-06T09:00", "kind": "it-stable"}]
    spinal = _limits(adult(origin="spinal", pump=PUMP), stable, "2026-11-07T13:00")
    assert spinal["intrathecal"]["usual_increase_from"] == "220 ug/d"
    assert spinal["intrathecal"]["largest"] == "260 ug/d"  # at most 30 %
