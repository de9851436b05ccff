"""`posology plan` as a user runs it: every goal's example, every output format."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from casebuild import EXAMPLES
from posology.model import parse_event
from test_cli import posology

PLANS = sorted((EXAMPLES / "plan").glob("*.json"))


def test_there_is_an_example_for_every_goal() -> None:
    goals = {json.loads(p.read_text())["goal"]["kind"] for p in PLANS}
    assert goals == {
        "oral-titration",
        "oral-taper",
        "it-screening",
        "it-titration",
        "it-refill",
        "it-flex",
        "it-tolerance-holiday",
        "it-taper",
        "injection-session",
    }


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.stem)
def test_each_example_plan_is_made_and_its_json_steps_are_contract_events(path) -> None:  # type: ignore[no-untyped-def]
    result = posology("plan", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr + result.stdout
    answer = json.loads(result.stdout)
    assert answer["steps"] and "findings" in answer
    for i, step in enumerate(answer["steps"]):
        assert set(step) >= {"event", "rules", "instructions", "condition"}
        parse_event(step["event"], f"steps[{i}].event")  # reads back as a valid EVENT
    assert not [f for f in answer["findings"] if f["severity"] in ("error", "critical")]


def test_text_schedule_shows_dates_doses_times_and_rules() -> None:
    result = posology("plan", str(EXAMPLES / "plan" / "oral-titration.json"))
    assert result.returncode == 0
    out = result.stdout
    assert "2026-12-01 08:00  Oral baclofen 15 mg/day" in out
    assert "2026-12-10 08:00  Oral baclofen 60 mg/day" in out
    assert "at 13:00" in out and "PO-TITRATION" in out and "does not replace it" in out


def test_ics_reparses_with_an_event_and_a_reminder_per_step() -> None:
    from icalendar import Calendar

    result = subprocess_bytes("plan", str(EXAMPLES / "plan" / "it-refill.json"), "--format", "ics")
    cal = Calendar.from_ical(result)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == 3
    starts = sorted(e.decoded("dtstart") for e in events)
    assert starts[0] == datetime(2026, 12, 11, 9, 0)
    assert all(any(a.name == "VALARM" for a in e.subcomponents) for e in events)
    assert any("low-reservoir alarm" in str(e.get("summary")) for e in events)


def subprocess_bytes(*args: str) -> bytes:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "posology.cli", *args], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_csv_has_a_row_per_step() -> None:
    result = posology("plan", str(EXAMPLES / "plan" / "oral-taper.json"), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["daily_dose"] for r in rows[:3]] == ["45 mg/d", "30 mg/d", "15 mg/d"]
    assert rows[-1]["kind"] == "oral-stop"


def test_a_plan_that_cannot_be_made_exits_1_with_findings() -> None:
    request = {
        "patient": {"age_years": 40, "diagnosis": "stroke"},
        "goal": {"kind": "it-titration"},
        "start": "2026-12-01T08:00",
    }
    result = posology("plan", "-", "--format", "json", stdin=json.dumps(request))
    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["steps"] == [] and answer["findings"][0]["rule"] == "IT-SCREEN-REQUIRED"


@pytest.mark.parametrize(
    ("goal", "fragment"),
    [
        ({"kind": "oral-titrate"}, "goal.kind"),
        ({"kind": "it-flex"}, "goal.night_onset"),
        ({"kind": "oral-titration", "target_daily_dose": "60 mL"}, "goal.target_daily_dose"),
        ({"kind": "oral-titration", "nightonly": True}, "did you mean 'night_only'"),
    ],
)
def test_bad_requests_exit_2(goal: dict, fragment: str) -> None:  # type: ignore[type-arg]
    request = {
        "patient": {"age_years": 40, "diagnosis": "stroke"},
        "goal": goal,
        "start": "2026-12-01T08:00",
    }
    result = posology("plan", "-", stdin=json.dumps(request))
    assert result.returncode == 2 and fragment in result.stderr
    assert "Traceback" not in result.stderr
