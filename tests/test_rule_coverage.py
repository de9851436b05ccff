"""Every rule of the pack is exercised: each check rule fires on a case run here (and stays quiet
just inside its boundary), each plan rule shapes a plan made here.

The cases are minimal CASE documents written for this file; the expected severities are spelled
out, never read from the pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from casebuild import adult, event, fired, infusion, it_patient, it_started, oral, run, tdose
from planbuild import make_plan
from posology.knowledge import Pack

# The catalogue's IDs, written out so that a rule added to or dropped from the pack is noticed.
CATALOGUE = """
IND-SCOPE IND-POPULATION IND-ORIGIN SEL-BENEFIT SEL-STABLE STOP-GRADUAL PO-DAILY-RANGE PO-START
PO-TITRATION PO-USUAL PO-MAX PO-FREQUENT PO-NIGHT PO-PRETASK PO-MEALS IT-DAILY-RANGE
IT-SCREEN-REQUIRED IT-SCREEN-CONC IT-SCREEN-INFECTION IT-SCREEN-START IT-SCREEN-STEP
IT-SCREEN-SLOW IT-SCREEN-RESPONDER IT-SCREEN-RESUS IT-SCREEN-NONRESPONDER IT-MONITOR-RISK
IT-IMPLANT-CENTRE IT-TITR-START IT-TITR-HOLD24 IT-TITR-INTERVAL IT-TITR-STEP IT-TITR-NOEFFECT
IT-HIGH-DOSE IT-MONITOR-IMPLANT IT-MAINT-GOAL IT-MAINT-SPINAL IT-MAINT-CEREBRAL IT-PAED-MAINT
IT-PAED-UNDER4 IT-DELIVERY-CONC IT-MODE-CONTINUOUS IT-MODE-COMPLEX IT-CHRONIC-STEP
IT-SIDE-EFFECT-REDUCE IT-ESCALATION-ALERT IT-FUNCTION-CAUTION IT-TOLERANCE SUP-PO-PAED
SUP-PO-RENAL SUP-PO-RENAL-CRCL SUP-PO-ELDERLY SUP-PO-TAPER SUP-PO-REVIEW SUP-PO-STRENGTHS
SUP-IT-RATE SUP-IT-CONC SUP-IT-REFILL SUP-IT-MAX-INTERVAL SUP-IT-BRIDGE SUP-IT-RESIDUAL
SUP-IT-SCREEN-LOW
SUP-IT-ORAL-WEAN SUP-IT-WITHDRAWAL SUP-DDD SUP-CAUTION SUP-PREGNANCY SUP-LACTATION
SUP-UNIT-MIXUP
"""
ALL_IDS = CATALOGUE.split()

Doc = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A rule, the severity it must fire with, and a case just past and one just inside."""

    rule: str
    severity: str
    fires: tuple[Doc, list[Doc], Doc]  # patient, history, proposal
    quiet: tuple[Doc, list[Doc], Doc]
    why: str


def same(patient: Doc, history: list[Doc]) -> tuple[Doc, list[Doc]]:
    return patient, history


CHILD = {"age_years": 10, "diagnosis": "cerebral-palsy", "weight_kg": 20}
STABLE_400 = [*it_started("400 ug/d"), event("2026-11-20T09:00", "it-stable")]
TITRATED = [
    *it_started("100 ug/d"),
    infusion("2026-11-10T12:00", "130 ug/d"),
    infusion("2026-11-12T12:00", "169 ug/d"),
    infusion("2026-11-14T12:00", "200 ug/d"),
]
TAPERED = [
    *it_started("100 ug/d"),
    infusion("2026-11-20T12:00", "300 ug/d"),
    event("2026-12-01T09:00", "it-stable"),
    infusion("2027-01-01T09:00", "240 ug/d"),
    infusion("2027-01-10T09:00", "180 ug/d"),
    infusion("2027-01-18T09:00", "100 ug/d"),
    event("2027-01-25T09:00", "it-stop"),
]
ORAL_TAPER = [
    oral("2026-11-01T08:00", "20 mg"),
    oral("2026-12-01T08:00", "15 mg"),
    oral("2026-12-04T08:00", "10 mg"),
]
FLEX = {
    "schedule": [
        {"start": "07:00", "daily_rate": "400 ug/d"},
        {"start": "19:00", "daily_rate": "480 ug/d"},
    ]
}
MAINT_LOW = [infusion("2026-01-01T09:00", "30 ug/d"), event("2026-02-01T09:00", "it-stable")]
MAINT_HIGH = [infusion("2026-01-01T09:00", "950 ug/d"), event("2026-02-01T09:00", "it-stable")]
D = "2026-12-01T08:00"


def refill(at: str, conc: str = "500 ug/mL", volume: float = 20) -> Doc:
    return event(at, "pump-refill", concentration=conc, volume_ml=volume)


CASES = [
    Case(
        "IND-SCOPE",
        "info",
        (adult(diagnosis="other"), [], oral(D, "5 mg")),
        (adult(), [], oral(D, "5 mg")),
        "a diagnosis the label does not list",
    ),
    Case(
        "IND-SCOPE",
        "warning",
        (adult(age_years=17, weight_kg=50), [], oral(D, "3 mg", 4)),
        (adult(age_years=18), [], oral(D, "5 mg")),
        "a child with a spinal disorder on oral baclofen",
    ),
    Case(
        "IND-POPULATION",
        "info",
        (adult(age_years=17, diagnosis="cerebral-palsy", weight_kg=50), [], oral(D, "3 mg", 4)),
        (adult(age_years=18, diagnosis="cerebral-palsy"), [], oral(D, "5 mg")),
        "a child of 17 on oral baclofen, an adult of 18",
    ),
    Case(
        "IND-POPULATION",
        "warning",
        (adult(age_years=17, diagnosis="cerebral-palsy", weight_kg=50), [], tdose(D, "25 ug")),
        (adult(age_years=18, diagnosis="cerebral-palsy"), [], tdose(D, "25 ug")),
        "a child's intrathecal screening",
    ),
    Case(
        "IND-ORIGIN",
        "warning",
        (it_patient(diagnosis="other"), it_started(), infusion("2026-11-07T12:00", "110 ug/d")),
        (
            it_patient(diagnosis="other", origin="spinal"),
            it_started(),
            infusion("2026-11-07T12:00", "110 ug/d"),
        ),
        "an intrathecal step with the origin unknown",
    ),
    Case(
        "SEL-STABLE",
        "warning",
        (adult(spasticity_stable=False), [], oral(D, "5 mg")),
        (adult(), [], oral(D, "5 mg")),
        "a start while the spasticity is not stable",
    ),
    Case(
        "STOP-GRADUAL",
        "error",
        (adult(), ORAL_TAPER, event("2026-12-07T08:00", "oral-stop")),
        (adult(), ORAL_TAPER, event("2026-12-08T08:00", "oral-stop")),
        "an oral stop 6 days after the first of two reductions, and 7 days after",
    ),
    Case(
        "STOP-GRADUAL",
        "critical",
        (it_patient(), it_started("300 ug/d"), event("2026-12-15T12:00", "it-stop")),
        (
            it_patient(),
            [
                *it_started("300 ug/d"),
                infusion("2026-12-01T12:00", "240 ug/d"),
                infusion("2026-12-08T12:00", "180 ug/d"),
            ],
            event("2026-12-15T12:00", "it-stop"),
        ),
        "an abrupt intrathecal stop, and one after 14 days of reductions",
    ),
    Case(
        "PO-DAILY-RANGE",
        "info",
        (adult(), [], oral(D, "5 mg", 2)),
        (adult(), [], oral(D, "5 mg", 3)),
        "10 mg a day, and 15",
    ),
    Case(
        "PO-DAILY-RANGE",
        "warning",
        (adult(), [oral("2026-11-01T08:00", "30 mg")], oral(D, "33.4 mg")),
        (adult(), [oral("2026-11-01T08:00", "30 mg")], oral(D, "33.333 mg")),
        "one dose above a third of 100 mg, and at it",
    ),
    Case(
        "PO-START",
        "warning",
        (adult(), [], oral(D, "5 mg", 4)),
        (adult(), [], oral(D, "5 mg", 3)),
        "a first regimen of 20 mg a day, and of 15",
    ),
    Case(
        "PO-TITRATION",
        "warning",
        (adult(), [oral(D, "5 mg")], oral("2026-12-04T07:59", "10 mg")),
        (adult(), [oral(D, "5 mg")], oral("2026-12-04T08:00", "10 mg")),
        "a step a minute before 3 days, and at 3 days",
    ),
    Case(
        "PO-TITRATION",
        "warning",
        (adult(), [oral(D, "5 mg")], oral("2026-12-04T08:00", "10.5 mg")),
        (adult(), [oral(D, "5 mg")], oral("2026-12-04T08:00", "10 mg")),
        "a step of 16.5 mg a day, and of 15",
    ),
    Case(
        "PO-USUAL",
        "info",
        (adult(), [oral("2026-11-01T08:00", "20 mg")], oral("2026-11-10T08:00", "20.5 mg")),
        (adult(), [oral("2026-11-01T08:00", "20 mg")], oral("2026-11-10T08:00", "20 mg")),
        "61.5 mg a day, and 60",
    ),
    Case(
        "PO-MAX",
        "error",
        (adult(), [oral("2026-11-01T08:00", "30 mg")], oral("2026-11-10T08:00", "26 mg", 4)),
        (adult(), [oral("2026-11-01T08:00", "30 mg")], oral("2026-11-10T08:00", "25 mg", 4)),
        "104 mg a day outpatient, and 100",
    ),
    Case(
        "PO-MAX",
        "warning",
        (
            adult(setting="inpatient"),
            [oral("2026-11-01T08:00", "30 mg")],
            oral("2026-11-10T08:00", "26 mg", 4),
        ),
        (
            adult(setting="inpatient"),
            [oral("2026-11-01T08:00", "30 mg")],
            oral("2026-11-10T08:00", "25 mg", 4),
        ),
        "104 mg a day inpatient, and 100",
    ),
    Case(
        "IT-DAILY-RANGE",
        "warning",
        (it_patient(diagnosis="stroke"), MAINT_HIGH, infusion(D, "1401 ug/d")),
        (it_patient(diagnosis="stroke"), MAINT_HIGH, infusion(D, "1000 ug/d")),
        "1401 µg a day for a cerebral origin, and 1000",
    ),
    Case(
        "IT-SCREEN-REQUIRED",
        "error",
        (it_patient(), [], infusion(D, "100 ug/d")),
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 6)], infusion(D, "100 ug/d")),
        "an infusion without a responding test dose",
    ),
    Case(
        "IT-SCREEN-INFECTION",
        "error",
        (adult(conditions=["systemic-infection"]), [], tdose(D, "50 ug")),
        (adult(), [], tdose(D, "50 ug")),
        "a test dose during a systemic infection",
    ),
    Case(
        "IT-SCREEN-START",
        "warning",
        (adult(), [], tdose(D, "75 ug")),
        (adult(), [], tdose(D, "50 ug")),
        "a first test dose of 75 µg, and of 50",
    ),
    Case(
        "IT-SCREEN-STEP",
        "error",
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T07:59", "75 ug")),
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T08:00", "75 ug")),
        "a second test dose a minute before 24 h, and at 24 h",
    ),
    Case(
        "IT-SCREEN-STEP",
        "error",
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T08:00", "100 ug")),
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T08:00", "75 ug")),
        "a step of 50 µg, and of 25",
    ),
    Case(
        "IT-SCREEN-STEP",
        "warning",
        (adult(), [tdose(D, "50 ug")], tdose("2026-12-02T08:00", "75 ug")),
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T08:00", "75 ug")),
        "a step with the previous response unrecorded",
    ),
    Case(
        "IT-SCREEN-RESUS",
        "info",
        (adult(), [], tdose(D, "50 ug")),
        (adult(), [tdose(D, "50 ug", False)], tdose("2026-12-02T08:00", "75 ug")),
        "the first test dose, and the second",
    ),
    Case(
        "IT-SCREEN-NONRESPONDER",
        "error",
        (adult(), [tdose(D, "100 ug", False)], tdose("2026-12-02T08:00", "100 ug")),
        (adult(), [tdose(D, "75 ug", False)], tdose("2026-12-02T08:00", "100 ug")),
        "a test dose after a failed 100 µg, and after a failed 75",
    ),
    Case(
        "IT-MONITOR-RISK",
        "warning",
        (adult(medications=["opioid"]), [], tdose(D, "50 ug")),
        (adult(), [], tdose(D, "50 ug")),
        "a test dose with an opioid",
    ),
    Case(
        "IT-IMPLANT-CENTRE",
        "warning",
        (
            it_patient(conditions=["systemic-infection"]),
            [tdose("2026-11-01T09:00", "50 ug", True, 6)],
            event(D, "pump-implant"),
        ),
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 6)], event(D, "pump-implant")),
        "an implant during a systemic infection",
    ),
    Case(
        "IT-TITR-START",
        "warning",
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 6)], infusion(D, "50 ug/d")),
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 6)], infusion(D, "100 ug/d")),
        "a start at the bolus dose, and at twice it, after a 6 h effect",
    ),
    Case(
        "IT-TITR-START",
        "warning",
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 13)], infusion(D, "100 ug/d")),
        (it_patient(), [tdose("2026-11-01T09:00", "50 ug", True, 12)], infusion(D, "100 ug/d")),
        "twice the bolus after a 13 h effect, and after a 12 h one",
    ),
    Case(
        "IT-TITR-HOLD24",
        "error",
        (it_patient(), it_started(), infusion("2026-11-06T11:59", "110 ug/d")),
        (it_patient(), it_started(), infusion("2026-11-06T12:00", "110 ug/d")),
        "an increase a minute before 24 h of infusion, and at 24 h",
    ),
    Case(
        "IT-TITR-INTERVAL",
        "error",
        (
            it_patient(),
            [*it_started(), infusion("2026-11-07T12:00", "110 ug/d")],
            infusion("2026-11-08T11:59", "120 ug/d"),
        ),
        (
            it_patient(),
            [*it_started(), infusion("2026-11-07T12:00", "110 ug/d")],
            infusion("2026-11-08T12:00", "120 ug/d"),
        ),
        "a programmable pump's increase a minute before 24 h, and at 24 h",
    ),
    Case(
        "IT-TITR-INTERVAL",
        "warning",
        (
            adult(pump={"programmable": False, "reservoir_ml": 20}),
            [*it_started(), infusion("2026-11-07T12:00", "110 ug/d")],
            infusion("2026-11-09T11:59", "120 ug/d"),
        ),
        (
            adult(pump={"programmable": False, "reservoir_ml": 20}),
            [*it_started(), infusion("2026-11-07T12:00", "110 ug/d")],
            infusion("2026-11-09T12:00", "120 ug/d"),
        ),
        "a fixed-rate pump's increase a minute before 48 h, and at 48 h",
    ),
    Case(
        "IT-TITR-STEP",
        "error",
        (it_patient(), it_started(), infusion("2026-11-07T12:00", "131 ug/d")),
        (it_patient(), it_started(), infusion("2026-11-07T12:00", "130 ug/d")),
        "a spinal step of 31 %, and of 30 %",
    ),
    Case(
        "IT-TITR-STEP",
        "error",
        (it_patient(diagnosis="stroke"), it_started(), infusion("2026-11-07T12:00", "116 ug/d")),
        (it_patient(diagnosis="stroke"), it_started(), infusion("2026-11-07T12:00", "115 ug/d")),
        "a cerebral step of 16 %, and of 15 %",
    ),
    Case(
        "IT-TITR-NOEFFECT",
        "warning",
        (it_patient(), TITRATED, infusion("2026-11-16T12:00", "220 ug/d")),
        (it_patient(), TITRATED[:-1], infusion("2026-11-16T12:00", "190 ug/d")),
        "titration past twice the starting dose, and below it",
    ),
    Case(
        "IT-HIGH-DOSE",
        "warning",
        (it_patient(), MAINT_HIGH, infusion(D, "1001 ug/d")),
        (it_patient(), MAINT_HIGH, infusion(D, "1000 ug/d")),
        "1001 µg a day, and 1000",
    ),
    Case(
        "IT-MAINT-SPINAL",
        "warning",
        (it_patient(), MAINT_LOW, infusion(D, "11 ug/d")),
        (it_patient(), MAINT_LOW, infusion(D, "12 ug/d")),
        "a spinal maintenance of 11 µg a day, and of 12",
    ),
    Case(
        "IT-MAINT-CEREBRAL",
        "warning",
        (it_patient(diagnosis="stroke"), MAINT_LOW, infusion(D, "21 ug/d")),
        (it_patient(diagnosis="stroke"), MAINT_LOW, infusion(D, "22 ug/d")),
        "a cerebral maintenance of 21 µg a day, and of 22",
    ),
    Case(
        "IT-PAED-MAINT",
        "warning",
        (
            it_patient(**CHILD),
            [
                tdose("2026-01-01T09:00", "50 ug", True, 6),
                infusion("2026-01-10T09:00", "100 ug/d"),
                event("2026-02-01T09:00", "it-stable"),
                infusion("2026-06-01T09:00", "190 ug/d"),
            ],
            infusion("2026-07-01T09:00", "210 ug/d"),
        ),
        (
            it_patient(**CHILD),
            [
                tdose("2026-01-01T09:00", "50 ug", True, 6),
                infusion("2026-01-10T09:00", "100 ug/d"),
                event("2026-02-01T09:00", "it-stable"),
                infusion("2026-06-01T09:00", "190 ug/d"),
            ],
            infusion("2026-07-01T09:00", "200 ug/d"),
        ),
        "a child's first-year maintenance of 210 µg a day, and of 200",
    ),
    Case(
        "IT-PAED-UNDER4",
        "error",
        (adult(age_years=3, diagnosis="cerebral-palsy", weight_kg=14), [], tdose(D, "25 ug")),
        (adult(age_years=4, diagnosis="cerebral-palsy", weight_kg=16), [], tdose(D, "25 ug")),
        "a test dose at 3 years, and at 4",
    ),
    Case(
        "IT-DELIVERY-CONC",
        "info",
        (it_patient(), it_started("400 ug/d"), refill("2026-12-01T09:00")),
        (it_patient(), it_started("300 ug/d"), refill("2026-12-01T09:00")),
        "18 usable mL of 500 µg/mL last 22 days at 400 µg a day, and 30 at 300",
    ),
    Case(
        "IT-MODE-COMPLEX",
        "warning",
        (it_patient(), it_started("400 ug/d"), infusion(D, "440 ug/d", **FLEX)),
        (it_patient(), STABLE_400, infusion(D, "440 ug/d", **FLEX)),
        "a flex schedule before the dose is stable, and after",
    ),
    Case(
        "IT-MODE-COMPLEX",
        "warning",
        (adult(pump={"programmable": False}), STABLE_400, infusion(D, "440 ug/d", **FLEX)),
        (it_patient(), STABLE_400, infusion(D, "440 ug/d", **FLEX)),
        "a flex schedule on a fixed-rate pump",
    ),
    Case(
        "IT-CHRONIC-STEP",
        "error",
        (it_patient(), STABLE_400, infusion(D, "521 ug/d")),
        (it_patient(), STABLE_400, infusion(D, "520 ug/d")),
        "a spinal maintenance step of 30.25 %, and of 30 %",
    ),
    Case(
        "IT-SIDE-EFFECT-REDUCE",
        "warning",
        (it_patient(), it_started("200 ug/d"), infusion("2026-11-07T12:00", "159 ug/d")),
        (it_patient(), it_started("200 ug/d"), infusion("2026-11-07T12:00", "160 ug/d")),
        "a reduction of 20.5 %, and of 20 %",
    ),
    Case(
        "IT-ESCALATION-ALERT",
        "warning",
        (
            it_patient(),
            [*STABLE_400, infusion("2026-12-01T09:00", "500 ug/d")],
            infusion("2026-12-10T09:00", "600 ug/d"),
        ),
        (
            it_patient(),
            [*STABLE_400, infusion("2026-12-01T09:00", "500 ug/d")],
            infusion("2026-12-10T09:00", "590 ug/d"),
        ),
        "a maintenance rise of 50 % within 30 days, and of 47.5 %",
    ),
    Case(
        "IT-FUNCTION-CAUTION",
        "info",
        (
            it_patient(tone_supports_function=True),
            it_started(),
            infusion("2026-11-07T12:00", "110 ug/d"),
        ),
        (
            it_patient(tone_supports_function=True),
            it_started(),
            infusion("2026-11-07T12:00", "90 ug/d"),
        ),
        "an increase when tone supports function, and a reduction",
    ),
    Case(
        "IT-TOLERANCE",
        "warning",
        (it_patient(), TAPERED, infusion("2027-02-20T09:00", "300 ug/d")),
        (it_patient(), TAPERED, infusion("2027-02-20T09:00", "100 ug/d")),
        "a resumption after a planned taper at the old dose, and at the initial one",
    ),
    Case(
        "SUP-PO-PAED",
        "warning",
        (adult(age_years=10, diagnosis="cerebral-palsy"), [], oral(D, "2.5 mg", 4)),
        (adult(**CHILD), [], oral(D, "1.5 mg", 4)),
        "a child's start without a weight; 6 mg a day at 20 kg is 0.3 mg/kg",
    ),
    Case(
        "SUP-PO-PAED",
        "error",
        (
            adult(age_years=7, diagnosis="cerebral-palsy", weight_kg=30),
            [oral("2026-11-01T08:00", "7.5 mg", 4)],
            oral("2026-11-10T08:00", "10.5 mg", 4),
        ),
        (
            adult(age_years=7, diagnosis="cerebral-palsy", weight_kg=30),
            [oral("2026-11-01T08:00", "7.5 mg", 4)],
            oral("2026-11-10T08:00", "10 mg", 4),
        ),
        "42 mg a day at 7 years, and 40",
    ),
    Case(
        "SUP-PO-RENAL",
        "warning",
        (adult(conditions=["haemodialysis"]), [], oral(D, "2.5 mg", 3)),
        (adult(conditions=["haemodialysis"]), [], oral(D, "5 mg", 1)),
        "7.5 mg a day on haemodialysis, and 5",
    ),
    Case(
        "SUP-PO-RENAL-CRCL",
        "warning",
        (
            adult(conditions=["renal-impairment"], creatinine_clearance_ml_min=50),
            [oral("2026-11-01T08:00", "10 mg")],
            oral("2026-11-10T08:00", "11 mg"),
        ),
        (
            adult(conditions=["renal-impairment"], creatinine_clearance_ml_min=50),
            [oral("2026-11-01T08:00", "10 mg")],
            oral("2026-11-10T08:00", "10 mg"),
        ),
        "33 mg a day at a clearance of 50 mL/min, and 30",
    ),
    Case(
        "SUP-PO-STRENGTHS",
        "warning",
        (adult(), [], oral(D, "5 mg", form="tablet", strength="25 mg")),
        (adult(), [], oral(D, "5 mg", form="tablet", strength="5 mg")),
        "a tablet strength not marketed",
    ),
    Case(
        "SUP-IT-CONC",
        "warning",
        (it_patient(), it_started(), refill("2026-12-01T09:00", "750 ug/mL")),
        (it_patient(), it_started(), refill("2026-12-01T09:00", "1000 ug/mL")),
        "a refill of a concentration that is not marketed",
    ),
    Case(
        "SUP-IT-REFILL",
        "warning",
        (it_patient(), it_started(), refill("2026-12-01T09:00", volume=21)),
        (it_patient(), it_started(), refill("2026-12-01T09:00", volume=20)),
        "21 mL into a 20 mL reservoir, and 20",
    ),
    Case(
        "SUP-IT-MAX-INTERVAL",
        "warning",
        (it_patient(), it_started(), refill("2027-05-04T10:01")),
        (it_patient(), it_started(), refill("2027-05-04T10:00")),
        "a refill a minute after 180 days, and at 180 days",
    ),
    Case(
        "SUP-IT-BRIDGE",
        "warning",
        (it_patient(), it_started(), refill("2026-12-01T09:00", "2000 ug/mL")),
        (it_patient(), it_started(), refill("2026-12-01T09:00", "0.5 mg/mL")),
        "a refill at another concentration, and at the same one in other units",
    ),
    Case(
        "SUP-IT-RESIDUAL",
        "warning",
        (
            it_patient(),
            it_started(),
            event(
                "2026-12-01T09:00",
                "pump-refill",
                concentration="500 ug/mL",
                volume_ml=20,
                residual_ml=13.8,
            ),
        ),
        (
            it_patient(),
            it_started(),
            event(
                "2026-12-01T09:00",
                "pump-refill",
                concentration="500 ug/mL",
                volume_ml=20,
                residual_ml=13.9,
            ),
        ),
        "14.825 mL expected: 1.025 mL less is past the 1 mL reading limit, 0.925 mL is not",
    ),
    Case(
        "SUP-IT-ORAL-WEAN",
        "warning",
        (
            adult(pump={"programmable": True}),
            [oral("2026-10-01T08:00", "20 mg"), *it_started()],
            oral("2026-11-06T08:00", "5 mg"),
        ),
        (
            adult(pump={"programmable": True}),
            [oral("2026-10-01T08:00", "20 mg"), *it_started()],
            oral("2026-11-06T08:00", "10 mg"),
        ),
        "an oral cut of three quarters during intrathecal therapy, and of half",
    ),
    Case(
        "SUP-CAUTION",
        "warning",
        (adult(age_years=65, conditions=["cerebrovascular-disease"]), [], oral(D, "5 mg")),
        (adult(age_years=64, conditions=["cerebrovascular-disease"]), [], oral(D, "5 mg")),
        "cerebrovascular disease at 65, and at 64",
    ),
    Case(
        "SUP-PREGNANCY",
        "warning",
        (adult(sex="female", pregnant=True), [], oral(D, "5 mg")),
        (adult(sex="female", pregnant=False), [], oral(D, "5 mg")),
        "a pregnant patient",
    ),
    Case(
        "SUP-PREGNANCY",
        "info",
        (adult(sex="female", age_years=55), [], oral(D, "5 mg")),
        (adult(sex="female", age_years=56), [], oral(D, "5 mg")),
        "pregnancy not stated at 55, and at 56",
    ),
    Case(
        "SUP-LACTATION",
        "info",
        (adult(sex="female", pregnant=False, breastfeeding=True), [], oral(D, "5 mg")),
        (adult(sex="female", pregnant=False, breastfeeding=False), [], oral(D, "5 mg")),
        "a breastfeeding patient",
    ),
    Case(
        "SUP-UNIT-MIXUP",
        "critical",
        (adult(), [], tdose(D, "50 mg")),
        (adult(), [], tdose(D, "50 ug")),
        "a test dose of 50 mg, and of 50 µg",
    ),
    Case(
        "SUP-UNIT-MIXUP",
        "error",
        (adult(), [oral("2026-11-01T08:00", "15 mg")], oral("2026-11-10T08:00", "20 ug")),
        (adult(), [oral("2026-11-01T08:00", "15 mg")], oral("2026-11-10T08:00", "20 mg")),
        "an oral dose of 20 µg, and of 20 mg",
    ),
]

# Check rules that never give a finding of their own: they shape another rule's judgement.
NO_FINDING_OF_THEIR_OWN = {"SUP-PO-TAPER": "the taper that STOP-GRADUAL's oral case reads"}


def test_the_pack_holds_every_id(pack: Pack) -> None:
    assert len(ALL_IDS) == len(set(ALL_IDS)) == 68
    assert set(ALL_IDS) == set(pack.rules)


def test_every_check_rule_has_a_case_here(pack: Pack) -> None:
    checked = {r.id for r in pack.rules.values() if "check" in r.engine}
    assert checked - set(NO_FINDING_OF_THEIR_OWN) == {c.rule for c in CASES}
    for rule_id in NO_FINDING_OF_THEIR_OWN:
        assert not pack.rule(rule_id).severities, rule_id


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.rule}-{c.severity}-{i}" for i, c in enumerate(CASES)]
)
def test_the_rule_fires_past_its_boundary_and_not_inside_it(case: Case) -> None:
    past = run(*case.fires)
    assert case.severity in fired(past, case.rule), (case.why, [(f.rule, f.severity) for f in past])
    inside = run(*case.quiet)
    assert fired(inside, case.rule) == [], (
        case.why,
        [f.message for f in inside if f.rule == case.rule],
    )


# -- plan rules -----------------------------------------------------------------------------

PUMP = {"programmable": True, "reservoir_ml": 20}
RESPONDED = [tdose("2026-11-21T09:00", "50 ug", True, 6)]
RUNNING = [
    infusion("2026-03-01T09:00", "250 ug/d"),
    event("2026-04-01T09:00", "it-stable"),
    refill("2026-11-10T09:00"),
]
PLANS: list[tuple[Doc, Doc, list[Doc]]] = [
    (adult(), {"kind": "oral-titration"}, []),
    (adult(), {"kind": "oral-titration", "night_only": True}, []),
    (adult(), {"kind": "oral-titration", "pre_task_times": ["08:00", "13:00", "18:00"]}, []),
    (adult(), {"kind": "oral-titration", "target_daily_dose": "100 mg"}, []),
    (adult(age_years=70), {"kind": "oral-titration"}, []),
    (adult(conditions=["haemodialysis"]), {"kind": "oral-titration"}, []),
    (
        adult(conditions=["renal-impairment"], creatinine_clearance_ml_min=40),
        {"kind": "oral-titration"},
        [],
    ),
    (adult(sex="female", age_years=30, pregnant=True), {"kind": "oral-titration"}, []),
    (adult(conditions=["epilepsy"]), {"kind": "oral-titration"}, []),
    (adult(**CHILD), {"kind": "oral-titration"}, []),
    (adult(), {"kind": "oral-taper"}, [oral("2026-06-01T08:00", "20 mg")]),
    (adult(), {"kind": "it-screening"}, []),
    (adult(age_years=6, diagnosis="cerebral-palsy", weight_kg=18), {"kind": "it-screening"}, []),
    (
        adult(pump=PUMP),
        {"kind": "it-titration"},
        [oral("2026-06-01T08:00", "20 mg", 4), *RESPONDED],
    ),
    (adult(diagnosis="other", pump=PUMP), {"kind": "it-titration"}, RESPONDED),
    (adult(pump=PUMP), {"kind": "it-titration", "target_daily_dose": "900 ug/d"}, RESPONDED),
    (adult(**CHILD, pump=PUMP), {"kind": "it-titration"}, RESPONDED),
    (adult(pump=PUMP), {"kind": "it-refill", "concentration": "2000 ug/mL"}, RUNNING),
    (adult(pump=PUMP), {"kind": "it-flex", "night_onset": "22:00"}, RUNNING),
    (adult(pump=PUMP), {"kind": "it-taper"}, RUNNING),
    (adult(pump=PUMP), {"kind": "it-tolerance-holiday"}, RUNNING),
]


def test_every_plan_rule_shapes_a_plan_made_here(pack: Pack) -> None:
    named: set[str] = set()
    for patient, goal, history in PLANS:
        result = make_plan(patient, goal, history)
        named |= {r for s in result.steps for r in s.rules} | {f.rule for f in result.findings}
    planned = {r.id for r in pack.rules.values() if "plan" in r.engine}
    assert sorted(planned - named) == []


def test_every_rule_names_a_kind_and_every_check_rule_a_kind_the_checker_implements(
    pack: Pack,
) -> None:
    """The checker runs a rule by its kind: a check rule of no implemented kind would never
    speak (the checker refuses such a pack), and a rule with no finding of its own is advice."""
    from posology.rules.kinds import ADVICE_KINDS, implemented_kinds

    kinds = implemented_kinds()
    assert [r.id for r in pack.rules.values() if r.kind is None] == []
    checked = [r for r in pack.rules.values() if "check" in r.engine]
    assert sorted(r.id for r in checked if r.kind not in kinds) == sorted(NO_FINDING_OF_THEIR_OWN)
    assert {r.kind for r in checked if r.kind not in kinds} <= ADVICE_KINDS
    assert {r.kind for r in checked} - ADVICE_KINDS <= set(kinds)


def test_every_kind_the_checker_implements_is_documented_in_the_pack_format() -> None:
    from pathlib import Path

    from posology.rules.kinds import implemented_kinds

    text = (Path(__file__).parent.parent / "docs" / "knowledge-format.md").read_text("utf-8")
    assert [k for k in implemented_kinds() if f"#### `{k}`" not in text] == []


def test_no_rule_id_is_written_in_the_checker(pack: Pack) -> None:
    """The checker finds a rule by its kind and its role, never by its ID (knowledge is data):
    no ID of the pack appears in ``posology/rules`` or the pack's derived values."""
    import re
    from pathlib import Path

    src = Path(__file__).parent.parent / "src" / "posology"
    files = [*sorted((src / "rules").glob("*.py")), src / "knowledge" / "derived.py"]
    ids = re.compile(r"\b(" + "|".join(map(re.escape, sorted(pack.rules))) + r")\b")
    found = [(p.name, m.group(0)) for p in files for m in ids.finditer(p.read_text("utf-8"))]
    assert found == []
