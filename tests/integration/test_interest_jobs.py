"""Daily interest on a disbursed loan: catch-up after downtime, day counts, repayment order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from integration_world import START, Parties, context_on_day, create_parties

from loans import catalogue, lending, pricefeed, servicing
from loans.daycount import parse_day_count
from loans.interest import accrue
from loans.model import Accrual, Loan, LoanStatus
from loans.money import Money
from pledge import service as pledge
from pledge.model import ReceiptStatus
from services.bootstrap import Container, build_container
from services.migrate import upgrade
from services.settings import DatabaseSettings, LedgerSettings, Settings
from services.uow import SqlUnitOfWork

T = TypeVar("T")

# With principal x rate = 131400, both day counts divide evenly: 365 a day on ACT/360 and
# 360 a day on ACT/365F, so their ratio can be checked without any rounding in the way.
EVEN_PRINCIPAL = "1314000.00"
EVEN_RATE = "0.1"
DOWNTIME_DAYS = 5
DISBURSED_ON = START.date()


@dataclass
class Desk:
    """The running service and its parties; runs each use case in its own unit of work."""

    container: Container
    parties: Parties
    bay_id: str

    def run(self, use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one use case in a fresh unit of work (it commits itself)."""
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            return use_case(uow, *args, **kwargs)

    def accrue_all(self, today: date) -> int:
        """The daily interest job as the scheduler runs it, on a given day."""
        return self.run(servicing.accrue_all, today)

    def loan(self, loan_id: str) -> Loan:
        """The loan as stored."""
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            loan = uow.loans.get(loan_id)
        assert loan is not None
        return loan

    def accruals(self, loan_id: str) -> list[Accrual]:
        """The loan's booked accrual rows, by day."""
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            return sorted(uow.accruals.find(loan_id=loan_id), key=lambda a: a.day)

    def disbursed_loan(
        self, *, day_count: str, amount: str, rate: str, fee_rate: str = "0"
    ) -> Loan:
        """Receive goods, publish a product, apply, approve, confirm the pledge and disburse."""
        p, ctx = self.parties, context_on_day(0)
        receipt = self.run(
            pledge.receive_lot, p.warehouse, ctx, self.bay_id, "STEEL", "1000", [], p.sme.org_id
        )
        self.container.pump()
        product = self.run(
            catalogue.create_product,
            p.bank,
            ctx,
            name=f"Steel {day_count}",
            currency="USD",
            annual_rate=rate,
            day_count=day_count,
            haircuts={"STEEL": "0.2"},
            max_ltv="0.8",
            margin_call_ltv="0.85",
            liquidation_ltv="0.9",
            fee_rate=fee_rate,
        )
        loan = self.run(lending.apply_for_loan, p.sme, ctx, product.id, [receipt.id], amount)
        self.run(lending.approve_loan, p.bank, ctx, loan.id)
        self.container.pump()
        assert self.loan(loan.id).status is LoanStatus.PLEDGED
        with SqlUnitOfWork.start(self.container.session_factory) as uow:
            stored = uow.receipts.get(receipt.id)
            assert stored is not None and stored.status is ReceiptStatus.PLEDGED
        disbursed = self.run(lending.disburse, p.bank, ctx, loan.id)
        self.container.pump()
        return disbursed


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    """A migrated service with a warehouse, a bay, steel at 2500 USD/t and the ledger connected."""
    upgrade(database_url)
    settings = Settings(
        db=DatabaseSettings(url=database_url),
        ledger=LedgerSettings(key_dir=tmp_path / "keys"),
        jobs_enabled=False,
    )
    container = build_container(settings)
    try:
        parties = create_parties(container.session_factory)
        container.connect_ledger()
        ctx = context_on_day(0)
        with SqlUnitOfWork.start(container.session_factory) as uow:
            warehouse = pledge.create_warehouse(uow, parties.warehouse, ctx, "NP1", "Main", "Quay")
        with SqlUnitOfWork.start(container.session_factory) as uow:
            square = {"cam-1": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]}
            bay = pledge.add_bay(uow, parties.warehouse, ctx, warehouse.id, "B1", "Bay 1", square)
        with SqlUnitOfWork.start(container.session_factory) as uow:
            pledge.define_commodity(uow, parties.warehouse, "STEEL", "Steel coils", "t", "0.001")
        with SqlUnitOfWork.start(container.session_factory) as uow:
            pricefeed.record_price(uow, parties.bank, ctx, "STEEL", "USD", "2500")
        yield Desk(container, parties, bay.id)
    finally:
        container.close()


def days_from(first: date, count: int) -> list[date]:
    """`count` consecutive days starting at `first`."""
    return [first + timedelta(days=n) for n in range(count)]


def test_a_disbursed_loan_accrues_one_day_of_interest_per_daily_run(desk: Desk) -> None:
    loan = desk.disbursed_loan(day_count="ACT/360", amount=EVEN_PRINCIPAL, rate=EVEN_RATE)
    assert loan.accrued_through == DISBURSED_ON - timedelta(days=1)

    booked = desk.accrue_all(DISBURSED_ON + timedelta(days=1))

    after = desk.loan(loan.id)
    rows = desk.accruals(loan.id)
    assert booked == 1
    assert [r.day for r in rows] == [DISBURSED_ON]
    assert rows[0].principal == Decimal(EVEN_PRINCIPAL)
    assert after.accrued_through == DISBURSED_ON
    assert after.interest == rows[0].amount == Decimal(EVEN_PRINCIPAL) * Decimal(EVEN_RATE) / 360


def test_one_run_after_downtime_books_exactly_the_missed_days_once(desk: Desk) -> None:
    loan = desk.disbursed_loan(day_count="ACT/365F", amount="250000.00", rate="0.0875")
    product_rate, dc = Decimal("0.0875"), parse_day_count("ACT/365F")
    desk.accrue_all(DISBURSED_ON + timedelta(days=1))
    before = desk.loan(loan.id)

    # The service was down for DOWNTIME_DAYS daily runs; the first run back catches up.
    back_on = DISBURSED_ON + timedelta(days=1 + DOWNTIME_DAYS)
    booked = desk.accrue_all(back_on)
    again = desk.accrue_all(back_on)

    rows = desk.accruals(loan.id)
    missed = days_from(DISBURSED_ON + timedelta(days=1), DOWNTIME_DAYS)
    caught_up = [r for r in rows if r.day in missed]
    expected = accrue(
        Money.of("250000.00", "USD"), product_rate, dc, missed[0], missed[-1] + timedelta(days=1)
    )
    after = desk.loan(loan.id)
    assert (booked, again) == (DOWNTIME_DAYS, 0)
    assert [r.day for r in rows] == [DISBURSED_ON, *missed]
    assert sum((r.amount for r in caught_up), Decimal(0)) == expected
    assert after.interest - before.interest == expected
    assert after.interest == accrue(
        Money.of("250000.00", "USD"), product_rate, dc, DISBURSED_ON, back_on
    )
    assert after.accrued_through == back_on - timedelta(days=1)


def test_a_run_on_a_day_already_booked_changes_nothing(desk: Desk) -> None:
    loan = desk.disbursed_loan(day_count="ACT/360", amount="100000.00", rate="0.05")
    back_on = DISBURSED_ON + timedelta(days=4)
    desk.accrue_all(back_on)
    booked = desk.loan(loan.id)

    # A clock that runs behind the last booked day must not book anything twice either.
    late = [desk.accrue_all(back_on), desk.accrue_all(back_on - timedelta(days=2))]

    assert late == [0, 0]
    assert desk.loan(loan.id).interest == booked.interest
    assert len(desk.accruals(loan.id)) == 4


def test_act_360_and_act_365f_products_accrue_in_the_ratio_365_to_360(desk: Desk) -> None:
    on_360 = desk.disbursed_loan(day_count="ACT/360", amount=EVEN_PRINCIPAL, rate=EVEN_RATE)
    on_365 = desk.disbursed_loan(day_count="ACT/365F", amount=EVEN_PRINCIPAL, rate=EVEN_RATE)

    desk.accrue_all(DISBURSED_ON + timedelta(days=1 + DOWNTIME_DAYS))

    daily_360 = {r.amount for r in desk.accruals(on_360.id)}
    daily_365 = {r.amount for r in desk.accruals(on_365.id)}
    yearly = Decimal(EVEN_PRINCIPAL) * Decimal(EVEN_RATE)
    assert len(daily_360) == len(daily_365) == 1, "a constant principal accrues evenly"
    (a360,), (a365,) = daily_360, daily_365
    assert a360 > a365
    assert a360 * 360 == a365 * 365 == yearly
    assert desk.loan(on_360.id).interest * 360 == desk.loan(on_365.id).interest * 365


def test_a_repayment_after_the_catch_up_pays_fees_then_interest_then_principal(
    desk: Desk,
) -> None:
    loan = desk.disbursed_loan(
        day_count="ACT/365F", amount="100000.00", rate="0.0875", fee_rate="0.01"
    )
    back_on = DISBURSED_ON + timedelta(days=1 + DOWNTIME_DAYS)
    desk.accrue_all(back_on)
    owed = desk.loan(loan.id)
    billed = Money(owed.interest, "USD").rounded().amount
    assert owed.fees == Decimal("1000.00")
    assert billed > 0

    ctx = context_on_day(1 + DOWNTIME_DAYS)
    short = desk.run(servicing.repay, desk.parties.sme, ctx, loan.id, str(owed.fees + 10))
    rest = billed - 10
    full = desk.run(servicing.repay, desk.parties.sme, ctx, loan.id, str(rest + 1000))

    after = desk.loan(loan.id)
    assert (short.fees, short.interest, short.principal) == (owed.fees, 10, 0)
    assert (full.fees, full.interest, full.principal) == (0, rest, 1000)
    assert after.fees == 0
    assert after.principal == Decimal("99000.00")
    # Only the sub-cent remainder of the accrued interest is left once the billed part is paid.
    assert after.interest == owed.interest - billed
    assert abs(after.interest) < Decimal("0.005")
    assert len(desk.accruals(loan.id)) == 1 + DOWNTIME_DAYS, "repaying booked no extra day"


def test_a_repayment_after_downtime_books_the_missed_days_before_allocating(desk: Desk) -> None:
    loan = desk.disbursed_loan(day_count="ACT/360", amount=EVEN_PRINCIPAL, rate=EVEN_RATE)
    # No job ran at all: the repayment itself must bring interest up to yesterday first.
    ctx = context_on_day(DOWNTIME_DAYS)
    expected = accrue(
        Money.of(EVEN_PRINCIPAL, "USD"),
        Decimal(EVEN_RATE),
        parse_day_count("ACT/360"),
        DISBURSED_ON,
        DISBURSED_ON + timedelta(days=DOWNTIME_DAYS),
    )

    paid = desk.run(servicing.repay, desk.parties.sme, ctx, loan.id, str(expected + 500))

    assert (paid.interest, paid.principal) == (expected, 500)
    assert [r.day for r in desk.accruals(loan.id)] == days_from(DISBURSED_ON, DOWNTIME_DAYS)
    assert desk.loan(loan.id).principal == Decimal(EVEN_PRINCIPAL) - 500
