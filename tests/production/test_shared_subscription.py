"""Two ingest workers in one MQTT v5 shared subscription group on the real Mosquitto: the broker
splits the messages between them, and every read lands in PostgreSQL exactly once."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from services.ingest.tables import DeadLetter, TagReadRow
from services.ingest.topics import Channel, topic_for
from services.ingest.worker import MqttProtocol, WorkerConfig
from tests.ingest.conftest import BrokerUnderTest, connect_reader, register, running_worker

MESSAGES = 120
READS_PER_MESSAGE = 5


def test_two_workers_in_a_share_group_split_the_reads_and_write_each_once(
    mqtt_broker: BrokerUnderTest, pg_engine: Engine
) -> None:
    account = sorted(mqtt_broker.readers.values(), key=lambda a: a.reader_id)[-1]
    register(pg_engine, account)
    group = f"share-{uuid.uuid4().hex[:8]}"
    # Only this reader's reads: other suites may publish on the same broker meanwhile.
    only_this_reader = topic_for(account.warehouse_code, account.reader_id, Channel.READS)
    config = {"subscription": only_this_reader, "share_group": group, "protocol": MqttProtocol.V5}
    assert WorkerConfig(broker=mqtt_broker.worker, **config).topic_filter() == (  # type: ignore[arg-type]
        f"$share/{group}/{only_this_reader}"
    )
    base = uuid.uuid4().int % 10**12
    with (
        running_worker(mqtt_broker, pg_engine, **config) as one,
        running_worker(mqtt_broker, pg_engine, **config) as two,
    ):
        publisher = connect_reader(mqtt_broker, account)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        sent = []
        for m in range(MESSAGES):
            reads = [
                {
                    "reader_id": account.reader_id,
                    "antenna": 1,
                    "epc": f"30340000{base + m * READS_PER_MESSAGE + i:016X}",
                    "seen_at": now,
                    "seq": m * READS_PER_MESSAGE + i,
                }
                for i in range(READS_PER_MESSAGE)
            ]
            sent.append(publisher.publish(only_this_reader, json.dumps({"reads": reads}), qos=1))
        for info in sent:
            # Acknowledged by the broker (PUBACK) before the reader goes away.
            info.wait_for_publish(30)
        publisher.disconnect()
        publisher.loop_stop()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and one.stats.messages + two.stats.messages < MESSAGES:
            time.sleep(0.2)
        # A little longer: a duplicate delivery would show up as an extra message.
        time.sleep(1.0)
    # Every message went to exactly one worker of the group, and both took a share.
    assert one.stats.messages + two.stats.messages == MESSAGES
    assert one.stats.messages > 0 and two.stats.messages > 0
    assert one.stats.reads_new + two.stats.reads_new == MESSAGES * READS_PER_MESSAGE
    with pg_engine.connect() as conn:
        stored = conn.execute(
            select(func.count(), func.count(func.distinct(TagReadRow.epc))).where(
                TagReadRow.reader_id == account.reader_id
            )
        ).one()
        dead = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
    assert tuple(stored) == (MESSAGES * READS_PER_MESSAGE, MESSAGES * READS_PER_MESSAGE)
    assert dead == 0
