"""Releases: what repayments free while LTV stays within the maximum, and release orders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loans.catalogue import product_of
from loans.lending import bank_loan, visible_loan
from loans.model import (
    SECURED,
    Loan,
)
from loans.money import Money, as_decimal
from loans.ports import LoansUnitOfWork
from loans.release import releasable_quantity
from loans.valuation import collateral_value
from loans.valuing import latest_price, outstanding, receipt_of
from pledge.errors import Conflict, Invalid, NotFound
from pledge.lienkeys import commitment, lien_keys
from pledge.model import OrderStatus, ReceiptStatus, ReleaseOrder, plan_release
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context
from pledge.service import get_commodity, new_id


@dataclass(frozen=True)
class ReleaseQuote:
    """How much of a receipt the SME's repayment has freed."""

    receipt_id: str
    lot_id: str
    commodity_code: str
    unit: str
    pledged_quantity: Decimal
    releasable: Decimal


def release_quote(uow: LoansUnitOfWork, actor: Actor, loan_id: str) -> list[ReleaseQuote]:
    """For each pledged receipt, how much can leave while LTV stays within the maximum."""
    actor.require_any((OrgKind.BANK, OrgKind.SME), Role.VIEWER)
    loan = visible_loan(uow, actor, loan_id)
    return quotes(uow, loan)


def quotes(uow: LoansUnitOfWork, loan: Loan) -> list[ReleaseQuote]:
    """Release quotes of every receipt still pledged to the loan."""
    if loan.status not in SECURED:
        return []
    product = product_of(uow, loan)
    owed = outstanding(loan)
    pending = {
        o.receipt_id: o.quantity
        for o in uow.orders.find(loan_id=loan.id)
        if o.status in (OrderStatus.PENDING, OrderStatus.OPEN)
    }
    receipts = [
        r
        for r in (receipt_of(uow, rid) for rid in loan.receipt_ids)
        if r.status is ReceiptStatus.PLEDGED
    ]
    units = {}
    for r in receipts:
        price = latest_price(uow, loan.bank_org_id, r.commodity_code, loan.currency)
        haircut = product.haircut(r.commodity_code) or Decimal(0)
        units[r.id] = (r.quantity - pending.get(r.id, Decimal(0)), price, haircut)
    quotes = []
    for r in receipts:
        qty, price, haircut = units[r.id]
        others = Money.zero(loan.currency)
        for other in receipts:
            if other.id != r.id:
                oq, op, oh = units[other.id]
                others = others + collateral_value(oq, op, oh)
        step = get_commodity(uow, r.commodity_code).step
        free = releasable_quantity(
            owed, qty, price * (Decimal(1) - haircut), others, product.max_ltv, step
        )
        quotes.append(ReleaseQuote(r.id, r.lot_id, r.commodity_code, r.unit, qty, free))
    return quotes


def issue_release_order(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    loan_id: str,
    receipt_id: str,
    quantity: str,
    epcs: list[str],
) -> ReleaseOrder:
    """The lien-holding bank orders the warehouse to release goods the repayments have freed."""
    loan = bank_loan(uow, actor, loan_id, *SECURED)
    quote = next((q for q in quotes(uow, loan) if q.receipt_id == receipt_id), None)
    if quote is None:
        raise NotFound("receipt_not_found", f"receipt {receipt_id} is not pledged to this loan")
    receipt = receipt_of(uow, receipt_id)
    qty = as_decimal(quantity, "quantity", "invalid_quantity")
    step = get_commodity(uow, receipt.commodity_code).step
    if qty <= 0 or qty % step != 0:
        raise Invalid("invalid_quantity", f"quantity must be a positive multiple of {step}")
    if qty > quote.releasable:
        raise Conflict(
            "release_exceeds_quote",
            f"at most {quote.releasable} {receipt.unit} can "
            f"be released while LTV stays within {product_of(uow, loan).max_ltv}",
        )
    lot = uow.lots.get(receipt.lot_id)
    if lot is None:
        raise NotFound("lot_not_found", f"no lot {receipt.lot_id}")
    leaving = plan_release(lot, qty, epcs)
    if qty == receipt.quantity:
        keys = list(receipt.lien_keys)
    else:
        keys = lien_keys(ctx.lien_secret, receipt.warehouse_id, lot.id, leaving) if leaving else []
    order = ReleaseOrder(
        new_id(),
        loan.id,
        actor.org_id,
        receipt.id,
        lot.id,
        receipt.warehouse_org_id,
        loan.sme_org_id,
        qty,
        leaving,
        keys,
        OrderStatus.PENDING,
        ctx.now,
    )
    uow.orders.add(order)
    uow.ledger.enqueue(
        org_id=actor.org_id,
        kind="issue_release_order",
        subject_type="release_order",
        subject_id=order.id,
        fn="issue_release_order",
        args={
            "order_id": order.id,
            "loan_id": loan.id,
            "receipt_id": receipt.id,
            "lien_keys": keys,
            "commitment": commitment(
                ctx.commit_secret, order.id, {"quantity": str(qty), "epcs": leaving}
            ),
        },
        submitter_msp=actor.msp_id,
        endorsers=[uow.orgs.msp_of(receipt.warehouse_org_id)],
    )
    uow.commit()
    return order
