"""End-to-end in real headless Chromium (Playwright driving Debian's /usr/bin/chromium).

A clinician logs in, creates a patient, adds history, sees the checker's findings before saving,
needs an override for an error, makes and saves an oral titration and a pump refill plan, and
downloads the PDF handout, whose text (pdftotext) holds the schedule. Screenshots of each main
page go to `screenshots/` at the project root (see docs/screenshots.md); the browser console
must stay free of errors.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"

if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    # on CI a missing browser is a broken set-up, not a reason to pass: scripts/browser.sh
    # installs it
    pytest.fail("CI is set and Debian's chromium is missing at /usr/bin/chromium", pytrace=False)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


def test_a_clinician_goes_from_login_to_a_pdf_handout(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))

    page.goto(server + "/")
    assert page.url.endswith("/login")
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(SHOTS / "01-login.png"))
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")  # the landing page after login

    page.goto(server + "/indication")
    assert page.locator("#PO-MAX").is_visible()
    assert "From 5 To 33.333 mg 3 time(s) per day every day" in page.content()
    page.screenshot(path=str(SHOTS / "02-indication.png"), full_page=True)

    page.goto(server + "/patients")
    # nothing clinical is pre-selected: sex, diagnosis and the pump must be chosen
    assert page.input_value("#sex") == "" and page.input_value("#diagnosis") == ""
    assert page.input_value("#programmable") == ""
    page.fill("#name", "John Brown")
    page.fill("#birth_date", "1978-03-02")
    page.fill("#record_number", "N-1001")
    page.select_option("#diagnosis", "multiple-sclerosis")
    page.select_option("#sex", "male")
    page.fill("#weight_kg", "80")
    page.select_option("#programmable", "yes")
    page.fill("#reservoir_ml", "20")
    page.screenshot(path=str(SHOTS / "03-patients.png"), full_page=True)
    page.click("#patient-form button[type=submit]")
    page.wait_for_url("**/patients/*")
    patient_url = page.url

    # the profile form: a new weight is saved as a new version, the old one kept
    banner = page.inner_text("#patient-bar")
    assert "John Brown" in banner and "Thu 02 Mar 1978" in banner and "N-1001" in banner
    assert "80 kg" in banner

    # the structured profile form: a new weight is saved as a new version, the old one kept
    page.click("#profile-details summary")
    assert page.input_value("#pf-programmable") == "yes"  # the pump's fields, filled
    assert page.input_value("#pf-reservoir_ml") == "20"
    page.fill("#pf-weight_kg", "82")
    with page.expect_navigation():
        page.click("#profile-form button[type=submit]")
    assert "82" in page.inner_text("#profile-table")
    assert "82 kg" in page.inner_text("#patient-bar")
    page.click("#versions summary")  # every version kept, compared with the one before
    assert "Version 2" in page.inner_text("#versions")
    assert "weight (kg) 80 → 82" in page.inner_text("#versions")

    # history: a first oral regimen, checked before it is saved
    page.select_option("#kind", "oral-regimen")
    page.fill("#at", "2026-11-01T08:00")
    page.fill("#oral-dose", "5")
    page.fill("#oral-times", "3")
    page.click("#check-button")
    page.wait_for_selector("#check-result p, #check-result .finding")
    with page.expect_navigation():
        page.click("#event-form button[type=submit]")
    assert "Oral baclofen 15 mg/day" in page.inner_text("ol.timeline"), page.inner_text(
        "#event-error"
    )

    # a dose typed in the wrong unit is caught before saving, and an error needs an override
    page.select_option("#kind", "oral-regimen")
    page.fill("#at", "2026-11-04T08:00")
    page.fill("#oral-dose", "10")
    page.select_option("#oral-unit", "ug")  # µg where mg is meant
    page.click("#check-button")
    page.wait_for_selector("#check-result .finding.error")
    assert "SUP-UNIT-MIXUP" in page.inner_text("#check-result")
    page.select_option("#oral-unit", "mg")
    page.fill("#oral-dose", "40")
    page.click("#event-form button[type=submit]")
    page.wait_for_selector("#override-box:not([hidden])")
    assert "PO-MAX" in page.inner_text("#check-result")
    page.screenshot(path=str(SHOTS / "04-patient-findings.png"), full_page=True)
    # the safer action is the default: "Change the dose" is the primary button, focused
    assert page.evaluate("document.activeElement.id") == "change-button"
    assert "secondary" in (page.get_attribute("#save-button", "class") or "")
    page.fill("#oral-dose", "10")
    # the check answered another dose: it is cleared as soon as the dose changes
    assert page.inner_text("#check-result") == ""
    assert page.locator("#override-box").is_hidden()
    with page.expect_navigation():
        page.click("#event-form button[type=submit]")
    assert "Oral baclofen 30 mg/day" in page.inner_text("ol.timeline"), page.inner_text(
        "#event-error"
    )

    # an oral titration plan, shown with its chart, saved, and its PDF handout downloaded
    page.goto(
        patient_url + "/plan?goal=oral-titration&start=2026-11-10T08%3A00&target_daily_dose=60+mg"
    )
    assert page.locator("svg.chart").count() >= 1
    page.screenshot(path=str(SHOTS / "05-plan-oral.png"), full_page=True)
    page.click("#save-plan")
    page.wait_for_selector("#save-result:has-text('Saved as plan')")
    with page.expect_download() as download:
        page.click("text=Download the patient handout (PDF)")
    pdf = tmp_path / "handout.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Your baclofen plan" in text and "Never stop suddenly" in text
    assert "60 mg/day" in text
    assert "01234 567890" in " ".join(text.split())  # the clinic's contact

    # a pump started elsewhere: the infusion has no screening here, so it needs an override
    page.goto(patient_url)
    page.select_option("#kind", "it-infusion")
    page.fill("#at", "2026-11-20T09:00")
    page.fill("#inf-daily", "250")
    page.click("#event-form button[type=submit]")
    page.wait_for_selector("#override-box:not([hidden])")
    assert "IT-SCREEN-REQUIRED" in page.inner_text("#check-result")
    page.fill("#override_reason", "screened and implanted at the regional centre in 2025")
    page.click("#event-form button[type=submit]")  # words alone are not enough: a coded reason
    page.wait_for_selector("#event-error:has-text('choose a reason')")
    page.select_option("#override_code", "specialist-advice")
    with page.expect_navigation():
        page.click("#event-form button[type=submit]")
    assert "screened and implanted" in page.inner_text("ol.timeline")
    assert "override (specialist advice)" in page.inner_text("ol.timeline")
    page.goto(
        patient_url + "/plan?goal=it-refill&start=2026-12-01T09%3A00&concentration=500+ug%2FmL"
    )
    content = page.content()
    assert "No plan can be given" not in content, page.inner_text("main")[:500]
    assert page.locator("svg.chart").count() == 2  # the 24-hour rate profile and the reservoir
    page.screenshot(path=str(SHOTS / "06-plan-refill.png"), full_page=True)
    page.click("#save-plan")
    page.wait_for_selector("#save-result:has-text('Saved as plan')")
    assert console_errors == []
    context.close()


def test_pages_fit_a_tablet(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/login")
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    page.goto(server + "/patients")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820, "the page scrolls sideways on a tablet"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON", "INPUT", "SELECT")
    page.screenshot(path=str(SHOTS / "07-tablet-patients.png"), full_page=True)
    assert console_errors == []
    context.close()


def test_the_api_viewer_works_offline_under_the_script_policy(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((server, "data:")) else None,
    )
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "Posology" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/check").count() >= 1
    page.screenshot(path=str(SHOTS / "08-api-viewer.png"))
    assert outside == [] and errors == []
    context.close()
