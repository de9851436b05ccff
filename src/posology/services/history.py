"""A patient's history: events appended after a check (overrides coded, critical ones
retyped and co-signed), corrections and entries in error as superseding rows (both kept),
and the pharmacist's verification of overrides. History is append-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import (
    Conflict,
    Forbidden,
    InputError,
    NeedsOverride,
    NotFound,
)
from ..frozen import record, replace
from ..knowledge.schema import Pack
from ..model.documents import check_born, parse_event, parse_patient, sort_history
from ..model.events import Event, ItInfusion
from ..model.finding import Finding
from ..store import tables as T
from ..store.db import writing
from ..store.values import aware, now
from ..zones import stored_time, wall_time
from .accounts import User
from .audit_trail import write_audit
from .clinic import clinic_policy, clinic_zone_of, pack_for_medicine
from .patients import bump_version, patient_row

AnyEvent = TypeVar("AnyEvent", bound=Event)


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


@record
class Override:
    """Why an event with error or critical findings is recorded anyway: a coded reason and
    free text (the code list is ``services.overrides.REASONS``)."""

    code: str
    text: str | None


@record
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
            "verified_at": aware(verification.at).isoformat() if verification else None,
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
        "recorded_at": aware(row.recorded_at).isoformat(),
        "recorded_by": names.get(row.user_id),
        "user_id": row.user_id,
    }


def event_rows(conn: Connection, patient_id: int) -> list[Any]:
    """Every stored row of a record, documents included (for listing and export)."""
    return list(
        conn.execute(
            select(T.events).where(T.events.c.patient_id == patient_id).order_by(T.events.c.seq)
        ).all()
    )


_HEAD_COLUMNS = tuple(c for c in T.events.c if c.name not in ("document", "findings"))


def event_heads(conn: Connection, patient_id: int) -> list[Any]:
    """Every stored row of a record without its document and findings: what a check needs to
    know which events count (superseded, voided), with the events themselves from
    :func:`stored_history`'s cache."""
    return list(
        conn.execute(
            select(*_HEAD_COLUMNS)
            .where(T.events.c.patient_id == patient_id)
            .order_by(T.events.c.seq)
        ).all()
    )


# Stored events, read once per process. A row is never changed once written (history is
# append-only: a correction is a new row), so an event read is valid as long as the row exists;
# the key holds the time the row was recorded beside its id, so a database recreated with the
# same ids (a restore, a test) cannot be served another database's event.
_STORED: dict[tuple[int, datetime, str], Event] = {}
_STORED_SIZE = 20_000
_DOCUMENTS_PER_QUERY = 500


_stored_key: Callable[[Any], tuple[int, datetime, str]] = itemgetter(
    *(_HEAD_COLUMNS.index(T.events.c[name]) for name in ("id", "recorded_at", "kind"))
)  # by position: looking a Row's fields up by name costs more, thousands of times a write


def stored_history(conn: Connection, heads: list[Any], zone: tzinfo) -> tuple[Event, ...]:
    """The effective history of ``heads`` (see :func:`effective_history`), reading from the
    database only the documents of events this process has not read before: a write to a long
    record decodes one event, not the whole record again."""
    gone = superseded_ids(heads)
    live = [(h, _stored_key(h)) for h in heads if h.id not in gone and h.kind != VOID]
    cached = _STORED.get
    missing = [key[0] for _, key in live if cached(key) is None]
    documents: dict[int, Any] = {}
    for start in range(0, len(missing), _DOCUMENTS_PER_QUERY):
        chunk = missing[start : start + _DOCUMENTS_PER_QUERY]
        documents.update(
            (int(i), d)
            for i, d in conn.execute(
                select(T.events.c.id, T.events.c.document).where(T.events.c.id.in_(chunk))
            ).all()
        )
    if len(_STORED) + len(documents) > _STORED_SIZE:
        _STORED.clear()
    events = []
    for head, key in live:
        event = cached(key)
        if event is None:
            event = parse_event(documents[key[0]], f"events[{head.seq}]")
            _STORED[key] = event
        events.append((f"events[{head.seq}]", as_instant(event, zone)))
    return sort_history(events)


def superseded_ids(rows: list[Any]) -> set[int]:
    return {r.supersedes for r in rows if r.supersedes is not None}


def list_events(engine: Engine, user: User, patient_id: int) -> list[dict[str, Any]]:
    """Every entry of a record, superseded ones and void markers included, in the order the
    events happened (entries of one instant in the order they were recorded)."""
    with engine.connect() as conn:
        patient_row(conn, user, patient_id)
        zone = clinic_zone_of(conn, user.clinic_id)
        rows = sorted(
            event_rows(conn, patient_id),
            key=lambda r: (stored_time(datetime.fromisoformat(r.at), zone), r.seq),
        )
        return _events_out(conn, rows, superseded_ids(rows))


def effective_history(rows: list[Any], zone: tzinfo) -> tuple[Event, ...]:
    """The effective history: every event not superseded by a correction or voided as entered
    in error (the void markers themselves are no events), sorted by time. Entries stored
    without an offset (by earlier releases) are the clinic's wall clock: they are read as
    instants in ``zone``, so old and new entries of one record can be compared."""
    gone = superseded_ids(rows)
    events = [
        (f"events[{r.seq}]", as_instant(parse_event(r.document, f"events[{r.seq}]"), zone))
        for r in rows
        if r.id not in gone and r.kind != VOID
    ]
    return sort_history(events)


def as_instant(event: Event, zone: tzinfo) -> Event:
    return event if event.at.tzinfo else replace(event, at=stored_time(event.at, zone))


def case_for(
    engine: Engine, user: User, patient_id: int
) -> tuple[dict[str, Any], tuple[Event, ...]]:
    """The stored patient document and effective history (instants with offsets), for a
    check or a plan."""
    with engine.connect() as conn:
        row = patient_row(conn, user, patient_id)
        zone = clinic_zone_of(conn, user.clinic_id)
        return row.document, stored_history(conn, event_heads(conn, patient_id), zone)


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
    with writing(engine) as conn:
        row = patient_row(conn, user, patient_id, lock=True)
        if plan_step_id is not None:  # checked under the patient's lock: a step is done once
            done = conn.execute(
                select(T.events.c.id).where(T.events.c.plan_step_id == plan_step_id)
            ).first()
            if done is not None:
                raise Conflict(f"this plan step was confirmed already (event {done[0]})")
        rows = event_heads(conn, patient_id)
        target = next((r for r in rows if r.id == supersedes), None)
        if supersedes is not None and target is None:
            raise InputError("supersedes", f"no event {supersedes} in this patient's history")
        if target is not None and (target.kind == VOID or target.id in superseded_ids(rows)):
            raise InputError("supersedes", f"event {supersedes} was superseded already")
        kept = [r for r in rows if r.id != supersedes]
        zone = clinic_zone_of(conn, user.clinic_id)
        history = stored_history(conn, kept, zone)
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
            findings = check(patient, history, event, pack_for_medicine(pack, event.medicine))
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
        version = bump_version(conn, row, expected)
        seq = max((int(r.seq) for r in rows), default=0) + 1  # rows: read under the lock
        if event is None:
            assert target is not None
            stored: dict[str, Any] = {"kind": VOID, "at": target.at}
            kind, at = VOID, target.at
        else:
            stored = event_json(event)
            kind, at = event.kind, stored["at"]
        signed = override if serious else None
        cosigned = cosigner.id if critical and cosigner is not None else None
        try:
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
        except IntegrityError:  # the database's own guard: a step done, an entry superseded
            raise Conflict(
                "this entry was recorded at the same moment by another request; reload the history"
            ) from None
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
        write_audit(conn, user, "event.append", "patient", patient_id, detail)
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
    with writing(engine) as conn:
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
        write_audit(conn, user, "event.verify", "patient", row.patient_id, {"event_id": event_id})
        return _events_out(conn, [row], set())[0]
