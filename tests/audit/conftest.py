"""Audit test helpers: run ``posology audit`` in this process and read what it wrote."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from posology.cli import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"


@dataclass
class Audit:
    status: int
    out: Path
    stdout: str
    stderr: str

    def findings(self) -> list[dict[str, Any]]:
        csv_path = self.out / "findings.csv"
        if csv_path.is_file():
            with csv_path.open(encoding="utf-8", newline="") as handle:
                return list(csv.DictReader(handle))
        import pyarrow.parquet as pq

        table = pq.read_table(self.out / "findings.parquet")
        return [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in table.to_pylist()]

    def problems(self) -> list[dict[str, str]]:
        with (self.out / "problems.csv").open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def summary(self) -> dict[str, Any]:
        return json.loads((self.out / "summary.json").read_text("utf-8"))  # type: ignore[no-any-return]

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "manifest.json").read_text("utf-8"))  # type: ignore[no-any-return]

    def rules(self) -> set[tuple[str, str, str, str]]:
        """(patient, event time, rule, severity) of every finding."""
        return {(f["patient_id"], f["at"], f["rule"], f["severity"]) for f in self.findings()}


@pytest.fixture
def audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def go(*args: str | Path, out: Path | None = None) -> Audit:
        folder = out or tmp_path / "out"
        status = run(["audit", *map(str, args), "--out", str(folder)])
        captured = capsys.readouterr()
        return Audit(status, folder, captured.out, captured.err)

    return go
