"""The incremental judge gives what ``check`` gives for each event after the ones before it.

``judge_history`` advances the history's facts one event at a time; ``check`` reads a history
whole. Over generated histories of every event kind (clinical stories and single events, gaps
on both sides of the rules' spans, several events at one instant, several UTC offsets) the two
must agree exactly: the same findings, in the same order, with the same words.

Run more examples by hand with ``HYPOTHESIS_EXAMPLES=3000``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.knowledge import load_pack
from posology.model import Event, Patient, parse_event, parse_patient
from posology.model.documents import sort_history
from posology.model.events import ItInfusion, ItStable, ItStop, PumpRefill, Review
from posology.rules import Past, check, context_for, judge, judge_history
from posology.units import parse_quantity
from strategies import KINDS, event_body, histories, patients

PACK = load_pack()
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))


def _read(patient: dict[str, Any], history: list[dict[str, Any]]) -> tuple[Patient, list[Event]]:
    return parse_patient(patient), [parse_event(e, f"history[{i}]") for i, e in enumerate(history)]


def _replayed(patient: Patient, history: list[Event]) -> list[tuple[Event, tuple[Any, ...]]]:
    """What judging each event with ``check`` after the ones before gives (O(n²))."""
    ordered = sorted(history, key=lambda e: e.at)
    return [(e, check(patient, ordered[:i], e, PACK)) for i, e in enumerate(ordered)]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(patients(), histories(), st.randoms(use_true_random=False))
def test_judge_history_gives_what_check_gives_for_each_event(
    patient_doc: dict[str, Any], history_doc: list[dict[str, Any]], order: Any
) -> None:
    patient, history = _read(patient_doc, history_doc)
    order.shuffle(history)  # given in any order: both sort by time, keeping ties as given
    assert list(judge_history(patient, history, PACK)) == _replayed(patient, history)


@settings(
    max_examples=max(EXAMPLES // 3, 50), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(patients(), histories(max_stories=5), st.data())
def test_a_past_is_a_value_advancing_it_twice_leaves_it_as_it_was(
    patient_doc: dict[str, Any], history_doc: list[dict[str, Any]], data: Any
) -> None:
    """Two different next events from one past (a what-if) do not disturb each other or it,
    even after the reservoir since the last refill was worked out and kept."""
    patient, history = _read(patient_doc, history_doc)
    ordered = sorted(history, key=lambda e: e.at)
    past = Past.of(PACK, ordered)
    last = ordered[-1].at if ordered else datetime(2025, 1, 6, 8, 0)

    def drawn(days: int) -> Event:
        kind = data.draw(st.sampled_from(KINDS))
        at = (last + timedelta(days=days)).isoformat()
        return parse_event({"at": at, "kind": kind, **event_body(kind, data.draw)}, "event")

    one, other = drawn(data.draw(st.sampled_from([0, 1, 20]))), drawn(1)
    proposal = drawn(data.draw(st.sampled_from([21, 200])))
    before = judge(context_for(patient, past, proposal))
    after_one, after_other = past.advance(one), past.advance(other)
    for after, event in ((after_one, one), (after_other, other), (after_one, one)):
        judged = judge(context_for(patient, after, proposal))
        assert judged == check(patient, [*ordered, event], proposal, PACK)
    assert judge(context_for(patient, past, proposal)) == before
    assert past.count == len(ordered) and past.history == tuple(ordered)


def test_judge_history_of_no_events_is_empty() -> None:
    patient = parse_patient({"age_years": 40, "diagnosis": "multiple-sclerosis"})
    assert judge_history(patient, [], PACK) == ()


def _escalation(patient: Patient, history: list[Event], proposal: Event) -> list[str]:
    """IT-ESCALATION-ALERT's messages for ``proposal``, the incremental judge checked against
    ``check`` on the way."""
    judged = judge_history(patient, [*history, proposal], PACK)[-1]
    assert judged == (proposal, check(patient, history, proposal, PACK))
    return [f.message for f in judged[1] if f.rule == "IT-ESCALATION-ALERT"]


def test_escalation_window_counts_calendar_days_on_each_events_own_clock() -> None:
    """Regression guard for the look-back of IT-ESCALATION-ALERT, which walks back from the
    newest dose and stops past the window: a dose set 30 calendar days before the proposal on
    the wall clocks (but 29 days 23 hours before in elapsed time, the offsets differing) is
    outside the window, so the lowest dose of the window is the one then in force."""
    patient = parse_patient({"age_years": 40, "diagnosis": "spinal-cord-injury"})
    _, history = _read(
        {"age_years": 40, "diagnosis": "spinal-cord-injury"},
        [
            {"at": "2026-03-01T08:00+00:00", "kind": "it-infusion", "daily_dose": "100 ug/d"},
            {"at": "2026-03-02T08:00+00:00", "kind": "it-stable"},
            {"at": "2026-03-03T09:00+01:00", "kind": "it-infusion", "daily_dose": "120 ug/d"},
            {"at": "2026-03-06T09:00+01:00", "kind": "it-infusion", "daily_dose": "140 ug/d"},
        ],
    )

    def proposal(at: str, daily: str = "180 ug/d") -> Event:
        return parse_event({"at": at, "kind": "it-infusion", "daily_dose": daily}, "p")

    at_30_days = _escalation(patient, history, proposal("2026-04-02T09:00+02:00"))
    assert len(at_30_days) == 1 and "from 120 µg/day to 180 µg/day" in at_30_days[0]
    within = _escalation(patient, history, proposal("2026-04-02T08:59+02:00"))
    assert len(within) == 1 and "from 100 µg/day to 180 µg/day" in within[0]
    # 40 days on, the 140 µg/day set on 6 March is the dose in force when the window began
    later = _escalation(patient, history, proposal("2026-04-12T09:00+02:00", "210 ug/d"))
    assert len(later) == 1 and "from 140 µg/day to 210 µg/day" in later[0]


def test_reservoir_follows_an_infusion_change_written_at_the_refills_instant() -> None:
    """An infusion change written at the refill's own instant, after it, sets the rate the
    reservoir empties at, as reading the whole history has it: 20 mL at 500 µg/mL, 10 days at
    400 µg/day (0.8 mL/day) then 16 days at 300 µg/day (0.6 mL/day) leave 2.4 mL."""
    patient_doc = {"age_years": 40, "diagnosis": "spinal-cord-injury", "pump": {"reservoir_ml": 20}}
    refill = {"kind": "pump-refill", "concentration": "500 ug/mL", "volume_ml": 20}
    patient, history = _read(
        patient_doc,
        [
            {"at": "2026-01-01T08:00", "kind": "it-infusion", "daily_dose": "100 ug/d"},
            {"at": "2026-01-10T08:00", **refill},
            {"at": "2026-01-10T08:00", "kind": "it-infusion", "daily_dose": "400 ug/d"},
            {"at": "2026-01-20T08:00", "kind": "it-infusion", "daily_dose": "300 ug/d"},
            {"at": "2026-02-05T08:00", **refill, "residual_ml": 9},
        ],
    )
    judged = judge_history(patient, history, PACK)
    assert list(judged) == _replayed(patient, history)
    residual = [f.message for f in judged[-1][1] if f.rule == "SUP-IT-RESIDUAL"]
    assert len(residual) == 1 and "2.4 mL" in residual[0] and "9 mL" in residual[0]


def test_sort_history_folds_copies_of_a_review_at_one_instant_whatever_its_offset() -> None:
    """Regression: copies of a review were looked for in the whole history (O(n²) for a long
    one); they are looked for at their instant, and the same instant written with another
    offset is still the same review, while another note is another review."""
    note = {"kind": "review", "note": "tone review"}
    events = [
        (f"history[{i}]", parse_event(doc, f"history[{i}]"))
        for i, doc in enumerate(
            [
                {"at": "2026-03-01T09:00+01:00", **note},
                {"at": "2026-03-01T08:00+00:00", **note},
                {"at": "2026-03-01T08:00+00:00", "kind": "review", "note": "another"},
                {"at": "2026-03-02T08:00+00:00", **note},
            ]
        )
    ]
    kept = sort_history(events)
    assert [(e.at.isoformat(), e.note) for e in kept if isinstance(e, Review)] == [
        ("2026-03-01T09:00:00+01:00", "tone review"),
        ("2026-03-01T08:00:00+00:00", "another"),
        ("2026-03-02T08:00:00+00:00", "tone review"),
    ]


def test_a_long_maintenance_history_is_judged_as_check_judges_each_event() -> None:
    """Years of refills and changes (more events than the generated histories hold)."""
    patient = parse_patient(
        {
            "age_years": 55,
            "diagnosis": "multiple-sclerosis",
            "spasticity_stable": True,
            "pump": {"programmable": True, "reservoir_ml": 20},
        }
    )
    at = datetime(2020, 1, 6, 8, 0)
    history: list[Event] = [
        ItInfusion(at, parse_quantity("200 ug/d")),
        PumpRefill(at, parse_quantity("500 ug/mL"), parse_quantity("20 mL")),
        ItStable(at + timedelta(days=3)),
    ]
    daily = 200
    for k in range(1, 120):
        at += timedelta(days=(k % 5) * 7 + 2)
        if k % 3 == 0:
            history.append(
                PumpRefill(
                    at,
                    parse_quantity("500 ug/mL"),
                    parse_quantity("20 mL"),
                    residual=parse_quantity(f"{k % 20 + 1} mL"),
                )
            )
        elif k % 17 == 0:
            history.append(ItStop(at))
        else:
            daily = 150 + (daily * 7 + k * 13) % 400
            history.append(ItInfusion(at, parse_quantity(f"{daily} ug/d")))
    assert list(judge_history(patient, history, PACK)) == _replayed(patient, history)
