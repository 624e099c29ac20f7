"""Reader placement: which bay a tag reader watches, or that it guards an exit gate.

A reader is registered under its warehouse's code (see services.ingest.readers); its placement
ties it to a bay of that warehouse, which is what turns its reads into presence per bay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pledge.errors import Invalid, NotFound
from pledge.model import Warehouse
from pledge.parties import Actor, OrgKind
from pledge.presence import Placement, PlacementKind
from services.db import Base, UtcDateTime
from services.ingest.readers import DEFAULT_HEARTBEAT_TIMEOUT, offline_readers
from services.ingest.tables import Reader
from services.uow import SqlUnitOfWork


class ReaderPlacementRow(Base):
    """Where one reader is installed; one row per reader, replaced when it is moved."""

    __tablename__ = "reader_placements"

    reader_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(36), index=True)
    bay_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def placement(self) -> Placement:
        """The row as the domain's placement."""
        return Placement(self.reader_id, self.warehouse_id, PlacementKind(self.kind), self.bay_id)


@dataclass(frozen=True)
class ReaderView:
    """A reader of one of the caller's warehouses: its status and placement."""

    reader_id: str
    warehouse_id: str
    warehouse_code: str
    online: bool
    status: str
    last_seen_at: datetime | None
    kind: PlacementKind | None
    bay_id: str | None


def all_placements(session: Session) -> list[Placement]:
    """Every reader's placement."""
    rows = session.scalars(select(ReaderPlacementRow).order_by(ReaderPlacementRow.reader_id))
    return [row.placement() for row in rows]


def _warehouse_of_reader(uow: SqlUnitOfWork, actor: Actor, reader_id: str) -> Warehouse:
    # A reader of another operator's warehouse answers not found, like any foreign object.
    reader = uow.session.get(Reader, reader_id)
    found = [] if reader is None else uow.warehouses.find(code=reader.warehouse_code)
    if not found or found[0].org_id != actor.org_id:
        raise NotFound("reader_not_found", f"no reader {reader_id} in your warehouses")
    return found[0]


def place_reader(
    uow: SqlUnitOfWork,
    actor: Actor,
    now: datetime,
    reader_id: str,
    kind: PlacementKind,
    bay_id: str | None,
) -> Placement:
    """Install a registered reader on a bay of its warehouse, or on an exit gate; commits."""
    actor.require(OrgKind.WAREHOUSE)
    warehouse = _warehouse_of_reader(uow, actor, reader_id)
    if kind is PlacementKind.BAY:
        bay = uow.bays.get(bay_id) if bay_id else None
        if bay is None or bay.warehouse_id != warehouse.id:
            raise NotFound("bay_not_found", f"no bay {bay_id} in warehouse {warehouse.code}")
    elif bay_id is not None:
        raise Invalid("gate_has_no_bay", "an exit-gate reader watches no bay; omit bay_id")
    row = uow.session.get(ReaderPlacementRow, reader_id)
    if row is None:
        row = ReaderPlacementRow(reader_id=reader_id)
        uow.session.add(row)
    row.warehouse_id = warehouse.id
    row.bay_id = bay_id
    row.kind = kind.value
    row.updated_at = now
    uow.commit()
    return row.placement()


def list_readers(
    uow: SqlUnitOfWork,
    actor: Actor,
    now: datetime,
    warehouse_id: str | None = None,
    timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
) -> list[ReaderView]:
    """The readers of the caller's warehouses (or one of them), online or not, and placed where."""
    actor.require(OrgKind.WAREHOUSE)
    warehouses = {w.code: w for w in uow.warehouses.find(org_id=actor.org_id)}
    if warehouse_id is not None:
        warehouses = {c: w for c, w in warehouses.items() if w.id == warehouse_id}
        if not warehouses:
            raise NotFound("warehouse_not_found", f"no warehouse {warehouse_id}")
    if not warehouses:
        return []
    readers = uow.session.scalars(
        select(Reader).where(Reader.warehouse_code.in_(list(warehouses))).order_by(Reader.reader_id)
    ).all()
    offline = set(offline_readers(uow.session, now, timeout))
    placed = {
        row.reader_id: row
        for row in uow.session.scalars(
            select(ReaderPlacementRow).where(
                ReaderPlacementRow.reader_id.in_([r.reader_id for r in readers])
            )
        )
    }
    views = []
    for reader in readers:
        place = placed.get(reader.reader_id)
        views.append(
            ReaderView(
                reader_id=reader.reader_id,
                warehouse_id=warehouses[reader.warehouse_code].id,
                warehouse_code=reader.warehouse_code,
                online=reader.reader_id not in offline,
                status=reader.status,
                last_seen_at=reader.last_seen_at,
                kind=None if place is None else PlacementKind(place.kind),
                bay_id=None if place is None else place.bay_id,
            )
        )
    return views
