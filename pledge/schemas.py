"""Request and response bodies of the collateral API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from services.api.schemas import CommandOut, DecimalStr, Input, Output

Epc = str


class WarehouseIn(Input):
    """A new warehouse."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field("", max_length=500)


class WarehouseOut(Output):
    """A warehouse."""

    id: str
    code: str
    name: str
    address: str
    created_at: datetime


class BayIn(Input):
    """A new bay; polygons map a camera id to [x, y] points in 0..1 image coordinates."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field("", max_length=200)
    polygons: dict[str, list[list[float]]] = Field(default_factory=dict, max_length=32)


class BayOut(Output):
    """A bay."""

    id: str
    warehouse_id: str
    code: str
    name: str
    polygons: dict[str, list[list[float]]]


class CommodityIn(Input):
    """A new catalogue commodity; step is the smallest quantity counted (1 for pieces)."""

    code: str = Field(min_length=1, max_length=40)
    name: str = Field("", max_length=200)
    unit: str = Field(max_length=8)
    step: DecimalStr = "1"


class CommodityOut(Output):
    """A catalogue commodity."""

    code: str
    name: str
    unit: str
    step: Decimal


class LotIn(Input):
    """Goods arriving into a bay for a depositor (an SME organisation)."""

    bay_id: str
    commodity_code: str
    quantity: DecimalStr
    epcs: list[Epc] = Field(default_factory=list, max_length=10000)
    depositor_org_id: str


class LotOut(Output):
    """A lot in stock."""

    id: str
    warehouse_id: str
    bay_id: str
    commodity_code: str
    quantity: Decimal
    received_quantity: Decimal
    unit: str
    epcs: list[str]
    depositor_org_id: str
    received_at: datetime


class ReceiptOut(Output):
    """An electronic warehouse receipt."""

    id: str
    number: str
    lot_id: str
    warehouse_id: str
    warehouse_org_id: str
    depositor_org_id: str
    commodity_code: str
    quantity: Decimal
    unit: str
    lien_keys: list[str]
    status: str
    issued_at: datetime
    loan_id: str | None
    reason: str


class ReceivedOut(Output):
    """The answer to receiving goods: the lot, its receipt and the ledger command to follow."""

    lot: LotOut
    receipt: ReceiptOut
    commands: list[CommandOut]


class ReleaseIn(Input):
    """Goods leaving a lot; pledged goods need the release order that covers them."""

    quantity: DecimalStr
    epcs: list[Epc] = Field(default_factory=list, max_length=10000)
    release_order_id: str | None = None


class MovementOut(Output):
    """A book movement."""

    id: str
    lot_id: str
    bay_id: str
    kind: str
    quantity: Decimal
    epcs: list[str]
    at: datetime
    release_order_id: str | None


class ReleasedOut(Output):
    """The answer to a release: the movement and the ledger commands it queued."""

    movement: MovementOut
    commands: list[CommandOut]


class ReleaseOrderOut(Output):
    """A release order."""

    id: str
    loan_id: str
    bank_org_id: str
    receipt_id: str
    lot_id: str
    warehouse_org_id: str
    quantity: Decimal
    epcs: list[str]
    status: str
    created_at: datetime
    executed_at: datetime | None
    reason: str


class StockLineOut(Output):
    """Book stock of one commodity in one bay."""

    bay_id: str
    commodity_code: str
    unit: str
    quantity: Decimal
    lots: int
