"""Server fixtures: a fresh database per test (SQLite file, or PostgreSQL when DATABASE_URL
names one), the app on it, and accounts in two clinics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dbhelp import Accounts, bearer, fresh_engine
from posology.server.app import create_app


@pytest.fixture(autouse=True)
def public_url(monkeypatch: pytest.MonkeyPatch) -> str:
    """The server's configured public URL (CDS tokens' audience), as the test client calls it."""
    monkeypatch.setenv("POSOLOGY_PUBLIC_URL", "https://testserver")
    return "https://testserver"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def accounts(client: TestClient, engine: Engine) -> Accounts:
    return Accounts(
        clinician=bearer(
            engine, "doc@north.example", "North", "prescriber", "correct horse battery"
        ),
        pharmacist=bearer(
            engine, "pharm@north.example", "North", "pharmacist", "pharmacist secret"
        ),
        admin=bearer(engine, "admin@north.example", "North", "admin"),
        other_clinic=bearer(engine, "doc@south.example", "South", "prescriber"),
    )
