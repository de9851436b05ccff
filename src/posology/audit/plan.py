"""What an engine needs to run an audit: the staged tables, the adapter's SQL and context, and
the pack to judge with. A plain picklable value, sent to each worker process (DuckDB) or
captured by the per-patient function (Spark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from ..frozen import record
from .patient_audit import INT_COLUMNS, OUTPUT_COLUMNS, Output


@record
class AuditPlan:
    source: str  # the adapter's --from name
    tables: Mapping[str, str]  # table name → staged Parquet path
    events_sql: str
    patients_sql: str
    context: Any
    medicine: str
    profile: str | None
    workdir: str
    workers: int


def output_schema() -> Any:
    """The Arrow schema of output rows (text, and whole numbers for rows and sequence numbers)."""
    import pyarrow as pa

    return pa.schema([(c, pa.int64() if c in INT_COLUMNS else pa.string()) for c in OUTPUT_COLUMNS])


def output_table(rows: Sequence[Output]) -> Any:
    """Output rows (tuples) as one Arrow table."""
    import pyarrow as pa

    schema = output_schema()
    # column by column (a C-level getter a column): faster than transposing with zip(*rows)
    columns = [list(map(itemgetter(j), rows)) for j in range(len(OUTPUT_COLUMNS))]
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def batch_rows(batch: Any) -> list[dict[str, Any]]:
    """An Arrow batch or table as row dicts, converted column by column (far faster than row by
    row)."""
    names = batch.schema.names
    columns = [batch.column(i).to_pylist() for i in range(len(names))]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
