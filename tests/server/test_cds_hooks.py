"""The CDS Hooks service over HTTP: discovery, cards with quotes and suggestions, 412, feedback."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from casebuild import FIXTURES
from dbhelp import fresh_engine
from posology.interop.cds_auth import Issuer, Verifier
from posology.server.app import create_app

ISS = "https://ehr.example.com/"
BASE = "https://testserver"
BACLOFEN = {
    "coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"}]
}
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}
INTRATHECAL = {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]}
KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def cds(tmp_path: Path) -> Iterator[TestClient]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    verifier = Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]})})
    with TestClient(
        create_app(fresh_engine(tmp_path), cds_verifier=verifier), base_url=BASE
    ) as client:
        yield client


def auth(service: str, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    body = {
        "iss": ISS,
        "aud": f"{BASE}/cds-services/{service}",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return {
        "Authorization": "Bearer " + jwt.encode(body, KEY, algorithm="ES384", headers={"kid": "k1"})
    }


def order(oid: str, **dosage: Any) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationRequest",
            "id": oid,
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": BACLOFEN,
            "dosageInstruction": [dosage],
        }
    }


def oral(per_dose: float, start: str = "2026-12-01T08:00:00+00:00") -> dict[str, Any]:
    return {
        "route": ORAL,
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": start},
                "frequency": 3,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": per_dose,
                    "unit": "mg",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg",
                }
            }
        ],
    }


def call(
    hook: str, drafts: list[dict[str, Any]], medications: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": drafts},
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "male",
                "birthDate": "1975-03-02",
            },
            "medications": {"resourceType": "Bundle", "entry": medications or []},
            "conditions": {
                "resourceType": "Bundle",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Condition",
                            "code": {
                                "coding": [{"system": "http://snomed.info/sct", "code": "24700007"}]
                            },
                        }
                    }
                ],
            },
        },
    }


def test_discovery_lists_both_hooks(cds: TestClient) -> None:
    services = cds.get("/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign"}
    assert all("patient" in s["prefetch"] for s in services)


def test_order_sign_gives_a_critical_card_with_the_quote_and_a_safer_dose(cds: TestClient) -> None:
    service = "baclofen-order-sign"
    answer = cds.post(
        f"/cds-services/{service}",
        headers=auth(service),
        json=call("order-sign", [order("d1", **oral(40))]),
    )
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    top = next(c for c in cards if c["source"]["label"] == "Posology PO-MAX")
    assert top["indicator"] == "critical" and len(top["summary"]) <= 140
    assert "not more than 100mg" in top["detail"]
    assert top["overrideReasons"] and top["selectionBehavior"] == "at-most-one"
    action = top["suggestions"][0]["actions"][0]
    assert action["type"] == "update" and action["resource"]["id"] == "d1"
    new_dose = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert new_dose["value"] * 3 <= 100 and new_dose["code"] == "mg"


def test_order_select_gives_the_cards_of_order_sign_above_info_and_nothing_else(
    cds: TestClient,
) -> None:
    # 40 mg three times a day for a new patient: 120 mg/day is above PO-MAX (critical), and
    # order-sign also gives info cards that the light checks of order-select leave out
    drafts = [order("d1", **oral(40))]

    def cards(hook: str) -> list[tuple[str, str]]:
        service = f"baclofen-{hook}"
        answer = cds.post(
            f"/cds-services/{service}", headers=auth(service), json=call(hook, drafts)
        )
        assert answer.status_code == 200, answer.text
        return [(c["source"]["label"], c["indicator"]) for c in answer.json()["cards"]]

    sign, select = cards("order-sign"), cards("order-select")
    assert ("Posology PO-MAX", "critical") in select
    assert select == [c for c in sign if c[1] != "info"]
    assert any(indicator == "info" for _, indicator in sign), sign


def test_an_it_step_too_large_suggests_the_largest_allowed_step(cds: TestClient) -> None:
    running = {
        "resource": {
            "resourceType": "MedicationRequest",
            "id": "r1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": BACLOFEN,
            "dosageInstruction": [
                {
                    "route": INTRATHECAL,
                    "timing": {"repeat": {"boundsPeriod": {"start": "2026-11-01T09:00:00+00:00"}}},
                    "doseAndRate": [
                        {"rateQuantity": {"value": 200, "unit": "ug/d", "code": "ug/d"}}
                    ],
                }
            ],
        }
    }
    draft = order(
        "d2",
        route=INTRATHECAL,
        timing={"repeat": {"boundsPeriod": {"start": "2026-12-01T09:00:00+00:00"}}},
        doseAndRate=[{"rateQuantity": {"value": 300, "unit": "ug/d", "code": "ug/d"}}],
    )
    service = "baclofen-order-sign"
    cards = cds.post(
        f"/cds-services/{service}",
        headers=auth(service),
        json=call("order-sign", [draft], [running]),
    ).json()["cards"]
    step = next(c for c in cards if "IT-TITR-STEP" in c["source"]["label"])
    rate = step["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][
        0
    ]["rateQuantity"]
    assert rate["value"] == 260 and rate["code"] == "ug/d"  # MS: +30 % of 200 ug/day


def test_missing_prefetch_is_412_and_bad_tokens_401(cds: TestClient) -> None:
    service = "baclofen-order-sign"
    request = call("order-sign", [order("d1", **oral(5))])
    del request["prefetch"]["patient"]
    missing = cds.post(f"/cds-services/{service}", headers=auth(service), json=request)
    assert missing.status_code == 412 and missing.json()["resourceType"] == "OperationOutcome"
    wrong_aud = cds.post(
        f"/cds-services/{service}",
        headers=auth("baclofen-order-select"),
        json=call("order-sign", []),
    )
    assert wrong_aud.status_code == 401
    assert cds.post(f"/cds-services/{service}", json=call("order-sign", [])).status_code == 401


def test_a_draft_without_a_unit_gets_a_card_not_a_guess(cds: TestClient) -> None:
    bad = oral(5)
    bad["doseAndRate"][0]["doseQuantity"] = {"value": 5}
    service = "baclofen-order-sign"
    cards = cds.post(
        f"/cds-services/{service}",
        headers=auth(service),
        json=call("order-sign", [order("d1", **bad)]),
    ).json()["cards"]
    assert cards[0]["indicator"] == "warning" and "no unit" in cards[0]["detail"]


def test_feedback_is_recorded_once(cds: TestClient) -> None:
    service = "baclofen-order-sign"
    example = FIXTURES / "cds-hooks" / "feedback-overridden-with-reason.json"
    body = json.loads(example.read_text())
    first = cds.post(
        f"/cds-services/{service}/feedback",
        headers=auth(service, aud=f"{BASE}/cds-services/{service}/feedback"),
        json=body,
    )
    again = cds.post(
        f"/cds-services/{service}/feedback",
        headers=auth(service, aud=f"{BASE}/cds-services/{service}/feedback"),
        json=body,
    )
    assert first.json() == {"recorded": 1} and again.json() == {"recorded": 0}


def test_a_replayed_token_is_refused_by_another_worker_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two app instances on one database stand for two server processes
    monkeypatch.setenv("POSOLOGY_WORKERS", "2")
    engine = fresh_engine(tmp_path)
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    apps = [
        create_app(
            engine, cds_verifier=Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]})})
        )
        for _ in range(2)
    ]
    service = "baclofen-order-sign"
    headers = auth(service)
    body = call("order-sign", [])
    with TestClient(apps[0], base_url=BASE) as one, TestClient(apps[1], base_url=BASE) as two:
        assert one.post(f"/cds-services/{service}", headers=headers, json=body).status_code == 200
        replay = two.post(f"/cds-services/{service}", headers=headers, json=body)
        assert replay.status_code == 401 and "replay" in replay.json()["issue"][0]["diagnostics"]


def test_the_file_replay_guard_refuses_a_second_sighting(tmp_path: Path) -> None:
    from posology.store.replay import FileReplayGuard

    one, two = FileReplayGuard(tmp_path / "ids"), FileReplayGuard(tmp_path / "ids")
    assert one.remember("abc", time.time() + 60) is True
    assert two.remember("abc", time.time() + 60) is False
    one.remember("old", time.time() - 1)
    one.sweep()
    assert two.remember("old", time.time() + 60) is True  # forgotten once expired


def test_our_cards_carry_the_fields_of_the_specs_example_cards(cds: TestClient) -> None:
    example = FIXTURES / "cds-hooks" / "response-cards.json"
    spec_cards = json.loads(example.read_text())["cards"]
    required = {"summary", "indicator", "source"}
    assert all(required <= set(c) for c in spec_cards)  # the spec's own examples have them
    service = "baclofen-order-sign"
    ours = cds.post(
        f"/cds-services/{service}",
        headers=auth(service),
        json=call("order-sign", [order("d1", **oral(40))]),
    ).json()["cards"]
    assert ours and all(required <= set(c) and "label" in c["source"] for c in ours)
    assert {c["indicator"] for c in ours} <= {"info", "warning", "critical"}


def test_cors_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSOLOGY_CORS_ORIGINS", "https://ehr.example")
    with TestClient(create_app(fresh_engine(tmp_path)), base_url=BASE) as client:
        answer = client.options(
            "/cds-services",
            headers={"Origin": "https://ehr.example", "Access-Control-Request-Method": "GET"},
        )
        assert answer.headers.get("access-control-allow-origin") == "https://ehr.example"
        other = client.options(
            "/cds-services",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert other.headers.get("access-control-allow-origin") is None
