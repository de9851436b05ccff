"""Intrathecal plans: screening ladder, titration, refills, flex delivery, holidays, tapers."""

from __future__ import annotations

from itertools import pairwise

from casebuild import adult, event, infusion, it_patient, oral, tdose
from planbuild import days_from, kinds, make_plan
from posology.model import ItInfusion, ItTestDose, PumpRefill
from posology.units import parse_quantity


def test_it_screening_ladder_50_75_100_with_volumes_1_1_5_2_ml() -> None:
    p = make_plan(adult(), {"kind": "it-screening"}, start="2026-12-01T09:00")
    doses = [s for s in p.steps if isinstance(s.event, ItTestDose)]
    assert [s.event.dose.text() for s in doses] == ["50 µg", "75 µg", "100 µg"]
    volumes = ["draw 1 mL", "draw 1.5 mL", "draw 2 mL"]
    assert all(v in s.instructions for v, s in zip(volumes, doses, strict=True))
    assert days_from(p, "2026-12-01T09:00")[:3] == [0, 1, 2]  # IT-SCREEN-STEP: 24 h apart
    assert all("over at least 1 min" in s.instructions for s in doses)  # IT-SCREEN-SLOW
    assert "resuscitative equipment" in doses[0].instructions  # IT-SCREEN-RESUS
    assert "IT-SCREEN-RESUS" in doses[0].rules and "IT-SCREEN-RESUS" not in doses[1].rules
    assert doses[1].condition == "only if the 50 µg test dose gave no significant response"
    assert kinds(p)[-1] == "review"


def test_it_screening_starts_at_25_ug_where_sup_it_screen_low_applies() -> None:
    relies = make_plan(adult(tone_supports_function=True), {"kind": "it-screening"})
    small_child = make_plan(
        adult(age_years=6, diagnosis="cerebral-palsy", weight_kg=18), {"kind": "it-screening"}
    )
    for p in (relies, small_child):
        doses = [s.event.dose.text() for s in p.steps if isinstance(s.event, ItTestDose)]
        assert doses == ["25 µg", "50 µg", "75 µg", "100 µg"]
        assert any(f.rule == "SUP-IT-SCREEN-LOW" for f in p.findings)


def test_it_screening_refused_with_infection_or_under_4() -> None:
    infected = make_plan(adult(conditions=["systemic-infection"]), {"kind": "it-screening"})
    assert not infected.made and infected.findings[0].rule == "IT-SCREEN-INFECTION"
    toddler = make_plan(
        adult(age_years=3, diagnosis="cerebral-palsy", weight_kg=14), {"kind": "it-screening"}
    )
    assert not toddler.made and toddler.findings[0].rule == "IT-PAED-UNDER4"


def test_it_screening_continues_or_concludes_from_the_history() -> None:
    going = make_plan(
        adult(),
        {"kind": "it-screening"},
        [tdose("2026-11-30T09:00", "50 ug", False)],
        start="2026-12-01T08:00",
    )
    doses = [s.event for s in going.steps if isinstance(s.event, ItTestDose)]
    assert [d.dose.text() for d in doses] == ["75 µg", "100 µg"]
    assert doses[0].at.isoformat() == "2026-12-01T09:00:00"  # 24 h after the last dose
    responder = make_plan(
        adult(), {"kind": "it-screening"}, [tdose("2026-11-30T09:00", "50 ug", True, 6)]
    )
    assert kinds(responder) == ["review"] and "responded" in responder.steps[0].instructions
    failed = make_plan(
        adult(), {"kind": "it-screening"}, [tdose("2026-11-30T09:00", "100 ug", False)]
    )
    assert not failed.made and failed.findings[0].rule == "IT-SCREEN-NONRESPONDER"
    pending = make_plan(adult(), {"kind": "it-screening"}, [tdose("2026-11-30T09:00", "50 ug")])
    assert not pending.made and "not recorded" in pending.findings[0].message


def test_it_titration_from_screening_start_hold_steps_and_rates() -> None:
    history = [tdose("2026-11-20T09:00", "50 ug", True, 6)]
    p = make_plan(it_patient(), {"kind": "it-titration"}, history, start="2026-12-01T10:00")
    infusions = [s for s in p.steps if isinstance(s.event, ItInfusion)]
    # IT-TITR-START: twice 50 µg; +30 % steps (spinal) every 24 h from the end of the first 24 h
    assert [s.event.daily_dose.text() for s in infusions] == [
        "100 µg/day",
        "130 µg/day",
        "169 µg/day",
        "219 µg/day",
        "284 µg/day",
        "300 µg/day",
    ]
    assert days_from(p, "2026-12-01T10:00")[kinds(p).index("it-infusion")] == 0
    hours = [(s.event.at - infusions[0].event.at).total_seconds() / 3600 for s in infusions]
    assert hours == [0, 24, 48, 72, 96, 120]
    assert "(4.2 µg/h)" in infusions[0].instructions  # SUP-IT-RATE: 100/24
    assert kinds(p)[:3] == ["pump-implant", "pump-refill", "it-infusion"]
    assert "it-stable" in kinds(p)


def test_it_titration_cerebral_non_programmable_prolonged_effect() -> None:
    history = [tdose("2026-11-20T09:00", "50 ug", True, 14)]
    patient = adult(diagnosis="stroke", pump={"programmable": False, "reservoir_ml": 20})
    p = make_plan(
        patient,
        {"kind": "it-titration", "target_daily_dose": "70 ug/d"},
        history,
        start="2026-12-01T10:00",
    )
    infusions = [s.event for s in p.steps if isinstance(s.event, ItInfusion)]
    # more than 12 h of effect: the unchanged 50 µg over 24 h; cerebral +15 %; every 48 h
    assert [i.daily_dose.text() for i in infusions] == [
        "50 µg/day",
        "57 µg/day",
        "65 µg/day",
        "70 µg/day",
    ]
    gaps = [(b.at - a.at).total_seconds() / 3600 for a, b in pairwise(infusions[1:])]
    assert gaps == [48, 48]


def test_it_titration_for_children_targets_the_median_and_weans_oral() -> None:
    child = adult(
        age_years=9,
        diagnosis="cerebral-palsy",
        weight_kg=28,
        pump={"programmable": True, "reservoir_ml": 20},
    )
    history = [oral("2026-10-01T08:00", "5 mg", 4), tdose("2026-11-20T09:00", "25 ug", True, 5)]
    p = make_plan(child, {"kind": "it-titration"}, history, start="2026-12-01T10:00")
    infusions = [s.event for s in p.steps if isinstance(s.event, ItInfusion)]
    assert infusions[-1].daily_dose == parse_quantity("100 ug/d")  # IT-PAED-MAINT median
    weans = [s for s in p.steps if s.event.kind in ("oral-regimen", "oral-stop")]
    assert [s.event.daily_dose.text() for s in weans[:-1]] == ["15 mg/day", "10 mg/day", "5 mg/day"]
    assert weans[-1].event.kind == "oral-stop"
    assert all("SUP-IT-ORAL-WEAN" in s.rules for s in weans)


def test_it_titration_needs_a_responder() -> None:
    p = make_plan(it_patient(), {"kind": "it-titration"})
    assert not p.made and p.findings[0].rule == "IT-SCREEN-REQUIRED"


def test_it_refill_20_ml_at_half_a_ml_a_day_lasts_40_days_alarm_at_36() -> None:
    history = [infusion("2026-03-01T09:00", "250 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = make_plan(
        it_patient(),
        {"kind": "it-refill", "concentration": "500 ug/mL"},
        history,
        start="2026-12-01T09:00",
    )
    refill = p.steps[0]
    assert isinstance(refill.event, PumpRefill) and refill.event.volume == parse_quantity("20 mL")
    assert "0.5 mL/day" in refill.instructions
    assert "empty after 40 days" in refill.instructions
    assert "alarm (2 mL) after 36 days" in refill.instructions
    when = {
        s.event.kind + ("-alarm" if s.event.kind == "review" else ""): s.event.at
        for s in p.steps[1:]
    }
    assert (when["review-alarm"] - refill.event.at).days == 36
    assert (when["review-alarm"] - when["pump-refill"]).days == 5  # booked 3-5 days before


def test_it_refill_from_the_last_refill_books_before_the_alarm_and_bridges_a_change() -> None:
    history = [
        infusion("2026-03-01T09:00", "250 ug/d"),
        event("2026-04-01T09:00", "it-stable"),
        event("2026-11-10T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
    ]
    p = make_plan(
        it_patient(),
        {"kind": "it-refill", "concentration": "2000 ug/mL"},
        history,
        start="2026-12-01T09:00",
    )
    # 9.5 mL left on 1 December, alarm at 2 mL 15 days later, refill booked 5 days before it
    assert p.steps[0].event.kind == "review" and "bridge bolus" in p.steps[0].event.note
    refill = next(s.event for s in p.steps if isinstance(s.event, PumpRefill))
    assert refill.at.isoformat() == "2026-12-11T09:00:00"
    assert any(f.rule == "SUP-IT-BRIDGE" for f in p.findings)


def test_it_refill_never_beyond_180_days() -> None:
    history = [infusion("2026-03-01T09:00", "20 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = make_plan(
        adult(pump={"programmable": True, "reservoir_ml": 40}),
        {"kind": "it-refill", "concentration": "2000 ug/mL"},
        history,
        start="2026-12-01T09:00",
    )
    refills = [s.event for s in p.steps if isinstance(s.event, PumpRefill)]
    assert (refills[1].at - refills[0].at).days == 180


def test_it_refill_chooses_the_concentration_when_none_is_given() -> None:
    low = make_plan(it_patient(), {"kind": "it-refill"}, [infusion("2026-03-01T09:00", "200 ug/d")])
    high = make_plan(
        it_patient(), {"kind": "it-refill"}, [infusion("2026-03-01T09:00", "900 ug/d")]
    )
    assert low.steps[0].event.concentration == parse_quantity("500 ug/mL")
    assert high.steps[0].event.concentration == parse_quantity("2000 ug/mL")


def test_it_flex_raises_the_night_rate_by_20_percent_from_2_h_before_onset() -> None:
    history = [infusion("2026-03-01T09:00", "480 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = make_plan(
        it_patient(), {"kind": "it-flex", "night_onset": "22:00"}, history, start="2026-12-01T09:00"
    )
    step = p.steps[0].event
    assert [(s.start, s.daily_rate.text()) for s in step.schedule] == [
        ("07:00", "480 µg/day"),
        ("20:00", "576 µg/day"),
    ]
    assert step.daily_dose == parse_quantity("524 ug/d")  # 13 h at 480 and 11 h at 576
    assert "New daily total: 524 µg/day" in p.steps[0].instructions


def test_it_flex_refused_before_stable_or_without_a_programmable_pump() -> None:
    history = [infusion("2026-03-01T09:00", "480 ug/d")]
    early = make_plan(it_patient(), {"kind": "it-flex", "night_onset": "22:00"}, history)
    assert not early.made and early.findings[0].rule == "IT-MODE-COMPLEX"
    fixed = make_plan(
        adult(pump={"programmable": False}),
        {"kind": "it-flex", "night_onset": "22:00"},
        [*history, event("2026-04-01T09:00", "it-stable")],
    )
    assert not fixed.made and "programmable" in fixed.findings[0].message


def test_it_tolerance_holiday_tapers_switches_and_resumes_at_the_first_dose() -> None:
    history = [
        infusion("2024-01-10T09:00", "150 ug/d"),
        infusion("2024-03-01T09:00", "400 ug/d"),
        event("2024-04-01T09:00", "it-stable"),
        infusion("2026-06-01T09:00", "900 ug/d"),
    ]
    p = make_plan(it_patient(), {"kind": "it-tolerance-holiday"}, history, start="2026-12-01T09:00")
    k = kinds(p)
    stop = k.index("it-stop")
    assert all(x == "it-infusion" for x in k[:stop]) and stop >= 2
    assert days_from(p, "2026-12-01T09:00")[stop] >= 14  # IT-TOLERANCE: over 2 to 4 weeks
    switch = p.steps[stop + 1]
    assert switch.event.kind == "review" and "morphine" in switch.event.note
    resume = p.steps[-1].event
    assert isinstance(resume, ItInfusion) and resume.daily_dose == parse_quantity("150 ug/d")
    assert (resume.at - p.steps[stop].event.at).days == 14  # resumption planned 14 days on


def test_it_taper_lists_withdrawal_signs_and_never_stops_abruptly() -> None:
    history = [infusion("2025-01-10T09:00", "300 ug/d"), event("2025-02-10T09:00", "it-stable")]
    p = make_plan(it_patient(), {"kind": "it-taper"}, history, start="2026-12-01T09:00")
    reductions = [s.event.daily_dose for s in p.steps if isinstance(s.event, ItInfusion)]
    assert len(reductions) >= 2 and reductions == sorted(reductions, reverse=True)
    assert reductions[0] == parse_quantity("240 ug/d")
    assert kinds(p)[-1] == "it-stop"
    assert "pruritus" in p.steps[-1].instructions
    assert any(f.rule == "SUP-IT-WITHDRAWAL" for f in p.findings)
    assert not any(f.rule == "STOP-GRADUAL" for f in p.findings)


def test_whole_patient_notes_come_with_their_rule_and_quote() -> None:
    patient = adult(sex="female", age_years=34, conditions=["epilepsy"], breastfeeding=True)
    p = make_plan(patient, {"kind": "oral-titration"})
    rules = {f.rule for f in p.findings}
    assert {"SUP-CAUTION", "SUP-PREGNANCY", "SUP-LACTATION"} <= rules
    assert all(f.citation.quote for f in p.findings)
