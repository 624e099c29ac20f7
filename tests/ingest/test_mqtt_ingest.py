"""The ingest worker against the real Mosquitto, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.ingest.payloads import MAX_PAYLOAD_BYTES
from services.ingest.readers import offline_readers
from services.ingest.tables import DeadLetter, Reader, TagReadRow
from services.ingest.topics import Channel, topic_for
from tests.ingest.conftest import (
    BrokerUnderTest,
    clear_retained_status,
    connect_reader,
    register,
    running_worker,
)
from tests.ingest.readfactory import read, reads_payload


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll until `condition` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def count_reads(engine: Engine, reader_id: str) -> int:
    """Rows stored for one reader."""
    with Session(engine) as session:
        query = select(func.count()).where(TagReadRow.reader_id == reader_id)
        return int(session.scalar(query) or 0)


def dead_letters(engine: Engine, reader_id: str) -> list[DeadLetter]:
    """Dead letters that came in on one reader's topics."""
    with Session(engine) as session:
        rows = session.scalars(
            select(DeadLetter)
            .where(DeadLetter.topic.like(f"%/{reader_id}/%"))
            .order_by(DeadLetter.id)
        )
        return list(rows)


def test_reads_published_twice_with_qos1_are_stored_once(
    mqtt_broker: BrokerUnderTest, ingest_engine: Engine
) -> None:
    reader = mqtt_broker.reader("r01")
    register(ingest_engine, reader)
    topic = topic_for(reader.warehouse_code, reader.reader_id, Channel.READS)
    with running_worker(mqtt_broker, ingest_engine) as worker:
        client = connect_reader(mqtt_broker, reader)
        messages = [reads_payload("r01", first, 50) for first in range(0, 500, 50)]
        for _ in range(2):
            for payload in messages:
                client.publish(topic, payload, qos=1).wait_for_publish(5)
        # QoS 1 keeps one topic in order: once this marker is stored, so is everything before it.
        client.publish(topic, reads_payload("r01", 10_000, 1), qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        wait_for(lambda: count_reads(ingest_engine, "r01") >= 501)
        assert worker.stats.write_errors == 0
    with Session(ingest_engine) as session:
        seqs = session.scalars(select(TagReadRow.seq).where(TagReadRow.reader_id == "r01"))
        assert sorted(seqs) == [*range(500), 10_000]


def test_bad_messages_land_in_dead_letter_with_a_reason_and_the_worker_keeps_going(
    mqtt_broker: BrokerUnderTest, ingest_engine: Engine
) -> None:
    reader = mqtt_broker.reader("r02")
    register(ingest_engine, reader)
    topic = topic_for(reader.warehouse_code, reader.reader_id, Channel.READS)
    wrong_schema = json.dumps({"reads": [{**read("r02", 1), "epc": "not-an-epc"}]}).encode()
    missing_field = json.dumps({"reads": [{"reader_id": "r02", "antenna": 1}]}).encode()
    oversized = b'{"reads": [' + b" " * MAX_PAYLOAD_BYTES + b"]}"
    foreign_reads = reads_payload("r03", 0, 3)
    bad = [b"{not json", wrong_schema, missing_field, oversized, foreign_reads]
    with running_worker(mqtt_broker, ingest_engine) as worker:
        client = connect_reader(mqtt_broker, reader)
        for payload in bad:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
        client.publish(topic, reads_payload("r02", 0, 10), qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        wait_for(lambda: count_reads(ingest_engine, "r02") == 10)
        assert worker.stats.write_errors == 0
    reasons = [(d.reason, d.payload_size) for d in dead_letters(ingest_engine, "r02")]
    assert [r for r, _ in reasons] == [
        "malformed_json",
        "wrong_schema",
        "wrong_schema",
        "oversized",
        "reader_mismatch",
    ]
    assert reasons[3][1] == len(oversized)
    letters = dead_letters(ingest_engine, "r02")
    assert letters[0].payload == b"{not json"
    assert "epc" in letters[1].detail


def test_messages_of_an_unregistered_reader_land_in_dead_letter(
    mqtt_broker: BrokerUnderTest, ingest_engine: Engine
) -> None:
    stranger = mqtt_broker.reader("r08")  # has broker credentials, but is not registered
    topic = topic_for(stranger.warehouse_code, stranger.reader_id, Channel.READS)
    with running_worker(mqtt_broker, ingest_engine):
        client = connect_reader(mqtt_broker, stranger)
        client.publish(topic, reads_payload("r08", 0, 5), qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        wait_for(lambda: len(dead_letters(ingest_engine, "r08")) == 1)
    assert dead_letters(ingest_engine, "r08")[0].reason == "unknown_reader"
    assert count_reads(ingest_engine, "r08") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reader_publishing_on_another_readers_topic_is_refused_by_the_broker(
    mqtt_broker: BrokerUnderTest, ingest_engine: Engine
) -> None:
    intruder, victim = mqtt_broker.reader("r03"), mqtt_broker.reader("r04")
    register(ingest_engine, intruder, victim)
    foreign_topic = topic_for(victim.warehouse_code, victim.reader_id, Channel.READS)
    with running_worker(mqtt_broker, ingest_engine) as worker:
        client = connect_reader(mqtt_broker, intruder)
        acks: dict[int, int] = {}
        client.on_publish = lambda _c, _u, mid, reason, _p: acks.__setitem__(mid, reason.value)
        info = client.publish(foreign_topic, reads_payload("r04", 0, 5), qos=1)
        info.wait_for_publish(5)
        wait_for(lambda: info.mid in acks)
        # Then a legitimate message, to know the worker has seen everything sent before it.
        own = topic_for(intruder.warehouse_code, intruder.reader_id, Channel.READS)
        client.publish(own, reads_payload("r03", 0, 1), qos=1).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        wait_for(lambda: count_reads(ingest_engine, "r03") == 1)
        assert worker.stats.messages >= 1
    assert acks[info.mid] == 135  # MQTT v5 reason code: Not authorized
    assert count_reads(ingest_engine, "r04") == 0


def test_unknown_credentials_are_refused_by_the_broker(mqtt_broker: BrokerUnderTest) -> None:
    reader = mqtt_broker.reader("r05")
    with pytest.raises(ConnectionRefusedError):
        connect_reader(mqtt_broker, reader, password="wrong-" + reader.password)
    impostor = type(reader)(reader.warehouse_code, "nobody", "whatever")
    with pytest.raises(ConnectionRefusedError):
        connect_reader(mqtt_broker, impostor)


def test_the_last_will_of_a_reader_that_dies_marks_it_offline(
    mqtt_broker: BrokerUnderTest, ingest_engine: Engine
) -> None:
    reader = mqtt_broker.reader("r06")
    register(ingest_engine, reader)
    status_topic = topic_for(reader.warehouse_code, reader.reader_id, Channel.STATUS)

    def status() -> str | None:
        with Session(ingest_engine) as session:
            row = session.get(Reader, "r06")
            return row.status if row else None

    try:
        with running_worker(mqtt_broker, ingest_engine):
            client = connect_reader(mqtt_broker, reader, will=True)
            client.publish(status_topic, b"online", qos=1, retain=True).wait_for_publish(5)
            wait_for(lambda: status() == "online")
            with Session(ingest_engine) as session:
                assert "r06" not in offline_readers(session, datetime.now(UTC))
            # Die without DISCONNECT, as a reader losing power would: the broker sends the will.
            client.loop_stop()
            sock = client.socket()
            assert isinstance(sock, socket.socket)
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            wait_for(lambda: status() == "offline")
        with Session(ingest_engine) as session:
            assert "r06" in offline_readers(session, datetime.now(UTC))
            assert session.get(Reader, "r06").status_reason == "last_will"  # type: ignore[union-attr]
    finally:
        clear_retained_status(mqtt_broker, reader)
