"""The audit's files: findings (Parquet or CSV), problems, and the summary.

Every engine leaves its output rows as Parquet parts; one DuckDB query per file sorts them
(patient, then event order, then finding order) and writes them, so the files depend only on the
findings, never on the engine or on how the work was split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..frozen import record

FINDING_COLUMNS = (
    "patient_id",
    "at",
    "kind",
    "rule",
    "severity",
    "message",
    "citation",
    "quote",
    "source_file",
    "source_row",
    "source_id",
)
PROBLEM_COLUMNS = ("source_file", "source_row", "patient_id", "column", "status", "message")
SERIOUS = ("error", "critical")


@record
class Written:
    """What was written, with the figures the exit status and the report need."""

    files: tuple[Path, ...]
    summary: dict[str, Any]


def _quoted(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _view(con: Any, parts: Sequence[str]) -> None:
    listed = ", ".join(_quoted(p) for p in parts)
    con.execute(f"CREATE OR REPLACE VIEW out AS SELECT * FROM read_parquet([{listed}])")


def _copy(con: Any, query: str, path: Path, fmt: str, partial: bool) -> None:
    if fmt == "parquet":
        status = "partial" if partial else "complete"
        options = f"FORMAT parquet, KV_METADATA {{'posology.audit.status': '{status}'}}"
    else:
        options = "FORMAT csv, HEADER true"
    con.execute(f"COPY ({query}) TO {_quoted(path)} ({options})")


def write_outputs(parts: Sequence[str], out: Path, fmt: str, partial_hint: bool = False) -> Written:
    """Write findings, problems and summary from the engine's parts into ``out``."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # quiet: the CLI draws its own progress
    _view(con, parts)
    invalid = con.execute(
        "SELECT count(*) FROM out WHERE record = 'problem' AND status = 'invalid'"
    ).fetchone()
    partial = partial_hint or bool(invalid and invalid[0])
    findings = out / f"findings.{fmt}"
    columns = ", ".join(f'"{c}"' for c in FINDING_COLUMNS)
    _copy(
        con,
        f"SELECT {columns} FROM out WHERE record = 'finding' "
        "ORDER BY patient_id, event_seq, finding_seq",
        findings,
        fmt,
        partial,
    )
    problems = out / "problems.csv"
    pcols = ", ".join(f'"{c}"' for c in PROBLEM_COLUMNS)
    _copy(
        con,
        f"SELECT {pcols} FROM out WHERE record = 'problem' "
        "ORDER BY source_file NULLS FIRST, source_row NULLS FIRST, status, message",
        problems,
        "csv",
        partial,
    )
    summary = summarise(con)
    summary["status"] = "partial" if partial else "complete"
    summary_json = out / "summary.json"
    summary_json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    summary_csv = out / "summary.csv"
    _copy(
        con,
        'SELECT substr("at", 1, 7) AS month, rule, severity, count(*) AS findings FROM out '
        "WHERE record = 'finding' GROUP BY ALL ORDER BY month, rule, severity",
        summary_csv,
        "csv",
        partial,
    )
    con.close()
    return Written((findings, problems, summary_json, summary_csv), summary)


def summarise(con: Any) -> dict[str, Any]:
    """Totals, findings by rule, by severity and by month (with the events judged each month,
    so rates can be read). The events judged are read from the engines' tallies (``events``
    rows, one a kind and month of a part) and the patients from their ``patient`` rows."""

    def rows(query: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in con.execute(query).fetchall()]

    ((events, patients, findings),) = rows(
        "SELECT CAST(COALESCE(sum(events) FILTER (WHERE record = 'events'), 0) AS BIGINT), "
        "count(DISTINCT patient_id) FILTER (WHERE record = 'patient'), "
        "count(*) FILTER (WHERE record = 'finding') FROM out"
    )
    problems = dict(
        rows("SELECT status, count(*) FROM out WHERE record = 'problem' GROUP BY status")
    )
    by_kind = dict(
        rows(
            "SELECT kind, CAST(sum(events) AS BIGINT) FROM out WHERE record = 'events' "
            "GROUP BY kind ORDER BY kind"
        )
    )
    by_rule = [
        {"rule": r, "severity": s, "findings": n, "events": e}
        for r, s, n, e in rows(
            "SELECT rule, severity, count(*), count(DISTINCT (patient_id, event_seq)) "
            "FROM out WHERE record = 'finding' "
            "GROUP BY rule, severity ORDER BY count(*) DESC, rule, severity"
        )
    ]
    by_severity = dict(
        rows(
            "SELECT severity, count(*) FROM out WHERE record = 'finding' GROUP BY severity "
            "ORDER BY severity"
        )
    )
    months: dict[str, dict[str, Any]] = {}
    for month, n in rows(
        "SELECT \"at\", CAST(sum(events) AS BIGINT) FROM out WHERE record = 'events' "
        "GROUP BY 1 ORDER BY 1"
    ):
        months[month] = {
            "month": month,
            "events": n,
            "findings": 0,
            "by_severity": {},
            "by_rule": {},
        }
    for month, rule, severity, n in rows(
        "SELECT substr(\"at\", 1, 7), rule, severity, count(*) FROM out WHERE record = 'finding' "
        "GROUP BY ALL ORDER BY 1, 2, 3"
    ):
        entry = months[month]
        entry["findings"] += n
        entry["by_severity"][severity] = entry["by_severity"].get(severity, 0) + n
        entry["by_rule"][rule] = entry["by_rule"].get(rule, 0) + n
    serious = sum(n for s, n in by_severity.items() if s in SERIOUS)
    return {
        "patients": patients,
        "events_judged": events,
        "events_by_kind": by_kind,
        "findings": findings,
        "serious_findings": serious,
        "problems": {
            "invalid": problems.get("invalid", 0),
            "unmapped": problems.get("unmapped", 0),
            "duplicate": problems.get("duplicate", 0),
        },
        "by_severity": by_severity,
        "by_rule": by_rule,
        "by_month": list(months.values()),
    }


def first_problems(out: Path, limit: int) -> list[dict[str, str]]:
    """The first rows of ``problems.csv`` that make the input unusable (for the error line)."""
    import csv

    path = out / "problems.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "invalid"]
    return rows[:limit]
