"""SQL adapter for the loan domain: tables and imperative mappings of the dataclasses."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table

from loans.model import Accrual, Loan, LoanProduct, LoanStatus, MarginCall, Price, Repayment
from services.db import Dec, UtcDateTime, mapper_registry, metadata, str_enum

loan_products = Table(
    "loan_products",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("bank_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("annual_rate", Dec, nullable=False),
    Column("day_count", String(10), nullable=False),
    Column("haircuts", JSON, nullable=False),
    Column("max_ltv", Dec, nullable=False),
    Column("margin_call_ltv", Dec, nullable=False),
    Column("liquidation_ltv", Dec, nullable=False),
    Column("fee_rate", Dec, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("commodity_code", String(40), ForeignKey("commodities.code"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price", Dec, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("source", String(40), nullable=False),
    Column("entered_by_org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Index("ix_prices_commodity_as_of", "commodity_code", "currency", "as_of"),
)

loans = Table(
    "loans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("bank_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("sme_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("product_id", String(36), ForeignKey("loan_products.id"), nullable=False),
    Column("receipt_ids", JSON, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_requested", Dec, nullable=False),
    Column("status", str_enum(LoanStatus), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("principal", Dec, nullable=False),
    Column("fees", Dec, nullable=False),
    Column("interest", Dec, nullable=False),
    Column("accrued_through", Date, nullable=True),
    Column("collateral_value", Dec, nullable=False),
    Column("ltv", Dec, nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("salt", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("disbursed_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    # Optimistic locking: a concurrent update of the same row fails instead of being lost.
    Column("version", Integer, nullable=False, server_default="1"),
)

repayments = Table(
    "repayments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("loan_id", String(36), ForeignKey("loans.id"), nullable=False, index=True),
    Column("amount", Dec, nullable=False),
    Column("fees", Dec, nullable=False),
    Column("interest", Dec, nullable=False),
    Column("principal", Dec, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

accruals = Table(
    "accruals",
    metadata,
    Column("loan_id", String(36), ForeignKey("loans.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("amount", Dec, nullable=False),
    Column("principal", Dec, nullable=False),
)

margin_calls = Table(
    "margin_calls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("loan_id", String(36), ForeignKey("loans.id"), nullable=False, index=True),
    Column("ltv", Dec, nullable=True),
    Column("collateral_value", Dec, nullable=False),
    Column("outstanding", Dec, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("status", String(12), nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
)

_MAPPED = (
    (LoanProduct, loan_products),
    (Price, prices),
    (Loan, loans),
    (Repayment, repayments),
    (Accrual, accruals),
    (MarginCall, margin_calls),
)


def map_loans() -> None:
    """Map the loan dataclasses onto their tables (once per process)."""
    for cls, table in _MAPPED:
        if not hasattr(cls, "__mapper__"):
            versioned = {"version_id_col": table.c.version} if "version" in table.c else {}
            mapper_registry.map_imperatively(cls, table, **versioned)
