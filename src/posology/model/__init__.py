"""The engine's values: patient, events (history and proposals), findings, documents."""

from .documents import Case, load_json, parse_case, parse_event, parse_patient, read_case
from .events import (
    Event,
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Response,
    Review,
    ScheduleSegment,
)
from .finding import Finding, verdict
from .patient import Patient, Pump, age_at, origin_of

__all__ = [
    "Case",
    "Event",
    "Finding",
    "ItInfusion",
    "ItStable",
    "ItStop",
    "ItTestDose",
    "OralRegimen",
    "OralStop",
    "Patient",
    "Pump",
    "PumpImplant",
    "PumpRefill",
    "Response",
    "Review",
    "ScheduleSegment",
    "age_at",
    "load_json",
    "origin_of",
    "parse_case",
    "parse_event",
    "parse_patient",
    "read_case",
    "verdict",
]
