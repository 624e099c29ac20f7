"""A loan's collateral value, amount owed and LTV over time, replayed from what was recorded.

Nothing stores a valuation per day; the history is rebuilt from the facts that move it: the
bank's price observations, goods shipped out of the pledged lots, repayments and daily interest
accruals. Values are book quantities at the price then current, less the product's haircut.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from loans.model import Accrual, Loan, LoanProduct, Price, Repayment
from pledge.model import Movement, MovementKind, Receipt


@dataclass(frozen=True)
class Point:
    """The loan at one moment."""

    at: datetime
    collateral: Decimal
    outstanding: Decimal

    @property
    def ltv(self) -> Decimal | None:
        """Outstanding over collateral; None when there is no collateral value."""
        return None if self.collateral <= 0 else self.outstanding / self.collateral


@dataclass(frozen=True)
class LoanFacts:
    """Everything recorded about one loan that moves its valuation."""

    loan: Loan
    product: LoanProduct
    receipts: Sequence[Receipt]
    movements: Sequence[Movement]
    prices: Sequence[Price]
    repayments: Sequence[Repayment]
    accruals: Sequence[Accrual]


def _price_at(
    prices: Sequence[Price], commodity: str, currency: str, at: datetime
) -> Decimal | None:
    rows = sorted(
        (p for p in prices if p.commodity_code == commodity and p.currency == currency),
        key=lambda p: (p.as_of, p.id),
    )
    stamps = [p.as_of for p in rows]
    index = bisect_right(stamps, at)
    return rows[index - 1].price if index else None


def _quantity_at(receipt: Receipt, movements: Iterable[Movement], at: datetime) -> Decimal:
    moved = [m for m in movements if m.lot_id == receipt.lot_id]
    received = sum((m.quantity for m in moved if m.kind is MovementKind.RECEIVING), Decimal(0))
    if not received:
        received = receipt.quantity + sum(
            (m.quantity for m in moved if m.kind is MovementKind.SHIPPING), Decimal(0)
        )
    shipped = sum(
        (m.quantity for m in moved if m.kind is MovementKind.SHIPPING and m.at <= at), Decimal(0)
    )
    return received - shipped


def _owed_at(facts: LoanFacts, at: datetime) -> Decimal:
    loan = facts.loan
    if loan.disbursed_at is None or at < loan.disbursed_at:
        return loan.amount_requested if loan.disbursed_at is None else Decimal(0)
    paid = [r for r in facts.repayments if r.received_at <= at]
    principal = loan.principal + sum((r.principal for r in facts.repayments), Decimal(0))
    fees = loan.fees + sum((r.fees for r in facts.repayments), Decimal(0))
    day: date = at.date()
    accrued = sum((a.amount for a in facts.accruals if a.day <= day), Decimal(0))
    owed = principal + fees + accrued
    owed -= sum((r.principal + r.fees + r.interest for r in paid), Decimal(0))
    return max(owed, Decimal(0))


def value_at(facts: LoanFacts, at: datetime) -> Point | None:
    """The loan at one moment, or None before any price was known."""
    total = Decimal(0)
    for receipt in facts.receipts:
        price = _price_at(facts.prices, receipt.commodity_code, facts.loan.currency, at)
        if price is None:
            return None
        haircut = facts.product.haircut(receipt.commodity_code) or Decimal(0)
        total += _quantity_at(receipt, facts.movements, at) * price * (1 - haircut)
    return Point(at, total, _owed_at(facts, at))


def moments(facts: LoanFacts, now: datetime) -> list[datetime]:
    """The moments at which something that moves the valuation happened, from the loan's start."""
    start = facts.loan.disbursed_at or facts.loan.created_at
    stamps = {start, now}
    stamps.update(p.as_of for p in facts.prices if start <= p.as_of <= now)
    stamps.update(r.received_at for r in facts.repayments if start <= r.received_at <= now)
    stamps.update(m.at for m in facts.movements if start <= m.at <= now)
    return sorted(stamps)


def history(facts: LoanFacts, now: datetime) -> list[Point]:
    """The loan's points at every moment something changed, oldest first."""
    found = (value_at(facts, at) for at in moments(facts, now))
    return [p for p in found if p is not None]


def book_history(loans: Sequence[LoanFacts], now: datetime) -> list[Point]:
    """The sum over several loans at every moment any of them changed."""
    stamps = sorted({at for facts in loans for at in moments(facts, now)})
    points = []
    for at in stamps:
        collateral = outstanding = Decimal(0)
        for facts in loans:
            start = facts.loan.disbursed_at or facts.loan.created_at
            if at < start:
                continue
            point = value_at(facts, at)
            if point is not None:
                collateral += point.collateral
                outstanding += point.outstanding
        if collateral or outstanding:
            points.append(Point(at, collateral, outstanding))
    return points
