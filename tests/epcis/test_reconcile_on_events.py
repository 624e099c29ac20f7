"""Reconciliation follows events: each bay that had one is counted once it has settled.

The clock is injected: tag reads, presence and the request queue are judged at chosen moments,
so the tests show what the service does 10 s and 80 s after a release without waiting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pledge.reconcile import reconcile_bay
from pledge.reconcile_jobs import RequestRun, process_reconcile_requests, reconcile_every_warehouse
from pledge.reconcile_requests import DEFAULT_SETTLE, reconcile_requests, request_reconcile
from pledge.reconcile_service import InMemoryCounts, Sensors, bay_counts
from services.bootstrap import SENSORS_KEY, build_container
from services.ingest.batching import Batch
from services.ingest.placement import ReaderPlacementRow
from services.ingest.readers import register_reader
from services.ingest.sensors import TagReadPresence
from services.ingest.topics import Channel, topic_for
from services.ingest.writer import write_batch
from services.uow import SqlUnitOfWork
from tests.api.conftest import Service, problem_of
from tests.api.story_steps import COIL, Goods, Parties, epcs, expect, goods, key, parties
from tests.epcis.test_capture_and_query import capture, document, event
from tests.epcis.test_reconciliation_api import mismatch_events, reconcile

STOCK = 10
READER = "rd-settle"


@dataclass
class Bay:
    """A lot of tagged coils in a bay watched by one reader, and a clock the test moves."""

    service: Service
    who: Parties
    stock: Goods
    start: datetime
    camera: InMemoryCounts

    @property
    def bay_id(self) -> str:
        """The watched bay."""
        return str(self.stock.site.bay["id"])

    def at(self, seconds: float) -> datetime:
        """A moment relative to the start of the test."""
        return self.start + timedelta(seconds=seconds)

    def reader_sees(self, seconds: float, tags: list[str]) -> None:
        """The bay's reader reads these tags at that moment, through the ingest writer."""
        moment = self.at(seconds)
        code = self.stock.site.warehouse["code"]
        reads = [
            {"reader_id": READER, "antenna": 1, "epc": e, "seen_at": moment.isoformat(), "seq": i}
            for i, e in enumerate(tags)
        ]
        batch = Batch()
        topic = topic_for(code, READER, Channel.READS)
        batch.add(topic, json.dumps({"reads": reads}).encode(), moment, {READER: code})
        assert not batch.dead_letters, batch.dead_letters
        write_batch(self.service.container.engine, batch)

    def sensors(self, seconds: float) -> Sensors:
        """Tag presence judged at that moment, and the cameras' counts."""
        clock: Callable[[], datetime] = lambda: self.at(seconds)  # noqa: E731
        return Sensors(TagReadPresence(self.service.container.session_factory, clock), self.camera)

    def process(self, seconds: float) -> RequestRun:
        """The frequent job's pass at that moment."""
        container = self.service.container
        ctx = replace(container.context(), now=self.at(seconds))
        return process_reconcile_requests(
            container.session_factory, ctx, self.sensors(seconds), {}, DEFAULT_SETTLE
        )

    def frozen(self) -> bool:
        """Whether releases from the bay are frozen."""
        resp = self.service.client.get(f"/bays/{self.bay_id}/freeze", headers=self.who.wh)
        return bool(expect(resp, 200)["frozen"])

    def release(self, *tags: str) -> Any:
        """The warehouse releases these coils of the lot."""
        body = {"quantity": str(len(tags)), "epcs": list(tags)}
        return self.service.client.post(
            f"/lots/{self.stock.lot['id']}/releases", headers={**self.who.wh, **key()}, json=body
        )


def watched_bay(service: Service) -> Bay:
    """Receive ten tagged coils into a fresh bay watched by a reader and a camera that see all."""
    who = parties(service)
    stock = goods(service.client, who, quantity=STOCK)
    start = datetime.now(UTC)
    with service.container.session_factory() as session:
        register_reader(session, stock.site.warehouse["code"], READER)
        session.add(
            ReaderPlacementRow(
                reader_id=READER,
                warehouse_id=stock.site.warehouse["id"],
                bay_id=stock.site.bay["id"],
                kind="bay",
                updated_at=start,
            )
        )
        session.commit()
    camera = InMemoryCounts({(stock.site.bay["id"], COIL): Decimal(STOCK)})
    bay = Bay(service, who, stock, start, camera)
    bay.reader_sees(0, stock.epcs)
    return bay


def request_row(service: Service, bay_id: str) -> Any:
    with service.container.engine.connect() as conn:
        return conn.execute(
            select(reconcile_requests).where(reconcile_requests.c.bay_id == bay_id)
        ).one()


def pending(service: Service, bay_id: str) -> bool:
    with service.container.engine.connect() as conn:
        row = conn.execute(
            select(reconcile_requests.c.pending).where(reconcile_requests.c.bay_id == bay_id)
        ).scalar_one_or_none()
    return bool(row)


def test_a_release_does_not_freeze_its_bay_while_the_departed_tags_settle(
    service: Service,
) -> None:
    bay = watched_bay(service)
    leaving, staying = bay.stock.epcs[-1], bay.stock.epcs[:-1]
    expect(bay.release(leaving), 202)

    # Ten seconds on, the released coil is booked out but still on its way past the camera:
    # counting now would name the camera and freeze the bay. The request waits instead.
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        counts = bay_counts(uow, bay.stock.site.warehouse["id"], bay.sensors(10))
    [hasty] = [reconcile_bay(c) for c in counts]
    assert [s.source.value for s in hasty.mismatched] == ["camera"]
    early = bay.process(10)
    # The receipt and the release each asked; both wait in the bay's one request.
    assert early.queued == 2 and early.bays == []
    assert pending(service, bay.bay_id)
    # The 5-minute run landing in that moment leaves the settling bay alone as well.
    service.container.extras[SENSORS_KEY] = bay.sensors(10)
    ctx = replace(service.container.context(), now=bay.at(10))
    assert reconcile_every_warehouse(service.container, ctx) == 0
    # So does a person asking for a reconciliation now: told, but nothing frozen.
    [asked] = reconcile(service, bay.who.wh, bay.stock)
    assert asked["mismatch"] is True and asked["settling"] is True
    assert not bay.frozen()

    bay.camera.set(bay.bay_id, COIL, STOCK - 1)
    bay.reader_sees(40, staying)
    settled = bay.process(80)
    assert settled.bays == [bay.bay_id]
    [verdict] = settled.verdicts
    assert not verdict.mismatched
    assert {s.source.value: s.count for s in verdict.sources if s.count is not None} == {
        "pledged": Decimal(0),
        "book": Decimal(STOCK - 1),
        "tags": Decimal(STOCK - 1),
        "camera": Decimal(STOCK - 1),
    }
    assert not bay.frozen() and not pending(service, bay.bay_id)
    assert mismatch_events(service, bay.who.wh) == []


def test_a_release_that_takes_more_than_ordered_freezes_the_bay_once_settled(
    service: Service,
) -> None:
    bay = watched_bay(service)
    released, taken_too = bay.stock.epcs[-1], bay.stock.epcs[-2]
    expect(bay.release(released), 202)
    bay.process(10)
    bay.reader_sees(40, bay.stock.epcs[:-2])
    bay.camera.set(bay.bay_id, COIL, STOCK - 2)
    assert not bay.frozen()

    # Caught at 80 s, the first pass after settling, not at the next 5-minute reconciliation.
    run = bay.process(80)
    assert run.mismatched == {bay.bay_id}
    assert bay.frozen()
    [event] = mismatch_events(service, bay.who.wh)
    sources = {s["source"]: s for s in event["pw:findings"][0]["sources"]}
    assert sources["tags"]["count"] == sources["camera"]["count"] == str(STOCK - 2)
    assert sources["book"]["status"] == "mismatch"
    refused = bay.release(taken_too)
    assert problem_of(refused)["code"] == "bay_frozen"
    # The freeze's own stock-taking event does not ask for yet another run.
    assert bay.process(200).bays == []


def test_a_camera_count_change_is_reconciled_after_its_settle_time(service: Service) -> None:
    bay = watched_bay(service)
    bay.reader_sees(60, bay.stock.epcs)
    assert not bay.process(80).mismatched  # the receipt's own request: all counts agree
    bay.reader_sees(100, bay.stock.epcs)
    bay.camera.set(bay.bay_id, COIL, STOCK - 3)
    with SqlUnitOfWork.start(service.container.session_factory) as uow:
        assert request_reconcile(uow, bay.bay_id, "camera:count", bay.at(115), now=bay.at(100))
        # A second change before the first settled merges into the same request, later.
        later = bay.at(120)
        assert request_reconcile(uow, bay.bay_id, "camera:count-again", later, now=bay.at(101))
        uow.commit()

    assert bay.process(116).bays == []
    run = bay.process(121)
    assert run.mismatched == {bay.bay_id}
    [verdict] = run.verdicts
    assert [s.source.value for s in verdict.mismatched] == ["camera"]
    assert bay.frozen()


def test_requests_outlive_a_restart_and_unknown_bays_are_not_queued(
    sqlite_service: Service,
) -> None:
    bay = watched_bay(sqlite_service)
    bay.reader_sees(60, bay.stock.epcs)
    bay.camera.set(bay.bay_id, COIL, STOCK + 2)
    with SqlUnitOfWork.start(sqlite_service.container.session_factory) as uow:
        assert request_reconcile(uow, bay.bay_id, "camera:count", bay.at(20))
        assert not request_reconcile(uow, "no-such-bay", "camera:count", bay.at(20))
        uow.commit()

    # A new process on the same database: a fresh engine, nothing carried in memory.
    again = build_container(sqlite_service.container.settings)
    try:
        ctx = replace(again.context(), now=bay.at(80))
        sensors = Sensors(TagReadPresence(again.session_factory, lambda: bay.at(80)), bay.camera)
        run = process_reconcile_requests(again.session_factory, ctx, sensors, {}, DEFAULT_SETTLE)
    finally:
        again.close()
    assert run.mismatched == {bay.bay_id}
    assert bay.frozen()


def test_an_epcis_event_captured_in_a_bay_asks_for_that_bay_only(sqlite_service: Service) -> None:
    bay = watched_bay(sqlite_service)
    elsewhere = goods(sqlite_service.client, bay.who, quantity=1).site.bay["id"]
    bay.process(1)
    moment = bay.at(0).isoformat()
    body = document(event(moment, "storing", epcs(1), bay.bay_id))
    expect(capture(sqlite_service, bay.who.wh, body), 201)

    bay.process(5)

    asked = request_row(sqlite_service, bay.bay_id)
    assert asked.pending and asked.reasons == ["epcis:receiving", "epcis:storing"]
    assert request_row(sqlite_service, elsewhere).reasons == ["epcis:receiving"]
