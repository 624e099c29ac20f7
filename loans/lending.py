"""The loan decision: applications, approval with the pledge on the ledger, disbursement."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from loans.catalogue import product_of, visible_product
from loans.model import (
    Loan,
    LoanStatus,
)
from loans.money import Money
from loans.onchain import record_loan_state, terms_commitment
from loans.ports import LoansUnitOfWork
from loans.valuing import receipt_of, value_loan
from pledge.errors import Conflict, Invalid, NotFound
from pledge.model import Receipt, ReceiptStatus
from pledge.parties import Actor, OrgKind
from pledge.ports import Context
from pledge.service import new_id

# A receipt already under someone's lien may still be offered (a refinancing, or a fraud): the
# bank cannot see other banks' liens, so the ledger's lien check decides, not local state.
PLEDGEABLE = frozenset({ReceiptStatus.ISSUED, ReceiptStatus.PLEDGED})


def apply_for_loan(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    product_id: str,
    receipt_ids: list[str],
    amount: str,
) -> Loan:
    """An SME asks a bank for a loan against its issued receipts."""
    actor.require(OrgKind.SME)
    product = visible_product(uow, actor, product_id)
    requested = Money.of(amount, product.currency)
    if not requested.is_positive():
        raise Invalid("invalid_amount", "the amount requested must be positive")
    if requested != requested.rounded():
        raise Invalid(
            "invalid_amount", f"{product.currency} amounts have {requested.minor_units} decimals"
        )
    if not receipt_ids or len(set(receipt_ids)) != len(receipt_ids):
        raise Invalid("invalid_receipts", "name one or more distinct receipts")
    for rid in receipt_ids:
        receipt = uow.receipts.get(rid)
        if receipt is None or receipt.depositor_org_id != actor.org_id:
            raise NotFound("receipt_not_found", f"no receipt {rid}")
        if receipt.status not in PLEDGEABLE:
            raise Conflict(
                "receipt_not_available",
                f"receipt {receipt.number} is {receipt.status.value}; it cannot secure a loan",
            )
        if product.haircut(receipt.commodity_code) is None:
            raise Invalid(
                "commodity_not_accepted",
                f"this product does not lend against {receipt.commodity_code}",
            )
    loan = Loan(
        new_id(),
        product.bank_org_id,
        actor.org_id,
        product.id,
        list(receipt_ids),
        product.currency,
        requested.amount,
        LoanStatus.APPLIED,
        ctx.now,
        salt=secrets.token_hex(16),
    )
    uow.loans.add(loan)
    uow.commit()
    return loan


def visible_loan(uow: LoansUnitOfWork, actor: Actor, loan_id: str) -> Loan:
    """A loan the actor's organisation is party to (its bank or its SME)."""
    loan = uow.loans.get(loan_id)
    if loan is None or actor.org_id not in (loan.bank_org_id, loan.sme_org_id):
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    return loan


def visible_loan_receipt(uow: LoansUnitOfWork, actor: Actor, receipt_id: str) -> Receipt:
    """A receipt seen by its warehouse, its depositor, or a bank it was offered to."""
    receipt = receipt_of(uow, receipt_id)
    if actor.org_id in (receipt.warehouse_org_id, receipt.depositor_org_id):
        return receipt
    if actor.org_kind is OrgKind.BANK and any(
        receipt_id in loan.receipt_ids for loan in uow.loans.find(bank_org_id=actor.org_id)
    ):
        return receipt
    raise NotFound("receipt_not_found", f"no receipt {receipt_id}")


def bank_loan(uow: LoansUnitOfWork, actor: Actor, loan_id: str, *allowed: LoanStatus) -> Loan:
    """The lending bank's own loan in one of the allowed states."""
    actor.require(OrgKind.BANK)
    loan = visible_loan(uow, actor, loan_id)
    if loan.bank_org_id != actor.org_id:
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    if allowed and loan.status not in allowed:
        raise Conflict(
            "invalid_state",
            f"the loan is {loan.status.value}; this needs " + " or ".join(s.value for s in allowed),
        )
    return loan


def approve_loan(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """Approve within max LTV and register the pledge on the ledger (bank and warehouse sign)."""
    loan = bank_loan(uow, actor, loan_id, LoanStatus.APPLIED)
    product = product_of(uow, loan)
    requested = Money(loan.amount_requested, loan.currency)
    valuation = value_loan(uow, loan, exposure=requested)
    if valuation.ltv is None or valuation.ltv > product.max_ltv:
        shown = "unsecured" if valuation.ltv is None else f"{valuation.ltv:.4f}"
        raise Conflict(
            "ltv_above_max",
            f"requested {requested} against collateral worth {valuation.collateral} gives LTV "
            f"{shown}, above this product's maximum {product.max_ltv}",
        )
    receipts = [receipt_of(uow, rid) for rid in loan.receipt_ids]
    warehouses = {r.warehouse_org_id for r in receipts}
    if len(warehouses) != 1:
        raise Invalid("mixed_warehouses", "a loan's receipts must come from one warehouse")
    for receipt in receipts:
        if receipt.status not in PLEDGEABLE:
            raise Conflict(
                "receipt_not_available", f"receipt {receipt.number} is {receipt.status.value}"
            )
    loan.status = LoanStatus.APPROVED
    loan.collateral_value = valuation.collateral.amount
    loan.ltv = valuation.ltv
    loan.decided_at = ctx.now
    warehouse_msp = uow.orgs.msp_of(warehouses.pop())
    uow.ledger.enqueue(
        org_id=actor.org_id,
        kind="register_pledge",
        subject_type="loan",
        subject_id=loan.id,
        fn="register_pledge",
        args={
            "loan_id": loan.id,
            "receipt_ids": list(loan.receipt_ids),
            "warehouse_msp": warehouse_msp,
            "commitment": terms_commitment(ctx, loan),
        },
        submitter_msp=actor.msp_id,
        endorsers=[warehouse_msp],
    )
    uow.commit()
    return loan


def reject_loan(
    uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str, reasons: list[str]
) -> Loan:
    """Turn an application down, with the reasons the SME will read."""
    loan = bank_loan(uow, actor, loan_id, LoanStatus.APPLIED)
    clean = [r.strip() for r in reasons if r.strip()]
    if not clean:
        raise Invalid("reason_required", "say why the application is rejected")
    loan.status = LoanStatus.REJECTED
    loan.reasons = loan.reasons + clean
    loan.decided_at = ctx.now
    uow.commit()
    return loan


def on_pledge_confirmed(uow: LoansUnitOfWork, loan: Loan) -> None:
    """The ledger registered the lien: the receipts are pledged and the loan may be disbursed."""
    if loan.status is LoanStatus.APPROVED:
        loan.status = LoanStatus.PLEDGED
    for rid in loan.receipt_ids:
        receipt = receipt_of(uow, rid)
        receipt.status = ReceiptStatus.PLEDGED
        receipt.loan_id = loan.id


def on_pledge_rejected(loan: Loan, reason: str) -> None:
    """The ledger refused the lien (for instance, the goods are pledged elsewhere)."""
    loan.status = LoanStatus.REJECTED
    loan.reasons = [*loan.reasons, f"the ledger refused the pledge: {reason}"]


def on_lien_lifted(uow: LoansUnitOfWork, loan: Loan) -> None:
    """The ledger lifted the lien: the remaining goods are free again."""
    for rid in loan.receipt_ids:
        receipt = receipt_of(uow, rid)
        if receipt.status is ReceiptStatus.PLEDGED and receipt.loan_id == loan.id:
            receipt.status = ReceiptStatus.ISSUED
            receipt.loan_id = None


def disburse(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """Pay out a pledged loan; interest accrues from today, the fee is charged once."""
    loan = bank_loan(uow, actor, loan_id, LoanStatus.PLEDGED)
    product = product_of(uow, loan)
    principal = Money(loan.amount_requested, loan.currency)
    loan.principal = principal.amount
    loan.fees = (principal * product.fee_rate).rounded().amount
    loan.interest = Decimal(0)
    loan.accrued_through = ctx.now.date() - timedelta(days=1)
    loan.disbursed_at = ctx.now
    loan.status = LoanStatus.ACTIVE
    record_loan_state(uow, ctx, loan)
    uow.commit()
    return loan


def declare_default(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """The bank declares the borrower in default after an unmet margin call or missed payment."""
    loan = bank_loan(uow, actor, loan_id, LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL)
    loan.status = LoanStatus.DEFAULTED
    record_loan_state(uow, ctx, loan)
    uow.commit()
    return loan


def liquidate(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """The bank takes the pledged goods to sell them; the liens end as liquidated."""
    loan = bank_loan(uow, actor, loan_id, LoanStatus.DEFAULTED)
    loan.status = LoanStatus.LIQUIDATED
    loan.closed_at = ctx.now
    for rid in loan.receipt_ids:
        receipt = receipt_of(uow, rid)
        if receipt.status is ReceiptStatus.PLEDGED:
            receipt.status = ReceiptStatus.LIQUIDATED
    record_loan_state(uow, ctx, loan)
    uow.commit()
    return loan
