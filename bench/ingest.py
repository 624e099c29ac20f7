"""End-to-end ingest throughput: MQTT (Mosquitto) → ingest worker → PostgreSQL, deduplicated.

Prints, from one run on the same broker and database:
- ours:  reads/s of the ingest worker (500 reads per message, batched COPY + ON CONFLICT);
- naive: reads/s of a consumer doing one INSERT (and commit) per single-read message;
- raw:   reads/s Mosquitto itself moves between mosquitto_pub and mosquitto_sub, same payloads;
and the ratios ours/naive and ours/raw. Needs scripts/test-services.sh to have run.

    uv run python bench/ingest.py [--reads 200000] [--naive-reads 3000] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._figures import Figure, Outcome, add_output_options, emit  # noqa: E402
from bench._services import fresh_schema, mqtt_url, pg_url  # noqa: E402
from services.db import make_engine  # noqa: E402
from services.ingest.acl import ReaderAccount, read_spec  # noqa: E402
from services.ingest.mqtturl import BrokerAddress, parse_mqtt_url  # noqa: E402
from services.ingest.readers import register_reader  # noqa: E402
from services.ingest.topics import Channel, topic_for  # noqa: E402
from services.ingest.worker import IngestWorker, WorkerConfig  # noqa: E402
from services.schema import load_metadata  # noqa: E402

PER_MESSAGE = 500


def _payload(reader_id: str, first: int, count: int) -> bytes:
    reads = [
        {
            "reader_id": reader_id,
            "antenna": 1 + seq % 4,
            "epc": f"30340000{seq:016X}",
            "rssi": -60.0,
            "seen_at": f"2026-03-01T08:{seq // 60_000 % 60:02d}:{seq // 1000 % 60:02d}"
            f".{seq % 1000:03d}Z",
            "seq": seq,
        }
        for seq in range(first, first + count)
    ]
    return json.dumps({"reads": reads}).encode()


def _session(broker: BrokerAddress, client_id: str, topic: str, *, clean: bool) -> None:
    """Create (subscribed, QoS 1) or delete a persistent session for `client_id`."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(broker.username, broker.password)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0 if clean else 600
    client.connect(broker.host, broker.port, clean_start=clean, properties=props)
    client.loop_start()
    if not clean:
        client.subscribe(topic, qos=1)
    client.disconnect()
    client.loop_stop()


def _publish(broker: BrokerAddress, account: ReaderAccount, payloads: list[bytes]) -> float:
    """Publish with QoS 1 and wait for every PUBACK; return the seconds it took."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(account.reader_id, account.password)
    client.max_inflight_messages_set(200)
    client.connect(broker.host, broker.port)
    client.loop_start()
    topic = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
    start = time.perf_counter()
    infos = [client.publish(topic, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


def _count(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        value = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return value


def bench_ours(broker: BrokerAddress, account: ReaderAccount, database: str, reads: int) -> float:
    """Reads/s of the ingest worker draining `reads` queued reads into PostgreSQL."""
    with fresh_schema(database) as db_url:
        engine = make_engine(db_url)
        load_metadata().create_all(engine)
        with Session(engine) as session:
            register_reader(session, account.warehouse_code, account.reader_id)
            session.commit()
        client_id = f"bench-ours-{uuid.uuid4().hex[:8]}"
        topic = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
        _session(broker, client_id, topic, clean=False)
        payloads = [_payload(account.reader_id, n, PER_MESSAGE) for n in range(0, reads, 500)]
        # Half of them published twice: redeliveries the dedup key must absorb.
        duplicates = payloads[: len(payloads) // 2]
        _publish(broker, account, payloads + duplicates)
        config = WorkerConfig(broker=broker, client_id=client_id, session_expiry_s=600)
        config.subscription = topic
        worker = IngestWorker(config, engine)
        thread = threading.Thread(target=worker.run, daemon=True)
        start = time.perf_counter()
        thread.start()
        expected = len(payloads) + len(duplicates)
        while worker.stats.messages < expected:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        worker.stop()
        thread.join(10)
        stored = _count(db_url, "tag_reads")
        engine.dispose()
        _session(broker, client_id, topic, clean=True)
    assert stored == reads, f"stored {stored} of {reads}"
    return (reads + len(duplicates) * PER_MESSAGE) / elapsed


def bench_naive(broker: BrokerAddress, account: ReaderAccount, database: str, reads: int) -> float:
    """Reads/s of a consumer that does one INSERT and commit per single-read message."""
    with fresh_schema(database) as db_url:
        engine = make_engine(db_url)
        load_metadata().create_all(engine)
        engine.dispose()
        client_id = f"bench-naive-{uuid.uuid4().hex[:8]}"
        topic = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
        _session(broker, client_id, topic, clean=False)
        _publish(broker, account, [_payload(account.reader_id, n, 1) for n in range(reads)])
        dsn = make_engine(db_url).url.set(drivername="postgresql")
        conn = psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True)
        done = threading.Event()
        seen = [0]

        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            r = json.loads(msg.payload)["reads"][0]
            conn.execute(
                "INSERT INTO tag_reads (dedup_key, warehouse_code, reader_id, antenna, epc, "
                "rssi, seen_at, seq, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now()) "
                "ON CONFLICT DO NOTHING",
                (
                    f"{r['reader_id']}|{r['epc']}|{r['seen_at']}|{r['antenna']}",
                    account.warehouse_code,
                    r["reader_id"],
                    r["antenna"],
                    r["epc"],
                    r["rssi"],
                    r["seen_at"],
                    r["seq"],
                ),
            )
            seen[0] += 1
            if seen[0] >= reads:
                done.set()

        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        client.username_pw_set(broker.username, broker.password)
        client.on_message = on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600
        start = time.perf_counter()
        client.connect(broker.host, broker.port, clean_start=False, properties=props)
        client.loop_start()
        done.wait(300)
        elapsed = time.perf_counter() - start
        client.disconnect()
        client.loop_stop()
        conn.close()
        _session(broker, client_id, topic, clean=True)
    return seen[0] / elapsed


def bench_raw(broker: BrokerAddress, account: ReaderAccount, reads: int) -> float:
    """Reads/s through Mosquitto alone: mosquitto_pub -l into mosquitto_sub -C, QoS 1."""
    messages = reads // PER_MESSAGE
    topic = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
    client_id = f"bench-raw-{uuid.uuid4().hex[:8]}"
    _session(broker, client_id, topic, clean=False)
    lines = b"\n".join(_payload(account.reader_id, n, PER_MESSAGE) for n in range(0, reads, 500))
    common = ["-h", broker.host, "-p", str(broker.port), "-q", "1"]
    start = time.perf_counter()
    sub_args = ["-u", str(broker.username), "-P", str(broker.password), "-i", client_id, "-c"]
    pub_args = ["-u", account.reader_id, "-P", account.password, "-l"]
    sub = subprocess.Popen(
        ["mosquitto_sub", *common, *sub_args, "-t", topic, "-C", str(messages)],
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        ["mosquitto_pub", *common, *pub_args, "-t", topic], input=lines + b"\n", check=True
    )
    sub.wait(120)
    elapsed = time.perf_counter() - start
    _session(broker, client_id, topic, clean=True)
    return reads / elapsed


def main() -> None:
    """Run the three measurements and print (and write) the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--naive-reads", type=int, default=3_000)
    add_output_options(parser)
    args = parser.parse_args()
    reads, naive_reads = (10_000, 500) if args.quick else (args.reads, args.naive_reads)
    database = pg_url()
    broker = parse_mqtt_url(mqtt_url())
    spec = Path(
        os.environ.get("PLEDGEWATCH_TEST_MQTT_READERS", "") or REPO / ".cache/mqtt/readers.csv"
    )
    account = read_spec(spec)[0]
    raw = bench_raw(broker, account, reads)
    print(f"raw Mosquitto (mosquitto_pub -> mosquitto_sub): {raw:>12,.0f} reads/s")
    naive = bench_naive(broker, account, database, naive_reads)
    print(f"naive consumer (1 INSERT per message):          {naive:>12,.0f} reads/s")
    ours = bench_ours(broker, account, database, reads)
    print(f"ingest worker (batched COPY, deduplicated):     {ours:>12,.0f} reads/s")
    print(f"ours / naive = {ours / naive:.1f}x    ours / raw = {ours / raw:.2f}x")
    figures = [
        Figure(
            "ingest worker", ours, "reads/s", naive, "naive consumer, 1 INSERT/message", "higher"
        ),
        Figure("ingest worker vs broker", ours, "reads/s", raw, "raw Mosquitto pub->sub", "higher"),
    ]
    outcome = Outcome(
        bench="ingest",
        title="MQTT ingest into PostgreSQL, deduplicated",
        figures=figures,
        params={"reads": reads, "naive_reads": naive_reads, "reads_per_message": PER_MESSAGE},
        notes=["ours: half of the messages redelivered, absorbed by the dedup key"],
    )
    emit(outcome, args.json)


if __name__ == "__main__":
    main()
