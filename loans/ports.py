"""The loan use cases' unit of work: the collateral repositories plus the loan ones."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from loans.model import Accrual, Loan, LoanProduct, MarginCall, Price, Repayment
from pledge.ports import PledgeUnitOfWork, Repository


class BayMonitoring(StrEnum):
    """How well a bay is watched right now, which decides how much of its stock counts."""

    MONITORED = "monitored"
    UNMONITORED = "unmonitored"
    TAMPERED = "tampered"


class MonitoringStatus(Protocol):
    """Whether the readers and cameras of a bay are watching it."""

    def status(self, bay_id: str) -> BayMonitoring:
        """The bay's monitoring status now."""
        ...


class LoansUnitOfWork(PledgeUnitOfWork, Protocol):
    """Everything a loan use case touches, committed once."""

    @property
    def products(self) -> Repository[LoanProduct]:
        """The products."""
        ...

    @property
    def prices(self) -> Repository[Price]:
        """The prices."""
        ...

    @property
    def loans(self) -> Repository[Loan]:
        """The loans."""
        ...

    @property
    def repayments(self) -> Repository[Repayment]:
        """The repayments."""
        ...

    @property
    def accruals(self) -> Repository[Accrual]:
        """The accruals."""
        ...

    @property
    def margin_calls(self) -> Repository[MarginCall]:
        """The margin calls."""
        ...
