"""What a SMART launch reads of Posology's own store, and the one row it writes.

A launch opens no Posology session (see docs/decisions.md, "SMART on FHIR EHR launch"): it
reads the configured clinic (its time zone dates the page), looks for the patient's Posology
record by the configured identifier system, and writes one audit row in that clinic's trail
saying which EHR launched Posology for which of its patients, and for whom the EHR said it was.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlalchemy import Engine, select

from ..errors import LaunchRefused
from ..frozen import record
from ..services.audit_trail import write_audit
from ..services.clinic import clinic_zone_of
from ..store import tables as T
from ..store.db import writing
from .smart import Ehr
from .smart_fhir import EhrRecord


@record
class Clinic:
    id: int
    name: str
    zone: tzinfo


@record
class Match:
    """A Posology record with the patient's record number in the clinic: ``linked`` when the
    birth dates agree too; otherwise ``why`` says what differs and the page does not link it."""

    patient_id: int
    record_number: str
    linked: bool
    why: str | None


def clinic_for(engine: Engine, ehr: Ehr) -> Clinic:
    """The clinic the EHR is configured for; one that does not exist is a set-up fault."""
    with engine.connect() as conn:
        clinic_id = conn.execute(
            select(T.clinics.c.id).where(T.clinics.c.name == ehr.clinic)
        ).scalar()
        if clinic_id is None:
            raise LaunchRefused(
                503,
                f"this EHR is configured for the clinic {ehr.clinic!r}, which does not exist in "
                "Posology; create it (posology user add --create-clinic) or correct "
                "POSOLOGY_SMART_EHRS",
            )
        return Clinic(int(clinic_id), ehr.clinic, clinic_zone_of(conn, int(clinic_id)))


def find_record(engine: Engine, clinic: Clinic, ehr: Ehr, record: EhrRecord) -> Match | None:
    """The clinic's record whose record number is the patient's identifier in
    ``ehr.identifier_system`` (None: no system configured, no identifier, or no such record)."""
    if ehr.identifier_system is None:
        return None
    numbers = [v for system, v in record.identifiers if system == ehr.identifier_system]
    if len(numbers) != 1:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(T.patients.c.id, T.patients.c.birth_date, T.patients.c.document).where(
                T.patients.c.clinic_id == clinic.id, T.patients.c.record_number == numbers[0]
            )
        ).first()
    if row is None:
        return None
    born = row.birth_date or (row.document or {}).get("birth_date")
    if not born or not record.birth_date:
        return Match(
            row.id, numbers[0], False, "a birth date is missing, so the match cannot be confirmed"
        )
    if str(born)[:10] != record.birth_date:
        return Match(row.id, numbers[0], False, "its birth date differs from the EHR's")
    return Match(row.id, numbers[0], True, None)


def audit_launch(
    engine: Engine, clinic: Clinic, detail: dict[str, Any], record_id: int | None
) -> None:
    """One row in the clinic's audit trail: who, from where, which patient (no token, no code)."""
    with writing(engine) as conn:
        write_audit(conn, None, "smart.launch", "patient", record_id, detail, clinic_id=clinic.id)
