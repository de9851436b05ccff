"""Database helpers for the server and page tests: a fresh database per test (a SQLite file,
or PostgreSQL when DATABASE_URL names one) and accounts with tokens."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from posology.services import accounts
from posology.store.db import open_engine

_URL = os.environ.get("DATABASE_URL", "")
POSTGRES = _URL if _URL.startswith("postgresql") else ""


def fresh_engine(tmp_path: Path) -> Engine:
    if POSTGRES:
        engine = open_engine(POSTGRES)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        return engine
    return open_engine(f"sqlite:///{tmp_path / 'posology.db'}")


@dataclass
class Accounts:
    clinician: dict[str, str]
    pharmacist: dict[str, str]
    admin: dict[str, str]
    other_clinic: dict[str, str]


def bearer(
    engine: Engine, email: str, clinic: str, role: str, password: str | None = None
) -> dict[str, str]:
    """An account and the Authorization header of a new token for it."""
    accounts.add_user(engine, email, clinic, role, password)
    return {"Authorization": f"Bearer {accounts.create_token(engine, email)}"}
