"""FHIR Bulk Data NDJSON: one file per resource type (``MedicationRequest.ndjson``,
``MedicationAdministration.ndjson``, ``Patient.ndjson``, ``Observation.ndjson``, optionally
``Medication.ndjson``, ``MedicationStatement``, ``Procedure`` and ``Task``), as a FHIR server's
``$export`` writes them.

Each resource is read by the project's FHIR reader (``posology.interop.fhir_in``), the same one
CDS Hooks prefetch uses, so an audit of an export judges what the live checks would have judged.
Resources are grouped by their ``subject`` (or ``patient``) reference; a Patient by its ``id``,
with its weight and creatinine clearance from the Observations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...model import load_json
from ..codes import Codes
from ..problems import BadDataset
from .base import Columns, Mapped, Row, TableSource, Unmappable

EVENT_TYPES = (
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationStatement",
    "Procedure",
    "Task",
)
PATIENT_TYPES = ("Patient", "Observation")
NDJSON = (".ndjson", ".ndjson.gz", ".jsonl")


def _reference_id(value: object) -> str | None:
    ref = str((value or {}).get("reference") or "") if isinstance(value, dict) else ""
    return ref.rsplit("/", 1)[-1] if ref.startswith("Patient/") or "/Patient/" in ref else None


def _keys(obj: Any) -> dict[str, str | None]:
    if not isinstance(obj, dict):
        return {"patient_id": None, "resource_type": None, "resource_id": None}
    kind = obj.get("resourceType")
    if kind == "Patient":
        pid = None if obj.get("id") is None else str(obj["id"])
    else:
        pid = _reference_id(obj.get("subject")) or _reference_id(obj.get("patient"))
    return {
        "patient_id": pid,
        "resource_type": None if kind is None else str(kind),
        "resource_id": None if obj.get("id") is None else str(obj["id"]),
    }


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(NDJSON))


def _document(row: Row) -> dict[str, Any]:
    if row.get("_bad"):
        raise Unmappable("", str(row["_bad"]))
    try:
        obj = load_json(str(row["_doc"]))
    except InputError as exc:
        raise Unmappable(exc.field, exc.message) from None
    if not isinstance(obj, dict):
        raise Unmappable("", "must be a JSON object (one FHIR resource a line)")
    return obj


class FhirAdapter:
    name = "fhir"
    strict = False

    def tables(self, events: Path, patients: Path | None) -> Sequence[TableSource]:
        files = _files(events) if events.is_dir() else [events]
        if patients is not None:
            files += _files(patients) if patients.is_dir() else [patients]
        medications = [p for p in files if p.name.split(".")[0] == "Medication"]
        resources = [p for p in files if p not in medications]
        if not resources:
            raise BadDataset(
                events.name, "holds no FHIR NDJSON files (e.g. MedicationRequest.ndjson)"
            )
        keys = ("patient_id", "resource_type", "resource_id")
        out = [TableSource("resources", tuple(resources), (), _keys, keys)]
        if medications:
            out.append(TableSource("medications", tuple(medications), (), _keys, keys))
        return out

    def events_sql(self, available: Columns, codes: Codes) -> str:
        types = ", ".join(f"'{t}'" for t in EVENT_TYPES)
        return (
            "SELECT patient_id, _file, _row, resource_type, resource_id, _doc, _bad "
            f"FROM resources WHERE resource_type IN ({types}) OR resource_type IS NULL"
        )

    def patients_sql(self, available: Columns, codes: Codes) -> str:
        types = ", ".join(f"'{t}'" for t in PATIENT_TYPES)
        return (
            "SELECT patient_id, _file, _row, resource_type, resource_id, _doc, _bad, "
            "CASE WHEN resource_type = 'Patient' THEN NULL ELSE 'observation' END AS _companion "
            f"FROM resources WHERE resource_type IN ({types})"
        )

    def context(
        self, read: Callable[[str], list[dict[str, Any]]], available: Columns, codes: Codes
    ) -> Any:
        """Medication resources by ``Medication/ID`` (small: one per product)."""
        if "medications" not in available:
            return {}
        out: dict[str, Any] = {}
        for row in read("medications"):
            if row.get("_bad") or row.get("resource_type") != "Medication":
                continue
            out[f"Medication/{row['resource_id']}"] = load_json(str(row["_doc"]))
        return out

    def map_patient(
        self, row: Row, context: Any, codes: Codes, others: Sequence[Row] = ()
    ) -> dict[str, Any]:
        from ...interop.fhir_in import patient_from_fhir

        observations = []
        for other in others:
            try:
                observations.append(_document(other))
            except Unmappable:
                continue  # an unreadable Observation is reported with the events' problems
        try:
            # diagnoses (Condition) are not read yet: "other" gives the stricter origin rules
            return patient_from_fhir(_document(row), observations, "other")
        except InputError as exc:
            raise Unmappable(exc.field, exc.message) from None

    def map_event(self, row: Row, context: Any, codes: Codes) -> list[Mapped]:
        from ...interop.fhir_in import events_from_resource
        from ...knowledge import load_pack

        resource = _document(row)
        kind = str(resource.get("resourceType"))
        try:
            docs = events_from_resource(resource, load_pack(codes.medicine), kind, context)
        except InputError as exc:
            raise Unmappable(exc.field, exc.message) from None
        return [Mapped(doc, row.get("resource_id"), {}) for doc in docs]
