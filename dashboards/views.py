"""Server-rendered pages; for now one landing page that points people at what exists."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The landing page: what runs here and where to go next."""
    settings = request.app.state.container.settings
    return templates.TemplateResponse(
        request, "home.html", {"ledger": settings.ledger.kind.value, "mode": settings.mode.value}
    )
