"""Page fixtures: the app on a fresh SQLite database, a logged-in clinician; for the browser
tests, a live server (one per module) and headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dbhelp import fresh_engine
from liveserver import chromium, free_port, served
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
    with served(port, {"DATABASE_URL": url}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched
