"""Headers on every answer: what a browser may run and show, and what it may keep.

- Content-Security-Policy: scripts, styles, images and connections from this server only, no
  inline script, never framed by another site (clickjacking of a dosing form is a dose error).
- X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer (a page address holds a patient
  id, which other sites need not learn).
- Cache-Control: no-store on patient answers and pages, so Back after logout shows nothing and
  no proxy keeps a record.

A plain ASGI middleware (no request body buffering, no extra task per request): the check
endpoint is the hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = (
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
PRIVATE_PREFIXES = ("/api/v1/patients", "/patients")


class SecurityHeaders:
    """Adds :data:`ALWAYS` to every HTTP answer, and ``no-store`` to patient answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        private = path.startswith(PRIVATE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (private and k.lower() == b"cache-control")
                ]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ALWAYS if k not in present]
                if private:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
