"""HTTP routes of the collateral domain; another organisation's objects answer 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from pledge import service
from pledge.parties import Actor, OrgKind
from pledge.schemas import (
    BayIn,
    BayOut,
    CommodityIn,
    CommodityOut,
    LotIn,
    LotOut,
    MovementOut,
    ReceivedOut,
    ReleasedOut,
    ReleaseIn,
    ReleaseOrderOut,
    StockLineOut,
    WarehouseIn,
    WarehouseOut,
)
from services.api.runner import act, commands_out, idempotent, perform, read
from services.api.schemas import Page, paginate
from services.api.security import get_person
from services.uow import SqlUnitOfWork

router = APIRouter(tags=["collateral"])
ActorDep = Annotated[Actor, Depends(get_person)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("/warehouses", status_code=201, response_model=WarehouseOut)
def create_warehouse(body: WarehouseIn, actor: ActorDep, request: Request) -> Any:
    """Register a warehouse your organisation runs."""
    warehouse, _ = perform(
        request, service.create_warehouse, actor, body.code, body.name, body.address
    )
    return warehouse


@router.get("/warehouses", response_model=Page[WarehouseOut])
def list_warehouses(
    actor: ActorDep, request: Request, limit: Limit = 50, offset: Offset = 0
) -> Any:
    """Your organisation's warehouses."""
    items = read(request, lambda uow: uow.warehouses.find(org_id=actor.org_id))
    return paginate(items, limit, offset)


@router.get("/warehouses/{warehouse_id}", response_model=WarehouseOut)
def get_warehouse(warehouse_id: str, actor: ActorDep, request: Request) -> Any:
    """One of your warehouses."""
    return read(request, service.own_warehouse, actor, warehouse_id)


@router.post("/warehouses/{warehouse_id}/bays", status_code=201, response_model=BayOut)
def add_bay(warehouse_id: str, body: BayIn, actor: ActorDep, request: Request) -> Any:
    """Add a bay, with its outline in each camera's view."""
    bay, _ = perform(
        request, service.add_bay, actor, warehouse_id, body.code, body.name, body.polygons
    )
    return bay


@router.get("/warehouses/{warehouse_id}/bays", response_model=Page[BayOut])
def list_bays(
    warehouse_id: str, actor: ActorDep, request: Request, limit: Limit = 50, offset: Offset = 0
) -> Any:
    """The bays of one of your warehouses."""

    def query(uow: SqlUnitOfWork) -> Any:
        service.own_warehouse(uow, actor, warehouse_id)
        return uow.bays.find(warehouse_id=warehouse_id)

    return paginate(read(request, query), limit, offset)


@router.get("/warehouses/{warehouse_id}/stock", response_model=list[StockLineOut])
def stock(warehouse_id: str, actor: ActorDep, request: Request) -> Any:
    """Book stock per bay and commodity."""
    return read(request, service.book_stock, actor, warehouse_id)


@router.post("/commodities", status_code=201, response_model=CommodityOut)
def define_commodity(body: CommodityIn, actor: ActorDep, request: Request) -> Any:
    """Add a commodity to the shared catalogue."""
    commodity, _ = act(
        request, service.define_commodity, actor, body.code, body.name, body.unit, body.step
    )
    return commodity


@router.get("/commodities", response_model=list[CommodityOut])
def list_commodities(actor: ActorDep, request: Request) -> Any:
    """The shared commodity catalogue (reference data every member reads)."""
    return read(request, lambda uow: uow.commodities.find())


@router.post("/lots", status_code=202, response_model=ReceivedOut)
def receive_lot(
    body: LotIn, actor: ActorDep, request: Request, idempotency_key: IdemKey = None
) -> Any:
    """Book goods in and issue their warehouse receipt on the ledger (Idempotency-Key advised)."""

    def produce() -> tuple[int, Any]:
        receipt, commands = perform(
            request,
            service.receive_lot,
            actor,
            body.bay_id,
            body.commodity_code,
            body.quantity,
            body.epcs,
            body.depositor_org_id,
        )

        def fresh(uow: SqlUnitOfWork) -> Any:
            return {"lot": uow.lots.get(receipt.lot_id), "receipt": uow.receipts.get(receipt.id)}

        out = ReceivedOut.model_validate(
            {**read(request, fresh), "commands": commands_out(request, commands)}
        )
        return 202, out.model_dump(mode="json")

    # A retried booking without a key would issue a second receipt for the same goods (tagged
    # goods are refused as already in stock; untagged ones are not): a key makes retries safe.
    if idempotency_key is None:
        return produce()[1]
    return idempotent(request, actor, idempotency_key, body.model_dump(), produce)


def _visible_lots(uow: SqlUnitOfWork, actor: Actor) -> list[Any]:
    if actor.org_kind is OrgKind.WAREHOUSE:
        mine = {w.id for w in uow.warehouses.find(org_id=actor.org_id)}
        return [lot for wid in sorted(mine) for lot in uow.lots.find(warehouse_id=wid)]
    return uow.lots.find(depositor_org_id=actor.org_id)


@router.get("/lots", response_model=Page[LotOut])
def list_lots(actor: ActorDep, request: Request, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Lots in your warehouses, or deposited by your organisation."""
    return paginate(read(request, _visible_lots, actor), limit, offset)


@router.get("/lots/{lot_id}", response_model=LotOut)
def get_lot(lot_id: str, actor: ActorDep, request: Request) -> Any:
    """One lot you hold or deposited."""
    return read(request, service.visible_lot, actor, lot_id)


@router.post("/lots/{lot_id}/releases", status_code=202, response_model=ReleasedOut)
def release(
    lot_id: str, body: ReleaseIn, actor: ActorDep, request: Request, idempotency_key: IdemKey = None
) -> Any:
    """Let goods leave; pledged goods need the bank's release order (Idempotency-Key required)."""

    def produce() -> tuple[int, Any]:
        movement, commands = perform(
            request,
            service.release_goods,
            actor,
            lot_id,
            body.quantity,
            body.epcs,
            body.release_order_id,
        )
        out = ReleasedOut(
            movement=MovementOut.model_validate(movement), commands=commands_out(request, commands)
        )
        return 202, out.model_dump(mode="json")

    return idempotent(request, actor, idempotency_key, body.model_dump(), produce)


@router.get("/release-orders", response_model=Page[ReleaseOrderOut])
def list_orders(actor: ActorDep, request: Request, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Release orders your organisation is party to."""
    field = {
        OrgKind.BANK: "bank_org_id",
        OrgKind.WAREHOUSE: "warehouse_org_id",
        OrgKind.SME: "depositor_org_id",
    }.get(actor.org_kind)
    items = (
        [] if field is None else read(request, lambda uow: uow.orders.find(**{field: actor.org_id}))
    )
    return paginate(items, limit, offset)


@router.get("/release-orders/{order_id}", response_model=ReleaseOrderOut)
def get_order(order_id: str, actor: ActorDep, request: Request) -> Any:
    """One release order you are party to."""
    return read(request, service.visible_order, actor, order_id)
