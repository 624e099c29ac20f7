"""Statements downloaded from the SME's pages agree with the loan the API reports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.api.story_steps import shared_world
from tests.dashboards.conftest import Town, api_loan, backdate_loan, build_town

DAYS = 40
PAYMENT = Decimal("50000.00")


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Town]:
    """A loan paid out 40 days ago, with its interest booked, and one repayment from the page."""
    for world in shared_world(tmp_path_factory):
        town = build_town(world)
        assert backdate_loan(town.service, town.loan_id, DAYS) == DAYS
        loan = f"/ui/sme/loans/{town.loan_id}"
        confirm = town.sme.get(f"{loan}/repay?amount={PAYMENT}")
        field = re.search(r'name="idempotency_key" value="(\w+)"', confirm.text)
        assert field, confirm.text
        paid = town.sme.post(
            f"{loan}/repay", {"amount": str(PAYMENT), "idempotency_key": field.group(1)}
        )
        assert paid.status_code == 303, paid.text
        yield town


def rows_of(text: str) -> list[dict[str, str]]:
    """The CSV's rows as dicts."""
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_statement_closes_at_what_the_loan_owes(town: Town) -> None:
    resp = town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.csv")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="statement-' in resp.headers["content-disposition"]
    rows = rows_of(resp.text)
    entries = [r["entry"] for r in rows]
    assert entries[:3] == ["opening_balance", "disbursement", "fee"]
    assert entries[-1] == "closing_balance" and "repayment" in entries
    assert rows[1]["charge"] == "600000.00" and rows[2]["charge"] == "3000.00"
    loan = api_loan(town.service, town.world.who.sme, town.loan_id)
    assert Decimal(rows[-1]["balance"]) == Decimal(loan["outstanding"])
    balance = Decimal(rows[0]["balance"])
    for row in rows[1:-1]:
        balance += Decimal(row["charge"]) - Decimal(row["payment"])
        assert Decimal(row["balance"]) == balance, row
    repayment = next(r for r in rows if r["entry"] == "repayment")
    assert Decimal(repayment["payment"]) == PAYMENT
    split = sum(Decimal(repayment[k]) for k in ("fees_paid", "interest_paid", "principal_paid"))
    assert split == PAYMENT and repayment["fees_paid"] == "3000.00"
    interest = [r for r in rows if r["entry"] == "interest"]
    months = {(r["date"][:7]) for r in interest}
    # One row per month, plus one where the repayment cuts a month in two.
    assert len(months) <= len(interest) <= len(months) + 1
    accrued = sum(Decimal(r["charge"]) for r in interest)
    assert accrued > 0 and all(r["currency"] == "USD" for r in rows)


def test_a_period_opens_where_the_loan_stood_the_day_before(town: Town) -> None:
    whole = rows_of(town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.csv").text)
    # The day after a row of the whole statement: the period must open at that row's balance.
    first_interest = next(r for r in whole if r["entry"] == "interest")
    start = date.fromisoformat(first_interest["date"]) + timedelta(days=1)
    part = town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.csv?start={start}")
    rows = rows_of(part.text)
    before = [r for r in whole[1:-1] if date.fromisoformat(r["date"]) < start]
    assert rows[0]["entry"] == "opening_balance" and rows[0]["date"] == start.isoformat()
    assert rows[0]["balance"] == before[-1]["balance"]
    assert rows[-1]["balance"] == whole[-1]["balance"]
    bad = town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.csv?start=yesterday")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


def test_the_pdf_statement_names_the_parties_and_the_balances(town: Town) -> None:
    resp = town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.pdf")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    loan = api_loan(town.service, town.world.who.sme, town.loan_id)
    closing = f"{Decimal(loan['outstanding']):,.2f}"
    for expected in (
        "Loan statement",
        "Acme Steel Trading",
        "First Harbour Bank",
        "Coil pledge 90d",
        "8.5% a year, ACT/360",
        "USD",
        "Opening balance",
        "Closing balance",
        "600,000.00",
        f"{PAYMENT:,.2f}",
        closing,
        "Page 1 of",
    ):
        assert expected in text, expected


def test_the_statement_page_shows_the_rows_of_the_downloads(town: Town) -> None:
    rows = rows_of(town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement.csv").text)
    page = town.sme.get(f"/ui/sme/loans/{town.loan_id}/statement")
    assert page.status_code == 200
    entries = re.findall(r'<tr data-entry="(\w+)"', page.text)
    assert entries == [r["entry"] for r in rows]
    closing = f"{Decimal(rows[-1]['balance']):,.2f}"
    assert re.search(rf'id="closing-balance">{re.escape(closing)} <small>USD', page.text)


def test_statements_are_only_for_the_borrower(town: Town) -> None:
    for suffix in ("statement", "statement.csv", "statement.pdf"):
        path = f"/ui/sme/loans/{town.loan_id}/{suffix}"
        assert town.rival_sme.get(path).status_code == 404
        assert town.bank.get(path).status_code == 403
    page = town.sme.get("/ui/sme/statements").text
    assert f'id="statement-{town.loan_id}"' in page
    assert f'id="pdf-{town.loan_id}"' in page and f'id="csv-{town.loan_id}"' in page
    assert town.loan_id not in town.rival_sme.get("/ui/sme/statements").text
