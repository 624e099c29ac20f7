"""What the pages compute before a browser sees it: collateral history, CSRF tokens, redirects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from dashboards import collateral_history as ch
from dashboards.auth import safe_next
from dashboards.session import csrf_for, tokens_match
from loans.model import Accrual, Loan, LoanProduct, LoanStatus, Price, Repayment
from pledge.model import Movement, MovementKind, Receipt, ReceiptStatus
from services.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _facts() -> ch.LoanFacts:
    """100 coils at 12,000 less 20 %; 600,000 paid out (3,000 fee); then a repayment,
    a release of 54 coils and a price drop to 9,500, one day apart each."""
    product = LoanProduct(
        "p", "bank1", "Coil", "USD", Decimal("0.085"), "ACT/360", {"COIL": "0.20"},
        Decimal("0.70"), Decimal("0.80"), Decimal("0.90"), Decimal("0.005"), T0,
    )  # fmt: skip
    loan = Loan(
        "l", "bank1", "acme", "p", ["r"], "USD", Decimal("600000"), LoanStatus.MARGIN_CALL, T0,
        principal=Decimal("303141.67"), fees=Decimal("0"), disbursed_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    receipt = Receipt(
        "r", "WR-1", "lot", "wh", "northport", "acme", "COIL", Decimal(46), "pcs", [],
        ReceiptStatus.PLEDGED, T0,
    )  # fmt: skip
    day = timedelta(days=1)
    movements = [
        Movement("m1", "lot", "wh", "bay", MovementKind.RECEIVING, Decimal(100), [], T0),
        Movement("m2", "lot", "wh", "bay", MovementKind.SHIPPING, Decimal(54), [], T0 + 2 * day),
    ]
    prices = [
        Price("a", "COIL", "USD", Decimal("12000"), T0, "manual", "bank1"),
        Price("b", "COIL", "USD", Decimal("9500"), T0 + 3 * day, "manual", "bank1"),
        Price("c", "COIL", "EUR", Decimal("1"), T0 + 3 * day, "manual", "bank1"),
    ]
    repayments = [
        Repayment(
            "x", "l", Decimal("300000"), Decimal("3000"), Decimal("141.67"), Decimal("296858.33"),
            (T0 + day).date(), T0 + day,
        )
    ]  # fmt: skip
    accruals = [Accrual("l", date(2026, 3, 3), Decimal("141.666667"), Decimal("600000"))]
    return ch.LoanFacts(loan, product, [receipt], movements, prices, repayments, accruals)


def test_the_collateral_history_replays_payout_repayment_release_and_price_drop() -> None:
    facts = _facts()
    points = ch.history(facts, now=T0 + timedelta(days=4))

    values = [(p.collateral, p.outstanding) for p in points]
    paid_out = Decimal("603000")  # principal 600,000 plus the 3,000 fee, owed at once
    after_repayment = paid_out + Decimal("141.666667") - Decimal("300000")
    assert values[0] == (Decimal("960000.00"), paid_out)
    assert values[1] == (Decimal("960000.00"), after_repayment)
    assert values[2] == (Decimal("441600.00"), after_repayment)  # 46 coils left
    assert values[3] == (Decimal("349600.00"), after_repayment)  # at 9,500
    assert points[3].ltv is not None and points[3].ltv > Decimal("0.80")
    assert [p.at for p in points] == sorted(p.at for p in points)


def test_a_book_history_adds_loans_up_at_every_moment_either_changed() -> None:
    facts = _facts()
    now = T0 + timedelta(days=4)
    single = ch.history(facts, now)
    book = ch.book_history([facts, facts], now)
    assert [p.collateral for p in book] == [2 * p.collateral for p in single]
    assert [p.outstanding for p in book] == [2 * p.outstanding for p in single]


def test_csrf_tokens_are_bound_to_one_sign_in_and_to_the_secret() -> None:
    settings = Settings()
    token = csrf_for(settings, "jti-1")
    assert tokens_match(token, csrf_for(settings, "jti-1"))
    assert not tokens_match(token, csrf_for(settings, "jti-2"))
    assert not tokens_match(token, None)
    other = Settings.model_validate({"auth": {"jwt_secret": "x" * 48}})
    assert not tokens_match(token, csrf_for(other, "jti-1"))


def test_after_sign_in_only_pages_of_this_site_are_returned_to() -> None:
    assert safe_next("/ui/bank/loans/42?done=approved") == "/ui/bank/loans/42?done=approved"
    for hostile in ("https://evil.example/ui/x", "//evil.example/ui/", "/docs", "/ui/login", ""):
        assert safe_next(hostile) == "/ui/"
