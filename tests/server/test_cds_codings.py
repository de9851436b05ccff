"""CDS cards for medication codings as EHRs send them: RxNorm products and tablets, a
``medicationReference`` (contained or in the prefetch), a start from ``authoredOn`` or the hook's
time, an unknown tablet strength, other medicines, and the smart link each card carries."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient

from .test_cds_hooks import ORAL, auth, call, cds  # noqa: F401 - cds is a fixture

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SERVICE = "baclofen-order-sign"
TABLET_10 = {
    "coding": [{"system": RXNORM, "code": "197391", "display": "baclofen 10 MG Oral Tablet"}]
}
INGREDIENT = {"coding": [{"system": RXNORM, "code": "1292", "display": "baclofen"}]}


def tablets(count: float, unit: str = "TAB", code: str | None = None) -> dict[str, Any]:
    """A dosage of ``count`` tablets three times a day, as an EHR writes one (no mass)."""
    quantity: dict[str, Any] = {"value": count, "unit": unit}
    if code is not None:
        quantity.update(system="http://unitsofmeasure.org", code=code)
    return {
        "route": ORAL,
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": "2026-12-01T08:00:00+00:00"},
                "frequency": 3,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "doseAndRate": [{"doseQuantity": quantity}],
    }


def draft(oid: str, dosage: dict[str, Any], **medication: Any) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationRequest",
            "id": oid,
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            **(medication or {"medicationCodeableConcept": TABLET_10}),
            "dosageInstruction": [dosage],
        }
    }


def cards(client: TestClient, request: dict[str, Any]) -> list[dict[str, Any]]:
    answer = client.post(f"/cds-services/{SERVICE}", headers=auth(SERVICE), json=request)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["cards"])


def po_max(found: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in found if c["source"]["label"] == "Posology PO-MAX")


def test_an_rxnorm_coded_order_of_4_tablets_tid_is_120_mg_a_day_and_above_po_max(
    cds: TestClient,  # noqa: F811
) -> None:
    found = cards(cds, call("order-sign", [draft("d1", tablets(4))]))
    card = po_max(found)
    assert card["indicator"] == "critical"
    assert "120 mg/day is above the 100 mg/day maximum" in card["summary"], card
    [link] = card["links"]
    assert link["type"] == "smart" and link["url"] == "https://testserver/smart/launch"
    assert json.loads(link["appContext"]) == {"draftOrder": "MedicationRequest/d1"}


def test_every_card_about_a_draft_order_leads_to_posology_with_the_order_named(
    cds: TestClient,  # noqa: F811
) -> None:
    found = cards(cds, call("order-sign", [draft("d1", tablets(4))]))
    assert found and all(c["links"][0]["type"] == "smart" for c in found)


def test_a_ucum_tbl_dose_reads_as_tablets_too(cds: TestClient) -> None:  # noqa: F811
    found = cards(cds, call("order-sign", [draft("d1", tablets(4, "tablet", "{tbl}"))]))
    assert po_max(found)["indicator"] == "critical"


def test_a_dose_within_the_maximum_in_tablets_gets_no_po_max_card(cds: TestClient) -> None:  # noqa: F811
    found = cards(cds, call("order-sign", [draft("d1", tablets(1))]))  # 30 mg/day
    assert not any(c["source"]["label"] == "Posology PO-MAX" for c in found)


def test_a_contained_medication_reference_is_resolved(cds: TestClient) -> None:  # noqa: F811
    order = draft("d1", tablets(4), medicationReference={"reference": "#med"})
    order["resource"]["contained"] = [
        {"resourceType": "Medication", "id": "med", "code": TABLET_10}
    ]
    assert po_max(cards(cds, call("order-sign", [order])))["indicator"] == "critical"


def test_a_medication_reference_to_a_medication_in_the_prefetch_is_resolved(
    cds: TestClient,  # noqa: F811
) -> None:
    request = call(
        "order-sign",
        [draft("d1", tablets(4), medicationReference={"reference": "Medication/m1"})],
        [{"resource": {"resourceType": "Medication", "id": "m1", "code": TABLET_10}}],
    )
    assert po_max(cards(cds, request))["indicator"] == "critical"


def test_a_medication_reference_that_cannot_be_resolved_says_so_in_a_card(
    cds: TestClient,  # noqa: F811
) -> None:
    request = call(
        "order-sign",
        [draft("d1", tablets(4), medicationReference={"reference": "Medication/missing"})],
    )
    found = cards(cds, request)
    assert [c["summary"] for c in found] == ["Baclofen checks ran without part of the record"]
    assert "MedicationRequest/d1" in found[0]["detail"] and "not sent" in found[0]["detail"]


def test_an_ingredient_only_order_in_tablets_is_a_card_saying_the_strength_is_unknown(
    cds: TestClient,  # noqa: F811
) -> None:
    found = cards(
        cds, call("order-sign", [draft("d1", tablets(4), medicationCodeableConcept=INGREDIENT)])
    )
    [card] = found
    assert card["indicator"] == "warning" and "not checked" in card["summary"]
    assert "strength is unknown" in card["detail"] and "doseQuantity" in card["detail"]
    assert card["links"][0]["type"] == "smart"  # it too opens Posology on the order


def test_another_medicine_gets_no_card_never_a_wrong_one(cds: TestClient) -> None:  # noqa: F811
    other = {
        "coding": [
            {"system": RXNORM, "code": "999999999", "display": "Cyclobenzaprine 10 MG Oral Tablet"}
        ],
        "text": "Cyclobenzaprine 10 mg tablet",  # a medicine no pack doses (tizanidine has one)
    }
    found = cards(
        cds, call("order-sign", [draft("d1", tablets(4), medicationCodeableConcept=other)])
    )
    assert found == []


def test_a_product_and_an_atc_coding_of_one_medicine_are_one_order(
    cds: TestClient,  # noqa: F811
) -> None:
    both = copy.deepcopy(TABLET_10)
    both["coding"].append({"system": "http://www.whocc.no/atc", "code": "M03BX01"})
    both["text"] = "baclofen"
    ok = cards(cds, call("order-sign", [draft("d1", tablets(4), medicationCodeableConcept=both)]))
    assert po_max(ok)  # two codings of the same medicine (product and ATC) are one order


def test_a_draft_without_a_start_starts_at_its_authored_on(cds: TestClient) -> None:  # noqa: F811
    dosage = tablets(4)
    del dosage["timing"]["repeat"]["boundsPeriod"]
    order = draft("d1", dosage)
    order["resource"]["authoredOn"] = "2026-12-01T09:30:00+00:00"
    assert po_max(cards(cds, call("order-sign", [order])))["indicator"] == "critical"


def test_a_draft_without_a_start_or_authored_on_starts_when_the_hook_is_called(
    cds: TestClient,  # noqa: F811
) -> None:
    dosage = tablets(4)
    del dosage["timing"]["repeat"]["boundsPeriod"]
    assert po_max(cards(cds, call("order-sign", [draft("d1", dosage)])))["indicator"] == "critical"


def test_a_product_code_gives_the_route_when_the_dosage_has_none(cds: TestClient) -> None:  # noqa: F811
    dosage = tablets(4)
    del dosage["route"]
    assert po_max(cards(cds, call("order-sign", [draft("d1", dosage)])))["indicator"] == "critical"


def test_a_route_that_contradicts_the_product_is_a_card_not_a_guess(cds: TestClient) -> None:  # noqa: F811
    dosage = tablets(4)
    dosage["route"] = {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]}
    [card] = cards(cds, call("order-sign", [draft("d1", dosage)]))
    assert "route" in card["summary"] and "product ordered is oral" in card["detail"]


def test_a_fhir_authorization_without_a_fhir_server_is_a_400_naming_the_field(
    cds: TestClient,  # noqa: F811
) -> None:
    request = call("order-sign", [draft("d1", tablets(4))])
    request["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer"}
    answer = cds.post(f"/cds-services/{SERVICE}", headers=auth(SERVICE), json=request)
    assert answer.status_code == 400 and "fhirServer" in answer.text


def test_a_plain_http_fhir_server_elsewhere_is_refused_and_nothing_is_sent(
    cds: TestClient,  # noqa: F811
) -> None:
    request = call("order-sign", [draft("d1", tablets(4))])
    request["fhirServer"] = "http://ehr.example.com/fhir"
    request["fhirAuthorization"] = {"access_token": "secret-token", "token_type": "Bearer"}
    answer = cds.post(f"/cds-services/{SERVICE}", headers=auth(SERVICE), json=request)
    assert answer.status_code == 400 and "https" in answer.text
    assert "secret-token" not in answer.text


def test_a_token_of_another_type_is_a_400_naming_the_field(cds: TestClient) -> None:  # noqa: F811
    request = call("order-sign", [draft("d1", tablets(4))])
    request["fhirServer"] = "https://ehr.example.com/fhir"
    request["fhirAuthorization"] = {"access_token": "t", "token_type": "MAC"}
    answer = cds.post(f"/cds-services/{SERVICE}", headers=auth(SERVICE), json=request)
    assert answer.status_code == 400 and "token_type" in answer.text


def test_a_call_with_neither_orders_nor_administrations_says_the_history_was_not_sent(
    cds: TestClient,  # noqa: F811
) -> None:
    # regression: a call whose EHR honoured no history prefetch (and names no fhirServer) was
    # judged as if the patient had never taken the medicine, and no card said so
    request = call("order-sign", [draft("d1", tablets(1))])
    for key in ("medications", "administrations"):
        request["prefetch"].pop(key, None)
    found = cards(cds, request)
    notice = next(c for c in found if c["source"]["label"] == "Posology FHIR reader")
    assert notice["indicator"] == "warning"
    assert "neither was sent" in notice["detail"]
    with_history = call("order-sign", [draft("d1", tablets(1))])
    with_history["prefetch"].pop("administrations", None)
    assert not any(c["source"]["label"] == "Posology FHIR reader" for c in cards(cds, with_history))
