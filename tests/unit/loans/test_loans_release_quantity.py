"""Releasable quantity: how much of a lot a loan's LTV can spare."""

from decimal import Decimal

import pytest

from loans.money import Money
from loans.release import releasable_quantity
from loans.valuation import collateral_value
from pledge.errors import Invalid

ONE = Decimal(1)
TONNE_STEP = Decimal("0.001")


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def release(
    outstanding: str,
    lot: str,
    unit_value: str,
    max_ltv: str,
    other: str = "0",
    step: Decimal = ONE,
) -> Decimal:
    return releasable_quantity(
        usd(outstanding), Decimal(lot), usd(unit_value), usd(other), Decimal(max_ltv), step
    )


def test_release_frees_units_down_to_the_collateral_max_ltv_needs() -> None:
    # 30,000 at 50% needs 60,000 of collateral: 60 of the 100 units at 1,000 stay, 40 go.
    assert release("30000", "100", "1000", "0.5") == 40


def test_release_counts_other_collateral_towards_the_loan() -> None:
    # 60,000 needed, 20,000 from other lots, so only 40 units must stay and 60 go.
    assert release("30000", "100", "1000", "0.5", other="20000") == 60


def test_release_allows_landing_exactly_on_max_ltv() -> None:
    # 50,000 / 100,000 is exactly 50%, which is allowed, but no unit can go.
    assert release("50000", "100", "1000", "0.5") == 0
    assert release("49000", "100", "1000", "0.5") == 2


def test_release_in_tonnes_stops_at_the_last_whole_kilogram_that_keeps_ltv() -> None:
    # 9,000.01 at 60% needs 15,000.0166...; at 2,000/t that is 7.50000833 t, so 7.501 t stays
    # (15,002.00, LTV 0.59993) and 2.499 t go; releasing 2.500 t would leave exactly 15,000.00.
    freed = release("9000.01", "10.000", "2000", "0.6", step=TONNE_STEP)
    assert freed == Decimal("2.499")


def test_release_may_go_past_the_exact_estimate_when_rounding_helps() -> None:
    # Units worth 0.004: 1.00 at 100% needs 250 units exactly, but 249 units are worth 0.996,
    # which rounds to 1.00; 248 units round to 0.99. So 751 of 1,000 can go, not 750.
    assert release("1.00", "1000", "0.004", "1") == 751


def test_release_holds_back_a_unit_when_rounding_would_breach_max_ltv() -> None:
    # 1.00 at 75% needs 1.3333 of collateral; 1,334 units at 0.001 are worth 1.334, but that
    # rounds to 1.33 and 1.00 / 1.33 > 75%. 1,335 units are worth 1.335, which rounds to 1.34.
    assert release("1.00", "2000", "0.001", "0.75") == 2000 - 1335


def test_release_of_a_repaid_loan_frees_the_whole_lot() -> None:
    assert release("0", "12.345", "100", "0.5", step=TONNE_STEP) == Decimal("12.345")
    assert release("0", "10", "0", "0.5") == 10


def test_release_frees_nothing_when_ltv_is_already_above_max() -> None:
    assert release("80000", "100", "1000", "0.5") == 0


def test_release_frees_a_worthless_lot_when_other_collateral_covers_the_loan() -> None:
    assert release("10", "50", "0", "0.5", other="100") == 50


def test_release_frees_nothing_of_a_worthless_lot_when_the_loan_is_unsecured() -> None:
    assert release("10", "50", "0", "0.5") == 0


def test_release_of_an_empty_lot_is_zero() -> None:
    assert release("10", "0", "5", "0.5", other="100") == 0


def test_release_frees_everything_when_other_collateral_alone_is_enough() -> None:
    assert release("100", "7", "1000", "0.5", other="200") == 7


def test_release_returns_a_multiple_of_the_step() -> None:
    freed = release("1234.56", "500", "9.99", "0.7", step=Decimal("0.5"))
    assert freed % Decimal("0.5") == 0


def test_release_finds_the_boundary_in_a_huge_lot_of_fine_steps() -> None:
    # 10^12 steps of a gram: the search must bracket the boundary rather than walk to it.
    freed = release("123456789.12", "1000000000.000", "0.37", "0.8", step=TONNE_STEP)
    remaining = Decimal("1000000000.000") - freed
    value = collateral_value(remaining, usd("0.37"), Decimal(0))
    assert Decimal("123456789.12") <= Decimal("0.8") * value.amount
    one_more = collateral_value(remaining - TONNE_STEP, usd("0.37"), Decimal(0))
    assert Decimal("123456789.12") > Decimal("0.8") * one_more.amount


@pytest.mark.parametrize("which", ["unit_value", "other_collateral"])
def test_release_refuses_amounts_in_another_currency(which: str) -> None:
    args = {"unit_value": usd("1"), "other_collateral": usd("0")}
    args[which] = Money.of("1", "EUR")
    with pytest.raises(Invalid) as caught:
        releasable_quantity(usd("1"), Decimal(10), max_ltv=Decimal("0.5"), step=ONE, **args)
    assert caught.value.code == "currency_mismatch"


@pytest.mark.parametrize(
    ("outstanding", "unit_value", "other"), [("-1", "1", "0"), ("1", "-1", "0"), ("1", "1", "-1")]
)
def test_release_refuses_negative_amounts(outstanding: str, unit_value: str, other: str) -> None:
    with pytest.raises(Invalid) as caught:
        release(outstanding, "10", unit_value, "0.5", other=other)
    assert caught.value.code == "negative_amount"


def test_release_refuses_a_negative_lot() -> None:
    with pytest.raises(Invalid) as caught:
        release("1", "-10", "1", "0.5")
    assert caught.value.code == "negative_quantity"


@pytest.mark.parametrize("step", ["0", "-1"])
def test_release_refuses_a_step_that_is_not_positive(step: str) -> None:
    with pytest.raises(Invalid) as caught:
        release("1", "10", "1", "0.5", step=Decimal(step))
    assert caught.value.code == "invalid_step"


def test_release_refuses_a_lot_that_is_not_a_whole_number_of_steps() -> None:
    with pytest.raises(Invalid) as caught:
        release("1", "10.5", "1", "0.5")
    assert caught.value.code == "invalid_step"


@pytest.mark.parametrize("max_ltv", ["0", "-0.5"])
def test_release_refuses_a_max_ltv_that_is_not_positive(max_ltv: str) -> None:
    with pytest.raises(Invalid) as caught:
        release("1", "10", "1", max_ltv)
    assert caught.value.code == "invalid_thresholds"


def test_release_refuses_float_quantities() -> None:
    with pytest.raises(Invalid) as caught:
        releasable_quantity(usd("1"), 10.0, usd("1"), usd("0"), Decimal("0.5"), ONE)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_quantity"
    with pytest.raises(Invalid) as caught:
        releasable_quantity(usd("1"), Decimal(10), usd("1"), usd("0"), Decimal("0.5"), 0.5)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_step"
    with pytest.raises(Invalid) as caught:
        releasable_quantity(usd("1"), Decimal(10), usd("1"), usd("0"), 0.5, ONE)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_thresholds"
