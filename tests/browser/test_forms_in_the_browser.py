"""Forms show the service's problem in place, and alerts are taken on and closed from the inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.story_steps import (
    active_loan,
    applied_loan,
    parties,
    pledged_loan,
    price,
    product,
)
from tests.api.story_steps import expect as answered
from tests.browser.harness import ApiDriver, LiveServer, screenshot


@pytest.fixture
def api(server: LiveServer) -> Iterator[ApiDriver]:
    """The live server's API, for set-up steps."""
    driver = ApiDriver(server)
    yield driver
    driver.close()


def test_approving_above_max_ltv_shows_the_refusal_in_place(open_as: Any, api: ApiDriver) -> None:
    who = parties(api)
    deal = applied_loan(api.client, who, amount="750000.00")
    loan_id = deal.loan["id"]
    bank = open_as("bank1.officer")
    bank.goto("/ui/bank/applications")
    card = bank.locator(f"#application-{loan_id}")
    expect(card.locator(".badge.bad")).to_have_text("above")

    card.get_by_role("button", name="Approve and pledge").click()

    problem = card.locator(".approve-form [data-problem] .problem")
    expect(problem).to_have_attribute("data-code", "ltv_above_max")
    expect(problem).to_contain_text("LTV")
    assert bank.url.endswith("/ui/bank/applications")
    screenshot(bank, "bank-application-refused")

    # Rejecting needs a reason: the use case says so, in place; with one, the loan is rejected.
    reject = card.locator(".reject-form")
    reject.get_by_role("button", name="Reject").click()
    expect(reject.locator("[data-problem] .problem")).to_have_attribute(
        "data-code", "reason_required"
    )
    reject.get_by_label("Reason to reject").fill("LTV above 0.70; ask for at most 672,000 USD")
    reject.get_by_role("button", name="Reject").click()
    expect(bank.locator("#done")).to_contain_text("turned down")
    expect(bank.locator(f"#application-{loan_id}")).to_have_count(0)
    loan = answered(api.client.get(f"/loans/{loan_id}", headers=who.bank1), 200)
    assert loan["status"] == "rejected"


def test_an_alert_is_acknowledged_in_the_inbox_and_resolved_with_a_note(
    open_as: Any, api: ApiDriver
) -> None:
    who = parties(api)
    deal = active_loan(api.client, who)
    price(api.client, who.bank1, "9000")
    alerts = answered(
        api.client.get("/alerts", headers=who.bank1, params={"type": "margin_call"}), 200
    )["items"]
    [alert] = [a for a in alerts if a["subject"].get("loan_id") == deal.loan["id"]]
    bank = open_as("bank1.officer")
    bank.goto("/ui/alerts")
    row = bank.locator(f"#alert-{alert['id']}")
    expect(row).to_have_attribute("data-state", "open")

    row.get_by_role("button", name="Acknowledge").click()

    expect(row).to_have_attribute("data-state", "acknowledged")
    row.get_by_role("link", name="Resolve…").click()
    # The browser insists on a note; one of blanks passes it, and the use case refuses it.
    bank.get_by_label("What was found and done").fill("   ")
    bank.get_by_role("button", name="Resolve").click()
    expect(bank.locator("#resolve [data-problem] .problem")).to_have_attribute(
        "data-code", "note_required"
    )
    bank.get_by_label("What was found and done").fill("Borrower topped up with 20 coils")
    bank.get_by_role("button", name="Resolve").click()
    expect(bank.locator("#alert-state")).to_have_text("resolved")
    after = answered(api.client.get(f"/alerts/{alert['id']}", headers=who.bank1), 200)
    assert after["state"] == "resolved"
    assert after["resolution_note"] == "Borrower topped up with 20 coils"
    # Keyboard only: the skip link is the first stop and lands on the page's content.
    bank.keyboard.press("Tab")
    expect(bank.locator(".skip-link")).to_be_focused()


def test_a_second_pledge_of_the_same_goods_is_refused_by_the_ledger_and_said_so(
    open_as: Any, api: ApiDriver
) -> None:
    who = parties(api)
    first = pledged_loan(api.client, who)
    offer = product(api.client, who.bank2, name="Metals line")
    price(api.client, who.bank2)
    body = {
        "product_id": offer["id"],
        "receipt_ids": [first.goods.receipt["id"]],
        "amount": "300000.00",
    }
    second = answered(api.client.post("/loans", headers=who.sme, json=body), 201)
    bank2 = open_as("bank2.officer")
    bank2.goto("/ui/bank/applications")

    bank2.locator(f"#application-{second['id']}").get_by_role(
        "button", name="Approve and pledge"
    ).click()

    bank2.wait_for_url(re.compile(r".*done=refused"))
    expect(bank2.locator("#done.problem")).to_contain_text("ledger refused")
    expect(bank2.locator("#loan-status")).to_have_text("rejected")
    pledge = bank2.locator("table.commands tr[data-kind='register_pledge']")
    expect(pledge).to_have_attribute("data-status", "rejected")
    expect(pledge).to_contain_text("RECEIPT_NOT_AVAILABLE")
    screenshot(bank2, "bank-double-pledge-refused")
