"""Loan statements for the borrower: rows built from the loan's history, as CSV and as PDF.

The rows are rebuilt from what the loan booked (disbursement, the fee, daily accruals, repayments)
rather than from its current balances, so any period of the loan's life can be stated. Interest
accrues at sub-cent precision; the balance column shows what was owed at each point, with accrued
interest rounded as it is when billed, and each interest row is the change it made to that
balance, so opening + charges - payments = closing holds to the cent on every statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from loans.catalogue import product_of
from loans.lending import visible_loan
from loans.model import Accrual, Loan, LoanProduct, LoanStatus, Repayment
from loans.money import quantize_money
from loans.ports import LoansUnitOfWork
from pledge.errors import Invalid
from pledge.parties import Actor, OrgKind, Role


class Entry(StrEnum):
    """What a statement row records."""

    OPENING = "opening_balance"
    DISBURSEMENT = "disbursement"
    FEE = "fee"
    INTEREST = "interest"
    REPAYMENT = "repayment"
    CLOSING = "closing_balance"


@dataclass(frozen=True)
class StatementLine:
    """One row: a charge (raises the balance) or a payment (lowers it), and the balance after."""

    day: date
    entry: Entry
    description: str
    charge: Decimal
    payment: Decimal
    balance: Decimal
    fees_paid: Decimal = Decimal(0)
    interest_paid: Decimal = Decimal(0)
    principal_paid: Decimal = Decimal(0)


@dataclass(frozen=True)
class Statement:
    """A loan's statement for a period, with who owes whom and on what terms."""

    loan_id: str
    reference: str
    lender: str
    borrower: str
    product: str
    currency: str
    annual_rate: Decimal
    day_count: str
    status: str
    period_start: date
    period_end: date
    opening_balance: Decimal
    closing_balance: Decimal
    lines: tuple[StatementLine, ...]
    generated_at: datetime
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_charges(self) -> Decimal:
        """Everything added to the balance in the period."""
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def total_payments(self) -> Decimal:
        """Everything paid in the period."""
        return sum((line.payment for line in self.lines), Decimal(0))

    @property
    def filename(self) -> str:
        """A file name that tells the loan and the period apart from other statements."""
        return f"statement-{self.reference}-{self.period_start:%Y%m%d}-{self.period_end:%Y%m%d}"


@dataclass
class _Running:
    """The loan's buckets while its history is replayed; interest keeps sub-cent precision."""

    currency: str
    principal: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    # Interest as it shows in the balance column: rounded at each accrual, less what was paid.
    shown_interest: Decimal = Decimal(0)

    def money(self, amount: Decimal) -> Decimal:
        return quantize_money(amount, self.currency)

    @property
    def balance(self) -> Decimal:
        return self.money(self.principal + self.fees + self.shown_interest)


def _events(
    repayments: Iterable[Repayment], accruals: Iterable[Accrual]
) -> list[tuple[tuple[date, int, str], object]]:
    # Repayments book the interest of every day before their value date first, so an accrual for
    # day D precedes a repayment valued D+1 and follows one valued D: key (day, 1) vs (day, 0).
    keyed: list[tuple[tuple[date, int, str], object]] = []
    for repayment in repayments:
        keyed.append(((repayment.value_date, 0, repayment.received_at.isoformat()), repayment))
    for accrual in accruals:
        keyed.append(((accrual.day, 1, ""), accrual))
    keyed.sort(key=lambda item: item[0])
    return keyed


def _daily_lines(
    loan: Loan, repayments: Sequence[Repayment], accruals: Sequence[Accrual]
) -> list[StatementLine]:
    """Every booking of the loan in order, one line each, with the balance after it."""
    if loan.disbursed_at is None:
        return []
    state = _Running(loan.currency)
    lines = []
    start = loan.disbursed_at.date()
    # The fee is charged once, at disbursement; what is left of it now plus what was paid.
    fee = loan.fees + sum((r.fees for r in repayments), Decimal(0))
    state.principal = state.money(loan.amount_requested)
    lines.append(
        StatementLine(
            start, Entry.DISBURSEMENT, "Loan paid out", state.principal, Decimal(0), state.balance
        )
    )
    if fee:
        state.fees = state.money(fee)
        lines.append(
            StatementLine(
                start, Entry.FEE, "Arrangement fee", state.fees, Decimal(0), state.balance
            )
        )
    for _key, event in _events(repayments, accruals):
        if isinstance(event, Accrual):
            before = state.balance
            state.interest += event.amount
            state.shown_interest = state.money(state.interest)
            lines.append(
                StatementLine(
                    event.day,
                    Entry.INTEREST,
                    "Interest",
                    state.balance - before,
                    Decimal(0),
                    state.balance,
                )
            )
        elif isinstance(event, Repayment):
            state.fees -= event.fees
            state.interest -= event.interest
            state.shown_interest -= event.interest
            state.principal -= event.principal
            if state.principal + state.fees <= 0 and state.interest < Decimal("0.01"):
                # The final payment writes off sub-cent interest left by rounding (see close_loan).
                state.interest = state.shown_interest = Decimal(0)
            lines.append(
                StatementLine(
                    event.value_date,
                    Entry.REPAYMENT,
                    "Repayment received",
                    Decimal(0),
                    event.amount,
                    state.balance,
                    fees_paid=event.fees,
                    interest_paid=event.interest,
                    principal_paid=event.principal,
                )
            )
    return lines


def _merge_interest(lines: Sequence[StatementLine], day_count: str) -> list[StatementLine]:
    """Fold runs of daily interest into one row per calendar month, broken by any other row."""
    merged: list[StatementLine] = []
    run: list[StatementLine] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0].day, run[-1].day
        days = len(run)
        span = f"{first:%d %b}" if days == 1 else f"{first:%d %b} - {last:%d %b %Y}"
        merged.append(
            StatementLine(
                last,
                Entry.INTEREST,
                f"Interest {span} ({days} day{'s' if days != 1 else ''}, {day_count})",
                sum((line.charge for line in run), Decimal(0)),
                Decimal(0),
                last_balance[0],
            )
        )
        run.clear()

    last_balance = [Decimal(0)]
    for line in lines:
        if line.entry is Entry.INTEREST:
            if run and (line.day.year, line.day.month) != (run[0].day.year, run[0].day.month):
                flush()
            run.append(line)
            last_balance[0] = line.balance
            continue
        flush()
        merged.append(line)
    flush()
    return merged


def build_statement(
    loan: Loan,
    product: LoanProduct,
    repayments: Sequence[Repayment],
    accruals: Sequence[Accrual],
    *,
    lender: str,
    borrower: str,
    generated_at: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Statement:
    """The statement of `loan` from `start` to `end` (default: its whole life up to today)."""
    daily = _daily_lines(loan, repayments, accruals)
    first_day = daily[0].day if daily else loan.created_at.date()
    period_start = start or first_day
    period_end = end or max(generated_at.date(), daily[-1].day if daily else first_day)
    if period_end < period_start:
        raise Invalid("invalid_period", f"the period ends {period_end} before it starts")
    before = [line for line in daily if line.day < period_start]
    inside = [line for line in daily if period_start <= line.day <= period_end]
    opening = before[-1].balance if before else Decimal(0)
    closing = inside[-1].balance if inside else opening
    zero = quantize_money(Decimal(0), loan.currency)
    rows = [
        StatementLine(period_start, Entry.OPENING, "Opening balance", zero, zero, opening),
        *_merge_interest(inside, product.day_count),
        StatementLine(period_end, Entry.CLOSING, "Closing balance", zero, zero, closing),
    ]
    notes = []
    if loan.disbursed_at is None:
        notes.append(f"The loan has not been paid out; it is {loan.status.value}.")
    running = loan.status in (LoanStatus.ACTIVE, LoanStatus.MARGIN_CALL, LoanStatus.DEFAULTED)
    if running and loan.accrued_through is not None and loan.accrued_through < period_end:
        notes.append(
            f"Interest is booked through {loan.accrued_through:%d %b %Y}; "
            "later days are added by the next daily run."
        )
    return Statement(
        loan_id=loan.id,
        reference=loan.id[:8].upper(),
        lender=lender,
        borrower=borrower,
        product=product.name,
        currency=loan.currency,
        annual_rate=product.annual_rate,
        day_count=product.day_count,
        status=loan.status.value,
        period_start=period_start,
        period_end=period_end,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(rows),
        generated_at=generated_at,
        notes=tuple(notes),
    )


def _org_name(uow: LoansUnitOfWork, org_id: str) -> str:
    # Imported here: identity tables are an edge the pure statement code never needs.
    from services.identity.tables import Org

    session = getattr(uow, "session", None)
    org = session.get(Org, org_id) if session is not None else None
    return org.name if org is not None else org_id


def loan_statement(
    uow: LoansUnitOfWork,
    actor: Actor,
    loan_id: str,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
) -> Statement:
    """The statement of a loan the actor's organisation is party to; others answer not found."""
    actor.require_any((OrgKind.SME, OrgKind.BANK), Role.VIEWER)
    loan = visible_loan(uow, actor, loan_id)
    repayments = uow.repayments.find(loan_id=loan.id)
    accruals = uow.accruals.find(loan_id=loan.id)
    return build_statement(
        loan,
        product_of(uow, loan),
        repayments,
        accruals,
        lender=_org_name(uow, loan.bank_org_id),
        borrower=_org_name(uow, loan.sme_org_id),
        generated_at=now,
        start=start,
        end=end,
    )


CSV_COLUMNS = (
    "date",
    "entry",
    "description",
    "currency",
    "charge",
    "payment",
    "fees_paid",
    "interest_paid",
    "principal_paid",
    "balance",
)


def statement_csv(statement: Statement) -> str:
    """The statement as CSV: one header row, then opening balance, bookings, closing balance."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    money = _plain(statement.currency)
    for line in statement.lines:
        writer.writerow(
            (
                line.day.isoformat(),
                line.entry.value,
                line.description,
                statement.currency,
                money(line.charge),
                money(line.payment),
                money(line.fees_paid),
                money(line.interest_paid),
                money(line.principal_paid),
                money(line.balance),
            )
        )
    return out.getvalue()


def _plain(currency: str) -> Callable[[Decimal], str]:
    def fmt(amount: Decimal) -> str:
        return f"{quantize_money(amount, currency):f}"

    return fmt


def grouped(amount: Decimal, currency: str) -> str:
    """An amount with thousands separators and the currency's decimals, e.g. 12,345.60."""
    return f"{quantize_money(amount, currency):,f}"


def _latin1(text: str) -> str:
    # The PDF's built-in fonts cover Latin-1 only; anything else is shown as '?'.
    return text.encode("latin-1", errors="replace").decode("latin-1")


class _StatementPdf(FPDF):
    """An A4 page with the statement's title on top and page numbers below."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.statement_title = title
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        self.alias_nb_pages()

    def footer(self) -> None:
        """Page x of n, and what the document is."""
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110)
        self.cell(0, 5, _latin1(self.statement_title), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)


# Column widths in mm (sum 180 = A4 width less margins) and alignment of the bookings table.
_TABLE = (
    ("Date", 22, "L"),
    ("Description", 70, "L"),
    ("Charges", 29, "R"),
    ("Payments", 29, "R"),
    ("Balance", 30, "R"),
)


def statement_pdf(statement: Statement) -> bytes:
    """The statement as a PDF: parties and terms, a summary, then every booking in a table."""
    title = f"Loan statement {statement.reference}"
    pdf = _StatementPdf(title)
    pdf.set_title(title)
    pdf.set_author(_latin1(statement.lender))
    pdf.set_creation_date(statement.generated_at)
    pdf.add_page()
    _pdf_header(pdf, statement)
    _pdf_summary(pdf, statement)
    _pdf_table(pdf, statement)
    if statement.notes:
        pdf.ln(4)
        pdf.set_font("Helvetica", "I", 8)
        for note in statement.notes:
            pdf.multi_cell(0, 4, _latin1(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _pdf_header(pdf: FPDF, st: Statement) -> None:
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, "Loan statement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)
    pdf.set_text_color(90)
    period = f"{st.period_start:%d %b %Y} to {st.period_end:%d %b %Y}"
    pdf.cell(0, 5, f"Period {period}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.ln(3)
    facts = (
        ("Borrower", st.borrower),
        ("Lender", st.lender),
        ("Loan", f"{st.reference} ({st.loan_id})"),
        ("Product", st.product),
        ("Terms", f"{(st.annual_rate * 100).normalize():f}% a year, {st.day_count}"),
        ("Currency", st.currency),
        ("Status", st.status.replace("_", " ")),
        ("Issued", f"{st.generated_at:%d %b %Y %H:%M} UTC"),
    )
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(28, 5.5, label)
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 5.5, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _pdf_summary(pdf: FPDF, st: Statement) -> None:
    boxes = (
        ("Opening balance", st.opening_balance),
        ("Charges", st.total_charges),
        ("Payments", st.total_payments),
        ("Closing balance", st.closing_balance),
    )
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(boxes)
    top = pdf.get_y()
    pdf.set_fill_color(238, 242, 247)
    for index, (label, amount) in enumerate(boxes):
        x = pdf.l_margin + index * width
        pdf.rect(x + 0.5, top, width - 1, 16, style="F")
        pdf.set_xy(x + 2, top + 1.5)
        pdf.set_font("Helvetica", size=8)
        pdf.set_text_color(80)
        pdf.cell(width - 4, 4.5, label)
        pdf.set_xy(x + 2, top + 7)
        pdf.set_font("Helvetica", "B", 11)
        pdf.set_text_color(0)
        pdf.cell(width - 4, 6, f"{grouped(amount, st.currency)} {st.currency}")
    pdf.set_xy(pdf.l_margin, top + 20)


def _table_header(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(40, 62, 92)
    pdf.set_text_color(255)
    for name, width, align in _TABLE:
        pdf.cell(width, 7, name, align=align, fill=True)
    pdf.ln(7)
    pdf.set_text_color(0)


def _pdf_table(pdf: FPDF, st: Statement) -> None:
    _table_header(pdf)
    pdf.set_font("Helvetica", size=8.5)
    for index, line in enumerate(st.lines):
        if pdf.will_page_break(10.5 if line.entry is Entry.REPAYMENT else 6):
            pdf.add_page()
            _table_header(pdf)
            pdf.set_font("Helvetica", size=8.5)
        edge = line.entry in (Entry.OPENING, Entry.CLOSING)
        pdf.set_font("Helvetica", "B" if edge else "", 8.5)
        shade = edge or index % 2 == 0
        pdf.set_fill_color(*((226, 232, 240) if edge else (247, 249, 251)))
        cells = (
            f"{line.day:%d %b %Y}",
            line.description,
            "" if edge or not line.charge else grouped(line.charge, st.currency),
            "" if edge or not line.payment else grouped(line.payment, st.currency),
            grouped(line.balance, st.currency),
        )
        for (_, width, align), text in zip(_TABLE, cells, strict=True):
            pdf.cell(width, 6, _fit(pdf, _latin1(text), width), align=align, fill=shade)
        pdf.ln(6)
        if line.entry is Entry.REPAYMENT:
            _allocation_row(pdf, line, st.currency, shade)


def _allocation_row(pdf: FPDF, line: StatementLine, currency: str, shade: bool) -> None:
    # How the payment was applied (fees, then interest, then principal), under its row.
    split = (
        f"applied to fees {grouped(line.fees_paid, currency)}, "
        f"interest {grouped(line.interest_paid, currency)}, "
        f"principal {grouped(line.principal_paid, currency)}"
    )
    pdf.set_font("Helvetica", "I", 7.5)
    pdf.set_text_color(90)
    pdf.cell(_TABLE[0][1], 4.5, "", fill=shade)
    rest = sum(width for _, width, _ in _TABLE[1:])
    pdf.cell(rest, 4.5, _fit(pdf, split, rest), fill=shade)
    pdf.ln(4.5)
    pdf.set_text_color(0)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    # Long descriptions are shortened rather than wrapped, so every row keeps one height.
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."
