"""An SME's request that its bank release goods the repayments have freed.

Only the lien-holding bank may order a release (the ledger enforces it), so the borrower asks.
A request names a pledged receipt and a quantity within the current release quote; it counts as
answered once the bank issues a release order for that receipt after it, so nothing needs to be
written back when the bank acts. The bank's pages read the open ones with `open_for_bank`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from sqlalchemy import Column, ForeignKey, String, Table, Text, insert, select

from loans import releases
from loans.lending import visible_loan
from loans.money import as_decimal
from pledge.errors import Conflict, Invalid, NotFound
from pledge.parties import Actor, OrgKind, Role
from pledge.service import get_commodity
from services.api.runner import container_of
from services.db import Dec, UtcDateTime, metadata
from services.uow import SqlUnitOfWork

MAX_NOTE = 1000

release_requests = Table(
    "release_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("loan_id", String(36), ForeignKey("loans.id"), nullable=False, index=True),
    Column("sme_org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("bank_org_id", String(40), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("receipt_id", String(36), ForeignKey("receipts.id"), nullable=False),
    Column("quantity", Dec, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class ReleaseRequest:
    """A borrower's request, and the release order that answered it, if any yet."""

    id: str
    loan_id: str
    receipt_id: str
    receipt_number: str
    commodity_code: str
    unit: str
    quantity: Decimal
    note: str
    created_at: datetime
    order_id: str | None
    order_status: str | None

    @property
    def status(self) -> str:
        """`requested` until the bank orders a release of the receipt, then the order's status."""
        return "requested" if self.order_status is None else f"order {self.order_status}"


def _answer(uow: SqlUnitOfWork, row: Any) -> ReleaseRequest:
    receipt = uow.receipts.get(row.receipt_id)
    later = [
        o
        for o in uow.orders.find(loan_id=row.loan_id, receipt_id=row.receipt_id)
        if o.created_at >= row.created_at
    ]
    order = min(later, key=lambda o: o.created_at) if later else None
    return ReleaseRequest(
        id=row.id,
        loan_id=row.loan_id,
        receipt_id=row.receipt_id,
        receipt_number=receipt.number if receipt else row.receipt_id,
        commodity_code=receipt.commodity_code if receipt else "",
        unit=receipt.unit if receipt else "",
        quantity=row.quantity,
        note=row.note,
        created_at=row.created_at,
        order_id=order.id if order else None,
        order_status=order.status.value if order else None,
    )


def request_release(
    uow: SqlUnitOfWork,
    actor: Actor,
    now: datetime,
    loan_id: str,
    receipt_id: str,
    quantity: str,
    note: str,
) -> str:
    """Record the borrower's request for goods within the release quote; returns its id."""
    actor.require(OrgKind.SME)
    loan = visible_loan(uow, actor, loan_id)
    if loan.sme_org_id != actor.org_id:
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    quote = next(
        (q for q in releases.release_quote(uow, actor, loan_id) if q.receipt_id == receipt_id),
        None,
    )
    if quote is None:
        raise NotFound("receipt_not_found", "that receipt is not pledged to this loan")
    qty = as_decimal(quantity.strip() or "0", "quantity", "invalid_quantity")
    step = get_commodity(uow, quote.commodity_code).step
    if qty <= 0 or qty % step != 0:
        raise Invalid("invalid_quantity", f"ask for a positive multiple of {step} {quote.unit}")
    if qty > quote.releasable:
        raise Conflict(
            "release_exceeds_quote",
            f"repayments so far free at most {quote.releasable} {quote.unit}; "
            "repay more to free more goods",
        )
    if len(note) > MAX_NOTE:
        raise Invalid("note_too_long", f"keep the note under {MAX_NOTE} characters")
    ident = uuid.uuid4().hex
    uow.session.execute(
        insert(release_requests).values(
            id=ident,
            loan_id=loan.id,
            sme_org_id=loan.sme_org_id,
            bank_org_id=loan.bank_org_id,
            receipt_id=receipt_id,
            quantity=qty,
            note=note.strip(),
            created_at=now,
        )
    )
    uow.commit()
    return ident


def ask_for_release(
    request: Request,
    actor: Actor,
    loan_id: str,
    receipt_id: str,
    quantity: str,
    note: str,
) -> str:
    """Run `request_release` in its own unit of work at this moment."""
    container = container_of(request)
    with SqlUnitOfWork.start(container.session_factory) as uow:
        return request_release(
            uow, actor, container.context().now, loan_id, receipt_id, quantity, note
        )


def requests_of_loan(uow: SqlUnitOfWork, actor: Actor, loan_id: str) -> list[ReleaseRequest]:
    """The release requests on a loan the actor's organisation is party to, oldest first."""
    actor.require_any((OrgKind.SME, OrgKind.BANK), Role.VIEWER)
    loan = visible_loan(uow, actor, loan_id)
    rows = uow.session.execute(
        select(release_requests)
        .where(release_requests.c.loan_id == loan.id)
        .order_by(release_requests.c.created_at, release_requests.c.id)
    ).all()
    return [_answer(uow, row) for row in rows]


def open_for_bank(uow: SqlUnitOfWork, actor: Actor) -> list[ReleaseRequest]:
    """Requests to the actor's bank that no release order has answered yet, oldest first."""
    actor.require(OrgKind.BANK, Role.VIEWER)
    rows = uow.session.execute(
        select(release_requests)
        .where(release_requests.c.bank_org_id == actor.org_id)
        .order_by(release_requests.c.created_at, release_requests.c.id)
    ).all()
    return [r for r in (_answer(uow, row) for row in rows) if r.order_id is None]
