"""The contract's own documents as a dataset: one EVENT per row, one PATIENT per row.

EVENTS and PATIENTS are NDJSON (one JSON object a line, with ``patient_id``), CSV or Parquet
(a ``patient_id`` column plus one column per field). In CSV and Parquet a field whose contract
type is a number, a boolean, a list or an object is written as JSON text (``3``, ``true``,
``["5 mg", "10 mg"]``, ``{"effect": true, "duration_h": 6}``); every other field as plain text.

This adapter is strict: its rows are the contract's documents, so a row the reader refuses makes
the input unusable (exit 2), after every other row has been judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...model import load_json
from ..codes import Codes
from .base import Columns, Mapped, Row, TableSource, Unmappable

# Fields whose contract type is not text: read from a CSV or Parquet cell as JSON.
JSON_FIELDS = frozenset(
    {
        # EVENT
        "times_per_day",
        "doses",
        "times",
        "response",
        "schedule",
        "volume_ml",
        "alarm_ml",
        "residual_ml",
        "bridge_volume_ml",
        # PATIENT
        "age_years",
        "weight_kg",
        "spasticity_stable",
        "conditions",
        "pregnant",
        "breastfeeding",
        "creatinine_clearance_ml_min",
        "medications",
        "tone_supports_function",
        "pump",
    }
)
PLACE = frozenset({"patient_id", "_file", "_row", "_doc", "_bad"})


def _patient_key(obj: Any) -> dict[str, str | None]:
    if not isinstance(obj, dict) or obj.get("patient_id") is None:
        return {"patient_id": None}
    value = obj["patient_id"]
    return {"patient_id": value if isinstance(value, str) else str(value)}


def _cell(key: str, text: str) -> Any:
    if key not in JSON_FIELDS:
        return text
    known = _SCALARS.get(text)
    if known is not None:
        return known
    try:
        value = load_json(text)
    except InputError:
        return text  # the document reader refuses it with the field's own words
    if type(value) in (bool, int, Decimal) and len(_SCALARS) < _SCALARS_KEPT:
        _SCALARS[text] = value  # immutable: one value serves every cell of that text
    return value


_SCALARS: dict[str, Any] = {}
"""JSON cells already read that hold a number or a boolean (``3``, ``true``, ``70.5``): a
column of them repeats a few texts, read once each. Lists and objects are read every time
(each document gets its own)."""
_SCALARS_KEPT = 10_000


class ContractAdapter:
    name = "contract"
    strict = True

    def tables(self, events: Path, patients: Path | None) -> Sequence[TableSource]:
        if patients is None:
            raise InputError(
                "--patients", "missing; --from contract reads the patients from a PATIENTS file"
            )
        return (
            TableSource(
                "events", (events,), ("patient_id", "at", "kind"), _patient_key, ("patient_id",)
            ),
            TableSource(
                "patients", (patients,), ("patient_id", "diagnosis"), _patient_key, ("patient_id",)
            ),
        )

    def events_sql(self, available: Columns, codes: Codes) -> str:
        return "SELECT * FROM events"

    def patients_sql(self, available: Columns, codes: Codes) -> str:
        return "SELECT * FROM patients"

    def context(
        self, read: Callable[[str], list[dict[str, Any]]], available: Columns, codes: Codes
    ) -> Any:
        return None

    def _document(self, row: Row) -> dict[str, Any]:
        if "_doc" in row:
            if row.get("_bad"):
                raise Unmappable("", str(row["_bad"]))
            try:
                obj = load_json(str(row["_doc"]))
            except InputError as exc:
                raise Unmappable(exc.field, exc.message) from None
            if not isinstance(obj, dict):
                raise Unmappable("", "must be a JSON object")
            return {k: v for k, v in obj.items() if k != "patient_id"}
        return {k: _cell(k, v) for k, v in row.items() if v is not None and k not in PLACE}

    def map_patient(
        self, row: Row, context: Any, codes: Codes, others: Sequence[Row] = ()
    ) -> dict[str, Any]:
        return self._document(row)

    def event_shape(self, names: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
        """The column of a row's instant and the columns that decide everything else: a CSV or
        Parquet row's document is its cells, ``at`` passed on as written, so rows equal in
        every other column map to the same event at their own instants. None for NDJSON
        (a line is read whole)."""
        if "_doc" in names or "at" not in names:
            return None
        return "at", tuple(n for n in names if n not in PLACE and n != "at")

    def map_event(self, row: Row, context: Any, codes: Codes) -> list[Mapped]:
        doc = self._document(row)
        medicine = doc.pop("medicine", None)
        if medicine is not None and medicine != codes.medicine:
            return []  # another medicine's event: not this audit's to judge
        return [Mapped(doc)]
