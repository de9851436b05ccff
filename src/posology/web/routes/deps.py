"""What every page router is built with: the database, the pack, the templates, and the three
things every page does the same way (render, find the login session, send to the login page).

One object, so a page module needs no closure over ``add_pages`` and each stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from sqlalchemy import Engine

from ...api.auth import SESSION_COOKIE
from ...errors import Unauthorized
from ...knowledge import Pack
from ...services import accounts
from ..rendering import page


@dataclass(frozen=True)
class PageDeps:
    engine: Engine
    pack: Pack
    env: Environment

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The page ``name`` (see :func:`posology.web.rendering.page`)."""
        return page(self.env, name, status, **context)

    def session(self, request: Request) -> tuple[accounts.User, str] | None:
        """The request's login session (the user and the session's CSRF token), if valid."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        try:
            return accounts.user_for_session(self.engine, token)
        except Unauthorized:
            return None

    def to_login(self, request: Request | None = None) -> RedirectResponse:
        """To the login page; a page asked for without a valid session is returned to after."""
        target = "/login"
        if request is not None and request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(here, safe="")
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
