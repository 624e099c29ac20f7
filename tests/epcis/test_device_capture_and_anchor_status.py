"""A reader's key captures EPCIS events for its own warehouse only; events show their anchoring."""

from __future__ import annotations

from datetime import UTC, datetime

from pledge.epcis import Action, ObjectEvent, bay_location, format_offset
from pledge.epcis_service import record_event
from services.uow import SqlUnitOfWork
from tests.api.conftest import Service, problem_of
from tests.api.story_steps import Parties, Site, epcs, expect, parties, site
from tests.epcis.test_capture_and_query import capture, document, event, events_of


def device_key(service: Service, who: Parties, bound_to: Site | None) -> dict[str, str]:
    """A reader key of the warehouse operator, bound to a warehouse unless None."""
    body = {"name": "bay reader", "purpose": "reader"}
    created = expect(service.client.post("/orgs/me/api-keys", headers=who.wh, json=body), 201)
    if bound_to is not None:
        url = f"/warehouses/{bound_to.warehouse['id']}/device-keys/{created['id']}"
        bound = expect(service.client.put(url, headers=who.wh), 200)
        assert bound["warehouse_id"] == bound_to.warehouse["id"]
    return {"X-API-Key": created["secret"]}


def test_a_bound_reader_key_captures_events_of_its_own_warehouse(service: Service) -> None:
    who = parties(service)
    own = site(service.client, who.wh)
    reader = device_key(service, who, own)
    tags = epcs(2)
    body = document(event("2026-03-01T10:00:00+02:00", "storing", tags, own.bay["id"]))

    out = expect(capture(service, reader, body), 201)

    assert out["captured"] == 1
    [stored] = events_of(service, who.wh, MATCH_epc=tags[0])
    assert stored["pw:eventHash"] == out["eventHashes"][0]
    # Captured again by the device: the same event, stored once.
    again = expect(capture(service, reader, body), 201)
    assert again["duplicates"] == out["eventHashes"]


def test_a_reader_key_is_refused_for_another_warehouse_and_when_unbound(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    who = parties(service)
    own, other = site(service.client, who.wh), site(service.client, who.wh)
    reader = device_key(service, who, own)
    before = service.count("epcis_events")
    mixed = document(
        event("2026-03-01T10:00:00+02:00", "storing", epcs(1), own.bay["id"]),
        event("2026-03-01T10:05:00+02:00", "storing", epcs(1), other.bay["id"]),
    )

    refused = capture(service, reader, mixed)

    assert refused.status_code == 403
    problem = problem_of(refused)
    assert problem["code"] == "device_wrong_warehouse"
    assert other.bay["id"] in problem["detail"]
    unbound = capture(service, device_key(service, who, None), mixed)
    assert problem_of(unbound)["code"] == "device_not_bound"
    assert service.count("epcis_events") == before
    # A key of another organisation cannot be bound to this warehouse.
    body = {"name": "acme camera", "purpose": "camera"}
    foreign = expect(service.client.post("/orgs/me/api-keys", headers=who.sme, json=body), 201)
    url = f"/warehouses/{own.warehouse['id']}/device-keys/{foreign['id']}"
    assert problem_of(service.client.put(url, headers=who.wh))["code"] == "api_key_not_found"


def test_a_device_still_gets_the_schema_error_of_a_bad_document(sqlite_service: Service) -> None:
    who = parties(sqlite_service)
    own = site(sqlite_service.client, who.wh)
    reader = device_key(sqlite_service, who, own)
    bad = document(event("yesterday", "storing", epcs(1), own.bay["id"]))
    problem = problem_of(capture(sqlite_service, reader, bad))
    assert problem["code"] == "epcis_schema_invalid"
    assert "eventTime" in problem["detail"]


def test_each_event_shows_whether_its_hash_is_anchored_on_the_ledger(service: Service) -> None:
    who = parties(service)
    where = site(service.client, who.wh)
    tags = epcs(1)
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    observed = ObjectEvent(
        event_time=at,
        event_time_zone_offset=format_offset(at),
        action=Action.OBSERVE,
        biz_step="storing",
        epc_list=tuple(tags),
        biz_location=bay_location(where.bay["id"]),
    )
    # Recorded without running the ledger pump: its anchoring is queued, not yet on the ledger.
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        warehouse = uow.warehouses.get(where.warehouse["id"])
        assert warehouse is not None
        record_event(uow, warehouse.org_id, warehouse.id, observed, datetime.now(UTC))
        uow.commit()

    [queued] = events_of(service, who.wh, MATCH_epc=tags[0])
    assert queued["pw:anchor"]["status"] == "pending"
    tx_id = queued["pw:anchor"]["txId"]
    assert len(tx_id) == 64

    service.container.pump()
    [anchored] = events_of(service, who.wh, MATCH_epc=tags[0])
    assert anchored["pw:anchor"]["status"] == "confirmed"
    assert anchored["pw:anchor"]["txId"] == tx_id
    assert anchored["pw:anchor"]["blockNumber"] is not None
    assert anchored["pw:anchor"]["reason"] is None
