"""Loan use cases: products, prices, applications, approval, disbursement, repayment, releases."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from loans.allocation import allocate
from loans.daycount import parse_day_count
from loans.interest import accrual_days, daily_interest
from loans.model import (
    SECURED,
    Accrual,
    Loan,
    LoanProduct,
    LoanStatus,
    MarginCall,
    Price,
    Repayment,
)
from loans.money import Money, as_decimal
from loans.ports import LoansUnitOfWork
from loans.release import releasable_quantity
from loans.valuation import LtvBand, collateral_value, ltv, ltv_band, validate_thresholds
from pledge.errors import Conflict, Invalid, NotFound
from pledge.lienkeys import commitment, lien_keys
from pledge.model import OrderStatus, Receipt, ReceiptStatus, ReleaseOrder, plan_release
from pledge.parties import Actor, OrgKind, Role
from pledge.ports import Context
from pledge.service import get_commodity, new_id


@dataclass(frozen=True)
class ValuationLine:
    """One receipt's contribution to collateral value."""

    receipt_id: str
    commodity_code: str
    quantity: Decimal
    unit_price: Money
    haircut: Decimal
    value: Money


@dataclass(frozen=True)
class Valuation:
    """Collateral value of a loan's receipts and the resulting LTV."""

    lines: list[ValuationLine]
    collateral: Money
    outstanding: Money
    ltv: Decimal | None


@dataclass(frozen=True)
class ReleaseQuote:
    """How much of a receipt the SME's repayment has freed."""

    receipt_id: str
    lot_id: str
    commodity_code: str
    unit: str
    pledged_quantity: Decimal
    releasable: Decimal


# A receipt already under someone's lien may still be offered (a refinancing, or a fraud): the
# bank cannot see other banks' liens, so the ledger's lien check decides, not local state.
PLEDGEABLE = frozenset({ReceiptStatus.ISSUED, ReceiptStatus.PLEDGED})


# --- products and prices -------------------------------------------------------------------


def create_product(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    *,
    name: str,
    currency: str,
    annual_rate: str,
    day_count: str,
    haircuts: dict[str, str],
    max_ltv: str,
    margin_call_ltv: str,
    liquidation_ltv: str,
    fee_rate: str = "0",
) -> LoanProduct:
    """Publish a bank's pledge-loan product after checking its terms hang together."""
    actor.require(OrgKind.BANK)
    Money.zero(currency)  # refuses unknown currencies with a clear code
    dc = parse_day_count(day_count)
    rate = as_decimal(annual_rate, "annual_rate", "invalid_rate")
    if not Decimal(0) <= rate <= Decimal(1):
        raise Invalid("invalid_rate", "annual_rate is a fraction between 0 and 1, e.g. 0.085")
    fee = as_decimal(fee_rate, "fee_rate", "invalid_rate")
    if not Decimal(0) <= fee < Decimal("0.2"):
        raise Invalid("invalid_rate", "fee_rate is a fraction of principal below 0.2")
    thresholds = [
        as_decimal(v, n, "invalid_thresholds")
        for n, v in (
            ("max_ltv", max_ltv),
            ("margin_call_ltv", margin_call_ltv),
            ("liquidation_ltv", liquidation_ltv),
        )
    ]
    validate_thresholds(*thresholds)
    if not haircuts:
        raise Invalid("invalid_haircuts", "name at least one commodity and its haircut")
    clean: dict[str, str] = {}
    for code, value in haircuts.items():
        get_commodity(uow, code)
        cut = as_decimal(value, f"haircut of {code}", "invalid_haircuts")
        if not Decimal(0) <= cut < Decimal(1):
            raise Invalid("invalid_haircuts", f"haircut of {code} must be in [0, 1)")
        clean[code] = str(cut)
    product = LoanProduct(
        new_id(),
        actor.org_id,
        name.strip() or "Pledge loan",
        currency,
        rate,
        dc.value,
        clean,
        thresholds[0],
        thresholds[1],
        thresholds[2],
        fee,
        ctx.now,
    )
    uow.products.add(product)
    uow.commit()
    return product


def visible_product(uow: LoansUnitOfWork, actor: Actor, product_id: str) -> LoanProduct:
    """A product the actor may see: banks their own, SMEs any published offer."""
    product = uow.products.get(product_id)
    if product is None or (
        actor.org_kind is not OrgKind.SME and product.bank_org_id != actor.org_id
    ):
        raise NotFound("product_not_found", f"no loan product {product_id}")
    return product


def record_price(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    commodity_code: str,
    currency: str,
    price: str,
    as_of: datetime | None = None,
    source: str = "manual",
) -> Price:
    """Add a price to the bank's feed, then revalue its loans against it."""
    entry = _new_price(uow, actor, ctx, commodity_code, currency, price, as_of, source)
    uow.prices.add(entry)
    revalue_bank_loans(uow, ctx, actor.org_id)
    uow.commit()
    return entry


def _new_price(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    commodity_code: str,
    currency: str,
    price: str,
    as_of: datetime | None,
    source: str,
) -> Price:
    actor.require(OrgKind.BANK)
    get_commodity(uow, commodity_code)
    unit_price = Money.of(price, currency)
    if not unit_price.is_positive():
        raise Invalid("invalid_price", f"a price must be positive, got {price}")
    when = as_of or ctx.now
    if when.tzinfo is None:
        raise Invalid("invalid_timestamp", "as_of needs a time zone, e.g. 2026-11-23T09:00:00Z")
    if when > ctx.now + timedelta(minutes=5):
        raise Invalid("invalid_timestamp", "as_of lies in the future")
    return Price(new_id(), commodity_code, currency, unit_price.amount, when, source, actor.org_id)


def import_prices_csv(uow: LoansUnitOfWork, actor: Actor, ctx: Context, text: str) -> list[Price]:
    """Import a CSV (commodity,currency,price,as_of); all rows or none, errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    needed = {"commodity", "currency", "price", "as_of"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise Invalid("invalid_csv", f"the header must name the columns {sorted(needed)}")
    entries: list[Price] = []
    for line_no, row in enumerate(reader, start=2):
        try:
            as_of = datetime.fromisoformat(row["as_of"].strip().replace("Z", "+00:00"))
            entries.append(
                _new_price(
                    uow,
                    actor,
                    ctx,
                    row["commodity"].strip(),
                    row["currency"].strip(),
                    row["price"].strip(),
                    as_of,
                    "csv",
                )
            )
        except (ValueError, AttributeError) as exc:
            raise Invalid("invalid_csv", f"line {line_no}: {exc}") from exc
        except Invalid as exc:
            raise Invalid("invalid_csv", f"line {line_no}: {exc.detail}") from exc
    if not entries:
        raise Invalid("invalid_csv", "the file holds no price rows")
    for entry in entries:
        uow.prices.add(entry)
    revalue_bank_loans(uow, ctx, actor.org_id)
    uow.commit()
    return entries


def latest_price(uow: LoansUnitOfWork, bank_org_id: str, commodity: str, currency: str) -> Money:
    """The bank's latest price for a commodity in a currency."""
    rows = uow.prices.find(
        commodity_code=commodity, currency=currency, entered_by_org_id=bank_org_id
    )
    if not rows:
        raise Conflict("no_price", f"no {currency} price for {commodity} in the bank's feed")
    newest = max(rows, key=lambda p: (p.as_of, p.id))
    return Money(newest.price, currency)


# --- applications and valuation ------------------------------------------------------------


def apply_for_loan(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    product_id: str,
    receipt_ids: list[str],
    amount: str,
) -> Loan:
    """An SME asks a bank for a loan against its issued receipts."""
    actor.require(OrgKind.SME)
    product = visible_product(uow, actor, product_id)
    requested = Money.of(amount, product.currency)
    if not requested.is_positive():
        raise Invalid("invalid_amount", "the amount requested must be positive")
    if requested != requested.rounded():
        raise Invalid(
            "invalid_amount", f"{product.currency} amounts have {requested.minor_units} decimals"
        )
    if not receipt_ids or len(set(receipt_ids)) != len(receipt_ids):
        raise Invalid("invalid_receipts", "name one or more distinct receipts")
    for rid in receipt_ids:
        receipt = uow.receipts.get(rid)
        if receipt is None or receipt.depositor_org_id != actor.org_id:
            raise NotFound("receipt_not_found", f"no receipt {rid}")
        if receipt.status not in PLEDGEABLE:
            raise Conflict(
                "receipt_not_available",
                f"receipt {receipt.number} is {receipt.status.value}; it cannot secure a loan",
            )
        if product.haircut(receipt.commodity_code) is None:
            raise Invalid(
                "commodity_not_accepted",
                f"this product does not lend against {receipt.commodity_code}",
            )
    loan = Loan(
        new_id(),
        product.bank_org_id,
        actor.org_id,
        product.id,
        list(receipt_ids),
        product.currency,
        requested.amount,
        LoanStatus.APPLIED,
        ctx.now,
        salt=secrets.token_hex(16),
    )
    uow.loans.add(loan)
    uow.commit()
    return loan


def visible_loan(uow: LoansUnitOfWork, actor: Actor, loan_id: str) -> Loan:
    """A loan the actor's organisation is party to (its bank or its SME)."""
    loan = uow.loans.get(loan_id)
    if loan is None or actor.org_id not in (loan.bank_org_id, loan.sme_org_id):
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    return loan


def outstanding(loan: Loan) -> Money:
    """Principal, fees and billed (rounded) interest still owed."""
    return (
        Money(loan.principal, loan.currency)
        + Money(loan.fees, loan.currency)
        + Money(loan.interest, loan.currency).rounded()
    )


def value_loan(uow: LoansUnitOfWork, loan: Loan, exposure: Money | None = None) -> Valuation:
    """Value a loan's receipts at the bank's latest prices less haircuts, and its LTV."""
    product = _product(uow, loan)
    lines = []
    total = Money.zero(loan.currency)
    for rid in loan.receipt_ids:
        receipt = _receipt(uow, rid)
        if receipt.status in (ReceiptStatus.RELEASED, ReceiptStatus.LIQUIDATED):
            continue
        price = latest_price(uow, loan.bank_org_id, receipt.commodity_code, loan.currency)
        haircut = product.haircut(receipt.commodity_code) or Decimal(0)
        value = collateral_value(receipt.quantity, price, haircut)
        lines.append(
            ValuationLine(rid, receipt.commodity_code, receipt.quantity, price, haircut, value)
        )
        total = total + value
    owed = exposure if exposure is not None else outstanding(loan)
    return Valuation(lines, total, owed, ltv(owed, total))


def _product(uow: LoansUnitOfWork, loan: Loan) -> LoanProduct:
    product = uow.products.get(loan.product_id)
    if product is None:
        raise NotFound("product_not_found", f"no loan product {loan.product_id}")
    return product


def _receipt(uow: LoansUnitOfWork, receipt_id: str) -> Receipt:
    receipt = uow.receipts.get(receipt_id)
    if receipt is None:
        raise NotFound("receipt_not_found", f"no receipt {receipt_id}")
    return receipt


def visible_loan_receipt(uow: LoansUnitOfWork, actor: Actor, receipt_id: str) -> Receipt:
    """A receipt seen by its warehouse, its depositor, or a bank it was offered to."""
    receipt = _receipt(uow, receipt_id)
    if actor.org_id in (receipt.warehouse_org_id, receipt.depositor_org_id):
        return receipt
    if actor.org_kind is OrgKind.BANK and any(
        receipt_id in loan.receipt_ids for loan in uow.loans.find(bank_org_id=actor.org_id)
    ):
        return receipt
    raise NotFound("receipt_not_found", f"no receipt {receipt_id}")


# --- decisions -----------------------------------------------------------------------------


def _bank_loan(uow: LoansUnitOfWork, actor: Actor, loan_id: str, *allowed: LoanStatus) -> Loan:
    actor.require(OrgKind.BANK)
    loan = visible_loan(uow, actor, loan_id)
    if loan.bank_org_id != actor.org_id:
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    if allowed and loan.status not in allowed:
        raise Conflict(
            "invalid_state",
            f"the loan is {loan.status.value}; this needs " + " or ".join(s.value for s in allowed),
        )
    return loan


def approve_loan(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """Approve within max LTV and register the pledge on the ledger (bank and warehouse sign)."""
    loan = _bank_loan(uow, actor, loan_id, LoanStatus.APPLIED)
    product = _product(uow, loan)
    requested = Money(loan.amount_requested, loan.currency)
    valuation = value_loan(uow, loan, exposure=requested)
    if valuation.ltv is None or valuation.ltv > product.max_ltv:
        shown = "unsecured" if valuation.ltv is None else f"{valuation.ltv:.4f}"
        raise Conflict(
            "ltv_above_max",
            f"requested {requested} against collateral worth {valuation.collateral} gives LTV "
            f"{shown}, above this product's maximum {product.max_ltv}",
        )
    receipts = [_receipt(uow, rid) for rid in loan.receipt_ids]
    warehouses = {r.warehouse_org_id for r in receipts}
    if len(warehouses) != 1:
        raise Invalid("mixed_warehouses", "a loan's receipts must come from one warehouse")
    for receipt in receipts:
        if receipt.status not in PLEDGEABLE:
            raise Conflict(
                "receipt_not_available", f"receipt {receipt.number} is {receipt.status.value}"
            )
    loan.status = LoanStatus.APPROVED
    loan.collateral_value = valuation.collateral.amount
    loan.ltv = valuation.ltv
    loan.decided_at = ctx.now
    warehouse_msp = uow.orgs.msp_of(warehouses.pop())
    uow.ledger.enqueue(
        org_id=actor.org_id,
        kind="register_pledge",
        subject_type="loan",
        subject_id=loan.id,
        fn="register_pledge",
        args={
            "loan_id": loan.id,
            "receipt_ids": list(loan.receipt_ids),
            "warehouse_msp": warehouse_msp,
            "commitment": _terms(ctx, loan),
        },
        submitter_msp=actor.msp_id,
        endorsers=[warehouse_msp],
    )
    uow.commit()
    return loan


def _terms(ctx: Context, loan: Loan) -> str:
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


def reject_loan(
    uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str, reasons: list[str]
) -> Loan:
    """Turn an application down, with the reasons the SME will read."""
    loan = _bank_loan(uow, actor, loan_id, LoanStatus.APPLIED)
    clean = [r.strip() for r in reasons if r.strip()]
    if not clean:
        raise Invalid("reason_required", "say why the application is rejected")
    loan.status = LoanStatus.REJECTED
    loan.reasons = loan.reasons + clean
    loan.decided_at = ctx.now
    uow.commit()
    return loan


def on_pledge_confirmed(uow: LoansUnitOfWork, loan: Loan) -> None:
    """The ledger registered the lien: the receipts are pledged and the loan may be disbursed."""
    if loan.status is LoanStatus.APPROVED:
        loan.status = LoanStatus.PLEDGED
    for rid in loan.receipt_ids:
        receipt = _receipt(uow, rid)
        receipt.status = ReceiptStatus.PLEDGED
        receipt.loan_id = loan.id


def on_pledge_rejected(loan: Loan, reason: str) -> None:
    """The ledger refused the lien (for instance, the goods are pledged elsewhere)."""
    loan.status = LoanStatus.REJECTED
    loan.reasons = [*loan.reasons, f"the ledger refused the pledge: {reason}"]


def on_lien_lifted(uow: LoansUnitOfWork, loan: Loan) -> None:
    """The ledger lifted the lien: the remaining goods are free again."""
    for rid in loan.receipt_ids:
        receipt = _receipt(uow, rid)
        if receipt.status is ReceiptStatus.PLEDGED and receipt.loan_id == loan.id:
            receipt.status = ReceiptStatus.ISSUED
            receipt.loan_id = None


def disburse(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """Pay out a pledged loan; interest accrues from today, the fee is charged once."""
    loan = _bank_loan(uow, actor, loan_id, LoanStatus.PLEDGED)
    product = _product(uow, loan)
    principal = Money(loan.amount_requested, loan.currency)
    loan.principal = principal.amount
    loan.fees = (principal * product.fee_rate).rounded().amount
    loan.interest = Decimal(0)
    loan.accrued_through = ctx.now.date() - timedelta(days=1)
    loan.disbursed_at = ctx.now
    loan.status = LoanStatus.ACTIVE
    _ledger_update(uow, ctx, loan)
    uow.commit()
    return loan


def _ledger_update(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> None:
    uow.ledger.enqueue(
        org_id=loan.bank_org_id,
        kind="update_loan",
        subject_type="loan",
        subject_id=loan.id,
        fn="update_loan",
        args={"loan_id": loan.id, "status": loan.status.value, "commitment": _terms(ctx, loan)},
        submitter_msp=uow.orgs.msp_of(loan.bank_org_id),
    )


# --- interest, repayment, revaluation ------------------------------------------------------


def accrue_interest(uow: LoansUnitOfWork, loan: Loan, through: date) -> int:
    """Book each missing day's interest up to `through`; returns how many days were booked."""
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        return 0
    if loan.accrued_through is None:
        return 0
    product = _product(uow, loan)
    dc = parse_day_count(product.day_count)
    days = accrual_days(loan.accrued_through, through)
    principal = Money(loan.principal, loan.currency)
    for day in days:
        amount = daily_interest(principal, product.annual_rate, dc)
        uow.accruals.add(Accrual(loan.id, day, amount, principal.amount))
        loan.interest += amount
    if days:
        loan.accrued_through = days[-1]
    return len(days)


def accrue_all(uow: LoansUnitOfWork, today: date) -> int:
    """The daily job: bring every running loan's interest up to yesterday, catching up gaps."""
    booked = 0
    for status in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        for loan in uow.loans.find(status=status):
            booked += accrue_interest(uow, loan, today - timedelta(days=1))
    uow.commit()
    return booked


def repay(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str, amount: str) -> Repayment:
    """Apply a payment to fees, then interest, then principal; the last one closes the loan."""
    actor.require(OrgKind.SME)
    loan = visible_loan(uow, actor, loan_id)
    if loan.sme_org_id != actor.org_id:
        raise NotFound("loan_not_found", f"no loan {loan_id}")
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED):
        raise Conflict("invalid_state", f"the loan is {loan.status.value}; nothing to repay")
    payment = Money.of(amount, loan.currency)
    if payment != payment.rounded():
        raise Invalid(
            "invalid_amount", f"{loan.currency} amounts have {payment.minor_units} decimals"
        )
    today = ctx.now.date()
    accrue_interest(uow, loan, today - timedelta(days=1))
    split = allocate(
        payment,
        Money(loan.fees, loan.currency),
        Money(loan.interest, loan.currency).rounded(),
        Money(loan.principal, loan.currency),
    )
    if split.excess.is_positive():
        raise Invalid(
            "overpayment",
            f"the payment exceeds what is owed ({outstanding(loan)}) by {split.excess}",
        )
    loan.fees -= split.fees.amount
    loan.interest -= split.interest.amount
    loan.principal -= split.principal.amount
    repayment = Repayment(
        new_id(),
        loan.id,
        payment.amount,
        split.fees.amount,
        split.interest.amount,
        split.principal.amount,
        today,
        ctx.now,
    )
    uow.repayments.add(repayment)
    if outstanding(loan).is_zero():
        _close(uow, ctx, loan)
    else:
        _revalue(uow, ctx, loan)
        _ledger_update(uow, ctx, loan)
    uow.commit()
    return repayment


def _close(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> None:
    # Sub-cent interest left after rounding is written off with the final payment.
    loan.interest = Decimal(0)
    loan.status = LoanStatus.CLOSED
    loan.closed_at = ctx.now
    for call in uow.margin_calls.find(loan_id=loan.id, status="open"):
        call.status, call.cleared_at = "cleared", ctx.now
    uow.ledger.enqueue(
        org_id=loan.bank_org_id,
        kind="lift_lien",
        subject_type="loan",
        subject_id=loan.id,
        fn="lift_lien",
        args={"loan_id": loan.id, "commitment": _terms(ctx, loan)},
        submitter_msp=uow.orgs.msp_of(loan.bank_org_id),
    )


def _revalue(uow: LoansUnitOfWork, ctx: Context, loan: Loan) -> MarginCall | None:
    product = _product(uow, loan)
    valuation = value_loan(uow, loan)
    loan.collateral_value = valuation.collateral.amount
    loan.ltv = valuation.ltv
    band = ltv_band(valuation.ltv, product.margin_call_ltv, product.liquidation_ltv)
    if band is not LtvBand.OK and loan.status is LoanStatus.ACTIVE:
        loan.status = LoanStatus.MARGIN_CALL
        call = MarginCall(
            new_id(),
            loan.id,
            valuation.ltv,
            valuation.collateral.amount,
            valuation.outstanding.amount,
            ctx.now,
        )
        uow.margin_calls.add(call)
        return call
    if band is LtvBand.OK and loan.status is LoanStatus.MARGIN_CALL:
        loan.status = LoanStatus.ACTIVE
        for call in uow.margin_calls.find(loan_id=loan.id, status="open"):
            call.status, call.cleared_at = "cleared", ctx.now
    return None


def revalue_bank_loans(uow: LoansUnitOfWork, ctx: Context, bank_org_id: str) -> list[MarginCall]:
    """Revalue a bank's running loans; raise margin calls where LTV crossed the threshold."""
    calls = []
    for loan in uow.loans.find(bank_org_id=bank_org_id):
        if loan.status not in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL):
            continue
        before = loan.status
        call = _revalue(uow, ctx, loan)
        if call is not None:
            calls.append(call)
        if loan.status is not before:
            _ledger_update(uow, ctx, loan)
    return calls


def declare_default(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """The bank declares the borrower in default after an unmet margin call or missed payment."""
    loan = _bank_loan(uow, actor, loan_id, LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL)
    loan.status = LoanStatus.DEFAULTED
    _ledger_update(uow, ctx, loan)
    uow.commit()
    return loan


def liquidate(uow: LoansUnitOfWork, actor: Actor, ctx: Context, loan_id: str) -> Loan:
    """The bank takes the pledged goods to sell them; the liens end as liquidated."""
    loan = _bank_loan(uow, actor, loan_id, LoanStatus.DEFAULTED)
    loan.status = LoanStatus.LIQUIDATED
    loan.closed_at = ctx.now
    for rid in loan.receipt_ids:
        receipt = _receipt(uow, rid)
        if receipt.status is ReceiptStatus.PLEDGED:
            receipt.status = ReceiptStatus.LIQUIDATED
    _ledger_update(uow, ctx, loan)
    uow.commit()
    return loan


# --- releases ------------------------------------------------------------------------------


def release_quote(uow: LoansUnitOfWork, actor: Actor, loan_id: str) -> list[ReleaseQuote]:
    """For each pledged receipt, how much can leave while LTV stays within the maximum."""
    actor.require_any((OrgKind.BANK, OrgKind.SME), Role.VIEWER)
    loan = visible_loan(uow, actor, loan_id)
    return _quotes(uow, loan)


def _quotes(uow: LoansUnitOfWork, loan: Loan) -> list[ReleaseQuote]:
    if loan.status not in SECURED:
        return []
    product = _product(uow, loan)
    owed = outstanding(loan)
    pending = {
        o.receipt_id: o.quantity
        for o in uow.orders.find(loan_id=loan.id)
        if o.status in (OrderStatus.PENDING, OrderStatus.OPEN)
    }
    receipts = [
        r
        for r in (_receipt(uow, rid) for rid in loan.receipt_ids)
        if r.status is ReceiptStatus.PLEDGED
    ]
    units = {}
    for r in receipts:
        price = latest_price(uow, loan.bank_org_id, r.commodity_code, loan.currency)
        haircut = product.haircut(r.commodity_code) or Decimal(0)
        units[r.id] = (r.quantity - pending.get(r.id, Decimal(0)), price, haircut)
    quotes = []
    for r in receipts:
        qty, price, haircut = units[r.id]
        others = Money.zero(loan.currency)
        for other in receipts:
            if other.id != r.id:
                oq, op, oh = units[other.id]
                others = others + collateral_value(oq, op, oh)
        step = get_commodity(uow, r.commodity_code).step
        free = releasable_quantity(
            owed, qty, price * (Decimal(1) - haircut), others, product.max_ltv, step
        )
        quotes.append(ReleaseQuote(r.id, r.lot_id, r.commodity_code, r.unit, qty, free))
    return quotes


def issue_release_order(
    uow: LoansUnitOfWork,
    actor: Actor,
    ctx: Context,
    loan_id: str,
    receipt_id: str,
    quantity: str,
    epcs: list[str],
) -> ReleaseOrder:
    """The lien-holding bank orders the warehouse to release goods the repayments have freed."""
    loan = _bank_loan(uow, actor, loan_id, *SECURED)
    quote = next((q for q in _quotes(uow, loan) if q.receipt_id == receipt_id), None)
    if quote is None:
        raise NotFound("receipt_not_found", f"receipt {receipt_id} is not pledged to this loan")
    receipt = _receipt(uow, receipt_id)
    qty = as_decimal(quantity, "quantity", "invalid_quantity")
    step = get_commodity(uow, receipt.commodity_code).step
    if qty <= 0 or qty % step != 0:
        raise Invalid("invalid_quantity", f"quantity must be a positive multiple of {step}")
    if qty > quote.releasable:
        raise Conflict(
            "release_exceeds_quote",
            f"at most {quote.releasable} {receipt.unit} can "
            f"be released while LTV stays within {_product(uow, loan).max_ltv}",
        )
    lot = uow.lots.get(receipt.lot_id)
    if lot is None:
        raise NotFound("lot_not_found", f"no lot {receipt.lot_id}")
    leaving = plan_release(lot, qty, epcs)
    if qty == receipt.quantity:
        keys = list(receipt.lien_keys)
    else:
        keys = lien_keys(ctx.lien_secret, receipt.warehouse_id, lot.id, leaving) if leaving else []
    order = ReleaseOrder(
        new_id(),
        loan.id,
        actor.org_id,
        receipt.id,
        lot.id,
        receipt.warehouse_org_id,
        loan.sme_org_id,
        qty,
        leaving,
        keys,
        OrderStatus.PENDING,
        ctx.now,
    )
    uow.orders.add(order)
    uow.ledger.enqueue(
        org_id=actor.org_id,
        kind="issue_release_order",
        subject_type="release_order",
        subject_id=order.id,
        fn="issue_release_order",
        args={
            "order_id": order.id,
            "loan_id": loan.id,
            "receipt_id": receipt.id,
            "lien_keys": keys,
            "commitment": commitment(
                ctx.commit_secret, order.id, {"quantity": str(qty), "epcs": leaving}
            ),
        },
        submitter_msp=actor.msp_id,
        endorsers=[uow.orgs.msp_of(receipt.warehouse_org_id)],
    )
    uow.commit()
    return order


def utcnow() -> datetime:
    """The current time in UTC (entrypoints pass it into the Context)."""
    return datetime.now(UTC)
