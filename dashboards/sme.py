"""SME pages: receipts and offers, loans (apply, follow, repay, ask for a release), statements."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from dashboards import sme_actions, sme_requests, sme_views, statements
from dashboards.web import PREFIX, SmeViewer, is_htmx, page_path, read, render, see_other
from loans.allocation import allocate
from loans.money import Money
from pledge.errors import DomainError, Invalid
from services.api.problems import STATUS_BY_KIND
from services.api.runner import container_of

router = APIRouter(prefix=f"{PREFIX}/sme", include_in_schema=False)
# While a ledger command is on its way the loan's status panel asks again this often (seconds).
STATUS_POLL = 1


def _problem_in_place(
    request: Request, exc: DomainError, template: str, context: dict[str, Any]
) -> HTMLResponse:
    """Show a refused form again with the API's problem detail next to it.

    htmx requests get the site's problem fragment instead (their form shows it in place).
    """
    if is_htmx(request):
        raise exc
    status = STATUS_BY_KIND.get(exc.kind, 422)
    return render(request, template, {**context, "problem": exc}, status=status)


# --- receipts and offers -------------------------------------------------------------------


@router.get("")
def start(request: Request, viewer: SmeViewer) -> Response:
    """The SME pages start at the receipts and their offers."""
    return see_other(request, page_path(request, "sme_receipts"))


@router.get("/receipts", response_class=HTMLResponse, name="sme_receipts")
def receipts(request: Request, viewer: SmeViewer) -> HTMLResponse:
    """The company's receipts, and what each could borrow at every bank's current price."""
    rows = read(request, sme_views.receipts_and_offers, viewer.actor)
    return render(request, "sme/receipts.html", {"rows": rows})


# --- loans ---------------------------------------------------------------------------------


@router.get("/loans", response_class=HTMLResponse, name="sme_loans")
def loans(request: Request, viewer: SmeViewer) -> HTMLResponse:
    """The company's loans and where each stands, on the ledger too."""
    rows = read(request, sme_views.loans, viewer.actor)
    return render(request, "sme/loans.html", {"rows": rows})


@router.get("/loans-table", response_class=HTMLResponse, name="sme_loans_table")
def loans_table(request: Request, viewer: SmeViewer) -> HTMLResponse:
    """The loans table alone; it refreshes itself while a ledger command is on its way."""
    rows = read(request, sme_views.loans, viewer.actor)
    return render(request, "sme/_loans_table.html", {"rows": rows})


def _apply_context(
    request: Request,
    viewer: Any,
    product_id: str = "",
    receipt_ids: list[str] | None = None,
    amount: str = "",
) -> dict[str, Any]:
    products = read(request, sme_views.products_for, viewer.actor)
    rows = read(request, sme_views.receipts_and_offers, viewer.actor)
    free = [row for row in rows if row.receipt.status.value == "issued"]
    return {
        "products": products,
        "receipts": free,
        "chosen_product": product_id,
        "chosen_receipts": set(receipt_ids or []),
        "amount": amount,
    }


@router.get("/loans/new", response_class=HTMLResponse, name="sme_apply_form")
def apply_form(
    request: Request,
    viewer: SmeViewer,
    product_id: str = "",
    receipt_id: str = "",
    amount: str = "",
) -> HTMLResponse:
    """The application form, filled in from an offer when one was chosen."""
    context = _apply_context(
        request, viewer, product_id, [receipt_id] if receipt_id else [], amount
    )
    return render(request, "sme/apply.html", context)


@router.post("/loans", name="sme_apply")
def apply(
    request: Request,
    viewer: SmeViewer,
    product_id: Annotated[str, Form()] = "",
    receipt_ids: Annotated[list[str] | None, Form()] = None,
    amount: Annotated[str, Form()] = "",
) -> Response:
    """Apply for a loan; the bank then values the goods and decides."""
    chosen = [r for r in (receipt_ids or []) if r]
    try:
        if not product_id:
            raise Invalid("product_required", "choose the loan product to apply for")
        loan = sme_actions.apply_for_loan(request, viewer.actor, product_id, chosen, amount)
    except DomainError as exc:
        context = _apply_context(request, viewer, product_id, chosen, amount)
        return _problem_in_place(request, exc, "sme/apply.html", context)
    return see_other(request, page_path(request, "sme_loan", {"applied": 1}, loan_id=loan.id))


def _loan_context(request: Request, viewer: Any, loan_id: str) -> dict[str, Any]:
    detail = read(request, sme_views.loan_detail, viewer.actor, loan_id)
    requests = read(request, sme_requests.requests_of_loan, viewer.actor, loan_id)
    return {"d": detail, "release_requests": requests, "poll": STATUS_POLL}


@router.get("/loans/{loan_id}", response_class=HTMLResponse, name="sme_loan")
def loan(
    request: Request,
    loan_id: str,
    viewer: SmeViewer,
    applied: int = 0,
    paid: str = "",
    asked: int = 0,
    amount: str = "",
) -> HTMLResponse:
    """One loan: status and ledger progress, balances, repayments, releases."""
    context = _loan_context(request, viewer, loan_id)
    context.update(applied=applied, paid=paid, asked=asked, prefill=amount)
    return render(request, "sme/loan.html", context)


@router.get("/loans/{loan_id}/status", response_class=HTMLResponse, name="sme_loan_status")
def loan_status(request: Request, loan_id: str, viewer: SmeViewer) -> HTMLResponse:
    """The loan's status panel alone; it polls itself while a ledger command is pending."""
    context = _loan_context(request, viewer, loan_id)
    return render(request, "sme/_loan_status.html", context)


@router.get("/loans/{loan_id}/repay", response_class=HTMLResponse, name="sme_repay_confirm")
def repay_confirm(
    request: Request, loan_id: str, viewer: SmeViewer, amount: str = ""
) -> HTMLResponse:
    """The confirmation step: how the payment would be applied, before anything moves."""
    context = _loan_context(request, viewer, loan_id)
    loan = context["d"].row.loan
    try:
        payment = Money.of(amount.strip().replace(",", "") or "0", loan.currency)
        if not payment.is_positive():
            raise Invalid("invalid_amount", "enter the amount you are paying")
        if payment != payment.rounded():
            raise Invalid(
                "invalid_amount", f"{loan.currency} amounts have {payment.minor_units} decimals"
            )
        if not context["d"].repayable:
            raise Invalid("invalid_state", f"the loan is {loan.status.value}; nothing to repay")
        split = allocate(
            payment,
            Money(loan.fees, loan.currency),
            Money(loan.interest, loan.currency).rounded(),
            Money(loan.principal, loan.currency),
        )
    except DomainError as exc:
        context["repay_amount"] = amount
        return _problem_in_place(request, exc, "sme/loan.html", context)
    context.update(
        payment=payment, split=split, idempotency_key=sme_actions.form_key(), amount=amount
    )
    return render(request, "sme/repay_confirm.html", context)


@router.post("/loans/{loan_id}/repay", name="sme_repay")
def repay(
    request: Request,
    loan_id: str,
    viewer: SmeViewer,
    amount: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Pay (once per confirmed form: a second submit replays the first payment's result)."""
    try:
        result, _replayed = sme_actions.repay(
            request, viewer.actor, loan_id, amount, idempotency_key
        )
    except DomainError as exc:
        context = _loan_context(request, viewer, loan_id)
        context["repay_amount"] = amount
        return _problem_in_place(request, exc, "sme/loan.html", context)
    paid = str(result["repayment_id"])
    return see_other(request, page_path(request, "sme_loan", {"paid": paid}, loan_id=loan_id))


@router.post("/loans/{loan_id}/release-requests", name="sme_release_request")
def release_request(
    request: Request,
    loan_id: str,
    viewer: SmeViewer,
    receipt_id: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Ask the lending bank to release goods the repayments have freed."""
    try:
        sme_requests.ask_for_release(request, viewer.actor, loan_id, receipt_id, quantity, note)
    except DomainError as exc:
        context = _loan_context(request, viewer, loan_id)
        context["release_form"] = {"receipt_id": receipt_id, "quantity": quantity, "note": note}
        return _problem_in_place(request, exc, "sme/loan.html", context)
    return see_other(request, page_path(request, "sme_loan", {"asked": 1}, loan_id=loan_id))


# --- statements ----------------------------------------------------------------------------


@router.get("/statements", response_class=HTMLResponse, name="sme_statements")
def statements_page(request: Request, viewer: SmeViewer) -> HTMLResponse:
    """Every loan's statement, for any period, as CSV or PDF."""
    rows = read(request, sme_views.loans, viewer.actor)
    return render(request, "sme/statements.html", {"rows": rows})


def _period(start: str, end: str) -> tuple[date | None, date | None]:
    try:
        return (
            date.fromisoformat(start) if start else None,
            date.fromisoformat(end) if end else None,
        )
    except ValueError as exc:
        raise Invalid("invalid_period", "dates are written YYYY-MM-DD") from exc


def _statement(
    request: Request, viewer: Any, loan_id: str, start: str, end: str
) -> statements.Statement:
    first, last = _period(start, end)
    now = container_of(request).context().now
    return read(request, statements.loan_statement, viewer.actor, loan_id, now, first, last)


@router.get("/loans/{loan_id}/statement", response_class=HTMLResponse, name="sme_statement")
def statement_page(
    request: Request, loan_id: str, viewer: SmeViewer, start: str = "", end: str = ""
) -> HTMLResponse:
    """The statement on screen, with the same rows the CSV and PDF carry."""
    st = _statement(request, viewer, loan_id, start, end)
    query = urlencode({k: v for k, v in (("start", start), ("end", end)) if v})
    return render(request, "sme/statement.html", {"st": st, "query": query})


@router.get("/loans/{loan_id}/statement.csv", name="sme_statement_csv")
def statement_csv(
    request: Request, loan_id: str, viewer: SmeViewer, start: str = "", end: str = ""
) -> Response:
    """The loan's statement as CSV."""
    st = _statement(request, viewer, loan_id, start, end)
    return Response(
        statements.statement_csv(st),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{st.filename}.csv"'},
    )


@router.get("/loans/{loan_id}/statement.pdf", name="sme_statement_pdf")
def statement_pdf(
    request: Request, loan_id: str, viewer: SmeViewer, start: str = "", end: str = ""
) -> Response:
    """The loan's statement as PDF."""
    st = _statement(request, viewer, loan_id, start, end)
    return Response(
        statements.statement_pdf(st),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{st.filename}.pdf"'},
    )
