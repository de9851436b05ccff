"""Oral plans: the ladder, its variants for children, kidneys and the elderly, and tapers."""

from __future__ import annotations

from casebuild import adult, oral
from planbuild import days_from, kinds, make_plan
from posology.model import OralRegimen
from posology.units import parse_quantity


def dailies(p) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.event.daily_dose.text() for s in p.steps if isinstance(s.event, OralRegimen)]


def test_oral_ladder_15_30_45_60_on_days_1_4_7_10_then_a_6_week_review() -> None:
    p = make_plan(adult(), {"kind": "oral-titration", "target_daily_dose": "60 mg"})
    assert dailies(p) == ["15 mg/day", "30 mg/day", "45 mg/day", "60 mg/day"]
    assert days_from(p)[:4] == [0, 3, 6, 9]  # days 1, 4, 7 and 10
    assert kinds(p)[-1] == "review" and days_from(p)[-1] == 9 + 42  # SUP-PO-REVIEW, 6 weeks
    first = p.steps[0]
    assert first.event.times == ("08:00", "13:00", "18:00")  # PO-MEALS
    assert "during a meal with a little liquid" in first.instructions
    assert {"PO-START", "PO-TITRATION", "PO-MEALS"} <= set(first.rules)
    assert not [f for f in p.findings if f.severity.value in ("error", "critical")]


def test_oral_default_target_is_60_mg_po_usual() -> None:
    p = make_plan(adult(), {"kind": "oral-titration"})
    assert dailies(p)[-1] == "60 mg/day"


def test_oral_target_above_100_outpatient_is_refused_inpatient_warned() -> None:
    out = make_plan(adult(), {"kind": "oral-titration", "target_daily_dose": "120 mg"})
    assert not out.made and out.findings[0].rule == "PO-MAX"
    inpatient = make_plan(
        adult(setting="inpatient"),
        {"kind": "oral-titration", "target_daily_dose": "120 mg", "times_per_day": 4},
    )
    assert inpatient.made and dailies(inpatient)[-1] == "120 mg/day"
    assert any(f.rule == "PO-MAX" and f.severity.value == "warning" for f in inpatient.findings)


def test_po_frequent_keeps_daily_amounts_over_more_doses() -> None:
    p = make_plan(
        adult(), {"kind": "oral-titration", "target_daily_dose": "60 mg", "times_per_day": 4}
    )
    assert dailies(p) == ["15 mg/day", "30 mg/day", "45 mg/day", "60 mg/day"]
    assert [d.text() for d in p.steps[0].event.doses] == ["2.5 mg", "2.5 mg", "5 mg", "5 mg"]
    assert p.steps[0].event.times == ("08:00", "12:00", "16:00", "20:00")


def test_po_night_only_one_dose_at_night() -> None:
    p = make_plan(adult(), {"kind": "oral-titration", "night_only": True})
    assert dailies(p) == ["5 mg/day", "10 mg/day", "15 mg/day", "20 mg/day"]
    assert all(s.event.times == ("21:00",) for s in p.steps if isinstance(s.event, OralRegimen))
    assert "PO-NIGHT" in p.steps[0].rules


def test_po_pretask_doses_one_hour_before_each_task() -> None:
    p = make_plan(
        adult(),
        {
            "kind": "oral-titration",
            "pre_task_times": ["09:30", "15:00"],
            "target_daily_dose": "30 mg",
        },
    )
    assert p.steps[0].event.times == ("08:30", "14:00")
    assert dailies(p)[-1] == "30 mg/day"


def test_sup_po_elderly_and_cerebral_origin_get_the_slow_ladder() -> None:
    for patient in (adult(age_years=70), adult(diagnosis="stroke")):
        p = make_plan(patient, {"kind": "oral-titration", "target_daily_dose": "45 mg"})
        assert days_from(p)[:3] == [0, 7, 14]
        assert any(f.rule == "SUP-PO-ELDERLY" for f in p.findings)


def test_sup_po_paed_child_plan_is_weight_based_weekly_with_solution_under_33_kg() -> None:
    child = adult(age_years=7, diagnosis="cerebral-palsy", weight_kg=20)
    p = make_plan(child, {"kind": "oral-titration"})
    # 0.3 mg/kg/day = 6 mg/day, then +6 weekly, up to 0.75 mg/kg/day = 15 mg/day, in 4 doses
    assert dailies(p) == ["6 mg/day", "12 mg/day", "15 mg/day"]
    assert days_from(p)[:3] == [0, 7, 14]
    first = p.steps[0].event
    assert first.form == "solution" and first.strength == parse_quantity("1 mg/mL")
    assert len(first.doses) == 4
    assert "1.5 mL of 1 mg/mL oral solution" in p.steps[0].instructions
    no_weight = make_plan(
        adult(age_years=7, diagnosis="cerebral-palsy"), {"kind": "oral-titration"}
    )
    assert not no_weight.made and "weight_kg" in no_weight.findings[0].message
    too_high = make_plan(child, {"kind": "oral-titration", "target_daily_dose": "45 mg"})
    assert not too_high.made and too_high.findings[0].rule == "SUP-PO-PAED"


def test_sup_po_renal_plans_reduce_start_and_target() -> None:
    half = make_plan(
        adult(conditions=["renal-impairment"], creatinine_clearance_ml_min=40),
        {"kind": "oral-titration"},
    )
    assert dailies(half) == ["7.5 mg/day", "15 mg/day", "22.5 mg/day", "30 mg/day"]
    dialysis = make_plan(adult(conditions=["haemodialysis"]), {"kind": "oral-titration"})
    assert dailies(dialysis) == ["5 mg/day"]
    unknown = make_plan(adult(conditions=["renal-impairment"]), {"kind": "oral-titration"})
    assert not unknown.made and "creatinine_clearance_ml_min" in unknown.findings[0].message


def test_sup_po_strengths_tablet_doses_are_makeable() -> None:
    p = make_plan(adult(), {"kind": "oral-titration", "target_daily_dose": "50 mg"})
    half_of_smallest = parse_quantity("2.5 mg")  # a halved 5 mg tablet
    for step in p.steps:
        if isinstance(step.event, OralRegimen):
            part = half_of_smallest if step.event.strength is None else step.event.strength / 2
            assert all(d.ratio(part).denominator == 1 for d in step.event.doses)
    assert dailies(p)[-1] == "50 mg/day"
    assert not [f for f in p.findings if f.rule == "SUP-PO-STRENGTHS"]


def test_oral_titration_continues_from_the_current_regimen() -> None:
    history = [oral("2026-11-20T08:00", "10 mg")]
    p = make_plan(adult(), {"kind": "oral-titration", "target_daily_dose": "60 mg"}, history)
    assert dailies(p) == ["45 mg/day", "60 mg/day"]


def test_sup_po_taper_oral_taper_reduces_successively_over_one_to_two_weeks() -> None:
    history = [oral("2026-06-01T08:00", "20 mg")]
    p = make_plan(adult(), {"kind": "oral-taper"}, history)
    assert dailies(p) == ["45 mg/day", "30 mg/day", "15 mg/day"]
    assert kinds(p)[-1] == "oral-stop"
    assert 7 <= days_from(p)[-1] - days_from(p)[0] <= 14
    small = make_plan(adult(), {"kind": "oral-taper"}, [oral("2026-06-01T08:00", "2.5 mg", 2)])
    assert small.made and kinds(small)[-1] == "oral-stop"
    assert len([k for k in kinds(small) if k == "oral-regimen"]) >= 2
    nothing = make_plan(adult(), {"kind": "oral-taper"})
    assert not nothing.made
