"""Who is calling: a bearer token, or a login session (cookie) with its CSRF token."""

from __future__ import annotations

import time

from fastapi import Request
from sqlalchemy import Engine

from ..errors import Forbidden, Unauthorized
from ..services import accounts

SESSION_COOKIE = "posology_session"
CSRF_HEADER = "x-csrf-token"
TOKEN_CACHE_SECONDS = 10.0


class Auth:
    """Who is calling: a bearer token, or a session cookie (with CSRF for unsafe methods).

    Token look-ups are cached for a few seconds: a revoked token stops working within
    ``TOKEN_CACHE_SECONDS``.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache: dict[str, tuple[float, accounts.User]] = {}

    async def __call__(self, request: Request) -> accounts.User:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            hit = self.cache.get(token)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            user = accounts.user_for_token(self.engine, token)
            if len(self.cache) > 10_000:
                self.cache.clear()
            self.cache[token] = (time.monotonic() + TOKEN_CACHE_SECONDS, user)
            return user
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            user, csrf = accounts.user_for_session(self.engine, session)
            if (
                request.method not in ("GET", "HEAD", "OPTIONS")
                and request.headers.get(CSRF_HEADER) != csrf
            ):
                raise Forbidden("missing or wrong CSRF token (send the X-CSRF-Token header)")
            return user
        raise Unauthorized("authentication needed: send Authorization: Bearer TOKEN")
