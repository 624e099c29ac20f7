"""Authorisation matrix built from the route table: every route x every demo party x own/foreign.

A second set of organisations (bank3, the SME beta and the warehouse southport) runs a loan of
its own in the same service; none of the demo parties is party to it. Their objects must answer
403 or 404 to every demo party on every route. Writes are held to the function-level rules by
org kind, and every JSON body refuses fields a client must not set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from pledge.parties import OrgKind, Role
from tests.api.conftest import problem_of
from tests.api.story_steps import (
    COIL,
    TERMS,
    Site,
    World,
    add_org,
    expect,
    key,
    receive,
    shared_world,
    site,
)
from tests.api.test_access import PUBLIC, object_ids, write_requests

PARTIES = ("wh", "bank1", "bank2", "sme", "auditor")
KIND_OF = {
    "wh": OrgKind.WAREHOUSE,
    "bank1": OrgKind.BANK,
    "bank2": OrgKind.BANK,
    "sme": OrgKind.SME,
    "auditor": OrgKind.AUDITOR,
}
UNKNOWN_ID = "0" * 32
BANK, WAREHOUSE, SME = OrgKind.BANK, OrgKind.WAREHOUSE, OrgKind.SME

# Which organisation kinds may call each write route at all (function level). The test below
# proves the keys are exactly the application's write routes, so a new route must be added here.
WRITERS: dict[tuple[str, str], set[OrgKind]] = {
    ("POST", "/warehouses"): {WAREHOUSE},
    ("POST", "/warehouses/{warehouse_id}/bays"): {WAREHOUSE},
    # The commodity catalogue is shared: warehouses and banks both keep it.
    ("POST", "/commodities"): {WAREHOUSE, BANK},
    ("POST", "/lots"): {WAREHOUSE},
    ("POST", "/lots/{lot_id}/releases"): {WAREHOUSE},
    ("POST", "/products"): {BANK},
    ("POST", "/prices"): {BANK},
    ("POST", "/prices/import"): {BANK},
    ("POST", "/loans"): {SME},
    ("POST", "/loans/{loan_id}/approve"): {BANK},
    ("POST", "/loans/{loan_id}/reject"): {BANK},
    ("POST", "/loans/{loan_id}/disburse"): {BANK},
    ("POST", "/loans/{loan_id}/repayments"): {SME},
    ("POST", "/loans/{loan_id}/release-orders"): {BANK},
    ("POST", "/loans/{loan_id}/default"): {BANK},
    ("POST", "/loans/{loan_id}/liquidate"): {BANK},
    ("POST", "/orgs/me/users"): {BANK, WAREHOUSE, SME},
    ("POST", "/orgs/me/api-keys"): {BANK, WAREHOUSE, SME},
    ("DELETE", "/orgs/me/api-keys/{key_id}"): {BANK, WAREHOUSE, SME},
    ("POST", "/epcis/capture"): {WAREHOUSE, BANK},
    ("POST", "/warehouses/{warehouse_id}/reconcile"): {WAREHOUSE},
    ("POST", "/bays/{bay_id}/freeze/resolve"): {WAREHOUSE},
    ("POST", "/alerts/{alert_id}/acknowledge"): {BANK, WAREHOUSE, SME},
    ("POST", "/alerts/{alert_id}/resolve"): {BANK, WAREHOUSE, SME},
    ("POST", "/webhooks"): {BANK, WAREHOUSE, SME},
    ("DELETE", "/webhooks/{webhook_id}"): {BANK, WAREHOUSE, SME},
    ("PUT", "/readers/{reader_id}/placement"): {WAREHOUSE},
    ("PUT", "/warehouses/{warehouse_id}/device-keys/{key_id}"): {WAREHOUSE},
    ("POST", "/warehouses/{warehouse_id}/cameras"): {WAREHOUSE},
    ("POST", "/vision/keys"): {WAREHOUSE},
    ("POST", "/vision/events"): {WAREHOUSE},
    ("POST", "/vision/tamper"): {WAREHOUSE},
    ("POST", "/bays/{bay_id}/live-checks"): {BANK},
    ("POST", "/evidence/{evidence_id}/verify"): {BANK, WAREHOUSE, SME, OrgKind.AUDITOR},
}
# Objects another organisation publishes on purpose: (party, method, path) -> why it may read it.
PUBLISHED = {
    ("sme", "GET", "/products/{product_id}"): "banks publish product offers to every SME",
}
# Path parameters for which the foreign organisations hold no object here: the matrix sends an
# unknown id, which must answer 403 or 404 just the same (the reason is kept beside each).
WITHOUT_FOREIGN_OBJECT: dict[str, str] = {
    "alert_id": "an alert needs an unexplained movement; tests/alerts covers whose alerts show",
    "evidence_id": "evidence needs a camera event; tests/cameras covers who reads evidence",
    "reader_id": "readers announce themselves over MQTT; tests/ingest covers their owners",
}
# Fields that only the service decides; a client naming any of them in a body is refused.
SERVER_OWNED = ("id", "status", "org_id", "bank_org_id", "sme_org_id", "created_at", "created_by")


def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(mounted path, route) of every APIRoute in a route list, descending into included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def route_table(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the app's API routes, read from app.routes."""
    found = {
        (method, path)
        for path, route in walk(app.routes)
        for method in (route.methods or set()) - {"HEAD"}
        # The dashboards' form routes stay out of the document and have their own suite
        # (session cookie and CSRF token, tests/dashboards and tests/browser).
        if path not in PUBLIC and route.include_in_schema
    }
    return sorted(found)


def fill(path: str, ids: dict[str, str]) -> str:
    """A concrete URL; parameters without a known object get an unknown id."""
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), UNKNOWN_ID), path)


class Foreign:
    """Objects of organisations no demo party belongs to: bank3, beta and southport."""

    def __init__(self, world: World) -> None:
        service, client = world.service, world.client
        admin = (Role.OFFICER, Role.ADMIN)
        self.wh = add_org(service, "southport", WAREHOUSE, "SouthportMSP", "south.op", admin)
        self.bank = add_org(service, "bank3", BANK, "Bank3MSP", "bank3.officer")
        self.sme = add_org(service, "beta", SME, "BetaMSP", "beta.clerk")
        place = site(client, self.wh)
        # The goods lie in a bay a camera watches, so the lending bank may ask for a live check.
        camera = expect(
            client.post(
                f"/warehouses/{place.warehouse['id']}/cameras",
                headers=self.wh,
                json={"camera_id": "south-cam-1", "url": "rtsp://10.0.0.7/s"},
            ),
            201,
        )
        watched = expect(
            client.post(
                f"/warehouses/{place.warehouse['id']}/bays",
                headers=self.wh,
                json={"code": "W1", "polygons": {"south-cam-1": [[0, 0], [1, 0], [1, 1]]}},
            ),
            201,
        )
        place = Site(place.warehouse, watched)
        stock = receive(client, self.wh, place, quantity=20, depositor="beta")
        offer = expect(
            client.post("/products", headers=self.bank, json={"name": "B3", **TERMS}), 201
        )
        body = {"commodity_code": COIL, "currency": "USD", "price": "12000"}
        expect(client.post("/prices", headers=self.bank, json=body), 201)
        body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": "1000"}
        loan = expect(client.post("/loans", headers=self.sme, json=body), 201)
        approved = expect(client.post(f"/loans/{loan['id']}/approve", headers=self.bank), 202)
        expect(client.post(f"/loans/{loan['id']}/disburse", headers={**self.bank, **key()}), 202)
        order = expect(
            client.post(
                f"/loans/{loan['id']}/release-orders",
                headers={**self.bank, **key()},
                json={"receipt_id": stock.receipt["id"], "quantity": "1"},
            ),
            202,
        )["order"]
        hook = expect(
            client.post("/webhooks", headers=self.bank, json={"url": "https://example.com/b3"}),
            201,
        )
        api_key = expect(
            client.post(
                "/orgs/me/api-keys", headers=self.wh, json={"name": "cam", "purpose": "camera"}
            ),
            201,
        )
        check = expect(
            client.post(
                f"/bays/{watched['id']}/live-checks", headers=self.bank, json={"nonce": "s0uth"}
            ),
            202,
        )
        self.ids = {
            "loan_id": loan["id"],
            "lot_id": stock.lot["id"],
            "receipt_id": stock.receipt["id"],
            "product_id": offer["id"],
            "warehouse_id": place.warehouse["id"],
            "bay_id": place.bay["id"],
            "order_id": order["id"],
            "webhook_id": hook["id"],
            "key_id": api_key["id"],
            "camera_id": camera["id"],
            "check_id": check["id"],
            "command_id": approved["commands"][0]["id"],
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The demo parties' running loan (see tests/api/story_steps.py)."""
    yield from shared_world(tmp_path_factory)


@pytest.fixture(scope="module")
def foreign(world: World) -> Foreign:
    """The other organisations' loan, in the same service."""
    return Foreign(world)


def routes_with_objects(world: World) -> list[tuple[str, str]]:
    """Routes that name an object in their path: where object-level leaks could happen."""
    return [(m, p) for m, p in route_table(world.client.app) if "{" in p]


def test_the_route_table_comes_from_the_app_and_matches_its_openapi_document(
    world: World,
) -> None:
    routes = set(route_table(world.client.app))
    document = world.client.get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), path)
        for path, item in document.items()
        for method in item
        if path not in PUBLIC
    }
    assert documented <= routes
    assert len(routes_with_objects(world)) > 25


def test_every_object_kind_in_a_path_has_a_foreign_object_or_a_stated_reason(
    world: World, foreign: Foreign
) -> None:
    named = {
        name for _, path in routes_with_objects(world) for name in re.findall(r"\{(\w+)\}", path)
    }
    assert named - set(foreign.ids) == set(WITHOUT_FOREIGN_OBJECT)


def test_the_writers_table_covers_every_write_route(world: World) -> None:
    writes = {(m, p) for m, p in route_table(world.client.app) if m != "GET"}
    assert writes == set(WRITERS)
    assert set(WRITERS) == set(write_requests(world))


@pytest.fixture(scope="module")
def device(world: World) -> dict[str, str]:
    """The X-API-Key header of a camera of the demo warehouse."""
    body = {"name": "cam", "purpose": "camera"}
    created = expect(world.client.post("/orgs/me/api-keys", headers=world.who.wh, json=body), 201)
    return {"X-API-Key": created["secret"]}


@pytest.mark.parametrize("party", [*PARTIES, "device"])
def test_no_party_reaches_another_organisations_objects_on_any_route(
    world: World, foreign: Foreign, device: dict[str, str], party: str
) -> None:
    headers = device if party == "device" else getattr(world.who, party)
    requests = write_requests(world)
    tables = ("loans", "lots", "receipts", "release_orders", "repayments", "ledger_commands")
    before = world.count(*tables)
    leaks = {}
    for method, path in routes_with_objects(world):
        request = dict(requests.get((method, path), {}))
        extra = request.pop("headers", {})
        resp = world.client.request(
            method, fill(path, foreign.ids), headers={**headers, **key(), **extra}, **request
        )
        if (party, method, path) in PUBLISHED:
            assert resp.status_code == 200, resp.text
        elif resp.status_code not in (403, 404):
            leaks[f"{method} {path}"] = f"{resp.status_code}: {resp.text[:200]}"
        else:
            problem_of(resp)
    assert leaks == {}
    assert world.count(*tables) == before


@pytest.mark.parametrize("party", PARTIES)
def test_own_objects_answer_without_server_errors_and_show_no_foreign_data(
    world: World, foreign: Foreign, party: str
) -> None:
    headers = getattr(world.who, party)
    theirs = set(foreign.ids.values())
    wrong = {}
    for method, path in routes_with_objects(world):
        if method != "GET" or path.endswith((".jpg", ".mp4")) or path.endswith("/stream"):
            continue
        resp = world.client.get(fill(path, object_ids(world)), headers=headers)
        if resp.status_code >= 500:
            wrong[path] = resp.status_code
        elif resp.status_code == 200 and any(t in resp.text for t in theirs):
            wrong[path] = "foreign id in the answer"
    assert wrong == {}


def test_the_foreign_objects_are_real_to_their_own_parties(world: World, foreign: Foreign) -> None:
    # Without this, a 404 in the matrix could mean the object never existed.
    ids, client = foreign.ids, world.client
    reads = [
        (foreign.bank, f"/loans/{ids['loan_id']}"),
        (foreign.sme, f"/loans/{ids['loan_id']}"),
        (foreign.wh, f"/lots/{ids['lot_id']}"),
        (foreign.bank, f"/release-orders/{ids['order_id']}"),
        (foreign.wh, f"/warehouses/{ids['warehouse_id']}"),
        (foreign.bank, f"/live-checks/{ids['check_id']}"),
        (foreign.bank, f"/commands/{ids['command_id']}"),
    ]
    for headers, url in reads:
        assert client.get(url, headers=headers).status_code == 200, url


def test_the_parties_of_a_loan_read_it_and_others_do_not(world: World) -> None:
    url = f"/loans/{world.deal.loan['id']}"
    answers = {p: world.client.get(url, headers=getattr(world.who, p)).status_code for p in PARTIES}
    assert answers == {"bank1": 200, "sme": 200, "bank2": 404, "wh": 404, "auditor": 404}


@pytest.mark.parametrize("party", PARTIES)
def test_each_write_route_refuses_organisation_kinds_that_may_not_call_it(
    world: World, party: str
) -> None:
    kind = KIND_OF[party]
    headers = getattr(world.who, party)
    tables = ("warehouses", "lots", "loans", "loan_products", "prices", "repayments", "users")
    before = world.count(*tables, "release_orders", "ledger_commands")
    wrong = {}
    for (method, path), request in write_requests(world).items():
        if kind in WRITERS[(method, path)]:
            continue
        extra = request.pop("headers", {})
        resp = world.client.request(
            method,
            fill(path, object_ids(world)),
            headers={**headers, **key(), **extra},
            **request,
        )
        if resp.status_code != 403:
            wrong[f"{method} {path}"] = f"{resp.status_code}: {resp.text[:200]}"
        else:
            assert problem_of(resp)["code"] in {"wrong_org_kind", "missing_role"}
    assert wrong == {}
    assert world.count(*tables, "release_orders", "ledger_commands") == before


# An EPCIS document is GS1's shape, where extension fields are part of the standard; the
# EPCIS suite (tests/epcis) covers what a capture may and may not change.
NOT_OUR_SHAPE = {("POST", "/epcis/capture")}


def json_bodies(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """Write routes whose well-formed request is a JSON object of one of our schemas."""
    return [
        (method, path, request["json"])
        for (method, path), request in write_requests(world).items()
        if isinstance(request.get("json"), dict) and (method, path) not in NOT_OUR_SHAPE
    ]


def test_every_json_request_body_in_the_document_refuses_unknown_fields(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    open_bodies = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref is None:
                continue
            schema = schemas[ref.rsplit("/", 1)[-1]]
            if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
                open_bodies.append(f"{method.upper()} {path}")
    assert open_bodies == []


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_a_client_setting_a_server_owned_field_is_refused_by_every_write_route(
    world: World, field: str
) -> None:
    writer = {WAREHOUSE: world.who.wh, BANK: world.who.bank1, SME: world.who.sme}
    tables = ("warehouses", "lots", "loans", "loan_products", "prices", "repayments", "users")
    tables += ("release_orders", "ledger_commands", "webhook_subscriptions")
    before = world.count(*tables)
    wrong = {}
    for method, path, body in json_bodies(world):
        if field in body:
            continue
        allowed = WRITERS[(method, path)] - {OrgKind.AUDITOR}
        headers = writer[sorted(allowed, key=str)[0]]
        resp = world.client.request(
            method,
            fill(path, object_ids(world)),
            headers={**headers, **key()},
            json={**body, field: "forged"},
        )
        if resp.status_code != 422:
            wrong[f"{method} {path}"] = f"{resp.status_code}: {resp.text[:200]}"
        else:
            assert problem_of(resp)["code"] == "validation_error"
            # The refusal names the forged field, so it is not some other fault of the body.
            assert field in resp.text, (method, path, resp.text)
    assert wrong == {}
    assert (
        world.count(*tables, "release_orders", "ledger_commands", "webhook_subscriptions") == before
    )
