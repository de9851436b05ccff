"""Who is calling: a bearer token, or a login session (cookie) with its CSRF token."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from ..errors import Forbidden, Unauthorized
from ..services import accounts

SESSION_COOKIE = "posology_session"
CSRF_HEADER = "x-csrf-token"


class Auth:
    """Who is calling: a bearer token, or a session cookie (with CSRF for unsafe methods).

    Every request looks its token or session up (one indexed read, no cache), so a revoked
    token or a disabled account stops working at once in every worker. The look-up is a plain
    function: FastAPI runs it in a worker thread, off the event loop.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, request: Request) -> accounts.User:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return accounts.user_for_token(self.engine, header[7:].strip())
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
