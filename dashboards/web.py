"""What every page shares: templates, the signed-in viewer, rendering and use-case calls.

Pages never decide who may see what: they run the same use cases and visibility checks the API
routes run (through services.api.runner), as the actor the session cookie names. A domain error
raised there becomes an HTML answer (see dashboards.site), so another organisation's object
answers "not found" here exactly as it does on the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from dashboards import nav
from dashboards.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_for,
    tokens_match,
)
from pledge.errors import Forbidden
from pledge.parties import Actor, OrgKind, Role
from services.api import runner
from services.errors import Unauthenticated
from services.identity import service as identity
from services.identity.tokens import decode_token

R = TypeVar("R")
# Shown for a missing value: an en dash, as in printed tables.
NONE_SHOWN = "\u2013"
PREFIX = "/ui"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request came without the session's CSRF token."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person behind a page request."""

    actor: Actor
    username: str
    org_name: str
    csrf: str

    @property
    def kind(self) -> OrgKind:
        """The kind of the viewer's organisation."""
        return self.actor.org_kind

    @property
    def may_act(self) -> bool:
        """Whether the viewer may change things (officer or admin), not only read."""
        return self.actor.has(Role.OFFICER)


def _money(value: Any, places: int = 2) -> str:
    """Format an amount with thousands separators."""
    if value is None or value == "":
        return NONE_SHOWN
    try:
        return f"{Decimal(str(value)):,.{places}f}"
    except InvalidOperation:
        return str(value)


def _quantity(value: Any) -> str:
    """Format a quantity without trailing zeros or exponent (100, 12.5)."""
    if value is None or value == "":
        return NONE_SHOWN
    number = Decimal(str(value))
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ratio(value: Any) -> str:
    """Format a loan-to-value ratio as a percentage."""
    if value is None or value == "":
        return NONE_SHOWN
    return f"{Decimal(str(value)) * 100:.1f} %"


def _when(value: Any) -> str:
    """Format a timestamp to the minute, in UTC."""
    if value is None or value == "":
        return NONE_SHOWN
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return (
            value.strftime("%Y-%m-%d %H:%M UTC")
            if value.tzinfo
            else value.strftime("%Y-%m-%d %H:%M")
        )
    return str(value)


def _page_globals(request: Request) -> dict[str, Any]:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    return {
        "viewer": viewer,
        "nav": nav.entries_for(request, viewer.kind) if viewer else [],
        "csrf_field": CSRF_FIELD,
        "path": request.url.path,
    }


templates = Jinja2Templates(
    directory=str(Path(__file__).parent / "templates"), context_processors=[_page_globals]
)
# Money-moving forms carry a fresh Idempotency-Key drawn with the form (see bank release orders).
templates.env.globals["form_key"] = lambda: uuid.uuid4().hex
templates.env.filters["money"] = _money
templates.env.filters["ratio"] = _ratio
templates.env.filters["qty"] = _quantity
templates.env.filters["when"] = _when


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it then wants a fragment, not a whole page)."""
    return request.headers.get("HX-Request") == "true"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with the viewer, navigation and CSRF names available."""
    return templates.TemplateResponse(request, name, context, status_code=status)


def page_path(
    request: Request, name: str, params: dict[str, Any] | None = None, **path: str
) -> str:
    """The path of a named page, with query parameters (for links and redirects)."""
    url = str(request.app.url_path_for(name, **path))
    return f"{url}?{urlencode(params)}" if params else url


def see_other(request: Request, url: str) -> Response:
    """Go to `url` after a form post: a redirect, or HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return Response(status_code=303, headers={"Location": url})


def _load_viewer(request: Request, token: str) -> Viewer:
    container = runner.container_of(request)
    claims = decode_token(container.settings, token)
    with container.session_factory() as session:
        actor = identity.actor_for_claims(session, claims)
        username = identity.get_user(session, claims.sub).username
        org_name = identity.get_org(session, actor.org_id).name
    return Viewer(actor, username, org_name, csrf_for(container.settings, claims.jti))


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def current_viewer(request: Request) -> Viewer:
    """The signed-in viewer; checks the CSRF token of every state-changing request."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        viewer = await run_in_threadpool(_load_viewer, request, token)
    except Unauthenticated as exc:
        raise LoginRequired from exc
    if request.method not in SAFE_METHODS and not tokens_match(
        viewer.csrf, await _presented_csrf(request)
    ):
        raise CsrfRejected
    request.state.viewer = viewer
    request.state.actor = viewer.actor
    return viewer


def viewer_of(*kinds: OrgKind) -> Callable[..., Any]:
    """A dependency: the viewer, if their organisation is of one of `kinds`."""

    async def dependency(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
        if viewer.kind not in kinds:
            names = " or ".join(kind.value for kind in kinds)
            raise Forbidden("wrong_org_kind", f"this page is for a {names}")
        return viewer

    return dependency


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
BankViewer = Annotated[Viewer, Depends(viewer_of(OrgKind.BANK))]
WarehouseViewer = Annotated[Viewer, Depends(viewer_of(OrgKind.WAREHOUSE))]
SmeViewer = Annotated[Viewer, Depends(viewer_of(OrgKind.SME))]
AuditorViewer = Annotated[Viewer, Depends(viewer_of(OrgKind.AUDITOR))]
AlertViewer = Annotated[Viewer, Depends(viewer_of(OrgKind.BANK, OrgKind.WAREHOUSE))]


def read(request: Request, query: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a read-only use case or query (same helper the API routes use)."""
    return runner.read(request, query, *args, **kwargs)


def perform(request: Request, viewer: Viewer, use_case: Callable[..., R], *args: Any) -> R:
    """Run a use case as the viewer, in one unit of work, then pump the ledger; its result."""
    result, _commands = runner.perform(request, use_case, viewer.actor, *args)
    return result


def perform_with_commands(
    request: Request, viewer: Viewer, use_case: Callable[..., R], *args: Any
) -> tuple[R, list[Any]]:
    """Like perform, also returning the ledger commands it queued with their current status."""
    result, commands = runner.perform(request, use_case, viewer.actor, *args)
    return result, runner.commands_out(request, commands)
