"""The money-moving page flows and the statement, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

from tests.api.story_steps import parties, release_order, repaid_in_part
from tests.dashboards.conftest import api_loan
from tests.dashboards.pages import browser


def test_repay_release_request_release_and_statement(service: Any) -> None:
    who = parties(service)
    deal, releasable = repaid_in_part(service.client, who)
    loan_id = deal.loan["id"]
    sme = browser(service, "acme.clerk")
    warehouse = browser(service, "warehouse.operator")

    confirm = sme.get(f"/ui/sme/loans/{loan_id}/repay?amount=1000.00")
    key = re.search(r'name="idempotency_key" value="(\w+)"', confirm.text)
    assert key, confirm.text
    paid = sme.post(
        f"/ui/sme/loans/{loan_id}/repay", {"amount": "1000.00", "idempotency_key": key.group(1)}
    )
    assert paid.status_code == 303

    receipt = deal.goods.receipt["id"]
    asked = sme.post(
        f"/ui/sme/loans/{loan_id}/release-requests", {"receipt_id": receipt, "quantity": "2"}
    )
    assert asked.status_code == 303, asked.text
    assert Decimal(releasable) >= 2
    order = release_order(service.client, who, deal, "2")
    page = sme.get(f"/ui/sme/loans/{loan_id}").text
    assert "order open" in page

    form = warehouse.get(f"/ui/warehouse/releases/{order['id']}")
    release_key = re.search(r'name="idempotency_key" value="(\w+)"', form.text)
    assert release_key
    done = warehouse.post(
        f"/ui/warehouse/releases/{order['id']}/execute",
        {"idempotency_key": release_key.group(1)},
    )
    assert done.status_code == 303
    assert (
        f'id="order-{order["id"]}" data-status="executed"'
        in warehouse.get(done.headers["location"]).text
    )

    rows = list(csv.DictReader(io.StringIO(sme.get(f"/ui/sme/loans/{loan_id}/statement.csv").text)))
    payments = [Decimal(r["payment"]) for r in rows if r["entry"] == "repayment"]
    assert payments == [Decimal("300000.00"), Decimal("1000.00")]
    owed = api_loan(service, who.sme, loan_id)["outstanding"]
    assert Decimal(rows[-1]["balance"]) == Decimal(owed)
