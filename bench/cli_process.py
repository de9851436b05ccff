"""Time ``posology check`` as a whole process (start-up included): median of N runs.

.venv/bin/python bench/cli_process.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    ROOT / "examples" / "check" / "oral-titration-next-step.json",
    ROOT / "examples" / "check" / "it-maintenance-escalation.json",
]


def main(runs: int = 30) -> None:
    exe = ROOT / ".venv" / "bin" / "posology"
    for example in EXAMPLES:
        for fmt in ("text", "json"):
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(
                    [str(exe), "check", str(example), "--format", fmt],
                    capture_output=True,
                    check=False,
                )
                times.append((time.perf_counter() - start) * 1000)
            print(
                f"{example.name} --format {fmt}: median {statistics.median(times):.1f} ms, "
                f"max {max(times):.1f} ms over {runs} runs"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
