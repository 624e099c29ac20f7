"""EPCIS 2.0 capture and query, reconciliation runs and bay freezes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import services.notify.store  # noqa: F401  (binds the SQL alert store)
from pledge import epcis_service, reconcile_service
from pledge.alert_service import record_alert
from pledge.anchoring import ANCHOR_KIND
from pledge.anchoring import SUBJECT_TYPE as ANCHOR_SUBJECT
from pledge.epcis_service import EventQuery
from pledge.epcis_tables import epcis_events
from pledge.parties import Actor, Role
from pledge.reconcile import BayFreeze, BayVerdict
from pledge.reconcile_requests import settling_bays
from services.api.runner import container_of, perform, read
from services.api.schemas import Input
from services.api.security import get_actor, get_person
from services.ingest import devices
from services.ledger.outbox import CONFIRMED, REJECTED
from services.ledger.tables import LedgerCommand

router = APIRouter(tags=["epcis"])
ActorDep = Annotated[Actor, Depends(get_person)]


@router.post("/epcis/capture", status_code=201)
def capture(
    document: Annotated[dict[str, Any], Body(media_type="application/ld+json")],
    actor: Annotated[Actor, Depends(get_actor)],
    request: Request,
) -> dict[str, Any]:
    """Capture an EPCISDocument of ObjectEvents; a repeated event is stored once, by its hash.

    People of a warehouse or bank capture as before. A device key (X-API-Key) captures only
    events in bays of the warehouse its key is bound to; anything else answers 403.
    """
    if Role.DEVICE in actor.roles:
        secret = request.headers.get("X-API-Key", "")
        with container_of(request).session_factory() as session:
            warehouse_id = devices.bound_warehouse(session, secret)
        result, _ = perform(request, devices.capture_as_device, actor, document, warehouse_id)
    else:
        result, _ = perform(request, epcis_service.capture, get_person(actor), document)
    return {
        "captured": result.captured,
        "eventHashes": result.event_hashes,
        "duplicates": result.duplicates,
    }


@router.get("/epcis/events")
def query_events(
    actor: ActorDep,
    request: Request,
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
    action: Annotated[str | None, Query(alias="EQ_action")] = None,
    biz_step: Annotated[str | None, Query(alias="EQ_bizStep")] = None,
    disposition: Annotated[str | None, Query(alias="EQ_disposition")] = None,
    epc: Annotated[str | None, Query(alias="MATCH_epc")] = None,
    biz_location: Annotated[str | None, Query(alias="EQ_bizLocation")] = None,
    ge_event_time: Annotated[str | None, Query(alias="GE_eventTime")] = None,
    lt_event_time: Annotated[str | None, Query(alias="LT_eventTime")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Events at your warehouses or captured by your organisation, oldest first.

    Each event carries `pw:anchor`: its hash's ledger anchoring (status, txId), or null.
    """
    query = EventQuery(
        event_type=event_type,
        action=action,
        biz_step=biz_step,
        disposition=disposition,
        epc=epc,
        biz_location=biz_location,
        ge_event_time=epcis_service.parse_query_time(ge_event_time),
        lt_event_time=epcis_service.parse_query_time(lt_event_time),
        limit=limit,
        offset=offset,
    )
    items, total = read(request, epcis_service.query_events, actor, query)
    anchors = anchor_statuses(container_of(request).session_factory, items)
    for item in items:
        item["pw:anchor"] = anchors.get(item["pw:eventHash"])
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def anchor_statuses(
    session_factory: sessionmaker[Session], items: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Event hash -> where its ledger anchoring stands: pending, confirmed or rejected, and tx."""
    hashes = [item["pw:eventHash"] for item in items]
    if not hashes:
        return {}
    with session_factory() as session:
        rows = session.execute(
            select(epcis_events.c.id, epcis_events.c.event_hash).where(
                epcis_events.c.event_hash.in_(hashes)
            )
        )
        ids = {row.id: row.event_hash for row in rows}
        commands = session.scalars(
            select(LedgerCommand).where(
                LedgerCommand.subject_type == ANCHOR_SUBJECT,
                LedgerCommand.kind == ANCHOR_KIND,
                LedgerCommand.subject_id.in_(list(ids)),
            )
        ).all()
        out: dict[str, dict[str, Any]] = {}
        for command in commands:
            # Queued and submitted are both still waiting for the ledger's word.
            status = command.status if command.status in (CONFIRMED, REJECTED) else "pending"
            out[ids[command.subject_id]] = {
                "status": status,
                "txId": command.tx_id,
                "commandId": command.id,
                "blockNumber": command.block_number,
                "reason": command.reason if status == REJECTED else None,
            }
    return out


def _verdict_json(verdict: BayVerdict, settling: set[str]) -> dict[str, Any]:
    return {
        "bay_id": verdict.bay_id,
        # Goods moved moments ago: a mismatch here is not frozen until the bay has settled.
        "settling": verdict.bay_id in settling,
        "commodity_code": verdict.commodity_code,
        "reference": None if verdict.reference is None else str(verdict.reference),
        "allowed": str(verdict.allowed),
        "mismatch": bool(verdict.mismatched),
        "sources": [s.as_dict() for s in verdict.sources],
    }


@router.post("/warehouses/{warehouse_id}/reconcile")
def reconcile(warehouse_id: str, actor: ActorDep, request: Request) -> dict[str, Any]:
    """Reconcile every bay now: a mismatch records a stock-taking event, freezes and alerts.

    A bay still settling after an event is reported but not frozen; its queued request
    reconciles it once settled.
    """
    verdicts, settling = reconcile_now(request, actor, warehouse_id)
    return {"verdicts": [_verdict_json(v, settling) for v in verdicts]}


def reconcile_now(
    request: Request, actor: Actor, warehouse_id: str
) -> tuple[list[BayVerdict], set[str]]:
    """Reconcile a warehouse's bays now, leaving settling bays unfrozen; verdicts and those bays."""
    container = container_of(request)
    with container.session_factory() as session:
        settling = settling_bays(session, container.context().now)
    verdicts, _ = perform(
        request,
        reconcile_service.reconcile_warehouse,
        actor,
        warehouse_id,
        container.reconcile_sensors(),
        container.reconcile_tolerances(),
        record_alert,
        settling,
    )
    return verdicts, settling


def _freeze_json(freeze: BayFreeze | None) -> dict[str, Any]:
    if freeze is None:
        return {"frozen": False, "freeze": None}
    body = {
        "id": freeze.id,
        "bay_id": freeze.bay_id,
        "reason": freeze.reason,
        "event_hash": freeze.event_hash,
        "findings": freeze.verdicts,
        "created_at": freeze.created_at.isoformat(),
        "resolved_at": freeze.resolved_at.isoformat() if freeze.resolved_at else None,
        "resolved_by": freeze.resolved_by,
        "note": freeze.note,
    }
    return {"frozen": freeze.active, "freeze": body}


@router.get("/bays/{bay_id}/freeze")
def get_freeze(bay_id: str, actor: ActorDep, request: Request) -> dict[str, Any]:
    """Whether releases from one of your bays are frozen, and the latest freeze."""
    return _freeze_json(read(request, reconcile_service.bay_freeze, actor, bay_id))


class ResolveIn(Input):
    """Why the mismatch is cleared."""

    note: str = Field(min_length=1, max_length=2000)


@router.post("/bays/{bay_id}/freeze/resolve")
def resolve_freeze(
    bay_id: str, body: ResolveIn, actor: ActorDep, request: Request
) -> dict[str, Any]:
    """Lift the freeze of one of your bays once the mismatch is cleared."""
    freeze, _ = perform(request, reconcile_service.resolve_freeze, actor, bay_id, body.note)
    return _freeze_json(freeze)
