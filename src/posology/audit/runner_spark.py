"""The cluster engine: Apache Spark groups the staged rows by patient and runs the same
per-patient function as DuckDB, through ``cogroup(...).applyInArrow``.

Local mode (``local[N]``, the default) runs on this machine's JVM; ``--master URL`` sends the same
job to a cluster, whose executors then need Posology installed and the staged folder on a shared
file system. ``pyspark`` is an optional dependency (``pip install posology[spark]``): it is
imported only here.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import PosologyError
from .plan import AuditPlan, batch_rows, output_schema, output_table

# Shuffle partitions per worker core: a few, so one slow patient does not hold a whole core.
PARTITIONS_PER_CORE = 4


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


def patient_function(plan: AuditPlan) -> Any:
    """The function Spark calls once per patient: its event rows and patient rows as Arrow
    tables in, its output rows as an Arrow table out."""

    def judge(events: Any, patients: Any) -> Any:
        from ..knowledge import load_pack
        from .adapters import get_adapter
        from .codes import load_codes
        from .patient_audit import audit_patient

        event_rows = batch_rows(events)
        patient_rows = batch_rows(patients)
        if not event_rows:
            return output_schema().empty_table()
        patient_id = event_rows[0]["patient_id"]
        rows = audit_patient(
            get_adapter(plan.source),
            plan.context,
            load_codes(plan.medicine),
            load_pack(plan.medicine, plan.profile),
            patient_id,
            patient_rows,
            event_rows,
        )
        return output_table(rows)

    return judge


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
    keyed_events = events.where("patient_id IS NOT NULL")
    keyed_patients = patients.where("patient_id IS NOT NULL")
    result = (
        keyed_events.groupBy("patient_id")
        .cogroup(keyed_patients.groupBy("patient_id"))
        .applyInArrow(patient_function(plan), output_ddl())
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
