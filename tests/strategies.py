"""Hypothesis strategies over the whole input space the document reader accepts (test helpers).

Every field of PATIENT and of each EVENT kind is drawn, optional ones present or absent: oral
regimens of 1 to 24 administrations a day with and without clock times, forms and strengths,
unequal ``doses``; flex schedules of several segments in any order; refills with alarm volumes;
test doses with and without responses; children with and without weight; pumps with any of
their fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from posology.model.patient import CONDITIONS, DIAGNOSES, MEDICATIONS

Doc = dict[str, Any]

masses_mg = st.sampled_from(
    ["1 mg", "2.5 mg", "5 mg", "7.5 mg", "10 mg", "12.5 mg", "15 mg", "20 mg", "25 mg", "40 mg"]
)
STRENGTHS = {"tablet": ["5 mg", "10 mg", "25 mg"], "solution": ["1 mg/mL", "5 mg/mL", "3 mg/mL"]}
test_doses = st.sampled_from(["25 ug", "50 ug", "75 ug", "100 ug", "0.05 mg", "125 ug"])
daily_ug = st.integers(min_value=12, max_value=2003)
concentrations = st.sampled_from(
    ["50 ug/mL", "500 ug/mL", "1000 ug/mL", "2 mg/mL", "2000 ug/mL", "750 ug/mL"]
)
clock = st.builds(lambda m: f"{m // 60:02d}:{m % 60:02d}", st.integers(0, 24 * 60 - 1))

pumps = st.fixed_dictionaries(
    {},
    optional={
        "programmable": st.booleans(),
        "reservoir_ml": st.sampled_from([10, 18, 20, 40]),
        "withdrawal_before_alarm": st.booleans(),
    },
)


@st.composite
def patients(draw: Any, min_age: int = 0, max_age: int = 100) -> Doc:
    """Any PATIENT: age or birth date, every optional field present or absent."""
    age = draw(st.integers(min_value=min_age, max_value=max_age))
    patient: Doc = {"diagnosis": draw(st.sampled_from(DIAGNOSES))}
    if draw(st.booleans()):
        patient["age_years"] = age
    else:  # a birth date before every date the histories use
        born = datetime(2024, 1, 1) - timedelta(days=365 * age + draw(st.integers(0, 364)))
        patient["birth_date"] = born.date().isoformat()
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "sex": st.sampled_from(["female", "male", "other", "unknown"]),
                "weight_kg": st.integers(min_value=3, max_value=150),
                "origin": st.sampled_from(["spinal", "cerebral"]),
                "setting": st.sampled_from(["outpatient", "inpatient"]),
                "spasticity_stable": st.booleans(),
                "conditions": st.lists(st.sampled_from(CONDITIONS), unique=True),
                "pregnant": st.booleans(),
                "breastfeeding": st.booleans(),
                "creatinine_clearance_ml_min": st.integers(min_value=5, max_value=150),
                "medications": st.lists(st.sampled_from(MEDICATIONS), unique=True),
                "tone_supports_function": st.booleans(),
                "pump": pumps,
            },
        )
    )
    return patient | optional


@st.composite
def oral_regimens(draw: Any) -> Doc:
    """1 to 24 administrations a day: equal (``dose``) or unequal (``doses``), times or not."""
    n = draw(st.integers(min_value=1, max_value=24))
    body: Doc = {}
    if draw(st.booleans()):
        body |= {"dose": draw(masses_mg), "times_per_day": n}
    else:
        body["doses"] = draw(st.lists(masses_mg, min_size=n, max_size=n))
    if draw(st.booleans()):
        body["times"] = draw(st.lists(clock, min_size=n, max_size=n, unique=True))
    form = draw(st.sampled_from([None, "tablet", "solution"]))
    if form:
        body["form"] = form
        if draw(st.booleans()):
            body["strength"] = draw(st.sampled_from(STRENGTHS[form]))
    return body


def _mean_ug_d(segments: list[tuple[int, int]]) -> Fraction:
    """The time-weighted mean of (start minute, µg/day) segments over a 24 h day."""
    ordered = sorted(segments)
    total = Fraction(0)
    for i, (start, rate) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else ordered[0][0] + 24 * 60
        total += Fraction(rate * (end - start))
    return total / (24 * 60)


@st.composite
def infusions(draw: Any) -> Doc:
    """A continuous rate, or a flex schedule of 2 to 5 segments listed in any order."""
    if draw(st.integers(0, 3)) > 0:
        return {"daily_dose": f"{draw(daily_ug)} ug/d"}
    k = draw(st.integers(min_value=2, max_value=5))
    starts = draw(st.lists(st.integers(0, 24 * 4 - 1), min_size=k, max_size=k, unique=True))
    segments = [(s * 15, draw(daily_ug)) for s in starts]
    mean = _mean_ug_d(segments)
    schedule = [
        {"start": f"{m // 60:02d}:{m % 60:02d}", "daily_rate": f"{r} ug/d"} for m, r in segments
    ]
    places = f"{float(mean):.4f}".rstrip("0").rstrip(".")
    return {"daily_dose": f"{places} ug/d", "schedule": draw(st.permutations(schedule))}


@st.composite
def test_dose_events(draw: Any) -> Doc:
    body: Doc = {"dose": draw(test_doses)}
    effect = draw(st.sampled_from([None, True, False]))
    if effect is not None:
        response: Doc = {"effect": effect}
        if effect:
            response["duration_h"] = draw(st.integers(1, 24))
        body["response"] = response
    return body


@st.composite
def refills(draw: Any) -> Doc:
    volume = draw(st.integers(5, 40))  # an alarm volume is above 0 and below the fill
    body: Doc = {"concentration": draw(concentrations), "volume_ml": volume}
    if draw(st.booleans()):
        body["alarm_ml"] = draw(st.integers(1, volume - 1))
    return body


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


def event_body(kind: str, draw: Any) -> Doc:
    """The fields of one EVENT of ``kind`` (without ``at`` and ``kind``)."""
    if kind == "oral-regimen":
        return draw(oral_regimens())  # type: ignore[no-any-return]
    if kind == "it-test-dose":
        return draw(test_dose_events())  # type: ignore[no-any-return]
    if kind == "it-infusion":
        return draw(infusions())  # type: ignore[no-any-return]
    if kind == "pump-refill":
        return draw(refills())  # type: ignore[no-any-return]
    if kind == "review":
        return {"note": "tone review"}
    return {}
