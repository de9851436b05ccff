"""What a request carries, read strictly: the JSON body (bounded), its fields, If-Match, the
Idempotency-Key, and the small values route bodies share (identity, flags, corrections)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from ..errors import BadJson, BodyTooLarge, BodyTooSlow, InputError, PreconditionRequired
from ..model.documents import load_json
from ..model.text import plain_text
from ..services import accounts
from ..services import history as event_history
from ..services import patients as patient_records

MAX_BODY = 1_000_000
MAX_ID = 2**31 - 1  # record ids are 32-bit integers in every supported database
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
StepPosition = Annotated[int, Path(ge=0, le=MAX_ID)]


def error(status: int, field: str, message: str, **extra: Any) -> JSONResponse:
    """The contract's error answer: ``{"error": {"field", "message"}}``."""
    return JSONResponse(
        {"error": {"field": field, "message": message}, **extra}, status_code=status
    )


def finding_of(f: Any) -> dict[str, Any]:
    from ..serialize import finding_json

    return finding_json(f)


BODY_SECONDS = 30.0
"""A body must arrive within this time: a client that sends a few bytes a minute does not hold
a connection and its memory for ever (408)."""


async def json_body(request: Request) -> Any:
    """The request body as JSON (exact decimals); 400 when it is not JSON, 413 when larger than
    MAX_BODY (refused from its declared length, or as soon as the stream passes it, never read
    whole first), 408 when it does not arrive within BODY_SECONDS."""
    return json_document(await body_bytes(request))


def json_document(raw: bytes) -> Any:
    """A body's bytes as JSON (exact decimals); 400 (``BadJson``) when it is not JSON."""
    try:
        return load_json(raw)
    except InputError as exc:
        raise BadJson(exc.message, exc.field) from None


async def body_bytes(request: Request) -> bytes:
    """The request body's bytes, within MAX_BODY and BODY_SECONDS (see :func:`json_body`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY):
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise BodyTooLarge()
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), BODY_SECONDS)
    except TimeoutError:
        raise BodyTooSlow(f"the body did not arrive within {BODY_SECONDS:.0f} s") from None
    return b"".join(chunks)


def fields_of(document: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    from ..model import fields as F

    return dict(F.json_object(document, "", required, allowed))


def version_of(request: Request) -> int | None:
    """The record version an If-Match names, when the request gives one."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().strip('"').removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > len(str(MAX_ID)):
        raise InputError("If-Match", 'must be the patient\'s version, e.g. If-Match: "3"')
    return int(text)


def required_version(request: Request) -> int:
    """The If-Match of a request that replaces a record: without it, two people editing at
    once would silently overwrite each other (428, the fix in the message)."""
    version = version_of(request)
    if version is None:
        raise PreconditionRequired(
            "If-Match", 'give the version you edited, from the ETag of the GET: If-Match: "3"'
        )
    return version


PATIENT_FIELDS = ("patient", "label", "name", "birth_date", "record_number", "confirm_duplicate")
EVENT_FIELDS = (
    "event",
    "override_reason",
    "override",
    "retyped_dose",
    "cosigner",
    "supersedes",
    "correction",
)
IDENTITY_FIELDS = ("name", "birth_date", "record_number")


def once(
    engine: Engine,
    user: accounts.User,
    request: Request,
    document: Any,
    work: Callable[[], JSONResponse],
) -> JSONResponse:
    """``work()`` under the request's Idempotency-Key, when it has one."""
    from ..services.idempotency import once

    key = request.headers.get("idempotency-key")
    answer = once(engine, user, key, (request.method, request.url.path, document), work)
    if "etag" not in answer.headers and isinstance(answer.body, bytes):
        import json

        version = json.loads(answer.body).get("version") if answer.body[:1] == b"{" else None
        if isinstance(version, int):
            answer.headers["ETag"] = f'"{version}"'
    return answer


MAX_NAME = 200
"""Characters of a name or a label: a full name with titles fits many times over."""
MAX_RECORD_NUMBER = 100
MAX_NOTE = 2000
"""Characters of a free-text reason or note: a paragraph; a longer text is a paste gone wrong."""


def identity_of(fields: dict[str, Any]) -> patient_records.Identity | None:
    """The record's identity from a body: all of name, birth_date, record_number, or none (an
    older client's body, stored as a legacy record)."""
    from datetime import date

    given = [k for k in IDENTITY_FIELDS if fields.get(k) is not None]
    if not given:
        return None
    for key in IDENTITY_FIELDS:
        value = fields.get(key)
        if not isinstance(value, str) or not value.strip():
            raise InputError(key, "missing; a record needs name, birth_date and record_number")
    name = plain_text(fields["name"], "name", MAX_NAME).strip()
    number = plain_text(fields["record_number"], "record_number", MAX_RECORD_NUMBER).strip()
    born = str(fields["birth_date"]).strip()
    try:
        day = date.fromisoformat(born)
    except ValueError:
        raise InputError("birth_date", 'must be an ISO date, e.g. "1980-06-30"') from None
    if len(born) != 10 or day > date.today():
        raise InputError("birth_date", "must be an ISO date (YYYY-MM-DD), not in the future")
    return patient_records.Identity(" ".join(name.split()), born, number)


def flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(field, "must be true or false")
    return value


def correction_of(value: Any) -> event_history.Correction | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"kind", "text"}:
        raise InputError("correction", "must be an object {kind, text}")
    kind, text = value.get("kind"), value.get("text")
    if kind not in event_history.CORRECTION_KINDS:
        raise InputError(
            "correction.kind", f"must be one of {', '.join(event_history.CORRECTION_KINDS)}"
        )
    if not isinstance(text, str) or not text.strip():
        raise InputError(
            "correction.text", f"must say why (a text of at most {MAX_NOTE} characters)"
        )
    return event_history.Correction(
        str(kind), plain_text(text, "correction.text", MAX_NOTE, multiline=True).strip()
    )


def label_of(value: Any) -> str:
    if value is None:
        return "patient"
    if not isinstance(value, str) or not value.strip():
        raise InputError("label", f"must be a short non-empty text (at most {MAX_NAME} characters)")
    return plain_text(value, "label", MAX_NAME).strip()


def text_of(value: Any, field: str) -> str | None:
    """A short text a person typed (a reason, a retyped dose, a start time), or None."""
    if value is None:
        return None
    return plain_text(value, field, MAX_NOTE, multiline=True, allow_blank=True)
