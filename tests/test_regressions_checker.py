"""Regression tests of the checker, each named after what broke (issue 9, checker part)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from casebuild import adult, event, fired, infusion, it_patient, it_started, oral, run
from posology.knowledge import Pack, load_pack
from posology.knowledge.schema import Rule
from posology.model import Finding


def _message(findings: tuple[Finding, ...], rule: str) -> str:
    return next(f.message for f in findings if f.rule == rule)


def _refill(at: str, conc: str, volume: float = 20) -> dict[str, object]:
    return event(at, "pump-refill", concentration=conc, volume_ml=volume)


# -- 1. a restart after an interruption is not a new start ---------------------------------

ORAL_60 = [oral("2026-11-01T08:00", "20 mg"), event("2026-12-01T08:00", "oral-stop")]


def test_oral_restart_hours_after_an_abrupt_stop_is_not_told_the_starting_dose() -> None:
    restart = run(adult(), ORAL_60, oral("2026-12-01T20:00", "20 mg"))
    assert fired(restart, "PO-START") == ["info"]
    assert "60 mg/day" in _message(restart, "PO-START")
    assert "12 h after" in _message(restart, "PO-START")
    assert "15 mg/day" not in _message(restart, "PO-START")
    above = run(adult(), ORAL_60, oral("2026-12-02T08:00", "25 mg"))
    assert fired(above, "PO-START") == ["warning"]
    assert "above the 60 mg/day taken before the stop" in _message(above, "PO-START")
    # three calendar days is still a restart; four is a new start, told the starting dose
    assert fired(run(adult(), ORAL_60, oral("2026-12-04T08:00", "20 mg")), "PO-START") == ["info"]
    new_course = run(adult(), ORAL_60, oral("2026-12-04T08:01", "20 mg"))
    assert fired(new_course, "PO-START") == ["warning"]
    assert "the suggested start is 15 mg/day" in _message(new_course, "PO-START")


def test_child_oral_restart_after_a_short_stop_is_not_told_the_weight_based_start() -> None:
    child = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=30)
    history = [oral("2026-11-01T08:00", "5 mg", 4), event("2026-12-01T08:00", "oral-stop")]
    restart = run(child, history, oral("2026-12-01T14:00", "5 mg", 4))
    assert "start_above" not in [f.message for f in restart]
    assert not [f for f in restart if f.rule == "SUP-PO-PAED" and "oral start" in f.message]
    assert fired(restart, "PO-START") == ["info"]


PUMP_300 = [*it_started("100 ug/d"), infusion("2026-11-20T12:00", "300 ug/d")]
STOPPED = [*PUMP_300, event("2026-12-01T09:00", "it-stop")]


def test_pump_restart_hours_after_an_it_stop_is_not_cut_to_the_initial_infusion_dose() -> None:
    restored = run(it_patient(), STOPPED, infusion("2026-12-01T15:00", "300 ug/d"))
    assert fired(restored, "IT-TOLERANCE") == ["info"]
    assert "judged against the 300 µg/day in force before it" in _message(restored, "IT-TOLERANCE")
    initial = run(it_patient(), STOPPED, infusion("2026-12-01T15:00", "100 ug/d"))
    assert fired(initial, "IT-TOLERANCE") == ["warning"]
    assert "well below the 300 µg/day" in _message(initial, "IT-TOLERANCE")
    assert "less than 240 µg/day" in _message(initial, "IT-TOLERANCE")
    # down to the largest single reduction (20 %) is "at or near" the dose before the stop
    near = run(it_patient(), STOPPED, infusion("2026-12-01T15:00", "240 ug/d"))
    assert fired(near, "IT-TOLERANCE") == ["info"]
    above = run(it_patient(), STOPPED, infusion("2026-12-01T15:00", "330 ug/d"))
    assert fired(above, "IT-TOLERANCE") == ["warning"]
    assert "above the 300 µg/day" in _message(above, "IT-TOLERANCE")


def test_pump_restart_after_days_without_baclofen_warns_that_tolerance_may_have_fallen() -> None:
    late_full = run(it_patient(), STOPPED, infusion("2026-12-06T09:00", "300 ug/d"))
    assert fired(late_full, "IT-TOLERANCE") == ["warning"]
    assert "after 5 days without it" in _message(late_full, "IT-TOLERANCE")
    assert "monitor for overdose" in _message(late_full, "IT-TOLERANCE")
    late_lower = run(it_patient(), STOPPED, infusion("2026-12-06T09:00", "150 ug/d"))
    assert fired(late_lower, "IT-TOLERANCE") == ["info"]
    # 2 calendar days is still a short interruption, a minute later it is not
    assert fired(
        run(it_patient(), STOPPED, infusion("2026-12-03T09:00", "300 ug/d")), "IT-TOLERANCE"
    ) == ["info"]
    assert fired(
        run(it_patient(), STOPPED, infusion("2026-12-03T09:01", "300 ug/d")), "IT-TOLERANCE"
    ) == ["warning"]
    # from 14 days on it is the holiday's resumption: back to the initial infusion dose
    holiday = run(it_patient(), STOPPED, infusion("2026-12-15T09:00", "300 ug/d"))
    assert fired(holiday, "IT-TOLERANCE") == ["warning"]
    assert "initial continuous infusion dose of 100 µg/day" in _message(holiday, "IT-TOLERANCE")
    assert (
        fired(run(it_patient(), STOPPED, infusion("2026-12-15T09:00", "100 ug/d")), "IT-TOLERANCE")
        == []
    )


def test_restart_after_an_interruption_keeps_the_24_hour_hold_and_needs_no_new_screening() -> None:
    history = [*STOPPED, infusion("2026-12-01T15:00", "300 ug/d")]
    early = run(it_patient(), history, infusion("2026-12-02T09:00", "330 ug/d"))
    assert fired(early, "IT-TITR-HOLD24") == ["error"]
    assert "18 h after the infusion started" in _message(early, "IT-TITR-HOLD24")
    restart = run(it_patient(), STOPPED, infusion("2026-12-01T15:00", "300 ug/d"))
    assert fired(restart, "IT-SCREEN-REQUIRED") == []
    assert fired(restart, "SEL-STABLE") == []
    assert fired(restart, "IT-TITR-START") == []


# -- 2. a concentration must suit the pump and the dose ------------------------------------


def test_screening_strength_refilled_into_a_running_pump_warns_of_a_ten_fold_mixup() -> None:
    f = run(it_patient(), it_started(), _refill("2026-12-01T09:00", "50 ug/mL"))
    assert fired(f, "SUP-IT-CONC") == ["warning"]
    text = _message(f, "SUP-IT-CONC")
    assert "50 µg/mL is not a pump concentration" in text
    assert "10 times weaker than the weakest pump solution (500 µg/mL)" in text
    # 18 mL above the 2 mL alarm at 50 µg/mL and 100 µg/day: 9 days
    assert fired(f, "IT-DELIVERY-CONC") == ["info"]
    assert "after only 9 days, less than 28 days" in _message(f, "IT-DELIVERY-CONC")
    usual = run(it_patient(), it_started(), _refill("2026-12-01T09:00", "500 ug/mL"))
    assert fired(usual, "IT-DELIVERY-CONC") == []


def test_a_high_dose_on_a_weak_pump_solution_is_told_of_the_stronger_one() -> None:
    history = [*it_started("100 ug/d"), infusion("2026-11-20T12:00", "1000 ug/d")]
    f = run(it_patient(), history, _refill("2026-12-01T09:00", "500 ug/mL"))
    assert fired(f, "IT-DELIVERY-CONC") == ["info"]
    assert "after only 9 days" in _message(f, "IT-DELIVERY-CONC")
    assert "(1000 µg/mL, 2000 µg/mL)" in _message(f, "IT-DELIVERY-CONC")
    strongest = run(it_patient(), history, _refill("2026-12-01T09:00", "2000 ug/mL", 5))
    assert fired(strongest, "IT-DELIVERY-CONC") == []  # nothing stronger to offer


# -- 3. days are calendar days where the rule says days ------------------------------------


def test_oral_three_day_step_across_a_daylight_saving_change_is_not_too_soon() -> None:
    history = [oral("2026-03-26T08:00+01:00", "5 mg")]
    on_time = run(adult(), history, oral("2026-03-29T08:00+02:00", "10 mg"))  # 71 elapsed hours
    assert fired(on_time, "PO-TITRATION") == []
    early = run(adult(), history, oral("2026-03-29T07:59+02:00", "10 mg"))
    assert fired(early, "PO-TITRATION") == ["warning"]
    assert "2.9 days after the last change" in _message(early, "PO-TITRATION")


def test_childs_weekly_step_across_a_daylight_saving_change_is_not_too_soon() -> None:
    child = adult(age_years=10, diagnosis="cerebral-palsy", weight_kg=30)
    history = [oral("2026-03-22T08:00+01:00", "2.5 mg", 4)]
    on_time = run(child, history, oral("2026-03-29T08:00+02:00", "5 mg", 4))
    assert fired(on_time, "SUP-PO-PAED") == []
    early = run(child, history, oral("2026-03-29T07:00+02:00", "5 mg", 4))
    assert "6.9 days after the last change" in _message(early, "SUP-PO-PAED")


def test_hour_rules_stay_in_elapsed_hours_across_a_daylight_saving_change() -> None:
    history = [
        *it_started()[:3],
        infusion("2026-03-28T12:00+01:00", "100 ug/d"),
    ]
    history = [{**e, "at": e["at"] + "+01:00"} if "+" not in str(e["at"]) else e for e in history]
    f = run(it_patient(), history, infusion("2026-03-29T12:00+02:00", "110 ug/d"))  # 23 h
    assert fired(f, "IT-TITR-HOLD24") == ["error"]
    assert "23 h after the infusion started" in _message(f, "IT-TITR-HOLD24")


def test_abrupt_oral_stop_taper_span_is_counted_in_calendar_days() -> None:
    history = [
        oral("2026-03-22T08:00+01:00", "20 mg"),
        oral("2026-03-22T09:00+01:00", "15 mg"),
        oral("2026-03-25T08:00+01:00", "10 mg"),
    ]
    stop = event("2026-03-29T09:00+02:00", "oral-stop")  # 7 calendar days, 167 elapsed hours
    assert fired(run(adult(), history, stop), "STOP-GRADUAL") == []


# -- 4. messages never round toward compliance, never print absurd quantities --------------


def test_increase_one_minute_before_the_24_hour_hold_does_not_print_24_h() -> None:
    f = run(it_patient(), it_started(), infusion("2026-11-06T11:59", "110 ug/d"))
    assert fired(f, "IT-TITR-HOLD24") == ["error"]
    assert "23.9 h after the infusion started" in _message(f, "IT-TITR-HOLD24")


def test_oral_increase_one_minute_early_does_not_print_three_days() -> None:
    history = [oral("2026-12-01T08:00", "5 mg")]
    f = run(adult(), history, oral("2026-12-04T07:59", "10 mg"))
    assert "2.9 days after the last change" in _message(f, "PO-TITRATION")


def test_a_rise_just_above_the_step_limit_is_printed_above_it() -> None:
    history = [*it_started("1000 ug/d")]
    f = run(it_patient(), history, infusion("2026-11-07T12:00", "1300.3 ug/d"))
    assert fired(f, "IT-TITR-STEP") == ["error"]
    text = _message(f, "IT-TITR-STEP")
    assert "A rise of 30.1%" in text  # 30.03 %, never printed as "30%"
    assert "at most 1300 µg/day" in text


def test_refill_overdue_by_hours_prints_more_than_the_180_day_limit() -> None:
    history = it_started()
    f = run(it_patient(), history, _refill("2027-05-04T11:00", "500 ug/mL"))  # 180 d 1 h
    assert fired(f, "SUP-IT-MAX-INTERVAL") == ["warning"]
    assert "was 181 days ago" in _message(f, "SUP-IT-MAX-INTERVAL")


def test_bridge_message_after_a_mg_per_ml_slip_prints_no_absurd_strength() -> None:
    f = run(it_patient(), it_started(), _refill("2026-12-01T09:00", "2000 mg/mL"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]
    assert "was 2000 µg/mL meant?" in _message(f, "SUP-UNIT-MIXUP")
    assert fired(f, "SUP-IT-BRIDGE") == []
    assert fired(f, "SUP-IT-CONC") == []
    assert not any("2000000" in x.message for x in f)


def test_a_concentration_above_every_marketed_one_is_an_error_not_a_dilution() -> None:
    f = run(it_patient(), it_started(), _refill("2026-12-01T09:00", "5 mg/mL"))
    assert fired(f, "SUP-UNIT-MIXUP") == []
    assert fired(f, "SUP-IT-CONC") == ["error"]
    assert "5000 µg/mL is above every concentration on the market" in _message(f, "SUP-IT-CONC")
    assert fired(f, "SUP-IT-BRIDGE") == []


def test_unit_mixup_speaks_the_sources_words_not_fatal_overdose() -> None:
    f = run(adult(), [], oral("2026-12-01T08:00", "5 g"))
    assert fired(f, "SUP-UNIT-MIXUP") == ["critical"]
    assert "known, repeated cause of harm" in _message(f, "SUP-UNIT-MIXUP")
    assert "fatal" not in _message(f, "SUP-UNIT-MIXUP")


def test_abrupt_intrathecal_stop_names_the_labels_signs_not_life_threatening() -> None:
    f = run(it_patient(), it_started("300 ug/d"), event("2026-12-15T12:00", "it-stop"))
    assert fired(f, "STOP-GRADUAL") == ["critical"]
    text = _message(f, "STOP-GRADUAL")
    assert "life-threatening" not in text
    assert "can advance to high fever, altered mental status" in text


def test_tablet_parts_word_comes_from_the_pack() -> None:
    f = run(adult(), [], oral("2026-12-01T08:00", "3 mg", form="tablet"))
    assert "(whole or halved)" in _message(f, "SUP-PO-STRENGTHS")


def test_every_finding_kind_not_met_elsewhere_fills_its_pack_text() -> None:
    """The finding kinds the rule tests do not reach, each with its exact severity."""
    from casebuild import tdose

    failed = [
        tdose("2026-11-01T09:00", "50 ug", False),
        tdose("2026-11-02T09:00", "75 ug", False),
        tdose("2026-11-03T09:00", "100 ug", False),
    ]
    implant = run(adult(), failed, event("2026-11-05T09:00", "pump-implant"))
    assert fired(implant, "IT-SCREEN-NONRESPONDER") == ["error"]
    assert "a pump implant is not indicated" in _message(implant, "IT-SCREEN-NONRESPONDER")
    tapered = [
        *PUMP_300,
        infusion("2026-12-01T09:00", "240 ug/d"),
        infusion("2026-12-08T09:00", "180 ug/d"),
        infusion("2026-12-15T09:00", "150 ug/d"),
        event("2026-12-16T09:00", "it-stop"),
    ]
    below = run(it_patient(), tapered, infusion("2026-12-20T09:00", "80 ug/d"))
    assert fired(below, "IT-TOLERANCE") == ["warning"]  # a planned holiday: back to 100 µg/day
    assert "below the initial continuous infusion dose of 100 µg/day" in _message(
        below, "IT-TOLERANCE"
    )
    unknown = it_patient(diagnosis="other")
    stable = [*it_started("100 ug/d"), event("2026-11-20T09:00", "it-stable")]
    rise = run(unknown, stable, infusion("2026-12-01T09:00", "125 ug/d"))
    assert fired(rise, "IT-CHRONIC-STEP") == ["error"]
    assert "unknown origin (the stricter limit): at most 120 µg/day" in _message(
        rise, "IT-CHRONIC-STEP"
    )
    flex = infusion(
        "2026-12-01T09:00",
        "110 ug/d",
        schedule=[
            {"start": "07:00", "daily_rate": "100 ug/d"},
            {"start": "19:00", "daily_rate": "120 ug/d"},
        ],
    )
    no_type = run(adult(pump={"reservoir_ml": 20}), stable, flex)
    assert fired(no_type, "IT-MODE-COMPLEX") == ["warning"]
    assert "not known to be programmable" in _message(no_type, "IT-MODE-COMPLEX")


# -- 5. every clinical word a finding says lives in the pack, and every text is used -------

RULE_TESTS = sorted(Path(__file__).parent.glob("test_rules_*.py"))


def _test_functions() -> Iterator[tuple[str, object]]:
    import importlib

    for path in [*RULE_TESTS, Path(__file__)]:
        module = importlib.import_module(path.stem)
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn) and name != "test_every_finding_text":
                yield f"{path.stem}.{name}", fn


def test_every_finding_text_of_the_pack_is_said_by_some_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run every checker test with the pack's ``phrase`` recorded: each ``finding_*`` text of
    the pack must be filled (a missing placeholder raises PackError) by some finding."""
    said: set[tuple[str, str]] = set()
    original = Rule.phrase

    def recording(self: Rule, name: str, **values: object) -> str:
        said.add((self.id, name))
        return original(self, name, **values)

    monkeypatch.setattr(Rule, "phrase", recording)
    pack = load_pack()
    for label, fn in _test_functions():
        if "said_by_some_check" in label or "used_by_some_code" in label:
            continue
        params = inspect.signature(fn).parameters  # type: ignore[arg-type]
        fn(**({"pack": pack} if "pack" in params else {}))  # type: ignore[operator]
    declared = {
        (r.id, name) for r in pack.rules.values() for name in r.texts if name.startswith("finding_")
    }
    assert declared - said == set(), "pack texts no check says"


def test_every_text_of_the_pack_is_used_by_some_code(pack: Pack) -> None:
    """A text no code reads is a defect. Finding texts are checked by behaviour above; the
    others (plans, handouts) must at least be named by the code that reads them."""
    src = Path(__file__).resolve().parents[1] / "src" / "posology"
    code = "\n".join(p.read_text(encoding="utf-8") for p in src.rglob("*.py"))
    names = set(re.findall(r"[\"']([a-z][a-z0-9_]*)[\"']", code))
    unused = sorted(
        f"{r.id}.{name}"
        for r in pack.rules.values()
        for name in r.texts
        if not name.startswith("finding_") and name not in names
    )
    assert unused == []


def test_no_clinical_sentence_is_left_in_the_checker() -> None:
    """The checker's modules build no message of their own: every finding goes through
    ``ctx.say`` (the pack's words); ``ctx.finding`` with a literal message is gone."""
    rules_dir = Path(__file__).resolve().parents[1] / "src" / "posology" / "rules"
    for path in rules_dir.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "ctx.finding(" not in text, path.name
        assert "fatal" not in text and "life-threatening" not in text, path.name
