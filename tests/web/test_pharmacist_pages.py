"""The pharmacist's pages: rules as HTML with a search box and sources by their names, the WHO
defined daily dose on the indication page, and the dose check that saves nothing."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient


def csrf_of(client: TestClient) -> str:
    html = client.get("/patients").text
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found
    return found.group(1)


def new_patient(client: TestClient, patient: dict[str, Any], name: str = "Ada Byron") -> int:
    """A patient made over the API: the record's identity where the API takes it, else the
    label of older records."""
    csrf = csrf_of(client)
    body = {
        "patient": {k: v for k, v in patient.items() if k != "age_years"},
        "name": name,
        "birth_date": "1976-03-04",
        "record_number": f"MRN-{abs(hash(name)) % 100000}",
    }
    answer = client.post("/api/v1/patients", headers={"X-CSRF-Token": csrf}, json=body)
    if answer.status_code != 201:  # an API without the record identity yet
        answer = client.post(
            "/api/v1/patients",
            headers={"X-CSRF-Token": csrf},
            json={"patient": patient, "label": name},
        )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_rule_pages_are_html_with_sources_by_name_not_file_name(logged_in: TestClient) -> None:
    page = logged_in.get("/rules/STOP-GRADUAL")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "STOP-GRADUAL: Never stop suddenly" in html
    assert "Baclofen should not be discontinued suddenly." in html
    assert "RxReasoner: Baclofen, indication" in html  # the source page by its title
    assert "000_b1a87da4a9cdf50a.txt" not in html  # never by the file it is shipped in
    assert "min reductions" in html  # its numbers in words


def test_the_indication_page_shows_sources_by_name_not_file_name(logged_in: TestClient) -> None:
    html = logged_in.get("/indication").text
    assert "000_b1a87da4a9cdf50a.txt" not in html
    assert "RxReasoner: Baclofen, indication" in html


def test_rule_search_finds_by_words_of_the_rule_and_its_source(logged_in: TestClient) -> None:
    everything = logged_in.get("/rules").text
    assert 'type="search"' in everything and 'for="rule-q"' in everything
    shown = set(re.findall(r'<section class="finding[^"]*" id="([A-Z0-9-]+)"', everything))
    assert {"STOP-GRADUAL", "SUP-DDD", "PO-MAX"} <= shown
    found = logged_in.get("/rules", params={"q": "discontinued SUDDENLY"}).text
    ids = set(re.findall(r'<section class="finding[^"]*" id="([A-Z0-9-]+)"', found))
    assert "STOP-GRADUAL" in ids and "PO-MAX" not in ids and len(ids) < len(shown)
    by_source = logged_in.get("/rules", params={"q": "ATC/DDD index"}).text
    assert 'id="SUP-DDD"' in by_source
    nothing = logged_in.get("/rules", params={"q": "zzzz-no-such-word"}).text
    assert "0 of" in nothing and '<section class="finding' not in nothing


def test_an_unknown_rule_page_is_404_with_the_search(logged_in: TestClient) -> None:
    answer = logged_in.get("/rules/NO-SUCH-RULE")
    assert answer.status_code == 404 and "There is no rule NO-SUCH-RULE." in answer.text


def test_indication_defined_daily_dose_row_is_the_who_ddd_not_the_range(
    logged_in: TestClient,
) -> None:
    html = logged_in.get("/indication").text
    rows = re.findall(r'<th scope="row">Defined daily dose</th><td>(.*?)</td></tr>', html, re.S)
    assert len(rows) == 2  # oral, then intrathecal
    oral, intrathecal = rows
    assert "50 mg/day" in oral and "ATC M03BX01" in oral and "SUP-DDD" in oral
    assert "0.55 mg/day" in intrathecal and "SUP-DDD" in intrathecal
    assert "WHO Collaborating Centre for Drug Statistics Methodology" in oral
    ranges = re.findall(r'<th scope="row">Dose range</th><td>(.*?)</td></tr>', html, re.S)
    assert ranges[0] not in oral and ranges[1] not in intrathecal  # not the dose range again


def test_pharmacist_pages_need_a_login_and_return_to_the_same_page_after_it(
    pages: TestClient,
) -> None:
    for path in ("/rules?q=pump", "/rules/PO-MAX", "/dose-check?patient=3"):
        answer = pages.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=" + quote(path, safe="")


def test_the_dose_check_panel_offers_the_patients_and_saves_nothing(
    logged_in: TestClient,
) -> None:
    pid = new_patient(logged_in, {"age_years": 50, "diagnosis": "stroke", "sex": "male"})
    page = logged_in.get("/dose-check", params={"patient": pid})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    assert f'<option value="{pid}" selected>Ada Byron' in html
    for field_id in re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id
    # what the panel sends: the checker's findings, and the history stays as it was
    csrf = csrf_of(logged_in)
    before = logged_in.get(f"/api/v1/patients/{pid}/events").json()
    answer = logged_in.post(
        f"/api/v1/patients/{pid}/check",
        headers={"X-CSRF-Token": csrf},
        json={
            "proposal": {
                "kind": "oral-regimen",
                "at": "2026-12-01T08:00",
                "dose": "40 mg",
                "times_per_day": 3,
            }
        },
    ).json()
    assert answer["verdict"] in ("error", "critical")
    assert "PO-MAX" in {f["rule"] for f in answer["findings"]}
    assert logged_in.get(f"/api/v1/patients/{pid}/events").json() == before
