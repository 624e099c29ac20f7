"""The landing page at /: what runs here, and the way into the dashboards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dashboards.web import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The landing page: what runs here and where to go next."""
    settings = request.app.state.container.settings
    return render(
        request, "home.html", {"ledger": settings.ledger.kind.value, "mode": settings.mode.value}
    )
