"""Bad input ends with exit 2, a message naming the file, the row and the column, and output
that says it is partial; the rows that could be judged still are."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from .conftest import FIXTURES, Audit

CONTRACT = FIXTURES / "contract"
PATIENTS = CONTRACT / "patients.csv"


def _marked_partial(result: Audit) -> None:
    assert result.status == 2
    assert (result.out / "PARTIAL").is_file()
    assert result.manifest()["status"] == "partial"
    assert result.manifest()["exit_status"] == 2


def _with_row(tmp_path: Path, row: str, name: str = "events.csv") -> Path:
    lines = (CONTRACT / "events.csv").read_text("utf-8").splitlines()
    path = tmp_path / name
    path.write_text("\n".join([*lines[:3], row, *lines[3:]]) + "\n", "utf-8")
    return path


def test_a_unitless_dose_names_file_row_and_column_and_marks_the_output_partial(
    audit, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    events = _with_row(tmp_path, "A1,2026-01-06T08:00,oral-regimen,5,3,,,,,")
    result = audit(events, "--patients", PATIENTS)
    _marked_partial(result)
    assert "events.csv: row 3, column dose" in result.stderr
    assert "unit" in result.stderr and "partial" in result.stderr
    refused = [p for p in result.problems() if p["status"] == "invalid"]
    assert [(p["source_row"], p["column"], p["patient_id"]) for p in refused] == [
        ("3", "dose", "A1")
    ]
    # the rest was judged, and the findings file says it is partial
    assert ("A1", "2026-01-14T08:00:00", "PO-MAX", "error") in result.rules()
    metadata = pq.read_schema(result.out / "findings.parquet").metadata
    assert metadata[b"posology.audit.status"] == b"partial"
    assert result.summary()["status"] == "partial"
    assert "PARTIAL" in (result.out / "report.html").read_text("utf-8")


def test_a_missing_column_names_file_and_column_and_nothing_is_judged(
    audit, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    lines = (CONTRACT / "events.csv").read_text("utf-8").splitlines()
    header = lines[0].split(",")
    at = header.index("kind")
    events = tmp_path / "events.csv"
    events.write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines),
        "utf-8",
    )
    result = audit(events, "--patients", PATIENTS)
    _marked_partial(result)
    assert "events.csv: header row, column kind: missing" in result.stderr
    assert "nothing was judged" in result.stderr
    assert not (result.out / "findings.parquet").exists()
    assert "kind" in result.manifest()["error"]


def test_a_corrupt_parquet_file_is_named(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = tmp_path / "events.parquet"
    events.write_bytes(b"PAR1" + b"\x00garbage, not a footer" * 20)
    result = audit(events, "--patients", PATIENTS)
    _marked_partial(result)
    assert "events.parquet: not a readable Parquet file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_row_of_a_patient_without_a_patient_record_is_reported(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = _with_row(tmp_path, "Z9,2026-01-06T08:00,oral-regimen,5 mg,3,,,,,")
    result = audit(events, "--patients", PATIENTS)
    _marked_partial(result)
    assert "events.csv: row 3, column patient_id" in result.stderr
    assert "no patient record" in result.stderr


def test_contradicting_rows_at_one_instant_name_both_rows(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = _with_row(tmp_path, "A1,2026-01-08T08:00,oral-regimen,7.5 mg,3,,,,,")
    result = audit(events, "--patients", PATIENTS, "--format", "csv")
    _marked_partial(result)
    refused = [p for p in result.problems() if p["status"] == "invalid"]
    assert len(refused) == 1 and refused[0]["column"] == "at"
    assert "contradicts events.csv row" in refused[0]["message"]


def test_a_line_that_is_not_json_is_reported_with_its_line(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = (CONTRACT / "events.ndjson").read_text("utf-8").splitlines()
    events = tmp_path / "events.ndjson"
    events.write_text("\n".join([lines[0], '{"patient_id": "A1", "at": ', *lines[1:]]) + "\n")
    result = audit(events, "--patients", CONTRACT / "patients.ndjson")
    _marked_partial(result)
    assert "events.ndjson: row 2" in result.stderr and "not valid JSON" in result.stderr


def test_a_key_given_twice_in_an_ndjson_row_is_refused(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = tmp_path / "events.ndjson"
    doc = '{"patient_id": "A1", "at": "2026-01-05T08:00", "kind": "oral-regimen", '
    events.write_text(doc + '"dose": "5 mg", "dose": "50 mg", "times_per_day": 3}\n')
    result = audit(events, "--patients", CONTRACT / "patients.ndjson")
    _marked_partial(result)
    assert "column dose" in result.stderr and "twice" in result.stderr


def test_contract_audit_without_patients_is_a_usage_error(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(CONTRACT / "events.csv")
    assert result.status == 2
    assert "--patients" in result.stderr


def test_an_earlier_runs_files_do_not_survive_a_failed_run(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    good = audit(CONTRACT / "events.csv", "--patients", PATIENTS, out=out)
    assert good.status == 1 and (out / "findings.parquet").is_file()
    bad = tmp_path / "events.parquet"
    bad.write_bytes(b"not parquet")
    failed = audit(bad, "--patients", PATIENTS, out=out)
    _marked_partial(failed)
    assert not (out / "findings.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "partial"


def test_a_csv_row_with_too_many_values_is_named(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = _with_row(tmp_path, "A1,2026-01-06T08:00,oral-regimen,5 mg,3,,,,,,extra")
    result = audit(events, "--patients", PATIENTS)
    _marked_partial(result)
    assert "events.csv: row 3" in result.stderr and "one value per header column" in result.stderr
