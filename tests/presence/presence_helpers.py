"""A pledged loan whose bay is watched by a tag reader and whose warehouse has an exit gate."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.ingest.acl import ReaderAccount
from services.ingest.movement import BatchMovementCheck
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import IngestWorker, WorkerConfig
from tests.api.conftest import Service
from tests.api.story_steps import (
    Deal,
    Parties,
    expect,
    key,
    parties,
    price,
    product,
    receive,
    site,
)
from tests.ingest.conftest import BrokerUnderTest, connect_reader, register

# Reader accounts of the test broker (warehouse WHT) that no ingest test uses for reads.
BAY_READER = "r05"
GATE_READER = "r07"


@dataclass
class Watched:
    """An active loan on goods in a watched bay, its parties and its readers."""

    service: Service
    who: Parties
    deal: Deal
    bay_reader: ReaderAccount
    gate_reader: ReaderAccount

    @property
    def epcs(self) -> list[str]:
        """The pledged lot's tags."""
        return self.deal.goods.epcs


def watched_loan(service: Service, broker: BrokerUnderTest) -> Watched:
    """Build an active bank1 loan in warehouse WHT, then place a bay reader and a gate reader."""
    client, who = service.client, parties(service)
    bay_reader, gate_reader = broker.reader(BAY_READER), broker.reader(GATE_READER)
    where = site(client, who.wh, code=bay_reader.warehouse_code)
    stock = receive(client, who.wh, where, quantity=100)
    offer = product(client, who.bank1)
    price(client, who.bank1)
    body = {"product_id": offer["id"], "receipt_ids": [stock.receipt["id"]], "amount": "600000.00"}
    loan = expect(client.post("/loans", headers=who.sme, json=body), 201)
    expect(client.post(f"/loans/{loan['id']}/approve", headers=who.bank1), 202)
    out = expect(client.post(f"/loans/{loan['id']}/disburse", headers={**who.bank1, **key()}), 202)
    register(service.container.engine, bay_reader, gate_reader)
    place(service, who, BAY_READER, {"kind": "bay", "bay_id": where.bay["id"]})
    place(service, who, GATE_READER, {"kind": "exit_gate"})
    return Watched(service, who, Deal(stock, offer, out["loan"]), bay_reader, gate_reader)


def place(service: Service, who: Parties, reader_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The warehouse officer places a reader through the API."""
    resp = service.client.put(f"/readers/{reader_id}/placement", headers=who.wh, json=body)
    placed: dict[str, Any] = expect(resp, 200)
    return placed


def reads_of(reader_id: str, *epcs: str, seq: int = 0) -> bytes:
    """A reads message in which the reader sees each tag now."""
    now = datetime.now(UTC).isoformat()
    reads = [
        {"reader_id": reader_id, "antenna": 1, "epc": e, "rssi": -51.0, "seen_at": now, "seq": seq}
        for e in epcs
    ]
    return json.dumps({"reads": reads}).encode()


def publish(broker: BrokerUnderTest, account: ReaderAccount, *payloads: bytes) -> float:
    """Publish reads as the reader (QoS 1); returns the monotonic time the first one was sent."""
    client = connect_reader(broker, account)
    topic = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
    try:
        sent = time.monotonic()
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        return sent
    finally:
        client.disconnect()
        client.loop_stop()


@dataclass
class Ingesting:
    """A running ingest worker and its movement check."""

    worker: IngestWorker
    check: BatchMovementCheck


@contextmanager
def ingesting(broker: BrokerUnderTest, service: Service) -> Iterator[Ingesting]:
    """An ingest worker on the service's own engine, checking movement after each batch."""
    container = service.container
    config = WorkerConfig(
        broker=broker.worker,
        client_id=f"test-presence-{uuid.uuid4().hex[:10]}",
        session_expiry_s=120,
    )
    worker = IngestWorker(config, container.engine)
    check = BatchMovementCheck(container.session_factory)
    thread = threading.Thread(target=worker.run, kwargs={"on_batch": check}, daemon=True)
    thread.start()
    try:
        assert worker.ready.wait(10), "the worker did not connect"
        yield Ingesting(worker, check)
    finally:
        worker.stop()
        thread.join(10)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll until `condition` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def movement_alerts(service: Service, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The unauthorised-movement alerts one organisation sees."""
    resp = service.client.get("/alerts", headers=headers, params={"type": "unauthorised_movement"})
    items: list[dict[str, Any]] = expect(resp, 200)["items"]
    return items


def checked_after(ingest: Ingesting, publish_reads: Callable[[], object]) -> None:
    """Publish, then wait until the worker has stored those reads and run the movement check."""
    before = ingest.worker.stats.messages
    runs = ingest.check.runs
    publish_reads()
    wait_for(lambda: ingest.worker.stats.messages > before and ingest.check.runs > runs)
