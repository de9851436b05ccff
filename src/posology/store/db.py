"""Opening the database: SQLite (the embedded default) or PostgreSQL, by ``DATABASE_URL``.

SQLite runs in WAL mode with ``synchronous=FULL``: every acknowledged commit is on disk before
the answer goes out, so a killed server loses nothing it acknowledged. Schema changes go through
Alembic migrations, applied at start or by ``posology db upgrade``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from ..errors import DatabaseError


def default_url() -> str:
    """A SQLite file in the user's data folder (``$XDG_DATA_HOME/posology``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(base) / "posology"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'posology.db'}"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or default_url()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "FULL") -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by the "begin" hook
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


SQLITE_CONNECTIONS = 40
"""Pooled SQLite connections per process: one per worker thread of the server."""

_WRITE = "posology_write"
_LOCKS: dict[int, threading.Lock] = {}


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite the process's writers queue on a lock of their own first,
    so they take turns at once instead of backing off and sleeping in SQLite's busy handler
    (which made a writer's slowest answers ten times its median under load); other processes
    still meet SQLite's own lock."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    lock = _LOCKS.setdefault(id(engine), threading.Lock())
    with lock, engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


def open_engine(url: str | None = None, durable: bool = True) -> Engine:
    """An engine for ``url`` (default: ``DATABASE_URL``, else the SQLite file).

    ``durable=False`` is for bookkeeping that may lose its last writes in a power cut (SQLite's
    ``synchronous=NORMAL`` in WAL mode still survives a killed process): replay-protection ids.
    """
    url = url or database_url()
    if url.startswith("sqlite"):
        # as many connections as the server has worker threads (40): a request never waits for
        # a connection while another holds one idle, and none is opened and closed per request
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=SQLITE_CONNECTIONS,
            max_overflow=0,
            pool_timeout=10,
        )
        sync = "FULL" if durable else "NORMAL"
        event.listen(engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, rec, sync))
        # SQLite's own transaction handling is bypassed: a write (``writing``) begins with
        # BEGIN IMMEDIATE, taking the write lock before it reads the version it depends on; a
        # read begins deferred and never waits for, or blocks, a writer (WAL).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise DatabaseError(
        f"unsupported DATABASE_URL {url.split(':', 1)[0]!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/NAME"
    )


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
