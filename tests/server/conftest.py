"""Server fixtures: a fresh database per test (SQLite file, or PostgreSQL when DATABASE_URL
names one), the app on it, and accounts in two clinics."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from posology.api.app import create_app
from posology.store import records
from posology.store.db import open_engine

POSTGRES = (
    os.environ.get("DATABASE_URL", "")
    if os.environ.get("DATABASE_URL", "").startswith("postgresql")
    else ""
)


def fresh_engine(tmp_path: Path) -> Engine:
    if POSTGRES:
        engine = open_engine(POSTGRES)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        return engine
    return open_engine(f"sqlite:///{tmp_path / 'posology.db'}")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(tmp_path)
    yield engine
    engine.dispose()


@dataclass
class Accounts:
    clinician: dict[str, str]
    pharmacist: dict[str, str]
    admin: dict[str, str]
    other_clinic: dict[str, str]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def bearer(
    engine: Engine, email: str, clinic: str, role: str, password: str | None = None
) -> dict[str, str]:
    records.add_user(engine, email, clinic, role, password)
    return {"Authorization": f"Bearer {records.create_token(engine, email)}"}


@pytest.fixture
def accounts(client: TestClient, engine: Engine) -> Accounts:
    return Accounts(
        clinician=bearer(
            engine, "doc@north.example", "North", "clinician", "correct horse battery"
        ),
        pharmacist=bearer(engine, "pharm@north.example", "North", "pharmacist"),
        admin=bearer(engine, "admin@north.example", "North", "admin"),
        other_clinic=bearer(engine, "doc@south.example", "South", "clinician"),
    )
