"""Valuation at the bank's latest prices, LTV, and margin calls when it crosses a threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from loans.catalogue import product_of
from loans.model import (
    Loan,
    LoanStatus,
    MarginCall,
)
from loans.money import Money
from loans.onchain import record_loan_state
from loans.ports import BayMonitoring, LoansUnitOfWork, MonitoringStatus
from loans.valuation import LtvBand, collateral_value, ltv, ltv_band
from pledge.alert_service import record_margin_call, settle_margin_call
from pledge.errors import Conflict, NotFound
from pledge.model import Receipt, ReceiptStatus
from pledge.ports import Context
from pledge.service import new_id

# Share of a receipt's quantity that counts as verified, by its bay's monitoring status.
# Unmonitored: readers fail far more often than goods vanish, so the stock is probably there, but
# nothing would notice it leaving. Counting 80 % costs a loan at max LTV its headroom (0.70 / 0.8
# = 0.875: a margin call at the usual 0.80 threshold) while a loan with normal headroom rides out
# a reader reboot. Tampered: someone blinded a camera on purpose, so nothing counts until the
# alert is resolved.
MONITORING_CREDIT: Mapping[BayMonitoring, Decimal] = {
    BayMonitoring.MONITORED: Decimal(1),
    BayMonitoring.UNMONITORED: Decimal("0.8"),
    BayMonitoring.TAMPERED: Decimal(0),
}


@dataclass(frozen=True)
class ValuationLine:
    """One receipt's contribution to collateral value."""

    receipt_id: str
    commodity_code: str
    quantity: Decimal
    unit_price: Money
    haircut: Decimal
    value: Money
    verified_quantity: Decimal
    monitoring: BayMonitoring = BayMonitoring.MONITORED


@dataclass(frozen=True)
class Valuation:
    """Collateral value of a loan's receipts and the resulting LTV."""

    lines: list[ValuationLine]
    collateral: Money
    outstanding: Money
    ltv: Decimal | None


def latest_price(uow: LoansUnitOfWork, bank_org_id: str, commodity: str, currency: str) -> Money:
    """The bank's latest price for a commodity in a currency."""
    rows = uow.prices.find(
        commodity_code=commodity, currency=currency, entered_by_org_id=bank_org_id
    )
    if not rows:
        raise Conflict("no_price", f"no {currency} price for {commodity} in the bank's feed")
    newest = max(rows, key=lambda p: (p.as_of, p.id))
    return Money(newest.price, currency)


def outstanding(loan: Loan) -> Money:
    """Principal, fees and billed (rounded) interest still owed."""
    return (
        Money(loan.principal, loan.currency)
        + Money(loan.fees, loan.currency)
        + Money(loan.interest, loan.currency).rounded()
    )


def value_loan(uow: LoansUnitOfWork, loan: Loan, exposure: Money | None = None) -> Valuation:
    """Value a loan's receipts at the bank's latest prices less haircuts, and its LTV."""
    product = product_of(uow, loan)
    lines = []
    total = Money.zero(loan.currency)
    for rid in loan.receipt_ids:
        receipt = receipt_of(uow, rid)
        if receipt.status in (ReceiptStatus.RELEASED, ReceiptStatus.LIQUIDATED):
            continue
        price = latest_price(uow, loan.bank_org_id, receipt.commodity_code, loan.currency)
        haircut = product.haircut(receipt.commodity_code) or Decimal(0)
        watch = monitoring_of_receipt(uow, receipt)
        verified = receipt.quantity * MONITORING_CREDIT[watch]
        value = collateral_value(verified, price, haircut)
        lines.append(
            ValuationLine(
                rid,
                receipt.commodity_code,
                receipt.quantity,
                price,
                haircut,
                value,
                verified_quantity=verified,
                monitoring=watch,
            )
        )
        total = total + value
    owed = exposure if exposure is not None else outstanding(loan)
    return Valuation(lines, total, owed, ltv(owed, total))


def monitoring_of_receipt(uow: LoansUnitOfWork, receipt: Receipt) -> BayMonitoring:
    """The monitoring status of the bay holding a receipt's lot; monitored when nobody can tell."""
    # The port is optional so units of work that know nothing of readers and cameras (and the
    # callers built on them) keep valuing at the full book quantity, as before.
    monitoring: MonitoringStatus | None = getattr(uow, "monitoring", None)
    if monitoring is None:
        return BayMonitoring.MONITORED
    lot = uow.lots.get(receipt.lot_id)
    if lot is None:
        return BayMonitoring.MONITORED
    return BayMonitoring(monitoring.status(lot.bay_id))


def revalue(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> MarginCall | None:
    """Revalue one loan; raise a margin call, or clear one, as its LTV band changed."""
    product = product_of(uow, loan)
    valuation = value_loan(uow, loan)
    loan.collateral_value = valuation.collateral.amount
    loan.ltv = valuation.ltv
    band = ltv_band(valuation.ltv, product.margin_call_ltv, product.liquidation_ltv)
    if band is not LtvBand.OK and loan.status is LoanStatus.ACTIVE:
        loan.status = LoanStatus.MARGIN_CALL
        call = MarginCall(
            new_id(),
            loan.id,
            valuation.ltv,
            valuation.collateral.amount,
            valuation.outstanding.amount,
            ctx.now,
        )
        uow.margin_calls.add(call)
        severe = band is LtvBand.LIQUIDATION
        record_margin_call(
            uow, ctx.now, bank_org_id=loan.bank_org_id, loan_id=loan.id, ltv=loan.ltv, severe=severe
        )
        return call
    if band is LtvBand.LIQUIDATION and loan.status is LoanStatus.MARGIN_CALL:
        # Falling further while already called: the bank's alert turns critical.
        record_margin_call(
            uow, ctx.now, bank_org_id=loan.bank_org_id, loan_id=loan.id, ltv=loan.ltv, severe=True
        )
    if band is LtvBand.OK and loan.status is LoanStatus.MARGIN_CALL:
        loan.status = LoanStatus.ACTIVE
        for call in uow.margin_calls.find(loan_id=loan.id, status="open"):
            call.status, call.cleared_at = "cleared", ctx.now
        settle_margin_call(
            uow,
            ctx.now,
            loan_id=loan.id,
            bank_org_id=loan.bank_org_id,
            why=f"LTV {loan.ltv} is back under the margin-call threshold",
        )
    return None


def revalue_bank_loans(uow: LoansUnitOfWork, ctx: Context, bank_org_id: str) -> list[MarginCall]:
    """Revalue a bank's running loans; raise margin calls where LTV crossed the threshold."""
    calls = []
    for loan in uow.loans.find(bank_org_id=bank_org_id):
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL):
            continue
        before = loan.status
        call = revalue(uow, ctx, loan)
        if call is not None:
            calls.append(call)
        if loan.status is not before:
            record_loan_state(uow, ctx, loan)
    return calls


def receipt_of(uow: LoansUnitOfWork, receipt_id: str) -> Receipt:
    """A receipt by id, whoever asks (callers check visibility)."""
    receipt = uow.receipts.get(receipt_id)
    if receipt is None:
        raise NotFound("receipt_not_found", f"no receipt {receipt_id}")
    return receipt
