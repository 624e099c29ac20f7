"""Collateral value, loan-to-value, LTV bands and the thresholds that define them."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from typing import Final

from loans.money import CALC_CONTEXT, Money, as_decimal, quantize_money
from pledge.errors import Invalid

LTV_PRECISION: Final = Decimal("0.000001")
# Above 200% the collateral covers less than half the loan; a threshold beyond that is a typo.
MAX_THRESHOLD: Final = Decimal(2)


def collateral_value(quantity: Decimal, unit_price: Money, haircut: Decimal) -> Money:
    """Quantity x unit price x (1 - haircut), rounded half-even to the currency."""
    qty = as_decimal(quantity, "quantity", "invalid_quantity")
    cut = as_decimal(haircut, "haircut", "invalid_haircut")
    if qty < 0:
        raise Invalid("negative_quantity", f"quantity must not be negative, got {qty}")
    if not Decimal(0) <= cut < Decimal(1):
        raise Invalid("invalid_haircut", f"haircut must be at least 0 and below 1, got {cut}")
    if unit_price.is_negative():
        raise Invalid("negative_amount", f"unit price must not be negative, got {unit_price}")
    with localcontext(CALC_CONTEXT):
        raw = qty * unit_price.amount * (1 - cut)
    return Money(quantize_money(raw, unit_price.currency), unit_price.currency)


def ltv(outstanding: Money, collateral: Money) -> Decimal | None:
    """Outstanding / collateral to 6 places; None when a positive balance has no collateral."""
    if outstanding.currency != collateral.currency:
        raise Invalid(
            "currency_mismatch",
            f"outstanding is in {outstanding.currency}, collateral in {collateral.currency}",
        )
    if outstanding.is_negative() or collateral.is_negative():
        raise Invalid("negative_amount", "outstanding and collateral must not be negative")
    if collateral.is_zero():
        # No collateral means unsecured, which has no finite ratio; nothing owed on nothing is 0.
        return None if outstanding.is_positive() else Decimal(0).quantize(LTV_PRECISION)
    with localcontext(CALC_CONTEXT):
        ratio = outstanding.amount / collateral.amount
    return ratio.quantize(LTV_PRECISION, rounding=ROUND_HALF_EVEN, context=CALC_CONTEXT)


class LtvBand(StrEnum):
    """Where an LTV sits against a product's margin-call and liquidation thresholds."""

    OK = "ok"
    MARGIN_CALL = "margin_call"
    LIQUIDATION = "liquidation"


def _threshold(value: object, name: str) -> Decimal:
    number = as_decimal(value, name, "invalid_thresholds")
    # LTVs are reported to 6 places; a finer threshold could not be compared with them exactly.
    if number.quantize(LTV_PRECISION, context=CALC_CONTEXT) != number:
        raise Invalid("invalid_thresholds", f"{name} has more than 6 decimal places: {number}")
    return number


def ltv_band(ltv: Decimal | None, margin_call_ltv: Decimal, liquidation_ltv: Decimal) -> LtvBand:
    """Band for an LTV; reaching a threshold counts as crossing it, and None is liquidation."""
    margin = _threshold(margin_call_ltv, "margin_call_ltv")
    liquidation = _threshold(liquidation_ltv, "liquidation_ltv")
    if not Decimal(0) < margin < liquidation:
        raise Invalid(
            "invalid_thresholds",
            f"need 0 < margin_call_ltv < liquidation_ltv, got {margin} and {liquidation}",
        )
    if ltv is None:
        return LtvBand.LIQUIDATION
    ratio = as_decimal(ltv, "ltv", "invalid_ltv")
    if ratio < 0:
        raise Invalid("invalid_ltv", f"ltv must not be negative, got {ratio}")
    if ratio >= liquidation:
        return LtvBand.LIQUIDATION
    if ratio >= margin:
        return LtvBand.MARGIN_CALL
    return LtvBand.OK


def validate_thresholds(
    max_ltv: Decimal, margin_call_ltv: Decimal, liquidation_ltv: Decimal
) -> None:
    """Require 0 < max_ltv < margin_call_ltv < liquidation_ltv <= 2, each to 6 places at most."""
    top = _threshold(max_ltv, "max_ltv")
    margin = _threshold(margin_call_ltv, "margin_call_ltv")
    liquidation = _threshold(liquidation_ltv, "liquidation_ltv")
    got = f"got max_ltv={top}, margin_call_ltv={margin}, liquidation_ltv={liquidation}"
    problem = None
    if top <= 0:
        problem = "max_ltv must be above 0"
    elif margin <= top:
        problem = "margin_call_ltv must be above max_ltv"
    elif liquidation <= margin:
        problem = "liquidation_ltv must be above margin_call_ltv"
    elif liquidation > MAX_THRESHOLD:
        problem = f"liquidation_ltv must be at most {MAX_THRESHOLD}"
    if problem is not None:
        raise Invalid(
            "invalid_thresholds",
            f"{problem}: need 0 < max_ltv < margin_call_ltv < liquidation_ltv <= 2; {got}",
        )


def max_loan_amount(collateral: Money, max_ltv: Decimal) -> Money:
    """Collateral x max LTV rounded down to minor units, so no loan exceeds max LTV by a cent."""
    top = as_decimal(max_ltv, "max_ltv", "invalid_thresholds")
    if not Decimal(0) < top <= MAX_THRESHOLD:
        raise Invalid("invalid_thresholds", f"max_ltv must be above 0 and at most 2, got {top}")
    if collateral.is_negative():
        raise Invalid("negative_amount", f"collateral must not be negative, got {collateral}")
    with localcontext(CALC_CONTEXT):
        raw = collateral.amount * top
    amount = quantize_money(raw, collateral.currency, rounding=ROUND_FLOOR)
    return Money(amount, collateral.currency)
