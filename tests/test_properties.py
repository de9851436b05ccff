"""Properties over generated patients and histories (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from posology.knowledge import load_pack
from posology.model import Finding, parse_case
from posology.rules import check
from posology.units import parse_quantity
from strategies import KINDS, event_body, patients

PACK = load_pack()
START = datetime(2026, 1, 1, 8, 0)


@st.composite
def cases(draw: Any, proposal_kinds: list[str] = KINDS) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=50))
    at = START
    history = []
    for _ in range(n):
        at += timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 20)))
        kind = draw(st.sampled_from(KINDS))
        history.append(
            {"at": at.isoformat(timespec="minutes"), "kind": kind, **event_body(kind, draw)}
        )
    history = draw(st.permutations(history))  # the engine sorts; the order given must not matter
    at += timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 10)))
    kind = draw(st.sampled_from(proposal_kinds))
    proposal = {"at": at.isoformat(timespec="minutes"), "kind": kind, **event_body(kind, draw)}
    return {"patient": draw(patients()), "history": history, "proposal": proposal}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_valid_histories_never_crash_the_checker(document: dict[str, Any]) -> None:
    case = parse_case(document)
    findings = check(case.patient, case.history, case.proposal, PACK)
    assert isinstance(findings, tuple) and all(isinstance(f, Finding) for f in findings)
    for f in findings:
        assert f.rule in PACK.rules
        assert f.message and f.citation.quote
        if PACK.rule(f.rule).evidence == "study":
            assert f.severity.value in ("info", "warning")
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)


@settings(max_examples=150, deadline=None)
@given(cases(proposal_kinds=["it-test-dose", "it-infusion"]))
def test_an_intrathecal_dose_multiplied_by_1000_is_always_critical(
    document: dict[str, Any],
) -> None:
    proposal = document["proposal"]
    proposal.pop("schedule", None)  # a flex profile would no longer average to the new dose
    field = "dose" if proposal["kind"] == "it-test-dose" else "daily_dose"
    # a test dose above the 100 µg a screening allows is not in range under µg either
    assume(field == "daily_dose" or parse_quantity(proposal[field]) <= parse_quantity("100 ug"))
    proposal[field] = (parse_quantity(proposal[field]) * 1000).code()
    case = parse_case(document)
    findings = check(case.patient, case.history, case.proposal, PACK)
    assert any(f.rule == "SUP-UNIT-MIXUP" and f.severity.value == "critical" for f in findings)
    assert findings[0].severity.value == "critical"
