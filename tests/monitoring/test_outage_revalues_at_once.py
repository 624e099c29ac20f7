"""A reader's outage revalues its loans the moment the ingest worker records it.

No scheduler runs in these tests: the margin call can only come from the worker's reaction to
the reader's last will or silence, not from the 30-second monitoring job.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from services.ingest.acl import ReaderAccount
from services.ingest.monitoring import RevalueOnReaderChange
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import IngestWorker, WorkerConfig
from tests.api.conftest import Service
from tests.api.story_steps import Deal, Parties, expect, key, parties, price, product, receive, site
from tests.ingest.conftest import BrokerUnderTest, clear_retained_status, connect_reader, register
from tests.ingest.test_mqtt_ingest import wait_for
from tests.monitoring.test_monitoring_haircut import NEAR_THRESHOLD
from tests.presence.presence_helpers import place

READER = "r08"


def loan_near_threshold(service: Service, who: Parties, reader: ReaderAccount) -> Deal:
    """An active loan whose LTV crosses the margin threshold once a fifth is unverified."""
    client = service.client
    where = site(client, who.wh, code=reader.warehouse_code)
    stock = receive(client, who.wh, where, quantity=100)
    offer = product(client, who.bank1)
    price(client, who.bank1)
    body = {
        "product_id": offer["id"],
        "receipt_ids": [stock.receipt["id"]],
        "amount": NEAR_THRESHOLD,
    }
    loan = expect(client.post("/loans", headers=who.sme, json=body), 201)
    expect(client.post(f"/loans/{loan['id']}/approve", headers=who.bank1), 202)
    out = expect(client.post(f"/loans/{loan['id']}/disburse", headers={**who.bank1, **key()}), 202)
    register(service.container.engine, reader)
    place(service, who, reader.reader_id, {"kind": "bay", "bay_id": where.bay["id"]})
    return Deal(stock, offer, out["loan"])


@contextmanager
def worker_reacting(
    broker: BrokerUnderTest, service: Service, **config: Any
) -> Iterator[RevalueOnReaderChange]:
    """An ingest worker on the service's database that revalues when readers change status."""
    reaction = RevalueOnReaderChange(service.container)
    worker = IngestWorker(
        WorkerConfig(
            broker=broker.worker,
            client_id=f"test-outage-{uuid.uuid4().hex[:10]}",
            session_expiry_s=60,
            **config,
        ),
        service.container.engine,
    )
    thread = threading.Thread(target=worker.run, kwargs={"on_status": reaction}, daemon=True)
    thread.start()
    try:
        assert worker.ready.wait(10), "the worker did not connect"
        yield reaction
    finally:
        worker.stop()
        thread.join(10)


def loan_status(service: Service, who: Parties, deal: Deal) -> str:
    body = expect(service.client.get(f"/loans/{deal.loan['id']}", headers=who.bank1), 200)
    return str(body["status"])


def test_a_readers_last_will_raises_the_margin_call_at_once(
    service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    who = parties(service)
    reader = mqtt_broker.reader(READER)
    deal = loan_near_threshold(service, who, reader)
    status_topic = topic_for(reader.warehouse_code, reader.reader_id, Channel.STATUS)
    try:
        with worker_reacting(mqtt_broker, service) as reaction:
            client = connect_reader(mqtt_broker, reader, will=True)
            client.publish(status_topic, b"online", qos=1, retain=True).wait_for_publish(5)
            # The birth is a status change too: the loan is revalued, fully watched, and stays.
            wait_for(lambda: reaction.runs >= 1)
            assert loan_status(service, who, deal) == "active"

            # Die without DISCONNECT: the broker publishes the will, the worker records it.
            client.loop_stop()
            sock = client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            wait_for(lambda: reaction.margin_calls > 0)
            assert loan_status(service, who, deal) == "margin_call"
            assert reaction.margin_calls == 1
    finally:
        clear_retained_status(mqtt_broker, reader)


def test_a_reader_falling_silent_raises_the_margin_call_when_the_worker_notices(
    sqlite_service: Service, mqtt_broker: BrokerUnderTest
) -> None:
    service = sqlite_service
    who = parties(service)
    reader = mqtt_broker.reader(READER)
    deal = loan_near_threshold(service, who, reader)
    status_topic = topic_for(reader.warehouse_code, reader.reader_id, Channel.STATUS)
    silence = {"heartbeat_timeout": timedelta(seconds=1), "presence_check_s": 0.2}
    try:
        with worker_reacting(mqtt_broker, service, **silence) as reaction:
            client = connect_reader(mqtt_broker, reader)
            client.publish(status_topic, b"online", qos=1, retain=True).wait_for_publish(5)
            # A clean goodbye sends no will: only the silence that follows tells it is gone.
            client.disconnect()
            client.loop_stop()
            wait_for(lambda: reaction.margin_calls > 0)
            assert loan_status(service, who, deal) == "margin_call"
            assert reaction.margin_calls == 1
    finally:
        clear_retained_status(mqtt_broker, reader)
