"""Mutated bodies of every operation the server describes, sent to the real app in-process:
no answer may be a 5xx.

Each operation (path and method) is taken from the app's own OpenAPI document; bodies start
from valid documents built here and are mutated, one to three times each, by a seeded random
choice of: a wrong type, a huge or tiny or over-long number, a quantity, instant or clock time
no reader expects, a text with NUL, a lone surrogate, control characters or 100,000 characters,
a key removed, added, misspelt or given twice, a list where an object is due (and the reverse),
nesting hundreds or tens of thousands deep, thousands of list items, and bodies that are not
JSON at all. Path ids, query values and the If-Match and Idempotency-Key headers are mutated too.
The run is deterministic (one seed) and every 5xx is reported with the request that caused it
and the innermost line of the engine it came from, grouped by cause.
"""

from __future__ import annotations

import json
import random
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from dbhelp import bearer, fresh_engine
from posology.interop.cds_auth import Issuer, Verifier
from posology.server.app import create_app

SEED = 20261202
BODY_CASES = 150  # per operation with a JSON body
PLAIN_CASES = 20  # per operation without one (path, query and header mutations)
MIN_CASES = 1_000
BASE = "https://testserver"
ISS = "https://ehr.example.com/"
KEY = ec.generate_private_key(ec.SECP384R1())
CLINICIAN = ("doc@north.example", "correct horse battery")

# -- valid documents to start from -----------------------------------------------------------

ORAL_PATIENT = {"age_years": 50, "diagnosis": "stroke", "weight_kg": 70, "sex": "female"}
IT_PATIENT = {
    "age_years": 39,
    "sex": "male",
    "diagnosis": "spinal-cord-injury",
    "spasticity_stable": True,
    "creatinine_clearance_ml_min": 90,
    "pump": {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"},
}
ORAL_HISTORY = [
    {"at": "2026-11-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3},
    {
        "at": "2026-11-04T08:00",
        "kind": "oral-regimen",
        "doses": ["5 mg", "5 mg", "10 mg"],
        "times": ["08:00", "13:00", "20:00"],
        "form": "tablet",
        "strength": "10 mg",
    },
]
IT_HISTORY = [
    {"at": "2026-10-01T09:00", "kind": "it-test-dose", "dose": "50 ug",
     "response": {"effect": True, "duration_h": 6}},
    {"at": "2026-10-31T09:00", "kind": "pump-implant"},
    {"at": "2026-11-01T09:00", "kind": "pump-refill", "concentration": "500 ug/mL",
     "volume_ml": 20, "alarm_ml": 2, "lot": "L2403A", "checked_by": "A. Nurse"},
    {"at": "2026-11-01T09:00", "kind": "it-infusion", "daily_dose": "250 ug/d"},
]  # fmt: skip
FLEX = {
    "at": "2026-11-20T09:00",
    "kind": "it-infusion",
    "daily_dose": "250 ug/d",
    "schedule": [
        {"start": "00:00", "daily_rate": "200 ug/d"},
        {"start": "12:00", "daily_rate": "300 ug/d"},
    ],
}
REFILL = {
    "at": "2026-11-20T09:00",
    "kind": "pump-refill",
    "concentration": "1000 ug/mL",
    "volume_ml": 20,
    "residual_ml": 9,
    "lot": "L2403A",
    "checked_by": "A. Nurse",
    "bridge_volume_ml": 0.5,
}
PROPOSALS: list[dict[str, Any]] = [
    {"at": "2026-11-07T08:00", "kind": "oral-regimen", "dose": "10 mg", "times_per_day": 3},
    {"at": "2026-11-20T09:00", "kind": "it-infusion", "daily_dose": "300 ug/d"},
    FLEX,
    REFILL,
    {"at": "2026-11-20T09:00", "kind": "it-test-dose", "dose": "75 ug"},
    {"at": "2026-11-20T09:00", "kind": "oral-stop"},
    {"at": "2026-11-20T09:00", "kind": "it-stop"},
    {"at": "2026-11-20T09:00", "kind": "it-stable"},
    {"at": "2026-11-20T09:00", "kind": "review", "note": "seen in clinic\nno change"},
]
GOALS: list[dict[str, Any]] = [
    {"kind": "oral-titration", "target_daily_dose": "60 mg", "times_per_day": 3, "form": "tablet"},
    {"kind": "oral-titration", "night_only": True},
    {"kind": "oral-taper", "form": "solution"},
    {"kind": "it-screening"},
    {"kind": "it-titration", "target_daily_dose": "400 ug/d"},
    {"kind": "it-refill", "concentration": "500 ug/mL", "alarm_ml": 2},
    {"kind": "it-flex", "night_onset": "22:00", "night_end": "07:00"},
    {"kind": "it-tolerance-holiday"},
    {"kind": "it-taper"},
]
START = "2026-12-01T09:00"
LATER = "2027-02-01T09:00"  # after every event the run records for the stored patients


def cases(rng: random.Random) -> dict[str, Any]:
    oral = rng.random() < 0.5
    return {
        "patient": ORAL_PATIENT if oral else IT_PATIENT,
        "history": ORAL_HISTORY if oral else IT_HISTORY,
        "proposal": PROPOSALS[0] if oral else rng.choice(PROPOSALS[1:]),
    }


def plan_requests(rng: random.Random) -> dict[str, Any]:
    goal = rng.choice(GOALS)
    oral = goal["kind"].startswith("oral")
    return {
        "patient": ORAL_PATIENT if oral else IT_PATIENT,
        "history": ORAL_HISTORY if oral else IT_HISTORY,
        "goal": goal,
        "start": START,
    }


def cds_call(rng: random.Random) -> dict[str, Any]:
    dosage = {
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]},
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": "2026-12-01T08:00:00+00:00"},
                "frequency": 3,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": 10,
                    "unit": "mg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg",
                }
            }
        ],
    }
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    medicine = rng.choice(
        [
            {"system": "http://www.whocc.no/atc", "code": "M03BX01"},
            {"system": rxnorm, "code": "197391"},  # the 10 mg tablet: a dose in tablets reads
            {"system": rxnorm, "code": "1292"},  # the ingredient: tablets of unknown strength
            {"system": rxnorm, "code": "999999999", "display": "another medicine"},
        ]
    )
    if rng.random() < 0.4:  # doses as EHRs write them: tablets, with or without a UCUM code
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": rng.choice([1, 4, 0, -1]), "unit": "TAB"}}
        ]
    if rng.random() < 0.3:  # no start: authoredOn or the hook's time
        del dosage["timing"]["repeat"]["boundsPeriod"]  # type: ignore[attr-defined]
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "rx1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [medicine]},
        "dosageInstruction": [dosage],
    }
    if rng.random() < 0.3:  # a contained Medication, or one the prefetch does not hold
        resource["medicationReference"] = {"reference": rng.choice(["#m1", "Medication/m9"])}
        resource["contained"] = [
            {
                "resourceType": "Medication",
                "id": "m1",
                "code": resource.pop("medicationCodeableConcept"),
            }
        ]
    order = {"resource": resource}
    call = {
        "hook": rng.choice(["order-sign", "order-select"]),
        "hookInstance": str(uuid.UUID(int=rng.getrandbits(128))),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": [order]},
            "selections": ["MedicationRequest/rx1"],
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "male",
                "birthDate": "1975-03-02",
            },
            "medications": {"resourceType": "Bundle", "entry": []},
        },
    }
    if rng.random() < 0.2:  # a server the service may not call (plain http elsewhere): a 400
        call["fhirServer"] = "http://ehr.example.com/fhir"
        call["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer"}
    return call


def cds_feedback(rng: random.Random) -> dict[str, Any]:
    return {
        "feedback": [
            {
                "card": str(uuid.UUID(int=rng.getrandbits(128))),
                "outcome": "overridden",
                "overrideReasons": [{"reason": {"code": "benefit-outweighs-risk"}}],
                "outcomeTimestamp": "2026-12-01T08:00:00Z",
            }
        ]
    }


def patient_input(rng: random.Random) -> dict[str, Any]:
    return {
        "patient": rng.choice([ORAL_PATIENT, IT_PATIENT]),
        "label": "A.B.",
        "name": "Ann Example",
        "birth_date": "1980-06-30",
        "record_number": f"MRN-{rng.randrange(10**9)}",
        "confirm_duplicate": True,
    }


def event_input(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"event": dict(rng.choice(PROPOSALS))}
    body["event"]["at"] = f"2026-12-{rng.randrange(1, 28):02d}T{rng.randrange(24):02d}:00"
    extra = rng.choice(["reason", "override", "correction", "none"])
    if extra == "reason":
        body["override_reason"] = "recorded from the referral letter"
    elif extra == "override":
        body["override"] = {"code": "benefit-outweighs-risk", "text": "discussed"}
        body["retyped_dose"] = "10 mg"
        body["cosigner"] = {"email": "pharm@north.example", "password": "pharmacist secret"}
    elif extra == "correction":
        body["supersedes"] = rng.randrange(1, 8)
        body["correction"] = {
            "kind": rng.choice(["correction", "entered-in-error"]),
            "text": "typo",
        }
    return body


SEEDS: dict[tuple[str, str], Callable[[random.Random], Any]] = {
    ("post", "/api/v1/check"): cases,
    ("post", "/api/v1/plan"): plan_requests,
    ("post", "/api/v1/login"): lambda rng: {"email": CLINICIAN[0], "password": CLINICIAN[1]},
    ("post", "/api/v1/patients"): patient_input,
    ("put", "/api/v1/patients/{patient_id}"): patient_input,
    ("post", "/api/v1/patients/{patient_id}/events"): event_input,
    ("post", "/api/v1/patients/{patient_id}/check"): lambda rng: {
        "proposal": rng.choice(PROPOSALS)
    },
    ("post", "/api/v1/patients/{patient_id}/refill-preview"): lambda rng: {
        "event": REFILL,
        "infusion": {"at": "2026-11-20T09:05", "kind": "it-infusion", "daily_dose": "300 ug/d"},
    },
    ("post", "/api/v1/patients/{patient_id}/plans"): lambda rng: {
        "goal": rng.choice(GOALS),
        "start": LATER,
    },
    (
        "post",
        "/api/v1/patients/{patient_id}/plans/{plan_id}/steps/{position}/confirm",
    ): lambda rng: rng.choice(
        [{}, {"override_reason": "agreed with the patient"}, {"retyped_dose": "5 mg"}]
    ),
    ("post", "/cds-services/{service_id}"): cds_call,
    ("post", "/cds-services/{service_id}/feedback"): cds_feedback,
}

# -- mutation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (a number no Python float can hold, nesting, a bad token)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object as written, so that a key can be given twice."""

    items: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return dump(Pairs(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # escapes a lone surrogate as \ud800, as a client would send it


NUMBERS = [
    "1e10000000", "-1e10000000", "1e-10000000", "0e-10000000", "1e-400", "1e400", "9" * 5000,
    "-9" + "9" * 4400, "-0", "0", "-1", "1e-31", "1" + "0" * 40, "0." + "0" * 40 + "1",
    "123456789012345678901234567890.5", "2147483648", "9223372036854775808", "1E+30", "5e-324",
    "1.7976931348623157e308", "3.0", "1e0", "0.1", "400.0000000000000001", "1e-30", "-1e-30",
]  # fmt: skip
TEXTS = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\udc00\ud800", "\U0001f48a", "\u202e01 mg",
    "\x1b[2J", "\r\n", "\t", "x" * 100_000, "\u00e9" * 5000, "'; DROP TABLE events; --",
    "%00", "null", "\\", '"', "\ufeff", "\uffff", "\U0001d7d3 mg", "doc@north.example\x00x",
]  # fmt: skip
QUANTITIES = [
    "1e10000000 mg", "1e-10000000 ug", "1e-400 mg", "1e400 mg", "9" * 5000 + " mg", "0 mg",
    "-5 mg", "NaN mg", "inf mg", "5", "5 kg", "5 mg/kg/d", "5 ug/mL/d", "5 %", "1,5 mg",
    "5 mg" + " " * 3000 + "x", "5 x" + " " * 20_000 + "y", "\u0665 mg", "0x10 mg", "1_000 mg",
    "5 mg/d/d", "5 MG", "5 \u00b5g", ".5 mL", "5. mg", "1e30 g", "1e-30 ug/d", "9" * 29 + " mg/d",
    "0." + "0" * 29 + "1 mg", "1e29 mg/d", "1e-29 mg/mL", "5 mg\x00", "5 \ud800g", "1e30 ug/h",
]  # fmt: skip
INSTANTS = [
    "9999-12-31T23:59", "9999-12-31T23:59:59.999999+00:00", "9999-12-31T23:59-14:00",
    "9999-12-30T09:00", "0001-01-01T00:00", "0001-01-01T00:00+14:00", "0001-01-02T00:00",
    "2026-02-30T08:00", "2026-12-01T24:00", "2026-12-01", "2026-12-01T08:00Z",
    "2026-12-01T08:00+25:00", "20261201T0800", "2026-12-01T08:00:00.123456789", "T",
    "1900-01-01T00:00", "2026-03-29T02:30", "2026-10-25T02:30", "2026-12-01T08:00+05:30",
    "9000-01-01T00:00", "8999-12-31T23:59", "2099-12-31T23:59", "2026-12-01T08:00\x00",
]  # fmt: skip
CLOCKS = ["24:00", "23:60", "8:00", "08:00:00", "-01:00", "00:00", "23:59", "\u0660\u0668:00"]
WRONG = [None, True, False, 0, -1, 1.5, "", "x", [], {}, [None], {"": None}]
# Values a reader accepts, at the edges of what it accepts: they reach the engine behind it.
EDGES = [
    "1e29 ug/d", "1e-29 mg", "0.001 ug", "1e29 ug/mL", "1e-29 ug/mL", "1e29 mg/d", "9e29 mL",
    "1e-29 mL/d", "0.5 mL", "100 mL", "1e29 mg", "1e-29 ug/d", "72 h", "1e29 h", "1e-29 d",
    "9000-12-31T23:59", "1000-01-01T00:00", "9000-12-31T23:59-23:59", "1000-01-01T00:00+23:59",
    "2026-12-01T08:00:00.000001", "2027-01-31T23:59", "00:00", "23:59", "12:00",
]  # fmt: skip
EDGE_NUMBERS = [0.0001, 1e-29, 1e29, 400, 399.999, 100, 130, 0.5, 72, 24, 6, 1, 2, 10, 300, 20]
KEYS = ["extra", "wieght_kg", "", "\x00", "\ud800", "__proto__", "k" * 10_000, "at", "kind"]


def nodes(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every node of a document (the root first)."""
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*here, index))


def at_path(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with the node at ``path`` replaced (the rest shared, never changed)."""
    if not path:
        return new
    step, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, step: replaced(value[step], rest, new)}
    copy = list(value)
    copy[step] = replaced(value[step], rest, new)
    return copy


def small(node: Any) -> bool:
    """Whether thousands of copies of ``node`` still make a body of about a megabyte."""
    return len(dump(node)) <= 200


def mutate_node(node: Any, rng: random.Random) -> Any:
    choice = rng.random()
    if choice < 0.12:
        return rng.choice(WRONG)
    if choice < 0.2:
        depth = rng.choice([40, 70, 300, 1_000, 10_000, 60_000])
        return Raw("[" * depth + dump(node) + "]" * depth)
    if isinstance(node, str):
        table = rng.choice([TEXTS, QUANTITIES, INSTANTS, CLOCKS, EDGES, EDGES, VALID_TEXTS])
        return rng.choice(table)
    if isinstance(node, bool) or node is None:
        return rng.choice([*WRONG, Raw(rng.choice(NUMBERS))])
    if isinstance(node, (int, float)):
        return Raw(rng.choice(NUMBERS)) if rng.random() < 0.5 else rng.choice(EDGE_NUMBERS)
    if isinstance(node, dict):
        keys = list(node)
        action = rng.choice(["drop", "add", "twice", "rename", "list", "numbers", "empty"])
        if action == "drop" and keys:
            return {k: v for k, v in node.items() if k != rng.choice(keys)}
        if action == "twice" and keys:
            key = rng.choice(keys)
            return Pairs((*node.items(), (key, mutate_node(node[key], rng))))
        if action == "rename" and keys:
            key = rng.choice(keys)
            return {(k + "x" if k == key else k): v for k, v in node.items()}
        if action == "list":
            return [node] * rng.choice([1, 2, 6_000 if small(node) else 3])
        if action == "numbers":
            return {k: Raw(rng.choice(NUMBERS)) for k in keys}
        if action == "empty":
            return {}
        return {**node, rng.choice(KEYS): rng.choice([*WRONG, *TEXTS[:4], node])}
    if isinstance(node, list):
        action = rng.choice(["empty", "many", "object", "wrong-items"])
        if action == "empty" or not node:
            return []
        if action == "many":
            item = rng.choice(node)
            return [item] * rng.choice([25, 5_001, 16_000] if small(item) else [25, 2])
        if action == "object":
            return {str(i): v for i, v in enumerate(node)}
        return [rng.choice(WRONG) for _ in node]
    return rng.choice(WRONG)


def mutate(document: Any, rng: random.Random) -> str:
    """The JSON text of ``document`` with one to three mutations, or a body that is no JSON."""
    if rng.random() < 0.08:
        return rng.choice(
            [
                "",
                "null",
                "[]",
                "{",
                '{"a":1,}',
                "\ufeff{}",
                "1" * 5_000,
                '{"a":' * 20_000 + "1" + "}" * 20_000,
                "[" * 200_000,
                "NaN",
                '{"a": Infinity}',
                dump([document]),
                dump(document)[:-1],
                "\ud800",
                "x" * 1_100_000,
            ]
        )
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = list(nodes(document))
        path = rng.choice(paths)
        document = replaced(document, path, mutate_node(at_path(document, path), rng))
    return dump(document)


def _texts() -> list[str]:
    """Every text of every seed document: a valid value of one field, tried in another."""
    rng = random.Random(0)
    found: set[str] = set()
    for seed in SEEDS.values():
        for _ in range(8):
            document = seed(rng)
            found |= {v for p in nodes(document) if isinstance(v := at_path(document, p), str)}
    return sorted(found)


VALID_TEXTS = _texts()

# -- the app under test ---------------------------------------------------------------------


@dataclass
class Server:
    client: TestClient
    headers: dict[str, dict[str, str]]  # by role
    patients: list[int]
    plan: int
    services: list[str]
    schema: dict[str, Any]
    jti: int = 0

    def cds_auth(self, service_path: str) -> dict[str, str]:
        self.jti += 1
        now = int(time.time())
        claims = {
            "iss": ISS,
            "aud": f"{BASE}{service_path}",
            "iat": now,
            "exp": now + 300,
            "jti": f"fuzz-{self.jti}",
        }
        token = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(Path(tmp_path_factory.mktemp("fuzz")))


def serve(folder: Path) -> Iterator[Server]:
    """The app on a fresh database with accounts, two patients with histories and a plan."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POSOLOGY_PUBLIC_URL", BASE)  # the audience CDS tokens name
        yield from _serve(folder)


def _serve(folder: Path) -> Iterator[Server]:
    engine = fresh_engine(folder)
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    verifier = Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]})})
    app = create_app(engine, cds_verifier=verifier)
    headers = {
        "clinician": bearer(engine, CLINICIAN[0], "North", "prescriber", CLINICIAN[1]),
        "pharmacist": bearer(
            engine, "pharm@north.example", "North", "pharmacist", "pharmacist secret"
        ),
        "admin": bearer(engine, "admin@north.example", "North", "admin"),
        "other": bearer(engine, "doc@south.example", "South", "prescriber"),
        "none": {},
    }
    with TestClient(app, base_url=BASE) as client:
        doc = headers["clinician"]
        patients = []
        for patient, history in ((ORAL_PATIENT, ORAL_HISTORY), (IT_PATIENT, IT_HISTORY)):
            made = client.post("/api/v1/patients", headers=doc, json={"patient": patient})
            assert made.status_code == 201, made.text
            pid = made.json()["id"]
            for event in history:
                added = client.post(
                    f"/api/v1/patients/{pid}/events",
                    headers=doc,
                    json={"event": event, "override_reason": "recorded from the referral letter"},
                )
                assert added.status_code == 201, added.text
            patients.append(pid)
        plan = client.post(
            f"/api/v1/patients/{patients[0]}/plans",
            headers=doc,
            json={"goal": GOALS[0], "start": LATER},
        )
        assert plan.status_code == 201, plan.text
        services = [s["id"] for s in client.get("/cds-services").json()["services"]]
        yield Server(client, headers, patients, plan.json()["id"], services, app.openapi())
    engine.dispose()
    # The pump clinic's caches are kept per process and keyed by patient id and version, not by
    # database: left filled, this run's patients would stand in for the next test's patients of
    # the same ids (reported; until the key names the database, empty them here).
    from posology.services import pump

    pump._CACHE.clear()
    pump._FIXED.clear()


# -- one request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A request answered with a 5xx (or that raised out of the app, which a server answers 500)."""

    method: str
    url: str
    body: str
    status: int
    cause: str

    @property
    def kind(self) -> str:
        """The exception and where it came from, without the values that differ by request."""
        return self.cause.split(": ")[0] + self.cause.rpartition(" at ")[2]

    def __str__(self) -> str:
        body = (
            self.body if len(self.body) <= 300 else f"{self.body[:300]}… ({len(self.body)} chars)"
        )
        return (
            f"{self.status} {self.method.upper()} {self.url}\n    body: {body!r}\n    {self.cause}"
        )


def cause_of(exc: BaseException) -> str:
    """The exception and the innermost line of the engine it passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "posology" in f.filename]
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {last.filename.split('src/')[-1]}:{last.lineno} in {last.name}"
    return f"{type(exc).__name__}: {str(exc)[:160]}{where}"


def ids(server: Server, rng: random.Random, name: str) -> str:
    if rng.random() < 0.85:
        if name == "patient_id":
            return str(rng.choice(server.patients))
        if name == "plan_id":
            return str(server.plan)
        if name == "position":
            return str(rng.randrange(6))
        if name == "event_id":
            return str(rng.randrange(1, 12))
        if name == "service_id":
            return rng.choice(server.services)
        if name == "rule_id":
            return rng.choice(["PO-TITRATION", "IT-PAED-UNDER4", "po-titration"])
    return rng.choice(
        ["0", "-1", "2147483648", "9" * 30, "abc", "1e3", "%C2%B9", "%00", "%F0%9F%92%8A",
         "..%2F..", "1.0", " 1", "\u0663"]
    )  # fmt: skip


QUERIES = {
    "q": ["Ann", "", "x" * 201, "%", "_", "%00", "%ED%A0%80", "'", "\u00e9"],
    "route": ["oral", "intrathecal", "ORAL", "", "%00"],
    "filter": ["due", "overdue", "", "x" * 500, "%00"],
}


def request_for(
    server: Server, rng: random.Random, method: str, template: str, operation: dict[str, Any]
) -> tuple[str, str, str | None, dict[str, str]]:
    url = template
    query = []
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            url = url.replace("{" + name + "}", ids(server, rng, name))
        elif where == "query" and rng.random() < 0.7:
            query.append(f"{name}={rng.choice(QUERIES.get(name, ['x']))}")
    if query:
        url += "?" + "&".join(query)
    role = rng.choices(
        ["clinician", "pharmacist", "admin", "other", "none"], weights=[80, 8, 4, 4, 4]
    )[0]
    headers = dict(server.headers[role])
    if template.startswith("/cds-services/"):
        headers = server.cds_auth(url.split("?")[0]) if rng.random() < 0.9 else {}
    if rng.random() < 0.15:
        headers["Idempotency-Key"] = rng.choice(
            ["k1", "k1", "", "k" * 5_000, "k\\x00", "a b", str(rng.randrange(10))]
        )
    if method == "put":
        current = server.client.get(url.split("?")[0], headers=server.headers["clinician"])
        version = current.headers.get("etag", '"1"')
        headers["If-Match"] = (
            version
            if rng.random() < 0.8
            else rng.choice(['"0"', '"-1"', '"' + "9" * 40 + '"', "W/", "x"])
        )
    elif rng.random() < 0.05:
        headers["If-Match"] = rng.choice(['"1"', '"' + "9" * 40 + '"', "W/x", '""'])
    seed = SEEDS.get((method, template))
    body = None if seed is None else mutate(seed(rng), rng)
    if body is not None:
        headers["Content-Type"] = "application/json"
    return method, url, body, headers


def send(
    server: Server, method: str, url: str, body: str | None, headers: dict[str, str]
) -> tuple[int, str]:
    """The status of the answer and, for a 5xx, its cause ("" for any other)."""
    content = None if body is None else body.encode("utf-8", "surrogatepass")
    try:
        answer = server.client.request(method, url, content=content, headers=headers)
    except Exception as exc:  # the app raised: a server would have answered 500
        return 500, cause_of(exc)
    if answer.status_code >= 500:
        return answer.status_code, f"answered {answer.status_code}: {answer.text[:200]}"
    return answer.status_code, ""


def operations(server: Server) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in server.schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_each_seed_body_is_accepted_so_that_mutations_reach_the_engine(server: Server) -> None:
    """Unmutated, every seed is answered 2xx at least once in a few draws (a seed the server
    refuses would leave everything behind its first check untried)."""
    rng = random.Random(SEED)
    refused = {}
    for method, template, _operation in operations(server):
        seed = SEEDS.get((method, template))
        if seed is None:
            continue
        answers = []
        for draw in range(6):
            url = (
                template.replace("{patient_id}", str(server.patients[draw % 2]))
                .replace("{plan_id}", str(server.plan))
                .replace("{position}", str(draw))
                .replace("{service_id}", server.services[draw % len(server.services)])
            )
            headers = dict(server.headers["clinician"])
            if template.startswith("/cds-services/"):
                headers = server.cds_auth(url)
            if method == "put":
                current = server.client.get(url, headers=headers)
                headers["If-Match"] = current.headers["etag"]
            status, _ = send(server, method, url, dump(seed(rng)), headers)
            answers.append(status)
        if not any(200 <= status < 300 for status in answers):
            refused[(method, template)] = answers
    assert not refused, f"seed bodies refused every time: {refused}"


def test_no_mutated_request_to_any_operation_is_answered_with_a_5xx(server: Server) -> None:
    rng = random.Random(SEED)
    every = operations(server)
    assert len(every) >= 25
    missing = set(SEEDS) - {(m, p) for m, p, _ in every}
    assert not missing, f"operations with a seed body are gone from the API document: {missing}"
    failures: list[Failure] = []
    sent = 0
    for method, template, operation in every:
        count = BODY_CASES if (method, template) in SEEDS else PLAIN_CASES
        for _ in range(count):
            _, url, body, headers = request_for(server, rng, method, template, operation)
            status, cause = send(server, method, url, body, headers)
            sent += 1
            if cause:
                failures.append(Failure(method, url, body or "", status, cause))
    assert sent >= MIN_CASES
    by_kind: dict[str, list[Failure]] = {}
    for failure in failures:
        by_kind.setdefault(failure.kind, []).append(failure)
    report = "\n".join(
        f"[{len(group)}x] {group[0]}" for group in sorted(by_kind.values(), key=len, reverse=True)
    )
    assert not failures, f"{len(failures)} of {sent} requests answered 5xx:\n{report}"
