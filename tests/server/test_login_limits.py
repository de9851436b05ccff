"""Logins a hospital can expose: guessing is locked out, failures are audited, an unknown
e-mail costs as much as a wrong password, and odd input is refused, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dbhelp import Accounts
from posology.services import accounts

RIGHT = "correct horse battery"  # the clinician's password in the server fixtures


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/v1/login", json={"email": email, "password": password})


def test_five_wrong_passwords_lock_the_account_and_not_the_others(
    client: TestClient, accounts: Accounts
) -> None:
    for _ in range(accounts_module().ACCOUNT_FAILURES):
        assert _login(client, "doc@north.example", "guess guess guess").status_code == 401
    locked = _login(client, "doc@north.example", RIGHT)
    assert locked.status_code == 429 and locked.json()["error"]["field"] == "email"
    assert int(locked.headers["retry-after"]) > 60
    assert _login(client, "pharm@north.example", "pharmacist secret").status_code == 200


def test_a_right_password_resets_the_count(client: TestClient, accounts: Accounts) -> None:
    for _ in range(accounts_module().ACCOUNT_FAILURES - 1):
        assert _login(client, "doc@north.example", "guess guess guess").status_code == 401
    assert _login(client, "doc@north.example", RIGHT).status_code == 200
    assert _login(client, "doc@north.example", "guess guess guess").status_code == 401
    assert _login(client, "doc@north.example", RIGHT).status_code == 200


def test_failed_logins_are_in_the_audit_trail(
    client: TestClient, accounts: Accounts, engine: Engine
) -> None:
    _login(client, "doc@north.example", "guess guess guess")
    _login(client, "nobody@north.example", "guess guess guess")
    from sqlalchemy import select

    from posology.store import tables as T

    with engine.connect() as conn:
        rows = conn.execute(
            select(T.audit.c.detail).where(T.audit.c.action == "session.login-failed")
        ).all()
    emails = sorted(r[0]["email"] for r in rows)
    assert emails == ["doc@north.example", "nobody@north.example"]


def test_an_unknown_email_is_checked_against_a_password_hash_too(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    real = accounts_module()._password_matches

    def counting(hashed: str | None, password: str) -> bool:
        seen.append(hashed)
        return real(hashed, password)

    monkeypatch.setattr(accounts_module(), "_password_matches", counting)
    unknown = _login(client, "nobody@north.example", "guess guess guess")
    wrong = _login(client, "doc@north.example", "guess guess guess")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert len(seen) == 2 and seen[0] is None and seen[1] is not None


@pytest.mark.parametrize("email", ["doc\u0001@north.example", "a" * 400 + "@x", "  "])
def test_an_email_that_cannot_be_an_account_is_refused_naming_the_field(
    client: TestClient, accounts: Accounts, email: str
) -> None:
    answer = _login(client, email, "guess guess guess")
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "email"


def accounts_module() -> Any:
    return accounts


def test_a_nul_in_the_login_body_is_refused_before_any_database_sees_it(
    client: TestClient, accounts: Accounts
) -> None:
    answer = client.post(
        "/api/v1/login",
        content=b'{"email": "doc\\u0000@north.example", "password": "guess guess guess"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and "NUL" in answer.json()["error"]["message"]


def test_logins_waiting_for_a_password_check_hold_no_worker_thread(
    engine: Engine, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each login held one of the server's worker threads while it queued for one of the two
    password checks, so in a storm of logins the clinicians' requests queued behind them. The
    server's threads are cut to 8 here so that 30 logins are a storm."""
    import asyncio
    import time

    import anyio.to_thread
    import httpx

    from posology.server.app import create_app

    real = accounts_module()._password_matches

    def slow(hashed: str | None, password: str) -> bool:
        time.sleep(0.2)  # a password check that takes its time
        return bool(real(hashed, password))

    monkeypatch.setattr(accounts_module(), "_password_matches", slow)
    app = create_app(engine)
    wrong = {"password": "guess guess guess"}

    async def storm() -> tuple[int, int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 8
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            logins = [
                asyncio.create_task(
                    c.post("/api/v1/login", json={"email": f"x{n}@north.example", **wrong})
                )
                for n in range(30)
            ]
            await asyncio.sleep(0.05)  # the storm is on
            reading = await c.get("/api/v1/patients", headers=accounts.clinician)
            done_by_then = sum(t.done() for t in logins)
            await asyncio.gather(*logins)
            return reading.status_code, done_by_then

    status, done_by_then = asyncio.run(storm())
    assert status == 200
    assert done_by_then < 10  # answered in the storm, not after it


def test_a_guess_at_a_locked_account_is_answered_late_not_at_once(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused guess was answered at once, so a guesser firing again at once took hundreds
    of answers a second of the server's time from the clinicians."""
    import time

    monkeypatch.setattr(accounts_module(), "LOCKED_ANSWER_DELAY", 0.3)
    for _ in range(accounts_module().ACCOUNT_FAILURES):
        _login(client, "doc@north.example", "guess guess guess")
    started = time.monotonic()
    locked = _login(client, "doc@north.example", "guess guess guess")
    assert locked.status_code == 429
    assert time.monotonic() - started >= 0.3
