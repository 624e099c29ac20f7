"""Loan products: the terms a bank lends on."""

from __future__ import annotations

from decimal import Decimal

from loans.daycount import parse_day_count
from loans.model import (
    Loan,
    LoanProduct,
)
from loans.money import Money, as_decimal
from loans.ports import LoansUnitOfWork
from loans.valuation import validate_thresholds
from pledge.errors import Invalid, NotFound
from pledge.parties import Actor, OrgKind
from pledge.ports import Context
from pledge.service import get_commodity, new_id


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


def product_of(uow: LoansUnitOfWork, loan: Loan) -> LoanProduct:
    """The product a loan was written under."""
    product = uow.products.get(loan.product_id)
    if product is None:
        raise NotFound("product_not_found", f"no loan product {loan.product_id}")
    return product
