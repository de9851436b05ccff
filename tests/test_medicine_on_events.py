"""Every EVENT names its medicine: each is judged by its own medicine's pack, against that
medicine's history, with the other medicines as what else the patient takes.

The packs here are the shipped baclofen pack and the fictional fictorol pack of
``test_new_medicine_pack``, with one more rule: an interaction with baclofen and with opioids
(its own quote, in its own source text). Both sit in one folder, the packs the readers know.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from posology.errors import InputError
from posology.knowledge import data_folder, load_pack
from posology.model import parse_case
from posology.model.finding import Finding
from posology.planning import parse_request, plan
from posology.rules import check, judge_history
from posology.serialize import event_json
from test_cli import posology
from test_new_medicine_pack import PACK, SOURCE
from test_new_medicine_plan import PACK as EXEMPLARIN
from test_new_medicine_plan import SOURCE as EXEMPLARIN_SOURCE

INTERACTION_LINE = (
    "Taking fictorol with baclofen or an opioid adds to drowsiness and low blood pressure.\n"
)
INTERACTION = """
  FIC-WITH:
    role: interaction.sedation
    kind: co-medication
    title: With baclofen or an opioid
    route: general
    engine: [check]
    statement: Drowsiness and low blood pressure add up with baclofen or an opioid.
    source: label
    quote: "Taking fictorol with baclofen or an opioid adds to drowsiness and low blood pressure."
    codes:
      medicines: [baclofen]
      medications: [opioid]
    texts:
      finding_present: "Fictorol with {other}: drowsiness and low blood pressure add up."
    severity:
      present: warning
"""
ADULT = {"age_years": 40, "diagnosis": "multiple-sclerosis"}
Doc = dict[str, Any]


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pack folder with the shipped packs, fictorol and exemplarin; the readers and the CLI
    use it."""
    folder = tmp_path / "packs"
    shutil.copytree(data_folder(), folder)
    (folder / "fictorol-label.txt").write_text(SOURCE + INTERACTION_LINE, encoding="utf-8")
    (folder / "fictorol.yaml").write_text(PACK + INTERACTION, encoding="utf-8")
    (folder / "exemplarin-label.txt").write_text(EXEMPLARIN_SOURCE, encoding="utf-8")
    (folder / "exemplarin.yaml").write_text(EXEMPLARIN, encoding="utf-8")
    monkeypatch.setenv("POSOLOGY_PACK_DIR", str(folder))
    monkeypatch.setenv("POSOLOGY_PACK_CACHE", "off")
    return folder


def oral(at: str, dose: str, times: int, medicine: str | None = None) -> Doc:
    doc: Doc = {"at": at, "kind": "oral-regimen", "dose": dose, "times_per_day": times}
    return doc if medicine is None else {**doc, "medicine": medicine}


def stop(at: str, medicine: str | None = None) -> Doc:
    doc: Doc = {"at": at, "kind": "oral-stop"}
    return doc if medicine is None else {**doc, "medicine": medicine}


def judged(history: list[Doc], proposal: Doc, patient: Doc = ADULT) -> list[tuple[str, str]]:
    """The findings on the proposal, judged by its medicine's pack, as (rule, severity)."""
    case = parse_case({"patient": patient, "history": history, "proposal": proposal})
    pack = load_pack(case.proposal.medicine)
    return said(check(case.patient, case.history, case.proposal, pack))


def said(findings: tuple[Finding, ...] | list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.severity.value) for f in findings]


BACLOFEN_30_TID = oral("2026-11-01T08:00", "30 mg", 3)


def test_an_event_that_names_no_medicine_is_baclofen(packs: Path) -> None:
    case = parse_case(
        {"patient": ADULT, "history": [], "proposal": oral("2026-12-01T08:00", "5 mg", 3)}
    )
    assert case.proposal.medicine == "baclofen"
    assert "medicine" not in event_json(case.proposal)  # every earlier document stays as it was


def test_a_named_medicine_is_written_back_and_read_again_unchanged(packs: Path) -> None:
    doc = oral("2026-12-01T08:00", "2 mg", 2, "fictorol")
    event = parse_case({"patient": ADULT, "history": [], "proposal": doc}).proposal
    again = parse_case({"patient": ADULT, "history": [], "proposal": event_json(event)}).proposal
    assert event_json(event)["medicine"] == "fictorol" and again == event


def test_a_medicine_no_pack_knows_is_refused_naming_the_field_and_the_known_ones(
    packs: Path,
) -> None:
    with pytest.raises(InputError) as refused:
        parse_case(
            {
                "patient": ADULT,
                "history": [oral("2026-12-01T08:00", "2 mg", 2, "tizanidin")],
                "proposal": oral("2026-12-02T08:00", "2 mg", 2),
            }
        )
    assert refused.value.field == "history[0].medicine"
    known = refused.value.message.split("one of ", 1)[1].split(", ")
    assert {"baclofen", "exemplarin", "fictorol"} <= set(known)


def test_the_other_medicine_is_an_interaction_not_a_step_of_this_one(packs: Path) -> None:
    """Fictorol started at its starting dose beside baclofen 90 mg/day: not a cut from 90 mg
    (no step or range finding from baclofen's doses), but the interaction, once."""
    proposal = oral("2026-12-01T08:00", "2 mg", 2, "fictorol")
    assert judged([BACLOFEN_30_TID], proposal) == [("FIC-WITH", "warning")]


def test_the_interaction_names_the_other_medicine_in_the_packs_words(packs: Path) -> None:
    case = parse_case(
        {
            "patient": ADULT,
            "history": [BACLOFEN_30_TID],
            "proposal": oral("2026-12-01T08:00", "2 mg", 2, "fictorol"),
        }
    )
    (finding,) = check(case.patient, case.history, case.proposal, load_pack("fictorol"))
    assert finding.message == "Fictorol with baclofen: drowsiness and low blood pressure add up."
    assert finding.citation.quote.startswith("Taking fictorol with baclofen or an opioid")


def test_a_medicine_stopped_before_is_no_interaction(packs: Path) -> None:
    history = [BACLOFEN_30_TID, stop("2026-11-20T08:00")]
    assert judged(history, oral("2026-12-01T08:00", "2 mg", 2, "fictorol")) == []


def test_a_medicine_started_after_the_proposal_is_no_interaction_yet(packs: Path) -> None:
    history = [oral("2026-12-05T08:00", "5 mg", 3)]
    assert judged(history, oral("2026-12-01T08:00", "2 mg", 2, "fictorol")) == []


def test_a_patient_medications_code_is_an_interaction_too(packs: Path) -> None:
    patient = {**ADULT, "medications": ["opioid"]}
    proposal = oral("2026-12-01T08:00", "2 mg", 2, "fictorol")
    assert judged([], proposal, patient) == [("FIC-WITH", "warning")]


def test_baclofen_is_judged_against_its_own_history_only(packs: Path) -> None:
    """Baclofen 5 mg three times a day after fictorol 24 mg/day is baclofen's first start,
    judged as one (no unit mix-up or step against fictorol's doses)."""
    first = judged([], oral("2026-12-01T08:00", "5 mg", 3))
    after_fictorol = judged(
        [oral("2026-11-01T08:00", "12 mg", 2, "fictorol")], oral("2026-12-01T08:00", "5 mg", 3)
    )
    assert after_fictorol == first


def test_a_proposal_judged_with_another_medicines_pack_is_refused(packs: Path) -> None:
    case = parse_case(
        {
            "patient": ADULT,
            "history": [],
            "proposal": oral("2026-12-01T08:00", "2 mg", 2, "fictorol"),
        }
    )
    with pytest.raises(InputError) as refused:
        check(case.patient, case.history, case.proposal, load_pack("baclofen"))
    assert refused.value.field == "proposal.medicine"


def test_a_mixed_history_is_judged_event_by_event_as_check_judges_it(packs: Path) -> None:
    docs = [
        oral("2026-11-01T08:00", "5 mg", 3),
        oral("2026-11-02T08:00", "2 mg", 2, "fictorol"),
        oral("2026-11-04T08:00", "10 mg", 3),
        stop("2026-11-06T08:00"),
        oral("2026-11-10T08:00", "4 mg", 2, "fictorol"),
        oral("2026-11-10T08:00", "4 mg", 2, "fictorol"),
    ]
    case = parse_case({"patient": ADULT, "history": docs, "proposal": stop("2026-12-01T08:00")})
    ordered = list(case.history)
    for pack in (load_pack("baclofen"), load_pack("fictorol")):
        judged_all = judge_history(case.patient, ordered, pack)
        expected = [
            (event, check(case.patient, ordered[:i], event, pack))
            for i, event in enumerate(ordered)
            if event.medicine == pack.medicine
        ]
        assert list(judged_all) == expected
    fictorol_findings = [
        said(f) for e, f in judge_history(case.patient, ordered, load_pack("fictorol"))
    ]
    assert ("FIC-WITH", "warning") in fictorol_findings[0]  # baclofen was being taken
    assert ("FIC-WITH", "warning") not in fictorol_findings[1]  # stopped on 6 November


def test_the_cli_judges_the_proposal_by_its_medicines_pack(packs: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            {
                "patient": ADULT,
                "history": [BACLOFEN_30_TID],
                "proposal": oral("2026-12-01T08:00", "30 mg", 2, "fictorol"),
            }
        )
    )
    result = posology("check", str(case), "--format", "json")
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert answer["pack"]["medicine"] == "fictorol"
    assert {f["rule"] for f in answer["findings"]} >= {"FIC-MAX", "FIC-WITH"}


def test_the_cli_refuses_an_unknown_medicine_with_exit_2(packs: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            {
                "patient": ADULT,
                "history": [],
                "proposal": oral("2026-12-01T08:00", "2 mg", 2, "nomedicine"),
            }
        )
    )
    result = posology("check", str(case))
    assert result.returncode == 2
    assert "proposal.medicine" in result.stderr and "Traceback" not in result.stderr


def test_a_plan_is_made_by_the_goals_medicines_pack_beside_the_other(packs: Path) -> None:
    """An exemplarin titration beside baclofen 90 mg/day: every step is exemplarin's, and the
    plan is the one made with no baclofen at all (baclofen's doses are not exemplarin's)."""

    def titration(history: list[Doc]) -> Any:
        goal = {"kind": "oral-titration", "target_daily_dose": "16 mg", "medicine": "exemplarin"}
        start = "2026-12-01T08:00"
        request = {"patient": ADULT, "history": history, "goal": goal, "start": start}
        return plan(parse_request(request), load_pack("exemplarin"))

    beside, alone = titration([BACLOFEN_30_TID]), titration([])
    assert beside.made, beside.findings
    assert {s.event.medicine for s in beside.steps} == {"exemplarin"}
    assert [s.event for s in beside.steps] == [s.event for s in alone.steps]


def test_a_goal_of_a_route_its_medicine_has_no_rules_for_is_refused(packs: Path) -> None:
    with pytest.raises(InputError) as refused:
        parse_request(
            {
                "patient": ADULT,
                "history": [],
                "goal": {"kind": "it-screening", "medicine": "fictorol"},
                "start": "2026-12-01T08:00",
            }
        )
    assert refused.value.field == "goal.medicine"


def test_a_plan_of_the_default_medicine_ignores_the_other_medicines_doses(packs: Path) -> None:
    """A baclofen taper with only fictorol taken has nothing of baclofen to taper."""
    request = parse_request(
        {
            "patient": ADULT,
            "history": [oral("2026-11-01T08:00", "12 mg", 2, "fictorol")],
            "goal": {"kind": "oral-taper"},
            "start": "2026-12-01T08:00",
        }
    )
    assert not plan(request, load_pack()).made


def test_regression_two_medicines_started_at_one_instant_were_refused_as_contradicting() -> None:
    """Tizanidine and baclofen begun the same morning are two regimens, not one regimen recorded
    twice with different doses (the reader used to refuse the second)."""
    case = parse_case(
        {
            "patient": ADULT,
            "history": [
                oral("2026-11-01T08:00", "2 mg", 3, "tizanidine"),
                oral("2026-11-01T08:00", "10 mg", 3),
            ],
            "proposal": oral("2026-12-01T08:00", "4 mg", 3, "tizanidine"),
        }
    )
    assert sorted(e.medicine for e in case.history) == ["baclofen", "tizanidine"]
    with pytest.raises(InputError) as refused:  # one medicine's two doses at one instant
        parse_case(
            {
                "patient": ADULT,
                "history": [
                    oral("2026-11-01T08:00", "2 mg", 3, "tizanidine"),
                    oral("2026-11-01T08:00", "4 mg", 3, "tizanidine"),
                ],
                "proposal": oral("2026-12-01T08:00", "4 mg", 3, "tizanidine"),
            }
        )
    assert refused.value.field == "history[1]" and "contradicts" in refused.value.message
