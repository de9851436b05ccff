"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from casebuild import EXAMPLES

CHECK = EXAMPLES / "check"


def posology(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posology.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_ok_exits_0_and_prints_the_verdict() -> None:
    result = posology("check", str(CHECK / "oral-titration-next-step.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Verdict: OK")
    assert "does not replace it" in result.stdout


def test_check_error_exits_1_with_rule_message_and_quote() -> None:
    result = posology("check", str(CHECK / "oral-above-maximum.json"))
    assert result.returncode == 1
    assert "PO-MAX" in result.stdout
    assert "unless the patient is in hospital" in " ".join(result.stdout.split())


def test_check_json_follows_the_contract() -> None:
    result = posology("check", str(CHECK / "it-test-dose-in-mg.json"), "--format", "json")
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["verdict"] == "critical"
    first = answer["findings"][0]
    assert first["rule"] == "SUP-UNIT-MIXUP" and first["severity"] == "critical"
    assert set(first["citation"]) >= {"source", "quote"}


def test_check_reads_standard_input() -> None:
    text = (CHECK / "oral-abrupt-stop.json").read_text()
    result = posology("check", "-", "--format", "json", stdin=text)
    assert result.returncode == 1
    assert json.loads(result.stdout)["findings"][0]["rule"] == "STOP-GRADUAL"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{not json", "not valid JSON"),
        (
            '{"patient": {"age_years": 40, "diagnosis": "stroke", "wieght_kg": 70}, '
            '"proposal": {"at": "2026-12-01T08:00", "kind": "oral-stop"}}',
            "patient.wieght_kg",
        ),
        (
            '{"patient": {"age_years": 40, "diagnosis": "stroke"}, '
            '"proposal": {"at": "2026-12-01T08:00", "kind": "it-test-dose", '
            '"dose": "Infinity ug"}}',
            "proposal.dose",
        ),
        (
            '{"patient": {"age_years": 40, "diagnosis": "stroke"}, '
            '"proposal": {"at": "2026-12-01T08:00", "kind": "it-test-dose", "dose": 50}}',
            "proposal.dose",
        ),
    ],
)
def test_unusable_input_exits_2_with_one_line_and_no_traceback(
    document: str, fragment: str
) -> None:
    result = posology("check", "-", stdin=document)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_file_and_bad_options_exit_2(tmp_path: Path) -> None:
    assert posology("check", str(tmp_path / "nope.json")).returncode == 2
    bad = posology("check", str(CHECK / "oral-abrupt-stop.json"), "--format", "xml")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    binary = tmp_path / "case.json"
    binary.write_bytes(b"\xff\xfe\x00")
    result = posology("check", str(binary))
    assert result.returncode == 2 and "UTF-8" in result.stderr


def test_explain_shows_numbers_and_quote_and_unknown_ids_exit_2() -> None:
    result = posology("explain", "PO-DAILY-RANGE")
    assert result.returncode == 0
    assert "From 5 To 33.333 mg 3 time(s) per day every day" in result.stdout
    assert "15 mg/day to 100 mg/day" in result.stdout
    unknown = posology("explain", "PO-MAXX")
    assert unknown.returncode == 2 and "did you mean PO-MAX" in unknown.stderr


def test_explain_json() -> None:
    rule = json.loads(posology("explain", "IT-TITR-STEP", "--format", "json").stdout)
    assert rule["numbers"]["spinal"] == {"min": "10 %", "max": "30 %"}
    assert rule["severity"] == {"above": "error"}


def test_rules_lists_every_rule_and_filters_by_route() -> None:
    everything = json.loads(posology("rules", "--format", "json").stdout)
    assert len(everything) == 68
    assert all({"id", "source", "quote", "evidence"} <= set(r) for r in everything)
    oral = json.loads(posology("rules", "--route", "oral", "--format", "json").stdout)
    routes = {r["route"] for r in oral}
    assert routes == {"oral", "general"}
    assert not any(r["id"].startswith("IT-") for r in oral)
    text = posology("rules", "--route", "intrathecal")
    assert "IT-TITR-STEP" in text.stdout and "PO-MAX" not in text.stdout
