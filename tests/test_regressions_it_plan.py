"""Regressions of the intrathecal and pump planner (issue 9), each named after what broke."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from casebuild import adult, event, fired, infusion, it_patient, run, tdose
from planbuild import kinds
from posology.errors import InputError
from posology.frozen import replace
from posology.knowledge import Pack, load_pack
from posology.model import ItInfusion, ItStable, PumpRefill, Review
from posology.planning import Plan, parse_request, plan
from posology.units import parse_quantity

START = "2026-12-01T10:00"


def _plan(
    patient: dict[str, Any],
    goal: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    start: str = START,
    pack: Pack | None = None,
) -> Plan:
    request = parse_request(
        {"patient": patient, "history": history or [], "goal": goal, "start": start}
    )
    return plan(request, pack or load_pack())


def _hours(p: Plan, kind: type, start: str = START) -> list[float]:
    origin = datetime.fromisoformat(start)
    return [
        (s.event.at - origin).total_seconds() / 3600 for s in p.steps if isinstance(s.event, kind)
    ]


def _doses(p: Plan) -> list[str]:
    return [s.event.daily_dose.text() for s in p.steps if isinstance(s.event, ItInfusion)]


def _with(pack: Pack, rule_id: str, **changes: Any) -> Pack:
    """The pack with one rule's ``texts``/``codes`` entries changed (merged into the rule's)."""
    rule = pack.rule(rule_id)
    merged = {k: {**getattr(rule, k), **v} for k, v in changes.items()}
    return replace(pack, rules={**pack.rules, rule_id: replace(rule, **merged)})


RESPONDER_50 = [tdose("2026-11-20T09:00", "50 ug", True, 6)]
CHILD = {"age_years": 9, "diagnosis": "cerebral-palsy", "weight_kg": 28}


# -- 1. the 48 h interval of a non-programmable or unknown pump -------------------------------


def test_it_titration_non_programmable_pump_waits_48_h_for_the_first_increase() -> None:
    patient = adult(diagnosis="stroke", pump={"programmable": False, "reservoir_ml": 20})
    p = _plan(
        patient,
        {"kind": "it-titration", "target_daily_dose": "70 ug/d"},
        [tdose("2026-11-20T09:00", "50 ug", True, 14)],
    )
    assert _doses(p) == ["50 µg/day", "57 µg/day", "65 µg/day", "70 µg/day"]
    # the first increase at max(24 h hold, 48 h interval) from the start, then every 48 h
    assert _hours(p, ItInfusion) == [0, 48, 96, 144]
    assert fired(p.findings, "IT-TITR-INTERVAL") == []


def test_it_titration_unknown_pump_waits_48_h_for_the_first_increase() -> None:
    p = _plan(adult(pump={"reservoir_ml": 20}), {"kind": "it-titration"}, RESPONDER_50)
    hours = _hours(p, ItInfusion)
    assert hours[:3] == [0, 48, 96]
    assert all(b - a == 48 for a, b in pairwise(hours))
    # only the notes that the pump type is missing, no "too soon" on the plan's own steps
    assert set(fired(p.findings, "IT-TITR-INTERVAL")) == {"warning"}
    assert all("not recorded" in f.message for f in p.findings if f.rule == "IT-TITR-INTERVAL")


# -- 2. IT-TITR-NOEFFECT on the plan's own increases --------------------------------------------


def test_it_titration_asks_about_effect_once_doubled_instead_of_warning_on_its_own_steps() -> None:
    p = _plan(it_patient(), {"kind": "it-titration"}, RESPONDER_50)
    assert _doses(p) == [
        "100 µg/day",
        "130 µg/day",
        "169 µg/day",
        "219 µg/day",
        "284 µg/day",
        "300 µg/day",
    ]
    reviews = [s for s in p.steps if "IT-TITR-NOEFFECT" in s.rules]
    assert len(reviews) == 1 and isinstance(reviews[0].event, Review)
    assert reviews[0].event.at.isoformat() == "2026-12-05T10:00:00"  # with the 219 → 284 step
    assert reviews[0].asks == ("IT-TITR-NOEFFECT",)
    assert "catheter patency" in reviews[0].instructions
    later = [
        s for s in p.steps if isinstance(s.event, ItInfusion) and s.event.at >= reviews[0].event.at
    ]
    assert [s.event.daily_dose.text() for s in later] == ["284 µg/day", "300 µg/day"]
    assert all("2026-12-05T10:00" in s.condition for s in later)
    assert fired(p.findings, "IT-TITR-NOEFFECT") == []
    # the checker does raise it on that step: the plan's review is what answers it
    history = [*RESPONDER_50, infusion("2026-12-01T10:00", "100 ug/d")]
    history += [infusion(f"2026-12-0{d}T10:00", q) for d, q in ((2, "130 ug/d"), (3, "169 ug/d"))]
    history += [infusion("2026-12-04T10:00", "219 ug/d")]
    step = infusion("2026-12-05T10:00", "284 ug/d")
    assert fired(run(it_patient(), history, step), "IT-TITR-NOEFFECT") == ["warning"]


def test_it_titration_of_a_running_infusion_already_doubled_reviews_first() -> None:
    history = [
        *RESPONDER_50,
        infusion("2026-11-21T10:00", "100 ug/d"),
        infusion("2026-11-25T10:00", "200 ug/d"),
    ]
    p = _plan(it_patient(), {"kind": "it-titration", "target_daily_dose": "250 ug/d"}, history)
    assert kinds(p)[:2] == ["review", "it-infusion"]
    assert "IT-TITR-NOEFFECT" in p.steps[0].rules
    assert _doses(p) == ["250 µg/day"]
    assert fired(p.findings, "IT-TITR-NOEFFECT") == []


# -- 3. a child's titration already at its target -----------------------------------------------


def test_child_it_titration_at_target_is_not_declared_stable_a_day_after_the_start() -> None:
    child = adult(**CHILD, pump={"programmable": True, "reservoir_ml": 20})
    p = _plan(child, {"kind": "it-titration"}, RESPONDER_50)
    assert _doses(p) == ["100 µg/day"]  # twice 50 µg = the children's median: no increase
    review = next(s for s in p.steps if isinstance(s.event, Review))
    assert "IT-MAINT-GOAL" in review.rules
    assert _hours(p, Review) == [24]  # when a first increase would be allowed
    assert _hours(p, ItStable) == [48]  # observed for one more interval


def test_child_it_titration_at_target_non_programmable_observes_48_h_intervals() -> None:
    child = adult(**CHILD, pump={"programmable": False, "reservoir_ml": 20})
    p = _plan(child, {"kind": "it-titration"}, RESPONDER_50)
    assert _hours(p, Review) == [48] and _hours(p, ItStable) == [96]


# -- 4. the 180-day cap's reason, the alarm review in order -------------------------------------

CAP_HISTORY = [
    infusion("2026-03-01T09:00", "20 ug/d"),
    event("2026-04-01T09:00", "it-stable"),
    event("2026-11-01T09:00", "pump-refill", concentration="2000 ug/mL", volume_ml=40),
]


def test_it_refill_booked_by_the_180_day_cap_gives_that_reason_and_no_moot_alarm() -> None:
    p = _plan(
        adult(pump={"programmable": True, "reservoir_ml": 40}),
        {"kind": "it-refill", "concentration": "2000 ug/mL"},
        CAP_HISTORY,
        start="2026-12-01T09:00",
    )
    refills = [s for s in p.steps if isinstance(s.event, PumpRefill)]
    assert [s.event.at.isoformat() for s in refills] == [
        "2027-04-30T09:00:00",  # 180 days after the refill of 1 November
        "2027-10-27T09:00:00",  # 180 days after that
    ]
    assert kinds(p) == ["pump-refill", "pump-refill"]  # the alarm (years away) is moot
    why = [f for f in p.findings if f.rule in ("SUP-IT-REFILL", "SUP-IT-MAX-INTERVAL")]
    assert [(f.rule, f.severity.value) for f in why] == [("SUP-IT-MAX-INTERVAL", "info")]
    assert "180 days" in why[0].message and "before the expected alarm" not in why[0].message
    assert "180 days" in refills[1].instructions


def test_it_refill_alarm_review_names_the_refill_booked_before_it() -> None:
    history = [infusion("2026-03-01T09:00", "250 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = _plan(
        it_patient(),
        {"kind": "it-refill", "concentration": "500 ug/mL"},
        history,
        "2026-12-01T09:00",
    )
    assert kinds(p) == ["pump-refill", "pump-refill", "review"]
    at = [s.event.at.isoformat() for s in p.steps]
    assert at == ["2026-12-01T09:00:00", "2027-01-01T09:00:00", "2027-01-06T09:00:00"]
    assert "2027-01-01T09:00" in p.steps[2].event.note  # the refill that makes it moot


# -- 5. a pump already past its alarm, or empty ---------------------------------------------------


def _refill_after(filled: str) -> Plan:
    history = [
        infusion("2026-03-01T09:00", "250 ug/d"),
        event("2026-04-01T09:00", "it-stable"),
        event(filled, "pump-refill", concentration="500 ug/mL", volume_ml=20),
    ]
    return _plan(it_patient(), {"kind": "it-refill"}, history, start="2026-12-01T09:00")


@pytest.mark.parametrize(
    "filled",
    [
        "2026-10-25T09:00",  # 0.5 mL/day for 37 days: 1.5 mL left, below the 2 mL alarm
        "2026-10-01T09:00",  # 61 days: empty
    ],
)
def test_it_refill_past_the_alarm_or_empty_warns_of_withdrawal_and_refills_now(
    filled: str,
) -> None:
    p = _refill_after(filled)
    assert p.steps[0].event.at.isoformat() == "2026-12-01T09:00:00"  # at the plan's start
    assert fired(p.findings, "SUP-IT-REFILL") == ["warning"]
    assert "warning" in fired(p.findings, "SUP-IT-WITHDRAWAL")
    assert not any("booked" in f.message for f in p.findings)


def test_it_refill_with_the_alarm_closer_than_the_booking_window_warns_and_refills_now() -> None:
    p = _refill_after("2026-10-29T09:00")  # 3.5 mL left: the alarm in 3 days
    assert p.steps[0].event.at.isoformat() == "2026-12-01T09:00:00"
    assert fired(p.findings, "SUP-IT-REFILL") == ["warning"]
    assert "2026-12-04T09:00" in next(f.message for f in p.findings if f.rule == "SUP-IT-REFILL")


# -- 6. the raised alarm volume after withdrawal above the standard one ---------------------------

FLAGGED = {"programmable": True, "reservoir_ml": 20, "withdrawal_before_alarm": True}


def test_withdrawal_before_alarm_raises_the_alarm_volume_to_4_ml_in_refill_plans() -> None:
    history = [infusion("2026-03-01T09:00", "250 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = _plan(adult(pump=FLAGGED), {"kind": "it-refill", "concentration": "500 ug/mL"}, history)
    fill = p.steps[0].event
    assert isinstance(fill, PumpRefill) and fill.alarm == parse_quantity("4 mL")
    assert "alarm (4 mL) after 32 days" in p.steps[0].instructions  # (20 − 4) / 0.5
    assert [(s.event.at - fill.at).days for s in p.steps[1:]] == [27, 32]


def test_withdrawal_before_alarm_raises_the_first_fill_alarm_and_the_checker_alarm() -> None:
    p = _plan(adult(pump=FLAGGED), {"kind": "it-titration"}, RESPONDER_50)
    fill = next(s.event for s in p.steps if isinstance(s.event, PumpRefill))
    assert fill.alarm == parse_quantity("4 mL")
    history = [
        infusion("2026-03-01T09:00", "250 ug/d"),
        event("2026-04-01T09:00", "it-stable"),
        event("2026-11-08T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
    ]
    review = event("2026-12-10T09:00", "it-infusion", daily_dose="250 ug/d")  # 4 mL left
    assert fired(run(adult(pump=FLAGGED), history, review), "SUP-IT-REFILL") == ["warning"]
    plain = {**FLAGGED, "withdrawal_before_alarm": False}
    assert fired(run(adult(pump=plain), history, review), "SUP-IT-REFILL") == []


def test_withdrawal_before_alarm_must_be_true_or_false() -> None:
    with pytest.raises(InputError, match=r"pump\.withdrawal_before_alarm"):
        _plan(adult(pump={**FLAGGED, "withdrawal_before_alarm": "yes"}), {"kind": "it-refill"})


# -- 7. the planner's words and choices come from the pack ----------------------------------------


def _marked(pack: Pack, prefixes: tuple[str, ...]) -> Pack:
    """Every text of the rules with these prefixes wrapped in ⟦ ⟧, placeholders kept."""
    rules = dict(pack.rules)
    for rule_id, rule in pack.rules.items():
        if rule_id.startswith(prefixes):
            texts = {k: f"⟦{v}⟧" for k, v in rule.texts.items()}
            rules[rule_id] = replace(rule, texts=texts)
    return replace(pack, rules=rules)


CASES: list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = [
    (
        adult(tone_supports_function=True, conditions=["cardiopulmonary-disease"]),
        {"kind": "it-screening"},
        [],
    ),
    (it_patient(), {"kind": "it-titration"}, RESPONDER_50),
    (
        adult(**CHILD, pump={"programmable": True, "reservoir_ml": 20}),
        {"kind": "it-titration"},
        RESPONDER_50,
    ),
    (
        it_patient(),
        {"kind": "it-refill", "concentration": "2000 ug/mL"},
        [
            infusion("2026-03-01T09:00", "250 ug/d"),
            event("2026-04-01T09:00", "it-stable"),
            event("2026-11-10T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
        ],
    ),
    (
        it_patient(),
        {"kind": "it-flex", "night_onset": "22:00"},
        [infusion("2026-03-01T09:00", "480 ug/d"), event("2026-04-01T09:00", "it-stable")],
    ),
    (
        it_patient(),
        {"kind": "it-tolerance-holiday"},
        [infusion("2024-01-10T09:00", "150 ug/d"), event("2024-04-01T09:00", "it-stable")],
    ),
]


@pytest.mark.parametrize(("patient", "goal", "history"), CASES)
def test_intrathecal_plan_words_all_come_from_the_pack(
    patient: dict[str, Any], goal: dict[str, Any], history: list[dict[str, Any]]
) -> None:
    pack = _marked(load_pack(), ("IT-", "SUP-IT-"))
    p = _plan(patient, goal, history, pack=pack)
    assert p.made
    for s in p.steps:
        assert "⟦" in s.instructions, (s.event.kind, s.instructions)
        assert not s.condition or "⟦" in s.condition, (s.event.kind, s.condition)
        if isinstance(s.event, Review):
            assert "⟦" in s.event.note
    withdrawal = [f for f in p.findings if f.rule == "SUP-IT-WITHDRAWAL"]
    assert all("⟦" in f.message for f in withdrawal)
    assert withdrawal or goal["kind"] == "it-screening"  # every pump plan names the signs


def test_default_titration_target_is_the_pack_choice() -> None:
    child = adult(**CHILD, pump={"programmable": True, "reservoir_ml": 20})
    base = load_pack()
    table = dict(base.rule("IT-MAINT-GOAL").codes["default_target"])  # type: ignore[arg-type]
    pack = _with(
        base,
        "IT-MAINT-GOAL",
        codes={"default_target": {**table, "child": "IT-PAED-MAINT initial high"}},
    )
    assert (
        _doses(_plan(child, {"kind": "it-titration"}, RESPONDER_50, pack=pack))[-1] == "200 µg/day"
    )
    spinal = _doses(_plan(it_patient(), {"kind": "it-titration"}, RESPONDER_50))
    assert spinal[-1] == "300 µg/day"  # the low end of the usual spinal range
    unknown = _doses(
        _plan(
            adult(diagnosis="other", pump={"programmable": True, "reservoir_ml": 20}),
            {"kind": "it-titration"},
            RESPONDER_50,
        )
    )
    assert unknown[-1] == "276 µg/day"  # the lower of 300 and the cerebral 12-month mean


def test_titration_step_end_and_taper_pacing_are_pack_choices() -> None:
    low = _with(load_pack(), "IT-TITR-STEP", codes={"plan_end": "low"})
    p = _plan(
        it_patient(),
        {"kind": "it-titration", "target_daily_dose": "130 ug/d"},
        RESPONDER_50,
        pack=low,
    )
    assert _doses(p) == ["100 µg/day", "110 µg/day", "121 µg/day", "130 µg/day"]  # +10 % steps
    history = [infusion("2025-01-10T09:00", "300 ug/d"), event("2025-02-10T09:00", "it-stable")]
    gentle = _with(load_pack(), "IT-TOLERANCE", codes={"reduction_end": "low", "span_end": "high"})
    p = _plan(it_patient(), {"kind": "it-taper"}, history, pack=gentle)
    reductions = _doses(p)
    assert reductions[:2] == ["270 µg/day", "243 µg/day"]  # −10 % a step
    assert len(reductions) == 14  # 4 weeks in 2-day steps


# -- absurd quantities ------------------------------------------------------------------------


def test_it_refill_refuses_a_concentration_typed_in_the_wrong_unit_without_absurd_numbers() -> None:
    history = [infusion("2026-03-01T09:00", "250 ug/d"), event("2026-04-01T09:00", "it-stable")]
    p = _plan(it_patient(), {"kind": "it-refill", "concentration": "2000 mg/mL"}, history)
    assert not p.made
    assert [(f.rule, f.severity.value) for f in p.findings] == [("SUP-IT-CONC", "error")]
    assert "2000 mg/mL" in p.findings[0].message and "2000000" not in p.findings[0].message


def test_it_refill_bridge_names_both_concentrations_in_ug_per_ml() -> None:
    history = [
        infusion("2026-03-01T09:00", "250 ug/d"),
        event("2026-04-01T09:00", "it-stable"),
        event("2026-11-10T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
    ]
    p = _plan(it_patient(), {"kind": "it-refill", "concentration": "2 mg/mL"}, history)
    assert "500 µg/mL → 2000 µg/mL" in p.steps[0].event.note
    assert "fill 20 mL of 2000 µg/mL" in p.steps[1].instructions


def test_child_under_4_on_a_pump_can_be_tapered_but_flex_and_holidays_are_refused_with_reason() -> (
    None
):
    """Regression: flex and tolerance-holiday plans for a child under 4 were withdrawn on replay
    ("would break a rule") instead of refused with the reason; a taper was withdrawn too."""
    child = adult(
        age_years=3,
        diagnosis="cerebral-palsy",
        weight_kg=14,
        pump={"programmable": True, "reservoir_ml": 20},
    )
    history = [
        infusion("2026-11-01T09:00", "100 ug/d"),
        event("2026-11-01T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=20),
        event("2026-11-03T09:00", "it-stable"),
    ]
    taper = _plan(child, {"kind": "it-taper"}, history)
    assert taper.made and kinds(taper)[-1] == "it-stop"
    assert fired(taper.findings, "IT-PAED-UNDER4") == ["warning"]
    for goal in ({"kind": "it-flex", "night_onset": "22:00"}, {"kind": "it-tolerance-holiday"}):
        refused = _plan(child, goal, history)
        assert not refused.made
        assert [(f.rule, f.severity.value) for f in refused.findings] == [
            ("IT-PAED-UNDER4", "error")
        ]
        assert "withdrawn" not in refused.findings[0].message


def test_refill_plan_for_a_reservoir_not_larger_than_its_alarm_volume_is_refused_not_a_crash() -> (
    None
):
    """Regression: a 4 mL reservoir with the raised 4 mL alarm made a refill step whose alarm
    was not below its volume, which the event reader refuses (the plan could not be stored)."""
    pump = {"programmable": True, "reservoir_ml": 4, "withdrawal_before_alarm": True}
    history = [
        infusion("2026-11-01T09:00", "100 ug/d"),
        event("2026-11-01T09:00", "pump-refill", concentration="500 ug/mL", volume_ml=4),
    ]
    refused = _plan(adult(pump=pump), {"kind": "it-refill"}, history)
    assert not refused.made
    assert [(f.rule, f.severity.value) for f in refused.findings] == [("SUP-IT-REFILL", "warning")]
    assert "4 mL" in refused.findings[0].message


def test_it_titration_to_a_target_above_the_usual_spinal_range_says_so() -> None:
    """IT-MAINT-SPINAL: most patients of spinal origin are maintained on 300 to 800 µg/day; a
    target above 800 is planned with an info, a target of 800 without."""
    history = [tdose("2026-11-21T09:00", "50 ug", True, 6)]
    patient = it_patient(origin="spinal")
    above = _plan(patient, {"kind": "it-titration", "target_daily_dose": "900 ug/d"}, history)
    at = _plan(patient, {"kind": "it-titration", "target_daily_dose": "800 ug/d"}, history)
    assert fired(above.findings, "IT-MAINT-SPINAL") == ["info"]
    assert "300 µg/day to 800 µg/day" in next(
        f.message for f in above.findings if f.rule == "IT-MAINT-SPINAL"
    )
    assert fired(at.findings, "IT-MAINT-SPINAL") == []
