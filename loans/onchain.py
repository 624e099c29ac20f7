"""What a loan puts on the ledger: salted commitments of its terms, and its state."""

from __future__ import annotations

from loans.model import (
    Loan,
)
from loans.ports import LoansUnitOfWork
from pledge.lienkeys import commitment
from pledge.ports import Context


def terms_commitment(ctx: Context, loan: Loan) -> str:
    """A salted hash of the loan's clear terms, the only form they take on chain."""
    # Salted per loan, so equal terms on two loans never hash alike.
    return commitment(
        ctx.commit_secret,
        loan.id,
        {
            "salt": loan.salt,
            "status": loan.status.value,
            "principal": str(loan.principal),
            "fees": str(loan.fees),
            "interest": str(loan.interest),
            "requested": str(loan.amount_requested),
            "currency": loan.currency,
        },
    )


def record_loan_state(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> None:
    """Queue the loan's new state and terms commitment for the ledger."""
    uow.ledger.enqueue(
        org_id=loan.bank_org_id,
        kind="update_loan",
        subject_type="loan",
        subject_id=loan.id,
        fn="update_loan",
        args={
            "loan_id": loan.id,
            "status": loan.status.value,
            "commitment": terms_commitment(ctx, loan),
        },
        submitter_msp=uow.orgs.msp_of(loan.bank_org_id),
    )
