"""The patient as the engine sees them: an immutable value with the contract's PATIENT fields.

The code lists here are the contract's vocabulary (what a request may say), not clinical
knowledge: which diagnosis means which origin, or which condition needs which caution, lives in
the knowledge pack.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

from ..frozen import field, record, replace
from ..knowledge.schema import Pack
from ..units import Quantity

SEXES = ("female", "male", "other", "unknown")
DIAGNOSES = (
    "multiple-sclerosis",
    "spinal-cord-injury",
    "spinal-cord-tumour",
    "syringomyelia",
    "motor-neurone-disease",
    "transverse-myelitis",
    "stroke",
    "cerebral-palsy",
    "meningitis",
    "traumatic-brain-injury",
    "other",
)
ORIGINS = ("spinal", "cerebral")
SETTINGS = ("outpatient", "inpatient")
CONDITIONS = (
    "systemic-infection",
    "cardiopulmonary-disease",
    "respiratory-muscle-weakness",
    "respiratory-impairment",
    "renal-impairment",
    "haemodialysis",
    "hepatic-impairment",
    "epilepsy",
    "psychiatric-disorder",
    "peptic-ulcer",
    "cerebrovascular-disease",
    "bladder-sphincter-hypertonia",
    "diabetes",
)
MEDICATIONS = ("benzodiazepine", "opioid")


@record
class Pump:
    """An implanted pump: whether it can be programmed, its reservoir volume, and whether the
    patient had withdrawal symptoms while the reservoir still held more than the standard alarm
    volume (the pack's reservoir rule then raises the alarm volume)."""

    programmable: bool | None = None
    reservoir: Quantity | None = None
    withdrawal_before_alarm: bool | None = None
    model: str | None = None


@record
class Patient:
    """Everything about the patient that can change a dose. ``None`` means "not known"."""

    diagnosis: str
    sex: str = "unknown"
    age_years: Fraction | None = None
    birth_date: date | None = None
    weight: Quantity | None = None
    origin: str | None = None
    setting: str = "outpatient"
    spasticity_stable: bool | None = None
    conditions: frozenset[str] = field(default_factory=frozenset)
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    creatinine_clearance: Quantity | None = None
    medications: frozenset[str] = field(default_factory=frozenset)
    tone_supports_function: bool | None = None
    pump: Pump | None = None

    def replace(self, **changes: object) -> Patient:
        """A copy with some fields changed (the patient itself never changes)."""
        return replace(self, **changes)


def age_at(patient: Patient, when: datetime) -> Fraction | None:
    """Age in years at ``when``: completed years from the birth date, else the stated age."""
    if patient.birth_date is not None:
        d = when.date()
        b = patient.birth_date
        years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
        return Fraction(max(years, 0))
    return patient.age_years


def origin_of(patient: Patient, pack: Pack) -> str | None:
    """Spinal or cerebral: stated, else derived from the diagnosis by the pack's rule in the
    role ``indication.origin``; else unknown (also when the pack names no origin rule)."""
    if patient.origin is not None:
        return patient.origin
    if not pack.has_role("indication.origin"):
        return None
    return pack.role("indication.origin").code_map("origin_by_diagnosis").get(patient.diagnosis)
