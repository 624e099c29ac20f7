"""Collateral domain: warehouses, bays, commodities, lots, receipts, release orders, movements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from pledge.errors import Conflict, Invalid


class ReceiptStatus(StrEnum):
    """Life of an electronic warehouse receipt; `pending` waits for the ledger."""

    PENDING = "pending"
    ISSUED = "issued"
    PLEDGED = "pledged"
    RELEASED = "released"
    LIQUIDATED = "liquidated"
    REJECTED = "rejected"


class OrderStatus(StrEnum):
    """Life of a release order; `pending` waits for the ledger."""

    PENDING = "pending"
    OPEN = "open"
    EXECUTED = "executed"
    REJECTED = "rejected"


class MovementKind(StrEnum):
    """EPCIS business steps for book movements."""

    RECEIVING = "receiving"
    SHIPPING = "shipping"


@dataclass
class Warehouse:
    """A site run by a warehouse operator."""

    id: str
    org_id: str
    code: str
    name: str
    address: str
    created_at: datetime


@dataclass
class Bay:
    """A storage area; polygons map a camera id to the bay's outline in that camera's view."""

    id: str
    warehouse_id: str
    code: str
    name: str
    polygons: dict[str, list[list[float]]]
    created_at: datetime


@dataclass
class Commodity:
    """A kind of goods, its unit and the smallest quantity step it is counted in."""

    code: str
    name: str
    unit: str
    step: Decimal


@dataclass
class Lot:
    """Goods received into a bay for a depositor; EPCs identify tagged units."""

    id: str
    warehouse_id: str
    bay_id: str
    commodity_code: str
    quantity: Decimal
    unit: str
    epcs: list[str]
    depositor_org_id: str
    received_at: datetime
    received_quantity: Decimal = Decimal(0)


@dataclass
class Receipt:
    """An electronic warehouse receipt: title to a lot, and what a lien attaches to."""

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
    status: ReceiptStatus
    issued_at: datetime
    loan_id: str | None = None
    reason: str = ""


@dataclass
class ReleaseOrder:
    """A bank's instruction to the warehouse to let some pledged goods go."""

    id: str
    loan_id: str
    bank_org_id: str
    receipt_id: str
    lot_id: str
    warehouse_org_id: str
    depositor_org_id: str
    quantity: Decimal
    epcs: list[str]
    lien_keys: list[str]
    status: OrderStatus
    created_at: datetime
    executed_at: datetime | None = None
    reason: str = ""


@dataclass
class Movement:
    """A book movement of a lot: goods in or out, with the order that allowed it."""

    id: str
    lot_id: str
    warehouse_id: str
    bay_id: str
    kind: MovementKind
    quantity: Decimal
    epcs: list[str]
    at: datetime
    release_order_id: str | None = None


@dataclass(frozen=True)
class StockLine:
    """Book stock of one commodity in one bay."""

    warehouse_id: str
    bay_id: str
    commodity_code: str
    unit: str
    quantity: Decimal
    lots: int


_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# 96-bit EPCs as 24 hex digits, or EPC pure-identity URNs.
_EPC = re.compile(r"^([0-9A-Fa-f]{24}|urn:epc:id:[a-z0-9]+:[A-Za-z0-9.*%-]+)$")
UNITS = frozenset({"t", "kg", "bbl", "m3", "pcs"})


def validate_code(value: str, what: str) -> str:
    """Check a short identifier (warehouse, bay, commodity codes)."""
    if not _CODE.match(value):
        raise Invalid(
            "invalid_code", f"{what} must be 1-40 letters, digits, '.', '_' or '-': {value!r}"
        )
    return value


def validate_unit(unit: str) -> str:
    """Check a unit of measure against the ones we count in."""
    if unit not in UNITS:
        raise Invalid("unknown_unit", f"unit must be one of {sorted(UNITS)}, not {unit!r}")
    return unit


def parse_quantity(value: Decimal | int | str, step: Decimal) -> Decimal:
    """Parse a positive quantity that is a whole multiple of the commodity's step."""
    if isinstance(value, float):
        raise Invalid("invalid_quantity", "quantities must be given as decimal strings")
    try:
        qty = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise Invalid("invalid_quantity", f"not a number: {value!r}") from exc
    if not qty.is_finite() or qty <= 0:
        raise Invalid("invalid_quantity", f"quantity must be positive, got {value}")
    if qty % step != 0:
        raise Invalid("invalid_quantity", f"quantity must be a multiple of {step}, got {value}")
    return qty


def validate_epcs(epcs: list[str], quantity: Decimal, unit: str) -> list[str]:
    """Check EPC formats and uniqueness; counted units need one tag per unit."""
    bad = [e for e in epcs if not _EPC.match(e)]
    if bad:
        raise Invalid("invalid_epc", f"not an EPC (24 hex digits or urn:epc:id:...): {bad[0]!r}")
    if len(set(epcs)) != len(epcs):
        raise Invalid("duplicate_epc", "each tag EPC may appear only once in a lot")
    if unit == "pcs" and epcs and Decimal(len(epcs)) != quantity:
        raise Invalid(
            "epc_count_mismatch", f"{quantity} pieces need {quantity} EPCs, got {len(epcs)}"
        )
    return epcs


def validate_polygon(points: list[list[float]]) -> list[list[float]]:
    """Check a bay outline: at least three [x, y] points in normalised 0..1 image coordinates."""
    if len(points) < 3:
        raise Invalid("invalid_polygon", "a bay polygon needs at least three points")
    for point in points:
        if len(point) != 2 or not all(0.0 <= c <= 1.0 for c in point):
            raise Invalid("invalid_polygon", f"points are [x, y] between 0 and 1, got {point}")
    return points


def plan_release(lot: Lot, quantity: Decimal, epcs: list[str]) -> list[str]:
    """Decide which tagged units leave with a release of `quantity`; refuse what the lot lacks."""
    if quantity > lot.quantity:
        raise Conflict(
            "insufficient_stock", f"lot holds {lot.quantity} {lot.unit}, cannot release {quantity}"
        )
    unknown = sorted(set(epcs) - set(lot.epcs))
    if unknown:
        raise Invalid("unknown_epc", f"EPC {unknown[0]} is not in this lot")
    if lot.unit == "pcs" and lot.epcs:
        if epcs and Decimal(len(epcs)) != quantity:
            raise Invalid("epc_count_mismatch", "name one EPC per piece released")
        # Without explicit tags, release the oldest-tagged units first.
        return epcs or lot.epcs[: int(quantity)]
    if quantity == lot.quantity:
        return list(lot.epcs)
    return epcs


def check_release_matches(order: ReleaseOrder, quantity: Decimal, epcs: list[str]) -> None:
    """Refuse a release that the order does not cover."""
    if order.status is not OrderStatus.OPEN:
        raise Conflict("order_not_open", f"release order is {order.status.value}, not open")
    if quantity != order.quantity:
        raise Conflict(
            "release_mismatch", f"the order releases {order.quantity}, the movement says {quantity}"
        )
    if order.epcs and sorted(epcs or order.epcs) != sorted(order.epcs):
        raise Conflict("release_mismatch", "the tags leaving differ from the release order")
