"""Pledged tags leaving without a release order, through real Mosquitto and the database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from pledge.epcis import EpcisRecord
from services.ingest.movement import check_movements
from tests.api.conftest import Service
from tests.api.story_steps import expect, receive, release_order
from tests.ingest.conftest import BrokerUnderTest
from tests.presence.presence_helpers import (
    checked_after,
    ingesting,
    movement_alerts,
    publish,
    reads_of,
    wait_for,
    watched_loan,
)


def departures(service: Service) -> list[EpcisRecord]:
    """The EPCIS departure events recorded so far."""
    with service.container.session_factory() as session:
        rows = session.scalars(
            select(EpcisRecord).where(EpcisRecord.biz_step == "urn:epcglobal:cbv:bizstep:departing")
        )
        return list(rows)


def test_a_pledged_tag_at_the_exit_gate_alerts_the_bank_and_the_warehouse_with_evidence(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    epc = w.epcs[0]
    with ingesting(mqtt_broker, service):
        publish(mqtt_broker, w.bay_reader, reads_of(w.bay_reader.reader_id, epc))
        publish(mqtt_broker, w.gate_reader, reads_of(w.gate_reader.reader_id, epc))
        wait_for(lambda: len(movement_alerts(service, w.who.bank1)) == 1)
    [to_bank] = movement_alerts(service, w.who.bank1)
    [to_warehouse] = movement_alerts(service, w.who.wh)
    assert movement_alerts(service, w.who.bank2) == []
    lot = w.deal.goods.lot
    assert to_bank["subject"] == {
        "warehouse_id": lot["warehouse_id"],
        "bay_id": lot["bay_id"],
        "lot_id": lot["id"],
        "epcs": epc,
    }
    assert to_bank["severity"] == "critical"
    assert to_warehouse["subject"] == to_bank["subject"]

    [event] = departures(service)
    [proof] = to_bank["evidence"]
    assert proof["kind"] == "tag_reads"
    assert proof["uri"] == event.event_hash
    reads = event.document["pw:reads"]
    assert [(r["reader_id"], r["epc"]) for r in reads] == [("r05", epc), ("r07", epc)]
    canonical = json.dumps(reads, sort_keys=True, separators=(",", ":")).encode()
    assert proof["sha256"] == hashlib.sha256(canonical).hexdigest()
    assert (event.action, event.disposition) == ("OBSERVE", "urn:epcglobal:cbv:disp:in_transit")
    assert event.document["pw:unauthorised"] is True
    assert event.epcs == [epc]


def test_a_burst_of_repeated_gate_reads_raises_one_alert(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    epc = w.epcs[1]
    gate = w.gate_reader.reader_id
    with ingesting(mqtt_broker, service) as ingest:
        burst = [reads_of(gate, epc, seq=n) for n in range(30)]
        checked_after(ingest, lambda: publish(mqtt_broker, w.gate_reader, *burst))
        wait_for(lambda: ingest.worker.stats.messages >= 30 and ingest.check.runs >= 1)
        # A later sweep of the scheduled check sees the same departure and stays quiet.
        assert check_movements(service.container.session_factory, datetime.now(UTC)) == []
    [alert] = movement_alerts(service, w.who.bank1)
    assert alert["occurrences"] == 1
    assert len(departures(service)) == 1


def test_the_same_tag_leaving_under_an_open_release_order_raises_nothing(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    order = release_order(service.client, w.who, w.deal, "1")
    [released] = order["epcs"]
    with ingesting(mqtt_broker, service) as ingest:
        payload = reads_of(w.gate_reader.reader_id, released)
        checked_after(ingest, lambda: publish(mqtt_broker, w.gate_reader, payload))
    assert movement_alerts(service, w.who.bank1) == []
    assert departures(service) == []


def test_an_unpledged_tag_leaving_raises_nothing(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    free = receive(service.client, w.who.wh, w.deal.goods.site, quantity=5)
    with ingesting(mqtt_broker, service) as ingest:
        payload = reads_of(w.gate_reader.reader_id, *free.epcs)
        checked_after(ingest, lambda: publish(mqtt_broker, w.gate_reader, payload))
    assert movement_alerts(service, w.who.bank1) == []
    assert movement_alerts(service, w.who.wh) == []


def test_a_pledged_tag_silent_past_the_read_window_is_found_by_the_scheduled_check(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    epc = w.epcs[2]
    with ingesting(mqtt_broker, service) as ingest:
        payload = reads_of(w.bay_reader.reader_id, epc)
        checked_after(ingest, lambda: publish(mqtt_broker, w.bay_reader, payload))
    sessions = service.container.session_factory
    assert check_movements(sessions, datetime.now(UTC)) == []
    later = datetime.now(UTC) + timedelta(seconds=61)
    alerts = check_movements(sessions, later)
    assert sorted(a.org_id for a in alerts) == ["bank1", "northport"]
    assert "silent past the read window" in alerts[0].detail


def test_readers_list_shows_placement_and_status_to_the_warehouse_only(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    with ingesting(mqtt_broker, service) as ingest:
        payload = reads_of(w.bay_reader.reader_id, w.epcs[0])
        checked_after(ingest, lambda: publish(mqtt_broker, w.bay_reader, payload))
    listed = expect(service.client.get("/readers", headers=w.who.wh), 200)
    shown = {r["reader_id"]: (r["online"], r["kind"], r["bay_id"]) for r in listed}
    assert shown == {
        "r05": (True, "bay", w.deal.goods.lot["bay_id"]),
        "r07": (False, "exit_gate", None),
    }
    assert service.client.get("/readers", headers=w.who.bank1).status_code == 403
    assert service.client.get("/readers", headers=w.who.auditor).status_code == 403


def test_a_reader_cannot_be_placed_on_another_warehouses_bay_or_by_a_bank(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    w = watched_loan(service, mqtt_broker)
    client = service.client
    other = expect(
        client.post("/warehouses", headers=w.who.wh, json={"code": "WH-OTHER", "name": "Other"}),
        201,
    )
    bay = expect(
        client.post(f"/warehouses/{other['id']}/bays", headers=w.who.wh, json={"code": "Z9"}), 201
    )
    body = {"kind": "bay", "bay_id": bay["id"]}
    resp = client.put("/readers/r05/placement", headers=w.who.wh, json=body)
    assert (resp.status_code, resp.json()["code"]) == (404, "bay_not_found")
    resp = client.put("/readers/r05/placement", headers=w.who.bank1, json=body)
    assert resp.status_code == 403
    resp = client.put("/readers/nobody/placement", headers=w.who.wh, json={"kind": "exit_gate"})
    assert (resp.status_code, resp.json()["code"]) == (404, "reader_not_found")
