"""The patient record in real headless Chromium (issue 11): identity and search, a duplicate
record number refused, the structured profile, a critical finding that one person cannot save,
a double click that stores one event, corrections and entries in error that stay visible, Back
after logout, a session that expires and comes back to the same page, saved plans with "Step
done", and a Berlin clinic across the end of summer time. Screenshots go to `screenshots/`
(docs/screenshots.md)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from posology.services import accounts
from posology.services import clinic as clinic_settings
from posology.services.clinic import set_clinic_zone
from posology.store.db import open_engine

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
COSIGNER = "second@north.example"
BERLIN = "doc@berlin.example"

if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    pytest.fail("CI is set and Debian's chromium is missing at /usr/bin/chromium", pytrace=False)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def clinic(server: str, database_url: str) -> str:
    """The live server with a second prescriber (the co-signer) and a clinic in Berlin."""
    engine = open_engine(database_url)
    accounts.add_user(engine, COSIGNER, "North", "prescriber", PASSWORD)
    accounts.add_user(engine, BERLIN, "Berlin", "prescriber", PASSWORD)
    set_clinic_zone(engine, "Berlin", "Europe/Berlin")
    clinic_settings.set_clinic_policy(engine, "Berlin", "single-signer")
    engine.dispose()
    return server


def open_page(browser: Any, width: int = 1280, height: int = 900) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "status of 4" not in m.text  # refusals the page shows
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def log_in(page: Any, base: str, email: str = "doc@north.example") -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")


def new_patient(
    page: Any,
    base: str,
    name: str,
    birth: str,
    number: str,
    diagnosis: str = "multiple-sclerosis",
    wait: bool = True,
) -> None:
    page.goto(base + "/patients")
    page.fill("#name", name)
    page.fill("#birth_date", birth)
    page.fill("#record_number", number)
    page.select_option("#sex", "female")
    page.select_option("#diagnosis", diagnosis)
    page.fill("#weight_kg", "64")
    page.select_option("#programmable", "none")
    if wait:
        with page.expect_navigation():
            page.click("#patient-form button[type=submit]")
    else:
        page.click("#patient-form button[type=submit]")


def api(page: Any, method: str, url: str, body: Any = None, key: str | None = None) -> Any:
    """A call of the JSON API from inside the page (its session cookie and CSRF token)."""
    return page.evaluate(
        """async ([method, url, body, key]) => {
          const csrf = document.querySelector('meta[name="csrf-token"]').content;
          const headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf};
          if (key) headers["Idempotency-Key"] = key;
          const r = await fetch(url, {method, headers, credentials: "same-origin",
                                      body: body === null ? undefined : JSON.stringify(body)});
          return {status: r.status, data: await r.json().catch(() => null)};
        }""",
        [method, url, body, key],
    )


def shot(page: Any, name: str) -> None:
    """A full-page screenshot from the top (the sticky banner in its place)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / name), full_page=True)


def pid_of(page: Any) -> int:
    return int(page.url.rstrip("/").split("/")[-1])


def record_oral(page: Any, at: str, dose: str) -> None:
    page.select_option("#kind", "oral-regimen")
    page.fill("#at", at)
    page.fill("#oral-dose", dose)
    page.fill("#oral-times", "3")
    with page.expect_navigation():
        page.click("#save-button")


def test_a_duplicate_record_number_is_refused_and_patients_are_found(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Ann Duplicate", "1960-05-01", "N-2001")
    banner = page.inner_text("#patient-bar")
    assert "Ann Duplicate" in banner and "Sun 01 May 1960" in banner and "N-2001" in banner
    assert "64 kg" in banner

    # a second patient with the same record number is refused, with the reason shown
    new_patient(page, clinic, "Other Person", "1970-01-01", "N-2001", wait=False)
    page.wait_for_selector("#patient-error:not(:empty)")
    assert "record_number" in page.inner_text("#patient-error")
    assert page.url.endswith("/patients")

    # a likely duplicate (same name and birth date) is a warning to confirm
    new_patient(page, clinic, "Ann Duplicate", "1960-05-01", "N-2002", wait=False)
    page.wait_for_selector("#duplicate-box:not([hidden])")
    page.check("#confirm_duplicate")
    with page.expect_navigation():
        page.click("#patient-form button[type=submit]")
    assert "N-2002" in page.inner_text("#patient-bar")

    # search by record number, by birth date and by name
    for query, expected in (("N-2001", 1), ("1960-05-01", 2), ("ann dup", 2), ("nobody", 0)):
        page.goto(clinic + "/patients?q=" + query)
        rows = page.locator("#patient-list tr:has(a)").count()
        assert rows == expected, query
    page.goto(clinic + "/patients")
    page.fill("#q", "N-2002")
    with page.expect_navigation():
        page.click("#patient-search button")
    assert page.locator("#patient-list tr:has(a)").count() == 1
    shot(page, "40-patients-search-desktop.png")
    context.close()

    context, page, _ = open_page(browser, 390, 844)
    log_in(page, clinic)
    page.goto(clinic + "/patients?q=Ann")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "41-patients-search-phone.png")
    context.close()
    assert errors == []


def test_a_critical_finding_needs_the_dose_again_and_a_co_signer(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Carl Critical", "1975-02-03", "N-3001")
    pid = pid_of(page)

    # 50 mg as an intrathecal test dose: a thousandfold overdose, flagged critical
    page.select_option("#kind", "it-test-dose")
    page.fill("#at", "2026-11-02T10:00")
    page.fill("#td-dose", "50")
    page.select_option("#td-unit", "mg")
    page.click("#save-button")
    page.wait_for_selector("#critical-box:not([hidden])")
    assert page.locator("#check-result .finding.critical").count() >= 1
    assert page.evaluate("document.activeElement.id") == "change-button"  # the safer default

    # one person with a reason cannot save it
    page.select_option("#override_code", "other")
    page.fill("#override_reason", "x")
    page.click("#save-button")
    page.wait_for_selector("#event-error:has-text('Type the dose again')")
    page.fill("#retyped_dose", "50 mg")
    page.click("#save-button")
    page.wait_for_selector("#event-error:has-text('co-signature')")
    # the server refuses it too, whatever the page sends
    body = {
        "event": {"at": "2026-11-02T10:00", "kind": "it-test-dose", "dose": "50 mg"},
        "override": {"code": "other", "text": "x"},
        "retyped_dose": "50 mg",
    }
    alone = api(page, "POST", f"/api/v1/patients/{pid}/events", body)
    assert alone["status"] == 422 and alone["data"]["error"]["field"] == "cosigner"
    # a wrong password of the co-signer is refused and said
    page.fill("#cosigner_email", COSIGNER)
    page.fill("#cosigner_password", "wrong")
    page.click("#save-button")
    page.wait_for_selector("#event-error:has-text('co-signer')")
    assert page.inner_text("ol.timeline").strip() == "No event yet."
    shot(page, "42-critical-override-desktop.png")

    page.fill("#cosigner_password", PASSWORD)
    with page.expect_navigation():
        page.click("#save-button")
    history = page.inner_text("ol.timeline")
    assert "signed by doc@north.example" in history, history
    assert f"co-signed by {COSIGNER}" in history
    audit = api(page, "GET", "/api/v1/audit")
    assert audit["status"] == 200
    saved = [
        row
        for row in audit["data"]
        if "event" in str(row.get("action")) and str(pid) in json.dumps(row)
    ]
    text = json.dumps(saved)
    assert saved and "doc@north.example" in text
    assert "cosign" in text, text[:800]  # the co-signer is in the audit trail
    assert errors == []
    context.close()


def test_a_double_click_stores_one_event(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Dora Double", "1982-07-08", "N-4001")
    pid = pid_of(page)
    page.select_option("#kind", "oral-regimen")
    page.fill("#at", "2026-11-01T08:00")
    page.fill("#oral-dose", "5")
    with page.expect_navigation():
        page.dblclick("#save-button")
    events = api(page, "GET", f"/api/v1/patients/{pid}/events")["data"]
    assert len(events) == 1
    assert page.locator("ol.timeline li.entry").count() == 1
    # the same form fill sent twice (the key the page sends) stores it once, answered the same
    body = {"event": {"at": "2026-11-03T08:00", "kind": "review", "note": "tone"}}
    first = api(page, "POST", f"/api/v1/patients/{pid}/events", body, "fill-1")
    again = api(page, "POST", f"/api/v1/patients/{pid}/events", body, "fill-1")
    assert first["status"] == 201 and again["data"]["id"] == first["data"]["id"]
    assert len(api(page, "GET", f"/api/v1/patients/{pid}/events")["data"]) == 2
    assert errors == []
    context.close()


def test_a_correction_and_an_entry_in_error_stay_visible(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Erik Entry", "1990-09-10", "N-5001")
    record_oral(page, "2026-11-01T08:00", "5")
    page.select_option("#kind", "review")
    page.fill("#at", "2026-10-30T09:00")  # typed later, happened earlier
    page.fill("#review-note", "tone assessment")
    with page.expect_navigation():
        page.click("#save-button")
    entries = page.locator("ol.timeline li.entry")
    assert "Fri 30 Oct 2026, 09:00" in entries.nth(0).inner_text()  # ordered by event time
    assert "Sun 01 Nov 2026, 08:00" in entries.nth(1).inner_text()
    assert "recorded by doc@north.example" in entries.nth(1).inner_text()

    # correct the oral entry from the page: 5 mg was typed where 10 mg was given
    oral_id = entries.nth(1).get_attribute("data-id")
    page.click(f"#entry-{oral_id} .correct-entry")
    assert page.input_value("#oral-dose") == "5" and page.input_value("#kind") == "oral-regimen"
    page.fill("#oral-dose", "10")
    page.click("#save-button")
    page.wait_for_selector("#event-error:has-text('Say why')")
    page.fill("#correction-text", "typed 5 instead of 10")
    with page.expect_navigation():
        page.click("#save-button")
    old = page.locator(f"#entry-{oral_id}")
    assert "superseded" in (old.get_attribute("class") or "")
    assert "(corrected)" in old.inner_text() and "Oral baclofen 15 mg/day" in old.inner_text()
    assert (
        old.locator(".entry-what").evaluate("e => getComputedStyle(e).textDecorationLine")
        == "line-through"
    )
    history = page.inner_text("ol.timeline")
    assert "Oral baclofen 30 mg/day" in history
    assert "corrects an earlier entry: typed 5 instead of 10" in history

    # the review was entered in error: marked with a reason, still shown
    review_id = page.locator("ol.timeline li.entry").nth(0).get_attribute("data-id")
    page.click(f"#entry-{review_id} .error-entry")
    page.fill(f"#void-text-{review_id}", "wrong patient")
    with page.expect_navigation():
        page.click(f"#entry-{review_id} .void-save")
    review = page.locator(f"#entry-{review_id}")
    assert "(entered in error)" in review.inner_text() and "tone assessment" in review.inner_text()
    assert "entered in error: wrong patient" in page.inner_text("ol.timeline")
    shot(page, "43-history-corrections-desktop.png")
    context.close()

    context, page, _ = open_page(browser, 390, 844)
    log_in(page, clinic)
    page.goto(clinic + "/patients?q=N-5001")
    with page.expect_navigation():
        page.click("#patient-list a")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "N-5001" in page.inner_text("#patient-bar")  # the banner keeps the record number
    shot(page, "44-patient-record-phone.png")
    context.close()
    assert errors == []


def test_back_after_logout_shows_no_patient_data(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Fay Private", "1955-11-12", "N-6001")
    answer = page.reload()
    assert answer.headers["cache-control"] == "no-store"
    assert "Fay Private" in page.content()
    with page.expect_navigation():
        page.click("header form button")
    assert "/login" in page.url
    page.go_back()
    page.wait_for_load_state()
    assert "Fay Private" not in page.content()
    assert "N-6001" not in page.content()
    assert errors == []
    context.close()


def test_an_expired_session_returns_to_the_same_page_after_login(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Gus Return", "1966-06-06", "N-7001")
    here = page.url
    context.clear_cookies()  # the session is gone
    page.goto(here)
    assert "/login?next=" in page.url
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == here
    assert "Gus Return" in page.inner_text("#patient-bar")
    assert errors == []
    context.close()


def test_saved_plans_are_listed_and_a_step_can_be_done(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic)
    new_patient(page, clinic, "Hal Planned", "1970-03-04", "N-8001")
    pid = pid_of(page)
    record_oral(page, "2026-11-01T08:00", "5")
    saved = api(
        page,
        "POST",
        f"/api/v1/patients/{pid}/plans",
        {
            "goal": {"kind": "oral-titration", "target_daily_dose": "30 mg"},
            "start": "2026-11-10T08:00",
        },
    )
    assert saved["status"] == 201, saved
    steps = len(saved["data"]["plan"]["steps"]) if "plan" in saved["data"] else None
    page.reload()
    card = page.locator(f"#plan-{saved['data']['id']}")
    assert "Oral titration" in card.inner_text()
    total = card.locator("tr.step").count()
    assert total >= 1 and (steps is None or steps == total)
    assert f"0 of {total} steps done" in card.inner_text()
    with page.expect_navigation():
        card.locator(".step-done").first.click()
    card = page.locator(f"#plan-{saved['data']['id']}")
    assert (
        f"1 of {total} steps done" in card.inner_text() or f"All {total} steps" in card.inner_text()
    )
    assert "done" in card.locator("tr.step").first.inner_text()
    assert page.locator("ol.timeline li.entry").count() == 2  # the step is in the history

    # the plan form: a start picker and each goal's own options
    assert page.get_attribute("#start", "type") == "datetime-local"
    page.select_option("#goal", "it-flex")
    assert page.locator("#onset").is_visible() and page.locator("#night_end").is_visible()
    assert page.locator("#times").is_hidden()
    page.select_option("#goal", "oral-titration")
    for option in ("#target", "#times", "#pre_task", "#night_only", "#form"):
        assert page.locator(option).is_visible(), option
    page.select_option("#goal", "it-refill")
    assert page.locator("#conc").is_visible() and page.locator("#alarm").is_visible()
    shot(page, "45-patient-plans-desktop.png")
    assert errors == []
    context.close()


def test_a_berlin_clinic_enters_berlin_times_across_summer_time(clinic: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = open_page(browser)
    log_in(page, clinic, BERLIN)
    new_patient(page, clinic, "Ilse Berlin", "1980-01-02", "B-1")
    pid = pid_of(page)
    berlin_now = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
    filled = datetime.fromisoformat(page.input_value("#at"))
    assert abs(filled - berlin_now) < timedelta(minutes=3)  # the form is filled in Berlin time
    for at in ("2026-10-24T09:00", "2026-10-26T09:00"):  # summer time ends on 25 October
        page.select_option("#kind", "review")
        page.fill("#at", at)
        page.fill("#review-note", "review")
        with page.expect_navigation():
            page.click("#save-button")
    history = page.inner_text("ol.timeline")
    assert "Sat 24 Oct 2026, 09:00" in history and "Mon 26 Oct 2026, 09:00" in history
    stored = [e["event"]["at"] for e in api(page, "GET", f"/api/v1/patients/{pid}/events")["data"]]
    # stored with offsets, as the Berlin wall clock said: 09:00 both days, +02:00 then +01:00
    zone = ZoneInfo("Europe/Berlin")
    instants = [datetime.fromisoformat(at) for at in stored]
    assert all(a.tzinfo is not None for a in instants)
    assert [a.astimezone(zone).strftime("%H:%M") for a in instants] == ["09:00", "09:00"]
    assert [a.astimezone(zone).utcoffset() for a in instants] == [
        timedelta(hours=2),
        timedelta(hours=1),
    ]
    assert "Europe/Berlin" in page.inner_text("#history-title")
    shot(page, "46-patient-berlin-desktop.png")
    assert errors == []
    context.close()


def test_a_single_signer_clinic_saves_a_critical_override_without_a_co_signer(  # type: ignore[no-untyped-def]
    clinic: str, browser
) -> None:
    context, page, errors = open_page(browser)
    log_in(page, clinic, BERLIN)
    new_patient(page, clinic, "Jan Single", "1971-04-05", "B-2")
    page.select_option("#kind", "it-test-dose")
    page.fill("#at", "2026-11-02T10:00")
    page.fill("#td-dose", "50")
    page.select_option("#td-unit", "mg")
    page.click("#save-button")
    page.wait_for_selector("#critical-box:not([hidden])")
    assert "single-signer" in page.inner_text("#critical-box")
    assert page.locator("#cosigner_email").count() == 0
    page.select_option("#override_code", "other")
    page.fill("#override_reason", "dose confirmed with the specialist centre")
    page.click("#save-button")
    page.wait_for_selector("#event-error:has-text('Type the dose again')")  # still typed again
    page.fill("#retyped_dose", "50 mg")
    with page.expect_navigation():
        page.click("#save-button")
    history = page.inner_text("ol.timeline")
    assert "dose confirmed with the specialist centre" in history and "co-signed" not in history
    assert errors == []
    context.close()
