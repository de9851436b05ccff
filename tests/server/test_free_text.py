"""Free text a person types into a record (names, labels, reasons) is stored and shown as typed,
or refused naming the field: no control character, no text-direction control that would show
"10 mg" as another text than the one stored, no text past the field's limit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dbhelp import Accounts

PATIENT = {"age_years": 50, "diagnosis": "stroke"}


def create(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    body = {"patient": PATIENT, "name": "Ada Lovelace", "birth_date": "1980-12-10",
            "record_number": "N-0001", **fields}  # fmt: skip
    return client.post("/api/v1/patients", headers=headers, json=body)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("name", "Ada \u202eecalevoL", "text-direction control"),
        ("name", "Ada\nLovelace", "line break"),
        ("record_number", "N-\x1b[2J0001", "control character"),
        ("label", "bed 4\x07", "control character"),
        ("name", "A" * 201, "at most 200"),
    ],
)
def test_a_name_or_label_that_would_show_otherwise_than_stored_is_refused_naming_it(
    client: TestClient, accounts: Accounts, field: str, value: str, said: str
) -> None:
    answer = create(client, accounts.clinician, **{field: value})
    assert answer.status_code in (400, 422), answer.text
    error = answer.json()["error"]
    assert error["field"] == field and said in error["message"]


def test_a_correction_reason_keeps_its_lines_but_not_a_direction_control(
    client: TestClient, accounts: Accounts
) -> None:
    made = create(client, accounts.clinician)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    event = {"at": "2026-11-01T08:00", "kind": "review", "note": "tone"}
    first = client.post(f"/api/v1/patients/{pid}/events", headers=accounts.clinician,
                        json={"event": event})  # fmt: skip
    assert first.status_code == 201, first.text
    bad = client.post(
        f"/api/v1/patients/{pid}/events",
        headers=accounts.clinician,
        json={"event": event, "supersedes": first.json()["id"],
              "correction": {"kind": "correction", "text": "typed \u2066twice\u2069"}},
    )  # fmt: skip
    assert bad.status_code in (400, 422), bad.text
    assert bad.json()["error"]["field"] == "correction.text"
    good = client.post(
        f"/api/v1/patients/{pid}/events",
        headers=accounts.clinician,
        json={"event": event, "supersedes": first.json()["id"],
              "correction": {"kind": "correction", "text": "typed twice\r\nby the ward"}},
    )  # fmt: skip
    assert good.status_code == 201, good.text


@pytest.mark.parametrize("query", ["\x00", "bed\x004", "\u202e4 deb"])
def test_a_search_with_a_nul_or_a_control_is_refused_naming_it_not_a_500(
    client: TestClient, accounts: Accounts, query: str
) -> None:
    """PostgreSQL refuses a NUL in any text: a search for one was a 500 there."""
    answer = client.get("/api/v1/patients", headers=accounts.clinician, params={"q": query})
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["field"] == "q"
