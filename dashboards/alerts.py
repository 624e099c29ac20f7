"""Alert inbox for banks and warehouses: live list, detail with evidence, acknowledge, resolve."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from dashboards.web import PREFIX, AlertViewer, perform, read, render, see_other
from pledge import alert_service
from pledge.alerts import Alert, AlertState

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# "active" (the default) is every alert still to be dealt with: open or acknowledged.
STATES = ("active", "open", "acknowledged", "resolved", "all")
# Camera evidence links name their evidence record; the viewer page is built on that id.
_EVIDENCE_URI = re.compile(r"^/evidence/(?P<id>[\w-]+)/(?:snapshot\.jpg|clip\.mp4)$")


def evidence_id_of(uri: str) -> str | None:
    """The evidence record behind a camera evidence link, or None for other evidence."""
    found = _EVIDENCE_URI.match(uri)
    return found.group("id") if found else None


def _state(value: str) -> AlertState | None:
    return None if value in ("all", "active") else AlertState(value)


def _alerts(request: Request, viewer: AlertViewer, state: str) -> list[Alert]:
    found = read(request, alert_service.list_alerts, viewer.actor, _state(state), None)
    if state == "active":
        return [a for a in found if a.state is not AlertState.RESOLVED]
    return found


@router.get("/alerts", name="alert_inbox")
def inbox(request: Request, viewer: AlertViewer, state: str = "active") -> HTMLResponse:
    """Your organisation's alerts, refreshed live as they are raised or change."""
    state = state if state in STATES else "active"
    return render(
        request,
        "alerts/inbox.html",
        {"alerts": _alerts(request, viewer, state), "state": state, "states": STATES},
    )


@router.get("/alerts/rows", name="alert_rows")
def rows(request: Request, viewer: AlertViewer, state: str = "active") -> HTMLResponse:
    """The inbox's rows alone, for the live refresh."""
    state = state if state in STATES else "active"
    return render(
        request, "alerts/_rows.html", {"alerts": _alerts(request, viewer, state), "state": state}
    )


@router.get("/alerts/{alert_id}", name="alert_detail")
def detail(request: Request, viewer: AlertViewer, alert_id: str) -> HTMLResponse:
    """One alert, with its evidence; another organisation's alert answers not found."""
    alert = read(request, alert_service.visible_alert, viewer.actor, alert_id)
    evidence = [
        {**item, "evidence_id": evidence_id_of(item.get("uri", ""))} for item in alert.evidence
    ]
    return render(request, "alerts/detail.html", {"alert": alert, "evidence": evidence})


def _answer(request: Request, alert: Alert, origin: str) -> Response:
    if origin == "inbox":
        return render(request, "alerts/_row.html", {"alert": alert})
    return see_other(request, f"{PREFIX}/alerts/{alert.id}")


@router.post("/alerts/{alert_id}/acknowledge", name="alert_acknowledge")
def acknowledge(
    request: Request, viewer: AlertViewer, alert_id: str, origin: Annotated[str, Form()] = ""
) -> Response:
    """Take an open alert on."""
    alert = perform(request, viewer, alert_service.acknowledge_alert, alert_id)
    return _answer(request, alert, origin)


@router.post("/alerts/{alert_id}/resolve", name="alert_resolve")
def resolve(
    request: Request,
    viewer: AlertViewer,
    alert_id: str,
    note: Annotated[str, Form()] = "",
    origin: Annotated[str, Form()] = "",
) -> Response:
    """Close an alert with a note of what was found and done."""
    alert = perform(request, viewer, alert_service.resolve_alert, alert_id, note)
    return _answer(request, alert, origin)
