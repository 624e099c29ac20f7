"""The ingest worker in MQTT 3.1.1 mode against the embedded amqtt broker that `run` starts."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.ingest.acl import ReaderAccount
from services.ingest.broker import EmbeddedBroker
from services.ingest.tables import DeadLetter, TagReadRow
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import IngestWorker, MqttProtocol, WorkerConfig
from tests.ingest.conftest import register
from tests.ingest.readfactory import reads_payload
from tests.ingest.test_mqtt_ingest import count_reads, wait_for

READER = ReaderAccount("WH-EMB", "emb01", "unused")
TOPIC = topic_for(READER.warehouse_code, READER.reader_id, Channel.READS)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts_connections(port: int) -> bool:
    """Whether something listens on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """An embedded broker on a free port, stopped afterwards."""
    with EmbeddedBroker(free_port()) as running:
        yield running


@contextmanager
def v311_worker(broker: EmbeddedBroker, engine: Engine, client_id: str) -> Iterator[IngestWorker]:
    """An ingest worker speaking MQTT 3.1.1 on its own thread; stopped afterwards."""
    config = WorkerConfig(
        broker=broker.worker_address, client_id=client_id, protocol=MqttProtocol.V311
    )
    worker = IngestWorker(config, engine)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert worker.ready.wait(10), "the worker did not connect"
        yield worker
    finally:
        worker.stop()
        thread.join(10)
        assert not thread.is_alive()


def publish(broker: EmbeddedBroker, *payloads: bytes) -> None:
    """Publish payloads with QoS 1 on the reader's topic as an anonymous 3.1.1 client."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    client.connect(broker.address.host, broker.address.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(TOPIC, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def dead_letter_reasons(engine: Engine) -> list[str]:
    """Reasons of the dead letters that came in on the reader's topics."""
    with Session(engine) as session:
        query = select(DeadLetter.reason).where(DeadLetter.topic == TOPIC).order_by(DeadLetter.id)
        return list(session.scalars(query))


def test_a_v311_worker_stores_qos1_reads_from_the_embedded_broker_once_and_dead_letters_junk(
    broker: EmbeddedBroker, ingest_engine: Engine
) -> None:
    register(ingest_engine, READER)
    batches = [reads_payload("emb01", first, 20) for first in range(0, 100, 20)]
    with v311_worker(broker, ingest_engine, f"emb-{uuid.uuid4().hex[:8]}") as worker:
        publish(broker, *batches, *batches, b"{not json", reads_payload("emb01", 5_000, 1))
        wait_for(lambda: count_reads(ingest_engine, "emb01") >= 101)
        wait_for(lambda: worker.stats.dead_letters >= 1)
        assert worker.stats.write_errors == 0
    with Session(ingest_engine) as session:
        seqs = session.scalars(select(TagReadRow.seq).where(TagReadRow.reader_id == "emb01"))
        assert sorted(seqs) == [*range(100), 5_000]
    assert dead_letter_reasons(ingest_engine) == ["malformed_json"]


def test_reads_published_while_the_v311_worker_is_away_arrive_when_it_comes_back(
    broker: EmbeddedBroker, ingest_engine: Engine
) -> None:
    register(ingest_engine, READER)
    client_id = f"emb-{uuid.uuid4().hex[:8]}"
    with v311_worker(broker, ingest_engine, client_id):
        # A stored read proves the subscription is in place before the worker leaves.
        publish(broker, reads_payload("emb01", 1_000, 1))
        wait_for(lambda: count_reads(ingest_engine, "emb01") == 1)
    # clean_session=False: the broker queues QoS 1 messages for the absent worker's session.
    publish(broker, reads_payload("emb01", 0, 30))
    with v311_worker(broker, ingest_engine, client_id):
        wait_for(lambda: count_reads(ingest_engine, "emb01") == 31)


def test_the_embedded_broker_stops_cleanly_and_frees_its_port() -> None:
    port = free_port()
    broker = EmbeddedBroker(port)
    broker.start()
    assert broker.running
    assert accepts_connections(port)
    broker.stop()
    assert not broker.running
    assert not accepts_connections(port)
    # The port is really released: a new broker can take it at once.
    with EmbeddedBroker(port) as again:
        assert accepts_connections(again.port)
