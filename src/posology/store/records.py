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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InputError, PosologyError
from ..knowledge.schema import Pack
from ..model.documents import check_born, parse_event, parse_patient, sort_history
from ..model.events import Event
from ..model.finding import Finding
from . import tables as T

ROLES = ("clinician", "pharmacist", "admin")
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
    """422: the event has error or critical findings; a clinician's override reason is needed."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        super().__init__("the event has findings of severity error or critical")
        self.findings = findings


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


def add_user(engine: Engine, email: str, clinic: str, role: str, password: str | None) -> User:
    """Create an account (and its clinic, on first use)."""
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


def _patient_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
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
    engine: Engine, user: User, document: dict[str, Any], label: str
) -> dict[str, Any]:
    user.require("clinician")
    parse_patient(document, "patient")
    stored = plain_json(document)
    with engine.begin() as conn:
        pid = conn.execute(
            insert(T.patients)
            .values(
                clinic_id=user.clinic_id,
                label=label,
                document=stored,
                version=1,
                created_at=now(),
                updated_at=now(),
            )
            .returning(T.patients.c.id)
        ).scalar_one()
        conn.execute(
            insert(T.patient_revisions).values(
                patient_id=pid, version=1, document=stored, user_id=user.id, recorded_at=now()
            )
        )
        _audit(conn, user, "patient.create", "patient", pid, {"label": label})
        return _patient_out(_patient_row(conn, user, pid))


def list_patients(engine: Engine, user: User) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(T.patients)
            .where(T.patients.c.clinic_id == user.clinic_id)
            .order_by(T.patients.c.id)
        ).all()
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
) -> dict[str, Any]:
    user.require("clinician")
    parse_patient(document, "patient")
    stored = plain_json(document)
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id, lock=True)
        version = _bump(conn, row, expected)
        values: dict[str, Any] = {"document": stored}
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


def _event_out(row: Any, superseded: set[int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "seq": row.seq,
        "event": row.document,
        "supersedes": row.supersedes,
        "superseded": row.id in superseded,
        "override_reason": row.override_reason,
        "findings": row.findings,
        "plan_step_id": row.plan_step_id,
        "recorded_at": _aware(row.recorded_at).isoformat(),
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
    with engine.connect() as conn:
        _patient_row(conn, user, patient_id)
        rows = _event_rows(conn, patient_id)
    gone = _superseded(rows)
    return [_event_out(r, gone) for r in rows]


def _history(rows: list[Any]) -> tuple[Event, ...]:
    """The effective history: every event not superseded by a correction, sorted by time."""
    gone = _superseded(rows)
    events = [
        (f"events[{r.seq}]", parse_event(r.document, f"events[{r.seq}]"))
        for r in rows
        if r.id not in gone
    ]
    return sort_history(events)


def case_for(
    engine: Engine, user: User, patient_id: int
) -> tuple[dict[str, Any], tuple[Event, ...]]:
    """The stored patient document and effective history, for a check or a plan."""
    with engine.connect() as conn:
        row = _patient_row(conn, user, patient_id)
        return row.document, _history(_event_rows(conn, patient_id))


def append_event(
    engine: Engine,
    pack: Pack,
    user: User,
    patient_id: int,
    document: dict[str, Any],
    override_reason: str | None,
    supersedes: int | None,
    expected: int | None,
    plan_step_id: int | None = None,
) -> dict[str, Any]:
    """Check an event against the stored history, then append it (or refuse it).

    Serious findings (error, critical) need a clinician's override reason; the reason is stored
    with the event and in the audit trail.
    """
    from ..rules import check
    from ..serialize import event_json, finding_json

    user.require("clinician")
    event = parse_event(document, "event")
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id, lock=True)
        rows = _event_rows(conn, patient_id)
        if supersedes is not None and supersedes not in {r.id for r in rows}:
            raise InputError("supersedes", f"no event {supersedes} in this patient's history")
        kept = [r for r in rows if r.id != supersedes]
        history = _history(kept)
        try:
            sort_history([("event", event), *[(f"events[{i}]", e) for i, e in enumerate(history)]])
        except InputError as exc:
            raise InputError("event", f"{exc.message} (a stored event)") from None
        patient = parse_patient(row.document, "patient")
        check_born(patient, [], event.at, "event.at")
        findings = check(patient, history, event, pack)
        serious = tuple(f for f in findings if f.severity.value in ("error", "critical"))
        if serious and not (override_reason and override_reason.strip()):
            raise NeedsOverride(findings)
        version = _bump(conn, row, expected)
        seq = (
            conn.execute(
                select(func.max(T.events.c.seq)).where(T.events.c.patient_id == patient_id)
            ).scalar()
            or 0
        ) + 1
        stored = event_json(event)
        event_id = conn.execute(
            insert(T.events)
            .values(
                patient_id=patient_id,
                seq=seq,
                at=stored["at"],
                kind=event.kind,
                document=stored,
                supersedes=supersedes,
                override_reason=override_reason if serious else None,
                findings=[finding_json(f) for f in findings],
                plan_step_id=plan_step_id,
                user_id=user.id,
                recorded_at=now(),
            )
            .returning(T.events.c.id)
        ).scalar_one()
        detail: dict[str, Any] = {"seq": seq, "kind": event.kind, "version": version}
        if serious:
            detail["override_reason"] = override_reason
            detail["overridden"] = [f.rule for f in serious]
        if supersedes is not None:
            detail["supersedes"] = supersedes
        _audit(conn, user, "event.append", "patient", patient_id, detail)
        out = _event_out(
            conn.execute(select(T.events).where(T.events.c.id == event_id)).one(), set()
        )
        out["version"] = version
        return out


# -- plans ------------------------------------------------------------------------------------


def save_plan(
    engine: Engine, pack: Pack, user: User, patient_id: int, goal: dict[str, Any], start: str
) -> dict[str, Any]:
    """Make a plan from the stored patient and history, and keep it with its steps."""
    from ..planning import parse_request, plan
    from ..serialize import event_json, plan_json

    user.require("clinician")
    with engine.begin() as conn:
        row = _patient_row(conn, user, patient_id)
        history = [event_json(e) for e in _history(_event_rows(conn, patient_id))]
        request = parse_request(
            {"patient": row.document, "history": history, "goal": goal, "start": start}
        )
        result = plan(request, pack)
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
    user.require("clinician", "admin")
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
