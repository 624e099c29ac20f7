"""How much of a pledged lot a repayment frees without taking the loan above max LTV."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal, localcontext

from loans.money import CALC_CONTEXT, Money, as_decimal
from loans.valuation import collateral_value
from pledge.errors import Invalid


def _largest_passing(limit: int, passes: Callable[[int], bool], guess: int) -> int:
    """Largest n in [0, limit] with passes(n), given passes(0) and that passing only stops once."""
    # Gallop from the guess to bracket the boundary, then bisect: a handful of probes when the
    # guess is right, and still only logarithmically many when rounding moves the boundary.
    if passes(guess):
        low, width = guess, 1
        while True:
            probe = low + width
            if probe > limit:
                high = limit + 1
                break
            if not passes(probe):
                high = probe
                break
            low, width = probe, width * 2
    else:
        high, width = guess, 1
        while True:
            probe = high - width
            if probe <= 0:
                low = 0
                break
            if passes(probe):
                low = probe
                break
            high, width = probe, width * 2
    while high - low > 1:
        middle = (low + high) // 2
        if passes(middle):
            low = middle
        else:
            high = middle
    return low


def releasable_quantity(
    outstanding: Money,
    lot_quantity: Decimal,
    unit_value: Money,
    other_collateral: Money,
    max_ltv: Decimal,
    step: Decimal,
) -> Decimal:
    """Largest multiple of `step` of the lot that can be released while LTV stays <= max_ltv."""
    for name, money in (("unit_value", unit_value), ("other_collateral", other_collateral)):
        if money.currency != outstanding.currency:
            raise Invalid(
                "currency_mismatch",
                f"{name} is in {money.currency} but outstanding is in {outstanding.currency}",
            )
    for name, money in (
        ("outstanding", outstanding),
        ("unit_value", unit_value),
        ("other_collateral", other_collateral),
    ):
        if money.is_negative():
            raise Invalid("negative_amount", f"{name} must not be negative, got {money}")
    lot = as_decimal(lot_quantity, "lot_quantity", "invalid_quantity")
    unit = as_decimal(step, "step", "invalid_step")
    top = as_decimal(max_ltv, "max_ltv", "invalid_thresholds")
    if lot < 0:
        raise Invalid("negative_quantity", f"lot quantity must not be negative, got {lot}")
    if unit <= 0:
        raise Invalid("invalid_step", f"step must be positive, got {unit}")
    if top <= 0:
        raise Invalid("invalid_thresholds", f"max_ltv must be above 0, got {top}")
    with localcontext(CALC_CONTEXT):
        if lot % unit != 0:
            raise Invalid(
                "invalid_step", f"lot quantity {lot} is not a whole number of steps of {unit}"
            )
        steps_in_lot = int(lot / unit)
    if outstanding.is_zero():
        return lot

    def passes(released_steps: int) -> bool:
        # Value the remainder exactly as collateral_value does (the unit value already has the
        # haircut applied), and compare without dividing so no quotient rounding can hide a breach.
        with localcontext(CALC_CONTEXT):
            remaining = lot - unit * released_steps
        value = collateral_value(remaining, unit_value, Decimal(0)) + other_collateral
        with localcontext(CALC_CONTEXT):
            return outstanding.amount <= top * value.amount

    if not passes(0):
        return unit * 0
    with localcontext(CALC_CONTEXT):
        needed_from_lot = outstanding.amount / top - other_collateral.amount
        if needed_from_lot <= 0 or unit_value.is_zero():
            guess = steps_in_lot
        else:
            keep = needed_from_lot / unit_value.amount
            free_steps = ((lot - keep) / unit).to_integral_value(rounding=ROUND_FLOOR)
            guess = min(max(int(free_steps), 0), steps_in_lot)
    released = _largest_passing(steps_in_lot, passes, guess)
    if released == steps_in_lot:
        return lot
    with localcontext(CALC_CONTEXT):
        return unit * released
