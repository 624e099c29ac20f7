"""A 100,000-read burst through Mosquitto into PostgreSQL survives a kill -9 of the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, text

from services.ingest.topics import SUBSCRIBE_ALL, Channel, topic_for
from tests.ingest.conftest import BrokerUnderTest, connect_reader, register
from tests.ingest.readfactory import reads_payload

READERS = ("r05", "r07")
READS_PER_MESSAGE = 500
MESSAGES_PER_READER = 100  # 2 readers x 100 messages x 500 reads = 100,000 reads
TOTAL = len(READERS) * MESSAGES_PER_READER * READS_PER_MESSAGE
SESSION_EXPIRY_S = 300


def _worker_session(broker: BrokerUnderTest, client_id: str, *, clean: bool) -> None:
    """Create (subscribed) or delete the worker's persistent session on the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(broker.worker.username, broker.worker.password)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0 if clean else SESSION_EXPIRY_S
    client.connect(broker.worker.host, broker.worker.port, clean_start=clean, properties=props)
    client.loop_start()
    if not clean:
        # The broker handles packets in order: the subscription exists before the DISCONNECT.
        result, _mid = client.subscribe(SUBSCRIBE_ALL, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def worker_client_id(mqtt_broker: BrokerUnderTest) -> Iterator[str]:
    """A fixed client id whose session exists before the worker first starts."""
    client_id = f"test-crash-{uuid.uuid4().hex[:10]}"
    _worker_session(mqtt_broker, client_id, clean=False)
    yield client_id
    _worker_session(mqtt_broker, client_id, clean=True)


def _start_worker(
    broker: BrokerUnderTest, database_url: str, client_id: str, log: Path
) -> subprocess.Popen[bytes]:
    """The worker as its own process, exactly as deployed (python -m services.ingest)."""
    worker_url = broker.worker
    url = f"mqtt://{worker_url.username}:{worker_url.password}@{worker_url.host}:{worker_url.port}"
    command = [
        sys.executable,
        "-m",
        "services.ingest",
        "--mqtt-url",
        url,
        "--db-url",
        database_url,
        "--client-id",
        client_id,
        "--session-expiry",
        str(SESSION_EXPIRY_S),
    ]
    with log.open("ab") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=os.environ)


def _counts(engine: Engine) -> tuple[int, int, int]:
    """(rows, distinct dedup keys, distinct reader+seq) of the stored reads."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT dedup_key), count(DISTINCT (reader_id, seq)) "
                "FROM tag_reads"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _publish(broker: BrokerUnderTest, messages: range) -> None:
    """Publish messages number `messages` of every reader with QoS 1, waiting for every PUBACK."""
    for reader_id in READERS:
        account = broker.reader(reader_id)
        topic = topic_for(account.warehouse_code, reader_id, Channel.READS)
        client = connect_reader(broker, account)
        infos = [
            client.publish(
                topic, reads_payload(reader_id, n * READS_PER_MESSAGE, READS_PER_MESSAGE), qos=1
            )
            for n in messages
        ]
        for info in infos:
            info.wait_for_publish(30)
        client.disconnect()
        client.loop_stop()


def _wait_rows(engine: Engine, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        rows = _counts(engine)[0]
        if rows >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_burst_of_100000_reads_survives_a_kill_9_with_none_lost_and_none_double_counted(
    mqtt_broker: BrokerUnderTest,
    ingest_engine: Engine,
    database_url: str,
    worker_client_id: str,
    tmp_path: Path,
) -> None:
    register(ingest_engine, *(mqtt_broker.reader(r) for r in READERS))
    log = tmp_path / "worker.log"
    half = MESSAGES_PER_READER // 2
    worker = _start_worker(mqtt_broker, database_url, worker_client_id, log)
    try:
        _publish(mqtt_broker, range(half))
        stored_at_kill = _wait_rows(ingest_engine, TOTAL // 5, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        assert 0 < stored_at_kill < TOTAL, log.read_text()
        # The second half arrives while no worker runs: the broker keeps it in the session.
        _publish(mqtt_broker, range(half, MESSAGES_PER_READER))
        worker = _start_worker(mqtt_broker, database_url, worker_client_id, log)
        assert _wait_rows(ingest_engine, TOTAL, timeout=40) >= TOTAL, log.read_text()
        # Redeliveries still in flight would show up now as extra rows: give them a moment.
        time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    rows, distinct_keys, distinct_reads = _counts(ingest_engine)
    assert (rows, distinct_keys, distinct_reads) == (TOTAL, TOTAL, TOTAL)
