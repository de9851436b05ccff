"""The EHR calls' limits, against a real local HTTP server: a redirect is not followed (a bearer
token must not travel on), an answer too large or too slow is cut off, plain http is refused
away from this computer, and every failure is a refusal naming the server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from posology.errors import LaunchRefused
from posology.interop.smart_http import call, checked_url

SEEN: list[dict[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/elsewhere")
            self.end_headers()
        elif self.path == "/large":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the limit must hold while reading
            self.wfile.write(b"x" * 300_000)
        elif self.path == "/declared-large":
            self.send_response(200)
            self.send_header("Content-Length", "10000000")
            self.end_headers()
        elif self.path == "/trickle":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(40):  # a byte every 0.1 s: each read is quick, the whole is not
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(scope="module")
def local() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_an_answer_is_read_with_its_status_and_media_type(local: str) -> None:
    answer = call(f"{local}/fine", "The test server", timeout=5, limit=1000)
    assert (answer.status, answer.media_type, answer.body) == (
        200,
        "application/json",
        b'{"ok": true}',
    )


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(local: str) -> None:
    SEEN.clear()
    answer = call(
        f"{local}/redirect", "The test server", timeout=5, limit=1000,
        headers={"Authorization": "Bearer secret-token"},
    )  # fmt: skip
    assert answer.status == 302
    assert [s["path"] for s in SEEN] == ["/redirect"]


@pytest.mark.parametrize("path", ["/large", "/declared-large"])
def test_an_answer_over_the_limit_is_refused(local: str, path: str) -> None:
    with pytest.raises(LaunchRefused, match="answered more than 100000 bytes") as refused:
        call(f"{local}{path}", "The test server", timeout=5, limit=100_000)
    assert refused.value.status == 502


def test_an_answer_that_trickles_past_the_deadline_is_cut_off(local: str) -> None:
    began = time.monotonic()
    with pytest.raises(LaunchRefused, match="did not answer within 1 s") as refused:
        call(f"{local}/trickle", "The test server", timeout=1, limit=100_000)
    assert refused.value.status == 504
    assert time.monotonic() - began < 2


def test_a_server_that_is_not_there_is_a_refusal_naming_it() -> None:
    with pytest.raises(LaunchRefused, match=re.escape("The test server at 127.0.0.1 could not be")):
        call("http://127.0.0.1:9/", "The test server", timeout=2, limit=1000)


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example/fhir",  # plain http away from this computer
        "ftp://ehr.example/fhir",
        "https://user:password@ehr.example/fhir",
        "/relative/fhir",
        "https://ehr.example:port/fhir",
    ],
)
def test_only_https_addresses_are_called(url: str) -> None:
    with pytest.raises(LaunchRefused) as refused:
        checked_url(url, "The EHR's token service")
    assert refused.value.status == 502
    assert "The EHR's token service" in str(refused.value)
