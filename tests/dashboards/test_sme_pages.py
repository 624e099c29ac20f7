"""The SME's pages: offers on its receipts, applying, following the ledger, repaying, releases."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from dashboards.sme_requests import open_for_bank
from loans import lending
from pledge.parties import Actor, OrgKind, Role
from services.uow import SqlUnitOfWork
from tests.api.story_steps import PRICE, TERMS, expect, key, receive
from tests.dashboards.conftest import Town, api_loan


def section(html: str, ident: str, tag: str = "section") -> str:
    """The element with this id, up to its closing tag."""
    match = re.search(rf'<{tag}[^>]*id="{ident}".*?</{tag}>', html, re.S)
    assert match, f"no #{ident}"
    return match.group(0)


def repayments(town: Town) -> int:
    """Repayments booked on the active loan."""
    with SqlUnitOfWork.start(town.service.container.session_factory) as uow:
        return len(uow.repayments.find(loan_id=town.loan_id))


def test_free_receipts_show_what_they_could_borrow_at_the_banks_price(town: Town) -> None:
    free = town.world.free_goods.receipt
    page = town.sme.get("/ui/sme/receipts")
    assert page.status_code == 200
    card = section(page.text, f"receipt-{free['id']}")
    # 10 coils x 12,000 x (1 - 20 % haircut) = 96,000 of collateral; 70 % of it may be lent.
    expected = Decimal(10) * Decimal(PRICE) * (1 - Decimal(TERMS["haircuts"]["STEEL-COIL"]))
    assert f"{expected:,.2f} USD" in card
    assert f"{expected * Decimal(TERMS['max_ltv']):,.2f} USD" in card
    assert "67,200.00 USD" in card
    assert "First Harbour Bank" in card
    pledged = section(page.text, f"receipt-{town.world.deal.goods.receipt['id']}")
    assert "Pledged to" in pledged and f"/ui/sme/loans/{town.loan_id}" in pledged
    # Another company sees none of acme's receipts.
    assert free["number"] not in town.rival_sme.get("/ui/sme/receipts").text


def test_an_application_refused_by_the_rules_shows_the_reason_in_the_form(town: Town) -> None:
    product = town.world.deal.product["id"]
    resp = town.sme.post("/ui/sme/loans", {"product_id": product, "amount": "1000.00"})
    assert resp.status_code == 422
    form = section(resp.text, "apply-form", "form")
    assert 'data-code="invalid_receipts"' in form and "name one or more distinct receipts" in form
    assert 'value="1000.00"' in form
    # htmx gets the problem fragment alone, for the form's problem slot.
    fragment = town.sme.post(
        "/ui/sme/loans", {"product_id": product, "amount": "abc"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 422
    assert fragment.text.strip().startswith('<div class="problem"')
    unknown = town.sme.post(
        "/ui/sme/loans", {"product_id": product, "amount": "1000.00", "receipt_ids": "0" * 32}
    )
    assert unknown.status_code == 404
    assert f"no receipt {'0' * 32}" in section(unknown.text, "apply-form", "form")


def test_an_application_is_followed_until_the_ledger_confirms_the_pledge(town: Town) -> None:
    free = town.world.free_goods.receipt
    product = town.world.deal.product["id"]
    form = town.sme.get(
        f"/ui/sme/loans/new?product_id={product}&receipt_id={free['id']}&amount=60000.00"
    )
    assert f'<option value="{product}" selected>' in form.text
    assert f'value="{free["id"]}" id="receipt-{free["id"]}" checked' in form.text
    sent = town.sme.post(
        "/ui/sme/loans", {"product_id": product, "receipt_ids": free["id"], "amount": "60000.00"}
    )
    assert sent.status_code == 303
    loan_path = sent.headers["location"].split("?")[0]
    loan_id = loan_path.rsplit("/", 1)[1]
    page = town.sme.get(sent.headers["location"]).text
    assert 'id="applied-note"' in page
    status = section(page, "loan-status")
    assert 'data-status="applied"' in status and "hx-trigger" not in status

    expect(town.service.client.post(f"/loans/{loan_id}/approve", headers=town.world.who.bank1), 202)
    panel = town.sme.get(f"{loan_path}/status").text
    assert 'data-status="pledged"' in panel
    assert re.search(r'register pledge</td><td><span class="badge st-confirmed">confirmed', panel)
    listing = town.sme.get("/ui/sme/loans").text
    assert f'id="loan-{loan_id}" data-status="pledged"' in listing
    assert town.rival_sme.get(loan_path).status_code == 404
    assert town.bank.get(loan_path).status_code == 403


def test_the_status_panel_polls_while_a_ledger_command_is_pending(town: Town) -> None:
    service = town.service
    product = town.world.deal.product["id"]
    fresh = receive(service.client, town.world.who.wh, town.world.site, quantity=5)
    receipt = fresh.receipt["id"]
    sent = town.sme.post(
        "/ui/sme/loans", {"product_id": product, "receipt_ids": receipt, "amount": "1000.00"}
    )
    loan_id = sent.headers["location"].split("?")[0].rsplit("/", 1)[1]
    # The bank approves, but the pledge is not yet sent to the ledger (no pump has run).
    bank = Actor("bank1", OrgKind.BANK, "Bank1MSP", frozenset({Role.OFFICER}))
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        lending.approve_loan(uow, bank, service.container.context(), loan_id)
    panel = town.sme.get(f"/ui/sme/loans/{loan_id}/status").text
    assert 'data-in-flight="true"' in panel and 'hx-trigger="every 1s"' in panel
    assert "waiting for the ledger" in panel
    assert re.search(r'register pledge</td><td><span class="badge st-pending">pending', panel)
    listing = town.sme.get("/ui/sme/loans-table").text
    assert 'hx-trigger="every 2s"' in listing and f'id="loan-{loan_id}"' in listing
    service.container.pump()
    assert "hx-trigger" not in town.sme.get("/ui/sme/loans-table").text
    settled = town.sme.get(f"/ui/sme/loans/{loan_id}/status").text
    assert 'data-in-flight="false"' in settled and "hx-trigger" not in settled
    assert 'data-status="pledged"' in settled


def test_a_repayment_is_confirmed_then_taken_once_per_form(town: Town) -> None:
    loan = f"/ui/sme/loans/{town.loan_id}"
    before = api_loan(town.service, town.world.who.sme, town.loan_id)
    bad = town.sme.get(f"{loan}/repay?amount=12.345")
    assert bad.status_code == 422
    assert "USD amounts have 2 decimals" in section(bad.text, "repay-form", "form")
    confirm = town.sme.get(f"{loan}/repay?amount=5000")
    assert confirm.status_code == 200
    fees = Decimal(before["fees"])
    assert f'id="split-fees">{fees:,.2f} USD' in confirm.text
    assert f'id="split-principal">{Decimal(5000) - fees:,.2f} USD' in confirm.text
    key_field = re.search(r'name="idempotency_key" value="(\w+)"', confirm.text)
    assert key_field
    count = repayments(town)
    form = {"amount": "5000.00", "idempotency_key": key_field.group(1)}
    first = town.sme.post(f"{loan}/repay", form)
    assert first.status_code == 303 and "paid=" in first.headers["location"]
    twice = town.sme.post(f"{loan}/repay", form)
    assert twice.headers["location"] == first.headers["location"]
    assert repayments(town) == count + 1
    after = api_loan(town.service, town.world.who.sme, town.loan_id)
    assert Decimal(after["outstanding"]) == Decimal(before["outstanding"]) - Decimal(5000)
    page = town.sme.get(first.headers["location"]).text
    assert "Payment of 5,000.00 USD received" in page

    # The same key with another amount is a different request: refused, nothing moves.
    reused = town.sme.post(f"{loan}/repay", {**form, "amount": "7000.00"})
    assert reused.status_code == 422 and "idempotency_key_reused" in reused.text
    too_much = town.sme.post(
        f"{loan}/repay", {"amount": "99999999.00", "idempotency_key": key()["Idempotency-Key"]}
    )
    assert too_much.status_code == 422 and "exceeds what is owed" in too_much.text
    assert repayments(town) == count + 1
    assert town.rival_sme.get(f"{loan}/repay?amount=5").status_code == 404
    stolen = town.rival_sme.post(f"{loan}/repay", {"amount": "1.00", "idempotency_key": "k-9"})
    assert stolen.status_code == 404
    assert repayments(town) == count + 1


def test_a_release_request_reaches_the_bank_within_the_quote(town: Town) -> None:
    loan = f"/ui/sme/loans/{town.loan_id}"
    receipt = town.world.deal.goods.receipt["id"]
    page = town.sme.get(loan).text
    releasable = re.search(rf'id="releasable-{receipt}">(\d+)<', page)
    assert releasable, page
    free = int(releasable.group(1))
    assert free >= 1
    over = town.sme.post(
        f"{loan}/release-requests", {"receipt_id": receipt, "quantity": str(free + 1)}
    )
    assert over.status_code == 409
    assert "release_exceeds_quote" in section(over.text, "release-request-form", "form")
    asked = town.sme.post(
        f"{loan}/release-requests", {"receipt_id": receipt, "quantity": "1", "note": "for a buyer"}
    )
    assert asked.status_code == 303
    shown = town.sme.get(asked.headers["location"]).text
    assert 'id="asked-note"' in shown and "requested" in section(shown, "release-requests", "ul")

    def open_requests(bank: str) -> list[str]:
        actor = Actor(bank, OrgKind.BANK, f"{bank.title()}MSP", frozenset({Role.OFFICER}))
        with SqlUnitOfWork.start(town.service.container.session_factory) as uow:
            return [r.note for r in open_for_bank(uow, actor)]

    assert open_requests("bank1") == ["for a buyer"]
    assert open_requests("bank2") == []
    body = {"receipt_id": receipt, "quantity": "1"}
    expect(
        town.service.client.post(
            f"/loans/{town.loan_id}/release-orders",
            headers={**town.world.who.bank1, **key()},
            json=body,
        ),
        202,
    )
    assert open_requests("bank1") == []
    answered = section(town.sme.get(loan).text, "release-requests", "ul")
    assert "order open" in answered
    refused = town.rival_sme.post(
        f"{loan}/release-requests", {"receipt_id": receipt, "quantity": "1"}
    )
    assert refused.status_code == 404


def test_sme_pages_need_a_signed_in_sme(town: Town) -> None:
    anonymous = TestClient(town.service.client.app)
    for path in ("/ui/sme/receipts", f"/ui/sme/loans/{town.loan_id}/statement.pdf"):
        resp = anonymous.get(path, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/ui/login")
    assert town.warehouse.get("/ui/sme/loans").status_code == 403
    no_token = town.sme.client.post(
        f"/ui/sme/loans/{town.loan_id}/repay",
        data={"amount": "1.00", "idempotency_key": "k-1"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
