"""The story of the design, played through the HTTP API by each party in turn."""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.seed import DEMO_PASSWORD

COILS = 100
PRICE = "12000"
DROPPED_PRICE = "9500"


class StepFailed(Exception):
    """The server did not answer as the story expects."""


@dataclass
class Party:
    """One signed-in user and their bearer token."""

    client: httpx.Client
    token: str

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        """Send a request as this party and insist on the expected status."""
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        resp = self.client.request(method, path, headers=headers, **kwargs)
        if resp.status_code != expect:
            raise StepFailed(
                f"{method} {path}: expected {expect}, got {resp.status_code}: {resp.text[:400]}"
            )
        return resp.json() if resp.content else None


@dataclass
class Story:
    """What the demo showed, for the summary."""

    console: Console
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    step_no: int = 0

    def step(self, text: str) -> None:
        """Announce a step."""
        self.step_no += 1
        self.console.print(f"[bold cyan]{self.step_no:>2}.[/bold cyan] {text}")

    def note(self, text: str) -> None:
        """Print a detail of the current step."""
        self.console.print(f"     {text}")

    def check(self, claim: str, ok: bool, evidence: str) -> None:
        """Record a claim the story must demonstrate."""
        self.checks.append((claim, ok, evidence))
        mark = "[green]✓[/green]" if ok else "[red]✗[/red]"
        self.console.print(f"     {mark} {claim}: {evidence}")


def login(client: httpx.Client, username: str) -> Party:
    """Sign in with the demo password."""
    resp = client.post("/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    if resp.status_code != 200:
        raise StepFailed(f"login of {username} failed: {resp.status_code} {resp.text[:200]}")
    return Party(client, resp.json()["access_token"])


def key() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": uuid.uuid4().hex}


def money(value: Any) -> str:
    """Show an amount with thousands separators and cents."""
    return f"{Decimal(str(value)):,.2f}"


def play(client: httpx.Client, console: Console) -> Story:
    """Play the story; raises StepFailed when the server answers otherwise."""
    story = Story(console)
    run = secrets.token_hex(3).upper()
    wh = login(client, "warehouse.operator")
    bank1 = login(client, "bank1.officer")
    bank2 = login(client, "bank2.officer")
    sme = login(client, "acme.clerk")
    auditor = login(client, "auditor")

    story.step("The warehouse registers a warehouse, a bay and the steel-coil commodity")
    warehouse = wh.call(
        "POST",
        "/warehouses",
        201,
        json={"code": f"NP-{run}", "name": f"Northport shed {run}", "address": "Quay 4, Northport"},
    )
    bay = wh.call(
        "POST",
        f"/warehouses/{warehouse['id']}/bays",
        201,
        json={
            "code": "A1",
            "name": "Bay A1",
            "polygons": {"cam-1": [[0.1, 0.2], [0.6, 0.2], [0.6, 0.9], [0.1, 0.9]]},
        },
    )
    existing = {c["code"] for c in wh.call("GET", "/commodities", 200)}
    if "STEEL-COIL" not in existing:
        wh.call(
            "POST",
            "/commodities",
            201,
            json={
                "code": "STEEL-COIL",
                "name": "Hot-rolled steel coil",
                "unit": "pcs",
                "step": "1",
            },
        )
    story.note(f"warehouse {warehouse['code']}, bay {bay['code']}")

    story.step(f"{COILS} tagged coils arrive for Acme; the receipt is issued on the ledger")
    epcs = [secrets.token_hex(12).upper() for _ in range(COILS)]
    received = wh.call(
        "POST",
        "/lots",
        202,
        json={
            "bay_id": bay["id"],
            "commodity_code": "STEEL-COIL",
            "quantity": str(COILS),
            "epcs": epcs,
            "depositor_org_id": "acme",
        },
    )
    receipt = received["receipt"]
    story.note(
        f"receipt {receipt['number']}: {receipt['status']}, "
        f"ledger command {received['commands'][0]['status']}"
    )
    story.check(
        "receipt issued on the ledger",
        receipt["status"] == "issued",
        f"{len(receipt['lien_keys'])} lien keys, one per tagged coil",
    )

    story.step("Both banks publish a product and a price for steel coils")
    terms = {
        "currency": "USD",
        "annual_rate": "0.085",
        "day_count": "ACT/360",
        "haircuts": {"STEEL-COIL": "0.20"},
        "max_ltv": "0.70",
        "margin_call_ltv": "0.80",
        "liquidation_ltv": "0.90",
        "fee_rate": "0.005",
    }
    product1 = bank1.call("POST", "/products", 201, json={"name": "Coil pledge 90d", **terms})
    product2 = bank2.call("POST", "/products", 201, json={"name": "Metals line", **terms})
    for bank in (bank1, bank2):
        bank.call(
            "POST",
            "/prices",
            201,
            json={"commodity_code": "STEEL-COIL", "currency": "USD", "price": PRICE},
        )
    story.note(f"8.5 % ACT/360, haircut 20 %, max LTV 0.70, margin call 0.80; {PRICE} USD/coil")

    story.step("Acme asks Bank 1 for 750,000 USD: above max LTV, approval is refused")
    greedy = sme.call(
        "POST",
        "/loans",
        201,
        json={"product_id": product1["id"], "receipt_ids": [receipt["id"]], "amount": "750000.00"},
    )
    valuation = bank1.call("GET", f"/loans/{greedy['id']}/valuation", 200)
    refused = bank1.call("POST", f"/loans/{greedy['id']}/approve", 409)
    story.check(
        "approval refused above max LTV",
        refused["code"] == "ltv_above_max",
        f"collateral {money(valuation['collateral'])} USD, LTV {valuation['ltv']}",
    )
    bank1.call(
        "POST",
        f"/loans/{greedy['id']}/reject",
        200,
        json={"reasons": ["LTV above 0.70; apply for at most 672,000 USD"]},
    )

    story.step("Acme asks for 600,000 USD; Bank 1 approves and the pledge is registered")
    loan = sme.call(
        "POST",
        "/loans",
        201,
        json={"product_id": product1["id"], "receipt_ids": [receipt["id"]], "amount": "600000.00"},
    )
    approved = bank1.call("POST", f"/loans/{loan['id']}/approve", 202)
    story.check(
        "pledge registered with bank and warehouse endorsing",
        approved["loan"]["status"] == "pledged",
        f"loan {approved['loan']['status']}, LTV {approved['loan']['ltv']}",
    )

    story.step("Acme offers the same receipt to Bank 2; the ledger rejects the second pledge")
    double = sme.call(
        "POST",
        "/loans",
        201,
        json={"product_id": product2["id"], "receipt_ids": [receipt["id"]], "amount": "300000.00"},
    )
    second = bank2.call("POST", f"/loans/{double['id']}/approve", 202)
    command = second["commands"][0]
    story.check(
        "Bank 2's pledge of the pledged receipt rejected by the ledger",
        command["status"] == "rejected" and second["loan"]["status"] == "rejected",
        f"{command['reason_code']}: {command['reason']}",
    )

    story.step("Qingdao: the same coils are booked again in another shed under a new receipt")
    shed = wh.call(
        "POST",
        "/warehouses",
        201,
        json={"code": f"NP-{run}-B", "name": f"Northport annex {run}", "address": "Quay 5"},
    )
    annex = wh.call(
        "POST", f"/warehouses/{shed['id']}/bays", 201, json={"code": "B1", "name": "Bay B1"}
    )
    duplicate = wh.call(
        "POST",
        "/lots",
        202,
        json={
            "bay_id": annex["id"],
            "commodity_code": "STEEL-COIL",
            "quantity": str(COILS),
            "epcs": epcs,
            "depositor_org_id": "acme",
        },
    )["receipt"]
    story.note(f"duplicate receipt {duplicate['number']} is {duplicate['status']}")
    forged = sme.call(
        "POST",
        "/loans",
        201,
        json={
            "product_id": product2["id"],
            "receipt_ids": [duplicate["id"]],
            "amount": "300000.00",
        },
    )
    third = bank2.call("POST", f"/loans/{forged['id']}/approve", 202)
    command = third["commands"][0]
    story.check(
        "Bank 2's pledge on a duplicate receipt rejected by the ledger",
        command["status"] == "rejected" and command["reason_code"] == "LIEN_EXISTS",
        f"{command['reason_code']}: {command['reason']}",
    )

    story.step("Bank 1 disburses (Idempotency-Key: a replay pays nothing twice)")
    idem = key()
    paid = bank1.call("POST", f"/loans/{loan['id']}/disburse", 202, headers=idem)
    again = bank1.call("POST", f"/loans/{loan['id']}/disburse", 202, headers=idem)
    story.check(
        "disbursement happens once",
        again == paid,
        f"principal {money(paid['loan']['principal'])}, fee "
        f"{money(paid['loan']['fees'])} USD, status {paid['loan']['status']}",
    )

    story.step("The warehouse tries to ship 10 coils without a release order")
    lot_id = received["lot"]["id"]
    blocked = wh.call(
        "POST", f"/lots/{lot_id}/releases", 409, headers=key(), json={"quantity": "10"}
    )
    story.check(
        "release without a release order refused",
        blocked["code"] == "release_order_required",
        blocked["detail"],
    )

    story.step("Acme repays 300,000 USD: fees, then interest, then principal")
    repaid = sme.call(
        "POST", f"/loans/{loan['id']}/repayments", 202, headers=key(), json={"amount": "300000.00"}
    )
    rep = repaid["repayment"]
    story.note(
        f"fees {money(rep['fees'])}, interest {money(rep['interest'])}, principal "
        f"{money(rep['principal'])}; outstanding {money(repaid['loan']['outstanding'])}"
    )
    quote = repaid["release_quote"][0]
    free = int(Decimal(quote["releasable"]))
    outstanding = Decimal(str(repaid["loan"]["outstanding"]))
    unit_value = Decimal(PRICE) * Decimal("0.80")
    remaining_ok = outstanding / ((COILS - free) * unit_value) <= Decimal("0.70")
    one_more_bad = outstanding / ((COILS - free - 1) * unit_value) > Decimal("0.70")
    story.check(
        "partial repayment frees exactly the computable units",
        remaining_ok and one_more_bad,
        f"{free} coils free; {COILS - free} keep LTV ≤ 0.70, {COILS - free - 1} would not",
    )

    story.step(f"Bank 1 orders the release of {free} coils; the warehouse ships them")
    order = bank1.call(
        "POST",
        f"/loans/{loan['id']}/release-orders",
        202,
        headers=key(),
        json={"receipt_id": receipt["id"], "quantity": str(free)},
    )["order"]
    shipped = wh.call(
        "POST",
        f"/lots/{lot_id}/releases",
        202,
        headers=key(),
        json={"quantity": str(free), "release_order_id": order["id"]},
    )
    story.check(
        "movement matches the order, so no alert",
        shipped["commands"][0]["status"] in ("submitted", "confirmed"),
        f"order {order['status']} → executed, {len(shipped['movement']['epcs'])} tags out",
    )

    story.step(f"The steel price falls to {DROPPED_PRICE} USD/coil; Bank 1 revalues")
    bank1.call(
        "POST",
        "/prices",
        201,
        json={"commodity_code": "STEEL-COIL", "currency": "USD", "price": DROPPED_PRICE},
    )
    after = bank1.call("GET", f"/loans/{loan['id']}", 200)
    calls = bank1.call("GET", f"/loans/{loan['id']}/margin-calls", 200)
    story.check(
        "margin call after a price drop",
        after["status"] == "margin_call" and len(calls) == 1,
        f"LTV {after['ltv']} ≥ 0.80",
    )

    story.step("Acme repays the rest; the loan closes and the lien is lifted")
    rest = str(after["outstanding"])
    closed = sme.call(
        "POST", f"/loans/{loan['id']}/repayments", 202, headers=key(), json={"amount": rest}
    )
    final_receipt = sme.call("GET", f"/receipts/{receipt['id']}", 200)
    story.check(
        "full repayment lifts the lien",
        closed["loan"]["status"] == "closed" and final_receipt["status"] == "issued",
        f"loan {closed['loan']['status']}, receipt {final_receipt['status']} with "
        f"{final_receipt['quantity']} coils, free to pledge again",
    )

    story.step("The auditor re-checks the whole chain")
    verdict = auditor.call("GET", "/ledger/verify", 200)
    story.check("ledger verify OK", verdict["ok"], f"{verdict['blocks']} blocks verified")
    return story


@contextmanager
def in_process_client() -> Iterator[httpx.Client]:
    """A fresh embedded service (SQLite, embedded ledger) in a temporary folder."""
    with warnings.catch_warnings():
        # The test client warns about a future starlette; a newcomer need not read that.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from services.api.app import create_app
    from services.bootstrap import build_container
    from services.migrate import upgrade
    from services.seed import seed_demo
    from services.settings import Settings

    with tempfile.TemporaryDirectory(prefix="pledgewatch-demo-") as folder:
        base = Path(folder)
        settings = Settings.model_validate(
            {
                "db": {"url": f"sqlite:///{base / 'demo.db'}"},
                "ledger": {"key_dir": str(base / "keys")},
                "jobs_enabled": False,
            }
        )
        upgrade(settings.db.url)
        container = build_container(settings)
        seed_demo(container.session_factory)
        with TestClient(create_app(container)) as client:
            yield client
        container.close()


def run_demo(url: str | None, console: Console) -> bool:
    """Play the story against `url` (or in process) and print a summary; True when all held."""
    console.print(f"[bold]pledgewatch demo[/bold] against {url or 'an in-process server'}")
    try:
        if url:
            with httpx.Client(base_url=url, timeout=30) as client:
                story = play(client, console)
        else:
            os.environ.setdefault("PLEDGEWATCH_MODE", "dev")
            with in_process_client() as client:
                story = play(client, console)
    except (StepFailed, httpx.HTTPError) as exc:
        console.print(f"[red]the story stopped: {exc}[/red]")
        return False
    table = Table(title="What the story showed")
    table.add_column("claim")
    table.add_column("held")
    table.add_column("evidence")
    for claim, ok, evidence in story.checks:
        table.add_row(claim, "[green]yes[/green]" if ok else "[red]no[/red]", evidence)
    console.print(table)
    return all(ok for _, ok, _ in story.checks)
