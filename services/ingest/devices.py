"""Device keys bound to a warehouse, and EPCIS capture by such a device (a reader's own events).

An API key belongs to an organisation; a warehouse operator binds one of its keys to one of its
warehouses. The device holding the key may then post EPCIS documents whose events all happen
in bays of that warehouse, and nothing else: an event elsewhere, or without a bay, refuses the
whole document (403), so a stolen reader key cannot write another site's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pledge.epcis import ObjectEvent, bay_of_location
from pledge.epcis_service import CaptureResult, parse_events, record_event, validate_document
from pledge.errors import Forbidden, NotFound
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context
from services.db import Base, UtcDateTime
from services.identity.apikeys import key_matches, prefix_of
from services.identity.tables import ApiKey
from services.uow import SqlUnitOfWork


class DeviceWarehouseRow(Base):
    """The one warehouse a device key may report on."""

    __tablename__ = "device_key_warehouses"

    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(36), index=True)
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime)


def bind_device_key(
    uow: SqlUnitOfWork, actor: Actor, now: datetime, warehouse_id: str, key_id: str
) -> DeviceWarehouseRow:
    """Let one of the operator's device keys report on one of its warehouses; commits."""
    actor.require(OrgKind.WAREHOUSE)
    warehouse = uow.warehouses.get(warehouse_id)
    if warehouse is None or warehouse.org_id != actor.org_id:
        raise NotFound("warehouse_not_found", f"no warehouse {warehouse_id}")
    key = uow.session.get(ApiKey, key_id)
    if key is None or key.org_id != actor.org_id or key.revoked_at is not None:
        raise NotFound("api_key_not_found", "no such live API key in your organisation")
    row = uow.session.get(DeviceWarehouseRow, key_id)
    if row is None:
        row = DeviceWarehouseRow(key_id=key_id)
        uow.session.add(row)
    row.warehouse_id = warehouse.id
    row.bound_at = now
    uow.commit()
    return row


def bound_warehouse(session: Session, secret: str) -> str | None:
    """The warehouse the live key with this secret is bound to, or None."""
    prefix = prefix_of(secret)
    if prefix is None:
        return None
    for key in session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)):
        if key.revoked_at is None and key_matches(secret, key.key_hash):
            row = session.get(DeviceWarehouseRow, key.id)
            return None if row is None else row.warehouse_id
    return None


def _check_location(uow: SqlUnitOfWork, warehouse_id: str, event: ObjectEvent) -> None:
    bay_id = bay_of_location(event.biz_location) or bay_of_location(event.read_point)
    bay = uow.bays.get(bay_id) if bay_id else None
    if bay is None or bay.warehouse_id != warehouse_id:
        where = event.biz_location or event.read_point or "no bay location"
        raise Forbidden(
            "device_wrong_warehouse",
            f"this device reports only on bays of its own warehouse; an event is at {where}",
        )


def capture_as_device(
    uow: SqlUnitOfWork,
    actor: Actor,
    ctx: Context,
    document: dict[str, Any],
    warehouse_id: str | None,
) -> CaptureResult:
    """Store a device's EPCISDocument if every event lies in its bound warehouse (dedup by hash)."""
    if Role.DEVICE not in actor.roles or actor.org_kind is not OrgKind.WAREHOUSE:
        raise Forbidden("wrong_org_kind", "only a warehouse's devices capture EPCIS events")
    if warehouse_id is None:
        raise Forbidden(
            "device_not_bound",
            "this device key is bound to no warehouse: bind it with "
            "PUT /warehouses/{warehouse_id}/device-keys/{key_id}",
        )
    validate_document(document)
    events = parse_events(document, ctx.now)
    for event in events:
        _check_location(uow, warehouse_id, event)
    result = CaptureResult()
    for event in events:
        record, new = record_event(uow, actor.org_id, warehouse_id, event, ctx.now)
        result.event_hashes.append(record.event_hash)
        if not new:
            result.duplicates.append(record.event_hash)
    uow.commit()
    return result
