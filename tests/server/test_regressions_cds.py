"""Regressions of the CDS Hooks service over HTTP with the real app (issue 9): every FHIR number
form reads the same, a refill in the prefetch is a refill, a repeated key is a 400."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.server.test_cds_hooks import BACLOFEN, INTRATHECAL, ISS, auth, call, cds, oral, order

__all__ = ["cds"]
SERVICE = "baclofen-order-sign"


def post_text(client: TestClient, text: str) -> Any:
    """Send the JSON text as written (``json=`` would respell its numbers)."""
    return client.post(
        f"/cds-services/{SERVICE}",
        headers={**auth(SERVICE), "Content-Type": "application/json"},
        content=text.encode(),
    )


def with_number(document: dict[str, Any], marker: int, spelling: str) -> str:
    """The document as JSON text with the number ``marker`` written as ``spelling``."""
    text = json.dumps(document)
    assert text.count(f": {marker}") == 1
    return text.replace(f": {marker}", f": {spelling}")


def labels(answer: Any) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {c["source"]["label"]: c["indicator"] for c in answer.json()["cards"]}


@pytest.mark.parametrize("spelling", ["500", "500.0", "5e2", "5.0E+2"])
def test_a_decimal_oral_dose_is_checked_not_left_unchecked(cds: TestClient, spelling: str) -> None:
    document = call("order-sign", [order("d1", **oral(987654))])
    found = labels(post_text(cds, with_number(document, 987654, spelling)))
    assert found.get("Posology PO-MAX") == "critical"  # 500 mg three times a day
    assert "Posology FHIR reader" not in found


def infusion_order(rate: int) -> dict[str, Any]:
    return order(
        "d2",
        route=INTRATHECAL,
        timing={"repeat": {"boundsPeriod": {"start": "2026-12-01T09:00:00+00:00"}}},
        doseAndRate=[{"rateQuantity": {"value": rate, "unit": "ug/d", "code": "ug/d"}}],
    )


@pytest.mark.parametrize("spelling", ["1000", "1000.0", "1e3"])
def test_a_decimal_infusion_rate_is_checked_the_same_as_an_integer(
    cds: TestClient, spelling: str
) -> None:
    document = call("order-sign", [infusion_order(987654)])
    found = labels(post_text(cds, with_number(document, 987654, spelling)))
    assert "Posology FHIR reader" not in found
    assert found == labels(post_text(cds, with_number(document, 987654, "1000")))
    assert found  # 1000 ug/d as a first infusion without a screening is not silent


def weight(value: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                    "effectiveDateTime": "2026-11-01",
                    "valueQuantity": {"value": value, "unit": "kg", "code": "kg"},
                }
            }
        ],
    }


def test_a_patient_weight_of_70_5_kg_gets_cards_not_a_400(cds: TestClient) -> None:
    document = call("order-sign", [order("d1", **oral(987654))])
    document["prefetch"]["weight"] = weight(123456)
    text = with_number(document, 987654, "500").replace(": 123456", ": 70.5")
    found = labels(post_text(cds, text))
    assert found.get("Posology PO-MAX") == "critical"


def refill_administration() -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationAdministration",
            "id": "a1",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "category": {"text": "pump refill"},
            "medicationCodeableConcept": BACLOFEN,
            "effectiveDateTime": "2026-11-20T10:00:00+00:00",
            "dosage": {
                "text": "20 mL of 500 ug/mL",
                "route": INTRATHECAL,
                "dose": {"value": 20, "unit": "mL", "code": "mL"},
            },
        }
    }


def test_a_refill_in_the_prefetch_is_not_read_as_a_10000_ug_test_dose(cds: TestClient) -> None:
    document = call("order-sign", [infusion_order(200)])
    document["prefetch"]["administrations"] = {
        "resourceType": "Bundle",
        "entry": [refill_administration()],
    }
    answer = post_text(cds, json.dumps(document))
    assert answer.status_code == 200, answer.text
    details = " ".join(c["summary"] + c["detail"] for c in answer.json()["cards"])
    assert "10000" not in details and "10 000" not in details


def test_a_repeated_key_in_a_hook_call_is_a_400_naming_it(cds: TestClient) -> None:
    document = call("order-sign", [order("d1", **oral(5))])
    text = json.dumps(document).replace('"hook": "order-sign"', '"hook": "order-sign", "hook": "x"')
    answer = post_text(cds, text)
    assert answer.status_code == 400
    assert "hook" in answer.text and "twice" in answer.text


def test_a_repeated_dose_in_a_check_body_is_a_400_naming_the_field(
    client: TestClient, accounts: Any
) -> None:
    body = (
        '{"patient": {"age_years": 46, "diagnosis": "multiple-sclerosis"}, "proposal": '
        '{"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "dose": "50 mg", '
        '"times_per_day": 3}}'
    )
    answer = client.post(
        "/api/v1/check",
        content=body.encode(),
        headers={**accounts.clinician, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert "proposal.dose" in answer.text


def test_the_audience_is_the_configured_public_url_never_the_callers_host(
    cds: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = "baclofen-order-sign"
    forged_host = {"Host": "attacker.example"}
    # a token minted for the attacker's host is refused, whatever Host the call names
    foreign = auth(service, aud=f"https://attacker.example/cds-services/{service}")
    answer = cds.post(
        f"/cds-services/{service}", headers={**foreign, **forged_host}, json=call("order-sign", [])
    )
    assert answer.status_code == 401 and "aud" in answer.json()["issue"][0]["diagnostics"]
    # a token for this server is accepted even when the call names another Host
    ours = cds.post(
        f"/cds-services/{service}",
        headers={**auth(service), **forged_host},
        json=call("order-sign", []),
    )
    assert ours.status_code == 200, ours.text


def test_a_long_lived_or_mis_keyed_cds_token_is_refused_never_a_500(cds: TestClient) -> None:
    import time

    import jwt as pyjwt

    service = "baclofen-order-sign"
    now = int(time.time())
    long_lived = cds.post(
        f"/cds-services/{service}",
        headers=auth(service, iat=now, exp=now + 86_400),
        json=call("order-sign", []),
    )
    assert long_lived.status_code == 401
    assert "longer than" in long_lived.json()["issue"][0]["diagnostics"]
    claims = {"iss": ISS, "aud": f"https://testserver/cds-services/{service}", "iat": now,
              "exp": now + 60, "jti": "forged-1"}  # fmt: skip
    forged = pyjwt.encode(claims, "a shared secret", algorithm="HS256", headers={"kid": "k1"})
    header = pyjwt.get_unverified_header(forged)
    assert header["alg"] == "HS256"
    _head, payload, signature = forged.split(".")
    for alg in ("RS256", "ES256", "PS256"):  # an algorithm that does not fit the EC key
        head = base64.urlsafe_b64encode(json.dumps({"alg": alg, "kid": "k1"}).encode())
        token = f"{head.rstrip(b'=').decode()}.{payload}.{signature}"
        answer = cds.post(
            f"/cds-services/{service}",
            headers={"Authorization": f"Bearer {token}"},
            json=call("order-sign", []),
        )
        assert answer.status_code == 401, (alg, answer.text)


def _bad_start(document: dict[str, Any]) -> None:
    resource = document["context"]["draftOrders"]["entry"][0]["resource"]
    repeat = resource["dosageInstruction"][0]["timing"]["repeat"]
    repeat["boundsPeriod"]["start"] = "x" * 200


def _condition_code(document: dict[str, Any]) -> None:
    document["prefetch"]["conditions"]["entry"][0]["resource"]["code"] = "24700007"


def _route_number(document: dict[str, Any]) -> None:
    dosage = document["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    dosage["route"] = 26643006


def _concept_list(document: dict[str, Any]) -> None:
    resource = document["context"]["draftOrders"]["entry"][0]["resource"]
    resource["medicationCodeableConcept"]["coding"] = ["M03BX01"]


def _history_timing(document: dict[str, Any]) -> None:
    taken = order("h1", **oral(5, start="2026-11-01T08:00:00+00:00"))
    taken["resource"]["status"] = "active"
    taken["resource"]["dosageInstruction"][0]["timing"] = ["TID"]
    document["prefetch"]["medications"]["entry"] = [taken]


def five_mg_call() -> dict[str, Any]:
    """A hook call that is answered with cards, as a copy the test may spoil."""
    document: dict[str, Any] = json.loads(json.dumps(call("order-sign", [order("d1", **oral(5))])))
    return document


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (lambda d: d.update(context=[d["context"]]), "context"),
        (lambda d: d.update(prefetch=[d["prefetch"]]), "prefetch"),
        (lambda d: d["prefetch"].update(patient="Patient/p1"), "prefetch.patient"),
        (_condition_code, "prefetch.conditions[0].code"),
        (_history_timing, "prefetch.medications[0].dosageInstruction[0].timing"),
        (
            lambda d: d["context"]["draftOrders"].update(entry={"resource": {}}),
            "context.draftOrders.entry",
        ),
        (
            _concept_list,
            "context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0]",
        ),
    ],
)
def test_a_hook_call_with_a_field_of_the_wrong_type_is_a_400_outcome_naming_it_not_a_500(
    cds: TestClient, spoil: Any, field: str
) -> None:
    """Each raised AttributeError inside the CDS service or the FHIR reader: the EHR got a 500
    and no word of what to fix."""
    document = five_mg_call()
    assert post_text(cds, json.dumps(document)).status_code == 200
    spoil(document)
    answer = post_text(cds, json.dumps(document))
    assert answer.status_code == 400, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith(f"{field}: must be a JSON")


@pytest.mark.parametrize(
    ("spoil", "field", "fragment"),
    [
        (
            _bad_start,
            "dosageInstruction[0].timing.repeat.boundsPeriod.start",
            "not a FHIR dateTime",
        ),
        (_route_number, "dosageInstruction[0].route", "must be a JSON object"),
    ],
)
def test_a_draft_order_with_a_field_of_the_wrong_type_gets_a_card_naming_it_not_a_500(
    cds: TestClient, spoil: Any, field: str, fragment: str
) -> None:
    """A draft the reader cannot read is answered as every unreadable draft is, with a card
    saying it was not checked and why (a start that is no date raised ValueError, a route
    that is a number AttributeError)."""
    document = five_mg_call()
    spoil(document)
    answer = post_text(cds, json.dumps(document))
    assert answer.status_code == 200, answer.text
    (card,) = answer.json()["cards"]
    assert card["source"]["label"] == "Posology FHIR reader"
    assert card["summary"].endswith(field)
    assert fragment in card["detail"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ('{"hook": "order-sign", "hookInstance": 1e400}', "hookInstance"),
        ('{"hook": "order-sign", "hook": "order-select"}', "hook"),
        ('{"hook": "order-sign\\u0000"}', "NUL"),
    ],
)
def test_a_hook_body_the_json_reader_refuses_is_a_400_operation_outcome_not_the_apis_error(
    cds: TestClient, text: str, fragment: str
) -> None:
    """The body's refusal escaped the route as the API's {"error": …} object: an EHR reads an
    OperationOutcome, as for every other refusal of the service."""
    for path in (f"/cds-services/{SERVICE}", f"/cds-services/{SERVICE}/feedback"):
        answer = cds.post(
            path,
            headers={
                **auth(path.removeprefix("/cds-services/")),
                "Content-Type": "application/json",
            },
            content=text.encode(),
        )
        assert answer.status_code == 400, answer.text
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome", outcome
        assert fragment in outcome["issue"][0]["diagnostics"]
