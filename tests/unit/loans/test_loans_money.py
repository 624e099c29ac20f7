"""Money: construction, validation, arithmetic, comparison and per-currency rounding."""

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from loans.money import CURRENCIES, Money, as_decimal, minor_units, quantize_money
from pledge.errors import Invalid


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def test_currencies_carry_iso_4217_minor_units() -> None:
    assert CURRENCIES["USD"] == 2
    assert CURRENCIES["JPY"] == 0
    assert CURRENCIES["KWD"] == 3
    assert CURRENCIES["BHD"] == 3
    assert len(CURRENCIES) >= 20


def test_currency_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        CURRENCIES["XXX"] = 2  # type: ignore[index]


def test_money_of_parses_a_numeric_string() -> None:
    money = Money.of(" 1234.50 ", "EUR")
    assert money.amount == Decimal("1234.50")
    assert money.currency == "EUR"


def test_money_of_accepts_an_int_exactly() -> None:
    assert Money.of(7, "JPY").amount == Decimal(7)


def test_money_of_keeps_a_decimal_as_given() -> None:
    amount = Decimal("0.0012345")
    assert Money.of(amount, "USD").amount is amount


@pytest.mark.parametrize("amount", [1.5, 0.1, True])
def test_money_of_refuses_floats_and_bools(amount: object) -> None:
    with pytest.raises(Invalid) as caught:
        Money.of(amount, "USD")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_amount"


def test_money_constructor_refuses_a_float_amount() -> None:
    with pytest.raises(Invalid) as caught:
        Money(1.5, "USD")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_amount"


def test_money_of_refuses_an_unparseable_string() -> None:
    with pytest.raises(Invalid) as caught:
        Money.of("twelve", "USD")
    assert caught.value.code == "invalid_amount"
    assert "twelve" in caught.value.detail


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_money_refuses_amounts_that_are_not_finite(amount: str) -> None:
    with pytest.raises(Invalid) as caught:
        Money(Decimal(amount), "USD")
    assert caught.value.code == "invalid_amount"


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", "US"])
def test_money_refuses_an_unknown_currency(currency: str) -> None:
    with pytest.raises(Invalid) as caught:
        Money.of("1", currency)
    assert caught.value.code == "unknown_currency"
    assert "USD" in caught.value.detail


def test_minor_units_refuses_a_non_string_currency() -> None:
    with pytest.raises(Invalid) as caught:
        minor_units(None)  # type: ignore[arg-type]
    assert caught.value.code == "unknown_currency"


def test_as_decimal_refuses_objects_that_are_not_numbers() -> None:
    with pytest.raises(Invalid) as caught:
        as_decimal([1], "factor")
    assert caught.value.code == "invalid_number"


def test_zero_is_zero_in_the_given_currency() -> None:
    zero = Money.zero("GBP")
    assert zero.is_zero()
    assert zero.currency == "GBP"
    assert not zero.is_negative()
    assert not zero.is_positive()


def test_money_is_immutable() -> None:
    money = usd("1.00")
    with pytest.raises(FrozenInstanceError):
        money.amount = Decimal(2)  # type: ignore[misc]


def test_equal_amounts_with_different_exponents_are_equal_and_hash_alike() -> None:
    assert usd("1.5") == usd("1.50")
    assert hash(usd("1.5")) == hash(usd("1.50"))
    assert usd("1.5") != Money.of("1.5", "EUR")


def test_adding_amounts_in_one_currency_sums_them() -> None:
    assert usd("10.25") + usd("0.75") == usd("11.00")


def test_subtracting_amounts_in_one_currency_can_go_negative() -> None:
    difference = usd("1.00") - usd("2.50")
    assert difference == usd("-1.50")
    assert difference.is_negative()


def test_negating_flips_the_sign() -> None:
    assert -usd("3.10") == usd("-3.10")


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_is_refused(combine: object) -> None:
    with pytest.raises(Invalid) as caught:
        combine(usd("1"), Money.of("1", "EUR"))  # type: ignore[operator]
    assert caught.value.code == "currency_mismatch"


def test_adding_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        usd("1") + Decimal(1)  # type: ignore[operator]


def test_comparing_with_a_plain_number_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        assert usd("1") < Decimal(2)  # type: ignore[operator]


def test_multiplying_by_a_decimal_scales_without_rounding() -> None:
    # 10.00 x 0.333 = 3.33000 exactly; no rounding to cents happens until rounded() is asked for.
    scaled = usd("10.00") * Decimal("0.333")
    assert scaled.amount == Decimal("3.33000")
    assert usd("0.10") * Decimal("0.5") == usd("0.05")


def test_multiplying_works_from_either_side_with_ints_and_decimals() -> None:
    assert 3 * usd("1.10") == usd("3.30")
    assert Decimal("2") * usd("1.10") == usd("2.20")


@pytest.mark.parametrize("factor", [0.5, True])
def test_multiplying_by_a_float_or_bool_is_refused(factor: object) -> None:
    with pytest.raises(Invalid):
        usd("1") * factor  # type: ignore[operator]
    with pytest.raises(Invalid):
        factor * usd("1")  # type: ignore[arg-type]


def test_multiplying_two_amounts_of_money_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        usd("1") * usd("2")  # type: ignore[operator]


def test_comparisons_order_amounts_in_one_currency() -> None:
    small, large = usd("1.99"), usd("2.00")
    assert small < large
    assert small <= large
    assert small <= usd("1.990")
    assert large > small
    assert large >= small
    assert not large < small


def test_negative_zero_is_neither_negative_nor_positive() -> None:
    assert not usd("-0.00").is_negative()
    assert usd("-0.00").is_zero()


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "USD", "0.12"),  # tie goes to the even cent 2
        ("0.135", "USD", "0.14"),  # tie goes to the even cent 4
        ("0.1251", "USD", "0.13"),  # not a tie: nearest wins
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("1.0005", "KWD", "1.000"),
        ("1.0015", "KWD", "1.002"),
        ("-0.125", "USD", "-0.12"),
    ],
)
def test_rounding_is_half_even_to_the_currency_minor_units(
    amount: str, currency: str, expected: str
) -> None:
    rounded = Money.of(amount, currency).rounded()
    assert rounded.amount == Decimal(expected)
    assert rounded.amount.as_tuple().exponent == -CURRENCIES[currency]


def test_quantize_money_rounds_half_even_for_the_currency() -> None:
    assert quantize_money(Decimal("2.675"), "USD") == Decimal("2.68")
    assert quantize_money(Decimal("2.665"), "USD") == Decimal("2.66")


def test_quantize_money_copes_with_amounts_beyond_default_decimal_precision() -> None:
    # 31 significant digits after quantizing: more than the default 28-digit context allows.
    huge = Decimal("12345678901234567890123456789.004")
    assert quantize_money(huge, "USD") == Decimal("12345678901234567890123456789.00")


def test_quantize_money_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(Invalid) as caught:
        quantize_money(0.5, "USD")  # type: ignore[arg-type]
    assert caught.value.code == "invalid_amount"
    with pytest.raises(Invalid) as caught:
        quantize_money(Decimal("0.5"), "ABC")
    assert caught.value.code == "unknown_currency"


def test_string_form_shows_amount_to_minor_units_and_currency() -> None:
    assert str(usd("1234.5")) == "1234.50 USD"
    assert str(Money.of("1000", "JPY")) == "1000 JPY"
    assert str(Money.of("1E+3", "USD")) == "1000.00 USD"


def test_string_form_does_not_hide_sub_minor_precision() -> None:
    assert str(usd("0.0012345")) == "0.0012345 USD"
