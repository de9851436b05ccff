"""The pump clinic's day in real headless Chromium: the refill worklist, a refill with a residual
discrepancy, a concentration change with its bridge bolus, a screening ladder to the first
infusion, a flex profile with a wrong total, a too-large dose change.

The clinic is in Europe/Berlin; every patient is seeded over the API (with times relative to
now, as clinic wall-clock times) and every number the pages show is asserted. Screenshots of
each page at desktop and phone width go to `screenshots/` (listed in docs/screenshots.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from posology.services import accounts
from posology.services.clinic import set_clinic_zone
from posology.store.db import open_engine

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
ZONE = ZoneInfo("Europe/Berlin")
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}

if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    pytest.fail("CI is set and Debian's chromium is missing at /usr/bin/chromium", pytrace=False)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)

PUMP_PATIENT = {
    "age_years": 45,
    "sex": "female",
    "diagnosis": "multiple-sclerosis",
    "weight_kg": 70,
    "pump": {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"},
}
# now in the clinic, as a wall-clock time, two minutes back so that an event "now" is past
NOW = datetime.now(ZONE).replace(tzinfo=None, second=0, microsecond=0) - timedelta(minutes=2)


def when(at: datetime) -> str:
    """An instant as the pages show it."""
    return f"{at:%a %d %b %Y, %H:%M}"


def day(at: datetime) -> str:
    return f"{at:%a %d %b %Y}"


def form_time(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M}"


class Clinic:
    """The API, as the referral letters are typed in, for seeding patients."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})

    def patient(self, label: str, document: dict[str, Any] | None = None) -> int:
        answer = self.http.post(
            "/api/v1/patients", json={"patient": document or PUMP_PATIENT, "label": label}
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def event(self, pid: int, event: dict[str, Any]) -> None:
        answer = self.http.post(
            f"/api/v1/patients/{pid}/events",
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert answer.status_code == 201, answer.text

    def filled(self, label: str, fill: datetime, stable: bool = True) -> int:
        """Screened, implanted, filled at ``fill`` with 20 mL of 500 µg/mL and infusing
        250 µg/day (0.5 mL/day): alarm (2 mL) 36 days after the fill, empty after 40."""
        pid = self.patient(label)
        for event in (
            {
                "at": form_time(fill - timedelta(days=30)),
                "kind": "it-test-dose",
                "dose": "50 ug",
                "response": {"effect": True, "duration_h": 6},
            },
            {"at": form_time(fill - timedelta(days=1)), "kind": "pump-implant"},
            {
                "at": form_time(fill),
                "kind": "pump-refill",
                "concentration": "500 ug/mL",
                "volume_ml": 20,
            },
            {"at": form_time(fill), "kind": "it-infusion", "daily_dose": "250 ug/d"},
        ):
            self.event(pid, event)
        if stable:
            self.event(pid, {"at": form_time(fill + timedelta(hours=1)), "kind": "it-stable"})
        return pid


@pytest.fixture(scope="module")
def clinic(server: str, database_url: str) -> Iterator[Clinic]:
    engine = open_engine(database_url)
    set_clinic_zone(engine, "North", "Europe/Berlin")
    token = accounts.create_token(engine, "doc@north.example")
    engine.dispose()
    api = Clinic(server, token)
    yield api
    api.http.close()


def session(
    browser: Any, server: str, viewport: dict[str, int] = DESKTOP
) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/login")
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    return context, page, errors


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky patient bar at the top, where it is seen
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_a_nurse_opens_the_worklist_with_the_most_urgent_patients_first(
    server: str, browser: Any, clinic: Clinic
) -> None:
    past_alarm = NOW - timedelta(days=37)  # the alarm came yesterday
    overdue = NOW - timedelta(days=34)  # the booking window closed yesterday (alarm - 3 days)
    on_time = NOW - timedelta(days=5)
    clinic.filled("W. Ontime", on_time)
    clinic.filled("W. Overdue", overdue)
    clinic.filled("W. Pastalarm", past_alarm)
    context, page, errors = session(browser, server)
    rows = page.locator("#worklist tbody tr")
    first, second, third = (rows.nth(i).inner_text() for i in range(3))
    assert "W. Pastalarm" in first and "Past the low-reservoir alarm" in first
    assert when(past_alarm + timedelta(days=36)) in first  # the alarm of the current fill
    assert "W. Overdue" in second and "Refill overdue" in second
    assert when(overdue + timedelta(days=33)) in second  # due by: 3 days before the alarm
    assert "1 day ago" in second
    assert "3 mL" in second  # 20 mL - 34 days x 0.5 mL/day
    assert "W. Ontime" in third and "On schedule" in third
    assert "17.5 mL" in third and "250 µg/day · 10.4 µg/h" in third
    assert page.inner_text("#count-past-alarm") == "1"
    assert page.inner_text("#count-overdue") == "1"
    shoot(page, "10-worklist-desktop.png")
    page.click("text=Overdue, past alarm or empty")
    page.wait_for_url("**/worklist?filter=overdue")
    labels = page.locator("#worklist tbody tr td:first-child").all_inner_texts()
    assert labels == ["W. Pastalarm", "W. Overdue"]
    page.click("text=W. Overdue")
    page.wait_for_url("**/patients/*")
    assert page.inner_text("#patient-label") == "W. Overdue"
    assert page.inner_text("#status-state") == "Refill overdue"
    assert page.inner_text("#status-alarm") == when(overdue + timedelta(days=36))
    assert page.inner_text("#status-empty") == when(overdue + timedelta(days=40))
    assert page.inner_text("#status-daily") == "250 µg/day"
    assert page.inner_text("#status-hourly") == "10.4 µg/h"
    assert "SUP-IT-REFILL" in page.inner_text("#pump-status")
    shoot(page, "11-patient-pump-status-desktop.png")
    context.close()
    phone, page, phone_errors = session(browser, server, PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert "Past the low-reservoir alarm" in page.locator("#worklist tbody tr").first.inner_text()
    shoot(page, "12-worklist-phone.png")
    phone.close()
    tablet, page, tablet_errors = session(browser, server, TABLET)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    shoot(page, "19-worklist-tablet.png")
    page.click("text=W. Overdue")
    page.wait_for_url("**/patients/*")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    page.emulate_media(media="print")
    # printed: the patient, the pump status and its finding; no forms, buttons or navigation
    assert page.locator("#pump-status").is_visible()
    assert page.inner_text("#patient-label") == "W. Overdue"
    assert not page.locator("#event-form").is_visible()
    assert not page.locator("header").first.is_visible()
    shoot(page, "20-patient-print.png")
    tablet.close()
    assert errors == [] and phone_errors == [] and tablet_errors == []


def test_a_refill_with_less_withdrawn_than_expected_shows_the_finding_and_the_new_dates(
    server: str, browser: Any, clinic: Clinic
) -> None:
    refill_at = NOW
    pid = clinic.filled("R. Residual", refill_at - timedelta(days=20))  # 10 mL expected now
    context, page, errors = session(browser, server)
    page.goto(f"{server}/patients/{pid}")
    assert page.input_value("#kind") == "pump-refill"  # the pump work first
    assert "10 mL" in page.inner_text("#refill-expected")
    page.fill("#at", form_time(refill_at))
    page.fill("#refill-residual", "7")
    page.fill("#refill-volume", "20")
    page.fill("#refill-lot", "L2026-117")
    page.fill("#refill-checked", "A. Second")
    page.click("#refill-review")
    page.wait_for_selector("#preview-settings")
    residual = page.inner_text("#preview-residual")
    assert "7 mL" in residual and "10 mL" in residual
    findings = page.inner_text("#preview-findings")
    assert "SUP-IT-RESIDUAL" in findings and "7 mL withdrawn, 10 mL expected" in findings
    assert page.inner_text("#preview-alarm") == when(refill_at + timedelta(days=36))
    shoot(page, "13-refill-review-desktop.png")
    with page.expect_navigation():
        page.click("#save-button")
    assert page.inner_text("#status-alarm") == when(refill_at + timedelta(days=36))
    assert page.inner_text("#status-fill") == f"{when(refill_at)}, 20 mL"
    assert "SUP-IT-RESIDUAL" in page.inner_text("ol.timeline")
    context.close()
    assert errors == []


def test_a_concentration_change_shows_the_bridge_bolus_and_the_new_alarm_date(
    server: str, browser: Any, clinic: Clinic
) -> None:
    refill_at = NOW
    pid = clinic.filled("C. Double", refill_at - timedelta(days=30))  # 5 mL expected now
    context, page, errors = session(browser, server, PHONE)
    page.goto(f"{server}/patients/{pid}")
    page.fill("#at", form_time(refill_at))
    page.fill("#refill-residual", "5")
    page.fill("#refill-conc", "1000")
    page.fill("#refill-volume", "20")
    page.fill("#refill-bridge", "0.2")
    page.click("#refill-review")
    page.wait_for_selector("#preview-bridge")
    settings = page.inner_text("#preview-settings")
    assert "500 µg/mL" in settings and "1000 µg/mL" in settings
    # 0.2 mL of 500 µg/mL still in the tubing: 100 µg, run over 0.2 x 500 / 250 days = 9.6 h
    bridge = page.inner_text("#preview-bridge")
    assert "100 µg" in bridge and "9.6" in bridge
    # 18 mL above the alarm at 0.25 mL/day: the alarm 72 days after the refill
    assert page.inner_text("#preview-alarm") == when(refill_at + timedelta(days=72))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "14-refill-bridge-phone.png")
    with page.expect_navigation():
        page.click("#save-button")
    assert page.inner_text("#status-conc") == "1000 µg/mL"
    assert page.inner_text("#status-alarm") == when(refill_at + timedelta(days=72))
    context.close()
    assert errors == []


def test_a_physician_screens_to_a_responder_and_starts_the_first_infusion(
    server: str, browser: Any, clinic: Clinic
) -> None:
    pid = clinic.patient(
        "S. Ladder", {k: v for k, v in PUMP_PATIENT.items() if k != "pump"} | {"age_years": 38}
    )
    first = NOW - timedelta(days=2)
    context, page, errors = session(browser, server)
    page.goto(f"{server}/patients/{pid}")
    page.select_option("#kind", "it-test-dose")
    page.fill("#at", form_time(first))
    page.fill("#td-dose", "50")
    with page.expect_navigation():
        page.click("#save-button")
    # the response, recorded later as a correction of the test dose
    page.wait_for_selector("#screening-ladder")
    dose_id = page.locator("#screening-ladder select").first.get_attribute("id").split("-")[-1]
    page.select_option(f"#resp-effect-{dose_id}", "no")
    with page.expect_navigation():
        page.click(f"#resp-save-{dose_id}")
    page.wait_for_selector("#screening-next")
    assert page.inner_text("#screening-next").startswith(
        f"Next allowed test dose: 75 µg, not before {when(first + timedelta(hours=24))}."
    )
    page.click("#screening-prefill-dose")
    assert page.input_value("#kind") == "it-test-dose" and page.input_value("#td-dose") == "75"
    page.fill("#at", form_time(first + timedelta(hours=24)))
    with page.expect_navigation():
        page.click("#save-button")
    page.wait_for_selector("#screening-ladder select")
    dose_id = page.locator("#screening-ladder select").first.get_attribute("id").split("-")[-1]
    page.select_option(f"#resp-effect-{dose_id}", "yes")
    page.fill(f"#resp-duration-{dose_id}", "6")
    with page.expect_navigation():
        page.click(f"#resp-save-{dose_id}")
    page.wait_for_selector("#screening-start")
    ladder = page.inner_text("#screening-ladder")
    assert "50 µg" in ladder and "No effect" in ladder
    assert "75 µg" in ladder and "Effect seen for 6 h" in ladder
    assert page.inner_text("#screening-state") == "Responder"
    # twice the responding 75 µg bolus over a day (IT-TITR-START): 150 µg/day, 6.3 µg/h
    assert "150 µg/day = 6.3 µg/h" in page.inner_text("#screening-start")
    shoot(page, "15-screening-desktop.png")
    page.click("#screening-implant")
    page.fill("#at", form_time(NOW - timedelta(hours=3)))
    with page.expect_navigation():
        page.click("#save-button")
    page.wait_for_selector("#screening-start-infusion")
    page.click("#screening-start-infusion")
    assert page.input_value("#kind") == "it-infusion" and page.input_value("#inf-daily") == "150"
    assert page.inner_text("#inf-hourly") == "150 µg/day = 6.3 µg/h"
    page.fill("#at", form_time(NOW - timedelta(hours=2)))
    with page.expect_navigation():
        page.click("#save-button")
    assert "Intrathecal infusion 150 µg/day" in page.inner_text("ol.timeline")
    assert page.inner_text("#status-daily") == "150 µg/day"
    assert page.inner_text("#status-hourly") == "6.3 µg/h"
    context.close()
    assert errors == []


def test_a_flex_profile_whose_mean_is_not_the_daily_dose_is_refused(
    server: str, browser: Any, clinic: Clinic
) -> None:
    pid = clinic.filled("F. Flex", NOW - timedelta(days=10))
    context, page, errors = session(browser, server)
    page.goto(f"{server}/patients/{pid}")
    page.select_option("#kind", "it-infusion")
    page.fill("#at", form_time(NOW))
    page.select_option("#inf-mode", "flex")
    rows = page.locator("#inf-flex tbody tr")
    rows.nth(0).locator(".seg-start").fill("06:00")
    rows.nth(0).locator(".seg-rate").fill("225")
    rows.nth(1).locator(".seg-start").fill("22:00")
    rows.nth(1).locator(".seg-rate").fill("350")
    # 16 h at 225 and 8 h at 350 µg/day: a mean of 266.67 µg/day, not 250
    total = page.inner_text("#inf-flex-total")
    assert "266.67 µg/day" in total and "does NOT match the daily dose of 250 µg/day" in total
    assert rows.nth(0).locator(".seg-hourly").inner_text() == "9.4 µg/h"
    assert rows.nth(1).locator(".seg-hourly").inner_text() == "14.6 µg/h"
    assert page.inner_text("#inf-hourly") == "250 µg/day = 10.4 µg/h"
    before = page.inner_text("ol.timeline")
    page.click("#save-button")
    assert "Not saved: the profile's time-weighted daily total is 266.67 µg/day" in page.inner_text(
        "#event-error"
    )
    shoot(page, "16-flex-refused-desktop.png")
    page.reload()
    assert page.inner_text("ol.timeline") == before  # nothing was recorded
    page.select_option("#kind", "it-infusion")
    page.fill("#at", form_time(NOW))
    page.select_option("#inf-mode", "flex")
    rows = page.locator("#inf-flex tbody tr")
    rows.nth(0).locator(".seg-start").fill("06:00")
    rows.nth(0).locator(".seg-rate").fill("225")
    rows.nth(1).locator(".seg-start").fill("22:00")
    rows.nth(1).locator(".seg-rate").fill("300")
    assert "250 µg/day (10.4 µg/h on average) — matches" in page.inner_text("#inf-flex-total")
    with page.expect_navigation():
        page.click("#save-button")
    profile = page.inner_text("#status-profile")
    assert "06:00" in profile and "225 µg/day" in profile and "9.4 µg/h" in profile
    assert "22:00" in profile and "300 µg/day" in profile and "12.5 µg/h" in profile
    context.close()
    phone, page, phone_errors = session(browser, server, PHONE)
    page.goto(f"{server}/patients/{pid}")
    page.select_option("#kind", "it-infusion")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "17-flex-editor-phone.png")
    phone.close()
    assert errors == [] and phone_errors == []


def test_a_too_large_dose_change_offers_the_largest_allowed_dose(
    server: str, browser: Any, clinic: Clinic
) -> None:
    # in titration (not declared stable), spinal origin: at most 30 % a step, 250 → 325 µg/day
    pid = clinic.filled("T. Titration", NOW - timedelta(days=3), stable=False)
    context, page, errors = session(browser, server)
    page.goto(f"{server}/patients/{pid}")
    page.select_option("#kind", "it-infusion")
    page.wait_for_selector("#inf-limits p")
    assert "Allowed up to 325 µg/day" in page.inner_text("#inf-limits")
    page.fill("#at", form_time(NOW))
    page.fill("#inf-daily", "500")
    page.click("#save-button")
    page.wait_for_selector("#override-box:not([hidden])")
    assert "IT-TITR-STEP" in page.inner_text("#check-result")
    assert page.inner_text("#inf-use-largest") == "Use 325 µg/day (the largest allowed)"
    shoot(page, "18-dose-change-limits-desktop.png")
    page.click("#inf-use-largest")
    assert page.input_value("#inf-daily") == "325"
    assert page.inner_text("#inf-hourly") == "325 µg/day = 13.5 µg/h"
    with page.expect_navigation():
        page.click("#save-button")
    assert page.inner_text("#status-daily") == "325 µg/day"
    context.close()
    assert errors == []
