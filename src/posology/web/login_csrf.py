"""The login form's CSRF token: a login from another site must not log this browser into an
account of that site's choosing (login CSRF), so ``POST /login`` must come from our own form.

Stateless (double submit): ``GET /login`` sets a short-lived random cookie and puts the same
value in a hidden field; a login is tried only when both are present and equal. Another site can
post a form but can neither read nor set the cookie: it is ``HttpOnly``, ``SameSite=Strict``
and ``__Host-`` (Secure, this host only, no subdomain may set it). Nothing is stored on the
server, so any worker answers any step.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import Request, Response

COOKIE = "__Host-posology_login"
FIELD = "csrf"
LIFETIME = timedelta(hours=1)
"""How long a login form stays usable; an older one asks to log in again (nothing is lost)."""

_FORM = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def _well_formed(value: object) -> bool:
    return isinstance(value, str) and _FORM.fullmatch(value) is not None


def token_for(request: Request) -> str:
    """The browser's login token if it has one, else a new one: two login tabs both work."""
    current = request.cookies.get(COOKIE)
    return current if current and _well_formed(current) else secrets.token_urlsafe(32)


def set_cookie(response: Response, token: str) -> None:
    """Gives the browser ``token`` for :data:`LIFETIME` (renewed by each login page)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=True,
        samesite="strict",
    )


def clear_cookie(response: Response) -> None:
    """Ends the token once the login is done: a session has its own CSRF token."""
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=True, samesite="strict")


def is_valid(request: Request, form: Mapping[str, Any]) -> bool:
    """Whether the posted form carries the browser's own login token."""
    cookie, field = request.cookies.get(COOKIE), form.get(FIELD)
    if not (_well_formed(cookie) and _well_formed(field)):
        return False
    return secrets.compare_digest(str(cookie), str(field))
