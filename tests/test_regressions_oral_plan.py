"""Regressions of the oral planner (issue 9): each test is named after what broke.

A per-dose limit added doses instead of refusing; tablet counts a patient can take; a child's
mg/kg limit per dose; every accepted regimen (1 to 24 doses a day) plans or refuses cleanly; the
planner's words and choices are the pack's.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casebuild import adult, oral
from planbuild import days_from, kinds
from posology.frozen import replace
from posology.knowledge import load_pack
from posology.knowledge.schema import Pack
from posology.model import OralRegimen
from posology.planning import Plan, parse_request, plan, replay
from posology.planning.doses import choose_form, clock_times
from posology.units import Quantity, parse_quantity

PACK = load_pack()
START = "2026-12-01T08:00"


def mg(text: str) -> Quantity:
    return parse_quantity(text)


def make(
    patient: dict[str, Any],
    goal: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    pack: Pack = PACK,
) -> Plan:
    request = parse_request(
        {"patient": patient, "history": history or [], "goal": goal, "start": START}
    )
    return plan(request, pack)


def regimens(p: Plan) -> list[OralRegimen]:
    return [s.event for s in p.steps if isinstance(s.event, OralRegimen)]


def dailies(p: Plan) -> list[str]:
    return [r.daily_dose.text() for r in regimens(p)]


def doses(r: OralRegimen) -> list[str]:
    return [d.text() for d in r.doses]


def fired(p: Plan, rule: str) -> list[str]:
    return [f.severity.value for f in p.findings if f.rule == rule]


def with_pack(rule_id: str, **sections: dict[str, Any]) -> Pack:
    """The pack with some entries of one rule changed: the planner must follow them."""
    rule = PACK.rule(rule_id)
    changed = replace(rule, **{k: {**getattr(rule, k), **v} for k, v in sections.items()})
    return replace(PACK, rules={**PACK.rules, rule_id: changed})


# -- 1. a binding per-dose limit adds doses -----------------------------------------------------


def test_oral_titration_to_100_mg_outpatient_adds_doses_instead_of_refusing() -> None:
    p = make(adult(), {"kind": "oral-titration", "target_daily_dose": "100 mg"})
    assert p.made
    assert dailies(p) == [
        "15 mg/day",
        "30 mg/day",
        "45 mg/day",
        "60 mg/day",
        "75 mg/day",
        "90 mg/day",
        "100 mg/day",
    ]
    assert days_from(p) == [0, 3, 6, 9, 12, 15, 18, 18 + 42]
    last = regimens(p)[-1]
    assert doses(last) == ["25 mg"] * 4
    assert last.times == ("08:00", "12:00", "16:00", "20:00")
    assert doses(regimens(p)[-2]) == ["30 mg"] * 3  # 90 mg/day still fits three doses
    assert "PO-FREQUENT" in p.steps[6].rules
    assert fired(p, "PO-FREQUENT") == ["info"]
    assert fired(p, "PO-DAILY-RANGE") == []  # no dose above 33.333 mg: nothing to warn about
    assert fired(p, "PO-MAX") == []  # 100 mg/day is the maximum, not above it


def test_oral_titration_above_100_mg_inpatient_adds_doses_instead_of_refusing() -> None:
    p = make(adult(setting="inpatient"), {"kind": "oral-titration", "target_daily_dose": "150 mg"})
    assert dailies(p)[-4:] == ["105 mg/day", "120 mg/day", "135 mg/day", "150 mg/day"]
    assert [doses(r) for r in regimens(p)[-4:]] == [
        ["25 mg", "25 mg", "27.5 mg", "27.5 mg"],
        ["30 mg"] * 4,
        ["25 mg", "27.5 mg", "27.5 mg", "27.5 mg", "27.5 mg"],
        ["30 mg"] * 5,
    ]
    assert regimens(p)[-1].times == ("07:00", "10:30", "14:00", "17:30", "21:00")
    assert set(fired(p, "PO-MAX")) == {"warning"}  # only in hospital, as the rule says
    assert fired(p, "PO-DAILY-RANGE") == []


def test_oral_titration_no_regimen_within_the_limits_reaches_is_refused_with_the_most() -> None:
    p = make(adult(setting="inpatient"), {"kind": "oral-titration", "target_daily_dose": "200 mg"})
    assert not p.made
    (why,) = p.findings
    assert (why.rule, why.severity.value) == ("PO-DAILY-RANGE", "warning")
    assert "33.333 mg" in why.message and "6 doses a day" in why.message
    assert "at most 195 mg/day" in why.message  # 6 × 32.5 mg


def test_oral_titration_with_too_few_times_per_day_for_the_target_says_how_many() -> None:
    p = make(adult(), {"kind": "oral-titration", "target_daily_dose": "100 mg", "times_per_day": 3})
    assert not p.made and p.findings[0].rule == "PO-DAILY-RANGE"
    assert "a single dose of 35 mg" in p.findings[0].message
    assert "`times_per_day` of at least 4" in p.findings[0].message


def test_night_only_target_one_dose_cannot_carry_is_refused_with_a_reason() -> None:
    p = make(adult(), {"kind": "oral-titration", "night_only": True, "target_daily_dose": "40 mg"})
    assert not p.made and p.findings[0].rule == "PO-DAILY-RANGE"
    assert "at most 32.5 mg/day" in p.findings[0].message
    assert "night_only" in p.findings[0].message


def test_pre_task_default_target_stops_at_what_one_dose_can_carry() -> None:
    p = make(adult(), {"kind": "oral-titration", "pre_task_times": ["09:00"]})
    assert dailies(p) == ["15 mg/day", "30 mg/day", "32.5 mg/day"]
    assert regimens(p)[-1].times == ("08:00",)
    assert fired(p, "PO-DAILY-RANGE") == ["info"]
    explicit = make(
        adult(),
        {"kind": "oral-titration", "pre_task_times": ["09:00"], "target_daily_dose": "60 mg"},
    )
    assert not explicit.made and "pre_task_times" in explicit.findings[0].message


def test_oral_taper_from_a_high_dose_keeps_every_dose_under_the_per_dose_ceiling() -> None:
    history = [oral("2026-06-01T08:00", "50 mg", 3)]
    p = make(adult(setting="inpatient"), {"kind": "oral-taper"}, history)
    assert dailies(p) == [f"{n} mg/day" for n in (135, 120, 105, 90, 75, 60, 45, 30, 15)]
    assert doses(regimens(p)[0]) == ["25 mg", "27.5 mg", "27.5 mg", "27.5 mg", "27.5 mg"]
    assert all(max(r.doses) <= mg("32.5 mg") for r in regimens(p))
    assert fired(p, "PO-DAILY-RANGE") == []  # 45 mg doses were warned before
    assert days_from(p) == list(range(10))  # 9 reductions a day apart, then the stop
    assert kinds(p)[-1] == "oral-stop"


# -- 2. tablets a patient can take --------------------------------------------------------------


def test_tablet_doses_are_the_fewest_tablets_in_plain_words() -> None:
    form = choose_form(PACK, "tablet", (mg("25 mg"),))
    assert form.describe(PACK, mg("25 mg")) == "25 mg (two 10 mg tablets and one 5 mg tablet)"
    assert form.describe(PACK, mg("7.5 mg")) == "7.5 mg (one and a half 5 mg tablets)"
    assert form.describe(PACK, mg("2.5 mg")) == "2.5 mg (half a 5 mg tablet)"
    assert form.describe(PACK, mg("12.5 mg")) == "12.5 mg (one 10 mg tablet and half a 5 mg tablet)"
    assert form.describe(PACK, mg("30 mg")) == "30 mg (three 10 mg tablets)"
    four = with_pack(
        "SUP-PO-STRENGTHS", numbers={"tablets": tuple(mg(f"{n} mg") for n in (5, 10, 15, 20))}
    )
    us = choose_form(four, "tablet", (mg("25 mg"),))
    assert us.describe(four, mg("25 mg")) == "25 mg (one 20 mg tablet and one 5 mg tablet)"
    assert us.describe(four, mg("40 mg")) == "40 mg (two 20 mg tablets)"


def test_tablet_strength_is_recorded_only_when_one_strength_makes_the_day() -> None:
    assert choose_form(PACK, "tablet", (mg("25 mg"),) * 3).strength is None  # 10 mg and 5 mg
    assert choose_form(PACK, "tablet", (mg("30 mg"),) * 3).strength == mg("10 mg")
    assert choose_form(PACK, "tablet", (mg("2.5 mg"), mg("5 mg"))).strength == mg("5 mg")
    # doses no tablet makes are given as the solution, never as "half a tablet"
    odd = choose_form(PACK, "tablet", (mg("1.5 mg"),))
    assert (odd.kind, odd.strength) == ("solution", parse_quantity("1 mg/mL"))


def test_titration_step_of_25_mg_doses_is_not_five_5_mg_tablets() -> None:
    p = make(adult(), {"kind": "oral-titration", "target_daily_dose": "75 mg"})
    step = p.steps[4]
    assert doses(step.event) == ["25 mg"] * 3  # type: ignore[arg-type]
    assert step.instructions.startswith("25 mg (two 10 mg tablets and one 5 mg tablet) at 08:00")
    assert "5 5 mg" not in step.instructions
    assert step.event.strength is None  # type: ignore[union-attr]


# -- 3. a child's per-dose limit ----------------------------------------------------------------


def child(age: int = 9, weight: int = 20, **fields: Any) -> dict[str, Any]:
    return adult(age_years=age, diagnosis="cerebral-palsy", weight_kg=weight, **fields)


def test_child_of_20_kg_asked_55_mg_a_day_is_refused_not_planned_above_half_a_mg_per_kg() -> None:
    p = make(child(), {"kind": "oral-titration", "target_daily_dose": "55 mg"})
    assert not p.made
    (why,) = p.findings
    assert (why.rule, why.severity.value) == ("SUP-PO-PAED", "warning")
    assert "0.5 mg/kg (10 mg)" in why.message and "at most 40 mg/day" in why.message
    under_8 = make(child(age=7), {"kind": "oral-titration", "target_daily_dose": "55 mg"})
    assert not under_8.made and "children's maximum of 40 mg/day" in under_8.findings[0].message


def test_child_titration_doses_never_exceed_half_a_mg_per_kg() -> None:
    p = make(child(), {"kind": "oral-titration", "target_daily_dose": "40 mg"})
    assert dailies(p)[-1] == "40 mg/day" and doses(regimens(p)[-1]) == ["10 mg"] * 4
    assert all(max(r.doses) <= mg("10 mg") for r in regimens(p))
    assert fired(p, "SUP-PO-PAED") == []


def test_child_plan_outside_two_to_four_doses_a_day_is_refused() -> None:
    for goal in ({"times_per_day": 6}, {"night_only": True}, {"pre_task_times": ["09:00"]}):
        p = make(child(), {"kind": "oral-titration", **goal})
        assert not p.made, goal
        assert p.findings[0].rule == "SUP-PO-PAED" and "2 to 4" in p.findings[0].message
    assert make(child(), {"kind": "oral-titration", "times_per_day": 2}).made


def test_child_default_target_is_never_above_the_childrens_maximum() -> None:
    # 0.75 mg/kg/day at 100 kg is 75 mg/day, above the 60 mg/day maximum: it used to be refused
    p = make(child(age=17, weight=100), {"kind": "oral-titration"})
    assert dailies(p) == ["30 mg/day", "60 mg/day"]
    assert doses(regimens(p)[-1]) == ["15 mg"] * 4


# -- 4. every accepted regimen plans or refuses cleanly ----------------------------------------


def test_oral_taper_of_a_12_a_day_regimen_without_times_spreads_over_the_waking_day() -> None:
    p = make(adult(), {"kind": "oral-taper"}, [oral("2026-06-01T08:00", "2.5 mg", 12)])
    assert p.made  # a KeyError in clock_times before
    first, second = regimens(p)
    assert doses(first) == ["2.5 mg"] * 8 and doses(second) == ["2.5 mg"] * 4
    assert first.times == (
        "07:00",
        "09:08",
        "11:17",
        "13:25",
        "15:34",
        "17:42",
        "19:51",
        "22:00",
    )
    assert second.times == ("08:00", "12:00", "16:00", "20:00")
    assert days_from(p) == [0, 4, 8]


def test_clock_times_exist_for_every_count_from_1_to_24_within_the_waking_day() -> None:
    for n in range(1, 25):
        times = clock_times(PACK, n)
        assert len(times) == n and list(times) == sorted(set(times)), n
        assert all("07:00" <= t <= "22:00" for t in times), n
    assert clock_times(PACK, 24)[:3] == ("07:00", "07:39", "08:18")


def test_it_titration_with_a_12_a_day_oral_regimen_plans_the_oral_wean() -> None:
    from casebuild import it_patient, it_started

    history = [oral("2026-10-01T08:00", "2.5 mg", 12), *it_started()]
    p = make(it_patient(), {"kind": "it-titration"}, history)
    assert p.made  # a KeyError in clock_times before
    wean = regimens(p)
    assert wean and wean[0].daily_dose < mg("30 mg/d")
    assert wean[0].times == clock_times(PACK, len(wean[0].doses))


masses = st.sampled_from(["2.5 mg", "5 mg", "7.5 mg", "10 mg", "15 mg", "20 mg", "30 mg", "50 mg"])


@st.composite
def oral_requests(draw: Any) -> dict[str, Any]:
    age = draw(st.integers(4, 90))
    patient: dict[str, Any] = adult(age_years=age, diagnosis="cerebral-palsy")
    if age < 18 or draw(st.booleans()):
        patient["weight_kg"] = draw(st.integers(12, 110))
    if draw(st.booleans()):
        patient["setting"] = "inpatient"
    history = []
    if draw(st.booleans()):
        history.append(oral("2026-06-01T08:00", draw(masses), draw(st.integers(1, 24))))
    kind = draw(st.sampled_from(["oral-titration", "oral-taper"]))
    goal: dict[str, Any] = {"kind": kind}
    if kind == "oral-titration":
        goal |= draw(
            st.sampled_from(
                [
                    {},
                    {"night_only": True},
                    {"times_per_day": draw(st.integers(1, 6))},
                    {"pre_task_times": ["09:00", "15:00"][: draw(st.integers(1, 2))]},
                    {"form": "solution"},
                ]
            )
        )
        if draw(st.booleans()):
            goal["target_daily_dose"] = f"{draw(st.integers(5, 220))} mg"
    return {"patient": patient, "history": history, "goal": goal, "start": START}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(oral_requests())
def test_oral_plans_over_1_to_24_doses_a_day_keep_every_dose_within_its_limit(
    document: dict[str, Any],
) -> None:
    request = parse_request(document)
    result = plan(request, PACK)
    if not result.made:
        assert result.findings and not any("withdrawn" in f.message for f in result.findings)
        return
    age = request.patient.age_years
    weight = request.patient.weight
    ceiling = Fraction(1, 2) * weight.in_("kg") if age is not None and age < 18 and weight else None
    for step, findings in replay(request, result.steps, PACK):
        assert not [f for f in findings if f.severity.value in ("error", "critical")], step
        event = step.event
        if not isinstance(event, OralRegimen):
            continue
        reachable = event.daily_dose <= mg("195 mg/d")  # 6 doses of 32.5 mg
        if reachable and request.goal.kind == "oral-titration":
            assert max(event.doses) <= Quantity.of(Fraction(100, 3), "mg"), step
            if ceiling is not None:
                assert max(event.doses).in_("mg") <= ceiling, step
        if reachable:  # above_per_administration is PO-DAILY-RANGE's only warning
            ranges = [f.severity.value for f in findings if f.rule == "PO-DAILY-RANGE"]
            assert "warning" not in ranges, step
        assert "(5 5 mg" not in step.instructions
        if event.times is not None:
            assert len(event.times) == len(event.doses)


# -- 5. the planner's words and choices are the pack's ------------------------------------------


def test_titration_step_condition_night_text_and_review_come_from_the_pack() -> None:
    pack = with_pack("PO-TITRATION", texts={"step_condition": "if step ok"})
    pack = replace(
        pack,
        rules={
            **pack.rules,
            "PO-NIGHT": replace(
                pack.rule("PO-NIGHT"), texts={"instruction": "At bedtime, with water."}
            ),
            "SUP-PO-REVIEW": replace(
                pack.rule("SUP-PO-REVIEW"),
                texts={"review": "See at {after} on {dose}.", "instructions": "Look."},
            ),
        },
    )
    request = parse_request(
        {"patient": adult(), "goal": {"kind": "oral-titration", "night_only": True}, "start": START}
    )
    p = plan(request, pack)
    assert p.steps[1].condition == "if step ok"
    assert p.steps[0].instructions.endswith("(5 mg/day). At bedtime, with water.")
    assert p.steps[-1].event.note == "See at 6 weeks on 20 mg/day."  # type: ignore[union-attr]
    assert p.steps[-1].instructions == "Look."


def test_taper_span_end_and_texts_come_from_the_pack() -> None:
    history = [oral("2026-06-01T08:00", "20 mg", 3)]
    low = make(adult(), {"kind": "oral-taper"}, history)
    assert days_from(low) == [0, 3, 6, 9]  # 7 days over 3 reductions: 3 days each
    pack = with_pack("SUP-PO-TAPER", codes={"span_end": "high"}, texts={"stop": "Stop now."})
    high = plan(
        parse_request(
            {"patient": adult(), "history": history, "goal": {"kind": "oral-taper"}, "start": START}
        ),
        pack,
    )
    assert [(s.event.at - high.steps[0].event.at).days for s in high.steps] == [0, 4, 8, 12]
    assert high.steps[-1].instructions == "Stop now."


def test_more_doses_a_day_stop_at_po_frequents_most() -> None:
    pack = with_pack("PO-FREQUENT", numbers={"max_administrations_per_day": Fraction(3)})
    request = parse_request(
        {
            "patient": adult(),
            "goal": {"kind": "oral-titration", "target_daily_dose": "100 mg"},
            "start": START,
        }
    )
    refused = plan(request, pack)
    assert not refused.made and "at most 97.5 mg/day" in refused.findings[0].message


def test_waking_day_and_child_target_end_come_from_the_pack() -> None:
    pack = with_pack("PO-MEALS", codes={"waking_day": ("06:00", "23:00")})
    assert clock_times(pack, 7) == ("06:00", "08:50", "11:40", "14:30", "17:20", "20:10", "23:00")
    high = with_pack("SUP-PO-PAED", codes={"target_end": "high"})
    request = parse_request(
        {"patient": child(weight=20), "goal": {"kind": "oral-titration"}, "start": START}
    )
    # 2 mg/kg/day at 20 kg is 40 mg/day, the children's maximum at 9 years
    assert dailies(plan(request, high))[-1] == "40 mg/day"
    assert dailies(plan(request, PACK))[-1] == "15 mg/day"  # 0.75 mg/kg/day
