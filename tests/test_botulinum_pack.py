"""The botulinum toxin type A pack: each rule at its boundary, from the sources' own words.

Every number of the pack is tested on both sides of where it bites, so a changed number fails a
test here (``tools/pack_mutation.py --pack botulinum-toxin-a.yaml``). Two products, each dosed in
Units of its own: onabotulinumtoxinA (BOTOX) and abobotulinumtoxinA (Dysport). The pack is the
shipped one, read as ``posology check`` reads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posology.errors import InputError
from posology.knowledge import Pack, load_pack
from posology.model import parse_case
from posology.model.finding import Finding
from posology.planning import parse_request, plan
from posology.rules import check, judge_history

Doc = dict[str, Any]
ADULT: Doc = {"age_years": 45, "diagnosis": "stroke"}
CHILD: Doc = {"age_years": 8, "weight_kg": 25, "diagnosis": "cerebral-palsy"}
ONA, ABO = "onabotulinumtoxinA", "abobotulinumtoxinA"


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack("botulinum-toxin-a")


def shot(muscle: str, dose: str, sites: int = 1, side: str | None = None) -> Doc:
    out: Doc = {"muscle": muscle, "dose": dose, "sites": sites}
    if side:
        out["side"] = side
    return out


def session(at: str, product: str, *injections: Doc) -> Doc:
    return {
        "at": at,
        "kind": "injection-session",
        "product": product,
        "injections": list(injections),
    }


def findings(
    pack: Pack, proposal: Doc, history: list[Doc] | None = None, patient: Doc | None = None
) -> list[Finding]:
    case = parse_case({"patient": patient or ADULT, "history": history or [], "proposal": proposal})
    return list(check(case.patient, case.history, case.proposal, pack))


def of(found: list[Finding], rule: str) -> list[str]:
    """The severities of one rule's findings."""
    return [f.severity.value for f in found if f.rule == rule]


def judged(pack: Pack, rule: str, *injections: Doc, product: str = ONA, **kw: Any) -> list[str]:
    return of(findings(pack, session("2026-12-01T10:00", product, *injections), **kw), rule)


# -- the products' Units -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "other", "rule"), [(ONA, ABO, "BTA-ONA-UNITS"), (ABO, ONA, "BTA-ABO-UNITS")]
)
def test_another_products_units_in_a_session_are_critical(
    pack: Pack, product: str, other: str, rule: str
) -> None:
    found = findings(
        pack, session("2026-12-01T10:00", product, shot("soleus", f"100 {other} U", 2))
    )
    assert of(found, rule) == ["critical"]
    message = next(f.message for f in found if f.rule == rule)
    assert "cannot be converted" in message and "soleus" in message
    # the same dose in the session's own Units is no such finding
    assert judged(pack, rule, shot("soleus", "100 U", 2), product=product) == []


def test_a_dose_in_another_products_units_is_never_added_to_the_session(pack: Pack) -> None:
    # 1400 Dysport Units plus 200 BOTOX Units written into a Dysport session: only the Dysport
    # Units count toward Dysport's 1500 Units
    found = findings(
        pack,
        session(
            "2026-12-01T10:00",
            ABO,
            shot("soleus", "1400 U", 4),
            shot("gastrocnemius", f"200 {ONA} U", 4),
        ),
    )
    assert of(found, "BTA-ABO-ADULT-TOTAL") == [] and of(found, "BTA-ABO-UNITS") == ["critical"]


# -- onabotulinumtoxinA, adults ------------------------------------------------------------


def test_botox_allows_50_units_per_site(pack: Pack) -> None:
    assert judged(pack, "BTA-ONA-SITE", shot("biceps-brachii", "200 U", 4)) == []
    assert judged(pack, "BTA-ONA-SITE", shot("biceps-brachii", "201 U", 4)) == ["warning"]
    assert judged(pack, "BTA-ONA-SITE", shot("soleus", "101 U", 2)) == ["warning"]


@pytest.mark.parametrize(
    ("muscle", "high"),
    [
        ("biceps-brachii", "200 U"),
        ("flexor-carpi-radialis", "50 U"),
        ("flexor-carpi-ulnaris", "50 U"),
        ("flexor-digitorum-profundus", "50 U"),
        ("flexor-digitorum-superficialis", "50 U"),
    ],
)
def test_botox_adult_upper_limb_muscles_have_their_ranges(
    pack: Pack, muscle: str, high: str
) -> None:
    at_high = shot(muscle, high, 10)
    above = shot(muscle, f"{int(high.split()[0]) + 1} U", 10)
    assert judged(pack, "BTA-ONA-ADULT-MUSCLE", at_high) == []
    assert judged(pack, "BTA-ONA-ADULT-MUSCLE", above) == ["warning"]


@pytest.mark.parametrize(
    ("muscle", "high"),
    [("gastrocnemius", "250 U"), ("soleus", "200 U"), ("tibialis-posterior", "150 U")],
)
def test_botox_adult_lower_limb_muscles_have_the_consensus_ranges(
    pack: Pack, muscle: str, high: str
) -> None:
    above = shot(muscle, f"{int(high.split()[0]) + 1} U", 10)
    assert judged(pack, "BTA-ONA-ADULT-LOWER-MUSCLE", shot(muscle, high, 10)) == []
    assert judged(pack, "BTA-ONA-ADULT-LOWER-MUSCLE", above) == ["warning"]


def test_botox_adult_upper_limb_session_is_75_to_360_units(pack: Pack) -> None:
    rule = "BTA-ONA-ADULT-SESSION"
    left = [
        shot("biceps-brachii", "200 U", 4, "left"),
        shot("flexor-carpi-radialis", "50 U", 1, "left"),
    ]
    right = [shot("biceps-brachii", "110 U", 4, "right")]
    assert judged(pack, rule, *left, *right) == []  # 360 Units over both arms
    assert judged(pack, rule, *left, shot("biceps-brachii", "111 U", 4, "right")) == ["warning"]
    assert judged(pack, rule, shot("biceps-brachii", "75 U", 2)) == []
    assert judged(pack, rule, shot("biceps-brachii", "74 U", 2)) == ["info"]
    # the lower limb is not this rule's
    assert judged(pack, rule, shot("soleus", "200 U", 4), shot("gastrocnemius", "250 U", 5)) == []


def test_botox_sessions_are_12_weeks_apart_whatever_the_product_before(pack: Pack) -> None:
    rule = "BTA-ONA-INTERVAL"
    for before_product in (ONA, ABO):
        before = [session("2026-09-01T10:00", before_product, shot("soleus", "100 U", 2))]
        day_83 = session("2026-11-23T10:00", ONA, shot("soleus", "100 U", 2))
        day_84 = session("2026-11-24T10:00", ONA, shot("soleus", "100 U", 2))
        assert of(findings(pack, day_83, before), rule) == ["warning"]
        assert of(findings(pack, day_84, before), rule) == []
    message = next(f.message for f in findings(pack, day_83, before) if f.rule == rule)
    assert "83 days" in message and "2026-11-24" in message


# -- onabotulinumtoxinA, children ----------------------------------------------------------


@pytest.mark.parametrize(
    ("muscle", "high_per_kg"),
    [
        ("biceps-brachii", 3),
        ("brachialis", 2),
        ("brachioradialis", 1),
        ("flexor-carpi-radialis", 2),
        ("flexor-carpi-ulnaris", 2),
        ("flexor-digitorum-profundus", 1),
        ("flexor-digitorum-superficialis", 1),
    ],
)
def test_botox_childrens_muscles_are_dosed_per_kilogram(
    pack: Pack, muscle: str, high_per_kg: int
) -> None:
    high = high_per_kg * 25  # a 25 kg child
    rule = "BTA-ONA-CHILD-MUSCLE"
    assert judged(pack, rule, shot(muscle, f"{high} U", 4), patient=CHILD) == []
    assert judged(pack, rule, shot(muscle, f"{high + 1} U", 4), patient=CHILD) == ["warning"]


def test_a_childs_botox_session_needs_the_childs_weight(pack: Pack) -> None:
    no_weight = {"age_years": 8, "diagnosis": "cerebral-palsy"}
    found = findings(
        pack, session("2026-12-01T10:00", ONA, shot("biceps-brachii", "40 U", 4)), patient=no_weight
    )
    assert of(found, "BTA-ONA-CHILD-MUSCLE") == ["error"]
    assert of(found, "BTA-ONA-CHILD-UPPER") == ["error"]
    assert all("weight" in f.message for f in found if f.severity.value == "error")


def test_a_childs_upper_limb_takes_6_units_per_kg_or_200_units_whichever_is_lower(
    pack: Pack,
) -> None:
    rule = "BTA-ONA-CHILD-UPPER"
    arm = [shot("biceps-brachii", "75 U", 4, "left"), shot("brachialis", "50 U", 2, "left")]
    # 25 kg: 6 Units/kg is 150 Units, lower than 200
    assert (
        judged(pack, rule, *arm, shot("flexor-carpi-ulnaris", "25 U", 2, "left"), patient=CHILD)
        == []
    )
    assert judged(
        pack, rule, *arm, shot("flexor-carpi-ulnaris", "26 U", 2, "left"), patient=CHILD
    ) == ["error"]
    # 40 kg: 6 Units/kg is 240 Units, so 200 Units binds
    heavy = {**CHILD, "weight_kg": 40}
    two = [shot("biceps-brachii", "120 U", 4, "left"), shot("brachialis", "80 U", 2, "left")]
    assert judged(pack, rule, *two, patient=heavy) == []
    assert judged(pack, rule, *two, shot("brachioradialis", "1 U", 2, "left"), patient=heavy) == [
        "error"
    ]
    # each arm is judged apart: 150 Units in each arm of a 25 kg child
    both = [shot("biceps-brachii", "75 U", 4, s) for s in ("left", "right")]
    both += [shot("brachialis", "50 U", 2, s) for s in ("left", "right")]
    both += [shot("flexor-carpi-ulnaris", "25 U", 2, s) for s in ("left", "right")]
    assert judged(pack, rule, *both, patient=CHILD) == []
    # 3 Units/kg is the low end of the recommended range: 75 Units at 25 kg
    assert judged(pack, rule, shot("biceps-brachii", "75 U", 4, "left"), patient=CHILD) == []
    assert judged(pack, rule, shot("biceps-brachii", "74 U", 4, "left"), patient=CHILD) == ["info"]


def test_the_adult_rules_begin_at_18(pack: Pack) -> None:
    """The adult age of BTA-POPULATION (18): a 17-year-old is judged by the children's rules."""
    proposal = session("2026-12-01T10:00", ONA, shot("biceps-brachii", "201 U", 5))
    at_17 = findings(pack, proposal, patient={**CHILD, "age_years": 17, "weight_kg": 60})
    at_18 = findings(pack, proposal, patient={**CHILD, "age_years": 18, "weight_kg": 60})
    assert of(at_17, "BTA-ONA-ADULT-MUSCLE") == [] and of(at_17, "BTA-ONA-CHILD-MUSCLE") == [
        "warning"
    ]
    assert (
        of(at_18, "BTA-ONA-ADULT-MUSCLE") == ["warning"] and of(at_18, "BTA-ONA-CHILD-MUSCLE") == []
    )


# -- abobotulinumtoxinA, adults ------------------------------------------------------------


def test_dysport_adult_upper_limb_is_500_to_1000_units(pack: Pack) -> None:
    rule = "BTA-ABO-ADULT-UPPER"
    assert judged(pack, rule, shot("biceps-brachii", "1000 U", 4), product=ABO) == []
    assert judged(pack, rule, shot("biceps-brachii", "1001 U", 4), product=ABO) == ["warning"]
    assert judged(pack, rule, shot("biceps-brachii", "500 U", 4), product=ABO) == []
    assert judged(pack, rule, shot("biceps-brachii", "499 U", 4), product=ABO) == ["info"]


def test_dysport_adult_lower_limb_is_1000_to_1500_units(pack: Pack) -> None:
    rule = "BTA-ABO-ADULT-LOWER"
    assert judged(pack, rule, shot("soleus", "1500 U", 4), product=ABO) == []
    assert judged(pack, rule, shot("soleus", "1000 U", 4), product=ABO) == []
    assert judged(pack, rule, shot("soleus", "999 U", 4), product=ABO) == ["info"]
    assert judged(pack, rule, shot("soleus", "1501 U", 4), product=ABO) == ["warning"]


def test_dysport_gives_an_adult_at_most_1500_units_a_session(pack: Pack) -> None:
    rule = "BTA-ABO-ADULT-TOTAL"
    arm, leg = shot("biceps-brachii", "500 U", 4), shot("soleus", "1000 U", 4)
    assert judged(pack, rule, arm, leg, product=ABO) == []
    assert judged(pack, rule, arm, shot("soleus", "1001 U", 4), product=ABO) == ["error"]


def test_dysport_adult_sessions_are_12_weeks_apart(pack: Pack) -> None:
    rule = "BTA-ABO-ADULT-INTERVAL"
    before = [session("2026-09-01T10:00", ONA, shot("soleus", "100 U", 2))]
    day_83 = session("2026-11-23T10:00", ABO, shot("soleus", "1000 U", 4))
    day_84 = session("2026-11-24T10:00", ABO, shot("soleus", "1000 U", 4))
    assert of(findings(pack, day_83, before), rule) == ["error"]
    assert of(findings(pack, day_84, before), rule) == []


# -- abobotulinumtoxinA, children ----------------------------------------------------------


def test_dysport_childs_upper_limb_is_16_units_per_kg_or_640_units(pack: Pack) -> None:
    rule = "BTA-ABO-CHILD-UPPER"
    # 25 kg: 16 Units/kg is 400 Units; the range starts at 8 Units/kg, 200 Units
    assert (
        judged(pack, rule, shot("biceps-brachii", "400 U", 4, "left"), product=ABO, patient=CHILD)
        == []
    )
    assert judged(
        pack, rule, shot("biceps-brachii", "401 U", 4, "left"), product=ABO, patient=CHILD
    ) == ["error"]
    assert (
        judged(pack, rule, shot("biceps-brachii", "200 U", 4, "left"), product=ABO, patient=CHILD)
        == []
    )
    assert judged(
        pack, rule, shot("biceps-brachii", "199 U", 4, "left"), product=ABO, patient=CHILD
    ) == ["info"]
    heavy = {**CHILD, "age_years": 15, "weight_kg": 50}  # 800 Units by weight: 640 binds
    assert (
        judged(pack, rule, shot("biceps-brachii", "640 U", 4, "left"), product=ABO, patient=heavy)
        == []
    )
    assert judged(
        pack, rule, shot("biceps-brachii", "641 U", 4, "left"), product=ABO, patient=heavy
    ) == ["error"]


def test_dysport_childs_leg_is_15_units_per_kg_or_1000_units(pack: Pack) -> None:
    rule = "BTA-ABO-CHILD-LOWER"
    # 25 kg: 15 Units/kg is 375 Units, the range starting at 10 Units/kg, 250 Units
    assert (
        judged(pack, rule, shot("gastrocnemius", "375 U", 4, "left"), product=ABO, patient=CHILD)
        == []
    )
    assert judged(
        pack, rule, shot("gastrocnemius", "376 U", 4, "left"), product=ABO, patient=CHILD
    ) == ["error"]
    assert (
        judged(pack, rule, shot("gastrocnemius", "250 U", 4, "left"), product=ABO, patient=CHILD)
        == []
    )
    assert judged(
        pack, rule, shot("gastrocnemius", "249 U", 4, "left"), product=ABO, patient=CHILD
    ) == ["info"]
    heavy = {**CHILD, "age_years": 16, "weight_kg": 70}  # 1050 Units by weight: 1000 binds
    assert (
        judged(pack, rule, shot("gastrocnemius", "1000 U", 8, "left"), product=ABO, patient=heavy)
        == []
    )
    assert judged(
        pack, rule, shot("gastrocnemius", "1001 U", 8, "left"), product=ABO, patient=heavy
    ) == ["error"]


def test_dysport_childs_whole_session_is_30_units_per_kg_or_1000_units(pack: Pack) -> None:
    rule = "BTA-ABO-CHILD-TOTAL"
    legs = [shot("gastrocnemius", "375 U", 4, s) for s in ("left", "right")]  # 750 at 25 kg
    assert judged(pack, rule, *legs, product=ABO, patient=CHILD) == []
    more = [*legs, shot("biceps-brachii", "1 U", 1, "left")]
    assert judged(pack, rule, *more, product=ABO, patient=CHILD) == ["error"]
    heavy = {**CHILD, "age_years": 16, "weight_kg": 40}  # 1200 Units by weight: 1000 binds
    legs = [shot("gastrocnemius", "500 U", 4, s) for s in ("left", "right")]
    assert judged(pack, rule, *legs, product=ABO, patient=heavy) == []
    assert judged(
        pack, rule, *legs, shot("soleus", "1 U", 1, "left"), product=ABO, patient=heavy
    ) == ["error"]


def test_dysport_childs_arm_waits_16_weeks_and_leg_12(pack: Pack) -> None:
    arm_before = [session("2026-08-01T10:00", ABO, shot("biceps-brachii", "200 U", 4, "left"))]
    arm = lambda at: session(at, ABO, shot("biceps-brachii", "200 U", 4, "left"))  # noqa: E731
    rule = "BTA-ABO-CHILD-UPPER-INTERVAL"
    assert of(findings(pack, arm("2026-11-20T10:00"), arm_before, CHILD), rule) == [
        "error"
    ]  # 111 d
    assert of(findings(pack, arm("2026-11-21T10:00"), arm_before, CHILD), rule) == []  # 112 d
    leg = lambda at: session(at, ABO, shot("soleus", "250 U", 4, "left"))  # noqa: E731
    leg_before = [leg("2026-08-01T10:00")]
    rule = "BTA-ABO-CHILD-LOWER-INTERVAL"
    assert of(findings(pack, leg("2026-10-23T10:00"), leg_before, CHILD), rule) == ["error"]  # 83 d
    assert of(findings(pack, leg("2026-10-24T10:00"), leg_before, CHILD), rule) == []
    # a leg session is not held back by an arm session 12 weeks before, nor the arm by a leg
    assert of(findings(pack, leg("2026-10-24T10:00"), arm_before, CHILD), rule) == []
    assert (
        of(
            findings(pack, arm("2026-10-24T10:00"), leg_before, CHILD),
            "BTA-ABO-CHILD-UPPER-INTERVAL",
        )
        == []
    )


def test_regression_a_per_side_total_crashed_on_a_session_without_its_limb(pack: Pack) -> None:
    # a child's Dysport arm session asked the per-leg total of an empty group of legs
    found = findings(
        pack,
        session("2026-12-01T10:00", ABO, shot("biceps-brachii", "200 U", 4, "left")),
        patient=CHILD,
    )
    assert of(found, "BTA-ABO-CHILD-LOWER") == [] and of(found, "BTA-ABO-CHILD-UPPER") == []


def test_two_different_sessions_at_one_instant_are_refused() -> None:
    at = "2026-12-01T10:00"
    with pytest.raises(InputError) as raised:
        parse_case(
            {
                "patient": ADULT,
                "history": [
                    session(at, ONA, shot("soleus", "50 U")),
                    session(at, ONA, shot("soleus", "60 U")),
                ],
                "proposal": session("2027-03-01T10:00", ONA, shot("soleus", "50 U")),
            }
        )
    assert raised.value.field == "history[1]" and "contradicts" in raised.value.message


# -- the reader ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("injection", "field", "words"),
    [
        ({"muscle": "bicep", "dose": "10 U"}, "proposal.injections[0].muscle", "biceps-brachii"),
        ({"muscle": "soleus", "dose": "10"}, "proposal.injections[0].dose", "unit"),
        ({"muscle": "soleus", "dose": "10 mg"}, "proposal.injections[0].dose", "Units"),
        ({"muscle": "soleus", "dose": "0 U"}, "proposal.injections[0].dose", ""),
        ({"muscle": "soleus", "dose": "10 Xeomin U"}, "proposal.injections[0].dose", ""),
        ({"muscle": "soleus", "dose": "10 U", "sites": 0}, "proposal.injections[0].sites", "whole"),
        (
            {"muscle": "soleus", "dose": "10 U", "side": "both"},
            "proposal.injections[0].side",
            "left",
        ),
        ({"muscle": "soleus", "dose": "10 U", "site": 2}, "proposal.injections[0].site", "sites"),
    ],
)
def test_a_bad_injection_is_refused_naming_its_field(
    injection: Doc, field: str, words: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_case(
            {
                "patient": ADULT,
                "history": [],
                "proposal": session("2026-12-01T10:00", ONA, injection),
            }
        )
    assert raised.value.field == field and words in raised.value.message


def test_a_muscle_given_twice_on_one_side_is_refused() -> None:
    twice = session(
        "2026-12-01T10:00",
        ONA,
        shot("soleus", "50 U", 1, "left"),
        shot("soleus", "50 U", 1, "left"),
    )
    with pytest.raises(InputError) as raised:
        parse_case({"patient": ADULT, "history": [], "proposal": twice})
    assert raised.value.field == "proposal.injections[1].muscle" and "twice" in raised.value.message
    each_side = session(
        "2026-12-01T10:00",
        ONA,
        shot("soleus", "50 U", 1, "left"),
        shot("soleus", "50 U", 1, "right"),
    )
    assert (
        len(
            parse_case({"patient": ADULT, "history": [], "proposal": each_side}).proposal.injections
        )
        == 2
    )  # type: ignore[union-attr]


def test_a_session_is_its_products_medicine() -> None:
    case = parse_case(
        {
            "patient": ADULT,
            "history": [],
            "proposal": session("2026-12-01T10:00", "ONABOTULINUMTOXINA", shot("soleus", "50 U")),
        }
    )
    assert case.proposal.medicine == "botulinum-toxin-a"
    with pytest.raises(InputError) as raised:
        parse_case(
            {
                "patient": ADULT,
                "history": [],
                "proposal": {
                    **session("2026-12-01T10:00", ONA, shot("soleus", "50 U")),
                    "medicine": "baclofen",
                },
            }
        )
    assert raised.value.field == "proposal.medicine" and "botulinum-toxin-a" in raised.value.message
    with pytest.raises(InputError) as raised:
        parse_case(
            {
                "patient": ADULT,
                "history": [],
                "proposal": session(
                    "2026-12-01T10:00", "incobotulinumtoxinA", shot("soleus", "50 U")
                ),
            }
        )
    assert raised.value.field == "proposal.product"


# -- the session plan ----------------------------------------------------------------------


def request(
    goal: Doc, patient: Doc, history: list[Doc] | None = None, start: str = "2026-12-01T09:00"
) -> Any:
    return parse_request(
        {"patient": patient, "history": history or [], "goal": goal, "start": start}
    )


def test_a_session_plan_starts_each_muscle_at_its_lowest_dose(pack: Pack) -> None:
    muscles = [
        {"muscle": m, "side": "left"}
        for m in (
            "biceps-brachii",
            "flexor-carpi-radialis",
            "flexor-carpi-ulnaris",
            "flexor-digitorum-profundus",
            "flexor-digitorum-superficialis",
        )
    ]
    made = plan(
        request({"kind": "injection-session", "product": ONA, "muscles": muscles}, ADULT), pack
    )
    assert made.made
    doses = {i.muscle: (i.dose.text(), i.sites) for i in made.steps[0].event.injections}  # type: ignore[union-attr]
    assert doses == {
        "biceps-brachii": ("100 Units", 4),
        "flexor-carpi-radialis": ("13 Units", 1),  # 12.5 drawn up as a whole Unit
        "flexor-carpi-ulnaris": ("13 Units", 1),
        "flexor-digitorum-profundus": ("30 Units", 1),
        "flexor-digitorum-superficialis": ("30 Units", 1),
    }
    legs = [{"muscle": m} for m in ("gastrocnemius", "soleus", "tibialis-posterior")]
    made = plan(
        request({"kind": "injection-session", "product": ONA, "muscles": legs}, ADULT), pack
    )
    doses = {i.muscle: (i.dose.text(), i.sites) for i in made.steps[0].event.injections}  # type: ignore[union-attr]
    # 50 Units per site at most: the tibialis posterior's one site holds its 50 Units
    assert doses == {
        "gastrocnemius": ("50 Units", 2),
        "soleus": ("50 Units", 2),
        "tibialis-posterior": ("50 Units", 1),
    }


def test_a_childs_session_plan_is_per_kilogram_and_waits_for_the_interval(pack: Pack) -> None:
    before = [session("2026-10-01T10:00", ONA, shot("biceps-brachii", "60 U", 4, "left"))]
    muscles = [
        {"muscle": m, "side": "left"}
        for m in (
            "biceps-brachii",
            "brachialis",
            "brachioradialis",
            "flexor-carpi-radialis",
            "flexor-carpi-ulnaris",
        )
    ]
    made = plan(
        request({"kind": "injection-session", "product": ONA, "muscles": muscles}, CHILD, before),
        pack,
    )
    assert made.made
    first = made.steps[0].event
    assert first.at.date().isoformat() == "2026-12-24"  # 12 weeks after 1 October
    doses = {i.muscle: (i.dose.text(), i.sites) for i in first.injections}  # type: ignore[union-attr]
    assert doses == {
        "biceps-brachii": ("38 Units", 4),  # 1.5 Units/kg of 25 kg, 37.5, drawn up as 38
        "brachialis": ("25 Units", 2),
        "brachioradialis": ("13 Units", 2),
        "flexor-carpi-radialis": ("25 Units", 2),
        "flexor-carpi-ulnaris": ("25 Units", 2),
    }
    review = made.steps[1].event
    assert (
        review.at.date().isoformat() == "2027-03-18" and "2027-03-18" in made.steps[1].instructions
    )
    assert any(f.rule == "BTA-SPREAD" for f in made.findings)
    # every step passes the plan's own checks
    case_history = [*before]
    for step in made.steps:
        from posology.serialize import event_json

        found = (
            findings(pack, event_json(step.event), case_history, CHILD)
            if step.event.kind == "injection-session"
            else []
        )
        assert all(f.severity.value in ("info", "warning") for f in found)


def test_a_childs_finger_flexors_are_planned_over_two_sites_each(pack: Pack) -> None:
    muscles = [
        {"muscle": m, "side": "right"}
        for m in ("flexor-digitorum-profundus", "flexor-digitorum-superficialis")
    ]
    made = plan(
        request({"kind": "injection-session", "product": ONA, "muscles": muscles}, CHILD), pack
    )
    doses = {i.muscle: (i.dose.text(), i.sites) for i in made.steps[0].event.injections}  # type: ignore[union-attr]
    # 0.5 Unit/kg of 25 kg is 12.5 Units, drawn up as 13; 26 Units over the arm are below the
    # 3 Units/kg the arm is recommended at least, which the plan says as a note
    assert doses == {
        "flexor-digitorum-profundus": ("13 Units", 2),
        "flexor-digitorum-superficialis": ("13 Units", 2),
    }
    assert any(
        f.rule == "BTA-ONA-CHILD-UPPER" and f.severity.value == "info" for f in made.findings
    )


def test_a_session_plan_over_a_total_is_withdrawn_naming_the_rule(pack: Pack) -> None:
    arm = [
        {"muscle": m, "side": "left"}
        for m in (
            "biceps-brachii",
            "brachialis",
            "brachioradialis",
            "flexor-carpi-radialis",
            "flexor-carpi-ulnaris",
            "flexor-digitorum-profundus",
            "flexor-digitorum-superficialis",
        )
    ]
    goal = {"kind": "injection-session", "product": ONA, "muscles": arm}
    # 25 kg: the lowest doses of the seven muscles are 152 Units, above the 150 Units (6
    # Units/kg) a child's arm may take in a session
    withdrawn = plan(request(goal, CHILD), pack)
    assert not withdrawn.made
    assert (
        withdrawn.findings[0].rule == "BTA-ONA-CHILD-UPPER"
        and "withdrawn" in withdrawn.findings[0].message
    )
    # 10 kg: 60 Units, exactly the arm's 6 Units/kg
    assert plan(request(goal, {**CHILD, "weight_kg": 10}), pack).made


def test_a_dysport_session_plan_asks_for_the_clinicians_doses(pack: Pack) -> None:
    goal = {"kind": "injection-session", "product": ABO, "muscles": [{"muscle": "soleus"}]}
    refused = plan(request(goal, ADULT), pack)
    assert not refused.made and refused.findings[0].rule == "BTA-MUSCLES"
    assert "clinical judgement" in refused.findings[0].message


def test_a_childs_session_plan_without_a_weight_is_refused(pack: Pack) -> None:
    no_weight = {"age_years": 8, "diagnosis": "cerebral-palsy"}
    made = plan(
        request(
            {"kind": "injection-session", "product": ONA, "muscles": [{"muscle": "soleus"}]},
            no_weight,
        ),
        pack,
    )
    assert not made.made


def test_a_bad_session_goal_is_refused_naming_its_field() -> None:
    for goal, field in (
        ({"kind": "injection-session", "product": ONA, "muscles": []}, "goal.muscles"),
        (
            {"kind": "injection-session", "product": ONA, "muscles": [{"muscle": "calf"}]},
            "goal.muscles[0].muscle",
        ),
        (
            {"kind": "injection-session", "product": "xeomin", "muscles": [{"muscle": "soleus"}]},
            "goal.product",
        ),
        ({"kind": "injection-session", "muscles": [{"muscle": "soleus"}]}, "goal.product"),
    ):
        with pytest.raises(InputError) as raised:
            request(goal, ADULT)
        assert raised.value.field == field


# -- properties ----------------------------------------------------------------------------

UNITS = st.integers(min_value=1, max_value=1600)
MUSCLES = ("biceps-brachii", "soleus", "gastrocnemius", "flexor-carpi-ulnaris")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(MUSCLES), UNITS), min_size=1, max_size=4, unique_by=lambda t: t[0]
    )
)
def test_a_dysport_adult_session_is_refused_exactly_above_1500_units(
    shots: list[tuple[str, int]],
) -> None:
    pack = load_pack("botulinum-toxin-a")
    proposal = session("2026-12-01T10:00", ABO, *(shot(m, f"{u} U", 10) for m, u in shots))
    expected = ["error"] if sum(u for _, u in shots) > 1500 else []
    assert of(findings(pack, proposal), "BTA-ABO-ADULT-TOTAL") == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400), st.sampled_from((ONA, ABO)), st.sampled_from(MUSCLES), UNITS
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda t: t[0],  # two different sessions at one instant are refused
    ),
    st.sampled_from((ADULT, CHILD)),
)
def test_judging_a_history_of_sessions_equals_checking_each_in_turn(
    events: list[tuple[int, str, str, int]], patient: Doc
) -> None:
    pack = load_pack("botulinum-toxin-a")
    from datetime import datetime, timedelta

    docs = [
        session((datetime(2026, 1, 1, 10) + timedelta(days=d)).isoformat(), p, shot(m, f"{u} U", 4))
        for d, p, m, u in sorted(events)
    ]
    case = parse_case({"patient": patient, "history": docs[:-1], "proposal": docs[-1]})
    history = [*case.history, case.proposal]
    for i, (event, found) in enumerate(judge_history(case.patient, history, pack)):
        assert found == check(case.patient, history[:i], event, pack)


ALL_MUSCLES = (
    "biceps-brachii",
    "brachialis",
    "brachioradialis",
    "flexor-carpi-radialis",
    "flexor-carpi-ulnaris",
    "flexor-digitorum-profundus",
    "flexor-digitorum-superficialis",
    "gastrocnemius",
    "soleus",
    "tibialis-posterior",
)


@st.composite
def session_requests(draw: Any) -> Doc:
    """Any session goal the reader accepts: a product, muscles and sides, an adult or a child of
    any weight, after earlier sessions of either product."""
    child = draw(st.booleans())
    patient: Doc = dict(ADULT)
    if child:
        patient = {"age_years": draw(st.integers(2, 17)), "diagnosis": "cerebral-palsy"}
        if draw(st.integers(0, 9)):
            patient["weight_kg"] = draw(st.integers(8, 90))
    chosen = draw(
        st.lists(
            st.tuples(st.sampled_from(ALL_MUSCLES), st.sampled_from((None, "left", "right"))),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    from datetime import datetime, timedelta

    days_before = draw(st.lists(st.integers(1, 200), max_size=3, unique=True))
    history = [
        session(
            (datetime(2026, 12, 1, 9) - timedelta(days=d)).isoformat(),
            draw(st.sampled_from((ONA, ABO))),
            shot(draw(st.sampled_from(ALL_MUSCLES)), "50 U", 2),
        )
        for d in sorted(days_before, reverse=True)
    ]
    return {
        "patient": patient,
        "history": history,
        "goal": {
            "kind": "injection-session",
            "product": draw(st.sampled_from((ONA, ABO))),
            "muscles": [{"muscle": m, **({"side": s} if s else {})} for m, s in chosen],
        },
        "start": "2026-12-01T10:00",
    }


@settings(max_examples=150, deadline=None)
@given(session_requests())
def test_a_session_plan_never_breaks_its_own_checks(document: Doc) -> None:
    from posology.planning import replay
    from posology.serialize import event_json

    pack = load_pack("botulinum-toxin-a")
    req = parse_request(document)
    made = plan(req, pack)
    if not made.made:
        assert made.findings, "a refused plan says why"
        return
    for step, found in replay(req, made.steps, pack):
        assert not [f for f in found if f.severity.value in ("error", "critical")], (step, found)
        assert (
            parse_case(
                {"patient": document["patient"], "history": [], "proposal": event_json(step.event)}
            ).proposal
            == step.event
        )
    assert [s.event.at for s in made.steps] == sorted(s.event.at for s in made.steps)
    assert made.steps[0].event.at >= req.start


# -- the command ---------------------------------------------------------------------------


def test_posology_check_judges_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from posology.cli import run

    case = {
        "patient": ADULT,
        "history": [],
        "proposal": session(
            "2026-12-01T10:00",
            ABO,
            shot("soleus", "1000 U", 4),
            shot("biceps-brachii", "1001 U", 4),
        ),
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    assert run(["check", str(path), "--format", "json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "error" and answer["pack"]["medicine"] == "botulinum-toxin-a"
    assert {f["rule"] for f in answer["findings"]} == {"BTA-ABO-ADULT-TOTAL", "BTA-ABO-ADULT-UPPER"}
    bad = {**case, "proposal": session("2026-12-01T10:00", ABO, shot("soleus", "1000 mg", 4))}
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert run(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "proposal.injections[0].dose" in err and "Traceback" not in err


def test_explain_finds_a_botulinum_rule_without_naming_the_medicine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from posology.cli import run

    assert run(["explain", "BTA-ONA-UNITS"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("BTA-ONA-UNITS: BOTOX Units are BOTOX's own")
    assert "Botulinum toxin type A for spasticity" in out and "cannot be compared" in out
    assert run(["rules", "--medicine", "botulinum-toxin-a", "--route", "intramuscular"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("BTA-ABO-CHILD-TOTAL") for line in listed)


@pytest.mark.parametrize("medicine", ["botulinum-toxin-a", "tizanidine"])
def test_a_finding_names_its_source_in_words_not_by_its_file(medicine: str) -> None:
    """A clinician reads the citation's source beside the quote: "BOTOX boxed warning,
    Guideline Central", not the name of the file the excerpt is shipped in."""
    pack = load_pack(medicine)
    for rule in pack.rules.values():
        for part in rule.citation.source.split("; "):
            assert not part.endswith(".txt"), (rule.id, part)
            assert " " in part, (rule.id, part)
