"""What the bank pages show, read through the loan use cases and their visibility rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from dashboards import collateral_history as ch
from loans import lending, releases, valuing
from loans.catalogue import product_of
from loans.model import SECURED, Loan, LoanProduct, LoanStatus, MarginCall, Price
from loans.money import Money
from loans.valuation import LtvBand, ltv_band
from pledge.errors import DomainError
from pledge.model import ReleaseOrder
from pledge.parties import Actor, OrgKind, Role
from services.identity.tables import Org
from services.uow import SqlUnitOfWork

SHOWN_STATUSES = (
    LoanStatus.PLEDGED,
    LoanStatus.ACTIVE,
    LoanStatus.MARGIN_CALL,
    LoanStatus.APPROVED,
    LoanStatus.DEFAULTED,
)


def org_name(uow: SqlUnitOfWork, org_id: str) -> str:
    """An organisation's display name."""
    org = uow.session.get(Org, org_id)
    return org.name if org is not None else org_id


def _bank(actor: Actor) -> None:
    actor.require(OrgKind.BANK, Role.VIEWER)


@dataclass
class LoanRow:
    """One loan of the book with what a credit officer looks at first."""

    loan: Loan
    product: LoanProduct
    borrower: str
    outstanding: Decimal
    band: str
    open_calls: list[MarginCall]

    @property
    def reference(self) -> str:
        """A short reference for people."""
        return self.loan.id[:8].upper()


def _band(loan: Loan, product: LoanProduct) -> str:
    if loan.ltv is None or loan.status not in SECURED:
        return "none"
    band = ltv_band(loan.ltv, product.margin_call_ltv, product.liquidation_ltv)
    if band is LtvBand.OK and loan.ltv > product.max_ltv:
        return "above_max"
    return band.value


def _row(uow: SqlUnitOfWork, loan: Loan) -> LoanRow:
    product = product_of(uow, loan)
    calls = [c for c in uow.margin_calls.find(loan_id=loan.id) if c.status == "open"]
    return LoanRow(
        loan,
        product,
        org_name(uow, loan.sme_org_id),
        valuing.outstanding(loan).amount,
        _band(loan, product),
        calls,
    )


@dataclass
class Book:
    """The bank's running loans and their totals per currency."""

    rows: list[LoanRow]
    closed: list[LoanRow]
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    open_calls: int = 0


def loan_book(uow: SqlUnitOfWork, actor: Actor) -> Book:
    """The bank's loans: running ones first, with outstanding, accrued interest and LTV."""
    _bank(actor)
    loans = sorted(
        uow.loans.find(bank_org_id=actor.org_id), key=lambda x: x.created_at, reverse=True
    )
    running = [_row(uow, loan) for loan in loans if loan.status in SHOWN_STATUSES]
    closed = [_row(uow, loan) for loan in loans if loan.status is LoanStatus.CLOSED]
    book = Book(running, closed)
    for row in running:
        sums = book.totals.setdefault(
            row.loan.currency,
            {"outstanding": Decimal(0), "interest": Decimal(0), "collateral": Decimal(0)},
        )
        sums["outstanding"] += row.outstanding
        sums["interest"] += row.loan.interest
        sums["collateral"] += row.loan.collateral_value
        book.open_calls += len(row.open_calls)
    return book


@dataclass
class ValuationView:
    """A loan's valuation as the API's valuation route computes it, or why it cannot."""

    lines: list[valuing.ValuationLine]
    collateral: Decimal
    exposure: Decimal
    ltv: Decimal | None
    problem: str = ""


def valuation_of(uow: SqlUnitOfWork, loan: Loan) -> ValuationView:
    """Value the loan: the amount asked until paid out, then what is owed."""
    exposure = None
    if loan.status in (LoanStatus.APPLIED, LoanStatus.APPROVED, LoanStatus.PLEDGED):
        exposure = Money(loan.amount_requested, loan.currency)
    try:
        v = valuing.value_loan(uow, loan, exposure)
    except DomainError as exc:
        return ValuationView([], Decimal(0), loan.amount_requested, None, exc.detail)
    return ValuationView(v.lines, v.collateral.amount, v.outstanding.amount, v.ltv)


def loan_facts(uow: SqlUnitOfWork, loan: Loan) -> ch.LoanFacts:
    """The recorded facts that move one loan's valuation."""
    receipts = [r for r in (uow.receipts.get(rid) for rid in loan.receipt_ids) if r is not None]
    movements = [m for r in receipts for m in uow.movements.find(lot_id=r.lot_id)]
    prices = uow.prices.find(entered_by_org_id=loan.bank_org_id, currency=loan.currency)
    return ch.LoanFacts(
        loan,
        product_of(uow, loan),
        receipts,
        movements,
        prices,
        uow.repayments.find(loan_id=loan.id),
        uow.accruals.find(loan_id=loan.id),
    )


@dataclass
class LoanDetail:
    """Everything the loan page shows."""

    row: LoanRow
    valuation: ValuationView
    history: list[ch.Point]
    repayments: list[Any]
    calls: list[MarginCall]
    quotes: list[releases.ReleaseQuote]
    orders: list[ReleaseOrder]
    receipts: list[Any]


def loan_detail(uow: SqlUnitOfWork, actor: Actor, loan_id: str, now: datetime) -> LoanDetail:
    """One of the bank's loans; any other loan id answers not found."""
    _bank(actor)
    loan = lending.visible_loan(uow, actor, loan_id)
    quotes = releases.release_quote(uow, actor, loan_id) if loan.status in SECURED else []
    return LoanDetail(
        _row(uow, loan),
        valuation_of(uow, loan),
        ch.history(loan_facts(uow, loan), now) if loan.disbursed_at else [],
        sorted(uow.repayments.find(loan_id=loan.id), key=lambda r: r.received_at, reverse=True),
        sorted(uow.margin_calls.find(loan_id=loan.id), key=lambda c: c.raised_at, reverse=True),
        quotes,
        sorted(uow.orders.find(loan_id=loan.id), key=lambda o: o.created_at, reverse=True),
        [r for r in (uow.receipts.get(rid) for rid in loan.receipt_ids) if r is not None],
    )


@dataclass
class Application:
    """An application waiting for the bank's decision, with its valuation."""

    row: LoanRow
    valuation: ValuationView
    receipts: list[Any]

    @property
    def within_max(self) -> bool:
        """Whether the asked amount keeps LTV within the product's maximum."""
        ltv = self.valuation.ltv
        return ltv is not None and ltv <= self.row.product.max_ltv


def applications(uow: SqlUnitOfWork, actor: Actor) -> list[Application]:
    """Applications to this bank that wait for a decision, oldest first."""
    _bank(actor)
    found = uow.loans.find(bank_org_id=actor.org_id, status=LoanStatus.APPLIED)
    return [
        Application(
            _row(uow, loan),
            valuation_of(uow, loan),
            [r for r in (uow.receipts.get(rid) for rid in loan.receipt_ids) if r is not None],
        )
        for loan in sorted(found, key=lambda x: x.created_at)
    ]


@dataclass
class ReleaseLine:
    """A secured loan and what its repayments have freed."""

    row: LoanRow
    quotes: list[releases.ReleaseQuote]
    last_repayment: Any


def release_desk(uow: SqlUnitOfWork, actor: Actor) -> tuple[list[ReleaseLine], list[ReleaseOrder]]:
    """Loans whose repayments freed goods, and the release orders the bank issued."""
    _bank(actor)
    lines = []
    for loan in uow.loans.find(bank_org_id=actor.org_id):
        if loan.status not in SECURED:
            continue
        paid = sorted(uow.repayments.find(loan_id=loan.id), key=lambda r: r.received_at)
        if not paid:
            continue
        quotes = releases.release_quote(uow, actor, loan.id)
        lines.append(ReleaseLine(_row(uow, loan), quotes, paid[-1]))
    orders = sorted(
        uow.orders.find(bank_org_id=actor.org_id), key=lambda o: o.created_at, reverse=True
    )
    return lines, orders


def price_history(uow: SqlUnitOfWork, actor: Actor) -> list[Price]:
    """The bank's own price observations, oldest first."""
    _bank(actor)
    return sorted(uow.prices.find(entered_by_org_id=actor.org_id), key=lambda p: (p.as_of, p.id))


def book_facts(uow: SqlUnitOfWork, actor: Actor) -> list[ch.LoanFacts]:
    """Facts of every loan the bank paid out, for the book's collateral history."""
    _bank(actor)
    return [
        loan_facts(uow, loan)
        for loan in uow.loans.find(bank_org_id=actor.org_id)
        if loan.disbursed_at is not None
    ]
