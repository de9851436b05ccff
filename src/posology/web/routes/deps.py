"""What every page router is built with: the database, the server's default pack, the
templates, and the things every page does the same way (choose the clinic's pack, render, find
the login session, send to the login page).

One object, so a page module needs no closure over ``add_pages`` and each stays small. Each
clinic may judge by its own jurisdiction profile (``posology clinic profile``); every page
names the rules it was made with (``rules_in_use``, in the base layout's footer).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from sqlalchemy import Engine

from ...api.auth import SESSION_COOKIE
from ...errors import Unauthorized
from ...frozen import field, record
from ...knowledge import Pack
from ...render import pack_line
from ...services import accounts
from ...services.clinic import clinic_pack
from ..rendering import environment, page


@record
class PageDeps:
    engine: Engine
    pack: Pack
    env: Environment
    _envs: dict[tuple[str, str], Environment] = field(default_factory=dict, repr=False)

    def pack_for(self, user: accounts.User) -> Pack:
        """The pack that judges for ``user``: their clinic's profile, else the server's."""
        return self.clinic_pack(user.clinic_id)

    def clinic_pack(self, clinic_id: int) -> Pack:
        """The pack of the clinic ``clinic_id`` (a SMART launch's), else the server's."""
        return clinic_pack(self.engine, self.pack, clinic_id=clinic_id)

    def env_for(self, pack: Pack) -> Environment:
        """The templates with ``pack``'s globals (one environment per pack, built once)."""
        if pack is self.pack:
            return self.env
        key = (pack.medicine, pack.profile)
        if key not in self._envs:
            self._envs[key] = environment(pack)
        return self._envs[key]

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The page ``name`` (see :func:`posology.web.rendering.page`), made with the
        context's ``pack`` (default: the pack of the page's ``user``, else the server's),
        which the page names in its footer."""
        pack = context.pop("pack", None)
        if not isinstance(pack, Pack):
            user = context.get("user")
            pack = self.pack_for(user) if isinstance(user, accounts.User) else self.pack
        return page(self.env_for(pack), name, status, rules_in_use=pack_line(pack), **context)

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
