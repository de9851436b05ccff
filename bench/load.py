"""Load benchmark: a separate process drives the server on 127.0.0.1.

Starts `posology serve` on a fresh SQLite database, creates an account and a token, then drives
POST /api/v1/check (a 50-event history) and GET /healthz with 50 concurrent keep-alive clients
for a fixed time each, and prints p50/p95/p99 latency and throughput.

    .venv/bin/python bench/load.py [--seconds 15] [--clients 50]

Traffic goes only to 127.0.0.1; every loop is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history import history_case

ROOT = Path(__file__).resolve().parents[1]
POSOLOGY = [str(ROOT / ".venv" / "bin" / "posology")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    env: dict[str, str], workers: int, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`posology serve` on a loopback port (a free one by default), once it answers /healthz."""
    port = port or free_port()
    server = subprocess.Popen(
        [*POSOLOGY, "serve", "--port", str(port), "--workers", str(workers)], env=env
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    return server, port


def request_bytes(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def client(
    port: int, payload: bytes, until: float, latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            statuses.append(await read_response(reader))
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def drive(
    port: int, payload: bytes, clients: int, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    statuses: list[int] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(client(port, payload, until, latencies, statuses) for _ in range(clients))
    )
    return latencies, statuses, time.perf_counter() - start


def report(name: str, latencies: list[float], statuses: list[int], elapsed: float) -> float:
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100)
    rate = len(latencies) / elapsed
    bad = sum(1 for s in statuses if s != 200)
    print(
        f"{name}: {len(latencies)} requests in {elapsed:.1f} s = {rate:.0f}/s; latency p50 "
        f"{q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; "
        f"non-200: {bad}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/load.db"}
    subprocess.run(
        [
            *POSOLOGY,
            "user",
            "add",
            "load@bench.example",
            "--clinic",
            "Bench",
            "--role",
            "pharmacist",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        [*POSOLOGY, "token", "create", "load@bench.example"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    server, port = start_server(env, args.workers)
    try:
        body = json.dumps(history_case(50)).encode()
        check = request_bytes("POST", "/api/v1/check", token, body)
        health = request_bytes("GET", "/healthz", token)
        asyncio.run(drive(port, check, args.clients, 2))  # warm-up
        check_rate = report(
            "POST /api/v1/check (50 events)",
            *asyncio.run(drive(port, check, args.clients, args.seconds)),
        )
        health_rate = report(
            "GET /healthz", *asyncio.run(drive(port, health, args.clients, args.seconds))
        )
        print(f"check throughput / health throughput = {check_rate / health_rate:.2f}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
