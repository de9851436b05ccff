"""The access log: one line per answer with its method, path, status and time.

Never a query string (a patient search holds names), a header (tokens, cookies) or a body:
what the log shows is what an operator may read.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .headers import ASGIApp, Message, Receive, Scope, Send

LOG = logging.getLogger("posology.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not LOG.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: list[Any] = [0]

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            LOG.info(
                "%s %s %s %.1f ms",
                scope.get("method", "?"),
                scope.get("path", "?"),
                status[0] or "-",
                (time.perf_counter() - started) * 1000,
            )
