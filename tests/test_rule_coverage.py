"""Every rule ID of the catalogue and the supplementary facts is in the pack and named by a test."""

from __future__ import annotations

import re
from pathlib import Path

from posology.knowledge import Pack

# The catalogue's IDs, written out so that this test stands on its own in any checkout.
ALL_IDS = [
    "IND-SCOPE",
    "IND-POPULATION",
    "IND-ORIGIN",
    "SEL-BENEFIT",
    "SEL-STABLE",
    "STOP-GRADUAL",
    "PO-DAILY-RANGE",
    "PO-START",
    "PO-TITRATION",
    "PO-USUAL",
    "PO-MAX",
    "PO-FREQUENT",
    "PO-NIGHT",
    "PO-PRETASK",
    "PO-MEALS",
    "IT-DAILY-RANGE",
    "IT-SCREEN-REQUIRED",
    "IT-SCREEN-CONC",
    "IT-SCREEN-INFECTION",
    "IT-SCREEN-START",
    "IT-SCREEN-STEP",
    "IT-SCREEN-SLOW",
    "IT-SCREEN-RESPONDER",
    "IT-SCREEN-RESUS",
    "IT-SCREEN-NONRESPONDER",
    "IT-MONITOR-RISK",
    "IT-IMPLANT-CENTRE",
    "IT-TITR-START",
    "IT-TITR-HOLD24",
    "IT-TITR-INTERVAL",
    "IT-TITR-STEP",
    "IT-TITR-NOEFFECT",
    "IT-HIGH-DOSE",
    "IT-MONITOR-IMPLANT",
    "IT-MAINT-GOAL",
    "IT-MAINT-SPINAL",
    "IT-MAINT-CEREBRAL",
    "IT-PAED-MAINT",
    "IT-PAED-UNDER4",
    "IT-DELIVERY-CONC",
    "IT-MODE-CONTINUOUS",
    "IT-MODE-COMPLEX",
    "IT-CHRONIC-STEP",
    "IT-SIDE-EFFECT-REDUCE",
    "IT-ESCALATION-ALERT",
    "IT-FUNCTION-CAUTION",
    "IT-TOLERANCE",
    "SUP-PO-PAED",
    "SUP-PO-RENAL",
    "SUP-PO-RENAL-CRCL",
    "SUP-PO-ELDERLY",
    "SUP-PO-TAPER",
    "SUP-PO-REVIEW",
    "SUP-PO-STRENGTHS",
    "SUP-IT-RATE",
    "SUP-IT-CONC",
    "SUP-IT-REFILL",
    "SUP-IT-MAX-INTERVAL",
    "SUP-IT-BRIDGE",
    "SUP-IT-SCREEN-LOW",
    "SUP-IT-ORAL-WEAN",
    "SUP-IT-WITHDRAWAL",
    "SUP-DDD",
    "SUP-CAUTION",
    "SUP-PREGNANCY",
    "SUP-LACTATION",
    "SUP-UNIT-MIXUP",
]

TESTS = Path(__file__).resolve().parent


def test_the_pack_holds_every_id(pack: Pack) -> None:
    assert len(ALL_IDS) == len(set(ALL_IDS)) == 67
    assert set(ALL_IDS) == set(pack.rules)


def test_every_id_is_named_by_a_test_other_than_this_one() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in TESTS.glob("test_*.py")
        if p.name != Path(__file__).name
    )
    named = set(re.findall(r"[A-Z]+(?:-[A-Z0-9]+)+", text))
    # a test function name also names a rule: test_po_max_... names PO-MAX
    for name in re.findall(r"def (test_[a-z0-9_]+)", text):
        for rule_id in ALL_IDS:
            if rule_id.lower().replace("-", "_") in name:
                named.add(rule_id)
    missing = sorted(set(ALL_IDS) - named)
    assert not missing, f"no test names: {missing}"


def test_every_check_rule_is_read_by_the_checker(pack: Pack) -> None:
    import inspect

    from posology import rules

    modules = (
        rules.general,
        rules.oral,
        rules.screening,
        rules.infusion,
        rules.pump,
        rules.mixup,
        rules.limits,
    )
    source = "\n".join(inspect.getsource(m) for m in modules)
    for rule in pack.rules.values():
        if "check" in rule.engine:
            assert f'"{rule.id}"' in source, rule.id
