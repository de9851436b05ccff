"""Every page names the rules it was made with (the pack's title and jurisdiction profile, in
the footer), and a clinic set to a profile sees that profile's numbers on its pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, log_in

from dbhelp import fresh_engine
from posology.knowledge import load_pack
from posology.render import pack_line
from posology.server.app import create_app
from posology.services import accounts
from posology.services import clinic as clinic_settings

US = load_pack("baclofen", "us")
DEFAULT = load_pack("baclofen")


@pytest.fixture
def two_clinics(tmp_path: Path) -> Iterator[TestClient]:
    """North set to the US profile, South on the server's default."""
    engine = fresh_engine(tmp_path)
    app = create_app(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    accounts.add_user(engine, "doc@south.example", "South", "clinician", PASSWORD)
    clinic_settings.set_clinic_profile(engine, "North", "us")
    with TestClient(app, base_url="https://testserver") as client:
        yield client
    engine.dispose()


def test_every_page_of_a_us_clinic_names_the_us_rules(two_clinics: TestClient) -> None:
    assert log_in(two_clinics, "doc@north.example").status_code == 303
    for path in ("/worklist", "/patients", "/indication", "/rules", "/rules/PO-MAX", "/dose-check"):
        html = two_clinics.get(path).text
        assert pack_line(US) in html, path
        assert US.title in html and "jurisdiction profile: United States (US labels)" in html, path
    # the rule page shows the US maximum and its US quote, not the source page's
    assert "US labels: oral maximum 80 mg/day" in two_clinics.get("/rules/PO-MAX").text


def test_a_default_clinics_pages_name_the_default_rules(two_clinics: TestClient) -> None:
    assert log_in(two_clinics, "doc@south.example").status_code == 303
    html = two_clinics.get("/indication").text
    assert pack_line(DEFAULT) in html and US.title not in html
    assert "US labels" not in two_clinics.get("/rules/PO-MAX").text


def test_the_login_page_names_the_servers_rules(two_clinics: TestClient) -> None:
    assert pack_line(DEFAULT) in two_clinics.get("/login").text


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_server_started_with_the_us_profile_shows_it_in_the_footer_in_a_browser(
    tmp_path: Path,
) -> None:
    from liveserver import chromium, free_port, served
    from posology.store.db import open_engine, upgrade

    url = f"sqlite:///{tmp_path / 'posology.db'}"
    engine = open_engine(url)
    upgrade(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    engine.dispose()
    settings = {"DATABASE_URL": url, "POSOLOGY_PROFILE": "us"}
    with served(free_port(), settings) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/login")
        page.fill("#email", "doc@north.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/worklist")
        footer = page.locator("#rules-in-use")
        assert footer.is_visible()
        assert footer.inner_text() == pack_line(US)
