"""Request and response bodies of the loan API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from pledge.schemas import ReleaseOrderOut
from services.api.schemas import CommandOut, DecimalStr, Input, Output


class ProductIn(Input):
    """A new pledge-loan product. Rates and LTVs are fractions: 0.085 is 8.5 %."""

    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(min_length=3, max_length=3)
    annual_rate: DecimalStr
    day_count: str = Field(
        "ACT/360", max_length=10, description="ACT/360 (A004) or ACT/365F (A005)"
    )
    haircuts: dict[str, DecimalStr] = Field(max_length=100)
    max_ltv: DecimalStr
    margin_call_ltv: DecimalStr
    liquidation_ltv: DecimalStr
    fee_rate: DecimalStr = "0"


class ProductOut(Output):
    """A pledge-loan product."""

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


class PriceIn(Input):
    """A price per unit of a commodity; as_of defaults to now and must carry a time zone."""

    commodity_code: str = Field(max_length=40)
    currency: str = Field(min_length=3, max_length=3)
    price: DecimalStr
    as_of: datetime | None = None


class PriceOut(Output):
    """A price observation."""

    id: str
    commodity_code: str
    currency: str
    price: Decimal
    as_of: datetime
    source: str


class LoanIn(Input):
    """An application: which product, which receipts, how much."""

    product_id: str
    receipt_ids: list[str] = Field(min_length=1, max_length=50)
    amount: DecimalStr


class LoanOut(Output):
    """A loan with its balances."""

    id: str
    bank_org_id: str
    sme_org_id: str
    product_id: str
    receipt_ids: list[str]
    currency: str
    amount_requested: Decimal
    status: str
    principal: Decimal
    fees: Decimal
    interest: Decimal
    outstanding: Decimal = Decimal(0)
    accrued_through: date | None
    collateral_value: Decimal
    ltv: Decimal | None
    reasons: list[str]
    created_at: datetime
    decided_at: datetime | None
    disbursed_at: datetime | None
    closed_at: datetime | None


class LoanActionOut(Output):
    """A loan after a ledger-bound action, with the commands to follow."""

    loan: LoanOut
    commands: list[CommandOut]


class RejectIn(Input):
    """Why an application is turned down."""

    reasons: list[str] = Field(min_length=1, max_length=20)


class RepaymentIn(Input):
    """A payment towards a loan."""

    amount: DecimalStr


class RepaymentOut(Output):
    """A payment and its allocation: fees, then interest, then principal."""

    id: str
    loan_id: str
    amount: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal
    value_date: date
    received_at: datetime


class RepaidOut(Output):
    """The answer to a repayment."""

    repayment: RepaymentOut
    loan: LoanOut
    release_quote: list[ReleaseQuoteOut]
    commands: list[CommandOut]


class ValuationLineOut(Output):
    """One receipt's value."""

    receipt_id: str
    commodity_code: str
    quantity: Decimal
    unit_price: Decimal
    haircut: Decimal
    value: Decimal
    verified_quantity: Decimal = Field(
        description="The quantity that counts: all of it while the bay is monitored, less if not"
    )
    monitoring: str = Field(description="The bay's status: monitored, unmonitored or tampered")


class ValuationOut(Output):
    """Collateral value, outstanding and LTV."""

    currency: str
    lines: list[ValuationLineOut]
    collateral: Decimal
    outstanding: Decimal
    ltv: Decimal | None


class ReleaseQuoteOut(Output):
    """What repayment has freed on one receipt."""

    receipt_id: str
    lot_id: str
    commodity_code: str
    unit: str
    pledged_quantity: Decimal
    releasable: Decimal


class ReleaseOrderIn(Input):
    """A release order for goods the repayments have freed."""

    receipt_id: str
    quantity: DecimalStr
    epcs: list[str] = Field(default_factory=list, max_length=10000)


class OrderIssuedOut(Output):
    """The answer to issuing a release order."""

    order: ReleaseOrderOut
    commands: list[CommandOut]


class MarginCallOut(Output):
    """A margin call."""

    id: str
    loan_id: str
    ltv: Decimal | None
    collateral_value: Decimal
    outstanding: Decimal
    raised_at: datetime
    status: str
    cleared_at: datetime | None


RepaidOut.model_rebuild()
