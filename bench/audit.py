"""Benchmark ``posology audit`` end to end on a synthetic dataset: events per second and peak
memory (every process of the run, workers included), DuckDB and Spark local, and their ratio.

.venv/bin/python bench/audit.py [--events 2000000] [--no-spark] [--workers N] [--data DIR]

The dataset (Parquet, about 50 events a patient: 2 M events are about 40,000 patients) is
written first by the synthetic generator into a temporary folder and not timed; ``--data DIR``
reuses (or, when empty, keeps) a dataset written there. Each engine runs as the CLI runs
(``posology audit``, a process of its own); peak memory is the largest resident size of that
process and all its descendants (DuckDB workers, or Spark's JVM and Python workers), sampled
every 0.2 s; the CPU seconds of the whole tree are printed too (a figure other work on the
machine does not inflate as it does the wall time). Both engines' findings are compared (they
must be identical). The load average is printed beside every figure, since other work on the
machine slows it. The issue's goal: at least 100,000 events/s and at most 2 GiB with DuckDB on
a 2-core machine for 2 M events.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SECONDS = 0.2


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1]) * 1024
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def _children_cpu() -> float:
    """CPU seconds (user and system) of every finished child process and its descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def run_audit(data: Path, out: Path, engine: str, workers: int | None) -> dict[str, Any]:
    command = [
        str(ROOT / ".venv" / "bin" / "posology"),
        "audit",
        str(data / "events.parquet"),
        "--patients",
        str(data / "patients.parquet"),
        "--out",
        str(out),
        "--engine",
        engine,
    ]
    if workers:
        command += ["--workers", str(workers)]
    load_before = _load()
    cpu_before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - start
    _, err = process.communicate()
    cpu = _children_cpu() - cpu_before
    if process.returncode not in (0, 1):
        raise SystemExit(f"{engine} audit failed ({process.returncode}): {err.decode()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    events = summary["events_judged"]
    return {
        "events": events,
        "findings": summary["findings"],
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(peak / 2**20),
        "load_average_before": load_before,
        "load_average_after": _load(),
    }


def _same_findings(one: Path, other: Path) -> bool:
    """Both runs wrote the same findings file contents (rows in the same order)."""
    import pyarrow.parquet as pq

    return bool(
        pq.read_table(one / "findings.parquet").equals(pq.read_table(other / "findings.parquet"))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--no-spark", action="store_true", help="DuckDB only")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--data", type=Path, help="reuse (or keep) the dataset in this folder")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from posology.audit.synthetic import write_dataset

    tmp = Path(tempfile.mkdtemp(prefix="posology-bench-"))
    try:
        data = args.data or tmp / "data"
        result: dict[str, Any] = {"events_requested": args.events, "cores": os.cpu_count()}
        if not (data / "events.parquet").is_file():
            start = time.perf_counter()
            write_dataset(data, args.events, seed=1)
            result["generate_seconds"] = round(time.perf_counter() - start, 1)
        duck = run_audit(data, tmp / "duckdb", "duckdb", args.workers)
        result["duckdb"] = duck
        print(json.dumps({"duckdb": duck}), flush=True)
        if not args.no_spark:
            spark = run_audit(data, tmp / "spark", "spark", args.workers)
            spark["ratio_to_duckdb"] = round(
                spark["events_per_second"] / duck["events_per_second"], 3
            )
            spark["same_findings_as_duckdb"] = _same_findings(tmp / "duckdb", tmp / "spark")
            result["spark"] = spark
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
