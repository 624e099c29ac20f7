"""Properties of the loan calculations that must hold for any inputs."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.allocation import allocate
from loans.daycount import DayCount
from loans.interest import accrual_days, accrue
from loans.money import CURRENCIES, Money
from loans.release import releasable_quantity
from loans.valuation import collateral_value, ltv

BOUNDED = settings(max_examples=200, deadline=None)
CURRENCY_CODES = sorted(CURRENCIES)


@st.composite
def money(draw: st.DrawFn, currency: str, max_value: str = "1000000000") -> Money:
    """A non-negative amount in `currency`, to that currency's minor units."""
    amount = draw(
        st.decimals(
            min_value=0,
            max_value=Decimal(max_value),
            places=CURRENCIES[currency],
            allow_nan=False,
            allow_infinity=False,
        )
    )
    return Money(amount, currency)


rates = st.decimals(min_value=0, max_value=Decimal("0.5"), places=6)
day_counts = st.sampled_from(list(DayCount))
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@BOUNDED
@given(
    data=st.data(),
    currency=st.sampled_from(CURRENCY_CODES),
    rate=rates,
    dc=day_counts,
    points=st.lists(dates, min_size=3, max_size=3),
)
def test_accrual_is_additive_over_any_split_of_a_period(
    data: st.DataObject, currency: str, rate: Decimal, dc: DayCount, points: list[date]
) -> None:
    principal = data.draw(money(currency))
    start, middle, end = sorted(points)
    whole = accrue(principal, rate, dc, start, end)
    assert whole == accrue(principal, rate, dc, start, middle) + accrue(
        principal, rate, dc, middle, end
    )


@BOUNDED
@given(
    data=st.data(),
    currency=st.sampled_from(CURRENCY_CODES),
    rate=rates,
    dc=day_counts,
    start=dates,
    length=st.integers(min_value=0, max_value=60),
)
def test_catching_up_one_day_at_a_time_accrues_the_whole_period(
    data: st.DataObject, currency: str, rate: Decimal, dc: DayCount, start: date, length: int
) -> None:
    principal = data.draw(money(currency))
    end = start + timedelta(days=length)
    # Accrued through the day before `start`, catching up to the day before `end`.
    days = accrual_days(start - timedelta(days=1), end - timedelta(days=1))
    assert len(days) == length
    by_day = sum(
        (accrue(principal, rate, dc, day, day + timedelta(days=1)) for day in days), Decimal(0)
    )
    assert by_day == accrue(principal, rate, dc, start, end)


@BOUNDED
@given(data=st.data(), currency=st.sampled_from(CURRENCY_CODES))
def test_allocation_never_overpays_a_bucket_and_accounts_for_every_unit(
    data: st.DataObject, currency: str
) -> None:
    payment = data.draw(money(currency).filter(lambda m: m.is_positive()))
    fees_due = data.draw(money(currency, "10000"))
    interest_due = data.draw(money(currency, "100000"))
    principal_due = data.draw(money(currency))
    result = allocate(payment, fees_due, interest_due, principal_due)
    zero = Money.zero(currency)
    for paid, due in (
        (result.fees, fees_due),
        (result.interest, interest_due),
        (result.principal, principal_due),
    ):
        assert zero <= paid <= due
    assert zero <= result.excess
    assert result.applied + result.excess == payment
    # Order: a later bucket only receives money once every earlier one is settled in full.
    if result.interest.is_positive():
        assert result.fees == fees_due
    if result.principal.is_positive():
        assert result.interest == interest_due
    if result.excess.is_positive():
        assert result.principal == principal_due


@BOUNDED
@given(
    data=st.data(),
    currency=st.sampled_from(CURRENCY_CODES),
    step=st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.001")]),
    steps_in_lot=st.integers(min_value=0, max_value=2_000_000),
    haircut=st.decimals(min_value=0, max_value=Decimal("0.9"), places=2),
    max_ltv=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1.5"), places=6),
)
def test_ltv_after_any_computed_release_stays_within_max(
    data: st.DataObject,
    currency: str,
    step: Decimal,
    steps_in_lot: int,
    haircut: Decimal,
    max_ltv: Decimal,
) -> None:
    outstanding = data.draw(money(currency, "100000000"))
    unit_price = data.draw(money(currency, "50000"))
    other = data.draw(money(currency, "100000000"))
    lot = step * steps_in_lot
    unit_value = Money(unit_price.amount * (1 - haircut), currency)

    freed = releasable_quantity(outstanding, lot, unit_value, other, max_ltv, step)

    assert Decimal(0) <= freed <= lot
    assert freed % step == 0

    def collateral_after(released: Decimal) -> Money:
        # Valued from price and haircut, the way a bank values a lot, not from unit_value.
        return collateral_value(lot - released, unit_price, haircut) + other

    if freed > 0:
        after = collateral_after(freed)
        assert outstanding.amount <= max_ltv * after.amount
        reported = ltv(outstanding, after)
        assert reported is not None
        assert reported <= max_ltv
    if freed < lot:
        assert outstanding.amount > max_ltv * collateral_after(freed + step).amount
