"""Auditor pages: the ledger explorer with chain verification, and the EPCIS event log.

Both read through the API's own routes (GET /ledger/blocks, GET /ledger/verify,
GET /epcis/events) as the signed-in auditor, so they show exactly what those routes allow.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dashboards.apicall import api
from dashboards.web import PREFIX, AuditorViewer, render

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE = 25
# The EPCIS query parameters the event log's search form offers, with their labels.
EVENT_FILTERS = (
    ("EQ_bizStep", "Business step"),
    ("EQ_action", "Action"),
    ("EQ_disposition", "Disposition"),
    ("MATCH_epc", "EPC"),
    ("EQ_bizLocation", "Location"),
    ("GE_eventTime", "From (ISO time)"),
    ("LT_eventTime", "Before (ISO time)"),
)


def _matches(block: dict[str, Any], text: str) -> bool:
    haystack = " ".join(
        str(block.get(k, "")) for k in ("fn", "tx_id", "event_name", "submitter_msp", "hash")
    )
    haystack += json.dumps(block.get("event_payload"), sort_keys=True)
    return text.lower() in haystack.lower()


@router.get("/auditor/ledger", name="auditor_ledger")
async def ledger(
    request: Request, viewer: AuditorViewer, page: int = 0, q: str = ""
) -> HTMLResponse:
    """Blocks, newest first: each block's transaction, endorsers and event."""
    page = max(page, 0)
    found = (
        await api(request, "GET", "/ledger/blocks", params={"limit": PAGE, "offset": page * PAGE})
    ).json()
    blocks = [b for b in found["items"] if not q or _matches(b, q)]
    for block in blocks:
        block["payload_text"] = (
            json.dumps(block["event_payload"], indent=2, sort_keys=True)
            if block["event_payload"] is not None
            else ""
        )
    pages = max((found["total"] + PAGE - 1) // PAGE, 1)
    return render(
        request,
        "auditor/ledger.html",
        {"blocks": blocks, "total": found["total"], "page": page, "pages": pages, "q": q},
    )


@router.post("/auditor/ledger/verify", name="auditor_verify")
async def verify(request: Request, viewer: AuditorViewer) -> HTMLResponse:
    """Re-check every block's hash, link and signatures, and the world state."""
    report = (await api(request, "GET", "/ledger/verify")).json()
    return render(request, "auditor/_chain_verdict.html", {"r": report})


@router.get("/auditor/events", name="auditor_events")
async def events(request: Request, viewer: AuditorViewer, page: int = 0) -> HTMLResponse:
    """The EPCIS event log, searchable by the standard query parameters."""
    filters = {
        name: request.query_params.get(name, "").strip()
        for name, _ in EVENT_FILTERS
        if request.query_params.get(name, "").strip()
    }
    page = max(page, 0)
    answer = await api(
        request,
        "GET",
        "/epcis/events",
        params={**filters, "limit": PAGE, "offset": page * PAGE},
        ok=False,
    )
    body = answer.json()
    problem = body.get("detail", "") if answer.status >= 400 else ""
    items = [] if problem else body["items"]
    total = 0 if problem else body["total"]
    return render(
        request,
        "auditor/events.html",
        {
            "items": items,
            "total": total,
            "filters": filters,
            "fields": EVENT_FILTERS,
            "problem": problem,
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
        },
        status=answer.status if problem else 200,
    )
