"""One audit from start to end: stage the inputs, run an engine, write the files.

``run_audit`` is what ``posology audit`` calls; it returns the exit status the contract gives
(0: no error or critical finding; 1: at least one; 2: unusable input) and never leaves an output
folder that looks complete when it is not: a run stopped by bad input, or with rows the reader
refused, says ``partial`` in ``manifest.json``, in ``summary.json``, in the findings file's
metadata, in the report's heading and in a ``PARTIAL`` file that names the reason.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..frozen import field, record
from .problems import BadDataset

ENGINES = ("duckdb", "spark")
FORMATS = ("parquet", "csv")
# Below this many events one process is faster than starting workers (each imports the engine).
SPAWN_THRESHOLD = 20_000
PARTIAL_MARKER = "PARTIAL"


@record
class AuditOptions:
    events: Path
    out: Path
    patients: Path | None = None
    source: str = "contract"
    fmt: str = "parquet"
    engine: str = "duckdb"
    master: str | None = None
    workers: int | None = None
    medicine: str = "baclofen"
    profile: str | None = None
    progress: bool | None = None  # None: a progress line when standard error is a terminal
    report: bool = True


@record
class AuditResult:
    exit_status: int
    status: str  # complete or partial
    summary: dict[str, Any]
    out: Path
    invalid: list[dict[str, str]] = field(default_factory=list)


class AuditStopped(InputError):
    """Bad input stopped the audit before anything was judged; the folder is marked partial."""


def _options_record(options: AuditOptions) -> dict[str, Any]:
    return {
        "events": str(options.events),
        "patients": None if options.patients is None else str(options.patients),
        "from": options.source,
        "format": options.fmt,
        "engine": options.engine,
        "master": options.master,
        "workers": options.workers,
        "medicine": options.medicine,
        "profile": options.profile,
    }


def _clear(out: Path) -> None:
    """Remove the files an earlier run left, so none is mistaken for this run's."""
    for name in (
        PARTIAL_MARKER,
        "findings.parquet",
        "findings.csv",
        "problems.csv",
        "summary.json",
        "summary.csv",
        "report.html",
        "manifest.json",
    ):
        (out / name).unlink(missing_ok=True)


def _mark_partial(out: Path, reason: str) -> None:
    (out / PARTIAL_MARKER).write_text(
        "This audit's output is partial: " + reason + "\nSee manifest.json and problems.csv.\n",
        "utf-8",
    )


def run_audit(options: AuditOptions) -> AuditResult:
    from ..knowledge import load_pack
    from . import manifest as mf
    from .adapters import get_adapter
    from .codes import load_codes
    from .plan import AuditPlan
    from .progress import Progress
    from .staging import stage_table

    started = datetime.now(UTC)
    if options.engine not in ENGINES:
        raise InputError("--engine", f"unknown engine {options.engine!r}; use duckdb or spark")
    if options.fmt not in FORMATS:
        raise InputError("--format", f"unknown format {options.fmt!r}; use parquet or csv")
    if not options.events.exists():
        raise InputError("EVENTS", f"{options.events}: no such file or folder")
    if options.patients is not None and not options.patients.exists():
        raise InputError("--patients", f"{options.patients}: no such file or folder")
    adapter = get_adapter(options.source)
    load_pack(options.medicine, options.profile)  # a broken pack stops the run before any work
    codes = load_codes(options.medicine)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    work = out / f".work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    record = _options_record(options)
    pack_id = mf.pack_identity(options.medicine, options.profile)
    codes_id = {"file": codes.file, "sha256": codes.sha256}
    sources = adapter.tables(options.events, options.patients)
    input_files = [p for s in sources for p in s.files]
    progress = Progress(0, enabled=options.progress)
    try:
        staged = {}
        for source in sources:
            progress.stage(f"reading {source.name} …")
            staged[source.name] = stage_table(
                source.name, source.files, work, source.required, source.keys, source.key_names
            )
    except BadDataset as exc:
        progress.close()
        _mark_partial(out, f"bad input stopped the audit before anything was judged: {exc}")
        mf.write_manifest(
            out,
            options=record,
            inputs=mf.inputs_identity(input_files),
            pack=pack_id,
            codes=codes_id,
            engine=options.engine,
            status="partial",
            exit_status=2,
            started=started,
            outputs=(),
            error=str(exc),
        )
        shutil.rmtree(work, ignore_errors=True)
        raise AuditStopped(
            exc.field, f"{exc}; nothing was judged ({out} is marked partial)"
        ) from None
    available = {name: table.columns for name, table in staged.items()}

    def read_small(name: str) -> list[dict[str, Any]]:
        import pyarrow.parquet as pq

        from .plan import batch_rows

        return batch_rows(pq.read_table(staged[name].path))

    events_total = (
        staged["events"].rows if "events" in staged else sum(t.rows for t in staged.values())
    )
    workers = options.workers or ((os.cpu_count() or 1) if events_total >= SPAWN_THRESHOLD else 1)
    plan = AuditPlan(
        source=adapter.name,
        tables={name: str(table.path) for name, table in staged.items()},
        events_sql=adapter.events_sql(available, codes),
        patients_sql=adapter.patients_sql(available, codes),
        context=adapter.context(read_small, available, codes),
        medicine=options.medicine,
        profile=options.profile,
        workdir=str(work),
        workers=workers,
    )
    progress.stage("judging …")
    progress.start(events_total)
    if options.engine == "spark":
        from .runner_spark import run as run_spark

        parts = run_spark(plan, options.master)
    else:
        from .runner_duckdb import run as run_duckdb

        parts = run_duckdb(plan, progress)
    progress.close()
    from .outputs import first_problems, write_outputs

    written = write_outputs(parts, out, options.fmt)
    summary = written.summary
    partial = summary["status"] == "partial"
    invalid = first_problems(out, 3) if partial else []
    exit_status = 2 if partial else 1 if summary["serious_findings"] else 0
    files = list(written.files)
    if options.report:
        from .report import write_report

        files.append(write_report(out, summary, pack_id, record, invalid))
    if partial:
        count = summary["problems"]["invalid"]
        _mark_partial(out, f"{count} input row(s) could not be read and were not judged")
    mf.write_manifest(
        out,
        options=record,
        inputs=mf.inputs_identity(input_files),
        pack=pack_id,
        codes=codes_id,
        engine=options.engine,
        status=summary["status"],
        exit_status=exit_status,
        started=started,
        outputs=files,
        summary=summary,
    )
    shutil.rmtree(work, ignore_errors=True)
    return AuditResult(exit_status, summary["status"], summary, out, invalid)
