"""The patient record's identity over HTTP: name, birth date and the clinic's record number
beside the PATIENT document, unique per clinic, likely duplicates confirmed, search, and patient
answers never cached."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from dbhelp import Accounts

PATIENT = {
    "sex": "female",
    "diagnosis": "multiple-sclerosis",
    "spasticity_stable": True,
    "pump": {"programmable": True, "reservoir_ml": 20},
}


def create(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    body = {
        "patient": PATIENT,
        "name": "Ada Lovelace",
        "birth_date": "1980-12-10",
        "record_number": "N-0001",
        **fields,
    }
    return client.post("/api/v1/patients", headers=headers, json=body)


def test_a_record_keeps_its_identity_beside_the_document(
    client: TestClient, accounts: Accounts
) -> None:
    made = create(client, accounts.clinician, patient={**PATIENT, "age_years": 30})
    assert made.status_code == 201, made.text
    record = made.json()
    assert (record["name"], record["birth_date"], record["record_number"]) == (
        "Ada Lovelace",
        "1980-12-10",
        "N-0001",
    )
    assert record["label"] == "Ada Lovelace"
    # the engine's document carries the record's birth date, not an age in years
    assert record["patient"]["birth_date"] == "1980-12-10"
    assert "age_years" not in record["patient"] and "name" not in record["patient"]
    got = client.get(f"/api/v1/patients/{record['id']}", headers=accounts.clinician)
    assert got.json()["record_number"] == "N-0001"


def test_a_second_patient_with_the_same_record_number_is_refused_naming_it(
    client: TestClient, accounts: Accounts
) -> None:
    assert create(client, accounts.clinician).status_code == 201
    again = create(client, accounts.clinician, name="Someone Else", birth_date="1990-01-01")
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "record_number"
    assert len(client.get("/api/v1/patients", headers=accounts.clinician).json()) == 1
    # another clinic has its own numbers
    assert create(client, accounts.other_clinic).status_code == 201


def test_a_likely_duplicate_must_be_confirmed(client: TestClient, accounts: Accounts) -> None:
    assert create(client, accounts.clinician).status_code == 201
    twin = create(client, accounts.clinician, name="ada  lovelace", record_number="N-0002")
    assert twin.status_code == 409 and twin.json()["error"]["field"] == "name"
    assert "N-0001" in twin.json()["error"]["message"]
    confirmed = create(client, accounts.clinician, record_number="N-0002", confirm_duplicate=True)
    assert confirmed.status_code == 201
    audit = client.get("/api/v1/audit", headers=accounts.admin).json()
    assert any(a["detail"].get("confirmed_duplicate") for a in audit)


def test_identity_fields_come_together_and_are_checked(
    client: TestClient, accounts: Accounts
) -> None:
    partial = client.post(
        "/api/v1/patients",
        headers=accounts.clinician,
        json={"patient": PATIENT, "name": "Ada Lovelace"},
    )
    assert partial.status_code == 422 and partial.json()["error"]["field"] == "birth_date"
    bad = create(client, accounts.clinician, birth_date="10/12/1980")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "birth_date"
    future = create(client, accounts.clinician, birth_date="2999-01-01")
    assert future.status_code == 422 and future.json()["error"]["field"] == "birth_date"


def test_patients_are_found_by_name_record_number_or_birth_date(
    client: TestClient, accounts: Accounts
) -> None:
    create(client, accounts.clinician)
    create(
        client,
        accounts.clinician,
        name="Grace Hopper",
        birth_date="1966-12-09",
        record_number="N-0100",
    )

    def found(q: str) -> list[str]:
        answer = client.get("/api/v1/patients", params={"q": q}, headers=accounts.clinician)
        return [p["name"] for p in answer.json()]

    assert found("hopper") == ["Grace Hopper"]
    assert found("n-000") == ["Ada Lovelace"]
    assert found("1980-12-10") == ["Ada Lovelace"]
    assert found("n-0") == ["Ada Lovelace", "Grace Hopper"]
    assert found("100%") == []
    assert (
        client.get("/api/v1/patients", params={"q": "ada"}, headers=accounts.other_clinic).json()
        == []
    )


def test_updating_the_identity_keeps_numbers_unique(client: TestClient, accounts: Accounts) -> None:
    first = create(client, accounts.clinician).json()
    second = create(
        client, accounts.clinician, name="Grace Hopper", birth_date="1966-12-09",
        record_number="N-0100",
    ).json()  # fmt: skip
    clash = client.put(
        f"/api/v1/patients/{second['id']}",
        headers={**accounts.clinician, "If-Match": f'"{second["version"]}"'},
        json={"patient": PATIENT, "name": "Grace Hopper", "birth_date": "1966-12-09",
              "record_number": "N-0001"},
    )  # fmt: skip
    assert clash.status_code == 409 and clash.json()["error"]["field"] == "record_number"
    moved = client.put(
        f"/api/v1/patients/{first['id']}",
        headers={**accounts.clinician, "If-Match": f'"{first["version"]}"'},
        json={"patient": PATIENT, "name": "Ada King", "birth_date": "1980-12-10",
              "record_number": "N-0001"},
    )  # fmt: skip
    assert moved.status_code == 200 and moved.json()["name"] == "Ada King"
    assert moved.json()["patient"]["birth_date"] == "1980-12-10"


def test_an_older_client_without_identity_gets_a_legacy_record(
    client: TestClient, accounts: Accounts
) -> None:
    made = client.post(
        "/api/v1/patients",
        headers=accounts.clinician,
        json={"patient": {**PATIENT, "age_years": 40}, "label": "A.B."},
    ).json()
    assert made["name"] == "A.B." and made["record_number"] == f"legacy-{made['id']}"


def test_every_patient_answer_is_no_store(client: TestClient, accounts: Accounts) -> None:
    pid = create(client, accounts.clinician).json()["id"]
    for path in (
        "/api/v1/patients",
        f"/api/v1/patients/{pid}",
        f"/api/v1/patients/{pid}/events",
        f"/api/v1/patients/{pid}/plans",
        f"/api/v1/patients/{pid + 999}",
    ):
        answer = client.get(path, headers=accounts.clinician)
        assert answer.headers["cache-control"] == "no-store", path
    assert client.get("/api/v1/patients").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/healthz").headers
