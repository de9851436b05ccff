"""Intrathecal titration and maintenance: start, hold, interval, steps, ranges, patterns."""

from __future__ import annotations

from casebuild import adult, event, fired, infusion, it_patient, it_started, run, tdose


def test_it_titr_start_is_twice_the_responding_bolus() -> None:
    screened = [
        tdose("2026-11-01T09:00", "25 ug", False),
        tdose("2026-11-02T09:00", "50 ug", True, 6),
    ]
    assert (
        fired(
            run(it_patient(), screened, infusion("2026-11-10T09:00", "100 ug/d")), "IT-TITR-START"
        )
        == []
    )
    assert fired(
        run(it_patient(), screened, infusion("2026-11-10T09:00", "50 ug/d")), "IT-TITR-START"
    ) == ["warning"]


def test_it_titr_start_is_the_unchanged_dose_after_an_effect_over_12_h() -> None:
    long = [tdose("2026-11-01T09:00", "50 ug", True, 13)]
    exactly_12 = [tdose("2026-11-01T09:00", "50 ug", True, 12)]
    assert (
        fired(run(it_patient(), long, infusion("2026-11-10T09:00", "50 ug/d")), "IT-TITR-START")
        == []
    )
    assert fired(
        run(it_patient(), long, infusion("2026-11-10T09:00", "100 ug/d")), "IT-TITR-START"
    ) == ["warning"]
    assert (
        fired(
            run(it_patient(), exactly_12, infusion("2026-11-10T09:00", "100 ug/d")), "IT-TITR-START"
        )
        == []
    )


def test_it_titr_hold24_no_increase_in_the_first_24_hours() -> None:
    history = it_started()  # started 2026-11-05T12:00
    assert fired(
        run(it_patient(), history, infusion("2026-11-06T11:59", "110 ug/d")), "IT-TITR-HOLD24"
    ) == ["error"]
    assert (
        fired(
            run(it_patient(), history, infusion("2026-11-06T12:00", "110 ug/d")), "IT-TITR-HOLD24"
        )
        == []
    )
    # a reduction is not an increase
    assert (
        fired(run(it_patient(), history, infusion("2026-11-05T18:00", "90 ug/d")), "IT-TITR-HOLD24")
        == []
    )


def test_it_titr_interval_24_h_programmable_error_48_h_otherwise_warning() -> None:
    history = [*it_started(), infusion("2026-11-07T12:00", "110 ug/d")]
    prog = it_patient()
    fixed = adult(pump={"programmable": False, "reservoir_ml": 20})
    unknown = adult()
    assert (
        fired(run(prog, history, infusion("2026-11-08T12:00", "120 ug/d")), "IT-TITR-INTERVAL")
        == []
    )
    assert fired(
        run(prog, history, infusion("2026-11-08T11:00", "120 ug/d")), "IT-TITR-INTERVAL"
    ) == ["error"]
    assert fired(
        run(fixed, history, infusion("2026-11-08T12:00", "120 ug/d")), "IT-TITR-INTERVAL"
    ) == ["warning"]
    assert (
        fired(run(fixed, history, infusion("2026-11-09T12:00", "120 ug/d")), "IT-TITR-INTERVAL")
        == []
    )
    assert fired(
        run(unknown, history, infusion("2026-11-09T12:00", "120 ug/d")), "IT-TITR-INTERVAL"
    ) == ["warning"]
    assert fired(
        run(unknown, history, infusion("2026-11-08T12:00", "120 ug/d")), "IT-TITR-INTERVAL"
    ) == ["warning", "warning"]


def test_it_titr_step_spinal_30_percent_cerebral_15_percent() -> None:
    history = it_started("100 ug/d")
    spinal, cerebral = it_patient(), it_patient(diagnosis="stroke")
    assert (
        fired(run(spinal, history, infusion("2026-11-07T12:00", "130 ug/d")), "IT-TITR-STEP") == []
    )
    assert fired(
        run(spinal, history, infusion("2026-11-07T12:00", "131 ug/d")), "IT-TITR-STEP"
    ) == ["error"]
    assert (
        fired(run(cerebral, history, infusion("2026-11-07T12:00", "115 ug/d")), "IT-TITR-STEP")
        == []
    )
    assert fired(
        run(cerebral, history, infusion("2026-11-07T12:00", "116 ug/d")), "IT-TITR-STEP"
    ) == ["error"]
    # below the range's minimum is allowed: smaller steps are safer
    assert (
        fired(run(spinal, history, infusion("2026-11-07T12:00", "102 ug/d")), "IT-TITR-STEP") == []
    )


def test_it_chronic_step_applies_after_it_stable() -> None:
    stable = [*it_started("200 ug/d"), event("2026-11-20T09:00", "it-stable")]
    spinal, cerebral = it_patient(), it_patient(diagnosis="cerebral-palsy")
    assert (
        fired(run(spinal, stable, infusion("2026-11-25T09:00", "260 ug/d")), "IT-CHRONIC-STEP")
        == []
    )
    assert fired(
        run(spinal, stable, infusion("2026-11-25T09:00", "261 ug/d")), "IT-CHRONIC-STEP"
    ) == ["error"]
    f = run(
        cerebral, stable, infusion("2026-11-25T09:00", "240 ug/d")
    )  # +20 %: cerebral maintenance allows it
    assert fired(f, "IT-CHRONIC-STEP") == [] and fired(f, "IT-TITR-STEP") == []
    assert fired(
        run(cerebral, stable, infusion("2026-11-25T09:00", "241 ug/d")), "IT-CHRONIC-STEP"
    ) == ["error"]
    # the same +20 % during titration is beyond cerebral's 15 %
    titrating = run(cerebral, it_started("200 ug/d"), infusion("2026-11-25T09:00", "240 ug/d"))
    assert fired(titrating, "IT-TITR-STEP") == ["error"]


def test_it_titr_noeffect_warns_once_the_dose_has_doubled_during_titration() -> None:
    history = [
        *it_started("100 ug/d"),
        infusion("2026-11-10T12:00", "130 ug/d"),
        infusion("2026-11-12T12:00", "169 ug/d"),
        infusion("2026-11-14T12:00", "200 ug/d"),
    ]
    assert fired(
        run(it_patient(), history, infusion("2026-11-16T12:00", "220 ug/d")), "IT-TITR-NOEFFECT"
    ) == ["warning"]
    below = history[:-1]
    assert (
        fired(
            run(it_patient(), below, infusion("2026-11-16T12:00", "190 ug/d")), "IT-TITR-NOEFFECT"
        )
        == []
    )


def test_it_escalation_alert_rise_of_half_within_30_days_in_maintenance() -> None:
    base = [
        *it_started("400 ug/d"),
        event("2026-11-10T09:00", "it-stable"),
        infusion("2026-12-01T09:00", "500 ug/d"),
    ]
    assert fired(
        run(it_patient(), base, infusion("2026-12-10T09:00", "600 ug/d")), "IT-ESCALATION-ALERT"
    ) == ["warning"]
    assert (
        fired(
            run(it_patient(), base, infusion("2026-12-10T09:00", "590 ug/d")), "IT-ESCALATION-ALERT"
        )
        == []
    )
    # 19 days after the rise to 500, the 400 in force until then is still within the 30 days
    within = run(it_patient(), base, infusion("2026-12-20T09:00", "600 ug/d"))
    assert fired(within, "IT-ESCALATION-ALERT") == ["warning"]
    # 400 was last in force more than 30 days before: the window's lowest is 500
    late = run(it_patient(), base, infusion("2027-01-05T09:00", "600 ug/d"))
    assert fired(late, "IT-ESCALATION-ALERT") == []


def test_it_side_effect_reduce_more_than_20_percent_warns() -> None:
    history = it_started("200 ug/d")
    assert (
        fired(
            run(it_patient(), history, infusion("2026-11-07T12:00", "160 ug/d")),
            "IT-SIDE-EFFECT-REDUCE",
        )
        == []
    )
    assert fired(
        run(it_patient(), history, infusion("2026-11-07T12:00", "159 ug/d")),
        "IT-SIDE-EFFECT-REDUCE",
    ) == ["warning"]


def test_it_function_caution_on_increases_when_tone_supports_function() -> None:
    history = it_started("100 ug/d")
    f = run(
        it_patient(tone_supports_function=True), history, infusion("2026-11-07T12:00", "110 ug/d")
    )
    assert fired(f, "IT-FUNCTION-CAUTION") == ["info"]
    down = run(
        it_patient(tone_supports_function=True), history, infusion("2026-11-07T12:00", "90 ug/d")
    )
    assert fired(down, "IT-FUNCTION-CAUTION") == []


def test_it_daily_range_warns_outside_25_to_1400_unless_the_origin_range_covers_it() -> None:
    running = [infusion("2026-01-01T09:00", "1300 ug/d"), event("2026-02-01T09:00", "it-stable")]
    spinal = run(it_patient(), running, infusion("2026-12-01T09:00", "1500 ug/d"))
    cerebral = run(
        it_patient(diagnosis="stroke"), running, infusion("2026-12-01T09:00", "1401 ug/d")
    )
    assert fired(spinal, "IT-DAILY-RANGE") == ["info"]
    assert fired(cerebral, "IT-DAILY-RANGE") == ["warning"]
    assert (
        fired(
            run(it_patient(), running, infusion("2026-12-01T09:00", "1400 ug/d")), "IT-DAILY-RANGE"
        )
        == []
    )


def test_it_maint_ranges_by_origin() -> None:
    low = [infusion("2026-01-01T09:00", "30 ug/d"), event("2026-02-01T09:00", "it-stable")]
    high = [infusion("2026-01-01T09:00", "1900 ug/d"), event("2026-02-01T09:00", "it-stable")]
    assert (
        fired(run(it_patient(), low, infusion("2026-12-01T09:00", "12 ug/d")), "IT-MAINT-SPINAL")
        == []
    )
    assert fired(
        run(it_patient(), low, infusion("2026-12-01T09:00", "11 ug/d")), "IT-MAINT-SPINAL"
    ) == ["warning"]
    assert (
        fired(run(it_patient(), high, infusion("2026-12-01T09:00", "2003 ug/d")), "IT-MAINT-SPINAL")
        == []
    )
    assert fired(
        run(it_patient(), high, infusion("2026-12-01T09:00", "2004 ug/d")), "IT-MAINT-SPINAL"
    ) == ["warning"]
    stroke = it_patient(diagnosis="stroke")
    assert (
        fired(run(stroke, low, infusion("2026-12-01T09:00", "22 ug/d")), "IT-MAINT-CEREBRAL") == []
    )
    assert fired(
        run(stroke, low, infusion("2026-12-01T09:00", "21 ug/d")), "IT-MAINT-CEREBRAL"
    ) == ["warning"]
    assert fired(
        run(stroke, high, infusion("2026-12-01T09:00", "1401 ug/d")), "IT-MAINT-CEREBRAL"
    ) == ["warning"]


def test_it_high_dose_above_1000_ug_a_day_warns() -> None:
    running = [infusion("2026-01-01T09:00", "950 ug/d"), event("2026-02-01T09:00", "it-stable")]
    assert (
        fired(run(it_patient(), running, infusion("2026-12-01T09:00", "1000 ug/d")), "IT-HIGH-DOSE")
        == []
    )
    assert fired(
        run(it_patient(), running, infusion("2026-12-01T09:00", "1001 ug/d")), "IT-HIGH-DOSE"
    ) == ["warning"]


def test_it_paed_maint_25_to_200_in_the_first_year() -> None:
    child = it_patient(age_years=10, diagnosis="cerebral-palsy", weight_kg=30)
    history = [
        tdose("2026-01-01T09:00", "50 ug", True, 6),
        infusion("2026-01-10T09:00", "100 ug/d"),
        event("2026-02-01T09:00", "it-stable"),
        infusion("2026-06-01T09:00", "190 ug/d"),
    ]
    assert (
        fired(run(child, history, infusion("2026-07-01T09:00", "200 ug/d")), "IT-PAED-MAINT") == []
    )
    assert fired(
        run(child, history, infusion("2026-07-01T09:00", "210 ug/d")), "IT-PAED-MAINT"
    ) == ["warning"]
    after_a_year = run(child, history, infusion("2027-02-01T09:00", "210 ug/d"))
    assert fired(after_a_year, "IT-PAED-MAINT") == []
    assert fired(after_a_year, "IT-MAINT-CEREBRAL") == []  # adult ranges do not apply to a child


def test_it_mode_complex_needs_stable_patient_and_programmable_pump() -> None:
    stable = [*it_started("400 ug/d"), event("2026-11-20T09:00", "it-stable")]
    flex = infusion(
        "2026-12-01T09:00",
        "440 ug/d",
        schedule=[
            {"start": "07:00", "daily_rate": "400 ug/d"},
            {"start": "19:00", "daily_rate": "480 ug/d"},
        ],
    )
    assert fired(run(it_patient(), stable, flex), "IT-MODE-COMPLEX") == []
    assert fired(run(it_patient(), it_started("400 ug/d"), flex), "IT-MODE-COMPLEX") == ["warning"]
    fixed = adult(pump={"programmable": False})
    assert fired(run(fixed, stable, flex), "IT-MODE-COMPLEX") == ["warning"]


def test_it_tolerance_resumes_at_the_initial_continuous_dose() -> None:
    history = [
        *it_started("100 ug/d"),
        infusion("2026-11-20T12:00", "300 ug/d"),
        event("2026-12-01T09:00", "it-stable"),
        infusion("2027-01-01T09:00", "240 ug/d"),
        infusion("2027-01-10T09:00", "180 ug/d"),
        infusion("2027-01-18T09:00", "100 ug/d"),
        event("2027-01-25T09:00", "it-stop"),
    ]
    same = run(it_patient(), history, infusion("2027-02-20T09:00", "100 ug/d"))
    old_dose = run(it_patient(), history, infusion("2027-02-20T09:00", "300 ug/d"))
    assert fired(same, "IT-TOLERANCE") == []
    assert fired(old_dose, "IT-TOLERANCE") == ["warning"]
    assert "above" in next(f.message for f in old_dose if f.rule == "IT-TOLERANCE")


def test_it_implant_centre_infection_warns_at_implant() -> None:
    patient = it_patient(conditions=["systemic-infection"])
    f = run(
        patient,
        [tdose("2026-11-01T09:00", "50 ug", True, 6)],
        event("2026-11-05T08:00", "pump-implant"),
    )
    assert fired(f, "IT-IMPLANT-CENTRE") == ["warning"]


def test_it_paed_maint_judges_a_childs_first_year_by_its_own_ages_range_and_first_year() -> None:
    """IT-PAED-MAINT: 25 to 200 µg/day for ages 4 to <18 in the first year of the infusion."""
    from casebuild import adult as person

    def paed(age: int, daily: str, at: str = "2026-12-01T09:00") -> list[str]:
        patient = person(age_years=age, diagnosis="cerebral-palsy", weight_kg=40)
        history = [infusion("2026-01-15T09:00", "100 ug/d")]
        return fired(run(patient, history, infusion(at, daily)), "IT-PAED-MAINT")

    assert paed(10, "200 ug/d") == paed(10, "25 ug/d") == []
    assert paed(10, "210 ug/d") == paed(10, "20 ug/d") == ["warning"]
    assert paed(17, "210 ug/d") == ["warning"]  # still a child at 17
    assert paed(18, "210 ug/d") == []  # an adult: the adult ranges apply
    assert paed(5, "210 ug/d") == ["warning"]
    assert paed(3, "210 ug/d") == []  # under 4: IT-PAED-UNDER4's, not a maintenance range
    # 10.5 months after the first infusion is still its first year; 13 months is not
    assert paed(10, "210 ug/d", at="2026-12-01T09:00") == ["warning"]
    assert paed(10, "210 ug/d", at="2027-02-15T09:00") == []


def test_it_maint_cerebral_range_ends_at_1400_ug_a_day() -> None:
    cerebral = it_patient(diagnosis="stroke")
    history = [infusion("2026-01-01T09:00", "1000 ug/d"), event("2026-02-01T09:00", "it-stable")]
    at_1000 = run(cerebral, history, infusion("2026-12-01T09:00", "1000 ug/d"))
    at_1400 = run(cerebral, history, infusion("2026-12-10T09:00", "1400 ug/d"))
    assert fired(at_1000, "IT-MAINT-CEREBRAL") == fired(at_1400, "IT-MAINT-CEREBRAL") == []
    above = run(
        cerebral,
        [*history, infusion("2026-12-01T09:00", "1300 ug/d")],
        infusion("2026-12-10T09:00", "1450 ug/d"),
    )
    assert fired(above, "IT-MAINT-CEREBRAL") == ["warning"]
