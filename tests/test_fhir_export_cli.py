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


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
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
