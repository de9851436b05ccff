"""Accounts, API tokens and login sessions: who the caller is and what their role may do.

Tokens and session ids are stored as SHA-256 hashes only; passwords as argon2 hashes.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import (
    Busy,
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from ..frozen import record
from ..store import tables as T
from ..store.db import writing
from ..store.values import aware, now
from .audit_trail import write_audit

ROLES = ("prescriber", "nurse", "pharmacist", "admin")
CLINICAL_ROLES = ("prescriber", "nurse", "pharmacist")


# today's roles of older databases and scripts, mapped onto the clinic's roles (migration 0005)
ROLE_ALIASES = {"clinician": "prescriber"}


SESSION_LIFETIME = timedelta(hours=12)
MAX_TOKEN_DAYS = 3650


@record
class User:
    id: int
    email: str
    clinic_id: int
    clinic: str
    role: str

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"the {self.role} role may not do this (needs {' or '.join(roles)})")

    def require_clinical(self) -> None:
        """Patient records are read by the clinic's clinical roles; an admin runs accounts and
        reads the audit trail, not records (give a second, clinical account where needed)."""
        self.require(*CLINICAL_ROLES)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def canonical_role(role: str) -> str:
    """The clinic role a name stands for (``clinician`` is the old name of ``prescriber``)."""
    return ROLE_ALIASES.get(role, role)


def add_user(
    engine: Engine,
    email: str,
    clinic: str,
    role: str,
    password: str | None,
    create_clinic: bool = True,
) -> User:
    """Create an account. Its clinic must exist unless ``create_clinic`` (a misspelt clinic
    name must not silently make a new, empty clinic)."""
    role = canonical_role(role)
    if role not in ROLES:
        raise InputError("role", f"must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InputError("email", "must be an e-mail address")
    if not clinic.strip():
        raise InputError("clinic", "must be a clinic name")
    hashed = None if password is None else _new_hash(password)
    with writing(engine) as conn:
        clinic_id = conn.execute(select(T.clinics.c.id).where(T.clinics.c.name == clinic)).scalar()
        if clinic_id is None and not create_clinic:
            known = conn.execute(select(T.clinics.c.name).order_by(T.clinics.c.name)).scalars()
            names = ", ".join(known) or "none yet"
            raise NotFound(
                f"no clinic {clinic!r} (clinics: {names}); give --create-clinic to create it"
            )
        if clinic_id is None:
            clinic_id = conn.execute(
                insert(T.clinics).values(name=clinic, created_at=now()).returning(T.clinics.c.id)
            ).scalar_one()
        try:
            user_id = conn.execute(
                insert(T.users)
                .values(
                    email=email,
                    clinic_id=clinic_id,
                    role=role,
                    password_hash=hashed,
                    active=True,
                    created_at=now(),
                )
                .returning(T.users.c.id)
            ).scalar_one()
        except IntegrityError:
            raise Conflict(f"an account for {email} exists already") from None
        user = User(user_id, email, clinic_id, clinic, role)
        write_audit(
            conn,
            None,
            "user.add",
            "user",
            user_id,
            {"email": email, "role": role, "clinic": clinic},
            clinic_id=clinic_id,
        )
    return user


def _user_row(conn: Connection, where: Any) -> User | None:
    row = conn.execute(
        select(T.users.c.id, T.users.c.email, T.users.c.clinic_id, T.clinics.c.name, T.users.c.role)
        .join(T.clinics, T.clinics.c.id == T.users.c.clinic_id)
        .where(where, T.users.c.active.is_(True))
    ).first()
    return User(*row) if row else None


def _new_hash(password: str) -> str:
    if len(password) < 10:
        raise InputError("password", "must be at least 10 characters")
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def create_token(engine: Engine, email: str, days: int | None = None) -> str:
    """A new API token for the account, valid for ``days`` (None: until revoked); only its
    hash is stored."""
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise InputError("days", f"must be a whole number of days from 1 to {MAX_TOKEN_DAYS}")
    token = "pos_" + secrets.token_urlsafe(32)
    expires = now() + timedelta(days=days) if days else None
    with writing(engine) as conn:
        user = _account_for(conn, email)
        token_id = conn.execute(
            insert(T.api_tokens)
            .values(user_id=user.id, token_hash=_hash(token), created_at=now(), expires_at=expires)
            .returning(T.api_tokens.c.id)
        ).scalar_one()
        write_audit(
            conn, None, "token.create", "user", user.id,
            {"token_id": token_id, "email": user.email, "days": days},
            clinic_id=user.clinic_id,
        )  # fmt: skip
    return token


def user_for_token(engine: Engine, token: str) -> User:
    """The active account of a token that is neither revoked nor expired."""
    with engine.connect() as conn:
        row = conn.execute(
            select(T.api_tokens.c.user_id, T.api_tokens.c.expires_at).where(
                T.api_tokens.c.token_hash == _hash(token), T.api_tokens.c.revoked_at.is_(None)
            )
        ).first()
        live = row is not None and (row[1] is None or aware(row[1]) > now())
        user = _user_row(conn, T.users.c.id == row[0]) if row is not None and live else None
    if user is None:
        raise Unauthorized("invalid, expired or revoked token")
    return user


def _end_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(
        update(T.sessions)
        .where(T.sessions.c.user_id == user_id, T.sessions.c.expires_at > now())
        .values(expires_at=now())
    )


def _account_for(conn: Connection, email: str) -> User:
    user = _user_row(conn, T.users.c.email == email.strip().lower())
    if user is None:
        raise NotFound(f"no active account for {email}")
    return user


def set_password(engine: Engine, email: str, password: str) -> None:
    """Set an account's password; its open sessions end (a changed password logs out)."""
    hashed = _new_hash(password)
    with writing(engine) as conn:
        user = _account_for(conn, email)
        conn.execute(update(T.users).where(T.users.c.id == user.id).values(password_hash=hashed))
        _end_sessions(conn, user.id)
        write_audit(
            conn, None, "user.set-password", "user", user.id, {"email": user.email},
            clinic_id=user.clinic_id,
        )  # fmt: skip


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Every account: e-mail, clinic, role, whether it can log in, and whether it is active."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                T.users.c.email,
                T.clinics.c.name,
                T.users.c.role,
                T.users.c.password_hash.is_not(None),
                T.users.c.active,
            )
            .join(T.clinics, T.clinics.c.id == T.users.c.clinic_id)
            .order_by(T.clinics.c.name, T.users.c.email)
        ).all()
    return [
        {"email": e, "clinic": c, "role": r, "password_set": bool(p), "active": bool(a)}
        for e, c, r, p, a in rows
    ]


def disable_user(engine: Engine, email: str) -> None:
    """Disable an account at once: its tokens are revoked and its sessions end, in every
    worker (each request looks its token up)."""
    with writing(engine) as conn:
        user = _account_for(conn, email)
        conn.execute(update(T.users).where(T.users.c.id == user.id).values(active=False))
        conn.execute(
            update(T.api_tokens)
            .where(T.api_tokens.c.user_id == user.id, T.api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        _end_sessions(conn, user.id)
        write_audit(
            conn, None, "user.disable", "user", user.id, {"email": user.email},
            clinic_id=user.clinic_id,
        )  # fmt: skip


def list_tokens(engine: Engine, email: str | None = None) -> list[dict[str, Any]]:
    """API tokens (never the token itself): id, account, created, expires, revoked."""
    query = (
        select(
            T.api_tokens.c.id,
            T.users.c.email,
            T.api_tokens.c.created_at,
            T.api_tokens.c.expires_at,
            T.api_tokens.c.revoked_at,
        )
        .join(T.users, T.users.c.id == T.api_tokens.c.user_id)
        .order_by(T.api_tokens.c.id)
    )
    if email:
        query = query.where(T.users.c.email == email.strip().lower())
    with engine.connect() as conn:
        rows = conn.execute(query).all()

    def when(at: Any) -> str | None:
        return aware(at).isoformat(timespec="minutes") if at else None

    return [
        {"id": i, "email": e, "created": when(c), "expires": when(x), "revoked": when(r)}
        for i, e, c, x, r in rows
    ]


def revoke_token(engine: Engine, token_id: int) -> None:
    """Revoke a token by its id (``posology token list``); it stops working at once."""
    with writing(engine) as conn:
        row = conn.execute(
            select(T.api_tokens.c.user_id, T.api_tokens.c.revoked_at).where(
                T.api_tokens.c.id == token_id
            )
        ).first()
        if row is None:
            raise NotFound(f"no token {token_id}; `posology token list` shows them")
        if row[1] is None:
            conn.execute(
                update(T.api_tokens).where(T.api_tokens.c.id == token_id).values(revoked_at=now())
            )
        write_audit(conn, None, "token.revoke", "user", row[0], {"token_id": token_id})


# Login limits: technical defences, not clinical numbers.
LOGIN_WINDOW = timedelta(minutes=15)
"""Failed logins older than this no longer count."""
ACCOUNT_FAILURES = 5
"""Failed logins in a row for one account (within the window) that lock it for the window."""
ADDRESS_FAILURES = 30
"""Failed logins from one network address (within the window) that lock the address."""
PASSWORD_CHECKS_AT_ONCE = max(1, (os.cpu_count() or 2) // 2)
"""argon2 takes 64 MiB and ~0.1 s of a core per check: at most half the machine's cores check
passwords, so a storm of guesses leaves the other half to the clinicians (more at once would
only queue in memory)."""
PASSWORD_CHECK_WAIT = 5.0
"""Seconds a login waits for a free password check before the answer is 503."""
ATTEMPTS_KEPT = timedelta(days=1)
_CHECKS = threading.BoundedSemaphore(PASSWORD_CHECKS_AT_ONCE)
_DECOY: list[str] = []


def _decoy_hash() -> str:
    """A hash no password matches, checked for unknown e-mails so that they take as long."""
    if not _DECOY:
        from argon2 import PasswordHasher

        _DECOY.append(PasswordHasher().hash(secrets.token_urlsafe(24)))
    return _DECOY[0]


def _password_matches(hashed: str | None, password: str) -> bool:
    """argon2 verification, at most PASSWORD_CHECKS_AT_ONCE at a time, outside any
    transaction (a check holds no database lock)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not _CHECKS.acquire(timeout=PASSWORD_CHECK_WAIT):
        raise Busy("too many logins at this moment; try again in a few seconds")
    try:
        PasswordHasher().verify(hashed or _decoy_hash(), password)
        return hashed is not None
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _CHECKS.release()


def _login_email(email: str) -> str:
    email = email.strip().lower()
    if (
        not email
        or len(email) > 320
        or any(ord(c) < 32 or 0xD800 <= ord(c) < 0xE000 for c in email)
    ):
        raise InputError("email", "must be an e-mail address")
    return email


def _locked_for(conn: Connection, email: str, address: str | None) -> tuple[int, int]:
    """Seconds until this account, and this address, may try again (0: now)."""
    since = now() - LOGIN_WINDOW
    recent = conn.execute(
        select(T.login_attempts.c.at, T.login_attempts.c.ok)
        .where(T.login_attempts.c.email == email, T.login_attempts.c.at > since)
        .order_by(T.login_attempts.c.at.desc())
        .limit(ACCOUNT_FAILURES)
    ).all()
    account = address_wait = 0
    if len(recent) == ACCOUNT_FAILURES and not any(ok for _, ok in recent):
        account = _seconds(aware(recent[-1][0]) + LOGIN_WINDOW - now())
    if address:
        failed = conn.execute(
            select(T.login_attempts.c.at)
            .where(
                T.login_attempts.c.address == address,
                T.login_attempts.c.at > since,
                T.login_attempts.c.ok.is_(False),
            )
            .order_by(T.login_attempts.c.at.desc())
            .limit(ADDRESS_FAILURES)
        ).all()
        if len(failed) == ADDRESS_FAILURES:
            address_wait = _seconds(aware(failed[-1][0]) + LOGIN_WINDOW - now())
    return account, address_wait


def _seconds(wait: timedelta) -> int:
    return max(int(wait.total_seconds()) + 1, 1)


def _attempt(conn: Connection, email: str, address: str | None, ok: bool) -> None:
    conn.execute(insert(T.login_attempts).values(email=email, address=address, at=now(), ok=ok))


def purge_expired(engine: Engine) -> None:
    """Forget sessions that have expired and login attempts older than a day."""
    with writing(engine) as conn:
        conn.execute(delete(T.sessions).where(T.sessions.c.expires_at < now()))
        conn.execute(delete(T.login_attempts).where(T.login_attempts.c.at < now() - ATTEMPTS_KEPT))


@record
class LoginGate:
    """A login let through the limits: the e-mail as stored, the caller's address, and the
    account's id, password hash and clinic (None for an unknown or disabled e-mail)."""

    email: str
    address: str | None
    account: tuple[int, str | None, int] | None


# Locks this process has seen, remembered briefly so that a storm of attempts at a locked
# account or address is refused without a database read each: per database, account or address
# -> (lock ends, forget at), monotonic seconds. The database stays the truth; a lock lifted there
# is honoured here within LOCK_MEMORY seconds.
_SEEN_LOCKS: WeakKeyDictionary[Engine, dict[str, tuple[float, float]]] = WeakKeyDictionary()
LOCK_MEMORY = 5.0
LOCKED_ANSWER_DELAY = 1.0
"""Seconds the server waits before refusing a login at a locked account or address."""


def _remembered_lock(seen: dict[str, tuple[float, float]], keys: tuple[str, ...]) -> int:
    moment = time.monotonic()
    waits = [
        end - moment
        for end, forget in (seen.get(k, (0.0, 0.0)) for k in keys)
        if forget > moment and end > moment
    ]
    return int(max(waits)) + 1 if waits else 0


def login_gate(engine: Engine, email: str, address: str | None = None) -> LoginGate:
    """The first step of a login: refuse a locked account or address (429), look the account
    up. No password is checked and nothing is written."""
    email = _login_email(email)
    address = address[:64] if address else None
    account_key, address_key = f"email:{email}", f"address:{address}"
    seen = _SEEN_LOCKS.setdefault(engine, {})
    wait = _remembered_lock(seen, (account_key, address_key) if address else (account_key,))
    row = None
    if not wait:
        with engine.connect() as conn:
            waits = _locked_for(conn, email, address)
            row = conn.execute(
                select(T.users.c.id, T.users.c.password_hash, T.users.c.clinic_id).where(
                    T.users.c.email == email, T.users.c.active.is_(True)
                )
            ).first()
        moment = time.monotonic()
        if len(seen) > 10_000:
            seen.clear()
        for key, seconds in zip((account_key, address_key), waits, strict=True):
            if seconds:
                seen[key] = (moment + seconds, moment + min(LOCK_MEMORY, seconds))
        wait = max(waits)
    if wait:
        raise TooManyAttempts(
            f"too many failed logins; try again in {wait // 60 + 1} minutes", retry_after=wait
        )
    account = (int(row[0]), row[1], int(row[2])) if row is not None else None
    return LoginGate(email, address, account)


def login_verdict(engine: Engine, gate: LoginGate, matched: bool) -> tuple[User, str, str]:
    """The last step of a login, after the password check: a failure is counted and audited
    (401); a success opens a session and gives its token and CSRF token."""
    row = gate.account
    if row is None or not matched:
        with writing(engine) as conn:
            _attempt(conn, gate.email, gate.address, False)
            write_audit(
                conn,
                None,
                "session.login-failed",
                "user",
                row[0] if row else None,
                {"email": gate.email, "address": gate.address},
                clinic_id=row[2] if row else None,
            )
        raise Unauthorized("wrong e-mail address or password")
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with writing(engine) as conn:
        _attempt(conn, gate.email, gate.address, True)
        user = _user_row(conn, T.users.c.id == row[0])
        if user is None:  # disabled in the moment since the password was checked
            raise Unauthorized("wrong e-mail address or password")
        conn.execute(
            insert(T.sessions).values(
                user_id=user.id,
                session_hash=_hash(session),
                csrf_token=csrf,
                created_at=now(),
                expires_at=now() + SESSION_LIFETIME,
            )
        )
        write_audit(conn, user, "session.login", "user", user.id, {"address": gate.address})
    if secrets.randbelow(50) == 0:
        purge_expired(engine)
    return user, session, csrf


def login(
    engine: Engine, email: str, password: str, address: str | None = None
) -> tuple[User, str, str]:
    """Check a password; a new session token and its CSRF token.

    An unknown e-mail takes as long as a wrong password and gets the same answer. Failed
    logins are audited and counted: ACCOUNT_FAILURES in a row lock the account, and
    ADDRESS_FAILURES lock the address, for LOGIN_WINDOW (429 with Retry-After). The password is
    checked outside any transaction, so a login never holds the database's write lock.
    """
    gate = login_gate(engine, email, address)
    matched = _password_matches(gate.account[1] if gate.account else None, password)
    return login_verdict(engine, gate, matched)


_WAITING: dict[int, Any] = {}  # per event loop: the limiter password checks queue on


async def login_async(
    engine: Engine, email: str, password: str, address: str | None = None
) -> tuple[User, str, str]:
    """:func:`login` for the server's event loop. A login waiting for a free password check
    waits in the event loop, holding no worker thread, so a storm of logins never takes the
    threads the clinicians' requests run in; past PASSWORD_CHECK_WAIT it is 503 (Busy)."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    try:
        gate = await run_in_threadpool(login_gate, engine, email, address)
    except TooManyAttempts:
        # a refused guess is answered late, at no cost (the wait holds no thread): a guesser
        # that fires again at once gets one answer a LOCKED_ANSWER_DELAY, not hundreds a second
        await asyncio.sleep(LOCKED_ANSWER_DELAY)
        raise
    loop = id(asyncio.get_running_loop())
    waiting = _WAITING.get(loop)
    if waiting is None:
        waiting = _WAITING[loop] = asyncio.Semaphore(PASSWORD_CHECKS_AT_ONCE)
    try:
        await asyncio.wait_for(waiting.acquire(), PASSWORD_CHECK_WAIT)
    except TimeoutError:
        raise Busy("too many logins at this moment; try again in a few seconds") from None
    try:
        matched = await run_in_threadpool(
            _password_matches, gate.account[1] if gate.account else None, password
        )
    finally:
        waiting.release()
    return await run_in_threadpool(login_verdict, engine, gate, matched)


def user_for_session(engine: Engine, session: str) -> tuple[User, str]:
    with engine.connect() as conn:
        row = conn.execute(
            select(T.sessions.c.user_id, T.sessions.c.csrf_token, T.sessions.c.expires_at).where(
                T.sessions.c.session_hash == _hash(session)
            )
        ).first()
        user = _user_row(conn, T.users.c.id == row[0]) if row else None
    if row is None or user is None or aware(row[2]) < now():
        raise Unauthorized("the session has expired; log in again")
    return user, row[1]


def logout(engine: Engine, session: str) -> None:
    with writing(engine) as conn:
        conn.execute(
            update(T.sessions)
            .where(T.sessions.c.session_hash == _hash(session))
            .values(expires_at=now())
        )
