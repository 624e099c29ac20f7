"""Running a loan: daily interest with catch-up, and repayments in the agreed order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from loans.allocation import allocate
from loans.catalogue import product_of
from loans.daycount import parse_day_count
from loans.interest import accrual_days, daily_interest
from loans.lending import visible_loan
from loans.model import (
    Accrual,
    Loan,
    LoanStatus,
    Repayment,
)
from loans.money import Money
from loans.onchain import record_loan_state, terms_commitment
from loans.ports import LoansUnitOfWork
from loans.valuing import outstanding, revalue
from pledge.alert_service import settle_margin_call
from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import Actor, OrgKind
from pledge.ports import Context
from pledge.service import new_id


def accrue_interest(uow: LoansUnitOfWork, loan: Loan, through: date) -> int:
    """Book each missing day's interest up to `through`; returns how many days were booked."""
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        return 0
    if loan.accrued_through is None:
        return 0
    product = product_of(uow, loan)
    dc = parse_day_count(product.day_count)
    days = accrual_days(loan.accrued_through, through)
    principal = Money(loan.principal, loan.currency)
    for day in days:
        amount = daily_interest(principal, product.annual_rate, dc)
        uow.accruals.add(Accrual(loan.id, day, amount, principal.amount))
        loan.interest += amount
    if days:
        loan.accrued_through = days[-1]
    return len(days)


def accrue_all(uow: LoansUnitOfWork, today: date) -> int:
    """The daily job: bring every running loan's interest up to yesterday, catching up gaps."""
    booked = 0
    for status in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        for loan in uow.loans.find(status=status):
            booked += accrue_interest(uow, loan, today - timedelta(days=1))
    uow.commit()
    return booked


def repay(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str, amount: str) -> Repayment:
    """Apply a payment to fees, then interest, then principal; the last one closes the loan."""
    actor.require(OrgKind.SME)
    loan = visible_loan(uow, actor, loan_id)
    if loan.sme_org_id != actor.org_id:
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        raise Conflict("invalid_state", f"the loan is {loan.status.value}; nothing to repay")
    payment = Money.of(amount, loan.currency)
    if payment != payment.rounded():
        raise Invalid(
            "invalid_amount", f"{loan.currency} amounts have {payment.minor_units} decimals"
        )
    today = ctx.now.date()
    accrue_interest(uow, loan, today - timedelta(days=1))
    split = allocate(
        payment,
        Money(loan.fees, loan.currency),
        Money(loan.interest, loan.currency).rounded(),
        Money(loan.principal, loan.currency),
    )
    if split.excess.is_positive():
        raise Invalid(
            "overpayment",
            f"the payment exceeds what is owed ({outstanding(loan)}) by {split.excess}",
        )
    loan.fees -= split.fees.amount
    loan.interest -= split.interest.amount
    loan.principal -= split.principal.amount
    repayment = Repayment(
        new_id(),
        loan.id,
        payment.amount,
        split.fees.amount,
        split.interest.amount,
        split.principal.amount,
        today,
        ctx.now,
    )
    uow.repayments.add(repayment)
    if outstanding(loan).is_zero():
        close_loan(uow, ctx, loan)
    else:
        revalue(uow, ctx, loan)
        record_loan_state(uow, ctx, loan)
    uow.commit()
    return repayment


def close_loan(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> None:
    """Close a fully repaid loan and queue the lifting of its lien."""
    # Sub-cent interest left after rounding is written off with the final payment.
    loan.interest = Decimal(0)
    loan.status = LoanStatus.CLOSED
    loan.closed_at = ctx.now
    for call in uow.margin_calls.find(loan_id=loan.id, status="open"):
        call.status, call.cleared_at = "cleared", ctx.now
    settle_margin_call(
        uow, ctx.now, loan_id=loan.id, bank_org_id=loan.bank_org_id, why="the loan was repaid"
    )
    uow.ledger.enqueue(
        org_id=loan.bank_org_id,
        kind="lift_lien",
        subject_type="loan",
        subject_id=loan.id,
        fn="lift_lien",
        args={"loan_id": loan.id, "commitment": terms_commitment(ctx, loan)},
        submitter_msp=uow.orgs.msp_of(loan.bank_org_id),
    )
