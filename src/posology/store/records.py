"""What the server does with stored records: accounts, patients, history, plans, audit.

Every function takes the engine and the acting user and runs in one transaction. A user only
ever sees their own clinic's patients: another clinic's patient is "not found", exactly like a
patient that does not exist. Every write leaves an audit row in the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InputError, PosologyError
from ..knowledge.schema import Pack
from ..model.documents import check_born, parse_event, parse_patient, sort_history
from ..model.events import Event, ItInfusion
from ..model.finding import Finding
from ..zones import stored_time, wall_clock, wall_time, zone_named
from . import tables as T

AnyEvent = TypeVar("AnyEvent", bound=Event)

ROLES = ("prescriber", "nurse", "pharmacist", "admin")
# today's roles of older databases and scripts, mapped onto the clinic's roles (migration 0005)
ROLE_ALIASES = {"clinician": "prescriber"}
POLICIES = ("co-sign", "single-signer")
SESSION_LIFETIME = timedelta(hours=12)


# -- errors -----------------------------------------------------------------------------------


class NotFound(PosologyError, LookupError):
    """404: no such record in the user's clinic."""


class Conflict(PosologyError):
    """409: the record changed since the version the caller had."""


class Forbidden(PosologyError, PermissionError):
    """403: the user's role may not do this."""


class Unauthorized(PosologyError, PermissionError):
    """401: no valid token or session."""


class NeedsOverride(PosologyError):
    """422: the event has error or critical findings; ``field`` names what is missing (the
    coded override, the retyped dose, the co-signer)."""

    def __init__(
        self,
        findings: tuple[Finding, ...],
        field: str = "override",
        message: str = "the event has findings of severity error or critical",
    ) -> None:
        super().__init__(message)
        self.findings = findings
        self.field = field


class Duplicate(PosologyError):
    """409 naming ``field``: a record number in use, or a likely duplicate to confirm."""

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.field = field
        self.extra = extra


# -- values -----------------------------------------------------------------------------------


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


def now() -> datetime:
    return datetime.now(UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def plain_json(value: Any) -> Any:
    """A parsed document made storable: exact decimals become ints or floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


def _audit(
    conn: Connection,
    user: User | None,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any],
    clinic_id: int | None = None,
) -> None:
    """An audit row; ``user`` is the actor (None for the command line)."""
    conn.execute(
        insert(T.audit).values(
            at=now(),
            user_id=user.id if user else None,
            clinic_id=user.clinic_id if user else clinic_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=plain_json(detail),
        )
    )


# -- accounts ---------------------------------------------------------------------------------


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
        _audit(
            conn,
            None,
            "user.add",
            "user",
            user_id,
            {"email": email, "role": role, "clinic": clinic},
            clinic_id=clinic_id,
        )
    return user


def set_clinic_contact(engine: Engine, clinic: str, contact: str) -> None:
    """How patients reach the clinic (a phone number, a line of text), printed on handouts."""
    contact = contact.strip()
    if not contact or len(contact) > 300:
        raise InputError("contact", "must be a short non-empty text, e.g. a phone number")
    with engine.begin() as conn:
        done = conn.execute(
            update(T.clinics).where(T.clinics.c.name == clinic).values(contact=contact)
        )
        if done.rowcount != 1:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        _audit(conn, None, "clinic.contact", "clinic", None, {"clinic": clinic, "contact": contact})


def set_clinic_policy(engine: Engine, clinic: str, policy: str) -> None:
    """Who signs an override of a critical finding: a second prescriber or pharmacist
    (``co-sign``, the default) or the prescriber alone (``single-signer``); audited."""
    if policy not in POLICIES:
        raise InputError("policy", f"must be one of {', '.join(POLICIES)}")
    with engine.begin() as conn:
        clinic_id = conn.execute(select(T.clinics.c.id).where(T.clinics.c.name == clinic)).scalar()
        if clinic_id is None:
            raise NotFound(f"no clinic {clinic!r}; clinics are created with `posology user add`")
        conn.execute(
            update(T.clinics).where(T.clinics.c.id == clinic_id).values(override_policy=policy)
        )
        _audit(
            conn,
            None,
            "clinic.policy",
            "clinic",
            clinic_id,
            {"clinic": clinic, "override_policy": policy},
            clinic_id=clinic_id,
        )


def clinic_policy(conn: Connection, clinic_id: int) -> str:
    value = conn.execute(
        select(T.clinics.c.override_policy).where(T.clinics.c.id == clinic_id)
    ).scalar()
    return str(value) if value else "co-sign"


def clinic_contact(engine: Engine, user: User) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(T.clinics.c.contact).where(T.clinics.c.id == user.clinic_id)
        ).scalar()
    return str(value) if value else None


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
        _audit(conn, user, "token.create", "user", user.id, {})
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
        _audit(conn, user, "session.login", "user", user.id, {})
    return user, session, csrf


def user_for_session(engine: Engine, session: str) -> tuple[User, str]:
    with engine.connect() as conn:
        row = conn.execute(
            select(T.sessions.c.user_id, T.sessions.c.csrf_token, T.sessions.c.expires_at).where(
                T.sessions.c.session_hash == _hash(session)
            )
        ).first()
        user = _user_row(conn, T.users.c.id == row[0]) if row else None
    if row is None or user is None or _aware(row[2]) < now():
        raise Unauthorized("the session has expired; log in again")
    return user, row[1]


def logout(engine: Engine, session: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(T.sessions)
            .where(T.sessions.c.session_hash == _hash(session))
            .values(expires_at=now())
        )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# -- patients ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the record is about, kept beside the PATIENT document: the clinic finds patients
    by these, the engine never reads them (except the birth date, copied into the document)."""

    name: str
    birth_date: str
    record_number: str


def _with_birth_date(document: dict[str, Any], birth_date: str) -> dict[str, Any]:
    """The document with the record's birth date (an age in years is no longer kept)."""
    out = {k: v for k, v in document.items() if k != "age_years"}
    out["birth_date"] = birth_date
    return out


def _check_identity(
    conn: Connection, user: User, identity: Identity, confirm: bool, patient_id: int | None
) -> None:
    """409 ``record_number`` for a number in use in the clinic; 409 ``name`` for a likely
    duplicate (same name and birth date) unless the caller confirmed it."""
    others = [T.patients.c.clinic_id == user.clinic_id]
    if patient_id is not None:
        others.append(T.patients.c.id != patient_id)
    taken = conn.execute(
        select(T.patients.c.id).where(*others, T.patients.c.record_number == identity.record_number)
    ).first()
    if taken is not None:
        raise Duplicate(
            "record_number",
            f"record number {identity.record_number!r} belongs to another patient of this clinic",
            patient_id=taken[0],
        )
    if confirm:
        return
    twin = conn.execute(
        select(T.patients.c.id, T.patients.c.record_number).where(
            *others,
            func.lower(T.patients.c.name) == identity.name.lower(),
            T.patients.c.birth_date == identity.birth_date,
        )
    ).first()
    if twin is not None:
        raise Duplicate(
            "name",
            f"a patient with this name and birth date exists already (record number "
            f"{twin[1]}); send confirm_duplicate: true if this is a different person",
            patient_id=twin[0],
        )


def _patient_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "name": row.name,
        "birth_date": row.birth_date,
        "record_number": row.record_number,
        "version": row.version,
        "patient": row.document,
        "created_at": _aware(row.created_at).isoformat(),
        "updated_at": _aware(row.updated_at).isoformat(),
    }


def _patient_row(conn: Connection, user: User, patient_id: int, lock: bool = False) -> Any:
    query = select(T.patients).where(
        T.patients.c.id == patient_id, T.patients.c.clinic_id == user.clinic_id
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no patient {patient_id}")
    return row


def create_patient(
    engine: Engine,
    user: User,
    document: dict[str, Any],
    label: str,
    identity: Identity | None = None,
    confirm_duplicate: bool = False,
) -> dict[str, Any]:
    """A new record. Without an identity (older clients) it is a legacy record: named by its
    label, numbered ``legacy-<id>``, as migration 0005 numbers the records it carries over."""
    user.require("prescriber")
    if identity is not None:
        document = _with_birth_date(document, identity.birth_date)
    parse_patient(document, "patient")
    stored = plain_json(document)
    born = identity.birth_date if identity else stored.get("birth_date")
    with engine.begin() as conn:
        if identity is not None:
            _check_identity(conn, user, identity, confirm_duplicate, None)
        try:
            pid = conn.execute(
                insert(T.patients)
                .values(
                    clinic_id=user.clinic_id,
                    label=identity.name if identity and label == "patient" else label,
                    name=identity.name if identity else label,
                    birth_date=born if isinstance(born, str) else None,
                    record_number=identity.record_number
                    if identity
                    else "pending-" + secrets.token_hex(8),
                    document=stored,
                    version=1,
                    created_at=now(),
                    updated_at=now(),
                )
                .returning(T.patients.c.id)
            ).scalar_one()
        except IntegrityError:  # a concurrent request took the number first
            raise Duplicate(
                "record_number", "the record number was taken at the same moment"
            ) from None
        if identity is None:
            conn.execute(
                update(T.patients)
                .where(T.patients.c.id == pid)
                .values(record_number=f"legacy-{pid}")
            )
        conn.execute(
            insert(T.patient_revisions).values(
                patient_id=pid, version=1, document=stored, user_id=user.id, recorded_at=now()
            )
        )
        detail: dict[str, Any] = {"label": label}
        if identity is not None:
            detail.update(name=identity.name, record_number=identity.record_number)
            if confirm_duplicate:
                detail["confirmed_duplicate"] = True
        _audit(conn, user, "patient.create", "patient", pid, detail)
        return _patient_out(_patient_row(conn, user, pid))


def list_patients(engine: Engine, user: User, q: str | None = None) -> list[dict[str, Any]]:
    """The clinic's patients; with ``q``, those whose name or record number contains it
    (ignoring case) or whose birth date is it."""
    where = [T.patients.c.clinic_id == user.clinic_id]
    text = (q or "").strip().lower()
    if text:
        where.append(
            or_(
                func.lower(T.patients.c.name).contains(text, autoescape=True),
                func.lower(T.patients.c.record_number).contains(text, autoescape=True),
                T.patients.c.birth_date == text,
            )
        )
    with engine.connect() as conn:
        rows = conn.execute(select(T.patients).where(*where).order_by(T.patients.c.id)).all()
    return [_patient_out(r) for r in rows]


def get_patient(engine: Engine, user: User, patient_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return _patient_out(_patient_row(conn, user, patient_id))


def _bump(conn: Connection, row: Any, expected: int | None) -> int:
    """Compare-and-swap the patient's version: 409 when it moved since ``expected``."""
    if expected is not None and expected != row.version:
        raise Conflict(f"the patient is at version {row.version}, not {expected}; reload and retry")
    done = conn.execute(
        update(T.patients)
        .where(T.patients.c.id == row.id, T.patients.c.version == row.version)
        .values(version=row.version + 1, updated_at=now())
    )
    if done.rowcount != 1:
        raise Conflict("the patient changed at the same moment; reload and retry")
    return int(row.version) + 1


def update_patient(
    engine: Engine,
    user: User,
    patient_id: int,
    document: dict[str, Any],
    label: str | None,
    expected: int | None,
    identity: Identity | None = None,
    confirm_duplicate: bool = False,
) -> dict[str, Any]:
    user.require("prescriber")
    if identity is not None:
        document = _with_birth_date(document, identity.birth_date)
    parse_patient(document, "patient")
    stored = plain_json(document)
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id, lock=True)
        if identity is not None:
            _check_identity(conn, user, identity, confirm_duplicate, patient_id)
        elif row.birth_date and "birth_date" not in stored:
            stored = plain_json(_with_birth_date(stored, row.birth_date))
        version = _bump(conn, row, expected)
        values: dict[str, Any] = {"document": stored}
        if identity is not None:
            values.update(
                name=identity.name,
                birth_date=identity.birth_date,
                record_number=identity.record_number,
            )
        elif isinstance(stored.get("birth_date"), str):
            values["birth_date"] = stored["birth_date"]
        if label is not None:
            values["label"] = label
        conn.execute(update(T.patients).where(T.patients.c.id == patient_id).values(**values))
        conn.execute(
            insert(T.patient_revisions).values(
                patient_id=patient_id,
                version=version,
                document=stored,
                user_id=user.id,
                recorded_at=now(),
            )
        )
        _audit(conn, user, "patient.update", "patient", patient_id, {"version": version})
        return _patient_out(_patient_row(conn, user, patient_id))


# -- history ----------------------------------------------------------------------------------

VOID = "entered-in-error"  # the kind of a marker row: it voids the event it supersedes
CORRECTION_KINDS = ("correction", VOID)
# what a nurse records: administrations, refills, test-dose responses, reviews, implants,
# it-stable, stops, and infusion programming within the current prescription
NURSE_KINDS = (
    "it-test-dose",
    "pump-refill",
    "review",
    "pump-implant",
    "it-stable",
    "it-stop",
    "oral-stop",
    "it-infusion",
)


@dataclass(frozen=True, slots=True)
class Override:
    """Why an event with error or critical findings is recorded anyway: a coded reason and
    free text (the code list is ``services.overrides.REASONS``)."""

    code: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Correction:
    """Why an event supersedes another: a correction (a new version of the entry) or the
    entry was made in error (it leaves the effective history)."""

    kind: str
    text: str


def _emails(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(T.users.c.id, T.users.c.email).where(T.users.c.id.in_(ids))).all()
    return {r[0]: r[1] for r in rows}


def _verifications(conn: Connection, event_ids: list[int]) -> dict[int, Any]:
    if not event_ids:
        return {}
    rows = conn.execute(
        select(T.event_verifications).where(T.event_verifications.c.event_id.in_(event_ids))
    ).all()
    return {r.event_id: r for r in rows}


def _events_out(conn: Connection, rows: list[Any], superseded: set[int]) -> list[dict[str, Any]]:
    """Events as answered: who recorded and co-signed each, its override, its reason."""
    verified = _verifications(conn, [r.id for r in rows if r.override_code])
    names = _emails(
        conn,
        {r.user_id for r in rows}
        | {r.cosigner_id for r in rows if r.cosigner_id}
        | {v.user_id for v in verified.values()},
    )
    return [_event_out(r, superseded, names, verified.get(r.id)) for r in rows]


def _event_out(
    row: Any, superseded: set[int], names: dict[int, str], verification: Any = None
) -> dict[str, Any]:
    override = None
    if row.override_code:
        override = {
            "code": row.override_code,
            "text": row.override_text,
            "signed_by": names.get(row.user_id),
            "cosigned_by": names.get(row.cosigner_id) if row.cosigner_id else None,
            "verified_by": names.get(verification.user_id) if verification else None,
            "verified_at": _aware(verification.at).isoformat() if verification else None,
        }
    reason = None
    if row.supersedes is not None:
        reason = {"kind": row.correction_kind or "correction", "text": row.correction_text}
    return {
        "id": row.id,
        "seq": row.seq,
        "event": None if row.kind == VOID else row.document,
        "kind": row.kind,
        "at": row.at,
        "supersedes": row.supersedes,
        "superseded": row.id in superseded,
        "reason": reason,
        "override_reason": row.override_reason,
        "override": override,
        "cosigned_by": names.get(row.cosigner_id) if row.cosigner_id else None,
        "findings": row.findings,
        "plan_step_id": row.plan_step_id,
        "recorded_at": _aware(row.recorded_at).isoformat(),
        "recorded_by": names.get(row.user_id),
        "user_id": row.user_id,
    }


def _event_rows(conn: Connection, patient_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(T.events).where(T.events.c.patient_id == patient_id).order_by(T.events.c.seq)
        ).all()
    )


def _superseded(rows: list[Any]) -> set[int]:
    return {r.supersedes for r in rows if r.supersedes is not None}


def list_events(engine: Engine, user: User, patient_id: int) -> list[dict[str, Any]]:
    """Every entry of a record, superseded ones and void markers included, in the order the
    events happened (entries of one instant in the order they were recorded)."""
    with engine.connect() as conn:
        _patient_row(conn, user, patient_id)
        zone = clinic_zone_of(conn, user.clinic_id)
        rows = sorted(
            _event_rows(conn, patient_id),
            key=lambda r: (stored_time(datetime.fromisoformat(r.at), zone), r.seq),
        )
        return _events_out(conn, rows, _superseded(rows))


def clinic_zone_of(conn: Connection, clinic_id: int) -> tzinfo:
    """The clinic's time zone; UTC until one is set."""
    name = conn.execute(select(T.clinics.c.time_zone).where(T.clinics.c.id == clinic_id)).scalar()
    return zone_named(str(name)) if name else UTC


def _history(rows: list[Any], zone: tzinfo) -> tuple[Event, ...]:
    """The effective history: every event not superseded by a correction or voided as entered
    in error (the void markers themselves are no events), sorted by time. Entries stored
    without an offset (by earlier releases) are the clinic's wall clock: they are read as
    instants in ``zone``, so old and new entries of one record can be compared."""
    gone = _superseded(rows)
    events = [
        (f"events[{r.seq}]", _instant(parse_event(r.document, f"events[{r.seq}]"), zone))
        for r in rows
        if r.id not in gone and r.kind != VOID
    ]
    return sort_history(events)


def _instant(event: Event, zone: tzinfo) -> Event:
    return event if event.at.tzinfo else replace(event, at=stored_time(event.at, zone))


def case_for(
    engine: Engine, user: User, patient_id: int
) -> tuple[dict[str, Any], tuple[Event, ...]]:
    """The stored patient document and effective history (instants with offsets), for a
    check or a plan."""
    with engine.connect() as conn:
        row = _patient_row(conn, user, patient_id)
        zone = clinic_zone_of(conn, user.clinic_id)
        return row.document, _history(_event_rows(conn, patient_id), zone)


def _wall(start: Any, zone: tzinfo) -> Any:
    """A plan's start on the clinic's wall clock (a start given with an offset is converted)."""
    try:
        at = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        return start  # the request reader names the field
    return wall_clock(at, zone).isoformat() if at is not None and at.tzinfo else start


def typed_event(engine: Engine, user: User, event: AnyEvent, field: str) -> AnyEvent:
    """A proposal as staff typed it, as an instant: a time without an offset is the clinic's
    wall clock (the skipped and repeated hours of a clock change are refused with the fix)."""
    if event.at.tzinfo is not None:
        return event
    with engine.connect() as conn:
        zone = clinic_zone_of(conn, user.clinic_id)
    return replace(event, at=wall_time(event.at, zone, field))


def _doses(event: Event) -> list[Any]:
    """The amounts an event is written with (what a retyped dose is compared with)."""
    return [
        getattr(event, name)
        for name in ("dose", "daily_dose", "concentration", "volume")
        if getattr(event, name, None) is not None
    ] + list(getattr(event, "doses", ()))


def _retyped_matches(event: Event, retyped: str | None) -> bool:
    from ..units import parse_quantity

    if not retyped:
        return False
    try:
        typed = parse_quantity(retyped, field="retyped_dose")
    except InputError:
        return False
    return any(typed.dim == d.dim and typed == d for d in _doses(event))


def _nurse_may(event: Event, history: tuple[Event, ...], supersedes: Any) -> None:
    """A nurse records administrations and programming within the prescription: 403 naming
    the prescriber role for anything else."""
    if event.kind not in NURSE_KINDS:
        raise Forbidden(f"the nurse role may not record {event.kind} (needs prescriber)")
    if event.kind == "it-test-dose" and (supersedes is None or supersedes.kind != "it-test-dose"):
        raise Forbidden(
            "the nurse role records test-dose responses, not new test doses (needs prescriber)"
        )
    if isinstance(event, ItInfusion):
        current = [e for e in history if isinstance(e, ItInfusion) and e.at <= event.at]
        if not current or event.daily_dose > current[-1].daily_dose:
            raise Forbidden(
                "the nurse role may programme an infusion only within the current prescription, "
                "not raise its daily dose (needs prescriber)"
            )


def append_event(
    engine: Engine,
    pack: Pack,
    user: User,
    patient_id: int,
    document: dict[str, Any] | None,
    override_reason: str | None,
    supersedes: int | None,
    expected: int | None,
    plan_step_id: int | None = None,
    *,
    override: Override | None = None,
    retyped_dose: str | None = None,
    cosigner: User | None = None,
    correction: Correction | None = None,
) -> dict[str, Any]:
    """Check an event against the stored history, then append it (or refuse it).

    Error findings need a prescriber's coded override; a critical finding also needs the dose
    typed again and, under the clinic's co-sign policy, a second prescriber's or pharmacist's
    co-signature (``cosigner``, whose password the caller verified before this transaction).
    ``correction`` of kind entered-in-error stores a void marker instead of an event.
    """
    from ..rules import check
    from ..serialize import event_json, finding_json

    user.require("prescriber", "nurse")
    if override is None and override_reason and override_reason.strip():
        override = Override("other", override_reason.strip())
    if correction is not None and supersedes is None:
        raise InputError("supersedes", "a correction names the event it supersedes")
    void = correction is not None and correction.kind == VOID
    event = None if void else parse_event(document, "event")
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id, lock=True)
        rows = _event_rows(conn, patient_id)
        target = next((r for r in rows if r.id == supersedes), None)
        if supersedes is not None and target is None:
            raise InputError("supersedes", f"no event {supersedes} in this patient's history")
        if target is not None and (target.kind == VOID or target.id in _superseded(rows)):
            raise InputError("supersedes", f"event {supersedes} was superseded already")
        kept = [r for r in rows if r.id != supersedes]
        zone = clinic_zone_of(conn, user.clinic_id)
        history = _history(kept, zone)
        if event is not None:
            event = replace(event, at=wall_time(event.at, zone, "event.at"))
        findings: tuple[Finding, ...] = ()
        serious: tuple[Finding, ...] = ()
        critical = False
        if event is None:
            assert target is not None
            if user.role == "nurse" and target.user_id != user.id:
                raise Forbidden(
                    "the nurse role may mark only its own entries as entered in error "
                    "(needs prescriber)"
                )
        else:
            try:
                sort_history(
                    [("event", event), *[(f"events[{i}]", e) for i, e in enumerate(history)]]
                )
            except InputError as exc:
                raise InputError("event", f"{exc.message} (a stored event)") from None
            patient = parse_patient(row.document, "patient")
            check_born(patient, [], event.at, "event.at")
            if user.role == "nurse":
                _nurse_may(event, history, target)
            findings = check(patient, history, event, pack)
            serious = tuple(f for f in findings if f.severity.value in ("error", "critical"))
            critical = any(f.severity.value == "critical" for f in serious)
        if serious:
            if user.role != "prescriber":
                raise Forbidden("recording past an error finding needs the prescriber role")
            if override is None:
                raise NeedsOverride(
                    findings,
                    "override",
                    "the event has findings of severity error or critical: give an override "
                    "{code, text} with a code from /api/v1/override-reasons to record it anyway "
                    "(prescribers only)",
                )
            assert event is not None
            if critical and not _retyped_matches(event, retyped_dose):
                raise NeedsOverride(
                    findings,
                    "retyped_dose",
                    "a critical finding: type the dose again, exactly as written, in retyped_dose",
                )
            if critical and cosigner is None and clinic_policy(conn, user.clinic_id) == "co-sign":
                raise NeedsOverride(
                    findings,
                    "cosigner",
                    "a critical finding: a second prescriber or pharmacist of the clinic must "
                    "co-sign (cosigner: {email, password})",
                )
        version = _bump(conn, row, expected)
        seq = (
            conn.execute(
                select(func.max(T.events.c.seq)).where(T.events.c.patient_id == patient_id)
            ).scalar()
            or 0
        ) + 1
        if event is None:
            assert target is not None
            stored: dict[str, Any] = {"kind": VOID, "at": target.at}
            kind, at = VOID, target.at
        else:
            stored = event_json(event)
            kind, at = event.kind, stored["at"]
        signed = override if serious else None
        cosigned = cosigner.id if critical and cosigner is not None else None
        event_id = conn.execute(
            insert(T.events)
            .values(
                patient_id=patient_id,
                seq=seq,
                at=at,
                kind=kind,
                document=stored,
                supersedes=supersedes,
                override_reason=(signed.text or signed.code) if signed else None,
                override_code=signed.code if signed else None,
                override_text=signed.text if signed else None,
                cosigner_id=cosigned,
                correction_kind=(correction.kind if correction else "correction")
                if supersedes is not None
                else None,
                correction_text=correction.text if correction else None,
                findings=[finding_json(f) for f in findings],
                plan_step_id=plan_step_id,
                user_id=user.id,
                recorded_at=now(),
            )
            .returning(T.events.c.id)
        ).scalar_one()
        detail: dict[str, Any] = {"seq": seq, "kind": kind, "version": version}
        if signed:
            detail["override_reason"] = signed.text or signed.code
            detail["override"] = {"code": signed.code, "text": signed.text}
            detail["overridden"] = [f.rule for f in serious]
            if cosigner is not None and cosigned:
                detail["cosigned_by"] = cosigner.email
            elif critical:
                detail["single_signer"] = True
        if supersedes is not None:
            detail["supersedes"] = supersedes
            detail["reason"] = {
                "kind": correction.kind if correction else "correction",
                "text": correction.text if correction else None,
            }
        _audit(conn, user, "event.append", "patient", patient_id, detail)
        new_row = conn.execute(select(T.events).where(T.events.c.id == event_id)).one()
        out = _events_out(conn, [new_row], set())[0]
        out["version"] = version
        return out


def verification_queue(engine: Engine, user: User) -> list[dict[str, Any]]:
    """The clinic's overridden events no pharmacist has verified yet, oldest first."""
    user.require("pharmacist")
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.events, T.patients.c.name.label("patient_name"))
            .join(T.patients, T.patients.c.id == T.events.c.patient_id)
            .outerjoin(T.event_verifications, T.event_verifications.c.event_id == T.events.c.id)
            .where(
                T.patients.c.clinic_id == user.clinic_id,
                T.events.c.override_code.is_not(None),
                T.event_verifications.c.id.is_(None),
            )
            .order_by(T.events.c.recorded_at, T.events.c.id)
        ).all()
        out = _events_out(conn, list(rows), set())
    for item, r in zip(out, rows, strict=True):
        item["patient_id"] = r.patient_id
        item["patient_name"] = r.patient_name
    return out


def verify_event(engine: Engine, user: User, event_id: int) -> dict[str, Any]:
    """A pharmacist verifies an overridden event (once); audited."""
    user.require("pharmacist")
    with engine.begin() as conn:
        row = conn.execute(
            select(T.events)
            .join(T.patients, T.patients.c.id == T.events.c.patient_id)
            .where(T.events.c.id == event_id, T.patients.c.clinic_id == user.clinic_id)
        ).first()
        if row is None:
            raise NotFound(f"no event {event_id}")
        if not row.override_code:
            raise InputError("event", f"event {event_id} has no override to verify")
        done = conn.execute(
            select(T.event_verifications.c.id).where(T.event_verifications.c.event_id == event_id)
        ).first()
        if done is not None:
            raise Conflict(f"event {event_id} was verified already")
        conn.execute(
            insert(T.event_verifications).values(event_id=event_id, user_id=user.id, at=now())
        )
        _audit(conn, user, "event.verify", "patient", row.patient_id, {"event_id": event_id})
        return _events_out(conn, [row], set())[0]


# -- plans ------------------------------------------------------------------------------------


def _planned(
    conn: Connection, pack: Pack, user: User, row: Any, goal: Any, start: Any
) -> tuple[Any, Any]:
    """The request and plan for a stored patient.

    Planned on the clinic's wall clock (a dose "at 08:00" stays at 08:00 across a clock
    change), then each step dated as an instant in the clinic's zone, as recorded events are.
    """
    from ..planning import parse_request, plan
    from ..serialize import event_json

    zone = clinic_zone_of(conn, user.clinic_id)
    history = [
        event_json(replace(e, at=wall_clock(e.at, zone)))
        for e in _history(_event_rows(conn, row.id), zone)
    ]
    request = parse_request(
        {"patient": row.document, "history": history, "goal": goal, "start": _wall(start, zone)}
    )
    result = plan(request, pack)
    steps = tuple(replace(s, event=_instant(s.event, zone)) for s in result.steps)
    return request, replace(result, steps=steps)


def plan_preview(
    engine: Engine, pack: Pack, user: User, patient_id: int, goal: Any, start: Any
) -> tuple[Any, Any]:
    """A plan for a stored patient, not kept: the request (on the clinic's wall clock) and
    the plan (dated as instants)."""
    with engine.connect() as conn:
        return _planned(conn, pack, user, _patient_row(conn, user, patient_id), goal, start)


def save_plan(
    engine: Engine, pack: Pack, user: User, patient_id: int, goal: dict[str, Any], start: str
) -> dict[str, Any]:
    """Make a plan from the stored patient and history, and keep it with its steps."""
    from ..serialize import plan_json

    user.require("prescriber")
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id)
        _request, result = _planned(conn, pack, user, row, goal, start)
        answer = plan_json(result)
        if not result.made:
            return {"id": None, "plan": answer}
        plan_id = conn.execute(
            insert(T.plans)
            .values(
                patient_id=patient_id,
                goal=plain_json(goal),
                start=start,
                answer=answer,
                user_id=user.id,
                created_at=now(),
            )
            .returning(T.plans.c.id)
        ).scalar_one()
        for position, step in enumerate(answer["steps"]):
            conn.execute(insert(T.plan_steps).values(plan_id=plan_id, position=position, step=step))
        _audit(conn, user, "plan.save", "patient", patient_id, {"plan_id": plan_id, "goal": goal})
    return get_plan(engine, user, patient_id, plan_id)


def get_plan(engine: Engine, user: User, patient_id: int, plan_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        _patient_row(conn, user, patient_id)
        row = conn.execute(
            select(T.plans).where(T.plans.c.id == plan_id, T.plans.c.patient_id == patient_id)
        ).first()
        if row is None:
            raise NotFound(f"no plan {plan_id} for this patient")
        steps = conn.execute(
            select(T.plan_steps)
            .where(T.plan_steps.c.plan_id == plan_id)
            .order_by(T.plan_steps.c.position)
        ).all()
        confirmed = dict(
            conn.execute(
                select(T.events.c.plan_step_id, T.events.c.id).where(
                    T.events.c.patient_id == patient_id, T.events.c.plan_step_id.is_not(None)
                )
            ).all()
        )
    return {
        "id": row.id,
        "goal": row.goal,
        "start": row.start,
        "created_at": _aware(row.created_at).isoformat(),
        "findings": row.answer["findings"],
        "steps": [
            {
                "position": s.position,
                **s.step,
                "status": "confirmed" if s.id in confirmed else "planned",
                "event_id": confirmed.get(s.id),
            }
            for s in steps
        ],
    }


def list_plans(engine: Engine, user: User, patient_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        _patient_row(conn, user, patient_id)
        ids = (
            conn.execute(
                select(T.plans.c.id)
                .where(T.plans.c.patient_id == patient_id)
                .order_by(T.plans.c.id)
            )
            .scalars()
            .all()
        )
    return [get_plan(engine, user, patient_id, i) for i in ids]


def confirm_step(
    engine: Engine,
    pack: Pack,
    user: User,
    patient_id: int,
    plan_id: int,
    position: int,
    override_reason: str | None,
    expected: int | None,
    *,
    override: Override | None = None,
    retyped_dose: str | None = None,
    cosigner: User | None = None,
) -> dict[str, Any]:
    """Record a planned step as done: its event is checked against the history as it is now."""
    with engine.connect() as conn:
        _patient_row(conn, user, patient_id)
        step = conn.execute(
            select(T.plan_steps)
            .join(T.plans, T.plans.c.id == T.plan_steps.c.plan_id)
            .where(
                T.plans.c.patient_id == patient_id,
                T.plan_steps.c.plan_id == plan_id,
                T.plan_steps.c.position == position,
            )
        ).first()
        if step is None:
            raise NotFound(f"no step {position} in plan {plan_id}")
        done = conn.execute(select(T.events.c.id).where(T.events.c.plan_step_id == step.id)).first()
        if done is not None:
            raise Conflict(f"step {position} was confirmed already (event {done[0]})")
    return append_event(
        engine,
        pack,
        user,
        patient_id,
        step.step["event"],
        override_reason,
        None,
        expected,
        plan_step_id=step.id,
        override=override,
        retyped_dose=retyped_dose,
        cosigner=cosigner,
    )


# -- CDS Hooks feedback -----------------------------------------------------------------------


def remember_jti(engine: Engine, jti: str, expires: float) -> bool:
    """Record a CDS Hooks token id; False when it was seen before (a replay), whichever worker
    saw it. Expired ids are cleared as new ones arrive."""
    when = datetime.fromtimestamp(expires, UTC)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # bookkeeping: no need to wait for the disk
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            conn.execute(insert(T.cds_jti).values(jti=jti[:200], expires_at=when))
    except IntegrityError:
        return False
    if int(expires) % 97 == 0:  # now and then, forget ids whose tokens have expired anyway
        with engine.begin() as conn:
            conn.execute(T.cds_jti.delete().where(T.cds_jti.c.expires_at < now()))
    return True


def record_cds_feedback(
    engine: Engine, service: str, issuer: str, items: list[dict[str, Any]]
) -> int:
    """Store each feedback item once in the audit trail (an item sent again is not stored
    twice); the number of new items."""
    import json

    added = 0
    with engine.begin() as conn:
        stored = {
            json.dumps(d, sort_keys=True)
            for d in conn.execute(
                select(T.audit.c.detail).where(T.audit.c.action == "cds.feedback")
            ).scalars()
        }
        for item in items:
            detail = plain_json({"service": service, "issuer": issuer, **item})
            key = json.dumps(detail, sort_keys=True)
            if key in stored:
                continue
            stored.add(key)
            _audit(conn, None, "cds.feedback", "card", None, detail)
            added += 1
    return added


# -- audit ------------------------------------------------------------------------------------


def audit_rows(engine: Engine, user: User, limit: int = 1000) -> list[dict[str, Any]]:
    user.require("admin", "prescriber")
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.audit, T.users.c.email)
            .outerjoin(T.users, T.users.c.id == T.audit.c.user_id)
            .where(T.audit.c.clinic_id == user.clinic_id)
            .order_by(T.audit.c.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "id": r.id,
            "at": _aware(r.at).isoformat(),
            "user": r.email,
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "detail": r.detail,
        }
        for r in rows
    ]


def audit_csv(engine: Engine, user: User) -> str:
    import json

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "at", "user", "action", "entity", "entity_id", "detail"])
    for r in reversed(audit_rows(engine, user, limit=1_000_000)):
        writer.writerow(
            [
                r["id"],
                r["at"],
                r["user"] or "",
                r["action"],
                r["entity"],
                r["entity_id"] if r["entity_id"] is not None else "",
                json.dumps(r["detail"], ensure_ascii=False, sort_keys=True),
            ]
        )
    return out.getvalue()
