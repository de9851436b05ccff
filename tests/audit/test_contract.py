"""``posology audit --from contract``: known findings of the hand-written fixtures, in NDJSON,
CSV and Parquet; every event judged as ``check`` judges it after the patient's earlier events."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posology.audit.synthetic import write_dataset
from posology.knowledge import Pack
from posology.model import parse_event, parse_patient
from posology.rules import check

from .conftest import FIXTURES, Audit

CONTRACT = FIXTURES / "contract"
# Findings a pharmacist expects of the fixture (patient, event time, rule, severity):
EXPECTED = {
    # 35 mg three times a day is 105 mg/day: above the 100 mg/day outpatient maximum
    ("A1", "2026-01-14T08:00:00", "PO-MAX", "error"),
    # and a jump of 60 mg/day after a 15 mg/day ladder
    ("A1", "2026-01-14T08:00:00", "PO-TITRATION", "warning"),
    # a 500 µg test dose: above the 100 µg screening maximum, and a step of 450 µg
    ("B2", "2026-02-03T09:00:00", "IT-SCREEN-NONRESPONDER", "error"),
    ("B2", "2026-02-03T09:00:00", "IT-SCREEN-STEP", "error"),
    # oral baclofen stopped at once from 30 mg/day
    ("C3", "2026-03-20T08:00:00", "STOP-GRADUAL", "error"),
}
CLEAN_STEPS = {  # the ladder's first steps: nothing of severity error or critical
    ("A1", "2026-01-05T08:00:00"),
    ("A1", "2026-01-08T08:00:00"),
    ("A1", "2026-01-11T08:00:00"),
    ("C3", "2026-03-04T08:00:00"),
}


def _csv_to_parquet(src: Path, dst: Path) -> Path:
    with src.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {k: pa.array([r[k] or None for r in rows], pa.string()) for k in rows[0]}
    pq.write_table(pa.table(columns), dst)
    return dst


def _check_known(result: Audit) -> None:
    assert result.status == 1, result.stderr
    found = result.rules()
    assert found >= EXPECTED
    serious = {(p, at) for p, at, _, s in found if s in ("error", "critical")}
    assert not serious & CLEAN_STEPS
    summary = result.summary()
    assert summary["patients"] == 3
    assert summary["events_judged"] == 10  # 11 rows, one an exact duplicate judged once
    assert summary["status"] == "complete"
    duplicates = [p for p in result.problems() if p["status"] == "duplicate"]
    assert [(d["source_file"], d["source_row"]) for d in duplicates] == [
        (d["source_file"], "10") for d in duplicates
    ]
    assert len(duplicates) == 1
    assert not (result.out / "PARTIAL").exists()


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_known_findings_of_the_contract_fixture(audit, ext: str) -> None:  # type: ignore[no-untyped-def]
    result = audit(
        CONTRACT / f"events.{ext}", "--patients", CONTRACT / f"patients.{ext}", "--format", "csv"
    )
    _check_known(result)


def test_parquet_input_gives_the_findings_of_csv_input(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    events = _csv_to_parquet(CONTRACT / "events.csv", tmp_path / "events.parquet")
    patients = _csv_to_parquet(CONTRACT / "patients.csv", tmp_path / "patients.parquet")
    from_parquet = audit(events, "--patients", patients, out=tmp_path / "pq")
    _check_known(from_parquet)
    from_csv = audit(
        CONTRACT / "events.csv", "--patients", CONTRACT / "patients.csv", out=tmp_path / "csv"
    )
    strip = [{k: v for k, v in f.items() if k != "source_file"} for f in from_csv.findings()]
    assert [
        {k: v for k, v in f.items() if k != "source_file"} for f in from_parquet.findings()
    ] == strip


def test_every_finding_row_names_its_source_row_and_citation(audit) -> None:  # type: ignore[no-untyped-def]
    result = audit(
        CONTRACT / "events.csv", "--patients", CONTRACT / "patients.csv", "--format", "csv"
    )
    lines = (CONTRACT / "events.csv").read_text("utf-8").splitlines()
    for f in result.findings():
        row = lines[int(f["source_row"])].split(",")
        assert row[0] == f["patient_id"] and f["at"].startswith(row[1])
        assert f["citation"] and f["quote"] and f["message"]


def test_each_event_is_judged_as_check_judges_it_after_the_earlier_ones(
    audit, tmp_path: Path, pack: Pack
) -> None:  # type: ignore[no-untyped-def]
    """The audit's definition, computed independently: for each patient of a synthetic
    dataset, check(patient, history[:i], history[i]) gives the findings of row i."""
    write_dataset(tmp_path / "data", 1500, seed=7, fmt="ndjson")
    result = audit(
        tmp_path / "data" / "events.ndjson",
        "--patients",
        tmp_path / "data" / "patients.ndjson",
        "--format",
        "csv",
    )
    patients = {}
    for line in (tmp_path / "data" / "patients.ndjson").read_text().splitlines():
        doc = json.loads(line)
        pid = doc.pop("patient_id")
        patients[pid] = parse_patient(doc)
    histories: dict[str, list] = {}
    for line in (tmp_path / "data" / "events.ndjson").read_text().splitlines():
        doc = json.loads(line)
        pid = doc.pop("patient_id")
        histories.setdefault(pid, []).append(parse_event(doc, ""))
    expected = []
    for pid in sorted(histories):
        history = sorted(histories[pid], key=lambda e: e.at)
        for i, event in enumerate(history):
            for f in check(patients[pid], history[:i], event, pack):
                expected.append((pid, event.at.isoformat(), f.rule, f.severity.value, f.message))
    got = [
        (f["patient_id"], f["at"], f["rule"], f["severity"], f["message"])
        for f in result.findings()
    ]
    assert got == expected


def test_manifest_records_inputs_pack_engine_and_repeats_to_the_same_files(
    audit, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    first = audit(
        CONTRACT / "events.csv", "--patients", CONTRACT / "patients.csv", out=tmp_path / "first"
    )
    manifest = first.manifest()
    assert manifest["status"] == "complete" and manifest["exit_status"] == 1
    digest = hashlib.sha256((CONTRACT / "events.csv").read_bytes()).hexdigest()
    assert {i["name"]: i["sha256"] for i in manifest["inputs"]}["events.csv"] == digest
    assert manifest["pack"]["medicine"] == "baclofen" and len(manifest["pack"]["sha256"]) == 64
    assert manifest["codes"]["file"] == "baclofen-codes.json"
    assert manifest["engine"]["name"] == "duckdb" and manifest["engine"]["versions"]["duckdb"]
    command = manifest["command"]
    assert command[:3] == ["posology", "audit", str(CONTRACT / "events.csv")]
    again_out = tmp_path / "again"
    args = command[2:]
    args[args.index("--out") + 1] = str(again_out)
    again = audit(*[a for a in args if a != "--out" and a != str(again_out)], out=again_out)
    assert (
        again.manifest()["outputs"]["findings.parquet"] == manifest["outputs"]["findings.parquet"]
    )
