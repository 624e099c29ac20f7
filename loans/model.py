"""Loan domain entities: products, prices, loans, repayments, accruals and margin calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class LoanStatus(StrEnum):
    """Life of a pledge loan; `approved` waits for the ledger to register the pledge."""

    APPLIED = "applied"
    REJECTED = "rejected"
    APPROVED = "approved"
    PLEDGED = "pledged"
    ACTIVE = "active"
    MARGIN_CALL = "margin_call"
    DEFAULTED = "defaulted"
    LIQUIDATED = "liquidated"
    CLOSED = "closed"


# States in which the loan holds a lien and its collateral is watched.
SECURED = frozenset({LoanStatus.PLEDGED, LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL})


@dataclass
class LoanProduct:
    """A bank's pledge-loan product: pricing, day count, haircuts and LTV thresholds."""

    id: str
    bank_org_id: str
    name: str
    currency: str
    annual_rate: Decimal
    day_count: str
    haircuts: dict[str, str]
    max_ltv: Decimal
    margin_call_ltv: Decimal
    liquidation_ltv: Decimal
    fee_rate: Decimal
    created_at: datetime

    def haircut(self, commodity_code: str) -> Decimal | None:
        """The haircut for a commodity, or None when the product does not lend against it."""
        value = self.haircuts.get(commodity_code)
        return None if value is None else Decimal(value)


@dataclass
class Price:
    """One price observation of a commodity per unit; history is kept, latest wins."""

    id: str
    commodity_code: str
    currency: str
    price: Decimal
    as_of: datetime
    source: str
    entered_by_org_id: str


@dataclass
class Loan:
    """A loan against one or more receipts; amounts are in the product's currency."""

    id: str
    bank_org_id: str
    sme_org_id: str
    product_id: str
    receipt_ids: list[str]
    currency: str
    amount_requested: Decimal
    status: LoanStatus
    created_at: datetime
    principal: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    # Accrued, unpaid interest at sub-cent precision; billed amounts round to the currency.
    interest: Decimal = Decimal(0)
    accrued_through: date | None = None
    collateral_value: Decimal = Decimal(0)
    ltv: Decimal | None = None
    reasons: list[str] = field(default_factory=list)
    salt: str = ""
    decided_at: datetime | None = None
    disbursed_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class Repayment:
    """A payment received and how it was allocated."""

    id: str
    loan_id: str
    amount: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal
    value_date: date
    received_at: datetime


@dataclass
class Accrual:
    """Interest accrued on a loan for one day."""

    loan_id: str
    day: date
    amount: Decimal
    principal: Decimal


@dataclass
class MarginCall:
    """Raised when LTV crosses the product's margin-call threshold after revaluation."""

    id: str
    loan_id: str
    ltv: Decimal | None
    collateral_value: Decimal
    outstanding: Decimal
    raised_at: datetime
    status: str = "open"
    cleared_at: datetime | None = None
