"""Regressions found by looking at a patient's page with baclofen, tizanidine and a botulinum
toxin session on it (the clinic's screenshot, tests/web): the dose-change limits took the
tizanidine regimen for the baclofen dose in force, a regimen of one dose read "1 doses a day",
and a session's line did not say which muscles were injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from posology.export.describe import describe
from posology.knowledge import load_pack
from posology.model import parse_event, parse_patient
from posology.services.limits import change_limits
from posology.units import Quantity

NOW = datetime(2026, 12, 4, 20, 0)


def _event(days_ago: int, **fields: object) -> object:
    at = (NOW - timedelta(days=days_ago)).isoformat(timespec="minutes")
    return parse_event({"at": at, **fields}, "event")


def test_change_limits_of_baclofen_ignore_a_tizanidine_regimen_started_later() -> None:
    pack = load_pack()
    patient = parse_patient({"age_years": 46, "diagnosis": "stroke"})
    history = [
        _event(40, kind="oral-regimen", dose="10 mg", times_per_day=3),
        _event(30, kind="oral-regimen", medicine="tizanidine", dose="2 mg", times_per_day=1),
    ]
    limits = change_limits(patient, history, pack, NOW, UTC)
    assert limits.oral is not None
    assert limits.oral.daily_dose == Quantity.of(30, "mg/d")
    titration = pack.role("oral.titration")
    assert limits.oral.largest == Quantity.of(30, "mg/d") + titration.quantity("max_step")
    # the earliest increase counts from baclofen's own last change, 40 days ago (long past),
    # not from tizanidine's start 30 days ago
    waited = timedelta(days=float(titration.quantity("min_interval").in_("d")))
    earliest = limits.oral.earliest_increase.replace(tzinfo=None)
    assert NOW - timedelta(days=40) + waited <= earliest < NOW - timedelta(days=30)


def test_change_limits_of_baclofen_are_none_when_only_tizanidine_is_taken() -> None:
    pack = load_pack()
    patient = parse_patient({"age_years": 46, "diagnosis": "stroke"})
    history = [_event(30, kind="oral-regimen", medicine="tizanidine", dose="2 mg", times_per_day=1)]
    assert change_limits(patient, history, pack, NOW, UTC).oral is None


def test_a_regimen_of_one_dose_reads_one_dose_a_day() -> None:
    one = _event(1, kind="oral-regimen", medicine="tizanidine", dose="2 mg", times_per_day=1)
    three = _event(1, kind="oral-regimen", dose="5 mg", times_per_day=3)
    assert describe(one) == "Oral tizanidine 2 mg/day (1 dose a day)"  # type: ignore[arg-type]
    assert describe(three) == "Oral baclofen 15 mg/day (3 doses a day)"  # type: ignore[arg-type]


def test_a_session_line_never_adds_one_products_units_to_anothers_and_names_each_muscle() -> None:
    session = _event(
        1,
        kind="injection-session",
        product="onabotulinumtoxinA",
        injections=[
            {"muscle": "biceps-brachii", "dose": "100 U", "sites": 4, "side": "left"},
            {"muscle": "soleus", "dose": "50 U"},
            {"muscle": "gastrocnemius", "dose": "500 abobotulinumtoxinA U", "sites": 2},
        ],
    )
    assert describe(session) == (  # type: ignore[arg-type]
        "Injection session: onabotulinumtoxinA (BOTOX), 150 Units in 3 muscles, a dose written "
        "in abobotulinumtoxinA (Dysport) Units"
    )
    line = describe(session, each_muscle=True)  # type: ignore[arg-type]
    assert line.startswith("Injection session: onabotulinumtoxinA (BOTOX), 150 Units in 3 ")
    assert "(Dysport) Units (left biceps" in line
    assert "left biceps brachii 100 Units at 4 sites" in line
    assert "soleus 50 Units at 1 site;" in line
    assert "gastrocnemius 500 Units of abobotulinumtoxinA (Dysport) at 2 sites" in line
