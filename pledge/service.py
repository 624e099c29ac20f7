"""Collateral use cases: warehouses, bays, receiving goods, receipts and releases."""

from __future__ import annotations

import uuid
from decimal import Decimal

from pledge.epcis_service import record_movement
from pledge.errors import Conflict, Invalid, NotFound
from pledge.lienkeys import commitment, lien_keys
from pledge.model import (
    Bay,
    Commodity,
    Lot,
    Movement,
    MovementKind,
    OrderStatus,
    Receipt,
    ReceiptStatus,
    ReleaseOrder,
    Warehouse,
    check_release_matches,
    parse_quantity,
    plan_release,
    validate_code,
    validate_epcs,
    validate_polygon,
    validate_unit,
)
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context, PledgeUnitOfWork
from pledge.reconcile_service import check_not_frozen


def new_id() -> str:
    """A fresh opaque identifier."""
    return uuid.uuid4().hex


def own_warehouse(uow: PledgeUnitOfWork, actor: Actor, warehouse_id: str) -> Warehouse:
    """The actor's own warehouse; anyone else's answers not found."""
    warehouse = uow.warehouses.get(warehouse_id)
    if warehouse is None or warehouse.org_id != actor.org_id:
        raise NotFound("warehouse_not_found", f"no warehouse {warehouse_id}")
    return warehouse


def create_warehouse(
    uow: PledgeUnitOfWork, actor: Actor, ctx: Context, code: str, name: str, address: str
) -> Warehouse:
    """Register a warehouse run by the actor's organisation."""
    actor.require(OrgKind.WAREHOUSE)
    validate_code(code, "warehouse code")
    if uow.warehouses.find(code=code):
        raise Conflict("warehouse_exists", f"a warehouse with code {code} exists")
    if not name.strip():
        raise Invalid("invalid_name", "the warehouse needs a name")
    warehouse = Warehouse(new_id(), actor.org_id, code, name.strip(), address, ctx.now)
    uow.warehouses.add(warehouse)
    uow.commit()
    return warehouse


def add_bay(
    uow: PledgeUnitOfWork,
    actor: Actor,
    ctx: Context,
    warehouse_id: str,
    code: str,
    name: str,
    polygons: dict[str, list[list[float]]],
) -> Bay:
    """Add a bay to one of the actor's warehouses, with its outline per camera."""
    actor.require(OrgKind.WAREHOUSE)
    own_warehouse(uow, actor, warehouse_id)
    validate_code(code, "bay code")
    for points in polygons.values():
        validate_polygon(points)
    if uow.bays.find(warehouse_id=warehouse_id, code=code):
        raise Conflict("bay_exists", f"bay {code} exists in this warehouse")
    bay = Bay(new_id(), warehouse_id, code, name or code, polygons, ctx.now)
    uow.bays.add(bay)
    uow.commit()
    return bay


def define_commodity(
    uow: PledgeUnitOfWork, actor: Actor, code: str, name: str, unit: str, step: str
) -> Commodity:
    """Add a commodity to the shared catalogue (warehouses and banks may)."""
    actor.require_any((OrgKind.WAREHOUSE, OrgKind.BANK))
    validate_code(code, "commodity code")
    validate_unit(unit)
    step_value = parse_quantity(step, Decimal("0.000001"))
    if uow.commodities.get(code) is not None:
        raise Conflict("commodity_exists", f"commodity {code} exists")
    commodity = Commodity(code, name or code, unit, step_value)
    uow.commodities.add(commodity)
    uow.commit()
    return commodity


def get_commodity(uow: PledgeUnitOfWork, code: str) -> Commodity:
    """A catalogue commodity or a clear not-found."""
    commodity = uow.commodities.get(code)
    if commodity is None:
        raise NotFound("commodity_not_found", f"unknown commodity {code}")
    return commodity


def receive_lot(
    uow: PledgeUnitOfWork,
    actor: Actor,
    ctx: Context,
    bay_id: str,
    commodity_code: str,
    quantity: str,
    epcs: list[str],
    depositor_org_id: str,
) -> Receipt:
    """Book goods into a bay for a depositor and issue its receipt on the ledger."""
    actor.require(OrgKind.WAREHOUSE)
    bay = uow.bays.get(bay_id)
    if bay is None:
        raise NotFound("bay_not_found", f"no bay {bay_id}")
    warehouse = own_warehouse(uow, actor, bay.warehouse_id)
    commodity = get_commodity(uow, commodity_code)
    qty = parse_quantity(quantity, commodity.step)
    validate_epcs(epcs, qty, commodity.unit)
    if uow.orgs.kind_of(depositor_org_id) is not OrgKind.SME:
        raise NotFound("depositor_not_found", f"no SME organisation {depositor_org_id}")
    taken = [e for e in epcs if _epc_in_stock(uow, warehouse.id, e)]
    if taken:
        raise Conflict("epc_in_stock", f"tag {taken[0]} is already on a lot in this warehouse")
    lot = Lot(
        new_id(),
        warehouse.id,
        bay.id,
        commodity.code,
        qty,
        commodity.unit,
        list(epcs),
        depositor_org_id,
        ctx.now,
        qty,
    )
    uow.lots.add(lot)
    intake = Movement(
        new_id(), lot.id, warehouse.id, bay.id, MovementKind.RECEIVING, qty, list(epcs), ctx.now
    )
    uow.movements.add(intake)
    record_movement(uow, intake, commodity.code)
    number = f"{warehouse.code}-{ctx.now:%Y%m%d}-{lot.id[:8].upper()}"
    keys = lien_keys(ctx.lien_secret, warehouse.id, lot.id, epcs)
    receipt = Receipt(
        new_id(),
        number,
        lot.id,
        warehouse.id,
        actor.org_id,
        depositor_org_id,
        commodity.code,
        qty,
        commodity.unit,
        keys,
        ReceiptStatus.PENDING,
        ctx.now,
    )
    uow.receipts.add(receipt)
    terms = {
        "number": number,
        "commodity": commodity.code,
        "quantity": str(qty),
        "unit": commodity.unit,
        "depositor": depositor_org_id,
    }
    uow.ledger.enqueue(
        org_id=actor.org_id,
        kind="issue_receipt",
        subject_type="receipt",
        subject_id=receipt.id,
        fn="issue_receipt",
        args={
            "receipt_id": receipt.id,
            "warehouse_id": warehouse.id,
            "lien_keys": keys,
            "commitment": commitment(ctx.commit_secret, receipt.id, terms),
        },
        submitter_msp=actor.msp_id,
    )
    uow.commit()
    return receipt


def _epc_in_stock(uow: PledgeUnitOfWork, warehouse_id: str, epc: str) -> bool:
    # A tag can sit on one lot at a time; a second intake of it is a duplicate receipt attempt.
    return any(epc in lot.epcs for lot in uow.lots.find(warehouse_id=warehouse_id))


def visible_receipt(uow: PledgeUnitOfWork, actor: Actor, receipt_id: str) -> Receipt:
    """A receipt the actor's organisation issued or deposited; others answer not found."""
    receipt = uow.receipts.get(receipt_id)
    if receipt is None or actor.org_id not in (receipt.warehouse_org_id, receipt.depositor_org_id):
        raise NotFound("receipt_not_found", f"no receipt {receipt_id}")
    return receipt


def visible_lot(uow: PledgeUnitOfWork, actor: Actor, lot_id: str) -> Lot:
    """A lot in the actor's warehouse or deposited by the actor."""
    lot = uow.lots.get(lot_id)
    if lot is None:
        raise NotFound("lot_not_found", f"no lot {lot_id}")
    warehouse = uow.warehouses.get(lot.warehouse_id)
    owners = {lot.depositor_org_id, warehouse.org_id if warehouse else ""}
    if actor.org_id not in owners:
        raise NotFound("lot_not_found", f"no lot {lot_id}")
    return lot


def visible_order(uow: PledgeUnitOfWork, actor: Actor, order_id: str) -> ReleaseOrder:
    """A release order the actor's organisation is party to."""
    order = uow.orders.get(order_id)
    parties = (
        set()
        if order is None
        else {order.bank_org_id, order.warehouse_org_id, order.depositor_org_id}
    )
    if order is None or actor.org_id not in parties:
        raise NotFound("release_order_not_found", f"no release order {order_id}")
    return order


def release_goods(
    uow: PledgeUnitOfWork,
    actor: Actor,
    ctx: Context,
    lot_id: str,
    quantity: str,
    epcs: list[str],
    order_id: str | None,
) -> Movement:
    """Let goods leave a lot; pledged goods leave only against an open release order."""
    actor.require(OrgKind.WAREHOUSE)
    lot = visible_lot(uow, actor, lot_id)
    own_warehouse(uow, actor, lot.warehouse_id)
    check_not_frozen(uow, lot.bay_id)
    commodity = get_commodity(uow, lot.commodity_code)
    qty = parse_quantity(quantity, commodity.step)
    receipt = _live_receipt(uow, lot)
    order: ReleaseOrder | None = None
    if order_id is not None:
        order = visible_order(uow, actor, order_id)
        if order.lot_id != lot.id:
            raise Conflict("release_mismatch", "the release order is for another lot")
        check_release_matches(order, qty, epcs)
        leaving = list(order.epcs) or plan_release(lot, qty, epcs)
    else:
        if receipt is not None and receipt.status is not ReceiptStatus.ISSUED:
            raise Conflict(
                "release_order_required",
                f"goods under receipt {receipt.number} are {receipt.status.value}; "
                "they leave only against the lien-holding bank's release order",
            )
        leaving = plan_release(lot, qty, epcs)
    lot.quantity -= qty
    lot.epcs = [e for e in lot.epcs if e not in set(leaving)]
    movement = Movement(
        new_id(),
        lot.id,
        lot.warehouse_id,
        lot.bay_id,
        MovementKind.SHIPPING,
        qty,
        leaving,
        ctx.now,
        order.id if order else None,
    )
    uow.movements.add(movement)
    record_movement(uow, movement, lot.commodity_code)
    closed = lot.quantity == 0
    if receipt is not None:
        receipt.quantity = lot.quantity
        if closed:
            receipt.status = ReceiptStatus.RELEASED
    if order is not None:
        order.status = OrderStatus.EXECUTED
        order.executed_at = ctx.now
        uow.ledger.enqueue(
            org_id=actor.org_id,
            kind="confirm_release",
            subject_type="release_order",
            subject_id=order.id,
            fn="confirm_release",
            args={"order_id": order.id, "receipt_closed": closed},
            submitter_msp=actor.msp_id,
            endorsers=[uow.orgs.msp_of(order.bank_org_id)],
        )
    elif receipt is not None and closed:
        uow.ledger.enqueue(
            org_id=actor.org_id,
            kind="retire_receipt",
            subject_type="receipt",
            subject_id=receipt.id,
            fn="retire_receipt",
            args={"receipt_id": receipt.id},
            submitter_msp=actor.msp_id,
        )
    uow.commit()
    return movement


def _live_receipt(uow: PledgeUnitOfWork, lot: Lot) -> Receipt | None:
    live = [
        r
        for r in uow.receipts.find(lot_id=lot.id)
        if r.status not in (ReceiptStatus.REJECTED, ReceiptStatus.RELEASED)
    ]
    return live[0] if live else None


def on_receipt_confirmed(receipt: Receipt) -> None:
    """The ledger issued the receipt."""
    if receipt.status is ReceiptStatus.PENDING:
        receipt.status = ReceiptStatus.ISSUED


def on_receipt_rejected(receipt: Receipt, reason: str) -> None:
    """The ledger refused the receipt (for instance, its goods already carry a receipt)."""
    receipt.status = ReceiptStatus.REJECTED
    receipt.reason = reason


def on_order_confirmed(order: ReleaseOrder) -> None:
    """The ledger recorded the release order: the warehouse may now execute it."""
    if order.status is OrderStatus.PENDING:
        order.status = OrderStatus.OPEN


def on_order_rejected(order: ReleaseOrder, reason: str) -> None:
    """The ledger refused the release order."""
    order.status = OrderStatus.REJECTED
    order.reason = reason


def book_stock(uow: PledgeUnitOfWork, actor: Actor, warehouse_id: str) -> list[dict[str, object]]:
    """Book stock per bay and commodity in one of the actor's warehouses."""
    actor.require(OrgKind.WAREHOUSE, Role.VIEWER)
    own_warehouse(uow, actor, warehouse_id)
    totals: dict[tuple[str, str], dict[str, object]] = {}
    for lot in uow.lots.find(warehouse_id=warehouse_id):
        if lot.quantity == 0:
            continue
        line = totals.setdefault(
            (lot.bay_id, lot.commodity_code),
            {
                "bay_id": lot.bay_id,
                "commodity_code": lot.commodity_code,
                "unit": lot.unit,
                "quantity": Decimal(0),
                "lots": 0,
            },
        )
        line["quantity"] = Decimal(str(line["quantity"])) + lot.quantity
        line["lots"] = int(str(line["lots"])) + 1
    return sorted(totals.values(), key=lambda v: (str(v["bay_id"]), str(v["commodity_code"])))
