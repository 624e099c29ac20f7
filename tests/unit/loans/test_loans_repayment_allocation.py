"""Repayment allocation: fees, then interest, then principal, and the excess."""

import pytest

from loans.allocation import Allocation, allocate
from loans.money import Money
from pledge.errors import Invalid


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def test_allocation_pays_fees_before_interest() -> None:
    result = allocate(
        usd("30"), fees_due=usd("50"), interest_due=usd("20"), principal_due=usd("100")
    )
    assert result == Allocation(
        fees=usd("30"), interest=usd("0"), principal=usd("0"), excess=usd("0")
    )


def test_allocation_pays_interest_before_principal() -> None:
    # 60 = 10 of fees, all 20 of interest, then 30 towards principal.
    result = allocate(
        usd("60"), fees_due=usd("10"), interest_due=usd("20"), principal_due=usd("100")
    )
    assert result.fees == usd("10")
    assert result.interest == usd("20")
    assert result.principal == usd("30")
    assert result.excess.is_zero()


def test_allocation_of_an_exact_payoff_leaves_no_excess() -> None:
    result = allocate(
        usd("130.45"), fees_due=usd("10.00"), interest_due=usd("20.45"), principal_due=usd("100")
    )
    assert result.applied == usd("130.45")
    assert result.excess.is_zero()


def test_allocation_returns_overpayment_as_excess() -> None:
    result = allocate(
        usd("200.00"), fees_due=usd("10.00"), interest_due=usd("20.00"), principal_due=usd("100")
    )
    assert result.principal == usd("100")
    assert result.excess == usd("70.00")


def test_allocation_skips_buckets_with_nothing_due() -> None:
    result = allocate(usd("40"), fees_due=usd("0"), interest_due=usd("0"), principal_due=usd("25"))
    assert result.fees.is_zero()
    assert result.interest.is_zero()
    assert result.principal == usd("25")
    assert result.excess == usd("15")


def test_allocation_keeps_sub_cent_interest_without_rounding() -> None:
    result = allocate(
        usd("5.00"), fees_due=usd("0"), interest_due=usd("1.2345678"), principal_due=usd("10")
    )
    assert result.interest == usd("1.2345678")
    assert result.principal == usd("3.7654322")


def test_allocation_results_are_in_the_payment_currency() -> None:
    result = allocate(
        Money.of("500", "JPY"),
        fees_due=Money.zero("JPY"),
        interest_due=Money.of("100", "JPY"),
        principal_due=Money.of("1000", "JPY"),
    )
    assert {
        m.currency for m in (result.fees, result.interest, result.principal, result.excess)
    } == {"JPY"}
    assert result.applied == Money.of("500", "JPY")


@pytest.mark.parametrize("payment", ["0", "0.00", "-5"])
def test_allocation_refuses_a_payment_that_is_not_positive(payment: str) -> None:
    with pytest.raises(Invalid) as caught:
        allocate(usd(payment), usd("1"), usd("1"), usd("1"))
    assert caught.value.code == "non_positive_amount"


@pytest.mark.parametrize("bucket", ["fees", "interest", "principal"])
def test_allocation_refuses_a_negative_amount_due(bucket: str) -> None:
    dues = {"fees_due": usd("1"), "interest_due": usd("1"), "principal_due": usd("1")}
    dues[f"{bucket}_due"] = usd("-0.01")
    with pytest.raises(Invalid) as caught:
        allocate(usd("10"), **dues)
    assert caught.value.code == "negative_amount"
    assert bucket in caught.value.detail


@pytest.mark.parametrize("bucket", ["fees", "interest", "principal"])
def test_allocation_refuses_a_due_in_another_currency(bucket: str) -> None:
    dues = {"fees_due": usd("1"), "interest_due": usd("1"), "principal_due": usd("1")}
    dues[f"{bucket}_due"] = Money.of("1", "EUR")
    with pytest.raises(Invalid) as caught:
        allocate(usd("10"), **dues)
    assert caught.value.code == "currency_mismatch"
