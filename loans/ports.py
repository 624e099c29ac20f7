"""The loan use cases' unit of work: the collateral repositories plus the loan ones."""

from __future__ import annotations

from typing import Protocol

from loans.model import Accrual, Loan, LoanProduct, MarginCall, Price, Repayment
from pledge.ports import PledgeUnitOfWork, Repository


class LoansUnitOfWork(PledgeUnitOfWork, Protocol):
    """Everything a loan use case touches, committed once."""

    products: Repository[LoanProduct]
    prices: Repository[Price]
    loans: Repository[Loan]
    repayments: Repository[Repayment]
    accruals: Repository[Accrual]
    margin_calls: Repository[MarginCall]
