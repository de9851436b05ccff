"""Every launch that cannot go on is a page saying what went wrong and what to do, with a 4xx or
5xx status naming whose fault it is, never a 500 and never a patient's data: a state that is
not this browser's, an EHR not on the allow-list, a token service that fails, a FHIR server
that does not answer in time, an EHR without PKCE, and records the reader cannot use."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from .conftest import App
from .launch import CLIENT_ID, PUBLIC, FhirServer, open_from_ehr, words
from .records import ATC, ORAL, UCUM, ada


def refusal(answer: httpx.Response, status: int, *said: str) -> str:
    """The refusal page's text, after checking its status, its words and that it shows no
    patient."""
    assert answer.status_code == status, answer.text
    text = words(answer.text)
    assert "Posology could not open this patient from the EHR" in text
    for fragment in said:
        assert fragment in text
    assert "Lovelace" not in text
    assert answer.headers["cache-control"].startswith("no-store")
    return text


def start(client: TestClient, fhir: FhirServer, **params: Any) -> httpx.Response:
    query = {"iss": fhir.base, "launch": fhir.launch("ada"), **params}
    return client.get("/smart/launch", params=query, follow_redirects=False)


def to_callback(client: TestClient, started: httpx.Response) -> str:
    """The callback address the EHR's sign-in sends the browser back to."""
    assert started.status_code == 303, started.text
    back = httpx.get(started.headers["location"], follow_redirects=False).headers["location"]
    return str(back).removeprefix(PUBLIC)


def endpoints(fhir: FhirServer) -> list[str]:
    return [s["endpoint"] for s in fhir.seen()]


def test_a_wrong_state_is_refused_and_no_code_is_exchanged(fhir: FhirServer, posology: App) -> None:
    fhir.load(ada())
    client = posology()
    back = to_callback(client, start(client, fhir))
    state = back.split("state=")[1].split("&")[0]
    forged = back.replace(f"state={state}", "state=" + "A" * 43)
    refusal(client.get(forged), 400, "does not belong to a launch started in this browser")
    refusal(client.get(back.replace(f"state={state}", "state=x")), 400)
    refusal(client.get(back.split("&state=")[0]), 400)  # no state at all
    assert "token" not in endpoints(fhir)
    assert client.get(back).status_code == 200  # the real one still works afterwards


def test_a_callback_in_another_browser_is_refused(fhir: FhirServer, posology: App) -> None:
    fhir.load(ada())
    client = posology()
    back = to_callback(client, start(client, fhir))
    with TestClient(client.app, base_url=PUBLIC) as elsewhere:  # no launch cookie
        refusal(elsewhere.get(back), 400, "open Posology again from the patient's chart")
    assert "token" not in endpoints(fhir)


def test_a_launch_past_its_ten_minutes_is_refused(
    fhir: FhirServer, posology: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    fhir.load(ada())
    client = posology()
    back = to_callback(client, start(client, fhir))
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    refusal(client.get(back), 400, "took longer than 10 minutes")


def test_an_iss_not_on_the_allow_list_is_refused_and_nothing_is_sent_to_it(
    fhir: FhirServer, posology: App
) -> None:
    client = posology()
    other = f"{fhir.origin}/other/fhir"
    text = refusal(start(client, fhir, iss=other), 403, "is not on Posology's list of EHRs")
    assert other in text
    assert endpoints(fhir) == []  # not even its SMART configuration was asked for
    refusal(start(client, fhir, iss="https://evil.example/fhir"), 403, "POSOLOGY_SMART_EHRS")


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"iss": ""}, "the link has no iss"),
        ({"launch": ""}, "no usable launch parameter"),
        ({"launch": "a b"}, "no usable launch parameter"),
    ],
)
def test_a_launch_link_without_iss_or_launch_is_refused(
    fhir: FhirServer, posology: App, params: dict[str, str], said: str
) -> None:
    refusal(start(posology(), fhir, **params), 400, said)


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("refuse", "refused the sign-in (HTTP 400): invalid_grant"),
        ("server-error", "refused the sign-in (HTTP 500)"),
        ("not-json", "answered something that is not JSON"),
        ("no-patient", "gave no patient context"),
    ],
)
def test_a_token_endpoint_that_fails_is_a_page_saying_so(
    fhir: FhirServer, posology: App, how: str, said: str
) -> None:
    fhir.load(ada())
    client = posology()
    back = to_callback(client, start(client, fhir))
    fhir.behave(token=how)
    refusal(client.get(back), 502, "The EHR's token service", said)


def test_a_fhir_server_that_does_not_answer_in_time_is_a_504_page(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada())
    client = posology(timeout=1)
    back = to_callback(client, start(client, fhir))
    fhir.behave(fhir_delay_ms=3000)
    began = time.monotonic()
    refusal(client.get(back), 504, "The EHR's FHIR server", "did not answer within 1 s")
    assert time.monotonic() - began < 2.5


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ("missing", "SMART configuration could not be read (HTTP 404)"),
        ("no-pkce", "does not offer PKCE with S256"),
    ],
)
def test_an_ehr_without_a_smart_configuration_or_pkce_is_refused_before_the_browser_goes_there(
    fhir: FhirServer, posology: App, config: str, said: str
) -> None:
    fhir.behave(smart_configuration=config)
    refusal(start(posology(), fhir), 502, said)
    assert "authorize" not in endpoints(fhir)


def test_the_ehr_refusing_the_sign_in_is_a_page_saying_so(fhir: FhirServer, posology: App) -> None:
    client = posology()
    started = start(client, fhir)
    state = started.headers["location"].split("state=")[1].split("&")[0]
    answer = client.get(
        "/smart/callback",
        params={"error": "access_denied", "error_description": "the user said no", "state": state},
    )
    refusal(answer, 403, "did not let Posology open this patient: access_denied (the user said no)")


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("{not json", "POSOLOGY_SMART_EHRS: is not JSON"),
        ('{"http://ehr.example/fhir": {"client_id": "p", "clinic": "North"}}', "https FHIR base"),
        ('{"https://ehr.example/fhir": {"clinic": "North"}}', "client_id: missing"),
        (
            '{"https://ehr.example/fhir": {"client_id": "p", "clinic": "North", "timeout": 0}}',
            "timeout",
        ),
    ],
)
def test_a_broken_allow_list_is_a_page_naming_the_setting_not_a_crash(
    fhir: FhirServer, posology: App, monkeypatch: pytest.MonkeyPatch, setting: str, said: str
) -> None:
    client = posology()
    monkeypatch.setenv("POSOLOGY_SMART_EHRS", setting)
    from posology.server.app import create_app

    with TestClient(create_app(client.app.state.engine), base_url=PUBLIC) as broken:
        refusal(start(broken, fhir), 503, "Posology's list of EHRs cannot be read", said)


def test_without_a_public_url_the_launch_says_what_to_set(fhir: FhirServer, posology: App) -> None:
    refusal(start(posology(public=""), fhir), 503, "POSOLOGY_PUBLIC_URL")


def test_over_plain_http_the_launch_says_why_and_sets_no_cookie(
    fhir: FhirServer, posology: App
) -> None:
    client = posology()
    with TestClient(client.app, base_url="http://posology.lan") as plain:
        answer = start(plain, fhir)
    refusal(answer, 403, "plain http")
    assert "set-cookie" not in answer.headers


def test_an_ehr_configured_for_a_clinic_that_does_not_exist_is_refused(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada())
    client = posology(clinic="Nowhere")
    refusal(
        client.get(to_callback(client, start(client, fhir))), 503, "'Nowhere', which does not exist"
    )


def test_a_patient_without_a_birth_date_is_a_page_saying_the_age_is_needed(
    fhir: FhirServer, posology: App
) -> None:
    resources = ada()
    del resources[0]["birthDate"]
    fhir.load(resources)
    client = posology()
    refusal(
        client.get(to_callback(client, start(client, fhir))), 422, "Patient.birthDate", "the age"
    )


def test_an_order_the_reader_refuses_is_listed_and_the_rest_is_still_checked(
    fhir: FhirServer, posology: App
) -> None:
    four_tablets = {
        "resourceType": "MedicationRequest",
        "id": "ada-tabs",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/ada"},
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "M03BX01"}]},
        "dosageInstruction": [
            {
                "route": ORAL,
                "timing": {"repeat": {"boundsPeriod": {"start": "2026-11-20T08:00:00+01:00"},
                                      "frequency": 3, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 4, "unit": "TAB"}}],
            }
        ],
    }  # fmt: skip
    weight_in_stone = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": "Patient/ada"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": "2026-11-30",
        "valueQuantity": {"value": 11, "unit": "stone", "system": UCUM, "code": "[stone_av]"},
    }
    fhir.load([*ada(), four_tablets, weight_in_stone])
    page = open_from_ehr(posology(), fhir, "ada")
    assert page.status_code == 200, page.text
    text = words(page.text)
    assert "Not everything could be read" in text
    assert "MedicationRequest/ada-tabs" in text and "doseQuantity" in text
    assert "a body weight in kg, g or [lb_av] is due" in text
    assert "68.5 kg" in text  # the weight before, still read
    assert "(MedicationRequest/ada-bac-2)" in text  # the readable order, still checked


def test_a_medication_the_fhir_server_does_not_have_is_listed_as_unread(
    fhir: FhirServer, posology: App
) -> None:
    resources = [r for r in ada() if r.get("id") != "baclofen-10-tablet"]
    fhir.load(resources)
    text = words(open_from_ehr(posology(), fhir, "ada").text)
    assert "ada-bac-2 : medicationReference: its Medication could not be read" in text
    assert "HTTP 404" in text
    assert "No baclofen order or dose could be checked" in text  # never "no baclofen"
    assert "holds no active baclofen order" not in text


def test_the_test_servers_token_endpoint_checks_pkce(fhir: FhirServer, posology: App) -> None:
    """The SMART server the tests use is not a stub that accepts anything: a wrong verifier is
    refused there (so the launch tests prove Posology sends the right one)."""
    fhir.load(ada())
    client = posology()
    back = to_callback(client, start(client, fhir))
    code = back.split("code=")[1].split("&")[0]
    answer = httpx.post(
        f"{fhir.origin}/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{PUBLIC}/smart/callback",
            "client_id": CLIENT_ID,
            "code_verifier": "x" * 43,
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    refusal(client.get(back), 502, "invalid_grant")  # the code is spent: used once, whatever
