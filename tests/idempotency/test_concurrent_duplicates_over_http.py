"""Fifty identical money-moving requests at once, over real HTTP on PostgreSQL: one effect.

tests/api/test_idempotency.py covers the rules in process (replays, missing keys, keys per org);
here the requests travel through uvicorn's thread pool and PostgreSQL's connection pool, which
is where a claim-then-act race would show.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.story_steps import (
    Deal,
    active_loan,
    expect,
    pledged_loan,
    release_order,
    repaid_in_part,
)
from tests.idempotency.conftest import Live

BURST = 50
EFFECTS = ("repayments", "release_orders", "movements", "ledger_commands", "idempotency_keys")

pytestmark = pytest.mark.postgres


def at_once(
    http: httpx.Client, path: str, headers: dict[str, str], bodies: list[Any]
) -> list[httpx.Response]:
    """POST every body to `path` from its own thread, all released by one barrier."""
    start = threading.Barrier(len(bodies))

    def send(body: Any) -> httpx.Response:
        start.wait()
        return http.post(path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def snapshot(live: Live) -> dict[str, int]:
    """Row counts of every table a money-moving request writes."""
    return {table: live.count(table) for table in EFFECTS}


def one_effect(
    live: Live, http: httpx.Client, path: str, headers: dict[str, str], body: Any
) -> tuple[dict[str, Any], dict[str, int]]:
    """Fire the burst of duplicates; check they all got the first answer; return it and rows."""
    before = snapshot(live)
    keyed = {**headers, "Idempotency-Key": f"burst-{uuid.uuid4().hex}"}
    answers = at_once(http, path, keyed, [body] * BURST)
    assert [a.status_code for a in answers] == [202] * BURST, {a.text for a in answers}
    assert len({a.text for a in answers}) == 1
    fresh = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
    assert len(fresh) == 1, "more than one request did the work"
    added = {table: n - before[table] for table, n in snapshot(live).items()}
    # A late retry, after the burst has settled, is answered from the record too.
    late = http.post(path, headers=keyed, json=body)
    assert (late.status_code, late.text) == (202, fresh[0].text)
    assert late.headers["Idempotent-Replayed"] == "true"
    assert {table: n - before[table] for table, n in snapshot(live).items()} == added
    assert added["idempotency_keys"] == 1
    return fresh[0].json(), added


def test_fifty_concurrent_disbursements_pay_out_once(live: Live, http: httpx.Client) -> None:
    deal = pledged_loan(live.service.client, live.who)
    out, added = one_effect(live, http, f"/loans/{deal.loan['id']}/disburse", live.who.bank1, None)
    assert out["loan"]["status"] == "active"
    assert added["ledger_commands"] == len(out["commands"]) >= 1
    loan = expect(http.get(f"/loans/{deal.loan['id']}", headers=live.who.bank1), 200)
    assert Decimal(loan["principal"]) == Decimal(deal.loan["amount_requested"])


def test_fifty_concurrent_repayments_book_one(live: Live, http: httpx.Client) -> None:
    deal = active_loan(live.service.client, live.who)
    path = f"/loans/{deal.loan['id']}/repayments"
    out, added = one_effect(live, http, path, live.who.sme, {"amount": "2500.00"})
    assert added["repayments"] == 1
    booked = expect(http.get(path, headers=live.who.sme), 200)
    assert [r["id"] for r in booked] == [out["repayment"]["id"]]
    loan = expect(http.get(f"/loans/{deal.loan['id']}", headers=live.who.sme), 200)
    assert Decimal(loan["outstanding"]) == Decimal(deal.loan["outstanding"]) - Decimal("2500.00")


def test_fifty_concurrent_release_orders_issue_one(live: Live, http: httpx.Client) -> None:
    deal, free = repaid_in_part(live.service.client, live.who)
    body = {"receipt_id": deal.goods.receipt["id"], "quantity": free}
    path = f"/loans/{deal.loan['id']}/release-orders"
    out, added = one_effect(live, http, path, live.who.bank1, body)
    assert (added["release_orders"], added["ledger_commands"]) == (1, 1)
    assert out["order"]["status"] == "open"


def test_fifty_concurrent_lot_releases_ship_the_goods_once(live: Live, http: httpx.Client) -> None:
    deal, free = repaid_in_part(live.service.client, live.who)
    order = release_order(live.service.client, live.who, deal, free)
    lot_url = f"/lots/{deal.goods.lot['id']}"
    held = Decimal(expect(http.get(lot_url, headers=live.who.wh), 200)["quantity"])
    body = {"quantity": free, "release_order_id": order["id"]}
    out, added = one_effect(live, http, f"{lot_url}/releases", live.who.wh, body)
    assert added["movements"] == 1
    assert len(out["movement"]["epcs"]) == int(Decimal(free))
    lot = expect(http.get(lot_url, headers=live.who.wh), 200)
    assert Decimal(lot["quantity"]) == held - Decimal(free)


def split_burst(
    live: Live, http: httpx.Client, deal: Deal, path: str, headers: dict[str, str], bodies: Any
) -> tuple[list[httpx.Response], list[httpx.Response]]:
    """Race two different bodies under one key; return the winners' and the losers' answers."""
    keyed = {**headers, "Idempotency-Key": f"reused-{uuid.uuid4().hex}"}
    first, second = bodies
    mixed = [first, second] * (BURST // 2)
    answers = at_once(http, path, keyed, mixed)
    by_body: dict[int, list[httpx.Response]] = {0: [], 1: []}
    for index, answer in enumerate(answers):
        by_body[index % 2].append(answer)
    winner = 0 if by_body[0][0].status_code == 202 else 1
    return by_body[winner], by_body[1 - winner]


def test_one_key_raced_with_two_bodies_books_one_and_refuses_the_other_with_422(
    live: Live, http: httpx.Client
) -> None:
    deal = active_loan(live.service.client, live.who)
    path = f"/loans/{deal.loan['id']}/repayments"
    before = snapshot(live)
    won, lost = split_burst(
        live, http, deal, path, live.who.sme, ({"amount": "100.00"}, {"amount": "200.00"})
    )
    assert [a.status_code for a in won] == [202] * (BURST // 2), {a.text for a in won}
    assert len({a.text for a in won}) == 1
    assert [a.status_code for a in lost] == [422] * (BURST // 2), {a.text for a in lost}
    for answer in lost:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "idempotency_key_reused"
    added = {table: n - before[table] for table, n in snapshot(live).items()}
    assert (added["repayments"], added["idempotency_keys"]) == (1, 1)
    booked = expect(http.get(path, headers=live.who.sme), 200)
    assert [Decimal(r["amount"]) for r in booked] == [Decimal(won[0].json()["repayment"]["amount"])]


def test_a_reused_key_with_another_quantity_is_422_for_a_lot_release(
    live: Live, http: httpx.Client
) -> None:
    deal, free = repaid_in_part(live.service.client, live.who)
    order = release_order(live.service.client, live.who, deal, free)
    path = f"/lots/{deal.goods.lot['id']}/releases"
    headers = {**live.who.wh, "Idempotency-Key": f"release-{uuid.uuid4().hex}"}
    body = {"quantity": free, "release_order_id": order["id"]}
    expect(http.post(path, headers=headers, json=body), 202)
    before = snapshot(live)
    other = http.post(path, headers=headers, json={**body, "quantity": "1"})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "different request" in other.json()["detail"]
    assert snapshot(live) == before
