"""Goods a camera sees leaving a pledged bay: an alert with evidence, unless an order covers it."""

from __future__ import annotations

import hashlib
from typing import Any

from pledge.anchoring import digest_of
from tests.api.story_steps import expect, parties
from tests.cameras.camera_world import alerts_of, change_body, release_order, watched_deal


def _post(service: Any, device: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = expect(
        service.client.post("/vision/events", headers=device, json=body), 201
    )
    return out


def test_an_uncovered_removal_alerts_the_bank_and_warehouse_with_signed_anchored_evidence(
    service: Any,
) -> None:
    who = parties(service)
    world = watched_deal(service, who)

    out = _post(service, world.device, change_body(world, before=4, gone=1))

    assert out["covered"] is False
    [bank_alert] = alerts_of(service, who.bank1, "unauthorised_movement")
    [wh_alert] = alerts_of(service, who.wh, "unauthorised_movement")
    assert bank_alert["subject"]["bay_id"] == wh_alert["subject"]["bay_id"] == world.bay_id
    assert bank_alert["subject"]["lot_id"] == world.goods.lot["id"]
    kinds = {e["kind"]: e for e in bank_alert["evidence"]}
    assert set(kinds) == {"snapshot", "clip"}
    snapshot = service.client.get(kinds["snapshot"]["uri"], headers=who.bank1)
    clip = service.client.get(kinds["clip"]["uri"], headers=who.bank1)
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert snapshot.content[:2] == b"\xff\xd8"
    assert hashlib.sha256(snapshot.content).hexdigest() == kinds["snapshot"]["sha256"]
    assert hashlib.sha256(clip.content).hexdigest() == kinds["clip"]["sha256"]
    assert clip.content[4:8] == b"ftyp"  # an MP4 container
    record = expect(service.client.get(f"/evidence/{out['evidence_id']}", headers=who.bank1), 200)
    assert record["anchor_status"] == "confirmed"
    assert record["bay_id"] == world.bay_id and record["kind"] == "bay_change"
    ledger = service.container.ledger
    anchored = ledger.evaluate("get_anchor", {"hash": record["sha256"]}, "Bank1MSP")
    assert anchored["anchor_id"] == out["evidence_id"] and anchored["kind"] == "evidence"
    # The EPCIS event of the removal carries the evidence and is anchored too.
    events = expect(
        service.client.get("/epcis/events", headers=who.wh, params={"EQ_bizStep": "departing"}),
        200,
    )["items"]
    [event] = [e for e in events if e.get("pw:evidenceId") == out["evidence_id"]]
    assert event["pw:evidenceSha256"] == record["sha256"]
    assert event["pw:delta"] == -1 and event["pw:identities"] == ["aruco:7"]
    epcis_anchor = ledger.evaluate(
        "get_anchor", {"hash": digest_of(event["pw:eventHash"])}, "WarehouseMSP"
    )
    assert epcis_anchor["kind"] == "epcis"
    verdict = expect(
        service.client.post(f"/evidence/{out['evidence_id']}/verify", headers=who.bank1), 200
    )
    assert verdict["ok"], verdict


def test_a_removal_covered_by_a_release_order_raises_nothing_and_uses_the_order_once(
    sqlite_service: Any,
) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    # Four pallets hold the 100 coils: one pallet is 25 coils, exactly what the order frees.
    release_order(service, who, world, "25")

    first = _post(service, world.device, change_body(world, before=4, gone=1))

    assert first["covered"] is True
    assert alerts_of(service, who.bank1, "unauthorised_movement") == []
    assert alerts_of(service, who.wh, "unauthorised_movement") == []

    # The order is used up: a second pallet leaving is not covered by it again.
    second = _post(service, world.device, change_body(world, before=3, gone=1))

    assert second["covered"] is False
    assert len(alerts_of(service, who.bank1, "unauthorised_movement")) == 1


def test_a_release_order_smaller_than_the_removal_does_not_cover_it(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    release_order(service, who, world, "5")

    out = _post(service, world.device, change_body(world, before=4, gone=1))

    assert out["covered"] is False
    assert len(alerts_of(service, who.bank1, "unauthorised_movement")) == 1


def test_goods_added_to_a_bay_are_recorded_without_an_alert(sqlite_service: Any) -> None:
    service = sqlite_service
    who = parties(service)
    world = watched_deal(service, who)
    body = change_body(world, before=4, gone=1)
    body.update(kind="added", delta=1, count_before=3, count_after=4)

    out = _post(service, world.device, body)

    assert out["covered"] is None and out["alert_ids"] == []
    assert out["event_hash"].startswith("ni:///sha-256;")
