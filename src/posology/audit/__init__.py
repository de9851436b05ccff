"""``posology audit``: judge every baclofen event of a whole dataset after the fact.

Adapters (``adapters/``) read the contract's documents, OMOP CDM, MIMIC-IV or FHIR Bulk Data;
staging (``staging``) makes them text-column Parquet; an engine (``runner_duckdb`` or
``runner_spark``) groups the rows by patient and runs the one per-patient function
(``patient_audit``); ``outputs``, ``report`` and ``manifest`` write the files. Heavy libraries
(DuckDB, pyarrow, pyspark) are imported only when an audit runs.
"""

from __future__ import annotations

from .run import AuditOptions, AuditResult, run_audit

__all__ = ["AuditOptions", "AuditResult", "run_audit"]
