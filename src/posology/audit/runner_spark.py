"""The cluster engine: Apache Spark groups the staged rows by patient and runs the same
per-patient function as DuckDB.

Both tables (events and patients) become one, hashed across partitions by patient and sorted
by patient within each, and ``mapInArrow`` hands each partition's record batches to Python at
once, which cuts them into patients as the DuckDB engine does: a Python call per partition,
not per patient (Spark's per-group calls cost more than judging a patient's events).

Local mode (``local[N]``, the default) runs on this machine's JVM; ``--master URL`` sends the same
job to a cluster, whose executors then need Posology installed and the staged folder on a shared
file system. ``pyspark`` is an optional dependency (``pip install posology[spark]``): it is
imported only here.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import PosologyError
from .columns import Columns
from .plan import AuditPlan, output_schema, output_table

# Shuffle partitions per worker core: a few, so one slow patient does not hold a whole core.
PARTITIONS_PER_CORE = 4
# Output rows gathered before they are handed back to Spark as Arrow batches.
OUTPUT_BATCH = 65_536


class SparkUnavailable(PosologyError):
    """The Spark engine was asked for but cannot start (pyspark or Java missing)."""


def _spark_type(arrow_type: Any) -> str:
    import pyarrow as pa

    return "bigint" if pa.types.is_integer(arrow_type) else "string"


def output_ddl() -> str:
    """The output schema as Spark DDL (``record string, ..., source_row bigint, ...``)."""
    return ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in output_schema())


def session(master: str | None, workers: int) -> Any:
    """A Spark session for the audit (UTC, no web UI, quiet logs)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "--engine spark needs pyspark: install posology with the spark extra "
            "(uv sync --extra spark, or pip install 'posology[spark]')"
        ) from None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkUnavailable(
            "--engine spark needs Java 17 or later (e.g. openjdk-17-jre-headless)"
        )
    if master is None or master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: loopback only
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or f"local[{workers}]")
        .appName("posology-audit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config(
            "spark.driver.host",
            "127.0.0.1"
            if master is None or master.startswith("local")
            else os.environ.get("SPARK_DRIVER_HOST", "0.0.0.0"),
        )
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(1, workers * PARTITIONS_PER_CORE)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


EVENT, PATIENT = "e_", "p_"  # prefixes of the two tables' columns in the one table Spark sorts
KEY, TABLE = "_patient", "_table"


def partition_function(plan: AuditPlan, event_names: list[str], patient_names: list[str]) -> Any:
    """The function Spark calls once per partition: the partition's rows (both tables, each
    column under its table's prefix, sorted by patient with the patient's own rows first) as
    Arrow record batches in, the output rows of each of its patients out, each patient judged
    by the one per-patient function (``audit_patient``), exactly as the DuckDB engine does."""

    def judge(batches: Iterator[Any]) -> Iterator[Any]:
        from .runner_duckdb import collections_paused

        with collections_paused():  # as in a DuckDB worker, and for the same reason
            yield from _judged(batches)

    def _judged(batches: Iterator[Any]) -> Iterator[Any]:
        import gc

        from ..knowledge import load_pack
        from .adapters import get_adapter
        from .codes import load_codes
        from .patient_audit import Tally, audit_patient
        from .runner_duckdb import COLLECT_EVERY, patient_slices

        adapter, codes = get_adapter(plan.source), load_codes(plan.medicine)
        pack = load_pack(plan.medicine, plan.profile)
        since_collection = 0
        tally = Tally()
        pending: list[Any] = []
        views: tuple[Any, Columns, Columns] | None = None
        for patient_id, rows in patient_slices(batches, KEY):
            if views is None or views[0] is not rows.values:  # a new batch: its two tables
                views = (
                    rows.values,
                    _renamed(rows, PATIENT, patient_names),
                    _renamed(rows, EVENT, event_names),
                )
            tables = rows.column(TABLE)
            assert tables is not None
            first_event = next(
                (i for i in rows.indices() if tables[i] == 1), rows.stop
            )  # the patient's own rows come first
            if first_event == rows.stop:
                continue  # a patient without events: nothing to judge
            patients = views[1].slice(rows.start, first_event)
            events = views[2].slice(first_event, rows.stop)
            pending += audit_patient(
                adapter, plan.context, codes, pack, patient_id, patients.rows(), events, tally
            )
            since_collection += len(events)
            if since_collection >= COLLECT_EVERY:
                gc.collect()
                since_collection = 0
            if len(pending) >= OUTPUT_BATCH:
                yield from output_table(pending).to_batches()
                pending = []
        pending += tally.rows()
        if pending:
            yield from output_table(pending).to_batches()

    return judge


def _renamed(rows: Columns, prefix: str, names: list[str]) -> Columns:
    """One table's columns of a batch of the sorted rows, under their own names (a view of
    the same lists: nothing is copied)."""
    lists = [rows.column(prefix + name) for name in names]
    assert all(values is not None for values in lists)
    return Columns(names, lists)  # type: ignore[arg-type]


def _tagged(frame: Any, prefix: str, table: int) -> Any:
    from pyspark.sql import functions as F

    return frame.where("patient_id IS NOT NULL").select(
        F.col("patient_id").alias(KEY),
        F.lit(table).alias(TABLE),
        *(F.col(f"`{name}`").alias(prefix + name) for name in frame.columns),
    )


def run(plan: AuditPlan, master: str | None = None) -> list[str]:
    """Run the audit on Spark; the Parquet parts of its output rows."""
    from .adapters import get_adapter
    from .patient_audit import orphan_rows

    spark = session(master, plan.workers)
    for name, path in plan.tables.items():
        spark.read.parquet(path).createOrReplaceTempView(name)
    events = spark.sql(plan.events_sql)
    patients = spark.sql(plan.patients_sql)
    out_dir = Path(plan.workdir) / "spark-output"
    # one table of both, each row tagged with its table (patients 0, events 1), hashed across
    # partitions by patient and sorted, so each partition holds whole patients, each patient's
    # own rows first; one Python call per partition, one per-patient function per patient
    both = _tagged(patients, PATIENT, 0).unionByName(
        _tagged(events, EVENT, 1), allowMissingColumns=True
    )
    partitions = max(1, plan.workers * PARTITIONS_PER_CORE)
    result = (
        both.repartition(partitions, KEY)
        .sortWithinPartitions(KEY, TABLE)
        .mapInArrow(partition_function(plan, events.columns, patients.columns), output_ddl())
    )
    result.write.mode("overwrite").parquet(str(out_dir))
    adapter = get_adapter(plan.source)
    orphans = []
    for what, frame in (("patient", patients), ("event", events)):
        rows = [r.asDict() for r in frame.where("patient_id IS NULL").collect()]
        orphans += orphan_rows(rows, adapter.strict, what)
    parts = [str(p) for p in sorted(out_dir.glob("*.parquet"))]
    if orphans:
        import pyarrow.parquet as pq

        orphan_path = Path(plan.workdir) / "orphans.parquet"
        pq.write_table(output_table(orphans), orphan_path)
        parts.append(str(orphan_path))
    if not parts:
        import pyarrow.parquet as pq

        empty = Path(plan.workdir) / "empty.parquet"
        pq.write_table(output_schema().empty_table(), empty)
        parts.append(str(empty))
    return parts
