"""The login form: it must come from our own login page (login CSRF), and on an address where
the browser cannot keep the Secure session cookie the page must say why instead of looping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, log_in
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dbhelp import fresh_engine
from liveserver import CHROMIUM
from posology.server.app import create_app
from posology.services import accounts
from posology.web.transport import is_local

LOGIN_COOKIE = "__Host-posology_login"
LAN = "http://192.168.1.20:8000"


def token_of(html: str) -> str | None:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    return found.group(1) if found else None


def set_cookies(answer: Any) -> list[str]:
    return answer.headers.get_list("set-cookie")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    engine = fresh_engine(tmp_path)
    app = create_app(engine)
    accounts.add_user(engine, "doc@north.example", "North", "clinician", PASSWORD)
    yield app
    engine.dispose()


def test_login_without_csrf_token_is_refused(pages: TestClient) -> None:
    credentials = {"email": "doc@north.example", "password": PASSWORD}
    forged = pages.post("/login", data=credentials, follow_redirects=False)
    assert forged.status_code == 403
    assert "login form had been open too long" in forged.text
    assert not any(c.startswith("posology_session=") for c in set_cookies(forged))
    assert pages.get("/worklist", follow_redirects=False).status_code == 303  # no session
    # a token the browser was not given (another site's form) is refused the same way
    pages.get("/login")
    wrong = pages.post("/login", data={**credentials, "csrf": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403 and "posology_session" not in pages.cookies
    # the page given with the refusal has a fresh form that logs in
    token = token_of(wrong.text)
    assert token
    again = pages.post("/login", data={**credentials, "csrf": token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/worklist"


def test_login_token_without_its_cookie_is_refused(pages: TestClient) -> None:
    """The cookie is the half another site cannot send (SameSite=Strict) or read (HttpOnly)."""
    token = token_of(pages.get("/login").text)
    assert token
    pages.cookies.clear()
    answer = pages.post(
        "/login",
        data={"email": "doc@north.example", "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "posology_session" not in pages.cookies


def test_login_token_is_a_short_lived_strict_host_only_cookie_ended_by_the_login(
    pages: TestClient,
) -> None:
    page = pages.get("/login")
    token = token_of(page.text)
    assert token and len(token) >= 43
    (cookie,) = [c for c in set_cookies(page) if c.startswith(LOGIN_COOKIE + "=")]
    attributes = {a.strip().casefold() for a in cookie.split(";")}
    assert f"{LOGIN_COOKIE}={token}".casefold() in attributes
    assert {"httponly", "secure", "samesite=strict", "path=/", "max-age=3600"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
    # a second login tab keeps the first one's token, so either tab logs in
    assert token_of(pages.get("/login").text) == token
    done = log_in(pages)
    assert done.status_code == 303
    assert any(c.startswith(f'{LOGIN_COOKIE}=""') for c in set_cookies(done))  # ended
    assert any(c.startswith("posology_session=") for c in set_cookies(done))


def test_a_wrong_password_shows_the_form_again_with_its_token(pages: TestClient) -> None:
    wrong = log_in(pages, password="nope")
    assert wrong.status_code == 401 and "wrong e-mail address or password" in wrong.text
    assert token_of(wrong.text) == pages.cookies.get(LOGIN_COOKIE)


def test_login_over_plain_http_says_why_it_cannot_keep_the_session(app: Any) -> None:
    with TestClient(app, base_url=LAN) as client:
        page = client.get("/login?next=/patients")
        assert page.status_code == 200
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
        assert "This address is not secure" in text
        assert "http://192.168.1.20:8000" in text
        assert "does not keep your login" in text
        assert "your clinic's IT gives you" in text and "set up HTTPS" in text
        assert 'type="password"' not in page.text  # no form to type a password into here
        assert set_cookies(page) == []  # no cookie the browser would drop without a word
        # a login posted all the same (an old tab, a bookmark) is refused with the same words
        posted = client.post(
            "/login",
            data={"email": "doc@north.example", "password": PASSWORD, "csrf": "x" * 43},
            follow_redirects=False,
        )
        assert posted.status_code == 403 and "This address is not secure" in posted.text
        assert set_cookies(posted) == []


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]"])
def test_login_over_plain_http_on_this_computer_still_works(app: Any, base: str) -> None:
    """Browsers keep Secure cookies from their own computer: no message there."""
    with TestClient(app, base_url=base) as client:
        page = client.get("/login")
        token = token_of(page.text)
        assert token and "not secure" not in page.text
        answer = client.post(
            "/login",
            data={"email": "doc@north.example", "password": PASSWORD, "csrf": token},
            headers={"Cookie": f"{LOGIN_COOKIE}={token}"},  # as the browser sends it back
            follow_redirects=False,
        )
        assert answer.status_code == 303
        assert any(c.startswith("posology_session=") for c in set_cookies(answer))


def test_forwarded_https_counts_only_from_a_proxy_the_server_trusts(app: Any) -> None:
    """Behind a proxy that ends HTTPS, uvicorn takes X-Forwarded-Proto from trusted proxies
    only (FORWARDED_ALLOW_IPS); the pages read the scheme it leaves, never the header."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.30"}
    untrusted = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # the test client is not
    with TestClient(untrusted, base_url=LAN) as client:
        assert "This address is not secure" in client.get("/login", headers=forwarded).text
    trusted = ProxyHeadersMiddleware(app, trusted_hosts="*")
    with TestClient(trusted, base_url=LAN) as client:
        page = client.get("/login", headers=forwarded)
        assert "not secure" not in page.text and token_of(page.text)


def test_what_counts_as_the_browsers_own_computer() -> None:
    for host in ("localhost", "LOCALHOST", "clinic.localhost", "127.0.0.1", "127.0.1.1", "::1"):
        assert is_local(host), host
    for host in ("192.168.1.20", "10.0.0.5", "posology.clinic.example", "localhost.example"):
        assert not is_local(host), host


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_a_browser_on_a_plain_http_lan_address_is_told_why_instead_of_looping(
    server: str,
) -> None:
    from playwright.sync_api import sync_playwright

    port = server.rsplit(":", 1)[1]
    with sync_playwright() as p:
        # a LAN name for this computer: the browser sees a plain-http address that is not its own
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--host-resolver-rules=MAP posology.clinic.test 127.0.0.1"],
        )
        page = chromium.new_page()
        answer = page.goto(f"http://posology.clinic.test:{port}/worklist")
        assert answer is not None and page.url.endswith("/login?next=%2Fworklist")
        message = page.locator("#insecure-address")
        assert message.is_visible() and message.get_attribute("role") == "alert"
        assert "not secure" in message.inner_text()
        assert page.locator("#password").count() == 0
        assert page.context.cookies() == []
        chromium.close()
