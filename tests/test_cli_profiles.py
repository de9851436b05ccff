"""Choosing the jurisdiction profile per call (``--profile``), and every answer naming the rules
it was worked out with: a profile changes numbers, so a reader must see which one judged."""

from __future__ import annotations

import json

from posology.knowledge import load_pack, shipped_profiles
from test_cli import posology


def _oral_case(daily_mg: int) -> str:
    """An adult on 60 mg a day asking for ``daily_mg`` a day, four doses, three weeks on."""
    return json.dumps(
        {
            "patient": {"age_years": 45, "diagnosis": "multiple-sclerosis"},
            "history": [
                {
                    "at": "2026-10-01T08:00",
                    "kind": "oral-regimen",
                    "dose": "15 mg",
                    "times_per_day": 4,
                }
            ],
            "proposal": {
                "at": "2026-11-20T08:00",
                "kind": "oral-regimen",
                "dose": f"{daily_mg / 4:g} mg",
                "times_per_day": 4,
            },
        }
    )


def _rules_of(stdout: str) -> set[str]:
    return {f["rule"] for f in json.loads(stdout)["findings"]}


def test_us_profile_applies_its_lower_oral_maximum_where_the_default_does_not() -> None:
    # 90 mg/d: within the source page's 100 mg/d outpatient maximum, above the US labels' 80
    default = posology("check", "-", "--format", "json", stdin=_oral_case(90))
    us = posology("check", "-", "--format", "json", "--profile", "us", stdin=_oral_case(90))
    assert "PO-MAX" not in _rules_of(default.stdout), default.stdout
    assert "PO-MAX" in _rules_of(us.stdout), us.stdout
    assert us.returncode == 1


def test_every_check_answer_names_its_medicine_and_profile() -> None:
    us = posology("check", "-", "--format", "json", "--profile", "us", stdin=_oral_case(60))
    assert json.loads(us.stdout)["pack"] == {
        "medicine": "baclofen",
        "profile": "us",
        "title": load_pack("baclofen", "us").title,
    }
    text = posology("check", "-", "--profile", "us", stdin=_oral_case(60))
    assert "jurisdiction profile: United States (US labels)" in text.stdout.splitlines()[1]
    default = posology("check", "-", stdin=_oral_case(60))
    assert (
        "jurisdiction profile: as on the source page (UK labels)" in default.stdout.splitlines()[1]
    )


def test_unknown_profile_exits_2_naming_what_is_shipped() -> None:
    result = posology("check", "-", "--profile", "uk", stdin=_oral_case(60))
    assert result.returncode == 2
    assert "'uk'" in result.stderr
    assert "shipped: baclofen (default, us)" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_medicine_for_rules_exits_2() -> None:
    result = posology("rules", "--medicine", "dantrolene")
    assert result.returncode == 2
    assert "'dantrolene'" in result.stderr and "shipped:" in result.stderr


def test_explain_and_rules_show_the_profile_numbers() -> None:
    us = posology("explain", "PO-MAX", "--profile", "us", "--format", "json")
    default = posology("explain", "PO-MAX", "--format", "json")
    assert (
        json.loads(us.stdout)["numbers"]["max_daily_outpatient"]
        != json.loads(default.stdout)["numbers"]["max_daily_outpatient"]
    )
    listing = posology("rules", "--route", "oral", "--profile", "us")
    assert listing.returncode == 0
    assert "jurisdiction profile: United States (US labels)" in listing.stdout.splitlines()[0]


def test_shipped_profiles_lists_the_default_first() -> None:
    assert shipped_profiles()["baclofen"][0] == "default"
    assert "us" in shipped_profiles()["baclofen"]
