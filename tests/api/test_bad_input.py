"""Bad input gets a clear problem+json with a stable code, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pledge.parties import OrgKind
from tests.api.conftest import problem_of
from tests.api.story_steps import (
    CATHODE,
    COIL,
    TERMS,
    World,
    active_loan,
    add_org,
    counts,
    epcs,
    expect,
    goods,
    key,
    parties,
    shared_world,
    site,
)

LOT_TABLES = ("lots", "receipts", "movements", "ledger_commands")
LOAN_TABLES = ("loans", "repayments", "accruals", "release_orders", "ledger_commands")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One service for the refusals: a refused request changes nothing, so they can share it."""
    yield from shared_world(tmp_path_factory)


@pytest.fixture(scope="module")
def beta(shared: World) -> dict[str, Any]:
    """A second SME with a receipt of its own, and a second warehouse operator with a bay."""
    client = shared.client
    add_org(shared.service, "beta", OrgKind.SME, "BetaMSP", "beta.clerk")
    theirs = goods(client, shared.who, quantity=5, depositor="beta")
    south = add_org(shared.service, "southport", OrgKind.WAREHOUSE, "SouthportMSP", "south.op")
    return {"receipt": theirs.receipt, "foreign_site": site(client, south)}


def lot_body(bay_id: str, quantity: str, commodity: str = COIL, tags: int = 0) -> dict[str, Any]:
    """A lot intake body for acme."""
    return {
        "bay_id": bay_id,
        "commodity_code": commodity,
        "quantity": quantity,
        "epcs": epcs(tags),
        "depositor_org_id": "acme",
    }


def refused(
    world: World, resp: Any, status: int, code: str, before: dict[str, int]
) -> dict[str, Any]:
    """Check a refusal: its status, its code, and that the counted tables did not change."""
    assert resp.status_code == status, resp.text
    body = problem_of(resp)
    assert body["code"] == code, body
    assert world.count(*before) == before
    return body


# --- goods in --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "commodity", "code"),
    [
        ("-5", COIL, "invalid_quantity"),
        ("0", COIL, "invalid_quantity"),
        ("0.000", CATHODE, "invalid_quantity"),
        ("ten", COIL, "validation_error"),
        ("1e3", COIL, "validation_error"),
        ("", COIL, "validation_error"),
        ("1.5", COIL, "invalid_quantity"),
        ("2.25", CATHODE, "invalid_quantity"),
    ],
)
def test_a_lot_with_a_bad_quantity_is_refused_and_nothing_is_booked(
    shared: World, quantity: str, commodity: str, code: str
) -> None:
    before = shared.count(*LOT_TABLES)
    body = lot_body(shared.site.bay["id"], quantity, commodity)
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 422, code, before)


def test_a_quantity_that_is_a_multiple_of_the_commodity_step_is_accepted(shared: World) -> None:
    body = lot_body(shared.site.bay["id"], "2.5", CATHODE)
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    assert Decimal(expect(resp, 202)["lot"]["quantity"]) == Decimal("2.5")


def test_a_quantity_sent_as_a_json_number_is_refused(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = {**lot_body(shared.site.bay["id"], "1"), "quantity": 1.5}
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 422, "validation_error", before)


def test_a_lot_of_an_unknown_commodity_is_refused_and_nothing_is_booked(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = lot_body(shared.site.bay["id"], "3", "UNOBTAINIUM")
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    problem = refused(shared, resp, 404, "commodity_not_found", before)
    assert "UNOBTAINIUM" in problem["detail"]


def test_a_lot_whose_tag_count_differs_from_its_pieces_is_refused(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = lot_body(shared.site.bay["id"], "3", tags=2)
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 422, "epc_count_mismatch", before)


def test_a_lot_with_a_malformed_tag_is_refused(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = {**lot_body(shared.site.bay["id"], "1"), "epcs": ["not-an-epc"]}
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 422, "invalid_epc", before)


def test_a_lot_whose_tags_are_already_in_stock_is_refused(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = {**lot_body(shared.site.bay["id"], "3"), "epcs": shared.free_goods.epcs[:3]}
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 409, "epc_in_stock", before)


def test_a_lot_for_a_bay_of_another_warehouse_operator_answers_not_found(
    shared: World, beta: dict[str, Any]
) -> None:
    foreign = beta["foreign_site"]
    before = shared.count(*LOT_TABLES)
    resp = shared.client.post("/lots", headers=shared.who.wh, json=lot_body(foreign.bay["id"], "3"))
    problem = refused(shared, resp, 404, "warehouse_not_found", before)
    assert foreign.warehouse["code"] not in str(problem)


def test_a_lot_for_a_depositor_that_is_not_an_sme_answers_not_found(shared: World) -> None:
    before = shared.count(*LOT_TABLES)
    body = {**lot_body(shared.site.bay["id"], "3"), "depositor_org_id": "bank1"}
    resp = shared.client.post("/lots", headers=shared.who.wh, json=body)
    refused(shared, resp, 404, "depositor_not_found", before)


def test_a_warehouse_body_naming_its_organisation_is_refused(shared: World) -> None:
    before = shared.count("warehouses")
    body = {"code": "WH-X", "name": "Not mine", "org_id": "southport"}
    resp = shared.client.post("/warehouses", headers=shared.who.wh, json=body)
    problem = refused(shared, resp, 422, "validation_error", before)
    assert [err["field"] for err in problem["errors"]] == ["body.org_id"]


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/warehouses", {"code": "no spaces", "name": "X"}, "invalid_code"),
        ("/warehouses", {"code": "WH-BLANK", "name": "   "}, "validation_error"),
        ("/warehouses", {"code": "", "name": "X"}, "validation_error"),
        ("/commodities", {"code": "SAND", "unit": "lbs"}, "unknown_unit"),
        ("/commodities", {"code": "SAND", "unit": "t", "step": "0"}, "invalid_quantity"),
        ("/commodities", {"code": "SAND", "unit": "t", "step": "-1"}, "invalid_quantity"),
        ("/commodities", {"code": COIL, "unit": "pcs"}, "commodity_exists"),
        ("{bays}", {"code": "B2", "polygons": {"cam": [[0, 0], [1, 1]]}}, "invalid_polygon"),
        (
            "{bays}",
            {"code": "B2", "polygons": {"cam": [[0, 0], [1, 0], [2, 1]]}},
            "invalid_polygon",
        ),
        ("{bays}", {"code": "A1"}, "bay_exists"),
    ],
)
def test_a_bad_warehouse_bay_or_commodity_is_refused_and_not_stored(
    shared: World, path: str, body: dict[str, Any], code: str
) -> None:
    path = path.replace("{bays}", f"/warehouses/{shared.site.warehouse['id']}/bays")
    tables = ("warehouses", "bays", "commodities")
    before = shared.count(*tables)
    resp = shared.client.post(path, headers=shared.who.wh, json=body)
    status = 409 if code.endswith("_exists") else 422
    refused(shared, resp, status, code, before)


@pytest.mark.parametrize(
    "raw",
    ['{"code": "WH-1", "name": ', "not json at all", '["code", "WH-1"]', ""],
)
def test_malformed_json_is_refused_with_a_validation_problem(shared: World, raw: str) -> None:
    before = shared.count("warehouses")
    headers = {**shared.who.wh, "Content-Type": "application/json"}
    resp = shared.client.post("/warehouses", headers=headers, content=raw)
    refused(shared, resp, 422, "validation_error", before)


# --- products and prices ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"currency": "usd"}, "unknown_currency"),
        ({"day_count": "30/360"}, "unknown_day_count"),
        ({"max_ltv": "0.85", "margin_call_ltv": "0.80"}, "invalid_thresholds"),
        ({"margin_call_ltv": "0.95", "liquidation_ltv": "0.90"}, "invalid_thresholds"),
        ({"max_ltv": "0"}, "invalid_thresholds"),
        ({"liquidation_ltv": "2.5"}, "invalid_thresholds"),
        ({"haircuts": {COIL: "1"}}, "invalid_haircuts"),
        ({"haircuts": {COIL: "1.2"}}, "invalid_haircuts"),
        ({"haircuts": {COIL: "-0.1"}}, "invalid_haircuts"),
        ({"haircuts": {}}, "invalid_haircuts"),
        ({"annual_rate": "8.5"}, "invalid_rate"),
        ({"annual_rate": "0.085%"}, "validation_error"),
    ],
)
def test_a_product_with_bad_terms_is_refused_and_not_published(
    shared: World, overrides: dict[str, Any], code: str
) -> None:
    before = shared.count("loan_products")
    body = {"name": "Bad terms", **TERMS, **overrides}
    resp = shared.client.post("/products", headers=shared.who.bank1, json=body)
    refused(shared, resp, 422, code, before)


def test_a_product_lending_against_an_unknown_commodity_is_refused(shared: World) -> None:
    before = shared.count("loan_products")
    body = {"name": "Ghost", **TERMS, "haircuts": {"UNOBTAINIUM": "0.2"}}
    resp = shared.client.post("/products", headers=shared.who.bank1, json=body)
    refused(shared, resp, 404, "commodity_not_found", before)


@pytest.mark.parametrize(
    ("field", "value"),
    [("bank_org_id", "bank2"), ("id", "chosen-id"), ("status", "published")],
)
def test_a_product_body_naming_a_server_owned_field_is_refused(
    shared: World, field: str, value: str
) -> None:
    before = shared.count("loan_products")
    body = {"name": "Sneaky", **TERMS, field: value}
    resp = shared.client.post("/products", headers=shared.who.bank1, json=body)
    problem = refused(shared, resp, 422, "validation_error", before)
    assert [err["field"] for err in problem["errors"]] == [f"body.{field}"]


def _in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"price": "-1"}, "invalid_price"),
        ({"price": "0"}, "invalid_price"),
        ({"price": "12 000"}, "validation_error"),
        ({"as_of": _in_an_hour()}, "invalid_timestamp"),
        ({"as_of": "2026-01-02T09:00:00"}, "invalid_timestamp"),
        ({"as_of": "yesterday"}, "validation_error"),
        ({"source": "feed"}, "validation_error"),
    ],
)
def test_a_bad_price_is_refused_and_not_recorded(
    shared: World, overrides: dict[str, Any], code: str
) -> None:
    before = shared.count("prices")
    body = {"commodity_code": COIL, "currency": "USD", "price": "12000", **overrides}
    resp = shared.client.post("/prices", headers=shared.who.bank1, json=body)
    refused(shared, resp, 422, code, before)


def test_a_price_of_an_unknown_commodity_answers_not_found(shared: World) -> None:
    before = shared.count("prices")
    body = {"commodity_code": "UNOBTAINIUM", "currency": "USD", "price": "1"}
    resp = shared.client.post("/prices", headers=shared.who.bank1, json=body)
    refused(shared, resp, 404, "commodity_not_found", before)


def import_csv(world: World, csv: str) -> Any:
    """Post a CSV price import as bank1."""
    headers = {**world.who.bank1, "Content-Type": "text/csv"}
    return world.client.post("/prices/import", headers=headers, content=csv)


def test_a_price_import_with_one_bad_line_names_the_line_and_imports_nothing(service) -> None:
    client, who = service.client, parties(service)
    site(client, who.wh)
    csv = (
        "commodity,currency,price,as_of\n"
        f"{COIL},USD,12000,2026-01-05T09:00:00Z\n"
        f"{COIL},USD,11900,2026-01-06T09:00:00Z\n"
        f"{COIL},USD,lots,2026-01-07T09:00:00Z\n"
        f"{COIL},USD,11800,2026-01-08T09:00:00Z\n"
    )
    headers = {**who.bank1, "Content-Type": "text/csv"}
    resp = client.post("/prices/import", headers=headers, content=csv)
    assert resp.status_code == 422
    problem = problem_of(resp)
    assert problem["code"] == "invalid_csv"
    assert "line 4" in problem["detail"]
    assert service.count("prices") == 0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"{COIL},XYZ,100,2026-01-05T09:00:00Z", "unknown currency"),
        (f"{COIL},USD,100,2026-01-05T09:00:00", "time zone"),
        (f"{COIL},USD,-100,2026-01-05T09:00:00Z", "positive"),
        (f"{COIL},USD,100,not-a-date", "not-a-date"),
        (f"{COIL},USD,100", "as_of"),
        ("UNOBTAINIUM,USD,100,2026-01-05T09:00:00Z", "UNOBTAINIUM"),
    ],
)
def test_a_price_import_refuses_every_kind_of_bad_line_by_its_number(
    shared: World, line: str, reason: str
) -> None:
    before = shared.count("prices")
    csv = f"commodity,currency,price,as_of\n{COIL},USD,12000,2026-01-05T09:00:00Z\n{line}\n"
    problem = refused(shared, import_csv(shared, csv), 422, "invalid_csv", before)
    assert problem["detail"].startswith("line 3: ")
    assert reason in problem["detail"]


@pytest.mark.parametrize(
    "csv",
    ["commodity,price\nSTEEL-COIL,12000\n", "", "commodity,currency,price,as_of\n"],
)
def test_a_price_import_without_columns_or_rows_is_refused(shared: World, csv: str) -> None:
    before = shared.count("prices")
    refused(shared, import_csv(shared, csv), 422, "invalid_csv", before)


# --- loans -----------------------------------------------------------------------------------


def apply_body(world: World, **overrides: Any) -> dict[str, Any]:
    """A loan application for acme against its free lot, under bank1's product."""
    return {
        "product_id": world.deal.product["id"],
        "receipt_ids": [world.free_goods.receipt["id"]],
        "amount": "1000.00",
        **overrides,
    }


def test_rejecting_an_application_without_a_reason_is_refused(shared: World) -> None:
    loan = expect(
        shared.client.post("/loans", headers=shared.who.sme, json=apply_body(shared)), 201
    )
    url = f"/loans/{loan['id']}"
    for reasons, code in (([], "validation_error"), (["  "], "reason_required")):
        resp = shared.client.post(
            f"{url}/reject", headers=shared.who.bank1, json={"reasons": reasons}
        )
        assert resp.status_code == 422
        assert problem_of(resp)["code"] == code
    assert expect(shared.client.get(url, headers=shared.who.sme), 200)["status"] == "applied"


def test_applying_with_another_smes_receipt_answers_not_found(
    shared: World, beta: dict[str, Any]
) -> None:
    before = shared.count(*LOAN_TABLES)
    body = apply_body(shared, receipt_ids=[beta["receipt"]["id"]])
    resp = shared.client.post("/loans", headers=shared.who.sme, json=body)
    problem = refused(shared, resp, 404, "receipt_not_found", before)
    assert beta["receipt"]["number"] not in str(problem)


def test_applying_for_an_unknown_product_answers_not_found(shared: World) -> None:
    before = shared.count(*LOAN_TABLES)
    body = apply_body(shared, product_id="no-such-product")
    resp = shared.client.post("/loans", headers=shared.who.sme, json=body)
    refused(shared, resp, 404, "product_not_found", before)


def test_applying_twice_with_the_same_receipt_in_one_loan_is_refused(shared: World) -> None:
    before = shared.count(*LOAN_TABLES)
    receipt = shared.free_goods.receipt["id"]
    body = apply_body(shared, receipt_ids=[receipt, receipt])
    resp = shared.client.post("/loans", headers=shared.who.sme, json=body)
    refused(shared, resp, 422, "invalid_receipts", before)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1000.001", "invalid_amount"),
        ("0", "invalid_amount"),
        ("-1000.00", "invalid_amount"),
        ("1,000.00", "validation_error"),
        ("NaN", "validation_error"),
    ],
)
def test_a_loan_application_for_a_bad_amount_is_refused(
    shared: World, amount: str, code: str
) -> None:
    before = shared.count(*LOAN_TABLES)
    resp = shared.client.post(
        "/loans", headers=shared.who.sme, json=apply_body(shared, amount=amount)
    )
    refused(shared, resp, 422, code, before)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "active"),
        ("bank_org_id", "bank2"),
        ("sme_org_id", "beta"),
        ("principal", "1000000.00"),
    ],
)
def test_a_loan_application_naming_a_server_owned_field_is_refused(
    shared: World, field: str, value: str
) -> None:
    before = shared.count(*LOAN_TABLES)
    body = apply_body(shared, **{field: value})
    resp = shared.client.post("/loans", headers=shared.who.sme, json=body)
    problem = refused(shared, resp, 422, "validation_error", before)
    assert [err["field"] for err in problem["errors"]] == [f"body.{field}"]


def repay(world: World, amount: str, **extra: Any) -> Any:
    """Post a repayment on the shared loan as acme."""
    url = f"/loans/{world.deal.loan['id']}/repayments"
    headers = {**world.who.sme, **key()}
    return world.client.post(url, headers=headers, json={"amount": amount, **extra})


def test_a_repayment_naming_its_allocation_is_refused(shared: World) -> None:
    before = shared.count(*LOAN_TABLES)
    resp = repay(shared, "1000.00", principal="1000.00")
    refused(shared, resp, 422, "validation_error", before)


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("100.001", "invalid_amount"),
        ("-100.00", "non_positive_amount"),
        ("0", "non_positive_amount"),
        ("", "validation_error"),
    ],
)
def test_a_repayment_of_a_bad_amount_is_refused_and_books_nothing(
    shared: World, amount: str, code: str
) -> None:
    loan_url = f"/loans/{shared.deal.loan['id']}"
    loan = expect(shared.client.get(loan_url, headers=shared.who.sme), 200)
    before = shared.count(*LOAN_TABLES)
    refused(shared, repay(shared, amount), 422, code, before)
    assert expect(shared.client.get(loan_url, headers=shared.who.sme), 200) == loan


def test_an_overpayment_is_refused_and_books_nothing(service) -> None:
    client, who = service.client, parties(service)
    deal = active_loan(client, who)
    loan_url = f"/loans/{deal.loan['id']}"
    loan = expect(client.get(loan_url, headers=who.sme), 200)
    too_much = Decimal(loan["outstanding"]) + Decimal("0.01")
    before = counts(service, *LOAN_TABLES)
    resp = client.post(
        f"{loan_url}/repayments", headers={**who.sme, **key()}, json={"amount": str(too_much)}
    )
    assert resp.status_code == 422
    problem = problem_of(resp)
    assert problem["code"] == "overpayment"
    assert "by 0.01 USD" in problem["detail"]
    assert counts(service, *LOAN_TABLES) == before
    assert expect(client.get(loan_url, headers=who.sme), 200) == loan


# --- goods out -------------------------------------------------------------------------------


def release(world: World, body: dict[str, Any]) -> Any:
    """Post a release from the shared free lot as the warehouse."""
    url = f"/lots/{world.free_goods.lot['id']}/releases"
    return world.client.post(url, headers={**world.who.wh, **key()}, json=body)


def test_releasing_more_than_the_lot_holds_is_refused_and_moves_nothing(service) -> None:
    client, who = service.client, parties(service)
    stock = goods(client, who, quantity=10)
    lot_url = f"/lots/{stock.lot['id']}"
    before = counts(service, "movements", "ledger_commands")
    resp = client.post(f"{lot_url}/releases", headers={**who.wh, **key()}, json={"quantity": "11"})
    assert resp.status_code == 409
    assert problem_of(resp)["code"] == "insufficient_stock"
    assert counts(service, "movements", "ledger_commands") == before
    lot = expect(client.get(lot_url, headers=who.wh), 200)
    assert Decimal(lot["quantity"]) == 10
    assert sorted(lot["epcs"]) == sorted(stock.epcs)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": "2", "epcs": "first three"}, 422, "epc_count_mismatch"),
        ({"quantity": "1", "epcs": "a stranger"}, 422, "unknown_epc"),
        ({"quantity": "-1"}, 422, "invalid_quantity"),
        ({"quantity": "0.5"}, 422, "invalid_quantity"),
        ({"quantity": "1", "release_order_id": "no-such-order"}, 404, "release_order_not_found"),
        ({"quantity": "1", "status": "executed"}, 422, "validation_error"),
    ],
)
def test_a_bad_release_is_refused_and_the_lot_keeps_its_goods(
    shared: World, body: dict[str, Any], status: int, code: str
) -> None:
    tags = {"first three": shared.free_goods.epcs[:3], "a stranger": epcs(1)}
    if "epcs" in body:
        body = {**body, "epcs": tags[body["epcs"]]}
    lot_url = f"/lots/{shared.free_goods.lot['id']}"
    lot = expect(shared.client.get(lot_url, headers=shared.who.wh), 200)
    before = shared.count("movements", "ledger_commands")
    refused(shared, release(shared, body), status, code, before)
    assert expect(shared.client.get(lot_url, headers=shared.who.wh), 200) == lot


def test_pledged_goods_do_not_leave_without_a_release_order(shared: World) -> None:
    lot_url = f"/lots/{shared.deal.goods.lot['id']}"
    lot = expect(shared.client.get(lot_url, headers=shared.who.wh), 200)
    before = shared.count("movements", "ledger_commands")
    resp = shared.client.post(
        f"{lot_url}/releases", headers={**shared.who.wh, **key()}, json={"quantity": "1"}
    )
    refused(shared, resp, 409, "release_order_required", before)
    assert expect(shared.client.get(lot_url, headers=shared.who.wh), 200) == lot


@pytest.mark.parametrize(
    ("beyond", "status", "code"),
    [(1, 409, "release_exceeds_quote"), (None, 422, "invalid_quantity")],
)
def test_a_release_order_beyond_what_the_loan_frees_is_refused(
    shared: World, beyond: int | None, status: int, code: str
) -> None:
    loan_url = f"/loans/{shared.deal.loan['id']}"
    quote = expect(shared.client.get(f"{loan_url}/release-quote", headers=shared.who.bank1), 200)
    # One coil more than the quote frees, or nothing at all.
    quantity = "0" if beyond is None else str(Decimal(quote[0]["releasable"]) + beyond)
    before = shared.count("release_orders", "ledger_commands")
    resp = shared.client.post(
        f"{loan_url}/release-orders",
        headers={**shared.who.bank1, **key()},
        json={"receipt_id": shared.deal.goods.receipt["id"], "quantity": quantity},
    )
    refused(shared, resp, status, code, before)
