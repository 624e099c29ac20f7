"""Day-count conventions for daily interest (ACT/360 and ACT/365F, ISO 20022 A004/A005)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from loans.money import CALC_CONTEXT
from pledge.errors import Invalid


class DayCount(StrEnum):
    """How a year is counted when an annual rate is turned into daily interest."""

    ACT_360 = "ACT/360"
    ACT_365F = "ACT/365F"

    @property
    def iso20022_code(self) -> str:
        """The ISO 20022 InterestComputationMethod code for this convention."""
        return _ISO20022[self]

    @property
    def basis_days(self) -> int:
        """Days in the conventional year that divides the actual days."""
        return _BASIS[self]


_ISO20022 = {DayCount.ACT_360: "A004", DayCount.ACT_365F: "A005"}
_BASIS = {DayCount.ACT_360: 360, DayCount.ACT_365F: 365}
_BY_TEXT = {
    **{dc.value: dc for dc in DayCount},
    **{code: dc for dc, code in _ISO20022.items()},
}


def parse_day_count(text: str) -> DayCount:
    """Read a convention by name or ISO 20022 code, ignoring case and surrounding spaces."""
    key = text.strip().upper() if isinstance(text, str) else None
    if key is None or key not in _BY_TEXT:
        accepted = ", ".join(sorted(_BY_TEXT))
        raise Invalid("unknown_day_count", f"unknown day count {text!r}; accepted: {accepted}")
    return _BY_TEXT[key]


def days_between(start: date, end: date) -> int:
    """Actual calendar days from `start` to `end`; refuses a period ending before it starts."""
    if end < start:
        raise Invalid("invalid_period", f"period ends {end} before it starts {start}")
    return (end - start).days


def year_fraction(dc: DayCount, start: date, end: date) -> Decimal:
    """Fraction of a conventional year between two dates: actual days / basis days."""
    days = days_between(start, end)
    with localcontext(CALC_CONTEXT):
        return Decimal(days) / Decimal(dc.basis_days)
