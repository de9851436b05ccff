"""Hypothesis strategies over the whole input space the document reader accepts (test helpers).

Every field of PATIENT and of each EVENT kind is drawn, optional ones present or absent: oral
regimens of 1 to 24 administrations a day with and without clock times, forms and strengths,
unequal ``doses``; flex schedules of several segments in any order; refills with alarm volumes;
test doses with and without responses; children with and without weight; pumps with any of
their fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
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


# -- whole histories ---------------------------------------------------------------------------
# Gaps between events, in hours, on both sides of the rules' spans (24 h hold, 48 h interval,
# 3-day restart window and oral interval, 14-day holiday, 30-day escalation window, 180-day
# refill interval), and zero: several events at one instant.
GAPS_H = [0, 0, 1, 12, 23, 24, 25, 47, 48, 49, 71, 72, 73, 24 * 7, 24 * 14, 24 * 15]
LONG_GAPS_H = [24 * 25, 24 * 29, 24 * 30, 24 * 31, 24 * 90, 24 * 179, 24 * 180, 24 * 181]
# UTC offsets in minutes: a clinic's summer and winter time, and the extremes a stored instant
# may carry (wall-clock days and elapsed hours then disagree near the spans).
OFFSETS_MIN = [-600, -300, 0, 60, 120, 330, 840]

Story = list[tuple[int, str, Doc]]  # (hours after the previous event, kind, fields)


@st.composite
def oral_story(draw: Any) -> Story:
    """Start, titrate up, maybe taper down and stop, maybe restart: the oral rules' paths."""
    gap = st.sampled_from(GAPS_H)
    n = draw(st.sampled_from([2, 3, 4]))
    step = draw(st.sampled_from([Fraction(5, 2), Fraction(5), Fraction(10)]))
    dose = Fraction(draw(st.sampled_from([5, 10, 15])))
    story: Story = []
    for _ in range(draw(st.integers(1, 4))):
        story.append(
            (draw(gap), "oral-regimen", {"dose": f"{float(dose):g} mg", "times_per_day": n})
        )
        dose += step
    for _ in range(draw(st.integers(0, 4))):
        dose = max(dose - step, Fraction(5, 2))
        story.append(
            (draw(gap), "oral-regimen", {"dose": f"{float(dose):g} mg", "times_per_day": n})
        )
    if draw(st.booleans()):
        story.append((draw(gap), "oral-stop", {}))
        if draw(st.booleans()):
            story.append(
                (draw(gap), "oral-regimen", {"dose": f"{float(dose):g} mg", "times_per_day": n})
            )
    return story


@st.composite
def screening_story(draw: Any) -> Story:
    """A test-dose ladder: no effect, then an effect or none up to the highest dose."""
    story: Story = []
    for dose in draw(st.sampled_from([[25, 50], [50], [25, 50, 75, 100], [50, 75, 100, 125]])):
        effect = draw(st.sampled_from([None, True, False, False]))
        body: Doc = {"dose": f"{dose} ug"}
        if effect is not None:
            body["response"] = {
                "effect": effect,
                **({"duration_h": draw(st.sampled_from([4, 8, 13]))} if effect else {}),
            }
        story.append((draw(st.sampled_from([0, 6, 23, 24, 30, 48])), "it-test-dose", body))
        if effect:
            break
    return story


@st.composite
def pump_story(draw: Any) -> Story:
    """Implant, fill, start, titrate, declare stable, refill (withdrawn volumes recorded), change
    in maintenance, maybe taper or stop and resume: the intrathecal and pump rules' paths."""
    concentration = draw(st.sampled_from(["500 ug/mL", "2000 ug/mL", "1000 ug/mL", "50 ug/mL"]))
    volume = draw(st.sampled_from([10, 18, 20, 40]))

    def refill(gap: int) -> tuple[int, str, Doc]:
        body: Doc = {"concentration": concentration, "volume_ml": volume}
        if draw(st.booleans()):
            body["residual_ml"] = draw(st.integers(0, volume))
        if draw(st.booleans()):
            body["alarm_ml"] = draw(st.integers(1, volume - 1))
        return (gap, "pump-refill", body)

    daily = draw(st.integers(50, 400))
    story: Story = []
    if draw(st.booleans()):
        story.append((draw(st.sampled_from([24, 24 * 7])), "pump-implant", {}))
    story.append(refill(0))
    story.append((0, "it-infusion", {"daily_dose": f"{daily} ug/d"}))
    for _ in range(draw(st.integers(0, 5))):
        daily = daily * draw(st.sampled_from([105, 110, 120, 130, 160, 90])) // 100
        story.append(
            (draw(st.sampled_from(GAPS_H)), "it-infusion", {"daily_dose": f"{daily} ug/d"})
        )
    if draw(st.booleans()):
        story.append((draw(st.sampled_from(GAPS_H)), "it-stable", {}))
    for _ in range(draw(st.integers(0, 4))):
        story.append(refill(draw(st.sampled_from(LONG_GAPS_H))))
        if draw(st.booleans()):
            daily = daily * draw(st.sampled_from([110, 125, 150, 80])) // 100
            story.append(
                (draw(st.sampled_from(GAPS_H)), "it-infusion", {"daily_dose": f"{daily} ug/d"})
            )
    if draw(st.booleans()):
        for _ in range(draw(st.integers(0, 3))):  # a taper, or an abrupt stop
            daily = daily * 85 // 100
            story.append(
                (
                    draw(st.sampled_from([24 * 3, 24 * 5, 24 * 7])),
                    "it-infusion",
                    {"daily_dose": f"{daily} ug/d"},
                )
            )
        story.append((draw(st.sampled_from(GAPS_H)), "it-stop", {}))
        if draw(st.booleans()):
            gap = draw(st.sampled_from([12, 47, 48, 49, 24 * 13, 24 * 14, 24 * 15]))
            story.append((gap, "it-infusion", {"daily_dose": f"{daily} ug/d"}))
    return story


@st.composite
def any_event_story(draw: Any) -> Story:
    """One event of any kind, with any of its fields (``event_body``)."""
    kind = draw(st.sampled_from(KINDS))
    return [(draw(st.sampled_from(GAPS_H + LONG_GAPS_H)), kind, event_body(kind, draw))]


@st.composite
def histories(draw: Any, max_stories: int = 8) -> list[Doc]:
    """A whole history of EVENT documents: clinical stories (oral, screening, pump) and single
    events of every kind, in sequence, with gaps on both sides of the rules' spans, several
    events at one instant, and instants without an offset, with one offset or with several."""
    zones = draw(st.sampled_from(["none", "one", "several"]))
    offset = draw(st.sampled_from(OFFSETS_MIN))
    story = st.one_of(oral_story(), screening_story(), pump_story(), any_event_story())
    at = datetime(2025, 1, 6, 8, 0)
    events: list[Doc] = []
    for part in draw(st.lists(story, max_size=max_stories)):
        for gap, kind, body in part:
            at += timedelta(hours=gap, minutes=draw(st.sampled_from([0, 0, 0, 1, 59])))
            if zones == "none":
                stamp = at.isoformat(timespec="minutes")
            else:
                minutes = offset if zones == "one" else draw(st.sampled_from(OFFSETS_MIN))
                zone = timezone(timedelta(minutes=minutes))
                stamp = at.replace(tzinfo=zone).isoformat(timespec="minutes")
            events.append({"at": stamp, "kind": kind, **body})
    return events
