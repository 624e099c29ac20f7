"""Daily interest: the per-day amount, accrual over a period, and catch-up days."""

from datetime import date
from decimal import Decimal

import pytest

from loans.daycount import DayCount
from loans.interest import DAILY_PRECISION, accrual_days, accrue, daily_interest
from loans.money import Money
from pledge.errors import Invalid

MILLION = Money.of("1000000.00", "USD")
FIVE_PERCENT = Decimal("0.05")


def test_daily_interest_on_act_360_divides_the_annual_amount_by_360() -> None:
    # 1,000,000 x 0.05 = 50,000 a year; / 360 = 138.888..., half-even at 10 places.
    assert daily_interest(MILLION, FIVE_PERCENT, DayCount.ACT_360) == Decimal("138.8888888889")


def test_daily_interest_on_act_365f_divides_the_annual_amount_by_365() -> None:
    # 50,000 / 365 = 136.98630136986301..., the 11th place (6) rounds the 10th up.
    assert daily_interest(MILLION, FIVE_PERCENT, DayCount.ACT_365F) == Decimal("136.9863013699")


def test_daily_interest_keeps_sub_cent_precision() -> None:
    daily = daily_interest(Money.of("100.00", "USD"), Decimal("0.01"), DayCount.ACT_360)
    # 100 x 0.01 / 360 = 0.002777..., far below a cent, kept to 10 places.
    assert daily == Decimal("0.0027777778")
    assert daily.as_tuple().exponent == DAILY_PRECISION.as_tuple().exponent


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        # principal x 1 / 360 lands exactly on a half at the 11th place in both cases.
        ("0.000000018", "0.0000000000"),  # 0.5e-10 ties to the even 0
        ("0.000000054", "0.0000000002"),  # 1.5e-10 ties to the even 2
    ],
)
def test_daily_interest_rounds_ties_to_even(principal: str, expected: str) -> None:
    daily = daily_interest(Money.of(principal, "USD"), Decimal(1), DayCount.ACT_360)
    assert daily == Decimal(expected)


def test_daily_interest_works_for_a_currency_without_minor_units() -> None:
    # 10,000,000 JPY x 1.5% = 150,000 a year; / 365 = 410.95890410958...
    daily = daily_interest(Money.of("10000000", "JPY"), Decimal("0.015"), DayCount.ACT_365F)
    assert daily == Decimal("410.9589041096")


def test_zero_rate_accrues_nothing() -> None:
    assert accrue(MILLION, Decimal(0), DayCount.ACT_360, date(2025, 1, 1), date(2025, 2, 1)) == 0


def test_accrue_is_days_times_the_daily_amount() -> None:
    # 30 days of 138.8888888889 = 4166.6666666670 (not 50,000 x 30 / 360 rounded once).
    accrued = accrue(MILLION, FIVE_PERCENT, DayCount.ACT_360, date(2025, 4, 1), date(2025, 5, 1))
    assert accrued == Decimal("4166.6666666670")


def test_accrue_counts_the_start_day_but_not_the_end_day() -> None:
    one_day = accrue(MILLION, FIVE_PERCENT, DayCount.ACT_360, date(2025, 4, 1), date(2025, 4, 2))
    assert one_day == daily_interest(MILLION, FIVE_PERCENT, DayCount.ACT_360)


def test_accrue_over_an_empty_period_is_zero() -> None:
    assert accrue(MILLION, FIVE_PERCENT, DayCount.ACT_360, date(2025, 4, 1), date(2025, 4, 1)) == 0


def test_accrue_splits_at_any_date_without_losing_a_fraction() -> None:
    start, middle, end = date(2024, 1, 1), date(2024, 2, 10), date(2024, 3, 1)
    whole = accrue(MILLION, FIVE_PERCENT, DayCount.ACT_365F, start, end)
    first = accrue(MILLION, FIVE_PERCENT, DayCount.ACT_365F, start, middle)
    second = accrue(MILLION, FIVE_PERCENT, DayCount.ACT_365F, middle, end)
    assert whole == first + second


def test_accrue_refuses_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(Invalid) as caught:
        accrue(MILLION, FIVE_PERCENT, DayCount.ACT_360, date(2025, 4, 2), date(2025, 4, 1))
    assert caught.value.code == "invalid_period"


def test_negative_rate_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        daily_interest(MILLION, Decimal("-0.01"), DayCount.ACT_360)
    assert caught.value.code == "negative_rate"
    with pytest.raises(Invalid) as caught:
        accrue(MILLION, Decimal("-0.01"), DayCount.ACT_360, date(2025, 1, 1), date(2025, 1, 2))
    assert caught.value.code == "negative_rate"


def test_negative_principal_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        accrue(
            Money.of("-1", "USD"),
            FIVE_PERCENT,
            DayCount.ACT_360,
            date(2025, 1, 1),
            date(2025, 1, 2),
        )
    assert caught.value.code == "negative_amount"


def test_float_rate_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        daily_interest(MILLION, 0.05, DayCount.ACT_360)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_rate"


def test_accrual_days_lists_every_day_after_the_last_accrued_through_today() -> None:
    days = accrual_days(date(2025, 1, 1), date(2025, 1, 4))
    assert days == [date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 4)]


def test_accrual_days_cross_year_ends_and_leap_days() -> None:
    assert accrual_days(date(2024, 12, 30), date(2025, 1, 1)) == [
        date(2024, 12, 31),
        date(2025, 1, 1),
    ]
    assert accrual_days(date(2024, 2, 28), date(2024, 3, 1)) == [
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]


def test_accrual_days_is_empty_when_up_to_date() -> None:
    assert accrual_days(date(2025, 1, 4), date(2025, 1, 4)) == []


def test_accrual_days_is_empty_when_the_clock_is_behind_the_last_accrued_day() -> None:
    assert accrual_days(date(2025, 1, 5), date(2025, 1, 4)) == []


def test_catching_up_day_by_day_accrues_the_same_as_one_period() -> None:
    last, today = date(2025, 2, 25), date(2025, 3, 3)
    days = accrual_days(last, today)
    # Each listed day d accrues [d, d + 1); together they cover (last, today].
    by_day = sum(
        (
            accrue(
                MILLION, FIVE_PERCENT, DayCount.ACT_360, day, day.fromordinal(day.toordinal() + 1)
            )
            for day in days
        ),
        Decimal(0),
    )
    whole = accrue(
        MILLION, FIVE_PERCENT, DayCount.ACT_360, days[0], today.fromordinal(today.toordinal() + 1)
    )
    assert by_day == whole
    assert len(days) == 6
