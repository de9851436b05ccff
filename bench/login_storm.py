"""Login storm beside clinicians at work: bad logins must not stall writes (run by hand).

Starts `posology serve` on a fresh SQLite database (or on ``DATABASE_URL``, e.g. a throwaway
PostgreSQL), makes a clinician with a token and one patient per writer, then for ``--seconds``
runs ``--attackers`` threads posting wrong passwords to /api/v1/login as fast as they can
(each for its own account, so the lockout does not simply end the storm, and some for unknown
e-mails) beside ``--writers`` clinicians appending review events to their patient, each waiting
about ``--think`` seconds (0.5 to 1.5 times it, at random, from a random start) between one
answer and the next save (a person reads the answer; 0 makes
the writers a closed loop that measures the database's write throughput instead of a
clinician's wait). Prints the answers by status, the writers' p50/p95 latency and writes per
second, and the server's peak memory (VmHWM, of the server and its workers).

    .venv/bin/python bench/login_storm.py [--seconds 20] [--attackers 30] [--writers 20]
        [--think 1.0] [--workers 1]

Traffic goes only to 127.0.0.1; every loop stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, body: dict[str, object] | None, headers: dict[str, str]) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    """The server's worker processes (with --workers above 1)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--attackers", type=int, default=30)
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder / 'storm.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    cli = [sys.executable, "-m", "posology.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    password = "a long enough password\n"
    subprocess.run(
        [*cli, "user", "add", "doc@storm.example", "--clinic", "Storm", "--create-clinic",
         "--role", "prescriber", "--password-stdin"],
        env=env, input=password, text=True, check=True, capture_output=True,
    )  # fmt: skip
    for n in range(args.attackers):
        subprocess.run(
            [*cli, "user", "add", f"victim{n}@storm.example", "--clinic", "Storm",
             "--role", "nurse", "--password-stdin"],
            env=env, input=password, text=True, check=True, capture_output=True,
        )  # fmt: skip
    token = subprocess.run(
        [*cli, "token", "create", "doc@storm.example"],
        env=env, text=True, check=True, capture_output=True,
    ).stdout.strip()  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--workers", str(args.workers)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while call(base + "/healthz", None, {})[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        patients = []
        for n in range(args.writers):
            status, body = call(
                base + "/api/v1/patients", {"patient": {"age_years": 50, "diagnosis": "stroke"},
                                            "label": f"W{n}"}, auth,
            )  # fmt: skip
            assert status == 201, body
            patients.append(json.loads(body)["id"])
        statuses: collections.Counter[tuple[str, int]] = collections.Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds

        def attacker(n: int) -> None:
            tries = 0
            while time.monotonic() < stop:
                email = f"victim{n}@storm.example" if tries % 3 else f"nobody{n}@storm.example"
                status, _ = call(base + "/api/v1/login", {"email": email, "password": "wrong"}, {})
                tries += 1
                with lock:
                    statuses[("login", status)] += 1

        def writer(n: int) -> None:
            # clinicians do not save in step: each starts at a random moment and thinks a
            # random time around --think (seeded per writer, so runs are comparable)
            pace = random.Random(n)
            time.sleep(pace.uniform(0, args.think))
            minute = 0
            while time.monotonic() < stop:
                minute += 1
                at = f"2026-11-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}"
                started = time.perf_counter()
                status, _ = call(
                    f"{base}/api/v1/patients/{patients[n]}/events",
                    {"event": {"at": at, "kind": "review", "note": "tone"}}, auth,
                )  # fmt: skip
                with lock:
                    statuses[("write", status)] += 1
                    latencies.append(time.perf_counter() - started)
                time.sleep(pace.uniform(0.5, 1.5) * args.think)

        threads = [threading.Thread(target=attacker, args=(n,)) for n in range(args.attackers)]
        threads += [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = peak_rss_mb(server.pid) + sum(peak_rss_mb(c) for c in children(server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    bad = sum(n for (_, status), n in statuses.items() if status >= 500 and status != 503)
    print(f"database: {url.split(':', 1)[0]}; {args.seconds:.0f} s; {args.attackers} attackers, "
          f"{args.writers} writers thinking {args.think:g} s; "
          f"{args.workers} worker(s)")  # fmt: skip
    for (what, status), n in sorted(statuses.items()):
        print(f"  {what:5s} {status}: {n}")
    print(f"  writes: {len(latencies)}, p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, {len(latencies) / args.seconds:.1f} writes/s")  # fmt: skip
    print(f"  answers >= 500 other than 503: {bad}")
    print(f"  server peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
