"""Accessibility in real headless Chromium: axe-core (npm ``axe-core``, pinned by
package-lock.json, installed by ``scripts/test``) is injected into every page and must find no
serious or critical violation. The count per page is printed (``pytest -s``) and each failing
page is named with its rules and elements.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from posology.services import accounts
from posology.store.db import open_engine

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")

if os.environ.get("CI") and not (Path(CHROMIUM).exists() and AXE.exists()):
    pytest.fail("CI is set and chromium or node_modules/axe-core is missing", pytrace=False)
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and AXE.exists()),
    reason="needs Debian's chromium and node_modules/axe-core (npm ci)",
)

PUMP_PATIENT = {
    "sex": "female",
    "diagnosis": "multiple-sclerosis",
    "weight_kg": 70,
    "pump": {"programmable": True, "reservoir_ml": 20, "model": "SynchroMed II 20 mL"},
}
NOW = datetime.now().replace(second=0, microsecond=0) - timedelta(minutes=2)


def form_time(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M}"


class Api:
    """The API with a bearer token, to seed the pages' patients."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})

    def patient(self, name: str, number: str, document: dict[str, Any]) -> int:
        """A patient with the record's identity where the API takes it, else a label."""
        answer = self.http.post(
            "/api/v1/patients",
            json={
                "patient": document,
                "name": name,
                "birth_date": "1980-05-06",
                "record_number": number,
            },
        )
        if answer.status_code != 201:  # an API without the record identity yet
            answer = self.http.post(
                "/api/v1/patients",
                json={"patient": {**document, "age_years": 45}, "label": name},
            )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    def event(self, pid: int, event: dict[str, Any]) -> None:
        answer = self.http.post(
            f"/api/v1/patients/{pid}/events",
            json={"event": event, "override_reason": "recorded from the referral letter"},
        )
        assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def seeded(server: str, database_url: str) -> Iterator[dict[str, int]]:
    engine = open_engine(database_url)
    token = accounts.create_token(engine, "doc@north.example")
    engine.dispose()
    api = Api(server, token)
    fill = NOW - timedelta(days=10)
    pump = api.patient("Axe Pump", "AX-1", PUMP_PATIENT)
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
        api.event(pump, event)
    oral = api.patient("Axe Oral", "AX-2", {"sex": "male", "diagnosis": "stroke"})
    api.event(
        oral,
        {
            "at": form_time(NOW - timedelta(days=20)),
            "kind": "oral-regimen",
            "dose": "20 mg",
            "times_per_day": 3,
        },
    )
    yield {"pump": pump, "oral": oral}
    api.http.close()


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (the test's
    browser contexts bypass the pages' script policy only so that axe-core can be injected)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in found if v.get("impact") in BLOCKING]


def describe(found: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): "
        + ", ".join(str(n["target"]) for n in v["nodes"][:4])
        + f" — {v['help']}"
        for v in found
    )


def log_in(page: Any, server: str) -> None:
    """Log the page in as the clinic's prescriber; it lands on the worklist."""
    page.goto(server + "/login")
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    server: str, browser: Any, seeded: dict[str, int]
) -> None:
    pump, oral = seeded["pump"], seeded["oral"]
    start = form_time(NOW + timedelta(days=1)).replace(":", "%3A")
    pages = {
        "worklist": "/worklist",
        "patients": "/patients",
        "patient with pump status": f"/patients/{pump}",
        "patient, oral": f"/patients/{oral}",
        "plan, oral taper": f"/patients/{oral}/plan?goal=oral-taper&start={start}",
        "plan, pump refill": f"/patients/{pump}/plan?goal=it-refill&start={start}",
        "indication": "/indication",
        "rules": "/rules",
        "rules, searched": "/rules?q=withdrawal",
        "rule STOP-GRADUAL": "/rules/STOP-GRADUAL",
        "dose check": f"/dose-check?patient={oral}",
    }
    counts: dict[str, int] = {}
    failures: dict[str, str] = {}
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.goto(server + "/login")
    found = violations(page)
    counts["login"] = len(found)
    if found:
        failures["login"] = describe(found)
    page.fill("#email", "doc@north.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    for name, path in pages.items():
        answer = page.goto(server + path)
        assert answer is not None and answer.status == 200, (name, path)
        page.wait_for_load_state("networkidle")
        found = violations(page)
        counts[name] = len(found)
        if found:
            failures[name] = describe(found)
    # the dose check with its answer shown: the findings the script writes are checked too
    page.goto(server + f"/dose-check?patient={oral}")
    page.select_option("#dc-kind", "oral-regimen")
    page.fill("#dc-dose", "40 mg")
    page.fill("#dc-times", "3")
    page.click("#dc-run")
    page.wait_for_selector("#dc-findings .finding")
    assert "Verdict: error" in page.inner_text("#dc-verdict")
    assert "PO-MAX" in page.inner_text("#dc-findings")
    found = violations(page)
    counts["dose check, answered"] = len(found)
    if found:
        failures["dose check, answered"] = describe(found)
    context.close()
    print("\naxe-core serious/critical violations per page:")
    for name, count in counts.items():
        print(f"  {name}: {count}")
    assert not failures, failures


def test_axe_as_injected_reports_a_serious_violation(server: str, browser: Any) -> None:
    """The check can fail: an image without a text alternative and an unlabelled field on the
    login page are reported as critical."""
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    page.goto(server + "/login")
    page.evaluate(
        "() => { const i = document.createElement('img'); i.src = 'data:,';"
        " document.querySelector('main').appendChild(i);"
        " const f = document.createElement('input'); f.type = 'text';"
        " document.querySelector('main').appendChild(f); }"
    )
    ids = {v["id"] for v in violations(page)}
    context.close()
    assert {"image-alt", "label"} <= ids


def test_the_dose_check_panel_checks_without_saving_and_clears_on_change(
    server: str, browser: Any, seeded: dict[str, int]
) -> None:
    oral = seeded["oral"]
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, server)
    page.goto(server + f"/dose-check?patient={oral}")
    history = page.evaluate(
        f"async () => (await (await fetch('/api/v1/patients/{oral}/events')).json())"
    )
    page.fill("#dc-dose", "40 mg")
    page.fill("#dc-times", "3")
    page.click("#dc-run")
    page.wait_for_selector("#dc-findings .finding.error")
    assert "Nothing was saved." in page.inner_text("#dc-verdict")
    shoot(page, "30-dose-check-desktop.png")
    page.fill("#dc-dose", "10 mg")  # a changed input clears the answer at once
    assert page.inner_text("#dc-verdict") == "No check run yet."
    assert page.locator("#dc-findings .finding").count() == 0
    page.select_option("#dc-kind", "it-infusion")
    assert page.locator("#dc-daily").is_visible() and not page.locator("#dc-times").is_visible()
    after = page.evaluate(
        f"async () => (await (await fetch('/api/v1/patients/{oral}/events')).json())"
    )
    assert after == history  # the check stored nothing
    page.goto(server + "/rules?q=suddenly")
    shoot(page, "31-rules-search-desktop.png")
    page.goto(server + "/indication#SUP-DDD")
    shoot(page, "33-indication-ddd-desktop.png")
    context.close()
    phone = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = phone.new_page()
    log_in(page, server)
    page.goto(server + f"/dose-check?patient={oral}")
    page.fill("#dc-dose", "40 mg")
    page.fill("#dc-times", "3")
    page.click("#dc-run")
    page.wait_for_selector("#dc-findings .finding")
    shoot(page, "32-dose-check-phone.png")
    page.goto(server + "/rules/STOP-GRADUAL")
    shoot(page, "34-rule-page-phone.png")
    phone.close()
    assert not errors, errors


def test_a_patient_on_three_medicines_reads_in_words_at_desktop_and_phone_width(
    server: str, browser: Any, database_url: str
) -> None:
    """A spasticity clinic's patient on baclofen tablets, tizanidine and botulinum toxin
    injections: the record names each medicine and the session's muscles in words, the
    patient's name stays on the page, and axe-core finds nothing serious at either width."""
    engine = open_engine(database_url)
    token = accounts.create_token(engine, "doc@north.example")
    engine.dispose()
    api = Api(server, token)
    pid = api.patient("Tess Three-Medicines", "AX-3", {"sex": "female", "diagnosis": "stroke"})
    for event in (
        {
            "at": form_time(NOW - timedelta(days=40)),
            "kind": "oral-regimen",
            "dose": "10 mg",
            "times_per_day": 3,
        },
        {
            "at": form_time(NOW - timedelta(days=30)),
            "kind": "oral-regimen",
            "medicine": "tizanidine",
            "dose": "2 mg",
            "times_per_day": 1,
        },
        {
            "at": form_time(NOW - timedelta(days=20)),
            "kind": "injection-session",
            "product": "onabotulinumtoxinA",
            "injections": [
                {"muscle": "biceps-brachii", "dose": "100 U", "sites": 4, "side": "left"},
                {"muscle": "flexor-carpi-radialis", "dose": "50 U", "sites": 2, "side": "left"},
            ],
        },
    ):
        api.event(pid, event)
    api.http.close()
    failures: dict[str, str] = {}
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        page = context.new_page()
        log_in(page, server)
        page.goto(server + f"/patients/{pid}")
        page.wait_for_load_state("networkidle")
        text = page.inner_text("body")
        assert "Tess Three-Medicines" in text
        assert "tizanidine" in text.lower()
        assert "onabotulinumtoxinA (BOTOX), 150 Units in 2 muscles" in text
        # each oral medicine's limits by its own pack: baclofen's dose in force is 30 mg/day,
        # tizanidine's 2 mg/day, never one taken for the other
        page.select_option("#kind", "oral-regimen")
        page.wait_for_function(
            "document.querySelector('#oral-limits').innerText.includes('Baclofen now')"
        )
        assert "Baclofen now 30 mg/day" in page.inner_text("#oral-limits")
        page.select_option("#oral-medicine", "tizanidine")
        page.wait_for_function(
            "document.querySelector('#oral-limits').innerText.includes('Tizanidine now')"
        )
        tizanidine = page.inner_text("#oral-limits")
        in_force = "2 mg/day" if width == "desktop" else "4 mg/day"  # raised at desktop width
        assert f"Tizanidine now {in_force}" in tizanidine and "maximum 36 mg/day" in tizanidine
        if width == "desktop":  # a tizanidine increase, checked by tizanidine's rules, saved
            page.fill("#oral-dose", "2")
            page.fill("#oral-times", "2")
            page.click("#check-button")
            page.wait_for_selector("#check-result p, #check-result .finding")
            assert "PO-" not in page.inner_text("#check-result")  # no baclofen rule judged it
            with page.expect_navigation():
                page.click("#event-form button[type=submit]")
            assert "Oral tizanidine 4 mg/day (2 doses a day)" in page.inner_text("ol.timeline")
            assert "Oral baclofen 30 mg/day" in page.inner_text("ol.timeline")
        # a botulinum toxin session from the form: checked against the last one, not saved
        page.select_option("#kind", "injection-session")
        page.select_option("#bt-product", "onabotulinumtoxina")
        page.select_option("#bt-muscle-0", "biceps-brachii")
        page.select_option("#bt-side-0", "right")
        page.fill("#bt-dose-0", "100")
        page.fill("#bt-sites-0", "4")
        page.click("#bt-add")
        assert page.locator("#bt-muscle-2").is_visible()
        page.click("#check-button")
        page.wait_for_selector("#check-result .finding")
        checked = page.inner_text("#check-result")
        assert "after the last botulinum toxin session" in checked  # 20 days, not 12 weeks
        assert "BTA-" in checked and "PO-" not in checked
        shoot(page, f"48-injection-session-check-{width}.png")
        if width == "desktop":  # a warning, not an error: the session is saved as given
            with page.expect_navigation():
                page.click("#event-form button[type=submit]")
            assert (
                "onabotulinumtoxinA (BOTOX), 100 Units in 1 muscle (right biceps brachii 100 "
                "Units at 4 sites)" in page.inner_text("ol.timeline")
            )
        found = violations(page)
        if found:
            failures[width] = describe(found)
        shoot(page, f"47-patient-three-medicines-{width}.png")
        context.close()
    assert not failures, failures
