"""Accounts, API tokens and login sessions: who the caller is and what their role may do.

Tokens and session ids are stored as SHA-256 hashes only; passwords as argon2 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import (
    Conflict,
    Forbidden,
    InputError,
    NotFound,
    Unauthorized,
)
from ..store import tables as T
from ..store.values import aware, now
from .audit_trail import write_audit

ROLES = ("prescriber", "nurse", "pharmacist", "admin")


# today's roles of older databases and scripts, mapped onto the clinic's roles (migration 0005)
ROLE_ALIASES = {"clinician": "prescriber"}


SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    clinic_id: int
    clinic: str
    role: str

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"the {self.role} role may not do this (needs {' or '.join(roles)})")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def canonical_role(role: str) -> str:
    """The clinic role a name stands for (``clinician`` is the old name of ``prescriber``)."""
    return ROLE_ALIASES.get(role, role)


def add_user(engine: Engine, email: str, clinic: str, role: str, password: str | None) -> User:
    """Create an account (and its clinic, on first use)."""
    role = canonical_role(role)
    if role not in ROLES:
        raise InputError("role", f"must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InputError("email", "must be an e-mail address")
    if not clinic.strip():
        raise InputError("clinic", "must be a clinic name")
    hashed = None
    if password is not None:
        if len(password) < 10:
            raise InputError("password", "must be at least 10 characters")
        from argon2 import PasswordHasher

        hashed = PasswordHasher().hash(password)
    with engine.begin() as conn:
        clinic_id = conn.execute(select(T.clinics.c.id).where(T.clinics.c.name == clinic)).scalar()
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


def create_token(engine: Engine, email: str) -> str:
    """A new API token for the account; only its hash is stored."""
    token = "pos_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user = _user_row(conn, T.users.c.email == email.strip().lower())
        if user is None:
            raise NotFound(f"no active account for {email}")
        conn.execute(
            insert(T.api_tokens).values(user_id=user.id, token_hash=_hash(token), created_at=now())
        )
        write_audit(conn, user, "token.create", "user", user.id, {})
    return token


def user_for_token(engine: Engine, token: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(
            select(T.api_tokens.c.user_id).where(
                T.api_tokens.c.token_hash == _hash(token), T.api_tokens.c.revoked_at.is_(None)
            )
        ).first()
        user = _user_row(conn, T.users.c.id == row[0]) if row else None
    if user is None:
        raise Unauthorized("invalid or revoked token")
    return user


def login(engine: Engine, email: str, password: str) -> tuple[User, str, str]:
    """Check a password; a new session token and its CSRF token."""
    from argon2 import PasswordHasher
    from argon2.exceptions import VerificationError

    with engine.begin() as conn:
        row = conn.execute(
            select(T.users.c.id, T.users.c.password_hash).where(
                T.users.c.email == email.strip().lower(), T.users.c.active.is_(True)
            )
        ).first()
        try:
            if row is None or row[1] is None:
                raise VerificationError("no password")
            PasswordHasher().verify(row[1], password)
        except VerificationError:
            raise Unauthorized("wrong e-mail address or password") from None
        user = _user_row(conn, T.users.c.id == row[0])
        assert user is not None
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        conn.execute(
            insert(T.sessions).values(
                user_id=user.id,
                session_hash=_hash(session),
                csrf_token=csrf,
                created_at=now(),
                expires_at=now() + SESSION_LIFETIME,
            )
        )
        write_audit(conn, user, "session.login", "user", user.id, {})
    return user, session, csrf


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
    with engine.begin() as conn:
        conn.execute(
            update(T.sessions)
            .where(T.sessions.c.session_hash == _hash(session))
            .values(expires_at=now())
        )
