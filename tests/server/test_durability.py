"""Concurrent writers and a killed server: no lost update, no lost acknowledged write."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from dbhelp import POSTGRES, bearer
from posology.store import tables as T
from posology.store.db import upgrade

PATIENT = {"age_years": 45, "diagnosis": "multiple-sclerosis"}


def test_concurrent_appends_all_land_in_order_or_get_409(
    client: TestClient, engine: Engine
) -> None:
    headers = bearer(engine, "doc@north.example", "North", "clinician")
    pid = client.post("/api/v1/patients", headers=headers, json={"patient": PATIENT}).json()["id"]
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def writer(n: int, with_version: bool) -> None:
        extra = {"If-Match": '"1"'} if with_version else {}
        event = {
            "at": f"2026-12-01T{8 + n // 60:02d}:{n % 60:02d}",
            "kind": "review",
            "note": f"writer {n}",
        }
        answer = client.post(
            f"/api/v1/patients/{pid}/events", headers={**headers, **extra}, json={"event": event}
        )
        with lock:
            results.append((answer.status_code, answer.json()))

    threads = [threading.Thread(target=writer, args=(n, n % 2 == 0)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [c for c, _ in results]
    assert set(codes) <= {201, 409}
    # every writer without a version lands; of those that said "version 1", at most one can
    assert codes.count(201) >= 12 and codes.count(201) <= 13
    stored = client.get(f"/api/v1/patients/{pid}/events", headers=headers).json()
    assert len(stored) == codes.count(201)
    assert sorted(e["seq"] for e in stored) == list(range(1, len(stored) + 1))  # no gap
    assert [e["event"]["at"] for e in stored] == sorted(e["event"]["at"] for e in stored)
    acknowledged = {body["id"] for code, body in results if code == 201}
    assert acknowledged == {e["id"] for e in stored}
    assert client.get(f"/api/v1/patients/{pid}", headers=headers).json()["version"] == 1 + len(
        stored
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server at {url} did not start")


def test_a_server_killed_during_a_burst_loses_no_acknowledged_write(
    tmp_path: Path, engine: Engine
) -> None:
    upgrade(engine)
    url = POSTGRES or str(engine.url)
    env = {**os.environ, "DATABASE_URL": url}
    headers = bearer(engine, "doc@north.example", "North", "clinician")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "posology.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(base + "/healthz")
        request = urllib.request.Request(
            base + "/api/v1/patients",
            method="POST",
            headers={**headers, "Content-Type": "application/json"},
            data=json.dumps({"patient": PATIENT}).encode(),
        )
        pid = json.loads(urllib.request.urlopen(request, timeout=10).read())["id"]
        acknowledged: list[int] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w: int) -> None:
            n = 0
            while not stop.is_set() and n < 400:
                at = datetime(2026, 1, 1) + timedelta(days=30 * w, minutes=n)
                event = {
                    "at": at.isoformat(timespec="minutes"),
                    "kind": "review",
                    "note": f"{w}-{n}",
                }
                body = json.dumps({"event": event}).encode()
                req = urllib.request.Request(
                    f"{base}/api/v1/patients/{pid}/events",
                    method="POST",
                    data=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
                try:
                    answer = json.loads(urllib.request.urlopen(req, timeout=10).read())
                except (urllib.error.URLError, ConnectionError, OSError, json.JSONDecodeError):
                    return
                with lock:
                    acknowledged.append(answer["id"])
                n += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acknowledged) > 10, "the burst did not get going"
    with engine.connect() as conn:
        stored = set(
            conn.execute(select(T.events.c.id).where(T.events.c.patient_id == pid)).scalars()
        )
        count = conn.execute(select(func.count()).select_from(T.events)).scalar()
    assert set(acknowledged) <= stored
    assert count == len(stored)
