"""The warehouse the load runs in, built through the API before any fault.

Warehouse WHT (the code the reader accounts belong to) has a bay for the loan traffic, and the
bays of the synth camera's view: the first of those holds a pledged "watch" lot whose tags pass
the exit gate during the load, is read by the bay reader, and is where the bank asks for live
checks. Each loan of the traffic gets its own lot and application up front, so the load itself
only does ledger-bound steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.ingest.acl import ReaderAccount
from services.ingest.readers import register_reader
from tests.api.story_steps import COIL, PRICE, TERMS, epcs
from tests.faults.backends import wait_until
from tests.faults.camera import SynthCamera
from tests.faults.client import Api
from tests.faults.load import LoanPlan

WAREHOUSE_CODE = "WHT"
BAY_READER = "r04"
GATE_READER = "r06"
LOAN_UNITS = 10
LOAN_AMOUNT = "50000.00"
WATCH_UNITS = 60


@dataclass
class Parties:
    """Signed-in API sessions of the story's parties."""

    wh: Api
    bank: Api
    sme: Api

    def close(self) -> None:
        """Close every session."""
        for api in (self.wh, self.bank, self.sme):
            api.close()


@dataclass
class World:
    """What the load needs to know about the warehouse."""

    warehouse_id: str
    load_bay_id: str
    watch_bay_id: str
    watch_lot_id: str
    watch_epcs: list[str]
    product_id: str
    plans: list[LoanPlan]


def sign_in(base_url: str) -> Parties:
    """Sign the warehouse operator, the bank officer and the SME clerk in."""
    return Parties(
        wh=Api(base_url, "warehouse.operator"),
        bank=Api(base_url, "bank1.officer"),
        sme=Api(base_url, "acme.clerk"),
    )


def register_readers(engine: Engine, *accounts: ReaderAccount) -> None:
    """Make the readers known to the ingest worker, under warehouse WHT."""
    with Session(engine) as session:
        for account in accounts:
            register_reader(session, account.warehouse_code, account.reader_id)
        session.commit()


def _receive(who: Parties, bay_id: str, units: int) -> dict[str, Any]:
    body = {
        "bay_id": bay_id,
        "commodity_code": COIL,
        "quantity": str(units),
        "epcs": epcs(units),
        "depositor_org_id": "acme",
    }
    out: dict[str, Any] = who.wh.call("POST", "/lots", 202, json=body)
    receipt_url = f"/receipts/{out['receipt']['id']}"

    def issued() -> bool:
        # The outbox process pumps too: it may be the one whose listener confirms the receipt,
        # a moment after the API answered.
        out["receipt"] = who.wh.call("GET", receipt_url, 200)
        assert out["receipt"]["status"] in ("pending", "issued"), out
        return bool(out["receipt"]["status"] == "issued")

    wait_until(issued, 30, f"receipt {out['receipt']['id']} to be issued")
    return out


def _apply(who: Parties, product_id: str, receipt_id: str, amount: str) -> dict[str, Any]:
    body = {"product_id": product_id, "receipt_ids": [receipt_id], "amount": amount}
    return who.sme.call("POST", "/loans", 201, json=body)  # type: ignore[no-any-return]


def build_world(who: Parties, camera: SynthCamera, loans: int) -> World:
    """Register the site, the camera and the readers' places; prepare lots and applications."""
    wh = who.wh
    warehouse = wh.call(
        "POST", "/warehouses", 201, json={"code": WAREHOUSE_CODE, "name": "Fault-test shed"}
    )
    base = f"/warehouses/{warehouse['id']}"
    load_bay = wh.call("POST", f"{base}/bays", 201, json={"code": "LOAD", "name": "Load bay"})
    watched = [
        wh.call(
            "POST",
            f"{base}/bays",
            201,
            json={"code": name, "name": name, "polygons": {camera.camera_id: polygon}},
        )
        for name, polygon in sorted(camera.bays.items())
    ]
    body = {"code": COIL, "name": "Steel coil", "unit": "pcs", "step": "1"}
    wh.call("POST", "/commodities", 201, json=body)
    camera_body = {"camera_id": camera.camera_id, "name": "Synth camera", "url": camera.url}
    wh.call("POST", f"{base}/cameras", 201, json=camera_body)
    watch_bay = watched[0]
    wh.call(
        "PUT",
        f"/readers/{BAY_READER}/placement",
        200,
        json={"kind": "bay", "bay_id": watch_bay["id"]},
    )
    wh.call("PUT", f"/readers/{GATE_READER}/placement", 200, json={"kind": "exit_gate"})

    product = who.bank.call("POST", "/products", 201, json={"name": "Fault line", **TERMS})
    body = {"commodity_code": COIL, "currency": "USD", "price": PRICE}
    who.bank.call("POST", "/prices", 201, json=body)

    watch = _receive(who, watch_bay["id"], WATCH_UNITS)
    watch_loan = _apply(who, product["id"], watch["receipt"]["id"], "100000.00")
    approved = who.bank.call("POST", f"/loans/{watch_loan['id']}/approve", 202)
    assert approved["loan"]["status"] == "pledged", approved

    plans = []
    for _ in range(loans):
        lot = _receive(who, load_bay["id"], LOAN_UNITS)
        loan = _apply(who, product["id"], lot["receipt"]["id"], LOAN_AMOUNT)
        plans.append(LoanPlan(loan["id"], lot["lot"]["id"], lot["receipt"]["id"]))
    return World(
        warehouse_id=warehouse["id"],
        load_bay_id=load_bay["id"],
        watch_bay_id=watch_bay["id"],
        watch_lot_id=watch["lot"]["id"],
        watch_epcs=list(watch["lot"]["epcs"]),
        product_id=product["id"],
        plans=plans,
    )
