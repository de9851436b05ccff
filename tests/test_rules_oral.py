"""Oral rules: the numbers of the page and of the supplementary facts, at their boundaries."""

from __future__ import annotations

from casebuild import adult, fired, it_started, oral, run


def test_po_daily_range_below_15_is_info_and_one_dose_above_100_over_3_warns() -> None:
    assert fired(run(adult(), [], oral("2026-12-01T08:00", "5 mg", 2)), "PO-DAILY-RANGE") == [
        "info"
    ]
    assert fired(run(adult(), [], oral("2026-12-01T08:00", "5 mg", 3)), "PO-DAILY-RANGE") == []
    history = [oral("2026-11-01T08:00", "30 mg")]
    at_ceiling = run(adult(), history, oral("2026-12-01T08:00", "33.333 mg"))
    above = run(adult(), history, oral("2026-12-01T08:00", "33.4 mg"))
    assert fired(at_ceiling, "PO-DAILY-RANGE") == []
    assert fired(above, "PO-DAILY-RANGE") == ["warning"]
    assert "33.333 mg" in next(f.message for f in above if f.rule == "PO-DAILY-RANGE")


def test_po_start_above_15_mg_a_day_warns() -> None:
    assert fired(run(adult(), [], oral("2026-12-01T08:00", "5 mg")), "PO-START") == []
    assert fired(run(adult(), [], oral("2026-12-01T08:00", "10 mg")), "PO-START") == ["warning"]
    assert fired(run(adult(), [], oral("2026-12-01T08:00", "5 mg", 4)), "PO-START") == ["warning"]


def test_po_titration_step_of_15_every_3_days_is_the_limit() -> None:
    history = [oral("2026-12-01T08:00", "5 mg")]
    assert fired(run(adult(), history, oral("2026-12-04T08:00", "10 mg")), "PO-TITRATION") == []
    assert fired(run(adult(), history, oral("2026-12-04T07:59", "10 mg")), "PO-TITRATION") == [
        "warning"
    ]
    assert fired(run(adult(), history, oral("2026-12-04T08:00", "12.5 mg")), "PO-TITRATION") == [
        "warning"
    ]
    # a change of clock times alone is not a change of dose: the 3 days run from the last change
    history.append(oral("2026-12-03T08:00", "5 mg", times=["07:00", "12:00", "19:00"]))
    assert fired(run(adult(), history, oral("2026-12-04T08:00", "10 mg")), "PO-TITRATION") == []


def test_po_titration_same_pace_above_60_mg() -> None:
    history = [oral("2026-11-01T08:00", "20 mg"), oral("2026-11-20T08:00", "25 mg")]
    assert fired(run(adult(), history, oral("2026-11-23T08:00", "30 mg")), "PO-TITRATION") == []
    assert fired(run(adult(), history, oral("2026-11-22T08:00", "30 mg")), "PO-TITRATION") == [
        "warning"
    ]
    assert fired(run(adult(), history, oral("2026-11-23T08:00", "31 mg")), "PO-TITRATION") == [
        "warning"
    ]


def test_po_usual_above_60_is_info() -> None:
    history = [oral("2026-11-01T08:00", "20 mg")]
    assert fired(run(adult(), history, oral("2026-11-10T08:00", "20 mg")), "PO-USUAL") == []
    assert fired(run(adult(), history, oral("2026-11-10T08:00", "25 mg")), "PO-USUAL") == ["info"]


def test_po_max_100_mg_outpatient_error_inpatient_warning() -> None:
    history = [oral("2026-11-01T08:00", "30 mg")]
    at_max = oral("2026-11-10T08:00", "25 mg", 4)
    above = oral("2026-11-10T08:00", "26 mg", 4)
    assert fired(run(adult(), history, at_max), "PO-MAX") == []
    assert fired(run(adult(), history, above), "PO-MAX") == ["error"]
    assert fired(run(adult(setting="inpatient"), history, above), "PO-MAX") == ["warning"]


def test_po_frequent_regimens_keep_the_same_daily_limits() -> None:
    history = [oral("2026-11-01T08:00", "20 mg")]
    six_a_day = run(adult(), history, oral("2026-11-10T08:00", "17 mg", 6))  # 102 mg/day
    assert fired(six_a_day, "PO-MAX") == ["error"]
    assert fired(six_a_day, "PO-DAILY-RANGE") == []


def test_sup_po_paed_maximum_is_40_under_8_and_60_from_8() -> None:
    history = [oral("2026-11-01T08:00", "7.5 mg", 4)]
    seven = adult(age_years=7, diagnosis="cerebral-palsy", weight_kg=30)
    eight = adult(age_years=8, diagnosis="cerebral-palsy", weight_kg=30)
    assert (
        fired(run(seven, history, oral("2026-11-10T08:00", "10 mg", 4)), "SUP-PO-PAED").count(
            "error"
        )
        == 0
    )
    assert "error" in fired(
        run(seven, history, oral("2026-11-10T08:00", "10.5 mg", 4)), "SUP-PO-PAED"
    )
    assert "error" not in fired(
        run(eight, history, oral("2026-11-10T08:00", "15 mg", 4)), "SUP-PO-PAED"
    )
    assert "error" in fired(
        run(eight, history, oral("2026-11-10T08:00", "15.5 mg", 4)), "SUP-PO-PAED"
    )


def test_sup_po_paed_weight_based_limits() -> None:
    child = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=20)
    # start: 0.3 mg/kg/day = 6 mg/day at 20 kg
    assert fired(run(child, [], oral("2026-12-01T08:00", "1.5 mg", 4)), "SUP-PO-PAED") == []
    assert fired(run(child, [], oral("2026-12-01T08:00", "2 mg", 4)), "SUP-PO-PAED") == ["warning"]
    # maintenance up to 2 mg/kg/day = 40 mg/day; one dose at most 0.5 mg/kg = 10 mg
    history = [oral("2026-11-01T08:00", "9 mg", 4)]
    assert fired(run(child, history, oral("2026-11-10T08:00", "10 mg", 4)), "SUP-PO-PAED") == []
    over = run(child, history, oral("2026-11-10T08:00", "10.5 mg", 4))
    assert sorted(fired(over, "SUP-PO-PAED")) == ["warning", "warning"]


def test_sup_po_paed_weekly_steps_and_tablets_under_33_kg() -> None:
    child = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=32)
    history = [oral("2026-11-01T08:00", "2.5 mg", 4, form="solution", strength="1 mg/mL")]
    week = oral("2026-11-08T08:00", "3.5 mg", 4, form="solution", strength="1 mg/mL")
    early = oral("2026-11-07T08:00", "3.5 mg", 4, form="solution", strength="1 mg/mL")
    assert fired(run(child, history, week), "SUP-PO-PAED") == []
    assert fired(run(child, history, early), "SUP-PO-PAED") == ["warning"]
    tablets = oral("2026-11-08T08:00", "2.5 mg", 4, form="tablet", strength="5 mg")
    assert fired(run(child, history, tablets), "SUP-PO-PAED") == ["warning"]
    heavier = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=33)
    assert fired(run(heavier, history, tablets), "SUP-PO-PAED") == []


def test_sup_po_paed_without_weight_says_what_is_missing() -> None:
    child = adult(age_years=10, diagnosis="cerebral-palsy")
    f = run(child, [], oral("2026-12-01T08:00", "2.5 mg", 4))
    assert fired(f, "SUP-PO-PAED") == ["warning"]
    assert "weight_kg" in next(x.message for x in f if x.rule == "SUP-PO-PAED")


def test_sup_po_renal_haemodialysis_above_5_mg_a_day_warns() -> None:
    patient = adult(conditions=["haemodialysis"])
    assert fired(run(patient, [], oral("2026-12-01T20:00", "5 mg", 1)), "SUP-PO-RENAL") == []
    assert fired(run(patient, [], oral("2026-12-01T20:00", "2.5 mg", 3)), "SUP-PO-RENAL") == [
        "warning"
    ]


def test_sup_po_renal_without_clearance_asks_for_it() -> None:
    f = run(adult(conditions=["renal-impairment"]), [], oral("2026-12-01T08:00", "5 mg"))
    assert fired(f, "SUP-PO-RENAL") == ["info"]
    assert "creatinine_clearance_ml_min" in next(x.message for x in f if x.rule == "SUP-PO-RENAL")


def test_sup_po_renal_crcl_bands_reduce_the_usual_target() -> None:
    history = [oral("2026-11-01T08:00", "10 mg")]

    def severities(clearance: int, dose: str) -> list[str]:
        patient = adult(conditions=["renal-impairment"], creatinine_clearance_ml_min=clearance)
        return fired(run(patient, history, oral("2026-11-10T08:00", dose)), "SUP-PO-RENAL-CRCL")

    # 1/3 off 60 = 40 mg/day for 50 < CrCl <= 80
    assert severities(80, "13 mg") == [] and severities(80, "14 mg") == ["warning"]
    assert severities(81, "25 mg") == []
    # 1/2 off = 30 mg/day for 30 <= CrCl <= 50 (50 is in the larger reduction's band)
    assert severities(50, "10 mg") == [] and severities(50, "11 mg") == ["warning"]
    assert severities(30, "11 mg") == ["warning"]
    # 2/3 off = 20 mg/day under 30
    assert severities(29, "6.5 mg") == [] and severities(29, "7 mg") == ["warning"]


def test_sup_po_strengths_solution_needs_its_strength_and_tablets_must_make_the_dose() -> None:
    solution = run(adult(), [], oral("2026-12-01T08:00", "5 mg", form="solution"))
    assert fired(solution, "SUP-PO-STRENGTHS") == ["warning"]
    odd = run(adult(), [], oral("2026-12-01T08:00", "5 mg", form="solution", strength="3 mg/mL"))
    assert fired(odd, "SUP-PO-STRENGTHS") == ["warning"]
    ok = run(adult(), [], oral("2026-12-01T08:00", "5 mg", form="solution", strength="1 mg/mL"))
    assert fired(ok, "SUP-PO-STRENGTHS") == []
    halves = run(adult(), [], oral("2026-12-01T08:00", "2.5 mg", form="tablet", strength="5 mg"))
    assert fired(halves, "SUP-PO-STRENGTHS") == []
    seven = run(adult(), [], oral("2026-12-01T08:00", "7 mg", form="tablet"))
    assert fired(seven, "SUP-PO-STRENGTHS") == ["warning"]
    no_such_tablet = run(
        adult(), [], oral("2026-12-01T08:00", "5 mg", form="tablet", strength="25 mg")
    )
    assert fired(no_such_tablet, "SUP-PO-STRENGTHS") == ["warning"]


def test_sup_it_oral_wean_steps_of_at_most_half_during_intrathecal_therapy() -> None:
    history = [oral("2026-10-01T08:00", "20 mg"), *it_started()]
    half = run(adult(pump={"programmable": True}), history, oral("2026-11-06T08:00", "10 mg"))
    more = run(adult(pump={"programmable": True}), history, oral("2026-11-06T08:00", "5 mg"))
    assert fired(half, "SUP-IT-ORAL-WEAN") == []
    assert fired(more, "SUP-IT-ORAL-WEAN") == ["warning"]
    without_it = run(adult(), history[:1], oral("2026-11-06T08:00", "5 mg"))
    assert fired(without_it, "SUP-IT-ORAL-WEAN") == []


def test_po_max_a_reduction_still_above_the_maximum_is_a_warning_not_an_error() -> None:
    history = [oral("2026-11-01T08:00", "40 mg")]
    f = run(adult(), history, oral("2026-11-10T08:00", "35 mg"))
    assert fired(f, "PO-MAX") == ["warning"]
    child = adult(age_years=6, diagnosis="cerebral-palsy", weight_kg=25)
    paed = run(
        child, [oral("2026-11-01T08:00", "15 mg", 4)], oral("2026-11-10T08:00", "12.5 mg", 4)
    )
    assert "error" not in fired(paed, "SUP-PO-PAED")
    assert "warning" in fired(paed, "SUP-PO-PAED")


def test_po_start_says_the_suggested_start_as_the_label_gives_it() -> None:
    """PO-START: a start above 15 mg/day is told the start as a regimen, 5 mg three times a day."""
    (finding,) = [
        f for f in run(adult(), [], oral("2026-12-01T08:00", "10 mg")) if f.rule == "PO-START"
    ]
    assert finding.message == (
        "Oral baclofen starts at 30 mg/day; the suggested start is 15 mg/day (5 mg 3 times a day)."
    )


def test_sup_po_paed_single_dose_below_the_childrens_usual_per_kg_range_is_said() -> None:
    """SUP-PO-PAED: per administration 0.075 to 0.5 mg/kg; at 20 kg 1.5 mg is the smallest."""
    child = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=20)
    history = [oral("2026-11-01T08:00", "2 mg", 4, form="solution", strength="1 mg/mL")]

    def said(dose: str) -> list[str]:
        proposal = oral("2026-11-20T08:00", dose, 4, form="solution", strength="1 mg/mL")
        found = run(child, history, proposal)
        return [f.severity.value for f in found if f.rule == "SUP-PO-PAED" and "below" in f.message]

    assert said("1.5 mg") == []
    assert said("1 mg") == ["info"]


RENAL_BANDS = [
    (80, 40),  # 1/3 off the usual 60 mg/day from >50 to 80 mL/min
    (60, 40),
    (51, 40),
    (50, 30),  # 1/2 from 30 to 50: the shared edge takes the larger reduction
    (40, 30),
    (30, 30),
    (29, 20),  # 2/3 below 30
    (0.5, 20),
]


def test_sup_po_renal_crcl_reduces_the_usual_target_by_the_clearance_band() -> None:
    for clearance, target in RENAL_BANDS:
        patient = adult(creatinine_clearance_ml_min=clearance)
        at_target = run(patient, [], oral("2026-12-01T08:00", f"{target} mg", 1))
        above = run(patient, [], oral("2026-12-01T08:00", f"{target + 1} mg", 1))
        assert fired(at_target, "SUP-PO-RENAL-CRCL") == [], clearance
        (finding,) = [f for f in above if f.rule == "SUP-PO-RENAL-CRCL"]
        assert f"to {target} mg/day" in finding.message, clearance


def test_sup_po_renal_crcl_leaves_a_clearance_above_80_unreduced() -> None:
    found = run(adult(creatinine_clearance_ml_min=81), [], oral("2026-12-01T08:00", "30 mg"))
    assert fired(found, "SUP-PO-RENAL-CRCL") == []


def test_sup_po_strengths_names_the_marketed_tablets_of_each_market() -> None:
    (finding,) = [
        f
        for f in run(
            adult(), [], oral("2026-12-01T08:00", "7.5 mg", form="tablet", strength="7.5 mg")
        )
        if f.rule == "SUP-PO-STRENGTHS"
    ]
    assert finding.message == (
        "No 7.5 mg tablet is on the market (UK: 5 mg, 10 mg; US: 5 mg, 10 mg, 15 mg, 20 mg)."
    )


def test_sup_po_strengths_names_the_marketed_solutions_of_each_market() -> None:
    (finding,) = [
        f
        for f in run(
            adult(), [], oral("2026-12-01T08:00", "5 mg", form="solution", strength="4 mg/mL")
        )
        if f.rule == "SUP-PO-STRENGTHS"
    ]
    assert finding.message.startswith("No oral solution of 4 mg/mL is on the market")
    assert "(UK: 1 mg/mL; US: 5 mg/mL, 2 mg/mL)" in finding.message
