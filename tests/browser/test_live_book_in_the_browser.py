"""An open loan book follows revaluations: a margin call appears on it without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.story_steps import active_loan, parties, price
from tests.browser.harness import ApiDriver, LiveServer


@pytest.fixture
def api(server: LiveServer) -> Iterator[ApiDriver]:
    """The live server's API, for the price feed."""
    driver = ApiDriver(server)
    yield driver
    driver.close()


def test_a_price_drop_puts_the_loan_in_margin_call_on_the_open_book(
    open_as: Any, api: ApiDriver
) -> None:
    who = parties(api)
    deal = active_loan(api.client, who)
    price(api.client, who.bank1)
    bank = open_as("bank1.officer")
    bank.goto("/ui/bank/loans")
    row = bank.locator(f"#loan-{deal.loan['id']}")
    expect(row).to_have_attribute("data-status", "active")
    expect(bank.locator("#live-status .live-text")).to_have_text("live")
    bank.evaluate("window.bookMarker = 'not reloaded'")

    # The bank's price feed (an integration, not this page) records a lower price.
    price(api.client, who.bank1, "9000")

    expect(row).to_have_attribute("data-status", "margin_call")
    expect(row.locator(".badge.bad")).to_have_text("open")
    assert bank.evaluate("window.bookMarker") == "not reloaded"
