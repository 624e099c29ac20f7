"""Steps of the story, played through the API, to build the state a test starts from."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dashboards.views import router as dashboard_router
from loans.api import router as loans_router
from pledge.api import router as pledge_router
from pledge.parties import OrgKind, Role
from services.api.routers import alerts, auth, cameras, epcis, evidence, ledger, orgs, readers
from services.identity import service as identity
from services.seed import DEMO_PASSWORD
from tests.api.conftest import make_service

COIL = "STEEL-COIL"
CATHODE = "COPPER-CATHODE"
CATHODE_STEP = "0.5"
PRICE = "12000"
TERMS: dict[str, Any] = {
    "currency": "USD",
    "annual_rate": "0.085",
    "day_count": "ACT/360",
    "haircuts": {COIL: "0.20"},
    "max_ltv": "0.70",
    "margin_call_ltv": "0.80",
    "liquidation_ltv": "0.90",
    "fee_rate": "0.005",
}

# The routers create_app mounts; the OpenAPI test proves the list is complete.
ROUTERS = (
    auth.router,
    orgs.router,
    pledge_router,
    loans_router,
    ledger.router,
    alerts.router,
    epcis.router,
    readers.router,
    cameras.router,
    evidence.router,
    dashboard_router,
)


def route_table(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, HEAD aside: its own routes and its routers'."""
    routes = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    found = set()
    for route in routes:
        # Included routers appear in app.routes as opaque entries without methods.
        methods = getattr(route, "methods", None) or set()
        found.update((method, route.path) for method in methods - {"HEAD"})
    return sorted(found)


def key() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def expect(resp: Any, status: int) -> Any:
    """The JSON body of a response that must have the given status."""
    assert resp.status_code == status, f"{resp.status_code}: {resp.text}"
    return resp.json()


@dataclass
class Parties:
    """Auth headers of every demo user."""

    wh: dict[str, str]
    bank1: dict[str, str]
    bank2: dict[str, str]
    sme: dict[str, str]
    auditor: dict[str, str]


def parties(service: Any) -> Parties:
    """Sign in every demo user."""
    return Parties(
        wh=service.login("warehouse.operator"),
        bank1=service.login("bank1.officer"),
        bank2=service.login("bank2.officer"),
        sme=service.login("acme.clerk"),
        auditor=service.login("auditor"),
    )


def add_org(
    service: Any,
    org_id: str,
    kind: OrgKind,
    msp_id: str,
    username: str,
    roles: tuple[Role, ...] = (Role.OFFICER,),
) -> dict[str, str]:
    """Register an organisation with one user, tell the ledger, and sign the user in."""
    with service.container.session_factory() as session:
        identity.create_org(session, org_id, org_id.title(), kind, msp_id)
        identity.create_user(session, org_id, username, DEMO_PASSWORD, list(roles))
        session.commit()
    service.container.connect_ledger()
    return service.login(username)


def add_user(service: Any, org_id: str, username: str, roles: tuple[Role, ...]) -> dict[str, str]:
    """Add a user with the given roles to an existing organisation and sign them in."""
    with service.container.session_factory() as session:
        identity.create_user(session, org_id, username, DEMO_PASSWORD, list(roles))
        session.commit()
    return service.login(username)


@dataclass
class Site:
    """A warehouse with one bay, and the commodities defined in the catalogue."""

    warehouse: dict[str, Any]
    bay: dict[str, Any]


def site(client: Any, wh: dict[str, str], code: str | None = None) -> Site:
    """Register a warehouse and a bay, and make sure both test commodities exist."""
    code = code or f"WH-{secrets.token_hex(3).upper()}"
    warehouse = expect(
        client.post("/warehouses", headers=wh, json={"code": code, "name": f"Shed {code}"}), 201
    )
    bay = expect(
        client.post(
            f"/warehouses/{warehouse['id']}/bays", headers=wh, json={"code": "A1", "name": "A1"}
        ),
        201,
    )
    known = {c["code"] for c in expect(client.get("/commodities", headers=wh), 200)}
    for commodity, unit, step in ((COIL, "pcs", "1"), (CATHODE, "t", CATHODE_STEP)):
        if commodity not in known:
            body = {"code": commodity, "name": commodity.title(), "unit": unit, "step": step}
            expect(client.post("/commodities", headers=wh, json=body), 201)
    return Site(warehouse, bay)


def epcs(count: int) -> list[str]:
    """Fresh 96-bit EPCs as 24 hex digits."""
    return [secrets.token_hex(12).upper() for _ in range(count)]


@dataclass
class Goods:
    """A received lot, its receipt and its tags."""

    site: Site
    lot: dict[str, Any]
    receipt: dict[str, Any]
    epcs: list[str]


def receive(
    client: Any,
    wh: dict[str, str],
    where: Site,
    quantity: int = 100,
    depositor: str = "acme",
) -> Goods:
    """Receive tagged steel coils for a depositor; the receipt is issued on the ledger."""
    tags = epcs(quantity)
    body = {
        "bay_id": where.bay["id"],
        "commodity_code": COIL,
        "quantity": str(quantity),
        "epcs": tags,
        "depositor_org_id": depositor,
    }
    out = expect(client.post("/lots", headers=wh, json=body), 202)
    assert out["receipt"]["status"] == "issued", out
    return Goods(where, out["lot"], out["receipt"], tags)


def goods(client: Any, who: Parties, quantity: int = 100, depositor: str = "acme") -> Goods:
    """A fresh site with one received lot of steel coils."""
    return receive(client, who.wh, site(client, who.wh), quantity, depositor)


def product(client: Any, bank: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Publish a product on the standard terms with some overridden."""
    body = {"name": "Coil pledge 90d", **TERMS, **overrides}
    return expect(client.post("/products", headers=bank, json=body), 201)


def price(client: Any, bank: dict[str, str], value: str = PRICE) -> dict[str, Any]:
    """Record a USD price per steel coil in the bank's feed."""
    body = {"commodity_code": COIL, "currency": "USD", "price": value}
    return expect(client.post("/prices", headers=bank, json=body), 201)


@dataclass
class Deal:
    """A loan with everything behind it."""

    goods: Goods
    product: dict[str, Any]
    loan: dict[str, Any]


def applied_loan(client: Any, who: Parties, amount: str = "600000.00", quantity: int = 100) -> Deal:
    """Goods, a bank1 product and price, and acme's application against the receipt."""
    stock = goods(client, who, quantity)
    offer = product(client, who.bank1)
    price(client, who.bank1)
    body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": amount}
    loan = expect(client.post("/loans", headers=who.sme, json=body), 201)
    return Deal(stock, offer, loan)


def pledged_loan(client: Any, who: Parties, amount: str = "600000.00") -> Deal:
    """An application that bank1 approved and the ledger pledged."""
    deal = applied_loan(client, who, amount)
    out = expect(client.post(f"/loans/{deal.loan['id']}/approve", headers=who.bank1), 202)
    assert out["loan"]["status"] == "pledged", out
    deal.loan = out["loan"]
    return deal


def active_loan(client: Any, who: Parties, amount: str = "600000.00") -> Deal:
    """A pledged loan that bank1 has paid out."""
    deal = pledged_loan(client, who, amount)
    out = expect(
        client.post(f"/loans/{deal.loan['id']}/disburse", headers={**who.bank1, **key()}), 202
    )
    assert out["loan"]["status"] == "active", out
    deal.loan = out["loan"]
    return deal


def repaid_in_part(client: Any, who: Parties, amount: str = "300000.00") -> tuple[Deal, Any]:
    """An active loan after a partial repayment; returns the deal and the releasable quantity."""
    deal = active_loan(client, who)
    out = expect(
        client.post(
            f"/loans/{deal.loan['id']}/repayments",
            headers={**who.sme, **key()},
            json={"amount": amount},
        ),
        202,
    )
    deal.loan = out["loan"]
    return deal, out["release_quote"][0]["releasable"]


def release_order(client: Any, who: Parties, deal: Deal, quantity: str) -> dict[str, Any]:
    """Bank1 orders the release of some freed coils; the ledger records the order."""
    body = {"receipt_id": deal.goods.receipt["id"], "quantity": quantity}
    out = expect(
        client.post(
            f"/loans/{deal.loan['id']}/release-orders", headers={**who.bank1, **key()}, json=body
        ),
        202,
    )
    assert out["order"]["status"] == "open", out
    return out["order"]


def counts(service: Any, *tables: str) -> dict[str, int]:
    """Row counts of some tables, to compare before and after a refused request."""
    return {table: service.count(table) for table in tables}


@dataclass
class World:
    """One service with every party signed in and a loan running, shared by a module's tests."""

    service: Any
    who: Parties
    site: Site
    free_goods: Goods
    deal: Deal
    order: dict[str, Any]

    @property
    def client(self) -> Any:
        """The service's test client."""
        return self.service.client

    def count(self, *tables: str) -> dict[str, int]:
        """Row counts of some tables."""
        return counts(self.service, *tables)


def world(service: Any) -> World:
    """Build the shared state: an active loan with an open release order, and a free lot."""
    who = parties(service)
    deal = active_loan(service.client, who)
    # 600,000 against 100 coils leaves a margin below max LTV, so one coil is free to go.
    order = release_order(service.client, who, deal, "1")
    free = receive(service.client, who.wh, deal.goods.site, quantity=10)
    return World(service, who, deal.goods.site, free, deal, order)


def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A SQLite service with the shared state, for a module whose tests refuse or only add."""
    folder = tmp_path_factory.mktemp("shared")
    services = make_service(f"sqlite:///{folder / 'pledgewatch.sqlite3'}", folder)
    try:
        yield world(next(services))
    finally:
        # Closing the generator runs make_service's clean-up: client, hasher and container.
        services.close()
