"""Time ``posology check`` as a whole process against a bare start of the same interpreter.

.venv/bin/python bench/cli_process.py [ROUNDS]

Start-up is what a user of the command line waits for, and a machine's speed and load change
from minute to minute, so the figure that means something is the ratio to a bare start of the
same interpreter (``python -c pass``) measured in the same run. Each round runs every arm once,
in an order that rotates from round to round, so that a burst of load falls on all of them alike:

- ``bare``: ``python -c pass``;
- ``check``: ``posology check EXAMPLE`` with the validated-pack cache (warmed before timing);
- ``check, cache off``: the same with ``POSOLOGY_PACK_CACHE=off``, which parses the pack's YAML
  and verifies its quotes on every run (the cost the cache removes).

The cache lives in a temporary ``XDG_CACHE_HOME`` so that the run touches nothing of the user's.
Byte code is written to a temporary ``PYTHONPYCACHEPREFIX`` (and ``PYTHONDONTWRITEBYTECODE`` is
dropped): an installed package has its byte code compiled at install, and without it every run
would time the compiler on every module rather than the start-up a user meets.
The load average is printed before and after: other work on the machine inflates every arm, and
a high load makes the wall-clock ratio less trustworthy; the CPU time each process used (user and
system, from the children's resource usage) is printed beside it, as it moves less with load.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    ROOT / "examples" / "check" / "oral-titration-next-step.json",
    ROOT / "examples" / "check" / "it-maintenance-escalation.json",
]


def _command_line() -> list[str]:
    """``posology`` run by this very interpreter (the console script if installed, else -m)."""
    script = Path(sys.executable).parent / "posology"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "posology.cli"]


def _time_ms(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return elapsed, cpu


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(rounds: int = 20) -> None:
    posology = _command_line()
    with tempfile.TemporaryDirectory() as cache_home, tempfile.TemporaryDirectory() as pyc:
        env = {**os.environ, "XDG_CACHE_HOME": cache_home, "PYTHONPYCACHEPREFIX": pyc}
        env.pop("POSOLOGY_PACK_CACHE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env_off = {**env, "POSOLOGY_PACK_CACHE": "off"}
        arms: list[tuple[str, list[str] | None, dict[str, str]]] = [
            ("bare python -c pass", [sys.executable, "-c", "pass"], env),
            ("posology check", None, env),
            ("posology check, cache off", None, env_off),
        ]
        wall: dict[str, list[float]] = {name: [] for name, _, _ in arms}
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in arms}
        print(f"before: {_load()}")
        for example in EXAMPLES:  # warm byte code, page cache and pack cache, untimed
            for _name, argv, arm_env in arms:
                _time_ms(argv or [*posology, "check", str(example)], arm_env)
        for i in range(rounds):
            example = str(EXAMPLES[i % len(EXAMPLES)])
            shift = i % len(arms)
            for name, argv, arm_env in arms[shift:] + arms[:shift]:
                elapsed, used = _time_ms(argv or [*posology, "check", example], arm_env)
                wall[name].append(elapsed)
                cpu[name].append(used)
        print(f"after:  {_load()}")
    bare_wall = statistics.median(wall[arms[0][0]])
    bare_cpu = statistics.median(cpu[arms[0][0]])
    print(f"{rounds} interleaved rounds, medians (wall clock; CPU time user + system):")
    for name, _, _ in arms:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"  {name:<26} wall {w:6.1f} ms (min {min(wall[name]):6.1f}) {w / bare_wall:5.2f}x"
            f"   cpu {c:6.1f} ms {c / bare_cpu:5.2f}x"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
