"""Daily interest accrual at a constant principal, exact and additive over any split of days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Final

from loans.daycount import DayCount, days_between
from loans.money import CALC_CONTEXT, Money, as_decimal
from pledge.errors import Invalid

# Sub-cent precision for the running accrual; rounding to the currency happens only when
# interest is billed or paid, so small daily amounts do not lose a fraction every day.
DAILY_PRECISION: Final = Decimal("0.0000000001")


def _check_inputs(principal: Money, annual_rate: Decimal) -> Decimal:
    rate = as_decimal(annual_rate, "annual_rate", "invalid_rate")
    if rate < 0:
        raise Invalid("negative_rate", f"annual rate must not be negative, got {rate}")
    if principal.is_negative():
        raise Invalid("negative_amount", f"principal must not be negative, got {principal}")
    return rate


def daily_interest(principal: Money, annual_rate: Decimal, dc: DayCount) -> Decimal:
    """Interest for one day: principal x rate / basis days, half-even to DAILY_PRECISION."""
    rate = _check_inputs(principal, annual_rate)
    with localcontext(CALC_CONTEXT):
        raw = principal.amount * rate / Decimal(dc.basis_days)
    return raw.quantize(DAILY_PRECISION, rounding=ROUND_HALF_EVEN, context=CALC_CONTEXT)


def accrue(principal: Money, annual_rate: Decimal, dc: DayCount, start: date, end: date) -> Decimal:
    """Interest for the days in [start, end) at a constant principal: days x daily interest."""
    days = days_between(start, end)
    # Multiplying the already-quantized daily amount (rather than quantizing the period total)
    # is what makes accrue(a, c) == accrue(a, b) + accrue(b, c) hold exactly.
    per_day = daily_interest(principal, annual_rate, dc)
    with localcontext(CALC_CONTEXT):
        return per_day * days


def accrual_days(accrued_through: date, today: date) -> list[date]:
    """Days after `accrued_through` up to and including `today`; empty when already up to date."""
    # A clock that runs behind the last booked day is treated as up to date rather than an error,
    # so a catch-up job never books a day twice.
    count = (today - accrued_through).days
    return [accrued_through + timedelta(days=offset) for offset in range(1, count + 1)]
