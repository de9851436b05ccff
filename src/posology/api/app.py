"""The Posology server: the contract's HTTP API over the same core as the command line.

Bodies are read by the same strict document readers as ``posology check`` and ``posology plan``,
so an input error names the same field with the same fix: 400 for a body that is not JSON, 422
for a document that is not usable, never 500. Every call but ``/healthz`` needs a bearer token
(or a login session with its CSRF token for unsafe methods).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ..errors import InputError, PosologyError, UnknownRuleError
from ..knowledge import Pack, load_pack
from ..model.documents import load_json
from ..services.idempotency import KeyReused
from ..store import records as R
from .schemas import COMPONENTS, answers, body, many, once_body, ref

MAX_BODY = 1_000_000
MAX_ID = 2**31 - 1  # record ids are 32-bit integers in every supported database
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
StepPosition = Annotated[int, Path(ge=0, le=MAX_ID)]
SESSION_COOKIE = "posology_session"
CSRF_HEADER = "x-csrf-token"
TOKEN_CACHE_SECONDS = 10.0


def error(status: int, field: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"field": field, "message": message}, **extra}, status_code=status
    )


class Auth:
    """Who is calling: a bearer token, or a session cookie (with CSRF for unsafe methods).

    Token look-ups are cached for a few seconds: a revoked token stops working within
    ``TOKEN_CACHE_SECONDS``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache: dict[str, tuple[float, R.User]] = {}

    async def __call__(self, request: Request) -> R.User:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            hit = self.cache.get(token)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            user = R.user_for_token(self.engine, token)
            if len(self.cache) > 10_000:
                self.cache.clear()
            self.cache[token] = (time.monotonic() + TOKEN_CACHE_SECONDS, user)
            return user
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            user, csrf = R.user_for_session(self.engine, session)
            if (
                request.method not in ("GET", "HEAD", "OPTIONS")
                and request.headers.get(CSRF_HEADER) != csrf
            ):
                raise R.Forbidden("missing or wrong CSRF token (send the X-CSRF-Token header)")
            return user
        raise R.Unauthorized("authentication needed: send Authorization: Bearer TOKEN")


async def json_body(request: Request) -> Any:
    """The request body as JSON (exact decimals); 400 when it is not JSON, 413 when too large."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BodyTooLarge()
    try:
        return load_json(raw)
    except InputError as exc:
        raise BadJson(exc.message, exc.field) from None


class BadJson(PosologyError):
    """A body that is not JSON, or JSON that is ambiguous (a key given twice, at ``field``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class BodyTooLarge(PosologyError):
    pass


def _fields(document: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    from ..model import fields as F

    return dict(F.json_object(document, "", required, allowed))


def _version(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    text = raw.strip().strip('"').removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InputError("If-Match", 'must be the patient\'s version, e.g. If-Match: "3"')
    return int(text)


def create_app(
    engine: Engine | None = None,
    pack: Pack | None = None,
    migrate: bool = True,
    cds_verifier: Any = None,
) -> FastAPI:
    """The application on ``engine`` (default: ``DATABASE_URL``), migrated to the latest schema."""
    from ..store.db import open_engine, upgrade

    engine = engine or open_engine()
    if migrate:
        upgrade(engine)
    pack = pack or load_pack()
    auth = Auth(engine)
    app = FastAPI(
        title="Posology",
        version="0.1.0",
        description="Checks and plans baclofen doses against cited label rules. It supports "
        "clinical judgement; it does not replace it.",
    )
    app.state.engine = engine

    @app.middleware("http")
    async def no_store(request: Request, call_next: Callable[[Request], Any]) -> Response:
        """Patient answers are never kept by a browser or proxy (Back after logout shows
        nothing)."""
        response: Response = await call_next(request)
        if request.url.path.startswith("/api/v1/patients"):
            response.headers["Cache-Control"] = "no-store"
        return response

    _errors(app)
    _routes(app, engine, pack, auth)
    from ..web.pages import add_pages

    add_pages(app, engine, pack)
    _cds_routes(app, engine, pack, cds_verifier)
    origins = [
        o.strip() for o in os.environ.get("POSOLOGY_CORS_ORIGINS", "").split(",") if o.strip()
    ]
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    original = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original()
        # /api/v1/check is a plain route (the hot path, see check_direct): describe it here
        schema.setdefault("paths", {})["/api/v1/check"] = {
            "post": {
                "tags": ["engine"],
                "summary": "Check Case",
                "operationId": "check_case_api_v1_check_post",
                **body("Case"),
                "responses": {
                    str(code): answer
                    for code, answer in answers(
                        200, ref("CheckAnswer"), 400, 401, 403, 413, 422
                    ).items()
                },
            }
        }
        schema.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def settle_memory() -> None:
    """Move what start-up built (the pack, the app) out of the collector's way, and let the
    short-lived values of a check be collected less often: fewer pauses under load."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def app_from_environment() -> FastAPI:
    """The app for a worker process of ``posology serve --workers N`` (already migrated)."""
    app = create_app(migrate=False)
    settle_memory()
    return app


def _errors(app: FastAPI) -> None:
    table: list[tuple[type[Exception], Callable[[Any], JSONResponse]]] = [
        (BadJson, lambda e: error(400, e.field, f"the body is {e}" if not e.field else str(e))),
        (BodyTooLarge, lambda e: error(413, "", f"the body is larger than {MAX_BODY} bytes")),
        (
            R.NeedsOverride,
            lambda e: error(422, e.field, str(e), findings=[_finding(f) for f in e.findings]),
        ),
        (R.Duplicate, lambda e: error(409, e.field, str(e), **e.extra)),
        (KeyReused, lambda e: error(409, "Idempotency-Key", str(e))),
        (InputError, lambda e: error(422, e.field, e.message)),
        (UnknownRuleError, lambda e: error(404, "id", str(e))),
        (R.NotFound, lambda e: error(404, "", str(e))),
        (R.Conflict, lambda e: error(409, "If-Match", str(e))),
        (R.Forbidden, lambda e: error(403, "", str(e))),
        (
            R.Unauthorized,
            lambda e: JSONResponse(
                {"error": {"field": "Authorization", "message": str(e)}},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            ),
        ),
        (PosologyError, lambda e: error(422, "", str(e))),
    ]
    for exc_type, make in table:
        app.add_exception_handler(exc_type, lambda _r, e, make=make: make(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(x) for x in first.get("loc", ()) if x not in ("body", "path", "query"))
        return error(422, field, str(first.get("msg", "invalid value")))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, "", str(exc.detail))


def _finding(f: Any) -> dict[str, Any]:
    from ..serialize import finding_json

    return finding_json(f)


def _routes(app: FastAPI, engine: Engine, pack: Pack, auth: Auth) -> None:
    from ..serialize import check_answer, plan_json, rule_json

    User = Depends(auth)
    Body = Depends(json_body)

    @app.get("/healthz", tags=["service"], responses=answers(200, {"type": "object"}))
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def answer_case(document: Any) -> JSONResponse:
        # CPU only, well under a millisecond: run inline rather than hop to a worker thread,
        # and answer the finished document without a second encoding pass
        from ..model import parse_case
        from ..rules import check

        case = parse_case(document)
        return JSONResponse(check_answer(check(case.patient, case.history, case.proposal, pack)))

    async def check_direct(request: Request) -> JSONResponse:
        """The same endpoint without the dependency-injection layer: checks are the hot path
        (every order an EHR drafts), so they are routed straight to the same steps."""
        await auth(request)
        return answer_case(await json_body(request))

    app.router.routes.append(Route("/api/v1/check", check_direct, methods=["POST"]))

    @app.post(
        "/api/v1/plan",
        tags=["engine"],
        openapi_extra=body("PlanRequest"),
        responses=answers(200, ref("PlanAnswer"), 400, 401, 403, 413, 422),
    )
    def make_plan(user: R.User = User, document: Any = Body) -> JSONResponse:
        from ..planning import parse_request, plan

        result = plan(parse_request(document), pack)
        return JSONResponse(plan_json(result), status_code=200 if result.made else 422)

    @app.get("/api/v1/rules", tags=["rules"], responses=answers(200, many("Rule"), 401))
    def rules(user: R.User = User, route: str | None = None) -> list[dict[str, Any]]:
        if route not in (None, "oral", "intrathecal"):
            raise InputError("route", "must be oral or intrathecal")
        return [rule_json(r) for r in pack.by_route(route)]

    @app.get(
        "/api/v1/rules/{rule_id}", tags=["rules"], responses=answers(200, ref("Rule"), 401, 404)
    )
    def rule(rule_id: str, user: R.User = User) -> dict[str, Any]:
        return rule_json(pack.rule(rule_id))

    # -- sessions -------------------------------------------------------------------------------
    @app.post(
        "/api/v1/login",
        tags=["session"],
        openapi_extra=body("Login"),
        responses=answers(200, {"type": "object"}, 400, 401, 422),
    )
    def login(document: Any = Body) -> JSONResponse:
        fields = _fields(document, ("email", "password"), ("email", "password"))
        if not all(isinstance(fields[k], str) for k in ("email", "password")):
            raise InputError("email", "email and password must be strings")
        user, session, csrf = R.login(engine, fields["email"], fields["password"])
        response = JSONResponse(
            {"email": user.email, "role": user.role, "clinic": user.clinic, "csrf_token": csrf}
        )
        response.set_cookie(
            SESSION_COOKIE,
            session,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=int(R.SESSION_LIFETIME.total_seconds()),
        )
        return response

    @app.post(
        "/api/v1/logout", tags=["session"], responses=answers(200, {"type": "object"}, 401, 403)
    )
    def logout(request: Request, user: R.User = User) -> JSONResponse:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            R.logout(engine, session)
        response = JSONResponse({"status": "logged out"})
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- patients -------------------------------------------------------------------------------
    @app.post(
        "/api/v1/patients",
        tags=["patients"],
        status_code=201,
        openapi_extra=once_body("PatientInput"),
        responses=answers(201, ref("PatientRecord"), 400, 401, 403, 409, 413, 422),
    )
    def create_patient(request: Request, user: R.User = User, document: Any = Body) -> JSONResponse:
        fields = _fields(document, PATIENT_FIELDS, ("patient",))
        label = _label(fields.get("label") or fields.get("name"))

        def work() -> JSONResponse:
            record = R.create_patient(
                engine,
                user,
                fields["patient"],
                label,
                _identity(fields),
                _flag(fields.get("confirm_duplicate"), "confirm_duplicate"),
            )
            return JSONResponse(record, status_code=201, headers={"ETag": f'"{record["version"]}"'})

        return _once(engine, user, request, document, work)

    @app.get(
        "/api/v1/patients", tags=["patients"], responses=answers(200, many("PatientRecord"), 401)
    )
    def list_patients(user: R.User = User, q: str | None = None) -> list[dict[str, Any]]:
        if q is not None and len(q) > 200:
            raise InputError("q", "must be at most 200 characters")
        return R.list_patients(engine, user, q)

    @app.get(
        "/api/v1/patients/{patient_id}",
        tags=["patients"],
        responses=answers(200, ref("PatientRecord"), 401, 404, 422),
    )
    def get_patient(patient_id: RecordId, user: R.User = User) -> JSONResponse:
        record = R.get_patient(engine, user, patient_id)
        return JSONResponse(record, headers={"ETag": f'"{record["version"]}"'})

    @app.put(
        "/api/v1/patients/{patient_id}",
        tags=["patients"],
        openapi_extra=body("PatientInput"),
        responses=answers(200, ref("PatientRecord"), 400, 401, 403, 404, 409, 413, 422),
    )
    def update_patient(
        patient_id: RecordId, request: Request, user: R.User = User, document: Any = Body
    ) -> JSONResponse:
        fields = _fields(document, PATIENT_FIELDS, ("patient",))
        label = None if fields.get("label") is None else _label(fields["label"])
        record = R.update_patient(
            engine,
            user,
            patient_id,
            fields["patient"],
            label,
            _version(request),
            _identity(fields),
            _flag(fields.get("confirm_duplicate"), "confirm_duplicate"),
        )
        return JSONResponse(record, headers={"ETag": f'"{record["version"]}"'})

    @app.get(
        "/api/v1/patients/{patient_id}/events",
        tags=["history"],
        responses=answers(200, many("EventRecord"), 401, 404, 422),
    )
    def list_events(patient_id: RecordId, user: R.User = User) -> list[dict[str, Any]]:
        return R.list_events(engine, user, patient_id)

    @app.post(
        "/api/v1/patients/{patient_id}/events",
        tags=["history"],
        status_code=201,
        openapi_extra=once_body("EventInput"),
        responses=answers(201, ref("EventRecord"), 400, 401, 403, 404, 409, 413, 422),
    )
    def append_event(
        patient_id: RecordId, request: Request, user: R.User = User, document: Any = Body
    ) -> JSONResponse:
        from ..services import overrides

        fields = _fields(document, EVENT_FIELDS, ())
        reason = _text(fields.get("override_reason"), "override_reason")
        supersedes = fields.get("supersedes")
        if supersedes is not None and (
            isinstance(supersedes, bool) or not isinstance(supersedes, int)
        ):
            raise InputError("supersedes", "must be the id of an event of this patient")
        correction = _correction(fields.get("correction"))
        if fields.get("event") is None and (correction is None or correction.kind != R.VOID):
            raise InputError("event", "missing; give the EVENT to record")
        override = overrides.parse_override(fields.get("override"), reason)
        retyped = _text(fields.get("retyped_dose"), "retyped_dose")
        expected = _version(request)

        def work() -> JSONResponse:
            cosigner = overrides.verify_cosigner(engine, user, fields.get("cosigner"))
            record = R.append_event(
                engine,
                pack,
                user,
                patient_id,
                fields.get("event"),
                None,
                supersedes,
                expected,
                override=override,
                retyped_dose=retyped,
                cosigner=cosigner,
                correction=correction,
            )
            return JSONResponse(record, status_code=201, headers={"ETag": f'"{record["version"]}"'})

        return _once(engine, user, request, document, work)

    @app.post(
        "/api/v1/patients/{patient_id}/check",
        tags=["history"],
        openapi_extra=body("ProposalInput"),
        responses=answers(200, ref("CheckAnswer"), 400, 401, 404, 413, 422),
    )
    def check_for_patient(
        patient_id: RecordId, user: R.User = User, document: Any = Body
    ) -> dict[str, Any]:
        from ..model import parse_event, parse_patient
        from ..rules import check

        fields = _fields(document, ("proposal",), ("proposal",))
        patient_doc, history = R.case_for(engine, user, patient_id)
        proposal = R.typed_event(
            engine, user, parse_event(fields["proposal"], "proposal"), "proposal.at"
        )
        return check_answer(check(parse_patient(patient_doc), history, proposal, pack))

    # -- the pump clinic ------------------------------------------------------------------------
    @app.get(
        "/api/v1/patients/{patient_id}/pump-status",
        tags=["pump clinic"],
        responses=answers(200, ref("PumpStatus"), 401, 404, 422),
    )
    def pump_status(patient_id: RecordId, user: R.User = User) -> dict[str, Any]:
        from ..services import pump as pump_service

        return pump_service.patient_pump_status(engine, pack, user, patient_id)

    @app.post(
        "/api/v1/patients/{patient_id}/refill-preview",
        tags=["pump clinic"],
        openapi_extra=body("RefillPreviewInput"),
        responses=answers(200, ref("RefillPreview"), 400, 401, 404, 413, 422),
    )
    def refill_preview(
        patient_id: RecordId, user: R.User = User, document: Any = Body
    ) -> dict[str, Any]:
        from ..services.refill import refill_preview as preview

        return preview(engine, pack, user, patient_id, document)

    @app.get(
        "/api/v1/patients/{patient_id}/screening",
        tags=["pump clinic"],
        responses=answers(200, ref("Screening"), 401, 404, 422),
    )
    def screening(patient_id: RecordId, user: R.User = User) -> dict[str, Any]:
        from ..services.screening import patient_screening

        return patient_screening(engine, pack, user, patient_id)

    @app.get(
        "/api/v1/patients/{patient_id}/change-limits",
        tags=["pump clinic"],
        responses=answers(200, ref("ChangeLimits"), 401, 404, 422),
    )
    def change_limits(patient_id: RecordId, user: R.User = User) -> dict[str, Any]:
        from ..services.limits import patient_change_limits

        return patient_change_limits(engine, pack, user, patient_id)

    @app.get(
        "/api/v1/worklist",
        tags=["pump clinic"],
        responses=answers(200, ref("Worklist"), 401, 422),
    )
    def worklist(user: R.User = User, filter: str | None = None) -> dict[str, Any]:
        from ..services import pump as pump_service

        if filter is not None and filter not in pump_service.FILTERS:
            raise InputError(
                "filter",
                f"unknown filter {filter!r}; use one of: {', '.join(pump_service.FILTERS)}",
            )
        return pump_service.worklist(engine, pack, user, filter)

    # -- plans ----------------------------------------------------------------------------------
    @app.post(
        "/api/v1/patients/{patient_id}/plans",
        tags=["plans"],
        status_code=201,
        openapi_extra=once_body("PlanInput"),
        responses=answers(201, {"type": "object"}, 400, 401, 403, 404, 409, 413, 422),
    )
    def save_plan(
        patient_id: RecordId, request: Request, user: R.User = User, document: Any = Body
    ) -> JSONResponse:
        fields = _fields(document, ("goal", "start"), ("goal", "start"))

        def work() -> JSONResponse:
            saved = R.save_plan(
                engine,
                pack,
                user,
                patient_id,
                fields["goal"],
                _text(fields["start"], "start") or "",
            )
            if saved.get("id") is None:
                return JSONResponse(saved["plan"], status_code=422)
            return JSONResponse(saved, status_code=201)

        return _once(engine, user, request, document, work)

    @app.get(
        "/api/v1/patients/{patient_id}/plans",
        tags=["plans"],
        responses=answers(200, {"type": "array"}, 401, 404, 422),
    )
    def list_plans(patient_id: RecordId, user: R.User = User) -> list[dict[str, Any]]:
        return R.list_plans(engine, user, patient_id)

    @app.get(
        "/api/v1/patients/{patient_id}/plans/{plan_id}",
        tags=["plans"],
        responses=answers(200, {"type": "object"}, 401, 404, 422),
    )
    def get_plan(patient_id: RecordId, plan_id: RecordId, user: R.User = User) -> dict[str, Any]:
        return R.get_plan(engine, user, patient_id, plan_id)

    @app.post(
        "/api/v1/patients/{patient_id}/plans/{plan_id}/steps/{position}/confirm",
        tags=["plans"],
        status_code=201,
        openapi_extra=once_body("ConfirmInput"),
        responses=answers(201, ref("EventRecord"), 400, 401, 403, 404, 409, 413, 422),
    )
    def confirm(
        patient_id: RecordId,
        plan_id: RecordId,
        position: StepPosition,
        request: Request,
        user: R.User = User,
        document: Any = Body,
    ) -> JSONResponse:
        from ..services import overrides

        fields = _fields(document, ("override_reason", "override", "retyped_dose", "cosigner"), ())
        override = overrides.parse_override(
            fields.get("override"), _text(fields.get("override_reason"), "override_reason")
        )
        retyped = _text(fields.get("retyped_dose"), "retyped_dose")
        expected = _version(request)

        def work() -> JSONResponse:
            cosigner = overrides.verify_cosigner(engine, user, fields.get("cosigner"))
            record = R.confirm_step(
                engine,
                pack,
                user,
                patient_id,
                plan_id,
                position,
                None,
                expected,
                override=override,
                retyped_dose=retyped,
                cosigner=cosigner,
            )
            return JSONResponse(record, status_code=201)

        return _once(engine, user, request, document, work)

    # -- overrides ------------------------------------------------------------------------------
    @app.get(
        "/api/v1/override-reasons",
        tags=["overrides"],
        responses=answers(200, many("OverrideReason"), 401),
    )
    def override_reasons(user: R.User = User) -> list[dict[str, Any]]:
        from ..services.overrides import reasons_json

        return reasons_json()

    @app.get(
        "/api/v1/verification-queue",
        tags=["overrides"],
        responses=answers(200, many("EventRecord"), 401, 403),
    )
    def verification_queue(user: R.User = User) -> list[dict[str, Any]]:
        return R.verification_queue(engine, user)

    @app.post(
        "/api/v1/events/{event_id}/verify",
        tags=["overrides"],
        responses=answers(200, ref("EventRecord"), 401, 403, 404, 409, 422),
    )
    def verify_event(event_id: RecordId, user: R.User = User) -> dict[str, Any]:
        return R.verify_event(engine, user, event_id)

    # -- audit ----------------------------------------------------------------------------------
    @app.get("/api/v1/audit", tags=["audit"], responses=answers(200, {"type": "array"}, 401, 403))
    def audit(user: R.User = User) -> list[dict[str, Any]]:
        return R.audit_rows(engine, user)

    @app.get(
        "/api/v1/audit.csv",
        tags=["audit"],
        response_class=PlainTextResponse,
        responses={
            200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
            401: {
                "description": "error",
                "content": {"application/json": {"schema": ref("Error")}},
            },
            403: {
                "description": "error",
                "content": {"application/json": {"schema": ref("Error")}},
            },
        },
    )
    def audit_csv(user: R.User = User) -> Response:
        return Response(
            R.audit_csv(engine, user),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )


def _cds_routes(app: FastAPI, engine: Engine, pack: Pack, verifier: Any) -> None:
    """CDS Hooks: discovery, the services and their feedback, each call with the EHR's JWT."""
    from ..interop.cds_auth import TokenRefused, Verifier
    from ..interop.cds_hooks import SERVICES, CdsError, answer, discovery

    checker = verifier or Verifier.from_json(os.environ.get("POSOLOGY_CDS_ISSUERS", ""))
    if checker.remember is None and int(os.environ.get("POSOLOGY_WORKERS", "1")) > 1:
        # several workers: a replay must be refused by all of them. On one host with SQLite,
        # token ids become files created atomically (no database lock); with PostgreSQL they go
        # in its table. A single process keeps them in memory, as safe and cheaper.
        url = engine.url.render_as_string(hide_password=False)
        if url.startswith("sqlite") and engine.url.database:
            from pathlib import Path

            from ..store.replay import FileReplayGuard

            guard = FileReplayGuard(Path(engine.url.database).resolve().parent / "cds-replay")
            checker.remember = guard.remember
        else:
            checker.remember = lambda jti, expires: R.remember_jti(engine, jti, expires)

    def authorised(request: Request) -> dict[str, Any] | JSONResponse:
        try:
            return dict(
                checker.verify(request.headers.get("authorization"), str(request.url).split("?")[0])
            )
        except TokenRefused as exc:
            issue = {"severity": "error", "code": "security", "diagnostics": str(exc)}
            return JSONResponse(
                {"resourceType": "OperationOutcome", "issue": [issue]}, status_code=401
            )

    outcome = {
        "description": "a CDS Hooks answer or a FHIR OperationOutcome",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    cds_answers: dict[int | str, dict[str, Any]] = {
        code: outcome for code in (200, 400, 401, 404, 412, 413)
    }

    @app.get("/cds-services", tags=["cds-hooks"], responses={200: outcome})
    def cds_discovery() -> dict[str, Any]:
        return discovery()

    @app.post("/cds-services/{service_id}", tags=["cds-hooks"], responses=cds_answers)
    async def cds_call(service_id: str, request: Request) -> JSONResponse:
        claims = authorised(request)
        if isinstance(claims, JSONResponse):
            return claims
        try:
            return JSONResponse(answer(service_id, await json_body(request), pack))
        except CdsError as exc:
            return JSONResponse(exc.outcome, status_code=exc.status)

    @app.post("/cds-services/{service_id}/feedback", tags=["cds-hooks"], responses=cds_answers)
    async def cds_feedback(service_id: str, request: Request) -> JSONResponse:
        claims = authorised(request)
        if isinstance(claims, JSONResponse):
            return claims
        if service_id not in SERVICES:
            return JSONResponse(
                CdsError(404, f"no CDS service {service_id!r}").outcome, status_code=404
            )
        document = await json_body(request)
        items = document.get("feedback") if isinstance(document, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and i.get("card") and i.get("outcome") for i in items
        ):
            bad = CdsError(400, "feedback must be a list of {card, outcome, …}")
            return JSONResponse(bad.outcome, status_code=400)
        added = R.record_cds_feedback(engine, service_id, str(claims.get("iss")), items)
        return JSONResponse({"recorded": added})


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


def _once(
    engine: Engine, user: R.User, request: Request, document: Any, work: Callable[[], JSONResponse]
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


def _identity(fields: dict[str, Any]) -> R.Identity | None:
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
    name, born, number = (str(fields[k]).strip() for k in IDENTITY_FIELDS)
    if len(name) > 200:
        raise InputError("name", "must be at most 200 characters")
    if len(number) > 100:
        raise InputError("record_number", "must be at most 100 characters")
    try:
        day = date.fromisoformat(born)
    except ValueError:
        raise InputError("birth_date", 'must be an ISO date, e.g. "1980-06-30"') from None
    if len(born) != 10 or day > date.today():
        raise InputError("birth_date", "must be an ISO date (YYYY-MM-DD), not in the future")
    return R.Identity(" ".join(name.split()), born, number)


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(field, "must be true or false")
    return value


def _correction(value: Any) -> R.Correction | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"kind", "text"}:
        raise InputError("correction", "must be an object {kind, text}")
    kind, text = value.get("kind"), value.get("text")
    if kind not in R.CORRECTION_KINDS:
        raise InputError("correction.kind", f"must be one of {', '.join(R.CORRECTION_KINDS)}")
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        raise InputError("correction.text", "must say why (a text of at most 2000 characters)")
    return R.Correction(str(kind), text.strip())


def _label(value: Any) -> str:
    if value is None:
        return "patient"
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InputError("label", "must be a short non-empty text (at most 200 characters)")
    return value.strip()


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(field, "must be a text")
    return value
