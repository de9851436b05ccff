"""Property-based testing of the server with schemathesis.

The API, against its served OpenAPI description: at least 200 generated cases per operation; no
answer may be a 500, use a status code the description does not list, or break the schema it
declares. The pages and the CDS Hooks service, which that description leaves out (pages answer
HTML, CDS FHIR), against OpenAPI documents written here: a clinician's session for the pages, a
fresh EHR token for each CDS call; no answer may be a 5xx.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from dbhelp import bearer, fresh_engine
from posology.api.auth import SESSION_COOKIE
from posology.interop.cds_auth import Issuer, Verifier
from posology.planning.request import GOALS
from posology.server.app import create_app
from posology.services import accounts

CASES_PER_OPERATION = 200


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    engine = fresh_engine(Path(tmp_path_factory.mktemp("schemathesis")))
    app = create_app(engine)
    headers = bearer(engine, "doc@north.example", "North", "clinician", "correct horse battery")
    with TestClient(app) as client:  # a record to find, so generated ids sometimes hit one
        client.post(
            "/api/v1/patients",
            headers=headers,
            json={"patient": {"age_years": 50, "diagnosis": "stroke"}},
        )
    yield schemathesis.openapi.from_asgi("/openapi.json", app), headers
    engine.dispose()


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def exercise(operation: Any, headers: dict[str, str]) -> list[int]:
    """Run the generated cases of one operation; the status codes seen."""
    calls: list[int] = []

    @given(operation.as_strategy())
    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        calls.append(response.status_code)
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )

    run()
    return calls


def test_every_operation_holds_for_generated_cases(api: tuple[Any, dict[str, str]]) -> None:
    schema, headers = api
    ops = operations(schema)
    assert len(ops) >= 15
    seen = {operation.label: exercise(operation, headers) for operation in ops}
    short = {label: len(calls) for label, calls in seen.items() if len(calls) < CASES_PER_OPERATION}
    assert not short, f"fewer than {CASES_PER_OPERATION} cases: {short}"


# -- the pages and the CDS service, which the API document does not describe -------------------
# The pages answer HTML, redirects and downloads, and the CDS service FHIR; the documents below
# describe what each accepts loosely enough that generated requests reach the code behind it,
# and only one check holds for them: no answer is a 5xx.

PAGE_CASES = 60
CDS_CASES = 100
BASE = "https://testserver"  # the pages keep a session only over https
ISS = "https://ehr.example.com/"
KEY = ec.generate_private_key(ec.SECP384R1())
CLINICIAN = ("doc@north.example", "correct horse battery")
GOAL_OPTIONS = {"target_daily_dose": "60 mg", "night_only": "yes", "times_per_day": "3",
                "pre_task_times": "09:00", "form": "tablet", "concentration": "500 ug/mL",
                "alarm_ml": "2", "night_onset": "22:00", "night_end": "07:00"}  # fmt: skip
NOT_PAGES = {"/docs", "/docs/assets/{name}", "/openapi.json"}  # the API's own viewer and document


def text_or(*values: str) -> dict[str, Any]:
    """One of ``values``, or any text."""
    return {"anyOf": [{"enum": list(values)}, {"type": "string"}]}


def query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def path_id(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


STARTS = ["2027-03-01T09:00", "2027-03-01T09:00+01:00", "9999-12-30T09:00", "x"]
PLAN_QUERY = [  # mostly valid (a plan is made, its page and downloads drawn), sometimes not
    {**query("goal", {"enum": [*GOALS, "", "x"]}), "required": True},
    {**query("start", {"enum": STARTS}), "required": True},
    *(query(option, {"enum": [value, "", "1e400"]}) for option, value in GOAL_OPTIONS.items()),
]


def form(**fields: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields}
    return {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def operation(*parameters: dict[str, Any], body: dict[str, Any] | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "parameters": list(parameters),
        "responses": {"default": {"description": "a page, a redirect or a download"}},
    }
    if body is not None:
        described["requestBody"] = body
    return described


def pages(patients: list[int], login_token: str = "") -> dict[str, dict[str, Any]]:
    """Every page route, with the records ``patients`` among the ids tried and the login
    form's own token among the tokens posted."""
    record = {"anyOf": [{"enum": patients}, {"type": "integer"}]}
    patient_id = path_id("patient_id", record)
    return {
        "/": {"get": operation()},
        "/login": {
            "get": operation(query("next", text_or("/patients", "//evil.example", "/\\x"))),
            "post": operation(
                body=form(
                    email={"enum": [CLINICIAN[0], "DOC@north.example ", "", "\u0000"]},
                    password={"enum": [CLINICIAN[1], "wrong", "", "p" * 5000]},
                    next={"type": "string"},
                    csrf={"enum": [login_token, "x" * 43, ""]},
                )
            ),
        },
        "/logout": {"post": operation(body=form(csrf={"type": "string"}))},
        "/indication": {"get": operation()},
        "/worklist": {"get": operation(query("filter", text_or("due", "overdue", "no-pump")))},
        "/patients": {"get": operation(query("q", {"type": "string"}))},
        "/patients/{patient_id}": {"get": operation(patient_id)},
        "/patients/{patient_id}/plan": {"get": operation(patient_id, *PLAN_QUERY)},
        "/patients/{patient_id}/plan.pdf": {"get": operation(patient_id, *PLAN_QUERY)},
        "/patients/{patient_id}/plan.{fmt}": {
            "get": operation(
                patient_id, path_id("fmt", {"enum": ["csv", "ics", "pdf", "txt", ""]}), *PLAN_QUERY
            )
        },
        "/dose-check": {"get": operation(query("patient", record))},
        "/rules": {"get": operation(query("q", {"type": "string"}))},
        "/rules/{rule_id}": {"get": operation(path_id("rule_id", text_or("PO-MAX", "po-max")))},
        # no EHR is allow-listed here: every launch is refused before anything is fetched
        "/smart/launch": {
            "get": operation(
                query("iss", text_or("https://ehr.example/fhir", "http://127.0.0.1:1/fhir")),
                query("launch", {"type": "string"}),
            )
        },
        "/smart/callback": {
            "get": operation(
                query("code", {"type": "string"}),
                query("state", text_or("a" * 43, "")),
                query("error", text_or("access_denied")),
            )
        },
    }


# -- a hook call, loosely: the shapes FHIR gives, with values of every kind inside them (the
# fuzz test, tests/server/test_fuzz_asgi.py, sends the wrong shapes)


def one_of(*values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object of these properties only (random extra keys would hold numbers the JSON reader
    refuses before anything else reads the call)."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    return {**schema, "required": list(required)} if required else schema


def many(items: dict[str, Any], most: int = 2) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": most}


ANY_TEXT = {"type": "string"}
INSTANT = {"anyOf": [{"type": "string", "format": "date-time"}, ANY_TEXT]}
NUMBER = {"type": "number", "minimum": -1e6, "maximum": 1e6}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CODING = obj(
    system=text_or("http://snomed.info/sct", "http://www.whocc.no/atc", "http://loinc.org", RXNORM),
    code=text_or(
        "26643006",
        "72607000",
        "M03BX01",
        "29463-7",
        "2164-2",
        "24700007",
        "1292",
        "197391",
        "197392",
        "1300890",
        "387342009",
    ),
    display=ANY_TEXT,
)
CONCEPT = obj(coding=many(CODING), text=ANY_TEXT)
QUANTITY = obj(
    ("value",),
    value=NUMBER,
    unit=text_or("mg", "ug", "ug/d", "mL", "kg", "mL/min", "TAB", "tablet"),
    code=text_or("mg", "ug", "ug/d", "ug/h", "mL", "kg", "mL/min", "{tbl}"),
)
REPEAT = obj(
    boundsPeriod=obj(start=INSTANT),
    frequency={"type": "integer", "minimum": -5, "maximum": 30},
    period=NUMBER,
    periodUnit=text_or("d", "h", "min"),
    timeOfDay=many(ANY_TEXT, 4),
)
DOSAGE = obj(
    route=CONCEPT,
    timing=obj(repeat=REPEAT),
    doseAndRate=many(obj(doseQuantity=QUANTITY, rateQuantity=QUANTITY)),
    dose=QUANTITY,
)
ORDER = obj(
    ("resourceType", "medicationCodeableConcept", "dosageInstruction"),
    resourceType=one_of("MedicationRequest"),
    id=ANY_TEXT,
    status=one_of("draft", "active", "stopped"),
    medicationCodeableConcept=CONCEPT,
    medicationReference=obj(reference=text_or("#m1", "Medication/m1")),
    contained=many(obj(resourceType=one_of("Medication"), id=one_of("m1"), code=CONCEPT), 1),
    category=many(CONCEPT, 1),
    dosageInstruction=many(DOSAGE, 3),
    authoredOn=INSTANT,
)
ADMINISTRATION = obj(
    ("resourceType", "medicationCodeableConcept", "dosage"),
    resourceType=one_of("MedicationAdministration"),
    medicationCodeableConcept=CONCEPT,
    category=CONCEPT,
    effectiveDateTime=INSTANT,
    dosage=DOSAGE,
)
OBSERVATION = obj(
    resourceType=one_of("Observation"),
    code=CONCEPT,
    effectiveDateTime=INSTANT,
    valueQuantity=QUANTITY,
)


def bundle(resource: dict[str, Any]) -> dict[str, Any]:
    return obj(
        ("resourceType",),
        resourceType=one_of("Bundle"),
        entry=many(obj(("resource",), resource=resource), 3),
    )


HOOK_CALL = obj(
    ("hook", "context", "prefetch"),
    hook=one_of("order-sign", "order-select"),
    hookInstance=ANY_TEXT,
    # never a server that answers: plain http elsewhere and other schemes are refused unread
    fhirServer=one_of("http://ehr.example.com/fhir", "ftp://ehr.example.com/fhir", ""),
    fhirAuthorization=obj(access_token=ANY_TEXT, token_type=text_or("Bearer", "MAC")),
    context=obj(patientId=ANY_TEXT, draftOrders=bundle(ORDER)),
    prefetch=obj(
        ("patient",),
        patient=obj(
            ("resourceType", "birthDate"),
            resourceType=one_of("Patient"),
            gender=text_or("male", "female"),
            birthDate={"type": "string", "format": "date"},
        ),
        medications=bundle(ORDER),
        administrations=bundle(ADMINISTRATION),
        weight=bundle(OBSERVATION),
        clearance=bundle(OBSERVATION),
        conditions=bundle(obj(code=CONCEPT)),
    ),
)
FEEDBACK = obj(
    ("feedback",),
    feedback=many(
        obj(
            card=ANY_TEXT,
            outcome=text_or("accepted", "overridden"),
            overrideReasons=many(obj(reason=CODING)),
            acceptedSuggestions=many(obj(id=ANY_TEXT)),
            outcomeTimestamp=INSTANT,
        ),
        3,
    ),
)


def cds_document(services: list[str]) -> dict[str, Any]:
    service = path_id("service_id", one_of(*services))

    def posted(schema: dict[str, Any]) -> dict[str, Any]:
        return operation(service, body={"content": {"application/json": {"schema": schema}}})

    return {
        "/cds-services": {"get": operation()},
        "/cds-services/{service_id}": {"post": posted(HOOK_CALL)},
        "/cds-services/{service_id}/feedback": {"post": posted(FEEDBACK)},
    }


def openapi(paths: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Posology pages and CDS Hooks (described for testing)", "version": "1"},
        "paths": paths,
    }


@dataclass
class Served:
    app: Any
    cookies: dict[str, str]  # a clinician's session, and the login form's token
    patients: list[int]  # records with a history: oral, and a pump
    login_token: str  # the login form's, as its cookie holds it
    services: list[str]
    jti: int = 0

    def cds_auth(self, path: str) -> dict[str, str]:
        """A fresh token of the EHR for one call (each token id is accepted once)."""
        self.jti += 1
        now = int(time.time())
        claims = {"iss": ISS, "aud": f"{BASE}{path}", "iat": now, "exp": now + 300,
                  "jti": f"schemathesis-{self.jti}"}  # fmt: skip
        token = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {token}"}


RECORDS = [
    (
        {"age_years": 50, "diagnosis": "stroke", "weight_kg": 70},
        [{"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}],
    ),
    (
        {"age_years": 39, "diagnosis": "spinal-cord-injury", "spasticity_stable": True,
         "creatinine_clearance_ml_min": 90,
         "pump": {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"}},
        [{"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 ug",
          "response": {"effect": True, "duration_h": 6}},
         {"at": "2026-10-31T09:00", "kind": "pump-implant"},
         {"at": "2026-11-01T09:00", "kind": "pump-refill", "concentration": "500 ug/mL",
          "volume_ml": 20, "alarm_ml": 2, "lot": "L2403A", "checked_by": "A. Nurse"},
         {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"}],
    ),
]  # fmt: skip


def record(client: TestClient, headers: dict[str, str], patient: Any, history: Any) -> int:
    """A new record with its history; its id."""
    made = client.post("/api/v1/patients", headers=headers, json={"patient": patient})
    assert made.status_code == 201, made.text
    pid = int(made.json()["id"])
    for event in history:
        added = client.post(
            f"/api/v1/patients/{pid}/events",
            headers=headers,
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert added.status_code == 201, added.text
    return pid


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app with a CDS issuer, a clinician logged in, and patients with a history, so that
    generated ids sometimes reach a record."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POSOLOGY_PUBLIC_URL", BASE)  # the audience CDS tokens name
        engine = fresh_engine(Path(tmp_path_factory.mktemp("schemathesis-pages")))
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
        verifier = Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]})})
        app = create_app(engine, cds_verifier=verifier)
        doc = bearer(engine, CLINICIAN[0], "North", "prescriber", CLINICIAN[1])
        with TestClient(app, base_url=BASE) as client:
            patients = [record(client, doc, *seed) for seed in RECORDS]
            services = [s["id"] for s in client.get("/cds-services").json()["services"]]
            login_page = client.get("/login")  # its token, in a cookie and in the form
            token = re.search(r'name="csrf" value="([^"]+)"', login_page.text)
            cookies = dict(login_page.cookies)
        _user, session, _csrf = accounts.login(engine, *CLINICIAN)
        cookies[SESSION_COOKIE] = session
        yield Served(app, cookies, patients, token.group(1) if token else "", services)
        engine.dispose()
    # the pump clinic's per-process caches are keyed by patient id and version, not database:
    # emptied, so these records do not stand in for another test's of the same ids
    from posology.services import pump

    pump._CACHE.clear()
    pump._FIXED.clear()


def page_routes(app: Any) -> set[tuple[str, str]]:
    """The method and path of every route the app answers outside its API document."""

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
                yield from walk(route.original_router.routes)

    return {
        (method.lower(), route.path)
        for route in walk(app.routes)
        if not route.include_in_schema and route.path not in NOT_PAGES
        for method in route.methods - {"HEAD"}
    }


def no_server_error(
    served: Served, document: dict[str, Any], cases: int, headers: Callable[[Any], dict[str, str]]
) -> dict[str, list[int]]:
    """Each operation of ``document`` run for ``cases`` generated cases against the app; the
    status codes seen, by operation."""
    schema = schemathesis.openapi.from_dict(openapi(document))
    schema.app = served.app
    return {op.label: without_5xx(op, served, cases, headers) for op in operations(schema)}


def without_5xx(
    operation: Any, served: Served, cases: int, headers: Callable[[Any], dict[str, str]]
) -> list[int]:
    """Run the generated cases of one operation, with the session and ``headers``; the status
    codes seen."""
    calls: list[int] = []

    @given(operation.as_strategy())
    @settings(
        max_examples=cases, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(
            base_url=BASE,
            headers={**(case.headers or {}), **headers(case)},
            cookies=served.cookies,
            allow_redirects=False,
        )
        calls.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    run()
    return calls


def test_every_page_route_is_described() -> None:
    engine = fresh_engine(Path(tempfile.mkdtemp(prefix="posology-routes-")))
    answered = page_routes(create_app(engine))
    engine.dispose()
    described = {(method, path) for path, methods in pages([1]).items() for method in methods}
    assert answered, "no page route found: has the app stopped registering its pages?"
    assert answered - described == set(), "page routes to describe in pages()"
    assert described - answered == set(), "described in pages() but no longer a route"


def too_few(document: dict[str, Any], seen: dict[str, list[int]], cases: int) -> dict[str, int]:
    """The operations with inputs that ran fewer than ``cases`` cases (one without any has
    one case to run)."""
    return {
        f"{method.upper()} {path}": len(seen[f"{method.upper()} {path}"])
        for path, methods in document.items()
        for method, described in methods.items()
        if (described["parameters"] or "requestBody" in described)
        and len(seen[f"{method.upper()} {path}"]) < cases
    }


def test_no_generated_page_request_is_answered_with_a_5xx(served: Served) -> None:
    document = pages(served.patients, served.login_token)
    seen = no_server_error(served, document, PAGE_CASES, lambda case: {})
    short = too_few(document, seen, PAGE_CASES)
    assert not short, f"fewer than {PAGE_CASES} cases: {short}"
    # the session is a clinician's: the pages without an id open (not the login page)
    for label in ("GET /indication", "GET /worklist", "GET /patients", "GET /rules"):
        assert 200 in seen[label], (label, sorted(set(seen[label])))
    # and generated requests reach the record, and the planner behind its plan page
    assert 200 in seen["GET /patients/{patient_id}"]
    assert 422 in seen["GET /patients/{patient_id}/plan"]


def test_no_generated_cds_request_is_answered_with_a_5xx(served: Served) -> None:
    document = cds_document(served.services)
    seen = no_server_error(
        served, document, CDS_CASES, lambda case: served.cds_auth(case.formatted_path)
    )
    short = too_few(document, seen, CDS_CASES)
    assert not short, f"fewer than {CDS_CASES} cases: {short}"
    # generated calls are answered, not only refused: some with cards, some with a 400
    assert 200 in seen["POST /cds-services/{service_id}"]
    assert 400 in seen["POST /cds-services/{service_id}"]
    assert 200 in seen["POST /cds-services/{service_id}/feedback"]
