"""A new medicine is a pack, not code: a fictional oral medicine plans with its own numbers.

The pack below is written here, with its own small source text (every quote is checked verbatim
against it at load), and fills only oral roles: no children's, kidneys', elderly or night rule,
no usual target, no review and nothing intrathecal. Its rule IDs are its own, so every citation
the plans carry proves the planner found the rule by its role, not by a baclofen ID.

The builders are called as ``plan`` calls them, to see each plan's own steps and refusals; the
last tests run ``plan`` whole, which replays every step through the checker (rules found by their
kind), and ``check`` on a dose above the new medicine's maximum.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from posology.knowledge import Pack, load_pack_file
from posology.model import OralRegimen, OralStop, parse_case
from posology.planning import BUILDERS, parse_request, plan
from posology.planning.model import PlanRefused
from posology.planning.request import PlanRequest
from posology.rules import check

SOURCE = """\
Exemplarin tablets and oral solution (a fictional label, written for Posology's tests)

For adults (18 years and older).
Start with 2 mg twice daily, 4 mg a day.
Raise the daily dose by no more than 4 mg, and no sooner than 4 days after the last change:
2 mg, 4 mg, 6 mg, then 8 mg twice daily.
The usual daily dose is 4 mg to 24 mg a day, in 2 divided doses.
Do not give more than 24 mg in one day.
Take with breakfast and with the evening meal.
Tablets of 2 mg and 4 mg, scored to be halved; oral solution 1 mg/mL.
Never stop exemplarin suddenly: lower the dose in at least 2 steps over 1 to 2 weeks.
"""

PACK = """\
format: posology-pack/1
medicine: exemplarin
profile: default
title: Exemplarin (fictional, for tests)

sources:
  label:
    name: exemplarin-label.txt
    file: exemplarin-label.txt
    evidence: label

rules:
  EX-ADULTS:
    role: indication.population
    kind: population
    title: Adults only
    route: general
    engine: [check]
    statement: For adults, 18 years and older.
    source: label
    quote: "For adults (18 years and older)."
    numbers:
      adult_age: 18 a
    texts:
      finding_child_oral: "Exemplarin is for adults ({adult_age} or older)."
      finding_child_gap: "Exemplarin is for adults ({adult_age} or older)."
    severity:
      child_oral: warning
      child_gap: warning

  EX-NO-SUDDEN-STOP:
    role: stop.gradual
    kind: gradual-stop
    title: Never stop suddenly
    route: general
    engine: [check, plan]
    statement: Lower the dose in at least 2 steps; never stop suddenly.
    source: label
    quote: "Never stop exemplarin suddenly: lower the dose in at least 2 steps over 1 to 2 weeks."
    numbers:
      min_reductions: 2
    texts:
      finding_oral_abrupt: "Exemplarin ({daily}) would stop after {reductions} reduction(s)."
      finding_intrathecal_abrupt: "Exemplarin ({daily}) would stop suddenly."
    severity:
      oral_abrupt: error
      intrathecal_abrupt: error

  EX-RANGE:
    role: oral.daily-range
    kind: dose-range
    title: Daily range
    route: oral
    engine: [check]
    statement: 4 to 24 mg a day in 2 divided doses.
    source: label
    quote: "The usual daily dose is 4 mg to 24 mg a day, in 2 divided doses."
    numbers:
      daily: 4 mg/d to 24 mg/d
      administrations_per_day: 2
    texts:
      plan_capped: "The plan climbs to {most}, the most {count} doses carry at {ceiling} each."
      plan_unreachable: "{amount} needs one dose above {ceiling} even in {count} doses ({most})."
      plan_fixed_too_large: "{amount} in {count} doses needs {dose}, above {ceiling}. {fix}"
      plan_fix_times: "Give at least {needed} doses a day."
      plan_fix_night: "At most {most} at night."
      plan_fix_tasks: "At most {most} in {count} doses."
      finding_below: "{daily} is below the usual range ({range})."
      finding_above_per_administration: "One dose of {dose} is above {ceiling}."
    severity:
      below: info
      above_per_administration: warning

  EX-START:
    role: oral.start
    kind: start-dose
    title: Starting dose
    route: oral
    engine: [check, plan]
    statement: Start with 2 mg twice daily.
    source: label
    quote: "Start with 2 mg twice daily, 4 mg a day."
    numbers:
      start_daily: 4 mg/d
      start_dose: 2 mg
      administrations_per_day: 2
      restart_window: 4 d
    texts:
      finding_above: "Exemplarin starts at {daily}; the start is {start}."
      finding_restart: "Exemplarin restarts at {daily}, {gap} after it stopped."
      finding_restart_above: "Exemplarin restarts at {daily}, above the {before} before the stop."
    severity:
      above: warning
      restart: info
      restart_above: warning

  EX-LADDER:
    role: oral.titration
    kind: step-limit
    title: Titration
    route: oral
    engine: [check, plan]
    statement: At most +4 mg a day, at least 4 days apart, up the label's ladder.
    source: label
    quote:
      - "Raise the daily dose by no more than 4 mg"
      - "no sooner than 4 days after the last change"
      - "2 mg, 4 mg, 6 mg, then 8 mg twice daily."
    numbers:
      ladder: [2 mg, 4 mg, 6 mg, 8 mg]
      administrations_per_day: 2
      step_days: 4 d
      max_step: 4 mg/d
      min_interval: 4 d
    texts:
      step_condition: "if the last step was tolerated"
      at_target: "Already at {dose}, the target being {target}."
      no_step: "No step can be made."
      finding_step_too_large: "The daily dose rises by {step}; at most {max_step} a step."
      finding_too_soon: "This increase comes {elapsed} after the last change ({interval})."
    severity:
      too_fast: warning

  EX-MAX:
    role: oral.max
    kind: daily-maximum
    title: Daily maximum
    route: oral
    engine: [check]
    statement: Never more than 24 mg in one day.
    source: label
    quote: "Do not give more than 24 mg in one day."
    numbers:
      max_daily_outpatient: 24 mg/d
    texts:
      plan_outpatient: "The target {target} is above the {limit} maximum."
      plan_inpatient: "The target {target} is above {limit}, in hospital only."
      finding_reducing: "{daily} is still above the {maximum} maximum."
      finding_inpatient: "{daily} is above the {maximum} maximum, in hospital only."
      finding_outpatient: "{daily} is above the {maximum} maximum."
    severity:
      outpatient: error
      inpatient: warning
      reducing: warning

  EX-MEALS:
    role: oral.meals
    kind: advice
    title: With breakfast and the evening meal
    route: oral
    engine: [plan]
    statement: Take with breakfast and with the evening meal.
    source: label
    quote: "Take with breakfast and with the evening meal."
    codes:
      times_by_count:
        "1": "08:00"
        "2": "08:00 19:00"
      waking_day: ["07:00", "22:00"]
    texts:
      instruction: "Take with a meal."

  EX-FORMS:
    role: oral.strengths
    kind: marketed-strengths
    title: Forms and strengths
    route: oral
    engine: [plan, check]
    statement: Tablets of 2 mg and 4 mg, halved at most; oral solution 1 mg/mL.
    source: label
    quote: "Tablets of 2 mg and 4 mg, scored to be halved; oral solution 1 mg/mL."
    numbers:
      tablets: [2 mg, 4 mg]
      solutions: [1 mg/mL]
      # the checker's marketed-strengths kind also reads a second market's lists today
      tablets_us: [2 mg, 4 mg]
      solutions_us: [1 mg/mL]
      tablet_parts: 2
      solution_dose_step: "0.5 mg"
    texts:
      not_makeable_plan: "{amount} cannot be given in {count} doses."
      solution_dose: "{dose} = {volume} of {strength} solution"
      tablet_dose: "{dose} ({tablets})"
      one_tablet: "one {strength} tablet"
      many_tablets: "{count} {strength} tablets"
      half_tablet: "half a {strength} tablet"
      tablets_and_half: "{count} and a half {strength} tablets"
      part_tablet: "{part} of a {strength} tablet"
      finding_not_makeable: "{dose} cannot be made with {tablet} tablets."
      finding_solution_without_strength: "Give the solution's strength."
      finding_unknown_solution: "No {strength} solution is on the market."
      finding_unknown_tablet: "No {strength} tablet is on the market."
    severity:
      not_makeable: warning
      solution_without_strength: warning
      unknown_strength: warning

  EX-TAPER:
    role: oral.taper
    kind: advice
    title: Taper over 1 to 2 weeks
    route: oral
    engine: [plan, check]
    statement: Stop gradually over 1 to 2 weeks.
    source: label
    quote: "Never stop exemplarin suddenly: lower the dose in at least 2 steps over 1 to 2 weeks."
    numbers:
      span: 7 d to 14 d
    codes:
      span_end: "low"
    texts:
      nothing_to_taper: "Nothing to taper."
      not_makeable: "{daily} cannot be lowered in {reductions} steps."
      condition: "if the lower dose is tolerated"
      stop: "Stop exemplarin."
      stop_condition: "after the last lower dose"
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pack]:
    """The test pack, its folder the packs the readers know (so events may name exemplarin)."""
    folder = tmp_path_factory.mktemp("exemplarin")
    (folder / "exemplarin-label.txt").write_text(SOURCE, encoding="utf-8")
    (folder / "exemplarin.yaml").write_text(PACK, encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POSOLOGY_PACK_DIR", str(folder))
        yield load_pack_file(folder / "exemplarin.yaml")


def ex(doc: dict[str, object]) -> dict[str, object]:
    """A document (EVENT or goal) of exemplarin."""
    return {**doc, "medicine": "exemplarin"}


def request(goal: dict[str, object], history: list[dict[str, object]] | None = None) -> PlanRequest:
    patient = {"age_years": 45, "sex": "female", "diagnosis": "other"}
    return parse_request(
        {
            "patient": patient,
            "history": [ex(e) for e in history or []],
            "goal": ex(goal),
            "start": "2026-12-01T08:00",
        }
    )


def _day(step_at: object) -> int:
    from datetime import datetime

    assert isinstance(step_at, datetime)
    return (step_at - datetime(2026, 12, 1, 8, 0)).days


def test_the_test_pack_loads_with_only_oral_roles(pack: Pack) -> None:
    assert pack.medicine == "exemplarin"
    assert pack.role("oral.titration").id == "EX-LADDER"
    assert not pack.has_role("oral.children") and not pack.has_role("intrathecal.pump.refill")


def test_an_oral_titration_climbs_its_own_ladder_and_cites_its_own_rules(pack: Pack) -> None:
    steps, notes = BUILDERS["oral-titration"](
        request({"kind": "oral-titration", "target_daily_dose": "16 mg"}), pack
    )
    regimens = [s for s in steps if isinstance(s.event, OralRegimen)]
    assert [s.event.daily_dose.text() for s in regimens] == [  # type: ignore[union-attr]
        "4 mg/day",
        "8 mg/day",
        "12 mg/day",
        "16 mg/day",
    ]
    assert [_day(s.event.at) for s in regimens] == [0, 4, 8, 12]  # EX-LADDER's 4 days
    assert all(s.event.times == ("08:00", "19:00") for s in regimens)  # type: ignore[union-attr]
    assert regimens[-1].instructions.startswith("8 mg (two 4 mg tablets) at 08:00")
    assert regimens[-1].instructions.endswith("Take with a meal.")
    assert regimens[1].condition == "if the last step was tolerated"
    assert set(regimens[0].rules) == {"EX-START", "EX-LADDER", "EX-MEALS", "EX-FORMS"}
    cited = {rule for s in steps for rule in s.rules} | {f.rule for f in notes}
    assert cited <= set(pack.rules)  # no baclofen rule anywhere
    assert len(steps) == len(regimens)  # the pack has no review rule, so the plan has none


def test_a_target_above_its_maximum_is_refused_with_its_own_rule(pack: Pack) -> None:
    with pytest.raises(PlanRefused) as refused:
        BUILDERS["oral-titration"](
            request({"kind": "oral-titration", "target_daily_dose": "30 mg"}), pack
        )
    (finding,) = refused.value.findings
    assert finding.rule == "EX-MAX" and "24 mg/day maximum" in finding.message


def test_what_the_pack_does_not_say_is_refused_by_name_not_a_crash(pack: Pack) -> None:
    for goal, role in (
        ({"kind": "oral-titration"}, "oral.usual"),  # no usual target: a target is needed
        ({"kind": "oral-titration", "night_only": True}, "oral.night"),
    ):
        with pytest.raises(PlanRefused) as refused:
            BUILDERS["oral-titration"](request(goal), pack)
        (finding,) = refused.value.findings
        assert finding.rule == "EX-LADDER" and repr(role) in finding.message


def test_an_oral_taper_lowers_in_its_own_steps_and_cites_its_own_rules(pack: Pack) -> None:
    steps, notes = BUILDERS["oral-taper"](request({"kind": "oral-taper"}, HISTORY_16_MG), pack)
    regimens = [s for s in steps if isinstance(s.event, OralRegimen)]
    assert [s.event.daily_dose.text() for s in regimens] == [  # type: ignore[union-attr]
        "12 mg/day",
        "8 mg/day",
        "4 mg/day",
    ]  # 16 mg/day in steps of at most EX-LADDER's 4 mg/day
    assert isinstance(steps[-1].event, OralStop)
    assert [_day(s.event.at) for s in steps] == [0, 3, 6, 9]  # over EX-TAPER's 7 days and more
    assert set(regimens[0].rules) == {"EX-NO-SUDDEN-STOP", "EX-TAPER", "EX-MEALS"}
    assert steps[-1].rules == ("EX-NO-SUDDEN-STOP", "EX-TAPER")
    assert steps[-1].instructions == "Stop exemplarin."
    assert not notes


HISTORY_16_MG = [
    {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "8 mg", "times_per_day": 2}
]


def test_plan_replays_the_new_medicines_plans_through_the_checker(pack: Pack) -> None:
    titration = plan(request({"kind": "oral-titration", "target_daily_dose": "16 mg"}), pack)
    taper = plan(request({"kind": "oral-taper"}, HISTORY_16_MG), pack)
    for made in (titration, taper):
        assert made.made, made.findings
        assert {f.rule for f in made.findings} <= set(pack.rules)
        assert not [f for f in made.findings if f.severity.value in ("error", "critical")]
    assert titration.steps[-1].event.daily_dose.text() == "16 mg/day"  # type: ignore[union-attr]
    assert isinstance(taper.steps[-1].event, OralStop)


def test_check_judges_the_new_medicine_by_its_own_maximum(pack: Pack) -> None:
    case = parse_case(
        {
            "patient": {"age_years": 45, "sex": "female", "diagnosis": "other"},
            "history": [ex(e) for e in HISTORY_16_MG],
            "proposal": ex(
                {
                    "at": "2026-12-01T08:00",
                    "kind": "oral-regimen",
                    "dose": "15 mg",
                    "times_per_day": 2,
                }
            ),
        }
    )
    findings = check(case.patient, case.history, case.proposal, pack)
    assert ("EX-MAX", "error") in {(f.rule, f.severity.value) for f in findings}
    assert {f.rule for f in findings} <= set(pack.rules)
