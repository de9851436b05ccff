"""Every shipped example gives the verdict and the rules its name promises."""

from __future__ import annotations

import pytest

from casebuild import EXAMPLES
from posology.knowledge import load_pack
from posology.model import read_case, verdict
from posology.rules import check

EXPECTED = {
    "oral-titration-next-step.json": ("ok", set()),
    "oral-above-maximum.json": ("error", {"PO-MAX", "PO-USUAL"}),
    "oral-abrupt-stop.json": ("error", {"STOP-GRADUAL"}),
    "oral-child-no-weight.json": ("error", {"SUP-PO-PAED", "IND-POPULATION"}),
    "oral-renal-impairment.json": ("warning", {"SUP-PO-RENAL-CRCL"}),
    "it-screening-first-dose.json": ("warning", {"IT-SCREEN-RESUS", "IT-MONITOR-RISK"}),
    "it-screening-step-too-soon.json": ("error", {"IT-SCREEN-STEP"}),
    "it-test-dose-in-mg.json": (
        "critical",
        {"SUP-UNIT-MIXUP", "IT-SCREEN-NONRESPONDER", "IT-SCREEN-START", "IT-SCREEN-RESUS"},
    ),
    "it-titration-step-too-large.json": ("error", {"IT-TITR-STEP"}),
    "it-abrupt-stop.json": ("critical", {"STOP-GRADUAL"}),
    "it-refill-concentration-change.json": ("warning", {"SUP-IT-BRIDGE"}),
    "it-flex-schedule.json": ("ok", set()),
    "it-maintenance-escalation.json": ("warning", {"IT-ESCALATION-ALERT"}),
    # 60 Units of BOTOX, in range for a 25 kg child, with 120 Dysport Units beside them, three
    # months after the last session
    "botulinum-units-of-another-product.json": ("critical", {"BTA-ONA-UNITS"}),
}


def test_every_example_is_listed() -> None:
    assert {p.name for p in (EXAMPLES / "check").glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_verdict_and_rules(name: str) -> None:
    case = read_case((EXAMPLES / "check" / name).read_text(encoding="utf-8"))
    pack = load_pack(case.proposal.medicine)  # the proposal's medicine's pack, as the CLI picks
    findings = check(case.patient, case.history, case.proposal, pack)
    want_verdict, want_rules = EXPECTED[name]
    assert verdict(findings) == want_verdict
    assert {f.rule for f in findings} == want_rules
