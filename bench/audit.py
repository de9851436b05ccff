"""Benchmark ``posology audit`` end to end on a synthetic dataset: events per second and peak
memory (every process of the run, workers included), DuckDB and optionally Spark local.

.venv/bin/python bench/audit.py [--events 2000000] [--spark] [--workers N]

The dataset (Parquet, about 50 events a patient) is written first and not timed. Figures are
printed as one JSON object; the issue's goal is at least 100,000 events/s and at most 2 GiB
with DuckDB on a 2-core machine for 2 M events.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def run_audit(data: Path, out: Path, engine: str, workers: int | None) -> dict[str, float]:
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
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - start
    _, err = process.communicate()
    if process.returncode not in (0, 1):
        raise SystemExit(f"{engine} audit failed ({process.returncode}): {err.decode()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    events = summary["events_judged"]
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "peak_rss_mib": round(peak / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from posology.audit.synthetic import write_dataset

    with tempfile.TemporaryDirectory(prefix="posology-bench-") as tmp:
        data = Path(tmp) / "data"
        start = time.perf_counter()
        write_dataset(data, args.events, seed=1)
        result: dict[str, object] = {
            "events_requested": args.events,
            "cores": os.cpu_count(),
            "generate_seconds": round(time.perf_counter() - start, 1),
        }
        duck = run_audit(data, Path(tmp) / "duckdb", "duckdb", args.workers)
        result["duckdb"] = duck
        if args.spark:
            spark = run_audit(data, Path(tmp) / "spark", "spark", args.workers)
            spark["ratio_to_duckdb"] = round(
                spark["events_per_second"] / duck["events_per_second"], 3
            )
            result["spark"] = spark
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
