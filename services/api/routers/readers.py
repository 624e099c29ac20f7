"""Tag reader routes: where each reader is installed, whether it is online, device-key binding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from pledge.parties import Actor, OrgKind
from pledge.presence import PlacementKind
from services.api.runner import container_of, read
from services.api.schemas import Input, Output
from services.api.security import require
from services.ingest import devices, placement
from services.uow import SqlUnitOfWork

router = APIRouter(tags=["readers"])
OfficerDep = Annotated[Actor, Depends(require(OrgKind.WAREHOUSE))]


class PlacementIn(Input):
    """Where a reader is installed: on a bay (give bay_id) or on an exit gate."""

    kind: PlacementKind
    bay_id: str | None = None


class PlacementOut(Output):
    """A reader's placement."""

    reader_id: str
    warehouse_id: str
    kind: PlacementKind
    bay_id: str | None


class ReaderOut(Output):
    """A reader, its status and its placement (kind and bay_id null while unplaced)."""

    reader_id: str
    warehouse_id: str
    warehouse_code: str
    online: bool
    status: str
    last_seen_at: datetime | None
    kind: PlacementKind | None
    bay_id: str | None


@router.put("/readers/{reader_id}/placement", response_model=PlacementOut)
def put_placement(reader_id: str, body: PlacementIn, actor: OfficerDep, request: Request) -> Any:
    """Install one of your warehouse's readers on a bay or an exit gate (replaces the old one)."""
    now = container_of(request).context().now
    with SqlUnitOfWork.start(container_of(request).session_factory) as uow:
        return placement.place_reader(uow, actor, now, reader_id, body.kind, body.bay_id)


class DeviceKeyOut(Output):
    """A device key bound to the one warehouse it may report EPCIS events on."""

    key_id: str
    warehouse_id: str
    bound_at: datetime


@router.put("/warehouses/{warehouse_id}/device-keys/{key_id}", response_model=DeviceKeyOut)
def put_device_key(warehouse_id: str, key_id: str, actor: OfficerDep, request: Request) -> Any:
    """Bind one of your device keys to one of your warehouses (replaces its earlier binding)."""
    now = container_of(request).context().now
    with SqlUnitOfWork.start(container_of(request).session_factory) as uow:
        return devices.bind_device_key(uow, actor, now, warehouse_id, key_id)


# A plain list, like a warehouse's stock: a site has a handful of readers, not pages of them.
@router.get("/readers", response_model=list[ReaderOut])
def get_readers(actor: OfficerDep, request: Request, warehouse_id: str | None = None) -> Any:
    """The readers of your warehouses: online or offline, and where each is placed."""
    now = container_of(request).context().now
    return read(request, placement.list_readers, actor, now, warehouse_id)
