"""Every plan, for generated patients and histories, replays through the checker cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.knowledge import load_pack
from posology.model import parse_event
from posology.planning import GOALS_MADE, parse_request, plan, replay
from posology.serialize import event_json

PACK = load_pack()
START = datetime(2026, 12, 1, 8, 0)

patients = st.fixed_dictionaries(
    {
        "age_years": st.integers(min_value=4, max_value=95),
        "diagnosis": st.sampled_from(
            [
                "multiple-sclerosis",
                "spinal-cord-injury",
                "stroke",
                "cerebral-palsy",
                "traumatic-brain-injury",
                "other",
            ]
        ),
    },
    optional={
        "sex": st.sampled_from(["female", "male"]),
        "weight_kg": st.integers(min_value=12, max_value=120),
        "setting": st.sampled_from(["outpatient", "inpatient"]),
        "spasticity_stable": st.booleans(),
        "conditions": st.lists(
            st.sampled_from(
                [
                    "epilepsy",
                    "diabetes",
                    "renal-impairment",
                    "haemodialysis",
                    "cardiopulmonary-disease",
                    "peptic-ulcer",
                ]
            ),
            unique=True,
            max_size=2,
        ),
        "creatinine_clearance_ml_min": st.integers(min_value=10, max_value=120),
        "medications": st.lists(st.sampled_from(["benzodiazepine", "opioid"]), unique=True),
        "tone_supports_function": st.booleans(),
        "pregnant": st.booleans(),
        "pump": st.fixed_dictionaries(
            {
                "programmable": st.sampled_from([True, True, True, False]),
                "reservoir_ml": st.sampled_from([10, 20, 40]),
            }
        ),
    },
)


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
        events.append(
            {
                "at": iso(at),
                "kind": "oral-regimen",
                "dose": draw(st.sampled_from(["2.5 mg", "5 mg", "10 mg", "15 mg", "20 mg"])),
                "times_per_day": draw(st.integers(1, 4)),
            }
        )
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
            events.append(
                {
                    "at": iso(at),
                    "kind": "pump-refill",
                    "concentration": draw(st.sampled_from(["500 ug/mL", "2000 ug/mL"])),
                    "volume_ml": draw(st.sampled_from([10, 20])),
                }
            )
    return events


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(GOALS_MADE)))
    goal: dict[str, Any] = {"kind": kind}
    if kind == "oral-titration":
        goal |= draw(
            st.sampled_from(
                [
                    {},
                    {"night_only": True},
                    {"times_per_day": 4},
                    {"pre_task_times": ["09:00"]},
                    {"target_daily_dose": f"{draw(st.integers(10, 110))} mg"},
                ]
            )
        )
    if kind == "it-flex":
        goal |= {"night_onset": draw(st.sampled_from(["21:00", "22:00", "23:30"]))}
    if kind == "it-refill" and draw(st.booleans()):
        goal |= {"concentration": draw(st.sampled_from(["500 ug/mL", "1000 ug/mL", "2000 ug/mL"]))}
    return {
        "patient": draw(patients),
        "history": draw(histories(kind)),
        "goal": goal,
        "start": iso(START),
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    } == GOALS_MADE
