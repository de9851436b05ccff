"""The audit's column-wise reader gives what the document reader gives, row for row.

A contract dataset's CSV or Parquet rows are read column-wise (``patient_audit._Reader``): a
row whose cells, ``at`` aside, equal those of a row already read is that row's event at its
own instant, with no document built. Over generated histories of every event kind (each shape
repeated at other instants, some instants refused) the events kept, and every output row of
the patient (events, findings, problems), must be those of the row-by-row path through the
adapter and ``parse_event``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.audit.adapters.contract import JSON_FIELDS, ContractAdapter
from posology.audit.codes import load_codes
from posology.audit.columns import Columns
from posology.audit.patient_audit import _Reader, audit_patient
from posology.knowledge import load_pack
from posology.model import documents, parse_patient
from strategies import KINDS, event_body, histories, patients

PACK = load_pack()
CODES = load_codes("baclofen")
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "200"))
BAD_INSTANTS = ["2025-13-02T08:00", "2025-03-02", "0999-01-01T08:00", ""]


class RowByRow(ContractAdapter):
    """The contract adapter without its declared row shape: every row mapped on its own."""

    event_shape = None  # type: ignore[assignment]


def _cells(doc: dict[str, Any]) -> dict[str, str]:
    """An EVENT or PATIENT document as a CSV row of the contract writes it."""
    return {
        k: (json.dumps(v) if k in JSON_FIELDS or not isinstance(v, str) else v)
        for k, v in doc.items()
    }


def _rows(patient_id: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    columns = sorted({k for d in docs for k in d} | {"patient_id", "at", "kind"})
    out = []
    for n, doc in enumerate(docs, start=1):
        cells = _cells(doc)
        row = {c: cells.get(c) for c in columns}
        row |= {"patient_id": patient_id, "_file": "events.csv", "_row": n}
        out.append(row)
    return out


@st.composite
def datasets(draw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A patient and their event documents: a generated history, single events of every kind,
    each shape again at a later instant, and a few copies at an instant the reader refuses."""
    docs = draw(histories(max_stories=5))
    for kind in draw(st.lists(st.sampled_from(KINDS), max_size=4)):
        docs.append({"at": "2025-06-01T08:00", "kind": kind, **event_body(kind, draw)})
    again = [{**d, "at": f"2026-{1 + i % 12:02d}-15T09:{i % 60:02d}"} for i, d in enumerate(docs)]
    bad = [
        {**d, "at": draw(st.sampled_from(BAD_INSTANTS))} for d in docs[: draw(st.integers(0, 2))]
    ]
    return draw(patients(min_age=1)), docs + again + bad


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(datasets())
def test_the_column_wise_reader_reads_what_the_document_reader_reads(
    dataset: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    patient_doc, docs = dataset
    rows = _rows("P1", docs)
    events = Columns.from_rows(rows)
    patient = parse_patient(patient_doc)

    def kept(adapter: ContractAdapter) -> list[tuple[int, Any]]:
        out: list[Any] = []
        reader = _Reader(adapter, None, CODES, patient, "P1", "invalid", events, out)
        reader.read(events.indices())
        return [(i, event) for i, _, event in reader.read_events]

    fast, slow = kept(ContractAdapter()), kept(RowByRow())
    assert fast == slow
    for i, event in fast:  # and each is the document reader's event of that row, read afresh
        doc = {k: v for k, v in rows[i].items() if v is not None and not k.startswith("_")}
        doc.pop("patient_id")
        fresh = documents._read_event(ContractAdapter()._document(doc), "")
        assert event == fresh

    patient_row = {"patient_id": "P1", "_file": "patients.csv", "_row": 1, **_cells(patient_doc)}

    def outputs(adapter: ContractAdapter) -> list[tuple[Any, ...]]:
        found = audit_patient(adapter, None, CODES, PACK, "P1", [patient_row], events)
        return sorted(found, key=repr)

    assert outputs(ContractAdapter()) == outputs(RowByRow())


def test_a_row_of_a_known_shape_before_the_birth_date_is_reported_as_the_full_path_reports_it() -> (
    None
):
    """The shortcut still refuses an instant before the patient's birth date, naming the row."""
    shape = {"kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}
    docs = [
        {"at": at, **shape} for at in ("2025-05-01T08:00", "2025-01-01T08:00", "2025-06-01T08:00")
    ]
    events = Columns.from_rows(_rows("P1", docs))
    patient_row = {
        "patient_id": "P1",
        "_file": "patients.csv",
        "_row": 1,
        **_cells({"birth_date": "2025-03-01", "diagnosis": "cerebral-palsy"}),
    }

    def outputs(adapter: ContractAdapter) -> list[tuple[Any, ...]]:
        return sorted(
            audit_patient(adapter, None, CODES, PACK, "P1", [patient_row], events), key=repr
        )

    fast, slow = outputs(ContractAdapter()), outputs(RowByRow())
    assert fast == slow
    problems = [r for r in fast if r[0] == "problem"]
    assert len(problems) == 1 and problems[0][3] == 2 and "birth_date" in problems[0][11]
