"""Page fixtures: the app on a fresh SQLite database, a logged-in clinician; for the browser
tests, a live server (one per module) and headless Chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dbhelp import fresh_engine
from posology.server.app import create_app
from posology.services import accounts
from posology.services import clinic as clinic_settings
from posology.store.db import open_engine, upgrade

PASSWORD = "correct horse battery staple"


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[TestClient]:
    engine = fresh_engine(tmp_path)
    app = create_app(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    with TestClient(app, base_url="https://testserver") as client:
        yield client
    engine.dispose()


def log_in(
    client: TestClient, email: str = "doc@north.example", password: str = PASSWORD, **fields: str
) -> httpx.Response:
    """Posts the login form as a browser does: from the login page, with its hidden token."""
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None, "the login page has no login token"
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": token.group(1), **fields},
        follow_redirects=False,
    )


@pytest.fixture
def logged_in(pages: TestClient) -> TestClient:
    answer = log_in(pages)
    assert answer.status_code == 303
    return pages


CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The live server's database (a SQLite file), for tests that seed it."""
    return f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'posology.db'}"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    url = database_url
    engine = open_engine(url)
    upgrade(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    clinic_settings.set_clinic_contact(engine, "North", "North spasticity clinic, 01234 567890")
    engine.dispose()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "posology.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()
