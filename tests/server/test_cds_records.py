"""CDS Hooks bookkeeping that must hold across restarts and clinics: replayed token ids and
the feedback rows EHRs send."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from dbhelp import bearer, fresh_engine
from posology.interop.cds_auth import Issuer, Verifier
from posology.server.app import create_app

ISS = "https://ehr.north.example/"
BASE = "https://testserver"
KEY = ec.generate_private_key(ec.SECP384R1())
SERVICE = "baclofen-order-sign"
FEEDBACK = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "outcomeTimestamp": "2026-12-01T09:00:00Z",
}


def verifier(clinic: str | None = None) -> Verifier:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    return Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]}, clinic=clinic)})


def token(path: str, jti: str | None = None) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": f"{BASE}{path}",
        "iat": now,
        "exp": now + 300,
        "jti": jti or str(uuid.uuid4()),
    }
    signed = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})
    return {"Authorization": f"Bearer {signed}"}


def hook_call() -> dict[str, Any]:
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "p1", "draftOrders": {
            "resourceType": "Bundle", "type": "collection", "entry": []}},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"},
                     "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
                     "medications": {"resourceType": "Bundle", "type": "searchset", "entry": []}},
    }  # fmt: skip


def test_a_replayed_cds_token_is_refused_after_a_restart_with_one_worker(tmp_path: Path) -> None:
    """One worker kept token ids in memory only: a restart forgot them and took a replay."""
    engine = fresh_engine(tmp_path)
    path = f"/cds-services/{SERVICE}"
    headers = token(path)
    with TestClient(create_app(engine, cds_verifier=verifier()), base_url=BASE) as first:
        assert first.post(path, headers=headers, json=hook_call()).status_code == 200
    # the server restarts: a new app, a new verifier, the same database
    with TestClient(create_app(engine, cds_verifier=verifier()), base_url=BASE) as second:
        replay = second.post(path, headers=headers, json=hook_call())
    assert replay.status_code == 401
    assert "replay" in replay.json()["issue"][0]["diagnostics"]


def test_cds_feedback_cannot_overwrite_the_recorded_issuer(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path)
    path = f"/cds-services/{SERVICE}/feedback"
    with TestClient(create_app(engine, cds_verifier=verifier()), base_url=BASE) as client:
        forged = client.post(
            path,
            headers=token(path),
            json={"feedback": [{**FEEDBACK, "issuer": "https://someone-else.example/"}]},
        )
    assert forged.status_code == 400
    assert "feedback[0].issuer" in forged.json()["issue"][0]["diagnostics"]


def test_cds_feedback_rows_belong_to_the_issuers_clinic(tmp_path: Path) -> None:
    """Feedback rows had no clinic: no clinic's audit trail showed them, and one clinic's item
    counted as a repeat of another's."""
    engine = fresh_engine(tmp_path)
    path = f"/cds-services/{SERVICE}/feedback"
    app = create_app(engine, cds_verifier=verifier(clinic="North"))
    north = bearer(engine, "doc@north.example", "North", "prescriber")
    south = bearer(engine, "doc@south.example", "South", "prescriber")
    with TestClient(app, base_url=BASE) as client:
        sent = client.post(path, headers=token(path), json={"feedback": [FEEDBACK]})
        assert sent.status_code == 200 and sent.json() == {"recorded": 1}
        north_rows = [r for r in client.get("/api/v1/audit", headers=north).json()
                      if r["action"] == "cds.feedback"]  # fmt: skip
        south_rows = [r for r in client.get("/api/v1/audit", headers=south).json()
                      if r["action"] == "cds.feedback"]  # fmt: skip
    assert len(north_rows) == 1 and south_rows == []
    assert north_rows[0]["detail"]["issuer"] == ISS
    assert north_rows[0]["detail"]["service"] == SERVICE


def test_cds_feedback_for_a_clinic_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path)
    path = f"/cds-services/{SERVICE}/feedback"
    app = create_app(engine, cds_verifier=verifier(clinic="Nowhere"))
    with TestClient(app, base_url=BASE) as client:
        sent = client.post(path, headers=token(path), json={"feedback": [FEEDBACK]})
    assert sent.status_code == 400 and "Nowhere" in sent.json()["issue"][0]["diagnostics"]
