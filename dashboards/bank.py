"""Bank pages: loan book, loan detail, applications, collateral and prices, releases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from dashboards import bank_data, charts
from dashboards import collateral_history as ch
from dashboards.sme_actions import run_once
from dashboards.web import (
    PREFIX,
    BankViewer,
    perform,
    read,
    render,
    see_other,
)
from loans import lending, pricefeed, releases
from loans.model import LoanStatus, Price
from services.api.runner import container_of
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Messages after an action, chosen by a fixed key so nothing a link carries is echoed as text.
DONE = {
    "approved": "Approved: the pledge went to the ledger for bank and warehouse to endorse.",
    "refused": "The ledger refused the pledge; its reason is under On the ledger below.",
    "rejected": "The application was turned down.",
    "disbursed": "Paid out: the loan is active and accrues interest from today.",
    "ordered": "Release order issued: the warehouse may now let those goods go.",
    "priced": "Price recorded; running loans were revalued at once.",
}


# Outcomes that are not a success, shown as a problem rather than a confirmation.
NOT_DONE = frozenset({"refused"})


def _done(key: str) -> dict[str, object] | None:
    """The message after an action, and whether it went as asked."""
    text = DONE.get(key)
    return None if text is None else {"text": text, "ok": key not in NOT_DONE}


def _now(request: Request) -> datetime:
    now: datetime = container_of(request).context().now
    return now


def _commands_for(uow: SqlUnitOfWork, org_id: str, subject_id: str) -> list[LedgerCommand]:
    stmt = (
        select(LedgerCommand)
        .where(LedgerCommand.org_id == org_id, LedgerCommand.subject_id == subject_id)
        .order_by(LedgerCommand.created_at.desc())
        .limit(10)
    )
    return list(uow.session.scalars(stmt))


@router.get("/bank/loans", name="bank_loans")
def loan_book(request: Request, viewer: BankViewer) -> HTMLResponse:
    """The loan book: outstanding, accrued interest, LTV against thresholds, margin calls."""
    book = read(request, bank_data.loan_book, viewer.actor)
    return render(request, "bank/loans.html", {"book": book})


@router.get("/bank/loans/{loan_id}", name="bank_loan")
def loan_page(request: Request, viewer: BankViewer, loan_id: str, done: str = "") -> HTMLResponse:
    """One loan: valuation, collateral over time, repayments, margin calls, release orders."""
    now = _now(request)

    def query(uow: SqlUnitOfWork) -> tuple[bank_data.LoanDetail, list[LedgerCommand]]:
        detail = bank_data.loan_detail(uow, viewer.actor, loan_id, now)
        return detail, _commands_for(uow, viewer.actor.org_id, loan_id)

    detail, commands = read(request, query)
    return render(
        request,
        "bank/loan.html",
        {
            "d": detail,
            "coverage_chart": charts.coverage_chart(detail.history, detail.row.loan.currency),
            "ltv_chart": charts.ltv_chart(detail.history, detail.row.product),
            "commands": commands,
            "done": _done(done),
        },
    )


@router.get("/bank/applications", name="bank_applications")
def applications(request: Request, viewer: BankViewer, done: str = "") -> HTMLResponse:
    """Applications waiting for a decision, each with its valuation."""
    apps = read(request, bank_data.applications, viewer.actor)
    return render(request, "bank/applications.html", {"apps": apps, "done": _done(done)})


@router.post("/bank/loans/{loan_id}/approve", name="bank_approve")
def approve(request: Request, viewer: BankViewer, loan_id: str) -> Response:
    """Approve within max LTV (the same use case as POST /loans/{id}/approve)."""
    perform(request, viewer, lending.approve_loan, loan_id)
    # On the embedded ledger the pledge is settled by now; a refusal (goods already pledged
    # elsewhere) turns the loan down, and the page must not call that an approval.
    after = read(request, lending.visible_loan, viewer.actor, loan_id)
    outcome = "refused" if after.status is LoanStatus.REJECTED else "approved"
    return see_other(request, f"{PREFIX}/bank/loans/{loan_id}?done={outcome}")


@router.post("/bank/loans/{loan_id}/reject", name="bank_reject")
def reject(
    request: Request, viewer: BankViewer, loan_id: str, reason: Annotated[str, Form()] = ""
) -> Response:
    """Turn an application down with a reason."""
    reasons = [reason.strip()] if reason.strip() else []
    perform(request, viewer, lending.reject_loan, loan_id, reasons)
    return see_other(request, f"{PREFIX}/bank/applications?done=rejected")


@router.post("/bank/loans/{loan_id}/disburse", name="bank_disburse")
def disburse(request: Request, viewer: BankViewer, loan_id: str) -> Response:
    """Pay out a pledged loan."""
    perform(request, viewer, lending.disburse, loan_id)
    return see_other(request, f"{PREFIX}/bank/loans/{loan_id}?done=disbursed")


@router.get("/bank/collateral", name="bank_collateral")
def collateral(request: Request, viewer: BankViewer, done: str = "") -> HTMLResponse:
    """Collateral value and coverage of the whole book over time, and the price history."""
    now = _now(request)

    def query(uow: SqlUnitOfWork) -> tuple[list[ch.Point], list[Price], list[str]]:
        facts = bank_data.book_facts(uow, viewer.actor)
        return (
            ch.book_history(facts, now),
            bank_data.price_history(uow, viewer.actor),
            [c.code for c in uow.commodities.find()],
        )

    points, prices, commodities = read(request, query)
    currencies = sorted({p.currency for p in prices}) or ["USD"]
    # The commodities the bank already prices come first: those are the ones it lends against.
    priced = [p.commodity_code for p in reversed(prices)]
    commodities = sorted(
        commodities, key=lambda c: (c not in priced, priced.index(c) if c in priced else 0, c)
    )
    return render(
        request,
        "bank/collateral.html",
        {
            "book_chart": charts.coverage_chart(points, currencies[0]),
            "price_chart": charts.price_chart(prices),
            "prices": list(reversed(prices))[:20],
            "commodities": commodities,
            "currencies": currencies,
            "done": _done(done),
        },
    )


@router.post("/bank/prices", name="bank_record_price")
def record_price(
    request: Request,
    viewer: BankViewer,
    commodity_code: Annotated[str, Form()],
    currency: Annotated[str, Form()],
    price: Annotated[str, Form()],
) -> Response:
    """Add a price to the bank's feed (running loans are revalued by the use case)."""
    perform(request, viewer, pricefeed.record_price, commodity_code, currency, price, None)
    return see_other(request, f"{PREFIX}/bank/collateral?done=priced")


@router.get("/bank/releases", name="bank_releases")
def releases_page(request: Request, viewer: BankViewer, done: str = "") -> HTMLResponse:
    """What repayments have freed, and the release orders issued."""
    lines, orders = read(request, bank_data.release_desk, viewer.actor)
    return render(
        request,
        "bank/releases.html",
        {"lines": lines, "orders": orders, "done": _done(done)},
    )


@router.post("/bank/loans/{loan_id}/release-orders", name="bank_issue_release")
def issue_release(
    request: Request,
    viewer: BankViewer,
    loan_id: str,
    receipt_id: Annotated[str, Form()],
    quantity: Annotated[str, Form()],
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Order the warehouse to release goods a repayment freed, once per drawn form."""
    qty = quantity.strip()

    def produce() -> dict[str, Any]:
        order = perform(request, viewer, releases.issue_release_order, loan_id, receipt_id, qty, [])
        return {"order_id": order.id}

    body = {"loan_id": loan_id, "receipt_id": receipt_id, "quantity": qty}
    run_once(request, viewer.actor, idempotency_key, "release order", body, produce)
    return see_other(request, f"{PREFIX}/bank/releases?done=ordered")
