"""Sign-in and sign-out pages, and the landing redirect to each role's first page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from dashboards import nav
from dashboards.session import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_options,
    new_login_nonce,
    tokens_match,
)
from dashboards.web import PREFIX, ViewerDep, render, see_other
from services.api.ratelimit import client_address, login_limiter
from services.api.runner import container_of
from services.errors import Unauthenticated
from services.identity import service as identity

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A same-site page path to return to after sign-in; anything else goes home."""
    if not target:
        return f"{PREFIX}/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/"
    if parts.path.startswith(f"{PREFIX}/log"):
        return f"{PREFIX}/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_page(
    request: Request, next_url: str, username: str = "", problem: str = "", status: int = 200
) -> HTMLResponse:
    nonce = new_login_nonce()
    response = render(
        request,
        "login.html",
        {"next": next_url, "username": username, "problem": problem, "nonce": nonce},
        status=status,
    )
    settings = container_of(request).settings
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, **cookie_options(settings, 600))  # type: ignore[arg-type]
    return response


@router.get("/login", name="login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return _login_page(request, safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Check the password with the identity service and open a session."""
    target = safe_next(next)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return _login_page(
            request, target, username, "The form expired; please sign in again.", status=400
        )
    if not username.strip() or not password:
        return _login_page(
            request, target, username, "Enter your username and password.", status=422
        )
    container = container_of(request)
    limiter, address = login_limiter(request), client_address(request)
    verdict = limiter.check(username, address)
    if not verdict.allowed:
        page = _login_page(
            request,
            target,
            username,
            f"Too many failed sign-ins; try again in {verdict.retry_after} seconds.",
            status=429,
        )
        page.headers["Retry-After"] = str(verdict.retry_after)
        return page

    def authenticate() -> str:
        with container.session_factory() as session:
            token = identity.authenticate(session, container.settings, username, password)
            session.commit()
            return token

    try:
        token = await run_in_threadpool(authenticate)
    except Unauthenticated as exc:
        limiter.failed(username, address)
        return _login_page(request, target, username, exc.detail, status=401)
    limiter.succeeded(username, address)
    response = see_other(request, target)
    max_age = container.settings.auth.token_minutes * 60
    response.set_cookie(SESSION_COOKIE, token, **cookie_options(container.settings, max_age))  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, viewer: ViewerDep) -> Response:
    """End the session (the CSRF check in the viewer dependency stops forced sign-outs)."""
    response = see_other(request, f"{PREFIX}/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/", name="ui_home")
def home(request: Request, viewer: ViewerDep) -> Response:
    """Send the viewer to the first page of their menu."""
    return see_other(request, nav.home_for(request, viewer.kind))


@router.get("/account", name="account")
def account(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Who is signed in, for which organisation and with which roles."""
    return render(request, "account.html", {"roles": sorted(r.value for r in viewer.actor.roles)})
