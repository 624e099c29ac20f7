"""What the SME pages show: receipts with what they could borrow, loans and their ledger status.

Reads go through the loan and collateral use cases (`visible_loan`, `release_quote`, the
valuation rules), starting from the caller's own organisation, so another company's receipts and
loans never appear and their ids answer not found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import or_, select

from loans import releases
from loans.catalogue import product_of
from loans.lending import visible_loan
from loans.model import SECURED, Loan, LoanProduct, LoanStatus, MarginCall, Repayment
from loans.money import quantize_money
from loans.ports import BayMonitoring
from loans.valuation import collateral_value
from loans.valuing import MONITORING_CREDIT, latest_price, monitoring_of_receipt, outstanding
from pledge.errors import Conflict
from pledge.model import Receipt, ReceiptStatus, ReleaseOrder
from pledge.parties import Actor, OrgKind, Role
from services.identity.tables import Org
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork

# A loan moves while any of its ledger commands is still on its way: the page keeps polling.
IN_FLIGHT = frozenset({"pending", "submitted"})


def org_names(uow: SqlUnitOfWork) -> dict[str, str]:
    """Organisation id to display name (names are public on the network)."""
    return {org.id: org.name for org in uow.session.scalars(select(Org))}


@dataclass(frozen=True)
class Offer:
    """What one bank's product would lend against one receipt at that bank's latest price."""

    product_id: str
    product_name: str
    bank: str
    currency: str
    annual_rate: Decimal
    day_count: str
    haircut: Decimal
    max_ltv: Decimal
    fee_rate: Decimal
    monitoring: BayMonitoring
    collateral: Decimal | None
    borrowable: Decimal | None
    problem: str = ""


@dataclass(frozen=True)
class ReceiptRow:
    """One of the SME's receipts and, while it is free to pledge, the offers on it."""

    receipt: Receipt
    offers: tuple[Offer, ...]

    @property
    def best(self) -> Offer | None:
        """The offer that lends the most (currencies differ, so per currency it is a guide)."""
        priced = [o for o in self.offers if o.borrowable is not None]
        return max(priced, key=lambda o: o.borrowable or Decimal(0)) if priced else None


def _offer(
    uow: SqlUnitOfWork, product: LoanProduct, receipt: Receipt, bank: str, watch: BayMonitoring
) -> Offer | None:
    haircut = product.haircut(receipt.commodity_code)
    if haircut is None:
        return None
    terms = Offer(
        product_id=product.id,
        product_name=product.name,
        bank=bank,
        currency=product.currency,
        annual_rate=product.annual_rate,
        day_count=product.day_count,
        haircut=haircut,
        max_ltv=product.max_ltv,
        fee_rate=product.fee_rate,
        monitoring=watch,
        collateral=None,
        borrowable=None,
    )
    try:
        price = latest_price(uow, product.bank_org_id, receipt.commodity_code, product.currency)
    except Conflict:
        return replace(terms, problem="no price quoted yet")
    # The same valuation the bank's approval will run: verified quantity x price x (1 - haircut).
    verified = receipt.quantity * MONITORING_CREDIT[watch]
    value = collateral_value(verified, price, haircut)
    # Rounded down: the most that still passes the approval's max-LTV check.
    most = quantize_money(value.amount * product.max_ltv, product.currency, ROUND_FLOOR)
    return replace(terms, collateral=value.amount, borrowable=most)


def receipts_and_offers(uow: SqlUnitOfWork, actor: Actor) -> list[ReceiptRow]:
    """The SME's receipts, newest first; issued ones carry every published product's offer."""
    actor.require(OrgKind.SME, Role.VIEWER)
    names = org_names(uow)
    products = sorted(uow.products.find(), key=lambda p: (names.get(p.bank_org_id, ""), p.name))
    rows = []
    mine = uow.receipts.find(depositor_org_id=actor.org_id)
    for receipt in sorted(mine, key=lambda r: r.issued_at, reverse=True):
        offers: list[Offer] = []
        if receipt.status is ReceiptStatus.ISSUED:
            watch = monitoring_of_receipt(uow, receipt)
            for product in products:
                bank = names.get(product.bank_org_id, product.bank_org_id)
                offer = _offer(uow, product, receipt, bank, watch)
                if offer is not None:
                    offers.append(offer)
        rows.append(ReceiptRow(receipt, tuple(offers)))
    return rows


def products_for(uow: SqlUnitOfWork, actor: Actor) -> list[tuple[LoanProduct, str]]:
    """Every published product with its bank's name, for the application form."""
    actor.require(OrgKind.SME, Role.VIEWER)
    names = org_names(uow)
    found = [(p, names.get(p.bank_org_id, p.bank_org_id)) for p in uow.products.find()]
    return sorted(found, key=lambda pair: (pair[1], pair[0].name))


@dataclass(frozen=True)
class CommandRow:
    """A ledger command that concerns a loan, and where it stands."""

    id: str
    kind: str
    status: str
    reason: str
    created_at: datetime
    updated_at: datetime
    block_number: int | None


def loan_commands(uow: SqlUnitOfWork, loan: Loan) -> list[CommandRow]:
    """The ledger commands about a loan and its release orders, oldest first."""
    order_ids = [o.id for o in uow.orders.find(loan_id=loan.id)]
    subjects = [LedgerCommand.subject_id == loan.id]
    if order_ids:
        subjects.append(LedgerCommand.subject_id.in_(order_ids))
    rows = uow.session.scalars(
        select(LedgerCommand)
        .where(LedgerCommand.subject_type.in_(("loan", "release_order")), or_(*subjects))
        .order_by(LedgerCommand.created_at, LedgerCommand.id)
    ).all()
    return [
        CommandRow(
            r.id,
            r.kind,
            r.status,
            r.reason or "",
            r.created_at,
            r.updated_at,
            r.block_number,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class LoanRow:
    """A loan in the SME's list."""

    loan: Loan
    reference: str
    bank: str
    product: str
    outstanding: Decimal
    commands: tuple[CommandRow, ...]

    @property
    def in_flight(self) -> bool:
        """Whether a ledger command about the loan is still on its way."""
        return any(c.status in IN_FLIGHT for c in self.commands)


def _loan_row(uow: SqlUnitOfWork, loan: Loan, names: dict[str, str]) -> LoanRow:
    return LoanRow(
        loan=loan,
        reference=loan.id[:8].upper(),
        bank=names.get(loan.bank_org_id, loan.bank_org_id),
        product=product_of(uow, loan).name,
        outstanding=outstanding(loan).amount,
        commands=tuple(loan_commands(uow, loan)),
    )


def loans(uow: SqlUnitOfWork, actor: Actor) -> list[LoanRow]:
    """The SME's loans, newest first."""
    actor.require(OrgKind.SME, Role.VIEWER)
    names = org_names(uow)
    found = sorted(
        uow.loans.find(sme_org_id=actor.org_id), key=lambda loan: loan.created_at, reverse=True
    )
    return [_loan_row(uow, loan, names) for loan in found]


@dataclass(frozen=True)
class LoanDetail:
    """Everything the SME's loan page shows."""

    row: LoanRow
    product: LoanProduct
    receipts: tuple[Receipt, ...]
    repayments: tuple[Repayment, ...]
    quotes: tuple[releases.ReleaseQuote, ...]
    orders: tuple[ReleaseOrder, ...]
    margin_calls: tuple[MarginCall, ...]

    @property
    def repayable(self) -> bool:
        """Whether the loan takes repayments now."""
        return self.row.loan.status in (
            LoanStatus.ACTIVE,
            LoanStatus.MARGIN_CALL,
            LoanStatus.DEFAULTED,
        )

    @property
    def secured(self) -> bool:
        """Whether the loan holds a lien (so goods may be released against it)."""
        return self.row.loan.status in SECURED


def loan_detail(uow: SqlUnitOfWork, actor: Actor, loan_id: str) -> LoanDetail:
    """One of the SME's loans; another company's (or a missing) id answers not found."""
    actor.require(OrgKind.SME, Role.VIEWER)
    loan = visible_loan(uow, actor, loan_id)
    names = org_names(uow)
    receipts = tuple(r for r in (uow.receipts.get(i) for i in loan.receipt_ids) if r is not None)
    return LoanDetail(
        row=_loan_row(uow, loan, names),
        product=product_of(uow, loan),
        receipts=receipts,
        repayments=tuple(sorted(uow.repayments.find(loan_id=loan.id), key=lambda r: r.received_at)),
        quotes=tuple(releases.release_quote(uow, actor, loan.id)),
        orders=tuple(sorted(uow.orders.find(loan_id=loan.id), key=lambda o: o.created_at)),
        margin_calls=tuple(
            sorted(uow.margin_calls.find(loan_id=loan.id), key=lambda c: c.raised_at)
        ),
    )
