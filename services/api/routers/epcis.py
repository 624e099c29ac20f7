"""EPCIS 2.0 capture and query, reconciliation runs and bay freezes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import Field

import pledge.epcis_tables  # noqa: F401  (binds the SQL event and freeze stores)
import services.notify.store  # noqa: F401  (binds the SQL alert store)
from pledge import epcis_service, reconcile_service
from pledge.alert_service import record_alert
from pledge.epcis_service import EventQuery
from pledge.parties import Actor
from pledge.reconcile import BayFreeze, BayVerdict
from services.api.runner import container_of, perform, read
from services.api.schemas import Input
from services.api.security import get_person

router = APIRouter(tags=["epcis"])
ActorDep = Annotated[Actor, Depends(get_person)]


@router.post("/epcis/capture", status_code=201)
def capture(
    document: Annotated[dict[str, Any], Body(media_type="application/ld+json")],
    actor: ActorDep,
    request: Request,
) -> dict[str, Any]:
    """Capture an EPCISDocument of ObjectEvents; a repeated event is stored once, by its hash."""
    result, _ = perform(request, epcis_service.capture, actor, document)
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
    """Events at your warehouses or captured by your organisation, oldest first."""
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
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _verdict_json(verdict: BayVerdict) -> dict[str, Any]:
    return {
        "bay_id": verdict.bay_id,
        "commodity_code": verdict.commodity_code,
        "reference": None if verdict.reference is None else str(verdict.reference),
        "allowed": str(verdict.allowed),
        "mismatch": bool(verdict.mismatched),
        "sources": [s.as_dict() for s in verdict.sources],
    }


@router.post("/warehouses/{warehouse_id}/reconcile")
def reconcile(warehouse_id: str, actor: ActorDep, request: Request) -> dict[str, Any]:
    """Reconcile every bay now: a mismatch records a stock-taking event, freezes and alerts."""
    container = container_of(request)
    verdicts, _ = perform(
        request,
        reconcile_service.reconcile_warehouse,
        actor,
        warehouse_id,
        container.reconcile_sensors(),
        container.reconcile_tolerances(),
        record_alert,
    )
    return {"verdicts": [_verdict_json(v) for v in verdicts]}


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
