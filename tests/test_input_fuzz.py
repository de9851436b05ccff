"""Whatever arrives, the readers answer with an InputError naming a field, never anything else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.errors import InputError
from posology.knowledge import load_pack
from posology.model import parse_case, read_case
from posology.planning import plan, read_request
from posology.rules import check

PACK = load_pack()
VALID_CASE = {
    "patient": {
        "age_years": 40,
        "diagnosis": "stroke",
        "weight_kg": 70,
        "pump": {"programmable": True},
    },
    "history": [
        {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}
    ],
    "proposal": {
        "at": "2026-11-04T08:00",
        "kind": "oral-regimen",
        "dose": "10 mg",
        "times_per_day": 3,
    },
}
VALID_REQUEST = {
    "patient": {"age_years": 40, "diagnosis": "stroke"},
    "goal": {"kind": "oral-titration", "target_daily_dose": "30 mg"},
    "start": "2026-12-01T08:00",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "50 ug",
            "0 mg",
            "-5 mg",
            "5 mL",
            "1e400 mg",
            "5 mg/d",
            "2026-11-01T08:00",
            "25:00",
            "08:00",
            "oral-regimen",
            "it-infusion",
            "stroke",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def mutate(document: Any, path: list[Any], value: Any) -> Any:
    """Replace (or add) the value at a path of keys and indexes, where the path exists."""
    if not path:
        return value
    head, *rest = path
    if isinstance(document, dict):
        key = (
            head
            if isinstance(head, str)
            else (sorted(document)[head % len(document)] if document else "x")
        )
        return {**document, key: mutate(document.get(key), rest, value)}
    if isinstance(document, list) and document:
        i = head % len(document) if isinstance(head, int) else 0
        return [*document[:i], mutate(document[i], rest, value), *document[i + 1 :]]
    return value


paths = st.lists(
    st.one_of(
        st.integers(0, 5),
        st.sampled_from(
            [
                "patient",
                "history",
                "proposal",
                "dose",
                "kind",
                "at",
                "times",
                "doses",
                "goal",
                "pump",
                "conditions",
                "wieght",
            ]
        ),
    ),
    max_size=4,
)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(paths, json_values)
def test_mutated_cases_are_read_or_refused_with_a_field(path: list[Any], value: Any) -> None:
    document = mutate(VALID_CASE, path, value)
    try:
        case = read_case(json.dumps(document))  # through the JSON reader, as the CLI and API do
    except InputError as exc:
        assert exc.message
        return
    check(case.patient, case.history, case.proposal, PACK)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(paths, json_values)
def test_mutated_requests_are_planned_or_refused_with_a_field(path: list[Any], value: Any) -> None:
    document = mutate(VALID_REQUEST, path, value)
    try:
        request = read_request(json.dumps(document))
    except InputError as exc:
        assert exc.message
        return
    plan(request, PACK)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(paths, json_values)
def test_python_values_with_floats_read_the_same_way(path: list[Any], value: Any) -> None:
    try:
        case = parse_case(mutate(VALID_CASE, path, value))
    except InputError as exc:
        assert exc.message
        return
    check(case.patient, case.history, case.proposal, PACK)
