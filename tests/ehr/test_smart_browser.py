"""The EHR launch in real headless Chromium (Playwright driving Debian's /usr/bin/chromium): the
browser follows the redirects across the two servers itself (Posology served by ``posology
serve``, the EHR's sign-in by the FHIR server's process), keeps the launch cookie as a browser
does, and lands on the patient's page with no Posology login; the page passes axe-core's serious
and critical checks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveserver import CHROMIUM, chromium, free_port, served
from posology.api.auth import SESSION_COOKIE
from posology.services import accounts
from posology.store.db import open_engine, upgrade

from .launch import CLIENT_ID, MRN_SYSTEM, PASSWORD, ROOT, FhirServer
from .records import ada

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    pytest.fail("CI is set and Debian's chromium is missing at /usr/bin/chromium", pytrace=False)
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def live(fhir_process: FhirServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``posology serve`` with the FHIR server on its EHR list; its address."""
    url = f"sqlite:///{tmp_path_factory.mktemp('smart-e2e') / 'posology.db'}"
    engine = open_engine(url)
    upgrade(engine)
    accounts.add_user(engine, "doc@north.example", "North", "prescriber", PASSWORD)
    engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ehrs = {
        fhir_process.base: {
            "client_id": CLIENT_ID,
            "clinic": "North",
            "name": "North EHR",
            "identifier_system": MRN_SYSTEM,
        }
    }
    settings = {
        "DATABASE_URL": url,
        "POSOLOGY_PUBLIC_URL": base,
        "POSOLOGY_SMART_EHRS": json.dumps(ehrs),
    }
    with served(port, settings) as started:
        assert started == base
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_chromium_opens_the_patient_from_the_ehr_without_a_posology_login(
    live: str, fhir_process: FhirServer, browser: Any
) -> None:
    fhir_process.reset()
    fhir_process.register(redirect_uri=f"{live}/smart/callback")
    fhir_process.load(ada())
    context = browser.new_context(bypass_csp=AXE.exists())  # only so axe-core can be injected
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    launch = fhir_process.launch("ada")
    page.goto(f"{live}/smart/launch?iss={fhir_process.base}&launch={launch}")
    page.wait_for_url(f"{live}/smart/callback?**")
    assert page.inner_text("#patient-label") == "Ada Lovelace"
    history = page.inner_text("#smart-history")
    assert "Oral baclofen 60 mg/day (3 doses a day)" in history
    assert "PO-TITRATION" in history
    cookies = context.cookies()
    assert not [c for c in cookies if c["name"].startswith("__Host-posology_launch_")]
    assert not [c for c in cookies if c["name"] == SESSION_COOKIE]  # no Posology session opened
    assert errors == []
    if AXE.exists():
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => (await axe.run(document)).violations")
        assert [v["id"] for v in found if v.get("impact") in ("serious", "critical")] == []
    page.reload()  # the callback again: the launch is spent, and a page says so
    assert "does not belong to a launch started in this browser" in page.inner_text("#smart-error")
    context.close()
