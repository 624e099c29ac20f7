"""SQL adapter for the collateral domain: tables and imperative mappings of the dataclasses."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

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
)
from services.db import Dec, UtcDateTime, mapper_registry, metadata, str_enum

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

bays = Table(
    "bays",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=False, index=True),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("polygons", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("uq_bays_warehouse_code", "warehouse_id", "code", unique=True),
)

commodities = Table(
    "commodities",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("step", Dec, nullable=False),
)

lots = Table(
    "lots",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=False, index=True),
    Column("bay_id", String(36), ForeignKey("bays.id"), nullable=False, index=True),
    Column("commodity_code", String(40), ForeignKey("commodities.code"), nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("received_quantity", Dec, nullable=False),
    Column("unit", String(8), nullable=False),
    Column("epcs", JSON, nullable=False),
    Column("depositor_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    # Optimistic locking: a concurrent update of the same row fails instead of being lost.
    Column("version", Integer, nullable=False, server_default="1"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("lot_id", String(36), ForeignKey("lots.id"), nullable=False, index=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=False),
    Column("warehouse_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("depositor_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("commodity_code", String(40), ForeignKey("commodities.code"), nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("unit", String(8), nullable=False),
    Column("lien_keys", JSON, nullable=False),
    Column("status", str_enum(ReceiptStatus), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("loan_id", String(36), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    # Optimistic locking: a concurrent update of the same row fails instead of being lost.
    Column("version", Integer, nullable=False, server_default="1"),
)

release_orders = Table(
    "release_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("loan_id", String(36), nullable=False, index=True),
    Column("bank_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("receipt_id", String(36), ForeignKey("receipts.id"), nullable=False),
    Column("lot_id", String(36), ForeignKey("lots.id"), nullable=False),
    Column("warehouse_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("depositor_org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("epcs", JSON, nullable=False),
    Column("lien_keys", JSON, nullable=False),
    Column("status", str_enum(OrderStatus), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("executed_at", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=False, default=""),
    # Optimistic locking: a concurrent update of the same row fails instead of being lost.
    Column("version", Integer, nullable=False, server_default="1"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("lot_id", String(36), ForeignKey("lots.id"), nullable=False, index=True),
    Column("warehouse_id", String(36), ForeignKey("warehouses.id"), nullable=False),
    Column("bay_id", String(36), ForeignKey("bays.id"), nullable=False),
    Column("kind", str_enum(MovementKind), nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("epcs", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("release_order_id", String(36), ForeignKey("release_orders.id"), nullable=True),
)

_MAPPED = (
    (Warehouse, warehouses),
    (Bay, bays),
    (Commodity, commodities),
    (Lot, lots),
    (Receipt, receipts),
    (ReleaseOrder, release_orders),
    (Movement, movements),
)


def map_pledge() -> None:
    """Map the collateral dataclasses onto their tables (once per process)."""
    for cls, table in _MAPPED:
        if not hasattr(cls, "__mapper__"):
            versioned = {"version_id_col": table.c.version} if "version" in table.c else {}
            mapper_registry.map_imperatively(cls, table, **versioned)
