"""Who may see and do what: other organisations' objects answer 404, wrong callers 401 or 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from pledge.parties import OrgKind, Role
from tests.api.conftest import problem_of
from tests.api.story_steps import (
    COIL,
    TERMS,
    World,
    add_org,
    add_user,
    epcs,
    expect,
    goods,
    key,
    route_table,
    shared_world,
)

PUBLIC = {
    "/auth/token",
    "/healthz",
    # Probes and the Prometheus scrape; the chart's NetworkPolicy limits who reaches them.
    "/readyz",
    "/metrics",
    "/",
    "/docs",
    "/openapi.json",
    "/docs/oauth2-redirect",
    "/redoc",
}
UNKNOWN_ID = "0" * 32


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Acme's running loan with bank1, and the other parties around it."""
    yield from shared_world(tmp_path_factory)


@pytest.fixture(scope="module")
def beta(shared: World) -> dict[str, str]:
    """A second SME, signed in; it holds goods of its own in the same warehouse."""
    headers = add_org(shared.service, "beta", OrgKind.SME, "BetaMSP", "beta.clerk")
    goods(shared.client, shared.who, quantity=2, depositor="beta")
    return headers


@pytest.fixture(scope="module")
def acme_viewer(shared: World) -> dict[str, str]:
    """A read-only user in acme."""
    return add_user(shared.service, "acme", "acme.viewer", (Role.VIEWER,))


@pytest.fixture(scope="module")
def acme_device(shared: World) -> dict[str, str]:
    """The X-API-Key header of a camera registered by acme."""
    body = {"name": "gate camera", "purpose": "camera"}
    created = expect(
        shared.client.post("/orgs/me/api-keys", headers=shared.who.sme, json=body), 201
    )
    return {"X-API-Key": created["secret"]}


def api_routes(world: World) -> list[tuple[str, str]]:
    """Every (method, path template) the application serves."""
    return route_table(world.client.app)


def fill(path: str, ids: dict[str, str] | None = None) -> str:
    """A concrete URL for a path template; unnamed parameters get an unknown id."""
    ids = ids or {}
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), UNKNOWN_ID), path)


def object_ids(world: World) -> dict[str, str]:
    """Real ids of the shared world's objects, by path parameter name."""
    return {
        "loan_id": world.deal.loan["id"],
        "lot_id": world.deal.goods.lot["id"],
        "receipt_id": world.deal.goods.receipt["id"],
        "product_id": world.deal.product["id"],
        "warehouse_id": world.site.warehouse["id"],
        "order_id": world.order["id"],
        "bay_id": world.site.bay["id"],
        # No alert or webhook exists yet: the role check answers before any lookup.
        "alert_id": "0" * 32,
        "webhook_id": "0" * 32,
        "reader_id": "r01",
    }


# --- authentication --------------------------------------------------------------------------


def test_every_route_but_the_public_ones_answers_401_without_credentials(shared: World) -> None:
    routes = [(m, p) for m, p in api_routes(shared) if p not in PUBLIC]
    assert len(routes) > 30, routes
    wrong = {}
    for method, path in routes:
        resp = shared.client.request(method, fill(path, object_ids(shared)))
        if resp.status_code != 401:
            wrong[f"{method} {path}"] = resp.status_code
            continue
        problem = problem_of(resp)
        assert problem["code"] == "missing_credentials", (method, path, problem)
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert wrong == {}


def test_every_protected_route_answers_401_to_a_forged_token(shared: World) -> None:
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}
    wrong = {}
    for method, path in api_routes(shared):
        if path in PUBLIC:
            continue
        resp = shared.client.request(method, fill(path, object_ids(shared)), headers=forged)
        if resp.status_code != 401 or problem_of(resp)["code"] != "invalid_token":
            wrong[f"{method} {path}"] = resp.status_code
    assert wrong == {}


def test_the_public_routes_answer_without_credentials(shared: World) -> None:
    for path in ("/healthz", "/", "/docs", "/openapi.json", "/redoc"):
        assert shared.client.get(path).status_code == 200, path


def test_a_wrong_password_answers_401_with_a_problem(shared: World) -> None:
    resp = shared.client.post(
        "/auth/token", data={"username": "acme.clerk", "password": "not the password"}
    )
    assert resp.status_code == 401
    assert problem_of(resp)["code"] == "bad_credentials"


# --- other organisations' objects ------------------------------------------------------------

# (reader, path template): each is an object of acme, bank1 or northport the reader is not party to.
FOREIGN_READS = [
    ("beta", "/loans/{loan_id}"),
    ("beta", "/loans/{loan_id}/valuation"),
    ("beta", "/loans/{loan_id}/repayments"),
    ("beta", "/loans/{loan_id}/margin-calls"),
    ("beta", "/loans/{loan_id}/release-quote"),
    ("beta", "/receipts/{receipt_id}"),
    ("beta", "/lots/{lot_id}"),
    ("beta", "/release-orders/{order_id}"),
    ("bank2", "/loans/{loan_id}"),
    ("bank2", "/loans/{loan_id}/valuation"),
    ("bank2", "/loans/{loan_id}/repayments"),
    ("bank2", "/products/{product_id}"),
    ("bank2", "/receipts/{receipt_id}"),
    ("bank2", "/lots/{lot_id}"),
    ("bank2", "/warehouses/{warehouse_id}"),
    ("bank2", "/release-orders/{order_id}"),
    ("wh", "/loans/{loan_id}"),
    ("wh", "/loans/{loan_id}/valuation"),
    ("wh", "/loans/{loan_id}/repayments"),
    ("wh", "/products/{product_id}"),
    ("sme", "/warehouses/{warehouse_id}"),
    ("sme", "/warehouses/{warehouse_id}/bays"),
    ("bank2", "/warehouses/{warehouse_id}/bays"),
    ("auditor", "/loans/{loan_id}"),
    ("auditor", "/lots/{lot_id}"),
    ("auditor", "/release-orders/{order_id}"),
]


def headers_of(world: World, beta: dict[str, str], reader: str) -> dict[str, str]:
    """Auth headers of a party by short name."""
    return beta if reader == "beta" else getattr(world.who, reader)


@pytest.mark.parametrize(("reader", "path"), FOREIGN_READS)
def test_another_organisations_object_answers_404_exactly_like_a_missing_one(
    shared: World, beta: dict[str, str], reader: str, path: str
) -> None:
    headers = headers_of(shared, beta, reader)
    ids = object_ids(shared)
    theirs = shared.client.get(fill(path, ids), headers=headers)
    missing = shared.client.get(fill(path), headers=headers)
    assert theirs.status_code == 404, theirs.text
    assert missing.status_code == 404, missing.text
    problem, absent = problem_of(theirs), problem_of(missing)
    assert problem["code"] == absent["code"]
    # The only thing the answer may echo is the id the caller sent.
    used = next(v for k, v in ids.items() if "{" + k + "}" in path)
    assert problem["detail"] == absent["detail"].replace(UNKNOWN_ID, used)
    assert set(problem) == set(absent)


@pytest.mark.parametrize(
    ("reader", "path"),
    [
        ("beta", "/loans"),
        ("beta", "/lots"),
        ("beta", "/receipts"),
        ("beta", "/release-orders"),
        ("bank2", "/loans"),
        ("bank2", "/products"),
        ("bank2", "/prices"),
        ("bank2", "/receipts"),
        ("bank2", "/release-orders"),
        ("bank2", "/warehouses"),
        ("wh", "/loans"),
        ("wh", "/products"),
        ("sme", "/warehouses"),
        ("auditor", "/loans"),
        ("auditor", "/lots"),
    ],
)
def test_lists_show_nothing_of_other_organisations(
    shared: World, beta: dict[str, str], reader: str, path: str
) -> None:
    page = expect(shared.client.get(path, headers=headers_of(shared, beta, reader)), 200)
    theirs = set(object_ids(shared).values())
    assert not {item["id"] for item in page["items"]} & theirs
    assert all(item.get("sme_org_id", "beta") != "acme" for item in page["items"])
    assert all(item.get("bank_org_id", "bank2") != "bank1" for item in page["items"])
    assert all(item.get("depositor_org_id", "beta") != "acme" for item in page["items"])


def test_each_party_lists_its_own_side_of_the_loan(shared: World) -> None:
    loan_id = shared.deal.loan["id"]
    for headers in (shared.who.sme, shared.who.bank1):
        page = expect(shared.client.get("/loans", headers=headers), 200)
        assert loan_id in {item["id"] for item in page["items"]}
    lots = expect(shared.client.get("/lots", headers=shared.who.wh), 200)
    assert shared.deal.goods.lot["id"] in {item["id"] for item in lots["items"]}


def test_a_bank_sees_a_receipt_only_once_it_was_offered_as_collateral(
    shared: World, beta: dict[str, str]
) -> None:
    url = f"/receipts/{shared.deal.goods.receipt['id']}"
    assert shared.client.get(url, headers=shared.who.bank1).status_code == 200
    assert shared.client.get(url, headers=shared.who.bank2).status_code == 404
    free = f"/receipts/{shared.free_goods.receipt['id']}"
    assert shared.client.get(free, headers=shared.who.bank1).status_code == 404


# --- function-level rules --------------------------------------------------------------------


def test_an_sme_approving_its_own_loan_is_forbidden(shared: World) -> None:
    client, who = shared.client, shared.who
    product = expect(client.get(f"/products/{shared.deal.product['id']}", headers=who.sme), 200)
    body = {"product_id": product["id"], "receipt_ids": [shared.free_goods.receipt["id"]]}
    loan = expect(client.post("/loans", headers=who.sme, json={**body, "amount": "1000.00"}), 201)
    before = shared.count("ledger_commands")
    resp = client.post(f"/loans/{loan['id']}/approve", headers=who.sme)
    assert resp.status_code == 403
    assert problem_of(resp)["code"] == "wrong_org_kind"
    assert expect(client.get(f"/loans/{loan['id']}", headers=who.sme), 200)["status"] == "applied"
    assert shared.count("ledger_commands") == before


def test_a_warehouse_issuing_a_release_order_is_forbidden(shared: World) -> None:
    before = shared.count("release_orders", "ledger_commands", "idempotency_keys")
    resp = shared.client.post(
        f"/loans/{shared.deal.loan['id']}/release-orders",
        headers={**shared.who.wh, **key()},
        json={"receipt_id": shared.deal.goods.receipt["id"], "quantity": "1"},
    )
    assert resp.status_code == 403
    assert problem_of(resp)["code"] == "wrong_org_kind"
    assert shared.count("release_orders", "ledger_commands", "idempotency_keys") == before


def test_a_bank_receiving_a_lot_is_forbidden(shared: World) -> None:
    before = shared.count("lots", "receipts", "movements")
    body = {
        "bay_id": shared.site.bay["id"],
        "commodity_code": COIL,
        "quantity": "1",
        "epcs": epcs(1),
        "depositor_org_id": "acme",
    }
    resp = shared.client.post("/lots", headers=shared.who.bank1, json=body)
    assert resp.status_code == 403
    assert problem_of(resp)["code"] == "wrong_org_kind"
    assert shared.count("lots", "receipts", "movements") == before


def test_an_auditor_repaying_a_loan_is_forbidden(shared: World) -> None:
    before = shared.count("repayments")
    resp = shared.client.post(
        f"/loans/{shared.deal.loan['id']}/repayments",
        headers={**shared.who.auditor, **key()},
        json={"amount": "100.00"},
    )
    assert resp.status_code == 403
    assert problem_of(resp)["code"] == "wrong_org_kind"
    assert shared.count("repayments") == before


def test_another_bank_cannot_act_on_a_loan_it_did_not_make(shared: World) -> None:
    loan_url = f"/loans/{shared.deal.loan['id']}"
    before = shared.count("ledger_commands", "release_orders")
    for action in ("disburse", "default"):
        resp = shared.client.post(f"{loan_url}/{action}", headers={**shared.who.bank2, **key()})
        assert resp.status_code == 404, (action, resp.text)
        assert problem_of(resp)["code"] == "loan_not_found"
    assert shared.count("ledger_commands", "release_orders") == before


def test_another_sme_cannot_repay_someone_elses_loan(shared: World, beta: dict[str, str]) -> None:
    before = shared.count("repayments")
    resp = shared.client.post(
        f"/loans/{shared.deal.loan['id']}/repayments",
        headers={**beta, **key()},
        json={"amount": "100.00"},
    )
    assert resp.status_code == 404
    assert problem_of(resp)["code"] == "loan_not_found"
    assert shared.count("repayments") == before


def test_a_viewer_reads_its_organisations_loan_but_cannot_act(
    shared: World, acme_viewer: dict[str, str]
) -> None:
    client, loan_url = shared.client, f"/loans/{shared.deal.loan['id']}"
    assert expect(client.get(loan_url, headers=acme_viewer), 200)["sme_org_id"] == "acme"
    before = shared.count("loans", "repayments")
    attempts = [
        client.post(
            f"{loan_url}/repayments", headers={**acme_viewer, **key()}, json={"amount": "1"}
        ),
        client.post(
            "/loans",
            headers=acme_viewer,
            json={
                "product_id": shared.deal.product["id"],
                "receipt_ids": [shared.free_goods.receipt["id"]],
                "amount": "1000.00",
            },
        ),
        client.post(
            "/orgs/me/users",
            headers=acme_viewer,
            json={"username": "acme.sneak", "password": "long enough pw", "roles": ["admin"]},
        ),
    ]
    for resp in attempts:
        assert resp.status_code == 403, resp.text
        assert problem_of(resp)["code"] == "missing_role"
    assert shared.count("loans", "repayments") == before


def write_requests(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    """A well-formed request for every write route, so a refusal can only be about the caller."""
    receipt = world.free_goods.receipt["id"]
    csv = f"commodity,currency,price,as_of\n{COIL},USD,12000,2026-01-05T09:00:00Z\n"
    return {
        ("POST", "/warehouses"): {"json": {"code": "WH-NEW", "name": "New"}},
        ("POST", "/warehouses/{warehouse_id}/bays"): {"json": {"code": "B9"}},
        ("POST", "/commodities"): {"json": {"code": "GRAIN", "unit": "t"}},
        ("POST", "/lots"): {
            "json": {
                "bay_id": world.site.bay["id"],
                "commodity_code": COIL,
                "quantity": "1",
                "depositor_org_id": "acme",
            }
        },
        ("POST", "/lots/{lot_id}/releases"): {"json": {"quantity": "1"}},
        ("POST", "/products"): {"json": {"name": "P", **TERMS}},
        ("POST", "/prices"): {"json": {"commodity_code": COIL, "currency": "USD", "price": "1"}},
        ("POST", "/prices/import"): {"content": csv, "headers": {"Content-Type": "text/csv"}},
        ("POST", "/loans"): {
            "json": {
                "product_id": world.deal.product["id"],
                "receipt_ids": [receipt],
                "amount": "1000.00",
            }
        },
        ("POST", "/loans/{loan_id}/approve"): {},
        ("POST", "/loans/{loan_id}/reject"): {"json": {"reasons": ["no"]}},
        ("POST", "/loans/{loan_id}/disburse"): {},
        ("POST", "/loans/{loan_id}/repayments"): {"json": {"amount": "1.00"}},
        ("POST", "/loans/{loan_id}/release-orders"): {
            "json": {"receipt_id": world.deal.goods.receipt["id"], "quantity": "1"}
        },
        ("POST", "/loans/{loan_id}/default"): {},
        ("POST", "/loans/{loan_id}/liquidate"): {},
        ("POST", "/orgs/me/users"): {
            "json": {"username": "audit.sneak", "password": "long enough pw", "roles": ["admin"]}
        },
        ("POST", "/orgs/me/api-keys"): {"json": {"name": "cam", "purpose": "camera"}},
        ("DELETE", "/orgs/me/api-keys/{key_id}"): {},
        ("POST", "/epcis/capture"): {"json": {"type": "EPCISDocument"}},
        ("POST", "/warehouses/{warehouse_id}/reconcile"): {},
        ("POST", "/bays/{bay_id}/freeze/resolve"): {"json": {"note": "x"}},
        ("POST", "/alerts/{alert_id}/acknowledge"): {},
        ("POST", "/alerts/{alert_id}/resolve"): {"json": {"note": "x"}},
        ("POST", "/webhooks"): {"json": {"url": "https://example.com/h"}},
        ("DELETE", "/webhooks/{webhook_id}"): {},
        ("PUT", "/readers/{reader_id}/placement"): {"json": {"kind": "exit_gate"}},
        ("PUT", "/warehouses/{warehouse_id}/device-keys/{key_id}"): {},
        ("POST", "/warehouses/{warehouse_id}/cameras"): {
            "json": {"camera_id": "cam-new", "url": "rtsp://10.0.0.9/s"}
        },
        ("POST", "/vision/keys"): {"json": {"public_key": "A" * 43 + "="}},
        ("POST", "/vision/events"): {"json": {"camera_id": "cam-new"}},
        ("POST", "/vision/tamper"): {"json": {"camera_id": "cam-new"}},
        ("POST", "/bays/{bay_id}/live-checks"): {"json": {"nonce": "n0nce-1"}},
        ("POST", "/evidence/{evidence_id}/verify"): {},
    }


def test_the_write_request_table_covers_every_write_route(shared: World) -> None:
    writes = {(m, p) for m, p in api_routes(shared) if m != "GET" and p not in PUBLIC}
    assert writes == set(write_requests(shared))


def test_a_read_only_auditor_is_refused_by_every_write_route(shared: World) -> None:
    tables = ("warehouses", "lots", "loans", "loan_products", "prices", "repayments", "users")
    before = shared.count(*tables)
    wrong = {}
    for (method, path), request in write_requests(shared).items():
        headers = {**shared.who.auditor, **key(), **request.pop("headers", {})}
        resp = shared.client.request(
            method, fill(path, object_ids(shared)), headers=headers, **request
        )
        if resp.status_code != 403:
            wrong[f"{method} {path}"] = resp.text
        else:
            assert problem_of(resp)["code"] in {"wrong_org_kind", "missing_role"}
    assert wrong == {}
    assert shared.count(*tables) == before


def test_a_non_bank_importing_prices_is_refused_before_the_file_is_read(shared: World) -> None:
    resp = shared.client.post(
        "/prices/import",
        headers={**shared.who.sme, "Content-Type": "text/csv"},
        content="commodity,currency,price,as_of\n",
    )
    assert resp.status_code == 403


def test_only_auditors_read_the_ledger_blocks(shared: World) -> None:
    for headers in (shared.who.bank1, shared.who.wh, shared.who.sme):
        resp = shared.client.get("/ledger/blocks", headers=headers)
        assert resp.status_code == 403
        assert problem_of(resp)["code"] == "wrong_org_kind"
    assert shared.client.get("/ledger/blocks", headers=shared.who.auditor).status_code == 200


def test_a_device_key_cannot_act_for_its_organisation(
    shared: World, acme_device: dict[str, str]
) -> None:
    before = shared.count("loans", "repayments")
    loan_url = f"/loans/{shared.deal.loan['id']}"
    body = {
        "product_id": shared.deal.product["id"],
        "receipt_ids": [shared.free_goods.receipt["id"]],
        "amount": "1000.00",
    }
    attempts = [
        shared.client.post("/loans", headers=acme_device, json=body),
        shared.client.post(
            f"{loan_url}/repayments", headers={**acme_device, **key()}, json={"amount": "1.00"}
        ),
        shared.client.get(f"{loan_url}/release-quote", headers=acme_device),
    ]
    for resp in attempts:
        assert resp.status_code == 403, resp.text
        assert problem_of(resp)["code"] == "missing_role"
    assert shared.count("loans", "repayments") == before


@pytest.mark.parametrize(
    "path",
    [
        "/loans",
        "/loans/{loan_id}",
        "/loans/{loan_id}/valuation",
        "/loans/{loan_id}/repayments",
        "/lots/{lot_id}",
        "/receipts/{receipt_id}",
        "/release-orders/{order_id}",
        "/products/{product_id}",
    ],
)
def test_a_device_key_reads_none_of_its_organisations_business(
    shared: World, acme_device: dict[str, str], path: str
) -> None:
    resp = shared.client.get(fill(path, object_ids(shared)), headers=acme_device)
    assert resp.status_code == 403, resp.text
