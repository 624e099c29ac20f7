"""Day-count conventions: names, ISO 20022 codes, parsing and year fractions."""

from datetime import date
from decimal import Decimal

import pytest

from loans.daycount import DayCount, days_between, parse_day_count, year_fraction
from pledge.errors import Invalid


def test_day_counts_map_to_their_iso_20022_codes() -> None:
    assert DayCount.ACT_360.iso20022_code == "A004"
    assert DayCount.ACT_365F.iso20022_code == "A005"


def test_day_counts_divide_by_their_basis_days() -> None:
    assert DayCount.ACT_360.basis_days == 360
    assert DayCount.ACT_365F.basis_days == 365


def test_day_count_values_are_their_conventional_names() -> None:
    assert DayCount("ACT/360") is DayCount.ACT_360
    assert str(DayCount.ACT_365F) == "ACT/365F"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACT/360", DayCount.ACT_360),
        ("act/360", DayCount.ACT_360),
        ("A004", DayCount.ACT_360),
        ("a004", DayCount.ACT_360),
        ("ACT/365F", DayCount.ACT_365F),
        ("Act/365f", DayCount.ACT_365F),
        (" A005 ", DayCount.ACT_365F),
    ],
)
def test_parse_day_count_accepts_names_and_codes_in_any_case(text: str, expected: DayCount) -> None:
    assert parse_day_count(text) is expected


@pytest.mark.parametrize("text", ["ACT/365", "30/360", "A001", "", "ACT"])
def test_parse_day_count_refuses_other_conventions_and_lists_the_accepted_ones(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_day_count(text)
    assert caught.value.code == "unknown_day_count"
    for accepted in ("ACT/360", "A004", "ACT/365F", "A005"):
        assert accepted in caught.value.detail


def test_parse_day_count_refuses_a_value_that_is_not_text() -> None:
    with pytest.raises(Invalid) as caught:
        parse_day_count(None)  # type: ignore[arg-type]
    assert caught.value.code == "unknown_day_count"


def test_year_fraction_counts_actual_days_over_the_basis() -> None:
    # 2024 is a leap year: 1 Jan 2024 to 1 Jan 2025 is 366 actual days.
    start, end = date(2024, 1, 1), date(2025, 1, 1)
    # 366/365 and 366/360 do not terminate, so check that the basis multiplies back to 366 days.
    tolerance = Decimal("1e-20")
    act_365f = year_fraction(DayCount.ACT_365F, start, end)
    act_360 = year_fraction(DayCount.ACT_360, start, end)
    assert (act_365f * 365).quantize(tolerance) == 366
    assert (act_360 * 360).quantize(tolerance) == 366
    assert act_365f.quantize(Decimal("1e-12")) == Decimal("1.002739726027")
    assert year_fraction(DayCount.ACT_360, date(2025, 1, 1), date(2025, 4, 1)) == Decimal("0.25")


def test_year_fraction_of_an_empty_period_is_zero() -> None:
    assert year_fraction(DayCount.ACT_360, date(2025, 5, 5), date(2025, 5, 5)) == 0


def test_year_fraction_refuses_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(Invalid) as caught:
        year_fraction(DayCount.ACT_360, date(2025, 5, 6), date(2025, 5, 5))
    assert caught.value.code == "invalid_period"


def test_days_between_counts_calendar_days_across_a_leap_day() -> None:
    assert days_between(date(2024, 2, 28), date(2024, 3, 1)) == 2
