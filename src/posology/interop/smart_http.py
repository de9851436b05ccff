"""The few HTTP calls a SMART launch makes to the EHR, each bounded in time and size.

Why not a general client: every call here goes to a server Posology does not run, in the
middle of a clinician's click, so each one is bounded in time (the timeout bounds connecting and
each wait for the answer's headers, and the whole of the body: a server that trickles the body
a byte at a time is cut off at the deadline), reads at most a given size, and follows no
redirect (a bearer token sent on to wherever a redirect points is a token given away). A
failure is a :class:`~posology.errors.LaunchRefused` saying which server and what happened,
never a traceback; the messages never hold a token, a code or a query string.

Only ``https`` addresses are called, and plain ``http`` only on this computer's loopback
addresses (an EHR's test server on the same machine).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from ..errors import LaunchRefused
from ..frozen import record
from ..hosts import is_loopback

CHUNK = 64 * 1024


@record
class Answer:
    """What a server answered: the status, the media type and the body (at most the limit)."""

    status: int
    media_type: str
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answers a redirect as it is (a 3xx), so the caller refuses it rather than follow it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def checked_url(url: str, what: str) -> str:
    """``url`` if it is one Posology may call: absolute ``https`` (``http`` only on loopback),
    no user name or password in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        raise LaunchRefused(502, f"{what}: the address the EHR gave is not a URL") from None
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise LaunchRefused(502, f"{what}: the address the EHR gave is not an https URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise LaunchRefused(
            502, f"{what}: the EHR gave a plain http address ({host}); only https is used"
        )
    return url


def call(
    url: str,
    what: str,
    *,
    timeout: float,
    limit: int,
    form: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """GET ``url`` (or POST ``form``, url-encoded) and read the answer within ``timeout``
    seconds and ``limit`` bytes. ``what`` names the server in the words of an error page."""
    checked_url(url, what)
    request = urllib.request.Request(url, data=form, method="POST" if form is not None else "GET")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if form is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    host = urlsplit(url).hostname
    deadline = time.monotonic() + timeout
    try:
        try:
            response: Any = _OPENER.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:  # a 4xx or 5xx still has a body to read
            response = error
        with response:
            status = int(response.status if hasattr(response, "status") else response.code)
            media_type = _media_type(response.headers)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise LaunchRefused(502, f"{what} at {host} answered more than {limit} bytes")
            body = _read(response, deadline, limit, what, host)
    except LaunchRefused:
        raise
    except TimeoutError:  # socket.timeout is TimeoutError
        raise LaunchRefused(504, f"{what} at {host} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise LaunchRefused(
                504, f"{what} at {host} did not answer within {timeout:g} s"
            ) from None
        if isinstance(error.reason, ssl.SSLError):
            raise LaunchRefused(
                502, f"{what} at {host}: its TLS certificate was not accepted"
            ) from None
        raise LaunchRefused(502, f"{what} at {host} could not be reached") from None
    except (OSError, ValueError, http.client.HTTPException):
        raise LaunchRefused(502, f"{what} at {host} broke off its answer") from None
    return Answer(status, media_type, body)


def _media_type(headers: Message) -> str:
    return str(headers.get_content_type() or "").lower()


def _read(response: IO[bytes], deadline: float, limit: int, what: str, host: str | None) -> bytes:
    """The body, read in chunks against the deadline and the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        _set_timeout(response, left)
        chunk = getattr(response, "read1", response.read)(CHUNK)  # one socket read at most
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise LaunchRefused(502, f"{what} at {host} answered more than {limit} bytes")
        chunks.append(chunk)


def _set_timeout(response: Any, seconds: float) -> None:
    """Shortens the socket's timeout to what is left of the deadline (when it can be reached:
    http.client keeps the socket on ``fp.raw._sock``)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(max(seconds, 0.001))
