"""The tizanidine pack: each rule at its boundary, from the label's own words.

Every number of the pack is tested on both sides of where it bites, so a changed number fails a
test here (``tools/pack_mutation.py --pack tizanidine.yaml``). The pack is the shipped one, read
as ``posology check`` reads it (``POSOLOGY_PACK_DIR`` lets the mutation script swap it).
"""

from __future__ import annotations

from typing import Any

import pytest

from posology.errors import InputError
from posology.knowledge import Pack, load_pack
from posology.model import parse_case
from posology.model.finding import Finding
from posology.planning import parse_request, plan
from posology.rules import check

ADULT: dict[str, Any] = {"age_years": 50, "diagnosis": "multiple-sclerosis"}
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack("tizanidine")


def tiz(at: str, dose: str, times: int) -> Doc:
    """A tizanidine regimen: ``dose`` each time, ``times`` a day, from ``at``."""
    return {
        "at": at,
        "kind": "oral-regimen",
        "dose": dose,
        "times_per_day": times,
        "medicine": "tizanidine",
    }


def stop(at: str) -> Doc:
    return {"at": at, "kind": "oral-stop", "medicine": "tizanidine"}


def findings(
    pack: Pack, proposal: Doc, history: list[Doc] | None = None, **patient: Any
) -> list[Finding]:
    case = parse_case(
        {"patient": {**ADULT, **patient}, "history": history or [], "proposal": proposal}
    )
    return list(check(case.patient, case.history, case.proposal, pack))


def of(found: list[Finding], rule: str) -> list[Finding]:
    return [f for f in found if f.rule == rule]


# a regimen in force long before, so that a proposal is a change, not a first start
SETTLED = [tiz("2026-10-01T08:00", "4 mg", 3)]


def test_the_start_is_2_mg_up_to_3_times_in_24_hours(pack: Pack) -> None:
    assert of(findings(pack, tiz("2026-12-01T08:00", "2 mg", 3)), "TIZ-START") == []
    (above,) = of(findings(pack, tiz("2026-12-01T08:00", "2.5 mg", 3)), "TIZ-START")
    assert above.severity.value == "warning"
    assert "7.5 mg/day" in above.message and "6 mg/day (2 mg up to 3 times" in above.message


def test_a_restart_within_2_days_of_a_stop_is_judged_against_the_dose_before(pack: Pack) -> None:
    before = [tiz("2026-11-01T08:00", "4 mg", 3), stop("2026-12-01T08:00")]
    soon = of(findings(pack, tiz("2026-12-02T20:00", "4 mg", 3), before), "TIZ-START")
    assert [f.severity.value for f in soon] == ["info"] and "restarts" in soon[0].message
    later = of(findings(pack, tiz("2026-12-03T20:00", "4 mg", 3), before), "TIZ-START")
    assert [f.severity.value for f in later] == ["warning"]  # a new start, above 6 mg/day
    assert "starts at 12 mg/day" in later[0].message


def test_the_daily_range_starts_at_the_2_mg_starting_dose(pack: Pack) -> None:
    (below,) = of(findings(pack, tiz("2026-12-01T08:00", "1.5 mg", 1), SETTLED), "TIZ-DAILY-RANGE")
    assert below.severity.value == "info" and "1.5 mg/day" in below.message
    assert of(findings(pack, tiz("2026-12-01T08:00", "2 mg", 1), SETTLED), "TIZ-DAILY-RANGE") == []


def test_one_dose_above_12_mg_is_noted_36_mg_split_into_3_doses(pack: Pack) -> None:
    history = [tiz("2026-10-01T08:00", "12 mg", 1)]
    assert of(findings(pack, tiz("2026-12-01T08:00", "12 mg", 1), history), "TIZ-DAILY-RANGE") == []
    (note,) = of(findings(pack, tiz("2026-12-01T08:00", "13 mg", 1), history), "TIZ-DAILY-RANGE")
    assert note.severity.value == "info" and "above 12 mg" in note.message


def test_the_daily_maximum_is_36_mg_an_error_in_hospital_too(pack: Pack) -> None:
    history = [tiz("2026-10-01T08:00", "30 mg", 1)]
    assert of(findings(pack, tiz("2026-12-01T08:00", "36 mg", 1), history), "TIZ-MAX") == []
    for setting in ("outpatient", "inpatient"):
        (found,) = of(
            findings(pack, tiz("2026-12-01T08:00", "37 mg", 1), history, setting=setting),
            "TIZ-MAX",
        )
        assert found.severity.value == "error" and "36 mg/day maximum" in found.message


def test_at_most_3_doses_in_24_hours(pack: Pack) -> None:
    assert of(findings(pack, tiz("2026-12-01T08:00", "4 mg", 3), SETTLED), "TIZ-DOSES-A-DAY") == []
    (often,) = of(findings(pack, tiz("2026-12-01T08:00", "3 mg", 4), SETTLED), "TIZ-DOSES-A-DAY")
    assert often.severity.value == "warning" and "4 times a day" in often.message
    assert "at most 3 doses in 24 hours" in often.message


def test_a_step_is_at_most_12_mg_a_day_4_mg_a_dose_in_3_doses(pack: Pack) -> None:
    history = [tiz("2026-11-01T08:00", "2 mg", 1)]
    assert of(findings(pack, tiz("2026-12-01T08:00", "14 mg", 1), history), "TIZ-TITRATION") == []
    (fast,) = of(findings(pack, tiz("2026-12-01T08:00", "15 mg", 1), history), "TIZ-TITRATION")
    assert fast.severity.value == "warning" and "rises by 13 mg/day" in fast.message


def test_increases_are_at_least_1_day_apart(pack: Pack) -> None:
    history = [tiz("2026-12-01T08:00", "4 mg", 3)]
    (soon,) = of(findings(pack, tiz("2026-12-01T21:00", "6 mg", 3), history), "TIZ-TITRATION")
    assert soon.severity.value == "warning" and "at least 1 day" in soon.message
    assert of(findings(pack, tiz("2026-12-02T08:00", "6 mg", 3), history), "TIZ-TITRATION") == []


@pytest.mark.parametrize("other", ["fluvoxamine", "ciprofloxacin"])
def test_fluvoxamine_and_ciprofloxacin_are_contraindicated(pack: Pack, other: str) -> None:
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), medications=[other])
    (contra,) = of(found, "TIZ-CYP1A2-POTENT")
    assert contra.severity.value == "critical" and other in contra.message
    assert found[0] is contra  # the most severe first
    assert "contraindicated in patientstaking potent inhibitors" in contra.citation.quote


@pytest.mark.parametrize("other", ["zileuton", "oral-contraceptive", "cimetidine", "acyclovir"])
def test_less_potent_cyp1a2_inhibitors_call_for_caution(pack: Pack, other: str) -> None:
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), medications=[other])
    (caution,) = of(found, "TIZ-CYP1A2-OTHER")
    assert caution.severity.value == "warning" and other in caution.message
    assert of(found, "TIZ-CYP1A2-POTENT") == []


def test_with_baclofen_still_taken_the_sedation_adds_up(pack: Pack) -> None:
    baclofen = {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "10 mg"}
    baclofen |= {"times_per_day": 3}
    (added,) = of(
        findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), [baclofen]), "TIZ-CNS-DEPRESSANTS"
    )
    assert added.severity.value == "warning" and "baclofen" in added.message
    stopped = [baclofen, {"at": "2026-11-20T08:00", "kind": "oral-stop"}]
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), stopped)
    assert of(found, "TIZ-CNS-DEPRESSANTS") == []  # baclofen stopped before: nothing adds up
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), medications=["opioid"])
    assert [f.severity.value for f in of(found, "TIZ-CNS-DEPRESSANTS")] == ["warning"]


def test_antihypertensives_call_for_blood_pressure_watch(pack: Pack) -> None:
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), medications=["antihypertensive"])
    assert [f.severity.value for f in of(found, "TIZ-HYPOTENSION")] == ["warning"]


def test_below_a_clearance_of_25_ml_min_it_is_used_with_caution(pack: Pack) -> None:
    low = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), creatinine_clearance_ml_min=24)
    (renal,) = of(low, "TIZ-RENAL")
    assert renal.severity.value == "warning" and "24 mL/min is below 25 mL/min" in renal.message
    at = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), creatinine_clearance_ml_min=25)
    assert of(at, "TIZ-RENAL") == []
    unknown = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), conditions=["renal-impairment"])
    assert [f.severity.value for f in of(unknown, "TIZ-RENAL")] == ["info"]


def test_hepatic_impairment_asks_for_alt_monitoring(pack: Pack) -> None:
    found = findings(pack, tiz("2026-12-01T08:00", "2 mg", 3), conditions=["hepatic-impairment"])
    (liver,) = of(found, "TIZ-LIVER")
    assert liver.severity.value == "warning" and "monitor ALTs" in liver.message


def test_a_stop_needs_2_reductions_first(pack: Pack) -> None:
    one = [tiz("2026-11-01T08:00", "4 mg", 3), tiz("2026-11-10T08:00", "2 mg", 3)]
    (abrupt,) = of(findings(pack, stop("2026-11-20T08:00"), one), "TIZ-STOP-GRADUAL")
    assert abrupt.severity.value == "error" and "after 1 successive" in abrupt.message
    two = [*one, tiz("2026-11-15T08:00", "2 mg", 2)]
    assert of(findings(pack, stop("2026-11-20T08:00"), two), "TIZ-STOP-GRADUAL") == []


def test_doses_are_made_of_2_mg_and_4_mg_tablets_halved(pack: Pack) -> None:
    def tablets(dose: str) -> list[Finding]:
        regimen = {**tiz("2026-12-01T08:00", dose, 3), "form": "tablet"}
        return of(findings(pack, regimen, SETTLED), "TIZ-FORMS")

    assert tablets("1 mg") == []  # half a 2 mg tablet
    (odd,) = tablets("0.5 mg")
    assert odd.severity.value == "warning" and "cannot be made" in odd.message
    six = {**tiz("2026-12-01T08:00", "6 mg", 3), "form": "tablet", "strength": "6 mg"}
    (unknown,) = of(findings(pack, six, SETTLED), "TIZ-FORMS")
    assert "No 6 mg tizanidine tablet" in unknown.message


def test_a_solution_of_a_medicine_no_one_markets_in_solution_is_named_not_a_crash(
    pack: Pack,
) -> None:
    """Regression: a solution regimen without a strength, of a medicine whose pack lists no
    solution, crashed the checker (index out of range) instead of saying none is marketed."""
    for strength in (None, "1 mg/mL"):
        regimen = {**tiz("2026-12-01T08:00", "2 mg", 3), "form": "solution"}
        if strength:
            regimen["strength"] = strength
        (none,) = of(findings(pack, regimen, SETTLED), "TIZ-FORMS")
        assert none.severity.value == "warning" and "No tizanidine oral solution" in none.message


def _titration(target: str, **goal: Any) -> Any:
    return parse_request(
        {
            "patient": {**ADULT, "sex": "female"},
            "history": [],
            "goal": {
                "kind": "oral-titration",
                "target_daily_dose": target,
                "medicine": "tizanidine",
                **goal,
            },
            "start": "2026-12-01T08:00",
        }
    )


def test_a_titration_plan_climbs_2_mg_a_dose_every_4_days_in_3_doses(pack: Pack) -> None:
    made = plan(_titration("24 mg"), pack)
    assert made.made, made.findings
    regimens = [s.event for s in made.steps]
    assert [e.daily_dose.text() for e in regimens] == [
        "6 mg/day",
        "12 mg/day",
        "18 mg/day",
        "24 mg/day",
    ]
    assert [(e.at.day, e.at.month) for e in regimens] == [(1, 12), (5, 12), (9, 12), (13, 12)]
    assert all(e.times == ("08:00", "14:00", "20:00") for e in regimens)
    assert all(e.medicine == "tizanidine" for e in regimens)
    last = made.steps[-1]
    assert last.instructions.startswith("8 mg (two 4 mg tablets) at 08:00")
    assert "6 mg (one 4 mg tablet and one 2 mg tablet)" in made.steps[2].instructions
    assert {"TIZ-START", "TIZ-TITRATION", "TIZ-MEALS", "TIZ-FORMS"} <= set(made.steps[0].rules)
    assert all(r.startswith("TIZ-") for s in made.steps for r in s.rules)


def test_a_titration_above_36_mg_is_refused_with_the_maximum(pack: Pack) -> None:
    made = plan(_titration("40 mg"), pack)
    assert not made.made
    assert [f.rule for f in made.findings] == ["TIZ-MAX"]


def test_a_plan_asking_for_a_solution_no_one_markets_is_refused_naming_the_form(
    pack: Pack,
) -> None:
    """Regression: a pack without an oral solution crashed the planner (index out of range)."""
    with pytest.raises(InputError) as refused:
        plan(_titration("12 mg", form="solution"), pack)
    assert refused.value.field == "goal.form" and "no tizanidine oral solution" in str(
        refused.value
    )


def test_the_command_line_checks_and_lists_tizanidine(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from posology.cli import run

    case = {
        "patient": {**ADULT, "medications": ["fluvoxamine"]},
        "history": [],
        "proposal": tiz("2026-12-01T08:00", "2 mg", 3),
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    assert run(["check", str(path), "--format", "json"]) == 1  # a critical finding
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "critical"
    assert answer["findings"][0]["rule"] == "TIZ-CYP1A2-POTENT"
    assert answer["pack"]["medicine"] == "tizanidine"
    assert run(["rules", "--medicine", "tizanidine", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    ids = (
        {r["id"] for r in listed["rules"]}
        if isinstance(listed, dict)
        else {r["id"] for r in listed}
    )
    assert {"TIZ-START", "TIZ-MAX", "TIZ-CYP1A2-POTENT", "TIZ-RENAL"} <= ids


def test_a_titration_to_the_maximum_climbs_every_rung_of_the_ladder(pack: Pack) -> None:
    made = plan(_titration("36 mg"), pack)
    assert made.made, made.findings
    assert [s.event.daily_dose.text() for s in made.steps] == [
        "6 mg/day",
        "12 mg/day",
        "18 mg/day",
        "24 mg/day",
        "30 mg/day",
        "36 mg/day",
    ]
    assert made.steps[-1].instructions.startswith("12 mg (three 4 mg tablets) at 08:00")


def test_plan_lines_and_calendar_entries_name_the_plans_own_medicine_not_baclofen(
    pack: Pack,
) -> None:
    """Regression: every plan line and calendar entry said "Oral baclofen", whatever the plan's
    medicine, so a tizanidine titration read as a baclofen one."""
    from datetime import UTC, datetime

    from posology.export.plan_ics import render_ics
    from posology.export.plan_text import render_plan

    made = plan(_titration("12 mg"), pack)
    text = render_plan(made, pack)
    assert "Oral tizanidine 6 mg/day (3 doses a day)" in text
    assert "Oral baclofen" not in text
    calendar = render_ics(made, datetime(2026, 11, 30, tzinfo=UTC)).decode()
    assert "SUMMARY:Tizanidine: Oral tizanidine 6 mg/day" in calendar
    assert "aclofen" not in calendar
