"""Reconciliation through the API: each one-source discrepancy freezes its bay and alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pledge.reconcile import Tolerance
from pledge.reconcile_service import InMemoryCounts, Sensors
from services.bootstrap import SENSORS_KEY, TOLERANCES_KEY
from services.scheduler import reconcile_job
from tests.api.conftest import Service, problem_of
from tests.api.story_steps import COIL, Goods, expect, goods, key, parties

STOCK = 20


def watched(service: Service, stock: Goods, tags: int, camera: int) -> None:
    """Let the tag readers and cameras of the lot's bay report these counts."""
    bay = stock.site.bay["id"]
    service.container.extras[SENSORS_KEY] = Sensors(
        tags=InMemoryCounts({(bay, COIL): Decimal(tags)}),
        camera=InMemoryCounts({(bay, COIL): Decimal(camera)}),
    )


def reconcile(service: Service, headers: dict[str, str], stock: Goods) -> list[dict[str, Any]]:
    warehouse = stock.site.warehouse["id"]
    out = expect(service.client.post(f"/warehouses/{warehouse}/reconcile", headers=headers), 200)
    verdicts: list[dict[str, Any]] = out["verdicts"]
    return verdicts


def release_one(service: Service, headers: dict[str, str], stock: Goods) -> Any:
    body = {"quantity": "1", "epcs": [stock.epcs[-1]]}
    return service.client.post(
        f"/lots/{stock.lot['id']}/releases", headers={**headers, **key()}, json=body
    )


def mismatch_events(service: Service, headers: dict[str, str]) -> list[dict[str, Any]]:
    params = {"EQ_bizStep": "stock_taking", "EQ_disposition": "mismatch_quantity"}
    body = expect(service.client.get("/epcis/events", headers=headers, params=params), 200)
    items: list[dict[str, Any]] = body["items"]
    return items


@pytest.mark.parametrize(
    ("tags", "camera", "culprit"),
    [(STOCK + 4, STOCK + 4, "book"), (STOCK - 3, STOCK, "tags"), (STOCK, STOCK - 2, "camera")],
    ids=["book only", "tags only", "camera only"],
)
def test_a_one_source_discrepancy_freezes_the_bay_with_a_mismatch_event_and_an_alert(
    service: Service, tags: int, camera: int, culprit: str
) -> None:
    who = parties(service)
    stock = goods(service.client, who, quantity=STOCK)
    watched(service, stock, tags, camera)

    [verdict] = reconcile(service, who.wh, stock)
    assert verdict["mismatch"] is True
    named = [s["source"] for s in verdict["sources"] if s["status"] == "mismatch"]
    assert named == [culprit]

    [event] = mismatch_events(service, who.wh)
    assert event["action"] == "OBSERVE"
    assert event["bizLocation"] == {"id": f"urn:pledgewatch:bay:{stock.site.bay['id']}"}
    assert event["pw:findings"][0]["commodity_code"] == COIL

    bay = stock.site.bay["id"]
    freeze = expect(service.client.get(f"/bays/{bay}/freeze", headers=who.wh), 200)
    assert freeze["frozen"] is True
    assert freeze["freeze"]["event_hash"] == event["pw:eventHash"]
    assert culprit in freeze["freeze"]["reason"]

    refused = release_one(service, who.wh, stock)
    assert refused.status_code == 409
    assert problem_of(refused)["code"] == "bay_frozen"

    alerts = expect(
        service.client.get("/alerts", headers=who.wh, params={"type": "reconciliation_mismatch"}),
        200,
    )
    assert [a["subject"]["bay_id"] for a in alerts["items"]] == [bay]


def test_counts_within_tolerance_fire_nothing(service: Service) -> None:
    who = parties(service)
    stock = goods(service.client, who, quantity=STOCK)
    watched(service, stock, tags=STOCK - 1, camera=STOCK + 1)
    service.container.extras[TOLERANCES_KEY] = {COIL: Tolerance(absolute=Decimal(1))}

    [verdict] = reconcile(service, who.wh, stock)
    assert verdict["mismatch"] is False
    assert mismatch_events(service, who.wh) == []
    bay = stock.site.bay["id"]
    assert expect(service.client.get(f"/bays/{bay}/freeze", headers=who.wh), 200)["frozen"] is False
    expect(release_one(service, who.wh, stock), 202)


def test_an_unwatched_bay_is_reported_unmonitored_and_stays_open(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    stock = goods(sqlite_service.client, who, quantity=STOCK)
    [verdict] = reconcile(sqlite_service, who.wh, stock)
    by_source = {s["source"]: s["status"] for s in verdict["sources"]}
    assert by_source == {
        "pledged": "agrees",
        "book": "agrees",
        "tags": "unmonitored",
        "camera": "unmonitored",
    }
    expect(release_one(sqlite_service, who.wh, stock), 202)


def test_a_second_run_on_a_frozen_bay_neither_repeats_the_event_nor_refreezes(
    sqlite_service: Service,
) -> None:
    who = parties(sqlite_service)
    stock = goods(sqlite_service.client, who, quantity=STOCK)
    watched(sqlite_service, stock, tags=STOCK - 5, camera=STOCK)
    reconcile(sqlite_service, who.wh, stock)
    reconcile(sqlite_service, who.wh, stock)
    assert len(mismatch_events(sqlite_service, who.wh)) == 1
    assert sqlite_service.count("bay_freezes") == 1


def test_resolving_the_freeze_lets_releases_go_again(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    stock = goods(sqlite_service.client, who, quantity=STOCK)
    watched(sqlite_service, stock, tags=STOCK, camera=STOCK - 4)
    reconcile(sqlite_service, who.wh, stock)
    bay = stock.site.bay["id"]
    note = {"note": "camera view blocked by a forklift; recounted by hand"}
    resolved = expect(
        sqlite_service.client.post(f"/bays/{bay}/freeze/resolve", headers=who.wh, json=note), 200
    )
    assert resolved["frozen"] is False
    assert resolved["freeze"]["note"] == note["note"]
    expect(release_one(sqlite_service, who.wh, stock), 202)
    again = sqlite_service.client.post(f"/bays/{bay}/freeze/resolve", headers=who.wh, json=note)
    assert problem_of(again)["code"] == "bay_not_frozen"


def test_a_bank_can_neither_reconcile_a_warehouse_nor_read_its_freeze(
    sqlite_service: Service,
) -> None:
    who = parties(sqlite_service)
    stock = goods(sqlite_service.client, who, quantity=STOCK)
    warehouse, bay = stock.site.warehouse["id"], stock.site.bay["id"]
    resp = sqlite_service.client.post(f"/warehouses/{warehouse}/reconcile", headers=who.bank1)
    assert problem_of(resp)["code"] == "wrong_org_kind"
    assert sqlite_service.client.get(f"/bays/{bay}/freeze", headers=who.bank1).status_code == 403


def test_the_scheduled_job_freezes_a_mismatched_bay(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    stock = goods(sqlite_service.client, who, quantity=STOCK)
    watched(sqlite_service, stock, tags=STOCK - 2, camera=STOCK)
    assert reconcile_job(sqlite_service.container) == 1
    bay = stock.site.bay["id"]
    freeze = expect(sqlite_service.client.get(f"/bays/{bay}/freeze", headers=who.wh), 200)
    assert freeze["frozen"] is True
