"""The embedded engine: DuckDB reads the staged tables, runs the adapter's SQL, sorts by
patient and streams record batches to the per-patient function.

Work is split by a hash of the patient ID across worker processes on one machine (one per
core by default), each with its own DuckDB connection; every worker writes its output rows to
its own Parquet part. Small datasets run in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .columns import Columns, concat
from .plan import AuditPlan, batch_rows, output_schema, output_table

# Rows DuckDB hands over at once; a batch is converted to Python in one go.
FETCH_ROWS = 32_768
# Output rows kept before they are written to the worker's Parquet part.
WRITE_ROWS = 65_536
# Events judged between two collections of reference cycles (``collections_paused``).
COLLECT_EVERY = 250_000


@contextmanager
def collections_paused() -> Iterator[None]:
    """Python's cycle collector paused while patients are judged.

    Judging makes and drops millions of small acyclic values (events, findings, the facts of
    each past), which reference counting frees at once; the collector would walk every live
    object again and again for nothing (a fifth of the time on 2 M events). The loop collects
    by hand every ``COLLECT_EVERY`` events, so a cycle made on the way cannot pile up.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def connect(plan: AuditPlan) -> Any:
    """A DuckDB connection with the staged tables as views."""
    import duckdb

    con = duckdb.connect(config={"threads": 1 if plan.workers > 1 else 2})
    con.execute("SET enable_progress_bar = false")  # quiet: the CLI draws its own progress
    for name, path in plan.tables.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_sql_path(path)}')")
    return con


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def _partition(sql: str, part: int, parts: int) -> str:
    where = "patient_id IS NOT NULL"
    if parts > 1:
        where += f" AND hash(patient_id) % {parts} = {part}"
    return f"SELECT * FROM ({sql}) AS flat WHERE {where}"


def _rows(con: Any, sql: str) -> Iterator[dict[str, Any]]:
    reader = con.sql(sql).to_arrow_reader(FETCH_ROWS)
    for batch in reader:
        yield from batch_rows(batch)


def patient_slices(
    batches: Iterable[Any], key: str = "patient_id"
) -> Iterator[tuple[str, Columns]]:
    """Each patient's rows, from record batches sorted by the patient column ``key``, as a
    slice of the batch held as columns (a patient whose rows run on into the next batch is
    joined up)."""
    carry: Columns | None = None
    for batch in batches:
        if not batch.num_rows:
            continue
        columns = Columns.from_arrow(batch)
        if carry is not None:
            columns = concat([carry, columns])
        *done, last = columns.runs(key)
        for patient_id, start, stop in done:
            yield patient_id, columns.slice(start, stop)
        carry = columns.slice(last[1], last[2])
    if carry is not None:
        patient_ids = carry.column(key)
        assert patient_ids is not None
        yield patient_ids[carry.start], carry


def run_partition(plan: AuditPlan, part: int, parts: int, counter: Any = None) -> str:
    """Audit the patients of one hash partition; the path of its Parquet part."""
    import pyarrow.parquet as pq

    from ..knowledge import load_pack
    from .adapters import get_adapter
    from .codes import load_codes
    from .patient_audit import Tally, audit_patient, orphan_rows

    adapter = get_adapter(plan.source)
    codes = load_codes(plan.medicine)
    pack = load_pack(plan.medicine, plan.profile)
    con = connect(plan)
    patients: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(con, _partition(plan.patients_sql, part, parts)):
        patients.setdefault(row["patient_id"], []).append(row)
    out_path = Path(plan.workdir) / f"part-{part:04d}.parquet"
    writer = pq.ParquetWriter(out_path, output_schema())
    pending: list[Any] = []

    def flush() -> None:
        writer.write_table(output_table(pending))
        pending.clear()

    if part == 0:  # rows without a patient ID belong to no partition: the first reports them
        for what, sql in (("patient", plan.patients_sql), ("event", plan.events_sql)):
            orphans = con.sql(f"SELECT * FROM ({sql}) AS flat WHERE patient_id IS NULL")
            pending += orphan_rows(batch_rows(orphans.to_arrow_table()), adapter.strict, what)
    done = 0
    since_collection = 0
    tally = Tally()
    sql = _partition(plan.events_sql, part, parts) + " ORDER BY patient_id"
    with collections_paused():
        for patient_id, rows in patient_slices(con.sql(sql).to_arrow_reader(FETCH_ROWS)):
            own = patients.get(patient_id, [])
            pending += audit_patient(
                adapter, plan.context, codes, pack, patient_id, own, rows, tally
            )
            done += len(rows)
            since_collection += len(rows)
            if len(pending) >= WRITE_ROWS:
                flush()
            if since_collection >= COLLECT_EVERY:
                gc.collect()
                since_collection = 0
            if counter is not None and done >= 2048:
                with counter.get_lock():
                    counter.value += done
                done = 0
    if counter is not None and done:
        with counter.get_lock():
            counter.value += done
    pending += tally.rows()
    flush()
    writer.close()
    con.close()
    return str(out_path)


def _worker(plan: AuditPlan, part: int, parts: int, counter: Any) -> None:
    """A worker process: run one partition; a failure is left as text beside its part."""
    try:
        run_partition(plan, part, parts, counter)
    except BaseException as exc:
        Path(plan.workdir, f"part-{part:04d}.error").write_text(
            f"{type(exc).__name__}: {exc}", "utf-8"
        )
        raise SystemExit(1) from None


class WorkerFailed(RuntimeError):
    """A worker process stopped with an error (its message is kept)."""


def run(plan: AuditPlan, progress: Callable[[int], None] | None = None) -> list[str]:
    """Run every partition (in worker processes when ``plan.workers`` > 1); the part paths."""
    if plan.workers <= 1:
        return [run_partition(plan, 0, 1, _LocalCounter(progress))]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding Arrow threads
    counter = ctx.Value("q", 0)
    workers = [
        ctx.Process(target=_worker, args=(plan, k, plan.workers, counter), daemon=True)
        for k in range(plan.workers)
    ]
    for w in workers:
        w.start()
    try:
        while any(w.is_alive() for w in workers):
            if progress is not None:
                progress(int(counter.value))
            workers[0].join(0.2)
            for w in workers:
                if not w.is_alive():
                    w.join()
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
            w.join()
    if progress is not None:
        progress(int(counter.value))
    failed = [k for k, w in enumerate(workers) if w.exitcode != 0]
    if failed:
        note = Path(plan.workdir, f"part-{failed[0]:04d}.error")
        text = (
            note.read_text("utf-8")
            if note.is_file()
            else f"exit code {workers[failed[0]].exitcode}"
        )
        raise WorkerFailed(f"audit worker {failed[0]} failed: {text}")
    return [str(Path(plan.workdir) / f"part-{k:04d}.parquet") for k in range(plan.workers)]


class _LocalCounter:
    """A counter with the shape of ``multiprocessing.Value`` for the in-process run, which
    reports each addition to the progress line."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self._value = 0
        self._progress = progress

    @property
    def value(self) -> int:
        return self._value

    @value.setter
    def value(self, new: int) -> None:
        self._value = new
        if self._progress is not None:
            self._progress(new)

    def get_lock(self) -> Any:
        import contextlib

        return contextlib.nullcontext()
