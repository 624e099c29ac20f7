"""EPCIS use cases: capture (validate, dedup by canonical hash, store), query, internal events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from pledge.anchoring import anchor_event
from pledge.clock import CLOCK_SKEW, ahead_of_clock
from pledge.epcis import (
    EPCIS_CONTEXT,
    Action,
    BizStep,
    EpcisRecord,
    ObjectEvent,
    QuantityElement,
    bay_location,
    bay_of_location,
    biz_step_urn,
    canonical_epc,
    commodity_class,
    disposition_urn,
    event_hash,
    format_offset,
    parse_event,
    parse_time,
    to_json_ld,
)
from pledge.errors import Invalid, NotFound
from pledge.model import Movement, MovementKind
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context, PledgeUnitOfWork
from pledge.storable import first_problem


@dataclass(frozen=True)
class EventQuery:
    """Filters of GET /epcis/events; times are GE (inclusive) and LT (exclusive)."""

    event_type: str | None = None
    action: str | None = None
    biz_step: str | None = None
    disposition: str | None = None
    epc: str | None = None
    biz_location: str | None = None
    ge_event_time: datetime | None = None
    lt_event_time: datetime | None = None
    limit: int = 50
    offset: int = 0
    # Visibility: events this organisation captured, or located in these warehouses.
    org_id: str = ""
    warehouse_ids: tuple[str, ...] = ()


class EventStore(Protocol):
    """Captured EPCIS events, unique by canonical hash."""

    def with_hash(self, event_hash: str) -> EpcisRecord | None:
        """The stored event with this hash, or None."""
        ...

    def add(self, record: EpcisRecord) -> None:
        """Store a new event (written when the unit of work commits)."""
        ...

    def query(self, query: EventQuery) -> tuple[list[EpcisRecord], int]:
        """One page of matching events in event-time order, and how many match in all."""
        ...


def store_of(uow: PledgeUnitOfWork) -> EventStore:
    """The event store that writes in the same transaction as this unit of work."""
    own = getattr(uow, "epcis_events", None)
    if own is not None:
        store: EventStore = own
        return store
    raise RuntimeError("this unit of work has no EPCIS event store (epcis_events)")


@dataclass
class CaptureResult:
    """What a capture stored: each event's hash, and which were already known."""

    event_hashes: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def captured(self) -> int:
        """How many events were new."""
        return len(self.event_hashes) - len(self.duplicates)


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("pledge").joinpath("epcis_schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_document(document: Any) -> None:
    """Refuse a document that breaks the EPCIS 2.0 schema, naming the path of the error."""
    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise Invalid("epcis_schema_invalid", f"{error.json_path}: {error.message}")
    unstorable = first_problem(document)
    if unstorable is not None:
        raise Invalid("epcis_invalid_text", f"{unstorable[0]}: {unstorable[1]}")


def parse_events(document: Mapping[str, Any], now: datetime) -> list[ObjectEvent]:
    """The events of a schema-valid document; none may lie beyond the clock-skew tolerance."""
    events = [parse_event(doc) for doc in document["epcisBody"]["eventList"]]
    for index, event in enumerate(events):
        if ahead_of_clock(event.event_time, now):
            raise Invalid(
                "event_time_in_future",
                f"$.epcisBody.eventList[{index}].eventTime lies more than "
                f"{int(CLOCK_SKEW.total_seconds())} s in the future",
            )
    return events


def capture(
    uow: PledgeUnitOfWork, actor: Actor, ctx: Context, document: Mapping[str, Any]
) -> CaptureResult:
    """Validate an EPCISDocument and store each new ObjectEvent once (dedup by canonical hash)."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK))
    validate_document(document)
    events = parse_events(document, ctx.now)
    located = [(event, _warehouse_of(uow, actor, event)) for event in events]
    result = CaptureResult()
    for event, warehouse_id in located:
        record, new = record_event(uow, actor.org_id, warehouse_id, event, ctx.now)
        result.event_hashes.append(record.event_hash)
        if not new:
            result.duplicates.append(record.event_hash)
    uow.commit()
    return result


def _warehouse_of(uow: PledgeUnitOfWork, actor: Actor, event: ObjectEvent) -> str | None:
    # Our own bay locations must exist, and a warehouse reports only on its own bays.
    bay_id = bay_of_location(event.biz_location) or bay_of_location(event.read_point)
    if bay_id is None:
        return None
    bay = uow.bays.get(bay_id)
    warehouse = uow.warehouses.get(bay.warehouse_id) if bay is not None else None
    if warehouse is None or (
        actor.org_kind is OrgKind.WAREHOUSE and warehouse.org_id != actor.org_id
    ):
        raise NotFound("bay_not_found", f"no bay {bay_id} for location {bay_location(bay_id)}")
    return warehouse.id


def record_event(
    uow: PledgeUnitOfWork, org_id: str, warehouse_id: str | None, event: ObjectEvent, now: datetime
) -> tuple[EpcisRecord, bool]:
    """Store an event unless its hash is known; returns the stored record and whether it is new."""
    store = store_of(uow)
    digest = event_hash(event)
    known = store.with_hash(digest)
    if known is not None:
        return known, False
    document = to_json_ld(event)
    document["recordTime"] = now.isoformat()
    record = EpcisRecord(
        id=uuid.uuid4().hex,
        event_hash=digest,
        org_id=org_id,
        warehouse_id=warehouse_id,
        event_type="ObjectEvent",
        action=event.action.value,
        biz_step=biz_step_urn(event.biz_step),
        disposition=disposition_urn(event.disposition),
        event_time=event.event_time,
        record_time=now,
        read_point=event.read_point,
        biz_location=event.biz_location,
        epcs=sorted({canonical_epc(e) for e in event.epc_list}),
        document=document,
    )
    store.add(record)
    # Only a newly stored event is anchored: its hash is the dedup key, so a repeat adds nothing.
    anchor_event(uow, record)
    return record, True


def movement_event(movement: Movement, commodity_code: str) -> ObjectEvent:
    """The EPCIS event for a book movement: ADD/receiving in, DELETE/shipping out."""
    receiving = movement.kind is MovementKind.RECEIVING
    # Tagged goods are named by their EPCs; untagged bulk goods by commodity and quantity.
    quantities = (
        ()
        if movement.epcs
        else (QuantityElement(commodity_class(commodity_code), movement.quantity),)
    )
    extensions: dict[str, Any] = {"pw:lotId": movement.lot_id, "pw:movementId": movement.id}
    if movement.release_order_id:
        extensions["pw:releaseOrderId"] = movement.release_order_id
    return ObjectEvent(
        event_time=movement.at,
        event_time_zone_offset=format_offset(movement.at),
        action=Action.ADD if receiving else Action.DELETE,
        biz_step=(BizStep.RECEIVING if receiving else BizStep.SHIPPING).value,
        disposition="in_progress",
        epc_list=tuple(movement.epcs),
        quantity_list=quantities,
        biz_location=bay_location(movement.bay_id),
        read_point=bay_location(movement.bay_id),
        extensions=extensions,
    )


def record_movement(uow: PledgeUnitOfWork, movement: Movement, commodity_code: str) -> str:
    """Emit the EPCIS event of a book movement in the use case's transaction; returns its hash."""
    warehouse = uow.warehouses.get(movement.warehouse_id)
    org_id = warehouse.org_id if warehouse is not None else ""
    event = movement_event(movement, commodity_code)
    return record_event(uow, org_id, movement.warehouse_id, event, movement.at)[0].event_hash


def visible_warehouses(uow: PledgeUnitOfWork, actor: Actor) -> tuple[str, ...]:
    """Warehouses whose events the actor may read: an operator's own, every one for auditors."""
    if actor.org_kind is OrgKind.AUDITOR:
        # Auditors check the whole record; events carry hashes and EPCs, never loan terms.
        return tuple(sorted(w.id for w in uow.warehouses.find()))
    if actor.org_kind is not OrgKind.WAREHOUSE:
        return ()
    return tuple(sorted(w.id for w in uow.warehouses.find(org_id=actor.org_id)))


def query_events(
    uow: PledgeUnitOfWork, actor: Actor, query: EventQuery
) -> tuple[list[dict[str, Any]], int]:
    """Events the actor may see that match the filters, as JSON-LD with their hashes."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK, OrgKind.AUDITOR), Role.VIEWER)
    if query.ge_event_time and query.lt_event_time and query.ge_event_time >= query.lt_event_time:
        raise Invalid("invalid_time_window", "GE_eventTime must be before LT_eventTime")
    scoped = EventQuery(
        **{
            **query.__dict__,
            "biz_step": biz_step_urn(query.biz_step),
            "disposition": disposition_urn(query.disposition),
            "epc": canonical_epc(query.epc) if query.epc else None,
            "org_id": actor.org_id,
            "warehouse_ids": visible_warehouses(uow, actor),
        }
    )
    records, total = store_of(uow).query(scoped)
    return [{**r.document, "pw:eventHash": r.event_hash} for r in records], total


def parse_query_time(text: str | None) -> datetime | None:
    """A query-parameter timestamp, which must carry its offset."""
    return None if text is None else parse_time(text)


def epcis_document(events: list[ObjectEvent], created: datetime) -> dict[str, Any]:
    """Wrap events in an EPCISDocument, as a capture client would send them."""
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.isoformat(),
        "epcisBody": {"eventList": [to_json_ld(e) for e in events]},
    }


def quantity_event(
    bay_id: str, commodity_code: str, quantity: Decimal, at: datetime, **fields: Any
) -> ObjectEvent:
    """An OBSERVE event about a quantity of a commodity in a bay (used by stock-taking)."""
    return ObjectEvent(
        event_time=at,
        event_time_zone_offset=format_offset(at),
        action=Action.OBSERVE,
        quantity_list=(QuantityElement(commodity_class(commodity_code), quantity),),
        biz_location=bay_location(bay_id),
        read_point=bay_location(bay_id),
        **fields,
    )
