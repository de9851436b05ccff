"""`posology fhir export CASE.json`: the history of a case as a FHIR R4 Bundle that reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casebuild import EXAMPLES
from posology.cli import run
from posology.interop.fhir_in import history_from_bundle
from posology.knowledge import load_pack
from posology.model import parse_event, read_case

CASES = sorted((EXAMPLES / "check").glob("*.json"))
SESSIONS = [p for p in CASES if p.name.startswith("botulinum-")]
"""Cases whose history holds injection sessions, which are not written as FHIR yet."""


@pytest.mark.parametrize("path", [p for p in CASES if p not in SESSIONS], ids=lambda p: p.name)
def test_fhir_export_writes_the_history_as_a_bundle_the_reader_reads_back_unchanged(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["fhir", "export", str(path)]) == 0
    bundle = json.loads(capsys.readouterr().out)
    case = read_case(path.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == len(case.history)
    back = [parse_event(e, "back") for e in history_from_bundle(bundle, load_pack())]
    assert sorted(back, key=lambda e: e.at) == sorted(case.history, key=lambda e: e.at)


def test_fhir_export_of_a_missing_file_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["fhir", "export", "no-such-case.json"]) == 2
    assert "no-such-case.json: no such file" in capsys.readouterr().err


def test_fhir_export_of_a_broken_case_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        '{"patient": {"age_years": 40, "diagnosis": "stroke"}, "history": 3,'
        ' "proposal": {"at": "2026-12-01T08:00", "kind": "oral-stop"}}'
    )
    assert run(["fhir", "export", str(case)]) == 2
    assert "input error: history" in capsys.readouterr().err


def test_an_injection_session_is_refused_by_fhir_export_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert SESSIONS
    for path in SESSIONS:
        assert run(["fhir", "export", str(path)]) == 2
        err = capsys.readouterr().err
        assert "history[0]: is an injection session" in err and "Traceback" not in err


def test_regression_fhir_export_wrote_every_event_as_baclofen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tizanidine regimen beside baclofen was written with baclofen's medication concept (and,
    once written as its own, failed on a meal rule without meal times)."""
    case = {
        "patient": {"age_years": 50, "diagnosis": "multiple-sclerosis"},
        "history": [
            {
                "at": "2026-11-01T08:00",
                "kind": "oral-regimen",
                "dose": "2 mg",
                "times_per_day": 3,
                "medicine": "tizanidine",
            },
            {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3},
        ],
        "proposal": {
            "at": "2026-12-01T08:00",
            "kind": "oral-regimen",
            "dose": "4 mg",
            "times_per_day": 3,
            "medicine": "tizanidine",
        },
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    assert run(["fhir", "export", str(path)]) == 0
    bundle = json.loads(capsys.readouterr().out)
    named = sorted(e["resource"]["medicationCodeableConcept"]["text"] for e in bundle["entry"])
    assert named == ["baclofen", "tizanidine"]
