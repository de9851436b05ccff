"""Every plan, for generated patients and histories, replays through the checker cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.errors import InputError
from posology.knowledge import load_pack
from posology.model import Finding, parse_event
from posology.planning import GOALS_MADE, parse_request, plan, replay
from posology.serialize import event_json
from strategies import KINDS, clock, event_body, oral_regimens, patients, refills

PACK = load_pack()
START = datetime(2026, 12, 1, 8, 0)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


NEEDS_INFUSION = ("it-refill", "it-flex", "it-taper", "it-tolerance-holiday")


@st.composite
def histories(draw: Any, goal: str) -> list[dict[str, Any]]:
    """A history that fits the goal most of the time, and sometimes one that does not."""
    at = START - timedelta(days=draw(st.integers(250, 400)))
    fits = draw(st.integers(0, 9)) > 0
    events: list[dict[str, Any]] = []
    if draw(st.booleans()) or (goal == "oral-taper" and fits):
        events.append({"at": iso(at), "kind": "oral-regimen", **draw(oral_regimens())})
    if not goal.startswith("it-") or (goal == "it-screening" and fits):
        return events
    at += timedelta(days=30)
    dose = draw(st.sampled_from(["25 ug", "50 ug", "75 ug", "100 ug"]))
    effect = fits or draw(st.booleans())
    response = (
        {"effect": True, "duration_h": draw(st.integers(2, 16))} if effect else {"effect": False}
    )
    events.append({"at": iso(at), "kind": "it-test-dose", "dose": dose, "response": response})
    if effect and goal in NEEDS_INFUSION:
        at += timedelta(days=7)
        events.append(
            {
                "at": iso(at),
                "kind": "it-infusion",
                "daily_dose": f"{draw(st.integers(30, 1300))} ug/d",
            }
        )
        at += timedelta(days=30)
        events.append({"at": iso(at), "kind": "it-stable"})
        if draw(st.booleans()):
            at = START - timedelta(days=draw(st.integers(1, 60)))
            events.append({"at": iso(at), "kind": "pump-refill", **draw(refills())})
    return events


def goal_options(kind: str) -> Any:
    """Every option the reader accepts for the goal ``kind``, each present or absent."""
    options: dict[str, Any] = {
        "oral-titration": {
            "target_daily_dose": st.integers(5, 150).map(lambda n: f"{n} mg"),
            "night_only": st.booleans(),
            "form": st.sampled_from(["tablet", "solution"]),
        },
        "oral-taper": {"form": st.sampled_from(["tablet", "solution"])},
        "it-titration": {"target_daily_dose": st.integers(25, 1500).map(lambda n: f"{n} ug/d")},
        "it-refill": {
            "concentration": st.sampled_from(["500 ug/mL", "1000 ug/mL", "2000 ug/mL"]),
            "alarm_ml": st.integers(1, 4),
        },
        "it-flex": {"night_end": clock},
    }
    optional = st.fixed_dictionaries({}, optional=options.get(kind, {}))
    if kind == "it-flex":
        return st.tuples(optional, clock).map(lambda p: p[0] | {"night_onset": p[1]})
    if kind != "oral-titration":
        return optional
    doses_a_day = st.one_of(
        st.just({}),
        st.integers(1, 6).map(lambda n: {"times_per_day": n}),
        st.lists(clock, min_size=1, max_size=6, unique=True).map(lambda t: {"pre_task_times": t}),
    )
    # a night-only plan has one dose: the reader refuses it with a count of doses a day
    return st.tuples(optional, doses_a_day).map(
        lambda p: p[0] if p[0].get("night_only") else p[0] | p[1]
    )


BACLOFEN_GOALS = sorted(GOALS_MADE - {"injection-session"})
"""The goals of the baclofen pack these properties plan with."""


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(BACLOFEN_GOALS))
    goal: dict[str, Any] = {"kind": kind}
    goal |= draw(goal_options(kind))
    return {
        "patient": draw(patients()),
        "history": draw(histories(kind)),
        "goal": goal,
        "start": iso(START),
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_plans_replay_through_the_checker_without_error_or_critical(
    document: dict[str, Any],
) -> None:
    request = parse_request(document)
    result = plan(request, PACK)
    if not result.made:
        assert result.findings, "a refused plan says why"
        assert not any("withdrawn" in f.message for f in result.findings), result.findings
        return
    for step, findings in replay(request, result.steps, PACK):
        serious = [f for f in findings if f.severity.value in ("error", "critical")]
        assert not serious, (step, serious)
        # every step is a contract EVENT: it reads back as the same event
        assert (
            parse_event(event_json(step.event), "step") == step.event
            or step.event.kind == "it-infusion"
        )
    times = [s.event.at for s in result.steps]
    assert times == sorted(times)
    assert all(s.rules and s.instructions for s in result.steps)


def test_every_goal_has_a_generator_and_a_builder() -> None:
    assert {
        "oral-titration",
        "oral-taper",
        "it-screening",
        "it-titration",
        "it-refill",
        "it-flex",
        "it-tolerance-holiday",
        "it-taper",
        # a botulinum toxin's: its properties are tests/test_botulinum_pack.py's
        "injection-session",
    } == GOALS_MADE


@st.composite
def any_requests(draw: Any) -> dict[str, Any]:
    """Any goal over any history the reader accepts, fitting the goal or not."""
    at = START - timedelta(days=draw(st.integers(1, 400)))
    history = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(KINDS))
        history.append({"at": iso(at), "kind": kind, **event_body(kind, draw)})
        at += timedelta(hours=draw(st.integers(1, 24 * 30)))
    kind = draw(st.sampled_from(BACLOFEN_GOALS))
    return {
        "patient": draw(patients()),
        "history": history,
        "goal": {"kind": kind} | draw(goal_options(kind)),
        "start": iso(max(at, START)),
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_requests())
def test_every_request_the_reader_accepts_plans_or_refuses_with_findings(
    document: dict[str, Any],
) -> None:
    try:
        request = parse_request(document)
    except InputError:
        return  # refused by the reader, naming the field: a clean answer
    result = plan(request, PACK)
    assert result.made or result.findings, "a refused plan says why"
    if result.made:
        for _, findings in replay(request, result.steps, PACK):
            assert all(isinstance(f, Finding) for f in findings)
