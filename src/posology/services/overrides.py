"""Overrides of serious findings: the coded reasons, reading an override from a request body,
and checking a co-signer's password (outside any open transaction: hashing takes time and must
not hold the write lock)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from ..errors import InputError
from ..model.text import plain_text
from ..store import tables as T
from . import accounts
from . import history as event_history

MAX_NOTE = 2000
"""Characters of an override's text: a paragraph."""

# Coded reasons for recording an event past an error finding, as CDS Hooks override reasons
# are coded; ``other`` needs free text. Workflow codes, not clinical knowledge: no dose or rule
# depends on them.
REASONS: tuple[tuple[str, str], ...] = (
    ("benefit-outweighs-risk", "The expected benefit outweighs the risk for this patient"),
    ("specialist-advice", "On the advice of a specialist"),
    ("patient-tolerated-before", "The patient tolerated this before"),
    ("data-out-of-date", "The stored data are out of date"),
    ("other", "Other (say why)"),
)
CODES = tuple(code for code, _ in REASONS)
COSIGNER_ROLES = ("prescriber", "pharmacist")


def reasons_json() -> list[dict[str, Any]]:
    return [
        {"code": code, "display": display, "needs_text": code == "other"}
        for code, display in REASONS
    ]


def parse_override(value: Any, legacy_reason: str | None) -> event_history.Override | None:
    """The ``override`` object of a body ({code, text}); the older ``override_reason`` string
    stands for code ``other`` with that text."""
    if value is None:
        if legacy_reason is not None and legacy_reason.strip():
            return event_history.Override("other", legacy_reason.strip())
        return None
    if not isinstance(value, dict) or set(value) - {"code", "text"}:
        raise InputError("override", "must be an object {code, text}")
    code, text = value.get("code"), value.get("text")
    if code not in CODES:
        raise InputError("override.code", f"must be one of {', '.join(CODES)}")
    if text is not None:
        text = plain_text(text, "override.text", MAX_NOTE, multiline=True, allow_blank=True)
    text = text.strip() if isinstance(text, str) and text.strip() else None
    if code == "other" and text is None:
        raise InputError("override.text", "the code other needs a text saying why")
    return event_history.Override(str(code), text)


def verify_cosigner(engine: Engine, user: accounts.User, value: Any) -> accounts.User | None:
    """The co-signing account: a second active prescriber or pharmacist of the same clinic,
    whose password is checked here and never stored."""
    from argon2 import PasswordHasher
    from argon2.exceptions import VerificationError

    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"email", "password"}:
        raise InputError("cosigner", "must be an object {email, password}")
    email, password = value["email"], value["password"]
    if not isinstance(email, str) or not isinstance(password, str):
        raise InputError("cosigner", "email and password must be texts")
    with engine.connect() as conn:
        row = conn.execute(
            select(
                T.users.c.id,
                T.users.c.email,
                T.users.c.clinic_id,
                T.users.c.role,
                T.users.c.password_hash,
            ).where(T.users.c.email == email.strip().lower(), T.users.c.active.is_(True))
        ).first()
    try:
        if row is None or row.password_hash is None or row.clinic_id != user.clinic_id:
            raise VerificationError("no such co-signer")
        PasswordHasher().verify(row.password_hash, password)
    except VerificationError:
        raise InputError("cosigner", "wrong co-signer e-mail address or password") from None
    if row.id == user.id:
        raise InputError("cosigner", "the co-signer must be a second person, not the signer")
    if row.role not in COSIGNER_ROLES:
        raise InputError("cosigner", "the co-signer must be a prescriber or a pharmacist")
    return accounts.User(row.id, row.email, row.clinic_id, user.clinic, row.role)
