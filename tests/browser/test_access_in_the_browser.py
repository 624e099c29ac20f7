"""Nobody sees another organisation's loan, bay or alert, not even by typing its address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from pledge.parties import OrgKind
from services.identity.tables import Org
from tests.api.story_steps import Deal, Parties, active_loan, add_org, parties, price
from tests.api.story_steps import expect as answered
from tests.browser.harness import ApiDriver, LiveServer, screenshot


@pytest.fixture
def api(server: LiveServer) -> Iterator[ApiDriver]:
    """The live server's API, for set-up steps."""
    driver = ApiDriver(server)
    yield driver
    driver.close()


def _rival(api: ApiDriver, org_id: str, kind: OrgKind, msp: str, username: str) -> None:
    with api.container.session_factory() as session:
        exists = session.get(Org, org_id) is not None
    if not exists:
        add_org(api, org_id, kind, msp, username)


def _bank1_loan_in_margin_call(api: ApiDriver) -> tuple[Parties, Deal, dict[str, Any]]:
    """An active Bank 1 loan to Acme whose price fell: Bank 1 holds a margin-call alert."""
    who = parties(api)
    deal = active_loan(api.client, who)
    price(api.client, who.bank1, "9000")
    alerts = answered(
        api.client.get("/alerts", headers=who.bank1, params={"type": "margin_call"}), 200
    )["items"]
    [alert] = [a for a in alerts if a["subject"].get("loan_id") == deal.loan["id"]]
    return who, deal, alert


def _refused(page: Any, path: str, status: int) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.status == status, (path, answer and answer.status)
    expect(page.locator("main .problem")).to_be_visible()


def test_another_organisation_s_loan_bay_and_alert_answer_not_found(
    open_as: Any, api: ApiDriver
) -> None:
    _, deal, alert = _bank1_loan_in_margin_call(api)
    loan_id, bay_id = deal.loan["id"], deal.goods.site.bay["id"]
    _rival(api, "southport", OrgKind.WAREHOUSE, "SouthportMSP", "south.operator")
    _rival(api, "globex", OrgKind.SME, "GlobexMSP", "globex.clerk")

    owner = open_as("bank1.officer")
    owner.goto(f"/ui/bank/loans/{loan_id}")
    expect(owner.locator("#loan-status")).to_have_text("margin call")
    owner.goto(f"/ui/alerts/{alert['id']}")
    expect(owner.locator("h1")).to_contain_text("Margin call")

    other_bank = open_as("bank2.officer")
    _refused(other_bank, f"/ui/bank/loans/{loan_id}", 404)
    expect(other_bank.locator("main")).not_to_contain_text("Acme")
    screenshot(other_bank, "not-found")
    _refused(other_bank, f"/ui/alerts/{alert['id']}", 404)
    other_bank.goto("/ui/bank/loans")
    expect(other_bank.locator(f"#loan-{loan_id}")).to_have_count(0)

    other_sme = open_as("globex.clerk")
    _refused(other_sme, f"/ui/sme/loans/{loan_id}", 404)

    other_warehouse = open_as("south.operator")
    _refused(other_warehouse, f"/ui/warehouse/bays/{bay_id}", 404)

    # A page for another kind of organisation is refused outright.
    warehouse = open_as("warehouse.operator")
    _refused(warehouse, "/ui/bank/loans", 403)
    screenshot(warehouse, "forbidden")


def test_a_logged_out_visitor_is_sent_to_sign_in_from_any_page(open_as: Any) -> None:
    page = open_as(None)
    for path in ("/ui/bank/loans", "/ui/alerts", "/ui/auditor/ledger", "/ui/warehouse"):
        page.goto(path)
        assert re.search(r"/ui/login\?next=", page.url), page.url
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_form_post_without_the_session_s_csrf_token_is_refused(open_as: Any) -> None:
    page = open_as("bank1.officer")
    answer = page.request.post("/ui/bank/prices", form={"commodity_code": "X", "price": "1"})
    assert answer.status == 403
    assert "csrf_failed" in answer.text()
    # Signing out also needs the token, so another site cannot sign people out.
    assert page.request.post("/ui/logout").status == 403
