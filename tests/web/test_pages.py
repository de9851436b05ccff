"""The pages as HTML: logins, the indication page from the pack, patients, plans, downloads."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, log_in


def test_pages_need_a_login(pages: TestClient) -> None:
    for path in (
        "/",
        "/worklist",
        "/patients",
        "/indication",
        "/patients/1",
        "/patients/1/plan?goal=oral-taper",
    ):
        answer = pages.get(path, follow_redirects=False)
        # an expired or missing session comes back to the page asked for after login
        expected = "/login" if path == "/" else "/login?next=" + quote(path, safe="")
        assert answer.status_code == 303 and answer.headers["location"] == expected
    wrong = log_in(pages, password="nope")
    assert wrong.status_code == 401 and "wrong e-mail address or password" in wrong.text


def test_the_indication_page_is_generated_from_the_pack(logged_in: TestClient) -> None:
    html = logged_in.get("/indication").text
    assert "From 5 To 33.333 mg 3 time(s) per day every day" in html
    assert "From 25 To 1400 ug once every day" in html
    assert 'id="PO-MAX"' in html and 'id="SUP-PO-PAED"' in html
    assert "supplementary · label" in html  # supplementary facts carry source and evidence
    assert 'class="qty unit-mg"' in html and 'class="qty unit-ug"' in html  # µg and mg styled apart
    assert "Dosage may be slowly increased" in html  # quotes shown


def test_every_field_has_a_label(logged_in: TestClient) -> None:
    html = logged_in.get("/patients").text
    ids = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html)
    assert ids
    for field_id in ids:
        assert f'for="{field_id}"' in html, field_id


def test_patient_page_and_plan_page_with_downloads(logged_in: TestClient) -> None:
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', logged_in.get("/patients").text).group(
        1
    )
    created = logged_in.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf},
        json={"patient": {"age_years": 50, "diagnosis": "stroke", "sex": "male"}, "label": "K.L."},
    )
    pid = created.json()["id"]
    logged_in.post(
        f"/api/v1/patients/{pid}/events",
        headers={"X-CSRF-Token": csrf},
        json={
            "event": {
                "at": "2026-11-01T08:00",
                "kind": "oral-regimen",
                "dose": "20 mg",
                "times_per_day": 3,
            }
        },
    )
    page = logged_in.get(f"/patients/{pid}").text
    assert "Oral baclofen" in page and "K.L." in page
    query = "goal=oral-taper&start=2026-12-01T08%3A00"
    plan = logged_in.get(f"/patients/{pid}/plan?{query}")
    assert plan.status_code == 200 and "<svg" in plan.text and "Stop oral baclofen" in plan.text
    pdf = logged_in.get(f"/patients/{pid}/plan.pdf?{query}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    ics = logged_in.get(f"/patients/{pid}/plan.ics?{query}")
    assert ics.status_code == 200 and b"BEGIN:VCALENDAR" in ics.content
    csv = logged_in.get(f"/patients/{pid}/plan.csv?{query}")
    assert csv.status_code == 200 and csv.text.startswith("at,kind")
    bad = logged_in.get(f"/patients/{pid}/plan?goal=oral-taper&start=tomorrow")
    assert bad.status_code == 422 and "start" in bad.text


def test_logout_needs_the_csrf_token(logged_in: TestClient) -> None:
    logged_in.post("/logout", data={"csrf": "forged"})
    assert logged_in.get("/patients", follow_redirects=False).status_code == 200  # still logged in
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', logged_in.get("/patients").text).group(
        1
    )
    logged_in.post("/logout", data={"csrf": csrf})
    logged_in.cookies.clear()
    assert logged_in.get("/patients", follow_redirects=False).status_code == 303


def test_login_lands_on_the_worklist_and_the_event_form_names_kinds_in_words(
    pages: TestClient,
) -> None:
    answer = log_in(pages)
    assert answer.headers["location"] == "/worklist"
    worklist = pages.get("/worklist")
    assert worklist.status_code == 200 and "No pump patient yet." in worklist.text
    assert pages.get("/", follow_redirects=False).headers["location"] == "/worklist"
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', worklist.text).group(1)
    pid = pages.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf},
        json={"patient": {"age_years": 50, "diagnosis": "stroke", "sex": "male"}, "label": "K.L."},
    ).json()["id"]
    html = pages.get(f"/patients/{pid}").text
    assert '<option value="it-infusion">Start or change intrathecal infusion</option>' in html
    assert '<option value="pump-refill">Pump refill</option>' in html
    assert ">it-infusion<" not in html  # no code shown as a label
    fields = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"[^>]*>', html)
    tags = re.findall(r'<(?:input|select|textarea)[^>]* id="[^"]+"[^>]*>', html)
    assert len(fields) > 20
    for field_id, tag in zip(fields, tags, strict=True):  # every field of every kind has a label
        assert f'for="{field_id}"' in html or "aria-label=" in tag, field_id


def test_the_profile_table_shows_codes_as_words_and_units_with_their_fields(
    logged_in: TestClient,
) -> None:
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', logged_in.get("/patients").text)
    assert csrf is not None
    document = {
        "age_years": 50,
        "diagnosis": "spinal-cord-injury",
        "sex": "male",
        "weight_kg": 70,
        "conditions": ["renal-impairment"],
    }
    created = logged_in.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf.group(1)},
        json={"patient": document, "label": "M.N."},
    )
    table = re.search(
        r'<table id="profile-table">(.*?)</table>',
        logged_in.get(f"/patients/{created.json()['id']}").text,
        re.S,
    )
    assert table is not None
    cells = re.sub(r"<[^>]+>", " ", table.group(1))
    assert "spinal cord injury" in cells and "renal impairment" in cells
    assert "spinal-cord-injury" not in cells and "weight (kg)" in cells


def test_an_admin_is_told_in_a_page_that_records_are_not_for_the_role(pages: TestClient) -> None:
    from posology.services import accounts

    engine = pages.app.state.engine  # type: ignore[attr-defined]
    accounts.add_user(engine, "admin@north.example", "North", "admin", PASSWORD)
    login = log_in(pages, "admin@north.example")
    assert login.status_code == 303
    page = pages.get("/worklist")
    assert page.status_code == 403 and "text/html" in page.headers["content-type"]
    assert "not for your role" in page.text and "audit trail" in page.text


def test_opening_a_patient_and_downloading_a_plan_are_in_the_audit_trail(
    logged_in: TestClient,
) -> None:
    from sqlalchemy import select

    from posology.store import tables as T

    csrf = re.search(r'name="csrf-token" content="([^"]+)"', logged_in.get("/patients").text)
    assert csrf is not None
    pid = logged_in.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf.group(1)},
        json={"patient": {"age_years": 50, "diagnosis": "stroke", "sex": "male"}, "label": "O.P."},
    ).json()["id"]
    assert logged_in.get(f"/patients/{pid}").status_code == 200
    query = "goal=oral-titration&target_daily_dose=30+mg&start=2026-12-01T08%3A00"
    assert logged_in.get(f"/patients/{pid}/plan.csv?{query}").status_code == 200
    engine = logged_in.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        actions = [
            r[0]
            for r in conn.execute(
                select(T.audit.c.action).where(T.audit.c.entity_id == pid).order_by(T.audit.c.id)
            )
        ]
    assert "page.patient" in actions and "export.plan-csv" in actions


def test_a_patient_page_shows_a_botulinum_session_in_words(logged_in: TestClient) -> None:
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', logged_in.get("/patients").text).group(
        1
    )
    created = logged_in.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf},
        json={
            "patient": {"age_years": 9, "weight_kg": 30, "diagnosis": "cerebral-palsy"},
            "label": "B.T.",
        },
    )
    pid = created.json()["id"]
    stored = logged_in.post(
        f"/api/v1/patients/{pid}/events",
        headers={"X-CSRF-Token": csrf},
        json={
            "event": {
                "at": "2026-11-01T10:00",
                "kind": "injection-session",
                "product": "onabotulinumtoxinA",
                "injections": [{"muscle": "biceps-brachii", "dose": "60 U", "sites": 4}],
            }
        },
    )
    assert stored.status_code in (200, 201), stored.text
    page = logged_in.get(f"/patients/{pid}")
    assert page.status_code == 200
    assert "Injection session: onabotulinumtoxinA (BOTOX), 60 Units in 1 muscle" in page.text


def test_a_session_goal_on_the_plan_page_is_refused_not_a_server_error(
    logged_in: TestClient,
) -> None:
    pid = _new_patient(logged_in, {"age_years": 40, "diagnosis": "stroke"}, "S.G.")
    answer = logged_in.get(f"/patients/{pid}/plan?goal=injection-session")
    assert answer.status_code < 500, answer.text[:300]


def test_the_patient_page_offers_each_oral_medicine_for_a_regimen_and_a_stop(
    logged_in: TestClient,
) -> None:
    pid = _new_patient(logged_in, {"age_years": 46, "diagnosis": "stroke"}, "T.B.")
    page = logged_in.get(f"/patients/{pid}")
    assert page.status_code == 200
    for select in ("oral-medicine", "stop-medicine"):
        start = page.text.index(f'<select id="{select}">')
        options = page.text[start : page.text.index("</select>", start)]
        assert '<option value="baclofen" selected>Baclofen</option>' in options
        assert '<option value="tizanidine">Tizanidine</option>' in options
        assert "botulinum" not in options
    assert 'data-medicine="baclofen"' in page.text


def _new_patient(client: TestClient, document: dict[str, object], label: str) -> int:
    """A patient made through the API with the page session's CSRF token."""
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/patients").text)
    assert csrf is not None
    created = client.post(
        "/api/v1/patients",
        headers={"X-CSRF-Token": csrf.group(1)},
        json={"patient": document, "label": label},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_the_patient_page_records_an_injection_session_by_product_and_muscle(
    logged_in: TestClient,
) -> None:
    pid = _new_patient(logged_in, {"age_years": 9, "diagnosis": "cerebral-palsy"}, "B.S.")
    page = logged_in.get(f"/patients/{pid}").text
    assert '<option value="injection-session">Botulinum toxin injection session</option>' in page
    start = page.index('<select id="bt-product">')
    products = page[start : page.index("</select>", start)]
    assert '<option value="onabotulinumtoxina">onabotulinumtoxinA (BOTOX)</option>' in products
    assert '<option value="abobotulinumtoxina">abobotulinumtoxinA (Dysport)</option>' in products
    assert '<option value="biceps-brachii">biceps brachii</option>' in page
    assert page.count('class="bt-row">') == 2  # two rows shown, the rest added one by one
    assert page.count('class="bt-row" hidden>') == 10
