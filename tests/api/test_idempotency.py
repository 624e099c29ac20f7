"""Money-moving POSTs take an Idempotency-Key: one effect per key, replays get the first answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import problem_of
from tests.api.story_steps import (
    World,
    active_loan,
    counts,
    expect,
    key,
    parties,
    pledged_loan,
    release_order,
    repaid_in_part,
    shared_world,
    site,
)

MONEY_MOVING = {
    ("POST", "/loans/{loan_id}/disburse"),
    ("POST", "/loans/{loan_id}/repayments"),
    ("POST", "/loans/{loan_id}/release-orders"),
    ("POST", "/lots/{lot_id}/releases"),
}
# Booking goods in takes a key too, optionally: it issues a receipt, the thing never to double.
KEY_OPTIONAL = {("POST", "/lots")}
EFFECTS = (
    "lots",
    "receipts",
    "repayments",
    "release_orders",
    "movements",
    "ledger_commands",
    "idempotency_keys",
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A running loan, for the refusals that need no fresh state."""
    yield from shared_world(tmp_path_factory)


def requests_of(world: World) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """A well-formed body for each money-moving route, on the shared world's objects."""
    loan = f"/loans/{world.deal.loan['id']}"
    receipt = world.deal.goods.receipt["id"]
    return {
        "disburse": (f"{loan}/disburse", None),
        "repayment": (f"{loan}/repayments", {"amount": "100.00"}),
        "release order": (f"{loan}/release-orders", {"receipt_id": receipt, "quantity": "1"}),
        "lot release": (f"/lots/{world.free_goods.lot['id']}/releases", {"quantity": "1"}),
    }


def as_who(world: World, name: str) -> dict[str, str]:
    """Who may make each money-moving request."""
    return {
        "disburse": world.who.bank1,
        "repayment": world.who.sme,
        "release order": world.who.bank1,
        "lot release": world.who.wh,
    }[name]


def test_the_routes_that_take_an_idempotency_key_are_money_moving_or_issue_receipts(
    shared: World,
) -> None:
    doc = shared.client.get("/openapi.json").json()
    keyed = {
        (method.upper(), path)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert keyed == MONEY_MOVING | KEY_OPTIONAL


@pytest.mark.parametrize("name", ["disburse", "repayment", "release order", "lot release"])
@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({}, "idempotency_key_required"),
        ({"Idempotency-Key": "   "}, "idempotency_key_required"),
        ({"Idempotency-Key": "k" * 201}, "invalid_idempotency_key"),
    ],
)
def test_a_money_moving_post_without_a_usable_key_is_refused_and_does_nothing(
    shared: World, name: str, header: dict[str, str], code: str
) -> None:
    path, body = requests_of(shared)[name]
    before = shared.count(*EFFECTS)
    resp = shared.client.post(path, headers={**as_who(shared, name), **header}, json=body)
    assert resp.status_code == 422
    assert problem_of(resp)["code"] == code
    assert shared.count(*EFFECTS) == before


def replay(client: Any, path: str, headers: dict[str, str], body: Any, service: Any) -> Any:
    """Send the same request twice; return both answers and the rows each one added."""
    before = counts(service, *EFFECTS)
    first = client.post(path, headers=headers, json=body)
    middle = counts(service, *EFFECTS)
    second = client.post(path, headers=headers, json=body)
    after = counts(service, *EFFECTS)
    assert first.status_code == 202, first.text
    assert second.status_code == first.status_code
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    added = {t: middle[t] - before[t] for t in EFFECTS}
    assert after == middle, "the replay added rows"
    return first.json(), added


def test_replaying_a_disbursement_pays_out_once(service) -> None:
    client, who = service.client, parties(service)
    deal = pledged_loan(client, who)
    headers = {**who.bank1, "Idempotency-Key": "disburse-1"}
    path = f"/loans/{deal.loan['id']}/disburse"
    out, added = replay(client, path, headers, None, service)
    assert out["loan"]["status"] == "active"
    assert Decimal(out["loan"]["principal"]) == Decimal(deal.loan["amount_requested"])
    assert added["ledger_commands"] == len(out["commands"]) >= 1
    assert added["idempotency_keys"] == 1


def test_replaying_a_repayment_books_it_once(service) -> None:
    client, who = service.client, parties(service)
    deal = active_loan(client, who)
    owed = Decimal(deal.loan["outstanding"])
    headers = {**who.sme, "Idempotency-Key": "repay-1"}
    path = f"/loans/{deal.loan['id']}/repayments"
    out, added = replay(client, path, headers, {"amount": "1000.00"}, service)
    assert added["repayments"] == 1
    loan = expect(client.get(f"/loans/{deal.loan['id']}", headers=who.sme), 200)
    assert Decimal(loan["outstanding"]) == owed - Decimal("1000.00")
    listed = expect(client.get(f"{path}", headers=who.sme), 200)
    assert [r["id"] for r in listed] == [out["repayment"]["id"]]


def test_replaying_a_release_order_issues_it_once(service) -> None:
    client, who = service.client, parties(service)
    deal, free = repaid_in_part(client, who)
    body = {"receipt_id": deal.goods.receipt["id"], "quantity": free}
    headers = {**who.bank1, "Idempotency-Key": "order-1"}
    path = f"/loans/{deal.loan['id']}/release-orders"
    out, added = replay(client, path, headers, body, service)
    assert added["release_orders"] == 1
    assert added["ledger_commands"] == 1
    orders = expect(client.get("/release-orders", headers=who.bank1), 200)
    assert [o["id"] for o in orders["items"]] == [out["order"]["id"]]


def test_replaying_a_lot_release_ships_the_goods_once(service) -> None:
    client, who = service.client, parties(service)
    deal, free = repaid_in_part(client, who)
    order = release_order(client, who, deal, free)
    lot_url = f"/lots/{deal.goods.lot['id']}"
    held = Decimal(expect(client.get(lot_url, headers=who.wh), 200)["quantity"])
    headers = {**who.wh, "Idempotency-Key": "release-1"}
    body = {"quantity": free, "release_order_id": order["id"]}
    out, added = replay(client, f"{lot_url}/releases", headers, body, service)
    assert added["movements"] == 1
    assert len(out["movement"]["epcs"]) == int(Decimal(free))
    lot = expect(client.get(lot_url, headers=who.wh), 200)
    assert Decimal(lot["quantity"]) == held - Decimal(free)


def test_the_same_key_with_a_different_body_is_refused(sqlite_service) -> None:
    client, who = sqlite_service.client, parties(sqlite_service)
    deal = active_loan(client, who)
    path = f"/loans/{deal.loan['id']}/repayments"
    headers = {**who.sme, "Idempotency-Key": "reused"}
    expect(client.post(path, headers=headers, json={"amount": "1000.00"}), 202)
    resp = client.post(path, headers=headers, json={"amount": "2000.00"})
    assert resp.status_code == 422
    assert problem_of(resp)["code"] == "idempotency_key_reused"
    assert sqlite_service.count("repayments") == 1


def test_the_same_key_on_another_route_is_refused(sqlite_service) -> None:
    client, who = sqlite_service.client, parties(sqlite_service)
    deal = active_loan(client, who)
    headers = {**who.bank1, "Idempotency-Key": "bank-key"}
    before = counts(sqlite_service, *EFFECTS)
    body = {"receipt_id": deal.goods.receipt["id"], "quantity": "1"}
    expect(client.post(f"/loans/{deal.loan['id']}/release-orders", headers=headers, json=body), 202)
    resp = client.post(f"/loans/{deal.loan['id']}/disburse", headers=headers)
    assert resp.status_code == 422
    assert problem_of(resp)["code"] == "idempotency_key_reused"
    added = {t: n - before[t] for t, n in counts(sqlite_service, *EFFECTS).items()}
    assert added["release_orders"] == 1
    assert added["idempotency_keys"] == 1


def test_two_organisations_may_use_the_same_key_independently(sqlite_service) -> None:
    client, who = sqlite_service.client, parties(sqlite_service)
    deal = pledged_loan(client, who)
    loan_url = f"/loans/{deal.loan['id']}"
    same = {"Idempotency-Key": "shared-key"}
    paid = expect(client.post(f"{loan_url}/disburse", headers={**who.bank1, **same}), 202)
    repaid = expect(
        client.post(
            f"{loan_url}/repayments", headers={**who.sme, **same}, json={"amount": "1000.00"}
        ),
        202,
    )
    assert paid["loan"]["status"] == "active"
    assert Decimal(repaid["repayment"]["amount"]) == Decimal("1000.00")
    assert sqlite_service.count("repayments") == 1
    assert sqlite_service.count("idempotency_keys") == 2


def test_twenty_concurrent_duplicates_of_a_repayment_book_one(service) -> None:
    client, who = service.client, parties(service)
    deal = active_loan(client, who)
    path = f"/loans/{deal.loan['id']}/repayments"
    headers = {**who.sme, "Idempotency-Key": "burst"}

    def send(_: int) -> Any:
        return client.post(path, headers=headers, json={"amount": "2500.00"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [a.status_code for a in answers] == [202] * 20, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
    assert service.count("repayments") == 1
    loan = expect(client.get(f"/loans/{deal.loan['id']}", headers=who.sme), 200)
    assert Decimal(loan["outstanding"]) == Decimal(deal.loan["outstanding"]) - Decimal("2500.00")


def test_a_failed_request_retried_with_its_key_fails_the_same_way_and_books_nothing(
    service,
) -> None:
    client, who = service.client, parties(service)
    deal = active_loan(client, who)
    path = f"/loans/{deal.loan['id']}/repayments"
    headers = {**who.sme, "Idempotency-Key": "too-much"}
    too_much = {"amount": str(Decimal(deal.loan["outstanding"]) + 1)}
    before = counts(service, *EFFECTS)
    answers = [client.post(path, headers=headers, json=too_much) for _ in range(2)]
    for resp in answers:
        assert resp.status_code == 422
        assert problem_of(resp)["code"] == "overpayment"
    assert answers[0].json() == answers[1].json()
    assert counts(service, *EFFECTS) == before


def test_a_key_whose_request_failed_may_carry_the_corrected_request(sqlite_service) -> None:
    client, who = sqlite_service.client, parties(sqlite_service)
    deal = active_loan(client, who)
    path = f"/loans/{deal.loan['id']}/repayments"
    headers = {**who.sme, "Idempotency-Key": "fix-and-retry"}
    wrong = client.post(path, headers=headers, json={"amount": "100.001"})
    assert problem_of(wrong)["code"] == "invalid_amount"
    fixed = expect(client.post(path, headers=headers, json={"amount": "100.00"}), 202)
    assert Decimal(fixed["repayment"]["amount"]) == Decimal("100.00")
    assert sqlite_service.count("repayments") == 1


def burst(client: Any, path: str, headers: dict[str, str], body: Any, n: int) -> list[Any]:
    """Post n repayments at the same instant, each under its own key."""
    start = threading.Barrier(n)

    def send(_: int) -> Any:
        start.wait()
        return client.post(path, headers={**headers, **key()}, json=body)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(send, range(n)))


def test_concurrent_repayments_under_different_keys_never_book_more_than_is_owed(
    service,
) -> None:
    client, who = service.client, parties(service)
    booked, owed = [], []
    # A race may by chance not interleave; a few fresh loans make the outcome certain.
    for _ in range(3):
        deal = active_loan(client, who)
        path = f"/loans/{deal.loan['id']}/repayments"
        amount = deal.loan["outstanding"]
        answers = burst(client, path, who.sme, {"amount": str(amount)}, 12)
        paid = expect(client.get(path, headers=who.sme), 200)
        booked.append(sum(Decimal(r["amount"]) for r in paid))
        owed.append(Decimal(amount))
        assert all(a.status_code in (202, 409) for a in answers), [a.text for a in answers]
        if booked[-1] > owed[-1]:
            break
    assert booked == owed


def test_replaying_a_lot_booking_with_a_key_issues_one_receipt(service) -> None:
    client, who = service.client, parties(service)
    where = site(client, who.wh)
    # Untagged goods: nothing but the key tells a retry from a second delivery.
    body = {
        "bay_id": where.bay["id"],
        "commodity_code": "STEEL-COIL",
        "quantity": "12",
        "epcs": [],
        "depositor_org_id": "acme",
    }
    headers = {**who.wh, "Idempotency-Key": "lot-1"}
    out, added = replay(client, "/lots", headers, body, service)
    assert added["lots"] == added["receipts"] == added["idempotency_keys"] == 1
    assert out["receipt"]["status"] == "issued"
    # Without a key the booking still works, and each call is a delivery of its own.
    before = counts(service, *EFFECTS)
    expect(client.post("/lots", headers=who.wh, json=body), 202)
    assert counts(service, *EFFECTS)["receipts"] == before["receipts"] + 1
