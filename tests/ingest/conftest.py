"""Broker fixtures for the ingest tests: the real Mosquitto started by scripts/test-services.sh.

PLEDGEWATCH_TEST_MQTT_URL carries the worker account (set by `make test` from .cache/mqtt/url);
reader accounts come from the spec the script generated the broker's ACLs from
(PLEDGEWATCH_TEST_MQTT_READERS, default .cache/mqtt/readers.csv). Without a broker the tests are
skipped locally and fail in CI, like the PostgreSQL ones.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.db import make_engine
from services.ingest.acl import ReaderAccount, read_spec
from services.ingest.mqtturl import BrokerAddress, parse_mqtt_url
from services.ingest.readers import register_reader
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import IngestWorker, WorkerConfig
from services.schema import load_metadata
from tests.service_gate import service_missing

MQTT_URL_ENV = "PLEDGEWATCH_TEST_MQTT_URL"
READERS_ENV = "PLEDGEWATCH_TEST_MQTT_READERS"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BrokerUnderTest:
    """The test broker: the worker's address and the reader accounts it knows."""

    worker: BrokerAddress
    readers: dict[str, ReaderAccount]

    def reader(self, reader_id: str) -> ReaderAccount:
        """One reader account by id."""
        return self.readers[reader_id]


def connect_reader(
    broker: BrokerUnderTest,
    account: ReaderAccount,
    *,
    will: bool = False,
    password: str | None = None,
) -> mqtt.Client:
    """A connected MQTT v5 client of `account`, its network loop running; raises if refused."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{account.reader_id}-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(account.reader_id, password or account.password)
    client.max_inflight_messages_set(100)
    if will:
        status = topic_for(account.warehouse_code, account.reader_id, Channel.STATUS)
        client.will_set(status, b"offline", qos=1, retain=True)
    outcome: dict[str, object] = {}
    connected = threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        outcome["reason"] = reason
        connected.set()

    client.on_connect = on_connect
    client.connect(broker.worker.host, broker.worker.port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        client.loop_stop()
        raise TimeoutError("no CONNACK from the broker")
    reason = outcome["reason"]
    if getattr(reason, "is_failure", True):
        client.loop_stop()
        client.disconnect()
        raise ConnectionRefusedError(str(reason))
    return client


@pytest.fixture(scope="session")
def mqtt_broker() -> BrokerUnderTest:
    """The running test Mosquitto; skip locally (fail in CI) when there is none."""
    url = os.environ.get(MQTT_URL_ENV, "").strip()
    if not url:
        service_missing(
            "Mosquitto", f"{MQTT_URL_ENV} is not set: run `make test` (or scripts/test-services.sh)"
        )
    spec = Path(os.environ.get(READERS_ENV, "") or REPO / ".cache" / "mqtt" / "readers.csv")
    if not spec.is_file():
        pytest.fail(f"no reader spec at {spec}: run scripts/test-services.sh", pytrace=False)
    broker = BrokerUnderTest(parse_mqtt_url(url), {a.reader_id: a for a in read_spec(spec)})
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    probe.username_pw_set(broker.worker.username, broker.worker.password)
    try:
        probe.connect(broker.worker.host, broker.worker.port)
        probe.disconnect()
    except OSError as exc:
        pytest.fail(f"cannot reach Mosquitto at {broker.worker.url()}: {exc}", pytrace=False)
    return broker


@pytest.fixture
def ingest_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database (SQLite or PostgreSQL) holding every table."""
    engine = make_engine(database_url)
    load_metadata().create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def register(engine: Engine, *accounts: ReaderAccount) -> None:
    """Register readers in the database, so the worker accepts them."""
    with Session(engine) as session:
        for account in accounts:
            register_reader(session, account.warehouse_code, account.reader_id)
        session.commit()


@contextmanager
def running_worker(
    broker: BrokerUnderTest, engine: Engine, **overrides: object
) -> Iterator[IngestWorker]:
    """An ingest worker on its own thread and its own short-lived session; stopped afterwards."""
    config = WorkerConfig(
        broker=broker.worker,
        client_id=f"test-ingest-{uuid.uuid4().hex[:10]}",
        session_expiry_s=120,
        **overrides,  # type: ignore[arg-type]
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


def clear_retained_status(broker: BrokerUnderTest, *accounts: ReaderAccount) -> None:
    """Remove retained birth/death messages so later tests start from a clean broker."""
    for account in accounts:
        client = connect_reader(broker, account)
        topic = topic_for(account.warehouse_code, account.reader_id, Channel.STATUS)
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
