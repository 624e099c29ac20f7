"""Alert routes: your organisation's alerts, their live stream, and webhook subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from pledge import alert_service
from pledge.alerts import AlertState, AlertType
from pledge.parties import Actor, OrgKind
from services.api.runner import container_of, perform, read
from services.api.schemas import Page, paginate
from services.api.security import (
    api_key_scheme,
    get_actor,
    get_person,
    oauth2_scheme,
    require_any,
)
from services.notify import webhooks
from services.notify.schemas import (
    AlertOut,
    ResolveIn,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from services.notify.sse import broadcaster_for, stream_events
from services.notify.store import event_document
from services.notify.tables import AlertEventRow

router = APIRouter(tags=["alerts"])
ActorDep = Annotated[Actor, Depends(get_person)]
# Only banks and warehouses receive alerts, so only they wire webhooks.
SubscriberDep = Annotated[Actor, Depends(require_any(OrgKind.BANK, OrgKind.WAREHOUSE))]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
REPLAY_LIMIT = 1000


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(
    actor: ActorDep,
    request: Request,
    state: AlertState | None = None,
    type: AlertType | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Your organisation's alerts, newest first, by state and type."""
    items = read(request, alert_service.list_alerts, actor, state, type)
    return paginate(items, limit, offset)


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alert events"}},
)
def stream_alerts(
    request: Request,
    token: Annotated[str | None, Security(oauth2_scheme)] = None,
    api_key: Annotated[str | None, Security(api_key_scheme)] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
    since: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Live alert events of your organisation (SSE); Last-Event-ID or `since` replays missed."""
    container = container_of(request)
    # A stream stays open for hours; the session that signs the caller in must not, so the
    # caller is authenticated here rather than through the request-long session dependency.
    with container.session_factory() as session:
        actor = get_person(get_actor(request, session, container, token, api_key))
    org_id = actor.org_id
    after = last_event_id if last_event_id is not None else since

    def replay(seq: int) -> list[dict[str, Any]]:
        with container.session_factory() as session:
            stmt = (
                select(AlertEventRow)
                .where(AlertEventRow.org_id == org_id, AlertEventRow.seq > seq)
                .order_by(AlertEventRow.seq)
                .limit(REPLAY_LIMIT)
            )
            return [event_document(row) for row in session.scalars(stmt)]

    events = stream_events(broadcaster_for(container.engine), org_id, after, replay)
    # Proxies must not buffer a stream that is only useful live.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: str, actor: ActorDep, request: Request) -> Any:
    """One of your organisation's alerts."""
    return read(request, alert_service.visible_alert, actor, alert_id)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge_alert(alert_id: str, actor: ActorDep, request: Request) -> Any:
    """Take an open alert on (bank or warehouse officer of the recipient organisation)."""
    alert, _ = perform(request, alert_service.acknowledge_alert, actor, alert_id)
    return alert


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
def resolve_alert(alert_id: str, body: ResolveIn, actor: ActorDep, request: Request) -> Any:
    """Close an alert with a note of what was found and done."""
    alert, _ = perform(request, alert_service.resolve_alert, actor, alert_id, body.note)
    return alert


@router.post("/webhooks", status_code=201, response_model=WebhookCreatedOut)
def create_webhook(body: WebhookIn, actor: SubscriberDep, request: Request) -> Any:
    """Post your organisation's alert events to a URL, signed with the secret returned once."""
    container = container_of(request)
    with container.session_factory() as session:
        return webhooks.subscribe(
            session, actor.org_id, body.url, body.description, container.context().now
        )


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(actor: SubscriberDep, request: Request) -> Any:
    """Your organisation's webhooks."""
    with container_of(request).session_factory() as session:
        return webhooks.subscriptions(session, actor.org_id)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, actor: SubscriberDep, request: Request) -> Response:
    """Stop a webhook; events already owed to it are cancelled."""
    with container_of(request).session_factory() as session:
        webhooks.unsubscribe(session, actor.org_id, webhook_id)
    return Response(status_code=204)
