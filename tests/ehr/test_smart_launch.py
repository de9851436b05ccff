"""Posology opened from inside an EHR (SMART App Launch 2.0, EHR launch) against a real FHIR
server: launch, the EHR's sign-in, the token, and the patient's page read from the EHR."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from posology.knowledge import Pack
from posology.services import accounts, audit_trail
from posology.services import patients as patient_records

from .conftest import App
from .launch import CALLBACK, CLIENT_ID, PUBLIC, FhirServer, open_from_ehr, words
from .records import ada, ben, someone_else


def test_a_launch_from_the_ehr_opens_the_patients_page_read_from_its_fhir_server(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada() + someone_else())
    client = posology()
    page = open_from_ehr(client, fhir, "ada")
    assert page.status_code == 200, page.text
    text = words(page.text)
    assert "Patient Ada Lovelace" in text  # the official name in the banner, not the nickname
    assert "born Mon 04 May 1970" in text
    assert "Record no. N-1001" in text  # the identifier of the configured system
    assert "Oral baclofen 60 mg/day (3 doses a day) (MedicationRequest/ada-bac-2)" in text
    # the order it replaced is history: the step from 30 to 60 mg/day is checked
    assert "Oral baclofen 30 mg/day (3 doses a day) (MedicationRequest/ada-bac-1)" in text
    assert "PO-TITRATION" in text
    assert "68.5 kg" in text  # the latest of two weights
    assert "creatinine clearance 85.0 mL/min" in text
    assert "multiple sclerosis" in text  # from the Condition
    assert "ada-bac-0: status entered-in-error; not checked" in text
    assert "PO-MAX" not in text  # the 800 mg/day entered in error is never checked
    assert "Cleo" not in text and "cleo-bac" not in text  # another patient: never read
    assert "Not everything could be read" not in text  # the HL7 examples: other drugs, ignored
    assert "for the EHR's user Practitioner/dr-north" in text
    assert page.headers["cache-control"].startswith("no-store")


def test_the_authorization_request_is_smart_v2_with_pkce_s256_and_a_state_bound_to_the_browser(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada())
    client = posology()
    start = client.get(
        "/smart/launch",
        params={"iss": fhir.base, "launch": fhir.launch("ada")},
        follow_redirects=False,
    )
    target = urlsplit(start.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{fhir.origin}/auth/authorize"
    asked = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert asked["response_type"] == "code"
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == CALLBACK
    assert asked["aud"] == fhir.base
    assert asked["code_challenge_method"] == "S256"
    scopes = asked["scope"].split()
    assert {"launch", "openid", "fhirUser", "patient/MedicationRequest.rs"} <= set(scopes)
    assert not [s for s in scopes if re.search(r"\.[a-z]*[cud]", s)]  # reads only, never writes
    cookie = start.headers["set-cookie"]
    assert cookie.startswith(f"__Host-posology_launch_{asked['state']}=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/", "Max-Age=600"):
        assert flag.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()
    back = httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
    assert client.get(back.removeprefix(PUBLIC)).status_code == 200
    token = next(s["params"] for s in fhir.seen() if s["endpoint"] == "token")
    digest = hashlib.sha256(token["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == asked["code_challenge"]
    assert token["redirect_uri"] == CALLBACK and token["client_id"] == CLIENT_ID


def test_the_access_token_never_reaches_the_browser_or_the_logs(
    fhir: FhirServer, posology: App, caplog: pytest.LogCaptureFixture
) -> None:
    fhir.load(ada())
    client = posology()
    with caplog.at_level(logging.DEBUG):
        page = open_from_ehr(client, fhir, "ada")
    assert page.status_code == 200
    issued = [s["params"]["access_token"] for s in fhir.seen() if s["endpoint"] == "token-issued"]
    assert len(issued) == 1
    token = issued[0]
    assert token not in page.text
    assert all(token not in value for value in page.headers.values())
    assert all(token not in str(value) for value in client.cookies.values())
    assert token not in caplog.text
    assert "__Host-posology_launch_" in page.headers.get("set-cookie", "")  # cleared: max-age 0


def test_the_same_callback_twice_is_refused_the_second_time(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada())
    client = posology()
    start = client.get(
        "/smart/launch",
        params={"iss": fhir.base, "launch": fhir.launch("ada")},
        follow_redirects=False,
    )
    back = httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
    assert client.get(back.removeprefix(PUBLIC)).status_code == 200
    again = client.get(back.removeprefix(PUBLIC))
    assert again.status_code == 400
    assert "used already" in words(again.text)
    assert [s["endpoint"] for s in fhir.seen()].count("token") == 1  # no second exchange


def test_two_launches_in_two_tabs_each_open_their_own_patient(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada() + someone_else())
    client = posology()
    starts = [
        client.get(
            "/smart/launch",
            params={"iss": fhir.base, "launch": fhir.launch(p)},
            follow_redirects=False,
        )
        for p in ("ada", "cleo")
    ]
    backs = [
        httpx.get(s.headers["location"], follow_redirects=False).headers["location"] for s in starts
    ]
    cleo, ada_page = (client.get(b.removeprefix(PUBLIC)) for b in reversed(backs))
    assert "Patient Cleo Other" in words(cleo.text)
    assert "Patient Ada Lovelace" in words(ada_page.text)


def test_a_matching_posology_record_is_linked_and_one_with_another_birth_date_is_not(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada() + someone_else())
    client = posology()
    engine = client.app.state.engine
    nurse = accounts.add_user(engine, "lead@north.example", "North", "prescriber", None)
    document = {"diagnosis": "multiple-sclerosis", "sex": "female"}
    same = patient_records.create_patient(
        engine, nurse, document, "patient",
        patient_records.Identity("Ada Lovelace", "1970-05-04", "N-1001"),
    )  # fmt: skip
    patient_records.create_patient(
        engine, nurse, document, "patient",
        patient_records.Identity("Cleo Other", "1981-01-01", "N-2002"),
    )  # fmt: skip
    linked = words(open_from_ehr(client, fhir, "ada").text)
    assert "Open the Posology record" in linked
    assert f'href="/patients/{same["id"]}"' in open_from_ehr(client, fhir, "ada").text
    other = words(open_from_ehr(client, fhir, "cleo").text)
    assert "Open the Posology record" not in other
    assert "its birth date differs from the EHR's" in other
    # the link leads to the record only through the clinician's own login
    assert client.get(f"/patients/{same['id']}", follow_redirects=False).status_code == 303


def test_each_launch_is_in_the_clinics_audit_trail_without_a_token(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada())
    client = posology()
    open_from_ehr(client, fhir, "ada")
    engine = client.app.state.engine
    admin = accounts.add_user(engine, "admin@north.example", "North", "admin", None)
    rows = [r for r in audit_trail.audit_rows(engine, admin) if r["action"] == "smart.launch"]
    assert len(rows) == 1
    detail = rows[0]["detail"]
    assert detail["iss"] == fhir.base and detail["ehr_patient"] == "ada"
    assert detail["fhir_user"] == f"{fhir.base}/Practitioner/dr-north"
    token = next(s for s in fhir.seen() if s["endpoint"] == "token-issued")
    assert token["params"]["access_token"] not in str(rows)


def test_a_pump_patient_shows_the_pump_status_worked_out_from_the_ehrs_record(
    fhir: FhirServer, posology: App, pack: Pack
) -> None:
    fhir.load(ben(pack))
    page = open_from_ehr(posology(), fhir, "ben")
    assert page.status_code == 200, page.text
    text = words(page.text)
    assert "Pump status" in text
    assert "Infusion 100 µg/day (4.2 µg/h) since Fri 20 Nov 2026, 09:30" in text
    assert "Last fill Fri 20 Nov 2026, 09:00, 20 mL of 500 µg/mL" in text
    assert "Pump refill: 20 mL of 0.5 mg/mL (MedicationAdministration/ben-history-0)" in text
    assert "IT-SCREEN-REQUIRED" in text  # no screening in the EHR: the checks say so


def test_the_registration_docs_give_the_scopes_posology_asks_for() -> None:
    from posology.interop.smart import SCOPE

    from .launch import ROOT

    docs = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    assert f"| scopes | `{SCOPE}` |" in docs
    for setting in ("POSOLOGY_SMART_EHRS", "POSOLOGY_PUBLIC_URL", "/smart/launch", "/cds-services"):
        assert setting in docs
