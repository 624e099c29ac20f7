"""The story of DESIGN.md in a real browser, each party in its own browser context.

The warehouse's set-up (site, camera, goods) and the bank's product and price go through the
API, as integrations would; every decision people take is taken on the pages. The camera's
report of goods leaving goes through the device route, as the vision worker sends it, and must
appear in the bank's open inbox without a reload.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.story_steps import expect as answered
from tests.api.story_steps import parties, price, product, receive
from tests.browser.harness import TABLET, ApiDriver, LiveServer, screenshot
from tests.cameras.camera_world import (
    Watched,
    change_body,
    device_key,
    register_camera,
    watched_site,
)
from vision.signing import WorkerKey

LOAN_AMOUNT = "600000.00"
REPAYMENT = "300000.00"
DROPPED_PRICE = "9500"


@pytest.fixture
def api(server: LiveServer) -> Iterator[ApiDriver]:
    """The live server's API, for set-up steps and device reports."""
    driver = ApiDriver(server)
    yield driver
    driver.close()


def _watched_goods(api: ApiDriver) -> tuple[str, Watched]:
    """A camera-watched bay holding 100 tagged coils for Acme; Bank 1 prices coils."""
    who = parties(api)
    camera_id = "cam-story"
    site = watched_site(api.client, who, camera_id)
    register_camera(api.client, who, site, camera_id)
    stock = receive(api.client, who.wh, site, 100)
    offer = product(api.client, who.bank1, name="Coil pledge 90d")
    price(api.client, who.bank1)
    device = device_key(api.client, who.wh, site.warehouse["id"])
    worker = WorkerKey.generate()
    answered(
        api.client.post("/vision/keys", headers=device, json={"public_key": worker.public_b64}),
        201,
    )
    return offer["id"], Watched(site, camera_id, device, {}, stock, worker)


def test_the_whole_story_each_party_on_its_own_pages(
    open_as: Any, server: LiveServer, api: ApiDriver
) -> None:
    product_id, watched = _watched_goods(api)
    receipt_id = watched.goods.receipt["id"]
    sme = open_as("acme.clerk")
    bank = open_as("bank1.officer")
    warehouse = open_as("warehouse.operator")
    auditor = open_as("auditor")

    # The SME applies against its receipt.
    screenshot(sme, "sme-receipts")
    sme.goto("/ui/sme/loans/new")
    sme.select_option("#product_id", value=product_id)
    sme.check(f"#receipt-{receipt_id}")
    sme.get_by_label("Amount").fill(LOAN_AMOUNT)
    screenshot(sme, "sme-apply")
    sme.click("#apply-submit")
    sme.wait_for_url(re.compile(r".*/ui/sme/loans/[0-9a-f]+"))
    loan_id = sme.url.split("/ui/sme/loans/")[1].split("?")[0]
    expect(sme.locator("#applied-note")).to_be_visible()

    # The bank sees the valuation and approves; the ledger registers the pledge; it pays out.
    bank.goto("/ui/bank/applications")
    card = bank.locator(f"#application-{loan_id}")
    expect(card).to_contain_text("600,000.00 USD")
    expect(card.locator("table.valuation")).to_contain_text("12,000.00")
    screenshot(bank, "bank-applications")
    card.get_by_role("button", name="Approve and pledge").click()
    bank.wait_for_url(re.compile(rf".*/ui/bank/loans/{loan_id}\?done=approved"))
    expect(bank.locator("#loan-status")).to_have_text("pledged")
    expect(bank.locator("table.commands tr[data-kind='register_pledge']")).to_have_attribute(
        "data-status", "confirmed"
    )
    bank.get_by_role("button", name=re.compile("Disburse")).click()
    bank.wait_for_url(re.compile(r".*done=disbursed"))
    expect(bank.locator("#loan-status")).to_have_text("active")

    # The warehouse sees the pledged bay on its floor.
    warehouse.goto("/ui/warehouse")
    expect(warehouse.locator(f"#bay-{watched.bay_id}")).to_have_attribute("data-state", "pledged")
    screenshot(warehouse, "warehouse-floor")

    # Goods leave the watched bay without a release order: the bank's open inbox shows it live.
    bank.goto("/ui/alerts")
    expect(bank.locator("#live-status .live-text")).to_have_text("live")
    moved_rows = bank.locator(
        f"#alerts tr[data-type='unauthorised_movement'][data-lot='{watched.goods.lot['id']}']"
    )
    expect(moved_rows).to_have_count(0)
    bank.evaluate("window.storyMarker = 'still the same page'")
    report = change_body(watched, before=4, gone=1)
    moved = answered(api.client.post("/vision/events", headers=watched.device, json=report), 201)
    assert moved["covered"] is False
    row = moved_rows
    expect(row).to_have_count(1, timeout=5_000)
    assert bank.evaluate("window.storyMarker") == "still the same page"
    expect(bank.locator("#notices .notice")).to_contain_text("without a release order")
    screenshot(bank, "bank-alert-inbox")
    row.get_by_role("link", name=re.compile("Pledged goods")).click()
    bank.wait_for_url(re.compile(r".*/ui/alerts/[0-9a-f]+$"))
    thumb = bank.locator("#evidence img.thumb")
    expect(thumb).to_be_visible()
    assert bank.evaluate("document.querySelector('#evidence img.thumb').naturalWidth") > 0
    screenshot(bank, "bank-alert")
    bank.get_by_role("link", name="View and verify").first.click()
    bank.wait_for_url(re.compile(r".*/ui/evidence/[0-9a-f]+$"))
    bank.get_by_role("button", name="Verify evidence").click()
    expect(bank.locator("#ledger-check")).to_have_text(re.compile("Hash matches the ledger"))
    expect(bank.locator(".verdict")).to_have_attribute("data-ok", "true")
    assert bank.evaluate("document.querySelector('#evidence-snapshot').naturalWidth") > 0
    screenshot(bank, "bank-evidence")
    evidence_page = bank.url
    other_bank = open_as("bank2.officer")
    refused = other_bank.goto(evidence_page)
    assert refused is not None and refused.status == 404

    # The SME repays part of the loan, with a confirmation step.
    sme.goto(f"/ui/sme/loans/{loan_id}")
    sme.fill("#repay-amount", REPAYMENT)
    sme.click("#repay-continue")
    expect(sme.locator("#repay-split")).to_be_visible()
    sme.click("#repay-confirm")
    expect(sme.locator("#paid-note")).to_be_visible()
    screenshot(sme, "sme-loan")

    # The bank issues the release order the repayment allows.
    bank.goto("/ui/bank/releases")
    form = bank.locator(f"#release-{loan_id} form.release-form")
    freed = form.locator(".releasable").inner_text()
    assert int(freed) > 0
    screenshot(bank, "bank-releases")
    drawn = {
        name: form.locator(f"input[name='{name}']").input_value()
        for name in ("receipt_id", "quantity", "idempotency_key")
    }
    form.get_by_role("button", name="Issue release order").click()
    bank.wait_for_url(re.compile(r".*done=ordered"))
    order = bank.locator("table.orders tbody tr").first
    expect(order).to_have_attribute("data-status", "open")
    order_id = order.get_attribute("id").removeprefix("order-")
    # The same form sent again (a double submit, a retry) replays: no second order.
    session_headers = json.loads(bank.get_attribute("body", "hx-headers") or "{}")
    again = bank.request.post(
        f"/ui/bank/loans/{loan_id}/release-orders",
        form=drawn,
        headers={**session_headers, "HX-Request": "true"},
    )
    assert again.status == 204
    orders = answered(api.client.get("/release-orders", headers=api.login("bank1.officer")), 200)
    assert [o["loan_id"] for o in orders["items"]].count(loan_id) == 1

    # The warehouse executes it: the movement matches the order, so no new alert.
    warehouse.goto("/ui/warehouse/releases")
    screenshot(warehouse, "warehouse-releases")
    warehouse.click(f"#execute-{order_id}")
    warehouse.click("#confirm-release")
    expect(warehouse.locator("#release-done")).to_contain_text(f"{freed} pcs")
    bank.goto("/ui/bank/releases")
    expect(bank.locator(f"#order-{order_id}")).to_have_attribute("data-status", "executed")
    bank.goto("/ui/alerts")
    expect(moved_rows).to_have_count(1)

    # The auditor re-checks the whole chain.
    auditor.goto("/ui/auditor/ledger")
    auditor.get_by_role("button", name="Verify chain").click()
    expect(auditor.locator("#chain-ok")).to_contain_text("Chain verified")
    screenshot(auditor, "auditor-ledger")

    # Prices fall: the bank records the new price and the loan book shows the margin call.
    bank.goto("/ui/bank/collateral")
    bank.get_by_label("Commodity").select_option("STEEL-COIL")
    bank.get_by_role("textbox", name="Price per unit").fill(DROPPED_PRICE)
    bank.get_by_role("button", name="Record and revalue").click()
    bank.wait_for_url(re.compile(r".*done=priced"))
    bank.goto("/ui/bank/loans")
    expect(bank.locator(f"#loan-{loan_id}")).to_have_attribute("data-status", "margin_call")

    # Every page of every menu, as each party sees it now, with its charts drawn.
    parties_pages = {"bank": bank, "warehouse": warehouse, "sme": sme, "auditor": auditor}
    for role, page in parties_pages.items():
        tour(page, role)
    bank.goto(f"/ui/bank/loans/{loan_id}")
    chart_drawn(bank, "#loan-chart")
    chart_drawn(bank, "#ltv-chart")
    screenshot(bank, "bank-loan")
    bank.set_viewport_size(TABLET)
    bank.goto("/ui/bank/loans")
    screenshot(bank, "bank-loans-tablet")
    bank.goto(f"/ui/bank/loans/{loan_id}")
    chart_drawn(bank, "#loan-chart")
    screenshot(bank, "bank-loan-tablet")


def chart_drawn(page: Any, selector: str) -> None:
    """The chart was drawn on a canvas with the data the page carried."""
    figure = page.locator(selector)
    expect(figure).to_have_attribute("data-drawn", "done")
    expect(figure.locator("canvas")).to_have_count(1)
    assert figure.locator("canvas").bounding_box()["height"] > 100


def tour(page: Any, role: str) -> None:
    """Open every page of the role's menu and save a screenshot of it."""
    links = page.locator("nav.mainnav a")
    menu = [
        (links.nth(i).inner_text(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
    ]
    assert menu, f"{role} has no menu"
    for label, href in menu:
        answer = page.goto(href)
        assert answer is not None and answer.status == 200, (href, answer and answer.status)
        for figure in page.locator("figure[data-chart]").all():
            expect(figure).to_have_attribute("data-drawn", re.compile("done|true"))
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        screenshot(page, f"{role}-{slug}")
