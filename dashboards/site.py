"""Mount the dashboards on the API: page routers, static assets, headers and HTML errors.

Errors under /ui become pages (or, for htmx requests, a fragment the form shows in place);
everywhere else the API's problem+json handlers answer unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboards.headers import SecurityHeaders
from dashboards.web import PREFIX, CsrfRejected, LoginRequired, is_htmx, render
from pledge.errors import DomainError
from services.api.problems import STATUS_BY_KIND, TITLES
from services.ledger.port import LedgerError, Rejected

# Page modules, each exposing `router`: ours by name, and every warehouse*/sme*/statements*
# module beside them (the warehouse and SME pages), found by file name so adding one needs no
# edit here.
PAGE_MODULES = (
    "dashboards.auth",
    "dashboards.live",
    "dashboards.alerts",
    "dashboards.evidence",
    "dashboards.bank",
    "dashboards.auditor",
)
PAGE_PATTERNS = ("warehouse*.py", "sme*.py", "statements*.py")

Handler = Callable[[Request, Any], Awaitable[Response]]


def _page_module_names() -> list[str]:
    here = Path(__file__).parent
    found = {f"dashboards.{path.stem}" for pattern in PAGE_PATTERNS for path in here.glob(pattern)}
    return [*PAGE_MODULES, *sorted(found)]


def _page_modules() -> list[Any]:
    found = []
    for name in _page_module_names():
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            # Only a page module not written yet is skipped; a broken import inside one is not.
            if exc.name != name:
                raise
    return found


def _on_page(request: Request) -> bool:
    path = request.url.path
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(
        PREFIX + "/static/"
    )


def problem_page(request: Request, status: int, code: str, detail: str) -> Response:
    """An error as HTML: a fragment for htmx (shown in place), else a whole page."""
    context = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "code": code,
        "detail": detail,
    }
    name = "partials/problem.html" if is_htmx(request) else "error.html"
    return render(request, name, context, status=status)


def _login_redirect(request: Request, _exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = str(request.app.url_path_for("login"))
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": login})
    if request.method != "GET":
        return Response(status_code=303, headers={"Location": login})
    return Response(status_code=303, headers={"Location": f"{login}?next={_quote(target)}"})


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


def _wrap(
    app: FastAPI, exc_type: type[Exception], to_page: Callable[[Request, Any], Response]
) -> None:
    """Answer `exc_type` with a page under /ui and with the existing handler elsewhere."""
    api_handler: Handler | None = app.exception_handlers.get(exc_type)  # type: ignore[assignment]

    async def handler(request: Request, exc: Any) -> Response:
        if _on_page(request) or api_handler is None:
            return to_page(request, exc)
        return await api_handler(request, exc)

    app.add_exception_handler(exc_type, handler)


def _domain_page(request: Request, exc: DomainError) -> Response:
    # Problems relayed from an API call carry the API's own status.
    status = getattr(exc, "status", None) or STATUS_BY_KIND.get(exc.kind, 422)
    return problem_page(request, status, exc.code, exc.detail)


def _validation_page(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if errors:
        first = errors[0]
        field = str(first.get("loc", ("",))[-1]).replace("_", " ")
        detail = f"{field}: {first.get('msg', 'invalid')}"
    else:
        detail = "the form is not valid"
    return problem_page(request, 422, "validation_error", detail)


def _http_page(request: Request, exc: StarletteHTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = "there is no such page" if exc.status_code == 404 else str(exc.detail)
    return problem_page(request, exc.status_code, code, detail)


def _stale_page(request: Request, _exc: StaleDataError) -> Response:
    return problem_page(
        request, 409, "concurrent_update", "someone changed this at the same time; try again"
    )


def _ledger_page(request: Request, exc: LedgerError) -> Response:
    if isinstance(exc, Rejected):
        return problem_page(request, 502, f"ledger_{exc.code.lower()}", exc.message)
    return problem_page(request, 503, "ledger_unavailable", str(exc))


def _csrf_page(request: Request, _exc: CsrfRejected) -> Response:
    return problem_page(
        request, 403, "csrf_failed", "the form expired or came from elsewhere; reload the page"
    )


def install(app: FastAPI) -> None:
    """Add the dashboards to an app whose API problem handlers are already installed."""
    static = Path(__file__).parent / "static"
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(static)), name="ui_static")
    for module in _page_modules():
        # A helper module without pages (no `router`) is fine to list.
        page_router = getattr(module, "router", None)
        if page_router is not None:
            app.include_router(page_router)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(CsrfRejected, _csrf_page)  # type: ignore[arg-type]
    _wrap(app, DomainError, _domain_page)
    _wrap(app, RequestValidationError, _validation_page)
    _wrap(app, StarletteHTTPException, _http_page)
    _wrap(app, StaleDataError, _stale_page)
    _wrap(app, LedgerError, _ledger_page)
    app.add_middleware(SecurityHeaders)
