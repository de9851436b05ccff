"""Patient records: the identity (name, birth date, the clinic's record number, unique per
clinic), the PATIENT document and its versions.

A user only ever sees their own clinic's patients: another clinic's patient is "not found",
exactly like a patient that does not exist. Every write leaves an audit row in the same
transaction.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import (
    Conflict,
    Duplicate,
    InputError,
    NotFound,
)
from ..frozen import record
from ..model.documents import parse_patient
from ..store import tables as T
from ..store.db import writing
from ..store.values import aware, now, plain_json
from .accounts import User
from .audit_trail import write_audit

LARGEST_ID = 2**31 - 1
"""Record ids are 32-bit integers in every supported database: a larger id (from a page's
address) matches no record, and SQLite cannot even take it as a parameter (OverflowError)."""


@record
class Identity:
    """Who the record is about, kept beside the PATIENT document: the clinic finds patients
    by these, the engine never reads them (except the birth date, copied into the document)."""

    name: str
    birth_date: str
    record_number: str


def _patient_document(document: object) -> dict[str, Any]:
    """The PATIENT document of a request as an object, before the record's birth date is
    merged into it (the reader behind it names every other fault)."""
    if not isinstance(document, dict):
        raise InputError(
            "patient",
            "must be a JSON object: the PATIENT document with its fields by name "
            '({"diagnosis": …, "sex": …}), not a list, a text or a number',
        )
    return document


def _with_birth_date(document: object, birth_date: str) -> dict[str, Any]:
    """The document with the record's birth date (an age in years is no longer kept)."""
    out = {k: v for k, v in _patient_document(document).items() if k != "age_years"}
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
        "created_at": aware(row.created_at).isoformat(),
        "updated_at": aware(row.updated_at).isoformat(),
    }


def patient_row(conn: Connection, user: User, patient_id: int, lock: bool = False) -> Any:
    """The patient's row, for a clinical user of its clinic (another clinic's patient is "not
    found", exactly like one that does not exist)."""
    user.require_clinical()
    if not 1 <= patient_id <= LARGEST_ID:  # no record has it (and SQLite takes no id past 64 bits)
        raise NotFound(f"no patient {patient_id}")
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
    with writing(engine) as conn:
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
        write_audit(conn, user, "patient.create", "patient", pid, detail)
        return _patient_out(patient_row(conn, user, pid))


def list_patients(engine: Engine, user: User, q: str | None = None) -> list[dict[str, Any]]:
    """The clinic's patients; with ``q``, those whose name or record number contains it
    (ignoring case) or whose birth date is it."""
    user.require_clinical()
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
        return _patient_out(patient_row(conn, user, patient_id))


def bump_version(conn: Connection, row: Any, expected: int | None) -> int:
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
    with writing(engine) as conn:
        row = patient_row(conn, user, patient_id, lock=True)
        if identity is not None:
            _check_identity(conn, user, identity, confirm_duplicate, patient_id)
        elif row.birth_date and "birth_date" not in stored:
            stored = plain_json(_with_birth_date(stored, row.birth_date))
        version = bump_version(conn, row, expected)
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
        write_audit(conn, user, "patient.update", "patient", patient_id, {"version": version})
        return _patient_out(patient_row(conn, user, patient_id))
