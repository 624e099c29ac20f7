"""The OpenAPI document, paginated lists, command status and the auditors' view of the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from services.seed import DEMO_PASSWORD
from tests.api.conftest import problem_of
from tests.api.story_steps import (
    ROUTERS,
    World,
    expect,
    price,
    route_table,
    shared_world,
    site,
)

# Who lists what: each list endpoint with a party that may read it.
LISTS = {
    "/warehouses": "wh",
    "/warehouses/{warehouse_id}/bays": "wh",
    "/lots": "wh",
    "/release-orders": "bank1",
    "/products": "bank1",
    "/prices": "bank1",
    "/receipts": "sme",
    "/loans": "sme",
    "/alerts": "bank1",
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A running loan, so every list has something in it and the ledger has a pledge."""
    yield from shared_world(tmp_path_factory)


@pytest.fixture(scope="module")
def openapi(shared: World) -> dict[str, Any]:
    """The served OpenAPI document."""
    return expect(shared.client.get("/openapi.json"), 200)


def documented_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app and its routers put in the schema."""
    routes = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    return {
        (method, route.path)
        for route in routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }


def url(world: World, path: str) -> str:
    """A list path with its warehouse filled in."""
    return path.replace("{warehouse_id}", world.site.warehouse["id"])


# --- the OpenAPI document --------------------------------------------------------------------


def test_the_openapi_document_lists_every_routers_paths_and_nothing_else(
    shared: World, openapi: dict[str, Any]
) -> None:
    listed = {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
    }
    assert listed == documented_routes(shared.client.app)
    prefixes = {path.split("/")[1] for _, path in listed}
    assert {"auth", "orgs", "warehouses", "lots", "loans", "products", "commands", "ledger"} <= (
        prefixes
    )


def test_every_served_route_is_documented_or_a_public_page(
    shared: World, openapi: dict[str, Any]
) -> None:
    served = {path for _, path in route_table(shared.client.app)}
    undocumented = served - set(openapi["paths"])
    assert undocumented == {
        "/",
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
        "/redoc",
        "/metrics",  # the Prometheus exposition, not an API operation
    }


def test_the_openapi_document_declares_the_oauth2_password_flow(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    oauth = [s for s in schemes.values() if s["type"] == "oauth2"]
    assert len(oauth) == 1
    assert oauth[0]["flows"]["password"]["tokenUrl"] == "/auth/token"
    name = next(n for n, s in schemes.items() if s["type"] == "oauth2")
    loan = openapi["paths"]["/loans/{loan_id}"]["get"]
    assert {name: []} in loan["security"]


def test_every_operation_but_sign_in_and_health_requires_a_credential(
    openapi: dict[str, Any],
) -> None:
    open_ops = {
        f"{method.upper()} {path}"
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    }
    assert open_ops == {"POST /auth/token", "GET /healthz", "GET /readyz"}


def test_the_sign_in_form_of_the_docs_yields_a_working_token(shared: World) -> None:
    form = {"username": "bank1.officer", "password": DEMO_PASSWORD, "grant_type": "password"}
    token = expect(shared.client.post("/auth/token", data=form), 200)
    assert token["token_type"] == "bearer"
    me = expect(
        shared.client.get("/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"}),
        200,
    )
    assert me["org"]["id"] == "bank1"


# --- paginated lists -------------------------------------------------------------------------


def test_the_paginated_lists_are_exactly_those_answering_a_page(openapi: dict[str, Any]) -> None:
    paged = set()
    for path, operations in openapi["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get["responses"]["200"].get("content", {})
        if "application/json" not in content:
            continue  # a stream, such as /alerts/stream
        schema = content["application/json"]["schema"]
        if schema.get("$ref", "").split("/")[-1].startswith("Page_"):
            paged.add(path)
    assert paged == set(LISTS)


@pytest.mark.parametrize("path", sorted(LISTS))
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
def test_a_list_refuses_a_page_size_out_of_range(shared: World, path: str, limit: str) -> None:
    headers = getattr(shared.who, LISTS[path])
    resp = shared.client.get(url(shared, path), headers=headers, params={"limit": limit})
    assert resp.status_code == 422
    problem = problem_of(resp)
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize("path", sorted(LISTS))
def test_a_list_refuses_a_negative_offset(shared: World, path: str) -> None:
    headers = getattr(shared.who, LISTS[path])
    resp = shared.client.get(url(shared, path), headers=headers, params={"offset": "-1"})
    assert problem_of(resp)["code"] == "validation_error"


@pytest.mark.parametrize("path", sorted(LISTS))
def test_a_list_walked_page_by_page_gives_every_item_once(shared: World, path: str) -> None:
    headers = getattr(shared.who, LISTS[path])
    if path == "/alerts":
        # An alert needs an incident: a price crash puts the running loan into margin call.
        price(shared.client, shared.who.bank1, "8000")
    full = expect(shared.client.get(url(shared, path), headers=headers, params={"limit": 500}), 200)
    assert full["total"] == len(full["items"]) >= 1
    walked = []
    for offset in range(0, full["total"] + 1):
        page = expect(
            shared.client.get(
                url(shared, path), headers=headers, params={"limit": 1, "offset": offset}
            ),
            200,
        )
        assert (page["limit"], page["offset"], page["total"]) == (1, offset, full["total"])
        walked.extend(page["items"])
    assert walked == full["items"]


def test_a_page_holds_at_most_limit_items_and_reports_the_total(shared: World) -> None:
    for n in range(3):
        site(shared.client, shared.who.wh, code=f"PAGE-{n}")
    everything = expect(shared.client.get("/warehouses", headers=shared.who.wh), 200)
    total = everything["total"]
    assert total >= 4
    first = expect(
        shared.client.get("/warehouses", headers=shared.who.wh, params={"limit": 2}), 200
    )
    rest = expect(
        shared.client.get("/warehouses", headers=shared.who.wh, params={"limit": 2, "offset": 2}),
        200,
    )
    beyond = expect(
        shared.client.get("/warehouses", headers=shared.who.wh, params={"offset": total}), 200
    )
    assert len(first["items"]) == 2
    assert len(rest["items"]) == min(2, total - 2)
    assert first["total"] == rest["total"] == beyond["total"] == total
    assert beyond["items"] == []
    assert first["items"] + rest["items"] == everything["items"][:4]
    assert everything["limit"] == 50
    assert everything["offset"] == 0


# --- ledger-bound commands -------------------------------------------------------------------


def intake(world: World) -> dict[str, Any]:
    """The warehouse books one more coil for acme; the answer names the ledger command."""
    body = {
        "bay_id": world.site.bay["id"],
        "commodity_code": world.deal.goods.receipt["commodity_code"],
        "quantity": "1",
        "depositor_org_id": "acme",
    }
    return expect(world.client.post("/lots", headers=world.who.wh, json=body), 202)


def test_a_confirmed_command_is_shown_to_the_organisation_that_issued_it(shared: World) -> None:
    lot = intake(shared)
    [issued] = [c for c in lot["commands"] if c["kind"] == "issue_receipt"]
    assert issued["href"] == f"/commands/{issued['id']}"
    shown = expect(shared.client.get(issued["href"], headers=shared.who.wh), 200)
    assert shown["status"] == "confirmed"
    assert shown["kind"] == "issue_receipt"
    assert shown["subject_id"] == lot["receipt"]["id"]
    assert shown["tx_id"] == issued["tx_id"]
    assert shown["block_number"] is not None


@pytest.mark.parametrize("other", ["sme", "bank1", "bank2", "auditor"])
def test_a_command_answers_404_to_every_other_organisation(shared: World, other: str) -> None:
    lot = intake(shared)
    headers = getattr(shared.who, other)
    resp = shared.client.get(lot["commands"][0]["href"], headers=headers)
    assert resp.status_code == 404
    problem = problem_of(resp)
    assert problem["code"] == "command_not_found"
    missing = shared.client.get("/commands/" + "0" * 32, headers=headers)
    assert problem_of(missing)["code"] == problem["code"]
    assert lot["receipt"]["id"] not in resp.text


# --- the auditors' view of the ledger --------------------------------------------------------


@pytest.mark.parametrize("party", ["bank1", "bank2", "wh", "sme"])
def test_the_ledger_blocks_are_for_auditors_only(shared: World, party: str) -> None:
    resp = shared.client.get("/ledger/blocks", headers=getattr(shared.who, party))
    assert resp.status_code == 403
    assert problem_of(resp)["code"] == "wrong_org_kind"


def blocks(world: World, **params: Any) -> dict[str, Any]:
    """A page of blocks as the auditor sees them."""
    return expect(world.client.get("/ledger/blocks", headers=world.who.auditor, params=params), 200)


def test_an_auditor_sees_the_blocks_newest_first_and_chained(shared: World) -> None:
    page = blocks(shared, limit=200)
    numbers = [b["number"] for b in page["items"]]
    assert numbers == sorted(numbers, reverse=True)
    assert page["total"] == len(numbers)
    for newer, older in zip(page["items"], page["items"][1:], strict=False):
        assert newer["prev_hash"] == older["hash"]
    assert all(b["endorsers"] for b in page["items"])


def test_a_pledge_block_carries_the_banks_and_the_warehouses_endorsements(shared: World) -> None:
    pledges = [b for b in blocks(shared, limit=200)["items"] if b["fn"] == "register_pledge"]
    assert len(pledges) == 1
    [pledge] = pledges
    assert pledge["submitter_msp"] == "Bank1MSP"
    assert {"Bank1MSP", "WarehouseMSP"} <= set(pledge["endorsers"])
    # Loan terms travel as a commitment: the amount is nowhere in the block.
    assert str(shared.deal.loan["amount_requested"]).split(".")[0] not in str(pledge)


def test_a_receipt_block_is_endorsed_by_the_warehouse(shared: World) -> None:
    issued = [b for b in blocks(shared, limit=200)["items"] if b["fn"] == "issue_receipt"]
    assert issued
    assert all(b["submitter_msp"] == "WarehouseMSP" for b in issued)
    assert all("WarehouseMSP" in b["endorsers"] for b in issued)


@pytest.mark.parametrize("limit", ["0", "201"])
def test_the_block_list_refuses_a_page_size_out_of_range(shared: World, limit: str) -> None:
    resp = shared.client.get("/ledger/blocks", headers=shared.who.auditor, params={"limit": limit})
    assert resp.status_code == 422
    assert problem_of(resp)["code"] == "validation_error"


def test_the_block_list_pages_without_gaps(shared: World) -> None:
    total = blocks(shared)["total"]
    first, second = blocks(shared, limit=2), blocks(shared, limit=2, offset=2)
    numbers = [b["number"] for b in first["items"] + second["items"]]
    assert len(numbers) == min(4, total)
    assert numbers == sorted(numbers, reverse=True)
    assert numbers[0] - numbers[-1] == len(numbers) - 1


def test_the_auditor_verifies_the_whole_chain(shared: World) -> None:
    verdict = expect(shared.client.get("/ledger/verify", headers=shared.who.auditor), 200)
    assert verdict["ok"] is True
    assert verdict["first_broken"] is None
    assert verdict["blocks"] == blocks(shared)["total"]
