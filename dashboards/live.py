"""Live updates for pages: the viewer's organisation's alert changes as Server-Sent Events.

The API's /alerts/stream wants a bearer header, which EventSource cannot send; this stream is
authenticated by the session cookie instead and carries HTML, as the htmx SSE extension swaps
it: each alert change is one `alert` event whose data is a notice fragment. Pages that list
alerts refresh themselves on it with `hx-trigger="sse:alert"`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from dashboards.web import PREFIX, ViewerDep, templates
from services.api.runner import container_of
from services.notify.sse import KEEPALIVE_SECONDS, broadcaster_for

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LIVE_EVENT = "alert"


def sse_message(event: str, html: str, ident: int | None = None) -> str:
    """One SSE message carrying an HTML fragment (every line prefixed with `data:`)."""
    lines = [f"event: {event}"]
    if ident is not None:
        lines.append(f"id: {ident}")
    lines.extend(f"data: {line}" for line in html.splitlines() or [""])
    return "\n".join(lines) + "\n\n"


def notice_html(document: dict[str, Any]) -> str:
    """The notice shown when an alert of the viewer's organisation changes."""
    kind = document["type"].removeprefix("alert.")
    return templates.get_template("partials/alert_notice.html").render(
        kind=kind, alert=document["alert"]
    )


async def _follow(request: Request, org_id: str) -> AsyncIterator[str]:
    broadcaster = broadcaster_for(container_of(request).engine)
    subscriber = broadcaster.subscribe(org_id)
    try:
        # Tells the page the stream is up; the story test waits for it before acting.
        yield sse_message("ready", "live")
        while True:
            try:
                document = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if document is None:
                # Too far behind: end the stream; EventSource reconnects and pages refresh.
                return
            yield sse_message(LIVE_EVENT, notice_html(document), document.get("seq"))
    finally:
        broadcaster.unsubscribe(subscriber)


@router.get("/stream", name="live_stream")
async def stream(request: Request, viewer: ViewerDep) -> StreamingResponse:
    """Alert changes of the viewer's organisation, live, as HTML notices."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _follow(request, viewer.actor.org_id), media_type="text/event-stream", headers=headers
    )
