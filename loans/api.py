"""HTTP routes of the loan domain; another organisation's objects answer 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from loans import catalogue, lending, pricefeed, releases, servicing, valuing
from loans.model import Loan, LoanStatus
from loans.money import Money
from loans.schemas import (
    LoanActionOut,
    LoanIn,
    LoanOut,
    MarginCallOut,
    OrderIssuedOut,
    PriceIn,
    PriceOut,
    ProductIn,
    ProductOut,
    RejectIn,
    ReleaseOrderIn,
    ReleaseQuoteOut,
    RepaidOut,
    RepaymentIn,
    RepaymentOut,
    ValuationLineOut,
    ValuationOut,
)
from pledge.errors import Invalid
from pledge.model import ReceiptStatus
from pledge.parties import Actor, OrgKind, Role
from pledge.schemas import ReceiptOut, ReleaseOrderOut
from services.api.runner import commands_out, idempotent, perform, read
from services.api.schemas import Page, paginate
from services.api.security import get_person
from services.uow import SqlUnitOfWork

router = APIRouter(tags=["loans"])
ActorDep = Annotated[Actor, Depends(get_person)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
MAX_CSV_BYTES = 1_000_000


def loan_out(loan: Loan) -> LoanOut:
    """A loan with its current outstanding amount."""
    view = LoanOut.model_validate(loan)
    view.outstanding = valuing.outstanding(loan).amount
    return view


def _fresh_loan(request: Request, actor: Actor, loan_id: str) -> LoanOut:
    return read(request, lambda uow: loan_out(lending.visible_loan(uow, actor, loan_id)))


# --- products and prices -------------------------------------------------------------------


@router.post("/products", status_code=201, response_model=ProductOut)
def create_product(body: ProductIn, actor: ActorDep, request: Request) -> Any:
    """Publish a pledge-loan product."""
    product, _ = perform(request, catalogue.create_product, actor, **body.model_dump())
    return product


@router.get("/products", response_model=Page[ProductOut])
def list_products(actor: ActorDep, request: Request, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Your bank's products; for an SME, every bank's published offers."""

    def query(uow: SqlUnitOfWork) -> list[Any]:
        if actor.org_kind is OrgKind.SME:
            return uow.products.find()
        return uow.products.find(bank_org_id=actor.org_id)

    return paginate(read(request, query), limit, offset)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: str, actor: ActorDep, request: Request) -> Any:
    """One product you may see."""
    return read(request, catalogue.visible_product, actor, product_id)


@router.post("/prices", status_code=201, response_model=PriceOut)
def record_price(body: PriceIn, actor: ActorDep, request: Request) -> Any:
    """Add a price to your bank's feed; running loans are revalued at once."""
    price, _ = perform(
        request,
        pricefeed.record_price,
        actor,
        body.commodity_code,
        body.currency,
        body.price,
        body.as_of,
    )
    return price


@router.post(
    "/prices/import",
    status_code=201,
    response_model=list[PriceOut],
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def import_prices(actor: ActorDep, request: Request) -> Any:
    """Import prices from CSV (commodity,currency,price,as_of); all rows or none."""
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise Invalid("payload_too_large", f"CSV imports are limited to {MAX_CSV_BYTES} bytes")
    text = raw.decode("utf-8-sig", errors="replace")
    prices, _ = perform(request, pricefeed.import_prices_csv, actor, text)
    return prices


@router.get("/prices", response_model=Page[PriceOut])
def list_prices(
    actor: ActorDep,
    request: Request,
    commodity: str | None = None,
    currency: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Your bank's price history, newest first."""
    actor.require(OrgKind.BANK, Role.VIEWER)
    filters: dict[str, Any] = {"entered_by_org_id": actor.org_id}
    if commodity:
        filters["commodity_code"] = commodity
    if currency:
        filters["currency"] = currency
    items = read(request, lambda uow: uow.prices.find(**filters))
    items.sort(key=lambda p: (p.as_of, p.id), reverse=True)
    return paginate(items, limit, offset)


# --- receipts as collateral ----------------------------------------------------------------


@router.get("/receipts", response_model=Page[ReceiptOut], tags=["collateral"])
def list_receipts(
    actor: ActorDep,
    request: Request,
    status: ReceiptStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Receipts your organisation issued, deposited, or was offered as collateral."""

    def query(uow: SqlUnitOfWork) -> list[Any]:
        if actor.org_kind is OrgKind.WAREHOUSE:
            found = uow.receipts.find(warehouse_org_id=actor.org_id)
        elif actor.org_kind is OrgKind.SME:
            found = uow.receipts.find(depositor_org_id=actor.org_id)
        elif actor.org_kind is OrgKind.BANK:
            ids = {
                rid for loan in uow.loans.find(bank_org_id=actor.org_id) for rid in loan.receipt_ids
            }
            found = [r for r in (uow.receipts.get(i) for i in sorted(ids)) if r is not None]
        else:
            found = []
        return [r for r in found if status is None or r.status is status]

    return paginate(read(request, query), limit, offset)


@router.get("/receipts/{receipt_id}", response_model=ReceiptOut, tags=["collateral"])
def get_receipt(receipt_id: str, actor: ActorDep, request: Request) -> Any:
    """One receipt you may see."""
    return read(request, lending.visible_loan_receipt, actor, receipt_id)


# --- loans ---------------------------------------------------------------------------------


@router.post("/loans", status_code=201, response_model=LoanOut)
def apply(body: LoanIn, actor: ActorDep, request: Request) -> Any:
    """Apply for a loan against your issued receipts."""
    loan, _ = perform(
        request, lending.apply_for_loan, actor, body.product_id, body.receipt_ids, body.amount
    )
    return loan_out(loan)


@router.get("/loans", response_model=Page[LoanOut])
def list_loans(
    actor: ActorDep,
    request: Request,
    status: LoanStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Loans your organisation lends or borrows."""
    field = {OrgKind.BANK: "bank_org_id", OrgKind.SME: "sme_org_id"}.get(actor.org_kind)

    def query(uow: SqlUnitOfWork) -> list[LoanOut]:
        if field is None:
            return []
        filters: dict[str, Any] = {field: actor.org_id}
        if status is not None:
            filters["status"] = status
        return [loan_out(loan) for loan in uow.loans.find(**filters)]

    return paginate(read(request, query), limit, offset)


@router.get("/loans/{loan_id}", response_model=LoanOut)
def get_loan(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """One loan your organisation is party to."""
    return _fresh_loan(request, actor, loan_id)


@router.get("/loans/{loan_id}/valuation", response_model=ValuationOut)
def valuation(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Collateral value at the latest prices, and LTV (of the amount asked, until paid out)."""

    def query(uow: SqlUnitOfWork) -> ValuationOut:
        loan = lending.visible_loan(uow, actor, loan_id)
        exposure = None
        if loan.status in (LoanStatus.APPLIED, LoanStatus.APPROVED, LoanStatus.PLEDGED):
            exposure = Money(loan.amount_requested, loan.currency)
        v = valuing.value_loan(uow, loan, exposure)
        return ValuationOut(
            currency=loan.currency,
            lines=[
                ValuationLineOut(
                    receipt_id=ln.receipt_id,
                    commodity_code=ln.commodity_code,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price.amount,
                    haircut=ln.haircut,
                    value=ln.value.amount,
                    verified_quantity=ln.verified_quantity,
                    monitoring=ln.monitoring.value,
                )
                for ln in v.lines
            ],
            collateral=v.collateral.amount,
            outstanding=v.outstanding.amount,
            ltv=v.ltv,
        )

    return read(request, query)


def _loan_action(
    request: Request, actor: Actor, use_case: Any, loan_id: str, *args: Any
) -> LoanActionOut:
    _, commands = perform(request, use_case, actor, loan_id, *args)
    return LoanActionOut(
        loan=_fresh_loan(request, actor, loan_id), commands=commands_out(request, commands)
    )


@router.post("/loans/{loan_id}/approve", status_code=202, response_model=LoanActionOut)
def approve(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Approve within max LTV; the pledge is registered on the ledger (bank and warehouse)."""
    return _loan_action(request, actor, lending.approve_loan, loan_id)


@router.post("/loans/{loan_id}/reject", response_model=LoanOut)
def reject(loan_id: str, body: RejectIn, actor: ActorDep, request: Request) -> Any:
    """Turn an application down with reasons."""
    perform(request, lending.reject_loan, actor, loan_id, body.reasons)
    return _fresh_loan(request, actor, loan_id)


@router.post("/loans/{loan_id}/disburse", status_code=202, response_model=LoanActionOut)
def disburse(
    loan_id: str, actor: ActorDep, request: Request, idempotency_key: IdemKey = None
) -> Any:
    """Pay out a pledged loan (Idempotency-Key required)."""

    def produce() -> tuple[int, Any]:
        out = _loan_action(request, actor, lending.disburse, loan_id)
        return 202, out.model_dump(mode="json")

    return idempotent(request, actor, idempotency_key, {"loan_id": loan_id}, produce)


@router.post("/loans/{loan_id}/repayments", status_code=202, response_model=RepaidOut)
def repay(
    loan_id: str,
    body: RepaymentIn,
    actor: ActorDep,
    request: Request,
    idempotency_key: IdemKey = None,
) -> Any:
    """Repay: fees, then interest, then principal (Idempotency-Key required)."""

    def produce() -> tuple[int, Any]:
        repayment, commands = perform(request, servicing.repay, actor, loan_id, body.amount)
        out = RepaidOut(
            repayment=RepaymentOut.model_validate(repayment),
            loan=_fresh_loan(request, actor, loan_id),
            release_quote=[
                ReleaseQuoteOut.model_validate(q)
                for q in read(request, releases.release_quote, actor, loan_id)
            ],
            commands=commands_out(request, commands),
        )
        return 202, out.model_dump(mode="json")

    return idempotent(request, actor, idempotency_key, body.model_dump(), produce)


@router.get("/loans/{loan_id}/repayments", response_model=list[RepaymentOut])
def list_repayments(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Payments received on a loan."""

    def query(uow: SqlUnitOfWork) -> list[Any]:
        lending.visible_loan(uow, actor, loan_id)
        return sorted(uow.repayments.find(loan_id=loan_id), key=lambda r: r.received_at)

    return read(request, query)


@router.get("/loans/{loan_id}/release-quote", response_model=list[ReleaseQuoteOut])
def release_quote(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """How much of each pledged receipt can be released while LTV stays within the maximum."""
    return read(request, releases.release_quote, actor, loan_id)


@router.post("/loans/{loan_id}/release-orders", status_code=202, response_model=OrderIssuedOut)
def issue_release_order(
    loan_id: str,
    body: ReleaseOrderIn,
    actor: ActorDep,
    request: Request,
    idempotency_key: IdemKey = None,
) -> Any:
    """Order the warehouse to release freed goods (Idempotency-Key required)."""

    def produce() -> tuple[int, Any]:
        order, commands = perform(
            request,
            releases.issue_release_order,
            actor,
            loan_id,
            body.receipt_id,
            body.quantity,
            body.epcs,
        )
        fresh = read(request, lambda uow: uow.orders.get(order.id))
        out = OrderIssuedOut(
            order=ReleaseOrderOut.model_validate(fresh), commands=commands_out(request, commands)
        )
        return 202, out.model_dump(mode="json")

    return idempotent(
        request, actor, idempotency_key, body.model_dump() | {"loan": loan_id}, produce
    )


@router.post("/loans/{loan_id}/default", status_code=202, response_model=LoanActionOut)
def declare_default(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Declare the borrower in default."""
    return _loan_action(request, actor, lending.declare_default, loan_id)


@router.post("/loans/{loan_id}/liquidate", status_code=202, response_model=LoanActionOut)
def liquidate(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Take the pledged goods of a defaulted loan to sell them."""
    return _loan_action(request, actor, lending.liquidate, loan_id)


@router.get("/loans/{loan_id}/margin-calls", response_model=list[MarginCallOut])
def margin_calls(loan_id: str, actor: ActorDep, request: Request) -> Any:
    """Margin calls raised on a loan."""

    def query(uow: SqlUnitOfWork) -> list[Any]:
        lending.visible_loan(uow, actor, loan_id)
        return sorted(uow.margin_calls.find(loan_id=loan_id), key=lambda c: c.raised_at)

    return read(request, query)
