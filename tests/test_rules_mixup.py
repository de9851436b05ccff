"""SUP-UNIT-MIXUP: a dose in range only under another unit is named as a mix-up."""

from __future__ import annotations

from casebuild import adult, event, fired, infusion, it_patient, it_started, oral, run, tdose


def test_an_intrathecal_test_dose_of_50_mg_is_critical_and_names_50_ug() -> None:
    f = run(adult(), [], tdose("2026-12-01T09:00", "50 mg"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]
    assert f[0].rule == "SUP-UNIT-MIXUP"
    assert "50 µg" in f[0].message


def test_an_oral_dose_of_20_ug_is_an_error_naming_20_mg() -> None:
    f = run(adult(), [oral("2026-11-01T08:00", "15 mg")], oral("2026-11-10T08:00", "20 ug"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["error"]
    assert "20 mg" in next(x.message for x in f if x.rule == "SUP-UNIT-MIXUP")


def test_an_oral_dose_a_thousand_times_too_high_is_critical() -> None:
    f = run(adult(), [], oral("2026-12-01T08:00", "5000 mg"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]


def test_an_infusion_in_mg_a_day_a_thousand_times_too_high_is_critical() -> None:
    f = run(it_patient(), it_started("100 ug/d"), infusion("2026-11-07T12:00", "110 mg/d"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]
    legit = run(it_patient(), it_started("100 ug/d"), infusion("2026-11-07T12:00", "0.11 mg/d"))
    assert fired(legit, "SUP-UNIT-MIXUP") == []


def test_a_pump_concentration_in_mg_per_ml_a_thousand_times_too_high_is_critical() -> None:
    f = run(
        it_patient(),
        it_started(),
        event("2026-12-01T09:00", "pump-refill", concentration="500 mg/mL", volume_ml=20),
    )
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]


def test_doses_merely_out_of_range_are_not_called_mixups() -> None:
    f = run(
        it_patient(),
        [infusion("2026-01-01T09:00", "1900 ug/d")],
        infusion("2026-12-01T09:00", "5000 ug/d"),
    )
    assert fired(f, "SUP-UNIT-MIXUP") == []
    assert fired(f, "IT-HIGH-DOSE") == ["warning"]


def test_the_mixup_is_a_thousand_fold_not_a_hundred_or_ten_thousand_fold() -> None:
    """A test dose 1,000 times the usual (50 mg for 50 µg) is the mix-up; 100 times (5 mg) and
    10,000 times (500 mg) fit no range under the other unit either, so they are not named one."""
    assert fired(run(adult(), [], tdose("2026-12-01T09:00", "50 mg")), "SUP-UNIT-MIXUP") == [
        "critical"
    ]
    for dose in ("5 mg", "500 mg"):
        assert fired(run(adult(), [], tdose("2026-12-01T09:00", dose)), "SUP-UNIT-MIXUP") == []
    (low,) = [
        f
        for f in run(
            adult(), [oral("2026-11-01T08:00", "15 mg")], oral("2026-11-10T08:00", "20 ug")
        )
        if f.rule == "SUP-UNIT-MIXUP"
    ]
    assert "1,000 times below" in low.message
