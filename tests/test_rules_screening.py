"""Intrathecal screening: who may be screened, the test-dose ladder, responders, monitoring."""

from __future__ import annotations

from casebuild import adult, event, fired, infusion, it_patient, run, tdose
from posology.model import parse_event
from posology.rules.limits import screening_status


def test_it_screen_start_25_or_50_ug_first() -> None:
    for dose, expected in (("25 ug", []), ("50 ug", []), ("0.05 mg", []), ("75 ug", ["warning"])):
        assert (
            fired(run(adult(), [], tdose("2026-12-01T09:00", dose)), "IT-SCREEN-START") == expected
        )


def test_it_screen_resus_info_on_every_first_test_dose_only() -> None:
    first = run(adult(), [], tdose("2026-12-01T09:00", "50 ug"))
    assert fired(first, "IT-SCREEN-RESUS") == ["info"]
    assert "25 µg" in next(f.message for f in first if f.rule == "IT-SCREEN-RESUS")
    second = run(
        adult(), [tdose("2026-12-01T09:00", "50 ug", False)], tdose("2026-12-02T09:00", "75 ug")
    )
    assert fired(second, "IT-SCREEN-RESUS") == []


def test_it_screen_step_25_ug_at_least_24_h_apart() -> None:
    history = [tdose("2026-12-01T09:00", "50 ug", False)]
    assert fired(run(adult(), history, tdose("2026-12-02T09:00", "75 ug")), "IT-SCREEN-STEP") == []
    assert fired(run(adult(), history, tdose("2026-12-02T08:59", "75 ug")), "IT-SCREEN-STEP") == [
        "error"
    ]
    assert fired(run(adult(), history, tdose("2026-12-02T09:00", "100 ug")), "IT-SCREEN-STEP") == [
        "error"
    ]
    assert fired(run(adult(), history, tdose("2026-12-02T09:00", "50 ug")), "IT-SCREEN-STEP") == []


def test_it_screen_step_needs_the_previous_response() -> None:
    history = [tdose("2026-12-01T09:00", "50 ug")]
    f = run(adult(), history, tdose("2026-12-02T09:00", "75 ug"))
    assert fired(f, "IT-SCREEN-STEP") == ["warning"]


def test_a_new_screening_episode_starts_after_an_infusion_stops() -> None:
    history = [
        tdose("2025-01-01T09:00", "50 ug", True, 6),
        infusion("2025-01-10T09:00", "100 ug/d"),
        event("2025-03-01T09:00", "it-stop"),
    ]
    f = run(it_patient(), history, tdose("2026-12-01T09:00", "25 ug"))
    assert fired(f, "IT-SCREEN-RESUS") == ["info"] and fired(f, "IT-SCREEN-STEP") == []


def test_it_screen_infection_is_an_error() -> None:
    f = run(adult(conditions=["systemic-infection"]), [], tdose("2026-12-01T09:00", "50 ug"))
    assert fired(f, "IT-SCREEN-INFECTION") == ["error"]


def test_it_screen_nonresponder_no_test_dose_above_100_and_none_after_a_failed_100() -> None:
    history = [tdose("2026-12-01T09:00", "75 ug", False)]
    assert (
        fired(run(adult(), history, tdose("2026-12-02T09:00", "100 ug")), "IT-SCREEN-NONRESPONDER")
        == []
    )
    above = run(
        adult(), [tdose("2026-12-01T09:00", "100 ug", False)], tdose("2026-12-02T09:00", "125 ug")
    )
    assert sorted(fired(above, "IT-SCREEN-NONRESPONDER")) == ["error", "error"]
    again = run(
        adult(), [tdose("2026-12-01T09:00", "100 ug", False)], tdose("2026-12-02T09:00", "100 ug")
    )
    assert fired(again, "IT-SCREEN-NONRESPONDER") == ["error"]


def test_it_screen_nonresponder_may_not_start_an_infusion() -> None:
    history = [
        tdose("2026-12-01T09:00", "50 ug", False),
        tdose("2026-12-02T09:00", "75 ug", False),
        tdose("2026-12-03T09:00", "100 ug", False),
    ]
    f = run(it_patient(), history, infusion("2026-12-10T09:00", "200 ug/d"))
    assert fired(f, "IT-SCREEN-NONRESPONDER") == ["error"]
    assert fired(f, "IT-SCREEN-REQUIRED") == []


def test_it_screen_required_before_an_infusion_or_implant() -> None:
    nothing = run(it_patient(), [], infusion("2026-12-10T09:00", "100 ug/d"))
    assert fired(nothing, "IT-SCREEN-REQUIRED") == ["error"]
    no_effect_yet = run(
        it_patient(),
        [tdose("2026-12-01T09:00", "50 ug", False)],
        event("2026-12-10T09:00", "pump-implant"),
    )
    assert fired(no_effect_yet, "IT-SCREEN-REQUIRED") == ["error"]
    responder = run(
        it_patient(),
        [tdose("2026-12-01T09:00", "50 ug", True, 6)],
        infusion("2026-12-10T09:00", "100 ug/d"),
    )
    assert fired(responder, "IT-SCREEN-REQUIRED") == []
    # an infusion running when the history begins is taken as screened
    running = run(
        it_patient(),
        [infusion("2026-01-01T09:00", "300 ug/d")],
        infusion("2026-12-10T09:00", "320 ug/d"),
    )
    assert fired(running, "IT-SCREEN-REQUIRED") == []


def test_it_screen_responder_status_from_recorded_responses(pack) -> None:  # type: ignore[no-untyped-def]
    def status(*doses: dict) -> str:  # type: ignore[type-arg]
        events = [parse_event(d, "e") for d in doses]
        return screening_status(events, pack).state  # type: ignore[arg-type]

    assert status() == "none"
    assert status(tdose("2026-12-01T09:00", "50 ug")) == "pending"
    assert status(tdose("2026-12-01T09:00", "50 ug", False)) == "in-progress"
    assert (
        status(
            tdose("2026-12-01T09:00", "50 ug", False), tdose("2026-12-02T09:00", "75 ug", True, 5)
        )
        == "responder"
    )
    assert status(tdose("2026-12-01T09:00", "100 ug", False)) == "non-responder"
    assert status(tdose("2026-12-01T09:00", "100 ug")) == "pending"


def test_it_monitor_risk_warns_for_each_risk_group() -> None:
    for fields in (
        {"conditions": ["cardiopulmonary-disease"]},
        {"conditions": ["respiratory-muscle-weakness"]},
        {"medications": ["benzodiazepine"]},
        {"medications": ["opioid"]},
    ):
        f = run(adult(**fields), [], tdose("2026-12-01T09:00", "50 ug"))
        assert fired(f, "IT-MONITOR-RISK") == ["warning"], fields
    assert fired(run(adult(), [], tdose("2026-12-01T09:00", "50 ug")), "IT-MONITOR-RISK") == []


def test_it_paed_under4_is_an_error_on_every_intrathecal_dose() -> None:
    three = adult(age_years=3, diagnosis="cerebral-palsy", weight_kg=14)
    four = adult(age_years=4, diagnosis="cerebral-palsy", weight_kg=16)
    assert fired(run(three, [], tdose("2026-12-01T09:00", "25 ug")), "IT-PAED-UNDER4") == ["error"]
    assert fired(run(four, [], tdose("2026-12-01T09:00", "25 ug")), "IT-PAED-UNDER4") == []
    assert fired(run(three, [], event("2026-12-01T09:00", "pump-implant")), "IT-PAED-UNDER4") == [
        "error"
    ]


def test_it_taper_of_a_child_under_4_already_on_a_pump_is_not_withdrawn_as_an_error() -> None:
    """Regression: a child under 4 on an infusion could not be tapered (every infusion step was
    an IT-PAED-UNDER4 error, so the plan was withdrawn); lowering is the step away from the
    risk, raising still is an error."""
    three = adult(age_years=3, diagnosis="cerebral-palsy", weight_kg=14)
    running = [infusion("2026-11-01T09:00", "100 ug/d")]
    lower = run(three, running, infusion("2026-12-01T09:00", "80 ug/d"))
    same = run(three, running, infusion("2026-12-01T09:00", "100 ug/d"))
    higher = run(three, running, infusion("2026-12-01T09:00", "110 ug/d"))
    assert fired(lower, "IT-PAED-UNDER4") == ["warning"]
    assert fired(same, "IT-PAED-UNDER4") == ["warning"]
    assert fired(higher, "IT-PAED-UNDER4") == ["error"]
    assert fired(run(three, [], infusion("2026-12-01T09:00", "50 ug/d")), "IT-PAED-UNDER4") == [
        "error"
    ]
