"""The Spark engine (local mode) gives the DuckDB engine's findings, file for file."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest

from posology.audit.synthetic import write_dataset

from .conftest import FIXTURES

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="Spark needs Java: apt-get install openjdk-17-jre-headless (scripts/test does)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="pyspark is the optional 'spark' extra: uv sync --extra spark (scripts/test does)",
    ),
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _both(audit, tmp_path: Path, *args: str | Path) -> tuple:  # type: ignore[no-untyped-def]
    duck = audit(*args, "--format", "csv", out=tmp_path / "duckdb")
    spark = audit(
        *args, "--format", "csv", "--engine", "spark", "--workers", "2", out=tmp_path / "spark"
    )
    return duck, spark


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_spark_and_duckdb_findings_are_identical_on_the_contract_fixture(
    audit, tmp_path: Path, ext: str
) -> None:  # type: ignore[no-untyped-def]
    contract = FIXTURES / "contract"
    duck, spark = _both(
        audit, tmp_path, contract / f"events.{ext}", "--patients", contract / f"patients.{ext}"
    )
    assert duck.status == spark.status == 1, spark.stderr
    assert len(duck.findings()) >= 5
    for name in ("findings.csv", "problems.csv", "summary.csv"):
        assert _sha(duck.out / name) == _sha(spark.out / name), name
    assert spark.manifest()["engine"]["name"] == "spark"


def test_spark_and_duckdb_findings_are_identical_on_a_synthetic_run(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    write_dataset(data, 6000, seed=3)
    duck, spark = _both(
        audit, tmp_path, data / "events.parquet", "--patients", data / "patients.parquet"
    )
    assert duck.summary()["events_judged"] >= 6000
    assert _sha(duck.out / "findings.csv") == _sha(spark.out / "findings.csv")
    assert duck.summary() == spark.summary()


def test_spark_reports_bad_rows_as_duckdb_does(audit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = (FIXTURES / "contract" / "events.csv").read_text("utf-8").splitlines()
    events = tmp_path / "events.csv"
    events.write_text(
        "\n".join(
            [
                *lines,
                ",2026-01-06T08:00,oral-stop,,,,,,,",
                "A1,2026-01-06T08:00,oral-regimen,5,3,,,,,",
            ]
        )
        + "\n"
    )
    duck, spark = _both(
        audit, tmp_path, events, "--patients", FIXTURES / "contract" / "patients.csv"
    )
    assert duck.status == spark.status == 2
    assert _sha(duck.out / "problems.csv") == _sha(spark.out / "problems.csv")
    assert {p["column"] for p in spark.problems() if p["status"] == "invalid"} == {
        "patient_id",
        "dose",
    }


@pytest.mark.parametrize("source", ["omop", "mimic", "fhir"])
def test_spark_and_duckdb_findings_are_identical_on_each_adapters_fixture(
    audit, tmp_path: Path, source: str
) -> None:  # type: ignore[no-untyped-def]
    duck, spark = _both(audit, tmp_path, FIXTURES / source, "--from", source)
    assert duck.status == spark.status == 1, spark.stderr
    for name in ("findings.csv", "problems.csv", "summary.csv"):
        assert _sha(duck.out / name) == _sha(spark.out / name), name
