"""The CDS service inside the EHR, against a real FHIR server: with no prefetch (or part of one)
it reads the patient's record from ``fhirServer`` with the ``fhirAuthorization`` token and gives
the cards it gives with the prefetch; its cards' smart links open Posology on the draft order."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from .conftest import App
from .launch import FhirServer, open_from_ehr, words
from .records import ORAL, ada

ISS = "https://north-ehr.example/"
KEY = ec.generate_private_key(ec.SECP384R1())
SERVICE = "baclofen-order-sign"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TABLET_10 = {
    "coding": [{"system": RXNORM, "code": "197391", "display": "baclofen 10 MG Oral Tablet"}]
}


@pytest.fixture
def cds(posology: App, fhir: FhirServer, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """Posology with the FHIR server as an EHR for launches and an allow-listed CDS issuer
    whose calls may name that FHIR server."""
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    jwks = {"keys": [{**public, "kid": "k1"}]}
    issuers = {ISS: {"jwks": jwks, "clinic": "North", "fhir": [fhir.base + "/"]}}
    monkeypatch.setenv("POSOLOGY_CDS_ISSUERS", json.dumps(issuers))
    return posology()


def post(client: TestClient, request: dict[str, Any]) -> Any:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": f"https://testserver/cds-services/{SERVICE}",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1"})
    return client.post(
        f"/cds-services/{SERVICE}", headers={"Authorization": f"Bearer {token}"}, json=request
    )


def draft(oid: str = "ada-draft", **medication: Any) -> dict[str, Any]:
    """Ada's draft order: 4 tablets of baclofen 10 mg three times a day (120 mg/day)."""
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/ada"},
        **(medication or {"medicationCodeableConcept": TABLET_10}),
        "authoredOn": "2026-12-01T09:00:00+00:00",
        "dosageInstruction": [
            {
                "route": ORAL,
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 4, "unit": "TAB"}}],
            }
        ],
    }


def hook(fhir: FhirServer, order: dict[str, Any], scope: str = "patient/*.rs") -> dict[str, Any]:
    """An order-sign call with no prefetch: the FHIR server and a token for Ada instead."""
    token = fhir.token("ada", scope)
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir.base,
        "fhirAuthorization": {**token, "patient": "ada"},
        "context": {
            "userId": "Practitioner/dr-north",
            "patientId": "ada",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
        },
    }


def labels(answer: Any) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return [(c["source"]["label"], c["indicator"]) for c in answer.json()["cards"]]


def test_with_no_prefetch_the_service_reads_the_fhir_server_and_gives_the_po_max_card(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    answer = post(cds, hook(fhir, draft()))
    found = labels(answer)
    assert ("Posology PO-MAX", "critical") in found
    # Ada's running order (60 mg/day) was read from the server: the step to 120 is checked
    assert any(label == "Posology PO-TITRATION" for label, _ in found), found
    assert not any("could not read" in c["detail"] for c in answer.json()["cards"])
    card = next(c for c in answer.json()["cards"] if c["source"]["label"] == "Posology PO-MAX")
    assert "120 mg/day" in card["summary"]
    assert json.loads(card["links"][0]["appContext"]) == {
        "draftOrder": "MedicationRequest/ada-draft"
    }


def test_the_cards_read_from_the_server_are_those_of_the_same_record_sent_as_prefetch(
    fhir: FhirServer, cds: TestClient
) -> None:
    record = ada()
    fhir.load(record)
    read = labels(post(cds, hook(fhir, draft())))
    sent = hook(fhir, draft())
    del sent["fhirServer"], sent["fhirAuthorization"]

    def bundle(kind: str, **match: str) -> dict[str, Any]:
        chosen = [
            r
            for r in record
            if r["resourceType"] == kind and all(str(r.get(k)) == v for k, v in match.items())
        ]
        return {"resourceType": "Bundle", "entry": [{"resource": r} for r in chosen]}

    sent["prefetch"] = {
        "patient": next(r for r in record if r["resourceType"] == "Patient"),
        "medications": {
            "resourceType": "Bundle",
            "entry": bundle("MedicationRequest", status="active")["entry"]
            + bundle("Medication")["entry"],
        },
        "administrations": bundle("MedicationAdministration"),
        "weight": bundle("Observation"),
        "clearance": bundle("Observation"),
        "conditions": bundle("Condition"),
    }
    assert labels(post(cds, sent)) == read


def test_a_partial_prefetch_is_completed_from_the_server(fhir: FhirServer, cds: TestClient) -> None:
    fhir.load(ada())
    request = hook(fhir, draft())
    request["prefetch"] = {
        "patient": {
            "resourceType": "Patient",
            "id": "ada",
            "birthDate": "1970-05-04",
            "gender": "female",
        }
    }
    assert ("Posology PO-MAX", "critical") in labels(post(cds, request))


def test_a_medication_reference_is_read_from_the_fhir_server(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())  # holds Medication/baclofen-10-tablet: ATC coded, 10 mg per tablet
    order = draft(medicationReference={"reference": "Medication/baclofen-10-tablet"})
    assert ("Posology PO-MAX", "critical") in labels(post(cds, hook(fhir, order)))


def test_what_the_token_may_not_read_is_a_card_and_the_checks_still_run(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    scope = "patient/Patient.r patient/MedicationRequest.rs patient/Medication.r"
    answer = post(cds, hook(fhir, draft(), scope))
    found = answer.json()["cards"]
    unread = next(c for c in found if c["source"]["label"] == "Posology FHIR reader")
    assert "weight could not be read" in unread["detail"]
    assert "HTTP 403" in unread["detail"]
    assert ("Posology PO-MAX", "critical") in labels(answer)


def test_no_prefetch_and_a_token_the_server_refuses_is_412_naming_the_patient(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    request = hook(fhir, draft())
    request["fhirAuthorization"]["access_token"] = "not-a-token-of-this-server"
    answer = post(cds, request)
    assert answer.status_code == 412, answer.text
    assert "patient" in answer.text and "not-a-token-of-this-server" not in answer.text


def test_no_prefetch_and_no_fhir_server_is_412(fhir: FhirServer, cds: TestClient) -> None:
    request = hook(fhir, draft())
    del request["fhirServer"], request["fhirAuthorization"]
    answer = post(cds, request)
    assert answer.status_code == 412 and "fhirServer" in answer.text


def test_a_slow_fhir_server_is_cut_off_and_named_never_a_500(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    request = hook(fhir, draft())
    request["prefetch"] = {
        "patient": {"resourceType": "Patient", "id": "ada", "birthDate": "1970-05-04"}
    }
    fhir.behave(fhir_delay_ms=6000)  # past the service's 5 s a read
    try:
        answer = post(cds, request)
    finally:
        fhir.behave(fhir_delay_ms=0)
    assert answer.status_code == 200, answer.text
    unread = answer.json()["cards"][0]
    assert "did not answer within 5 s" in unread["detail"]


def test_the_token_never_reaches_a_card_or_the_logs(
    fhir: FhirServer, cds: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    fhir.load(ada())
    request = hook(fhir, draft(), "patient/Patient.r patient/MedicationRequest.rs")
    token = request["fhirAuthorization"]["access_token"]
    with caplog.at_level(logging.DEBUG):
        answer = post(cds, request)
    assert answer.status_code == 200 and token not in answer.text
    assert token not in caplog.text


def test_opening_the_cards_smart_link_lands_on_the_draft_orders_findings(
    fhir: FhirServer, cds: TestClient
) -> None:
    order = draft()
    fhir.load([*ada(), order])  # the EHR keeps the order being signed as a draft
    card = next(
        c
        for c in post(cds, hook(fhir, draft())).json()["cards"]
        if c["source"]["label"] == "Posology PO-MAX"
    )
    [link] = card["links"]
    assert link["url"] == "https://testserver/smart/launch"
    page = open_from_ehr(cds, fhir, "ada", app_context=link["appContext"])
    assert page.status_code == 200, page.text
    text = words(page.text)
    focus = text.split("The order you opened from the EHR", 1)[1].split("Baclofen in the EHR", 1)[0]
    assert "MedicationRequest/ada-draft" in focus and "PO-MAX" in focus
    assert "120 mg/day" in focus
    assert 'aria-current="true"' in page.text  # highlighted in the history too
    assert "ada-draft: status draft" not in text  # the named draft is checked, not set aside


def test_an_app_context_naming_an_order_the_server_does_not_hold_is_said_on_the_page(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    context = json.dumps({"draftOrder": "MedicationRequest/never-saved"})
    page = open_from_ehr(cds, fhir, "ada", app_context=context)
    assert page.status_code == 200, page.text
    text = words(page.text)
    assert "The order MedicationRequest/never-saved could not be checked" in text
    assert "MedicationRequest/never-saved" in text.split("Not everything could be read", 1)[1]


def test_an_app_context_posology_did_not_write_is_ignored(
    fhir: FhirServer, cds: TestClient
) -> None:
    fhir.load(ada())
    page = open_from_ehr(cds, fhir, "ada", app_context="<script>alert(1)</script>")
    assert page.status_code == 200 and "The order you opened" not in page.text
    assert "<script>alert(1)" not in page.text


def test_a_fhir_server_not_configured_for_the_ehr_is_never_called(
    fhir: FhirServer, posology: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address to read comes in the call: one not configured for the calling EHR is not
    called (the FHIR server sees no request), and the 412 says why."""
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    issuers = {ISS: {"jwks": {"keys": [{**public, "kid": "k1"}]}, "fhir": "https://other.example"}}
    monkeypatch.setenv("POSOLOGY_CDS_ISSUERS", json.dumps(issuers))
    client = posology()
    fhir.load(ada())
    before = len(fhir.seen())
    answer = post(client, hook(fhir, draft()))
    assert answer.status_code == 412, answer.text
    assert "not one of the FHIR servers configured for this EHR" in answer.text
    assert fhir.base in answer.text
    assert [s for s in fhir.seen()[before:] if s["endpoint"] == "fhir"] == []
