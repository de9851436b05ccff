"""Properties over generated patients and histories (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.knowledge import load_pack
from posology.model import parse_case
from posology.model.patient import CONDITIONS, DIAGNOSES, MEDICATIONS
from posology.rules import check
from posology.units import parse_quantity

PACK = load_pack()
START = datetime(2026, 1, 1, 8, 0)

masses_mg = st.sampled_from(
    ["2.5 mg", "5 mg", "7.5 mg", "10 mg", "15 mg", "20 mg", "25 mg", "30 mg", "40 mg"]
)
test_doses = st.sampled_from(["25 ug", "50 ug", "75 ug", "100 ug", "0.05 mg"])
daily_ug = st.integers(min_value=12, max_value=2003).map(lambda n: f"{n} ug/d")
concentrations = st.sampled_from(["50 ug/mL", "500 ug/mL", "1000 ug/mL", "2 mg/mL", "750 ug/mL"])

patients = st.fixed_dictionaries(
    {"age_years": st.integers(min_value=0, max_value=100), "diagnosis": st.sampled_from(DIAGNOSES)},
    optional={
        "sex": st.sampled_from(["female", "male", "other", "unknown"]),
        "weight_kg": st.integers(min_value=3, max_value=150),
        "origin": st.sampled_from(["spinal", "cerebral"]),
        "setting": st.sampled_from(["outpatient", "inpatient"]),
        "spasticity_stable": st.booleans(),
        "conditions": st.lists(st.sampled_from(CONDITIONS), unique=True, max_size=4),
        "pregnant": st.booleans(),
        "breastfeeding": st.booleans(),
        "creatinine_clearance_ml_min": st.integers(min_value=5, max_value=150),
        "medications": st.lists(st.sampled_from(MEDICATIONS), unique=True),
        "tone_supports_function": st.booleans(),
        "pump": st.fixed_dictionaries(
            {},
            optional={"programmable": st.booleans(), "reservoir_ml": st.sampled_from([10, 20, 40])},
        ),
    },
)


def _event(kind: str, draw: Any) -> dict[str, Any]:
    if kind == "oral-regimen":
        n = draw(st.integers(min_value=1, max_value=6))
        return {"dose": draw(masses_mg), "times_per_day": n}
    if kind == "it-test-dose":
        body: dict[str, Any] = {"dose": draw(test_doses)}
        effect = draw(st.sampled_from([None, True, False]))
        if effect is not None:
            body["response"] = {"effect": effect} | (
                {"duration_h": draw(st.integers(1, 24))} if effect else {}
            )
        return body
    if kind == "it-infusion":
        return {"daily_dose": draw(daily_ug)}
    if kind == "pump-refill":
        return {"concentration": draw(concentrations), "volume_ml": draw(st.integers(5, 40))}
    if kind == "review":
        return {"note": "tone review"}
    return {}


KINDS = [
    "oral-regimen",
    "oral-stop",
    "it-test-dose",
    "pump-implant",
    "it-infusion",
    "pump-refill",
    "it-stable",
    "it-stop",
    "review",
]


@st.composite
def cases(draw: Any, proposal_kinds: list[str] = KINDS) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=50))
    at = START
    history = []
    for _ in range(n):
        at += timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 20)))
        kind = draw(st.sampled_from(KINDS))
        history.append({"at": at.isoformat(timespec="minutes"), "kind": kind, **_event(kind, draw)})
    history = draw(st.permutations(history))  # the engine sorts; the order given must not matter
    at += timedelta(hours=draw(st.integers(min_value=1, max_value=24 * 10)))
    kind = draw(st.sampled_from(proposal_kinds))
    proposal = {"at": at.isoformat(timespec="minutes"), "kind": kind, **_event(kind, draw)}
    return {"patient": draw(patients), "history": history, "proposal": proposal}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_valid_histories_never_crash_the_checker(document: dict[str, Any]) -> None:
    case = parse_case(document)
    findings = check(case.patient, case.history, case.proposal, PACK)
    for f in findings:
        assert f.rule in PACK.rules
        assert f.message and f.citation.quote
        if PACK.rule(f.rule).evidence == "study":
            assert f.severity.value in ("info", "warning")
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)


@settings(max_examples=200, deadline=None)
@given(cases(proposal_kinds=["it-test-dose", "it-infusion"]))
def test_an_intrathecal_dose_multiplied_by_1000_is_always_critical(
    document: dict[str, Any],
) -> None:
    proposal = document["proposal"]
    field = "dose" if proposal["kind"] == "it-test-dose" else "daily_dose"
    proposal[field] = (parse_quantity(proposal[field]) * 1000).code()
    case = parse_case(document)
    findings = check(case.patient, case.history, case.proposal, PACK)
    assert any(f.rule == "SUP-UNIT-MIXUP" and f.severity.value == "critical" for f in findings)
    assert findings[0].severity.value == "critical"
