"""EPCIS event hashes are anchored on the ledger once per event, by the right organisation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from pledge.anchoring import anchor_event, digest_of
from pledge.epcis import EpcisRecord
from services.ledger.tables import LedgerCommand
from services.uow import SqlUnitOfWork
from tests.api.conftest import Service
from tests.api.story_steps import epcs, expect, goods, parties, site
from tests.epcis.test_capture_and_query import capture, document, event, events_of


def anchor_on_ledger(service: Service, event_hash: str) -> dict[str, Any]:
    """The ledger's anchor record of an event hash, read through the ledger port."""
    ledger = service.container.ledger
    assert ledger is not None
    anchored: dict[str, Any] = ledger.evaluate(
        "get_anchor", {"hash": digest_of(event_hash)}, "WarehouseMSP"
    )
    return anchored


def anchor_commands(service: Service) -> list[LedgerCommand]:
    """Every anchoring command the service queued, oldest first."""
    with service.container.session_factory() as session:
        query = select(LedgerCommand).where(LedgerCommand.kind == "anchor")
        return list(session.scalars(query.order_by(LedgerCommand.created_at)))


def test_receiving_a_lot_anchors_its_epcis_event_hash_on_the_ledger(service: Service) -> None:
    who = parties(service)
    stock = goods(service.client, who, quantity=2)
    [received] = events_of(service, who.wh, MATCH_epc=stock.epcs[0])
    anchored = anchor_on_ledger(service, received["pw:eventHash"])
    assert anchored["kind"] == "epcis"
    assert anchored["hash"] == received["pw:eventHash"].removeprefix("ni:///sha-256;")
    [command] = anchor_commands(service)
    assert anchored["anchor_id"] == command.subject_id
    assert anchored["msp"] == "WarehouseMSP"
    assert command.org_id == "northport" and command.status == "confirmed"


def test_a_captured_documents_events_are_each_anchored(service: Service) -> None:
    who = parties(service)
    bay = site(service.client, who.wh).bay["id"]
    body = document(
        event("2026-03-01T10:00:00+02:00", "storing", epcs(1), bay),
        event("2026-03-01T11:00:00+02:00", "stock_taking", epcs(2), bay),
    )
    out = expect(capture(service, who.wh, body), 201)
    for event_hash in out["eventHashes"]:
        assert anchor_on_ledger(service, event_hash)["kind"] == "epcis"
    assert [c.status for c in anchor_commands(service)] == ["confirmed", "confirmed"]


def test_an_event_captured_by_a_bank_without_a_bay_is_anchored_by_the_bank(
    service: Service,
) -> None:
    who = parties(service)
    loose = event("2026-03-01T10:00:00+02:00", "storing", epcs(1), "x")
    loose.pop("bizLocation")
    out = expect(capture(service, who.bank1, document(loose)), 201)
    anchored = anchor_on_ledger(service, out["eventHashes"][0])
    [command] = anchor_commands(service)
    assert anchored["msp"] == command.submitter_msp == "Bank1MSP"
    assert command.org_id == "bank1" and command.status == "confirmed"


def test_a_duplicate_capture_anchors_nothing_twice(service: Service) -> None:
    who = parties(service)
    bay = site(service.client, who.wh).bay["id"]
    body = document(event("2026-03-02T08:00:00+02:00", "storing", epcs(2), bay))
    first = expect(capture(service, who.wh, body), 201)
    again = expect(capture(service, who.wh, body), 201)
    assert again["captured"] == 0
    assert len(anchor_commands(service)) == 1
    assert anchor_on_ledger(service, first["eventHashes"][0])["anchor_id"]


def test_a_hash_already_on_the_ledger_counts_as_anchored_not_as_a_failure(
    service: Service,
) -> None:
    who = parties(service)
    bay = site(service.client, who.wh).bay["id"]
    body = document(event("2026-03-03T08:00:00+02:00", "storing", epcs(1), bay))
    expect(capture(service, who.wh, body), 201)
    # Another party's database holds the same event under its own id and anchors it again.
    with service.container.session_factory() as session:
        uow = SqlUnitOfWork(session)
        stored = session.scalars(select(EpcisRecord)).one()
        anchor_event(uow, replace(stored, id="twin-of-" + stored.id[:20]))
        session.commit()
    service.container.pump()
    first, repeat = anchor_commands(service)
    assert first.status == repeat.status == "confirmed"
    assert repeat.reason_code == "ANCHOR_EXISTS"
    assert anchor_on_ledger(service, stored.event_hash)["anchor_id"] == stored.id


def test_the_ledger_still_verifies_after_anchoring(service: Service) -> None:
    who = parties(service)
    goods(service.client, who, quantity=1)
    bay = site(service.client, who.wh).bay["id"]
    expect(
        capture(service, who.wh, document(event("2026-03-04T08:00:00Z", "storing", epcs(1), bay))),
        201,
    )
    ledger = service.container.ledger
    assert ledger is not None
    report = ledger.verify()  # type: ignore[attr-defined]
    assert report.ok, report.reason
    assert len(anchor_commands(service)) == 2
