"""Repayment allocation: fees first, then interest, then principal; the rest is excess."""

from __future__ import annotations

from dataclasses import dataclass

from loans.money import Money
from pledge.errors import Invalid


@dataclass(frozen=True)
class Allocation:
    """How one payment splits across the buckets it settles, and what is left over."""

    fees: Money
    interest: Money
    principal: Money
    excess: Money

    @property
    def applied(self) -> Money:
        """The part of the payment that settled something due."""
        return self.fees + self.interest + self.principal


def _take(available: Money, due: Money) -> Money:
    return due if due <= available else available


def allocate(
    payment: Money, fees_due: Money, interest_due: Money, principal_due: Money
) -> Allocation:
    """Split `payment` over fees, then interest, then principal, never paying more than due."""
    for name, due in (("fees", fees_due), ("interest", interest_due), ("principal", principal_due)):
        if due.currency != payment.currency:
            raise Invalid(
                "currency_mismatch",
                f"{name} due is in {due.currency} but the payment is in {payment.currency}",
            )
        if due.is_negative():
            raise Invalid("negative_amount", f"{name} due must not be negative, got {due}")
    if not payment.is_positive():
        raise Invalid("non_positive_amount", f"payment must be positive, got {payment}")
    # Amounts are subtracted, never rounded, so applied + excess always equals the payment.
    fees = _take(payment, fees_due)
    left = payment - fees
    interest = _take(left, interest_due)
    left = left - interest
    principal = _take(left, principal_due)
    return Allocation(fees=fees, interest=interest, principal=principal, excess=left - principal)
