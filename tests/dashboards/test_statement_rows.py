"""A loan statement's rows add up: opening + charges - payments = closing, in every period."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from dashboards.statements import (
    CSV_COLUMNS,
    Entry,
    Statement,
    build_statement,
    statement_csv,
    statement_pdf,
)
from loans.allocation import allocate
from loans.daycount import parse_day_count
from loans.interest import daily_interest
from loans.model import Accrual, Loan, LoanProduct, LoanStatus, Repayment
from loans.money import Money
from loans.valuing import outstanding
from pledge.errors import Invalid

DISBURSED = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)


def product(day_count: str = "ACT/360", fee_rate: str = "0.005") -> LoanProduct:
    """A product on the usual terms."""
    return LoanProduct(
        "prod",
        "bank1",
        "Coil pledge 90d",
        "USD",
        Decimal("0.085"),
        day_count,
        {"STEEL-COIL": "0.2"},
        Decimal("0.7"),
        Decimal("0.8"),
        Decimal("0.9"),
        Decimal(fee_rate),
        DISBURSED,
    )


def run_loan(
    terms: LoanProduct, principal: str, days: int, payments: dict[int, str]
) -> tuple[Loan, list[Accrual], list[Repayment]]:
    """Play a loan as the servicing use cases do: accrue daily, pay fees, interest, principal."""
    amount = Decimal(principal)
    loan = Loan(
        "a1b2c3d4e5f6",
        "bank1",
        "acme",
        terms.id,
        ["r1"],
        "USD",
        amount,
        LoanStatus.ACTIVE,
        DISBURSED,
        principal=amount,
        fees=(Money(amount, "USD") * terms.fee_rate).rounded().amount,
        accrued_through=DISBURSED.date() - timedelta(days=1),
        disbursed_at=DISBURSED,
    )
    dc = parse_day_count(terms.day_count)
    accruals, repayments = [], []
    for offset in range(days + 1):
        today = DISBURSED.date() + timedelta(days=offset)
        split = None
        if offset in payments and loan.status is LoanStatus.ACTIVE:
            split = allocate(
                Money.of(payments[offset], "USD"),
                Money(loan.fees, "USD"),
                Money(loan.interest, "USD").rounded(),
                Money(loan.principal, "USD"),
            )
        # The use case refuses an overpayment: nothing is booked.
        if split is not None and not split.excess.is_positive():
            paid = split.applied
            loan.fees -= split.fees.amount
            loan.interest -= split.interest.amount
            loan.principal -= split.principal.amount
            when = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=10)
            repayments.append(
                Repayment(
                    f"rep{offset}",
                    loan.id,
                    paid.amount,
                    split.fees.amount,
                    split.interest.amount,
                    split.principal.amount,
                    today,
                    when,
                )
            )
            if outstanding(loan).is_zero():  # the last payment closes the loan
                loan.interest = Decimal(0)
                loan.status = LoanStatus.CLOSED
        if offset == days or loan.status is not LoanStatus.ACTIVE:
            continue
        share = daily_interest(Money(loan.principal, "USD"), terms.annual_rate, dc)
        accruals.append(Accrual(loan.id, today, share, loan.principal))
        loan.interest += share
        loan.accrued_through = today
    return loan, accruals, repayments


def statement(loan: Loan, terms: LoanProduct, accruals, repayments, **period) -> Statement:  # type: ignore[no-untyped-def]
    """The statement as the borrower gets it, issued the day after the last booking."""
    return build_statement(
        loan,
        terms,
        repayments,
        accruals,
        lender="First Harbour Bank",
        borrower="Acme Steel Trading",
        generated_at=datetime(2026, 6, 1, 12, tzinfo=UTC),
        **period,
    )


def assert_adds_up(st: Statement) -> None:
    """Each row moves the balance by exactly its charge less its payment."""
    balance = st.opening_balance
    for line in st.lines[1:-1]:
        balance = balance + line.charge - line.payment
        assert line.balance == balance, line
    assert st.closing_balance == balance
    assert st.opening_balance + st.total_charges - st.total_payments == st.closing_balance


def test_a_running_loan_closes_at_what_it_owes_with_one_interest_row_per_month() -> None:
    terms = product()
    loan, accruals, repayments = run_loan(terms, "600000.00", 70, {30: "150000.00"})
    st = statement(loan, terms, accruals, repayments)
    assert_adds_up(st)
    assert st.closing_balance == outstanding(loan).amount
    entries = [line.entry for line in st.lines]
    assert entries[0] is Entry.OPENING and entries[-1] is Entry.CLOSING
    assert entries[1:3] == [Entry.DISBURSEMENT, Entry.FEE]
    assert st.lines[1].charge == Decimal("600000.00") and st.lines[2].charge == Decimal("3000.00")
    # Jan 20-31, Feb 1-18, (repayment on Feb 19), Feb 19-28, Mar 1-30: the run is broken by the
    # repayment and by each month's end.
    interest = [line for line in st.lines if line.entry is Entry.INTEREST]
    assert [line.day for line in interest] == [
        date(2026, 1, 31),
        date(2026, 2, 18),
        date(2026, 2, 28),
        date(2026, 3, 30),
    ]
    assert "12 days" in interest[0].description and "ACT/360" in interest[0].description
    payment = next(line for line in st.lines if line.entry is Entry.REPAYMENT)
    assert payment.payment == Decimal("150000.00")
    assert payment.fees_paid == Decimal("3000.00")
    assert payment.fees_paid + payment.interest_paid + payment.principal_paid == payment.payment
    booked = sum((a.amount for a in accruals), Decimal(0))
    charged = sum((line.charge for line in interest), Decimal(0))
    assert abs(charged - booked) < Decimal("0.01")


def test_a_repaid_loan_closes_at_zero() -> None:
    terms = product(day_count="ACT/365F")
    loan, accruals, repayments = run_loan(terms, "1000.00", 12, {5: "400.00"})
    assert loan.status is LoanStatus.ACTIVE
    rest = outstanding(loan).amount
    loan, accruals, repayments = run_loan(terms, "1000.00", 12, {5: "400.00", 12: str(rest)})
    assert loan.status is LoanStatus.CLOSED
    st = statement(loan, terms, accruals, repayments)
    assert_adds_up(st)
    assert st.closing_balance == Decimal("0.00")
    assert st.notes == ()


def test_a_period_opens_at_the_balance_its_first_day_inherits() -> None:
    terms = product()
    loan, accruals, repayments = run_loan(terms, "600000.00", 70, {30: "150000.00"})
    whole = statement(loan, terms, accruals, repayments)
    march = statement(loan, terms, accruals, repayments, start=date(2026, 3, 1))
    february = statement(
        loan, terms, accruals, repayments, start=date(2026, 2, 1), end=date(2026, 2, 28)
    )
    assert_adds_up(march)
    assert_adds_up(february)
    feb_end = next(line for line in whole.lines if line.day == date(2026, 2, 28))
    assert february.closing_balance == feb_end.balance == march.opening_balance
    assert march.closing_balance == whole.closing_balance
    assert all(date(2026, 2, 1) <= line.day <= date(2026, 2, 28) for line in february.lines)
    with pytest.raises(Invalid):
        statement(loan, terms, accruals, repayments, start=date(2026, 3, 2), end=date(2026, 3, 1))


@settings(max_examples=40, deadline=None)
@given(
    principal=st.decimals(min_value=100, max_value=5_000_000, places=2),
    days=st.integers(min_value=1, max_value=120),
    payments=st.dictionaries(
        st.integers(min_value=0, max_value=120),
        st.decimals(min_value=Decimal("0.01"), max_value=1_000_000, places=2),
        max_size=5,
    ),
)
def test_rows_add_up_for_any_schedule_of_payments(
    principal: Decimal, days: int, payments: dict[int, Decimal]
) -> None:
    terms = product()
    schedule = {day: f"{amount:f}" for day, amount in payments.items()}
    loan, accruals, repayments = run_loan(terms, f"{principal:f}", days, schedule)
    st = statement(loan, terms, accruals, repayments)
    assert_adds_up(st)
    assert st.closing_balance == outstanding(loan).amount


def test_an_unpaid_loan_has_an_empty_statement_that_says_why() -> None:
    terms = product()
    loan, _, _ = run_loan(terms, "1000.00", 1, {})
    loan.disbursed_at = None
    loan.status = LoanStatus.APPLIED
    st = statement(loan, terms, [], [])
    assert [line.entry for line in st.lines] == [Entry.OPENING, Entry.CLOSING]
    assert st.closing_balance == 0
    assert any("not been paid out" in note for note in st.notes)


def test_csv_and_pdf_carry_the_same_rows() -> None:
    terms = product()
    loan, accruals, repayments = run_loan(terms, "600000.00", 70, {30: "150000.00"})
    st = statement(loan, terms, accruals, repayments)
    rows = list(csv.DictReader(io.StringIO(statement_csv(st))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["entry"] for r in rows] == [line.entry.value for line in st.lines]
    assert rows[-1]["balance"] == f"{st.closing_balance:f}"
    assert {r["currency"] for r in rows} == {"USD"}
    repayment = next(r for r in rows if r["entry"] == "repayment")
    assert Decimal(repayment["payment"]) == Decimal("150000.00")

    reader = PdfReader(io.BytesIO(statement_pdf(st)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Loan statement",
        "Acme Steel Trading",
        "First Harbour Bank",
        "USD",
        "Opening balance",
        "Closing balance",
        "600,000.00",
        "150,000.00",
        f"{st.closing_balance:,f}",
        "applied to fees 3,000.00",
    ):
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == f"Loan statement {st.reference}"


def test_a_long_statement_repeats_its_table_header_on_every_page() -> None:
    terms = product()
    payments = {day: "1000.00" for day in range(1, 300, 3)}
    loan, accruals, repayments = run_loan(terms, "900000.00", 300, payments)
    st = statement(loan, terms, accruals, repayments)
    reader = PdfReader(io.BytesIO(statement_pdf(st)))
    assert len(reader.pages) >= 3
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert "Balance" in text and "Payments" in text
        assert f"Page {number} of {len(reader.pages)}" in text
    assert f"{st.closing_balance:,f}" in reader.pages[-1].extract_text()


def test_names_outside_latin_1_do_not_break_the_pdf() -> None:
    terms = product()
    loan, accruals, repayments = run_loan(terms, "1000.00", 3, {})
    st = build_statement(
        loan,
        terms,
        repayments,
        accruals,
        lender="Банк",
        borrower="Acme Stahl GmbH \u2013 Köln",
        generated_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    text = PdfReader(io.BytesIO(statement_pdf(st))).pages[0].extract_text()
    assert "Köln" in text
