"""``/`` (to the worklist, or to the login page), ``GET``/``POST /login`` and ``POST /logout``.

A login needs the login form's own token (:mod:`posology.web.login_csrf`); on an address where
the browser cannot keep the session cookie (:mod:`posology.web.transport`) the login page says
why and what to do, and no cookie is set that the browser would drop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...api.auth import SESSION_COOKIE
from ...errors import InputError, TooManyAttempts, Unauthorized
from ...services import accounts
from .. import login_csrf
from ..transport import keeps_session
from .deps import PageDeps


def safe_next(value: str | None) -> str:
    """A page of this site to return to after login; anything else goes to the worklist."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/worklist"


def routes(deps: PageDeps) -> APIRouter:
    router = APIRouter()
    engine = deps.engine

    def answer(request: Request, status: int = 200, **context: object) -> Response:
        """The login page with its form and token, or, where no session can be kept, the
        reason and no form (and no cookie)."""
        if not keeps_session(request):
            return deps.render(
                "login.html",
                status=403 if request.method == "POST" else status,
                user=None,
                csrf="",
                insecure=True,
                address=f"{request.url.scheme}://{request.url.netloc}",
                **context,
            )
        token = login_csrf.token_for(request)
        response = deps.render(
            "login.html", status=status, user=None, csrf="", login_token=token, **context
        )
        login_csrf.set_cookie(response, token)
        return response

    @router.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/worklist" if deps.session(request) else "/login", status_code=303)

    @router.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str | None = None) -> Response:
        return answer(request, next=safe_next(next))

    @router.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        form = await request.form()
        next_page = safe_next(str(form.get("next", "")))
        if not keeps_session(request):
            return answer(request, next=next_page)
        if not login_csrf.is_valid(request, form):  # not our form, or one left open too long
            return answer(request, status=403, next=next_page, stale_form=True)
        try:
            # the password check takes a tenth of a second of a core: off the event loop, and
            # a login waiting for one holds no worker thread
            _user, token, _csrf = await accounts.login_async(
                engine,
                str(form.get("email", "")),
                str(form.get("password", "")),
                request.client.host if request.client else None,
            )
        except (Unauthorized, TooManyAttempts, InputError) as exc:
            return answer(request, status=401, error=str(exc), next=next_page)
        response = RedirectResponse(next_page, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
        login_csrf.clear_cookie(response)
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout_form(request: Request) -> Response:
        current = deps.session(request)
        form = await request.form()
        if current is None:
            return deps.to_login(request)
        if form.get("csrf") != current[1]:  # a forged form: the session stays as it is
            return RedirectResponse("/patients", status_code=303)
        accounts.logout(engine, request.cookies[SESSION_COOKIE])
        response = deps.to_login()
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
