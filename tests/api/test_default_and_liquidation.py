"""A loan whose margin call goes unmet: default, then liquidation, on the books and on chain."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Service, problem_of
from tests.api.story_steps import active_loan, expect, key, parties, price


def lien_status(service: Service, receipt: dict[str, Any]) -> set[str]:
    """The ledger's status of every lien key of a receipt, as any bank may read it."""
    assert service.container.ledger is not None
    return {
        service.container.ledger.evaluate("get_lien", {"lien_key": k}, "Bank2MSP")["status"]
        for k in receipt["lien_keys"]
    }


def test_an_unmet_margin_call_ends_in_default_and_liquidation(sqlite_service: Service) -> None:
    client = sqlite_service.client
    who = parties(sqlite_service)
    deal = active_loan(client, who)
    loan_id = deal.loan["id"]

    # Coils fall so far that the loan crosses the liquidation threshold.
    price(client, who.bank1, "7000")
    called = expect(client.get(f"/loans/{loan_id}", headers=who.bank1), 200)
    assert called["status"] == "margin_call"
    assert float(called["ltv"]) >= 0.90

    refused = client.post(f"/loans/{loan_id}/liquidate", headers=who.bank1)
    assert refused.status_code == 409
    assert problem_of(refused)["code"] == "invalid_state"

    defaulted = expect(client.post(f"/loans/{loan_id}/default", headers=who.bank1), 202)
    assert defaulted["loan"]["status"] == "defaulted"
    assert defaulted["commands"][0]["status"] == "confirmed"

    # A defaulted borrower cannot buy the goods out of the lien any more by releasing them.
    blocked = client.post(
        f"/lots/{deal.goods.lot['id']}/releases",
        headers={**who.wh, **key()},
        json={"quantity": "1"},
    )
    assert problem_of(blocked)["code"] == "release_order_required"

    sold = expect(client.post(f"/loans/{loan_id}/liquidate", headers=who.bank1), 202)
    assert sold["loan"]["status"] == "liquidated"
    assert sold["commands"][0]["status"] == "confirmed"
    receipt = expect(client.get(f"/receipts/{deal.goods.receipt['id']}", headers=who.sme), 200)
    assert receipt["status"] == "liquidated"
    assert lien_status(sqlite_service, deal.goods.receipt) == {"liquidated"}

    # The goods are gone to the bank: no second pledge, no further repayment.
    again = client.post(
        f"/loans/{loan_id}/repayments", headers={**who.sme, **key()}, json={"amount": "1.00"}
    )
    assert problem_of(again)["code"] == "invalid_state"


def test_only_the_lending_bank_declares_default(sqlite_service: Service) -> None:
    client = sqlite_service.client
    who = parties(sqlite_service)
    deal = active_loan(client, who)
    other_bank = client.post(f"/loans/{deal.loan['id']}/default", headers=who.bank2)
    assert problem_of(other_bank)["code"] == "loan_not_found"
    borrower = client.post(f"/loans/{deal.loan['id']}/default", headers=who.sme)
    assert problem_of(borrower)["code"] == "wrong_org_kind"
    unchanged = expect(client.get(f"/loans/{deal.loan['id']}", headers=who.bank1), 200)
    assert unchanged["status"] == "active"
