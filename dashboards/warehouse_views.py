"""What the warehouse pages show: floor, readers, reconciliation and releases, as view models.

Every function reads through the existing use cases and repositories in one unit of work, and
starts from the caller's own warehouses, so another operator's bays, readers and orders never
appear (and their ids answer not found, as on the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from loans.ports import BayMonitoring
from pledge.errors import NotFound
from pledge.model import Bay, OrderStatus, ReceiptStatus, Warehouse
from pledge.parties import Actor, OrgKind, Role
from pledge.reconcile import BayFreeze, Status, Tolerance, reconcile_bay, tolerance_for
from pledge.reconcile_service import Sensors, bay_counts, freezes_of, own_warehouse
from services.identity.tables import Org
from services.ingest import placement
from services.uow import SqlUnitOfWork


class BayState(StrEnum):
    """The one word a bay's tile is coloured by; the most urgent state wins."""

    TAMPERED = "tampered"
    FROZEN = "frozen"
    UNMONITORED = "unmonitored"
    PLEDGED = "pledged"
    FREE = "free"
    EMPTY = "empty"


@dataclass(frozen=True)
class StockView:
    """One commodity in a bay: what the book holds and how much of it is pledged."""

    commodity_code: str
    unit: str
    quantity: Decimal
    pledged: Decimal


@dataclass(frozen=True)
class BayTile:
    """A bay at a glance."""

    id: str
    code: str
    name: str
    state: BayState
    monitoring: BayMonitoring
    frozen: bool
    freeze_reason: str
    stock: tuple[StockView, ...]
    cameras: tuple[str, ...]

    @property
    def pledged(self) -> bool:
        """Whether any goods in the bay secure a loan."""
        return any(line.pledged > 0 for line in self.stock)


@dataclass(frozen=True)
class WarehouseFloor:
    """A warehouse and its bays."""

    warehouse: Warehouse
    bays: tuple[BayTile, ...]

    @property
    def counts(self) -> dict[str, int]:
        """How many bays are in each state, for the legend."""
        out = {state.value: 0 for state in BayState}
        for bay in self.bays:
            out[bay.state.value] += 1
        return out

    @property
    def cameras(self) -> tuple[str, ...]:
        """Every camera that watches one of the bays, each once."""
        seen: dict[str, None] = {}
        for bay in self.bays:
            for camera in bay.cameras:
                seen.setdefault(camera, None)
        return tuple(seen)


def _state(monitoring: BayMonitoring, frozen: bool, stock: list[StockView]) -> BayState:
    if monitoring is BayMonitoring.TAMPERED:
        return BayState.TAMPERED
    if frozen:
        return BayState.FROZEN
    if monitoring is BayMonitoring.UNMONITORED:
        return BayState.UNMONITORED
    if any(line.pledged > 0 for line in stock):
        return BayState.PLEDGED
    if any(line.quantity > 0 for line in stock):
        return BayState.FREE
    return BayState.EMPTY


def _bay_tile(uow: SqlUnitOfWork, bay: Bay) -> BayTile:
    stock: dict[str, StockView] = {}
    for lot in uow.lots.find(bay_id=bay.id):
        pledged = sum(
            (
                r.quantity
                for r in uow.receipts.find(lot_id=lot.id)
                if r.status is ReceiptStatus.PLEDGED
            ),
            Decimal(0),
        )
        if lot.quantity <= 0 and pledged <= 0:
            continue
        line = stock.get(lot.commodity_code)
        stock[lot.commodity_code] = StockView(
            lot.commodity_code,
            lot.unit,
            (line.quantity if line else Decimal(0)) + lot.quantity,
            (line.pledged if line else Decimal(0)) + pledged,
        )
    lines = [stock[code] for code in sorted(stock)]
    monitoring = BayMonitoring(uow.monitoring.status(bay.id))
    freeze = freezes_of(uow).active(bay.id)
    return BayTile(
        id=bay.id,
        code=bay.code,
        name=bay.name,
        state=_state(monitoring, freeze is not None, lines),
        monitoring=monitoring,
        frozen=freeze is not None,
        freeze_reason=freeze.reason if freeze else "",
        stock=tuple(lines),
        cameras=tuple(sorted(bay.polygons)),
    )


def floor(uow: SqlUnitOfWork, actor: Actor) -> list[WarehouseFloor]:
    """Every warehouse the caller's organisation runs, with each bay's state."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    floors = []
    for warehouse in sorted(uow.warehouses.find(org_id=actor.org_id), key=lambda w: w.code):
        bays = sorted(uow.bays.find(warehouse_id=warehouse.id), key=lambda b: b.code)
        floors.append(WarehouseFloor(warehouse, tuple(_bay_tile(uow, b) for b in bays)))
    return floors


def own_bay(uow: SqlUnitOfWork, actor: Actor, bay_id: str) -> tuple[Warehouse, Bay]:
    """One of the caller's bays and its warehouse; anyone else's answers not found."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    bay = uow.bays.get(bay_id)
    if bay is None:
        raise NotFound("bay_not_found", f"no bay {bay_id}")
    warehouse = uow.warehouses.get(bay.warehouse_id)
    if warehouse is None or warehouse.org_id != actor.org_id:
        raise NotFound("bay_not_found", f"no bay {bay_id}")
    return warehouse, bay


@dataclass(frozen=True)
class LotRow:
    """A lot in a bay with its receipt: who deposited it and whether it is pledged."""

    lot_id: str
    commodity_code: str
    quantity: Decimal
    unit: str
    tags: int
    depositor: str
    receipt_number: str
    receipt_status: str
    received_at: datetime


def bay_lots(uow: SqlUnitOfWork, bay_id: str) -> list[LotRow]:
    """The lots still in a bay (newest first), with their receipts."""
    names = {org.id: org.name for org in uow.session.scalars(select(Org))}
    rows = []
    for lot in uow.lots.find(bay_id=bay_id):
        if lot.quantity <= 0:
            continue
        receipts = uow.receipts.find(lot_id=lot.id)
        receipt = receipts[-1] if receipts else None
        rows.append(
            LotRow(
                lot_id=lot.id,
                commodity_code=lot.commodity_code,
                quantity=lot.quantity,
                unit=lot.unit,
                tags=len(lot.epcs),
                depositor=names.get(lot.depositor_org_id, lot.depositor_org_id),
                receipt_number=receipt.number if receipt else "",
                receipt_status=receipt.status.value if receipt else "",
                received_at=lot.received_at,
            )
        )
    return sorted(rows, key=lambda row: row.received_at, reverse=True)


def bay_detail(
    uow: SqlUnitOfWork, actor: Actor, bay_id: str
) -> tuple[Warehouse, BayTile, list[LotRow]]:
    """One of the caller's bays at a glance, with its warehouse and its lots."""
    warehouse, bay = own_bay(uow, actor, bay_id)
    return warehouse, _bay_tile(uow, bay), bay_lots(uow, bay.id)


@dataclass(frozen=True)
class ReaderRow:
    """A tag reader: up or down, when it was last heard, and what it watches."""

    reader_id: str
    warehouse_code: str
    online: bool
    status: str
    last_seen_at: datetime | None
    placement: str
    bay_code: str | None


def readers(
    uow: SqlUnitOfWork, actor: Actor, now: datetime, warehouse_id: str | None = None
) -> list[ReaderRow]:
    """The caller's tag readers with their status, last heartbeat and placement."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    views = placement.list_readers(uow, actor, now, warehouse_id)
    codes = {}
    for view in views:
        if view.bay_id and view.bay_id not in codes:
            bay = uow.bays.get(view.bay_id)
            codes[view.bay_id] = bay.code if bay else view.bay_id
    return [
        ReaderRow(
            reader_id=v.reader_id,
            warehouse_code=v.warehouse_code,
            online=v.online,
            status=v.status,
            last_seen_at=v.last_seen_at,
            placement="unplaced" if v.kind is None else v.kind.value,
            bay_code=codes.get(v.bay_id) if v.bay_id else None,
        )
        for v in views
    ]


@dataclass(frozen=True)
class SourceCell:
    """One of the four counts and whether it agrees with the bay's reference count."""

    source: str
    count: Decimal | None
    status: str
    difference: Decimal | None


@dataclass(frozen=True)
class ReconRow:
    """Reconciliation of one commodity in one bay, as it stands now (nothing is recorded)."""

    bay_id: str
    bay_code: str
    commodity_code: str
    reference: Decimal | None
    tolerance: Tolerance
    allowed: Decimal
    cells: tuple[SourceCell, ...]
    mismatch: bool
    unmonitored: bool


@dataclass(frozen=True)
class ReconView:
    """A warehouse's bays counted four ways, with their freezes."""

    warehouse: Warehouse
    rows: tuple[ReconRow, ...]
    freezes: Mapping[str, BayFreeze] = field(default_factory=dict)
    bay_codes: Mapping[str, str] = field(default_factory=dict)

    @property
    def frozen_bays(self) -> list[str]:
        """Ids of the bays whose releases are stopped."""
        return [bay for bay, freeze in self.freezes.items() if freeze.active]


def reconciliation(
    uow: SqlUnitOfWork,
    actor: Actor,
    warehouse_id: str,
    sensors: Sensors,
    tolerances: Mapping[str, Tolerance],
) -> ReconView:
    """The four counts of every bay of one of the caller's warehouses, judged without saving."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    warehouse = own_warehouse(uow, actor, warehouse_id)
    bays = {b.id: b for b in uow.bays.find(warehouse_id=warehouse.id)}
    rows = []
    for counts in bay_counts(uow, warehouse.id, sensors):
        tolerance = tolerance_for(tolerances, counts.commodity_code)
        verdict = reconcile_bay(counts, tolerance)
        bay = bays.get(counts.bay_id)
        rows.append(
            ReconRow(
                bay_id=counts.bay_id,
                bay_code=bay.code if bay else counts.bay_id,
                commodity_code=counts.commodity_code,
                reference=verdict.reference,
                tolerance=tolerance,
                allowed=verdict.allowed,
                cells=tuple(
                    SourceCell(s.source.value, s.count, s.status.value, s.difference)
                    for s in verdict.sources
                ),
                mismatch=bool(verdict.mismatched),
                unmonitored=any(s.status is Status.UNMONITORED for s in verdict.sources),
            )
        )
    freezes = {}
    for bay_id in sorted(bays):
        latest = freezes_of(uow).latest(bay_id)
        if latest is not None:
            freezes[bay_id] = latest
    codes = {bay_id: bay.code for bay_id, bay in bays.items()}
    return ReconView(warehouse, tuple(rows), freezes, codes)


@dataclass(frozen=True)
class OrderRow:
    """A release order addressed to the caller's warehouse, with where its goods lie."""

    id: str
    status: str
    created_at: datetime
    executed_at: datetime | None
    receipt_number: str
    lot_id: str
    commodity_code: str
    quantity: Decimal
    unit: str
    epcs: tuple[str, ...]
    warehouse_code: str
    bay_id: str
    bay_code: str
    bay_frozen: bool
    reason: str

    @property
    def executable(self) -> bool:
        """Whether the warehouse may let the goods go now."""
        return self.status == OrderStatus.OPEN.value and not self.bay_frozen


def _order_row(uow: SqlUnitOfWork, order_id: str) -> OrderRow:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("release_order_not_found", f"no release order {order_id}")
    receipt = uow.receipts.get(order.receipt_id)
    lot = uow.lots.get(order.lot_id)
    bay = uow.bays.get(lot.bay_id) if lot else None
    warehouse = uow.warehouses.get(lot.warehouse_id) if lot else None
    frozen = bay is not None and freezes_of(uow).active(bay.id) is not None
    return OrderRow(
        id=order.id,
        status=order.status.value,
        created_at=order.created_at,
        executed_at=order.executed_at,
        receipt_number=receipt.number if receipt else order.receipt_id,
        lot_id=order.lot_id,
        commodity_code=receipt.commodity_code if receipt else (lot.commodity_code if lot else ""),
        quantity=order.quantity,
        unit=receipt.unit if receipt else (lot.unit if lot else ""),
        epcs=tuple(order.epcs),
        warehouse_code=warehouse.code if warehouse else "",
        bay_id=bay.id if bay else "",
        bay_code=bay.code if bay else "",
        bay_frozen=frozen,
        reason=order.reason,
    )


def release_orders(uow: SqlUnitOfWork, actor: Actor) -> list[OrderRow]:
    """Release orders addressed to the caller's warehouses: open ones first, newest first."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    orders = uow.orders.find(warehouse_org_id=actor.org_id)
    rank = {OrderStatus.OPEN: 0, OrderStatus.PENDING: 1}
    orders.sort(key=lambda o: o.created_at, reverse=True)
    orders.sort(key=lambda o: rank.get(o.status, 2))
    return [_order_row(uow, o.id) for o in orders]


def release_order(uow: SqlUnitOfWork, actor: Actor, order_id: str) -> OrderRow:
    """One release order addressed to the caller's warehouse; any other answers not found."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    order = uow.orders.get(order_id)
    if order is None or order.warehouse_org_id != actor.org_id:
        raise NotFound("release_order_not_found", f"no release order {order_id}")
    return _order_row(uow, order_id)
