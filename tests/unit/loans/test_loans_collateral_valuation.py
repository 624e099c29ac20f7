"""Collateral value, LTV, LTV bands, threshold validation and maximum loan amount."""

from decimal import Decimal

import pytest

from loans.money import Money
from loans.valuation import (
    LtvBand,
    collateral_value,
    ltv,
    ltv_band,
    max_loan_amount,
    validate_thresholds,
)
from pledge.errors import Invalid


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def test_collateral_value_is_quantity_times_price_less_haircut() -> None:
    # 100 t x 500.00 USD/t = 50,000; a 20% haircut leaves 40,000.
    value = collateral_value(Decimal(100), usd("500.00"), Decimal("0.2"))
    assert value == usd("40000.00")


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        ("1", "0.125", "0.12"),  # a tie rounds to the even cent
        ("1", "0.135", "0.14"),
        ("3", "10.005", "30.02"),  # 30.015 ties, 1 is odd so it rounds up to 2
        ("2.5", "0.01", "0.02"),  # 0.025 ties down to the even 2
    ],
)
def test_collateral_value_rounds_half_even_to_the_currency(
    quantity: str, price: str, expected: str
) -> None:
    value = collateral_value(Decimal(quantity), usd(price), Decimal(0))
    assert value == usd(expected)
    assert value.amount.as_tuple().exponent == -2


def test_collateral_value_rounds_to_whole_yen() -> None:
    # 3 x 333.5 x 0.9 = 900.45, rounded to 900 JPY.
    value = collateral_value(Decimal(3), Money.of("333.5", "JPY"), Decimal("0.1"))
    assert value == Money.of("900", "JPY")


def test_collateral_value_of_nothing_is_zero() -> None:
    assert collateral_value(Decimal(0), usd("99.99"), Decimal("0.3")).is_zero()


@pytest.mark.parametrize("haircut", ["1", "1.5", "-0.01"])
def test_collateral_value_refuses_a_haircut_outside_zero_to_one(haircut: str) -> None:
    with pytest.raises(Invalid) as caught:
        collateral_value(Decimal(1), usd("1"), Decimal(haircut))
    assert caught.value.code == "invalid_haircut"


def test_collateral_value_refuses_a_negative_quantity() -> None:
    with pytest.raises(Invalid) as caught:
        collateral_value(Decimal("-1"), usd("1"), Decimal(0))
    assert caught.value.code == "negative_quantity"


def test_collateral_value_refuses_a_negative_price() -> None:
    with pytest.raises(Invalid) as caught:
        collateral_value(Decimal(1), usd("-1"), Decimal(0))
    assert caught.value.code == "negative_amount"


def test_collateral_value_refuses_float_quantity_and_haircut() -> None:
    with pytest.raises(Invalid) as caught:
        collateral_value(1.0, usd("1"), Decimal(0))  # type: ignore[arg-type]
    assert caught.value.code == "invalid_quantity"
    with pytest.raises(Invalid) as caught:
        collateral_value(Decimal(1), usd("1"), 0.1)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_haircut"


def test_ltv_is_outstanding_over_collateral() -> None:
    assert ltv(usd("60000"), usd("100000")) == Decimal("0.600000")


@pytest.mark.parametrize(
    ("outstanding", "collateral", "expected"),
    [
        ("1", "3", "0.333333"),
        ("2", "3", "0.666667"),
        ("0.0000005", "1", "0.000000"),  # a tie at the 7th place goes to the even 0
        ("0.0000015", "1", "0.000002"),  # and here to the even 2
        ("150", "100", "1.500000"),
    ],
)
def test_ltv_rounds_half_even_to_six_places(
    outstanding: str, collateral: str, expected: str
) -> None:
    assert ltv(usd(outstanding), usd(collateral)) == Decimal(expected)


def test_ltv_without_collateral_on_a_positive_balance_is_unsecured() -> None:
    assert ltv(usd("1"), usd("0")) is None


def test_ltv_of_nothing_owed_on_nothing_is_zero() -> None:
    assert ltv(usd("0"), usd("0")) == 0


def test_ltv_of_nothing_owed_on_collateral_is_zero() -> None:
    assert ltv(usd("0"), usd("10")) == 0


def test_ltv_refuses_mixed_currencies() -> None:
    with pytest.raises(Invalid) as caught:
        ltv(usd("1"), Money.of("1", "EUR"))
    assert caught.value.code == "currency_mismatch"


@pytest.mark.parametrize(("outstanding", "collateral"), [("-1", "10"), ("1", "-10")])
def test_ltv_refuses_negative_amounts(outstanding: str, collateral: str) -> None:
    with pytest.raises(Invalid) as caught:
        ltv(usd(outstanding), usd(collateral))
    assert caught.value.code == "negative_amount"


MARGIN, LIQUIDATION = Decimal("0.8"), Decimal("0.9")


@pytest.mark.parametrize(
    ("value", "band"),
    [
        ("0", LtvBand.OK),
        ("0.799999", LtvBand.OK),
        ("0.8", LtvBand.MARGIN_CALL),  # reaching the threshold counts as crossing it
        ("0.899999", LtvBand.MARGIN_CALL),
        ("0.9", LtvBand.LIQUIDATION),
        ("3", LtvBand.LIQUIDATION),
    ],
)
def test_ltv_band_places_an_ltv_against_the_thresholds(value: str, band: LtvBand) -> None:
    assert ltv_band(Decimal(value), MARGIN, LIQUIDATION) is band


def test_ltv_band_treats_unsecured_as_liquidation() -> None:
    assert ltv_band(None, MARGIN, LIQUIDATION) is LtvBand.LIQUIDATION


def test_ltv_band_refuses_a_margin_call_at_or_above_liquidation() -> None:
    with pytest.raises(Invalid) as caught:
        ltv_band(Decimal("0.5"), LIQUIDATION, LIQUIDATION)
    assert caught.value.code == "invalid_thresholds"


def test_ltv_band_refuses_a_negative_or_float_ltv() -> None:
    with pytest.raises(Invalid) as caught:
        ltv_band(Decimal("-0.1"), MARGIN, LIQUIDATION)
    assert caught.value.code == "invalid_ltv"
    with pytest.raises(Invalid) as caught:
        ltv_band(0.5, MARGIN, LIQUIDATION)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_ltv"


def test_validate_thresholds_accepts_a_rising_ladder_up_to_two() -> None:
    validate_thresholds(Decimal("0.7"), Decimal("0.8"), Decimal("0.9"))
    validate_thresholds(Decimal("1.2"), Decimal("1.5"), Decimal("2"))


@pytest.mark.parametrize(
    ("max_ltv", "margin", "liquidation", "reason"),
    [
        ("0", "0.8", "0.9", "max_ltv must be above 0"),
        ("-0.1", "0.8", "0.9", "max_ltv must be above 0"),
        ("0.8", "0.8", "0.9", "margin_call_ltv must be above max_ltv"),
        ("0.85", "0.8", "0.9", "margin_call_ltv must be above max_ltv"),
        ("0.7", "0.9", "0.9", "liquidation_ltv must be above margin_call_ltv"),
        ("0.7", "0.9", "0.85", "liquidation_ltv must be above margin_call_ltv"),
        ("0.7", "0.9", "2.01", "liquidation_ltv must be at most 2"),
    ],
)
def test_validate_thresholds_explains_which_rule_is_broken(
    max_ltv: str, margin: str, liquidation: str, reason: str
) -> None:
    with pytest.raises(Invalid) as caught:
        validate_thresholds(Decimal(max_ltv), Decimal(margin), Decimal(liquidation))
    assert caught.value.code == "invalid_thresholds"
    assert reason in caught.value.detail
    assert f"max_ltv={Decimal(max_ltv)}" in caught.value.detail


def test_validate_thresholds_refuses_more_places_than_ltv_is_reported_to() -> None:
    with pytest.raises(Invalid) as caught:
        validate_thresholds(Decimal("0.7000001"), Decimal("0.8"), Decimal("0.9"))
    assert caught.value.code == "invalid_thresholds"
    assert "6 decimal places" in caught.value.detail


def test_validate_thresholds_accepts_trailing_zeros_beyond_six_places() -> None:
    validate_thresholds(Decimal("0.70000000"), Decimal("0.8"), Decimal("0.9"))


def test_validate_thresholds_refuses_floats() -> None:
    with pytest.raises(Invalid) as caught:
        validate_thresholds(0.7, Decimal("0.8"), Decimal("0.9"))  # type: ignore[arg-type]
    assert caught.value.code == "invalid_thresholds"


def test_max_loan_amount_is_collateral_times_max_ltv() -> None:
    assert max_loan_amount(usd("1000.00"), Decimal("0.7")) == usd("700.00")


def test_max_loan_amount_rounds_down_even_past_a_half_cent() -> None:
    # 100.01 x 0.75 = 75.0075: half-even would give 75.01, which is above 75% of the collateral.
    loan = max_loan_amount(usd("100.01"), Decimal("0.75"))
    assert loan == usd("75.00")
    assert loan.amount <= Decimal("100.01") * Decimal("0.75")


def test_max_loan_amount_rounds_down_to_whole_yen() -> None:
    assert max_loan_amount(Money.of("999", "JPY"), Decimal("0.5")) == Money.of("499", "JPY")


@pytest.mark.parametrize("max_ltv", ["0", "-0.5", "2.5"])
def test_max_loan_amount_refuses_a_max_ltv_outside_zero_to_two(max_ltv: str) -> None:
    with pytest.raises(Invalid) as caught:
        max_loan_amount(usd("100"), Decimal(max_ltv))
    assert caught.value.code == "invalid_thresholds"


def test_max_loan_amount_refuses_negative_collateral() -> None:
    with pytest.raises(Invalid) as caught:
        max_loan_amount(usd("-100"), Decimal("0.5"))
    assert caught.value.code == "negative_amount"
