"""A new medicine is a pack, not code: a fictional oral medicine built from existing kinds.

The pack below is written here, with its own small source text (quotes are verified verbatim
against it at load), and uses only kinds the checker already implements: a dose range, a start,
a step limit with its interval, a daily maximum. Nothing in ``src/`` names it; ``check`` judges
it with the same code that judges baclofen, with this pack's numbers, words and rule IDs. It
fills none of baclofen's other roles (no population rule, no kidney rule, no pump, no unit
mix-up), and every kind of proposal still checks cleanly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posology.errors import InputError, PackError
from posology.frozen import replace
from posology.knowledge import Pack, load_pack_file
from posology.model import parse_case
from posology.model.finding import Finding
from posology.rules import check, judge_history

SOURCE = """Fictorol tablets: how to take them (a fictional label written for a test).

Adults take 4 to 24 mg a day, in 2 divided doses.
Start with 2 mg twice a day.
Raise the daily dose by at most 4 mg, and no sooner than 7 days after the last change.
Never take more than 24 mg a day.
"""

PACK = """\
format: posology-pack/1
medicine: fictorol
profile: default
title: Fictorol, a fictional oral medicine (test pack)

sources:
  label:
    name: Fictorol label (fictional)
    file: fictorol-label.txt
    evidence: label

rules:
  FIC-RANGE:
    role: oral.daily-range
    kind: dose-range
    title: Daily range
    route: oral
    engine: [check]
    statement: 4 to 24 mg a day in 2 doses.
    source: label
    quote: "Adults take 4 to 24 mg a day, in 2 divided doses."
    numbers:
      daily: 4 mg/d to 24 mg/d
      administrations_per_day: 2
    texts:
      finding_below: "Fictorol {daily} is below its range ({range})."
      finding_above_per_administration: "One dose of {dose} is above {ceiling}
        ({administrations} doses within {maximum})."
    severity:
      below: info
      above_per_administration: warning

  FIC-START:
    role: oral.start
    kind: start-dose
    title: Starting dose
    route: oral
    engine: [check]
    statement: Start with 2 mg twice a day.
    source: label
    quote: "Start with 2 mg twice a day."
    numbers:
      start_daily: 4 mg/d
      start_dose: 2 mg
      administrations_per_day: 2
      restart_window: 2 d
    texts:
      finding_above: "Fictorol starts at {daily}; start at {start}
        ({dose} {administrations} times a day)."
      finding_restart: "Fictorol restarts at {daily} {gap} after a stop (before: {before})."
      finding_restart_above: "Fictorol restarts at {daily} {gap} after a stop,
        above the {before} before it."
    severity:
      above: warning
      restart: info
      restart_above: warning

  FIC-STEP:
    role: oral.titration
    kind: step-limit
    title: Pace of increases
    route: oral
    engine: [check]
    statement: At most +4 mg a day, at least 7 days apart.
    source: label
    quote: "Raise the daily dose by at most 4 mg, and no sooner than 7 days after the last change."
    numbers:
      max_step: 4 mg/d
      min_interval: 7 d
    texts:
      finding_step_too_large: "Fictorol rises by {step}; at most {max_step} a step."
      finding_too_soon: "Fictorol rises {elapsed} after the last change; wait {interval}."
    severity:
      too_fast: warning

  FIC-MAX:
    role: oral.max
    kind: daily-maximum
    title: Daily maximum
    route: oral
    engine: [check]
    statement: Never more than 24 mg a day.
    source: label
    quote: "Never take more than 24 mg a day."
    numbers:
      max_daily_outpatient: 24 mg/d
    texts:
      finding_outpatient: "Fictorol {daily} is above its {maximum} maximum."
      finding_inpatient: "Fictorol {daily} is above its {maximum} maximum (in hospital)."
      finding_reducing: "Fictorol {daily} is still above its {maximum} maximum."
    severity:
      outpatient: error
      inpatient: warning
      reducing: warning
"""

IDS = {"FIC-RANGE", "FIC-START", "FIC-STEP", "FIC-MAX"}
ADULT = {"age_years": 40, "diagnosis": "multiple-sclerosis"}

Doc = dict[str, Any]


@pytest.fixture
def fictorol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pack:
    monkeypatch.setenv("POSOLOGY_PACK_CACHE", "off")  # a test pack: nothing to keep
    monkeypatch.setenv("POSOLOGY_PACK_DIR", str(tmp_path))  # its folder is the packs loaded
    (tmp_path / "fictorol-label.txt").write_text(SOURCE, encoding="utf-8")
    path = tmp_path / "fictorol.yaml"
    path.write_text(PACK, encoding="utf-8")
    return load_pack_file(path)


def oral(at: str, dose: str, times: int = 2) -> Doc:
    return {"at": at, "kind": "oral-regimen", "dose": dose, "times_per_day": times}


def of(pack: Pack, doc: Doc) -> Doc:
    """An EVENT of the pack's medicine."""
    return {**doc, "medicine": pack.medicine}


def judged(pack: Pack, history: list[Doc], proposal: Doc, patient: Doc = ADULT) -> list[Finding]:
    """The findings on ``proposal`` after ``history``, every event of the pack's medicine."""
    case = parse_case(
        {
            "patient": patient,
            "history": [of(pack, e) for e in history],
            "proposal": of(pack, proposal),
        }
    )
    return list(check(case.patient, case.history, case.proposal, pack))


def said(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.severity.value) for f in findings]


def test_the_pack_loads_with_its_own_rules_and_roles(fictorol: Pack) -> None:
    assert fictorol.medicine == "fictorol"
    assert set(fictorol.rules) == IDS
    assert fictorol.role("oral.max").id == "FIC-MAX"
    assert not fictorol.has_role("indication.population")


def test_a_start_above_the_packs_starting_dose_is_its_start_rule(fictorol: Pack) -> None:
    found = judged(fictorol, [], oral("2026-12-01T08:00", "3 mg"))
    assert said(found) == [("FIC-START", "warning")]
    assert (
        found[0].message == "Fictorol starts at 6 mg/day; start at 4 mg/day (2 mg 2 times a day)."
    )
    assert found[0].citation.quote == "Start with 2 mg twice a day."
    assert found[0].citation.source == "Fictorol label (fictional)"


def test_the_starting_dose_itself_is_quiet(fictorol: Pack) -> None:
    assert judged(fictorol, [], oral("2026-12-01T08:00", "2 mg")) == []


def test_a_rise_too_large_and_too_soon_by_the_packs_numbers(fictorol: Pack) -> None:
    history = [oral("2026-12-01T08:00", "2 mg")]
    found = judged(fictorol, history, oral("2026-12-04T08:00", "5 mg"))  # +6 mg/d after 3 d
    assert said(found) == [("FIC-STEP", "warning"), ("FIC-STEP", "warning")]
    assert [f.message for f in found] == [
        "Fictorol rises by 6 mg/day; at most 4 mg/day a step.",
        "Fictorol rises 3 days after the last change; wait 7 days.",
    ]


def test_a_rise_at_the_packs_limits_is_quiet(fictorol: Pack) -> None:
    """+4 mg/d after exactly 7 days: baclofen's ladder (+15 mg/d every 3 days) would let a
    larger, sooner rise pass; this pack's own numbers decide."""
    history = [oral("2026-12-01T08:00", "2 mg")]
    assert judged(fictorol, history, oral("2026-12-08T08:00", "4 mg")) == []
    found = judged(fictorol, history, oral("2026-12-08T07:59", "4 mg"))
    assert said(found) == [("FIC-STEP", "warning")]


def test_above_the_maximum_most_severe_first_then_the_packs_order(fictorol: Pack) -> None:
    history = [oral("2026-11-01T08:00", "10 mg"), oral("2026-11-10T08:00", "12 mg")]
    found = judged(fictorol, history, oral("2026-11-20T08:00", "13 mg"))  # 26 mg/d, +2
    assert said(found) == [("FIC-MAX", "error"), ("FIC-RANGE", "warning")]
    assert found[0].message == "Fictorol 26 mg/day is above its 24 mg/day maximum."
    assert found[1].message == "One dose of 13 mg is above 12 mg (2 doses within 24 mg/day)."


def test_a_reduction_still_above_the_maximum_and_a_dose_below_the_range(fictorol: Pack) -> None:
    history = [oral("2026-11-01T08:00", "14 mg")]
    found = judged(fictorol, history, oral("2026-11-20T08:00", "12.5 mg"))  # 25 mg/d, lower
    assert ("FIC-MAX", "warning") in said(found)
    low = judged(fictorol, [oral("2026-11-01T08:00", "2 mg")], oral("2026-11-20T08:00", "1 mg"))
    assert said(low) == [("FIC-RANGE", "info")]


def test_a_restart_within_the_packs_window_is_judged_against_the_dose_before(
    fictorol: Pack,
) -> None:
    history = [
        oral("2026-11-01T08:00", "4 mg"),
        {"at": "2026-11-20T08:00", "kind": "oral-stop"},
    ]
    within = judged(fictorol, history, oral("2026-11-22T08:00", "5 mg"))  # 2 d, above 8 mg/d
    assert said(within) == [("FIC-START", "warning")]
    assert within[0].message.startswith("Fictorol restarts at 10 mg/day 2 days after a stop")
    after = judged(fictorol, history, oral("2026-11-22T08:01", "5 mg"))  # a new start
    assert said(after) == [("FIC-START", "warning")]
    assert after[0].message.startswith("Fictorol starts at 10 mg/day")


def test_a_child_is_judged_by_the_same_rules_without_a_population_rule(fictorol: Pack) -> None:
    child = {"age_years": 10, "diagnosis": "cerebral-palsy", "weight_kg": 30}
    assert said(judged(fictorol, [], oral("2026-12-01T08:00", "3 mg"), child)) == [
        ("FIC-START", "warning")
    ]


def test_a_stop_the_pack_has_no_gradual_stop_rule_for_checks_cleanly(fictorol: Pack) -> None:
    history = [oral("2026-12-01T08:00", "2 mg")]
    assert judged(fictorol, history, {"at": "2026-12-10T08:00", "kind": "oral-stop"}) == []


INTRATHECAL = pytest.mark.parametrize(
    "proposal",
    [
        {"at": "2026-12-10T08:00", "kind": "it-test-dose", "dose": "50 ug"},
        {"at": "2026-12-10T08:00", "kind": "it-infusion", "daily_dose": "100 ug/d"},
        {"at": "2026-12-10T08:00", "kind": "pump-implant"},
        {
            "at": "2026-12-10T08:00",
            "kind": "pump-refill",
            "concentration": "500 ug/mL",
            "volume_ml": 20,
        },
    ],
    ids=lambda p: p["kind"],
)


@INTRATHECAL
def test_an_event_of_a_route_the_pack_has_no_rules_for_is_refused_by_the_reader(
    fictorol: Pack, proposal: Doc
) -> None:
    """Judged by no rule, an intrathecal event of a tablet-only medicine would look safe: the
    reader refuses it, naming the field and what the pack has."""
    history = [oral("2026-12-01T08:00", "2 mg")]
    with pytest.raises(InputError) as refused:
        judged(fictorol, history, proposal)
    assert refused.value.field == "proposal.medicine"
    assert "fictorol has oral rules, none for an intrathecal event" in refused.value.message


@INTRATHECAL
def test_the_checker_given_such_an_event_anyway_says_nothing_and_does_not_crash(
    fictorol: Pack, proposal: Doc
) -> None:
    """No screening and no pump in this pack: no crash on a missing baclofen role."""
    case = parse_case(
        {
            "patient": {**ADULT, "pump": {"programmable": True, "reservoir_ml": 20}},
            "history": [],
            "proposal": proposal,
        }
    )
    history = parse_case(
        {
            "patient": ADULT,
            "history": [of(fictorol, oral("2026-12-01T08:00", "2 mg"))],
            "proposal": of(fictorol, oral("2026-12-02T08:00", "2 mg")),
        }
    ).history
    event = replace(case.proposal, medicine="fictorol")
    assert check(case.patient, history, event, fictorol) == ()


def test_a_whole_history_is_judged_with_the_packs_rule_ids(fictorol: Pack) -> None:
    case = parse_case(
        {
            "patient": ADULT,
            "history": [
                of(fictorol, oral("2026-12-01T08:00", "3 mg")),
                of(fictorol, oral("2026-12-03T08:00", "6 mg")),
                of(fictorol, oral("2026-12-20T08:00", "13 mg")),
            ],
            "proposal": of(fictorol, oral("2026-12-30T08:00", "2 mg")),
        }
    )
    events = judge_history(case.patient, case.history, fictorol)
    rules = [[f.rule for f in findings] for _, findings in events]
    assert rules == [
        ["FIC-START"],
        ["FIC-STEP", "FIC-STEP"],
        ["FIC-MAX", "FIC-RANGE", "FIC-STEP"],
    ]
    assert {r for found in rules for r in found} <= IDS


def test_a_check_rule_of_a_kind_no_code_implements_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule the pack says is checked is never skipped in silence."""
    monkeypatch.setenv("POSOLOGY_PACK_CACHE", "off")
    (tmp_path / "fictorol-label.txt").write_text(SOURCE, encoding="utf-8")
    path = tmp_path / "fictorol.yaml"
    path.write_text(PACK.replace("kind: daily-maximum", "kind: daily-maximun"), encoding="utf-8")
    pack = load_pack_file(path)
    with pytest.raises(PackError) as refused:
        judged(pack, [], oral("2026-12-01T08:00", "2 mg"))
    assert (refused.value.rule, refused.value.field) == ("FIC-MAX", "kind")
    assert "daily-maximum" in refused.value.message


def test_no_code_names_the_new_medicine() -> None:
    """The medicine above exists only in this test: nothing under src/ knows it."""
    src = Path(__file__).parent.parent / "src" / "posology"
    named = [
        p.relative_to(src)
        for p in src.rglob("*.py")
        if "fictorol" in (text := p.read_text("utf-8")).lower() or "FIC-" in text
    ]
    assert named == []
